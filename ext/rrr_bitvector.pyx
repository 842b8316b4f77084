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
                            _rrr_scan, rrr_class, rrr_class_base, rrr_line_ones, rrr_line_ptr,
                            rrr_n_lines, rrr_n_supers, rrr_len_table, rrr_len2_table,
                            FM_BINOM, RRR_BLOCK, RRR_GROUP, RRR_CGROUP, RRR_LINE_WORDS, RRR_CLINE_BITS,
                            RRR_LINE_BITS, RRR_SUPER_SHIFT, RRR_SUPER_SHIFT_MAX,
                            RRR_CREL_SHIFT, RRR_CPTR_SHIFT)
from bits cimport fm_popcount64

cnp.import_array()

# superblock size (log2 lines) that shards of kind rrr63rc are written with, and the largest
# that keeps a compact line's relative counters within 32 bits
RRR_DEFAULT_SUPER_SHIFT = RRR_SUPER_SHIFT
RRR_MAX_SUPER_SHIFT = RRR_SUPER_SHIFT_MAX


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


cdef _encode(const uint64_t[::1] rank_lines, uint64_t n_bits, bint raw, bint compact,
             unsigned int super_shift):
    """RankBitVector lines -> (RRR lines, payload, superblocks or None): 60-block lines with
    absolute counters, or compact 72-block lines with counters relative to superblocks."""
    if <uint64_t>rank_lines.shape[0] != rbv_n_lines(n_bits) * BV_LINE_WORDS:
        raise ValueError("line array has the wrong length for n_bits")
    if compact and super_shift > RRR_SUPER_SHIFT_MAX:
        raise ValueError(f"super_shift must be at most {RRR_SUPER_SHIFT_MAX}")
    cdef uint64_t n_blocks = (n_bits + RRR_BLOCK - 1) // RRR_BLOCK
    cdef uint64_t n_lines = rrr_n_lines(n_bits, compact)
    cdef unsigned int group = RRR_CGROUP if compact else RRR_GROUP
    cdef unsigned int cls_word = 1 if compact else 2
    classes_arr = np.zeros(n_lines * group, dtype=np.uint8)
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
    supers = np.zeros(2 * rrr_n_supers(n_lines, super_shift) if compact else 0, dtype=np.uint64)
    cdef uint64_t[::1] lv = lines
    cdef uint64_t[::1] pv = payload
    cdef uint64_t[::1] sv = supers
    cdef uint64_t *w
    cdef uint64_t off, super_ones = 0, super_ptr = 0
    cdef unsigned int s
    with nogil:
        for L in range(n_lines):
            w = &lv[L * RRR_LINE_WORDS]
            if compact:
                if (L & ((<uint64_t>1 << super_shift) - 1)) == 0:
                    super_ones = ones
                    super_ptr = ptr
                    sv[2 * (L >> super_shift)] = ones
                    sv[2 * (L >> super_shift) + 1] = ptr
                w[0] = ((ones - super_ones) << RRR_CREL_SHIFT) | ((ptr - super_ptr) << RRR_CPTR_SHIFT)
            else:
                w[0] = ones
                w[1] = ptr
            for j in range(group):
                b = L * group + j
                k = cls[b]
                w[(cls_word + j // 10) & 7] |= (<uint64_t>k) << (6 * (j % 10))
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
    return lines, payload, (supers if compact else None)


def rrr_encode_lines(const uint64_t[::1] rank_lines, uint64_t n_bits, bint raw=False):
    """RankBitVector lines of ``n_bits`` bits -> (RRR lines, RRR payload), numpy uint64:
    60-block lines (kinds rrr63, rrr63r).  ``raw``: kind rrr63r (blocks of the mid-range
    classes stored as they are)."""
    lines, payload, _ = _encode(rank_lines, n_bits, raw, False, 0)
    return lines, payload


def rrr_encode_compact_lines(const uint64_t[::1] rank_lines, uint64_t n_bits, bint raw=True,
                             unsigned int super_shift=RRR_SUPER_SHIFT):
    """RankBitVector lines of ``n_bits`` bits -> (RRR lines, RRR payload, superblocks),
    numpy uint64: compact 72-block lines (kind rrr63rc when ``raw``) whose counters are
    relative to superblocks of 2^``super_shift`` lines."""
    return _encode(rank_lines, n_bits, raw, True, super_shift)


cdef int _view(rrr_t *bv, const uint64_t[::1] lines, uint64_t n_bits, bint raw,
               object supers, unsigned int super_shift) except -1:
    """Point ``bv`` at ``lines`` (no payload yet) after checking the line and superblock
    array lengths; 0 on success, 1 when a length is wrong."""
    cdef const uint64_t[::1] sv
    cdef bint compact = supers is not None
    cdef uint64_t n_lines = rrr_n_lines(n_bits, compact)
    if <uint64_t>lines.shape[0] != n_lines * RRR_LINE_WORDS:
        return 1
    bv.lines = &lines[0]
    bv.n_bits = n_bits
    bv.n_lines = n_lines
    bv.len = rrr_len_table(raw)
    bv.len2 = rrr_len2_table(raw)
    bv.supers = NULL
    bv.super_shift = 0
    bv.group = RRR_GROUP
    bv.line_bits = RRR_LINE_BITS
    if compact:
        if super_shift > RRR_SUPER_SHIFT_MAX:
            return 1
        sv = supers
        if <uint64_t>sv.shape[0] != 2 * rrr_n_supers(n_lines, super_shift):
            return 1
        bv.supers = &sv[0]
        bv.super_shift = super_shift
        bv.group = RRR_CGROUP
        bv.line_bits = RRR_CLINE_BITS
    return 0


cdef uint64_t _payload_end(const rrr_t *bv) noexcept nogil:
    """Payload bits that the lines of ``bv`` account for (end of the last line's offsets)."""
    cdef uint64_t last = bv.n_lines - 1
    cdef const uint64_t *w = bv.lines + last * RRR_LINE_WORDS
    cdef unsigned int base = rrr_class_base(bv)
    cdef uint64_t ptr = rrr_line_ptr(bv, last)
    _rrr_scan(w, base, bv.group - 1, &ptr, bv.len2)   # widths of all but the last block
    return ptr + bv.len[rrr_class(w, base, bv.group - 1)]


def rrr_payload_words(const uint64_t[::1] lines, uint64_t n_bits, bint raw=False,
                      supers=None, unsigned int super_shift=RRR_SUPER_SHIFT):
    """Payload words that RRR ``lines`` of ``n_bits`` bits need (for validation);
    ``supers``: compact lines (kind rrr63rc) with their superblock array."""
    cdef rrr_t bv
    if _view(&bv, lines, n_bits, raw, supers, super_shift):
        raise ValueError("RRR line or superblock array has the wrong length for n_bits")
    return (_payload_end(&bv) + 63) // 64 + 2


def rrr_lines_consistent(const uint64_t[::1] lines, uint64_t n_bits, bint raw=False,
                         supers=None, unsigned int super_shift=RRR_SUPER_SHIFT):
    """True when every line's ones-before and payload pointer follow from the line before
    it (its classes and, for the kind, their widths), starting at 0: what a shard checks on
    open, so that a payload read as the wrong kind (rrr63 / rrr63r) is refused.  Compact
    lines (``supers`` given, kind rrr63rc): the superblock array has the right length,
    every superblock's first line has relative fields 0, and the absolute counters
    (superblock + line) follow as above."""
    cdef rrr_t bv
    if _view(&bv, lines, n_bits, raw, supers, super_shift):
        return False
    cdef const uint64_t *w
    cdef unsigned int base = rrr_class_base(&bv)
    cdef uint64_t L, ptr, ones, last_class
    cdef uint64_t super_mask = (<uint64_t>1 << bv.super_shift) - 1
    cdef bint ok = rrr_line_ones(&bv, 0) == 0 and rrr_line_ptr(&bv, 0) == 0
    with nogil:
        for L in range(bv.n_lines):
            if not ok:
                break
            if (bv.supers != NULL and (L & super_mask) == 0
                    and (bv.lines[L * RRR_LINE_WORDS] >> RRR_CREL_SHIFT) != 0):
                ok = False
                break
            if L + 1 == bv.n_lines:
                break
            w = bv.lines + L * RRR_LINE_WORDS
            ptr = rrr_line_ptr(&bv, L)
            last_class = rrr_class(w, base, bv.group - 1)
            ones = rrr_line_ones(&bv, L) + _rrr_scan(w, base, bv.group - 1, &ptr, bv.len2) + last_class
            ptr += bv.len[last_class]
            ok = rrr_line_ones(&bv, L + 1) == ones and rrr_line_ptr(&bv, L + 1) == ptr
    return ok


def rrr_lines_for_bits(uint64_t n_bits, bint compact=False):
    """Number of 64-byte RRR lines for ``n_bits`` bits (``compact``: kind rrr63rc)."""
    return rrr_n_lines(n_bits, compact)


def rrr_supers_for_bits(uint64_t n_bits, unsigned int super_shift=RRR_SUPER_SHIFT):
    """Length (u64 words) of the superblock array of compact lines for ``n_bits`` bits."""
    return 2 * rrr_n_supers(rrr_n_lines(n_bits, True), super_shift)


cdef class RRRBitVector:
    """An immutable entropy-compressed bitvector with rank and access.

    ``RRRBitVector(bools)`` builds from any array-like of 0/1 values;
    ``RRRBitVector.from_arrays(lines, payload, n_bits)`` wraps stored arrays.
    ``raw=True``: mid-range classes stored raw (kind rrr63r, see rrr_bitvector.pxd);
    ``compact=True``: 72-block lines under superblocks of 2^``super_shift`` lines
    (kind rrr63rc with ``raw``); ``from_arrays`` takes their ``supers`` array.
    """
    cdef rrr_t bv
    cdef object _lines, _payload, _supers
    cdef bint _raw

    def __init__(self, bits=None, bint raw=False, bint compact=False,
                 unsigned int super_shift=RRR_SUPER_SHIFT):
        from ._rank_bitvector import RankBitVector
        if bits is None:
            bits = np.zeros(0, dtype=np.uint8)
        plain = RankBitVector(bits)
        lines, payload, supers = _encode(plain.lines, len(plain), raw, compact, super_shift)
        self._set(lines, payload, len(plain), raw, supers, super_shift)

    @classmethod
    def from_arrays(cls, lines, payload, uint64_t n_bits, bint raw=False, supers=None,
                    unsigned int super_shift=RRR_SUPER_SHIFT):
        cdef RRRBitVector self = cls.__new__(cls)
        self._set(lines, payload, n_bits, raw, supers, super_shift)
        return self

    cdef _set(self, lines, payload, uint64_t n_bits, bint raw, supers, unsigned int super_shift):
        cdef const uint64_t[::1] lv = lines
        cdef const uint64_t[::1] pv = payload
        cdef const uint64_t[::1] sv
        cdef const uint64_t *sp = NULL
        if <uint64_t>lv.shape[0] != rrr_n_lines(n_bits, supers is not None) * RRR_LINE_WORDS:
            raise ValueError("RRR line array has the wrong length for n_bits")
        if <uint64_t>pv.shape[0] != rrr_payload_words(lines, n_bits, raw, supers, super_shift):
            raise ValueError("RRR payload has the wrong length")
        if supers is not None:
            sv = supers
            sp = &sv[0]
        self._lines = lines
        self._payload = payload
        self._supers = supers
        self._raw = raw
        rrr_init(&self.bv, &lv[0], &pv[0], pv.shape[0], n_bits, raw, sp, super_shift)

    @property
    def compact(self):
        """True for compact 72-block lines (kind rrr63rc with ``raw``)."""
        return self._supers is not None

    @property
    def supers(self):
        """Superblock array of compact lines (absolute ones, payload pointer pairs), or None."""
        return self._supers

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
        return (self.bv.n_lines * RRR_LINE_WORDS + self.bv.n_payload_words
                + (self._supers.shape[0] if self._supers is not None else 0)) * 8

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
