"""Sharded, parallel, memory-bounded and resumable builds; appending shards to an index.

The engine reads the input stream once, in order, and cuts it into shards.  Each shard
is built either in the calling process (``jobs=1``) or by a worker process
(``jobs>1``): the reader streams the documents of the shard it is filling into spool
files (text, lengths, metadata) in the build directory, so that the reader holds almost
nothing in memory; a sealed spool is handed to a worker (at most ``jobs`` at a time),
which loads it, builds the shard in place and exits.

Memory.  Building a shard of ``S`` text bytes peaks at ~5.6 ``S`` bytes (text + 32-bit
suffix array; see :func:`fmindex.shard.build_shard`), plus its metadata.  With a budget
``M`` and ``J`` jobs, each job gets ``(M - (J + 1) * PROCESS_BYTES) / J`` bytes and a
shard is cut when its estimated build memory would exceed that (:func:`plan_build`).

Crash safety.  Everything is written in a hidden directory ``.NAME.tmp-XXXX`` next to
the target, holding a journal (``build-state.json``, replaced atomically) listing the
shards cut so far, each with the input position after its last document and its state
(``spooled``: its spool files are durable; ``done``: the shard is built and fsynced).
``resume=True`` finds that directory, keeps the shards that are done, rebuilds the
spooled ones and continues reading the input after the last recorded shard (skipping
whole files, then documents).  The target ``NAME`` appears only by the final rename,
with ``"complete": true`` in its ``manifest.json``.
"""
from __future__ import annotations

import array
import errno
import fcntl
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import __version__
from . import format as fmt
from .corpus import PackedMetadata, ReadStats, _classify, _iter_file, _iter_objects, metadata_json
from .errors import CorpusError, EmptyCorpusError, FMIndexError

MiB = 1 << 20
GiB = 1 << 30
#: peak build memory per shard text byte (text + int32 SA, then BWT + wavelet tree);
#: calibrated with benches/bench_scale.py (measured 5.0-5.4 on real text)
BUILD_BYTES_PER_TEXT_BYTE = 5.6
#: resident memory of one process with numpy and the kernels loaded
PROCESS_BYTES = 80 * MiB
#: RAM per metadata byte and per document while a shard is built (Python objects)
META_BYTES_FACTOR = 2.0
DOC_BYTES = 120
DEFAULT_SHARD_BYTES = 1 << 30
MIN_SHARD_BYTES = 4 * MiB
MAX_SHARD_BYTES = (1 << 31) - (1 << 20)      # the suffix array is int32
STATE_FILE = "build-state.json"
LOCK_FILE = "build.lock"
SPOOL_DIR = "spool"
STATE_VERSION = 1


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


# --------------------------------------------------------------------------- planning
@dataclass
class Plan:
    """How a build is cut: at most ``shard_bytes`` text bytes and ``shard_cost`` bytes of
    estimated build memory per shard, ``jobs`` shards built at a time."""
    jobs: int
    shard_bytes: int
    shard_cost: Optional[int]
    memory: Optional[int]

    def as_dict(self) -> dict:
        return {"jobs": self.jobs, "shard_bytes": self.shard_bytes,
                "shard_cost": self.shard_cost, "memory": self.memory}


def shard_cost(text_bytes: int, meta_bytes: int, n_docs: int) -> float:
    """Estimated peak build memory of a shard (bytes)."""
    return (BUILD_BYTES_PER_TEXT_BYTE * (text_bytes + n_docs) + META_BYTES_FACTOR * meta_bytes
            + DOC_BYTES * n_docs)


def plan_build(memory: "int | str | None" = None, jobs: int = 1,
               shard_size: "int | str | None" = None) -> Plan:
    """Shard size and admission from a memory budget (all processes together).

    ``shard_size`` (text bytes per shard) overrides the size derived from ``memory``.
    """
    jobs = int(jobs)
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    mem = parse_size(memory)
    size = parse_size(shard_size)
    if size is not None and size < 1:
        raise ValueError("shard_size must be positive")
    cost = None
    if mem is not None:
        procs = 1 if jobs == 1 else jobs + 1
        per_job = (mem - procs * PROCESS_BYTES) / jobs
        need = BUILD_BYTES_PER_TEXT_BYTE * MIN_SHARD_BYTES
        if per_job < need:
            least = procs * PROCESS_BYTES + jobs * need
            raise ValueError(f"memory budget {memory} is too small for {jobs} job(s): give "
                             f"at least {least / MiB:.0f}M, or fewer --jobs")
        if size is None:
            cost = int(per_job)
            size = int(per_job / BUILD_BYTES_PER_TEXT_BYTE)
    if size is None:
        size = DEFAULT_SHARD_BYTES
    return Plan(jobs=jobs, shard_bytes=max(1, min(size, MAX_SHARD_BYTES)), shard_cost=cost,
                memory=mem)


# ---------------------------------------------------------------------------- reading
@dataclass
class Position:
    """Where the input stream stands after a document: for resume."""
    file: int = 0            # index of the input file (0 for in-memory inputs)
    docs_in_file: int = 0    # documents yielded from that file so far
    docs: int = 0            # documents yielded in total
    skipped: int = 0         # bad records skipped in total
    skipped_in_file: int = 0

    def as_list(self) -> list:
        return [self.file, self.docs_in_file, self.docs, self.skipped, self.skipped_in_file]

    @classmethod
    def from_list(cls, v: list) -> "Position":
        return cls(*[int(x) for x in v])


class _Reader:
    """The documents of the inputs, once, in order, tracking the :class:`Position`."""

    def __init__(self, inputs: Any, text_field: str, skip_bad: bool, validate_utf8: bool):
        if not isinstance(text_field, str) or not text_field:
            raise TypeError("text_field must be a non-empty str")
        self.kind, what = _classify(inputs)
        self.files: List[str] = list(what) if self.kind == "paths" else []
        self.objects = what if self.kind == "objects" else None
        self.text_field, self.skip_bad, self.validate_utf8 = text_field, skip_bad, validate_utf8
        self.stats = ReadStats()
        self.pos = Position()
        self.file_bytes = [os.path.getsize(f) for f in self.files]
        self.total_in = sum(self.file_bytes) if self.kind == "paths" else None
        self.in_done = 0        # input bytes of the files before the current one

    def fingerprint(self) -> dict:
        files = []
        for f in self.files:
            st = os.stat(f)
            files.append([os.path.abspath(f), st.st_size, st.st_mtime_ns])
        return {"kind": self.kind, "files": files, "text_field": self.text_field,
                "skip_bad": bool(self.skip_bad), "validate_utf8": bool(self.validate_utf8)}

    def input_bytes(self) -> int:
        """Input bytes consumed so far (compressed bytes for files, text bytes otherwise)."""
        if self.kind == "paths":
            return self.stats.compressed_bytes_read
        return self.stats.bytes

    def documents(self, start: Position) -> Iterator[Tuple[bytes, dict]]:
        """Documents after ``start``; ``self.pos`` is the position after each."""
        if self.kind == "paths":
            self.stats.compressed_bytes_read = sum(self.file_bytes[:start.file])
        return self._documents(start)

    def _documents(self, start: Position) -> Iterator[Tuple[bytes, dict]]:
        st = self.stats
        pos = self.pos = Position(start.file, 0, start.docs - start.docs_in_file,
                                  start.skipped - start.skipped_in_file, 0)
        st.skipped = pos.skipped
        skip = start.docs_in_file
        if self.kind == "paths":
            for fi in range(start.file, len(self.files)):
                pos.file, pos.docs_in_file, pos.skipped_in_file = fi, 0, 0
                sk0 = st.skipped
                for text, meta in _iter_file(self.files[fi], self.text_field, self.skip_bad,
                                             st, self.validate_utf8):
                    pos.docs_in_file += 1
                    pos.docs += 1
                    pos.skipped = st.skipped
                    pos.skipped_in_file = st.skipped - sk0
                    if skip:
                        skip -= 1
                        continue
                    yield text, meta
                if skip:
                    raise FMIndexError("cannot resume: the input has fewer documents than "
                                       "the interrupted build read; start a new build")
        else:
            for text, meta in _iter_objects(self.objects, self.text_field, self.skip_bad, st):
                pos.docs_in_file += 1
                pos.docs += 1
                pos.skipped = pos.skipped_in_file = st.skipped
                if skip:
                    skip -= 1
                    continue
                yield text, meta
            if skip:
                raise FMIndexError("cannot resume: the input has fewer documents than the "
                                   "interrupted build read; start a new build")


# ---------------------------------------------------------------------------- journal
class _Journal:
    """``build-state.json`` in the build directory, replaced atomically on each change."""

    def __init__(self, root: Path, data: dict):
        self.root = root
        self.data = data

    @property
    def shards(self) -> List[dict]:
        return self.data["shards"]

    def save(self) -> None:
        tmp = self.root / (STATE_FILE + ".tmp")
        fmt.write_json(tmp, self.data)
        os.replace(tmp, self.root / STATE_FILE)
        fmt.fsync_dir(self.root)

    @staticmethod
    def load(root: Path) -> Optional[dict]:
        try:
            d = json.loads((root / STATE_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(d, dict) or d.get("version") != STATE_VERSION:
            return None
        return d


def _lock(root: Path, blocking: bool = False) -> Optional[int]:
    """flock ``root/build.lock``; the fd, or None if another process holds it."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def partial_builds(out: Path) -> List[Path]:
    """Hidden build directories of ``out`` holding a journal (resumable builds)."""
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.glob(f".{out.name}.tmp-*")
                  if p.is_dir() and (p / STATE_FILE).exists())


# ------------------------------------------------------------------------------ spool
def _spool_paths(root: Path, name: str) -> Dict[str, Path]:
    d = root / SPOOL_DIR
    return {"text": d / f"{name}.text", "len": d / f"{name}.len", "meta": d / f"{name}.meta"}


class _SpoolWriter:
    """Streams one shard's documents to disk: text + 1 placeholder byte per document,
    int64 lengths, one JSON metadata line per document."""

    def __init__(self, root: Path, name: str):
        self.paths = _spool_paths(root, name)
        self.paths["text"].parent.mkdir(exist_ok=True)
        self.ft = open(self.paths["text"], "wb", buffering=4 * MiB)
        self.fm = open(self.paths["meta"], "wb", buffering=1 * MiB)
        self.lengths = array.array("q")

    def add(self, text: bytes, meta: bytes) -> None:
        self.ft.write(text)
        self.ft.write(b"\0")
        self.fm.write(meta)
        self.fm.write(b"\n")
        self.lengths.append(len(text))

    def seal(self) -> None:
        for fh in (self.ft, self.fm):
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        with open(self.paths["len"], "wb") as fh:
            fh.write(self.lengths.tobytes())
            fh.flush()
            os.fsync(fh.fileno())

    def abort(self) -> None:
        for fh in (self.ft, self.fm):
            try:
                fh.close()
            except OSError:
                pass


def _spool_ok(root: Path, ent: dict) -> bool:
    p = _spool_paths(root, ent["dir"])
    try:
        return (p["text"].stat().st_size == ent["num_bytes"] + ent["n_docs"]
                and p["len"].stat().st_size == 8 * ent["n_docs"] and p["meta"].exists())
    except OSError:
        return False


def _remove_spool(root: Path, name: str) -> None:
    for p in _spool_paths(root, name).values():
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _load_spool(root: Path, ent: dict) -> Tuple[bytearray, np.ndarray, PackedMetadata]:
    p = _spool_paths(root, ent["dir"])
    n = ent["num_bytes"] + ent["n_docs"]
    buf = bytearray(n)
    mv = memoryview(buf)
    with open(p["text"], "rb", buffering=0) as fh:
        got = 0
        while got < n:
            k = fh.readinto(mv[got:got + 64 * MiB])
            if not k:
                raise FMIndexError(f"spool file {p['text']} is truncated: start a new build")
            got += k
    del mv
    lengths = np.fromfile(p["len"], dtype=np.int64)
    metas = PackedMetadata.from_lines(p["meta"].read_bytes())
    if lengths.shape[0] != ent["n_docs"] or len(metas) != ent["n_docs"]:
        raise FMIndexError(f"spool of {ent['dir']} is damaged: start a new build")
    return buf, lengths, metas


# ---------------------------------------------------------------------------- shards
def _build_one(root: Path, name: str, buf: bytearray, lengths: np.ndarray, metas: PackedMetadata,
               sa_sample: int, isa_sample: int, timings: dict,
               phase: Callable[[str], None], profile: str = "fast") -> dict:
    """Build shard ``name`` into ``root/name`` (replacing leftovers) and fsync it."""
    from .shard import build_shard, trim_heap
    sdir = root / name
    if sdir.exists():
        shutil.rmtree(sdir)
    sdir.mkdir()
    trim_heap()
    man = build_shard(buf, lengths, metas, sdir, sa_sample=sa_sample, isa_sample=isa_sample,
                      profile=profile, timings=timings, phase=phase, release_text=buf.clear)
    fmt.fsync_dir(sdir)
    fmt.fsync_dir(root)
    return man["params"]


def _peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker_main(conn, root: str, ent: dict, sa_sample: int, isa_sample: int,
                 profile: str = "fast") -> None:
    """Worker process: load a spooled shard, build it, report through ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent decides on Ctrl-C
    try:
        rootp = Path(root)
        timings: Dict[str, float] = {}
        t = time.perf_counter()
        buf, lengths, metas = _load_spool(rootp, ent)
        timings["load spool"] = time.perf_counter() - t
        conn.send(("phase", "suffix sort"))
        params = _build_one(rootp, ent["dir"], buf, lengths, metas, sa_sample, isa_sample,
                            timings, lambda p: conn.send(("phase", p)), profile)
        conn.send(("done", params, timings, _peak_rss()))
    except BaseException as e:   # report everything, then die
        try:
            conn.send(("error", type(e).__name__, str(e), getattr(e, "errno", None)))
        except Exception:
            pass
        os._exit(1)
    conn.close()


def _mp_context():
    for method in ("forkserver", "spawn"):
        try:
            ctx = mp.get_context(method)
            if method == "forkserver":
                ctx.set_forkserver_preload(["fmindex.parallel_build", "fmindex.shard"])
            return ctx
        except ValueError:
            continue
    return mp.get_context()


class WorkerError(FMIndexError):
    """A shard build failed in a worker process."""

    def __init__(self, msg: str, errno_: Optional[int] = None):
        super().__init__(msg)
        self.errno = errno_


# --------------------------------------------------------------------------- progress
class _Progress:
    """One bar over the whole build: input bytes whose shards are built, with credit for
    the shards being built (elapsed time x measured build rate), so rate and ETA hold."""

    def __init__(self, enabled: bool, total: Optional[int], initial: int = 0):
        self.bar = None
        self.lock = threading.Lock()
        self.done = float(initial)
        self.running: Dict[str, Tuple[float, int, int, str]] = {}
        self.rate = 3.0e6            # text bytes/s per worker until measured
        self.read_pos = 0
        self.n_done = 0
        self.note = "reading"
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True,
                                unit_divisor=1024, desc="building", file=sys.stderr,
                                dynamic_ncols=True, smoothing=0.05)
            except ImportError:
                self.bar = None
        self._stop = threading.Event()
        self._thread = None
        if self.bar is not None:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()

    def start(self, name: str, in_bytes: int, text_bytes: int) -> None:
        with self.lock:
            self.running[name] = (time.monotonic(), in_bytes, text_bytes, "loading")

    def phase(self, name: str, phase: str) -> None:
        with self.lock:
            if name in self.running:
                t0, ib, tb, _ = self.running[name]
                self.running[name] = (t0, ib, tb, phase)

    def finish(self, name: str) -> None:
        with self.lock:
            t0, ib, tb, _ = self.running.pop(name)
            dt = max(time.monotonic() - t0, 1e-3)
            if tb > (1 << 20):
                self.rate = 0.5 * self.rate + 0.5 * (tb / dt) if self.n_done else tb / dt
            self.done += ib
            self.n_done += 1

    def position(self) -> float:
        now = time.monotonic()
        with self.lock:
            pos = self.done
            for t0, ib, tb, _ in self.running.values():
                pos += ib * min(0.95, (now - t0) * self.rate / max(tb, 1))
        return pos

    def _describe(self) -> str:
        with self.lock:
            phases = sorted({p for *_, p in self.running.values()})
            n = len(self.running)
        s = f"{self.n_done} shard(s) done"
        if n:
            s += f", {n} building ({', '.join(phases)})"
        return s

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.refresh()

    def refresh(self) -> None:
        if self.bar is None:
            return
        pos = self.position()
        if pos > self.bar.n:
            self.bar.n = pos
        self.bar.set_description_str(self._describe(), refresh=False)
        self.bar.refresh()

    def close(self, complete: bool = False) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            if complete and self.bar.total:
                self.bar.n = self.bar.total
            self.refresh()
            self.bar.close()


# ----------------------------------------------------------------------------- engine
@dataclass
class _Options:
    sa_sample: int
    isa_sample: int
    text_field: str
    skip_bad: bool
    validate_utf8: bool
    profile: str = "fast"


@dataclass
class _Result:
    shards: List[dict]
    timings: Dict[str, float]
    stats: ReadStats
    worker_peak_rss: List[int] = field(default_factory=list)
    main_peak_rss: int = 0


class _Engine:
    """Cuts the document stream into shards and builds them (inline or in workers)."""

    def __init__(self, root: Path, journal: _Journal, reader: _Reader, plan: Plan,
                 opts: _Options, progress: _Progress, name_base: int = 0):
        self.root, self.journal, self.reader, self.plan = root, journal, reader, plan
        self.opts, self.progress, self.name_base = opts, progress, name_base
        self.timings: Dict[str, float] = {}
        self.worker_rss: List[int] = []
        self.running: Dict[Any, Tuple[Any, dict]] = {}    # conn -> (process, entry)
        self.ctx = _mp_context() if plan.jobs > 1 else None
        self.excl = 0.0         # main-thread time spent outside reading (building, waiting)

    # ----- bookkeeping
    def _tick(self, name: str, dt: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + dt

    def _name(self, i: int) -> str:
        return f"shard-{self.name_base + i:05d}"

    def _mark_done(self, ent: dict, params: dict, timings: dict, rss: int) -> None:
        if params["n_docs"] != ent["n_docs"] or params["num_bytes"] != ent["num_bytes"]:
            raise FMIndexError(f"{ent['dir']}: built shard differs from its spool")
        ent["status"] = "done"
        self.journal.save()
        _remove_spool(self.root, ent["dir"])
        for k, v in timings.items():
            self._tick(k, v)
        if rss:
            self.worker_rss.append(rss)
        self.progress.finish(ent["dir"])

    # ----- workers
    def _start(self, ent: dict) -> None:
        while len(self.running) >= self.plan.jobs:
            self._pump(None)
        parent, child = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=_worker_main, name=f"fmindex-{ent['dir']}",
                                args=(child, str(self.root), dict(ent), self.opts.sa_sample,
                                      self.opts.isa_sample, self.opts.profile), daemon=True)
        proc.start()
        child.close()
        self.running[parent] = (proc, ent)
        self.progress.start(ent["dir"], ent["in_bytes"], ent["num_bytes"])

    def _pump(self, timeout: Optional[float]) -> None:
        """Wait for worker messages (or deaths) and handle them."""
        t = time.perf_counter()
        conns = list(self.running)
        ready = mp_wait(conns, timeout)
        dt = time.perf_counter() - t
        self.excl += dt
        self._tick("wait for workers", dt)
        for conn in ready:
            proc, ent = self.running[conn]
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                proc.join()
                del self.running[conn]
                conn.close()
                code = proc.exitcode
                why = (f"killed by signal {-code}" + (" (out of memory? lower --memory "
                       "or --jobs)" if code == -signal.SIGKILL else "")) if code and code < 0 \
                    else f"exit code {code}"
                raise WorkerError(f"the worker building {ent['dir']} died ({why})")
            if msg[0] == "phase":
                self.progress.phase(ent["dir"], msg[1])
            elif msg[0] == "done":
                proc.join()
                del self.running[conn]
                conn.close()
                self._mark_done(ent, msg[1], msg[2], msg[3])
            elif msg[0] == "error":
                proc.join()
                del self.running[conn]
                conn.close()
                _, kind, text, eno = msg
                if kind == "KeyboardInterrupt":
                    raise KeyboardInterrupt
                raise WorkerError(f"building {ent['dir']} failed: {kind}: {text}", eno)

    def _drain(self) -> None:
        while self.running:
            self._pump(None)

    def kill_workers(self) -> None:
        for conn, (proc, _) in list(self.running.items()):
            proc.kill()
        for conn, (proc, _) in list(self.running.items()):
            proc.join()
            conn.close()
        self.running.clear()

    # ----- inline
    def _build_inline(self, ent: dict, buf: bytearray, lengths: np.ndarray,
                      metas: PackedMetadata) -> None:
        self.progress.start(ent["dir"], ent["in_bytes"], ent["num_bytes"])
        timings: Dict[str, float] = {}
        params = _build_one(self.root, ent["dir"], buf, lengths, metas, self.opts.sa_sample,
                            self.opts.isa_sample, timings,
                            lambda p: self.progress.phase(ent["dir"], p), self.opts.profile)
        if not any(e is ent for e in self.journal.shards):
            self.journal.shards.append(ent)
        self._mark_done(ent, params, timings, 0)

    def _resubmit(self, ent: dict) -> None:
        """A shard whose spool survived an interrupted build: build it again."""
        if self.plan.jobs > 1:
            self._start(ent)
        else:
            t = time.perf_counter()
            buf, lengths, metas = _load_spool(self.root, ent)
            self._tick("load spool", time.perf_counter() - t)
            self._build_inline(ent, buf, lengths, metas)

    # ----- the read loop
    def run(self, start: Position) -> None:
        plan, reader, journal = self.plan, self.reader, self.journal
        for ent in journal.shards:
            if ent["status"] == "spooled":
                self._resubmit(ent)
        workers = plan.jobs > 1
        cap_text, cap_cost = plan.shard_bytes, plan.shard_cost
        cur: Dict[str, Any] = {}
        in_mark = [reader.input_bytes()]

        def new_shard() -> None:
            cur.clear()
            cur.update(name=self._name(len(journal.shards)), n=0, text=0, meta=0,
                       pos=None, lengths=array.array("q"), metas=PackedMetadata(),
                       buf=bytearray() if not workers else None,
                       spool=None)
            if workers:
                cur["spool"] = _SpoolWriter(self.root, cur["name"])

        def seal() -> None:
            if cur["n"] == 0:
                return
            t, e0 = time.perf_counter(), self.excl
            try:
                _seal(t)
            finally:
                self.excl = e0 + time.perf_counter() - t

        def _seal(t: float) -> None:
            ib = reader.input_bytes()
            ent = {"dir": cur["name"], "n_docs": cur["n"], "num_bytes": cur["text"],
                   "in_bytes": max(0, ib - in_mark[0]), "pos": list(cur["pos"]),
                   "status": "spooled"}
            in_mark[0] = ib
            if workers:
                cur["spool"].seal()
                journal.shards.append(ent)
                journal.save()
                self._tick("spool", time.perf_counter() - t)
                self._start(ent)
            else:
                buf = cur.pop("buf")
                lengths = np.frombuffer(cur["lengths"], dtype=np.int64)
                metas = cur["metas"]
                cur.clear()
                self._build_inline(ent, buf, lengths, metas)
            new_shard()

        new_shard()
        t_loop = time.perf_counter()
        excl0 = self.excl
        try:
            for text, meta in reader.documents(start):
                n = len(text)
                if n + 1 > MAX_SHARD_BYTES:
                    raise CorpusError(f"document {reader.pos.docs - 1} is {n} bytes, larger "
                                      f"than the shard limit {MAX_SHARD_BYTES}")
                mb = metadata_json(meta)
                if cur["n"] and (cur["text"] + cur["n"] + n + 1 > cap_text or (
                        cap_cost is not None and
                        shard_cost(cur["text"] + n, cur["meta"] + len(mb), cur["n"] + 1)
                        > cap_cost)):
                    seal()
                if workers:
                    cur["spool"].add(text, mb)
                    if self.running and (cur["n"] & 255) == 0:
                        self._pump(0)
                else:
                    cur["buf"] += text
                    cur["buf"].append(0)
                    cur["lengths"].append(n)
                    cur["metas"].append(mb)
                cur["n"] += 1
                cur["text"] += n
                cur["meta"] += len(mb)
                p = reader.pos             # Position.as_list's fields, without a copy
                cur["pos"] = (p.file, p.docs_in_file, p.docs, p.skipped, p.skipped_in_file)
            if cur["n"] == 0 and not journal.shards:
                raise EmptyCorpusError(
                    "the corpus holds no document: nothing to index"
                    + (f" ({reader.stats.skipped} bad records skipped)"
                       if reader.stats.skipped else ""))
            seal()
        finally:
            if cur.get("spool") is not None:
                cur["spool"].abort()
            self._tick("read", time.perf_counter() - t_loop - (self.excl - excl0))
        self._drain()
        journal.data["skipped"] = reader.stats.skipped
        journal.data["skipped_examples"] = reader.stats.skipped_examples
        journal.save()


def _resume_state(root: Path, journal: _Journal) -> Position:
    """Keep the shards of an interrupted build that are done or still spooled, in order,
    up to the first one that is neither; return the input position after the last kept."""
    from .shard import Shard
    keep: List[dict] = []
    for ent in journal.shards:
        ok = False
        if ent.get("status") == "done":
            try:
                sh = Shard(root / ent["dir"], verify="auto")
                ok = sh.n_docs == ent["n_docs"] and sh.num_bytes == ent["num_bytes"]
            except FMIndexError:
                ok = False
        if not ok and _spool_ok(root, ent):
            ent["status"] = "spooled"
            ok = True
        if not ok:
            break
        keep.append(ent)
    journal.data["shards"] = keep
    names = {e["dir"] for e in keep}
    done = {e["dir"] for e in keep if e["status"] == "done"}
    for p in root.iterdir():                       # half-built shards, stale spools
        if p.is_dir() and p.name.startswith("shard-") and p.name not in done:
            shutil.rmtree(p, ignore_errors=True)
    sp = root / SPOOL_DIR
    if sp.is_dir():
        for p in sp.iterdir():
            if p.name.split(".")[0] not in names or p.name.split(".")[0] in done:
                p.unlink()
    journal.save()
    return Position.from_list(keep[-1]["pos"]) if keep else Position()


def _disk_full(e: BaseException) -> bool:
    return getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


def _run_engine(root: Path, journal: _Journal, reader: _Reader, plan: Plan, opts: _Options,
                progress_enabled: bool, start: Position, name_base: int = 0) -> _Result:
    initial = sum(e.get("in_bytes", 0) for e in journal.shards if e["status"] == "done")
    prog = _Progress(progress_enabled, reader.total_in, initial=initial)
    eng = _Engine(root, journal, reader, plan, opts, prog, name_base=name_base)
    ok = False
    try:
        eng.run(start)
        ok = True
    finally:
        eng.kill_workers()
        prog.close(complete=ok)
    return _Result(shards=journal.shards, timings=eng.timings, stats=reader.stats,
                   worker_peak_rss=eng.worker_rss, main_peak_rss=_peak_rss())


# ------------------------------------------------------------------------------ build
def build_index(inputs: Any, out_dir: "str | os.PathLike", *, text_field: str = "text",
                skip_bad: bool = False, sa_sample: Optional[int] = None,
                isa_sample: Optional[int] = None, profile: str = "fast",
                shard_size: "int | str | None" = None, memory: "int | str | None" = None,
                jobs: int = 1, resume: bool = False, keep_partial: bool = False,
                overwrite: bool = False, progress: Optional[bool] = None,
                validate_utf8: bool = True, log: Optional[Callable[[str], None]] = None):
    """The engine behind :func:`fmindex.build`; see its documentation."""
    from .index import INDEX_KIND, Index
    out = Path(out_dir)
    from .shard import profile_sampling
    sa_sample, isa_sample = profile_sampling(profile, sa_sample, isa_sample)
    plan = plan_build(memory, jobs, shard_size)
    if out.exists():
        if not overwrite:
            raise FMIndexError(f"{out} already exists: choose another path, or pass "
                               "overwrite=True (--force) to replace it")
        if not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").exists()):
            raise FMIndexError(f"{out} exists and is not an fmindex index: refusing to replace it")
    if progress is None:
        progress = sys.stderr.isatty()
    say = log or (lambda s: None)
    opts = _Options(int(sa_sample), int(isa_sample), text_field, bool(skip_bad),
                    bool(validate_utf8), profile)
    reader = _Reader(inputs, text_field, skip_bad, validate_utf8)
    fp = reader.fingerprint()
    fp_params = {"sa_sample": opts.sa_sample, "isa_sample": opts.isa_sample,
                 "profile": opts.profile}
    out.parent.mkdir(parents=True, exist_ok=True)

    root, lock, start, journal = None, None, Position(), None
    if resume:
        for cand in reversed(partial_builds(out)):
            data = _Journal.load(cand)
            if data is None or data.get("fingerprint") != fp or data.get("params") != fp_params:
                continue
            fd = _lock(cand)
            if fd is None:
                raise FMIndexError(f"{cand} is in use by another running build of {out}")
            root, lock, journal = cand, fd, _Journal(cand, data)
            break
        if root is None:
            others = partial_builds(out)
            say(f"nothing to resume for {out}"
                + (f" ({len(others)} interrupted build(s) of other inputs or parameters)"
                   if others else "") + ": starting a new build")
        else:
            start = _resume_state(root, journal)
            n_done = sum(e["status"] == "done" for e in journal.shards)
            say(f"resuming {root.name}: {n_done} shard(s) done, "
                f"{len(journal.shards) - n_done} to rebuild from their spool, "
                f"continuing after document {start.docs}")
    if root is None:
        root = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        lock = _lock(root)
        journal = _Journal(root, {"version": STATE_VERSION, "target": str(out.resolve()),
                                  "fingerprint": fp, "params": fp_params, "shards": [],
                                  "started": time.time()})
    t_start = time.perf_counter()
    try:
        journal.save()
        res = _run_engine(root, journal, reader, plan, opts, progress, start)
        manifest = {
            "format": INDEX_KIND, "format_version": [fmt.FORMAT_MAJOR, fmt.FORMAT_MINOR],
            "fmindex_version": __version__, "complete": True,
            "n_docs": sum(s["n_docs"] for s in res.shards),
            "num_bytes": sum(s["num_bytes"] for s in res.shards),
            "shards": [{"dir": s["dir"], "n_docs": s["n_docs"], "num_bytes": s["num_bytes"]}
                       for s in res.shards],
            "params": {"sa_sample": opts.sa_sample, "isa_sample": opts.isa_sample,
                       "profile": opts.profile,
                       "shard_size": plan.shard_bytes, "text_field": text_field},
            "build": {"plan": plan.as_dict(), "resumed": bool(resume and start.docs),
                      "main_peak_rss": res.main_peak_rss,
                      "worker_peak_rss": res.worker_peak_rss},
            "inputs": [{"path": f, "bytes": b} for f, b in
                       zip(reader.files[:1000], reader.file_bytes[:1000])],
            "skipped_records": res.stats.skipped,
            "skipped_examples": res.stats.skipped_examples,
            "timings": {k: round(v, 3) for k, v in res.timings.items()},
            "build_seconds": round(time.perf_counter() - t_start, 3),
        }
        fmt.write_json(root / "manifest.json", manifest)
        for name in (STATE_FILE, LOCK_FILE):
            try:
                (root / name).unlink()
            except FileNotFoundError:
                pass
        shutil.rmtree(root / SPOOL_DIR, ignore_errors=True)
        fmt.fsync_dir(root)
        # older interrupted builds of out go first (not this one: its journal is gone, so
        # partial_builds no longer lists it): this one holds all they could give, and a
        # kill between the rename into place and their removal would leave them behind
        for stale in partial_builds(out):
            fd = _lock(stale)
            if fd is not None:
                shutil.rmtree(stale, ignore_errors=True)
                _unlock(fd)
        fmt.publish_dir(root, out)
    except BaseException as e:
        keep = keep_partial and root.exists() and any(
            s["status"] == "done" or _spool_ok(root, s) for s in journal.shards) \
            and not isinstance(e, (EmptyCorpusError,))
        _unlock(lock)
        lock = None
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        if isinstance(e, (OSError, WorkerError)) and _disk_full(e):
            kept = (f"the {sum(s['status'] == 'done' for s in journal.shards)} finished "
                    f"shard(s) are kept in {root}: free space and run the build again with "
                    "--resume (resume=True)") if keep else "nothing was published"
            raise FMIndexError(f"disk full while building {out}: {kept}") from e
        if keep and not isinstance(e, KeyboardInterrupt):
            say(f"the build stopped; {root} keeps the finished shards: run the same command "
                "with --resume to continue")
        raise
    finally:
        _unlock(lock)
    return Index(out)


# -------------------------------------------------------------------------------- add
def add_to_index(index_dir: "str | os.PathLike", inputs: Any, *,
                 text_field: Optional[str] = None, skip_bad: bool = False,
                 shard_size: "int | str | None" = None, memory: "int | str | None" = None,
                 jobs: int = 1, progress: Optional[bool] = None, validate_utf8: bool = True):
    """Append the documents of ``inputs`` to an existing index as new shards.

    The new shards are built in a hidden directory inside the index, moved next to the
    old ones, and published by replacing ``manifest.json`` atomically (write, fsync,
    rename): an ``Index`` opened on the old manifest keeps working (it never looks at
    the new shards), one opened afterwards sees all documents, with ids continuing
    after the old ones.  A failed or killed ``add`` leaves the index as it was.
    """
    from .index import INDEX_KIND, Index
    idx_dir = Path(index_dir)
    man = fmt.read_json(idx_dir / "manifest.json", INDEX_KIND)
    if man.get("complete") is not True:
        raise FMIndexError(f"{idx_dir} is not a complete index")
    params = man.get("params", {})
    text_field = text_field or params.get("text_field", "text")
    opts = _Options(int(params.get("sa_sample", 32)), int(params.get("isa_sample", 64)),
                    text_field, bool(skip_bad), bool(validate_utf8),
                    str(params.get("profile", "fast")))
    plan = plan_build(memory, jobs, shard_size if (shard_size or memory)
                      else params.get("shard_size"))
    if progress is None:
        progress = sys.stderr.isatty()
    lock = _lock_index(idx_dir)
    root = None
    try:
        man = fmt.read_json(idx_dir / "manifest.json", INDEX_KIND)   # under the lock
        listed = {s["dir"] for s in man["shards"]}
        for p in idx_dir.iterdir():                     # leftovers of a killed add
            if p.name.startswith(".add-tmp-") or (p.is_dir() and p.name.startswith("shard-")
                                                 and p.name not in listed):
                shutil.rmtree(p, ignore_errors=True)
        base = 1 + max([int(s["dir"].rsplit("-", 1)[-1]) for s in man["shards"]
                        if s["dir"].rsplit("-", 1)[-1].isdigit()] + [-1])
        root = Path(tempfile.mkdtemp(prefix=".add-tmp-", dir=idx_dir))
        reader = _Reader(inputs, text_field, skip_bad, validate_utf8)
        journal = _Journal(root, {"version": STATE_VERSION, "fingerprint": reader.fingerprint(),
                                  "params": {}, "shards": []})
        t0 = time.perf_counter()
        res = _run_engine(root, journal, reader, plan, opts, progress, Position(), base)
        for s in res.shards:
            os.rename(root / s["dir"], idx_dir / s["dir"])
        fmt.fsync_dir(idx_dir)
        new = dict(man)
        new["shards"] = list(man["shards"]) + [
            {"dir": s["dir"], "n_docs": s["n_docs"], "num_bytes": s["num_bytes"]}
            for s in res.shards]
        new["n_docs"] = sum(s["n_docs"] for s in new["shards"])
        new["num_bytes"] = sum(s["num_bytes"] for s in new["shards"])
        new["skipped_records"] = man.get("skipped_records", 0) + res.stats.skipped
        new["additions"] = list(man.get("additions", [])) + [{
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "shards": [s["dir"] for s in res.shards],
            "n_docs": sum(s["n_docs"] for s in res.shards),
            "num_bytes": sum(s["num_bytes"] for s in res.shards),
            "inputs": [{"path": f, "bytes": b} for f, b in
                       zip(reader.files[:1000], reader.file_bytes[:1000])],
            "skipped_records": res.stats.skipped,
            "timings": {k: round(v, 3) for k, v in res.timings.items()},
            "build_seconds": round(time.perf_counter() - t0, 3)}]
        tmpm = idx_dir / "manifest.json.tmp"
        fmt.write_json(tmpm, new)
        os.replace(tmpm, idx_dir / "manifest.json")
        fmt.fsync_dir(idx_dir)
    except BaseException as e:
        if _disk_full(e):
            raise FMIndexError(f"disk full while adding to {idx_dir}: the index is "
                               "unchanged; free space and run the add again") from e
        raise
    finally:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        _unlock(lock)
    return Index(idx_dir)


def _lock_index(idx_dir: Path) -> int:
    fd = os.open(idx_dir / ".add.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise FMIndexError(f"another `fmindex add` is running on {idx_dir}") from None
    return fd
