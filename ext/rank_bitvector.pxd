# cython: language_level=3
"""RankBitVector: a plain bitvector with rank in one cache line.

Layout (``lines``: uint64 words, 8 per 64-byte cache line):
    line L = [ones before line L | 7 data words = 448 bits]
Bit i lives in line i // 448, word 1 + (i % 448) // 64, bit (i % 64).
There is always one line more than the data needs, so rank1(n_bits) reads a
valid line.  Overhead: 64/448 = 14.3% of the data bits; rank1 = one cache line,
at most 7 popcounts.  select uses a binary search over the line counts.
"""
from libc.stdint cimport uint64_t, int64_t
from bits cimport fm_popcount64, word_select1

cdef enum:
    BV_LINE_WORDS = 8     # uint64 words per line (= 64 bytes)
    BV_DATA_WORDS = 7     # data words per line
    BV_LINE_BITS = 448    # data bits per line

ctypedef struct rbv_t:
    const uint64_t *lines   # (n_lines * 8,) interleaved counts and data
    uint64_t n_bits         # number of bits stored
    uint64_t n_ones         # number of set bits
    uint64_t n_lines        # n_bits // 448 + 1


cdef inline uint64_t bv_rank1(const rbv_t *bv, uint64_t i) noexcept nogil:
    """Ones in [0, i), 0 <= i <= n_bits.  O(1), one cache line.

    A position beyond n_bits (only possible with a corrupted index) is clamped, so a
    damaged file can give wrong answers but never a read outside the array.
    """
    if i > bv.n_bits:
        i = bv.n_bits
    cdef uint64_t line = i // BV_LINE_BITS
    cdef unsigned int off = <unsigned int>(i - line * BV_LINE_BITS)
    cdef const uint64_t *w = bv.lines + line * BV_LINE_WORDS
    cdef uint64_t r = w[0]
    cdef unsigned int k = off >> 6
    cdef unsigned int j
    for j in range(k):
        r += fm_popcount64(w[1 + j])
    if off & 63:
        r += fm_popcount64(w[1 + k] & ((<uint64_t>1 << (off & 63)) - 1))
    return r


cdef inline unsigned int bv_access(const rbv_t *bv, uint64_t i) noexcept nogil:
    """Bit i (0 <= i < n_bits)."""
    cdef uint64_t line = i // BV_LINE_BITS
    cdef unsigned int off = <unsigned int>(i - line * BV_LINE_BITS)
    return <unsigned int>((bv.lines[line * BV_LINE_WORDS + 1 + (off >> 6)] >> (off & 63)) & 1)


cdef inline uint64_t bv_access_rank1(const rbv_t *bv, uint64_t i, unsigned int *bit) noexcept nogil:
    """Bit i into ``*bit`` and ones in [0, i), from the same cache line (i clamped)."""
    if i > bv.n_bits:
        i = bv.n_bits
    cdef uint64_t line = i // BV_LINE_BITS
    cdef unsigned int off = <unsigned int>(i - line * BV_LINE_BITS)
    cdef const uint64_t *w = bv.lines + line * BV_LINE_WORDS
    cdef uint64_t r = w[0]
    cdef unsigned int k = off >> 6
    cdef unsigned int j
    cdef uint64_t last = w[1 + k]
    for j in range(k):
        r += fm_popcount64(w[1 + j])
    bit[0] = <unsigned int>((last >> (off & 63)) & 1)
    return r + fm_popcount64(last & ((<uint64_t>1 << (off & 63)) - 1))


cdef inline uint64_t bv_select1(const rbv_t *bv, uint64_t k) noexcept nogil:
    """Position of the k-th one (0-based), k < n_ones.  O(log n_lines)."""
    cdef uint64_t lo = 0, hi = bv.n_lines - 1, mid
    cdef const uint64_t *w
    cdef unsigned int j, c
    # last line whose count-before is <= k
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if bv.lines[mid * BV_LINE_WORDS] <= k:
            lo = mid
        else:
            hi = mid - 1
    w = bv.lines + lo * BV_LINE_WORDS
    k -= w[0]
    for j in range(BV_DATA_WORDS):
        c = fm_popcount64(w[1 + j])
        if k < c:
            return lo * BV_LINE_BITS + j * 64 + word_select1(w[1 + j], <unsigned int>k)
        k -= c
    return bv.n_bits  # unreachable for valid k


cdef inline uint64_t bv_select0(const rbv_t *bv, uint64_t k) noexcept nogil:
    """Position of the k-th zero (0-based), k < n_bits - n_ones.  O(log n_lines)."""
    cdef uint64_t lo = 0, hi = bv.n_lines - 1, mid
    cdef const uint64_t *w
    cdef unsigned int j, c
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if mid * BV_LINE_BITS - bv.lines[mid * BV_LINE_WORDS] <= k:
            lo = mid
        else:
            hi = mid - 1
    w = bv.lines + lo * BV_LINE_WORDS
    k -= lo * BV_LINE_BITS - w[0]
    for j in range(BV_DATA_WORDS):
        c = 64 - fm_popcount64(w[1 + j])
        if k < c:
            return lo * BV_LINE_BITS + j * 64 + word_select1(~w[1 + j], <unsigned int>k)
        k -= c
    return bv.n_bits


cdef inline uint64_t rbv_n_lines(uint64_t n_bits) noexcept nogil:
    """Lines needed for ``n_bits`` bits (one spare line for rank1(n_bits))."""
    return n_bits // BV_LINE_BITS + 1


cdef inline uint64_t rbv_get_plain_bit(const uint64_t *plain, uint64_t i) noexcept nogil:
    return (plain[i >> 6] >> (i & 63)) & 1


cdef inline void rbv_pack(const uint64_t *plain, uint64_t n_bits, uint64_t *lines) noexcept nogil:
    """Copy plain little-endian bits (word i>>6, bit i&63) into the line layout.

    ``lines`` holds rbv_n_lines(n_bits) * 8 zeroed words.
    """
    cdef uint64_t n_lines = rbv_n_lines(n_bits)
    cdef uint64_t L, i, pos, count = 0
    cdef unsigned int j
    cdef uint64_t *w
    for L in range(n_lines):
        w = lines + L * BV_LINE_WORDS
        w[0] = count
        for j in range(BV_DATA_WORDS):
            w[1 + j] = 0
        pos = L * BV_LINE_BITS
        i = 0
        while i < BV_LINE_BITS and pos + i < n_bits:
            # gather 64 bits starting at plain bit pos+i (may straddle two plain words)
            w[1 + (i >> 6)] = _plain_word(plain, n_bits, pos + i)
            count += fm_popcount64(w[1 + (i >> 6)])
            i += 64


cdef inline uint64_t _plain_word(const uint64_t *plain, uint64_t n_bits, uint64_t start) noexcept nogil:
    """64 bits of ``plain`` from bit ``start``; bits at or beyond n_bits read as 0."""
    cdef uint64_t q = start >> 6
    cdef unsigned int r = <unsigned int>(start & 63)
    cdef uint64_t n_words = (n_bits + 63) >> 6
    cdef uint64_t v = plain[q] >> r
    if r and q + 1 < n_words:
        v |= plain[q + 1] << (64 - r)
    cdef uint64_t remain = n_bits - start
    if remain < 64:
        v &= (<uint64_t>1 << remain) - 1
    return v


cdef inline void rbv_init(rbv_t *bv, const uint64_t *lines, uint64_t n_bits) noexcept nogil:
    bv.lines = lines
    bv.n_bits = n_bits
    bv.n_lines = rbv_n_lines(n_bits)
    bv.n_ones = lines[(bv.n_lines - 1) * BV_LINE_WORDS] + _tail_ones(bv)


cdef inline uint64_t _tail_ones(const rbv_t *bv) noexcept nogil:
    cdef const uint64_t *w = bv.lines + (bv.n_lines - 1) * BV_LINE_WORDS
    cdef uint64_t r = 0
    cdef unsigned int j
    for j in range(BV_DATA_WORDS):
        r += fm_popcount64(w[1 + j])
    return r
