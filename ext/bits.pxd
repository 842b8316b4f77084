# cython: language_level=3
"""Word-level bit helpers, inlined into every kernel that cimports them."""
from libc.stdint cimport uint64_t, uint32_t

cdef extern from "fm_bits.h":
    unsigned int fm_popcount64(unsigned long long x) noexcept nogil
    unsigned int fm_ctz64(unsigned long long x) noexcept nogil
    void fm_prefetch(const void *p) noexcept nogil


cdef inline unsigned int word_select1(uint64_t w, unsigned int k) noexcept nogil:
    """Position (0..63) of the k-th (0-based) set bit of ``w``; requires k < popcount(w)."""
    cdef unsigned int i
    for i in range(k):
        w &= w - 1
    return fm_ctz64(w)
