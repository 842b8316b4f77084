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
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t, uint16_t, uint8_t
from packed_ints cimport packed_words, packed_set, bits_needed
from sampled_rows cimport ROW_BLOCK_SHIFT

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


def build_bwt_and_samples(text_t[::1] T, sa_t[::1] SA, uint32_t sep, uint64_t sa_rate,
                          uint64_t isa_rate, const uint64_t[::1] doc_starts):
    """One pass over SA; returns a dict of arrays and parameters (see module docstring).

    SA is overwritten: on return its memory holds BWT rows 1..N (``bwt_tail``, a view of
    SA's buffer; copy it and drop SA to release the rest); row 0 is ``bwt_first``.
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
    cdef uint64_t r, p, j = 0, r0 = 0, d, seps = 0
    cdef const uint64_t *ds = &doc_starts[0]
    # power-of-two rates (the defaults) test with a mask, others with a division
    cdef bint sa_pow2 = (sa_rate & (sa_rate - 1)) == 0
    cdef bint isa_pow2 = (isa_rate & (isa_rate - 1)) == 0
    cdef uint64_t sa_mask = sa_rate - 1, isa_mask = isa_rate - 1
    cdef unsigned int sa_sh = bits_needed(sa_rate) - 1, isa_sh = bits_needed(isa_rate) - 1
    cdef uint64_t q, pf
    cdef uint64_t pf_end = rows - _PF_DIST if rows > _PF_DIST else 1
    cdef const text_t *Tp = &T[0]
    with nogil:
        for r in range(1, rows):
            # T[SA[r-1]-1] is a cache miss: request the symbol of a row ahead
            if r < pf_end:
                pf = <uint64_t>SA[r - 1 + _PF_DIST]
                _prefetch(Tp + pf - (pf > 0))
            p = <uint64_t>SA[r - 1]
            if p == 0:
                B[r] = <text_t>sep
                r0 = r
            else:
                B[r] = Tp[p - 1]
            if (sa_pow2 and (p & sa_mask) == 0) or (not sa_pow2 and p % sa_rate == 0):
                q = (p >> sa_sh) if sa_pow2 else p // sa_rate
                lw[j] = <uint8_t>(r & 255)
                packed_set(&saw[0], sa_w, j, q)
                pw[(r >> ROW_BLOCK_SHIFT) + 1] += 1
                j += 1
            if (isa_pow2 and (p & isa_mask) == 0) or (not isa_pow2 and p % isa_rate == 0):
                q = (p >> isa_sh) if isa_pow2 else p // isa_rate
                packed_set(&iw[0], row_w, q, r)
            if Tp[p] == sep:
                d = _upper_bound(ds, n_docs + 1, p) - 1
                packed_set(&ew[0], row_w, d, r)
                seps += 1
    bwt_tail = np.asarray(SA).view(dtype)[:N]
    if j != n_marks or seps != n_docs:
        raise RuntimeError(f"internal error: {j} SA samples (expected {n_marks}), "
                           f"{seps} separators (expected {n_docs})")
    np.cumsum(prefix, out=prefix)
    return {
        "bwt_first": int(first), "bwt_tail": bwt_tail, "r0": int(r0), "n_rows": int(rows),
        "sa_samples": sa_words, "sa_width": int(sa_w), "n_sa_samples": int(n_marks),
        "sampled_low": low, "sampled_prefix": prefix,
        "isa_samples": isa_words, "row_width": int(row_w), "n_isa_samples": int(n_isa),
        "doc_end_rows": end_words,
    }
