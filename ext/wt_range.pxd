# cython: language_level=3
"""Wavelet-tree range kernels: distinct symbols of a range (with counts), range steps.

range-distinct (Gagie, Navarro & Puglisi, "New algorithms on wavelet trees and
applications to information retrieval", TCS 2012): descend the tree from the root
carrying the node-local range [s, e) of the query; a node's range splits into its
zero child (s - rank1(s), e - rank1(e)) and its one child (rank1(s), rank1(e));
empty ranges are pruned, and each leaf reached is one distinct symbol with count
e - s.  Cost: O(d * depth) rank operations for d distinct symbols, independent of
the range length (a range of millions of rows with 10 distinct symbols costs ~10
root-to-leaf paths, shared near the root).

On the BWT of a token shard whose documents are reversed, the SA range of
reverse(ctx) holds in its BWT symbols exactly the tokens that follow ctx in the
original documents, so this is the exact next-token distribution.

Only single-block trees (block_shift 63, as token shards use) are supported here.
All kernels are ``noexcept nogil`` and allocate nothing.
"""
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t
from bits cimport fm_prefetch
from rank_bitvector cimport bv_rank1, BV_LINE_BITS, BV_LINE_WORDS
from wavelet_tree cimport wt_t, wt_node_t, WT_CODE_BITS

cdef enum:
    WT_RANGE_STACK = 128     # > 2 * (longest code + 1): DFS with both children pushed


ctypedef struct wt_range_frame_t:
    int32_t node
    uint64_t s
    uint64_t e


cdef inline void _wr_prefetch(const wt_t *wt, uint64_t bit) noexcept nogil:
    fm_prefetch(wt.bits.lines + (bit // BV_LINE_BITS) * BV_LINE_WORDS)


cdef inline int64_t wt_range_distinct(const wt_t *wt, uint64_t s, uint64_t e,
                                      uint32_t *syms, uint64_t *counts,
                                      uint64_t cap) noexcept nogil:
    """Distinct symbols of positions [s, e) with their counts, in tree (not symbol) order.

    Writes at most ``cap`` (symbol, count) pairs and returns the number of distinct
    symbols, or -1 when there are more than ``cap`` (the caller grows its buffers).
    Single-block trees only (the root is ``roots[0]``).  0 <= s <= e <= n.
    """
    cdef wt_range_frame_t stack[WT_RANGE_STACK]
    cdef int top = 0
    cdef uint64_t found = 0, r1s, r1e, cs, ce
    cdef const wt_node_t *nd
    cdef int32_t ch
    cdef unsigned int b
    if s >= e:
        return 0
    stack[0].node = <int32_t>wt.roots[0]
    stack[0].s = s
    stack[0].e = e
    top = 1
    while top > 0:
        top -= 1
        nd = wt.nodes + stack[top].node
        s = stack[top].s
        e = stack[top].e
        r1s = bv_rank1(&wt.bits, nd.start + s) - nd.ones_before
        r1e = bv_rank1(&wt.bits, nd.start + e) - nd.ones_before
        # one child first (pushed first = visited last), then zero child
        for b in range(2):
            if b == 0:
                cs = r1s
                ce = r1e
                ch = nd.child[1]
            else:
                cs = s - r1s
                ce = e - r1e
                ch = nd.child[0]
            if cs >= ce:
                continue
            if ch < 0:
                if found >= cap:
                    return -1
                syms[found] = <uint32_t>(-ch - 1)
                counts[found] = ce - cs
                found += 1
            else:
                if top >= WT_RANGE_STACK:
                    return -1          # unreachable for valid trees (depth <= 26)
                stack[top].node = ch
                stack[top].s = cs
                stack[top].e = ce
                _wr_prefetch(wt, wt.nodes[ch].start + cs)
                _wr_prefetch(wt, wt.nodes[ch].start + ce)
                top += 1
    return <int64_t>found


cdef inline uint64_t wt_range_count(const wt_t *wt, uint32_t c, uint64_t s, uint64_t e) noexcept nogil:
    """Occurrences of symbol c in [s, e) by one root-to-leaf descent of the code of c."""
    cdef uint64_t ent, r1s, r1e
    cdef unsigned int L, d, bit
    cdef const wt_node_t *nd
    if s >= e or c >= wt.sigma:
        return 0
    ent = wt.table[c]                  # block 0 row: count 0 | len | code
    L = <unsigned int>((ent >> WT_CODE_BITS) & 63)
    if L == 0:
        return 0
    nd = wt.nodes + wt.roots[0]
    for d in range(L):
        bit = <unsigned int>((ent >> d) & 1)
        r1s = bv_rank1(&wt.bits, nd.start + s) - nd.ones_before
        r1e = bv_rank1(&wt.bits, nd.start + e) - nd.ones_before
        if bit:
            s = r1s
            e = r1e
        else:
            s = s - r1s
            e = e - r1e
        if s >= e:
            return 0
        if d + 1 < L:
            nd = wt.nodes + nd.child[bit]
    return e - s
