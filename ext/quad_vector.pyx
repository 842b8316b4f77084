# cython: language_level=3
"""Python face of the QuadRankVector kernels (layout in quad_vector.pxd): tests and builds."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, uint8_t
from quad_vector cimport (qv_t, qv_init, qv_pack, qv_n_lines, qv_n_supers, qv_rank,
                          qv_rank_pair, qv_access, qv_access_rank, QV_LINE_WORDS)

cnp.import_array()


def quad_lines_for(uint64_t n):
    """(line words, superblock words) that hold ``n`` digits."""
    return qv_n_lines(n) * QV_LINE_WORDS, qv_n_supers(n) * 4


def pack_digits(const uint64_t[::1] plain, uint64_t n):
    """Plain digit words (32 digits per uint64, low bits first) -> (lines, supers)."""
    if <uint64_t>plain.shape[0] * 32 < n:
        raise ValueError("plain array shorter than n digits")
    lw, sw = quad_lines_for(n)
    lines = np.zeros(lw, dtype=np.uint64)
    supers = np.zeros(sw, dtype=np.uint64)
    cdef uint64_t[::1] lv = lines
    cdef uint64_t[::1] sv = supers
    cdef const uint64_t *src = &plain[0] if plain.shape[0] else NULL
    with nogil:
        qv_pack(src, n, &lv[0], &sv[0])
    return lines, supers


cdef class QuadRankVector:
    """An immutable sequence of digits 0..3 with rank of each digit in one cache line.

    ``QuadRankVector(digits)`` builds from an array-like of values in 0..3;
    ``QuadRankVector.from_arrays(lines, supers, n)`` wraps existing arrays.
    """
    cdef qv_t qv
    cdef object _lines, _supers

    def __init__(self, digits=None):
        d = np.ascontiguousarray(np.asarray([] if digits is None else digits, dtype=np.int64))
        if d.shape[0] and (d.min() < 0 or d.max() > 3):
            raise ValueError("digits must be in 0..3")
        n = d.shape[0]
        plain = np.zeros((n + 31) // 32 + 1, dtype=np.uint64)
        if n:
            padded = np.zeros(((n + 31) // 32) * 32, dtype=np.uint64)
            padded[:n] = d
            w = padded.reshape(-1, 32) << (2 * np.arange(32, dtype=np.uint64))
            plain[: w.shape[0]] = np.bitwise_or.reduce(w, axis=1)
        lines, supers = pack_digits(plain, n)
        self._set(lines, supers, n)

    @classmethod
    def from_arrays(cls, lines, supers, uint64_t n):
        cdef QuadRankVector self = cls.__new__(cls)
        self._set(lines, supers, n)
        return self

    cdef _set(self, lines, supers, uint64_t n):
        cdef const uint64_t[::1] lv = lines
        cdef const uint64_t[::1] sv = supers
        lw, sw = quad_lines_for(n)
        if lv.shape[0] != lw or sv.shape[0] != sw:
            raise ValueError("line or superblock array has the wrong length for n")
        self._lines = lines
        self._supers = supers
        qv_init(&self.qv, &lv[0], &sv[0], n)

    def __len__(self):
        return self.qv.n

    def size_in_bytes(self):
        return self._lines.nbytes + self._supers.nbytes

    def rank(self, unsigned int x, uint64_t i):
        """Digits x in [0, i)."""
        if x > 3:
            raise ValueError("digit must be in 0..3")
        if i > self.qv.n:
            raise IndexError("rank position out of range")
        return qv_rank(&self.qv, x, i)

    def rank_pair(self, unsigned int x, uint64_t i, uint64_t j):
        if x > 3 or i > j or j > self.qv.n:
            raise ValueError("need x <= 3 and i <= j <= n")
        cdef uint64_t a, b
        qv_rank_pair(&self.qv, x, i, j, &a, &b)
        return a, b

    def __getitem__(self, uint64_t i):
        if i >= self.qv.n:
            raise IndexError("index out of range")
        return qv_access(&self.qv, i)

    def access_rank(self, uint64_t i):
        """(digit at i, digits equal to it in [0, i))."""
        if i >= self.qv.n:
            raise IndexError("index out of range")
        cdef unsigned int x
        cdef uint64_t r = qv_access_rank(&self.qv, i, &x)
        return x, r
