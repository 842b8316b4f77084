# cython: language_level=3
"""PackedInts: an array of fixed-width unsigned integers (width 1..57 bits).

Entry i occupies bits [i*w, (i+1)*w) of a little-endian uint64 word array that
carries one extra zero word of padding, so a read is one unaligned 8-byte load,
a shift and a mask: one cache miss (two at a line boundary).
"""
from libc.stdint cimport uint64_t, uint8_t
from libc.string cimport memcpy

cdef enum:
    PACKED_MAX_WIDTH = 57

ctypedef struct packed_t:
    const uint8_t *data   # bytes of the word array (little-endian), >= 8 bytes of padding
    unsigned int width    # bits per entry, 1..57
    uint64_t mask         # (1 << width) - 1
    uint64_t n            # number of entries


cdef inline uint64_t packed_get(const packed_t *p, uint64_t i) noexcept nogil:
    cdef uint64_t bit = i * p.width
    cdef uint64_t v
    memcpy(&v, p.data + (bit >> 3), 8)
    return (v >> (bit & 7)) & p.mask


cdef inline void packed_init(packed_t *p, const void *words, unsigned int width, uint64_t n) noexcept nogil:
    p.data = <const uint8_t *>words
    p.width = width
    p.mask = ((<uint64_t>1) << width) - 1
    p.n = n


cdef inline uint64_t packed_words(unsigned int width, uint64_t n) noexcept nogil:
    """uint64 words to allocate for n entries of ``width`` bits (padding included)."""
    return (n * width + 63) // 64 + 1


cdef inline void packed_set(uint64_t *words, unsigned int width, uint64_t i, uint64_t v) noexcept nogil:
    """Write entry i (the words start zeroed; each entry is written once)."""
    cdef uint64_t bit = i * width
    cdef uint64_t q = bit >> 6
    cdef unsigned int r = <unsigned int>(bit & 63)
    words[q] |= v << r
    if r + width > 64:
        words[q + 1] |= v >> (64 - r)


cdef inline unsigned int bits_needed(uint64_t max_value) noexcept nogil:
    """Width that holds every value in [0, max_value] (at least 1)."""
    cdef unsigned int w = 1
    while w < 64 and (max_value >> w) != 0:
        w += 1
    return w
