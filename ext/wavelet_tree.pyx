# cython: language_level=3
"""Build a Huffman-shaped wavelet tree (layout in wavelet_tree.pxd) and a Python face for it."""
import heapq
import os

import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, int32_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memset
from cython.parallel cimport prange, parallel
from rank_bitvector cimport rbv_t, rbv_n_lines, rbv_pack, rbv_init, bv_rank1, BV_LINE_WORDS
from wavelet_tree cimport (wt_t, wt_node_t, wt_init, wt_rank, wt_inverse_select, wt_access,
                          WT_CODE_BITS, WT_COUNT_SHIFT)
from quad_vector cimport qv_t, qv_init, qv_pack, qv_n_lines, qv_n_supers, qv_rank, QV_LINE_WORDS

cnp.import_array()

NODE_DTYPE = np.dtype([("start", "<u8"), ("ones_before", "<u8"), ("child", "<i4", (2,))])
QNODE_DTYPE = np.dtype([("start", "<u8"), ("before", "<u8", (4,)), ("cstart", "<u8", (4,)),
                        ("child", "<i4", (4,))])
MAX_CODE_LEN = WT_CODE_BITS
MAX_QUAD_CODE_LEN = WT_CODE_BITS // 2      # digits
SINGLE_BLOCK = 63           # block_shift meaning "one tree for the whole sequence"

ctypedef fused symbol_t:
    uint8_t
    uint16_t
    uint32_t


def huffman_shape(freq):
    """Codes and breadth-first nodes of a Huffman tree over the symbols with freq > 0.

    Returns (codes uint64[sigma], code_len uint8[sigma], children int32[n_nodes, 2],
    node_bits uint64[n_nodes]).  At least two leaves: a lone symbol gets a zero-frequency
    sibling so that every present symbol has a code of length >= 1.
    """
    freq = np.asarray(freq, dtype=np.int64)
    sigma = max(int(freq.shape[0]), 2)
    f = np.zeros(sigma, dtype=np.int64)
    f[: freq.shape[0]] = freq
    present = [int(c) for c in np.flatnonzero(f)]
    if len(present) == 0:
        present = [0, 1]
    elif len(present) == 1:
        present.append(1 if present[0] == 0 else 0)
    heap = [(int(f[c]), i, ("leaf", c)) for i, c in enumerate(present)]
    heapq.heapify(heap)
    tie = len(heap)
    while len(heap) > 1:
        fa, _, a = heapq.heappop(heap)
        fb, _, b = heapq.heappop(heap)
        heapq.heappush(heap, (fa + fb, tie, ("node", a, b, fa + fb)))
        tie += 1
    root = heap[0][2]
    if _max_depth(root) > MAX_CODE_LEN:
        # length-limit: lift the small frequencies until the tree is shallow enough
        floor = max(1, int(f.sum()) >> (MAX_CODE_LEN - 2))
        while True:
            g = f.copy()
            g[present] = np.maximum(g[present], floor)
            heap = [(int(g[c]), i, ("leaf", c)) for i, c in enumerate(present)]
            heapq.heapify(heap)
            tie = len(heap)
            while len(heap) > 1:
                fa, _, a = heapq.heappop(heap)
                fb, _, b = heapq.heappop(heap)
                heapq.heappush(heap, (fa + fb, tie, ("node", a, b, 0)))
                tie += 1
            if _max_depth(heap[0][2]) <= MAX_CODE_LEN:
                root = _resize(heap[0][2], f)
                break
            floor *= 2
    # breadth-first numbering of internal nodes
    order = [root]
    k = 0
    while k < len(order):
        nd = order[k]
        for ch in nd[1:3]:
            if ch[0] == "node":
                order.append(ch)
        k += 1
    index = {id(nd): i for i, nd in enumerate(order)}
    children = np.zeros((len(order), 2), dtype=np.int32)
    node_bits = np.zeros(len(order), dtype=np.uint64)
    for i, nd in enumerate(order):
        node_bits[i] = nd[3]
        for b in range(2):
            ch = nd[1 + b]
            children[i, b] = index[id(ch)] if ch[0] == "node" else -ch[1] - 1
    codes = np.zeros(sigma, dtype=np.uint64)
    code_len = np.zeros(sigma, dtype=np.uint8)
    stack = [(root, 0, 0)]
    while stack:
        nd, code, d = stack.pop()
        for b in range(2):
            ch = nd[1 + b]
            c2 = code | (b << d)
            if ch[0] == "node":
                stack.append((ch, c2, d + 1))
            else:
                codes[ch[1]] = c2
                code_len[ch[1]] = d + 1
    return codes, code_len, children, node_bits


def _max_depth(root):
    best = 0
    stack = [(root, 0)]
    while stack:
        nd, d = stack.pop()
        if nd[0] == "leaf":
            best = max(best, d)
        else:
            stack.append((nd[1], d + 1))
            stack.append((nd[2], d + 1))
    return best


def _resize(nd, f):
    """The same tree shape with node sizes recomputed from the true frequencies."""
    if nd[0] == "leaf":
        return nd
    a = _resize(nd[1], f)
    b = _resize(nd[2], f)
    return ("node", a, b, _size(a, f) + _size(b, f))


def _size(nd, f):
    return int(f[nd[1]]) if nd[0] == "leaf" else nd[3]


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FM_WT_ATOMIC_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
    #else
    #define FM_WT_ATOMIC_OR(p, v) (*(p) |= (v))
    #endif
    """
    void _atomic_or "FM_WT_ATOMIC_OR"(uint64_t *p, uint64_t v) noexcept nogil


cdef enum:
    _PATH_MAX_SIGMA = 4096      # larger alphabets walk the children instead of a path table


cdef inline void _put_bit(uint64_t *plain, uint64_t *cursor, int32_t node, unsigned int b,
                          uint64_t first_word, uint64_t last_word) noexcept nogil:
    """Append bit b to ``node``'s bits (at cursor[node]); a word at either end of the
    block's range may be shared with another thread's block: atomic OR there."""
    cdef uint64_t pos = cursor[node]
    cdef uint64_t w = pos >> 6
    cdef uint64_t v = (<uint64_t>b) << (pos & 63)
    cursor[node] = pos + 1
    if w == first_word or w == last_word:
        _atomic_or(&plain[w], v)
    else:
        plain[w] |= v


cdef void _fill_block(const symbol_t *seq, uint64_t i0, uint64_t i1, const uint64_t *trow,
                      uint32_t sigma, int32_t root, const int32_t *children, uint64_t *cursor,
                      uint64_t *plain, uint64_t first_word, uint64_t last_word,
                      uint32_t *path) noexcept nogil:
    """Set the node bits of one block's symbols seq[i0..i1) (tree at ``root``, table row
    ``trow``).  Blocks own disjoint bit ranges; only the words at the ends of this block's
    range [first_word, last_word] can be shared with a neighbour built by another thread,
    so those take an atomic OR.  Branch-free in the code bits.  ``path`` (sigma *
    WT_CODE_BITS entries, or NULL) receives each symbol's nodes from the root, so that the
    walk of a symbol does not wait for one children load per level."""
    cdef uint64_t i, e
    cdef unsigned int d, L, b
    cdef int32_t node
    cdef uint32_t c
    cdef const uint32_t *pp
    if path != NULL:
        for c in range(sigma):
            e = trow[c]
            L = <unsigned int>((e >> WT_CODE_BITS) & 63)
            node = root
            for d in range(L):
                path[c * WT_CODE_BITS + d] = <uint32_t>node
                b = <unsigned int>(e & 1)
                e >>= 1
                node = children[2 * node + b]
        for i in range(i0, i1):
            c = seq[i]
            e = trow[c]
            L = <unsigned int>((e >> WT_CODE_BITS) & 63)
            pp = path + c * WT_CODE_BITS
            for d in range(L):
                b = <unsigned int>(e & 1)
                e >>= 1
                _put_bit(plain, cursor, <int32_t>pp[d], b, first_word, last_word)
        return
    for i in range(i0, i1):
        e = trow[seq[i]]
        L = <unsigned int>((e >> WT_CODE_BITS) & 63)
        node = root
        for d in range(L):
            b = <unsigned int>(e & 1)
            e >>= 1
            _put_bit(plain, cursor, node, b, first_word, last_word)
            node = children[2 * node + b]


cdef void _fill_bits(const symbol_t *seq, uint64_t n, unsigned int shift, uint32_t sigma,
                     const uint64_t *table, const uint32_t *roots, const int32_t *children,
                     const uint64_t *starts, uint64_t n_nodes, uint64_t total_bits,
                     uint64_t *cursor, uint64_t *plain, int num_threads) noexcept:
    """Fill every block's node bits; blocks are independent (OpenMP over blocks)."""
    cdef uint64_t n_blocks = ((n - 1) >> shift) + 1 if shift < 63 else 1
    cdef Py_ssize_t blk
    cdef uint64_t i0, i1, lo, hi
    cdef uint32_t *path = NULL
    with nogil, parallel(num_threads=num_threads):
        # one path table per thread (small alphabets only; NULL = walk the children)
        path = <uint32_t *>malloc(<size_t>sigma * WT_CODE_BITS * sizeof(uint32_t)) \
            if sigma <= _PATH_MAX_SIGMA else NULL
        for blk in prange(<Py_ssize_t>n_blocks, schedule="dynamic", chunksize=16):
            i0 = (<uint64_t>blk) << shift if shift < 63 else 0
            i1 = i0 + ((<uint64_t>1) << shift) if shift < 63 else n
            if i1 > n:
                i1 = n
            lo = starts[roots[blk]]
            hi = starts[roots[blk + 1]] if <uint64_t>blk + 1 < n_blocks else total_bits
            if hi > lo:
                hi = hi - 1
            _fill_block(seq, i0, i1, table + (<uint64_t>blk) * sigma, sigma,
                        <int32_t>roots[blk], children, cursor, plain, lo >> 6, hi >> 6, path)
        free(path)


def symbol_histogram(symbol_t[::1] seq, uint32_t sigma):
    """Occurrences of each symbol < sigma (int64[sigma]); larger symbols raise ValueError.

    Unlike np.bincount this allocates nothing proportional to len(seq).
    """
    hist = np.zeros(sigma, dtype=np.int64)
    cdef int64_t[::1] h = hist
    cdef uint64_t i, n = seq.shape[0]
    cdef bint bad = False
    cdef int64_t c4[4][256]
    cdef unsigned int c
    if symbol_t is uint8_t:
        # bytes: four tables, so that runs of one byte (frequent in a BWT) do not chain
        # every increment to the previous one through memory
        memset(c4, 0, sizeof(c4))
        with nogil:
            i = 0
            while i + 4 <= n:
                c4[0][seq[i]] += 1
                c4[1][seq[i + 1]] += 1
                c4[2][seq[i + 2]] += 1
                c4[3][seq[i + 3]] += 1
                i += 4
            while i < n:
                c4[0][seq[i]] += 1
                i += 1
        for c in range(256):
            if c4[0][c] + c4[1][c] + c4[2][c] + c4[3][c]:
                if c >= sigma:
                    bad = True
                    break
                h[c] = c4[0][c] + c4[1][c] + c4[2][c] + c4[3][c]
    else:
        with nogil:
            for i in range(n):
                if seq[i] >= sigma:
                    bad = True
                    break
                h[seq[i]] += 1
    if bad:
        raise ValueError("symbol >= sigma")
    return hist


ctypedef struct _leaf_t:
    uint64_t freq
    uint64_t tie            # position in the list of present symbols (heap tie-breaker)
    int64_t ref             # -symbol - 1


cdef int _leaf_cmp(const void *x, const void *y) noexcept nogil:
    cdef const _leaf_t *a = <const _leaf_t *>x
    cdef const _leaf_t *b = <const _leaf_t *>y
    if a.freq != b.freq:
        return -1 if a.freq < b.freq else 1
    return -1 if a.tie < b.tie else (1 if a.tie > b.tie else 0)


cdef int _huffman_block(const uint64_t *freq, uint32_t sigma, uint64_t *trow, int32_t base,
                        int32_t *children, uint64_t *node_bits, _leaf_t *leaves,
                        int64_t *work) noexcept nogil:
    """The tree of :func:`huffman_shape` for one block, in C: same shape, codes and node
    numbering (Python's heap pops by the unique key (frequency, tie), and leaves and merged
    nodes each come out in that key's order, so two sorted queues pop the same sequence).
    Writes the nodes (numbered from ``base``) into children / node_bits and ORs code length
    and code into ``trow``.  Returns 0, or 1 if a code would exceed WT_CODE_BITS (the caller
    then uses the Python length-limiting path).  ``leaves``: sigma + 2 entries; ``work``:
    6 * (sigma + 2) entries."""
    cdef uint64_t P = 0, c, i
    for c in range(sigma):
        if freq[c]:
            leaves[P].freq = freq[c]
            leaves[P].tie = P
            leaves[P].ref = -(<int64_t>c) - 1
            P += 1
    if P == 0:
        for c in range(2):
            leaves[c].freq = 0
            leaves[c].tie = c
            leaves[c].ref = -(<int64_t>c) - 1
        P = 2
    elif P == 1:
        leaves[1].freq = 0
        leaves[1].tie = 1
        leaves[1].ref = -2 if leaves[0].ref == -1 else -1
        P = 2
    qsort(leaves, P, sizeof(_leaf_t), _leaf_cmp)
    cdef uint64_t m = P - 1                 # internal nodes, in creation order 0..m-1
    cdef int64_t *left = work               # children refs by creation order
    cdef int64_t *right = work + m
    cdef int64_t *wfreq = work + 2 * m      # (as uint64) frequency of created node k
    cdef int64_t *bfs = work + 3 * m        # creation index -> breadth-first number
    cdef int64_t *order = work + 4 * m      # breadth-first number -> creation index
    cdef int64_t *depth = work + 5 * m      # depth of bfs node; code prefix kept in trow
    cdef uint64_t li = 0, qi = 0, k, fa, fb
    cdef int64_t ra, rb
    for k in range(m):
        # pop the smaller of the two queue fronts (a leaf wins ties: its tie is smaller)
        if li < P and (qi >= k or leaves[li].freq <= <uint64_t>wfreq[qi]):
            fa = leaves[li].freq
            ra = leaves[li].ref
            li += 1
        else:
            fa = <uint64_t>wfreq[qi]
            ra = <int64_t>qi
            qi += 1
        if li < P and (qi >= k or leaves[li].freq <= <uint64_t>wfreq[qi]):
            fb = leaves[li].freq
            rb = leaves[li].ref
            li += 1
        else:
            fb = <uint64_t>wfreq[qi]
            rb = <int64_t>qi
            qi += 1
        left[k] = ra
        right[k] = rb
        wfreq[k] = <int64_t>(fa + fb)
    # breadth-first numbering from the root (created last)
    cdef uint64_t head = 0, tail = 1
    cdef int64_t nd, ch, code
    cdef unsigned int d, bit
    order[0] = <int64_t>(m - 1)
    while head < tail:
        nd = order[head]
        bfs[nd] = <int64_t>head
        head += 1
        if left[nd] >= 0:
            order[tail] = left[nd]
            tail += 1
        if right[nd] >= 0:
            order[tail] = right[nd]
            tail += 1
    # children, sizes, depths and codes (parents come before children in bfs order)
    cdef uint64_t *prefix = <uint64_t *>(wfreq)   # reused: code prefix by bfs number
    cdef uint64_t fk
    for i in range(m):
        node_bits[i] = <uint64_t>wfreq[order[i]]
    depth[0] = 0
    # prefix shares memory with wfreq: node_bits has been copied out above
    prefix[0] = 0
    for i in range(m):
        nd = order[i]
        d = <unsigned int>depth[i]
        for bit in range(2):
            ch = left[nd] if bit == 0 else right[nd]
            code = <int64_t>(prefix[i] | ((<uint64_t>bit) << d))
            if ch >= 0:
                k = <uint64_t>bfs[ch]
                children[2 * i + bit] = <int32_t>(base + k)
                depth[k] = d + 1
                prefix[k] = <uint64_t>code
            else:
                children[2 * i + bit] = <int32_t>ch
                if d + 1 > WT_CODE_BITS:
                    return 1
                c = <uint64_t>(-ch - 1)
                trow[c] |= ((<uint64_t>(d + 1)) << WT_CODE_BITS) | <uint64_t>code
    return 0


def _block_counts(symbol_t[::1] seq, uint32_t sigma, uint64_t B, uint64_t n_blocks,
                  int nthr):
    """Per-block symbol histograms (uint64 [n_blocks, sigma], parallel over blocks) and the
    table with every block's counts before it in its high 32 bits (code bits left 0)."""
    cdef uint64_t n = seq.shape[0]
    hist = np.zeros((n_blocks, sigma), dtype=np.uint64)
    cdef uint64_t[:, ::1] hv = hist
    cdef Py_ssize_t blk
    cdef uint64_t i, i0, i1
    cdef int bad = 0
    if n:
        for blk in prange(<Py_ssize_t>n_blocks, nogil=True, schedule="dynamic", num_threads=nthr):
            i0 = (<uint64_t>blk) * B
            i1 = min(n, i0 + B)
            for i in range(i0, i1):
                if seq[i] >= sigma:
                    bad += 1
                    break
                hv[blk, seq[i]] += 1
    if bad:
        raise ValueError("symbol >= sigma")
    cum = np.cumsum(hist, axis=0, dtype=np.uint64)
    if n_blocks and int(cum[-1].max(initial=0)) >= (1 << 32):
        raise ValueError("a wavelet tree holds at most 2^32 - 1 occurrences of a symbol")
    table = np.zeros((n_blocks + 1) * sigma, dtype=np.uint64)
    table[sigma:] = cum.reshape(-1) << np.uint64(WT_COUNT_SHIFT)
    return hist, table


def _block_roots(n_internal):
    """Node numbering of block-wise trees: (root node of each block (uint32), node count)
    from each block's number of internal nodes; nodes of a block are consecutive."""
    roots64 = np.zeros(n_internal.shape[0], dtype=np.int64)
    if n_internal.shape[0] > 1:
        roots64[1:] = np.cumsum(n_internal[:-1])
    n_nodes = int(n_internal.sum())
    if n_nodes >= (1 << 31):
        raise ValueError("too many wavelet-tree nodes: use larger blocks")
    return roots64.astype(np.uint32), n_nodes


def _build_arrays(symbol_t[::1] seq, uint32_t sigma, unsigned int block_shift, int num_threads):
    cdef uint64_t n = seq.shape[0]
    cdef uint64_t B = (<uint64_t>1) << block_shift if block_shift < SINGLE_BLOCK else max(n, 1)
    cdef uint64_t n_blocks = max(1, (n + B - 1) // B)
    sigma = max(sigma, 2)
    cdef uint32_t sg = sigma
    cdef int nthr = num_threads
    cdef Py_ssize_t blk
    # 1. per-block histograms and counts before each block; 2. node numbering (a block
    #    with P present symbols has max(P, 2) - 1 internal nodes)
    hist, table = _block_counts(seq, sigma, B, n_blocks, nthr)
    cdef uint64_t[:, ::1] hv = hist
    n_internal = np.maximum(np.count_nonzero(hist, axis=1), 2) - 1
    roots, n_nodes = _block_roots(n_internal)
    del n_internal
    children = np.zeros((n_nodes, 2), dtype=np.int32)
    node_bits = np.zeros(n_nodes, dtype=np.uint64)
    fallback = np.zeros(n_blocks, dtype=np.uint8)
    # 3. one Huffman tree per block (parallel; Python only for length-limited trees)
    cdef uint64_t[::1] tbl = table
    cdef const uint32_t[::1] rtv = roots
    cdef int32_t[:, ::1] chw = children
    cdef uint64_t[::1] nbw = node_bits
    cdef uint8_t[::1] fbw = fallback
    cdef _leaf_t *leaves = NULL
    cdef int64_t *work = NULL
    with nogil, parallel(num_threads=nthr):
        leaves = <_leaf_t *>malloc((<size_t>sg + 2) * sizeof(_leaf_t))
        work = <int64_t *>malloc(6 * (<size_t>sg + 2) * sizeof(int64_t))
        for blk in prange(<Py_ssize_t>n_blocks, schedule="dynamic", chunksize=8):
            if leaves == NULL or work == NULL:
                fbw[blk] = 2
            elif _huffman_block(&hv[blk, 0], sg, &tbl[(<uint64_t>blk) * sg],
                                <int32_t>rtv[blk], &chw[rtv[blk], 0], &nbw[rtv[blk]],
                                leaves, work):
                fbw[blk] = 1
        free(leaves)
        free(work)
    if (fallback == 2).any():
        raise MemoryError("wavelet tree: out of memory")
    for b in np.flatnonzero(fallback):
        b = int(b)
        codes, code_len, ch, nbits = huffman_shape(hist[b])
        base = int(roots[b])
        ch = ch.astype(np.int64)
        ch[ch >= 0] += base
        children[base:base + ch.shape[0]] = ch
        node_bits[base:base + ch.shape[0]] = nbits
        row = table[b * sigma:(b + 1) * sigma]
        present = code_len[:sigma] > 0
        row[present] |= ((code_len[:sigma][present].astype(np.uint64) << np.uint64(WT_CODE_BITS))
                         | codes[:sigma][present])
    del hist, fallback
    starts = np.zeros(n_nodes, dtype=np.uint64)
    if n_nodes > 1:
        starts[1:] = np.cumsum(node_bits[:-1], dtype=np.uint64)
    cdef uint64_t total_bits = int(node_bits.sum())
    plain = np.zeros(total_bits // 64 + 2, dtype=np.uint64)
    cursor = starts.copy()
    cdef uint64_t[::1] cur = cursor
    cdef uint64_t[::1] pl = plain
    cdef const uint64_t[::1] tv = table
    cdef const uint32_t[::1] rv = roots
    ch_flat = np.ascontiguousarray(children.reshape(-1))
    cdef const int32_t[::1] chv = ch_flat
    cdef unsigned int shift = block_shift if block_shift < SINGLE_BLOCK else 63
    cdef const uint64_t[::1] stv = starts
    cdef uint64_t nn = n_nodes
    if n:
        _fill_bits(&seq[0], n, shift, sigma, &tv[0], &rv[0], &chv[0], &stv[0], nn,
                   total_bits, &cur[0], &pl[0], nthr)
    lines = np.zeros(rbv_n_lines(total_bits) * BV_LINE_WORDS, dtype=np.uint64)
    cdef uint64_t[::1] lv = lines
    with nogil:
        rbv_pack(&pl[0], total_bits, &lv[0])
    del plain
    nodes = np.zeros(n_nodes, dtype=NODE_DTYPE)
    nodes["start"] = starts
    nodes["child"] = children
    cdef rbv_t rb
    rbv_init(&rb, &lv[0], total_bits)
    ones = np.empty(n_nodes, dtype=np.uint64)
    cdef uint64_t[::1] ov = ones
    cdef const uint64_t[::1] sv = starts
    cdef Py_ssize_t k
    for k in range(n_nodes):
        ov[k] = bv_rank1(&rb, sv[k])
    nodes["ones_before"] = ones
    return {"lines": lines, "n_bits": total_bits, "nodes": nodes, "roots": roots,
            "table": table, "block_shift": int(shift), "n": n, "sigma": int(sigma)}


# ------------------------------------------------------------------ 4-ary trees (arity 4)

def _quad_leaves(int64_t present):
    """Leaves of a 4-ary Huffman tree over ``present`` symbols, padding included: every
    node gets four children, so (leaves - 1) is a multiple of 3, and there are >= 4."""
    if present <= 4:
        return 4
    return present + (3 - (present - 1) % 3) % 3


def huffman4_shape(freq, max_len=MAX_QUAD_CODE_LEN):
    """Codes and breadth-first nodes of a 4-ary Huffman tree over the symbols with freq > 0.

    Padding leaves of frequency 0 give every node four children.  Codes are sequences of
    2-bit digits (LSB digit = root branch), length-limited to ``max_len`` digits by lifting
    small frequencies (node sizes still count the true frequencies).
    Returns (codes uint64[sigma], code_len uint8[sigma] in digits, children int32[n, 4],
    node_size uint64[n]); a child is a node index (>= 0), a leaf -c-1, or padding -sigma-1.
    """
    freq = np.asarray(freq, dtype=np.int64)
    sigma = max(int(freq.shape[0]), 2)
    f = np.zeros(sigma, dtype=np.int64)
    f[: freq.shape[0]] = freq
    present = [int(c) for c in np.flatnonzero(f)]
    pad = -sigma - 1
    n_pad = _quad_leaves(len(present)) - len(present)
    floor = 0
    while True:
        g = f.copy()
        if floor:
            g[present] = np.maximum(g[present], floor)
        heap = [(0, k, ("leaf", pad)) for k in range(n_pad)]
        heap += [(int(g[c]), n_pad + i, ("leaf", -c - 1)) for i, c in enumerate(present)]
        heapq.heapify(heap)
        tie = len(heap)
        while len(heap) > 1:
            kids = [heapq.heappop(heap) for _ in range(4)]
            heapq.heappush(heap, (sum(k[0] for k in kids), tie, ("node", [k[2] for k in kids])))
            tie += 1
        root = heap[0][2]
        if _quad_depth(root) <= max_len:
            break
        floor = max(1, int(f.sum()) >> (2 * max_len - 2)) if not floor else floor * 2
    order = [root]
    k = 0
    while k < len(order):
        for ch in order[k][1]:
            if ch[0] == "node":
                order.append(ch)
        k += 1
    index = {id(nd): i for i, nd in enumerate(order)}
    children = np.zeros((len(order), 4), dtype=np.int32)
    for i, nd in enumerate(order):
        for t, ch in enumerate(nd[1]):
            children[i, t] = index[id(ch)] if ch[0] == "node" else ch[1]
    size = np.zeros(len(order), dtype=np.uint64)
    for i in range(len(order) - 1, -1, -1):
        s = 0
        for t in range(4):
            ch = int(children[i, t])
            s += int(size[ch]) if ch >= 0 else (0 if ch == pad else int(f[-ch - 1]))
        size[i] = s
    codes = np.zeros(sigma, dtype=np.uint64)
    code_len = np.zeros(sigma, dtype=np.uint8)
    stack = [(0, 0, 0)]
    while stack:
        i, code, d = stack.pop()
        for t in range(4):
            ch = int(children[i, t])
            c2 = code | (t << (2 * d))
            if ch >= 0:
                stack.append((ch, c2, d + 1))
            elif ch != pad:
                codes[-ch - 1] = c2
                code_len[-ch - 1] = d + 1
    return codes, code_len, children, size


def _quad_depth(root):
    best = 0
    stack = [(root, 0)]
    while stack:
        nd, d = stack.pop()
        if nd[0] == "leaf":
            best = max(best, d)
        else:
            for ch in nd[1]:
                stack.append((ch, d + 1))
    return best


cdef int _huffman4_block(const uint64_t *freq, uint32_t sigma, uint64_t *trow, int32_t base,
                         int32_t *children, uint64_t *node_size, _leaf_t *leaves,
                         int64_t *work, unsigned int max_len) noexcept nogil:
    """One block's 4-ary Huffman tree (two sorted queues: leaves, then merged nodes in
    creation order).  Writes nodes numbered breadth-first from ``base`` (4 children each)
    and ORs code length (digits) and code into ``trow``.  Returns 1 if a code would be
    longer than ``max_len`` (<= WT_CODE_BITS / 2) digits (the caller then uses
    huffman4_shape, which limits the length).
    ``leaves``: sigma + 4 entries; ``work``: 10 * (sigma + 4) entries."""
    cdef uint64_t P = 0, c, i, npad, NL
    cdef int64_t pad = -(<int64_t>sigma) - 1
    for c in range(sigma):
        if freq[c]:
            P += 1
    NL = 4 if P <= 4 else P + (3 - (P - 1) % 3) % 3
    npad = NL - P
    for i in range(npad):
        leaves[i].freq = 0
        leaves[i].tie = i
        leaves[i].ref = pad
    i = npad
    for c in range(sigma):
        if freq[c]:
            leaves[i].freq = freq[c]
            leaves[i].tie = i
            leaves[i].ref = -(<int64_t>c) - 1
            i += 1
    qsort(leaves + npad, P, sizeof(_leaf_t), _leaf_cmp)
    cdef uint64_t m = (NL - 1) // 3             # internal nodes, in creation order
    cdef int64_t *kids = work                   # 4 per created node
    cdef int64_t *wfreq = work + 4 * m
    cdef int64_t *bfs = work + 5 * m
    cdef int64_t *order = work + 6 * m
    cdef int64_t *depth = work + 7 * m
    cdef int64_t *prefix = work + 8 * m
    cdef uint64_t li = 0, qi = 0, k, fsum
    cdef unsigned int t, d
    for k in range(m):
        fsum = 0
        for t in range(4):
            if li < NL and (qi >= k or leaves[li].freq <= <uint64_t>wfreq[qi]):
                fsum += leaves[li].freq
                kids[4 * k + t] = leaves[li].ref
                li += 1
            else:
                fsum += <uint64_t>wfreq[qi]
                kids[4 * k + t] = <int64_t>qi
                qi += 1
        wfreq[k] = <int64_t>fsum
    cdef uint64_t head = 0, tail = 1
    cdef int64_t nd, ch, code
    order[0] = <int64_t>(m - 1)
    while head < tail:
        nd = order[head]
        bfs[nd] = <int64_t>head
        head += 1
        for t in range(4):
            if kids[4 * nd + t] >= 0:
                order[tail] = kids[4 * nd + t]
                tail += 1
    depth[0] = 0
    prefix[0] = 0
    for i in range(m):
        nd = order[i]
        node_size[i] = <uint64_t>wfreq[nd]
        d = <unsigned int>depth[i]
        for t in range(4):
            ch = kids[4 * nd + t]
            code = prefix[i] | ((<int64_t>t) << (2 * d))
            if ch >= 0:
                k = <uint64_t>bfs[ch]
                children[4 * i + t] = <int32_t>(base + <int64_t>k)
                depth[k] = d + 1
                prefix[k] = code
            else:
                children[4 * i + t] = <int32_t>ch
                if ch == pad:
                    continue
                if d + 1 > max_len:
                    return 1
                c = <uint64_t>(-ch - 1)
                trow[c] |= ((<uint64_t>(d + 1)) << WT_CODE_BITS) | <uint64_t>code
    return 0


cdef inline void _put_digit(uint64_t *plain, uint64_t *cursor, int32_t node, unsigned int x,
                            uint64_t first_word, uint64_t last_word) noexcept nogil:
    """Append digit x to ``node``'s digits (atomic OR on words shared with a neighbour)."""
    cdef uint64_t pos = cursor[node]
    cdef uint64_t w = pos >> 5
    cdef uint64_t v = (<uint64_t>x) << (2 * (pos & 31))
    cursor[node] = pos + 1
    if w == first_word or w == last_word:
        _atomic_or(&plain[w], v)
    else:
        plain[w] |= v


cdef void _fill_block4(const symbol_t *seq, uint64_t i0, uint64_t i1, const uint64_t *trow,
                       uint32_t sigma, int32_t root, const int32_t *children, uint64_t *cursor,
                       uint64_t *plain, uint64_t first_word, uint64_t last_word,
                       uint32_t *path) noexcept nogil:
    """Digits of one block's symbols seq[i0..i1) (as _fill_block, 4-ary; ``path``: sigma *
    WT_CODE_BITS / 2 node indexes per symbol)."""
    cdef uint64_t i, e
    cdef unsigned int d, L
    cdef int32_t node
    cdef uint32_t c
    cdef const uint32_t *pp
    cdef unsigned int W = WT_CODE_BITS // 2
    for c in range(sigma):
        e = trow[c]
        L = <unsigned int>((e >> WT_CODE_BITS) & 63)
        node = root
        for d in range(L):
            path[c * W + d] = <uint32_t>node
            node = children[4 * node + <unsigned int>(e & 3)]
            e >>= 2
    for i in range(i0, i1):
        c = seq[i]
        e = trow[c]
        L = <unsigned int>((e >> WT_CODE_BITS) & 63)
        pp = path + c * W
        for d in range(L):
            _put_digit(plain, cursor, <int32_t>pp[d], <unsigned int>(e & 3), first_word, last_word)
            e >>= 2


def _build_quad_arrays(symbol_t[::1] seq, uint32_t sigma, unsigned int block_shift, int num_threads,
                       unsigned int max_len):
    """The arrays of a block-wise 4-ary Huffman wavelet tree (see build_wavelet_tree_arrays)."""
    cdef uint64_t n = seq.shape[0]
    if block_shift >= SINGLE_BLOCK or sigma > _PATH_MAX_SIGMA:
        raise ValueError("4-ary wavelet trees are built over blocks of a small alphabet")
    cdef uint64_t B = (<uint64_t>1) << block_shift
    cdef uint64_t n_blocks = max(1, (n + B - 1) // B)
    sigma = max(sigma, 2)
    cdef uint32_t sg = sigma
    cdef int nthr = num_threads
    cdef Py_ssize_t blk
    cdef uint64_t i0, i1
    hist, table = _block_counts(seq, sigma, B, n_blocks, nthr)
    cdef uint64_t[:, ::1] hv = hist
    present = np.count_nonzero(hist, axis=1).astype(np.int64)
    leaves = np.where(present <= 4, 4, present + (3 - (present - 1) % 3) % 3)
    n_internal = (leaves - 1) // 3
    roots, n_nodes = _block_roots(n_internal)
    del n_internal, present, leaves
    children = np.zeros((n_nodes, 4), dtype=np.int32)
    node_size = np.zeros(n_nodes, dtype=np.uint64)
    fallback = np.zeros(n_blocks, dtype=np.uint8)
    cdef uint64_t[::1] tbl = table
    cdef const uint32_t[::1] rtv = roots
    cdef int32_t[:, ::1] chw = children
    cdef uint64_t[::1] nsw = node_size
    cdef uint8_t[::1] fbw = fallback
    cdef _leaf_t *lv = NULL
    cdef int64_t *work = NULL
    with nogil, parallel(num_threads=nthr):
        lv = <_leaf_t *>malloc((<size_t>sg + 4) * sizeof(_leaf_t))
        work = <int64_t *>malloc(10 * (<size_t>sg + 4) * sizeof(int64_t))
        for blk in prange(<Py_ssize_t>n_blocks, schedule="dynamic", chunksize=8):
            if lv == NULL or work == NULL:
                fbw[blk] = 2
            elif _huffman4_block(&hv[blk, 0], sg, &tbl[(<uint64_t>blk) * sg],
                                 <int32_t>rtv[blk], &chw[rtv[blk], 0], &nsw[rtv[blk]], lv, work,
                                 max_len):
                fbw[blk] = 1
        free(lv)
        free(work)
    if (fallback == 2).any():
        raise MemoryError("wavelet tree: out of memory")
    for b in np.flatnonzero(fallback):
        b = int(b)
        base = int(roots[b])
        row = table[b * sigma:(b + 1) * sigma]
        row &= np.uint64(0xFFFFFFFF00000000)
        codes, code_len, ch, size = huffman4_shape(hist[b], max_len)
        ch = ch.astype(np.int64)
        ch[ch >= 0] += base
        children[base:base + ch.shape[0]] = ch
        node_size[base:base + ch.shape[0]] = size
        present = code_len[:sigma] > 0
        row[present] |= ((code_len[:sigma][present].astype(np.uint64) << np.uint64(WT_CODE_BITS))
                         | codes[:sigma][present])
    del hist, fallback
    starts = np.zeros(n_nodes, dtype=np.uint64)
    if n_nodes > 1:
        starts[1:] = np.cumsum(node_size[:-1], dtype=np.uint64)
    cdef uint64_t total = int(node_size.sum())
    plain = np.zeros(total // 32 + 2, dtype=np.uint64)
    cursor = starts.copy()
    cdef uint64_t[::1] cur = cursor
    cdef uint64_t[::1] pl = plain
    cdef const uint64_t[::1] tv = table
    ch_flat = np.ascontiguousarray(children.reshape(-1))
    cdef const int32_t[::1] chv = ch_flat
    cdef const uint64_t[::1] stv = starts
    cdef uint32_t *path = NULL
    cdef uint64_t lo, hi
    if n:
        with nogil, parallel(num_threads=nthr):
            path = <uint32_t *>malloc(<size_t>sg * (WT_CODE_BITS // 2) * sizeof(uint32_t))
            for blk in prange(<Py_ssize_t>n_blocks, schedule="dynamic", chunksize=16):
                if path == NULL:
                    continue
                i0 = (<uint64_t>blk) << block_shift
                i1 = i0 + B
                if i1 > n:
                    i1 = n
                lo = stv[rtv[blk]]
                hi = stv[rtv[blk + 1]] if <uint64_t>blk + 1 < n_blocks else total
                if hi > lo:
                    hi = hi - 1
                _fill_block4(&seq[0], i0, i1, &tv[(<uint64_t>blk) * sg], sg, <int32_t>rtv[blk],
                             &chv[0], &cur[0], &pl[0], lo >> 5, hi >> 5, path)
            free(path)
        if not np.array_equal(cursor[:-1], starts[1:]) or (n_nodes and int(cursor[-1]) != total):
            raise MemoryError("wavelet tree: out of memory")
    lines = np.zeros(qv_n_lines(total) * QV_LINE_WORDS, dtype=np.uint64)
    supers = np.zeros(qv_n_supers(total) * 4, dtype=np.uint64)
    cdef uint64_t[::1] lw = lines
    cdef uint64_t[::1] sw = supers
    with nogil:
        qv_pack(&pl[0], total, &lw[0], &sw[0])
    del plain, cursor
    nodes = np.zeros(n_nodes, dtype=QNODE_DTYPE)
    nodes["start"] = starts
    nodes["child"] = children
    if n_nodes:
        nodes["cstart"] = np.where(children >= 0, starts[np.maximum(children, 0)], 0)
    cdef qv_t qv
    qv_init(&qv, &lw[0], &sw[0], total)
    before = np.empty((n_nodes, 4), dtype=np.uint64)
    cdef uint64_t[:, ::1] bv = before
    cdef Py_ssize_t k, nn = n_nodes
    cdef unsigned int x
    with nogil:
        for k in range(nn):
            for x in range(4):
                bv[k, x] = qv_rank(&qv, x, stv[k])
    nodes["before"] = before
    return {"lines": lines, "supers": supers, "n_bits": total, "nodes": nodes, "roots": roots,
            "table": table, "block_shift": int(block_shift), "n": n, "sigma": int(sigma),
            "arity": 4}


def usable_threads(num_threads):
    """``num_threads`` if >= 1, else the CPUs this process may run on (also used by the
    BWT builder)."""
    if num_threads is not None and num_threads >= 1:
        return int(num_threads)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def build_wavelet_tree_arrays(seq, sigma=None, block_shift=SINGLE_BLOCK, num_threads=None,
                              arity=2, max_code_len=None):
    """Arrays of a block-wise Huffman-shaped wavelet tree over ``seq`` (uint8/16/32 array).

    ``block_shift``: log2 of the block length (e.g. 16); SINGLE_BLOCK (63) = one tree.
    ``num_threads``: threads filling the blocks' bits (default: all CPUs); the result does
    not depend on it.  ``arity``: 2 (binary trees over RankBitVector lines) or 4 (4-ary
    trees over QuadRankVector lines; blocks only, alphabets up to 4096).
    Returns a dict: lines (uint64), n_bits (digits when arity 4), nodes (NODE_DTYPE, or
    QNODE_DTYPE), roots (uint32), table (uint64), block_shift, n, sigma, arity, and for
    arity 4 supers (uint64).  These arrays are what the index stores.
    ``max_code_len`` (arity 4, for tests): a shorter code-length limit in digits.
    """
    seq = np.ascontiguousarray(seq)
    if seq.dtype not in (np.uint8, np.uint16, np.uint32):
        raise TypeError("wavelet tree symbols must be uint8, uint16 or uint32")
    if sigma is None:
        sigma = int(seq.max()) + 1 if seq.shape[0] else 2
    if not 1 <= block_shift <= SINGLE_BLOCK:
        raise ValueError("block_shift must be in [1, 63]")
    if arity == 4:
        lim = MAX_QUAD_CODE_LEN if max_code_len is None else int(max_code_len)
        if not 1 <= lim <= MAX_QUAD_CODE_LEN:
            raise ValueError(f"max_code_len must be in [1, {MAX_QUAD_CODE_LEN}]")
        return _build_quad_arrays(seq, sigma, block_shift, usable_threads(num_threads), lim)
    if arity != 2:
        raise ValueError("arity must be 2 or 4")
    out = _build_arrays(seq, sigma, block_shift, usable_threads(num_threads))
    out["arity"] = 2
    return out


cdef class WaveletTree:
    """Huffman-shaped wavelet tree: access, rank, inverse_select (Python face, for tests)."""
    cdef wt_t wt
    cdef object _arrays
    cdef object _root_start     # 4-ary trees: each block's root start (derived)

    def __init__(self, seq=None, sigma=None, *, block_shift=SINGLE_BLOCK, arrays=None, arity=2):
        if arrays is None:
            arrays = build_wavelet_tree_arrays(np.zeros(0, np.uint8) if seq is None else seq,
                                               sigma, block_shift, arity=arity)
        self._arrays = arrays
        cdef const uint64_t[::1] lines = arrays["lines"]
        cdef const uint32_t[::1] roots = arrays["roots"]
        cdef const uint64_t[::1] table = arrays["table"]
        nodes = arrays["nodes"]
        quad = arrays.get("arity", 2) == 4
        if nodes.dtype != (QNODE_DTYPE if quad else NODE_DTYPE):
            raise ValueError("nodes array has the wrong dtype")
        cdef const uint8_t[::1] node_bytes = nodes.view(np.uint8).reshape(-1)
        cdef const uint64_t[::1] payload
        cdef const uint64_t[::1] supers
        cdef const uint64_t *quad_supers = NULL
        cdef const uint64_t[::1] root_start
        cdef const uint64_t *quad_root_start = NULL
        if quad:
            supers = arrays["supers"]
            quad_supers = &supers[0]
            self._root_start = np.ascontiguousarray(nodes["start"][arrays["roots"]])
            root_start = self._root_start
            quad_root_start = &root_start[0]
        cdef const uint64_t *rrr_payload = NULL     # plain RankBitVector lines unless set
        cdef const uint64_t[::1] rrr_supers
        cdef const uint64_t *rrr_supers_ptr = NULL  # 60-block RRR lines unless set
        cdef unsigned int rrr_super_shift = 0
        bits_kind = arrays.get("bits", "plain")
        if bits_kind in ("rrr63", "rrr63r", "rrr63rc"):     # profile "small": RRR node bits
            payload = arrays["payload"]
            rrr_payload = &payload[0]
        if bits_kind == "rrr63rc":                  # compact lines + superblocks
            rrr_supers = arrays["rrr_supers"]
            rrr_supers_ptr = &rrr_supers[0]
            rrr_super_shift = arrays["rrr_super_shift"]
        wt_init(&self.wt, &lines[0], arrays["n_bits"], &node_bytes[0], &roots[0], &table[0],
                arrays["block_shift"], arrays["n"], arrays["sigma"], rrr_payload,
                payload.shape[0] if rrr_payload != NULL else 0, quad_supers,
                bits_kind in ("rrr63r", "rrr63rc"), quad_root_start, rrr_supers_ptr,
                rrr_super_shift)

    @property
    def arrays(self):
        return self._arrays

    def __len__(self):
        return self.wt.n

    @property
    def sigma(self):
        return self.wt.sigma

    def size_in_bytes(self):
        a = self._arrays
        return (a["lines"].nbytes + a["nodes"].nbytes + a["roots"].nbytes + a["table"].nbytes
                + (a["payload"].nbytes if "payload" in a else 0)
                + (a["rrr_supers"].nbytes if "rrr_supers" in a else 0)
                + (a["supers"].nbytes if "supers" in a else 0))

    def rank(self, uint32_t c, uint64_t i):
        """Occurrences of c in [0, i)."""
        if i > self.wt.n:
            raise IndexError("rank position out of range")
        if c >= self.wt.sigma:
            return 0
        return wt_rank(&self.wt, c, i)

    def __getitem__(self, int64_t i):
        if i < 0:
            i += self.wt.n
        if i < 0 or <uint64_t>i >= self.wt.n:
            raise IndexError("index out of range")
        return wt_access(&self.wt, i)

    def inverse_select(self, uint64_t i):
        """(symbol at i, its rank in [0, i))."""
        if i >= self.wt.n:
            raise IndexError("index out of range")
        cdef uint32_t c
        cdef uint64_t r = wt_inverse_select(&self.wt, i, &c)
        return c, r
