# cython: language_level=3
"""Suffix-array construction (SA-IS, implemented in ext/sais.c).

``suffix_array(text)`` returns the suffix array of ``text`` alone: the end of
the text acts as a virtual sentinel smaller than every symbol (a suffix that is
a prefix of another sorts first), which is the output of
``pydivsufsort.divsufsort``.  The index dtype is int32 when len(text) < 2**31,
int64 otherwise.  The GIL is released while sorting.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

cnp.import_array()

cdef extern from "sais.h" nogil:
    int64_t fm_sais_u8(const uint8_t *T, int32_t *SA, int64_t n)
    int64_t fm_sais_u8_64(const uint8_t *T, int64_t *SA, int64_t n)
    int64_t fm_sais_u16(const uint16_t *T, int32_t *SA, int64_t n, int32_t k)
    int64_t fm_sais_u16_64(const uint16_t *T, int64_t *SA, int64_t n, int32_t k)
    int64_t fm_sais_int32(const int32_t *T, int32_t *SA, int64_t n, int32_t k)
    int64_t fm_sais_int32_64(const int32_t *T, int64_t *SA, int64_t n, int32_t k)
    int FM_SAIS_ENOMEM
    int FM_SAIS_EINVAL
    int FM_SAIS_ESYMBOL

__all__ = ["suffix_array", "suffix_array_bytes"]

cdef int64_t _INT32_MAX = 2147483647   # largest n (and k) of the 32-bit kernels


cdef _raise_for(int64_t rc, int64_t n, int64_t k):
    if rc == FM_SAIS_ENOMEM:
        raise MemoryError(
            f"suffix_array: out of memory while sorting {n} symbols "
            f"(alphabet size {k}); free memory or sort a smaller text")
    if rc == FM_SAIS_ESYMBOL:
        raise ValueError(
            f"suffix_array: a symbol lies outside [0, {k}); "
            "pass a larger alphabet_size or leave it as None")
    raise ValueError(f"suffix_array: invalid arguments (n={n}, k={k}, code {rc})")


cdef object _sort_u8(const uint8_t[::1] t, bint force64):
    cdef int64_t n = t.shape[0]
    cdef int64_t rc = 0
    cdef cnp.ndarray sa
    cdef int32_t[::1] sa32
    cdef int64_t[::1] sa64
    if n == 0:
        return np.empty(0, dtype=np.int64 if force64 else np.int32)
    if n <= _INT32_MAX and not force64:
        sa = np.empty(n, dtype=np.int32)
        sa32 = sa
        with nogil:
            rc = fm_sais_u8(&t[0], &sa32[0], n)
    else:
        sa = np.empty(n, dtype=np.int64)
        sa64 = sa
        with nogil:
            rc = fm_sais_u8_64(&t[0], &sa64[0], n)
    if rc != 0:
        _raise_for(rc, n, 256)
    return sa


cdef object _sort_u16(const uint16_t[::1] t, int64_t k, bint force64):
    cdef int64_t n = t.shape[0]
    cdef int64_t rc = 0
    cdef cnp.ndarray sa
    cdef int32_t[::1] sa32
    cdef int64_t[::1] sa64
    cdef int32_t kk = <int32_t>k
    if n == 0:
        return np.empty(0, dtype=np.int64 if force64 else np.int32)
    if n <= _INT32_MAX and not force64:
        sa = np.empty(n, dtype=np.int32)
        sa32 = sa
        with nogil:
            rc = fm_sais_u16(&t[0], &sa32[0], n, kk)
    else:
        sa = np.empty(n, dtype=np.int64)
        sa64 = sa
        with nogil:
            rc = fm_sais_u16_64(&t[0], &sa64[0], n, kk)
    if rc != 0:
        _raise_for(rc, n, k)
    return sa


cdef object _sort_i32(const int32_t[::1] t, int64_t k, bint force64):
    cdef int64_t n = t.shape[0]
    cdef int64_t rc = 0
    cdef cnp.ndarray sa
    cdef int32_t[::1] sa32
    cdef int64_t[::1] sa64
    cdef int32_t kk = <int32_t>k
    if n == 0:
        return np.empty(0, dtype=np.int64 if force64 else np.int32)
    if n <= _INT32_MAX and not force64:
        sa = np.empty(n, dtype=np.int32)
        sa32 = sa
        with nogil:
            rc = fm_sais_int32(&t[0], &sa32[0], n, kk)
    else:
        sa = np.empty(n, dtype=np.int64)
        sa64 = sa
        with nogil:
            rc = fm_sais_int32_64(&t[0], &sa64[0], n, kk)
    if rc != 0:
        _raise_for(rc, n, k)
    return sa


def _as_array(text):
    if isinstance(text, np.ndarray):
        arr = text
    elif isinstance(text, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(text, dtype=np.uint8)
    elif isinstance(text, str):
        raise TypeError("suffix_array: got str; encode it first (e.g. text.encode('utf-8'))")
    else:
        try:
            arr = np.asarray(text)
        except Exception as exc:  # pragma: no cover - numpy message is enough
            raise TypeError(f"suffix_array: cannot read {type(text).__name__} as an array") from exc
        if arr.size == 0:
            arr = arr.astype(np.int64)
    if arr.ndim != 1:
        raise ValueError(f"suffix_array: text must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "ui":
        raise TypeError(
            f"suffix_array: text must hold integers (uint8/uint16/uint32/int32/int64...), "
            f"got dtype {arr.dtype}")
    return arr


def _suffix_array(text, alphabet_size, bint force64):
    arr = _as_array(text)
    cdef int64_t n = arr.shape[0]
    cdef int64_t k
    if alphabet_size is not None:
        alphabet_size = int(alphabet_size)
        if alphabet_size < 1:
            raise ValueError(f"suffix_array: alphabet_size must be >= 1, got {alphabet_size}")
    if n == 0:
        return np.empty(0, dtype=np.int64 if force64 else np.int32)

    if arr.dtype == np.uint8:
        if alphabet_size is not None and alphabet_size < 256:
            hi = int(arr.max())
            if hi >= alphabet_size:
                raise ValueError(
                    f"suffix_array: symbol {hi} is not below alphabet_size={alphabet_size}")
        return _sort_u8(np.ascontiguousarray(arr), force64)

    lo = int(arr.min())
    hi = int(arr.max())
    if lo < 0:
        raise ValueError(f"suffix_array: symbols must be >= 0, found {lo}")
    if alphabet_size is not None and hi >= alphabet_size:
        raise ValueError(
            f"suffix_array: symbol {hi} is not below alphabet_size={alphabet_size}")
    if hi < 256:
        # small alphabet in a wide dtype: the byte kernel is the fastest
        return _sort_u8(np.ascontiguousarray(arr, dtype=np.uint8), force64)
    k = hi + 1
    if arr.dtype == np.uint16:
        return _sort_u16(np.ascontiguousarray(arr), k, force64)
    if k > n:
        # sparse alphabet (e.g. token ids): map the symbols that occur onto
        # 0..k'-1 in order, so the bucket arrays stay O(n)
        uniq, inv = np.unique(arr, return_inverse=True)
        k = uniq.shape[0]
        if k > _INT32_MAX:
            raise ValueError(f"suffix_array: {k} distinct symbols, at most 2**31 - 1 supported")
        inv = inv.reshape(-1)
        if k <= 65536:
            return _sort_u16(np.ascontiguousarray(inv, dtype=np.uint16), k, force64)
        return _sort_i32(np.ascontiguousarray(inv, dtype=np.int32), k, force64)
    if arr.dtype == np.int32 or (arr.dtype == np.uint32 and k <= _INT32_MAX):
        # no copy for contiguous input (uint32 values < 2**31 read as int32)
        return _sort_i32(np.ascontiguousarray(arr).view(np.int32), k, force64)
    if k <= 65536:
        return _sort_u16(np.ascontiguousarray(arr, dtype=np.uint16), k, force64)
    return _sort_i32(np.ascontiguousarray(arr, dtype=np.int32), k, force64)


def suffix_array(text, alphabet_size=None):
    """Suffix array of ``text``.

    ``text``: bytes / bytearray / memoryview, or a 1-D numpy array of
    non-negative integers (uint8, uint16, uint32, int32, int64...).
    ``alphabet_size``: optional bound, every symbol must be below it (checked).
    Sparse alphabets (e.g. token ids near 2**31) are compacted first.

    Returns a numpy array of suffix start positions in lexicographic order of
    the suffixes, int32 when ``len(text) < 2**31`` and int64 otherwise; the
    end of the text compares smaller than every symbol.  Raises ValueError for
    negative or out-of-range symbols, TypeError for non-integer input and
    MemoryError when working memory cannot be allocated.
    """
    return _suffix_array(text, alphabet_size, False)


def suffix_array_bytes(data):
    """Suffix array of a bytes-like object (see :func:`suffix_array`)."""
    if isinstance(data, str):
        raise TypeError("suffix_array_bytes: got str; encode it first")
    return _sort_u8(np.frombuffer(data, dtype=np.uint8), False) if len(data) else \
        np.empty(0, dtype=np.int32)


def _suffix_array_64(text, alphabet_size=None):
    """Like :func:`suffix_array` but always through the 64-bit-index kernels
    (int64 result).  For tests of the code path used when n >= 2**31."""
    return _suffix_array(text, alphabet_size, True)
