# cython: language_level=3
"""FMShard: the query face of one index shard (kernels in fm_shard.pxd).

The shard is built from named arrays (numpy arrays or read-only memory maps,
see fmindex/shard.py for the files) and never copies them.  Validation of the
arrays happens in Python before any kernel runs; the kernels trust them.
"""
import os

import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.object cimport PyObject
from cpython.exc cimport PyErr_Clear
from libc.stdint cimport uint64_t, int64_t, uint32_t, uint8_t
from libc.stdlib cimport malloc, free
from fm_shard cimport (fm_shard_t, symbol_t, fm_shard_init, fm_backward_search, fm_locate_row,
                      fm_extract, fm_doc_bounds, fm_doc_of, fm_tetra_bucket, TETRA_SLOTS,
                      TETRA_WORDS, TETRA_COUNT_BITS, fm_tri_range, fm_ngram_bucket,
                      NGRAM_SLOTS, NGRAM_WORDS, NGRAM_MIN, NGRAM_MAX, NGRAM_COUNT_BITS,
                      KMER_ABSENT)
from fm_batch cimport fm_locate_batch, fm_extract_batch, fm_count_batch_at, CLAIM
from wavelet_tree cimport wt_rank, wt_rank_pair
from elias_fano cimport ef_t, ef_predecessor_at, ef_next_one, ef_low

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size)


cdef enum:
    # One count of a pattern this short takes ~0.1-2 us: it keeps the GIL, whose release
    # and reacquisition (~35 ns) would be a sizeable share of it; longer ones release it.
    GIL_HELD_MAX_PATTERN = 16

cnp.import_array()

cdef extern from "Python.h":
    # borrowed-reference forms, for the pointer-collecting loop of pattern_refs
    PyObject *_tuple_item "PyTuple_GET_ITEM"(object t, Py_ssize_t i)
    bint _is_bytes "PyBytes_CheckExact"(PyObject *o)
    bint _is_str "PyUnicode_CheckExact"(PyObject *o)
    bint _is_compact_ascii "PyUnicode_IS_COMPACT_ASCII"(PyObject *o)
    char *_bytes_data "PyBytes_AS_STRING"(PyObject *o)
    Py_ssize_t _bytes_size "PyBytes_GET_SIZE"(PyObject *o)
    void *_str_data "PyUnicode_DATA"(PyObject *o)
    Py_ssize_t _str_length "PyUnicode_GET_LENGTH"(PyObject *o)

cdef class PatternRefs:
    """Byte patterns the count kernels read where they are: each one's data pointer, and
    offsets[k] = total length of patterns 0 .. k - 1.  Built by :func:`pattern_refs`; holds a
    tuple of the pattern objects (immutable bytes / str), so the pointers stay valid while it
    lives, whatever the caller does to its list meanwhile."""
    cdef object keep
    cdef const uint8_t **ptrs
    cdef int64_t *offsets
    cdef readonly Py_ssize_t n

    def __dealloc__(self):
        free(self.ptrs)
        free(self.offsets)

    def __len__(self):
        return self.n


def pattern_refs(patterns, uint64_t max_len):
    """PatternRefs of a list or tuple whose items are all exactly ``bytes`` or ASCII ``str``
    (its bytes are its UTF-8), each of at most ``max_len`` bytes; None otherwise (the caller
    then converts and copies).  About 2 ns per pattern: no Python call per item."""
    if type(patterns) is not list and type(patterns) is not tuple:
        return None
    cdef tuple t = tuple(patterns)
    cdef Py_ssize_t n = len(t), i
    cdef PyObject *o
    cdef int64_t m, total = 0
    cdef PatternRefs r = PatternRefs.__new__(PatternRefs)
    r.keep = t
    r.ptrs = <const uint8_t **>malloc(max(n, 1) * sizeof(uint8_t *))
    r.offsets = <int64_t *>malloc((n + 1) * sizeof(int64_t))
    if r.ptrs == NULL or r.offsets == NULL:
        raise MemoryError()
    r.offsets[0] = 0
    for i in range(n):
        o = _tuple_item(t, i)
        if _is_bytes(o):
            r.ptrs[i] = <const uint8_t *>_bytes_data(o)
            m = _bytes_size(o)
        elif _is_str(o) and _is_compact_ascii(o):
            r.ptrs[i] = <const uint8_t *>_str_data(o)
            m = _str_length(o)
        else:
            return None
        if <uint64_t>m > max_len:
            return None
        total += m
        r.offsets[i + 1] = total
    r.n = n
    return r


#: count_many uses threads from this many pattern symbols on.  Waking the passive OpenMP worker
#: costs ~50-100 us (design.md §4), and a symbol 10-20 ns of one thread in a batch: with
#: 16-byte patterns, fresh ones each call, back to back, 2 threads are 0.95-1.21x one at
#: 4,096 symbols, 1.39x at 8,192 (C, English).  A pair-occurrence shard (DNA) takes two
#: symbols per step at ~5 ns a symbol: 0.64x at 4,096, 1.01x at 8,192, 1.25x at 16,384,
#: 1.47x at 32,768 (design.md §4c).
cdef enum:
    PARALLEL_MIN_SYMBOLS = 4096
    PAIR_PARALLEL_MIN_SYMBOLS = 8192

# for tests: batches below run on 1 thread
COUNT_PARALLEL_MIN_SYMBOLS = PARALLEL_MIN_SYMBOLS
PAIR_COUNT_PARALLEL_MIN_SYMBOLS = PAIR_PARALLEL_MIN_SYMBOLS


cdef void _count_run(const fm_shard_t *fm, const symbol_t **pats, const symbol_t *buf,
                     const int64_t *offsets, Py_ssize_t n, int64_t total, int64_t *out,
                     int num_threads) noexcept nogil:
    """out[k] = count of pattern k (fm_count_batch_at).  With num_threads > 1 every thread
    runs one kernel call over the whole batch, taking CLAIM patterns at a time from a shared
    counter: one lane drain per thread, at the end, and the threads finish within a few
    patterns of each other, whichever starts late or runs slower."""
    cdef uint64_t claimed = 0
    cdef uint64_t *claim = &claimed
    cdef int k
    cdef int64_t min_symbols = (PAIR_PARALLEL_MIN_SYMBOLS if fm.wt.arity == 16
                                else PARALLEL_MIN_SYMBOLS)
    if num_threads <= 1 or n < 2 * CLAIM or offsets[n] - offsets[0] < min_symbols:
        fm_count_batch_at(fm, pats, buf, offsets, <uint64_t>n, total, out, NULL)
        return
    for k in prange(num_threads, schedule="static", chunksize=1, num_threads=num_threads):
        fm_count_batch_at(fm, pats, buf, offsets, <uint64_t>n, total, out, claim)


cdef uint64_t _tetra_bucket_errors(const fm_shard_t *loc, const uint32_t *bk, uint64_t b,
                                   uint64_t nb) noexcept nogil:
    """Slots of 4/5-gram bucket b whose key is not hashed to b or whose (first row, count)
    is not the backward search's (``loc``: the index without the table)."""
    cdef uint64_t bad = 0, sp, cnt, want
    cdef uint32_t key, cw
    cdef uint8_t q[5]
    cdef int j, five
    for j in range(TETRA_SLOTS):
        cw = bk[2 * TETRA_SLOTS + j]
        if cw == 0:
            continue
        key = bk[j]
        five = (bk[TETRA_WORDS - 1] >> j) & 1
        q[0] = <uint8_t>(cw >> TETRA_COUNT_BITS)
        q[1] = <uint8_t>(key >> 24)
        q[2] = <uint8_t>(key >> 16)
        q[3] = <uint8_t>(key >> 8)
        q[4] = <uint8_t>key
        want = cw & ((1 << TETRA_COUNT_BITS) - 1) if five else cw
        cnt = fm_backward_search(loc, &q[1 - five], 4 + five, &sp)
        if fm_tetra_bucket(key, nb) != b or cnt != want or sp != bk[TETRA_SLOTS + j]:
            bad += 1
    return bad


cdef uint64_t _tetra_bucket_structure_errors(const fm_shard_t *fm, const uint32_t *bk,
                                             uint64_t b, uint64_t nb) noexcept nogil:
    """Violations of the 4/5-gram table's invariants in bucket b: flags only on used slots,
    empty slots all zero, keys hashed to b, no separator byte, no entry twice, rows inside
    the n_rows and inside those of the string's first two bytes (pair table) and, when the
    triple table covers them, first three bytes."""
    cdef uint64_t bad = 0, first, end, ts, te, cnt
    cdef uint32_t flags = bk[TETRA_WORDS - 1], key, w, y, x0, x1, x2, x3, b0, b1, b2
    cdef int j, i, five
    if flags >> TETRA_SLOTS:
        bad += 1
    for j in range(TETRA_SLOTS):
        w = bk[2 * TETRA_SLOTS + j]
        five = (flags >> j) & 1
        if w == 0:
            if bk[j] != 0 or bk[TETRA_SLOTS + j] != 0 or five:
                bad += 1
            continue
        key = bk[j]
        x0 = key >> 24
        x1 = (key >> 16) & 255
        x2 = (key >> 8) & 255
        x3 = key & 255
        if five:
            y = w >> TETRA_COUNT_BITS
            cnt = w & ((1 << TETRA_COUNT_BITS) - 1)
            b0, b1, b2 = y, x0, x1
        else:
            y = 256
            cnt = w
            b0, b1, b2 = x0, x1, x2
        first = bk[TETRA_SLOTS + j]
        end = first + cnt
        if (fm_tetra_bucket(key, nb) != b or cnt == 0 or first < 1 or end > fm.n_rows
                or x0 == fm.sep or x1 == fm.sep or x2 == fm.sep or x3 == fm.sep
                or y == fm.sep):
            bad += 1
            continue
        if first < fm.pair_rows[b0 * 257 + b1] or end > fm.pair_rows[b0 * 257 + b1 + 1]:
            bad += 1
            continue
        if fm_tri_range(fm, b0, b1, b2, &ts, &te) and (first < ts or end > te):
            bad += 1
            continue
        for i in range(j):                  # the same string in an earlier slot
            if (bk[i] == key and bk[2 * TETRA_SLOTS + i] != 0
                    and ((flags >> i) & 1) == <uint32_t>five
                    and (not five or (bk[2 * TETRA_SLOTS + i] >> TETRA_COUNT_BITS) == y)):
                bad += 1
    return bad


cdef inline bint _ngram_slot(const uint64_t *bk, int j, uint64_t *key, uint64_t *k,
                             uint64_t *first, uint64_t *cnt) noexcept nogil:
    """Unpack slot j of an n-gram bucket; False for an empty slot (both words 0)."""
    cdef uint64_t w = bk[2 * j + 1]
    key[0] = bk[2 * j]
    k[0] = w >> 60
    first[0] = w & <uint64_t>0xFFFFFFFF
    cnt[0] = (w >> 32) & ((<uint64_t>1 << NGRAM_COUNT_BITS) - 1)
    return w != 0 or key[0] != 0


cdef uint64_t _ngram_bucket_errors(const fm_shard_t *loc, const uint64_t *bk, uint64_t b,
                                   uint64_t nb) noexcept nogil:
    """Slots of n-gram bucket b whose (first row, count) is not the backward search's of
    their string (``loc``: the index without the table)."""
    cdef uint64_t bad = 0, sp, cnt, key, k, first, got
    cdef uint8_t q[NGRAM_MAX]
    cdef int j
    cdef uint64_t i
    for j in range(NGRAM_SLOTS):
        if not _ngram_slot(bk, j, &key, &k, &first, &cnt):
            continue
        if k < NGRAM_MIN or k > NGRAM_MAX:
            bad += 1
            continue
        for i in range(k):
            q[i] = <uint8_t>(key >> (8 * (k - 1 - i)))
        got = fm_backward_search(loc, &q[0], k, &sp)
        if got != cnt or sp != first:
            bad += 1
    return bad


cdef uint64_t _ngram_bucket_structure_errors(const fm_shard_t *fm, const uint64_t *bk,
                                             uint64_t b, uint64_t nb) noexcept nogil:
    """Violations of the n-gram table's invariants in bucket b: empty slots all zero, used
    slots of a length 4..8 whose key has no bytes beyond it, hashed to b, no separator
    byte, no entry twice, count > 0, rows inside the n_rows and inside those of the string's
    first two bytes (pair table) and, when the triple table covers them, first three."""
    cdef uint64_t bad = 0, key, k, first, cnt, end, ts, te, key2, k2, f2, c2
    cdef uint32_t b0, b1, b2, x
    cdef uint64_t i
    cdef int j, jj, sep_seen
    for j in range(NGRAM_SLOTS):
        if not _ngram_slot(bk, j, &key, &k, &first, &cnt):
            continue
        if k < NGRAM_MIN or k > NGRAM_MAX or (k < 8 and (key >> (8 * k)) != 0):
            bad += 1
            continue
        end = first + cnt
        sep_seen = 0
        for i in range(k):
            x = <uint32_t>((key >> (8 * i)) & 255)
            if x == fm.sep:
                sep_seen = 1
        if (cnt == 0 or sep_seen or fm_ngram_bucket(key, k, nb) != b or first < 1
                or end > fm.n_rows):
            bad += 1
            continue
        b0 = <uint32_t>((key >> (8 * (k - 1))) & 255)
        b1 = <uint32_t>((key >> (8 * (k - 2))) & 255)
        b2 = <uint32_t>((key >> (8 * (k - 3))) & 255)
        if first < fm.pair_rows[b0 * 257 + b1] or end > fm.pair_rows[b0 * 257 + b1 + 1]:
            bad += 1
            continue
        if fm_tri_range(fm, b0, b1, b2, &ts, &te) and (first < ts or end > te):
            bad += 1
            continue
        for jj in range(j):                 # the same string in an earlier slot
            if _ngram_slot(bk, jj, &key2, &k2, &f2, &c2) and key2 == key and k2 == k:
                bad += 1
    return bad


cdef uint64_t _kmer_entry_errors(const fm_shard_t *loc, const uint32_t *kmer,
                                 const uint8_t *byte_of, uint64_t idx, uint64_t k) noexcept nogil:
    """1 if entry idx of the k-mer table is not the backward search's (first row, count) of
    its string (count 0: first row 0), else 0."""
    cdef uint8_t q[32]
    cdef uint64_t i, sp = 0, cnt
    for i in range(k):
        q[k - 1 - i] = byte_of[(idx >> (2 * i)) & 3]
    cnt = fm_backward_search(loc, &q[0], k, &sp)
    if cnt != kmer[2 * idx + 1]:
        return 1
    if cnt and sp != kmer[2 * idx]:
        return 1
    if cnt == 0 and kmer[2 * idx] != 0:
        return 1
    return 0


def _cache_sizes():
    """{level: bytes} of this CPU's data (or unified) caches, from Linux's sysfs (os.sysconf
    knows no cache sizes); empty where that is not readable."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    sizes = {}
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return sizes
    for name in names:
        try:
            with open(os.path.join(base, name, "level")) as fh:
                level = int(fh.read())
            with open(os.path.join(base, name, "type")) as fh:
                kind = fh.read().strip()
            with open(os.path.join(base, name, "size")) as fh:
                size = fh.read().strip()
            mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:].upper(), 1)
            value = int(size.rstrip("KkMmGg")) * mult
        except (OSError, ValueError):
            continue
        if kind != "Instruction":
            sizes.setdefault(level, value)
    return sizes


#: a pair-occurrence table larger than the last-level cache makes one search request the
#: blocks of several steps ahead from guesses, and 4-ary trees larger than twice the L2 the
#: root lines of the next steps (design.md §4c): smaller ones stay cached, and the
#: guesses cost them more (1.07-1.3x the time of a count) than they hide
_CACHES = _cache_sizes()
LAST_LEVEL_CACHE_BYTES = _CACHES.get(3, 32 << 20)
L2_CACHE_BYTES = _CACHES.get(2, 1 << 20)

#: steps past the next one that a search over a large pair-occurrence table requests
SEARCH_AHEAD = 4
#: steps whose root lines a search over large 4-ary trees requests
TREE_SEARCH_AHEAD = 2


cdef class FMShard:
    """One FM-index shard over documents; all positions are shard-local."""
    cdef fm_shard_t fm
    cdef readonly object arrays
    cdef readonly uint64_t num_bytes     # text bytes (separators excluded)

    def __init__(self, dict arrays, dict params):
        self.arrays = arrays
        fm_shard_init(&self.fm, arrays, params)
        self.num_bytes = params["num_bytes"]
        # the pair-occurrence table and the 4-ary trees' lines are both "wt_lines"
        if self.fm.wt.arity == 16 and arrays["wt_lines"].nbytes > LAST_LEVEL_CACHE_BYTES:
            self.fm.wt.pocc.ahead = SEARCH_AHEAD
        if self.fm.wt.arity == 4 and arrays["wt_lines"].nbytes > 2 * L2_CACHE_BYTES:
            self.fm.wt.qahead = TREE_SEARCH_AHEAD

    @property
    def search_ahead(self):
        """Steps ahead whose lines a single count requests from guessed rows: over a
        pair-occurrence table, steps past the next one (SEARCH_AHEAD); over 4-ary trees, the
        next steps' root lines (TREE_SEARCH_AHEAD); 0 when the structure stays cached (a
        table within the last-level cache, trees within twice the L2), and for other trees.
        Settable (0-16), for tests and benchmarks; answers never depend on it."""
        if self.fm.wt.arity == 4:
            return self.fm.wt.qahead
        return self.fm.wt.pocc.ahead

    @search_ahead.setter
    def search_ahead(self, unsigned int k):
        if k > 16:
            raise ValueError("search_ahead must be in 0..16")
        if self.fm.wt.arity == 4:
            self.fm.wt.qahead = k
        elif self.fm.wt.arity == 16:
            self.fm.wt.pocc.ahead = k

    @property
    def n_docs(self):
        return self.fm.n_docs

    @property
    def n_rows(self):
        return self.fm.n_rows

    def count(self, bytes pattern):
        """Occurrences of a pattern (bytes; the text's length for b"")."""
        return self._count_at(<const uint8_t *>PyBytes_AS_STRING(pattern),
                              <uint64_t>PyBytes_GET_SIZE(pattern))

    cdef uint64_t _count_at(self, const uint8_t *p, uint64_t m):
        """Occurrences of the m bytes at p (the text's length for m = 0)."""
        cdef uint64_t sp
        if m == 0:
            return self.num_bytes
        if m <= GIL_HELD_MAX_PATTERN:
            return fm_backward_search(&self.fm, p, m, &sp)
        with nogil:
            m = fm_backward_search(&self.fm, p, m, &sp)
        return m

    def count_checked(self, pattern, Py_ssize_t max_bytes):
        """``count`` of a ``bytes`` pattern, or of a ``str`` one as UTF-8, of at most
        ``max_bytes`` bytes; -1 for anything else (other types, longer patterns, strings
        that are not valid Unicode), which the caller's slow path then explains: the
        whole of ``Index.count``'s fast path in one call."""
        cdef const char *p
        cdef Py_ssize_t n
        if type(pattern) is bytes:
            n = PyBytes_GET_SIZE(pattern)
            p = PyBytes_AS_STRING(pattern)
        elif type(pattern) is str:
            p = PyUnicode_AsUTF8AndSize(pattern, &n)
            if p == NULL:               # lone surrogates: the caller raises PatternError
                PyErr_Clear()
                return -1
        else:
            return -1
        if n > max_bytes:
            return -1
        return self._count_at(<const uint8_t *>p, <uint64_t>n)

    def search(self, bytes pattern):
        """(first row, count) of the pattern's suffix-array range."""
        cdef uint64_t sp, cnt, m = PyBytes_GET_SIZE(pattern)
        cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(pattern)
        if m == 0:
            raise ValueError("empty pattern has no single range")
        with nogil:
            cnt = fm_backward_search(&self.fm, p, m, &sp)
        return sp, cnt

    def count_ids(self, const uint32_t[::1] pattern):
        """Occurrences of a non-empty symbol-id pattern (token shards)."""
        cdef uint64_t sp, m = pattern.shape[0]
        if m == 0:
            return self.num_bytes
        with nogil:
            m = fm_backward_search(&self.fm, &pattern[0], m, &sp)
        return m

    def search_ids(self, const uint32_t[::1] pattern):
        """(first row, count) of a non-empty symbol-id pattern's suffix-array range."""
        cdef uint64_t sp, cnt, m = pattern.shape[0]
        if m == 0:
            raise ValueError("empty pattern has no single range")
        with nogil:
            cnt = fm_backward_search(&self.fm, &pattern[0], m, &sp)
        return sp, cnt

    def count_many(self, const symbol_t[::1] buf, const int64_t[::1] offsets, int num_threads=1):
        """Counts of patterns buf[offsets[i]:offsets[i+1]] (int64 array).  GIL released.

        ``buf`` is uint8 (byte shards) or uint32 (token shards, compact ids).
        """
        cdef Py_ssize_t n = offsets.shape[0] - 1, i
        out = np.zeros(max(n, 0), dtype=np.int64)
        if n <= 0:
            return out
        cdef int64_t[::1] o = out
        cdef const symbol_t *base = &buf[0] if buf.shape[0] else NULL
        cdef int64_t total = <int64_t>self.num_bytes
        for i in range(n):
            if offsets[i] < 0 or offsets[i + 1] < offsets[i] or offsets[i + 1] > buf.shape[0]:
                raise ValueError("pattern offsets out of range")
        with nogil:
            _count_run(&self.fm, <const symbol_t **>NULL, base, &offsets[0], n, total, &o[0],
                       num_threads)
        return out

    def count_each(self, const uint8_t[::1] buf, const int64_t[::1] offsets):
        """Counts (int64 array) of byte patterns buf[offsets[i]:offsets[i+1]], one backward
        search after the other on one thread: what ``count`` does per call, without the
        Python call (no interleaving, unlike count_many).  For timing the one-at-a-time
        kernel against C++ loops such as sdsl's harness.  GIL released."""
        cdef Py_ssize_t n = offsets.shape[0] - 1, i
        out = np.zeros(max(n, 0), dtype=np.int64)
        if n <= 0:
            return out
        cdef int64_t[::1] o = out
        cdef const uint8_t *base = &buf[0] if buf.shape[0] else NULL
        cdef uint64_t sp, m
        cdef int64_t total = <int64_t>self.num_bytes
        for i in range(n):
            if offsets[i] < 0 or offsets[i + 1] < offsets[i] or offsets[i + 1] > buf.shape[0]:
                raise ValueError("pattern offsets out of range")
        with nogil:
            for i in range(n):
                m = <uint64_t>(offsets[i + 1] - offsets[i])
                if m == 0:
                    o[i] = total
                else:
                    o[i] = <int64_t>fm_backward_search(&self.fm, base + offsets[i], m, &sp)
        return out

    def count_refs(self, PatternRefs refs not None, int num_threads=1):
        """Counts (int64 array) of byte patterns read in place (:func:`pattern_refs`).
        GIL released."""
        cdef Py_ssize_t n = refs.n
        out = np.zeros(n, dtype=np.int64)
        if n == 0:
            return out
        cdef int64_t[::1] o = out
        with nogil:
            _count_run(&self.fm, refs.ptrs, <const uint8_t *>NULL, refs.offsets, n,
                       <int64_t>self.num_bytes, &o[0], num_threads)
        return out

    def pair_rows_table(self):
        """The pair table of this (byte) shard: uint32 (256 * 257,), entry a * 257 + j =
        C[a] + rank_a(C[j]) = first row of the suffixes "a x" with x >= j."""
        if self.fm.wt.sigma > 257 or self.fm.n_rows >= (<uint64_t>1 << 32):
            raise ValueError("pair tables are for byte shards of < 2^32 rows")
        out = np.zeros(256 * 257, dtype=np.uint32)
        cdef uint32_t[::1] o = out
        cdef uint32_t a, j
        cdef uint64_t cj
        cdef bint absent
        with nogil:
            for a in range(256):
                # the separator and absent bytes start no suffix: empty ranges at C[a]
                absent = (a == self.fm.sep or a >= self.fm.wt.sigma
                          or self.fm.C[a + 1] == self.fm.C[a])
                for j in range(257):
                    if absent:
                        o[a * 257 + j] = <uint32_t>self.fm.C[a]
                    else:
                        cj = self.fm.C[j] if j <= self.fm.wt.sigma else self.fm.n_rows
                        o[a * 257 + j] = <uint32_t>(self.fm.C[a] + wt_rank(&self.fm.wt, a, cj))
        return out

    def tri_rows_table(self, pair_rows, uint64_t max_entries, int num_threads=2):
        """The triple table of this byte shard (needs its pair table), or None if fewer than
        8 (or all, if fewer occur) first/second bytes fit in ``max_entries``: (tri_map uint16[512], tri_rows uint32[K
        * K * (nz + 1)]).  The nz bytes that occur (the separator included) are third-byte
        ids in byte order (tri_map[256 + c]); the K most frequent, as many as fit, are
        first/second-byte ids (tri_map[c]).  Entry (a' K + b') (nz + 1) + z' = C[a] +
        rank_a(pair_rows[b * 257 + byte z'], byte nz = 256): the rows of "a b c" are
        [entry(a', b', c'), entry(a', b', c' + 1)), since bytes between two that occur start
        no suffix."""
        if self.fm.wt.sigma > 256 or self.fm.n_rows >= (<uint64_t>1 << 32):
            raise ValueError("triple tables are for byte shards of < 2^32 rows, sep < 256")
        cdef const uint32_t[::1] pr = pair_rows
        if pr.shape[0] != 256 * 257:
            raise ValueError("pair table has the wrong size")
        present = [c for c in range(256) if c == self.fm.sep
                   or (c < self.fm.wt.sigma and self.fm.C[c + 1] > self.fm.C[c])]
        nz = len(present)
        freq = sorted((c for c in present if c != self.fm.sep),
                      key=lambda c: (-(self.fm.C[c + 1] - self.fm.C[c]), c))
        K = len(freq)
        while K and K * K * (nz + 1) > max_entries:
            K -= 1
        if K == 0 or K < min(8, len(freq)):
            return None
        tmap = np.full(512, 0xFFFF, dtype=np.uint16)
        tmap[freq[:K]] = np.arange(K, dtype=np.uint16)
        tmap[256 + np.array(present)] = np.arange(nz, dtype=np.uint16)
        first = np.array(freq[:K], dtype=np.uint32)
        byte_of = np.array(present + [256], dtype=np.uint32)
        out = np.zeros(K * K * (nz + 1), dtype=np.uint32)
        cdef uint32_t[::1] o = out
        cdef const uint32_t[::1] fb = first
        cdef const uint32_t[::1] bo = byte_of
        cdef Py_ssize_t ia, ib, iz, nk = K, nzz = nz
        cdef uint32_t a, b
        cdef uint64_t base
        for ia in prange(nk, nogil=True, schedule="dynamic", num_threads=max(1, num_threads)):
            a = fb[ia]
            for ib in range(nk):
                b = fb[ib]
                base = (<uint64_t>ia * nk + ib) * (nzz + 1)
                for iz in range(nzz + 1):
                    o[base + iz] = <uint32_t>(self.fm.C[a] + wt_rank(
                        &self.fm.wt, a, pr[b * 257 + bo[iz]]))
        return tmap, out

    def extend_left(self, const uint32_t[::1] syms, const uint32_t[::1] s,
                    const uint32_t[::1] e, int num_threads=2):
        """Rows of c + X for many (c, X): X's rows [s[i], e[i]) and c = syms[i] (a symbol that
        occurs, not the separator) give [C[c] + rank_c(s), C[c] + rank_c(e)); returns
        (first rows, counts) as uint32 arrays.  One backward-search step each, GIL released
        (the 4-gram table's builder)."""
        cdef Py_ssize_t n = syms.shape[0], i
        if s.shape[0] != n or e.shape[0] != n:
            raise ValueError("arrays of different lengths")
        if self.fm.n_rows >= (<uint64_t>1 << 32):
            raise ValueError("for shards of < 2^32 rows")
        for i in range(n):
            if (syms[i] >= self.fm.wt.sigma or syms[i] == self.fm.sep or s[i] > e[i]
                    or e[i] > self.fm.n_rows):
                raise ValueError("symbol or rows out of range")
        first = np.zeros(n, dtype=np.uint32)
        count = np.zeros(n, dtype=np.uint32)
        cdef uint32_t[::1] fo = first
        cdef uint32_t[::1] co = count
        cdef uint64_t a, b
        for i in prange(n, nogil=True, schedule="static", chunksize=4096,
                        num_threads=max(1, num_threads)):
            a = s[i]
            b = e[i]
            if a < b:
                wt_rank_pair(&self.fm.wt, syms[i], &a, &b)
            else:
                a = wt_rank(&self.fm.wt, syms[i], a)
                b = a
            fo[i] = <uint32_t>(self.fm.C[syms[i]] + a)
            co[i] = <uint32_t>(b - a)
        return first, count

    def tetra_structure_errors(self, int num_threads=2):
        """Violations of the 4/5-gram table's invariants (see _tetra_bucket_structure_errors):
        0 for a sound table or none; ~2 ms per 100 MB of text."""
        if self.fm.tetra == NULL:
            return 0
        cdef Py_ssize_t nb = <Py_ssize_t>self.fm.tetra_nb, b
        cdef const uint32_t *t = self.fm.tetra
        cdef uint64_t bad = 0
        for b in prange(nb, nogil=True, schedule="static", chunksize=4096,
                        num_threads=max(1, num_threads)):
            bad += _tetra_bucket_structure_errors(&self.fm, t + b * TETRA_WORDS, <uint64_t>b,
                                                  <uint64_t>nb)
        return bad

    def tetra_check(self, int num_threads=2):
        """Entries of the 4/5-gram table that disagree with a backward search of their string
        by the triple and pair tables and rank steps (0 for a sound table; no table: 0)."""
        if self.fm.tetra == NULL:
            return 0
        cdef fm_shard_t loc = self.fm          # the same index without the 4-gram table
        loc.tetra = NULL
        cdef Py_ssize_t nb = <Py_ssize_t>self.fm.tetra_nb, b
        cdef const uint32_t *t = self.fm.tetra
        cdef uint64_t bad = 0
        for b in prange(nb, nogil=True, schedule="static", chunksize=1024,
                        num_threads=max(1, num_threads)):
            bad += _tetra_bucket_errors(&loc, t + b * TETRA_WORDS, <uint64_t>b, <uint64_t>nb)
        return bad

    def ngram_structure_errors(self, int num_threads=2):
        """Violations of the n-gram table's invariants (see _ngram_bucket_structure_errors):
        0 for a sound table or none; a few ms per 100 MB of text."""
        if self.fm.ngram == NULL:
            return 0
        cdef Py_ssize_t nb = <Py_ssize_t>self.fm.ngram_nb, b
        cdef const uint64_t *t = self.fm.ngram
        cdef uint64_t bad = 0
        for b in prange(nb, nogil=True, schedule="static", chunksize=4096,
                        num_threads=max(1, num_threads)):
            bad += _ngram_bucket_structure_errors(&self.fm, t + b * NGRAM_WORDS, <uint64_t>b,
                                                  <uint64_t>nb)
        return bad

    def ngram_check(self, int num_threads=2):
        """Entries of the n-gram table that disagree with a backward search of their string
        by the triple and pair tables and rank steps (0 for a sound table; no table: 0)."""
        if self.fm.ngram == NULL:
            return 0
        cdef fm_shard_t loc = self.fm          # the same index without the n-gram table
        loc.ngram = NULL
        loc.tetra = NULL
        cdef Py_ssize_t nb = <Py_ssize_t>self.fm.ngram_nb, b
        cdef const uint64_t *t = self.fm.ngram
        cdef uint64_t bad = 0
        for b in prange(nb, nogil=True, schedule="static", chunksize=1024,
                        num_threads=max(1, num_threads)):
            bad += _ngram_bucket_errors(&loc, t + b * NGRAM_WORDS, <uint64_t>b, <uint64_t>nb)
        return bad

    def kmer_check(self, int num_threads=2):
        """Entries of the k-mer table that disagree with a backward search of their string
        by the other tables and rank steps (0 for a sound table; no table: 0)."""
        if self.fm.kmer == NULL:
            return 0
        cdef fm_shard_t loc = self.fm          # the same index without the k-mer table
        loc.kmer = NULL
        cdef uint8_t byte_of[4]
        cdef int b
        for b in range(256):
            if self.fm.kmer_map[b] != KMER_ABSENT:
                byte_of[self.fm.kmer_map[b]] = <uint8_t>b
        cdef Py_ssize_t n = <Py_ssize_t>1 << (2 * self.fm.kmer_k), i
        cdef uint64_t bad = 0
        for i in prange(n, nogil=True, schedule="static", chunksize=4096,
                        num_threads=max(1, num_threads)):
            bad += _kmer_entry_errors(&loc, self.fm.kmer, byte_of, <uint64_t>i, self.fm.kmer_k)
        return bad

    def locate_rows(self, uint64_t sp, uint64_t count, int num_threads=1):
        """Text positions (uint64, shard-local, unsorted) of rows [sp, sp + count)."""
        if count == 0:
            return np.zeros(0, dtype=np.uint64)
        if sp < 1 or sp + count > self.fm.n_rows:
            raise ValueError("row range out of bounds")
        out = np.empty(count, dtype=np.uint64)
        rows = np.arange(sp, sp + count, dtype=np.uint64)
        cdef uint64_t[::1] o = out
        cdef const uint64_t[::1] rv = rows
        cdef Py_ssize_t chunk = 1024, n_chunks = (count + chunk - 1) // chunk, k, lo, hi
        cdef Py_ssize_t n = count
        if num_threads < 1:
            num_threads = 1
        if num_threads == 1 or n_chunks == 1:
            with nogil:
                fm_locate_batch(&self.fm, &rv[0], n, &o[0])
            return out
        for k in prange(n_chunks, nogil=True, schedule="dynamic", num_threads=num_threads):
            lo = k * chunk
            hi = lo + chunk
            if hi > n:
                hi = n
            fm_locate_batch(&self.fm, &rv[lo], hi - lo, &o[lo])
        return out

    def locate_row_one_by_one(self, uint64_t sp, uint64_t count):
        """Reference (unbatched) locate, for tests and benchmarks."""
        out = np.empty(count, dtype=np.uint64)
        cdef uint64_t[::1] o = out
        cdef uint64_t i
        if count and (sp < 1 or sp + count > self.fm.n_rows):
            raise ValueError("row range out of bounds")
        with nogil:
            for i in range(count):
                o[i] = fm_locate_row(&self.fm, sp + i)
        return out

    def doc_bounds(self, uint64_t doc):
        """(start, end) of shard document ``doc`` in the shard text (end = its separator)."""
        cdef uint64_t s, e
        if doc >= self.fm.n_docs:
            raise IndexError("document out of range")
        fm_doc_bounds(&self.fm, doc, &s, &e)
        return s, e

    def docs_of(self, positions):
        """(doc, offset) int64 arrays of shard text positions (each < N, any order):
        Elias-Fano predecessor searches without the GIL."""
        cdef const uint64_t[::1] p = np.ascontiguousarray(positions, dtype=np.uint64)
        cdef Py_ssize_t n = p.shape[0], i
        docs = np.empty(n, dtype=np.int64)
        offs = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] dv = docs
        cdef int64_t[::1] ov = offs
        cdef uint64_t d = 0, s = 1, nxt = 0, bit, N = self.fm.n_rows - 1, x
        cdef const ef_t *ef = &self.fm.doc_starts
        for i in range(n):
            if p[i] >= N:
                raise ValueError("text position out of range")
        with nogil:
            for i in range(n):
                x = p[i]
                if not (s <= x < nxt):           # not in the previous position's document
                    d = ef_predecessor_at(ef, x, &bit)
                    s = ((bit - d) << ef.L) | ef_low(ef, d)
                    nxt = (((ef_next_one(ef, bit + 1) - d - 1) << ef.L) | ef_low(ef, d + 1)
                           if d + 1 < ef.n else N + 1)
                dv[i] = <int64_t>d
                ov[i] = <int64_t>(x - s)
        return docs, offs

    cdef tuple _clip(self, uint64_t doc, uint64_t start, uint64_t end):
        """(start, end) clipped to document ``doc``: end <= its length, start <= end."""
        if doc >= self.fm.n_docs:
            raise IndexError("document out of range")
        cdef uint64_t s, e
        fm_doc_bounds(&self.fm, doc, &s, &e)
        cdef uint64_t length = e - s
        if end > length:
            end = length
        if start > end:
            start = end
        return start, end

    def extract(self, uint64_t doc, uint64_t start, uint64_t end):
        """Bytes [start, end) of shard document ``doc`` (bounds already validated)."""
        start, end = self._clip(doc, start, end)
        out = PyBytes_FromStringAndSize(NULL, end - start)
        cdef uint8_t *o = <uint8_t *>PyBytes_AS_STRING(out)
        with nogil:
            if end - start <= 2 * self.fm.isa_rate:
                fm_extract(&self.fm, doc, start, end, o)
            else:
                fm_extract_batch(&self.fm, doc, start, end, o)
        return out

    def extract_ids(self, uint64_t doc, uint64_t start, uint64_t end):
        """Symbols [start, end) of shard document ``doc`` as a uint32 array (token shards)."""
        start, end = self._clip(doc, start, end)
        out = np.empty(end - start, dtype=np.uint32)
        cdef uint32_t[::1] o = out
        if end > start:
            with nogil:
                if end - start <= 2 * self.fm.isa_rate:
                    fm_extract(&self.fm, doc, start, end, &o[0])
                else:
                    fm_extract_batch(&self.fm, doc, start, end, &o[0])
        return out


cdef inline uint64_t _count_one(const fm_shard_t *fm, const uint8_t *p, uint64_t m) noexcept nogil:
    cdef uint64_t sp
    return fm_backward_search(fm, p, m, &sp)


def count_shards(list shards, bytes pattern, int num_threads=1):
    """Occurrences of a byte pattern summed over many FMShards, in one call without the
    GIL (the shards split over OpenMP threads when num_threads > 1); the empty pattern
    counts every text byte."""
    cdef Py_ssize_t n = len(shards), i
    cdef uint64_t m = PyBytes_GET_SIZE(pattern)
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(pattern)
    cdef int64_t total = 0
    cdef FMShard sh
    if m == 0:
        return sum(s.num_bytes for s in shards)
    cdef const fm_shard_t **fms = <const fm_shard_t **>malloc(max(n, 1) * sizeof(fm_shard_t *))
    if fms == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            sh = <FMShard?>shards[i]
            fms[i] = &sh.fm
        if num_threads > 1 and n > 1:
            for i in prange(n, nogil=True, schedule="dynamic", num_threads=num_threads):
                total += <int64_t>_count_one(fms[i], p, m)
        else:
            with nogil:
                for i in range(n):
                    total += <int64_t>_count_one(fms[i], p, m)
    finally:
        free(fms)
    return total
