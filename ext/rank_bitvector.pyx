# cython: language_level=3
"""Python face of the RankBitVector kernels (see rank_bitvector.pxd for the layout).

Used by tests and by the build; queries use the inline kernels directly.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t
from rank_bitvector cimport (rbv_t, rbv_n_lines, rbv_pack, rbv_init, bv_rank1, bv_access,
                             bv_select1, bv_select0, BV_LINE_WORDS)

cnp.import_array()


def pack_bits(const uint64_t[::1] plain, uint64_t n_bits):
    """Plain little-endian bit words -> line-layout words (numpy uint64)."""
    if <uint64_t>plain.shape[0] * 64 < n_bits:
        raise ValueError("plain array shorter than n_bits")
    cdef uint64_t n_lines = rbv_n_lines(n_bits)
    out = np.zeros(n_lines * BV_LINE_WORDS, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef const uint64_t *src = &plain[0] if plain.shape[0] else NULL
    with nogil:
        rbv_pack(src, n_bits, &o[0])
    return out


def lines_for_bits(uint64_t n_bits):
    """Number of 64-byte lines that hold ``n_bits`` bits."""
    return rbv_n_lines(n_bits)


cdef class RankBitVector:
    """An immutable bitvector with O(1) rank (one cache line) and O(log n) select.

    ``RankBitVector(bools)`` builds from any array-like of 0/1 values;
    ``RankBitVector.from_lines(words, n_bits)`` wraps an existing line-layout array
    (e.g. a read-only mmap) without copying.
    """
    cdef rbv_t bv
    cdef object _lines

    def __init__(self, bits=None):
        if bits is None:
            bits = np.zeros(0, dtype=np.uint8)
        b = np.ascontiguousarray(np.asarray(bits).astype(bool, copy=False))
        n = b.shape[0]
        plain = np.zeros((n + 63) // 64 + 1, dtype=np.uint64)
        packed = np.packbits(b, bitorder="little")
        plain.view(np.uint8)[: packed.shape[0]] = packed
        self._set(pack_bits(plain, n), n)

    @classmethod
    def from_lines(cls, lines, uint64_t n_bits):
        cdef RankBitVector self = cls.__new__(cls)
        self._set(lines, n_bits)
        return self

    cdef _set(self, lines, uint64_t n_bits):
        cdef const uint64_t[::1] v = lines
        if <uint64_t>v.shape[0] != rbv_n_lines(n_bits) * BV_LINE_WORDS:
            raise ValueError("line array has the wrong length for n_bits")
        self._lines = lines
        rbv_init(&self.bv, &v[0], n_bits)

    @property
    def lines(self):
        return self._lines

    def __len__(self):
        return self.bv.n_bits

    @property
    def n_ones(self):
        return self.bv.n_ones

    def size_in_bytes(self):
        return self.bv.n_lines * BV_LINE_WORDS * 8

    def rank1(self, uint64_t i):
        """Ones in [0, i)."""
        if i > self.bv.n_bits:
            raise IndexError("rank position out of range")
        return bv_rank1(&self.bv, i)

    def rank0(self, uint64_t i):
        if i > self.bv.n_bits:
            raise IndexError("rank position out of range")
        return i - bv_rank1(&self.bv, i)

    def __getitem__(self, int64_t i):
        if i < 0:
            i += self.bv.n_bits
        if i < 0 or <uint64_t>i >= self.bv.n_bits:
            raise IndexError("bit index out of range")
        return bv_access(&self.bv, i)

    def select1(self, uint64_t k):
        """Position of the k-th one (0-based)."""
        if k >= self.bv.n_ones:
            raise IndexError("select1 beyond the number of ones")
        return bv_select1(&self.bv, k)

    def select0(self, uint64_t k):
        """Position of the k-th zero (0-based)."""
        if k >= self.bv.n_bits - self.bv.n_ones:
            raise IndexError("select0 beyond the number of zeros")
        return bv_select0(&self.bv, k)

    def rank1_many(self, const uint64_t[::1] positions):
        """Vectorised rank1 over a uint64 array of positions (all must be <= len)."""
        cdef Py_ssize_t i, n = positions.shape[0]
        out = np.empty(n, dtype=np.uint64)
        cdef uint64_t[::1] o = out
        for i in range(n):
            if positions[i] > self.bv.n_bits:
                raise IndexError("rank position out of range")
        with nogil:
            for i in range(n):
                o[i] = bv_rank1(&self.bv, positions[i])
        return out
