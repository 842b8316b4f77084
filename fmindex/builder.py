"""Build an index directory from a corpus: stream documents, cut shards, build, publish.

The build writes everything into a hidden temporary directory next to the target
(``.NAME.tmp-XXXX``) and renames it into place only when every shard and the
top-level ``manifest.json`` are written and fsynced.  A killed build leaves at
most that hidden directory, which ``open`` never accepts (no manifest at the
target path); an interrupted or failed build removes it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from . import __version__
from . import format as fmt
from .corpus import ReadStats, expand_inputs, iter_documents, _classify
from .errors import CorpusError, EmptyCorpusError, FMIndexError
from .index import INDEX_KIND, Index
from .shard import build_shard

DEFAULT_SA_SAMPLE = 32
DEFAULT_ISA_SAMPLE = 64
DEFAULT_SHARD_BYTES = 1 << 30          # ~6 bytes of build RAM per text byte
MAX_SHARD_BYTES = (1 << 31) - (1 << 20)


def parse_size(s: "str | int | None") -> Optional[int]:
    """'4G', '512M', '100k', '1000' -> bytes."""
    if s is None or isinstance(s, int):
        return s
    t = str(s).strip().upper().rstrip("B").rstrip("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    try:
        if t and t[-1] in mult:
            return int(float(t[:-1]) * mult[t[-1]])
        return int(t)
    except ValueError:
        raise ValueError(f"cannot read size {s!r}: use e.g. 512M, 4G") from None


class _Progress:
    """A tqdm bar over input bytes, or nothing."""

    def __init__(self, enabled: bool, total: Optional[int]):
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                desc="reading", file=sys.stderr, dynamic_ncols=True,
                                smoothing=0.1)
            except ImportError:
                self.bar = None
        self.last = 0

    def update(self, done: int) -> None:
        if self.bar is not None and done > self.last:
            self.bar.update(done - self.last)
            self.last = done

    def phase(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(name)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _input_size(inputs: Any) -> "tuple[Optional[int], list]":
    kind, what = _classify(inputs)
    if kind != "paths":
        return None, []
    files = [{"path": f, "bytes": os.path.getsize(f)} for f in what]
    return sum(f["bytes"] for f in files), files


def build(inputs: Any, out_dir: "str | os.PathLike", *, text_field: str = "text",
          skip_bad: bool = False, sa_sample: int = DEFAULT_SA_SAMPLE,
          isa_sample: int = DEFAULT_ISA_SAMPLE, shard_size: "int | str | None" = None,
          overwrite: bool = False, progress: Optional[bool] = None,
          validate_utf8: bool = True) -> Index:
    """Build an index of ``inputs`` in ``out_dir`` and open it.

    :param inputs: a path (file or directory), a list of paths, or an iterable of
        documents (``str``, ``bytes`` or ``dict`` with a ``text_field`` key).
        Files: ``.txt`` (one document per file) and ``.jsonl``, optionally ``.gz``/``.zst``.
    :param text_field: the JSONL / dict field holding the text; other fields are metadata.
    :param skip_bad: skip malformed records (counted in the manifest) instead of failing.
    :param sa_sample: suffix-array sample rate (locate walks at most this many LF steps).
    :param isa_sample: inverse-suffix-array sample rate (extract overhead per call).
    :param shard_size: text bytes per shard (e.g. ``"1G"``); default 1 GiB.
    :param overwrite: replace an existing index at ``out_dir``.
    :param progress: show a progress bar on stderr (default: when stderr is a terminal).
    :raises EmptyCorpusError: the corpus holds no document.
    :raises CorpusError: a bad record (file and line in the message), unless ``skip_bad``.
    """
    out = Path(out_dir)
    if int(sa_sample) < 1 or int(isa_sample) < 1:
        raise ValueError("sa_sample and isa_sample must be >= 1")
    shard_bytes = parse_size(shard_size) or DEFAULT_SHARD_BYTES
    if shard_bytes < 1:
        raise ValueError("shard_size must be positive")
    shard_bytes = min(shard_bytes, MAX_SHARD_BYTES)
    if out.exists():
        if not overwrite:
            raise FMIndexError(f"{out} already exists: choose another path, or pass "
                               "overwrite=True (--force) to replace it")
        if not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").exists()):
            raise FMIndexError(f"{out} exists and is not an fmindex index: refusing to replace it")
    if progress is None:
        progress = sys.stderr.isatty()
    total_in, files = _input_size(inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    bar = _Progress(progress, total_in)
    t_start = time.perf_counter()
    timings: Dict[str, float] = {}
    stats = ReadStats()
    try:
        shards: List[dict] = []
        buf = bytearray()
        lengths: List[int] = []
        metas: List[bytes] = []

        def flush() -> None:
            if not lengths:
                return
            name = f"shard-{len(shards):05d}"
            sdir = tmp / name
            sdir.mkdir()
            man = build_shard(buf, np.asarray(lengths, dtype=np.int64), metas, sdir,
                              sa_sample=int(sa_sample), isa_sample=int(isa_sample),
                              timings=timings, phase=bar.phase, release_text=buf.clear)
            fmt.fsync_dir(sdir)
            p = man["params"]
            shards.append({"dir": name, "n_docs": p["n_docs"], "num_bytes": p["num_bytes"]})
            buf.clear()
            lengths.clear()
            metas.clear()
            bar.phase("reading")

        t = time.perf_counter()
        for text, meta in iter_documents(inputs, text_field=text_field, skip_bad=skip_bad,
                                         stats=stats, validate_utf8=validate_utf8):
            if lengths and len(buf) + len(text) + 1 > shard_bytes:
                timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t
                flush()
                t = time.perf_counter()
            if len(text) + 1 > MAX_SHARD_BYTES:
                raise CorpusError(f"document {stats.documents - 1} is {len(text)} bytes, "
                                  f"larger than the shard limit {MAX_SHARD_BYTES}")
            buf += text
            buf.append(0)
            lengths.append(len(text))
            metas.append(json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode())
            if total_in:
                bar.update(stats.compressed_bytes_read)
            elif len(lengths) % 1024 == 0:
                bar.update(stats.bytes)
        timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t
        if not shards and not lengths:
            raise EmptyCorpusError("the corpus holds no document: nothing to index"
                                   + (f" ({stats.skipped} bad records skipped)"
                                      if stats.skipped else ""))
        flush()
        del buf
        bar.update(total_in or stats.bytes)
        manifest = {
            "format": INDEX_KIND, "format_version": [fmt.FORMAT_MAJOR, fmt.FORMAT_MINOR],
            "fmindex_version": __version__, "complete": True,
            "n_docs": sum(s["n_docs"] for s in shards),
            "num_bytes": sum(s["num_bytes"] for s in shards),
            "shards": shards,
            "params": {"sa_sample": int(sa_sample), "isa_sample": int(isa_sample),
                       "shard_size": shard_bytes, "text_field": text_field},
            "inputs": files[:1000], "skipped_records": stats.skipped,
            "skipped_examples": stats.skipped_examples,
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "build_seconds": round(time.perf_counter() - t_start, 3),
        }
        fmt.write_json(tmp / "manifest.json", manifest)
        fmt.fsync_dir(tmp)
        _publish(tmp, out, overwrite)
    except OSError as e:
        _remove(tmp)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise FMIndexError(f"disk full while building {out}: free space (or build on "
                               "another disk) and run the build again; nothing was "
                               "published") from e
        raise
    except BaseException:
        _remove(tmp)
        raise
    finally:
        bar.close()
    return Index(out)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _publish(tmp: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished build into place (replacing an old index atomically enough:
    the old one is first renamed aside, then removed)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    os.rename(tmp, out)
    fmt.fsync_dir(out.parent)
    if old is not None:
        _remove(old)
