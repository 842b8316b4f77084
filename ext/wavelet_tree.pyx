# cython: language_level=3
"""Build a Huffman-shaped wavelet tree (layout in wavelet_tree.pxd) and a Python face for it."""
import heapq

import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, int32_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free
from rank_bitvector cimport rbv_t, rbv_n_lines, rbv_pack, rbv_init, bv_rank1, BV_LINE_WORDS
from wavelet_tree cimport (wt_t, wt_node_t, wt_init, wt_rank, wt_inverse_select, wt_access,
                          WT_CODE_BITS, WT_COUNT_SHIFT)

cnp.import_array()

NODE_DTYPE = np.dtype([("start", "<u8"), ("ones_before", "<u8"), ("child", "<i4", (2,))])
MAX_CODE_LEN = WT_CODE_BITS
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


cdef void _fill_bits(const symbol_t *seq, uint64_t n, unsigned int shift, uint32_t sigma,
                     const uint64_t *table, const uint32_t *roots, const int32_t *children,
                     uint64_t *cursor, uint64_t *plain) noexcept nogil:
    cdef uint64_t i, e, pos
    cdef unsigned int d, L, b
    cdef int32_t node
    for i in range(n):
        e = table[(i >> shift) * sigma + seq[i]]
        L = <unsigned int>((e >> WT_CODE_BITS) & 63)
        node = <int32_t>roots[i >> shift]
        for d in range(L):
            b = <unsigned int>(e & 1)
            e >>= 1
            pos = cursor[node]
            cursor[node] = pos + 1
            if b:
                plain[pos >> 6] |= (<uint64_t>1) << (pos & 63)
            node = children[2 * node + b]


def symbol_histogram(symbol_t[::1] seq, uint32_t sigma):
    """Occurrences of each symbol < sigma (int64[sigma]); larger symbols raise ValueError.

    Unlike np.bincount this allocates nothing proportional to len(seq).
    """
    hist = np.zeros(sigma, dtype=np.int64)
    cdef int64_t[::1] h = hist
    cdef uint64_t i, n = seq.shape[0]
    cdef bint bad = False
    with nogil:
        for i in range(n):
            if seq[i] >= sigma:
                bad = True
                break
            h[seq[i]] += 1
    if bad:
        raise ValueError("symbol >= sigma")
    return hist


def _build_arrays(symbol_t[::1] seq, uint32_t sigma, unsigned int block_shift):
    cdef uint64_t n = seq.shape[0]
    cdef uint64_t B = (<uint64_t>1) << block_shift if block_shift < SINGLE_BLOCK else max(n, 1)
    cdef uint64_t n_blocks = max(1, (n + B - 1) // B)
    sigma = max(sigma, 2)
    table = np.zeros((n_blocks + 1) * sigma, dtype=np.uint64)
    roots = np.zeros(n_blocks, dtype=np.uint32)
    cum = np.zeros(sigma, dtype=np.uint64)
    all_children = []
    all_bits = []
    n_nodes = 0
    arr = np.asarray(seq)
    for b in range(n_blocks):
        freq = symbol_histogram(arr[b * B:(b + 1) * B], sigma)
        codes, code_len, children, node_bits = huffman_shape(freq)
        codes = codes[:sigma]
        code_len = code_len[:sigma]
        roots[b] = n_nodes
        ch = children.astype(np.int64)
        ch[ch >= 0] += n_nodes
        all_children.append(ch.astype(np.int32))
        all_bits.append(node_bits)
        n_nodes += children.shape[0]
        if n_nodes >= (1 << 31):
            raise ValueError("too many wavelet-tree nodes: use larger blocks")
        present = code_len > 0
        row = table[b * sigma:(b + 1) * sigma]
        row[:] = cum << np.uint64(WT_COUNT_SHIFT)
        row[present] |= (code_len[present].astype(np.uint64) << np.uint64(WT_CODE_BITS)) | codes[present]
        cum += freq[:sigma].astype(np.uint64)
    if int(cum.max(initial=0)) >= (1 << 32):
        raise ValueError("a wavelet tree holds at most 2^32 - 1 occurrences of a symbol")
    table[n_blocks * sigma:] = cum << np.uint64(WT_COUNT_SHIFT)
    children = np.concatenate(all_children)
    node_bits = np.concatenate(all_bits)
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
    with nogil:
        if n:
            _fill_bits(&seq[0], n, shift, sigma, &tv[0], &rv[0], &chv[0], &cur[0], &pl[0])
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


def build_wavelet_tree_arrays(seq, sigma=None, block_shift=SINGLE_BLOCK):
    """Arrays of a block-wise Huffman-shaped wavelet tree over ``seq`` (uint8/16/32 array).

    ``block_shift``: log2 of the block length (e.g. 16); SINGLE_BLOCK (63) = one tree.
    Returns a dict: lines (uint64), n_bits, nodes (NODE_DTYPE), roots (uint32),
    table (uint64), block_shift, n, sigma.  These arrays are what the index stores.
    """
    seq = np.ascontiguousarray(seq)
    if seq.dtype not in (np.uint8, np.uint16, np.uint32):
        raise TypeError("wavelet tree symbols must be uint8, uint16 or uint32")
    if sigma is None:
        sigma = int(seq.max()) + 1 if seq.shape[0] else 2
    if not 1 <= block_shift <= SINGLE_BLOCK:
        raise ValueError("block_shift must be in [1, 63]")
    return _build_arrays(seq, sigma, block_shift)


cdef class WaveletTree:
    """Huffman-shaped wavelet tree: access, rank, inverse_select (Python face, for tests)."""
    cdef wt_t wt
    cdef object _arrays

    def __init__(self, seq=None, sigma=None, *, block_shift=SINGLE_BLOCK, arrays=None):
        if arrays is None:
            arrays = build_wavelet_tree_arrays(np.zeros(0, np.uint8) if seq is None else seq,
                                               sigma, block_shift)
        self._arrays = arrays
        cdef const uint64_t[::1] lines = arrays["lines"]
        cdef const uint32_t[::1] roots = arrays["roots"]
        cdef const uint64_t[::1] table = arrays["table"]
        nodes = arrays["nodes"]
        if nodes.dtype != NODE_DTYPE:
            raise ValueError("nodes array has the wrong dtype")
        cdef const uint8_t[::1] node_bytes = nodes.view(np.uint8).reshape(-1)
        cdef const uint64_t[::1] payload
        if arrays.get("bits", "plain") == "rrr63":     # profile "small": RRR node bits
            payload = arrays["payload"]
            wt_init(&self.wt, &lines[0], arrays["n_bits"], &node_bytes[0], &roots[0], &table[0],
                    arrays["block_shift"], arrays["n"], arrays["sigma"], &payload[0],
                    payload.shape[0])
        else:
            wt_init(&self.wt, &lines[0], arrays["n_bits"], &node_bytes[0], &roots[0], &table[0],
                    arrays["block_shift"], arrays["n"], arrays["sigma"])

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
                + (a["payload"].nbytes if "payload" in a else 0))

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
