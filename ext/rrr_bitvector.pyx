# cython: language_level=3, boundscheck=False, wraparound=False
"""Python face of the RRR bitvector (layout in rrr_bitvector.pxd) and its encoder.

``rrr_encode_lines`` turns a RankBitVector line array (what the wavelet-tree
builder produces) into the RRR arrays; queries use the inline kernels directly.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, uint8_t
from rank_bitvector cimport rbv_n_lines, BV_LINE_BITS, BV_LINE_WORDS
from rrr_bitvector cimport (rrr_t, rrr_init, rrr_rank1, rrr_rank1_pair, rrr_access_rank1, rrr_select,
                            _rrr_scan, rrr_class,
                            rrr_n_lines, rrr_len_table, rrr_len2_table,
                            FM_BINOM, RRR_BLOCK, RRR_GROUP, RRR_LINE_WORDS,
                            RRR_LINE_BITS)
from bits cimport fm_popcount64

cnp.import_array()


cdef inline uint64_t _line_bits(const uint64_t *lines, uint64_t n_bits, uint64_t pos,
                                unsigned int want) noexcept nogil:
    """``want`` (<= 64) bits of a RankBitVector line array from bit ``pos``; 0 past n_bits."""
    cdef uint64_t v = 0, line, word
    cdef unsigned int got = 0, off, s, take
    while got < want and pos < n_bits:
        line = pos // BV_LINE_BITS
        off = <unsigned int>(pos - line * BV_LINE_BITS)
        s = off & 63
        word = lines[line * BV_LINE_WORDS + 1 + (off >> 6)] >> s
        take = 64 - s
        if take > want - got:
            take = want - got
        if take < 64:
            word &= (<uint64_t>1 << take) - 1
        v |= word << got
        got += take
        pos += take
    return v


cdef inline uint64_t _encode_block(uint64_t x, unsigned int k) noexcept nogil:
    """Offset of the 63-bit block ``x`` with k ones (see rrr_decode for the order)."""
    cdef uint64_t off = 0
    cdef unsigned int p
    for p in range(RRR_BLOCK):
        if k == 0:
            break
        if (x >> p) & 1:
            off += FM_BINOM[RRR_BLOCK - p - 1][k]
            k -= 1
    return off


def rrr_encode_lines(const uint64_t[::1] rank_lines, uint64_t n_bits, bint raw=False):
    """RankBitVector lines of ``n_bits`` bits -> (RRR lines, RRR payload), numpy uint64.
    ``raw``: kind rrr63r (blocks of the mid-range classes stored as they are)."""
    if <uint64_t>rank_lines.shape[0] != rbv_n_lines(n_bits) * BV_LINE_WORDS:
        raise ValueError("line array has the wrong length for n_bits")
    cdef uint64_t n_blocks = (n_bits + RRR_BLOCK - 1) // RRR_BLOCK
    cdef uint64_t n_lines = rrr_n_lines(n_bits)
    classes_arr = np.zeros(n_lines * RRR_GROUP, dtype=np.uint8)
    cdef uint8_t[::1] cls = classes_arr
    cdef const uint64_t *src = &rank_lines[0]
    cdef uint64_t b, x, total = 0, ones = 0, ptr = 0, L
    cdef unsigned int k, j, width
    cdef const uint8_t *lens = rrr_len_table(raw)
    with nogil:
        for b in range(n_blocks):
            x = _line_bits(src, n_bits, b * RRR_BLOCK, RRR_BLOCK)
            k = fm_popcount64(x)
            cls[b] = <uint8_t>k
            total += lens[k]
    lines = np.zeros(n_lines * RRR_LINE_WORDS, dtype=np.uint64)
    payload = np.zeros((total + 63) // 64 + 2, dtype=np.uint64)
    cdef uint64_t[::1] lv = lines
    cdef uint64_t[::1] pv = payload
    cdef uint64_t *w
    cdef uint64_t off
    cdef unsigned int s
    with nogil:
        for L in range(n_lines):
            w = &lv[L * RRR_LINE_WORDS]
            w[0] = ones
            w[1] = ptr
            for j in range(RRR_GROUP):
                b = L * RRR_GROUP + j
                k = cls[b]
                w[2 + j // 10] |= (<uint64_t>k) << (6 * (j % 10))
                if b >= n_blocks:
                    continue
                ones += k
                width = lens[k]
                if width == 0:
                    continue
                x = _line_bits(src, n_bits, b * RRR_BLOCK, RRR_BLOCK)
                off = x if width == RRR_BLOCK else _encode_block(x, k)
                s = <unsigned int>(ptr & 63)
                pv[ptr >> 6] |= off << s
                if s + width > 64:
                    pv[(ptr >> 6) + 1] |= off >> (64 - s)
                ptr += width
    return lines, payload


def rrr_payload_words(const uint64_t[::1] lines, uint64_t n_bits, bint raw=False):
    """Payload words that RRR ``lines`` of ``n_bits`` bits need (for validation)."""
    cdef uint64_t n_lines = rrr_n_lines(n_bits)
    if <uint64_t>lines.shape[0] != n_lines * RRR_LINE_WORDS:
        raise ValueError("RRR line array has the wrong length for n_bits")
    cdef const uint64_t *w = &lines[(n_lines - 1) * RRR_LINE_WORDS]
    cdef uint64_t ptr = w[1]
    _rrr_scan(w, RRR_GROUP - 1, &ptr, rrr_len2_table(raw))   # widths of the first 59 blocks
    ptr += rrr_len_table(raw)[rrr_class(w, RRR_GROUP - 1)]
    return (ptr + 63) // 64 + 2


def rrr_lines_consistent(const uint64_t[::1] lines, uint64_t n_bits, bint raw=False):
    """True when every line's ones-before and payload pointer follow from the line before
    it (its classes and, for the kind, their widths), starting at 0: what a shard checks on
    open, so that a payload read as the wrong kind (rrr63 / rrr63r) is refused."""
    cdef uint64_t n_lines = rrr_n_lines(n_bits)
    if <uint64_t>lines.shape[0] != n_lines * RRR_LINE_WORDS:
        return False
    cdef const uint8_t *lens = rrr_len_table(raw)
    cdef const uint8_t *len2 = rrr_len2_table(raw)
    cdef const uint64_t *w
    cdef uint64_t L, ptr, ones
    cdef unsigned int last
    cdef bint ok = lines[0] == 0 and lines[1] == 0
    with nogil:
        for L in range(n_lines - 1):
            if not ok:
                break
            w = &lines[L * RRR_LINE_WORDS]
            ptr = w[1]
            last = rrr_class(w, RRR_GROUP - 1)
            ones = w[0] + _rrr_scan(w, RRR_GROUP - 1, &ptr, len2) + last
            ptr += lens[last]
            ok = w[RRR_LINE_WORDS] == ones and w[RRR_LINE_WORDS + 1] == ptr
    return ok


def rrr_lines_for_bits(uint64_t n_bits):
    """Number of 64-byte RRR lines for ``n_bits`` bits."""
    return rrr_n_lines(n_bits)


cdef class RRRBitVector:
    """An immutable entropy-compressed bitvector with rank and access.

    ``RRRBitVector(bools)`` builds from any array-like of 0/1 values;
    ``RRRBitVector.from_arrays(lines, payload, n_bits)`` wraps stored arrays.
    ``raw=True``: kind rrr63r (mid-range classes stored raw, see rrr_bitvector.pxd).
    """
    cdef rrr_t bv
    cdef object _lines, _payload
    cdef bint _raw

    def __init__(self, bits=None, bint raw=False):
        from ._rank_bitvector import RankBitVector
        if bits is None:
            bits = np.zeros(0, dtype=np.uint8)
        plain = RankBitVector(bits)
        lines, payload = rrr_encode_lines(plain.lines, len(plain), raw)
        self._set(lines, payload, len(plain), raw)

    @classmethod
    def from_arrays(cls, lines, payload, uint64_t n_bits, bint raw=False):
        cdef RRRBitVector self = cls.__new__(cls)
        self._set(lines, payload, n_bits, raw)
        return self

    cdef _set(self, lines, payload, uint64_t n_bits, bint raw):
        cdef const uint64_t[::1] lv = lines
        cdef const uint64_t[::1] pv = payload
        if <uint64_t>lv.shape[0] != rrr_n_lines(n_bits) * RRR_LINE_WORDS:
            raise ValueError("RRR line array has the wrong length for n_bits")
        if <uint64_t>pv.shape[0] != rrr_payload_words(lines, n_bits, raw):
            raise ValueError("RRR payload has the wrong length")
        self._lines = lines
        self._payload = payload
        self._raw = raw
        rrr_init(&self.bv, &lv[0], &pv[0], pv.shape[0], n_bits, raw)

    @property
    def raw(self):
        """True for kind rrr63r (mid-range classes stored raw)."""
        return self._raw

    @property
    def lines(self):
        return self._lines

    @property
    def payload(self):
        return self._payload

    def __len__(self):
        return self.bv.n_bits

    @property
    def n_ones(self):
        return self.bv.n_ones

    def size_in_bytes(self):
        return (self.bv.n_lines * RRR_LINE_WORDS + self.bv.n_payload_words) * 8

    def rank1(self, uint64_t i):
        """Ones in [0, i)."""
        if i > self.bv.n_bits:
            raise IndexError("rank position out of range")
        return rrr_rank1(&self.bv, i)

    def rank0(self, uint64_t i):
        """Zeros in [0, i)."""
        return i - self.rank1(i)

    def __getitem__(self, int64_t i):
        if i < 0:
            i += self.bv.n_bits
        if i < 0 or <uint64_t>i >= self.bv.n_bits:
            raise IndexError("bit index out of range")
        cdef unsigned int bit
        rrr_access_rank1(&self.bv, i, &bit)
        return bit

    def access_rank1(self, uint64_t i):
        """(bit i, ones in [0, i)) for i < len."""
        if i >= self.bv.n_bits:
            raise IndexError("bit index out of range")
        cdef unsigned int bit
        cdef uint64_t r = rrr_access_rank1(&self.bv, i, &bit)
        return bit, r

    def select1(self, uint64_t q):
        """Position of the q-th one (0-based)."""
        if q >= self.bv.n_ones:
            raise IndexError("select1 beyond the number of ones")
        return rrr_select(&self.bv, q, 1)

    def select0(self, uint64_t q):
        """Position of the q-th zero (0-based)."""
        if q >= self.bv.n_bits - self.bv.n_ones:
            raise IndexError("select0 beyond the number of zeros")
        return rrr_select(&self.bv, q, 0)

    def rank1_pair(self, uint64_t a, uint64_t b):
        """(rank1(a), rank1(b)) for a <= b <= len, through the paired kernel."""
        if a > b or b > self.bv.n_bits:
            raise IndexError("rank positions out of range")
        cdef uint64_t ra, rb
        rrr_rank1_pair(&self.bv, a, b, &ra, &rb)
        return ra, rb

    def rank1_many(self, positions):
        """rank1 of every position (numpy uint64 in, numpy uint64 out)."""
        cdef const uint64_t[::1] pos = np.ascontiguousarray(positions, dtype=np.uint64)
        out = np.empty(pos.shape[0], dtype=np.uint64)
        cdef uint64_t[::1] o = out
        cdef Py_ssize_t t
        for t in range(pos.shape[0]):
            if pos[t] > self.bv.n_bits:
                raise IndexError("rank position out of range")
        with nogil:
            for t in range(pos.shape[0]):
                o[t] = rrr_rank1(&self.bv, pos[t])
        return out
