# cython: language_level=3
"""FM-index shard kernels: LF-mapping, backward search, locate, extract.

Ferragina & Manzini, "Opportunistic data structures with applications", FOCS 2000.

A shard indexes T = doc_0 sep doc_1 sep ... doc_{k-1} sep (N symbols) plus a
virtual end marker $.  Rows: N + 1; C[c] = 1 + (symbols of T smaller than c).
The row r0 of suffix 0 (whose BWT symbol is $) stores ``sep`` in the wavelet
tree, so for c == sep: LF(i) = C[sep] + rank_sep(i) - [i > r0].  Patterns never
contain ``sep`` (it is a byte absent from the corpus, or 256), so occurrences
can never cross a document boundary and backward search needs no correction.
All kernels are ``noexcept nogil`` and allocate nothing.
"""
from libc.stdint cimport uint64_t, int64_t, uint32_t, uint16_t, uint8_t
from wavelet_tree cimport (wt_t, wt_rank_pair, wt_inverse_select, qwt_guess_rank,
                           qwt_prefetch_root)
from packed_ints cimport packed_t, packed_get, packed_init
from wavelet_tree cimport wt_init
from pair_occ cimport (po_t, po_init_arrays, po_rank2, po_rank2_pair, po_prefetch, po_pair_at,
                       po_prefetch_rank, po_prefetch_row, PO_NONE, po_prefetch_block, po_guess_rank2, po_guess_rank2_far,
                       PO_BLOCK_ROWS)
from quad_vector cimport QV_LINE_DIGITS
from sampled_rows cimport sampled_rows_t, sampled_rank
from bits cimport fm_prefetch
from elias_fano cimport ef_t, ef_init, ef_get, ef_get_pair, ef_predecessor, ef_predecessor_at, ef_low

ctypedef struct fm_shard_t:
    wt_t wt                    # the BWT
    const uint64_t *C          # (sigma + 1,) C[c] = 1 + #symbols of T below c
    uint32_t sep               # separator symbol
    uint64_t r0                # row holding the virtual $ (stored as sep)
    uint64_t n_rows            # N + 1
    uint64_t sa_rate           # text-order SA sampling rate
    sampled_rows_t sampled     # which rows carry an SA sample ("blocks" encoding), or
                               # see sampled_ef
    packed_t sa_samples        # (p / sa_rate) of each sampled row, in row order
    uint64_t isa_rate          # ISA sampling rate
    packed_t isa_samples       # row of position k * isa_rate, or (isa_is_rank) the rank
                               # of that row among the marked rows (its SA sample's number)
    packed_t doc_end_rows      # row of the separator ending document d, minus doc_end_base
    uint64_t doc_end_base      # C[sep] (the separators' rows are C[sep] .. C[sep] + n_docs - 1)
    ef_t doc_starts            # Elias-Fano: (n_docs + 1) starts of the documents in T; last = N
    uint64_t n_docs
    const uint32_t *pair_rows  # byte shards: (256 * 257,) rows of 2-byte prefixes, or NULL;
                               # with pair_map: (nz * (nz + 1),) over the bytes that occur
    const uint32_t *tri_rows   # byte shards of a small alphabet: rows of 3-byte prefixes
    const uint16_t *tri_map    # (2 * 256,) ids of bytes as first/second (K frequent ones)
                               # and as third symbol (all, byte order); TRI_ABSENT: none
    uint64_t tri_n             # K
    uint64_t tri_nz            # bytes that occur, the separator included
    const uint32_t *tetra      # fast byte shards: lossy 4/5-gram table, TETRA_WORDS u32 per
                               # 64-byte bucket (keys, first rows, counts, flags), or NULL
    uint64_t tetra_nb          # its buckets
    # format 1.2 (profile "small"); after the fields of the fast paths, whose offsets and
    # cache lines they would otherwise move
    const uint16_t *pair_map   # (256,) dense id of each byte that occurs (PAIR_ABSENT: none)
    uint64_t pair_nz           # bytes that occur (the separator included, if a byte)
    bint sampled_is_ef         # the marked rows are the Elias-Fano sequence sampled_ef
    bint isa_is_rank
    uint64_t sampled_first     # elias_fano: the first marked row
    ef_t sampled_ef
    # format 1.3 (profile "fast"): the n-gram table, NGRAM_WORDS u64 per 64-byte bucket, or
    # NULL (then the 4/5-gram table of a 1.2 shard, if any)
    const uint64_t *ngram
    uint64_t ngram_nb          # its buckets
    # format 1.3 (profile "fast", shards of 4 dominant bytes, e.g. DNA): Bowtie's "ftab",
    # the rows of every string of kmer_k of those bytes, or NULL
    const uint32_t *kmer       # (2 * 4^kmer_k,) first row, count of each k-mer (code order)
    const uint8_t *kmer_map    # (256,) code 0..3 of each of the 4 bytes, KMER_ABSENT else
    uint64_t kmer_k
    uint64_t absent[4]         # bit c: no pattern holding byte c occurs (c does not occur,
                               # is >= sigma or is the separator)

ctypedef fused symbol_t:
    uint8_t     # byte corpora
    uint32_t    # token corpora (compact token ids)


cdef inline uint64_t fm_lf(const fm_shard_t *fm, uint64_t row, uint32_t *c) noexcept nogil:
    """LF(row) and the BWT symbol at row.  row != r0."""
    cdef uint64_t r = wt_inverse_select(&fm.wt, row, c)
    if c[0] == fm.sep and row > fm.r0:
        r -= 1
    r += fm.C[c[0]]
    return r if r < fm.n_rows else fm.n_rows - 1     # clamp: only a damaged index needs it


cdef inline void fm_pair_range(const fm_shard_t *fm, uint32_t a, uint32_t b, uint64_t *s,
                               uint64_t *e) noexcept nogil:
    """Rows of the suffixes starting with bytes a, b, from the pair table (Bowtie's "ftab"
    for 2 symbols): pair_rows[a * 257 + j] = first row of the suffixes "a x" with x >= j,
    so the range is [pair_rows[a*257+b], pair_rows[a*257+b+1]).  Empty if a or b is sep.
    The dense form (profile "small": 40 KB instead of 263 KB on English) indexes the same
    entries by pair_map ids: row ia, column ib, and column nz for x >= 256."""
    cdef uint64_t ia, ib
    if a == fm.sep or b == fm.sep or a > 255 or b > 255:
        s[0] = 0
        e[0] = 0
        return
    if fm.pair_map != NULL:         # dense table: ids over the nz bytes that occur
        ia = fm.pair_map[a]
        ib = fm.pair_map[b]
        if ia >= fm.pair_nz or ib >= fm.pair_nz:
            s[0] = 0
            e[0] = 0
            return
        s[0] = fm.pair_rows[ia * (fm.pair_nz + 1) + ib]
        e[0] = fm.pair_rows[ia * (fm.pair_nz + 1) + ib + 1]
    else:
        s[0] = fm.pair_rows[a * 257 + b]
        e[0] = fm.pair_rows[a * 257 + b + 1]
    if e[0] > fm.n_rows:            # only a damaged (unverified) index gets here
        e[0] = fm.n_rows
    if s[0] > e[0]:
        s[0] = e[0]


cdef enum:
    TRI_ABSENT = 0xFFFF
    PAIR_ABSENT = 0xFFFF


cdef inline bint fm_tri_range(const fm_shard_t *fm, uint32_t a, uint32_t b, uint32_t c,
                              uint64_t *s, uint64_t *e) noexcept nogil:
    """Rows of the suffixes starting with bytes a, b, c from the triple table (a 3-symbol
    "ftab" over the shard's own bytes); False if the table does not cover them (a or b is
    not among its most frequent bytes, or c does not occur): use the pair table then.
    Ids: tri_map[a], tri_map[b] among the K frequent bytes, tri_map[256 + c] in byte order
    over the nz bytes that occur (the separator included); entry ((a' K + b') (nz + 1) + z')
    = C[a] + rank_a(first row of the suffixes "b x" with x >= the z'-th byte)."""
    cdef uint64_t ia, ib, ic, idx
    if a > 255 or b > 255 or c > 255 or a == fm.sep or b == fm.sep or c == fm.sep:
        return False
    ia = fm.tri_map[a]
    ib = fm.tri_map[b]
    ic = fm.tri_map[256 + c]
    if ia >= fm.tri_n or ib >= fm.tri_n or ic >= fm.tri_nz:
        return False
    idx = (ia * fm.tri_n + ib) * (fm.tri_nz + 1) + ic
    s[0] = fm.tri_rows[idx]
    e[0] = fm.tri_rows[idx + 1]
    if e[0] > fm.n_rows:            # only a damaged (unverified) index gets here
        e[0] = fm.n_rows
    if s[0] > e[0]:
        s[0] = e[0]
    return True


cdef enum:
    TETRA_SLOTS = 5         # entries per bucket
    TETRA_WORDS = 16        # u32 words per bucket: keys[5], first rows[5], counts[5], flags
    TETRA_COUNT_BITS = 24   # a 5-gram entry's count word: count | 5th-last byte << 24


cdef inline uint64_t fm_tetra_bucket(uint32_t key, uint64_t nb) noexcept nogil:
    """Bucket of a 4-gram key (its bytes big-endian): Fibonacci hash h = key * 0x9E3779B1
    mod 2^32, scaled to nb buckets by (h * nb) >> 32 (no power of two needed)."""
    cdef uint64_t h = (<uint64_t>key * <uint64_t>2654435761) & <uint64_t>0xFFFFFFFF
    return (h * nb) >> 32


cdef inline uint64_t fm_tetra_range(const fm_shard_t *fm, const uint8_t *P, uint64_t m,
                                    uint64_t *s, uint64_t *e) noexcept nogil:
    """Rows of the suffixes starting with the last 5 or 4 bytes of P[0..m) (m >= 4) from the
    lossy 4/5-gram table, one 64-byte bucket chosen by the last 4 bytes X; returns how many
    bytes it answered: 5 (an entry "y X" with y = P[m-5]), 4 (an entry X), or 0 (neither is
    stored: use the triple table then).  Bit i of the bucket's flags word marks slot i as a
    5-gram entry, whose count word is count | y << 24.  Only strings that occur are stored
    (count > 0; empty slots are all 0), none holds the separator; the file is checksummed
    on open and its entries checked against the triple and pair tables."""
    cdef const uint8_t *q = P + m - 4
    cdef uint32_t key = ((<uint32_t>q[0] << 24) | (<uint32_t>q[1] << 16)
                         | (<uint32_t>q[2] << 8) | <uint32_t>q[3])
    cdef const uint32_t *bk = fm.tetra + fm_tetra_bucket(key, fm.tetra_nb) * TETRA_WORDS
    cdef uint32_t flags = bk[TETRA_WORDS - 1], cw, y = 0x100
    cdef uint64_t got = 0
    cdef int i
    if m >= 5:
        y = P[m - 5]
    for i in range(TETRA_SLOTS):
        cw = bk[2 * TETRA_SLOTS + i]
        if bk[i] != key or cw == 0:
            continue
        if (flags >> i) & 1:
            if (cw >> TETRA_COUNT_BITS) == y:
                s[0] = bk[TETRA_SLOTS + i]
                e[0] = s[0] + (cw & ((1 << TETRA_COUNT_BITS) - 1))
                got = 5
                break
        elif got == 0:
            s[0] = bk[TETRA_SLOTS + i]
            e[0] = s[0] + cw
            got = 4
    if got and e[0] > fm.n_rows:    # only a damaged (unverified) index gets here
        e[0] = fm.n_rows
        if s[0] > e[0]:
            s[0] = e[0]
    return got


cdef enum:
    NGRAM_SLOTS = 4         # entries per bucket
    NGRAM_WORDS = 8         # u64 words per bucket: (key, first row | count << 32 | k << 60) x 4
    NGRAM_MIN = 4           # the shortest and longest strings held
    NGRAM_MAX = 8
    NGRAM_COUNT_BITS = 28   # count: bits 32..59 of an entry's second word; k: bits 60..63


cdef inline uint64_t fm_ngram_bucket(uint64_t key, uint64_t k, uint64_t nb) noexcept nogil:
    """Bucket of the k-gram whose bytes, big-endian, are ``key``: h = key * 0x9E3779B97F4A7C15
    + k * 0xC2B2AE3D27D4EB4F mod 2^64, scaled to nb buckets by ((h >> 32) * nb) >> 32."""
    cdef uint64_t h = key * <uint64_t>0x9E3779B97F4A7C15 + k * <uint64_t>0xC2B2AE3D27D4EB4F
    return ((h >> 32) * nb) >> 32


cdef inline uint64_t fm_ngram_range(const fm_shard_t *fm, const uint8_t *P, uint64_t m,
                                    uint64_t *s, uint64_t *e) noexcept nogil:
    """Rows of the suffixes starting with the longest suffix of P[0..m) (m >= 4) that the
    n-gram table holds, 8 bytes at most; returns its length k (4..8), or 0 if the table holds
    none (use the triple table then).  Each length has its own bucket, hashed from the k
    bytes and k, and the up to five buckets are requested together (their misses overlap),
    then read from the longest.  A slot holds key = the k bytes big-endian and
    first row | count << 32 | k << 60; an empty slot is all 0 (k = 0 matches no length).
    Only strings that occur are stored, none holds the separator; the file is checksummed on
    open and its entries checked against the triple and pair tables."""
    cdef uint64_t kmax = m if m < NGRAM_MAX else NGRAM_MAX
    cdef uint64_t keys[NGRAM_MAX + 1]
    cdef const uint64_t *bks[NGRAM_MAX + 1]
    cdef const uint64_t *bk
    cdef uint64_t v = 0, k, w
    cdef int j
    for k in range(1, kmax + 1):            # the last k bytes; each new byte is the highest
        v |= (<uint64_t>P[m - k]) << (8 * (k - 1))
        if k >= NGRAM_MIN:
            keys[k] = v
            bks[k] = fm.ngram + fm_ngram_bucket(v, k, fm.ngram_nb) * NGRAM_WORDS
            fm_prefetch(bks[k])
    k = kmax
    while k >= NGRAM_MIN:
        bk = bks[k]
        for j in range(NGRAM_SLOTS):
            w = bk[2 * j + 1]
            if bk[2 * j] == keys[k] and (w >> 60) == k:
                s[0] = w & <uint64_t>0xFFFFFFFF
                e[0] = s[0] + ((w >> 32) & ((<uint64_t>1 << NGRAM_COUNT_BITS) - 1))
                if e[0] > fm.n_rows:    # only a damaged (unverified) index gets here
                    e[0] = fm.n_rows
                    if s[0] > e[0]:
                        s[0] = e[0]
                return k
        k -= 1
    return 0


cdef enum:
    KMER_ABSENT = 0xFF


cdef inline bint fm_kmer_range(const fm_shard_t *fm, const uint8_t *P, uint64_t m,
                               uint64_t *s, uint64_t *e) noexcept nogil:
    """Rows of the suffixes starting with P's last kmer_k bytes (m >= kmer_k) from the k-mer
    table (Bowtie's "ftab": one 8-byte entry per string of the shard's 4 dominant bytes, in
    their code order); False if one of those bytes is not among the 4 (use the n-gram
    table then).  Empty strings hold count 0."""
    cdef uint64_t idx = 0, i
    cdef uint8_t c
    for i in range(m - fm.kmer_k, m):
        c = fm.kmer_map[P[i]]
        if c == KMER_ABSENT:
            return False
        idx = (idx << 2) | c
    s[0] = fm.kmer[2 * idx]
    e[0] = s[0] + fm.kmer[2 * idx + 1]
    if e[0] > fm.n_rows:            # only a damaged (unverified) index gets here
        e[0] = fm.n_rows
        if s[0] > e[0]:
            s[0] = e[0]
    return True


cdef inline bint fm_kmer_prefetch(const fm_shard_t *fm, const uint8_t *P, uint64_t m) noexcept nogil:
    """Request the k-mer table entry fm_kmer_range(P, m) will read; False (nothing
    requested) when the shard has no k-mer table, m < kmer_k or a byte is not among its 4."""
    cdef uint64_t idx = 0, i
    cdef uint8_t c
    if fm.kmer == NULL or m < fm.kmer_k:
        return False
    for i in range(m - fm.kmer_k, m):
        c = fm.kmer_map[P[i]]
        if c == KMER_ABSENT:
            return False
        idx = (idx << 2) | c
    fm_prefetch(fm.kmer + 2 * idx)
    return True


cdef inline uint64_t fm_table_start(const fm_shard_t *fm, const uint8_t *p, uint64_t k,
                                    uint64_t *s, uint64_t *e) noexcept nogil:
    """The rows of the longest suffix of p[0..k) (k >= 1) that a lookup table holds (k-mer,
    n-gram, 4/5-gram, triple or pair table, in that order), into [s, e); returns how many
    symbols it covered (0: none, [s, e) untouched).  A byte among the last NGRAM_MAX that
    the shard does not hold (or the separator) is answered at once, with no rows and no
    table line read: the suffix from it on is covered, and empty.  A miss such as random
    text against DNA then costs no n-gram probe."""
    cdef uint64_t got = 0, i = k, lo = k - NGRAM_MAX if k > NGRAM_MAX else 0
    if fm.kmer != NULL and k >= fm.kmer_k and fm_kmer_range(fm, p, k, s, e):
        return fm.kmer_k
    while i > lo:               # 32 bytes of bits, always cached
        i -= 1
        if (fm.absent[p[i] >> 6] >> (p[i] & 63)) & 1:
            s[0] = 0
            e[0] = 0
            return k - i
    if fm.ngram != NULL and k >= NGRAM_MIN:
        got = fm_ngram_range(fm, p, k, s, e)
    elif fm.tetra != NULL and k >= 4:
        got = fm_tetra_range(fm, p, k, s, e)
    if got:
        return got
    if fm.tri_rows != NULL and k >= 3 and fm_tri_range(fm, p[k - 3], p[k - 2], p[k - 1], s, e):
        return 3
    if fm.pair_rows != NULL and k >= 2:
        fm_pair_range(fm, p[k - 2], p[k - 1], s, e)
        return 2
    return 0


cdef inline void fm_po_prefetch_step(const fm_shard_t *fm, const uint8_t *P, uint64_t k,
                                    uint64_t s, uint64_t e) noexcept nogil:
    """Request what fm_po_step(P, k, s, e) will read (k > 0): the blocks of both ends and
    the superblock counts of its pair or letter."""
    cdef const po_t *po = &fm.wt.pocc
    cdef unsigned int ca = PO_NONE, cb = po.map[P[k - 1]]
    if k >= 2:
        ca = po.map[P[k - 2]]
    if ca != PO_NONE and cb != PO_NONE:
        po_prefetch_rank(po, (ca << 2) | cb, s, False)
        if s // PO_BLOCK_ROWS == e // PO_BLOCK_ROWS:
            po_prefetch_row(po, e)      # one rank at s and a scan to e (po_rank2_pair)
        else:
            po_prefetch_rank(po, (ca << 2) | cb, e, False)
    elif cb != PO_NONE:
        po_prefetch_rank(po, cb, s, True)
        po_prefetch_rank(po, cb, e, True)


cdef inline int _po_pair_code(const po_t *po, const uint8_t *P, uint64_t j) noexcept nogil:
    """The pair digit of P[j], P[j+1] (both letters), or -1."""
    cdef unsigned int ca = po.map[P[j]], cb = po.map[P[j + 1]]
    if ca == PO_NONE or cb == PO_NONE:
        return -1
    return <int>((ca << 2) | cb)


cdef inline bint _po_request_ahead(const fm_shard_t *fm, const uint8_t *P, uint64_t k,
                                   uint64_t s, uint64_t e) noexcept nogil:
    """For one search (fm_backward_search): when the step at k is a two-letter step on a
    proper range, request its lines and also the blocks of the step after it, guessed
    from this step's counts (po_guess_rank2), so that this step's scan and the next
    step's fetch overlap; True if it requested this step's lines."""
    cdef const po_t *po = &fm.wt.pocc
    cdef int x
    cdef uint64_t gs, ge = 0, d
    cdef bint two
    if k < 2 or (s == 0 and e == fm.n_rows):
        return False
    x = _po_pair_code(po, P, k - 2)
    if x < 0:
        return False
    fm_po_prefetch_step(fm, P, k, s, e)
    if k > 2:
        gs = po.c2[x] + po_guess_rank2(po, x, s)
        po_prefetch_block(po, gs)
        two = s // PO_BLOCK_ROWS != e // PO_BLOCK_ROWS
        if two:
            ge = po.c2[x] + po_guess_rank2(po, x, e)
            po_prefetch_block(po, ge)
        # and up to po.ahead steps after that one, from the superblock counts at the
        # guessed rows (po_guess_rank2_far): their fetches then run beside the next
        # step's instead of one after the other
        d = 4
        while d < k and d <= 2 * po.ahead:
            x = _po_pair_code(po, P, k - d)
            if x < 0:
                break
            gs = po.c2[x] + po_guess_rank2_far(po, x, gs)
            po_prefetch_block(po, gs)
            if two:
                ge = po.c2[x] + po_guess_rank2_far(po, x, ge)
                po_prefetch_block(po, ge)
            d += 2
    return True


cdef inline bint fm_po_step(const fm_shard_t *fm, const uint8_t *P, uint64_t *k, uint64_t *s,
                            uint64_t *e, bint requested=False) noexcept nogil:
    """One backward-search step over a pair-occurrence table (arity 16): the range [s, e)
    of P[k..] becomes that of P[k-2..] when P[k-2], P[k-1] are both letters (one block per
    end), else that of P[k-1..]; k > 0.  False when the range is empty.  ``requested``:
    the caller has requested the lines already (fm_po_prefetch_step)."""
    cdef const po_t *po = &fm.wt.pocc
    cdef unsigned int ca = PO_NONE, cb, x
    cdef uint32_t c
    cdef uint64_t a = s[0], z = e[0]
    if k[0] >= 2:
        ca = po.map[P[k[0] - 2]]
    cb = po.map[P[k[0] - 1]]
    if ca != PO_NONE and cb != PO_NONE:
        x = (ca << 2) | cb
        k[0] -= 2
        if a == 0 and z == fm.n_rows:   # the whole range: the pair's own rows
            a = po.c2[x]
            z = a + po.tot2[x]
        else:
            po_rank2_pair(po, x, &a, &z, requested)
            a += po.c2[x]
            z += po.c2[x]
    else:
        k[0] -= 1
        c = P[k[0]]
        if c == fm.sep or fm.C[c + 1] == fm.C[c]:
            return False
        if a == 0 and z == fm.n_rows:
            a = fm.C[c]
            z = fm.C[c + 1]
        else:
            wt_rank_pair(&fm.wt, c, &a, &z)
            a += fm.C[c]
            z += fm.C[c]
    if z > fm.n_rows:                   # only a damaged index gets here
        z = fm.n_rows
    s[0] = a
    e[0] = z
    return a < z


cdef inline void _qwt_request_ahead(const fm_shard_t *fm, const uint8_t *P, uint64_t k,
                                   uint64_t s, uint64_t e) noexcept nogil:
    """For one search over 4-ary trees whose lines do not stay cached (wt.qahead > 0): the
    step at k (> 0) ranks P[k-1] at [s, e).  Request the root lines of the next wt.qahead
    steps at rows guessed from the block table (qwt_guess_rank), each from the row guessed
    for the step before, so that they are fetched beside this step's levels instead of
    after them."""
    cdef const wt_t *wt = &fm.wt
    cdef uint64_t d = 0
    cdef uint32_t c
    cdef bint two = e - s > QV_LINE_DIGITS
    while d < wt.qahead and d + 1 < k:
        c = P[k - 1 - d]
        if c >= wt.sigma or c == fm.sep:
            return
        s = fm.C[c] + qwt_guess_rank(wt, c, s)
        qwt_prefetch_root(wt, s)
        if two:
            e = fm.C[c] + qwt_guess_rank(wt, c, e)
            qwt_prefetch_root(wt, e)
            two = e > s and e - s > QV_LINE_DIGITS
        d += 1


cdef inline uint64_t fm_backward_search(const fm_shard_t *fm, const symbol_t *P, uint64_t m,
                                        uint64_t *sp) noexcept nogil:
    """Rows [sp, sp + count) of the suffixes prefixed by P; returns count.  m >= 1.

    O(m * H0) cache lines; the last 8 to 4 bytes come from the n-gram table (or, in a
    format 1.2 shard, the last five or four from the 4/5-gram table) when it holds them,
    else the last three from the triple table or the last two from the pair table.
    """
    cdef uint64_t s = 0, e = fm.n_rows, k = m
    cdef uint32_t c
    if symbol_t is uint8_t:
        k = m - fm_table_start(fm, P, m, &s, &e)
        if k < m and s >= e:
            sp[0] = 0
            return 0
        if fm.wt.arity == 16:           # a pair-occurrence table: two letters per step
            while k > 0:
                if not fm_po_step(fm, P, &k, &s, &e, _po_request_ahead(fm, P, k, s, e)):
                    sp[0] = 0
                    return 0
            sp[0] = s
            return e - s
    while k > 0:
        k -= 1
        c = P[k]
        if c >= fm.wt.sigma or c == fm.sep or fm.C[c + 1] == fm.C[c]:
            sp[0] = 0
            return 0
        if s == 0 and e == fm.n_rows:   # the whole range: the rows of c are C's
            s = fm.C[c]
            e = fm.C[c + 1]
            continue
        if symbol_t is uint8_t:
            if fm.wt.qahead:
                _qwt_request_ahead(fm, P, k + 1, s, e)
        wt_rank_pair(&fm.wt, c, &s, &e)
        if s >= e:
            sp[0] = 0
            return 0
        s += fm.C[c]
        e += fm.C[c]
        if e > fm.n_rows:           # only a damaged index gets here
            e = fm.n_rows
            if s > e:
                s = e
    sp[0] = s
    return e - s


cdef inline int64_t fm_sampled_rank(const fm_shard_t *fm, uint64_t row) noexcept nogil:
    """Rank of ``row`` among the rows that carry an SA sample, or -1 if it carries none."""
    if fm.sampled_is_ef:
        return _ef_sampled_rank(fm, row)
    return sampled_rank(&fm.sampled, row)


cdef inline int64_t _ef_sampled_rank(const fm_shard_t *fm, uint64_t row) noexcept nogil:
    """fm_sampled_rank of the "elias_fano" encoding: a predecessor query."""
    cdef uint64_t bit, i
    if row < fm.sampled_first:
        return -1
    i = ef_predecessor_at(&fm.sampled_ef, row, &bit)
    if (((bit - i) << fm.sampled_ef.L) | ef_low(&fm.sampled_ef, i)) == row:
        return <int64_t>i
    return -1


cdef inline uint64_t fm_isa_row(const fm_shard_t *fm, uint64_t k) noexcept nogil:
    """Row of text position k * isa_rate (k < number of ISA samples).  With
    ``isa_is_rank`` the sample is the rank of that row among the marked rows (the position
    is a multiple of sa_rate, so its row carries an SA sample): the row is the EF value."""
    cdef uint64_t v = packed_get(&fm.isa_samples, k)
    if fm.isa_is_rank:
        if v >= fm.sampled_ef.n:            # only a damaged index gets here
            v = fm.sampled_ef.n - 1
        return ef_get(&fm.sampled_ef, v)
    return v


cdef enum:
    FM_CORRUPT = -1     # returned as a position (UINT64_MAX) by a walk on a damaged index


cdef inline uint64_t fm_locate_row(const fm_shard_t *fm, uint64_t row) noexcept nogil:
    """Text position of the suffix at ``row`` (row >= 1): at most sa_rate - 1 LF steps.

    Returns (uint64_t)-1 if no sample is met within sa_rate steps (a damaged index).
    """
    cdef uint64_t steps = 0
    cdef int64_t j
    cdef uint32_t c
    while steps < fm.sa_rate:
        j = fm_sampled_rank(fm, row)
        if j >= 0:
            return packed_get(&fm.sa_samples, <uint64_t>j) * fm.sa_rate + steps
        row = fm_lf(fm, row, &c)
        steps += 1
    return <uint64_t>FM_CORRUPT


cdef inline uint64_t fm_doc_of(const fm_shard_t *fm, uint64_t pos) noexcept nogil:
    """Document containing text position pos: the last d with doc_starts[d] <= pos
    (Elias-Fano predecessor; positions >= N give the last document)."""
    cdef uint64_t d = ef_predecessor(&fm.doc_starts, pos)
    return d if d < fm.n_docs else fm.n_docs - 1


cdef inline void fm_doc_bounds(const fm_shard_t *fm, uint64_t doc, uint64_t *s,
                               uint64_t *e) noexcept nogil:
    """s = start of document doc (< n_docs) in T, e = position of its separator."""
    ef_get_pair(&fm.doc_starts, doc, s, e)
    e[0] -= 1


cdef inline uint64_t fm_doc_end_row(const fm_shard_t *fm, uint64_t doc) noexcept nogil:
    """Row of the separator ending document doc (< n_docs)."""
    cdef uint64_t row = fm.doc_end_base + packed_get(&fm.doc_end_rows, doc)
    return row if row < fm.n_rows else fm.n_rows - 1


cdef inline uint64_t fm_po_extract_step(const fm_shard_t *fm, uint64_t *row, uint64_t pos,
                                       uint64_t left, uint64_t lo, uint64_t hi,
                                       uint8_t *out) noexcept nogil:
    """One step of an extract walk over a pair-occurrence table, back from text position
    pos (its suffix at *row, which moves): two letters when ``left`` >= 2 positions remain
    and the row is no exception (LF^2(row) = c2[x] + rank2_x(row) for its pair x), else one
    LF step.  The bytes that fall in [lo, hi) go to out[0 .. hi - lo).  Returns the
    positions stepped (2 or 1)."""
    cdef const po_t *po = &fm.wt.pocc
    cdef int x = po_pair_at(po, row[0]) if left >= 2 else -1
    cdef uint32_t c
    if x >= 0:
        if pos - 1 < hi:
            out[pos - 1 - lo] = po.letters[x & 3]
        if pos - 2 < hi:
            out[pos - 2 - lo] = po.letters[x >> 2]
        row[0] = po.c2[x] + po_rank2(po, <unsigned int>x, row[0])
        if row[0] >= fm.n_rows:         # only a damaged index gets here
            row[0] = fm.n_rows - 1
        return 2
    row[0] = fm_lf(fm, row[0] if row[0] < fm.n_rows else fm.n_rows - 1, &c)
    if pos - 1 < hi:
        out[pos - 1 - lo] = <uint8_t>c
    return 1


cdef inline void fm_po_extract_walk(const fm_shard_t *fm, uint64_t row, uint64_t q, uint64_t lo,
                                   uint64_t hi, uint8_t *out) noexcept nogil:
    """fm_extract's walk over a pair-occurrence table: from ``row``, the suffix at text
    position q, back to lo, writing the bytes of [lo, hi) to out[0 .. hi - lo)."""
    while q > lo:
        po_prefetch(&fm.wt.pocc, row)
        q -= fm_po_extract_step(fm, &row, q, q - lo, lo, hi, out)


cdef inline void fm_extract(const fm_shard_t *fm, uint64_t doc, uint64_t a, uint64_t b,
                            symbol_t *out) noexcept nogil:
    """Symbols [a, b) of document doc into out (b - a symbols).  0 <= a <= b <= len(doc).

    Starts at the nearest ISA sample (or the document's end) at or after b and
    walks LF backwards: at most b - a + isa_rate - 1 steps.
    """
    cdef uint64_t s, e                                  # e: position of the separator
    cdef uint64_t hi, lo, q, row
    cdef uint32_t c
    if a >= b:
        return
    fm_doc_bounds(fm, doc, &s, &e)
    hi = s + b
    lo = s + a
    q = ((hi + fm.isa_rate - 1) // fm.isa_rate) * fm.isa_rate
    if q >= e:
        q = e
        row = fm_doc_end_row(fm, doc)
    else:
        row = fm_isa_row(fm, q // fm.isa_rate)
    if row >= fm.n_rows:
        row = fm.n_rows - 1
    if symbol_t is uint8_t:
        if fm.wt.arity == 16:
            fm_po_extract_walk(fm, row, q, lo, hi, out)
            return
    while q > lo:
        row = fm_lf(fm, row, &c)
        q -= 1
        if q < hi:
            out[q - lo] = <symbol_t>c


cdef inline int fm_shard_init(fm_shard_t *fm, dict arrays, dict params) except -1:
    """Point ``fm`` into the shard's arrays (numpy arrays or read-only maps, validated by the
    caller: see fmindex/shard.py).  The caller keeps ``arrays`` alive as long as ``fm``."""
    cdef const uint64_t[::1] lines = arrays["wt_lines"]
    cdef const uint8_t[::1] nodes = arrays["wt_nodes"].view("u1").reshape(-1)
    cdef const uint32_t[::1] roots = arrays["wt_roots"]
    cdef const uint64_t[::1] table = arrays["wt_table"]
    cdef const uint64_t[::1] C = arrays["C"]
    cdef const uint32_t[::1] prefix
    cdef const uint8_t[::1] low
    cdef const uint64_t[::1] s_high, s_low, s_sel1, s_sel0
    cdef const uint64_t[::1] sa = arrays["sa_samples"]
    cdef const uint64_t[::1] isa = arrays["isa_samples"]
    cdef const uint64_t[::1] ends = arrays["doc_end_rows"]
    cdef const uint64_t[::1] ef_high = arrays["doc_ef_high"]
    cdef const uint64_t[::1] ef_low = arrays["doc_ef_low"]
    cdef const uint64_t[::1] ef_sel1 = arrays["doc_ef_sel1"]
    cdef const uint64_t[::1] ef_sel0 = arrays["doc_ef_sel0"]
    cdef uint64_t n_docs = params["n_docs"]
    cdef uint64_t n_rows = params["n_rows"]
    cdef const uint64_t[::1] payload
    cdef const uint64_t *rrr_payload = NULL         # plain RankBitVector lines unless set
    cdef const uint64_t[::1] supers
    cdef const uint64_t *quad_supers = NULL         # binary trees unless set
    cdef const uint64_t[::1] rrr_supers
    cdef const uint64_t *rrr_supers_ptr = NULL      # 60-block RRR lines unless set
    cdef unsigned int rrr_super_shift = 0
    wt_bits = params.get("wt_bits", "plain")
    if wt_bits in ("rrr63", "rrr63r", "rrr63rc"):
        payload = arrays["wt_payload"]
        rrr_payload = &payload[0]
    if wt_bits == "rrr63rc":                        # compact RRR lines + superblocks
        rrr_supers = arrays["wt_rrr_supers"]
        rrr_supers_ptr = &rrr_supers[0]
        rrr_super_shift = params["wt_rrr_super_shift"]
    cdef const uint64_t[::1] root_start
    cdef const uint64_t *quad_root_start = NULL
    cdef unsigned int c
    if params.get("wt_arity", 2) == 4:
        supers = arrays["wt_supers"]
        quad_supers = &supers[0]
        if "wt_root_starts" not in arrays:     # derived, kept with the arrays (8 B/block)
            arrays["wt_root_starts"] = arrays["wt_nodes"]["start"][arrays["wt_roots"]].copy()
        root_start = arrays["wt_root_starts"]
        if root_start.shape[0] != roots.shape[0]:
            raise ValueError("root starts do not match the roots")
        quad_root_start = &root_start[0]
    wt_init(&fm.wt, &lines[0], params["wt_n_bits"], &nodes[0], &roots[0], &table[0],
            params["wt_block_shift"], n_rows, params["sigma"], rrr_payload,
            payload.shape[0] if rrr_payload != NULL else 0, quad_supers,
            wt_bits in ("rrr63r", "rrr63rc"), quad_root_start, rrr_supers_ptr, rrr_super_shift)
    fm.C = &C[0]
    if params.get("wt_arity", 2) == 16:         # a pair-occurrence table, not a tree
        if params["sep"] in list(params["po_letters"]):
            raise ValueError("pair-occurrence table letters hold the separator")
        po_init_arrays(&fm.wt.pocc, {"blocks": arrays["wt_lines"], "supers": arrays["wt_supers"],
                                     "exc_rows": arrays["po_exc_rows"],
                                     "exc_syms": arrays["po_exc_syms"],
                                     "rare_rows": arrays["po_rare_rows"],
                                     "rare_start": arrays["po_rare_start"]},
                       n_rows, params["po_letters"], C)
        fm.wt.arity = 16
    fm.sep = params["sep"]
    for c in range(256):
        if c >= fm.wt.sigma or c == fm.sep or fm.C[c + 1] == fm.C[c]:
            fm.absent[c >> 6] |= (<uint64_t>1) << (c & 63)
        else:
            fm.absent[c >> 6] &= ~((<uint64_t>1) << (c & 63))
    fm.r0 = params["r0"]
    fm.n_rows = n_rows
    fm.sa_rate = params["sa_sample"]
    # sampled_encoding "elias_fano" (format 1.2): the marked rows as an Elias-Fano sequence
    # (checked completely by the caller); else SampledRows blocks of 256 rows
    fm.sampled_is_ef = params.get("sampled_encoding", "blocks") == "elias_fano"
    fm.sampled.prefix = NULL
    fm.sampled.low = NULL
    fm.sampled.n_rows = n_rows
    fm.sampled.n_marks = 0
    fm.sampled_first = 0
    if fm.sampled_is_ef:
        s_high = arrays["sampled_ef_high"]
        s_low = arrays["sampled_ef_low"]
        s_sel1 = arrays["sampled_ef_sel1"]
        s_sel0 = arrays["sampled_ef_sel0"]
        ef_init(&fm.sampled_ef, &s_high[0], &s_low[0], &s_sel1[0], &s_sel0[0],
                params["n_sa_samples"], params["sampled_last"], params["sampled_ef_low_bits"])
        fm.sampled_first = ef_get(&fm.sampled_ef, 0)
    else:
        prefix = arrays["sampled_prefix"]
        low = arrays["sampled_low"]
        fm.sampled.prefix = &prefix[0]
        fm.sampled.low = &low[0] if low.shape[0] else NULL
        fm.sampled.n_marks = low.shape[0]
    packed_init(&fm.sa_samples, &sa[0], params["sa_width"], params["n_sa_samples"])
    fm.isa_rate = params["isa_sample"]
    # isa_encoding "sample_rank" (format 1.2): rank among the marked rows, isa_width bits
    fm.isa_is_rank = params.get("isa_encoding", "row") == "sample_rank"
    if fm.isa_is_rank:
        if not fm.sampled_is_ef:
            raise ValueError("ISA samples as sample ranks need Elias-Fano sampled rows")
        packed_init(&fm.isa_samples, &isa[0], params["isa_width"], params["n_isa_samples"])
    else:
        packed_init(&fm.isa_samples, &isa[0], params["row_width"], params["n_isa_samples"])
    # doc_end_encoding "sep_rank": row - C[sep] in doc_end_width bits; else (format 1.0)
    # the row itself in row_width bits
    if params.get("doc_end_encoding") == "sep_rank":
        packed_init(&fm.doc_end_rows, &ends[0], params["doc_end_width"], n_docs)
        fm.doc_end_base = fm.C[fm.sep]
    else:
        packed_init(&fm.doc_end_rows, &ends[0], params["row_width"], n_docs)
        fm.doc_end_base = 0
    # the caller has checked these arrays completely (elias_fano.check)
    ef_init(&fm.doc_starts, &ef_high[0], &ef_low[0], &ef_sel1[0], &ef_sel0[0], n_docs + 1,
            n_rows - 1, params["doc_ef_low_bits"])
    fm.n_docs = n_docs
    cdef const uint32_t[::1] pairs
    cdef const uint16_t[::1] pmap
    cdef uint64_t pnz = 0, b
    fm.pair_rows = NULL
    fm.pair_map = NULL
    fm.pair_nz = 0
    if "pair_rows" in arrays:
        pairs = arrays["pair_rows"]
        if pairs.shape[0] != 256 * 257 or "pair_dense_rows" in arrays:
            raise ValueError("pair table has the wrong size")
        fm.pair_rows = &pairs[0]
    elif "pair_dense_rows" in arrays:
        pairs = arrays["pair_dense_rows"]
        pmap = arrays["pair_map"]
        if pmap.shape[0] != 256:
            raise ValueError("pair table byte map has the wrong size")
        for b in range(256):
            if pmap[b] != PAIR_ABSENT:
                if pmap[b] != pnz:
                    raise ValueError("pair table byte map is not dense")
                pnz += 1
        if pnz == 0 or <uint64_t>pairs.shape[0] != pnz * (pnz + 1):
            raise ValueError("pair table has the wrong size")
        fm.pair_rows = &pairs[0]
        fm.pair_map = &pmap[0]
        fm.pair_nz = pnz
    cdef const uint32_t[::1] tri
    cdef const uint16_t[::1] tmap
    cdef uint64_t tn = 0, tz = 0, t
    fm.tri_rows = NULL
    fm.tri_map = NULL
    fm.tri_n = 0
    fm.tri_nz = 0
    if "tri_rows" in arrays:
        tri = arrays["tri_rows"]
        tmap = arrays["tri_map"]
        if tmap.shape[0] != 512 or fm.pair_rows == NULL or fm.pair_map != NULL:
            raise ValueError("triple table without its byte map or pair table")
        for t in range(256):
            if tmap[t] != TRI_ABSENT:
                tn += 1
            if tmap[256 + t] != TRI_ABSENT:
                if tmap[256 + t] != tz:
                    raise ValueError("triple table byte map is not dense")
                tz += 1
        for t in range(256):
            if tmap[t] != TRI_ABSENT and (tmap[t] >= tn or tmap[256 + t] == TRI_ABSENT):
                raise ValueError("triple table byte map is not dense")
        if <uint64_t>tri.shape[0] != tn * tn * (tz + 1) or tn == 0:
            raise ValueError("triple table has the wrong size")
        fm.tri_rows = &tri[0]
        fm.tri_map = &tmap[0]
        fm.tri_n = tn
        fm.tri_nz = tz
    cdef const uint32_t[::1] tetra
    fm.tetra = NULL
    fm.tetra_nb = 0
    if "tetra_rows" in arrays:
        tetra = arrays["tetra_rows"]
        if (tetra.shape[0] == 0 or tetra.shape[0] % TETRA_WORDS or fm.tri_rows == NULL
                or <uint64_t>tetra.shape[0] // TETRA_WORDS >= (<uint64_t>1 << 32)):
            raise ValueError("4/5-gram table has the wrong size or no triple table")
        fm.tetra = &tetra[0]
        fm.tetra_nb = tetra.shape[0] // TETRA_WORDS
    cdef const uint64_t[::1] ngram
    fm.ngram = NULL
    fm.ngram_nb = 0
    if "ngram_rows" in arrays:
        ngram = arrays["ngram_rows"]
        if (ngram.shape[0] == 0 or ngram.shape[0] % NGRAM_WORDS or fm.tri_rows == NULL
                or <uint64_t>ngram.shape[0] // NGRAM_WORDS >= (<uint64_t>1 << 32)):
            raise ValueError("n-gram table has the wrong size or no triple table")
        fm.ngram = &ngram[0]
        fm.ngram_nb = ngram.shape[0] // NGRAM_WORDS
    cdef const uint32_t[::1] kmer
    cdef const uint8_t[::1] kmap
    cdef uint64_t kk = 0, kn, codes = 0
    fm.kmer = NULL
    fm.kmer_map = NULL
    fm.kmer_k = 0
    if "kmer_rows" in arrays:
        kmer = arrays["kmer_rows"]
        kmap = arrays["kmer_map"]
        kn = kmer.shape[0] // 2
        while kk < 16 and (<uint64_t>1 << (2 * kk)) < kn:
            kk += 1
        if kmap.shape[0] != 256 or kmer.shape[0] != 2 * kn or kk < 1 or \
                (<uint64_t>1 << (2 * kk)) != kn:
            raise ValueError("k-mer table has the wrong size")
        for b in range(256):
            if kmap[b] != KMER_ABSENT:
                if kmap[b] > 3 or b == fm.sep:
                    raise ValueError("k-mer table byte map is damaged")
                codes |= <uint64_t>1 << kmap[b]
        if codes != 15:
            raise ValueError("k-mer table byte map is damaged")
        fm.kmer = &kmer[0]
        fm.kmer_map = &kmap[0]
        fm.kmer_k = kk
    return 0
