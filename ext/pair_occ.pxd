# cython: language_level=3
"""PairOccTable: the BWT of a text of 4 dominant letters (DNA) as one 4-bit digit per row,
the pair (BWT[LF(i)], BWT[i]) = the two symbols before suffix SA[i], so that a backward
search takes two characters per step (Chacon et al., "n-step FM-index", 2013) and one
letter's rank, for LF, reads the same block.

    digit(i) = code(T[SA[i] - 2]) << 2 | code(T[SA[i] - 1])      (codes 0..3 of the letters)

Rows where either symbol is not one of the 4 letters (an N, the separator, header text),
or that have no second symbol before them (SA[i] < 2, which includes the end-marker row r0),
are *exceptions*: their digit holds code 0 for a non-letter and they are listed in
``exc_rows`` (sorted) with their BWT byte in ``exc_syms``.  A block that holds any exception
has a flag; only its ranks correct for them (a search over the few exceptions).

Layout (``blocks``: uint64 words, 24 per block = 3 cache lines, 304 rows per block, since
format 1.5; a 1.4 table's 4-line blocks of 432 rows are re-laid out on open: relayout_4_lines):
    word 0..3   16 x 16-bit counts of the pairs 0..15 before the block (exceptions not
                counted), relative to its superblock
    word 4      4 x 16-bit counts of the letters 0..3 before the block (exceptions
                counted: a row is the letter of its BWT symbol), relative to its
                superblock; bit 15 = PO_FLAG: the block holds exception rows; bit 31
                (the letter-1 count's bit 15) = PO_PREV_FLAG: the block *before* holds
                some, so that a rank counting back from this block's counts needs no line
                of that block's but the ones it scans
    word 5..23  304 digits, digit k at word 5 + k // 16, bits 4 * (k % 16)
    supers      20 uint64 per superblock of 107 blocks (32,528 rows, so 15-bit counts):
                the 16 pair and 4 letter counts before it; one more entry, the totals
There is always one block more than the rows need, so rank(n) reads a valid block.
A rank = the superblock (cached) + the block's lines from its counts to the row's, or from
the row's to the next block's counts, fetched together: 560 / 304 = 1.84 lines on average
(4-line blocks: 944 / 432 = 2.19), whose digits are counted in a fixed window of six SSE2
vectors without a branch (po_scan.h, fm_po_rank_count).  Size: 5.05 bits per row (4-line
blocks: 4.74; any two-step table >= 4, the 4-ary tree ~2.3).

Letters whose byte is not among the 4 ("rare" bytes, the separator included) are ranked
from ``rare_rows``: the exception rows of each such byte, sorted by (byte, row), with
``rare_start[b]`` .. ``rare_start[b + 1]`` those of byte b.
"""
from libc.stdint cimport uint64_t, uint32_t, uint8_t
from bits cimport fm_popcount64, fm_prefetch

cdef enum:
    PO_BLOCK_WORDS = 24     # uint64 words per block (3 cache lines)
    PO_HEAD_WORDS = 5       # 16 pair counts + 4 letter counts
    PO_DATA_WORDS = 19
    PO_BLOCK_ROWS = 304     # 19 words x 16 digits
    PO_SUPER_BLOCKS = 107   # blocks per superblock: 32,528 rows < 2^15
    PO_LAST_LINE = 2        # lines 0..2 of a block
    PO_BLOCK_LINES = 3
    # the 1.4 layout (4-line blocks), read by relayout_4_lines only
    PO4_BLOCK_LINES = 4
    PO4_BLOCK_WORDS = 32
    PO4_BLOCK_ROWS = 432
    PO4_SUPER_BLOCKS = 75
    PO_SUPER_WORDS = 20     # uint64 per superblock: 16 pair + 4 letter counts before it
    PO_FLAG = 0x8000        # in the letter-0 count: the block holds exception rows
    PO_PREV_FLAG = 0x80000000   # in the letter-1 count: the block before holds some
    PO_NONE = 0xFF          # map: the byte is not one of the 4 letters
    PO_WINDOW_ROWS = 160    # a forward rank's digits that fm_po_rank_count covers


cdef extern from "po_scan.h":
    unsigned int fm_po_rank_count(const uint64_t *w, unsigned int x, unsigned int off,
                                  bint back, bint letter) noexcept nogil


ctypedef struct po_t:
    const uint64_t *blocks      # (n_blocks * 32,)
    const uint64_t *supers      # ((n_supers + 1) * 20,); the last entry holds the totals
    const uint64_t *exc_rows    # (n_exc,) sorted exception rows
    const uint8_t *exc_syms     # (n_exc,) their BWT byte
    uint64_t n_exc
    const uint64_t *rare_rows   # exception rows of non-letter bytes, by (byte, row)
    const uint64_t *rare_start  # (257,)
    uint64_t n                  # rows
    uint8_t map[256]            # letter code of each byte, PO_NONE for the others
    uint8_t letters[4]          # the byte of each code
    uint64_t c2[16]             # first row of the suffixes starting with pair x
    uint64_t tot2[16]           # rows of the suffixes starting with pair x (= digits x)
    uint64_t share16[16]        # tot2[x] / n in 1/65536 (po_guess_rank2)
    uint32_t ahead              # steps past the next one whose blocks one search requests
                                # (fm_backward_search): 0 while the table stays cached


cdef inline uint64_t po_n_blocks(uint64_t n) noexcept nogil:
    """Blocks needed for ``n`` rows (one spare block for rank(n))."""
    return n // PO_BLOCK_ROWS + 1


cdef inline uint64_t po_n_supers(uint64_t n) noexcept nogil:
    """Superblocks of ``n`` rows (without the totals entry)."""
    return (po_n_blocks(n) - 1) // PO_SUPER_BLOCKS + 1


cdef inline uint64_t _po_eq(uint64_t v, uint64_t x) noexcept nogil:
    """Bit 4k set iff digit k of ``v`` equals x (0..15)."""
    v ^= x * <uint64_t>0x1111111111111111
    v |= v >> 1
    v |= v >> 2
    return ~v & <uint64_t>0x1111111111111111


cdef inline uint64_t _po_low_eq(uint64_t v, uint64_t c) noexcept nogil:
    """Bit 4k set iff the low 2 bits of digit k of ``v`` (its BWT letter) equal c (0..3)."""
    v ^= c * <uint64_t>0x1111111111111111
    v |= v >> 1
    return ~v & <uint64_t>0x1111111111111111


cdef inline unsigned int po_digit(const uint64_t *w, unsigned int off) noexcept nogil:
    """Digit ``off`` (< PO_BLOCK_ROWS) of block ``w``."""
    return <unsigned int>((w[PO_HEAD_WORDS + (off >> 4)] >> (4 * (off & 15))) & 15)


cdef inline bint _po_backward(const po_t *po, uint64_t b, unsigned int off) noexcept nogil:
    """Whether a rank at digit ``off`` of block b counts back from the next block's counts
    (the row is in the second half of a block that is full): at most half a block is ever
    scanned, and at most 2 of the 4 lines (3 + the next block's first) are read."""
    return off > PO_BLOCK_ROWS // 2 and (b + 1) * PO_BLOCK_ROWS <= po.n


cdef inline unsigned int _po_line(unsigned int off) noexcept nogil:
    """The line (0..PO_LAST_LINE) of a block that holds digit ``off``."""
    return (PO_HEAD_WORDS + (off >> 4)) >> 3


cdef inline void _po_request_lines(const uint64_t *w, unsigned int off,
                                   unsigned int back) noexcept nogil:
    """The lines a rank at digit ``off`` of block ``w`` reads: from the block's first line
    to off's (forward), or from off's to the next block's first (``back``).  Four requests,
    some of them the same line, chosen without a branch: loops over a varying number of
    lines cost two mispredictions per call."""
    cdef unsigned int line = _po_line(off)
    # forward: lines 0, line - 1 (or 0), line; backward: line, line + 1 (or the last),
    # the last, next 0
    cdef unsigned int mid = ((line + 1 - (line == PO_LAST_LINE)) if back
                             else (line - (line > 0)))
    fm_prefetch(w + 8 * (line if back else 0))
    fm_prefetch(w + 8 * mid)
    fm_prefetch(w + 8 * (PO_LAST_LINE if back else line))
    fm_prefetch(w + (PO_BLOCK_WORDS if back else 0))


cdef inline void po_prefetch(const po_t *po, uint64_t i) noexcept nogil:
    """Request the lines a rank at row i reads (all at once: their misses overlap)."""
    if i > po.n:
        i = po.n
    cdef uint64_t b = i // PO_BLOCK_ROWS
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    _po_request_lines(po.blocks + b * PO_BLOCK_WORDS, off, _po_backward(po, b, off))


cdef inline void po_prefetch_rank(const po_t *po, unsigned int x, uint64_t i,
                                 bint letter) noexcept nogil:
    """po_prefetch, and the superblock count the rank of pair x (``letter``: of letter code
    x) at row i adds: 310 KB of superblocks per 63 M rows do not all stay cached."""
    if i > po.n:
        i = po.n
    cdef uint64_t b = i // PO_BLOCK_ROWS
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    cdef unsigned int back = <unsigned int>_po_backward(po, b, off)
    fm_prefetch(po.supers + ((b + back) // PO_SUPER_BLOCKS) * PO_SUPER_WORDS
                + (16 + x if letter else x))
    _po_request_lines(po.blocks + b * PO_BLOCK_WORDS, off, back)


cdef inline void po_prefetch_row(const po_t *po, uint64_t i) noexcept nogil:
    """Request the line that holds row i's digit (the end of a scan within a block)."""
    if i > po.n:
        i = po.n
    cdef uint64_t b = i // PO_BLOCK_ROWS
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    fm_prefetch(po.blocks + b * PO_BLOCK_WORDS + 8 * _po_line(off))


cdef inline uint64_t _po_count_before(const po_t *po, uint64_t hb, unsigned int x,
                                      bint letter) noexcept nogil:
    """Rows before block hb whose pair is x (``letter``: whose BWT letter is code x):
    its superblock's count plus the block's own, exceptions as the counts take them."""
    cdef const uint64_t *h = po.blocks + hb * PO_BLOCK_WORDS
    cdef const uint64_t *s = po.supers + (hb // PO_SUPER_BLOCKS) * PO_SUPER_WORDS
    if letter:
        return s[16 + x] + ((h[4] >> (16 * x)) & 0x7FFF)
    return s[x] + ((h[x >> 2] >> (16 * (x & 3))) & 0xFFFF)


cdef inline void po_prefetch_block(const po_t *po, uint64_t i) noexcept nogil:
    """Request every line a rank near row i may read: its block's and the next block's
    first (for a guessed row, whose offset in the block is not exact)."""
    if i > po.n:
        i = po.n
    cdef const uint64_t *w = po.blocks + (i // PO_BLOCK_ROWS) * PO_BLOCK_WORDS
    fm_prefetch(w)
    fm_prefetch(w + 8)
    fm_prefetch(w + 16)
    fm_prefetch(w + PO_BLOCK_WORDS)


cdef inline uint64_t po_guess_rank2(const po_t *po, unsigned int x, uint64_t i) noexcept nogil:
    """An estimate of po_rank2(x, i) from the counts alone: the block's count (the next
    block's in the second half) plus (minus) the pair's share of the rows between, at its
    frequency in the whole table.  It reads only the line the rank reads first, so a
    caller can request the next step's lines while this step scans."""
    if i > po.n:
        i = po.n
    cdef uint64_t b = i // PO_BLOCK_ROWS, r, share
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    cdef bint back = _po_backward(po, b, off)
    r = _po_count_before(po, b + back, x, False)
    if back:
        share = ((PO_BLOCK_ROWS - off) * po.share16[x]) >> 16
        return r - share if r > share else 0
    return r + ((off * po.share16[x]) >> 16)


cdef inline uint64_t po_guess_rank2_far(const po_t *po, unsigned int x, uint64_t i) noexcept nogil:
    """An estimate of po_rank2(x, i) from the superblock counts alone (cached: 310 KB per 63
    M rows), interpolated between the superblock's and the next one's: within 34 rows of
    the rank for half of the rows, 147 for 95% (63 MB of DNA).  For a row that is itself a
    guess, two steps ahead (fm_backward_search), when no line of its block has arrived."""
    if i > po.n:
        i = po.n
    cdef uint64_t sb = (i // PO_BLOCK_ROWS) // PO_SUPER_BLOCKS
    cdef const uint64_t *c = po.supers + sb * PO_SUPER_WORDS + x
    cdef uint64_t d = i - sb * (PO_SUPER_BLOCKS * PO_BLOCK_ROWS)
    return c[0] + ((c[PO_SUPER_WORDS] - c[0]) * d) // (PO_SUPER_BLOCKS * PO_BLOCK_ROWS)


cdef inline uint64_t _po_scan(const uint64_t *w, uint64_t x, unsigned int lo, unsigned int hi,
                              bint letter) noexcept nogil:
    """Digits in [lo, hi) of block ``w`` equal to x (``letter``: whose low 2 bits, the BWT
    letter, equal x)."""
    cdef uint64_t r = 0, m
    cdef unsigned int a, z, j
    if lo >= hi:
        return 0
    a = lo >> 4
    z = (hi - 1) >> 4
    for j in range(a, z + 1):
        m = _po_low_eq(w[PO_HEAD_WORDS + j], x) if letter else _po_eq(w[PO_HEAD_WORDS + j], x)
        if j == a:
            m &= ~<uint64_t>0 << (4 * (lo & 15))
        if j == z and (hi & 15):
            m &= (<uint64_t>1 << (4 * (hi & 15))) - 1
        r += fm_popcount64(m)
    return r


cdef inline bint _po_flagged(const uint64_t *w, bint back) noexcept nogil:
    """Whether block ``w`` holds exception rows, read from the line a rank reads anyway: its
    own counts (forward) or the next block's (``back``)."""
    # one load at a computed address: no branch on the rank's coin-toss direction
    return (w[PO_BLOCK_WORDS * <unsigned int>back + 4]
            & (<uint64_t>PO_PREV_FLAG if back else <uint64_t>PO_FLAG)) != 0


cdef inline uint64_t _po_lower_bound(const uint64_t *a, uint64_t lo, uint64_t hi,
                                     uint64_t key) noexcept nogil:
    """First index in [lo, hi) of the sorted ``a`` whose value is >= key (hi if none)."""
    cdef uint64_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline uint64_t po_exc_lower(const po_t *po, uint64_t row) noexcept nogil:
    """Index of the first exception row >= row (binary search; the list is small)."""
    return _po_lower_bound(po.exc_rows, 0, po.n_exc, row)


cdef inline uint64_t po_exc_index(const po_t *po, uint64_t row) noexcept nogil:
    """Index of exception ``row``, or n_exc if it is none."""
    cdef uint64_t j = po_exc_lower(po, row)
    return j if j < po.n_exc and po.exc_rows[j] == row else po.n_exc


cdef inline int po_pair_at(const po_t *po, uint64_t i) noexcept nogil:
    """Pair digit of row i (< n): the two letters before its suffix, or -1 if the row is an
    exception (then one LF step at a time)."""
    if i >= po.n:
        return -1
    cdef uint64_t b = i // PO_BLOCK_ROWS
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    cdef const uint64_t *w = po.blocks + b * PO_BLOCK_WORDS
    if _po_flagged(w, _po_backward(po, b, off)) and po_exc_index(po, i) < po.n_exc:
        return -1
    return <int>po_digit(w, off)


cdef inline uint64_t _po_exc_count(const po_t *po, const uint64_t *w, uint64_t b,
                                   unsigned int lo, unsigned int hi, unsigned int x,
                                   bint pair) noexcept nogil:
    """Exceptions among rows [lo, hi) of block b (words ``w``) whose digit is x (``pair``),
    or whose BWT byte is not a letter (their digit reads as letter 0)."""
    cdef uint64_t row = b * PO_BLOCK_ROWS, r = 0
    cdef uint64_t j = po_exc_lower(po, row + lo)
    while j < po.n_exc and po.exc_rows[j] < row + hi:
        if pair:
            if po_digit(w, <unsigned int>(po.exc_rows[j] - row)) == x:
                r += 1
        elif po.map[po.exc_syms[j]] == PO_NONE:
            r += 1
        j += 1
    return r


cdef inline uint64_t _po_rank(const po_t *po, unsigned int x, uint64_t i, bint letter) noexcept nogil:
    """rank2 of pair x (``letter`` False) or rank of letter code x (True) at row i <= n."""
    cdef uint64_t b = i // PO_BLOCK_ROWS, r
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    cdef const uint64_t *w = po.blocks + b * PO_BLOCK_WORDS
    cdef bint back = _po_backward(po, b, off)
    # the counts before this block, or before the next one minus [off, end)
    cdef uint64_t cnt
    r = _po_count_before(po, b + back, x, letter)
    if off > PO_WINDOW_ROWS and not back:   # forward past the window: the last block only
        cnt = _po_scan(w, x, 0, off, letter)
    else:                                   # one window, the same work for every row
        cnt = fm_po_rank_count(w, x, off, back, letter)
    r = r - cnt if back else r + cnt
    if _po_flagged(w, back) and (not letter or x == 0):       # exceptions: rare
        if back:
            r += _po_exc_count(po, w, b, off, PO_BLOCK_ROWS, x, not letter)
        else:
            r -= _po_exc_count(po, w, b, 0, off, x, not letter)
    return r


cdef inline uint64_t po_rank2(const po_t *po, unsigned int x, uint64_t i) noexcept nogil:
    """Rows j < i whose two preceding letters are pair x (0..15): the suffixes "x ..." that
    precede, in LF order, the rows below i.  i <= n (clamped)."""
    if i > po.n:
        i = po.n
    return _po_rank(po, x & 15, i, False)


cdef inline bint _po_rank_same_block(const po_t *po, unsigned int x, uint64_t *i, uint64_t *j,
                                     bint letter) noexcept nogil:
    """When i <= j lie in one block (most steps of a long pattern, whose range is narrow):
    rank at i, plus the digits x in [i, j) -- one rank and a short scan instead of two
    ranks.  False (nothing done) otherwise."""
    cdef uint64_t a = i[0], z = j[0], b, r, cnt
    cdef unsigned int oa, oz
    cdef const uint64_t *w
    if z > po.n:
        z = po.n
    if a > z:
        return False
    b = a // PO_BLOCK_ROWS
    if z // PO_BLOCK_ROWS != b:
        return False
    oa = <unsigned int>(a - b * PO_BLOCK_ROWS)
    oz = <unsigned int>(z - b * PO_BLOCK_ROWS)
    w = po.blocks + b * PO_BLOCK_WORDS
    r = _po_rank(po, x, a, letter)
    cnt = _po_scan(w, x, oa, oz, letter)
    if _po_flagged(w, _po_backward(po, b, oa)) and (not letter or x == 0):
        cnt -= _po_exc_count(po, w, b, oa, oz, x, not letter)
    i[0] = r
    j[0] = r + cnt
    return True


cdef inline void po_rank2_pair(const po_t *po, unsigned int x, uint64_t *i, uint64_t *j,
                              bint requested=False) noexcept nogil:
    """(rank2_x(i), rank2_x(j)); both ends' lines are requested before either is read,
    unless the caller did so already (``requested``: a batch, one visit ahead)."""
    if not requested:
        po_prefetch_rank(po, x, i[0], False)
        po_prefetch_rank(po, x, j[0], False)
    if _po_rank_same_block(po, x & 15, i, j, False):
        return
    i[0] = po_rank2(po, x, i[0])
    j[0] = po_rank2(po, x, j[0])


cdef inline uint64_t po_rank_rare(const po_t *po, unsigned int c, uint64_t i) noexcept nogil:
    """Occurrences of a non-letter byte c (< 256) in BWT[0, i)."""
    return (_po_lower_bound(po.rare_rows, po.rare_start[c], po.rare_start[c + 1], i)
            - po.rare_start[c])


cdef inline uint64_t po_rank(const po_t *po, unsigned int c, uint64_t i) noexcept nogil:
    """Occurrences of byte c (< 256) in BWT[0, i), the end-marker row r0 reading as its
    stored separator.  i <= n (clamped)."""
    if i > po.n:
        i = po.n
    cdef unsigned int code = po.map[c & 255]
    if code == PO_NONE:
        return po_rank_rare(po, c & 255, i)
    return _po_rank(po, code, i, True)


cdef inline void po_rank_pair(const po_t *po, unsigned int c, uint64_t *i, uint64_t *j) noexcept nogil:
    """(rank_c(i), rank_c(j)) for byte c; both ends' lines requested first."""
    if po.map[c & 255] != PO_NONE:
        po_prefetch_rank(po, po.map[c & 255], i[0], True)
        po_prefetch_rank(po, po.map[c & 255], j[0], True)
        if _po_rank_same_block(po, po.map[c & 255], i, j, True):
            return
    i[0] = po_rank(po, c, i[0])
    j[0] = po_rank(po, c, j[0])


cdef inline uint64_t po_inverse_select(const po_t *po, uint64_t i, uint32_t *c) noexcept nogil:
    """BWT byte at row i into ``*c`` and its rank (occurrences in [0, i)).  i < n
    (clamped to n - 1 on a damaged index)."""
    if i >= po.n:
        i = po.n - 1 if po.n else 0
    cdef uint64_t b = i // PO_BLOCK_ROWS
    cdef unsigned int off = <unsigned int>(i - b * PO_BLOCK_ROWS)
    cdef const uint64_t *w = po.blocks + b * PO_BLOCK_WORDS
    cdef unsigned int code = po_digit(w, off) & 3
    cdef uint64_t j
    cdef uint8_t s
    po_prefetch(po, i)
    if _po_flagged(w, _po_backward(po, b, off)):
        j = po_exc_lower(po, i)
        if j < po.n_exc and po.exc_rows[j] == i:
            s = po.exc_syms[j]
            if po.map[s] == PO_NONE:
                c[0] = s
                return po_rank_rare(po, s, i)
            code = po.map[s]
    c[0] = po.letters[code]
    return _po_rank(po, code, i, True)


cdef inline void po_init(po_t *po, const uint64_t *blocks, const uint64_t *supers,
                         const uint64_t *exc_rows, const uint8_t *exc_syms, uint64_t n_exc,
                         const uint64_t *rare_rows, const uint64_t *rare_start, uint64_t n,
                         const uint8_t *letters, const uint64_t *C) noexcept nogil:
    """Point ``po`` at validated arrays; ``letters``: the 4 bytes in code order, ``C``: the
    shard's C array (C[c] = 1 + symbols below c), from which the pairs' first rows follow:
    c2[a b] = C[a] + rank_a(C[b])."""
    cdef unsigned int k, x
    po.blocks = blocks
    po.supers = supers
    po.exc_rows = exc_rows
    po.exc_syms = exc_syms
    po.n_exc = n_exc
    po.rare_rows = rare_rows
    po.rare_start = rare_start
    po.n = n
    po.ahead = 0
    for k in range(256):
        po.map[k] = PO_NONE
    for k in range(4):
        po.letters[k] = letters[k]
        po.map[letters[k]] = k
    for x in range(16):
        po.c2[x] = C[letters[x >> 2]] + po_rank(po, letters[x >> 2], C[letters[x & 3]])
        po.tot2[x] = supers[po_n_supers(n) * PO_SUPER_WORDS + x]
        po.share16[x] = (po.tot2[x] << 16) // n if n else 0


cdef inline int po_init_arrays(po_t *po, dict a, uint64_t n, letters,
                               const uint64_t[::1] C) except -1:
    """po_init from the arrays ``a`` ("blocks", "supers", "exc_rows", "exc_syms",
    "rare_rows", "rare_start": uint64 except exc_syms, uint8) of a table over ``n`` rows,
    after checking every size it relies on (ValueError otherwise); ``letters``: the 4 bytes,
    ascending; ``C``: the shard's 257-entry C array.  The caller keeps ``a`` and ``C``
    alive as long as ``po``.  Empty lists point at rare_start (257 entries), never read."""
    cdef const uint64_t[::1] bl = a["blocks"]
    cdef const uint64_t[::1] su = a["supers"]
    cdef const uint64_t[::1] er = a["exc_rows"]
    cdef const uint8_t[::1] es = a["exc_syms"]
    cdef const uint64_t[::1] rr = a["rare_rows"]
    cdef const uint64_t[::1] rs = a["rare_start"]
    cdef uint8_t lt[4]
    cdef uint64_t k
    if (<uint64_t>bl.shape[0] != po_n_blocks(n) * PO_BLOCK_WORDS
            or <uint64_t>su.shape[0] != (po_n_supers(n) + 1) * PO_SUPER_WORDS):
        raise ValueError("pair-occurrence table blocks or superblocks have the wrong size")
    if er.shape[0] != es.shape[0] or rs.shape[0] != 257:
        raise ValueError("pair-occurrence table exception arrays have the wrong size")
    if <uint64_t>rr.shape[0] != rs[256] or rr.shape[0] > er.shape[0]:
        raise ValueError("pair-occurrence table rare-byte index is damaged")
    for k in range(256):
        if rs[k + 1] < rs[k]:
            raise ValueError("pair-occurrence table rare-byte index is damaged")
    pl = [int(x) for x in letters]
    if len(pl) != 4 or sorted(set(pl)) != pl or pl[0] < 0 or pl[3] > 255 or C.shape[0] != 257:
        raise ValueError("pair-occurrence table letters or C array are wrong")
    if n == 0 or C[256] != n:
        raise ValueError("pair-occurrence table row count does not match C")
    for k in range(4):
        lt[k] = pl[k]
    po_init(po, &bl[0], &su[0], &er[0] if er.shape[0] else &rs[0],
            &es[0] if es.shape[0] else <const uint8_t *>&rs[0], er.shape[0],
            &rr[0] if rr.shape[0] else &rs[0], &rs[0], n, lt, &C[0])
    return 0
