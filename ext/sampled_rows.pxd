# cython: language_level=3
"""SampledRows: which BWT rows carry a suffix-array sample, and the sample's rank.

Text-order sampling (every position p with p % rate == 0) bounds a locate walk by
``rate - 1`` LF steps but needs to know, for any row, whether it is sampled.  A
plain bitvector costs 1.14 bits per row; here the marked rows are stored sparsely:
rows are grouped in blocks of 256; ``prefix[b]`` = marks before block b (uint32)
and ``low[j]`` = row & 255 of mark j, in row order.  Space: 32/256 bits per row +
8 bits per mark (0.375 bits/row at rate 32).  Lookup: ``prefix`` (two adjacent
words) + a scan of the block's ~256/rate bytes: usually two cache lines.
"""
from libc.stdint cimport uint64_t, uint32_t, uint8_t, int64_t

cdef enum:
    ROW_BLOCK_SHIFT = 8     # 256 rows per block

ctypedef struct sampled_rows_t:
    const uint32_t *prefix   # (n_rows >> 8) + 2 entries
    const uint8_t *low       # (n_marks,) low 8 bits of each marked row
    uint64_t n_rows
    uint64_t n_marks


cdef inline int64_t sampled_rank(const sampled_rows_t *s, uint64_t row) noexcept nogil:
    """Rank of ``row`` among marked rows, or -1 if the row is not marked."""
    cdef uint64_t blk = row >> ROW_BLOCK_SHIFT
    cdef uint64_t j = s.prefix[blk]
    cdef uint64_t hi = s.prefix[blk + 1]
    if hi > s.n_marks:              # clamp: only a damaged index needs it
        hi = s.n_marks
    cdef uint8_t t = <uint8_t>(row & 255)
    cdef uint8_t v
    while j < hi:
        v = s.low[j]
        if v == t:
            return <int64_t>j
        if v > t:
            return -1
        j += 1
    return -1
