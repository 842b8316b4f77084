# cython: language_level=3
"""Batched FM-index kernels that hide memory latency by interleaving independent walks.

One dependent cache miss costs ~300 ns on the target machine; a wavelet-tree level
is one miss.  Instead of finishing one walk before starting the next, each kernel
keeps LANES walks in flight: it advances a walk by one tree level, prefetches the
cache line that walk needs next, and moves on to the next walk, so that by the
time it comes back the line has arrived (memory-level parallelism, as in
Kärkkäinen et al.'s and Heng Li's interleaved BWT searches).

  fm_locate_batch   text positions of many rows (one walk per row)
  fm_extract_batch  text of [lo, hi): one walk per ISA-sample interval
  fm_count_batch    backward searches of many patterns (one walk per pattern); _at: patterns
                    read in place, threads sharing one batch through a claim counter
All are noexcept nogil and allocate nothing but their stack.
"""
from libc.stdint cimport uint64_t, int64_t, uint32_t, int32_t, uint8_t
from bits cimport fm_prefetch
from wavelet_tree cimport (wt_t, wt_bits_t, wtb_rank1, wtb_access_rank1, wtb_prefetch,
                          wtb_stage_t, wtb_access_rank1_staged, wt_node_t, wt_root, wt_entry,
                          wt_entry_len, WT_COUNT_SHIFT, WT_CODE_BITS, qwt_node_t, qwt_root)
from quad_vector cimport qv_rank, qv_access_rank, qv_prefetch
from packed_ints cimport packed_get
from sampled_rows cimport ROW_BLOCK_SHIFT, sampled_rank, sampled_rows_t
from elias_fano cimport EF_SAMPLE_SHIFT, ef_t
from fm_shard cimport (fm_shard_t, symbol_t, fm_pair_range, fm_tri_range, fm_tetra_range,
                       fm_ngram_range, NGRAM_MIN, fm_kmer_range,
                       fm_doc_bounds, fm_doc_end_row, _ef_sampled_rank, fm_isa_row,
                       fm_po_step, fm_po_prefetch_step, fm_kmer_prefetch, fm_po_extract_step, fm_lf,
                       fm_table_start)
from pair_occ cimport po_prefetch

cdef enum:
    LANES = 24


ctypedef struct _walk_t:
    uint64_t row          # current row
    uint64_t i            # position inside the current node
    const wt_node_t *nd   # current node (NULL: at a row, not yet descending; 4-ary trees
                          # keep the tree's node array here as the "descending" mark)
    const qwt_node_t *qn  # 4-ary trees: current node
    uint64_t qst          # 4-ary trees: its start (from the parent's cstart)
    uint64_t steps        # LF steps taken (locate) / steps left (extract)
    int64_t slot          # output slot, -1 = idle lane
    uint32_t c            # symbol found at the leaf, while ``pending``
    int pending           # leaf reached, its table entry prefetched, LF not yet finished
    wtb_stage_t st        # RRR bits: a rank waiting for its prefetched offset


cdef inline void _prefetch_bit(const wt_bits_t *bv, uint64_t i) noexcept nogil:
    wtb_prefetch(bv, i)


cdef inline void _prefetch_root(const fm_shard_t *fm, uint64_t row) noexcept nogil:
    """The root-level line of the tree holding ``row`` (arity 16: the row's block lines)."""
    if fm.wt.arity == 16:
        po_prefetch(&fm.wt.pocc, row)
    elif fm.wt.arity == 4:
        qv_prefetch(&fm.wt.quad, fm.wt.qroot_start[row >> fm.wt.block_shift]
                    + (row & fm.wt.block_mask))
    else:
        _prefetch_bit(&fm.wt.bits, wt_root(&fm.wt, row).start + (row & fm.wt.block_mask))


cdef inline void _prefetch_walk(const fm_shard_t *fm, const _walk_t *w) noexcept nogil:
    """The line the walk's next level reads."""
    if fm.wt.arity == 4:
        qv_prefetch(&fm.wt.quad, w.qst + w.i)
    else:
        _prefetch_bit(&fm.wt.bits, w.nd.start + w.i)


ctypedef fused marks_t:
    sampled_rows_t      # "blocks": 256-row blocks of marks
    ef_t                # "elias_fano": the marked rows as an Elias-Fano sequence


cdef inline void _prefetch_row(const fm_shard_t *fm, const marks_t *marks, uint64_t row) noexcept nogil:
    """Lines a walk at ``row`` needs next: its sampled-rows block (Elias-Fano: the high bits
    at the select sample of its bucket) and the root level.  ``marks`` (&fm.sampled or
    &fm.sampled_ef) only selects the layout at compile time: one loop per layout."""
    cdef uint64_t h
    if marks_t is ef_t:
        h = row >> marks.L
        if h > 0:
            fm_prefetch(marks.high + (marks.sel0[(h - 1) >> EF_SAMPLE_SHIFT] >> 6))
    else:
        fm_prefetch(marks.low + marks.prefix[row >> ROW_BLOCK_SHIFT])
    _prefetch_root(fm, row)


cdef inline int64_t _marked_rank(const fm_shard_t *fm, const marks_t *marks, uint64_t row) noexcept nogil:
    """fm_sampled_rank for the layout ``marks`` (compile-time)."""
    if marks_t is ef_t:
        return _ef_sampled_rank(fm, row)
    else:
        return sampled_rank(marks, row)


cdef inline void _start_lf(const fm_shard_t *fm, _walk_t *w) noexcept nogil:
    if w.row >= fm.n_rows:          # a damaged sample: stay inside the arrays
        w.row = fm.n_rows - 1
    if fm.wt.arity == 4:
        w.qn = qwt_root(&fm.wt, w.row)
        w.qst = fm.wt.qroot_start[w.row >> fm.wt.block_shift]
        w.nd = fm.wt.nodes
    else:
        w.nd = wt_root(&fm.wt, w.row)
    w.i = w.row & fm.wt.block_mask
    w.pending = 0
    w.st.staged = 0


cdef inline bint _lf_level(const fm_shard_t *fm, _walk_t *w, uint32_t *c) noexcept nogil:
    """Advance a walk by one tree level; True when the LF step is complete (w.row updated)."""
    cdef unsigned int b
    cdef uint64_t r1
    cdef int32_t ch
    if not w.pending and fm.wt.arity == 4:
        w.i = qv_access_rank(&fm.wt.quad, w.qst + w.i, &b) - w.qn.before[b]
        ch = w.qn.child[b]
        if ch >= 0:
            w.qst = w.qn.cstart[b]
            qv_prefetch(&fm.wt.quad, w.qst + w.i)
            w.qn = fm.wt.qnodes + ch
            fm_prefetch(w.qn)
            return False
        w.c = <uint32_t>(-ch - 1)
        if w.c > fm.wt.sigma:           # only a damaged index gets here
            w.c = fm.wt.sigma
        w.pending = 1
        fm_prefetch(&fm.wt.table[(w.row >> fm.wt.block_shift) * fm.wt.sigma + w.c])
        return False
    if not w.pending:
        if not wtb_access_rank1_staged(&fm.wt.bits, w.nd.start + w.i, &w.st, &b, &r1):
            return False            # RRR: the block's offset is on its way
        r1 -= w.nd.ones_before
        w.i = r1 if b else w.i - r1
        ch = w.nd.child[b]
        if ch >= 0:
            w.nd = fm.wt.nodes + ch
            _prefetch_bit(&fm.wt.bits, w.nd.start + w.i)
            return False
        # leaf: the block's count of this symbol is one more miss; fetch it meanwhile
        w.c = <uint32_t>(-ch - 1)
        w.pending = 1
        fm_prefetch(&fm.wt.table[(w.row >> fm.wt.block_shift) * fm.wt.sigma + w.c])
        return False
    w.pending = 0
    c[0] = w.c
    w.i += wt_entry(&fm.wt, c[0], w.row) >> WT_COUNT_SHIFT
    if c[0] == fm.sep and w.row > fm.r0:
        w.i -= 1
    w.row = fm.C[c[0]] + w.i
    if w.row >= fm.n_rows:          # only a damaged index gets here
        w.row = fm.n_rows - 1
    w.nd = NULL
    return True


cdef inline void fm_locate_batch(const fm_shard_t *fm, const uint64_t *rows, uint64_t n,
                                 uint64_t *out) noexcept nogil:
    """out[k] = text position of rows[k] (each row >= 1), LANES walks interleaved."""
    # one copy of the loop per sampled-rows layout (a fused type): with the layout tested
    # inside the loop, GCC kept the test and dropped the blocks' prefetch (~20% slower)
    # a pair-occurrence table (arity 16) gets its own copy too: one LF per visit
    if fm.wt.arity == 16:
        if fm.sampled_is_ef:
            _locate_batch(fm, &fm.sampled_ef, rows, n, out, True)
        else:
            _locate_batch(fm, &fm.sampled, rows, n, out, True)
    elif fm.sampled_is_ef:
        _locate_batch(fm, &fm.sampled_ef, rows, n, out, False)
    else:
        _locate_batch(fm, &fm.sampled, rows, n, out, False)


cdef inline void _locate_batch(const fm_shard_t *fm, const marks_t *marks, const uint64_t *rows,
                               uint64_t n, uint64_t *out, bint pairs) noexcept nogil:
    """``pairs`` (a constant at each call): the shard has a pair-occurrence table, whose
    LF step reads the lines requested with the row (no tree levels)."""
    cdef _walk_t lanes[LANES]
    cdef uint64_t nxt = 0
    cdef int active = 0, l
    cdef int64_t j
    cdef uint32_t c
    cdef _walk_t *w
    for l in range(LANES):
        lanes[l].slot = -1
        if nxt < n:
            lanes[l].row = rows[nxt]
            lanes[l].slot = <int64_t>nxt
            lanes[l].steps = 0
            lanes[l].nd = NULL
            _prefetch_row(fm, marks, rows[nxt])
            nxt += 1
            active += 1
    while active > 0:
        for l in range(LANES):
            w = &lanes[l]
            if w.slot < 0:
                continue
            if w.nd == NULL:
                j = _marked_rank(fm, marks, w.row)
                if j >= 0 or w.steps >= fm.sa_rate:
                    if j >= 0:
                        out[w.slot] = packed_get(&fm.sa_samples, <uint64_t>j) * fm.sa_rate + w.steps
                    else:
                        out[w.slot] = <uint64_t>-1          # damaged index: no sample met
                    if nxt < n:
                        w.row = rows[nxt]
                        w.slot = <int64_t>nxt
                        w.steps = 0
                        _prefetch_row(fm, marks, w.row)
                        nxt += 1
                    else:
                        w.slot = -1
                        active -= 1
                    continue
                if pairs:       # the row's block was requested with it: one LF now
                    w.row = fm_lf(fm, w.row if w.row < fm.n_rows else fm.n_rows - 1, &c)
                    w.steps += 1
                    _prefetch_row(fm, marks, w.row)
                    continue
                _start_lf(fm, w)
                continue        # root line was prefetched with the row
            if _lf_level(fm, w, &c):
                w.steps += 1
                _prefetch_row(fm, marks, w.row)


cdef inline void fm_extract_batch(const fm_shard_t *fm, uint64_t doc, uint64_t a, uint64_t b,
                                  symbol_t *out) noexcept nogil:
    """Symbols [a, b) of document ``doc`` into out: one walk per ISA-sample interval."""
    if symbol_t is uint8_t:
        if fm.wt.arity == 16:           # a pair-occurrence table: two letters per visit
            _extract_batch(fm, doc, a, b, out, True)
            return
    _extract_batch(fm, doc, a, b, out, False)


cdef inline bint _po_extract_visit(const fm_shard_t *fm, _walk_t *w, uint64_t lo, uint64_t hi,
                                   uint8_t *out) noexcept nogil:
    """One visit of an extract walk over a pair-occurrence table (fm_po_extract_step), then
    the next step's lines requested; True when the walk's positions are all written.
    w.slot: the walk's position, w.steps: positions left."""
    cdef uint64_t k = fm_po_extract_step(fm, &w.row, <uint64_t>w.slot, w.steps, lo, hi, out)
    w.slot -= <int64_t>k
    w.steps -= k
    if w.steps == 0:
        return True
    po_prefetch(&fm.wt.pocc, w.row)
    return False


cdef inline void _extract_batch(const fm_shard_t *fm, uint64_t doc, uint64_t a, uint64_t b,
                                symbol_t *out, bint pairs) noexcept nogil:
    """fm_extract_batch; ``pairs`` (a constant at each call): over a pair-occurrence table."""
    cdef uint64_t s, e
    fm_doc_bounds(fm, doc, &s, &e)
    cdef uint64_t lo = s + a, hi = s + b, R = fm.isa_rate
    cdef uint64_t q = (lo // R + 1) * R     # first chain end above lo
    cdef _walk_t lanes[LANES]
    cdef int active = 0, l
    cdef uint32_t c
    cdef _walk_t *w
    cdef uint64_t pos
    if a >= b:
        return
    cdef uint64_t start
    cdef bint done = False
    # chain k starts its walk at position q_k (a sampled position, or the document end)
    # and writes positions [max(lo, q_k - R), q_k) (those >= hi are walked, not written);
    # slot = the position the walk stands at, steps = positions left to write.
    while not done:
        active = 0
        for l in range(LANES):
            lanes[l].slot = -1
        for l in range(LANES):
            start = q - R if q - R > lo else lo
            if start >= hi:
                done = True
                break
            if q >= e:
                pos = e
                lanes[l].row = fm_doc_end_row(fm, doc)
                done = True
            else:
                pos = q
                lanes[l].row = fm_isa_row(fm, q // R)
            lanes[l].slot = <int64_t>pos
            lanes[l].steps = pos - start
            if pairs:
                if lanes[l].row >= fm.n_rows:
                    lanes[l].row = fm.n_rows - 1
                po_prefetch(&fm.wt.pocc, lanes[l].row)
            else:
                _start_lf(fm, &lanes[l])
                _prefetch_walk(fm, &lanes[l])
            active += 1
            q += R
            if done:
                break
        while active > 0:
            for l in range(LANES):
                w = &lanes[l]
                if w.slot < 0:
                    continue
                if symbol_t is uint8_t:
                    if pairs:
                        if _po_extract_visit(fm, w, lo, hi, out):
                            w.slot = -1
                            active -= 1
                        continue
                if _lf_level(fm, w, &c):
                    w.slot -= 1
                    if <uint64_t>w.slot < hi:
                        out[<uint64_t>w.slot - lo] = <symbol_t>c
                    w.steps -= 1
                    if w.steps == 0:
                        w.slot = -1
                        active -= 1
                    else:
                        _start_lf(fm, w)
                        _prefetch_walk(fm, w)


ctypedef struct _half_t:
    const wt_node_t *nd   # current node
    const qwt_node_t *qn  # current node of a 4-ary tree
    uint64_t qst          # its start
    uint64_t j            # position inside it
    uint64_t e            # table entry of the symbol (count | len | code), shifted per level
    uint64_t base         # occurrences before the block
    unsigned int left     # levels left (0 = done)
    wtb_stage_t st        # RRR bits: a rank waiting for its prefetched offset


ctypedef struct _search_t:
    const uint8_t *p      # pattern (bytes), or NULL for token patterns
    const uint32_t *p32   # pattern (token ids) when p is NULL
    uint64_t k            # symbols left to process (next is p[k-1])
    uint64_t s, e         # current range of rows
    _half_t hs, he        # the two rank descents (rank_c(s), rank_c(e))
    uint32_t c            # current symbol
    int pending           # next symbol's table entries prefetched, descents not started
    int64_t slot


cdef inline void _half_start(const fm_shard_t *fm, _half_t *h, uint32_t c, uint64_t i) noexcept nogil:
    cdef uint64_t ent = wt_entry(&fm.wt, c, i)
    h.base = ent >> WT_COUNT_SHIFT
    h.j = i & fm.wt.block_mask
    h.st.staged = 0
    h.left = wt_entry_len(ent)
    if h.left == 0:
        h.j = 0                 # the symbol does not occur in this block
    elif h.j == 0:
        h.left = 0              # rank at a block start: the table count alone
    if h.left:
        h.e = ent
        if fm.wt.arity == 4:
            h.qn = qwt_root(&fm.wt, i)
            h.qst = fm.wt.qroot_start[i >> fm.wt.block_shift]
            h.nd = NULL
            qv_prefetch(&fm.wt.quad, h.qst + h.j)
            fm_prefetch(h.qn)
        else:
            h.nd = wt_root(&fm.wt, i)
            h.qn = NULL
            _prefetch_bit(&fm.wt.bits, h.nd.start + h.j)


cdef inline void _half_level(const fm_shard_t *fm, _half_t *h) noexcept nogil:
    cdef unsigned int b = <unsigned int>(h.e & 1), bit
    cdef uint64_t r1
    cdef int32_t ch
    if fm.wt.arity == 4:
        b = <unsigned int>(h.e & 3)
        h.j = qv_rank(&fm.wt.quad, b, h.qst + h.j) - h.qn.before[b]
        h.e >>= 2
        h.left -= 1
        if h.left:
            ch = h.qn.child[b]
            if ch < 0:                  # only a damaged index gets here
                h.left = 0
                return
            h.qst = h.qn.cstart[b]
            qv_prefetch(&fm.wt.quad, h.qst + h.j)
            h.qn = fm.wt.qnodes + ch
            fm_prefetch(h.qn)
        return
    if not wtb_access_rank1_staged(&fm.wt.bits, h.nd.start + h.j, &h.st, &bit, &r1):
        return                      # RRR: the block's offset is on its way
    r1 -= h.nd.ones_before
    h.e >>= 1
    h.j = r1 if b else h.j - r1
    h.left -= 1
    if h.left:
        h.nd = fm.wt.nodes + h.nd.child[b]
        _prefetch_bit(&fm.wt.bits, h.nd.start + h.j)


cdef inline bint _search_next_symbol(const fm_shard_t *fm, _search_t *q) noexcept nogil:
    """Start the next symbol; False if the search is finished (q.s, q.e final)."""
    cdef uint32_t c
    while True:
        if q.k == 0 or q.s >= q.e:
            return False
        q.k -= 1
        c = q.p[q.k] if q.p != NULL else q.p32[q.k]
        if c >= fm.wt.sigma or c == fm.sep or fm.C[c + 1] == fm.C[c]:
            q.s = 0
            q.e = 0
            return False
        if q.s == 0 and q.e == fm.n_rows:   # the whole range: the rows of c are C's
            q.s = fm.C[c]
            q.e = fm.C[c + 1]
            continue
        break
    q.c = c
    q.pending = 1               # start the descents on the next visit, entries in cache
    fm_prefetch(&fm.wt.table[(q.s >> fm.wt.block_shift) * fm.wt.sigma + c])
    fm_prefetch(&fm.wt.table[(q.e >> fm.wt.block_shift) * fm.wt.sigma + c])
    return True


cdef inline bint _search_level(const fm_shard_t *fm, _search_t *q) noexcept nogil:
    """One tree level of rank_c(s) and rank_c(e); True when the whole search is finished."""
    if q.pending:
        q.pending = 0
        _half_start(fm, &q.hs, q.c, q.s)
        _half_start(fm, &q.he, q.c, q.e)
        if q.hs.left or q.he.left:
            return False            # root lines prefetched by _half_start
    if q.hs.left:
        _half_level(fm, &q.hs)
    if q.he.left:
        _half_level(fm, &q.he)
    if q.hs.left or q.he.left:
        if (q.hs.nd == q.he.nd and q.hs.qn == q.he.qn and q.hs.j == q.he.j
                and q.hs.left == q.he.left):
            q.s = 0                # same node, same position: the range is empty
            q.e = 0
            return True
        return False
    q.s = fm.C[q.c] + q.hs.base + q.hs.j
    q.e = fm.C[q.c] + q.he.base + q.he.j
    if q.e > fm.n_rows:             # only a damaged index gets here
        q.e = fm.n_rows
    if q.s >= q.e:
        q.s = 0
        q.e = 0
        return True
    return not _search_next_symbol(fm, q)


cdef extern from *:
    """
    static inline unsigned long long fm_fetch_add(unsigned long long *p, unsigned long long v) {
        return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    }
    """
    unsigned long long fm_fetch_add(unsigned long long *p, unsigned long long v) noexcept nogil


cdef enum:
    CLAIM = 32      # patterns a thread takes from a shared counter at a time


cdef inline bint _claim(uint64_t *claim, uint64_t n, uint64_t *nxt, uint64_t *lim) noexcept nogil:
    """Take the next CLAIM patterns of a batch shared by threads: [nxt, lim); False when the
    batch is exhausted (or not shared: ``claim`` NULL)."""
    cdef uint64_t k
    if claim == NULL or nxt[0] >= n:
        return False
    k = fm_fetch_add(<unsigned long long *>claim, CLAIM)
    if k >= n:
        nxt[0] = n                  # exhausted: no more atomics on the shared line
        lim[0] = n
        return False
    nxt[0] = k
    lim[0] = k + CLAIM if k + CLAIM < n else n
    return True


cdef inline int64_t _take_pattern(const symbol_t **pats, const symbol_t *buf,
                                  const int64_t *offsets, uint64_t n, int64_t empty_count,
                                  int64_t *out, uint64_t *claim, uint64_t *nxt, uint64_t *lim,
                                  const symbol_t **p, uint64_t *k) noexcept nogil:
    """The batch's next non-empty pattern (see fm_count_batch_at) into ``p``, ``k``: its
    slot, or -1 once the batch (this thread's share of it) is exhausted.  Empty patterns met
    on the way are answered at once (``empty_count``)."""
    cdef uint64_t i
    while nxt[0] < lim[0] or _claim(claim, n, nxt, lim):
        i = nxt[0]
        nxt[0] = i + 1
        k[0] = <uint64_t>(offsets[i + 1] - offsets[i])
        if k[0] == 0:
            out[i] = empty_count
            continue
        p[0] = pats[i] if pats != NULL else buf + offsets[i]
        return <int64_t>i
    return -1


ctypedef struct _po_search_t:
    const uint8_t *p      # the pattern
    uint64_t k            # symbols P[0..k) still to search
    uint64_t s, e         # rows of P[k..]
    int64_t slot          # output slot, -1 = idle lane


cdef inline bint _po_lane_begin(const fm_shard_t *fm, _po_search_t *q,
                                int64_t *out) noexcept nogil:
    """A lane's first rows from the lookup tables ([q.s, q.e) the whole range before):
    True if its search goes on (the next step's lines requested), False if it is answered
    (its slot freed)."""
    q.k -= fm_table_start(fm, q.p, q.k, &q.s, &q.e)
    if q.s >= q.e:
        out[q.slot] = 0
    elif q.k == 0:
        out[q.slot] = <int64_t>(q.e - q.s)
    else:
        fm_po_prefetch_step(fm, q.p, q.k, q.s, q.e)
        return True
    q.slot = -1
    return False


cdef inline void _po_count_batch_at(const fm_shard_t *fm, const uint8_t **pats, const uint8_t *buf,
                                    const int64_t *offsets, uint64_t n, int64_t empty_count,
                                    int64_t *out, uint64_t *claim) noexcept nogil:
    """fm_count_batch_at over a pair-occurrence table (arity 16): a lane takes two letters
    per visit (fm_po_step) and requests the blocks of its next step before moving on."""
    cdef _po_search_t lanes[LANES]
    cdef uint64_t nxt = 0, lim = n if claim == NULL else 0
    cdef int active = 0, l
    cdef _po_search_t *q
    for l in range(LANES):
        lanes[l].slot = -1
    while True:
        for l in range(LANES):
            q = &lanes[l]
            while q.slot < 0:
                q.slot = _take_pattern(pats, buf, offsets, n, empty_count, out, claim, &nxt,
                                       &lim, &q.p, &q.k)
                if q.slot < 0:
                    break
                q.s = 0
                q.e = fm.n_rows
                if fm_kmer_prefetch(fm, q.p, q.k):
                    q.e = 0                 # the table's line requested: look up next visit
                    active += 1
                elif _po_lane_begin(fm, q, out):
                    active += 1
        if active == 0:
            return
        for l in range(LANES):
            q = &lanes[l]
            if q.slot < 0:
                continue
            if q.e == 0:                    # the k-mer lookup whose line was requested
                q.e = fm.n_rows
                if not _po_lane_begin(fm, q, out):
                    active -= 1
                continue
            if not fm_po_step(fm, q.p, &q.k, &q.s, &q.e, True):
                out[q.slot] = 0
            elif q.k == 0:
                out[q.slot] = <int64_t>(q.e - q.s)
            else:
                fm_po_prefetch_step(fm, q.p, q.k, q.s, q.e)
                continue
            q.slot = -1
            active -= 1


cdef inline void fm_count_batch_at(const fm_shard_t *fm, const symbol_t **pats, const symbol_t *buf,
                                   const int64_t *offsets, uint64_t n, int64_t empty_count,
                                   int64_t *out, uint64_t *claim) noexcept nogil:
    """out[k] = occurrences of pattern k, LANES searches interleaved.  Pattern k is
    buf[offsets[k]:offsets[k+1]], or, when ``pats`` is not NULL, the offsets[k+1] - offsets[k]
    symbols at pats[k], read in place (buf unused): scattered patterns need no copy.
    With ``claim`` not NULL, threads share the batch: each call takes CLAIM patterns at a time
    from the counter *claim (0 at the start), refilling its lanes until all n are taken, so
    every thread drains its lanes once, at the end, and they finish within a few patterns."""
    cdef _search_t lanes[LANES]
    cdef uint64_t nxt = 0, lim = n if claim == NULL else 0
    cdef int active = 0, l
    cdef _search_t *q
    cdef const symbol_t *p
    if symbol_t is uint8_t:
        if fm.wt.arity == 16:
            _po_count_batch_at(fm, pats, buf, offsets, n, empty_count, out, claim)
            return
    for l in range(LANES):
        lanes[l].slot = -1
    while True:
        # fill idle lanes
        for l in range(LANES):
            q = &lanes[l]
            while q.slot < 0:
                q.slot = _take_pattern(pats, buf, offsets, n, empty_count, out, claim, &nxt,
                                       &lim, &p, &q.k)
                if q.slot < 0:
                    break
                if symbol_t is uint8_t:
                    q.p = p
                    q.p32 = NULL
                else:
                    q.p = NULL
                    q.p32 = p
                q.s = 0
                q.e = fm.n_rows
                if symbol_t is uint8_t:             # the last 2..k bytes: one lookup
                    q.k -= fm_table_start(fm, q.p, q.k, &q.s, &q.e)
                if not _search_next_symbol(fm, q):
                    out[q.slot] = <int64_t>(q.e - q.s)
                    q.slot = -1
                else:
                    active += 1
        if active == 0:
            return
        for l in range(LANES):
            q = &lanes[l]
            if q.slot < 0:
                continue
            if _search_level(fm, q):
                out[q.slot] = <int64_t>(q.e - q.s)
                q.slot = -1
                active -= 1


cdef inline void fm_count_batch(const fm_shard_t *fm, const symbol_t *buf, const int64_t *offsets,
                                uint64_t n, int64_t empty_count, int64_t *out) noexcept nogil:
    """out[k] = occurrences of buf[offsets[k]:offsets[k+1]], LANES searches interleaved."""
    fm_count_batch_at(fm, <const symbol_t **>NULL, buf, offsets, n, empty_count, out, NULL)
