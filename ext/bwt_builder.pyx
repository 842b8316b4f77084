# cython: language_level=3
"""BWT builder and suffix-array sampler: one pass over the suffix array.

Input: the shard text T (uint8, or uint16 when all 256 byte values occur) where
every document is followed by the separator symbol ``sep``, and SA = the suffix
array of T.  The BWT has N + 1 rows: row 0 is the virtual end marker ``$``
(smaller than everything), row r >= 1 is suffix SA[r-1].  The row whose BWT
character would be ``$`` (suffix 0, row ``r0``) stores ``sep`` instead; LF
corrects for it (see fm_shard.pxd).

Outputs, all in one pass over SA (sequential) with random reads of T:
  * bwt                   the BWT (N + 1 symbols)
  * text-order SA samples positions p with p % sa_rate == 0, as p / sa_rate,
                          bit-packed, in row order, with their rows as a SampledRows set
  * ISA samples           row of each position k * isa_rate, bit-packed
  * doc_end_rows          row of the separator ending each document, bit-packed
"""

import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
from libc.string cimport memmove
from libc.stdint cimport uintptr_t
from posix.mman cimport madvise, MADV_DONTNEED
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t, uint16_t, uint8_t
from packed_ints cimport packed_t, packed_init, packed_get, packed_words, packed_set, bits_needed
from sampled_rows cimport ROW_BLOCK_SHIFT

from fmindex._wavelet_tree import usable_threads

cnp.import_array()

ctypedef fused text_t:
    uint8_t
    uint16_t
    uint32_t

ctypedef fused sa_t:
    int32_t
    int64_t


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FM_BWT_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
    #else
    #define FM_BWT_PREFETCH(p) ((void)0)
    #endif
    """
    void _prefetch "FM_BWT_PREFETCH"(const void *p) noexcept nogil

# rows of look-ahead for the prefetch of T[SA[r] - 1]
cdef enum:
    _PF_DIST = 128

# The pass hands the consumed part of SA's memory back to the kernel as it goes
# (madvise MADV_DONTNEED): every _RELEASE_ROWS rows, the whole _RELEASE_ALIGN units
# (2 MiB: transparent huge pages are not split) between the BWT symbols written so far
# and the next SA entry to read; at the end of a part, the whole pages left.  Only the
# bytes past the final BWT (symbols 0 .. N-1 of SA's memory, where the parts' blocks are
# moved after the pass) are released.  The peak of the pass is then that of its start
# (text + SA) instead of text + SA + the sample arrays, which fill as the pass goes.
cdef enum:
    _RELEASE_ROWS = 1 << 16
cdef uintptr_t _RELEASE_ALIGN = 1 << 21
cdef uintptr_t _PAGE = 4096


cdef inline uintptr_t _release(uintptr_t lo, uintptr_t hi, uintptr_t floor,
                               uintptr_t align) noexcept nogil:
    """Release the whole ``align`` units of [max(lo, floor), hi) (dead bytes of SA);
    returns the end of what is released (or ``lo`` when nothing is)."""
    if lo < floor:
        lo = floor
    cdef uintptr_t a = (lo + align - 1) & ~(align - 1)
    cdef uintptr_t b = hi & ~(align - 1)
    if b > a:
        madvise(<void *>a, b - a, MADV_DONTNEED)   # best effort: a failure only keeps RSS
        return b
    return lo


cdef inline uint64_t _upper_bound(const uint64_t *a, uint64_t n, uint64_t x) noexcept nogil:
    """First index i in [0, n) with a[i] > x (n if none)."""
    cdef uint64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FM_BWT_ATOMIC_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
    #else
    #define FM_BWT_ATOMIC_OR(p, v) (*(p) |= (v))
    #endif
    """
    void _atomic_or "FM_BWT_ATOMIC_OR"(uint64_t *p, uint64_t v) noexcept nogil


cdef inline void _packed_set_atomic(uint64_t *words, unsigned int width, uint64_t i,
                                    uint64_t v) noexcept nogil:
    """packed_set for words that another thread may be writing too (OR is all it does)."""
    cdef uint64_t bit = i * width
    cdef uint64_t q = bit >> 6
    cdef unsigned int r = <unsigned int>(bit & 63)
    _atomic_or(&words[q], v << r)
    if r + width > 64:
        _atomic_or(&words[q + 1], v >> (64 - r))


ctypedef struct _pass_t:
    uint64_t sep, sa_rate, isa_rate, sa_mask, isa_mask, n_docs
    unsigned int sa_sh, isa_sh, sa_w, row_w
    bint sa_pow2, isa_pow2
    bint isa_in_pass            # else the ISA samples are derived from the SA samples after
    const uint64_t *ds
    uintptr_t keep_end          # SA's bytes below this hold the final BWT: never released
    uint64_t *saw
    uint8_t *lw
    uint32_t *pw
    uint64_t *iw
    uint64_t *ew


cdef inline bint _is_sample(uint64_t p, bint pow2, uint64_t mask, uint64_t rate) noexcept nogil:
    return (p & mask) == 0 if pow2 else p % rate == 0


cdef uint64_t _count_samples(const sa_t *SA, uint64_t r_begin, uint64_t r_end,
                             const _pass_t *a) noexcept nogil:
    """SA samples among rows [r_begin, r_end) (row r is suffix SA[r - 1])."""
    cdef uint64_t r, c = 0
    for r in range(r_begin, r_end):
        c += _is_sample(<uint64_t>SA[r - 1], a.sa_pow2, a.sa_mask, a.sa_rate)
    return c


cdef uint64_t _bwt_part(const text_t *T, const sa_t *SA, text_t *dst, uint64_t r_begin,
                    uint64_t r_end, uint64_t j, const _pass_t *a, uint64_t *r0,
                    uint64_t *seps_out) noexcept nogil:
    """Rows [r_begin, r_end): BWT symbol of row r to dst[r], SA samples from number j on
    (returns the number after the last one),
    ISA samples and document-end rows.  The packed arrays are shared with the other parts
    (atomic OR); the caller picks part bounds at multiples of 256 rows, so the SampledRows
    block counts ``pw`` of different parts never coincide."""
    cdef uint64_t r, p, q, pf, d, seps = 0
    cdef uint64_t pf_end = r_end - _PF_DIST if r_end > r_begin + _PF_DIST else r_begin
    cdef text_t sep = <text_t>a.sep
    cdef uintptr_t freed = 0    # SA's dead bytes below this are released
    for r in range(r_begin, r_end):
        if (r & (_RELEASE_ROWS - 1)) == 0 and a.keep_end:
            # dead: from the next BWT slot of this part to the next SA entry to read
            freed = _release(max(<uintptr_t>(dst + r), freed), <uintptr_t>&SA[r - 1],
                             a.keep_end, _RELEASE_ALIGN)
        # T[SA[r-1]-1] is a cache miss: request the symbol of a row ahead
        if r < pf_end:
            pf = <uint64_t>SA[r - 1 + _PF_DIST]
            _prefetch(T + pf - (pf > 0))
        p = <uint64_t>SA[r - 1]
        if p == 0:
            dst[r] = sep
            r0[0] = r
        else:
            dst[r] = T[p - 1]
        if _is_sample(p, a.sa_pow2, a.sa_mask, a.sa_rate):
            q = (p >> a.sa_sh) if a.sa_pow2 else p // a.sa_rate
            a.lw[j] = <uint8_t>(r & 255)
            _packed_set_atomic(a.saw, a.sa_w, j, q)
            a.pw[(r >> ROW_BLOCK_SHIFT) + 1] += 1
            j += 1
        if a.isa_in_pass and _is_sample(p, a.isa_pow2, a.isa_mask, a.isa_rate):
            q = (p >> a.isa_sh) if a.isa_pow2 else p // a.isa_rate
            _packed_set_atomic(a.iw, a.row_w, q, r)
        if T[p] == sep:
            d = _upper_bound(a.ds, a.n_docs + 1, p) - 1
            _packed_set_atomic(a.ew, a.row_w, d, r)
            seps += 1
    if a.keep_end:
        _release(max(<uintptr_t>(dst + r_end), freed), <uintptr_t>&SA[r_end - 1], a.keep_end,
                 _PAGE)
    seps_out[0] = seps
    return j


cdef void _isa_from_sa_samples(const uint32_t *prefix, const uint8_t *low, const uint64_t *saw,
                               unsigned int sa_w, uint64_t n_blocks, uint64_t ratio,
                               uint64_t *iw, unsigned int row_w) noexcept nogil:
    """ISA samples from the SA samples when isa_rate = ratio * sa_rate: sample j (row
    ``b << ROW_BLOCK_SHIFT | low[j]`` for prefix[b] <= j < prefix[b + 1], value
    q = p / sa_rate) is the ISA sample q / ratio when ratio divides q."""
    cdef packed_t pk
    cdef uint64_t b, j, q
    packed_init(&pk, saw, sa_w, prefix[n_blocks])
    for b in range(n_blocks):
        for j in range(prefix[b], prefix[b + 1]):
            q = packed_get(&pk, j)
            if q % ratio == 0:
                packed_set(iw, row_w, q // ratio, (b << ROW_BLOCK_SHIFT) | low[j])


def build_bwt_and_samples(text_t[::1] T, sa_t[::1] SA, uint32_t sep, uint64_t sa_rate,
                          uint64_t isa_rate, const uint64_t[::1] doc_starts, num_threads=None,
                          uint64_t min_part_rows=1 << 20, bint release_sa=True):
    """One pass over SA; returns a dict of arrays and parameters (see module docstring).

    SA is overwritten: on return its memory holds BWT rows 1..N (``bwt_tail``, a view of
    SA's buffer; copy it and drop SA to release the rest); row 0 is ``bwt_first``.
    ``num_threads`` (default: all CPUs) threads share the rows, each at least
    ``min_part_rows`` of them; the result does not depend on either.  With ``release_sa``
    the rest of SA's memory (past ``bwt_tail``) is handed back to the kernel during the
    pass (madvise MADV_DONTNEED: it reads as zeros afterwards), so that the pass adds
    nothing to the peak memory of a build.
    """
    cdef uint64_t N = T.shape[0]
    if N == 0 or <uint64_t>SA.shape[0] != N:
        raise ValueError("text and suffix array must be non-empty and of equal length")
    if sa_rate < 1 or isa_rate < 1:
        raise ValueError("sample rates must be >= 1")
    cdef uint64_t n_docs = doc_starts.shape[0] - 1
    cdef uint64_t rows = N + 1
    if text_t is uint8_t:
        dtype = np.uint8
    elif text_t is uint16_t:
        dtype = np.uint16
    else:
        dtype = np.uint32
    # The BWT is written over the suffix array as it is consumed: row r >= 1 goes to
    # symbol slot r - 1 of SA's memory, which lies inside SA[0 .. r-1] (already read), so
    # the pass needs no extra memory.  Row 0 (= T[N-1]) is returned separately.
    cdef text_t *B = (<text_t *>&SA[0]) - 1
    cdef text_t first = T[N - 1]

    cdef uint64_t n_marks = (N + sa_rate - 1) // sa_rate
    if n_marks >= (<uint64_t>1 << 32):
        raise ValueError("too many SA samples for one shard: raise --sa-sample or use smaller shards")
    cdef unsigned int sa_w = bits_needed((N - 1) // sa_rate)
    sa_words = np.zeros(packed_words(sa_w, n_marks), dtype=np.uint64)
    low = np.zeros(n_marks, dtype=np.uint8)
    cdef uint64_t n_blocks = (rows >> ROW_BLOCK_SHIFT) + 1
    prefix = np.zeros(n_blocks + 1, dtype=np.uint32)
    cdef uint64_t n_isa = (N + isa_rate - 1) // isa_rate
    cdef unsigned int row_w = bits_needed(rows - 1)
    isa_words = np.zeros(packed_words(row_w, n_isa), dtype=np.uint64)
    end_words = np.zeros(packed_words(row_w, n_docs), dtype=np.uint64)

    cdef uint64_t[::1] saw = sa_words
    cdef uint8_t[::1] lw = low
    cdef uint32_t[::1] pw = prefix
    cdef uint64_t[::1] iw = isa_words
    cdef uint64_t[::1] ew = end_words
    cdef _pass_t a
    a.sep = sep
    a.sa_rate = sa_rate
    a.isa_rate = isa_rate
    # power-of-two rates (the defaults) test with a mask, others with a division
    a.sa_pow2 = (sa_rate & (sa_rate - 1)) == 0
    a.isa_pow2 = (isa_rate & (isa_rate - 1)) == 0
    a.sa_mask = sa_rate - 1
    a.isa_mask = isa_rate - 1
    a.sa_sh = bits_needed(sa_rate) - 1
    a.isa_sh = bits_needed(isa_rate) - 1
    # isa_rate a multiple of sa_rate (the profiles' defaults): every ISA sample is an SA
    # sample, and its row is known from the SA samples once the pass is done.  Deriving
    # them then keeps the ISA array (written in random order, so soon resident in full)
    # out of the pass, whose peak is thus its start (see _RELEASE_ROWS).
    a.isa_in_pass = (isa_rate % sa_rate) != 0
    a.sa_w = sa_w
    a.row_w = row_w
    a.n_docs = n_docs
    a.ds = &doc_starts[0]
    a.keep_end = <uintptr_t>(<text_t *>&SA[0] + N) if release_sa else 0
    a.saw = &saw[0]
    a.lw = &lw[0] if n_marks else NULL
    a.pw = &pw[0]
    a.iw = &iw[0]
    a.ew = &ew[0]
    # Parts of the rows, cut at multiples of 256 rows.  Part 0 writes row
    # r to symbol slot r - 1 (see above); part t >= 1 starts at row R_t and writes row r to
    # symbol (r - R_t) counted from the first byte of SA[R_t - 1], its first entry read:
    # inside its own consumed entries (a symbol is never wider than an SA entry).  Those
    # blocks are moved down into place after the pass.  The SA samples of a part are
    # numbered from the count of samples in the parts before it (a first, sequential pass).
    # (four parts per thread, handed out dynamically: a thread that gets less CPU than
    # the others - a busy machine - holds up the pass by one small part only; the last
    # parts first: their consumed SA memory can be released at once, while the first
    # parts' memory is where the BWT ends up)
    cdef int nthr = usable_threads(num_threads)
    cdef int nt = 4 * nthr if nthr > 1 else 1
    if N // max(min_part_rows, 256) < <uint64_t>nt:     # parts of at least min_part_rows
        nt = max(1, <int>(N // max(min_part_rows, 256)))
    cdef uint64_t[::1] bounds = np.zeros(nt + 1, dtype=np.uint64)
    cdef uint64_t[::1] jstart = np.zeros(nt + 1, dtype=np.uint64)
    cdef uint64_t[::1] r0s = np.zeros(nt, dtype=np.uint64)
    cdef uint64_t[::1] sepc = np.zeros(nt, dtype=np.uint64)
    cdef uint64_t[::1] jend = np.zeros(nt, dtype=np.uint64)
    cdef int t
    bounds[0] = 1
    for t in range(1, nt):
        bounds[t] = ((rows * <uint64_t>t // <uint64_t>nt) >> ROW_BLOCK_SHIFT) << ROW_BLOCK_SHIFT
    bounds[nt] = rows
    cdef Py_ssize_t ti, pt
    cdef text_t *dst
    if nt > 1:
        for ti in prange(nt, nogil=True, schedule="dynamic", chunksize=1, num_threads=nthr):
            jstart[ti + 1] = _count_samples(&SA[0], bounds[ti], bounds[ti + 1], &a)
        for t in range(nt):
            jstart[t + 1] += jstart[t]
    for ti in prange(nt, nogil=True, schedule="dynamic", chunksize=1, num_threads=nthr):
        pt = nt - 1 - ti
        if pt == 0:
            dst = B
        else:
            dst = (<text_t *>&SA[bounds[pt] - 1]) - bounds[pt]
        jend[pt] = _bwt_part(&T[0], &SA[0], dst, bounds[pt], bounds[pt + 1], jstart[pt], &a,
                             &r0s[pt], &sepc[pt])
    cdef uint64_t r0 = 0, seps = 0
    cdef bint counts_ok = True
    with nogil:
        for t in range(1, nt):
            memmove(<void *>(B + bounds[t]), <const void *>(&SA[bounds[t] - 1]),
                    (bounds[t + 1] - bounds[t]) * sizeof(text_t))
        if a.keep_end:      # the parts' blocks moved down: everything past the BWT is dead
            _release(a.keep_end, <uintptr_t>&SA[N - 1] + sizeof(sa_t), a.keep_end, _PAGE)
        for t in range(nt):
            seps += sepc[t]
            if r0s[t]:
                r0 = r0s[t]
            # each part must have produced exactly the samples counted for it
            if t + 1 < nt and jend[t] != jstart[t + 1]:
                counts_ok = False
    cdef uint64_t j = jend[nt - 1] if counts_ok else 0
    bwt_tail = np.asarray(SA).view(dtype)[:N]
    if j != n_marks or seps != n_docs:
        raise RuntimeError(f"internal error: {j} SA samples (expected {n_marks}), "
                           f"{seps} separators (expected {n_docs})")
    np.cumsum(prefix, out=prefix)
    if not a.isa_in_pass:
        with nogil:
            _isa_from_sa_samples(&pw[0], &lw[0] if n_marks else NULL, &saw[0], sa_w, n_blocks,
                                 isa_rate // sa_rate, &iw[0], row_w)
    return {
        "bwt_first": int(first), "bwt_tail": bwt_tail, "r0": int(r0), "n_rows": int(rows),
        "sa_samples": sa_words, "sa_width": int(sa_w), "n_sa_samples": int(n_marks),
        "sampled_low": low, "sampled_prefix": prefix,
        "isa_samples": isa_words, "row_width": int(row_w), "n_isa_samples": int(n_isa),
        "doc_end_rows": end_words,
    }
