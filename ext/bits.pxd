# cython: language_level=3
"""Word-level bit helpers, inlined into every kernel that cimports them."""
from libc.stdint cimport uint64_t, uint32_t

cdef extern from *:
    """
    static inline unsigned int fm_popcount64(unsigned long long x) { return (unsigned int)__builtin_popcountll(x); }
    static inline unsigned int fm_ctz64(unsigned long long x) { return (unsigned int)__builtin_ctzll(x); }
    static inline void fm_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
    """
    unsigned int fm_popcount64(unsigned long long x) noexcept nogil
    unsigned int fm_ctz64(unsigned long long x) noexcept nogil
    void fm_prefetch(const void *p) noexcept nogil


cdef inline unsigned int word_select1(uint64_t w, unsigned int k) noexcept nogil:
    """Position (0..63) of the k-th (0-based) set bit of ``w``; requires k < popcount(w)."""
    cdef unsigned int i
    for i in range(k):
        w &= w - 1
    return fm_ctz64(w)
