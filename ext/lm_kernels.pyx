# cython: language_level=3
"""Language-model kernels over FM-index shards (compiled as fmindex._lm_kernels).

TokenLM  a token shard whose documents are stored REVERSED (text' = rev(doc_0) SEP
         rev(doc_1) SEP ...).  A context ctx is searched as reverse(ctx): backward
         search consumes ctx left to right.  The BWT of the rows of reverse(ctx) holds
         the tokens that FOLLOW ctx in the original documents (SEP, and the virtual $
         of row r0, mean "end of document"), so
           count(ctx + w)            = one more backward step with w,
           next-token distribution   = range-distinct over the BWT rows (wt_range.pxd),
           longest suffix with count > 0 (infini-gram's ∞-gram back-off)
                                     = doubling + binary search over the suffix length.
ByteLM   a (forward) byte shard: longest matching suffix by incremental backward
         search from the end of the context; next-byte counts by batched searches of
         ctx + b (fm_batch.fm_count_batch).
cnf_first_windows / scan_windows: helpers of the CNF document search (fmindex/tokens.py).
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, uint32_t, int32_t, uint8_t
from libc.stdlib cimport malloc, free
from fm_shard cimport fm_shard_t, fm_shard_init, fm_doc_bounds, fm_doc_end_row, fm_isa_row
from fm_batch cimport fm_count_batch, fm_locate_batch
from wavelet_tree cimport wt_rank_pair
from wt_range cimport wt_range_distinct, wt_range_distinct_bfs, wt_range_frame_t
from bits cimport fm_prefetch
from wavelet_tree cimport wt_node_t, wtb_access_rank1, wtb_prefetch

cdef enum:
    XLANES = 24


ctypedef struct _xwalk_t:
    uint64_t row          # current row
    uint64_t j            # position inside the current node
    const wt_node_t *nd   # current node
    uint64_t q            # text position the walk stands at (the symbol read next is q - 1)
    uint64_t lo           # stop when q == lo
    uint64_t hi           # symbols at positions < hi are written
    uint32_t *out         # out[k] receives the symbol of position hi - 1 - k
    int active


cdef inline void _xw_start(const fm_shard_t *fm, const wt_node_t *nodes, int32_t root,
                           _xwalk_t *w) noexcept nogil:
    w.nd = nodes + root
    w.j = w.row
    wtb_prefetch(&fm.wt.bits, w.nd.start + w.j)


cdef void _extract_windows(const fm_shard_t *fm, int32_t root, const uint64_t *starts_q,
                           const uint64_t *rows, const uint64_t *los, const uint64_t *his,
                           uint32_t **outs, uint64_t n) noexcept nogil:
    """Walk LF from row rows[k] (text position starts_q[k]) down to los[k], writing the
    symbols of positions [los[k], his[k]) reversed into outs[k]; XLANES walks interleaved
    one tree level at a time (single-tree shards: rank inside the tree = global rank)."""
    cdef _xwalk_t lanes[XLANES]
    cdef const wt_node_t *nodes = fm.wt.nodes
    cdef uint64_t nxt = 0, r1
    cdef int active = 0, l
    cdef unsigned int b
    cdef int32_t ch
    cdef uint32_t c
    cdef _xwalk_t *w
    for l in range(XLANES):
        lanes[l].active = 0
    while True:
        for l in range(XLANES):
            w = &lanes[l]
            while not w.active and nxt < n:
                if starts_q[nxt] > los[nxt]:
                    w.row = rows[nxt]
                    w.q = starts_q[nxt]
                    w.lo = los[nxt]
                    w.hi = his[nxt]
                    w.out = outs[nxt]
                    w.active = 1
                    active += 1
                    _xw_start(fm, nodes, root, w)
                nxt += 1
        if active == 0:
            return
        for l in range(XLANES):
            w = &lanes[l]
            if not w.active:
                continue
            r1 = wtb_access_rank1(&fm.wt.bits, w.nd.start + w.j, &b) - w.nd.ones_before
            w.j = r1 if b else w.j - r1
            ch = w.nd.child[b]
            if ch >= 0:
                w.nd = nodes + ch
                wtb_prefetch(&fm.wt.bits, w.nd.start + w.j)
                continue
            c = <uint32_t>(-ch - 1)
            if c == fm.sep and w.row > fm.r0:
                w.j -= 1
            w.row = fm.C[c] + w.j
            w.q -= 1
            if w.q < w.hi:
                w.out[w.hi - 1 - w.q] = c
            if w.q <= w.lo:
                w.active = 0
                active -= 1
            else:
                _xw_start(fm, nodes, root, w)

cnp.import_array()


cdef inline bint _step(const fm_shard_t *fm, uint32_t c, uint64_t *s, uint64_t *e) noexcept nogil:
    """Backward-search step with symbol c: [s, e) -> rows of c + (suffixes in [s, e)).
    False (range left untouched) when the new range is empty."""
    cdef uint64_t a = s[0], z = e[0]
    if c >= fm.wt.sigma or c == fm.sep or fm.C[c + 1] == fm.C[c]:
        return False
    wt_rank_pair(&fm.wt, c, &a, &z)
    if a >= z:
        return False
    s[0] = a + fm.C[c]
    e[0] = z + fm.C[c]
    return True


cdef inline uint64_t _search_fwd(const fm_shard_t *fm, const uint32_t *ctx, uint64_t lo, uint64_t hi,
                                 uint64_t *s, uint64_t *e) noexcept nogil:
    """Rows of reverse(ctx[lo:hi]) in a reversed-text shard (consumes ctx[lo], ctx[lo+1], ...).
    Returns the count; [s, e) = [1, n_rows) for the empty context."""
    cdef uint64_t i
    s[0] = 0
    e[0] = fm.n_rows
    if lo >= hi:
        s[0] = 1
        return fm.n_rows - 1
    for i in range(lo, hi):
        if not _step(fm, ctx[i], s, e):
            s[0] = 0
            e[0] = 0
            return 0
    return e[0] - s[0]


cdef class TokenLM:
    """LM queries on one reversed token shard (compact symbol ids; 0 = SEP = end of document)."""
    cdef fm_shard_t fm
    cdef readonly object arrays
    cdef readonly uint64_t n_rows
    cdef readonly uint64_t n_docs
    cdef readonly uint32_t sigma
    cdef int32_t root

    def __init__(self, dict arrays, dict params):
        if params.get("alphabet") != "tokens":
            raise ValueError("TokenLM needs a token shard")
        if int(params.get("wt_block_shift", 63)) != 63:
            raise ValueError("token shards must use a single wavelet tree (block_shift 63)")
        if int(params["sep"]) != 0:
            raise ValueError("token shards use SEP = 0")
        self.arrays = arrays
        fm_shard_init(&self.fm, arrays, params)
        self.n_rows = self.fm.n_rows
        self.n_docs = self.fm.n_docs
        self.sigma = self.fm.wt.sigma
        roots = arrays.get("wt_roots")
        self.root = int(roots[0]) if roots is not None else 0

    def search(self, const uint32_t[::1] ctx):
        """(s, e): rows of reverse(ctx) for compact ctx in original order; empty ctx -> [1, n_rows)."""
        cdef uint64_t s, e
        cdef uint64_t m = ctx.shape[0]
        with nogil:
            _search_fwd(&self.fm, &ctx[0] if m else NULL, 0, m, &s, &e)
        return s, e

    def count(self, const uint32_t[::1] ctx):
        """Occurrences of ctx (compact ids); the empty context counts every token and SEP."""
        cdef uint64_t s, e, n
        cdef uint64_t m = ctx.shape[0]
        with nogil:
            n = _search_fwd(&self.fm, &ctx[0] if m else NULL, 0, m, &s, &e)
        return n

    def extend_counts(self, uint64_t s, uint64_t e, const uint32_t[::1] conts):
        """Counts of ctx + w for each compact w, given ctx's rows [s, e); w = 0 counts end of
        document.  One backward step (one rank pair) per continuation."""
        cdef Py_ssize_t n = conts.shape[0], i
        out = np.zeros(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef uint64_t a, z
        cdef uint32_t c
        with nogil:
            for i in range(n):
                c = conts[i]
                if s >= e:
                    break
                if c == 0:
                    a = s
                    z = e
                    wt_rank_pair(&self.fm.wt, self.fm.sep, &a, &z)
                    o[i] = <int64_t>(z - a)
                else:
                    a = s
                    z = e
                    if _step(&self.fm, c, &a, &z):
                        o[i] = <int64_t>(z - a)
        return out

    def distinct(self, uint64_t s, uint64_t e, bint bfs=True):
        """(symbols uint32, counts int64) of the BWT rows [s, e), sorted by symbol: the exact
        next-token distribution of the context whose rows these are (0 = end of document)."""
        if s > e or e > self.fm.n_rows:
            raise ValueError("row range out of bounds")
        cdef uint64_t cap = e - s
        if cap > self.fm.wt.sigma:
            cap = self.fm.wt.sigma        # np.empty: pages are touched only as written
        cdef int64_t got = -1
        cdef cnp.ndarray syms, cnts
        cdef uint32_t[::1] sv
        cdef uint64_t[::1] cv
        cdef wt_range_frame_t *fa
        cdef wt_range_frame_t *fb
        while True:
            syms = np.empty(max(cap, 1), dtype=np.uint32)
            cnts = np.empty(max(cap, 1), dtype=np.uint64)
            sv = syms
            cv = cnts
            if bfs:
                fa = <wt_range_frame_t *>malloc(max(cap, 1) * sizeof(wt_range_frame_t))
                fb = <wt_range_frame_t *>malloc(max(cap, 1) * sizeof(wt_range_frame_t))
                if fa == NULL or fb == NULL:
                    free(fa)
                    free(fb)
                    raise MemoryError()
                with nogil:
                    got = wt_range_distinct_bfs(&self.fm.wt.bits, self.fm.wt.nodes, self.root,
                                                s, e, &sv[0], &cv[0], cap, fa, fb)
                free(fa)
                free(fb)
            else:
                with nogil:
                    got = wt_range_distinct(&self.fm.wt.bits, self.fm.wt.nodes, self.root, s, e,
                                            &sv[0], &cv[0], cap)
            if got >= 0:
                break
            cap = cap * 4
            if cap > self.fm.wt.sigma + 1:
                cap = self.fm.wt.sigma + 1
        syms = syms[:got]
        cnts = cnts[:got].astype(np.int64)
        order = np.argsort(syms, kind="stable")
        return syms[order], cnts[order]

    def longest_suffix(self, const uint32_t[::1] ctx):
        """(k, s, e): the largest k with count(ctx[-k:]) > 0 and its rows (k = 0: [1, n_rows)).

        count(ctx[-k:]) is non-increasing in k: doubling then binary search, each probe a
        backward search of the reversed suffix (stops at its first empty range).
        """
        cdef uint64_t m = ctx.shape[0]
        cdef uint64_t lo = 0, hi = 1, mid, s, e, bs = 1, be = self.fm.n_rows
        cdef const uint32_t *p = &ctx[0] if m else NULL
        with nogil:
            while True:
                if hi > m:
                    hi = m + 1
                    break
                if _search_fwd(&self.fm, p, m - hi, m, &s, &e) == 0:
                    break
                lo = hi
                bs = s
                be = e
                hi <<= 1
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                if _search_fwd(&self.fm, p, m - mid, m, &s, &e) == 0:
                    hi = mid
                else:
                    lo = mid
                    bs = s
                    be = e
        return lo, bs, be

    def extract_windows(self, const int64_t[::1] docs, const int64_t[::1] los,
                        const int64_t[::1] his):
        """Compact ids of original-order windows [los[k], his[k]) of shard documents docs[k],
        concatenated (uint32) with int64 offsets; all windows walked together, interleaved.
        Windows are clipped to their documents."""
        cdef Py_ssize_t n = docs.shape[0], k
        offs = np.zeros(n + 1, dtype=np.int64)
        cdef int64_t[::1] ov = offs
        starts_q = np.zeros(max(n, 1), dtype=np.uint64)
        rows = np.zeros(max(n, 1), dtype=np.uint64)
        lo_a = np.zeros(max(n, 1), dtype=np.uint64)
        hi_a = np.zeros(max(n, 1), dtype=np.uint64)
        cdef uint64_t[::1] sq = starts_q
        cdef uint64_t[::1] rw = rows
        cdef uint64_t[::1] la = lo_a
        cdef uint64_t[::1] ha = hi_a
        cdef uint64_t d, s0, L, lo, hi, A, B, q, R = self.fm.isa_rate, e
        for k in range(n):
            if docs[k] < 0 or <uint64_t>docs[k] >= self.fm.n_docs:
                raise IndexError("document out of range")
            d = docs[k]
            fm_doc_bounds(&self.fm, d, &s0, &e)        # e: separator position
            L = e - s0
            lo = <uint64_t>max(los[k], 0)
            hi = <uint64_t>max(his[k], 0)
            if hi > L:
                hi = L
            if lo > hi:
                lo = hi
            ov[k + 1] = ov[k] + <int64_t>(hi - lo)
            A = s0 + L - hi                            # reversed positions [A, B)
            B = s0 + L - lo
            q = ((B + R - 1) // R) * R
            if q >= e:
                q = e
                rw[k] = fm_doc_end_row(&self.fm, d)
            else:
                rw[k] = fm_isa_row(&self.fm, q // R)
            sq[k] = q
            la[k] = A
            ha[k] = B
        out = np.zeros(max(int(offs[n]), 1), dtype=np.uint32)
        cdef uint32_t[::1] o = out
        cdef uint32_t **ptrs = <uint32_t **>malloc(max(n, 1) * sizeof(uint32_t *))
        if ptrs == NULL:
            raise MemoryError()
        try:
            for k in range(n):
                ptrs[k] = &o[0] + ov[k]
            with nogil:
                _extract_windows(&self.fm, self.root, &sq[0], &rw[0], &la[0], &ha[0], ptrs, n)
        finally:
            free(ptrs)
        return out[:offs[n]], offs

    def locate_rows(self, const uint64_t[::1] rows):
        """Text positions (uint64) of arbitrary rows (each in [1, n_rows)), batched."""
        cdef Py_ssize_t n = rows.shape[0], i
        out = np.empty(n, dtype=np.uint64)
        if n == 0:
            return out
        for i in range(n):
            if rows[i] < 1 or rows[i] >= self.fm.n_rows:
                raise ValueError("row out of range")
        cdef uint64_t[::1] o = out
        with nogil:
            fm_locate_batch(&self.fm, &rows[0], n, &o[0])
        return out

    def suffix_counts(self, const uint32_t[::1] ctx):
        """count(ctx[-k:]) for k = 1..m as int64 (stops early: zeros after the first zero).

        Used to combine shards: the longest suffix with a nonzero count over all shards."""
        cdef uint64_t m = ctx.shape[0], k, s, e
        out = np.zeros(m, dtype=np.int64)
        cdef int64_t[::1] o = out
        with nogil:
            for k in range(1, m + 1):
                o[k - 1] = <int64_t>_search_fwd(&self.fm, &ctx[0], m - k, m, &s, &e)
                if o[k - 1] == 0:
                    break
        return out


cdef class ByteLM:
    """LM queries on one (forward) byte shard: longest matching suffix, next-byte counts."""
    cdef fm_shard_t fm
    cdef readonly object arrays
    cdef readonly uint64_t n_rows
    cdef readonly uint64_t num_bytes
    cdef readonly object present       # byte values (uint8) that occur in the shard

    def __init__(self, dict arrays, dict params):
        self.arrays = arrays
        fm_shard_init(&self.fm, arrays, params)
        self.n_rows = self.fm.n_rows
        self.num_bytes = params["num_bytes"]
        C = np.asarray(arrays["C"]).astype(np.int64)
        freq = np.diff(C)[:256].copy()
        sep = int(params["sep"])
        if sep < 256:
            freq[sep] = 0
        self.present = np.flatnonzero(freq > 0).astype(np.uint8)

    def locate_rows(self, const uint64_t[::1] rows):
        """Text positions (uint64) of arbitrary rows (each in [1, n_rows)), batched."""
        cdef Py_ssize_t n = rows.shape[0], i
        out = np.empty(n, dtype=np.uint64)
        if n == 0:
            return out
        for i in range(n):
            if rows[i] < 1 or rows[i] >= self.fm.n_rows:
                raise ValueError("row out of range")
        cdef uint64_t[::1] o = out
        with nogil:
            fm_locate_batch(&self.fm, &rows[0], n, &o[0])
        return out

    def longest_suffix(self, const uint8_t[::1] ctx):
        """(k, count): the longest suffix of ctx that occurs in the shard and its count,
        by incremental backward search from the end of ctx (k = 0: count = every text byte)."""
        cdef uint64_t m = ctx.shape[0], k = 0, s = 0, e = self.fm.n_rows
        cdef int64_t i
        with nogil:
            i = <int64_t>m - 1
            while i >= 0:
                if not _step(&self.fm, ctx[i], &s, &e):
                    break
                k += 1
                i -= 1
        if k == 0:
            return 0, self.num_bytes
        return k, e - s

    def suffix_counts(self, const uint8_t[::1] ctx):
        """count(ctx[-k:]) for k = 1..m (int64; zeros after the first zero)."""
        cdef uint64_t m = ctx.shape[0], k = 0, s = 0, e = self.fm.n_rows
        cdef int64_t i
        out = np.zeros(m, dtype=np.int64)
        cdef int64_t[::1] o = out
        with nogil:
            i = <int64_t>m - 1
            while i >= 0:
                if not _step(&self.fm, ctx[i], &s, &e):
                    break
                o[k] = <int64_t>(e - s)
                k += 1
                i -= 1
        return out

    def next_counts(self, const uint8_t[::1] ctx, const uint8_t[::1] conts, int num_threads=1):
        """count(ctx + b) for each byte b of ``conts`` (int64), batched and interleaved."""
        cdef Py_ssize_t n = conts.shape[0], m = ctx.shape[0], i, j
        out = np.zeros(n, dtype=np.int64)
        if n == 0:
            return out
        buf = np.empty(n * (m + 1), dtype=np.uint8)
        cdef uint8_t[::1] b = buf
        offs = np.arange(n + 1, dtype=np.int64) * (m + 1)
        cdef const int64_t[::1] ov = offs
        cdef int64_t[::1] o = out
        for i in range(n):
            for j in range(m):
                b[i * (m + 1) + j] = ctx[j]
            b[i * (m + 1) + m] = conts[i]
        with nogil:
            fm_count_batch(&self.fm, &b[0], &ov[0], n, <int64_t>self.num_bytes, &o[0])
        return out


def cnf_first_windows(const int64_t[::1] doc, const int64_t[::1] pos, const int64_t[::1] end,
                      const int32_t[::1] clause, int n_clauses, int64_t max_gap):
    """Documents holding a window in which every clause occurs, the starts of the first and
    last occurrence at most ``max_gap`` apart.

    Inputs: occurrences sorted by (doc, pos), ``end`` = pos + n-gram length, clause in
    [0, n_clauses).  Returns (docs, starts, ends) int64: per matching document, the first
    such window (by its last occurrence), from its first start to its furthest end.
    Two pointers per document: O(occurrences).
    """
    cdef Py_ssize_t n = doc.shape[0], l = 0, r, k
    cdef int covered = 0
    cdef int64_t cur = -1, skip_doc = -1, best_end
    cnt_arr = np.zeros(max(n_clauses, 1), dtype=np.int64)
    cdef int64_t[::1] cnt = cnt_arr
    out_d = []
    out_s = []
    out_e = []
    for r in range(n):
        if doc[r] != cur:
            cur = doc[r]
            for k in range(n_clauses):
                cnt[k] = 0
            covered = 0
            l = r
        if doc[r] == skip_doc:
            continue
        if clause[r] < 0 or clause[r] >= n_clauses:
            raise ValueError("clause id out of range")
        if cnt[clause[r]] == 0:
            covered += 1
        cnt[clause[r]] += 1
        while covered == n_clauses:
            if pos[r] - pos[l] <= max_gap:
                best_end = 0
                for k in range(l, r + 1):
                    if end[k] > best_end:
                        best_end = end[k]
                out_d.append(doc[r])
                out_s.append(pos[l])
                out_e.append(best_end)
                skip_doc = doc[r]
                break
            cnt[clause[l]] -= 1
            if cnt[clause[l]] == 0:
                covered -= 1
            l += 1
    return (np.asarray(out_d, dtype=np.int64), np.asarray(out_s, dtype=np.int64),
            np.asarray(out_e, dtype=np.int64))


def scan_windows(const uint32_t[::1] text, const int64_t[::1] woff, const uint32_t[::1] pbuf,
                 const int64_t[::1] poff):
    """All occurrences of the patterns pbuf[poff[j]:poff[j+1]] inside each window
    text[woff[i]:woff[i+1]] (no match crosses a window).  Returns (window, offset in the
    window, pattern) as int64 arrays."""
    cdef Py_ssize_t nw = woff.shape[0] - 1, npat = poff.shape[0] - 1
    cdef Py_ssize_t i, j, p, q, m, a, b
    cdef bint ok
    ow = []
    oo = []
    op = []
    for i in range(nw):
        a = woff[i]
        b = woff[i + 1]
        for j in range(npat):
            m = poff[j + 1] - poff[j]
            if m <= 0:
                continue
            for p in range(a, b - m + 1):
                if text[p] != pbuf[poff[j]]:
                    continue
                ok = True
                for q in range(1, m):
                    if text[p + q] != pbuf[poff[j] + q]:
                        ok = False
                        break
                if ok:
                    ow.append(i)
                    oo.append(p - a)
                    op.append(j)
    return (np.asarray(ow, dtype=np.int64), np.asarray(oo, dtype=np.int64),
            np.asarray(op, dtype=np.int64))
