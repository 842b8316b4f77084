# cython: language_level=3
"""Python face of the PairOccTable kernels (layout in pair_occ.pxd): build, check, test."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, uint32_t, uint8_t
from libc.stdlib cimport malloc, realloc, free
from pair_occ cimport (po_t, po_init_arrays, po_n_blocks, po_n_supers, po_rank, po_rank2,
                       po_inverse_select, po_digit, po_exc_index, PO_BLOCK_WORDS, PO_HEAD_WORDS,
                       PO_BLOCK_ROWS, PO_SUPER_BLOCKS, PO_SUPER_WORDS, PO_FLAG, PO_PREV_FLAG,
                       PO_NONE,
                       PO_BLOCK_LINES, PO4_BLOCK_LINES, PO4_BLOCK_WORDS, PO4_BLOCK_ROWS,
                       PO4_SUPER_BLOCKS)

cnp.import_array()

BLOCK_ROWS = PO_BLOCK_ROWS
BLOCK_WORDS = PO_BLOCK_WORDS
BLOCK_LINES = PO_BLOCK_LINES           # of the tables built here (format 1.5)
LEGACY_BLOCK_LINES = PO4_BLOCK_LINES   # of a 1.4 table, re-laid out on open
SUPER_WORDS = PO_SUPER_WORDS


def pair_occ_sizes(uint64_t n, unsigned int lines=PO_BLOCK_LINES):
    """(block words, superblock words) of a table over ``n`` rows: in this version's 3-line
    blocks, or (``lines`` 4) in a format 1.4 table's 4-line blocks of 432 rows and
    superblocks of 75 blocks."""
    if lines == PO_BLOCK_LINES:
        return po_n_blocks(n) * PO_BLOCK_WORDS, (po_n_supers(n) + 1) * PO_SUPER_WORDS
    if lines == PO4_BLOCK_LINES:
        nb = n // PO4_BLOCK_ROWS + 1
        return nb * PO4_BLOCK_WORDS, ((nb - 1) // PO4_SUPER_BLOCKS + 2) * PO_SUPER_WORDS
    raise ValueError(f"pair-occurrence table blocks of {lines} lines are not supported")


cdef inline uint64_t *_open_block(uint64_t b, uint64_t *blocks, uint64_t *supers,
                                  const uint64_t *cnt, uint64_t *base) noexcept nogil:
    """Start block b of a table being written: its superblock's entry when b opens one,
    its counts (``cnt``, before it) relative to that superblock (``base``); returns its
    words."""
    cdef unsigned int k
    cdef uint64_t *w
    if b % PO_SUPER_BLOCKS == 0:
        for k in range(20):
            supers[(b // PO_SUPER_BLOCKS) * PO_SUPER_WORDS + k] = cnt[k]
            base[k] = cnt[k]
    w = blocks + b * PO_BLOCK_WORDS
    for k in range(16):
        w[k >> 2] |= (cnt[k] - base[k]) << (16 * (k & 3))
    for k in range(4):
        w[4] |= (cnt[16 + k] - base[16 + k]) << (16 * k)
    return w


cdef inline void _put_row(uint64_t *w, uint64_t b, uint64_t nb, uint64_t i, unsigned int digit,
                          bint exc, unsigned int code, uint64_t *cnt) noexcept nogil:
    """Row i's digit into block b (words ``w``, of ``nb``) and its counts into ``cnt``: a
    pair and a letter, or for an exception only its letter (``code``, PO_NONE if its byte is
    no letter), and the block's flags (PO_FLAG, the next block's PO_PREV_FLAG)."""
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    w[PO_HEAD_WORDS + (off >> 4)] |= (<uint64_t>digit) << (4 * (off & 15))
    if exc:
        w[4] |= PO_FLAG
        if b + 1 < nb:
            w[PO_BLOCK_WORDS + 4] |= PO_PREV_FLAG
        if code != PO_NONE:
            cnt[16 + code] += 1
    else:
        cnt[digit] += 1
        cnt[16 + (digit & 3)] += 1


cdef int _build(const uint8_t *bwt, uint64_t n, uint64_t r0, const uint64_t *C, uint32_t sep,
                const uint8_t *cmap, uint64_t *blocks, uint64_t *supers, uint64_t **exc_rows,
                uint8_t **exc_syms, uint64_t *n_exc) noexcept nogil:
    """One pass over the BWT: digits, block and superblock counts, the exception list
    (grown with realloc).  Returns -1 when out of memory."""
    cdef uint64_t occ[256]
    cdef uint64_t cnt[20]           # 16 pairs, 4 letters: before row i, absolute
    cdef uint64_t base[20]          # ... before the current superblock
    cdef uint64_t i, b, lf, cap = 1024, ne = 0, nb = po_n_blocks(n), done = 0
    cdef uint64_t *w
    cdef uint64_t *er = <uint64_t *>malloc(cap * sizeof(uint64_t))
    cdef uint8_t *es = <uint8_t *>malloc(cap)
    cdef uint64_t *er2
    cdef uint8_t *es2
    cdef unsigned int k, s, a, cb, ca, digit
    cdef bint exc
    if er == NULL or es == NULL:
        free(er)
        free(es)
        return -1
    for k in range(256):
        occ[k] = 0
    for k in range(20):
        cnt[k] = 0
        base[k] = 0
    i = 0
    while done < nb:
        b = done
        w = _open_block(b, blocks, supers, cnt, base)
        done += 1
        while i < n and i < done * PO_BLOCK_ROWS:
            s = bwt[i]
            cb = cmap[s]
            exc = cb == PO_NONE or i == r0
            ca = 0
            if i != r0:
                lf = C[s] + occ[s]
                if s == sep and i > r0:
                    lf -= 1
                if lf == r0 or lf >= n:
                    exc = True
                else:
                    ca = cmap[bwt[lf]]
                    if ca == PO_NONE:
                        exc = True
                        ca = 0
            occ[s] += 1
            if cb == PO_NONE:
                cb = 0
            digit = (ca << 2) | cb
            if exc:
                if ne == cap:
                    cap *= 2
                    er2 = <uint64_t *>realloc(er, cap * sizeof(uint64_t))
                    if er2 == NULL:
                        free(er)
                        free(es)
                        return -1
                    er = er2
                    es2 = <uint8_t *>realloc(es, cap)
                    if es2 == NULL:
                        free(er)
                        free(es)
                        return -1
                    es = es2
                er[ne] = i
                es[ne] = <uint8_t>s
                ne += 1
            _put_row(w, b, nb, i, digit, exc, cmap[s], cnt)
            i += 1
    for k in range(20):
        supers[po_n_supers(n) * PO_SUPER_WORDS + k] = cnt[k]
    exc_rows[0] = er
    exc_syms[0] = es
    n_exc[0] = ne
    return 0


cdef void _relayout(const uint64_t *old, uint64_t n, const uint64_t *exc_rows,
                    const uint8_t *exc_syms, uint64_t n_exc, const uint8_t *cmap,
                    uint64_t *blocks, uint64_t *supers) noexcept nogil:
    """_build's pass with the digits read from a 1.4 table's 4-line blocks instead of
    derived from the BWT: the same digits, exceptions and counts in 3-line blocks."""
    cdef uint64_t cnt[20]
    cdef uint64_t base[20]
    cdef uint64_t i = 0, b, ob, ej = 0, nb = po_n_blocks(n), done = 0
    cdef uint64_t *w
    cdef unsigned int k, digit, oo
    cdef bint exc
    for k in range(20):
        cnt[k] = 0
        base[k] = 0
    while done < nb:
        b = done
        w = _open_block(b, blocks, supers, cnt, base)
        done += 1
        while i < n and i < done * PO_BLOCK_ROWS:
            ob = i // PO4_BLOCK_ROWS
            oo = <unsigned int>(i - ob * PO4_BLOCK_ROWS)
            digit = <unsigned int>((old[ob * PO4_BLOCK_WORDS + PO_HEAD_WORDS + (oo >> 4)]
                                    >> (4 * (oo & 15))) & 15)
            exc = ej < n_exc and exc_rows[ej] == i
            _put_row(w, b, nb, i, digit, exc, cmap[exc_syms[ej]] if exc else PO_NONE, cnt)
            ej += exc
            i += 1
    for k in range(20):
        supers[po_n_supers(n) * PO_SUPER_WORDS + k] = cnt[k]


def _code_map(letters):
    """Code 0..3 of each of the 4 letters (bytes), PO_NONE for the other bytes."""
    cmap = np.full(256, PO_NONE, dtype=np.uint8)
    cmap[np.asarray(letters, dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
    return cmap


def _zero_table(uint64_t n):
    """Zeroed (blocks, supers) of a table over ``n`` rows."""
    bw, sw = pair_occ_sizes(n)
    return np.zeros(bw, dtype=np.uint64), np.zeros(sw, dtype=np.uint64)


def relayout_4_lines(const uint64_t[::1] old_blocks, uint64_t n, const uint64_t[::1] exc_rows,
                     const uint8_t[::1] exc_syms, letters):
    """A format 1.4 table (4-line blocks of 432 rows) as (blocks, supers) of this version's
    3-line blocks, which the kernels read: the same digits and exception lists, the counts
    recounted (one pass, ~0.3 s per 100 M rows; the result lives in memory, not mapped).
    ``exc_rows`` sorted, as validated on open."""
    if old_blocks.shape[0] != pair_occ_sizes(n, PO4_BLOCK_LINES)[0] or exc_rows.shape[0] != exc_syms.shape[0]:
        raise ValueError("pair-occurrence table blocks or exception arrays have the wrong size")
    cmap_a = _code_map(letters)
    cdef const uint8_t[::1] cmap = cmap_a
    blocks, supers = _zero_table(n)
    cdef uint64_t[::1] bv = blocks
    cdef uint64_t[::1] sv = supers
    cdef uint64_t ne = exc_rows.shape[0]
    cdef const uint64_t *er = &exc_rows[0] if ne else NULL
    cdef const uint8_t *es = &exc_syms[0] if ne else NULL
    with nogil:
        _relayout(&old_blocks[0], n, er, es, ne, &cmap[0], &bv[0], &sv[0])
    return blocks, supers


def build_pair_occ(const uint8_t[::1] bwt, uint64_t r0, const uint64_t[::1] C, uint32_t sep,
                   letters):
    """The table of a byte BWT (row r0 holding the separator ``sep``, C the shard's C array of
    257 entries) over the 4 bytes ``letters`` (ascending).  Returns a dict of arrays: blocks,
    supers (uint64), exc_rows (uint64), exc_syms (uint8), rare_rows, rare_start (uint64)."""
    cdef uint64_t n = bwt.shape[0]
    lt = np.asarray(letters, dtype=np.uint8)
    if lt.shape[0] != 4 or len(set(lt.tolist())) != 4 or not np.all(np.diff(lt.astype(int)) > 0):
        raise ValueError("letters must be 4 distinct bytes, ascending")
    if sep > 255 or sep in lt.tolist():
        raise ValueError("the separator must be a byte that is not a letter")
    if C.shape[0] != 257 or n == 0 or r0 >= n:
        raise ValueError("C array or r0 does not fit the BWT")
    cmap_a = _code_map(lt)
    cdef const uint8_t[::1] cmap = cmap_a
    blocks, supers = _zero_table(n)
    cdef uint64_t[::1] bv = blocks
    cdef uint64_t[::1] sv = supers
    cdef uint64_t *er = NULL
    cdef uint8_t *es = NULL
    cdef uint64_t ne = 0
    cdef int rc
    with nogil:
        rc = _build(&bwt[0], n, r0, &C[0], sep, &cmap[0], &bv[0], &sv[0], &er, &es, &ne)
    if rc != 0:
        raise MemoryError()
    try:
        exc_rows = np.empty(ne, dtype=np.uint64)
        exc_syms = np.empty(ne, dtype=np.uint8)
        if ne:
            exc_rows[:] = np.asarray(<uint64_t[:ne]>er)
            exc_syms[:] = np.asarray(<uint8_t[:ne]>es)
    finally:
        free(er)
        free(es)
    rare = cmap_a[exc_syms] == PO_NONE
    order = np.lexsort((exc_rows[rare], exc_syms[rare]))
    rare_rows = np.ascontiguousarray(exc_rows[rare][order])
    rare_start = np.zeros(257, dtype=np.uint64)
    rare_start[1:] = np.cumsum(np.bincount(exc_syms[rare], minlength=256), dtype=np.uint64)
    return {"blocks": blocks, "supers": supers, "exc_rows": exc_rows, "exc_syms": exc_syms,
            "rare_rows": rare_rows, "rare_start": rare_start}


cdef uint64_t _errors(const po_t *po, const uint64_t *C, uint32_t sep, uint64_t r0) noexcept nogil:
    """Invariants of a table against itself and the C array: every block's and superblock's
    counts equal the digits before it (exceptions taken out), the flags mark exactly the
    blocks with exceptions, exceptions are sorted and inside, a letter exception's digit
    names its letter, and the totals match C.  Returns the number of violations."""
    cdef uint64_t bad = 0, b, i, k, ej = 0, row, end, tot, nb = po_n_blocks(po.n)
    cdef uint64_t cnt[20]
    cdef uint64_t base[20]
    cdef const uint64_t *w
    cdef unsigned int d, off, x
    cdef bint has
    for k in range(20):
        cnt[k] = 0
        base[k] = 0
    for k in range(1, po.n_exc):
        if po.exc_rows[k] <= po.exc_rows[k - 1]:
            bad += 1
    if po.n_exc and po.exc_rows[po.n_exc - 1] >= po.n:
        return bad + 1
    for b in range(nb):
        w = po.blocks + b * PO_BLOCK_WORDS
        if b % PO_SUPER_BLOCKS == 0:
            for k in range(20):
                if po.supers[(b // PO_SUPER_BLOCKS) * PO_SUPER_WORDS + k] != cnt[k]:
                    bad += 1
                base[k] = cnt[k]
        for k in range(16):
            if ((w[k >> 2] >> (16 * (k & 3))) & 0xFFFF) != cnt[k] - base[k]:
                bad += 1
        for k in range(4):
            if ((w[4] >> (16 * k)) & 0x7FFF) != cnt[16 + k] - base[16 + k]:
                bad += 1
        row = b * PO_BLOCK_ROWS
        end = row + PO_BLOCK_ROWS
        if end > po.n:
            end = po.n if po.n > row else row
        has = ej < po.n_exc and po.exc_rows[ej] < row + PO_BLOCK_ROWS
        if has != ((w[4] & PO_FLAG) != 0):
            bad += 1
        if b + 1 < nb and has != ((w[PO_BLOCK_WORDS + 4] & PO_PREV_FLAG) != 0):
            bad += 1
        for i in range(row, end):
            off = <unsigned int>(i - row)
            d = po_digit(w, off)
            if ej < po.n_exc and po.exc_rows[ej] == i:
                x = po.map[po.exc_syms[ej]]
                if x != PO_NONE:
                    if (d & 3) != x:
                        bad += 1
                    cnt[16 + x] += 1
                elif (d & 3) != 0:
                    bad += 1
                ej += 1
            else:
                cnt[d] += 1
                cnt[16 + (d & 3)] += 1
        for i in range(end, row + PO_BLOCK_ROWS):       # padding digits are 0
            if po_digit(w, <unsigned int>(i - row)) != 0:
                bad += 1
    for k in range(20):
        if po.supers[po_n_supers(po.n) * PO_SUPER_WORDS + k] != cnt[k]:
            bad += 1
    for k in range(4):
        if C[po.letters[k] + 1] - C[po.letters[k]] != cnt[16 + k]:
            bad += 1
    for k in range(256):
        if po.map[k] == PO_NONE:
            tot = C[k + 1] - C[k] + (1 if k == sep else 0)
            if po.rare_start[k + 1] < po.rare_start[k] or \
                    po.rare_start[k + 1] - po.rare_start[k] != tot:
                bad += 1
            else:
                for i in range(po.rare_start[k], po.rare_start[k + 1]):
                    if po.rare_rows[i] >= po.n or (i > po.rare_start[k]
                                                   and po.rare_rows[i] <= po.rare_rows[i - 1]):
                        bad += 1
                        break
                    ej = po_exc_index(po, po.rare_rows[i])
                    if ej >= po.n_exc or po.exc_syms[ej] != k:
                        bad += 1
                        break
    if po.rare_start[256] > po.n_exc:
        bad += 1
    ej = po_exc_index(po, r0)
    if ej >= po.n_exc or po.exc_syms[ej] != sep:
        bad += 1
    return bad


def check_pair_occ_arrays(dict a, uint64_t n, letters, C, uint32_t sep, uint64_t r0):
    """Sizes of the arrays (ValueError naming the first that is wrong); then the number of
    violated invariants (0 for a sound table), one pass over the table."""
    t = PairOccTable.from_arrays(a, n, letters, C)
    return t.errors(sep, r0)


cdef class PairOccTable:
    """An immutable pair-occurrence table (see pair_occ.pxd) with rank and access.

    ``PairOccTable.build(bwt, r0, C, sep, letters)`` builds one from a byte BWT;
    ``PairOccTable.from_arrays(arrays, n, letters, C)`` wraps the arrays of an index."""
    cdef po_t po
    cdef object _keep
    cdef object _C

    @classmethod
    def build(cls, bwt, uint64_t r0, C, uint32_t sep, letters):
        bwt = np.ascontiguousarray(bwt, dtype=np.uint8)
        C = np.ascontiguousarray(C, dtype=np.uint64)
        return cls.from_arrays(build_pair_occ(bwt, r0, C, sep, letters), bwt.shape[0],
                               letters, C)

    @classmethod
    def from_arrays(cls, dict a, uint64_t n, letters, C):
        cdef PairOccTable self = cls.__new__(cls)
        arrs = {k: np.ascontiguousarray(a[k]) for k in
                ("blocks", "supers", "exc_rows", "exc_syms", "rare_rows", "rare_start")}
        Ca = np.ascontiguousarray(C, dtype=np.uint64)
        po_init_arrays(&self.po, arrs, n, letters, Ca)
        self._keep = arrs
        self._C = Ca
        return self

    def __len__(self):
        return self.po.n

    def rank(self, unsigned int c, uint64_t i):
        """Occurrences of byte c in BWT[0, i)."""
        if c > 255 or i > self.po.n:
            raise IndexError("byte or position out of range")
        return po_rank(&self.po, c, i)

    def rank2(self, unsigned int x, uint64_t i):
        """Rows j < i whose two preceding letters are pair x = code(a) << 2 | code(b)."""
        if x > 15 or i > self.po.n:
            raise IndexError("pair or position out of range")
        return po_rank2(&self.po, x, i)

    def inverse_select(self, uint64_t i):
        """(BWT byte at row i, its rank)."""
        cdef uint32_t c
        if i >= self.po.n:
            raise IndexError("position out of range")
        r = po_inverse_select(&self.po, i, &c)
        return c, r

    def pair_start(self, unsigned int x):
        """First row of the suffixes starting with pair x, and how many there are."""
        return self.po.c2[x & 15], self.po.tot2[x & 15]

    def errors(self, uint32_t sep, uint64_t r0):
        """Violated invariants (0: sound), one pass; see ``_errors``."""
        cdef const uint64_t[::1] cv = self._C
        cdef uint64_t bad
        with nogil:
            bad = _errors(&self.po, &cv[0], sep, r0)
        return bad
