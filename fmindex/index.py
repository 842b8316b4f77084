"""The multi-shard index users open: global document ids, count / locate / extract.

An index directory holds ``manifest.json`` (written last by the build) and one
directory per shard.  Every query fans out over the shards and merges: counts
add up, locate results are concatenated in document order.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import format as fmt
from .errors import CorruptIndexError, IndexFormatError, PatternError
from ._fm_shard import count_shards, pattern_refs
from .shard import COMPONENTS, Shard

INDEX_KIND = "fmindex"
# the hidden working directory of a build (tempfile.mkdtemp(prefix=".NAME.tmp-"))
_BUILD_DIR_NAME = re.compile(r"\..+\.tmp-[A-Za-z0-9_]+")
MAX_PATTERN_BYTES = 1 << 24
LOCATE_DTYPE = np.dtype([("doc", "<i8"), ("offset", "<i8")])
#: count() on many shards is one GIL-free call (``count_shards``); it splits the shards over
#: OpenMP threads for patterns of at least this many bytes and at least
#: PARALLEL_MIN_SHARDS shards.  Measured on 62 shards of 1.6 MB of C, 200 patterns each
#: (/tmp script, medians of 5): m = 2: 51 us on one thread vs 72 on two (waking the
#: second thread costs more than half the work); m = 4 / 16 / 64: 141 / 327 / 382 us on one
#: vs 121 / 211 / 236 on two (the former per-shard Python loop: 156 / 335 / 389)
PARALLEL_MIN_PATTERN = 4
PARALLEL_MIN_SHARDS = 8
#: locate() resolves the shards in parallel threads from this many occurrences on
PARALLEL_MIN_OCCURRENCES = 256

Pattern = Union[str, bytes, bytearray, memoryview]


def as_pattern(pattern: Pattern) -> bytes:
    """str -> UTF-8 bytes; bytes-like -> bytes.  Raises PatternError on anything else."""
    if type(pattern) is bytes:
        b = pattern
    elif isinstance(pattern, bytes):    # a subclass: the kernels take exactly bytes
        b = bytes(pattern)
    elif isinstance(pattern, str):
        try:
            b = pattern.encode("utf-8")
        except UnicodeEncodeError as e:
            raise PatternError(f"pattern is not valid Unicode text ({e.reason} at {e.start}); "
                               "pass bytes to search raw byte sequences") from None
    elif isinstance(pattern, (bytearray, memoryview)):
        b = bytes(pattern)
    else:
        raise PatternError(f"pattern must be str or bytes, not {type(pattern).__name__}")
    if len(b) > MAX_PATTERN_BYTES:
        raise PatternError(f"pattern of {len(b)} bytes exceeds the limit of {MAX_PATTERN_BYTES}")
    return b


def pack_patterns(patterns: Iterable[Pattern]) -> "tuple[np.ndarray, np.ndarray]":
    """Patterns -> (concatenated uint8 buffer, int64 offsets of length n + 1)."""
    if isinstance(patterns, list) and all(type(p) is bytes for p in patterns):
        bs = patterns                   # the common case: no per-pattern Python call
        lengths = np.fromiter(map(len, bs), dtype=np.int64, count=len(bs))
        if lengths.shape[0] and int(lengths.max()) > MAX_PATTERN_BYTES:
            as_pattern(bs[int(np.argmax(lengths))])     # raises the usual PatternError
    else:
        bs = [as_pattern(p) for p in patterns]
        lengths = np.fromiter(map(len, bs), dtype=np.int64, count=len(bs))
    offsets = np.zeros(len(bs) + 1, dtype=np.int64)
    if bs:
        np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(bs), dtype=np.uint8) if offsets[-1] else np.zeros(1, np.uint8)
    return buf, offsets


@dataclass
class Document:
    """A document rebuilt from the index."""
    id: int
    data: bytes                       # the exact bytes that were indexed
    metadata: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The document as text (UTF-8; invalid bytes shown as U+FFFD)."""
        return self.data.decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class Snippet:
    """A match in context: ``left + match + right`` = document bytes [start, end)."""
    doc: int
    offset: int                       # where the match starts in the document
    left: bytes
    match: bytes
    right: bytes

    @property
    def start(self) -> int:
        return self.offset - len(self.left)

    def __str__(self) -> str:
        def show(b: bytes) -> str:
            return b.decode("utf-8", errors="replace").replace("\n", " ").replace("\r", " ")
        return f"{show(self.left)}[{show(self.match)}]{show(self.right)}"


class Index:
    """An opened FM-index (use :func:`fmindex.open`).

    Patterns are ``str`` (searched as UTF-8) or ``bytes`` (as is).  Document ids
    are global, 0-based, in corpus order.
    """

    def __init__(self, path: "str | os.PathLike", verify: "bool | str" = "auto",
                 num_threads: Optional[int] = None):
        self.path = Path(path)
        if not self.path.is_dir():
            raise IndexFormatError("not an index directory (build one with `fmindex build`)",
                                   str(self.path))
        if _BUILD_DIR_NAME.fullmatch(self.path.name):
            # a build's working directory (.NAME.tmp-XXXX): even when its manifest is
            # written (a build killed just before its final rename), only the rename
            # publishes it; opening it here could race with the build or its --resume
            raise IndexFormatError("this is the working directory of an unfinished build: "
                                   "run the build again with --resume to finish it",
                                   str(self.path))
        man = fmt.read_json(self.path / "manifest.json", INDEX_KIND)
        if man.get("complete") is not True or not isinstance(man.get("shards"), list):
            raise CorruptIndexError("the build did not complete; rebuild the index",
                                    str(self.path / "manifest.json"))
        self.manifest = man
        self.shards: List[Shard] = []
        seen = set()
        for ent in man["shards"]:
            d = ent.get("dir") if isinstance(ent, dict) else None
            if (not isinstance(d, str) or not d or d in seen or d in (".", "..")
                    or "/" in d or "\\" in d):
                raise CorruptIndexError(f"manifest lists a bad shard entry {ent!r:.80}",
                                        str(self.path / "manifest.json"))
            seen.add(d)
            sh = Shard(self.path / d, verify=verify)
            if sh.n_docs != ent.get("n_docs") or sh.num_bytes != ent.get("num_bytes"):
                raise CorruptIndexError(f"shard {ent['dir']} differs from the manifest",
                                        str(self.path / "manifest.json"))
            self.shards.append(sh)
        if not self.shards:
            raise CorruptIndexError("manifest lists no shard", str(self.path / "manifest.json"))
        self._doc_base = np.zeros(len(self.shards) + 1, dtype=np.int64)
        np.cumsum([s.n_docs for s in self.shards], out=self._doc_base[1:])
        self._num_bytes = sum(s.num_bytes for s in self.shards)
        self.num_threads = num_threads or min(len(os.sched_getaffinity(0)), 8)
        self._pool: Optional[ThreadPoolExecutor] = None
        self._single = self.shards[0].fm if len(self.shards) == 1 else None
        self._fms = [s.fm for s in self.shards]

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        """Number of documents."""
        return int(self._doc_base[-1])

    @property
    def num_bytes(self) -> int:
        """Corpus text bytes (document separators not counted)."""
        return self._num_bytes

    @property
    def num_shards(self) -> int:
        return len(self.shards)

    def stats(self) -> dict:
        """Size of every component in bytes, and relative to the corpus text."""
        comp: Dict[str, int] = {k: 0 for k in COMPONENTS}
        files: Dict[str, int] = {}
        for sh in self.shards:
            cb = sh.component_bytes()
            for name, b in cb.items():
                files[name] = files.get(name, 0) + b
            for k, names in COMPONENTS.items():
                comp[k] += sum(cb.get(n, 0) for n in names)
        total = sum(comp.values())
        text_index = total - comp["metadata"]
        n = max(self.num_bytes, 1)
        p = self.shards[0].params
        return {
            "documents": len(self), "text_bytes": self.num_bytes, "shards": len(self.shards),
            "components": comp, "files": files, "index_bytes": total,
            "index_bytes_without_metadata": text_index,
            "percent_of_text": 100.0 * total / n,
            "bits_per_char": 8.0 * text_index / n,
            "sa_sample": p["sa_sample"], "isa_sample": p["isa_sample"],
            "profile": "small" if p.get("wt_bits") in ("rrr63", "rrr63r", "rrr63rc") else "fast",
            "tree_block_shift": p["wt_block_shift"],
            "tree_arity": p.get("wt_arity", 2),
        }

    # ---------------------------------------------------------------- helpers
    def _map(self, fn, items):
        """``[fn(x) for x in items]``, in parallel threads when there are several."""
        if len(items) == 1 or self.num_threads <= 1:
            return [fn(x) for x in items]
        return self._pool_map(fn, items)

    def _pool_map(self, fn, items):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix="fmindex")
        return list(self._pool.map(fn, items))

    def _locate_doc(self, doc: int) -> "tuple[Shard, int]":
        d = int(doc)
        if d < 0 or d >= len(self):
            raise IndexError(f"document {doc} out of range: the index has {len(self)} documents")
        s = int(np.searchsorted(self._doc_base, d, side="right")) - 1
        return self.shards[s], d - int(self._doc_base[s])

    # ---------------------------------------------------------------- queries
    def count(self, pattern: Pattern) -> int:
        """Occurrences of ``pattern`` (overlapping, never across documents).

        ``count("")`` is the number of text bytes.  On a many-shard index all shards are
        searched in one call without the GIL, split over threads when that pays (see
        ``PARALLEL_MIN_PATTERN``).
        """
        single = self._single
        if single is not None:
            n = single.count_checked(pattern, MAX_PATTERN_BYTES)
            if n >= 0:
                return n
            # else: not bytes / str, too long or not valid Unicode: as_pattern says why
        b = as_pattern(pattern)
        fms = self._fms
        if len(fms) == 1:
            return fms[0].count(b)
        threads = (self.num_threads if len(b) >= PARALLEL_MIN_PATTERN
                   and len(fms) >= PARALLEL_MIN_SHARDS else 1)
        return count_shards(fms, b, threads)

    def count_many(self, patterns: Union[Sequence[Pattern], Iterable[Pattern]],
                   num_threads: Optional[int] = None) -> np.ndarray:
        """Counts of many patterns (numpy int64), computed in parallel without the GIL."""
        # a list or tuple of bytes / ASCII str is read in place (pointers to the objects'
        # data, no copy); anything else is converted and packed into one buffer
        refs = pattern_refs(patterns, MAX_PATTERN_BYTES)
        if refs is not None:
            n_pat = len(refs)

            def one(fm, nt):
                return fm.count_refs(refs, nt)
        else:
            buf, offsets = pack_patterns(patterns)
            n_pat = offsets.shape[0] - 1

            def one(fm, nt):
                return fm.count_many(buf, offsets, nt)
        nt = num_threads or self.num_threads
        if len(self._fms) == 1:
            return one(self._fms[0], nt)
        out = np.zeros(n_pat, dtype=np.int64)
        if len(self.shards) >= 2 and nt >= 2 and n_pat >= 16:
            # many shards: one thread per group of shards, each shard's batch in one
            # nogil call (an OpenMP team per shard costs more than it gains)
            ng = min(nt, len(self.shards))
            groups = [self._fms[i::ng] for i in range(ng)]

            def run(g):
                acc = np.zeros(n_pat, dtype=np.int64)
                for fm in g:
                    acc += one(fm, 1)
                return acc

            if self._pool is None or self._pool._max_workers < ng:
                self.close()
                self._pool = ThreadPoolExecutor(max(ng, self.num_threads),
                                                thread_name_prefix="fmindex")
            for acc in self._pool.map(run, groups):
                out += acc
            return out
        for fm in self._fms:
            out += one(fm, nt)
        return out

    def locate(self, pattern: Pattern, limit: Optional[int] = None) -> np.ndarray:
        """All occurrences as a structured array (``doc``, ``offset``) sorted by doc, offset.

        With ``limit``, at most ``limit`` occurrences are resolved: shard by shard, the
        first suffix-array rows (a deterministic subset), then sorted.  The shards are
        searched in turn, and their occurrences resolved in parallel threads (one shard per
        thread at a time) when there are many.
        """
        b = as_pattern(pattern)
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if len(b) == 0:
            return self._locate_empty(limit)
        ranges = [fm.search(b) for fm in self._fms]     # a few us each: no threads
        todo = []
        remaining = limit
        for si, (sp, cnt) in enumerate(ranges):
            if remaining is not None:
                if remaining <= 0:
                    break
                cnt = min(cnt, remaining)
                remaining -= cnt
            if cnt:
                todo.append((si, sp, cnt))
        if not todo:
            return np.zeros(0, dtype=LOCATE_DTYPE)
        if len(todo) == 1:
            si, sp, cnt = todo[0]
            return self._resolve(si, sp, cnt, self.num_threads)
        if sum(t[2] for t in todo) < PARALLEL_MIN_OCCURRENCES:
            parts = [self._resolve(si, sp, cnt, 1) for si, sp, cnt in todo]
        else:
            parts = self._map(lambda t: self._resolve(t[0], t[1], t[2], 1), todo)
        return np.concatenate(parts)

    def _resolve(self, si: int, sp: int, cnt: int, threads: int) -> np.ndarray:
        """Rows [sp, sp + cnt) of shard ``si`` -> sorted (global doc, offset) pairs."""
        sh = self.shards[si]
        pos = sh.fm.locate_rows(sp, cnt, threads)
        pos.sort()
        return self._to_docs(si, pos)

    def _to_docs(self, si: int, pos: np.ndarray) -> np.ndarray:
        sh = self.shards[si]
        if pos.shape[0] and int(pos[-1]) >= sh.fm.n_rows - 1:
            raise CorruptIndexError("a suffix-array sample points outside the text; "
                                    "rebuild the index", str(sh.path))
        d, off = sh.fm.docs_of(pos)
        res = np.empty(pos.shape[0], dtype=LOCATE_DTYPE)
        res["doc"] = d + self._doc_base[si]
        res["offset"] = off
        return res

    def _locate_empty(self, limit: Optional[int]) -> np.ndarray:
        """The empty pattern occurs at every text position."""
        parts = []
        remaining = limit
        for si, sh in enumerate(self.shards):
            if remaining is not None and remaining <= 0:
                break
            if not sh.num_bytes:
                continue
            pos = np.concatenate([sh.doc_starts[d] + np.arange(sh.doc_length(d), dtype=np.uint64)
                                  for d in range(sh.n_docs)])
            if remaining is not None:
                pos = pos[:remaining]
                remaining -= pos.shape[0]
            parts.append(self._to_docs(si, pos))
        if not parts:
            return np.zeros(0, dtype=LOCATE_DTYPE)
        return np.concatenate(parts)

    def doc_length(self, doc: int) -> int:
        """Length in bytes of document ``doc``."""
        sh, d = self._locate_doc(doc)
        return sh.doc_length(d)

    def doc_lengths(self) -> np.ndarray:
        """Lengths of all documents (int64)."""
        return np.concatenate([s.doc_lengths() for s in self.shards])

    def extract(self, doc: int, start: int = 0, end: Optional[int] = None) -> bytes:
        """Bytes [start, end) of document ``doc``, rebuilt from the BWT (clipped to the document)."""
        sh, d = self._locate_doc(doc)
        n = sh.doc_length(d)
        if end is None:
            end = n
        if start < 0 or end < 0:
            raise ValueError("start and end must be >= 0")
        end = min(int(end), n)
        start = min(int(start), end)
        return sh.fm.extract(d, start, end)

    def metadata(self, doc: int) -> dict:
        """The metadata stored with document ``doc`` (JSONL fields other than the text)."""
        sh, d = self._locate_doc(doc)
        return sh.metadata(d)

    def document(self, doc: int) -> Document:
        """Document ``doc``: its bytes (rebuilt from the index) and metadata."""
        sh, d = self._locate_doc(doc)
        return Document(int(doc), sh.fm.extract(d, 0, sh.doc_length(d)), sh.metadata(d))

    def snippet(self, doc: int, offset: int, length: int, context: int = 80) -> Snippet:
        """Bytes around document ``doc``[offset:offset+length] with ``context`` bytes each side."""
        sh, d = self._locate_doc(doc)
        n = sh.doc_length(d)
        if offset < 0 or length < 0 or context < 0:
            raise ValueError("offset, length and context must be >= 0")
        a = min(offset, n)
        b = min(offset + length, n)
        lo = max(0, a - context)
        hi = min(n, b + context)
        raw = sh.fm.extract(d, lo, hi)
        return Snippet(int(doc), a, raw[:a - lo], raw[a - lo:b - lo], raw[b - lo:])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<fmindex.Index {str(self.path)!r}: {len(self)} documents, "
                f"{self.num_bytes} bytes, {len(self.shards)} shard(s)>")


def open_index(path: "str | os.PathLike", verify: "bool | str" = "auto",
               num_threads: Optional[int] = None) -> Index:
    """Open an index directory read-only with mmap.

    ``verify``: ``"auto"`` checks headers, sizes and structural invariants of every
    file and the checksum of small files; ``True`` also checksums every file (reads
    the whole index); ``False`` skips checksums.
    """
    return Index(path, verify=verify, num_threads=num_threads)
