"""n-gram / ∞-gram queries on a byte index (``fmindex.Index``): the next "token" is the next byte.

    import fmindex, fmindex.lm as lm
    idx = fmindex.open("idx/")
    lm.prob(idx, b"natural lang", ord("u"))         # {context_count, continuation_count, prob}
    lm.next_token_distribution(idx, b"natural lang") # {byte: (count, prob)}; END = 256
    lm.infgram_prob(idx, b"... long context", ord("e"))   # + suffix_len (in bytes)
    lm.search_documents(idx, [[b"foo", b"bar"], [b"baz"]], max_gap=100)

Semantics are those of :mod:`fmindex.tokens` with bytes for tokens: the empty context
counts every text byte plus one end of document per document; ``prob`` is -1.0 when the
context does not occur; the end of a document is reported as ``eos`` (default 256, not a
byte value).  A byte index is not reversed, so:

- count / prob: backward searches of ctx and ctx + b;
- next-byte distribution: count(ctx + b) for every byte b that occurs in the shard (from
  its C array), batched and interleaved in C (``fm_count_batch``); the end-of-document
  count is count(ctx) minus their sum.  O(sigma x |ctx|) rank steps;
- ∞-gram: ONE incremental backward search from the end of the context (each step extends
  the suffix one byte to the left) that stops at the first empty range.
"""
from __future__ import annotations

import weakref
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._lm_kernels import ByteLM
from .errors import PatternError
from .index import Index, as_pattern

END = 256                     # default id of "end of document" in byte distributions

_CACHE: "weakref.WeakKeyDictionary[Index, List[ByteLM]]" = weakref.WeakKeyDictionary()


def _lms(idx: Index) -> List[ByteLM]:
    lms = _CACHE.get(idx)
    if lms is None:
        lms = [ByteLM(sh.kernel_arrays, sh.kernel_params) for sh in idx.shards]
        _CACHE[idx] = lms
    return lms


def _byte(b: Any, eos: int) -> int:
    if isinstance(b, str):
        b = b.encode("utf-8")
    if isinstance(b, (bytes, bytearray)):
        if len(b) != 1:
            raise PatternError("the next byte must be one byte")
        return b[0]
    try:
        v = int(b)
    except (TypeError, ValueError):
        raise PatternError("the next byte must be an int, or bytes / str of one byte") from None
    if not (0 <= v <= 255) and v != eos:
        raise PatternError(f"the next byte must be in [0, 255] or the end id {eos}")
    return v


def _total(idx: Index) -> int:
    return idx.num_bytes + len(idx)


def count(idx: Index, ctx: Any) -> int:
    """Occurrences of ctx; the empty context counts every byte plus one end per document."""
    b = as_pattern(ctx)
    return _total(idx) if not b else idx.count(b)


def _distribution(idx: Index, b: bytes) -> Tuple[int, np.ndarray, np.ndarray, int]:
    """(context count, byte values, counts, end-of-document count)."""
    if not b:
        vals = np.arange(256, dtype=np.int64)
        cnts = np.zeros(256, dtype=np.int64)
        for sh in idx.shards:
            C = np.asarray(sh.arrays["C"]).astype(np.int64)
            f = np.diff(C)[:256].copy()
            if sh.params["sep"] < 256:
                f[sh.params["sep"]] = 0
            cnts += f
        keep = cnts > 0
        return _total(idx), vals[keep], cnts[keep], len(idx)
    ctx = np.frombuffer(b, dtype=np.uint8)
    total = 0
    cnts = np.zeros(256, dtype=np.int64)
    for sh, lmk in zip(idx.shards, _lms(idx)):
        c = int(sh.fm.count(b))
        if c == 0:
            continue
        total += c
        pres = lmk.present
        cnts[pres.astype(np.int64)] += lmk.next_counts(ctx, pres)
    vals = np.flatnonzero(cnts).astype(np.int64)
    return total, vals, cnts[vals], total - int(cnts.sum())


def prob(idx: Index, ctx: Any, next_byte: Any, eos: int = END) -> dict:
    """{context_count, continuation_count, prob}: count(ctx + b) / count(ctx), -1.0 when ctx
    does not occur; ``next_byte == eos`` asks for the end of a document."""
    b = as_pattern(ctx)
    w = _byte(next_byte, eos)
    cc = count(idx, b)
    if cc == 0:
        return {"context_count": 0, "continuation_count": 0, "prob": -1.0}
    if w == eos:
        if not b:
            wc = len(idx)
        else:
            total, _, _, wc = _distribution(idx, b)
    else:
        wc = idx.count(b + bytes([w]))
    return {"context_count": cc, "continuation_count": int(wc), "prob": wc / cc}


def _as_dict(total: int, vals: np.ndarray, cnts: np.ndarray, end: int, eos: int,
             limit: Optional[int]) -> dict:
    if end:
        vals = np.append(vals, eos)
        cnts = np.append(cnts, end)
    order = np.lexsort((vals, -cnts))
    if limit is not None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        order = order[:limit]
    return {int(vals[i]): (int(cnts[i]), float(cnts[i]) / total) for i in order}


def next_token_distribution(idx: Index, ctx: Any, limit: Optional[int] = None,
                            eos: int = END) -> dict:
    """{byte: (count, prob)} of the bytes that follow ctx (exact), the end of a document as
    ``eos``; by count descending, ``limit`` keeps the most frequent."""
    total, vals, cnts, end = _distribution(idx, as_pattern(ctx))
    if total == 0:
        return {}
    return _as_dict(total, vals, cnts, end, eos, limit)


def longest_suffix(idx: Index, ctx: Any) -> int:
    """Length of the longest suffix of ctx (bytes) that occurs in the index."""
    b = as_pattern(ctx)
    if not b:
        return 0
    arr = np.frombuffer(b, dtype=np.uint8)
    return max(int(lmk.longest_suffix(arr)[0]) for lmk in _lms(idx))


def infgram_prob(idx: Index, ctx: Any, next_byte: Any, eos: int = END) -> dict:
    """∞-gram: prob of the next byte after the longest suffix of ctx with a nonzero count;
    {context_count, continuation_count, prob, suffix_len}."""
    b = as_pattern(ctx)
    k = longest_suffix(idx, b)
    r = prob(idx, b[len(b) - k:], next_byte, eos)
    r["suffix_len"] = k
    return r


def infgram_next_token_distribution(idx: Index, ctx: Any, limit: Optional[int] = None,
                                    eos: int = END) -> dict:
    """{suffix_len, context_count, distribution} for the longest suffix of ctx that occurs."""
    b = as_pattern(ctx)
    k = longest_suffix(idx, b)
    suf = b[len(b) - k:]
    total, vals, cnts, end = _distribution(idx, suf)
    return {"suffix_len": k, "context_count": int(total),
            "distribution": _as_dict(total, vals, cnts, end, eos, limit) if total else {}}


def search_documents(idx: Index, cnf: Sequence[Sequence[Any]], max_gap: int = 100,
                     limit: Optional[int] = 10, max_clause_freq: int = 50000) -> dict:
    """CNF document search on a byte index: ``cnf = [[b"a", b"b"], [b"c"]]`` is (a OR b) AND
    c, the starts of the matched strings at most ``max_gap`` bytes apart in one document.
    Same rules and result as :meth:`fmindex.tokens.TokenIndex.search_documents`."""
    from .tokens import cnf_search
    if not isinstance(cnf, (list, tuple)) or not cnf:
        raise PatternError("cnf must be a non-empty list of clauses (lists of strings)")
    clauses = []
    for cl in cnf:
        if isinstance(cl, (str, bytes)) or not isinstance(cl, (list, tuple)) or not cl:
            raise PatternError("each clause must be a non-empty list of strings")
        grams = [np.frombuffer(as_pattern(g), dtype=np.uint8) for g in cl]
        if any(g.shape[0] == 0 for g in grams):
            raise PatternError("strings in a CNF must be non-empty")
        clauses.append(grams)
    ccounts = [sum(idx.count(g.tobytes()) for g in cl) for cl in clauses]
    lms = _lms(idx)

    def occurrences(si: int, g: np.ndarray, stride: int):
        sh = idx.shards[si]
        sp, cnt = sh.fm.search(g.tobytes())
        if cnt == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if stride > 1:
            pos = lms[si].locate_rows(np.arange(sp, sp + cnt, stride, dtype=np.uint64))
        else:
            pos = sh.fm.locate_rows(sp, cnt, idx.num_threads)
        pos = pos.astype(np.int64)
        ds = sh.doc_starts.astype(np.int64)
        d = np.searchsorted(ds, pos, side="right") - 1
        return d, pos - ds[d]

    def extract(si: int, docs, los, his):
        fm = idx.shards[si].fm
        pieces = [fm.extract(int(d), int(lo), int(hi)) for d, lo, hi in zip(docs, los, his)]
        offs = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in pieces], out=offs[1:])
        return np.frombuffer(b"".join(pieces), dtype=np.uint8), offs

    doc_base = np.zeros(len(idx.shards) + 1, dtype=np.int64)
    np.cumsum([s.n_docs for s in idx.shards], out=doc_base[1:])
    return cnf_search(clauses, ccounts, max_gap=max_gap, limit=limit,
                      max_clause_freq=max_clause_freq, n_shards=len(idx.shards),
                      doc_base=doc_base, occurrences=occurrences, extract=extract,
                      doc_lengths=lambda si: idx.shards[si].doc_lengths())
