"""Shared helpers for the benchmarks in ``benches/``.

Stdlib + numpy only (no fmindex import), so every worker process can load it.

- corpora: :func:`prepare_corpus` takes the first N MB of text of a named corpus,
  writes it as a JSONL subset (what fmindex indexes) and as one raw text file with
  the documents joined by a separator byte absent from the corpus (what the peers
  index), so every system sees exactly the same documents;
- sampling: hits drawn from random positions inside documents, random misses,
  frequent patterns for locate, random ranges for extract;
- timing: :func:`summarize` turns per-repetition samples into median/min/max;
- memory: :func:`run_child` runs a worker process and returns the ``ru_maxrss`` of
  exactly that child (``os.wait4``), :func:`peak_rss_self` the current process's;
- output: :func:`markdown_table`.

"MB" is 10^6 bytes throughout.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

MB = 1_000_000
CORPUS_DIR = Path("/work/corpora/jsonl")
SAMPLE_DIR = Path("/work/shared/corpora/sample")

# separator candidates for the peers' joined text: ASCII control bytes (valid UTF-8,
# one char for fm-index), never 0x00 (sdsl maps 0x00 -> 0x01, so 0x01 comes last)
SEPARATOR_CANDIDATES = (list(range(0x02, 0x09)) + list(range(0x0E, 0x20)) + [0x7F, 0x01])


# ----------------------------------------------------------------------------- corpora
def corpus_files(name: str) -> List[Path]:
    """Files of a named corpus: ``sample``, ``english`` (all en_*), or a stem in CORPUS_DIR."""
    if name == "sample":
        files = sorted(SAMPLE_DIR.glob("*.jsonl*"))
    elif name == "english":
        files = sorted(CORPUS_DIR.glob("en_*.jsonl"))
    else:
        p = Path(name)
        if p.is_file():
            files = [p]
        else:
            files = sorted(CORPUS_DIR.glob(f"{name}.jsonl*"))
    if not files:
        raise SystemExit(f"corpus {name!r}: no files found (looked in {CORPUS_DIR}, {SAMPLE_DIR})")
    return files


def _open_text(path: Path) -> io.BufferedIOBase:
    s = str(path)
    if s.endswith(".gz"):
        return gzip.open(s, "rb")
    if s.endswith(".zst") or s.endswith(".zstd"):
        import zstandard  # optional
        return zstandard.ZstdDecompressor().stream_reader(open(s, "rb"))
    return open(s, "rb")


def iter_jsonl_docs(files: Sequence[Path], text_field: str = "text") -> Iterator[Tuple[dict, bytes]]:
    """(record without its text, UTF-8 text bytes) for every usable JSONL record."""
    for path in files:
        with _open_text(path) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    text = rec.pop(text_field)
                    data = text.encode("utf-8")     # a lone surrogate raises: skip the record
                except (ValueError, KeyError, AttributeError, UnicodeEncodeError):
                    continue
                yield rec, data


@dataclass
class Corpus:
    name: str
    jsonl_path: Path            # the subset, as JSONL (what fmindex indexes)
    text_path: Path             # documents joined by ``sep`` (what the peers index)
    sep: int                    # separator byte, absent from every document
    doc_lengths: np.ndarray     # int64
    jstarts: np.ndarray         # int64, start of each document in the joined text (k + 1 entries)
    files: List[str] = field(default_factory=list)

    @property
    def n_docs(self) -> int:
        return int(self.doc_lengths.shape[0])

    @property
    def text_bytes(self) -> int:
        """Document bytes (separators not counted)."""
        return int(self.doc_lengths.sum())

    def info(self) -> dict:
        dl = self.doc_lengths
        return {"name": self.name, "files": self.files, "documents": self.n_docs,
                "text_bytes": self.text_bytes, "joined_bytes": int(self.jstarts[-1]) - 1,
                "separator": f"0x{self.sep:02x}", "doc_len_median": float(np.median(dl)),
                "doc_len_max": int(dl.max()), "jsonl_path": str(self.jsonl_path),
                "text_path": str(self.text_path)}


def prepare_corpus(name: str, mb: float, workdir: Path) -> Corpus:
    """The first ``mb`` MB of document text of corpus ``name`` (whole documents, in order)."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = corpus_files(name)
    limit = int(mb * MB)
    recs: List[dict] = []
    docs: List[bytes] = []
    total = 0
    for rec, data in iter_jsonl_docs(files):
        if docs and total + len(data) > limit:
            break
        if not data:
            continue                                 # empty documents: nothing to search
        recs.append(rec)
        docs.append(data)
        total += len(data)
    if not docs:
        raise SystemExit(f"corpus {name!r} holds no document")
    present = np.zeros(256, dtype=bool)
    for d in docs:
        present |= np.bincount(np.frombuffer(d, dtype=np.uint8), minlength=256) > 0
    sep = next((c for c in SEPARATOR_CANDIDATES if not present[c]), None)
    if sep is None:
        raise SystemExit("no ASCII control byte is absent from the corpus: cannot join documents")
    jsonl_path = workdir / "corpus.jsonl"
    with open(jsonl_path, "wb") as f:
        for rec, data in zip(recs, docs):
            obj = dict(rec)
            obj["text"] = data.decode("utf-8")
            f.write(json.dumps(obj, ensure_ascii=False).encode("utf-8"))
            f.write(b"\n")
    text_path = workdir / "text.bin"
    with open(text_path, "wb") as f:
        f.write(bytes([sep]).join(docs))
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    jstarts = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=jstarts[1:])
    return Corpus(name, jsonl_path, text_path, sep, lengths, jstarts, [str(p) for p in files])


# ----------------------------------------------------------------------------- sampling
def _usable(p: bytes, need_utf8: bool) -> bool:
    # 0x00/0x01: sdsl maps 0x00 -> 0x01 in text and patterns; avoid both
    if b"\x00" in p or b"\x01" in p:
        return False
    if need_utf8:
        try:
            p.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _random_in_doc(rng: random.Random, corpus: Corpus, m: int) -> Optional[Tuple[int, int]]:
    """(doc, offset) of a uniformly random m-byte window inside one document."""
    joined = int(corpus.jstarts[-1])
    for _ in range(1000):
        g = rng.randrange(joined)
        d = int(np.searchsorted(corpus.jstarts, g, side="right")) - 1
        off = g - int(corpus.jstarts[d])
        if off + m <= int(corpus.doc_lengths[d]):
            return d, off
    return None


def sample_hits(text: bytes, corpus: Corpus, lengths: Iterable[int], per_len: int,
                rng: random.Random, need_utf8: bool = True) -> Dict[int, List[bytes]]:
    """``per_len`` patterns of each length, copied from random positions inside documents.

    Positions are uniform over the text (so frequent substrings are drawn more often,
    as in real queries).  With ``need_utf8`` only complete UTF-8 sequences are kept
    (fm-index takes ``str``); patterns holding 0x00 or 0x01 are never kept.
    """
    out: Dict[int, List[bytes]] = {}
    for m in lengths:
        pats: List[bytes] = []
        tries = 0
        while len(pats) < per_len and tries < 200 * per_len:
            tries += 1
            pos = _random_in_doc(rng, corpus, m)
            if pos is None:
                break
            g = int(corpus.jstarts[pos[0]]) + pos[1]
            p = text[g:g + m]
            if _usable(p, need_utf8):
                pats.append(p)
        if pats:
            out[m] = pats
    return out


def sample_misses(text: bytes, n: int, m: int, rng: random.Random) -> List[bytes]:
    """``n`` random printable-ASCII strings of ``m`` bytes that occur nowhere in ``text``."""
    out: List[bytes] = []
    while len(out) < n:
        p = bytes(rng.randrange(0x20, 0x7F) for _ in range(m))
        if p not in text:
            out.append(p)
    return out


def sample_frequent(text: bytes, corpus: Corpus, m: int, n: int, min_count: int,
                    rng: random.Random, need_utf8: bool = True) -> List[bytes]:
    """``n`` distinct m-byte patterns from random positions occurring >= ``min_count`` times.

    ``bytes.count`` (non-overlapping) is a lower bound of the true count, so every
    pattern kept really has ``min_count`` occurrences.  If too few qualify after
    ``40 n`` tries, the most frequent candidates seen fill the set.
    """
    seen: Dict[bytes, int] = {}
    good: List[bytes] = []
    tries = 0
    while len(good) < n and tries < 40 * n:
        tries += 1
        pos = _random_in_doc(rng, corpus, m)
        if pos is None:
            break
        g = int(corpus.jstarts[pos[0]]) + pos[1]
        p = text[g:g + m]
        if p in seen or not _usable(p, need_utf8):
            continue
        c = text.count(p)
        seen[p] = c
        if c >= min_count:
            good.append(p)
    if len(good) < n:
        rest = sorted((c, p) for p, c in seen.items() if c < min_count)[::-1]
        good += [p for c, p in rest[:n - len(good)]]
    return good


def sample_ranges(corpus: Corpus, n: int, length: int, rng: random.Random) -> List[Tuple[int, int]]:
    """``n`` random (doc, start) with [start, start + length) inside the document."""
    out = []
    for _ in range(n):
        pos = _random_in_doc(rng, corpus, length)
        if pos is None:
            break
        out.append(pos)
    return out


def median_size_docs(corpus: Corpus, n: int) -> List[int]:
    """The ``n`` documents whose lengths are closest to the median length."""
    dl = corpus.doc_lengths
    med = float(np.median(dl))
    order = np.argsort(np.abs(dl - med), kind="stable")
    return [int(d) for d in order[:n]]


# ----------------------------------------------------------------------------- timing
def summarize(samples: Sequence[float]) -> dict:
    """median / min / max / relative spread of per-repetition samples."""
    s = [float(x) for x in samples]
    med = statistics.median(s)
    return {"median": med, "min": min(s), "max": max(s),
            "spread": (max(s) - min(s)) / med if med > 0 else 0.0, "n": len(s)}


def time_loop(fn: Callable, items: Sequence) -> int:
    """Nanoseconds to call ``fn(x)`` for every item (the loop itself included)."""
    t = time.perf_counter_ns()
    for x in items:
        fn(x)
    return time.perf_counter_ns() - t


class ChunkedTiming:
    """Wall-clock cost of ``fn`` over ``items``, robust to preemption on a busy machine.

    The items are cut into chunks of about ``target_ns`` each (sized from one
    calibration pass); every repetition (:meth:`run`) times each chunk separately.
    The estimate for the whole set is the sum over chunks of each chunk's median
    across repetitions: a chunk much shorter than a scheduler time slice is rarely
    preempted, so its median stays clean even when every whole-set repetition was
    interrupted somewhere.  The repetition totals (sum of a repetition's chunks) are
    kept too: their median / min / max / spread show how noisy the machine was.

    ``batch=True``: ``fn`` takes a whole chunk (a list) at once, e.g. ``count_many``.
    """

    def __init__(self, fn: Callable, items: Sequence, target_ns: float = 200e3,
                 batch: bool = False, min_chunk: int = 1):
        self.fn, self.batch = fn, batch
        items = list(items)
        t = time.perf_counter_ns()
        self._call(items)
        per_item = max((time.perf_counter_ns() - t) / max(len(items), 1), 1.0)
        size = max(min_chunk, int(target_ns / per_item), 1)
        self.chunks = [items[i:i + size] for i in range(0, len(items), size)]
        self.samples: List[List[int]] = []

    def _call(self, chunk: Sequence) -> None:
        if self.batch:
            self.fn(chunk)
        else:
            fn = self.fn
            for x in chunk:
                fn(x)

    def run(self) -> None:
        """One repetition: time every chunk."""
        ts = []
        clock = time.perf_counter_ns
        for ch in self.chunks:
            t = clock()
            self._call(ch)
            ts.append(clock() - t)
        self.samples.append(ts)

    def summary(self, scale: float) -> dict:
        """Estimate and rep statistics, every time multiplied by ``scale`` (ns -> unit)."""
        est = sum(statistics.median(col) for col in zip(*self.samples)) * scale
        s = summarize([sum(r) * scale for r in self.samples])
        s = {"median": est, "rep_median": s["median"], "min": s["min"], "max": s["max"],
             "spread": s["spread"], "n": s["n"], "chunks": len(self.chunks)}
        return s


# ----------------------------------------------------------------------------- memory
def peak_rss_self() -> int:
    """Peak resident set size of this process so far, in bytes (Linux: ru_maxrss KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def current_rss() -> int:
    """Current resident set size in bytes (from /proc)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def run_child(cmd: List[str], env: Optional[dict] = None, timeout: Optional[float] = None) -> dict:
    """Run ``cmd`` and return its exit code, wall time and the peak RSS of that child only.

    ``os.wait4`` reports the rusage of exactly the process waited for, so the peaks of
    consecutive children never mix (unlike RUSAGE_CHILDREN, a running maximum).
    stdout/stderr are inherited.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    deadline = None if timeout is None else t0 + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
        if pid == proc.pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
            pid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"returncode": proc.returncode, "wall_s": time.perf_counter() - t0,
            "maxrss_bytes": ru.ru_maxrss * 1024}


# ----------------------------------------------------------------------------- output
def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table with padded columns (first column left-aligned, others right)."""
    cols = len(header)
    w = [max(len(str(r[i])) for r in [header, *rows]) for i in range(cols)]
    def line(r):
        return "| " + " | ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])
                                 for i, c in enumerate(r)) + " |"
    sep = "|" + "|".join(("-" * (w[i] + 1) + ":") if i else ("-" * (w[i] + 2))
                         for i in range(cols)) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def fmt_num(x: Optional[float], digits: int = 3) -> str:
    """Compact number: 3 significant digits, no scientific notation for usual ranges."""
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


def machine_info() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "python": sys.version.split()[0],
            "platform": platform.platform(), "loadavg": list(os.getloadavg())}


def git_head(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--",
                                "fmindex", "ext"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except OSError:
        return ""
