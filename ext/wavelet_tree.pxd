# cython: language_level=3
"""HuffmanWaveletTree: a Huffman-shaped wavelet tree over a RankBitVector.

Grossi, Gupta & Vitter, "High-order entropy-compressed text indexes", SODA 2003;
Huffman shape: Mäkinen & Navarro, "Succinct suffix arrays based on run-length
encoding", CPM 2005.

All node bitvectors are concatenated (nodes in breadth-first order) into one
RankBitVector, so the whole tree is one array of lines.  A node is
(start bit, ones before start, child[0], child[1]); a child < 0 is a leaf for
symbol -child-1.  Symbol codes are stored LSB-first (bit d = branch at depth d).
Space: n * (H0 + 1) * 8/7 bits at most.  rank/access: one cache line per level,
Huffman-average H0 + 1 levels.
The layer above (fm_shard) only uses wt_rank, wt_rank_pair and wt_inverse_select,
so another sequence structure can replace this one behind the same calls.
"""
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t, uint8_t
from rank_bitvector cimport rbv_t, rbv_init, bv_rank1, bv_access_rank1

ctypedef struct wt_node_t:
    uint64_t start        # first bit of the node in the concatenated bitvector
    uint64_t ones_before  # rank1(start)
    int32_t child[2]      # >= 0: node index; < 0: leaf of symbol -child-1

ctypedef struct wt_t:
    rbv_t bits              # all node bitvectors, concatenated
    const wt_node_t *nodes  # (n_nodes,) breadth-first, root = 0
    const uint64_t *codes   # (sigma,) code of each symbol, LSB = root branch
    const uint8_t *code_len # (sigma,) code length; 0 = symbol absent
    uint64_t n              # sequence length
    uint32_t sigma          # alphabet bound (symbols are < sigma)


cdef inline uint64_t wt_rank(const wt_t *wt, uint32_t c, uint64_t i) noexcept nogil:
    """Occurrences of symbol c in [0, i).  c < sigma, i <= n."""
    cdef unsigned int L = wt.code_len[c]
    cdef uint64_t code = wt.codes[c]
    cdef const wt_node_t *nd = wt.nodes
    cdef unsigned int d, b
    cdef uint64_t r1
    if L == 0:
        return 0
    for d in range(L):
        b = <unsigned int>(code & 1)
        code >>= 1
        r1 = bv_rank1(&wt.bits, nd.start + i) - nd.ones_before
        i = r1 if b else i - r1
        if d + 1 < L:
            nd = wt.nodes + nd.child[b]
    return i


cdef inline void wt_rank_pair(const wt_t *wt, uint32_t c, uint64_t *i, uint64_t *j) noexcept nogil:
    """(rank_c(i), rank_c(j)) in one descent; i <= j <= n.  Stops early when equal."""
    cdef unsigned int L = wt.code_len[c]
    cdef uint64_t code = wt.codes[c]
    cdef const wt_node_t *nd = wt.nodes
    cdef unsigned int d, b
    cdef uint64_t a = i[0], e = j[0], ra, re
    if L == 0:
        i[0] = 0
        j[0] = 0
        return
    for d in range(L):
        b = <unsigned int>(code & 1)
        code >>= 1
        ra = bv_rank1(&wt.bits, nd.start + a) - nd.ones_before
        re = bv_rank1(&wt.bits, nd.start + e) - nd.ones_before
        if b:
            a = ra
            e = re
        else:
            a = a - ra
            e = e - re
        if a == e:
            # empty range: the remaining levels cannot make it non-empty,
            # but the caller needs the true rank only for non-empty ranges.
            i[0] = a
            j[0] = e
            return
        if d + 1 < L:
            nd = wt.nodes + nd.child[b]
    i[0] = a
    j[0] = e


cdef inline uint64_t wt_inverse_select(const wt_t *wt, uint64_t i, uint32_t *c) noexcept nogil:
    """Symbol at i into ``*c`` and its rank (occurrences of it in [0, i)).  i < n."""
    cdef const wt_node_t *nd = wt.nodes
    cdef unsigned int b
    cdef uint64_t r1
    cdef int32_t ch
    while True:
        r1 = bv_access_rank1(&wt.bits, nd.start + i, &b) - nd.ones_before
        i = r1 if b else i - r1
        ch = nd.child[b]
        if ch < 0:
            c[0] = <uint32_t>(-ch - 1)
            return i
        nd = wt.nodes + ch


cdef inline uint32_t wt_access(const wt_t *wt, uint64_t i) noexcept nogil:
    cdef uint32_t c
    wt_inverse_select(wt, i, &c)
    return c


cdef inline void wt_init(wt_t *wt, const uint64_t *lines, uint64_t n_bits,
                         const void *nodes, const uint64_t *codes, const uint8_t *code_len,
                         uint64_t n, uint32_t sigma) noexcept nogil:
    rbv_init(&wt.bits, lines, n_bits)
    wt.nodes = <const wt_node_t *>nodes
    wt.codes = codes
    wt.code_len = code_len
    wt.n = n
    wt.sigma = sigma
