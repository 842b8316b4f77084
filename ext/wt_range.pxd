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

Only the tree of a single-block sequence (token shards use one tree) is walked here: the
caller passes the bitvector, the node array and the root node index, so the kernel depends
on nothing but the node layout (wt_node_t) and rank1.
All kernels are ``noexcept nogil`` and allocate nothing.
"""
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t
from bits cimport fm_prefetch
from wavelet_tree cimport wt_node_t, wt_bits_t, wtb_rank1, wtb_prefetch

cdef enum:
    WT_RANGE_STACK = 128     # > 2 * (longest code + 1): DFS with both children pushed


ctypedef struct wt_range_frame_t:
    int32_t node
    uint64_t s
    uint64_t e


cdef inline void _wr_prefetch(const wt_bits_t *bits, uint64_t bit) noexcept nogil:
    wtb_prefetch(bits, bit)


cdef inline int64_t wt_range_distinct(const wt_bits_t *bits, const wt_node_t *nodes, int32_t root,
                                      uint64_t s, uint64_t e, uint32_t *syms, uint64_t *counts,
                                      uint64_t cap) noexcept nogil:
    """Distinct symbols of positions [s, e) with their counts, in tree (not symbol) order.

    Writes at most ``cap`` (symbol, count) pairs and returns the number of distinct
    symbols, or -1 when there are more than ``cap`` (the caller grows its buffers).
    ``bits`` / ``nodes`` / ``root``: the tree of the whole sequence.  0 <= s <= e <= n.
    """
    cdef wt_range_frame_t stack[WT_RANGE_STACK]
    cdef int top = 0
    cdef uint64_t found = 0, r1s, r1e, cs, ce
    cdef const wt_node_t *nd
    cdef int32_t ch
    cdef unsigned int b
    if s >= e:
        return 0
    stack[0].node = root
    stack[0].s = s
    stack[0].e = e
    top = 1
    while top > 0:
        top -= 1
        nd = nodes + stack[top].node
        s = stack[top].s
        e = stack[top].e
        r1s = wtb_rank1(bits, nd.start + s) - nd.ones_before
        r1e = wtb_rank1(bits, nd.start + e) - nd.ones_before
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
                _wr_prefetch(bits, nodes[ch].start + cs)
                _wr_prefetch(bits, nodes[ch].start + ce)
                top += 1
    return <int64_t>found


cdef inline int64_t wt_range_distinct_bfs(const wt_bits_t *bits, const wt_node_t *nodes, int32_t root,
                                          uint64_t s, uint64_t e, uint32_t *syms,
                                          uint64_t *counts, uint64_t cap,
                                          wt_range_frame_t *fa, wt_range_frame_t *fb) noexcept nogil:
    """wt_range_distinct level by level: every node of a level has its two cache lines
    prefetched while the previous level is still being processed (memory-level parallelism
    for ranges with many distinct symbols).  ``fa`` / ``fb``: frontier buffers of ``cap``
    frames each (a level holds at most as many nodes as distinct symbols).  Returns the
    number of distinct symbols, or -1 if more than ``cap``."""
    cdef uint64_t n_cur = 1, n_nxt, found = 0, i, r1s, r1e, cs, ce
    cdef wt_range_frame_t *cur = fa
    cdef wt_range_frame_t *nxt = fb
    cdef wt_range_frame_t *tmp
    cdef const wt_node_t *nd
    cdef int32_t ch
    cdef unsigned int b
    if s >= e:
        return 0
    if cap == 0:
        return -1
    cur[0].node = root
    cur[0].s = s
    cur[0].e = e
    while n_cur > 0:
        n_nxt = 0
        for i in range(n_cur):
            nd = nodes + cur[i].node
            s = cur[i].s
            e = cur[i].e
            r1s = wtb_rank1(bits, nd.start + s) - nd.ones_before
            r1e = wtb_rank1(bits, nd.start + e) - nd.ones_before
            for b in range(2):
                if b == 0:
                    cs = s - r1s
                    ce = e - r1e
                else:
                    cs = r1s
                    ce = r1e
                if cs >= ce:
                    continue
                ch = nd.child[b]
                if ch < 0:
                    if found >= cap:
                        return -1
                    syms[found] = <uint32_t>(-ch - 1)
                    counts[found] = ce - cs
                    found += 1
                else:
                    if n_nxt >= cap:
                        return -1
                    nxt[n_nxt].node = ch
                    nxt[n_nxt].s = cs
                    nxt[n_nxt].e = ce
                    _wr_prefetch(bits, nodes[ch].start + cs)
                    _wr_prefetch(bits, nodes[ch].start + ce)
                    n_nxt += 1
        tmp = cur
        cur = nxt
        nxt = tmp
        n_cur = n_nxt
    return <int64_t>found
