"""One index shard: build it from a text buffer, write it, open it with mmap.

A shard directory holds ``shard.json`` (parameters, per-file size and CRC) and
one array file per component (see ``SHARD_ARRAYS``).  The query kernels are in
``ext/fm_shard.pyx``; this module owns the files and their validation.
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from . import format as fmt
from ._bwt_builder import build_bwt_and_samples
from . import _elias_fano as ef
from ._fm_shard import FMShard
# cache lines per block of the pair-occurrence tables built here (format 1.5's
# po_block_lines: 3, 1.84 lines per rank at 5.05 bits per row) and of 1.4 tables (4, re-laid
# out on open); the kernels read the first only (ext/pair_occ.pxd, docs/design.md 8g)
from ._pair_occ import BLOCK_LINES as PAIR_OCC_BLOCK_LINES, LEGACY_BLOCK_LINES
from ._wavelet_tree import (NODE_DTYPE, QNODE_DTYPE, SINGLE_BLOCK, build_wavelet_tree_arrays,
                            symbol_histogram)
from .corpus import PackedMetadata
from .errors import CorruptIndexError, IndexFormatError

SHARD_KIND = "fmindex-shard"
# byte shards: one Huffman tree per 64 Ki BWT symbols (fixed-block compression boosting);
# measured on 30 MB of C: 3.5 bits/symbol of tree against 5.7 for one global tree
BYTE_BLOCK_SHIFT = 16
META_BLOCK_DOCS = 64
# documents per metadata block of each profile: a metadata lookup decodes one block (~10 µs
# at 64, ~30 µs at 256 documents of the English corpus); "small" takes the larger blocks,
# which compress better (the English corpus's ids: 457 KB -> 317 KB)
PROFILE_META_BLOCK_DOCS = {"fast": 64, "small": 256}
META_BLOCK_DOCS_MAX = 4096
# metadata block codec, chosen per shard as the smaller of the two: "zstd" (format 1.1;
# level 12, ~25 MB/s; on the English ids 27% smaller than zlib, ~3 us to decode a block)
# or "zlib" (level 9; format 1.0 used level 6; as good as zstd on file paths)
META_CODECS = ("zstd", "zlib")
META_ZSTD_LEVEL = 12
META_ZLIB_LEVEL = 9

# build profiles of byte shards: (tree block shift, node-bit layout).  "fast": plain
# RankBitVector lines, one cache line per tree level.  "small": RRR-compressed node bits
# (ext/rrr_bitvector.pxd) under larger blocks (smaller per-block tables); see
# docs/design.md section 7 for the measurements behind the choice.
PROFILES = ("fast", "small")
SMALL_BLOCK_SHIFT = 18
# default (sa_sample, isa_sample) of each profile: "small" samples a quarter as often, which
# with its Elias-Fano sampled rows and ISA sample ranks makes the samples 4.3% of English
# text instead of 15% (locate walks <= 127 LF steps instead of 31; docs/design.md section 7)
PROFILE_SAMPLING = {"fast": (32, 64), "small": (128, 256)}
PROFILE_WT_BITS = {"fast": "plain", "small": "rrr63rc"}
# how each profile stores the rows carrying an SA sample (see SAMPLED_ROWS_ARRAYS): "fast"
# keeps the 256-row blocks (one prefix word and one scan of low bytes per locate step)
PROFILE_SAMPLED_ROWS = {"fast": "blocks", "small": "elias_fano"}
# tree arity of each profile's byte shards: "fast" uses 4-ary Huffman trees over
# QuadRankVector lines (half the levels, so half the dependent cache misses per step);
# "small" keeps binary trees, whose bits RRR compresses

def slots_in_buckets(bucket: np.ndarray) -> np.ndarray:
    """Rank of each entry among the entries of its bucket, for ``bucket`` sorted (runs of
    equal values): 0, 1, 2, ... within each run; the table builders keep the first slots."""
    new_run = np.ones(bucket.shape[0], dtype=bool)
    new_run[1:] = bucket[1:] != bucket[:-1]
    run_start = np.flatnonzero(new_run)
    return np.arange(bucket.shape[0]) - run_start[np.cumsum(new_run) - 1]


def ngram_hash(keys: np.ndarray, k: np.ndarray, n_buckets: int) -> np.ndarray:
    """Buckets of k-grams (keys: the k bytes big-endian, uint64), as ext/fm_shard.pxd's
    fm_ngram_bucket: h = key * 0x9E3779B97F4A7C15 + k * 0xC2B2AE3D27D4EB4F mod 2^64,
    bucket = ((h >> 32) * n_buckets) >> 32."""
    with np.errstate(over="ignore"):
        h = (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + k.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
    return ((h >> np.uint64(32)) * np.uint64(n_buckets)) >> np.uint64(32)


def _longer_grams(fm: FMShard, keys: np.ndarray, first_rows: np.ndarray, counts: np.ndarray,
                  k: int, T: int, budget: int, num_threads: int) -> tuple:
    """The (k + 1)-grams "y m d" from the k-grams (keys: uint64, the k bytes big-endian;
    first rows; counts) of count >= T: the pairs of k-grams "y m" and "m d" (m: k - 1 bytes)
    both of count >= T' (T' >= T, raised until there are at most ``budget`` pairs), each one
    rank step from the rows of "m d" (count("y m d") <= both counts, so no (k + 1)-gram of
    count >= T' is missed).  Returns (keys, first rows, counts) of those that occur, counts
    < 2^NGRAM_COUNT_BITS."""
    none = (np.zeros(0, np.uint64), np.zeros(0, np.uint32), np.zeros(0, np.int64))
    sel = np.flatnonzero(counts >= T)
    if sel.shape[0] == 0:
        return none
    shift = np.uint64(8 * (k - 1))
    mid_l = keys[sel] & np.uint64((1 << (8 * (k - 1))) - 1)     # "y m": m = last k - 1
    mid_r = keys[sel] >> np.uint64(8)                            # "m d": m = first k - 1
    mids, inv = np.unique(np.concatenate([mid_l, mid_r]), return_inverse=True)
    gl, gr = inv[:sel.shape[0]], inv[sel.shape[0]:]
    cs = counts[sel]

    def n_pairs(T2: int) -> int:
        ml = cs >= T2
        nl = np.bincount(gl[ml], minlength=mids.shape[0])
        nr = np.bincount(gr[ml], minlength=mids.shape[0])
        return int((nl * nr).sum())

    lo, hi = T, int(cs.max()) + 1
    if n_pairs(lo) > budget:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if n_pairs(mid) <= budget:
                hi = mid
            else:
                lo = mid
        T = hi
    ml = cs >= T
    li = sel[ml][np.argsort(gl[ml], kind="stable")]       # left k-grams by group
    ri = sel[ml][np.argsort(gr[ml], kind="stable")]
    gli = np.sort(gl[ml])
    gri = np.sort(gr[ml])
    nr = np.bincount(gri, minlength=mids.shape[0])
    offr = np.concatenate(([0], np.cumsum(nr)))
    rep = nr[gli]
    total = int(rep.sum())
    if total == 0:
        return none
    pos = np.repeat(offr[gli] - (np.cumsum(rep) - rep), rep) + np.arange(total)
    left = np.repeat(li, rep)
    right = ri[pos]
    y = (keys[left] >> shift).astype(np.uint32)
    s = first_rows[right]
    e = (first_rows[right].astype(np.int64) + counts[right]).astype(np.uint32)
    f, n = fm.extend_left(y, s, e, num_threads)
    keep = (n > 0) & (n < (1 << NGRAM_COUNT_BITS))
    new_keys = (y.astype(np.uint64) << np.uint64(8 * k)) | keys[right]
    return new_keys[keep], f[keep], n[keep].astype(np.int64)


def ngram_rows_table(fm: FMShard, tri_map: np.ndarray, tri_rows: np.ndarray, n_buckets: int,
                     sep: int, num_threads: int = 2) -> np.ndarray:
    """The n-gram table of a byte shard with a triple table: uint64 (n_buckets * 8,).

    Bucket b = 4 slots of 2 words: key (the k bytes big-endian) and first row | count << 32
    | k << 60, for strings of k = 4..8 bytes; empty slots are all 0.  Every string is hashed
    with its length to one bucket (ngram_hash), and each bucket keeps its most frequent
    strings (ties: the longer first).  Candidates: the 4-grams of four_gram_candidates, then
    level by level the (k + 1)-grams joined from the k-grams (_longer_grams); no string
    rarer than the slots-th most frequent 4-gram is ranked (it could not get in)."""
    out = np.zeros(n_buckets * NGRAM_WORDS, dtype=np.uint64)
    slots = NGRAM_SLOTS * n_buckets
    budget = NGRAM_CANDIDATES_PER_SLOT * slots
    k4, f4, c4 = four_gram_candidates(fm, tri_map, tri_rows, 2 * budget, sep, num_threads)
    keep = c4 < (1 << NGRAM_COUNT_BITS)
    keys, first_rows, counts = [k4[keep].astype(np.uint64)], [f4[keep]], [c4[keep].astype(np.int64)]
    if keys[0].shape[0] == 0:
        return out
    T = max(1, int(np.partition(counts[0], -slots)[-slots]) if counts[0].shape[0] >= slots else 1)
    for k in range(NGRAM_MIN, NGRAM_MAX):
        kk, ff, cc = _longer_grams(fm, keys[-1], first_rows[-1], counts[-1], k, T, budget,
                                   num_threads)
        keys.append(kk)
        first_rows.append(ff)
        counts.append(cc)
        if kk.shape[0] == 0:
            break
    length = np.concatenate([np.full(a.shape[0], NGRAM_MIN + i, np.uint64)
                             for i, a in enumerate(keys)])
    allk = np.concatenate(keys)
    allf = np.concatenate(first_rows).astype(np.uint64)
    alln = np.concatenate(counts).astype(np.uint64)
    bucket = ngram_hash(allk, length, n_buckets)
    # by bucket, then count descending, then length descending: one uint64 sort key
    # (bucket < 2^32 in 32 bits, count < 2^28 in 28, 8 - k in 4)
    order = np.argsort((bucket << np.uint64(32))
                       | ((np.uint64((1 << NGRAM_COUNT_BITS) - 1) - alln) << np.uint64(4))
                       | (np.uint64(NGRAM_MAX) - length), kind="stable")
    bucket = bucket[order].astype(np.int64)
    slot = slots_in_buckets(bucket)
    ok = slot < NGRAM_SLOTS
    order, bucket, slot = order[ok], bucket[ok], slot[ok]
    base = bucket * NGRAM_WORDS + 2 * slot
    out[base] = allk[order]
    out[base + 1] = allf[order] | (alln[order] << np.uint64(32)) | (length[order] << np.uint64(60))
    return out


def dominant_letters(C: np.ndarray, sep: int, min_share: float) -> "Optional[np.ndarray]":
    """The 4 most frequent bytes (ascending; the separator aside) of a byte shard whose C
    array is ``C``, if they are >= ``min_share`` of its text and all occur, else None."""
    counts = np.diff(C[:257].astype(np.int64))
    if 0 <= sep < 256:
        counts[sep] = 0
    total = int(counts.sum())
    if total == 0:
        return None
    top = np.sort(np.argsort(-counts, kind="stable")[:4])
    if counts[top].sum() < min_share * total or np.any(counts[top] == 0):
        return None
    return top


def kmer_table(fm: FMShard, C: np.ndarray, sep: int, n_text: int,
               num_threads: int = 2, k: Optional[int] = None) -> "Optional[tuple]":
    """(kmer_map, kmer_rows) of a byte shard whose 4 most frequent bytes (the separator
    aside) are >= KMER_MIN_SHARE of its text, else None.  kmer_map[b] = code 0..3 of byte b
    among the 4 in byte order (0xFF for the others); kmer_rows = (first row, count) of every
    string of k of the 4 bytes, index = its codes as base-4 digits (first byte most
    significant), count 0 with first row 0 for strings that do not occur.  Built level by
    level from the rows of the single bytes, one rank step per entry (4/3 * 4^k in all).
    ``k``: the table's string length; None chooses it from the size cap (and returns None
    when it would not exceed the n-gram table's 8 bytes)."""
    top = dominant_letters(C, sep, KMER_MIN_SHARE)
    if top is None:
        return None
    if k is None:
        k = 0
        while k < KMER_MAX_K and 8 * 4 ** (k + 1) <= KMER_TABLE_MAX_FRACTION * n_text:
            k += 1
        if k <= NGRAM_MAX:
            return None
    syms = top.astype(np.uint32)
    first = C[top].astype(np.uint32)
    count = (C[top + 1] - C[top]).astype(np.uint32)
    for _ in range(1, k):
        n = first.shape[0]
        xs = np.tile(np.arange(n), 4)
        first, count = fm.extend_left(np.repeat(syms, n), first[xs],
                                      (first[xs].astype(np.int64) + count[xs]).astype(np.uint32),
                                      num_threads)
    first[count == 0] = 0
    rows = np.empty(2 * first.shape[0], dtype=np.uint32)
    rows[0::2] = first
    rows[1::2] = count
    kmap = np.full(256, 0xFF, dtype=np.uint8)
    kmap[top] = np.arange(4, dtype=np.uint8)
    return kmap, rows

PROFILE_WT_ARITY = {"fast": 4, "small": 2}
# 16: no tree but a pair-occurrence table (ext/pair_occ.pxd): fast byte shards whose text
# is >= PAIR_OCC_MIN_SHARE four letters (DNA) get one when FAST_PAIR_STEPS is set; a
# backward search then takes two letters per step (docs/design.md section 8g)
WT_ARITIES = (2, 4, 16)
FAST_PAIR_STEPS = True
PAIR_OCC_MIN_SHARE = 0.99
# byte shards of at least this many rows store the pair table (256 x 257 u32 = 263 KB:
# the row range of every 2-byte string, so a count starts two steps in); below it, the
# table would be a visible share of the index and the searches are cache-resident anyway
PAIR_TABLE_MIN_ROWS = 1 << 24
# ... and the triple table, at most this share of the text: the row range of every 3-byte
# string whose first two bytes are among the K most frequent (as many as fit: K = 96 of the
# 132 bytes of 100 MB of C), so most counts start three steps in
TRI_TABLE_MAX_FRACTION = 0.05
# ... and, with the triple table (profile fast), a table of frequent longer strings with
# their rows, at most this share of the text: the n-gram table (format 1.3, 4 to 8 bytes,
# docs/design.md section 8d) or, for FAST_GRAM_TABLE "tetra", the 4/5-gram table of 1.2
# shards (section 8c); most counts start four to eight steps in
GRAM_TABLE_MAX_FRACTION = 0.03
# ... beside a pair-occurrence shard's 8-mer table: every 4- to 7-mer in half the share, so
# that 3-line blocks fit under 85% of the text (docs/design.md section 8g)
PAIR_NGRAM_MAX_FRACTION = 0.015
# the 4-gram builder ranks at most this many candidates per table slot (one rank step each)
TETRA_CANDIDATES_PER_SLOT = 4
TETRA_SLOTS, TETRA_WORDS = 5, 16
# format 1.3: instead of the 4/5-gram table, the n-gram table of strings of 4 to 8 bytes,
# the same share of the text: 64-byte buckets of NGRAM_SLOTS entries (key, first row |
# count << 32 | length << 60), each length hashed to its own bucket; a count reads the up
# to five buckets of its pattern's last 8..4 bytes at once (docs/design.md section 8d).
# FAST_GRAM_TABLE "tetra" writes a 1.2-style 4/5-gram table instead (tests of old shards)
FAST_GRAM_TABLE = "ngram"
NGRAM_SLOTS, NGRAM_WORDS, NGRAM_MIN, NGRAM_MAX, NGRAM_COUNT_BITS = 4, 8, 4, 8, 28
# candidates ranked per table slot and string length (one rank step each)
NGRAM_CANDIDATES_PER_SLOT = 2
# fast byte shards whose 4 most frequent bytes are at least this share of the text (DNA)
# also store the k-mer table (Bowtie's "ftab"): first row and count of every string of k of
# those bytes, 8 * 4^k bytes, k as large as fits in KMER_TABLE_MAX_FRACTION of the text (at
# most KMER_MAX_K) and only if it is longer than the n-gram table's strings (section 8f)
KMER_MIN_SHARE = 0.99
KMER_TABLE_MAX_FRACTION = 0.15
KMER_MAX_K = 12
# the k-mer table of a pair-occurrence shard (0: none), when it is at most this share of
# the text (26 MB of DNA and up)
PAIR_KMER_K = 8
PAIR_KMER_MAX_FRACTION = 0.02
# tree bit layouts: "plain" RankBitVector lines; "rrr63" RRR lines + enumerative offsets
# (written by fmindex before rrr63r, still read); "rrr63r" the same with the mid-range
# classes stored raw (no decode; written before rrr63rc, still read); "rrr63rc" rrr63r's
# blocks in compact lines (72 blocks, counters relative to a small superblock array
# wt_rrr_supers; default of profile "small", see docs/design.md section 7)
WT_BITS_KINDS = ("plain", "rrr63", "rrr63r", "rrr63rc")
RRR_KINDS = ("rrr63", "rrr63r", "rrr63rc")
RRR_RAW_KINDS = ("rrr63r", "rrr63rc")          # mid-range classes stored raw
RRR_COMPACT_KINDS = ("rrr63rc",)               # 72-block lines + wt_rrr_supers
# log2(lines per RRR superblock) of the rrr63rc shards written here: the largest that keeps
# a line's relative counters within their 26 bits (2^13 lines of 4,536 bits: 16 bytes per
# 512 KB of lines, always in cache); read from each shard's "wt_rrr_super_shift"
RRR_SUPER_SHIFT = 13

# array file -> dtype; every shard has all of them
SHARD_ARRAYS: Dict[str, np.dtype] = {
    "wt_lines": np.dtype("<u8"),        # wavelet tree bits, RankBitVector line layout
    "wt_nodes": NODE_DTYPE,             # wavelet tree nodes
    "wt_roots": np.dtype("<u4"),        # root node of each block's tree
    "wt_table": np.dtype("<u8"),        # per block and symbol: count before | code length | code
    "C": np.dtype("<u8"),               # C array (sigma + 1)
    "sa_samples": np.dtype("<u8"),      # packed p / sa_sample
    "isa_samples": np.dtype("<u8"),     # packed rows of positions k * isa_sample
    "doc_end_rows": np.dtype("<u8"),    # packed row - C[sep] of each document's separator
    "meta_blob": np.dtype("u1"),        # zstd (or zlib) blocks of JSON metadata lists
    "meta_offsets": np.dtype("<u8"),    # block offsets into meta_blob
}

# document starts (k + 1 values, the last = N), by params["doc_starts_encoding"]:
# "elias_fano" (format 1.1, ext/elias_fano.pxd) or "plain" (format 1.0: one u64 each)
DOC_STARTS_ARRAYS = {
    "elias_fano": {
        "doc_ef_high": np.dtype("<u8"),  # high parts: unary-coded bucket bitvector
        "doc_ef_low": np.dtype("<u8"),   # low parts, packed (doc_ef_low_bits each)
        "doc_ef_sel1": np.dtype("<u8"),  # select samples of the ones (every 256th)
        "doc_ef_sel0": np.dtype("<u8"),  # select samples of the zeros (every 256th)
    },
    "plain": {"doc_starts": np.dtype("<u8")},
}
# rows that carry an SA sample, by params["sampled_encoding"]: "blocks" (SampledRows,
# ext/sampled_rows.pxd: a u32 count per 256 rows + the low byte of each marked row) or
# "elias_fano" (format 1.2: the marked rows as an Elias-Fano sequence, ~2 + log2(sa_sample)
# bits per mark; default of profile "small", where it is 9.5 instead of 16 + 8 bits per mark)
SAMPLED_ROWS_ARRAYS = {
    "blocks": {
        "sampled_prefix": np.dtype("<u4"),  # SampledRows block prefix counts
        "sampled_low": np.dtype("u1"),      # SampledRows low bytes
    },
    "elias_fano": {
        "sampled_ef_high": np.dtype("<u8"),
        "sampled_ef_low": np.dtype("<u8"),
        "sampled_ef_sel1": np.dtype("<u8"),
        "sampled_ef_sel0": np.dtype("<u8"),
    },
}
# isa_samples, by params["isa_encoding"]: "row" (the row of position k * isa_sample, in
# row_width bits) or "sample_rank" (format 1.2, with Elias-Fano sampled rows and isa_sample a
# multiple of sa_sample: that row's rank among the marked rows, in isa_width = bits for
# n_sa_samples - 1 bits; the row is the rank-th Elias-Fano value)
ISA_ENCODINGS = ("row", "sample_rank")
# doc_end_rows, by params["doc_end_encoding"]: "sep_rank" (format 1.1: row - C[sep], in
# doc_end_width = bits for n_docs - 1 bits; the separators' rows are C[sep] .. C[sep] + k - 1)
# or "row" (format 1.0: the row itself, row_width bits)
DOC_END_ENCODINGS = ("sep_rank", "row")

# dtypes of optional arrays a shard may carry (listed in shard.json "extra_arrays")
EXTRA_ARRAY_DTYPES: Dict[str, str] = {
    "vocab": "<u4",                     # token shards: token id of each compact symbol id
    "wt_payload": "<u8",                # profile "small": RRR offsets of the tree bits
    "pair_rows": "<u4",                 # byte shards >= PAIR_TABLE_MIN_ROWS: 2-byte ranges
    "pair_dense_rows": "<u4",           # ... profile "small": over the nz bytes that occur
    "pair_map": "<u2",                  # ... their dense ids (0xFFFF: the byte does not occur)
    "tri_rows": "<u4",                  # ... of few distinct bytes: 3-byte ranges
    "tri_map": "<u2",                   # byte ids of tri_rows: first/second, third (0xFFFF: none)
    "tetra_rows": "<u4",                # ... profile "fast" (1.2): lossy 4/5-gram table, 16 u32 per bucket
    "ngram_rows": "<u8",                # ... profile "fast" (1.3): n-gram table, 8 u64 per bucket
    "kmer_rows": "<u4",                 # ... shards of 4 dominant bytes (1.3): k-mer table
    "kmer_map": "|u1",                  # ... its code of each byte (0xFF: not one of the 4)
    "wt_supers": "<u8",                 # 4-ary trees: QuadRankVector superblock counts;
                                        # arity 16: the pair table's superblocks
    "po_exc_rows": "<u8",               # arity 16 (1.4): rows that are pair exceptions
    "po_exc_syms": "|u1",               # ... their BWT byte
    "po_rare_rows": "<u8",              # ... those of non-letter bytes, by (byte, row)
    "po_rare_start": "<u8",             # ... (257,) where each byte's rows start
    "wt_rrr_supers": "<u8",             # wt_bits rrr63rc: RRR superblocks (ones, payload bit)
}

# sizes reported by stats(), grouped by what they pay for
COMPONENTS = {
    "bwt (wavelet tree)": ("wt_lines", "wt_payload", "wt_supers", "wt_rrr_supers", "wt_nodes",
                           "po_exc_rows", "po_exc_syms", "po_rare_rows", "po_rare_start",
                           "wt_roots", "wt_table", "C", "pair_rows", "pair_dense_rows",
                           "pair_map", "tri_rows", "tri_map", "tetra_rows",
                           "ngram_rows", "kmer_rows", "kmer_map"),
    "locate (SA samples)": ("sampled_prefix", "sampled_low", "sampled_ef_high", "sampled_ef_low",
                            "sampled_ef_sel1", "sampled_ef_sel0", "sa_samples"),
    "extract (ISA samples)": ("isa_samples", "doc_end_rows"),
    "documents (boundaries)": ("doc_starts", "doc_ef_high", "doc_ef_low", "doc_ef_sel1",
                               "doc_ef_sel0"),
    "metadata": ("meta_blob", "meta_offsets"),
}


def sort_suffixes(text: np.ndarray) -> np.ndarray:
    """Suffix array of ``text`` (uint8 or uint16) with the built-in SA-IS."""
    from ._suffix_array import suffix_array
    return suffix_array(text)


def choose_separator(text: np.ndarray, sep_pos: np.ndarray) -> int:
    """A byte value absent from the documents (the largest), or 256 if all 256 occur."""
    hist = symbol_histogram(text, 256)
    hist[0] -= sep_pos.shape[0]
    absent = np.flatnonzero(hist == 0)
    return int(absent[-1]) if absent.shape[0] else 256


def _zstandard():
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


_tls = threading.local()


def _zstd_decompressor(zstandard):
    """This thread's ZstdDecompressor (making one costs ~9 us, more than a block's decode;
    an instance must not be used by two threads at once)."""
    d = getattr(_tls, "zstd_dctx", None)
    if d is None:
        d = _tls.zstd_dctx = zstandard.ZstdDecompressor()
    return d


def trim_heap() -> None:
    """Hand the C heap's free memory back to the kernel (glibc ``malloc_trim``; a no-op
    elsewhere).  Reading a shard's documents frees many Python objects whose memory would
    otherwise stay resident through the suffix sort, the peak of the build (~4 MB at
    100 MB of JSON Lines), and the metadata's compressors (~7 MB) once it is encoded."""
    try:
        import ctypes
        trim = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):
        return
    trim(0)


def encode_metadata(metas: "PackedMetadata | List[bytes]", codec: Optional[str] = None,
                    block_docs: int = META_BLOCK_DOCS) -> tuple:
    """JSON metadata per document -> (blob uint8, block offsets uint64, codec): one
    independently decodable block per ``block_docs`` documents.  ``codec`` None: the
    smaller of zstd (when the zstandard package is there) and zlib."""
    zstandard = _zstandard()
    metas = PackedMetadata.of(metas)
    if codec is None:
        best = encode_metadata(metas, "zlib", block_docs)
        if zstandard is not None:
            z = encode_metadata(metas, "zstd", block_docs)
            if z[0].shape[0] < best[0].shape[0]:
                best = z
        return best
    if codec == "zstd":
        compress = zstandard.ZstdCompressor(level=META_ZSTD_LEVEL, write_checksum=False,
                                            write_content_size=False).compress
    elif codec == "zlib":
        compress = lambda raw: zlib.compress(raw, META_ZLIB_LEVEL)    # noqa: E731
    else:
        raise ValueError(f"unknown metadata codec {codec!r}")
    blocks = []
    offsets = [0]
    for i in range(0, len(metas), block_docs):
        raw = metas.block(i, min(i + block_docs, len(metas)))
        comp = compress(raw)
        blocks.append(comp)
        offsets.append(offsets[-1] + len(comp))
    blob = np.frombuffer(b"".join(blocks), dtype=np.uint8)
    return blob, np.asarray(offsets, dtype=np.uint64), codec


def build_shard(buf: bytearray, doc_lengths: np.ndarray, metas: "PackedMetadata | List[bytes]",
                out_dir: Path, *,
                sa_sample: int = 32, isa_sample: int = 64, block_shift: Optional[int] = None,
                profile: str = "fast", timings: Optional[Dict[str, float]] = None,
                phase: Optional[Callable[[str], None]] = None,
                release_text: Optional[Callable[[], None]] = None) -> dict:
    """Build one byte shard from ``buf`` = doc_0 X doc_1 X ... doc_{k-1} X (X = any placeholder).

    ``buf`` is modified in place (the placeholders become the separator).  Writes the
    array files and ``shard.json`` into ``out_dir`` (which must exist) and returns the
    shard's manifest.  ``release_text`` is called once the text is no longer needed
    (the caller can free ``buf`` then), keeping the peak at ~5 bytes per text byte.
    """
    check_profile(profile)
    if block_shift is None:
        block_shift = SMALL_BLOCK_SHIFT if profile == "small" else BYTE_BLOCK_SHIFT
    timings = timings if timings is not None else {}
    doc_starts = doc_starts_of(doc_lengths)
    if int(doc_starts[-1]) != len(buf):
        raise ValueError("document lengths do not add up to the buffer size")
    t = time.perf_counter()
    text = np.frombuffer(buf, dtype=np.uint8)
    sep_pos = (doc_starts[1:] - 1).astype(np.int64)
    text[sep_pos] = 0
    sep = choose_separator(text, sep_pos)
    if sep < 256:
        text[sep_pos] = sep
    else:
        text = text.astype(np.uint16)   # all 256 bytes occur: 16-bit symbols, sep = 256
        text[sep_pos] = 256
        if release_text is not None:    # the 8-bit buffer is no longer needed
            release_text()
    timings["suffix sort"] = timings.get("suffix sort", 0.0) + time.perf_counter() - t
    holder = [text]                     # handed over: the callee drops the last reference
    del text, sep_pos
    return build_shard_from_symbols(
        holder, doc_starts, sep, 257 if sep == 256 else 256, metas, out_dir, alphabet="bytes",
        sa_sample=sa_sample, isa_sample=isa_sample,
        block_shift=block_shift, wt_bits=PROFILE_WT_BITS[profile],
        wt_arity=PROFILE_WT_ARITY[profile], sampled_encoding=PROFILE_SAMPLED_ROWS[profile],
        meta_block_docs=PROFILE_META_BLOCK_DOCS[profile],
        timings=timings, phase=phase, release_text=release_text)


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")


def profile_sampling(profile: str, sa_sample: Optional[int],
                     isa_sample: Optional[int]) -> tuple:
    """(sa_sample, isa_sample) of a build: the given rates, else the profile's defaults."""
    check_profile(profile)
    sa = PROFILE_SAMPLING[profile][0] if sa_sample is None else int(sa_sample)
    isa = PROFILE_SAMPLING[profile][1] if isa_sample is None else int(isa_sample)
    if sa < 1 or isa < 1:
        raise ValueError("sa_sample and isa_sample must be >= 1")
    return sa, isa


def doc_starts_of(doc_lengths: np.ndarray) -> np.ndarray:
    """Start of each document in the shard text (one separator after each), plus the end."""
    k = int(doc_lengths.shape[0])
    if k == 0:
        raise ValueError("a shard needs at least one document")
    doc_starts = np.zeros(k + 1, dtype=np.uint64)
    np.cumsum(doc_lengths.astype(np.uint64) + 1, out=doc_starts[1:])
    return doc_starts


def build_shard_from_symbols(text: "np.ndarray | list", doc_starts: np.ndarray, sep: int, sigma: int,
                             metas: "PackedMetadata | List[bytes]", out_dir: Path, *,
                             alphabet: str,
                             sa_sample: int = 32, isa_sample: int = 64,
                             block_shift: int = SINGLE_BLOCK, wt_bits: str = "plain",
                             wt_arity: int = 2,
                             timings: Optional[Dict[str, float]] = None,
                             phase: Optional[Callable[[str], None]] = None,
                             release_text: Optional[Callable[[], None]] = None,
                             extra_arrays: Optional[Dict[str, np.ndarray]] = None,
                             extra_params: Optional[dict] = None,
                             sampled_encoding: str = "blocks",
                             meta_block_docs: int = META_BLOCK_DOCS) -> dict:
    """Build a shard over ``text`` (uint8 / uint16 / uint32 symbols < sigma) in which every
    document (bounds in ``doc_starts``) is followed by the symbol ``sep``, which occurs
    nowhere else.  ``alphabet`` ("bytes" or "tokens") is recorded for the reader;
    ``extra_arrays`` are written as additional array files (e.g. a token vocabulary).
    ``text`` may be given as a one-element list, which is emptied: then no reference to
    the text outlives the BWT pass and ``release_text`` can free its buffer.
    ``wt_bits``: "plain" (RankBitVector lines), "rrr63", "rrr63r" or "rrr63rc"
    (RRR-compressed tree bits; rrr63r stores the blocks of mid-range classes raw, rrr63rc
    also packs 72 blocks per line under a superblock array).
    ``wt_arity``: 2 (binary trees) or 4 (4-ary trees over QuadRankVector lines; plain
    bits, blocks of a small alphabet only).
    ``sampled_encoding``: how the rows carrying an SA sample are stored, "blocks" or
    "elias_fano" (smaller; ISA samples then become sample ranks when they can).
    ``meta_block_docs``: documents per independently compressed metadata block.
    ``metas``: each document's JSON metadata; a :class:`PackedMetadata` is cleared once
    encoded, before the suffix sort.
    """
    if sampled_encoding not in SAMPLED_ROWS_ARRAYS:
        raise ValueError(f"unknown sampled-rows encoding {sampled_encoding!r}")
    if wt_bits not in WT_BITS_KINDS:
        raise ValueError(f"unknown tree bit layout {wt_bits!r}")
    if wt_arity not in WT_ARITIES or (wt_arity == 4 and (wt_bits != "plain"
                                                          or block_shift >= SINGLE_BLOCK)):
        raise ValueError(f"unsupported tree arity {wt_arity!r} for this layout")
    if isinstance(text, list):
        text = text.pop()
    timings = timings if timings is not None else {}
    k = int(doc_starts.shape[0]) - 1
    N = int(doc_starts[-1])
    if N != text.shape[0] or k < 1:
        raise ValueError("document bounds do not match the text")

    def tick(name, t0):
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return time.perf_counter()

    if len(metas) != k:
        raise ValueError(f"{len(metas)} metadata entries for {k} documents")
    t = time.perf_counter()
    # the metadata first: packed metadata is freed before the suffix sort, the peak
    blob, moffs, meta_codec = encode_metadata(metas, block_docs=meta_block_docs)
    if isinstance(metas, PackedMetadata):
        metas.clear()
    trim_heap()
    t = tick("metadata", t)
    if phase:
        phase("suffix sort")
    sa = sort_suffixes(text)
    t = tick("suffix sort", t)
    if phase:
        phase("bwt + samples")
    out = build_bwt_and_samples(text, sa, sep, sa_sample, isa_sample, doc_starts)
    del text                            # the text buffer may now be released by the caller
    if release_text is not None:
        release_text()
    tail = out.pop("bwt_tail")          # rows 1..N live in SA's memory: copy, drop SA
    bwt = np.empty(N + 1, dtype=tail.dtype)
    bwt[0] = out.pop("bwt_first")
    bwt[1:] = tail
    del tail, sa
    t = tick("bwt + samples", t)
    if phase:
        phase("wavelet tree")
    freq = symbol_histogram(bwt, sigma).astype(np.uint64)
    freq[sep] -= 1                      # the fake separator at row r0
    C = np.ones(sigma + 1, dtype=np.uint64)
    C[1:] += np.cumsum(freq, dtype=np.uint64)
    extra_arrays = dict(extra_arrays or {})
    extra_params = dict(extra_params or {})
    letters = None
    if (wt_arity == 4 and FAST_PAIR_STEPS and alphabet == "bytes" and sigma == 256
            and sep < 256):
        letters = dominant_letters(C, int(sep), PAIR_OCC_MIN_SHARE)
    if letters is not None:
        wt_arity = 16
        wt = pair_occ_tree_arrays(bwt, out["r0"], C, int(sep), letters, freq)
        for name in ("exc_rows", "exc_syms", "rare_rows", "rare_start"):
            extra_arrays["po_" + name] = wt.pop(name)
        extra_params["po_letters"] = [int(x) for x in letters]
        extra_params["po_block_lines"] = PAIR_OCC_BLOCK_LINES
    else:
        wt = build_wavelet_tree_arrays(bwt, sigma, block_shift, arity=wt_arity)
    del bwt
    if wt_arity in (4, 16):
        extra_arrays["wt_supers"] = wt["supers"]
    rrr_params = {}
    if wt_bits in RRR_COMPACT_KINDS:
        from ._rrr_bitvector import rrr_encode_compact_lines
        wt["lines"], extra_arrays["wt_payload"], extra_arrays["wt_rrr_supers"] = \
            rrr_encode_compact_lines(wt["lines"], wt["n_bits"], True, RRR_SUPER_SHIFT)
        rrr_params["wt_rrr_super_shift"] = RRR_SUPER_SHIFT
    elif wt_bits in RRR_KINDS:
        from ._rrr_bitvector import rrr_encode_lines
        wt["lines"], extra_arrays["wt_payload"] = rrr_encode_lines(wt["lines"], wt["n_bits"],
                                                                   wt_bits in RRR_RAW_KINDS)
    t = tick("wavelet tree", t)
    if phase:
        phase("write")
    if sampled_encoding == "elias_fano":
        sampled_arrays, isa_words, sampled_params = encode_sampled_rows(
            out["sampled_prefix"], out["sampled_low"], out["sa_samples"], out["sa_width"],
            out["n_sa_samples"], out["isa_samples"], out["row_width"], out["n_isa_samples"],
            sa_sample, isa_sample)
    else:
        sampled_arrays = {"sampled_prefix": out["sampled_prefix"],
                          "sampled_low": out["sampled_low"]}
        isa_words, sampled_params = out["isa_samples"], {}
    ef_arrays, ef_params = encode_doc_starts(doc_starts)
    ends, end_params = encode_doc_end_rows(out["doc_end_rows"], out["row_width"], k,
                                           int(C[sep]))
    arrays = {
        "wt_lines": wt["lines"], "wt_nodes": wt["nodes"], "wt_roots": wt["roots"],
        "wt_table": wt["table"], "C": C,
        **sampled_arrays,
        "sa_samples": out["sa_samples"], "isa_samples": isa_words,
        "doc_end_rows": ends, **ef_arrays,
        "meta_blob": blob, "meta_offsets": moffs,
    }
    params = {
        "alphabet": alphabet,
        "n_docs": k, "num_bytes": N - k, "n_rows": out["n_rows"], "sep": int(sep),
        "r0": out["r0"], "sigma": int(sigma), "wt_n_bits": int(wt["n_bits"]),
        "wt_block_shift": int(wt["block_shift"]), "wt_bits": wt_bits, "wt_arity": wt_arity,
        "sa_sample": sa_sample, "isa_sample": isa_sample,
        "sa_width": out["sa_width"], "n_sa_samples": out["n_sa_samples"],
        "row_width": out["row_width"], "n_isa_samples": out["n_isa_samples"],
        "meta_block_docs": meta_block_docs, "meta_codec": meta_codec, **ef_params, **end_params,
        **sampled_params, **rrr_params,
    }
    params.update(extra_params)
    if alphabet == "bytes" and PAIR_TABLE_MIN_ROWS <= params["n_rows"] < (1 << 32):
        # the pair table, from the finished index itself: C[a] + rank_a(C[j])
        finished = FMShard({**arrays, **extra_arrays}, params)
        pair_rows = finished.pair_rows_table()
        if wt_bits in RRR_KINDS:
            # profile "small": the same entries over the bytes that occur only
            extra_arrays["pair_map"], extra_arrays["pair_dense_rows"] = \
                dense_pair_table(pair_rows, C)
        else:
            extra_arrays["pair_rows"] = pair_rows
        if sigma <= 256 and wt_bits == "plain":
            # the triple table (profile "fast" only: "small" spends no 5% on speed): the
            # last three bytes of a pattern in one lookup
            tri = finished.tri_rows_table(pair_rows,
                                          int(TRI_TABLE_MAX_FRACTION * N) // 4)
            if tri is not None:
                extra_arrays["tri_map"], extra_arrays["tri_rows"] = tri
                if FAST_GRAM_TABLE == "tetra":
                    n_buckets = int(GRAM_TABLE_MAX_FRACTION * N) // (4 * TETRA_WORDS)
                    if n_buckets >= 1:
                        extra_arrays["tetra_rows"] = tetra_rows_table(finished, *tri, n_buckets,
                                                                      int(sep))
                else:
                    # a pair-occurrence shard has room for the 8-mers only (512 KB, one
                    # line per lookup where the n-gram table probes five: section 8g) and,
                    # with 3-line blocks (+3.8% of the text), for an n-gram table of half
                    # the usual share beside them, which still holds every 4- to 7-mer
                    pair_kmer = bool(wt_arity == 16 and PAIR_KMER_K and
                                     8 * 4 ** PAIR_KMER_K <= PAIR_KMER_MAX_FRACTION * N)
                    share = PAIR_NGRAM_MAX_FRACTION if pair_kmer else GRAM_TABLE_MAX_FRACTION
                    n_buckets = int(share * N) // (8 * NGRAM_WORDS)
                    if n_buckets >= 1:
                        extra_arrays["ngram_rows"] = ngram_rows_table(finished, *tri, n_buckets,
                                                                      int(sep))
                    # (a pair table's shard has no room for the full k-mer table under the
                    # size cap, and its steps are two letters long: section 8g)
                    if wt_arity != 16:
                        kmer = kmer_table(finished, C, int(sep), N)
                    elif pair_kmer:
                        kmer = kmer_table(finished, C, int(sep), N, k=PAIR_KMER_K)
                    else:
                        kmer = None
                    if kmer is not None:
                        extra_arrays["kmer_map"], extra_arrays["kmer_rows"] = kmer
    files = {}
    for name, arr in list(arrays.items()) + list(extra_arrays.items()):
        files[name] = fmt.write_array(out_dir / f"{name}.arr", name, arr)
    manifest = {"format": SHARD_KIND, "format_version": [fmt.FORMAT_MAJOR, fmt.FORMAT_MINOR],
                "params": params, "files": files, "extra_arrays": sorted(extra_arrays)}
    fmt.write_json(out_dir / "shard.json", manifest)
    tick("write", t)
    return manifest


def pair_occ_lines(params: dict) -> int:
    """Cache lines per block of a shard's pair-occurrence table: its ``po_block_lines``
    (format 1.5), else 4 (the 1.4 tables)."""
    return int(params.get("po_block_lines", LEGACY_BLOCK_LINES))


def pair_occ_tree_arrays(bwt: np.ndarray, r0: int, C: np.ndarray, sep: int,
                         letters: np.ndarray, freq: np.ndarray) -> dict:
    """The arrays of an arity-16 shard: the pair-occurrence table of ``bwt`` over
    ``letters`` (ext/pair_occ.pxd) as wt_lines / supers plus its exception lists, and the
    single-block stub of nodes, roots and table the shard format expects (the table's last
    row holds the totals, ``freq``, as for any tree)."""
    from ._pair_occ import build_pair_occ
    po = build_pair_occ(bwt, int(r0), np.ascontiguousarray(C, dtype=np.uint64), sep, letters)
    sigma = C.shape[0] - 1
    totals = freq.astype(np.uint64)
    totals[sep] += 1                    # row r0 holds the separator, as in a tree
    table = np.zeros(2 * sigma, dtype=np.uint64)
    table[sigma:] = totals << np.uint64(32)
    return {"lines": po["blocks"], "supers": po["supers"], "n_bits": 0,
            "nodes": np.zeros(1, dtype=NODE_DTYPE), "roots": np.zeros(1, dtype=np.uint32),
            "table": table, "block_shift": SINGLE_BLOCK,
            "exc_rows": po["exc_rows"], "exc_syms": po["exc_syms"],
            "rare_rows": po["rare_rows"], "rare_start": po["rare_start"]}


def tetra_hash(keys: np.ndarray, n_buckets: int) -> np.ndarray:
    """Buckets of 4-gram keys (uint32, bytes big-endian), as ext/fm_shard.pxd's
    fm_tetra_bucket: h = key * 0x9E3779B1 mod 2^32, bucket = (h * n_buckets) >> 32."""
    h = (keys.astype(np.uint64) * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)
    return (h * np.uint64(n_buckets)) >> np.uint64(32)


def four_gram_candidates(fm: FMShard, tri_map: np.ndarray, tri_rows: np.ndarray, budget: int,
                         sep: int, num_threads: int = 2) -> tuple:
    """The frequent 4-grams of a byte shard with a triple table: (keys (the 4 bytes
    big-endian, uint32), first rows (uint32), counts (uint32)), those that occur.

    Candidates "abcd" have a, b, c among the triple table's K first/second bytes;
    count("abcd") <= min(count("abc"), count("bcd")), both read off the triple table, so
    only those with both counts >= T are ranked (one rank step from the rows of "bcd"), T the
    smallest threshold leaving <= ``budget`` candidates: every 4-gram of count >= T is ranked
    (those with rarer bytes aside)."""
    tm = tri_map.astype(np.int64)
    first, third = tm[:256], tm[256:]
    fbytes = np.flatnonzero(first != 0xFFFF)
    K = fbytes.shape[0]
    byte_of = np.empty(K, dtype=np.int64)
    byte_of[first[fbytes]] = fbytes                    # first/second id -> byte
    zbytes = np.flatnonzero(third != 0xFFFF)           # third id -> byte
    nz = zbytes.shape[0]
    t = tri_rows.reshape(K, K, nz + 1)
    c3 = np.diff(t, axis=2)                            # (a', b', z'): count of "a b z"
    tz_of_first = third[byte_of]                       # third id of each first/second id
    X = c3[:, :, tz_of_first]                          # (a', b', c'): count of "abc"
    Y = c3.copy()                                      # (b', c', z'): count of "bcd", d != sep
    if 0 <= sep < 256 and third[sep] != 0xFFFF:
        Y[:, :, third[sep]] = 0
    Xp = X.transpose(1, 2, 0).reshape(K * K, K)        # per pair p = b' K + c': over a'
    Yp = Y.reshape(K * K, nz)                          # ... over z'

    def n_candidates(T: int) -> int:
        na = (Xp >= T).sum(axis=1, dtype=np.int64)
        nd = (Yp >= T).sum(axis=1, dtype=np.int64)
        return int((na * nd).sum())

    lo, hi = 1, max(1, int(c3.max()) + 1)              # n_candidates(hi) == 0
    if n_candidates(lo) > budget:
        while hi - lo > 1:                              # smallest T within the budget
            mid = (lo + hi) // 2
            if n_candidates(mid) <= budget:
                hi = mid
            else:
                lo = mid
        T = hi
    else:
        T = lo
    xm = Xp >= T
    ym = Yp >= T
    pa, a_id = np.nonzero(xm)                             # sorted by p
    pd, z_id = np.nonzero(ym)
    nd = np.bincount(pd, minlength=K * K)
    offd = np.concatenate(([0], np.cumsum(nd)))
    rep = nd[pa]
    total = int(rep.sum())
    if total == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.uint32)
    starts = np.repeat(offd[pa] - (np.cumsum(rep) - rep), rep) + np.arange(total)
    cz = z_id[starts]
    cp = np.repeat(pa, rep)
    ca = np.repeat(a_id, rep)
    del starts, rep
    cb, cc = cp // K, cp % K
    s3 = t[cb, cc, cz]
    e3 = t[cb, cc, cz + 1]
    sym = byte_of[ca].astype(np.uint32)
    first_rows, counts = fm.extend_left(sym, np.ascontiguousarray(s3, dtype=np.uint32),
                                        np.ascontiguousarray(e3, dtype=np.uint32), num_threads)
    keys = ((sym << np.uint32(24)) | (byte_of[cb].astype(np.uint32) << np.uint32(16))
            | (byte_of[cc].astype(np.uint32) << np.uint32(8)) | zbytes[cz].astype(np.uint32))
    keep = counts > 0
    return keys[keep], first_rows[keep], counts[keep]


def tetra_rows_table(fm: FMShard, tri_map: np.ndarray, tri_rows: np.ndarray, n_buckets: int,
                     sep: int, num_threads: int = 2) -> np.ndarray:
    """The lossy 4/5-gram table of a byte shard with a triple table (format 1.2; new builds
    write the n-gram table): uint32 (n_buckets * 16,).

    Bucket b = 16 words: keys[5] (the last 4 bytes big-endian), first rows[5], count words[5]
    (count, or for a 5-gram "y X" count | y << 24), flags (bit i: slot i is a 5-gram); empty
    slots are all 0.  Each bucket holds its most frequent strings, a 4-gram before its
    5-grams on ties."""
    out = np.zeros(n_buckets * TETRA_WORDS, dtype=np.uint32)
    keys, first_rows, counts = four_gram_candidates(
        fm, tri_map, tri_rows, TETRA_CANDIDATES_PER_SLOT * TETRA_SLOTS * n_buckets, sep,
        num_threads)
    if keys.shape[0] == 0:
        return out
    budget = TETRA_CANDIDATES_PER_SLOT * TETRA_SLOTS * n_buckets
    # 5-grams "y X": X a 4-gram above, y its left extension.  The table is filled by count,
    # so a 5-gram rarer than the slots-th most frequent 4-gram can never get in: only pairs
    # of 4-grams "y m", "m d" (m: 3 bytes) both at least that frequent are candidates
    slots = TETRA_SLOTS * n_buckets
    c64 = counts.astype(np.int64)
    T5 = max(1, int(np.partition(c64, -slots)[-slots]) if c64.shape[0] >= slots else 1)
    k5, f5, n5 = _five_grams(fm, keys, first_rows, c64, T5, budget, num_threads)
    # one list: (key = last 4 bytes, first row, count word, 5-gram flag), most frequent first
    # per bucket (a 4-gram before its 5-grams on ties, so "y X" is only kept with X, which
    # hashes to the same bucket and occurs at least as often)
    allk = np.concatenate([keys, k5[:, 1]])
    allf = np.concatenate([first_rows, f5])
    alln = np.concatenate([c64, n5])
    five = np.concatenate([np.zeros(keys.shape[0], np.int64), np.ones(k5.shape[0], np.int64)])
    word = np.where(five == 1, alln | (np.concatenate([np.zeros(keys.shape[0], np.int64),
                                                       k5[:, 0].astype(np.int64)]) << 24), alln)
    bucket = tetra_hash(allk, n_buckets)
    # by bucket, then count (descending); a stable sort keeps ties in list order, where the
    # 4-grams come before the 5-grams (a single uint64 key: 5x faster than a lexsort)
    order = np.argsort((bucket << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - alln.astype(np.uint64)),
                       kind="stable")
    bucket = bucket[order].astype(np.int64)
    slot = slots_in_buckets(bucket)
    ok = slot < TETRA_SLOTS
    order, bucket, slot = order[ok], bucket[ok], slot[ok]
    base = bucket * TETRA_WORDS + slot
    out[base] = allk[order]
    out[base + TETRA_SLOTS] = allf[order]
    out[base + 2 * TETRA_SLOTS] = word[order].astype(np.uint32)
    flags = np.zeros(n_buckets, dtype=np.uint32)
    np.bitwise_or.at(flags, bucket, (five[order] << slot).astype(np.uint32))
    out[TETRA_WORDS - 1::TETRA_WORDS] = flags
    return out


def _five_grams(fm: FMShard, keys: np.ndarray, first_rows: np.ndarray, counts: np.ndarray,
                T: int, budget: int, num_threads: int) -> tuple:
    """5-grams "y m d" of count < 2^24 from the 4-grams (keys, rows, counts), as
    _longer_grams joins them.  Returns ((n, 2) uint32 of (y, key of "m d"), first rows,
    counts), those that occur."""
    k5, f5, n5 = _longer_grams(fm, keys.astype(np.uint64), first_rows, counts, 4, T, budget,
                               num_threads)
    keep = n5 < (1 << 24)
    k5 = k5[keep]
    return (np.stack([(k5 >> np.uint64(32)).astype(np.uint32),
                      (k5 & np.uint64(0xFFFFFFFF)).astype(np.uint32)], axis=1),
            f5[keep], n5[keep])


def _ef_arrays(e: dict, prefix: str) -> Dict[str, np.ndarray]:
    """The array files of an Elias-Fano sequence (``ef.encode``'s result): PREFIX_high, _low,
    _sel1, _sel0."""
    return {f"{prefix}_{part}": e[part] for part in ("high", "low", "sel1", "sel0")}


def _check_ef_arrays(a: dict, prefix: str, n: int, last: int, low_bits: int, what: str,
                     path: Path) -> int:
    """Check the Elias-Fano arrays PREFIX_* completely (``ef.check``: one streaming pass, no
    memory per value); their first value, or CorruptIndexError naming ``what``."""
    try:
        return ef.check(a[f"{prefix}_high"], a[f"{prefix}_low"], a[f"{prefix}_sel1"],
                        a[f"{prefix}_sel0"], n, last, low_bits)
    except ValueError as e:
        raise CorruptIndexError(f"invariant violated: {what} ({e}); rebuild the index",
                                str(path)) from None


def encode_doc_starts(doc_starts: np.ndarray) -> tuple:
    """Document starts (k + 1 values, the last = N) -> (Elias-Fano arrays, shard params)."""
    e = ef.encode(doc_starts)
    return (_ef_arrays(e, "doc_ef"),
            {"doc_starts_encoding": "elias_fano", "doc_ef_low_bits": e["L"]})


def pair_map_of(C: np.ndarray) -> np.ndarray:
    """Dense id (byte order) of every byte value that occurs (C[b + 1] > C[b]), 0xFFFF for
    the others: the pair table's byte map."""
    occurs = np.diff(C.astype(np.int64))[:256] > 0
    m = np.full(256, 0xFFFF, dtype=np.uint16)
    m[occurs] = np.arange(int(occurs.sum()), dtype=np.uint16)
    return m


def dense_pair_table(pair_rows: np.ndarray, C: np.ndarray) -> tuple:
    """The full pair table (256 x 257) -> (byte map, nz x (nz + 1) table): entry (ia, ib) =
    full entry (byte ia, byte ib), column nz = full column 256.  Between two bytes that
    occur the full table's entries do not change, so ranges read from it are the same."""
    m = pair_map_of(C)
    byte_of = np.flatnonzero(m != 0xFFFF)
    cols = np.append(byte_of, 256)
    t = pair_rows.reshape(256, 257)[byte_of][:, cols]
    return m, np.ascontiguousarray(t.reshape(-1), dtype=np.uint32)


def encode_sampled_rows(prefix: np.ndarray, low: np.ndarray, sa_words: np.ndarray,
                        sa_width: int, n_marks: int, isa_words: np.ndarray, row_width: int,
                        n_isa: int, sa_sample: int, isa_sample: int) -> tuple:
    """The builder's SampledRows blocks -> (Elias-Fano arrays of the marked rows, ISA sample
    words, shard params).  When isa_sample is a multiple of sa_sample, every ISA position
    is an SA-sampled position, so its row is a marked row: the ISA samples then store that
    row's rank among the marked rows (bits for n_marks - 1 instead of those of a row)."""
    counts = np.diff(prefix.astype(np.int64))
    rows = np.repeat(np.arange(counts.shape[0], dtype=np.uint64), counts) << np.uint64(8)
    rows |= low.astype(np.uint64)
    del counts
    if rows.shape[0] != n_marks:
        raise AssertionError("sampled rows do not match the SA sample count")
    e = ef.encode(rows)
    arrays = _ef_arrays(e, "sampled_ef")
    params = {"sampled_encoding": "elias_fano", "sampled_ef_low_bits": e["L"],
              "sampled_last": int(rows[-1])}
    del rows
    if isa_sample % sa_sample == 0:
        r = isa_sample // sa_sample
        vals = ef.packed_unpack(sa_words, sa_width, n_marks)     # p / sa_sample, row order
        inv = np.empty(n_marks, dtype=np.uint64)
        inv[vals.astype(np.int64)] = np.arange(n_marks, dtype=np.uint64)
        del vals
        ranks = np.ascontiguousarray(inv[::r][:n_isa])
        if ranks.shape[0] != n_isa:
            raise AssertionError("ISA positions are not all SA-sampled")
        width = max(1, int(n_marks - 1).bit_length())
        params.update({"isa_encoding": "sample_rank", "isa_width": width})
        isa_words = ef.packed_pack(ranks, width)
    return arrays, isa_words, params


def encode_doc_end_rows(words: np.ndarray, row_width: int, k: int, c_sep: int) -> tuple:
    """Packed separator rows (row_width bits) -> (packed row - C[sep], shard params).  The k
    separators' suffixes are the rows C[sep] .. C[sep] + k - 1, so each fits in the bits of
    k - 1 instead of those of a row."""
    rows = ef.packed_unpack(words, row_width, k)
    rel = rows - np.uint64(c_sep)
    if k and (int(rows.min()) < c_sep or int(rel.max()) >= k):
        raise AssertionError("separator rows outside C[sep] .. C[sep] + k - 1")
    width = max(1, int(k - 1).bit_length())
    return ef.packed_pack(rel, width), {"doc_end_encoding": "sep_rank", "doc_end_width": width}


AUTO_VERIFY_BYTES = 64 << 20

# every shard parameter, with its type and bounds (checked before any kernel sees it)
_INT_PARAMS = {
    "n_docs": (1, 1 << 40), "num_bytes": (0, 1 << 40), "n_rows": (2, 1 << 40),
    "sep": (0, 1 << 32), "r0": (1, 1 << 40), "sigma": (2, 1 << 32),
    "wt_n_bits": (0, 1 << 46), "wt_block_shift": (1, 63),
    "sa_sample": (1, 1 << 20), "isa_sample": (1, 1 << 20),
    "sa_width": (1, 57), "n_sa_samples": (1, 1 << 40),
    "row_width": (1, 57), "n_isa_samples": (0, 1 << 40),
    "meta_block_docs": (1, 1 << 20),
}
# parameters of format 1.1 (absent in 1.0 shards: plain document starts and rows)
_INT_PARAMS_11 = {"doc_ef_low_bits": (0, 57), "doc_end_width": (1, 57)}
# ... and of format 1.2 (absent before: SampledRows blocks, ISA samples as rows)
_INT_PARAMS_12 = {"sampled_ef_low_bits": (0, 57), "sampled_last": (1, 1 << 40),
                  "isa_width": (1, 57)}
# ... of wt_bits rrr63rc: log2(lines per RRR superblock), at most 13 so that a line's
# counters relative to its superblock fit their 26 bits
_INT_PARAMS_RRRC = {"wt_rrr_super_shift": (0, 13)}


def _check_int_params(p: dict, names, bounds: Dict[str, tuple], mpath: str) -> None:
    """Each parameter in ``names`` must be an int (not a bool) within its ``bounds``."""
    for k in names:
        lo, hi = bounds[k]
        v = p.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise CorruptIndexError(f"parameter {k} is missing or out of range ({v!r})", mpath)


def _check_kmer_table(a: dict, p: dict, sp: Path) -> None:
    """The k-mer table's invariants (numpy, O(4^k)): both arrays, 4^k entries, a byte map
    with codes 0..3 once each and never the separator, and entries whose rows lie inside
    those of their first byte, in order and without overlap (count 0: first row 0)."""
    _check("kmer_rows" in a and "kmer_map" in a and "tri_rows" in a, "k-mer table arrays", sp)
    kr, km = a["kmer_rows"], a["kmer_map"]
    n = kr.shape[0] // 2
    k = max(n.bit_length() - 1, 0) // 2
    _check(km.shape[0] == 256 and kr.shape[0] == 2 * n and n >= 4 and 4 ** k == n,
           "k-mer table size", sp)
    codes = km[km != 0xFF]
    sep = p["sep"]
    _check(codes.shape[0] == 4 and sorted(codes.tolist()) == [0, 1, 2, 3]
           and not (0 <= sep < 256 and km[sep] != 0xFF), "k-mer table byte map", sp)
    e = kr.reshape(n, 2).astype(np.int64)
    first, cnt = e[:, 0], e[:, 1]
    used = cnt > 0
    _check(bool(np.all(first[~used] == 0)), "k-mer table", sp)
    f, c = first[used], cnt[used]
    byte_of = np.empty(4, dtype=np.int64)
    byte_of[km[km != 0xFF]] = np.flatnonzero(km != 0xFF)
    lead = byte_of[np.flatnonzero(used) >> (2 * (k - 1))]          # first byte of each
    C = a["C"].astype(np.int64)
    _check(bool(np.all(f >= C[lead])) and bool(np.all(f + c <= C[lead + 1]))
           and bool(np.all(f[1:] >= f[:-1] + c[:-1])), "k-mer table", sp)


def _read_params(raw, mpath: str) -> dict:
    if not isinstance(raw, dict):
        raise CorruptIndexError("shard manifest lacks parameters", mpath)
    p = dict(raw)
    p.setdefault("alphabet", "bytes")
    if p["alphabet"] not in ("bytes", "tokens"):
        raise CorruptIndexError(f"unknown alphabet {p['alphabet']!r}", mpath)
    p.setdefault("wt_bits", "plain")
    if p["wt_bits"] not in WT_BITS_KINDS:
        raise CorruptIndexError(f"unknown tree bit layout {p['wt_bits']!r}", mpath)
    p.setdefault("wt_arity", 2)
    if p["wt_arity"] not in WT_ARITIES or (p["wt_arity"] in (4, 16) and (
            p["wt_bits"] != "plain" or p["alphabet"] != "bytes")):
        raise CorruptIndexError(f"unsupported tree arity {p['wt_arity']!r}", mpath)
    if p["wt_arity"] == 16:
        lt = p.get("po_letters")
        if not (isinstance(lt, list) and len(lt) == 4
                and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 256
                        for x in lt) and lt == sorted(set(lt)) and p.get("sep") not in lt):
            raise CorruptIndexError("pair-occurrence table letters are missing or damaged",
                                    mpath)
    _check_int_params(p, _INT_PARAMS, _INT_PARAMS, mpath)
    p.setdefault("doc_starts_encoding", "plain")
    if p["doc_starts_encoding"] not in DOC_STARTS_ARRAYS:
        raise CorruptIndexError(f"unknown document start encoding {p['doc_starts_encoding']!r}",
                                mpath)
    p.setdefault("doc_end_encoding", "row")
    if p["doc_end_encoding"] not in DOC_END_ENCODINGS:
        raise CorruptIndexError(f"unknown document end encoding {p['doc_end_encoding']!r}", mpath)
    needed = ((["doc_ef_low_bits"] if p["doc_starts_encoding"] == "elias_fano" else [])
              + (["doc_end_width"] if p["doc_end_encoding"] == "sep_rank" else [])
              + (["wt_rrr_super_shift"] if p["wt_bits"] in RRR_COMPACT_KINDS else [])
              + (["po_block_lines"] if "po_block_lines" in p else []))
    _check_int_params(p, needed, {**_INT_PARAMS_11, **_INT_PARAMS_RRRC,
                                  "po_block_lines": (PAIR_OCC_BLOCK_LINES,
                                                     LEGACY_BLOCK_LINES)}, mpath)
    p.setdefault("sampled_encoding", "blocks")
    if p["sampled_encoding"] not in SAMPLED_ROWS_ARRAYS:
        raise CorruptIndexError(f"unknown sampled-rows encoding {p['sampled_encoding']!r}", mpath)
    p.setdefault("isa_encoding", "row")
    if p["isa_encoding"] not in ISA_ENCODINGS or (
            p["isa_encoding"] == "sample_rank" and p["sampled_encoding"] != "elias_fano"):
        raise CorruptIndexError(f"unsupported ISA sample encoding {p['isa_encoding']!r}", mpath)
    needed = ((["sampled_ef_low_bits", "sampled_last"]
               if p["sampled_encoding"] == "elias_fano" else [])
              + (["isa_width"] if p["isa_encoding"] == "sample_rank" else []))
    _check_int_params(p, needed, _INT_PARAMS_12, mpath)
    p.setdefault("meta_codec", "zlib")
    if p["meta_codec"] not in META_CODECS:
        raise CorruptIndexError(f"unknown metadata codec {p['meta_codec']!r}", mpath)
    if p["meta_block_docs"] > META_BLOCK_DOCS_MAX:
        raise CorruptIndexError("unsupported metadata block size", mpath)
    return p


def _check(cond: bool, what: str, path: Path) -> None:
    if not cond:
        raise CorruptIndexError(f"invariant violated: {what}; rebuild the index", str(path))


class Shard:
    """An opened shard: the FMShard kernels plus document boundaries and metadata."""

    def __init__(self, path: "str | Path", verify: "bool | str" = "auto"):
        self.path = Path(path)
        mpath = str(self.path / "shard.json")
        man = fmt.read_json(self.path / "shard.json", SHARD_KIND)
        p = _read_params(man.get("params"), mpath)
        files = man.get("files")
        extra = man.get("extra_arrays", [])
        if not isinstance(files, dict) or not isinstance(extra, list):
            raise CorruptIndexError("shard manifest lacks its file list", mpath)
        self.params = p
        self.alphabet = p["alphabet"]
        arrays = {}
        wanted = dict(SHARD_ARRAYS)
        if p["wt_arity"] == 4:
            wanted["wt_nodes"] = QNODE_DTYPE
        wanted.update(DOC_STARTS_ARRAYS[p["doc_starts_encoding"]])
        wanted.update(SAMPLED_ROWS_ARRAYS[p["sampled_encoding"]])
        for name in extra:
            if name not in EXTRA_ARRAY_DTYPES:
                raise CorruptIndexError(f"unknown extra array {name!r}", mpath)
            wanted[name] = np.dtype(EXTRA_ARRAY_DTYPES[name])
        entries = {}
        for name in wanted:
            entry = files.get(name)
            if not (isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
                    and isinstance(entry.get("crc32"), int)):
                raise CorruptIndexError(f"manifest entry of {name}.arr is missing or damaged",
                                        mpath)
            entries[name] = entry
        # "auto": checksum everything when the shard is small enough to read at open
        # (<= AUTO_VERIFY_BYTES, a few tens of ms), else only the small files
        total = sum(e["bytes"] for e in entries.values())
        for name, dtype in wanted.items():
            entry = entries[name]
            full = verify is True or (verify == "auto" and (total <= AUTO_VERIFY_BYTES
                                                          or entry["bytes"] <= (1 << 22)))
            # the 4-gram table is always checksummed (<= 3% of the text, a few ms per 100
            # MB): a damaged entry could give a wrong count that no cheap invariant rules out
            full = full or name in ("tetra_rows", "ngram_rows", "kmer_rows", "kmer_map")
            arrays[name] = fmt.read_array(self.path / f"{name}.arr", name, dtype, entry, full)
        kernel_arrays, kernel_params = self._validate(p, arrays)
        self.arrays = arrays
        # what the kernels are built from (other kernel classes too, e.g. TokenLM): the
        # arrays plus, for a format 1.0 shard, its starts Elias-Fano encoded in memory
        self.kernel_arrays, self.kernel_params = kernel_arrays, kernel_params
        self.fm = FMShard(kernel_arrays, kernel_params)
        if "tetra_rows" in arrays:
            # the 4/5-gram table (its file always checksummed above): its invariants (flags,
            # empty slots, keys in their buckets, once, no separator, rows inside the pair
            # and triple tables' ranges of their first bytes), ~2 ms per 100 MB of text; with
            # verify=True also every entry against a backward search (~0.1 s per 100 MB)
            _check(self.fm.tetra_structure_errors() == 0, "4/5-gram table structure", self.path)
            if verify is True:
                _check(self.fm.tetra_check() == 0, "4/5-gram table rows (backward search)",
                       self.path)
        if p["wt_arity"] == 16 and verify is True:
            # the pair-occurrence table: every block's and superblock's counts against its
            # digits, the exception lists against the digits and C (one pass, ~0.1 s per
            # 100 MB); without verify=True its files are checksummed like the tree's
            from ._pair_occ import check_pair_occ_arrays
            po = {x: arrays["po_" + x] for x in ("exc_rows", "exc_syms", "rare_rows",
                                                  "rare_start")}
            po["blocks"] = kernel_arrays["wt_lines"]        # a 1.4 table: re-laid out
            po["supers"] = kernel_arrays["wt_supers"]
            _check(check_pair_occ_arrays(po, p["n_rows"], p["po_letters"], arrays["C"],
                                         p["sep"], p["r0"]) == 0,
                   "pair-occurrence table counts", self.path)
        if "kmer_rows" in arrays and verify is True:
            # the k-mer table: its structure was checked in _validate; here every entry
            # against a backward search (~1 s per 4^10 entries on 2 threads)
            _check(self.fm.kmer_check() == 0, "k-mer table rows (backward search)", self.path)
        if "ngram_rows" in arrays:
            # the n-gram table likewise (always checksummed above): its invariants, and with
            # verify=True every entry against a backward search
            _check(self.fm.ngram_structure_errors() == 0, "n-gram table structure", self.path)
            if verify is True:
                _check(self.fm.ngram_check() == 0, "n-gram table rows (backward search)",
                       self.path)
        self.n_docs = p["n_docs"]
        self.num_bytes = p["num_bytes"]
        self._doc_starts: Optional[np.ndarray] = None
        self._meta_cache: Dict[int, list] = {}

    @property
    def doc_starts(self) -> np.ndarray:
        """Start of each document in the shard text, plus N (uint64, k + 1): decoded on
        first use and kept (the kernels query the compact form directly)."""
        if self._doc_starts is None:
            if "doc_starts" in self.arrays:
                self._doc_starts = self.arrays["doc_starts"]
            else:
                a = self.arrays
                self._doc_starts = ef.decode(a["doc_ef_high"], a["doc_ef_low"], a["doc_ef_sel1"],
                                             a["doc_ef_sel0"], self.n_docs + 1,
                                             self.fm.n_rows - 1, self.params["doc_ef_low_bits"])
        return self._doc_starts

    def _validate(self, p: dict, a: dict) -> tuple:
        """Cheap structural invariants: every size the kernels rely on.  Returns the arrays
        and parameters for the kernels (a format 1.0 shard's plain document starts are
        Elias-Fano encoded in memory, so the kernels know one layout)."""
        from ._rank_bitvector import lines_for_bits
        sp = self.path
        sigma, n_rows, k = p["sigma"], p["n_rows"], p["n_docs"]
        if p["alphabet"] == "bytes":
            _check(sigma in (256, 257), "alphabet", sp)
        else:
            _check(p["alphabet"] == "tokens" and sigma >= 2, "alphabet", sp)
        _check(p["sep"] < sigma, "separator", sp)
        _check(k >= 1 and n_rows == p["num_bytes"] + k + 1, "sizes", sp)
        _check(1 <= p["r0"] < n_rows, "r0", sp)
        shift = p["wt_block_shift"]
        _check(1 <= shift <= 63, "block size", sp)
        n_blocks = 1 if shift >= 63 else max(1, (n_rows + (1 << shift) - 1) >> shift)
        _check(a["wt_roots"].shape[0] == n_blocks, "tree roots", sp)
        _check(a["wt_table"].shape[0] == (n_blocks + 1) * sigma, "tree table", sp)
        _check(a["C"].shape[0] == sigma + 1 and int(a["C"][0]) == 1 and int(a["C"][-1]) == n_rows
               and bool(np.all(np.diff(a["C"].astype(np.int64)) >= 0)), "C array", sp)
        if p["wt_bits"] in RRR_KINDS:
            from ._rrr_bitvector import (rrr_lines_consistent, rrr_lines_for_bits,
                                         rrr_payload_words)
            raw = p["wt_bits"] in RRR_RAW_KINDS
            compact = p["wt_bits"] in RRR_COMPACT_KINDS
            supers, shift = None, 0
            if compact:
                from ._rrr_bitvector import rrr_supers_for_bits
                shift = p["wt_rrr_super_shift"]
                _check("wt_rrr_supers" in a and a["wt_rrr_supers"].shape[0] ==
                       rrr_supers_for_bits(p["wt_n_bits"], shift), "RRR superblocks", sp)
                supers = a["wt_rrr_supers"]
            _check("wt_payload" in a and a["wt_lines"].shape[0] ==
                   rrr_lines_for_bits(p["wt_n_bits"], compact) * 8, "RRR lines", sp)
            _check(rrr_lines_consistent(a["wt_lines"], p["wt_n_bits"], raw, supers, shift),
                   "RRR line counts / payload pointers", sp)
            _check(a["wt_payload"].shape[0] == rrr_payload_words(a["wt_lines"], p["wt_n_bits"], raw,
                                                                 supers, shift),
                   "RRR payload size", sp)
        elif p["wt_arity"] == 16:
            from ._pair_occ import pair_occ_sizes
            bw, sw = pair_occ_sizes(n_rows, pair_occ_lines(p))
            _check("wt_supers" in a and a["wt_lines"].shape[0] == bw and
                   a["wt_supers"].shape[0] == sw and shift == 63 and sigma == 256,
                   "pair-occurrence table size", sp)
            _check(all(f"po_{x}" in a for x in ("exc_rows", "exc_syms", "rare_rows",
                                                 "rare_start")),
                   "pair-occurrence table exception arrays", sp)
            er, rs = a["po_exc_rows"], a["po_rare_start"]
            _check(er.shape[0] == a["po_exc_syms"].shape[0] and rs.shape[0] == 257
                   and int(rs[0]) == 0 and int(rs[256]) == a["po_rare_rows"].shape[0]
                   and bool(np.all(rs[1:] >= rs[:-1]))
                   and a["po_rare_rows"].shape[0] <= er.shape[0]
                   and bool(np.all(er[1:] > er[:-1])) and (er.shape[0] == 0 or
                                                           int(er[-1]) < n_rows)
                   and bool(np.all(a["po_rare_rows"] < n_rows)),
                   "pair-occurrence table exception lists", sp)
        elif p["wt_arity"] == 4:
            from ._quad_vector import quad_lines_for
            lw, sw = quad_lines_for(p["wt_n_bits"])
            _check("wt_supers" in a and a["wt_lines"].shape[0] == lw and
                   a["wt_supers"].shape[0] == sw, "4-ary tree size", sp)
            _check(shift < 63, "4-ary tree blocks", sp)
        else:
            _check(a["wt_lines"].shape[0] == lines_for_bits(p["wt_n_bits"]) * 8,
                   "wavelet tree size", sp)
        nodes = a["wt_nodes"]
        nn = nodes.shape[0]
        _check(nn >= 1 and bool(np.all(nodes["start"] <= p["wt_n_bits"])), "node starts", sp)
        if p["wt_arity"] == 4:
            bef = nodes["before"]
            _check(bool(np.all(nodes["start"][1:] >= nodes["start"][:-1])) and
                   bool(np.all(bef.sum(axis=1, dtype=np.uint64) == nodes["start"])) and
                   bool(np.all(bef[1:] >= bef[:-1])), "nodes", sp)
            ch = nodes["child"]
            _check(bool(np.all((ch < nn) & (ch >= -sigma - 1))), "node children", sp)
            # each node's cstart[x] is the start of its child x (0 for a leaf)
            want = np.where(ch >= 0, nodes["start"][np.maximum(ch, 0)], 0).astype(np.uint64)
            _check(bool(np.array_equal(nodes["cstart"], want)), "node child starts", sp)
        else:
            _check(bool(np.all(nodes["start"][1:] >= nodes["start"][:-1])) and
                   bool(np.all(nodes["ones_before"] <= nodes["start"])) and
                   bool(np.all(nodes["ones_before"][1:] >= nodes["ones_before"][:-1])),
                   "nodes", sp)
            ch = nodes["child"]
            _check(bool(np.all((ch < nn) & (ch >= -sigma))), "node children", sp)
        _check(bool(np.all(a["wt_roots"] < nn)), "tree roots", sp)
        # the last table row holds the totals: they must match the C array
        tot = (a["wt_table"][n_blocks * sigma:] >> np.uint64(32)).astype(np.int64)
        freq = np.diff(a["C"].astype(np.int64))
        freq[p["sep"]] += 1             # the fake separator of row r0
        _check(bool(np.array_equal(tot, freq)), "tree table totals", sp)
        _check(bool(np.all(((a["wt_table"] >> np.uint64(26)) & np.uint64(63))
                           <= (13 if p["wt_arity"] == 4 else 26))),
               "code lengths", sp) if n_blocks * sigma <= (1 << 22) else None
        n_marks = p["n_sa_samples"]
        n_txt = n_rows - 1
        _check(n_marks == (n_txt + p["sa_sample"] - 1) // p["sa_sample"], "SA sample count", sp)
        if p["sampled_encoding"] == "elias_fano":
            _check(p["sampled_last"] < n_rows, "sampled rows", sp)
            _check_ef_arrays(a, "sampled_ef", n_marks, p["sampled_last"],
                             p["sampled_ef_low_bits"], "sampled rows", sp)
        else:
            _check(a["sampled_low"].shape[0] == n_marks, "sampled rows", sp)
            _check(a["sampled_prefix"].shape[0] == (n_rows >> 8) + 2 and
                   int(a["sampled_prefix"][-1]) == n_marks, "sampled prefix", sp)
        _check(a["sa_samples"].shape[0] == (n_marks * p["sa_width"] + 63) // 64 + 1, "SA samples", sp)
        _check(p["n_isa_samples"] == (n_txt + p["isa_sample"] - 1) // p["isa_sample"], "ISA count", sp)
        if p["isa_encoding"] == "sample_rank":
            isa_w = p["isa_width"]
            _check(p["isa_sample"] % p["sa_sample"] == 0
                   and isa_w == max(1, (n_marks - 1).bit_length()), "ISA sample width", sp)
        else:
            isa_w = p["row_width"]
        _check(a["isa_samples"].shape[0] == (p["n_isa_samples"] * isa_w + 63) // 64 + 1,
               "ISA samples", sp)
        end_w = p["doc_end_width"] if p["doc_end_encoding"] == "sep_rank" else p["row_width"]
        _check(a["doc_end_rows"].shape[0] == (k * end_w + 63) // 64 + 1, "doc ends", sp)
        if p["doc_end_encoding"] == "sep_rank":
            # the k separators' rows C[sep] .. C[sep] + k - 1, each exactly once
            _check(end_w == max(1, (k - 1).bit_length())
                   and int(a["C"][p["sep"] + 1]) - int(a["C"][p["sep"]]) == k, "doc end width", sp)
            rel = ef.packed_unpack(a["doc_end_rows"], end_w, k)
            _check(int(rel.max()) < k and bool(np.all(np.bincount(rel.astype(np.int64),
                                                                   minlength=k) == 1)),
                   "doc end rows", sp)
        _check(2 ** p["row_width"] >= n_rows and p["row_width"] <= 57, "row width", sp)
        if "pair_rows" in a:
            pr = a["pair_rows"]
            _check(p["alphabet"] == "bytes" and pr.shape[0] == 256 * 257, "pair table size", sp)
            t = pr.reshape(256, 257).astype(np.int64)
            _check(bool(np.all(np.diff(t, axis=1) >= 0)) and int(t.max()) <= n_rows
                   and bool(np.array_equal(t[:, 0], a["C"][:256].astype(np.int64))),
                   "pair table", sp)
        if "pair_dense_rows" in a or "pair_map" in a:
            _check(p["alphabet"] == "bytes" and "pair_dense_rows" in a and "pair_map" in a
                   and "pair_rows" not in a and "tri_rows" not in a, "pair table", sp)
            pm = a["pair_map"]
            _check(pm.shape[0] == 256 and bool(np.array_equal(pm, pair_map_of(a["C"]))),
                   "pair table byte map", sp)
            nz = int((pm != 0xFFFF).sum())
            _check(a["pair_dense_rows"].shape[0] == nz * (nz + 1), "pair table size", sp)
            t = a["pair_dense_rows"].reshape(nz, nz + 1).astype(np.int64)
            byte_of = np.flatnonzero(pm != 0xFFFF)
            _check(bool(np.all(np.diff(t, axis=1) >= 0)) and int(t.max()) <= n_rows
                   and bool(np.array_equal(t[:, 0], a["C"][byte_of].astype(np.int64))),
                   "pair table", sp)
        if "tri_rows" in a or "tri_map" in a:
            _check("tri_rows" in a and "tri_map" in a and "pair_rows" in a
                   and a["tri_map"].shape[0] == 512, "triple table", sp)
            tm = a["tri_map"].astype(np.int64)
            first, third = tm[:256], tm[256:]
            ids = first[first != 0xFFFF]
            tn = ids.shape[0]
            zb = np.flatnonzero(third != 0xFFFF)
            tz = zb.shape[0]
            _check(tn >= 1 and bool(np.array_equal(np.sort(ids), np.arange(tn)))
                   and bool(np.array_equal(third[zb], np.arange(tz)))
                   and bool(np.all(third[first != 0xFFFF] != 0xFFFF))
                   and a["tri_rows"].shape[0] == tn * tn * (tz + 1), "triple table size", sp)
            # compared in place (the table is ~5% of the text: no widened copies at open)
            t = a["tri_rows"].reshape(tn, tn, tz + 1)
            byte_of = np.empty(tn, dtype=np.int64)
            byte_of[ids] = np.flatnonzero(first != 0xFFFF)
            cb, ce = a["C"][byte_of], a["C"][byte_of + 1]
            _check(bool(np.all(t[:, :, 1:] >= t[:, :, :-1]))
                   and bool(np.all(t >= cb[:, None, None])) and bool(np.all(t <= ce[:, None, None])),
                   "triple table", sp)
        if "tetra_rows" in a:
            tt = a["tetra_rows"]
            _check("tri_rows" in a and tt.shape[0] > 0 and tt.shape[0] % TETRA_WORDS == 0
                   and tt.shape[0] // TETRA_WORDS < (1 << 32), "4/5-gram table size", sp)
        if "kmer_rows" in a or "kmer_map" in a:
            _check_kmer_table(a, p, sp)
        if "ngram_rows" in a:
            nt = a["ngram_rows"]
            _check("tri_rows" in a and "tetra_rows" not in a and nt.shape[0] > 0
                   and nt.shape[0] % NGRAM_WORDS == 0
                   and nt.shape[0] // NGRAM_WORDS < (1 << 32), "n-gram table size", sp)
        kernel_params = dict(p)
        if p["doc_starts_encoding"] == "plain":
            ds = a["doc_starts"]
            _check(ds.shape[0] == k + 1 and int(ds[0]) == 0 and int(ds[-1]) == n_txt,
                   "doc starts", sp)
            _check(bool(np.all(ds[1:] > ds[:-1])), "doc starts order", sp)
            ef_arrays, ef_params = encode_doc_starts(ds)
            kernel_params.update(ef_params)
        else:
            ef_arrays = {n: a[n] for n in DOC_STARTS_ARRAYS["elias_fano"]}
            first = _check_ef_arrays(a, "doc_ef", k + 1, n_txt, p["doc_ef_low_bits"],
                                     "doc starts", sp)
            _check(first == 0, "doc starts", sp)
        mo = a["meta_offsets"]
        mb = p["meta_block_docs"]
        _check(mo.shape[0] == (k + mb - 1) // mb + 1 and int(mo[0]) == 0
               and int(mo[-1]) == a["meta_blob"].shape[0]
               and bool(np.all(mo[1:] >= mo[:-1])), "metadata offsets", sp)
        relaid = {}
        if p["wt_arity"] == 16 and pair_occ_lines(p) == LEGACY_BLOCK_LINES:
            # a format 1.4 table: its 4-line blocks re-laid out in memory in the 3-line
            # blocks the kernels read (docs/design.md section 8g); rebuild to map it
            from ._pair_occ import relayout_4_lines
            relaid["wt_lines"], relaid["wt_supers"] = relayout_4_lines(
                a["wt_lines"], n_rows, a["po_exc_rows"], a["po_exc_syms"], p["po_letters"])
            kernel_params["po_block_lines"] = PAIR_OCC_BLOCK_LINES
        return {**a, **ef_arrays, **relaid}, kernel_params

    def doc_length(self, d: int) -> int:
        s, e = self.fm.doc_bounds(d)
        return int(e - s)

    def doc_lengths(self) -> np.ndarray:
        return (np.diff(self.doc_starts) - 1).astype(np.int64)

    def metadata(self, d: int) -> dict:
        blk, i = divmod(d, self.params["meta_block_docs"])
        lst = self._meta_cache.get(blk)
        if lst is None:
            mo = self.arrays["meta_offsets"]
            raw = bytes(self.arrays["meta_blob"][int(mo[blk]):int(mo[blk + 1])])
            try:
                lst = json.loads(self._decompress_meta(raw))
                if not isinstance(lst, list) or len(lst) <= i:
                    raise ValueError("short metadata block")
            except (zlib.error, ValueError):
                raise CorruptIndexError(f"metadata block {blk} is corrupted; rebuild the index",
                                        str(self.path / "meta_blob.arr")) from None
            if len(self._meta_cache) > 64:
                self._meta_cache.clear()
            self._meta_cache[blk] = lst
        return lst[i]

    def _decompress_meta(self, raw: bytes) -> bytes:
        if self.params["meta_codec"] == "zlib":
            return zlib.decompress(raw)
        zstandard = _zstandard()
        if zstandard is None:
            raise IndexFormatError("this index stores its metadata with zstd: "
                                   "pip install zstandard", str(self.path / "meta_blob.arr"))
        try:
            # streaming: the output grows with the data actually decoded, so a damaged
            # frame cannot make it allocate more
            return _zstd_decompressor(zstandard).decompressobj().decompress(raw)
        except zstandard.ZstdError as e:
            raise ValueError(str(e)) from None

    def component_bytes(self) -> Dict[str, int]:
        return {name: int(arr.nbytes) + fmt.HEADER_BYTES for name, arr in self.arrays.items()}
