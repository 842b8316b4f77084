# cython: language_level=3
"""RRRBitVector: an entropy-compressed bitvector with rank from two cache lines.

Raman, Raman & Rao, "Succinct indexable dictionaries", SODA 2002; the practical
form of Claude & Navarro / sdsl's rrr_vector, with 63-bit blocks so that every
offset fits in one machine word.

The bits are cut into blocks of 63.  A block with k ones is stored as its class k
(6 bits) and its offset: the block's index among the C(63, k) blocks with k ones,
in FM_RRR_LEN[k] = ceil(log2 C(63, k)) bits (0 bits when k is 0 or 63).  On the
wavelet trees of a BWT, about a third of the blocks are all-zero or all-one and
most others are skewed, so the offsets take ~45% of the plain bits.

Layout
  lines    one 64-byte line per 60 blocks (3,780 bits):
             word 0: ones before the line
             word 1: bit position of the line's first offset in ``payload``
             words 2..7: the 60 classes, 10 per word (6 bits each, block 10w+t
                         at bits 6t of word 2+w)
           plus one spare line, so that rank1(n_bits) reads a valid line.
  payload  the offsets, concatenated in block order (little-endian bit stream),
           plus one zero word so that a read of up to 64 bits never leaves it.

rank1(i) reads the line (one miss), adds the classes and offset widths of the
blocks before i's block inside the line, reads the block's offset (a second
miss) and decodes the first i mod 63 bits of it: at most 63 steps over the
binomial table, none for an all-zero or all-one block.
Overhead over the offsets: 6 bits per 63 (classes) + 128 bits per 3,780.

Kind "rrr63rc" (``raw`` + compact lines, the small profile's default): the same blocks,
widths and payload as rrr63r, 72 blocks (4,536 bits) per line:
             words 1..7: classes of blocks 0..69, 10 per word (block 10w+t at bits 6t
                         of word 1+w)
             word 0: classes of blocks 70 and 71 (bits 0..11; so block j's class is in
                     word (1 + j // 10) & 7 for every j) | ones before the line (bits
                     12..37) | bit position of the line's first offset (bits 38..63),
                     both counters relative to the line's superblock
  supers   per 2^super_shift lines (a superblock), a pair of u64: ones before and payload
           bit position of its first line (so the first line's relative counters are 0).
           super_shift <= RRR_SUPER_SHIFT_MAX keeps both relative counters below 2^26
           (a line covers at most 4,536 ones and 72 * 63 payload bits).
The counters cost 52 bits per 4,536 (plus 128 bits per 2^13 lines; the array stays in
cache) instead of 128 per 3,780; rank1 reads the superblock pair beside the line (its
address depends on the line index only, so the two loads overlap).

Kind "rrr63r" (``raw``): the same lines and payload, except that a block whose offset
would take FM_RRR_RAW_MIN bits or more (the mid-range classes, the usual ones on DNA)
stores its 63 bits as they are, in FM_RRR_LENR[k] = 63 bits: rank inside such a block
is a mask and a popcount instead of a decode, for at most 63 - FM_RRR_RAW_MIN more bits
per such block.  The width tables are per bitvector (``len``, ``len2``); a width of 63
means raw (an offset never takes more than 60).
"""
from libc.stdint cimport uint64_t, uint8_t
from bits cimport fm_prefetch, fm_popcount64

cdef extern from "rrr_tables.h":
    const uint64_t FM_BINOM[64][64]     # C(n, k), 0 when k > n
    const uint8_t FM_RRR_LEN[64]        # offset width of a block of class k
    const uint8_t FM_RRR_LEN2[4096]     # FM_RRR_LEN[c & 63] + FM_RRR_LEN[c >> 6]
    const uint8_t FM_RRR_LENR[64]       # kind rrr63r: 63 (raw) for the mid-range classes
    const uint8_t FM_RRR_LENR2[4096]
    int FM_RRR_RAW_MIN

cdef enum:
    RRR_BLOCK = 63          # bits per block
    RRR_GROUP = 60          # blocks per line (kinds rrr63, rrr63r)
    RRR_LINE_WORDS = 8      # uint64 words per line (64 bytes)
    RRR_LINE_BITS = 3780    # RRR_BLOCK * RRR_GROUP
    RRR_CGROUP = 72         # blocks per compact line (kind rrr63rc)
    RRR_CLINE_BITS = 4536   # RRR_BLOCK * RRR_CGROUP
    RRR_CREL_SHIFT = 12     # compact line word 0: relative ones at bits 12..37
    RRR_CPTR_SHIFT = 38     # ... and relative payload pointer at bits 38..63
    RRR_SUPER_SHIFT = 13    # default lines per superblock (log2) of compact lines
    RRR_SUPER_SHIFT_MAX = 13    # 2^13 * 4536 < 2^26: relative counters fit 26 bits

ctypedef struct rrr_t:
    const uint64_t *lines       # (n_lines * 8,)
    const uint64_t *payload     # (n_payload_words,), >= 2 words
    uint64_t n_payload_words
    uint64_t n_bits
    uint64_t n_ones
    uint64_t n_lines
    const uint8_t *len          # FM_RRR_LEN, or FM_RRR_LENR (kind rrr63r)
    const uint8_t *len2         # FM_RRR_LEN2, or FM_RRR_LENR2
    const uint64_t *supers      # compact lines: (n_supers * 2,) absolute ones, payload
                                # pointer per superblock; NULL for 60-block lines
    unsigned int super_shift    # compact lines: log2(lines per superblock)
    unsigned int group          # blocks per line: RRR_GROUP or RRR_CGROUP
    uint64_t line_bits          # bits per line: RRR_LINE_BITS or RRR_CLINE_BITS


cdef inline uint64_t rrr_n_lines(uint64_t n_bits, bint compact=False) noexcept nogil:
    """Lines for ``n_bits`` bits (with the spare line for rank1(n_bits))."""
    if compact:
        return n_bits // RRR_CLINE_BITS + 1
    return n_bits // RRR_LINE_BITS + 1


cdef inline uint64_t rrr_n_supers(uint64_t n_lines, unsigned int super_shift) noexcept nogil:
    """Superblocks (pairs in ``supers``) of ``n_lines`` compact lines."""
    return ((n_lines - 1) >> super_shift) + 1


cdef inline unsigned int rrr_class(const uint64_t *w, unsigned int base, unsigned int j) noexcept nogil:
    """Class (ones) of block j of the line at ``w``, whose first class word is ``base``
    (2 for 60-block lines, 1 for compact lines, whose blocks 70 and 71 wrap to word 0)."""
    return <unsigned int>((w[(base + j // 10) & 7] >> (6 * (j % 10))) & 63)


cdef inline unsigned int rrr_class_base(const rrr_t *bv) noexcept nogil:
    """First class word of the lines of ``bv``."""
    return 1 if bv.supers != NULL else 2


cdef inline uint64_t rrr_line_ones(const rrr_t *bv, uint64_t line) noexcept nogil:
    """Ones before a line (absolute)."""
    cdef const uint64_t *w = bv.lines + line * RRR_LINE_WORDS
    if bv.supers != NULL:
        return (bv.supers[(line >> bv.super_shift) << 1]
                + ((w[0] >> RRR_CREL_SHIFT) & ((<uint64_t>1 << (RRR_CPTR_SHIFT - RRR_CREL_SHIFT)) - 1)))
    return w[0]


cdef inline uint64_t rrr_line_ptr(const rrr_t *bv, uint64_t line) noexcept nogil:
    """Payload bit position of a line's first offset (absolute)."""
    cdef const uint64_t *w = bv.lines + line * RRR_LINE_WORDS
    if bv.supers != NULL:
        return bv.supers[((line >> bv.super_shift) << 1) + 1] + (w[0] >> RRR_CPTR_SHIFT)
    return w[1]


cdef inline uint64_t _rrr_word_ones(uint64_t x) noexcept nogil:
    """Sum of the ten 6-bit classes of a class word (SWAR)."""
    x = (x & 0x03F03F03F03F03FULL) + ((x >> 6) & 0x03F03F03F03F03FULL)   # five 12-bit sums
    return ((x * 0x001001001001001ULL) >> 48) & 0xFFF


cdef inline uint64_t _rrr_scan(const uint64_t *w, unsigned int base, unsigned int j,
                               uint64_t *ptr, const uint8_t *len2) noexcept nogil:
    """Ones in blocks 0..j-1 of the line at ``w`` (first class word ``base``, see
    rrr_class); adds their offset widths to ``*ptr``.  Ones: SWAR sums of whole class
    words; widths: ``len2`` (two classes per lookup)."""
    cdef uint64_t ones = 0, p = 0, x
    cdef unsigned int t, u, q = j // 10, rem = j % 10
    for t in range(q):
        x = w[base + t]
        ones += _rrr_word_ones(x)
        p += (len2[x & 4095] + len2[(x >> 12) & 4095]
              + len2[(x >> 24) & 4095] + len2[(x >> 36) & 4095]
              + len2[(x >> 48) & 4095])
    if rem:
        x = w[(base + q) & 7] & ((<uint64_t>1 << (6 * rem)) - 1)
        ones += _rrr_word_ones(x)
        for u in range((rem + 1) >> 1):
            p += len2[x & 4095]
            x >>= 12
    ptr[0] += p
    return ones


cdef inline uint64_t rrr_read_offset(const rrr_t *bv, uint64_t ptr, unsigned int L) noexcept nogil:
    """The L-bit (L <= 63) offset or raw block at bit ``ptr`` of the payload (0 if out of
    bounds: only possible with a damaged index)."""
    cdef uint64_t q = ptr >> 6
    cdef unsigned int s = <unsigned int>(ptr & 63)
    cdef uint64_t v
    if q + 1 >= bv.n_payload_words:
        return 0
    v = bv.payload[q] >> s
    if s + L > 64:
        v |= bv.payload[q + 1] << (64 - s)
    return v & ((<uint64_t>1 << L) - 1)


cdef inline void _rrr_decode_steps(unsigned int p0, unsigned int p1, unsigned int *kp,
                                   uint64_t *offp, uint64_t *tp) noexcept nogil:
    """Positions p0 .. p1 - 1 of rrr_decode's branch-free walk: ``*kp`` ones left,
    ``*offp`` the offset left, ``*tp`` the threshold C(62 - p0, k) of position p0."""
    cdef unsigned int k = kp[0], p
    cdef uint64_t off = offp[0], t = tp[0], t0, t1, ge
    for p in range(p0, p1):
        t0 = FM_BINOM[61 - p][k & 63]
        t1 = FM_BINOM[61 - p][(k - 1) & 63]
        ge = off >= t
        off -= t & ((<uint64_t>0) - ge)
        k -= <unsigned int>ge
        t = t0 ^ ((t0 ^ t1) & ((<uint64_t>0) - ge))
    kp[0] = k
    offp[0] = off
    tp[0] = t


cdef inline unsigned int rrr_decode(unsigned int k, uint64_t off, unsigned int r,
                                    unsigned int *bit) noexcept nogil:
    """Ones among the first r (< 63) bits of the block (class k, offset off); bit r
    into ``*bit``.  Enumerative order: at position p with k ones left to place, the
    C(62 - p, k) patterns with a 0 at p come first, so bit p = off >= C(62 - p, k) (which
    also reads 0 once k is 0 and 1 once k > 62 - p: no special cases).

    Branch-free, and the dependency chain per position is one compare and one select:
    the thresholds of the next position for both outcomes (k and k - 1 ones left) are
    loaded while this one is decided, so the table loads stay off the chain.  On mid-range
    classes (unpredictable bits) this is ~1.7x faster than a branchy walk.  Class indexes
    are masked (& 63) and the count clamped to r, so a damaged offset reads no memory out
    of the table and cannot give more than r ones."""
    cdef unsigned int k0 = k, ones
    cdef uint64_t t = FM_BINOM[62][k & 63]
    _rrr_decode_steps(0, r, &k, &off, &t)
    bit[0] = off >= t
    ones = k0 - k
    return ones if ones < r else r


cdef inline void rrr_decode_pair(unsigned int k, uint64_t off, unsigned int ra, unsigned int rb,
                                 unsigned int *oa, unsigned int *ob) noexcept nogil:
    """Ones among the first ra and the first rb bits of a block (ra <= rb < 63): one walk
    (rrr_decode's branch-free step, counts clamped to ra and rb)."""
    cdef unsigned int k0 = k, ones
    cdef uint64_t t = FM_BINOM[62][k & 63]
    _rrr_decode_steps(0, ra, &k, &off, &t)
    ones = k0 - k
    oa[0] = ones if ones < ra else ra
    _rrr_decode_steps(ra, rb, &k, &off, &t)
    ones = k0 - k
    ob[0] = ones if ones < rb else rb


cdef inline uint64_t _rrr_head(const rrr_t *bv, uint64_t i, unsigned int *r, unsigned int *k,
                               uint64_t *ptr) noexcept nogil:
    """First half of rank1(i) (i <= n_bits): ones before i's block, its class, the
    in-block position and the bit position of its offset."""
    cdef uint64_t blk = i // RRR_BLOCK
    r[0] = <unsigned int>(i - blk * RRR_BLOCK)
    cdef uint64_t line, head, ones
    cdef unsigned int j
    cdef const uint64_t *w
    cdef const uint64_t *sb
    if bv.supers != NULL:           # compact lines (one predictable branch per bitvector)
        line = blk // RRR_CGROUP
        j = <unsigned int>(blk - line * RRR_CGROUP)
        w = bv.lines + line * RRR_LINE_WORDS
        sb = bv.supers + ((line >> bv.super_shift) << 1)
        head = w[0]
        ptr[0] = sb[1] + (head >> RRR_CPTR_SHIFT)
        ones = (sb[0] + ((head >> RRR_CREL_SHIFT)
                         & ((<uint64_t>1 << (RRR_CPTR_SHIFT - RRR_CREL_SHIFT)) - 1))
                + _rrr_scan(w, 1, j, ptr, bv.len2))
        k[0] = rrr_class(w, 1, j)
        return ones
    line = blk // RRR_GROUP
    j = <unsigned int>(blk - line * RRR_GROUP)
    w = bv.lines + line * RRR_LINE_WORDS
    ptr[0] = w[1]
    ones = w[0] + _rrr_scan(w, 2, j, ptr, bv.len2)
    k[0] = rrr_class(w, 2, j)
    return ones


cdef inline const uint64_t *rrr_line_of(const rrr_t *bv, uint64_t i) noexcept nogil:
    """The line rank1(i) reads first (i <= n_bits)."""
    if bv.supers != NULL:
        return bv.lines + (i // RRR_CLINE_BITS) * RRR_LINE_WORDS
    return bv.lines + (i // RRR_LINE_BITS) * RRR_LINE_WORDS


cdef inline uint64_t _rrr_tail(const rrr_t *bv, uint64_t ones, unsigned int r, unsigned int k,
                               uint64_t ptr) noexcept nogil:
    """Second half of rank1: decode the block's offset (or count a raw block's bits)."""
    cdef unsigned int bit, L
    cdef uint64_t v
    if r == 0 or k == 0:
        return ones
    if k == RRR_BLOCK:
        return ones + r
    L = bv.len[k]
    v = rrr_read_offset(bv, ptr, L)
    if L == RRR_BLOCK:
        return ones + fm_popcount64(v & ((<uint64_t>1 << r) - 1))
    return ones + rrr_decode(k, v, r, &bit)


cdef inline uint64_t rrr_rank1(const rrr_t *bv, uint64_t i) noexcept nogil:
    """Ones in [0, i), 0 <= i <= n_bits (a larger i, only from a damaged index, is clamped)."""
    if i > bv.n_bits:
        i = bv.n_bits
    cdef unsigned int r, k
    cdef uint64_t ptr
    cdef uint64_t ones = _rrr_head(bv, i, &r, &k, &ptr)
    return _rrr_tail(bv, ones, r, k, ptr)


cdef inline void rrr_rank1_pair(const rrr_t *bv, uint64_t a, uint64_t b, uint64_t *ra,
                                uint64_t *rb) noexcept nogil:
    """(rank1(a), rank1(b)) for a <= b.  Same 63-bit block (the usual case for the narrow
    ranges of longer patterns): one line scan and one decode.  Otherwise the two ranks
    are interleaved so that their line misses, then their offset misses, overlap."""
    if b > bv.n_bits:
        b = bv.n_bits
    if a > b:
        a = b
    cdef uint64_t blk = a // RRR_BLOCK
    cdef unsigned int r_a, r_b, k, k_b, oa, ob, L
    cdef uint64_t ptr, ptr_b, ones, ones_b, v
    if b // RRR_BLOCK != blk:
        fm_prefetch(rrr_line_of(bv, b))
        ones = _rrr_head(bv, a, &r_a, &k, &ptr)
        if bv.len[k]:
            fm_prefetch(bv.payload + (ptr >> 6))
        ones_b = _rrr_head(bv, b, &r_b, &k_b, &ptr_b)
        if bv.len[k_b]:
            fm_prefetch(bv.payload + (ptr_b >> 6))
        ra[0] = _rrr_tail(bv, ones, r_a, k, ptr)
        rb[0] = _rrr_tail(bv, ones_b, r_b, k_b, ptr_b)
        return
    ones = _rrr_head(bv, a, &r_a, &k, &ptr)
    r_b = <unsigned int>(b - blk * RRR_BLOCK)
    if k == 0 or r_b == 0:
        ra[0] = ones
        rb[0] = ones
        return
    if k == RRR_BLOCK:
        ra[0] = ones + r_a
        rb[0] = ones + r_b
        return
    L = bv.len[k]
    v = rrr_read_offset(bv, ptr, L)
    if L == RRR_BLOCK:
        ra[0] = ones + fm_popcount64(v & ((<uint64_t>1 << r_a) - 1))
        rb[0] = ones + fm_popcount64(v & ((<uint64_t>1 << r_b) - 1))
        return
    rrr_decode_pair(k, v, r_a, r_b, &oa, &ob)
    ra[0] = ones + oa
    rb[0] = ones + ob


cdef inline uint64_t rrr_finish(const rrr_t *bv, uint64_t ones, unsigned int r, unsigned int k,
                                uint64_t ptr, unsigned int *bit) noexcept nogil:
    """Second half of a staged access_rank1: bit into ``*bit``, returns the rank."""
    cdef unsigned int L
    cdef uint64_t v
    if k == 0:
        bit[0] = 0
        return ones
    if k == RRR_BLOCK:
        bit[0] = 1
        return ones + r
    L = bv.len[k]
    v = rrr_read_offset(bv, ptr, L)
    if L == RRR_BLOCK:
        bit[0] = <unsigned int>((v >> r) & 1)
        return ones + fm_popcount64(v & ((<uint64_t>1 << r) - 1))
    return ones + rrr_decode(k, v, r, bit)


cdef inline uint64_t rrr_access_rank1(const rrr_t *bv, uint64_t i, unsigned int *bit) noexcept nogil:
    """Bit i into ``*bit`` and ones in [0, i) (i clamped to n_bits; bit n_bits reads 0)."""
    if i > bv.n_bits:
        i = bv.n_bits
    cdef unsigned int r, k
    cdef uint64_t ptr
    cdef uint64_t ones = _rrr_head(bv, i, &r, &k, &ptr)
    return rrr_finish(bv, ones, r, k, ptr, bit)


cdef inline bint rrr_stage(const rrr_t *bv, uint64_t i, uint64_t *ones, unsigned int *r,
                           unsigned int *k, uint64_t *ptr) noexcept nogil:
    """First visit of a staged access_rank1(i): reads the line; True when the block's
    offset must be decoded (it is prefetched then; finish on the next visit)."""
    if i > bv.n_bits:
        i = bv.n_bits
    ones[0] = _rrr_head(bv, i, r, k, ptr)
    if bv.len[k[0]]:
        fm_prefetch(bv.payload + (ptr[0] >> 6))
        return True
    return False


cdef inline uint64_t rrr_select(const rrr_t *bv, uint64_t q, unsigned int want) noexcept nogil:
    """Position of the q-th (0-based) bit equal to ``want`` (q < count of such bits):
    binary search over the lines, a scan of the classes, a decode of one block."""
    cdef uint64_t lo = 0, hi = bv.n_lines - 1, mid, before, blk_ones
    cdef const uint64_t *w
    cdef unsigned int base = rrr_class_base(bv)
    cdef uint64_t ptr, off
    cdef unsigned int j, k, p, n_rem, L, bit
    cdef uint64_t c
    while lo < hi:                  # last line with fewer than q + 1 wanted bits before it
        mid = (lo + hi + 1) >> 1
        before = rrr_line_ones(bv, mid)
        if not want:
            before = mid * bv.line_bits - before
        if before <= q:
            lo = mid
        else:
            hi = mid - 1
    before = rrr_line_ones(bv, lo)
    q -= before if want else lo * bv.line_bits - before
    ptr = rrr_line_ptr(bv, lo)
    w = bv.lines + lo * RRR_LINE_WORDS
    for j in range(bv.group):
        k = rrr_class(w, base, j)
        blk_ones = k if want else RRR_BLOCK - k
        if q < blk_ones:
            break
        q -= blk_ones
        ptr += bv.len[k]
    # the q-th wanted bit of block j: walk its bits
    L = bv.len[k]
    off = rrr_read_offset(bv, ptr, L) if L else 0
    for p in range(RRR_BLOCK):
        n_rem = RRR_BLOCK - p
        if L == RRR_BLOCK:          # raw block
            bit = <unsigned int>((off >> p) & 1)
        elif k >= n_rem:
            bit = 1
        elif k == 0:
            bit = 0
        else:
            c = FM_BINOM[n_rem - 1][k]
            bit = 1 if off >= c else 0
            if bit:
                off -= c
        if bit:
            k -= 1
        if bit == want:
            if q == 0:
                return (lo * bv.group + j) * RRR_BLOCK + p
            q -= 1
    return bv.n_bits                # unreachable for a valid q


cdef inline void rrr_prefetch(const rrr_t *bv, uint64_t i) noexcept nogil:
    """Prefetch the line that rank1(i) reads first."""
    if i > bv.n_bits:
        i = bv.n_bits
    fm_prefetch(rrr_line_of(bv, i))


cdef inline const uint8_t *rrr_len_table(bint raw) noexcept nogil:
    """Block widths by class: kind rrr63 (raw False) or rrr63r (raw True)."""
    if raw:
        return &FM_RRR_LENR[0]
    return &FM_RRR_LEN[0]


cdef inline const uint8_t *rrr_len2_table(bint raw) noexcept nogil:
    if raw:
        return &FM_RRR_LENR2[0]
    return &FM_RRR_LEN2[0]


cdef inline void rrr_init(rrr_t *bv, const uint64_t *lines, const uint64_t *payload,
                          uint64_t n_payload_words, uint64_t n_bits, bint raw=False,
                          const uint64_t *supers=NULL, unsigned int super_shift=0) noexcept nogil:
    """Point ``bv`` at validated arrays (n_lines * 8 line words, >= 2 payload words);
    ``raw``: mid-range classes stored raw (kinds rrr63r, rrr63rc); ``supers`` (with
    ``super_shift``): compact lines (kind rrr63rc), else 60-block lines."""
    cdef const uint64_t *w
    cdef unsigned int base = 1 if supers != NULL else 2
    cdef uint64_t ptr = 0, last
    bv.lines = lines
    bv.payload = payload
    bv.n_payload_words = n_payload_words
    bv.n_bits = n_bits
    bv.supers = supers
    bv.super_shift = super_shift
    bv.group = RRR_CGROUP if supers != NULL else RRR_GROUP
    bv.line_bits = RRR_CLINE_BITS if supers != NULL else RRR_LINE_BITS
    bv.n_lines = rrr_n_lines(n_bits, supers != NULL)
    bv.len = rrr_len_table(raw)
    bv.len2 = rrr_len2_table(raw)
    last = bv.n_lines - 1
    w = lines + last * RRR_LINE_WORDS
    bv.n_ones = (rrr_line_ones(bv, last) + _rrr_scan(w, base, bv.group - 1, &ptr, bv.len2)
                 + rrr_class(w, base, bv.group - 1))
