# cython: language_level=3
"""Elias-Fano encoding of a strictly increasing sequence x_0 < x_1 < ... < x_{n-1}.

Elias, "Efficient storage and retrieval by content and address of static files" (1974);
Fano (1971); the layout follows Vigna, "Quasi-succinct indices" (WSDM 2013).

With L = floor(log2(U / n)) (U = x_{n-1} + 1; L = 0 if U < 2n), each value is split
into a high part x >> L and a low part x & (2^L - 1):
  * ``low``:  the low parts, bit-packed (PackedInts layout, L bits each; absent if L = 0)
  * ``high``: a bitvector of n + (x_{n-1} >> L) + 1 bits: value i sets bit (x_i >> L) + i;
              bucket b (the values with high part b) ends with the zero number b.
              Plain little-endian uint64 words plus one zero word of padding.
  * ``sel1``: position in ``high`` of every EF_SAMPLE-th one   (ceil(n / EF_SAMPLE))
  * ``sel0``: position in ``high`` of every EF_SAMPLE-th zero  (ceil(n_zeros / EF_SAMPLE))
Space: n * (L + 2) bits + 2 * 64 / EF_SAMPLE bits per value for the samples, i.e. about
2 + log2(U / n) bits per value.

``ef_get(i)`` = select1(i) - i << L | low_i: one sample, then popcounts over the words
that follow it (about 2 * EF_SAMPLE bits = one 64-byte line).  ``ef_predecessor(x)``
(the last i with x_i <= x): select0 finds bucket x >> L, whose values are consecutive
ones; their low parts are scanned (binary search when the bucket is large).

The kernels trust the arrays: ``check`` (elias_fano.pyx) checks them completely before
any kernel runs, in one streaming pass with O(1) memory (each value decoded and compared
with the one before, each select sample compared as its word is passed).
"""
from libc.stdint cimport uint64_t
from bits cimport fm_popcount64, fm_ctz64
from packed_ints cimport packed_t, packed_get, packed_init

cdef extern from *:
    """
    static inline unsigned int ef_msb64(unsigned long long x) { return 63u - (unsigned int)__builtin_clzll(x); }
    """
    unsigned int ef_msb64(unsigned long long x) noexcept nogil

cdef enum:
    EF_SAMPLE_SHIFT = 8
    EF_SAMPLE = 256         # one select sample per 256 ones (and per 256 zeros)

ctypedef struct ef_t:
    const uint64_t *high    # high-part bitvector words (n_high_bits + 63) // 64 + 1
    packed_t low            # low parts (L bits each) when L > 0
    const uint64_t *sel1    # positions of ones 0, 256, 512, ...
    const uint64_t *sel0    # positions of zeros 0, 256, 512, ...
    uint64_t n              # number of values (>= 1)
    uint64_t n_high_bits    # n + (x_{n-1} >> L) + 1
    uint64_t last           # x_{n-1}
    unsigned int L          # low bits per value, 0..57
    uint64_t low_mask       # (1 << L) - 1


cdef inline unsigned int ef_word_select1(uint64_t x, unsigned int k) noexcept nogil:
    """Position (0..63) of the k-th (0-based) set bit of x, k < popcount(x): three
    popcounts halve the word down to a byte, then at most 7 bit clears."""
    cdef unsigned int shift = 0, c
    c = fm_popcount64(x & <uint64_t>0xFFFFFFFF)
    if k >= c:
        k -= c
        shift = 32
    c = fm_popcount64((x >> shift) & <uint64_t>0xFFFF)
    if k >= c:
        k -= c
        shift += 16
    c = fm_popcount64((x >> shift) & <uint64_t>0xFF)
    if k >= c:
        k -= c
        shift += 8
    x >>= shift
    while k:
        x &= x - 1
        k -= 1
    return shift + fm_ctz64(x)


cdef inline uint64_t ef_low(const ef_t *ef, uint64_t i) noexcept nogil:
    if ef.L == 0:
        return 0
    return packed_get(&ef.low, i)


cdef inline uint64_t ef_select1(const ef_t *ef, uint64_t i) noexcept nogil:
    """Position in ``high`` of the one number i (i < n)."""
    cdef uint64_t p = ef.sel1[i >> EF_SAMPLE_SHIFT]
    cdef uint64_t r = i & (EF_SAMPLE - 1)
    cdef uint64_t w = p >> 6
    cdef uint64_t x = ef.high[w] & (~(<uint64_t>0) << (p & 63))
    cdef unsigned int c = fm_popcount64(x)
    while r >= c:
        r -= c
        w += 1
        x = ef.high[w]
        c = fm_popcount64(x)
    return (w << 6) + ef_word_select1(x, <unsigned int>r)


cdef inline uint64_t ef_select0(const ef_t *ef, uint64_t j) noexcept nogil:
    """Position in ``high`` of the zero number j (j < number of zeros)."""
    cdef uint64_t p = ef.sel0[j >> EF_SAMPLE_SHIFT]
    cdef uint64_t r = j & (EF_SAMPLE - 1)
    cdef uint64_t w = p >> 6
    cdef uint64_t x = ~ef.high[w] & (~(<uint64_t>0) << (p & 63))
    cdef unsigned int c = fm_popcount64(x)
    while r >= c:
        r -= c
        w += 1
        x = ~ef.high[w]
        c = fm_popcount64(x)
    return (w << 6) + ef_word_select1(x, <unsigned int>r)


cdef inline uint64_t ef_next_one(const ef_t *ef, uint64_t p) noexcept nogil:
    """Position of the first one at or after bit p (one must exist)."""
    cdef uint64_t w = p >> 6
    cdef uint64_t x = ef.high[w] & (~(<uint64_t>0) << (p & 63))
    while x == 0:
        w += 1
        x = ef.high[w]
    return (w << 6) + fm_ctz64(x)


cdef inline uint64_t ef_next_zero(const ef_t *ef, uint64_t p) noexcept nogil:
    """Position of the first zero at or after bit p (the padding word ends every scan)."""
    cdef uint64_t w = p >> 6
    cdef uint64_t x = ~ef.high[w] & (~(<uint64_t>0) << (p & 63))
    while x == 0:
        w += 1
        x = ~ef.high[w]
    return (w << 6) + fm_ctz64(x)


cdef inline uint64_t ef_prev_one(const ef_t *ef, uint64_t p) noexcept nogil:
    """Position of the last one before bit p (one must exist)."""
    cdef uint64_t w = p >> 6
    cdef uint64_t x = ef.high[w] & (((<uint64_t>1) << (p & 63)) - 1)
    while x == 0:
        w -= 1
        x = ef.high[w]
    return (w << 6) + ef_msb64(x)


cdef inline uint64_t ef_get(const ef_t *ef, uint64_t i) noexcept nogil:
    """x_i, i < n."""
    return ((ef_select1(ef, i) - i) << ef.L) | ef_low(ef, i)


cdef inline void ef_get_pair(const ef_t *ef, uint64_t i, uint64_t *a, uint64_t *b) noexcept nogil:
    """a = x_i, b = x_{i+1} (i + 1 < n): one select, then the next one bit."""
    cdef uint64_t p = ef_select1(ef, i)
    cdef uint64_t q = ef_next_one(ef, p + 1)
    a[0] = ((p - i) << ef.L) | ef_low(ef, i)
    b[0] = ((q - i - 1) << ef.L) | ef_low(ef, i + 1)


cdef inline uint64_t ef_predecessor_at(const ef_t *ef, uint64_t x, uint64_t *bit) noexcept nogil:
    """The last i with x_i <= x (requires x >= x_0); ``*bit`` = position of its one in
    ``high``, so x_i = (*bit - i) << L | low_i."""
    if x >= ef.last:
        bit[0] = ef.n_high_bits - 2
        return ef.n - 1
    cdef uint64_t h = x >> ef.L, xl = x & ef.low_mask
    cdef uint64_t p, lo, cnt, mid, hi, first
    if h == 0:
        p = 0
        lo = 0
    else:
        p = ef_select0(ef, h - 1) + 1        # first bit of bucket h
        lo = p - h                           # values in buckets < h
    cnt = ef_next_zero(ef, p) - p            # values in bucket h: lo .. lo + cnt - 1
    first = lo
    if cnt <= 8:
        hi = lo
        while hi < lo + cnt and ef_low(ef, hi) <= xl:
            hi += 1
        lo = hi
    else:
        # binary search: first index in [lo, lo + cnt) whose low part exceeds xl
        hi = lo + cnt
        while lo < hi:
            mid = (lo + hi) >> 1
            if ef_low(ef, mid) <= xl:
                lo = mid + 1
            else:
                hi = mid
    if lo > first:
        bit[0] = p + (lo - 1 - first)
    else:                                    # none in bucket h: the last of a smaller one
        bit[0] = ef_prev_one(ef, p)
    return lo - 1


cdef inline uint64_t ef_predecessor(const ef_t *ef, uint64_t x) noexcept nogil:
    """The last i with x_i <= x.  Requires x >= x_0."""
    cdef uint64_t bit
    return ef_predecessor_at(ef, x, &bit)


cdef inline void ef_init(ef_t *ef, const uint64_t *high, const uint64_t *low,
                         const uint64_t *sel1, const uint64_t *sel0, uint64_t n,
                         uint64_t last, unsigned int L) noexcept nogil:
    ef.high = high
    ef.sel1 = sel1
    ef.sel0 = sel0
    ef.n = n
    ef.last = last
    ef.L = L
    ef.low_mask = ((<uint64_t>1) << L) - 1
    ef.n_high_bits = n + (last >> L) + 1
    packed_init(&ef.low, low, L if L > 0 else 1, n)
