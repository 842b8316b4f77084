# cython: language_level=3
"""WaveletTree: Huffman-shaped wavelet trees over fixed blocks of the sequence.

Grossi, Gupta & Vitter, "High-order entropy-compressed text indexes", SODA 2003;
Huffman shape: Mäkinen & Navarro, CPM 2005; fixed-block compression boosting:
Kärkkäinen & Puglisi, "Fixed block compression boosting in FM-indexes", SPIRE 2011.

The sequence is cut into blocks of 2^block_shift symbols and every block gets its
own Huffman-shaped tree, built from the block's own symbol frequencies.  On a BWT
the local alphabet of a block is small and skewed, so the trees are shallow: on
100 MB of C code, 3.5 bits/symbol at 64 Ki-symbol blocks against 5.7 for one
global tree — both smaller and fewer cache misses per rank.  A block_shift of 63
gives one global tree (used for large token alphabets).

Layout
  bits   one RankBitVector holding every node of every block (blocks in order,
         nodes of a block breadth-first, root first)
  nodes  (start bit, ones before start, child[0], child[1]); child < 0 is a leaf
         of symbol -child-1
  roots  root node index of each block
  table  ((n_blocks + 1) * sigma) uint64: occurrences of symbol c before block b
         (high 32 bits) | code length (6 bits) | code (26 bits, LSB = root branch);
         length 0 = c does not occur in the block

rank / access: one table entry + one cache line per tree level.  Query kernels
use wt_rank, wt_rank_pair, wt_inverse_select and the walk helpers below, so the
layers above do not depend on the layout.

Arity 4 (profile "fast" of byte shards): the same blocks, table and roots, but each
block's tree is a 4-ary Huffman tree (codes of 2-bit digits, LSB digit = root branch,
code length counted in digits, at most WT_CODE_BITS / 2) and the nodes hold digits in
one QuadRankVector (quad_vector.pxd: rank of a digit in one cache line).  A byte costs
about half as many levels as in the binary tree, so a backward-search step waits for
about half as many dependent cache misses, for ~10% more tree bits.
  qnodes (start digit, digits 0..3 before start, child[0..3]); child < 0 is a leaf of
         symbol -child-1; -sigma-1 is a padding leaf that no symbol reaches

Arity 16 (profile "fast" of byte shards whose text is >= 99% four letters, e.g. DNA): no
tree; the BWT is a PairOccTable (pair_occ.pxd), one 4-bit digit per row naming the two
letters before the row's suffix, so that a backward search can take two letters per
step (fm_shard.pxd).  wt_rank / wt_rank_pair / wt_inverse_select answer single symbols
from the same blocks; table, nodes and roots are a single-block stub whose last table
row holds the totals.
"""
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t, uint8_t
from rank_bitvector cimport (rbv_t, rbv_init, bv_rank1, bv_access_rank1, BV_LINE_BITS,
                             BV_LINE_WORDS)
from rrr_bitvector cimport (rrr_t, rrr_init, rrr_rank1, rrr_rank1_pair, rrr_access_rank1,
                            rrr_prefetch, rrr_stage, rrr_finish)
from bits cimport fm_prefetch
from pair_occ cimport po_t, po_rank, po_rank_pair, po_inverse_select
from quad_vector cimport (qv_t, qv_init, qv_rank, qv_rank_pair, qv_access_rank, qv_prefetch,
                          QV_LINE_DIGITS, QV_LINE_WORDS)

cdef enum:
    WT_CODE_BITS = 26          # longest code (Huffman codes are length-limited to this)
    WT_COUNT_SHIFT = 32

ctypedef struct wt_node_t:
    uint64_t start        # first bit of the node in the concatenated bitvector
    uint64_t ones_before  # rank1(start)
    int32_t child[2]      # >= 0: node index; < 0: leaf of symbol -child-1

ctypedef struct qwt_node_t:
    uint64_t start        # first digit of the node in the concatenated QuadRankVector
    uint64_t before[4]    # rank_x(start) for digits x = 0..3
    uint64_t cstart[4]    # start of child x (0 for a leaf): the next level's line address
                          # needs only the parent, which is fetched with this level's line
    int32_t child[4]      # >= 0: node index; < 0: leaf of symbol -child-1


ctypedef struct wt_bits_t:
    # the concatenated node bitvectors: plain RankBitVector lines (profile "fast") or
    # RRR-compressed (profile "small"); one predictable branch per rank
    rbv_t plain
    rrr_t rrr
    int compressed

ctypedef struct wt_t:
    wt_bits_t bits           # all node bitvectors, concatenated
    const wt_node_t *nodes   # (n_nodes,)
    const uint32_t *roots    # (n_blocks,) root node of each block
    const uint64_t *table    # ((n_blocks + 1) * sigma,) count | len | code
    unsigned int block_shift # log2(block length); 63 = a single block
    uint64_t block_mask      # (1 << block_shift) - 1
    uint64_t n               # sequence length
    uint32_t sigma           # alphabet bound (symbols are < sigma)
    unsigned int arity       # 2 (bits, nodes) or 4 (quad, qnodes)
    qv_t quad                # arity 4: all node digits, concatenated
    const qwt_node_t *qnodes # arity 4: (n_nodes,)
    po_t pocc                # arity 16: the pair-occurrence table (pair_occ.pxd)
    const uint64_t *qroot_start  # arity 4: (n_blocks,) start of each block's root node
                                 # (derived on open; cached, so a rank's first line is
                                 # requested before any node arrives)
    unsigned int qahead      # arity 4: steps whose root lines one search requests from
                             # guessed rows (fm_backward_search); 0 while the tree stays cached


cdef inline uint64_t wtb_rank1(const wt_bits_t *b, uint64_t i) noexcept nogil:
    """Ones in [0, i) of the concatenated node bits."""
    if b.compressed:
        return rrr_rank1(&b.rrr, i)
    return bv_rank1(&b.plain, i)


cdef inline void wtb_rank1_pair(const wt_bits_t *b, uint64_t i, uint64_t j, uint64_t *ri,
                                uint64_t *rj) noexcept nogil:
    """(rank1(i), rank1(j)) for i <= j."""
    if b.compressed:
        rrr_rank1_pair(&b.rrr, i, j, ri, rj)
    else:
        ri[0] = bv_rank1(&b.plain, i)
        rj[0] = bv_rank1(&b.plain, j)


cdef inline uint64_t wtb_access_rank1(const wt_bits_t *b, uint64_t i, unsigned int *bit) noexcept nogil:
    """Bit i into ``*bit`` and ones in [0, i)."""
    if b.compressed:
        return rrr_access_rank1(&b.rrr, i, bit)
    return bv_access_rank1(&b.plain, i, bit)


ctypedef struct wtb_stage_t:
    # a rank split in two visits (batched kernels, RRR bits): the line was read and the
    # block's offset prefetched; the decode waits for the next visit
    uint64_t ones
    uint64_t ptr
    unsigned int r
    unsigned int k
    int staged


cdef inline bint wtb_access_rank1_staged(const wt_bits_t *b, uint64_t i, wtb_stage_t *st,
                                         unsigned int *bit, uint64_t *rank) noexcept nogil:
    """access_rank1 in up to two visits: False = come back later (offset prefetched);
    True = ``*bit`` and ``*rank`` are set.  Plain bits always finish at once."""
    if not b.compressed:
        rank[0] = bv_access_rank1(&b.plain, i, bit)
        return True
    if st.staged:
        st.staged = 0
        rank[0] = rrr_finish(&b.rrr, st.ones, st.r, st.k, st.ptr, bit)
        return True
    if rrr_stage(&b.rrr, i, &st.ones, &st.r, &st.k, &st.ptr):
        st.staged = 1
        return False
    rank[0] = rrr_finish(&b.rrr, st.ones, st.r, st.k, st.ptr, bit)
    return True


cdef inline void wtb_prefetch(const wt_bits_t *b, uint64_t i) noexcept nogil:
    """Prefetch the (first) line a rank at bit i reads."""
    if b.compressed:
        rrr_prefetch(&b.rrr, i)
    else:
        fm_prefetch(b.plain.lines + (i // BV_LINE_BITS) * BV_LINE_WORDS)


cdef inline uint64_t wt_entry(const wt_t *wt, uint32_t c, uint64_t i) noexcept nogil:
    """Table entry of symbol c for the block holding position i (i <= n)."""
    return wt.table[(i >> wt.block_shift) * wt.sigma + c]


cdef inline unsigned int wt_entry_len(uint64_t e) noexcept nogil:
    return <unsigned int>((e >> WT_CODE_BITS) & 63)


cdef inline uint64_t qwt_guess_rank(const wt_t *wt, uint32_t c, uint64_t i) noexcept nogil:
    """An estimate of wt_rank(c, i) (arity 4; i <= n) from the block table alone (its counts
    of c before i's block and before the next one, interpolated): within 32 rows for half
    of the rows, 112 for 65% (62 MB of English).  Reads no line of the tree.  i = n reads
    as n - 1: the table's last row is the totals, and a block of n's own may not exist."""
    if i >= wt.n:
        i = wt.n - 1 if wt.n else 0
    cdef const uint64_t *t = wt.table + (i >> wt.block_shift) * wt.sigma + c
    cdef uint64_t c0 = t[0] >> WT_COUNT_SHIFT, c1 = t[wt.sigma] >> WT_COUNT_SHIFT
    if c1 < c0:                     # only a damaged index
        return c0
    return c0 + (((c1 - c0) * (i & wt.block_mask)) >> wt.block_shift)


cdef inline void qwt_prefetch_root(const wt_t *wt, uint64_t i) noexcept nogil:
    """Request the root line a rank at position i (< n) reads first, and its root node."""
    if i >= wt.n:
        return
    cdef uint64_t b = i >> wt.block_shift
    fm_prefetch(wt.quad.lines
                + ((wt.qroot_start[b] + (i & wt.block_mask)) // QV_LINE_DIGITS) * QV_LINE_WORDS)
    fm_prefetch(wt.qnodes + wt.roots[b])


cdef inline const wt_node_t *wt_root(const wt_t *wt, uint64_t i) noexcept nogil:
    """Root node of the block holding position i (i < n)."""
    return wt.nodes + wt.roots[i >> wt.block_shift]


cdef inline const qwt_node_t *qwt_root(const wt_t *wt, uint64_t i) noexcept nogil:
    """Root node of the (4-ary) tree of the block holding position i (i < n)."""
    return wt.qnodes + wt.roots[i >> wt.block_shift]


cdef inline uint64_t qwt_rank(const wt_t *wt, uint32_t c, uint64_t i) noexcept nogil:
    """wt_rank for arity 4: one QuadRankVector line per level."""
    cdef uint64_t e = wt_entry(wt, c, i)
    cdef unsigned int L = wt_entry_len(e)
    cdef uint64_t j = i & wt.block_mask
    cdef const qwt_node_t *nd
    cdef unsigned int d, x
    cdef uint64_t st
    if L == 0 or j == 0:
        return e >> WT_COUNT_SHIFT
    nd = qwt_root(wt, i)
    st = wt.qroot_start[i >> wt.block_shift]
    for d in range(L):
        x = <unsigned int>(e & 3)
        e >>= 2
        j = qv_rank(&wt.quad, x, st + j) - nd.before[x]
        if d + 1 < L:
            if nd.child[x] < 0:         # only a damaged index gets here
                break
            st = nd.cstart[x]
            nd = wt.qnodes + nd.child[x]
    return (wt_entry(wt, c, i) >> WT_COUNT_SHIFT) + j


cdef inline void _qwt_rank_two(const wt_t *wt, uint32_t c, uint64_t *i, uint64_t *j) noexcept nogil:
    """rank_c(i) and rank_c(j) in two different blocks (two trees), descended in lockstep
    so that the two cache misses of each level overlap."""
    cdef uint64_t ea = wt_entry(wt, c, i[0]), ez = wt_entry(wt, c, j[0])
    cdef uint64_t ca = ea >> WT_COUNT_SHIFT, cz = ez >> WT_COUNT_SHIFT
    cdef unsigned int La = wt_entry_len(ea), Lz = wt_entry_len(ez)
    cdef uint64_t ja = i[0] & wt.block_mask, jz = j[0] & wt.block_mask
    cdef const qwt_node_t *na = NULL
    cdef const qwt_node_t *nz = NULL
    cdef uint64_t sa = 0, sz = 0
    cdef unsigned int x
    if ja == 0:
        La = 0
    if jz == 0:
        Lz = 0
    if La:
        na = qwt_root(wt, i[0])
        sa = wt.qroot_start[i[0] >> wt.block_shift]
    else:
        ja = 0
    if Lz:
        nz = qwt_root(wt, j[0])
        sz = wt.qroot_start[j[0] >> wt.block_shift]
    else:
        jz = 0
    while La or Lz:
        if La:
            x = <unsigned int>(ea & 3)
            ea >>= 2
            ja = qv_rank(&wt.quad, x, sa + ja) - na.before[x]
            La -= 1
            if La:
                if na.child[x] < 0:     # only a damaged index gets here
                    La = 0
                else:
                    sa = na.cstart[x]
                    na = wt.qnodes + na.child[x]
        if Lz:
            x = <unsigned int>(ez & 3)
            ez >>= 2
            jz = qv_rank(&wt.quad, x, sz + jz) - nz.before[x]
            Lz -= 1
            if Lz:
                if nz.child[x] < 0:
                    Lz = 0
                else:
                    sz = nz.cstart[x]
                    nz = wt.qnodes + nz.child[x]
    i[0] = ca + ja
    j[0] = cz + jz


cdef inline void qwt_rank_pair(const wt_t *wt, uint32_t c, uint64_t *i, uint64_t *j) noexcept nogil:
    """wt_rank_pair for arity 4: one joint descent when both ends are in the same block."""
    cdef uint64_t a = i[0], z = j[0]
    cdef uint64_t e, la, lz, ra, rz
    cdef unsigned int L, d, x
    cdef const qwt_node_t *nd
    if (a >> wt.block_shift) != (z >> wt.block_shift) or (z & wt.block_mask) == 0:
        _qwt_rank_two(wt, c, i, j)
        return
    e = wt_entry(wt, c, a)
    L = wt_entry_len(e)
    la = a & wt.block_mask
    lz = z & wt.block_mask
    if L == 0 or la == lz:
        i[0] = qwt_rank(wt, c, a)
        j[0] = i[0]
        return
    nd = qwt_root(wt, a)
    cdef uint64_t st = wt.qroot_start[a >> wt.block_shift]
    for d in range(L):
        x = <unsigned int>((e >> (2 * d)) & 3)
        qv_rank_pair(&wt.quad, x, st + la, st + lz, &ra, &rz)
        la = ra - nd.before[x]
        lz = rz - nd.before[x]
        if la == lz:
            break
        if d + 1 < L:
            if nd.child[x] < 0:         # only a damaged index gets here
                break
            st = nd.cstart[x]
            nd = wt.qnodes + nd.child[x]
    i[0] = (e >> WT_COUNT_SHIFT) + la
    j[0] = (e >> WT_COUNT_SHIFT) + lz


cdef inline uint64_t qwt_inverse_select(const wt_t *wt, uint64_t i, uint32_t *c) noexcept nogil:
    """wt_inverse_select for arity 4.  A padding leaf (damaged index only) reads as the
    symbol ``sigma``, which every caller clamps."""
    cdef const qwt_node_t *nd = qwt_root(wt, i)
    cdef uint64_t j = i & wt.block_mask
    cdef uint64_t st = wt.qroot_start[i >> wt.block_shift]
    cdef unsigned int x, depth = 0
    cdef int32_t ch
    while True:
        j = qv_access_rank(&wt.quad, st + j, &x) - nd.before[x]
        st = nd.cstart[x]
        ch = nd.child[x]
        depth += 1
        if ch < 0 or depth > WT_CODE_BITS:
            c[0] = <uint32_t>(-ch - 1) if ch < 0 else wt.sigma
            if c[0] >= wt.sigma:
                c[0] = wt.sigma
                return 0
            return (wt_entry(wt, c[0], i) >> WT_COUNT_SHIFT) + j
        nd = wt.qnodes + ch


cdef inline uint64_t wt_rank(const wt_t *wt, uint32_t c, uint64_t i) noexcept nogil:
    """Occurrences of symbol c in [0, i).  c < sigma, i <= n."""
    if wt.arity == 4:
        return qwt_rank(wt, c, i)
    if wt.arity == 16:
        return po_rank(&wt.pocc, c, i) if c < 256 else 0
    cdef uint64_t e = wt_entry(wt, c, i)
    cdef unsigned int L = wt_entry_len(e)
    cdef uint64_t j = i & wt.block_mask
    cdef const wt_node_t *nd
    cdef unsigned int d, b
    cdef uint64_t r1
    if L == 0 or j == 0:
        return e >> WT_COUNT_SHIFT
    nd = wt_root(wt, i)
    for d in range(L):
        b = <unsigned int>(e & 1)
        e >>= 1
        r1 = wtb_rank1(&wt.bits, nd.start + j) - nd.ones_before
        j = r1 if b else j - r1
        if d + 1 < L:
            nd = wt.nodes + nd.child[b]
    return (wt_entry(wt, c, i) >> WT_COUNT_SHIFT) + j


cdef inline void wt_rank_pair(const wt_t *wt, uint32_t c, uint64_t *i, uint64_t *j) noexcept nogil:
    """(rank_c(i), rank_c(j)) for i <= j <= n; one joint descent when in the same block."""
    cdef uint64_t a = i[0], z = j[0]
    cdef uint64_t e, la, lz, r1a, r1z
    cdef unsigned int L, d, b
    cdef const wt_node_t *nd
    if wt.arity == 4:
        qwt_rank_pair(wt, c, i, j)
        return
    if wt.arity == 16:
        if c < 256:
            po_rank_pair(&wt.pocc, c, i, j)
        else:
            i[0] = 0
            j[0] = 0
        return
    if (a >> wt.block_shift) != (z >> wt.block_shift) or (z & wt.block_mask) == 0:
        i[0] = wt_rank(wt, c, a)
        j[0] = wt_rank(wt, c, z)
        return
    e = wt_entry(wt, c, a)
    L = wt_entry_len(e)
    la = a & wt.block_mask
    lz = z & wt.block_mask
    if L == 0:
        i[0] = e >> WT_COUNT_SHIFT
        j[0] = i[0]
        return
    if la == lz:
        i[0] = wt_rank(wt, c, a)
        j[0] = i[0]
        return
    nd = wt_root(wt, a)
    for d in range(L):
        b = <unsigned int>((e >> d) & 1)
        wtb_rank1_pair(&wt.bits, nd.start + la, nd.start + lz, &r1a, &r1z)
        r1a -= nd.ones_before
        r1z -= nd.ones_before
        if b:
            la = r1a
            lz = r1z
        else:
            la = la - r1a
            lz = lz - r1z
        if la == lz:
            break
        if d + 1 < L:
            nd = wt.nodes + nd.child[b]
    i[0] = (e >> WT_COUNT_SHIFT) + la
    j[0] = (e >> WT_COUNT_SHIFT) + lz


cdef inline uint64_t wt_inverse_select(const wt_t *wt, uint64_t i, uint32_t *c) noexcept nogil:
    """Symbol at i into ``*c`` and its rank (occurrences of it in [0, i)).  i < n."""
    if wt.arity == 4:
        return qwt_inverse_select(wt, i, c)
    if wt.arity == 16:
        return po_inverse_select(&wt.pocc, i, c)
    cdef const wt_node_t *nd = wt_root(wt, i)
    cdef uint64_t j = i & wt.block_mask
    cdef unsigned int b
    cdef uint64_t r1
    cdef int32_t ch
    while True:
        r1 = wtb_access_rank1(&wt.bits, nd.start + j, &b) - nd.ones_before
        j = r1 if b else j - r1
        ch = nd.child[b]
        if ch < 0:
            c[0] = <uint32_t>(-ch - 1)
            return (wt_entry(wt, c[0], i) >> WT_COUNT_SHIFT) + j
        nd = wt.nodes + ch


cdef inline uint32_t wt_access(const wt_t *wt, uint64_t i) noexcept nogil:
    cdef uint32_t c
    wt_inverse_select(wt, i, &c)
    return c


cdef inline void wt_init(wt_t *wt, const uint64_t *lines, uint64_t n_bits, const void *nodes,
                         const uint32_t *roots, const uint64_t *table, unsigned int block_shift,
                         uint64_t n, uint32_t sigma, const uint64_t *rrr_payload=NULL,
                         uint64_t n_payload_words=0, const uint64_t *quad_supers=NULL,
                         bint rrr_raw=False, const uint64_t *quad_root_start=NULL,
                         const uint64_t *rrr_supers=NULL, unsigned int rrr_super_shift=0) noexcept nogil:
    """Point ``wt`` at validated arrays.  ``lines`` are RankBitVector lines, or RRR lines
    when ``rrr_payload`` is given (profile "small"; ``rrr_raw``: kinds rrr63r / rrr63rc;
    ``rrr_supers``: compact lines of kind rrr63rc), or QuadRankVector lines of a 4-ary
    tree when ``quad_supers`` is given (then ``n_bits`` counts digits, ``nodes`` are
    qwt_node_t and ``quad_root_start`` holds each block's root start)."""
    wt.arity = 4 if quad_supers != NULL else 2
    wt.qnodes = <const qwt_node_t *>nodes
    wt.qroot_start = quad_root_start
    wt.qahead = 0
    wt.bits.compressed = rrr_payload != NULL
    if quad_supers != NULL:
        qv_init(&wt.quad, lines, quad_supers, n_bits)
        rbv_init(&wt.bits.plain, lines, 0)      # unused; points at valid memory
    elif wt.bits.compressed:
        rrr_init(&wt.bits.rrr, lines, rrr_payload, n_payload_words, n_bits, rrr_raw,
                 rrr_supers, rrr_super_shift)
    else:
        rbv_init(&wt.bits.plain, lines, n_bits)
    wt.nodes = <const wt_node_t *>nodes
    wt.roots = roots
    wt.table = table
    wt.block_shift = block_shift
    wt.block_mask = ((<uint64_t>1) << block_shift) - 1
    wt.n = n
    wt.sigma = sigma
