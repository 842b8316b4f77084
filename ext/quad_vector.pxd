# cython: language_level=3
"""QuadRankVector: a sequence of 2-bit digits (0..3) with rank of any digit in one cache line.

The bit layer of the 4-ary wavelet tree (profile "fast" of byte shards): a 4-ary node
holds one digit per symbol passing through it, and a rank answers "how many of digit x
before position i" — one 64-byte line, like BWA's occurrence counts for DNA.

Layout (``lines``: uint64 words, 8 per 64-byte line):
    line L = [4 x 16-bit counts of digits 0..3 before line L, relative to its superblock
              | 7 data words = 224 digits, digit k at word 1 + k // 32, bits 2 * (k % 32)]
    super  = 4 uint64 per superblock of QV_SUPER_LINES lines: digits 0..3 before it
A superblock spans 256 lines = 57,344 digits, so the 16-bit counts never overflow; the
superblock table is 32 bytes per 57 Ki digits (0.05% of the data) and stays in cache.
There is always one line more than the data needs, so rank(n) reads a valid line.
Overhead: 64 bits per 448 data bits (12.5%); rank = one line + one cached word.
"""
from libc.stdint cimport uint64_t
from bits cimport fm_popcount64, fm_prefetch

cdef extern from "qv_scan.h":
    unsigned int fm_qv_line_count(const uint64_t *w, unsigned int x, unsigned int off) noexcept nogil


cdef enum:
    QV_LINE_WORDS = 8       # uint64 words per line (= 64 bytes)
    QV_DATA_WORDS = 7       # data words per line
    QV_LINE_DIGITS = 224    # digits per line
    QV_SUPER_SHIFT = 8      # lines per superblock = 256

ctypedef struct qv_t:
    const uint64_t *lines   # (n_lines * 8,)
    const uint64_t *supers  # (n_supers * 4,)
    uint64_t n              # digits stored
    uint64_t n_lines        # n // 224 + 1


cdef inline uint64_t qv_n_lines(uint64_t n) noexcept nogil:
    """Lines needed for ``n`` digits (one spare line for rank(n))."""
    return n // QV_LINE_DIGITS + 1


cdef inline uint64_t qv_n_supers(uint64_t n) noexcept nogil:
    return ((qv_n_lines(n) - 1) >> QV_SUPER_SHIFT) + 1


cdef inline uint64_t _qv_match(uint64_t v, uint64_t x) noexcept nogil:
    """Bit 2k set iff digit k of ``v`` equals x (x in 0..3)."""
    v ^= x * <uint64_t>0x5555555555555555
    return ~(v | (v >> 1)) & <uint64_t>0x5555555555555555


cdef inline uint64_t _qv_line_rank(const uint64_t *w, unsigned int x, unsigned int off) noexcept nogil:
    """Digits x in the first ``off`` (< 224) digits of line ``w``, plus the line's count:
    the same four vectors whatever off (qv_scan.h), no loop exit to mispredict."""
    return ((w[0] >> (16 * x)) & 0xFFFF) + fm_qv_line_count(w, x, off)


cdef inline uint64_t qv_rank(const qv_t *qv, unsigned int x, uint64_t i) noexcept nogil:
    """Digits x (0..3) in [0, i), i <= n (clamped: a damaged index reads no further)."""
    if i > qv.n:
        i = qv.n
    cdef uint64_t line = i // QV_LINE_DIGITS
    cdef unsigned int off = <unsigned int>(i - line * QV_LINE_DIGITS)
    return (qv.supers[(line >> QV_SUPER_SHIFT) * 4 + x]
            + _qv_line_rank(qv.lines + line * QV_LINE_WORDS, x, off))


cdef inline void qv_rank_pair(const qv_t *qv, unsigned int x, uint64_t i, uint64_t j,
                              uint64_t *ri, uint64_t *rj) noexcept nogil:
    """(rank_x(i), rank_x(j)) for i <= j; one line scan when both fall in the same line."""
    if j > qv.n:
        j = qv.n
    if i > j:
        i = j
    cdef uint64_t li = i // QV_LINE_DIGITS, lj = j // QV_LINE_DIGITS
    cdef uint64_t base
    if li == lj:
        base = qv.supers[(li >> QV_SUPER_SHIFT) * 4 + x]
        ri[0] = base + _qv_line_rank(qv.lines + li * QV_LINE_WORDS, x,
                                     <unsigned int>(i - li * QV_LINE_DIGITS))
        rj[0] = base + _qv_line_rank(qv.lines + li * QV_LINE_WORDS, x,
                                     <unsigned int>(j - li * QV_LINE_DIGITS))
        return
    ri[0] = qv_rank(qv, x, i)
    rj[0] = qv_rank(qv, x, j)


cdef inline uint64_t qv_access_rank(const qv_t *qv, uint64_t i, unsigned int *x) noexcept nogil:
    """Digit i into ``*x`` and the digits equal to it in [0, i), from one line.  i < n
    (clamped to n - 1 on a damaged index)."""
    if i >= qv.n:
        i = qv.n - 1 if qv.n else 0
    cdef uint64_t line = i // QV_LINE_DIGITS
    cdef unsigned int off = <unsigned int>(i - line * QV_LINE_DIGITS)
    cdef const uint64_t *w = qv.lines + line * QV_LINE_WORDS
    cdef unsigned int d = <unsigned int>((w[1 + (off >> 5)] >> (2 * (off & 31))) & 3)
    x[0] = d
    return qv.supers[(line >> QV_SUPER_SHIFT) * 4 + d] + _qv_line_rank(w, d, off)


cdef inline unsigned int qv_access(const qv_t *qv, uint64_t i) noexcept nogil:
    """Digit i (i < n)."""
    cdef uint64_t line = i // QV_LINE_DIGITS
    cdef unsigned int off = <unsigned int>(i - line * QV_LINE_DIGITS)
    return <unsigned int>((qv.lines[line * QV_LINE_WORDS + 1 + (off >> 5)] >> (2 * (off & 31))) & 3)


cdef inline void qv_prefetch(const qv_t *qv, uint64_t i) noexcept nogil:
    """Prefetch the line a rank at digit i reads."""
    fm_prefetch(qv.lines + (i // QV_LINE_DIGITS) * QV_LINE_WORDS)


cdef inline void qv_init(qv_t *qv, const uint64_t *lines, const uint64_t *supers,
                         uint64_t n) noexcept nogil:
    qv.lines = lines
    qv.supers = supers
    qv.n = n
    qv.n_lines = qv_n_lines(n)


cdef inline void qv_pack(const uint64_t *plain, uint64_t n, uint64_t *lines,
                         uint64_t *supers) noexcept nogil:
    """Plain digits (digit k at word k >> 5, bits 2 * (k & 31); digits >= n are 0) into the
    line layout.  ``lines``: qv_n_lines(n) * 8 words, ``supers``: qv_n_supers(n) * 4 words."""
    cdef uint64_t n_lines = qv_n_lines(n)
    cdef uint64_t L, pos, v
    cdef uint64_t tot[4]
    cdef uint64_t rel[4]
    cdef unsigned int j, x, r
    cdef uint64_t *w
    cdef uint64_t n_words = (n + 31) >> 5
    for x in range(4):
        tot[x] = 0
        rel[x] = 0
    for L in range(n_lines):
        if (L & ((1 << QV_SUPER_SHIFT) - 1)) == 0:
            for x in range(4):
                supers[(L >> QV_SUPER_SHIFT) * 4 + x] = tot[x]
                rel[x] = 0
        w = lines + L * QV_LINE_WORDS
        w[0] = rel[0] | (rel[1] << 16) | (rel[2] << 32) | (rel[3] << 48)
        for j in range(QV_DATA_WORDS):
            # 32 digits from digit pos = 224 L + 32 j: word-aligned, since 224 = 7 * 32
            pos = L * QV_LINE_DIGITS + 32 * j
            v = plain[pos >> 5] if (pos >> 5) < n_words else 0
            if pos + 32 > n:
                if pos >= n:
                    v = 0
                else:
                    v &= (<uint64_t>1 << (2 * (n - pos))) - 1
            w[1 + j] = v
            # count every digit of the (zero-padded) word; padding zeros are subtracted below
            for x in range(4):
                rel[x] += fm_popcount64(_qv_match(v, x))
            if pos + 32 > n:
                r = <unsigned int>(pos + 32 - n) if pos < n else 32
                rel[0] -= r
        # fold this line's counts into the running totals at the superblock boundary
        if ((L + 1) & ((1 << QV_SUPER_SHIFT) - 1)) == 0:
            for x in range(4):
                tot[x] += rel[x]
