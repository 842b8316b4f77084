#!/usr/bin/env python3
"""Core benchmark: fmindex against fm-index 4.0.0, a pydivsufsort suffix array and sdsl-lite.

One command, one table: every system indexes the same documents (the first
``--mb`` MB of a corpus) and answers the same patterns in the same run::

    python benches/bench_core.py                       # code_linux_c, 100 MB
    python benches/bench_core.py --corpus english --mb 50
    python benches/bench_core.py --quick               # sample corpus, 2 reps (smoke run)
    python benches/bench_core.py --engine-commit HEAD  # clean build of a commit, not the
                                                       # working tree's in-place build

Systems (columns):
  fmindex            this library, default sampling (sa_sample=32, isa_sample=64),
                     one ``Index.count`` / ``locate`` / ``extract`` call per query;
  fmindex batch      ``Index.count_many(group, num_threads=1)`` (count rows only);
  fm-index 4.0.0     PyPI ``fm-index`` (Rust) ``FMIndex(str)``: ``count``,
                     ``iter_locate`` + islice for capped locate (no extract API);
  divsufsort SA      ``pydivsufsort.divsufsort`` int32 suffix array + the text, queried
                     with libdivsufsort's ``sa_search`` (called directly through ctypes,
                     without the per-call conversions of the Python wrapper);
  sdsl plain/rrr127  sdsl-lite 2.1.1 ``csa_wt<wt_huff<..>, 32, 64>`` through
                     ``benches/sdsl/run_sdsl.py`` (C++, no Python call overhead), its
                     harness rebuilt with ``--sdsl-flags`` (default -msse4.2 -mpopcnt:
                     fmindex uses popcnt, sdsl only with __SSE4_2__).

fmindex indexes the JSONL subset (its build time includes reading and parsing it and
writing the index); the peers index the documents joined by a separator byte that
occurs in no document, so counts never include cross-document matches.

Each system builds in its own child process; "build peak RSS" is that child's
``ru_maxrss`` (``os.wait4``) for fmindex, and ``ru_maxrss`` right after the build for
the peers (their child goes on to run the queries); both include the text itself.
Query times: median over ``--reps`` repetitions of the whole pattern set (per
repetition: total time of a group / patterns in it); (max - min) / median is the
spread reported per cell in the JSON and summarised in the table.  Correctness: every
count of every system is compared with every other (non-zero exit on a mismatch);
located positions, extracted ranges and documents are checked against the raw text.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Dict, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# the engine: a snapshot of fmindex/ taken at the start of the run (see snapshot_engine),
# so a concurrent rebuild of the extension modules cannot change it mid-run
ENGINE_ENV = "FMINDEX_BENCH_ENGINE"
sys.path.insert(0, str(HERE))
sys.path.insert(1, os.environ.get(ENGINE_ENV) or str(REPO))

import common as C  # noqa: E402

COUNT_LENGTHS = (1, 2, 4, 8, 16, 32, 64)
MISS_LEN = 16
LOCATE_LEN = 5          # a length of its own, so sdsl's per-length locate figure is exactly this set

COLUMNS = [  # (key, header)
    ("ours", "fmindex"),
    ("ours_batch", "fmindex batch"),
    ("fm_index", "fm-index 4.0.0"),
    ("sa", "divsufsort SA"),
    ("sdsl_plain", "sdsl plain"),
    ("sdsl_rrr127", "sdsl rrr127"),
]


def log(msg: str) -> None:
    print(f"[bench_core {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# =============================================================================== workers
def _bench_queries(spec: dict, *, count_fn, conv, locate_fn, locate_len, locate_check,
                   extract_fn=None, extract_items=None, extract_check=None,
                   document_fn=None, document_check=None, batch_fn=None) -> dict:
    """Untimed correctness pass, then ``reps`` timed repetitions of every query kind."""
    groups = {name: [conv(p) for p in pats] for name, pats in spec["groups"].items()}
    raw_groups = spec["groups"]
    counts = {name: [int(count_fn(p)) for p in ps] for name, ps in groups.items()}
    K = spec["locate_limit"]
    loc = [conv(p) for p in spec["locate"]]
    loc_counts = [int(count_fn(p)) for p in loc]
    occ_total, loc_bad = 0, 0
    for raw, p, c in zip(spec["locate"], loc, loc_counts):
        res = locate_fn(p)
        n = locate_len(res)
        occ_total += n
        if n != min(c, K) or not locate_check(raw, p, res):
            loc_bad += 1
    ext_bad = doc_bad = 0
    if extract_fn is not None:
        ext_bad = sum(1 for it, r in zip(extract_items, spec["ranges"])
                      if not extract_check(r, extract_fn(it)))
    if document_fn is not None:
        doc_bad = sum(1 for d in spec["docs"] if not document_check(d, document_fn(d)))
    batch_counts = None
    if batch_fn is not None:
        batch_counts = {name: [int(x) for x in batch_fn(ps)] for name, ps in raw_groups.items()}

    # timed part: every query kind in chunks of ~chunk_us, per-chunk medians over reps
    tgt = spec["chunk_us"] * 1e3
    L = spec["extract_len"]
    timers: Dict[str, tuple] = {}          # name -> (ChunkedTiming, scale ns -> unit)
    for name, ps in groups.items():
        timers[f"count_{name}"] = (C.ChunkedTiming(count_fn, ps, tgt), 1e-3 / len(ps))  # µs
    if batch_fn is not None:
        for name, ps in raw_groups.items():
            timers[f"batch_{name}"] = (C.ChunkedTiming(batch_fn, ps, tgt, batch=True,
                                                       min_chunk=100), 1e-3 / len(ps))
    if occ_total:
        timers["locate"] = (C.ChunkedTiming(locate_fn, loc, tgt), 1.0 / occ_total)   # ns/occ
    if extract_fn is not None:
        timers["extract"] = (C.ChunkedTiming(extract_fn, extract_items, tgt),
                             1.0 / (len(extract_items) * L))                          # ns/byte
    if document_fn is not None:
        timers["document"] = (C.ChunkedTiming(document_fn, spec["docs"], tgt),
                              1e-6 / len(spec["docs"]))                               # ms/doc
    for rep in range(spec["reps"]):
        gc.collect()
        gc.disable()
        try:
            for tm, _scale in timers.values():
                tm.run()
        finally:
            gc.enable()
        log(f"  rep {rep + 1}/{spec['reps']} done")
    return {
        "timings": {k: tm.summary(scale) for k, (tm, scale) in timers.items()},
        "counts": counts, "locate_counts": loc_counts, "locate_occ_total": occ_total,
        "locate_patterns": len(loc), "check_failures": {
            "locate": loc_bad, "extract": ext_bad, "document": doc_bad},
        "batch_counts": batch_counts,
    }


def _text_checks(spec: dict, text: bytes):
    js = spec["jstarts"]
    L = spec["extract_len"]

    def at(g: int, raw: bytes) -> bool:
        return text[g:g + len(raw)] == raw

    def extract_check(r, got) -> bool:
        g = int(js[r[0]]) + r[1]
        return bytes(got) == text[g:g + L]

    def document_check(d, got) -> bool:
        return bytes(got) == text[int(js[d]):int(js[d + 1]) - 1]
    return at, extract_check, document_check


def worker_ours_build(spec: dict) -> dict:
    import fmindex
    base = C.current_rss()
    out = Path(spec["index_dir"])
    t, cpu = time.perf_counter(), C.cpu_seconds()
    idx = fmindex.build(spec["jsonl_path"], out, overwrite=True, progress=False,
                        **spec.get("build_kw", {}))
    build_s, build_cpu = time.perf_counter() - t, C.cpu_seconds() - cpu
    peak = C.peak_rss_self()
    st = idx.stats()
    same_docs = (len(idx) == len(spec["doc_lengths"])
                 and bool(np.array_equal(idx.doc_lengths(), spec["doc_lengths"])))
    return {"build_s": build_s, "build_cpu_s": build_cpu, "peak_rss_after_build": peak,
            "rss_before_build": base, "index_bytes": st["index_bytes_without_metadata"],
            "index_bytes_with_metadata": st["index_bytes"], "stats": st,
            "build_timings": idx.manifest.get("timings"), "same_documents": same_docs,
            "version": fmindex.__version__}


def worker_ours(spec: dict) -> dict:
    import fmindex
    # one thread, like every peer; the default (all cores) is timed for locate below
    idx = fmindex.open(spec["index_dir"], num_threads=1)
    text = Path(spec["text_path"]).read_bytes()
    at, extract_check, document_check = _text_checks(spec, text)
    js = spec["jstarts"]
    K, L = spec["locate_limit"], spec["extract_len"]
    cnt = idx.count
    loc = idx.locate
    ext = idx.extract
    doc = idx.document

    def locate_fn(p):
        return loc(p, limit=K)

    def locate_check(raw, p, res):
        return all(at(int(js[d]) + int(o), raw) for d, o in zip(res["doc"], res["offset"]))

    def extract_fn(r):
        return ext(r[0], r[1], r[1] + L)

    def batch_fn(ps):
        return idx.count_many(ps, num_threads=1)

    res = _bench_queries(spec, count_fn=cnt, conv=lambda p: p, locate_fn=locate_fn,
                         locate_len=len, locate_check=locate_check,
                         extract_fn=extract_fn, extract_items=spec["ranges"],
                         extract_check=extract_check,
                         document_fn=lambda d: doc(d).data, document_check=document_check,
                         batch_fn=batch_fn)
    res["num_threads"] = idx.num_threads
    idx.close()
    # locate with the default thread count (Index.locate resolves rows in parallel)
    idx2 = fmindex.open(spec["index_dir"])
    loc2 = idx2.locate
    occ = res["locate_occ_total"]
    if occ:
        tm = C.ChunkedTiming(lambda p: loc2(p, limit=K), spec["locate"], spec["chunk_us"] * 1e3)
        for _ in range(spec["reps"]):
            gc.collect()
            gc.disable()
            try:
                tm.run()
            finally:
                gc.enable()
        res["timings_default_threads"] = {"locate": tm.summary(1.0 / occ),
                                          "num_threads": idx2.num_threads}
    idx2.close()
    return res


def _sa_search_fn(text: bytes, sa: np.ndarray):
    """libdivsufsort's sa_search bound once: count(p) -> int, with .left holding the range start."""
    import ctypes
    from pydivsufsort.dll import libdivsufsort, libdivsufsort64
    wide = sa.dtype == np.int64
    it = ctypes.c_int64 if wide else ctypes.c_int32
    f = libdivsufsort64.sa_search64 if wide else libdivsufsort.sa_search
    f.restype = it
    f.argtypes = [ctypes.c_char_p, it, ctypes.c_char_p, it, ctypes.c_void_p, it, ctypes.POINTER(it)]
    left = it()
    lp = ctypes.byref(left)
    sap = sa.ctypes.data
    n = len(text)

    def count(p: bytes) -> int:
        return f(text, n, p, len(p), sap, n, lp)
    return count, left


def worker_sa(spec: dict) -> dict:
    import pydivsufsort
    text = Path(spec["text_path"]).read_bytes()
    base = C.current_rss()
    t, cpu = time.perf_counter(), C.cpu_seconds()
    sa = pydivsufsort.divsufsort(text)      # bytes are passed to C without a copy
    build_s, build_cpu = time.perf_counter() - t, C.cpu_seconds() - cpu
    peak = C.peak_rss_self()
    count, left = _sa_search_fn(text, sa)
    at, extract_check, document_check = _text_checks(spec, text)
    js = spec["jstarts"]
    K, L = spec["locate_limit"], spec["extract_len"]

    def locate_fn(p):
        c = count(p)
        lo = left.value
        return sa[lo:lo + min(c, K)].astype(np.int64)

    def locate_check(raw, p, res):
        return all(at(int(g), raw) for g in res)

    jsl = [int(x) for x in js]
    items = [jsl[d] + s for d, s in spec["ranges"]]
    res = _bench_queries(spec, count_fn=count, conv=lambda p: p, locate_fn=locate_fn,
                         locate_len=len, locate_check=locate_check,
                         extract_fn=lambda g: text[g:g + L], extract_items=items,
                         extract_check=extract_check,
                         document_fn=lambda d: text[jsl[d]:jsl[d + 1] - 1],
                         document_check=document_check)
    res.update({"build_s": build_s, "build_cpu_s": build_cpu, "peak_rss_after_build": peak,
                "rss_before_build": base,
                "index_bytes": len(text) + sa.nbytes, "sa_dtype": str(sa.dtype),
                "version": getattr(pydivsufsort, "__version__", "0.0.20")})
    return res


def worker_fm_index(spec: dict) -> dict:
    from fm_index import FMIndex
    import importlib.metadata as md
    s = Path(spec["text_path"]).read_bytes().decode("utf-8")
    base = C.current_rss()
    t, cpu = time.perf_counter(), C.cpu_seconds()
    fm = FMIndex(s)
    build_s, build_cpu = time.perf_counter() - t, C.cpu_seconds() - cpu
    peak = C.peak_rss_self()
    log(f"  fm-index built in {build_s:.1f} s; measuring its pickled size")
    try:
        size = len(pickle.dumps(fm, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as e:          # pragma: no cover - depends on the peer
        log(f"  fm-index pickle failed: {e}")
        size = None
    gc.collect()
    K = spec["locate_limit"]
    it = fm.iter_locate

    def locate_fn(p):
        return list(islice(it(p), K))

    def locate_check(raw, p, res):     # positions are in characters
        return all(s[i:i + len(p)] == p for i in res)

    res = _bench_queries(spec, count_fn=fm.count, conv=lambda p: p.decode("utf-8"),
                         locate_fn=locate_fn, locate_len=len, locate_check=locate_check)
    res.update({"build_s": build_s, "build_cpu_s": build_cpu, "peak_rss_after_build": peak,
                "rss_before_build": base,
                "index_bytes": size, "index_bytes_note": "len(pickle.dumps(FMIndex))",
                "text_chars": len(s), "version": md.version("fm-index")})
    return res


WORKERS = {"ours_build": worker_ours_build, "ours": worker_ours, "sa": worker_sa,
           "fm_index": worker_fm_index}


def _spec_encode(x):
    """The run's spec as plain JSON (bytes, arrays and tuples tagged): workers read it back
    with ``_spec_decode``; nothing is unpickled."""
    if isinstance(x, bytes):
        return {"__bytes__": x.hex()}
    if isinstance(x, np.ndarray):
        return {"__ndarray__": x.tolist(), "dtype": str(x.dtype)}
    if isinstance(x, tuple):
        return {"__tuple__": [_spec_encode(v) for v in x]}
    if isinstance(x, list):
        return [_spec_encode(v) for v in x]
    if isinstance(x, dict):
        return {k: _spec_encode(v) for k, v in x.items()}
    if isinstance(x, np.integer):
        return int(x)
    return x


def _spec_decode(x):
    if isinstance(x, list):
        return [_spec_decode(v) for v in x]
    if isinstance(x, dict):
        if "__bytes__" in x:
            return bytes.fromhex(x["__bytes__"])
        if "__ndarray__" in x:
            return np.asarray(x["__ndarray__"], dtype=x["dtype"])
        if "__tuple__" in x:
            return tuple(_spec_decode(v) for v in x["__tuple__"])
        return {k: _spec_decode(v) for k, v in x.items()}
    return x


def worker_main(name: str, spec_path: str, result_path: str) -> int:
    with open(spec_path) as f:
        spec = _spec_decode(json.load(f))
    if "@" in name:                 # a profile variant: "ours_build@small_64_128"
        name, var = name.split("@", 1)
        spec = dict(spec, **spec["variants"][var])
    res = WORKERS[name](spec)
    with open(result_path, "w") as f:
        json.dump(res, f)
    return 0


# =============================================================================== sdsl
def load_run_sdsl():
    path = HERE / "sdsl" / "run_sdsl.py"
    sp = importlib.util.spec_from_file_location("run_sdsl", path)
    mod = importlib.util.module_from_spec(sp)
    sp.loader.exec_module(mod)
    return mod


def run_sdsl_variant(mod, variant: str, spec: dict, timeout: float,
                     build_dir: Optional[str] = None) -> dict:
    """Two harness runs (each builds the index): (1) the hits, count by length + extract,
    with locate off (the harness would otherwise locate every hit group); (2) the locate
    set + the misses: locate of the locate set (its own length) and the miss counts (the
    harness groups count times by length, and misses share theirs with a hit group).
    Build time, peak RSS and size come from run 1."""
    hits = [p for ps in spec["hit_groups"].values() for p in ps]
    r1 = mod.run_sdsl(variant, spec["text_path"], hits, reps=spec["reps"], locate_limit=0,
                      extract_len=spec["extract_len"], extract_count=len(spec["ranges"]),
                      seed=spec["seed"], verify=True, timeout=timeout, build_dir=build_dir)
    loc = list(spec["locate"])
    r2 = mod.run_sdsl(variant, spec["text_path"], loc + list(spec["misses"]), reps=spec["reps"],
                      locate_limit=spec["locate_limit"], extract_count=0, seed=spec["seed"],
                      verify=True, timeout=timeout, build_dir=build_dir)
    counts, i = {}, 0
    for name, ps in spec["hit_groups"].items():
        counts[name] = r1["count_results"][i:i + len(ps)]
        i += len(ps)
    loc_counts = r2["count_results"][:len(loc)]
    counts["miss"] = r2["count_results"][len(loc):]
    timings = {f"count_{m}": {"median": r1["count_us_by_len"][int(m)]}
               for m in spec["hit_groups"]}
    timings["count_miss"] = {"median": r2["count_us_by_len"][MISS_LEN]}
    lo = r2["locate_us_per_occ_by_len"].get(LOCATE_LEN)
    if lo is not None:
        timings["locate"] = {"median": lo * 1e3}
    if r1.get("extract_ns_per_char") is not None:
        timings["extract"] = {"median": r1["extract_ns_per_char"]}
    for r in (r1, r2):
        r.pop("count_results", None)
    ok = r1.get("verify_ok", False) and r2.get("verify_ok", False)
    return {"build_s": r1["build_s"], "peak_rss_after_build": r1["peak_rss_bytes"],
            "index_bytes": r1["index_bytes"], "timings": timings, "counts": counts,
            "locate_counts": loc_counts,
            "check_failures": {"locate+extract (harness --verify)": 0 if ok else 1},
            "raw": {"hits_run": r1, "locate_misses_run": r2}}


# =============================================================================== main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--corpus", default=None,
                    help="code_linux_c (default), english (all en_*), sample, another stem "
                         "in /work/corpora/jsonl, or a .jsonl path")
    ap.add_argument("--mb", type=float, default=100.0, help="MB (10^6 bytes) of text (default 100)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: sample corpus, 2 reps, fewer patterns")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions (default 5)")
    ap.add_argument("--per-len", type=int, default=None,
                    help="hit patterns per length (default 500)")
    ap.add_argument("--n-miss", type=int, default=None, help="miss patterns (default 500)")
    ap.add_argument("--n-locate", type=int, default=None,
                    help="locate patterns with >= --locate-limit occurrences (default 50)")
    ap.add_argument("--locate-limit", type=int, default=1000, help="occurrences resolved per pattern")
    ap.add_argument("--extract-len", type=int, default=1000)
    ap.add_argument("--n-extract", type=int, default=200, help="extract ranges")
    ap.add_argument("--n-docs", type=int, default=21, help="median-size documents retrieved")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk-us", type=float, default=200.0,
                    help="timing granularity: each query kind is timed in chunks of about this "
                         "many µs, and the whole-set time is the sum of per-chunk medians over "
                         "the reps (robust to preemption on a busy machine)")
    ap.add_argument("--wait-load", type=float, default=None, metavar="LOAD",
                    help="before starting, wait (up to --wait-max s) until the 1-minute load "
                         "average is at most LOAD")
    ap.add_argument("--wait-max", type=float, default=1800.0)
    ap.add_argument("--small", action="append", default=[], metavar="SA,ISA",
                    help="also build fmindex with --profile small and these sample rates "
                    "(e.g. 32,64 = sdsl's; repeatable: one column each)")
    ap.add_argument("--no-sdsl", action="store_true", help="skip sdsl-lite")
    ap.add_argument("--cache-hog", type=float, default=0.0, metavar="MB",
                    help="run a process that streams MB of memory on the other core for the "
                         "whole benchmark: a neighbour taking the shared L3, so that every "
                         "system runs in the small-cache state the issue's reference numbers "
                         "were measured in (24 leaves ~8 MiB; build times are then not "
                         "comparable); the cache probe shows the state either way")
    ap.add_argument("--sdsl-flags", default="-msse4.2 -mpopcnt",
                    help="extra g++ flags for the sdsl harness, built into the scratch dir "
                         "(default: %(default)s, as fmindex uses popcnt; '' = the stock binary "
                         "of benches/sdsl/build.sh, plain -O3)")
    ap.add_argument("--engine-commit", default=None, metavar="REV",
                    help="benchmark a clean build of this commit (git archive + build_ext) "
                         "instead of the package as built in the working tree")
    ap.add_argument("--no-fm-index", action="store_true", help="skip PyPI fm-index")
    ap.add_argument("--no-sa", action="store_true", help="skip the divsufsort suffix array")
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--out", default=None, help="JSON path (default benches/results/core_<corpus>_<mb>mb.json)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="per-child timeout, seconds")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    q = a.quick
    a.corpus = a.corpus or ("sample" if q else "code_linux_c")
    a.reps = a.reps or (2 if q else 5)
    a.per_len = a.per_len or (100 if q else 500)
    a.n_miss = a.n_miss or (100 if q else 500)
    a.n_locate = a.n_locate or (20 if q else 50)
    return a


def snapshot_engine(workdir: Path, commit: Optional[str] = None) -> dict:
    """The engine the workers import, copied into the scratch dir so that a concurrent
    rebuild of the extension modules cannot change it mid-run.

    ``commit=None``: the package as built in place in the working tree (uncommitted
    changes included).  Otherwise ``git archive COMMIT`` is unpacked and built there
    (``setup.py build_ext --inplace``): a clean build of exactly that commit.
    """
    import hashlib
    import subprocess
    dst = workdir / "engine"
    if dst.exists():
        shutil.rmtree(dst)
    if commit is None:
        src = REPO
        desc = C.git_head(REPO)
    else:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", commit],
                             check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        src = workdir / f"src-{rev}"
        if src.exists():
            shutil.rmtree(src)
        src.mkdir(parents=True)
        log(f"building fmindex {rev} from a clean `git archive` in {src}")
        arch = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                              check=True, stdout=subprocess.PIPE).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=arch, check=True)
        r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                           cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SystemExit(f"building fmindex {rev} failed:\n{r.stdout[-4000:]}")
        desc = rev
    shutil.copytree(src / "fmindex", dst / "fmindex",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    mods = {}
    for so in sorted((dst / "fmindex").glob("*.so")):
        mods[so.name] = {"sha256": hashlib.sha256(so.read_bytes()).hexdigest()[:16],
                         "mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                                time.localtime((src / "fmindex" / so.name).stat().st_mtime))}
    return {"path": str(dst), "commit": desc, "source": "working tree" if commit is None
            else "clean build of a commit", "extension_modules": mods}


def sdsl_binary(mod, workdir: Path, flags: str) -> Optional[str]:
    """Build the sdsl harness with extra compiler flags into the scratch dir (build.sh
    compiles with plain -O3: without -msse4.2 sdsl's bits::cnt uses a broadword popcount,
    while fmindex is built with -mpopcnt).  Returns the build dir (None: stock binary)."""
    if not flags.strip():
        mod.ensure_built()
        return None
    bdir = workdir / "sdsl_build"
    bdir.mkdir(parents=True, exist_ok=True)
    wrapper = bdir / "cxx.sh"
    wrapper.write_text(f'#!/bin/sh\nexec {os.environ.get("CXX", "g++")} {flags} "$@"\n')
    wrapper.chmod(0o755)
    old = os.environ.get("CXX")
    os.environ["CXX"] = str(wrapper)
    try:
        mod.ensure_built(str(bdir))
    finally:
        if old is None:
            os.environ.pop("CXX", None)
        else:
            os.environ["CXX"] = old
    return str(bdir)


def run_worker(name: str, spec_path: Path, workdir: Path, timeout: float) -> dict:
    result = workdir / f"result_{name}.json"
    if result.exists():
        result.unlink()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
           "--spec", str(spec_path), "--result", str(result)]
    env = dict(os.environ)
    env[ENGINE_ENV] = str(workdir / "engine")
    ch = C.run_child(cmd, env=env, timeout=timeout)
    if ch["returncode"] != 0 or not result.exists():
        rc = ch["returncode"]
        why = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
        raise RuntimeError(f"worker {name} failed ({why}); with an engine under edit, "
                           "try --engine-commit HEAD")
    res = json.loads(result.read_text())
    res["child"] = ch
    return res


def build_table(systems: dict, corpus: C.Corpus, spec: dict, mism: dict) -> str:
    """Rows = metrics, columns = systems; peer cells carry the ratio peer cost / fmindex cost."""
    cols = [(k, h) for k, h in COLUMNS if k in systems]
    n = corpus.text_bytes

    def timing(k: str, key: str) -> Optional[dict]:
        if k == "ours_batch":
            if not key.startswith("count_"):
                return None
            k, key = "ours", "batch_" + key[len("count_"):]
        return systems[k].get("timings", {}).get(key)

    def tget(key):
        def get(k):
            v = timing(k, key)
            return None if v is None else v["median"]
        return get

    def field(name, scale):
        def get(k):
            v = systems[k].get(name) if k != "ours_batch" else None
            return None if v is None else scale(v)
        return get

    # (label, getter(column key) -> value, lower is better, timing key or None)
    rows = [("build MB/s", field("build_s", lambda s: n / C.MB / s), False, None),
            ("build MB per CPU-second", field("build_cpu_s", lambda s: n / C.MB / s), False, None),
            ("build peak RSS, bytes / text byte", field("peak_rss_after_build", lambda v: v / n),
             True, None),
            ("index size, % of text", field("index_bytes", lambda v: 100.0 * v / n), True, None)]
    for m in spec["hit_groups"]:
        rows.append((f"count µs, m={m}", tget(f"count_{m}"), True, f"count_{m}"))
    rows.append((f"count µs, miss (m={MISS_LEN})", tget("count_miss"), True, "count_miss"))
    rows.append((f"locate ns/occ (≤{spec['locate_limit']} occ/pattern)", tget("locate"), True,
                 "locate"))
    rows.append((f"extract ns/byte ({spec['extract_len']} B ranges)", tget("extract"), True,
                 "extract"))
    med = int(np.median(corpus.doc_lengths[spec["docs"]]))
    rows.append((f"document ms ({med:,} B, median size)", tget("document"), True, "document"))

    out_rows = []
    for label, get, lower, _ in rows:
        ours = get("ours")
        cells = [label]
        for k, _h in cols:
            v = get(k)
            if v is None:
                cells.append("-")
                continue
            s = C.fmt_num(v)
            if k != "ours" and ours and v:
                s += f" ({C.fmt_num(v / ours if lower else ours / v)}×)"
            cells.append(s)
        out_rows.append(cells)
    spread = ["rep-total spread (max-min)/median: median / worst row"]
    for k, _h in cols:
        vals = [t["spread"] for _l, _g, _lo, key in rows if key
                for t in [timing(k, key)] if t is not None and "spread" in t]
        spread.append(f"{100 * float(np.median(vals)):.0f}% / {100 * max(vals):.0f}%"
                      if vals else "n/a")
    out_rows.append(spread)
    mm = ["count mismatches vs fmindex"]
    for k, _h in cols:
        mm.append("ref" if k == "ours" else str(mism.get(k, "-")))
    out_rows.append(mm)
    return C.markdown_table(["metric"] + [h for _, h in cols], out_rows)


def compare_counts(systems: dict, spec: dict) -> dict:
    """Per system: patterns whose count differs from fmindex; plus patterns where any two differ."""
    ref = systems["ours"]
    names = list(spec["groups"])
    out = {}
    all_counts = {}
    for k, r in systems.items():
        if k == "ours_batch" or "counts" not in r:
            continue
        flat = [c for nm in names for c in r["counts"].get(nm, [])] + list(r["locate_counts"])
        all_counts[k] = flat
    if ref.get("batch_counts"):
        # count_many ran on the count groups only: compare those, pattern by pattern
        all_counts["ours_batch"] = ([c for nm in names for c in ref["batch_counts"][nm]]
                                    + list(ref["locate_counts"]))
    base = all_counts["ours"]
    examples = []
    pats = [p for nm in names for p in spec["groups"][nm]] + list(spec["locate"])
    for k, flat in all_counts.items():
        if k == "ours":
            continue
        if len(flat) != len(base):
            out[k] = abs(len(flat) - len(base)) + sum(1 for a, b in zip(flat, base) if a != b)
        else:
            bad = [i for i, (a, b) in enumerate(zip(flat, base)) if a != b]
            out[k] = len(bad)
            for i in bad[:3]:
                examples.append({"system": k, "pattern": pats[i].decode("utf-8", "replace"),
                                 "fmindex": base[i], k: flat[i]})
    any_bad = sum(1 for i in range(len(base))
                  if len({flat[i] for flat in all_counts.values() if i < len(flat)}) > 1)
    return {"per_system": out, "patterns_with_disagreement": any_bad, "examples": examples}


CACHE_HOG = """
import sys
import numpy as np
a = np.ones(int(float(sys.argv[1]) * (1 << 20)) // 8)
while True:
    a.sum()
"""


def cache_probe(workdir: Path) -> Dict[str, float]:
    """ns per dependent load at 16 / 24 / 32 MiB (benches/bench_memory_latency.py, 5 M loads
    each): how much of the L3 this VM has now, which moves every system's times (sdsl's more
    than ours, docs/design.md section 8e).  Empty if gcc is missing."""
    import subprocess
    import bench_memory_latency as ML
    try:
        exe = ML.compile_chase(workdir)
        return {f"{mib} MiB": float(subprocess.run([str(exe), str(mib), "0", "5000000"],
                                                   check=True, capture_output=True, text=True)
                                    .stdout.split()[0]) for mib in (16, 24, 32)}
    except (OSError, subprocess.CalledProcessError):
        return {}


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.worker:
        return worker_main(a.worker, a.spec, a.result)
    if LOCATE_LEN in COUNT_LENGTHS or MISS_LEN not in COUNT_LENGTHS:
        raise SystemExit("internal: LOCATE_LEN must differ from the count lengths")
    if a.wait_load is not None:
        t0 = time.time()
        while os.getloadavg()[0] > a.wait_load and time.time() - t0 < a.wait_max:
            log(f"load average {os.getloadavg()[0]:.1f} > {a.wait_load}: waiting")
            time.sleep(30)
    t_start = time.time()
    workdir = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="bench_core_"))
    workdir.mkdir(parents=True, exist_ok=True)
    machine_before = C.machine_info()
    hog = None
    if a.cache_hog > 0:
        # a neighbour on the other core: sums a buffer of --cache-hog MB in a loop
        hog = subprocess.Popen([sys.executable, "-c", CACHE_HOG, str(a.cache_hog)])
        time.sleep(1.0)
        log(f"cache hog: {a.cache_hog:g} MB streamed by pid {hog.pid}")
    try:
        probe_before = cache_probe(workdir)
        log(f"cache probe (ns per dependent load): {probe_before}")
        engine = snapshot_engine(workdir, a.engine_commit)
        log(f"engine snapshot: fmindex {engine['commit']} -> {engine['path']}")
        log(f"preparing corpus {a.corpus!r}, {a.mb:g} MB, in {workdir}")
        corpus = C.prepare_corpus(a.corpus, a.mb, workdir)
        text = corpus.text_path.read_bytes()
        log(f"  {corpus.n_docs} documents, {corpus.text_bytes / C.MB:.1f} MB, separator 0x{corpus.sep:02x}")
        rng = random.Random(a.seed)
        hits = C.sample_hits(text, corpus, COUNT_LENGTHS, a.per_len, rng)
        misses = C.sample_misses(text, a.n_miss, MISS_LEN, rng)
        log("  sampling locate patterns")
        locate = C.sample_frequent(text, corpus, LOCATE_LEN, a.n_locate, a.locate_limit, rng)
        ranges = C.sample_ranges(corpus, a.n_extract, a.extract_len, rng)
        docs = C.median_size_docs(corpus, a.n_docs)
        del text
        groups = {str(m): ps for m, ps in hits.items()}
        groups["miss"] = misses
        spec = {"text_path": str(corpus.text_path), "jsonl_path": str(corpus.jsonl_path),
                "index_dir": str(workdir / "fmindex_idx"), "sep": corpus.sep,
                "doc_lengths": corpus.doc_lengths, "jstarts": corpus.jstarts,
                "groups": groups, "hit_groups": {str(m): ps for m, ps in hits.items()},
                "misses": misses, "locate": locate, "locate_limit": a.locate_limit,
                "ranges": ranges, "extract_len": a.extract_len, "docs": docs,
                "reps": a.reps, "seed": a.seed, "chunk_us": a.chunk_us}
        variants = {}
        for sv in a.small:
            sa_s, isa_s = (int(x) for x in sv.split(","))
            key = f"small_{sa_s}_{isa_s}"
            variants[key] = {"index_dir": str(workdir / f"fmindex_{key}"),
                             "build_kw": {"profile": "small", "sa_sample": sa_s,
                                          "isa_sample": isa_s}}
            COLUMNS.insert(2 + len(variants) - 1,
                           (f"ours_{key}", f"fmindex small {sa_s}/{isa_s}"))
        spec["variants"] = variants
        spec_path = workdir / "spec.json"
        with open(spec_path, "w") as f:
            json.dump(_spec_encode(spec), f)

        systems: Dict[str, dict] = {}
        errors: Dict[str, str] = {}
        log("fmindex: build")
        b = run_worker("ours_build", spec_path, workdir, a.timeout)
        if not b.get("same_documents"):
            raise SystemExit("fmindex indexed different documents than the peers (lengths differ)")
        log(f"  built in {b['build_s']:.1f} s, child peak RSS {b['child']['maxrss_bytes'] / 2**20:.0f} MiB")
        log("fmindex: queries")
        q = run_worker("ours", spec_path, workdir, a.timeout)
        q.update({k: b[k] for k in ("build_s", "build_cpu_s", "index_bytes", "index_bytes_with_metadata",
                                    "stats", "build_timings", "version")})
        q["peak_rss_after_build"] = b["child"]["maxrss_bytes"]
        q["build_child"] = b["child"]
        systems["ours"] = q
        systems["ours_batch"] = {}
        for key in spec["variants"]:
            log(f"fmindex {key}: build + queries")
            vb = run_worker(f"ours_build@{key}", spec_path, workdir, a.timeout)
            vq = run_worker(f"ours@{key}", spec_path, workdir, a.timeout)
            vq.update({k: vb[k] for k in ("build_s", "build_cpu_s", "index_bytes",
                                          "index_bytes_with_metadata", "stats",
                                          "build_timings", "version")})
            vq["peak_rss_after_build"] = vb["child"]["maxrss_bytes"]
            systems[f"ours_{key}"] = vq
        for key, flag, label in (("fm_index", a.no_fm_index, "fm-index"),
                                 ("sa", a.no_sa, "divsufsort SA")):
            if flag:
                continue
            log(f"{label}: build + queries")
            try:
                systems[key] = run_worker(key, spec_path, workdir, a.timeout)
                log(f"  built in {systems[key]['build_s']:.1f} s")
            except Exception as e:
                errors[key] = str(e)
                log(f"  {label} FAILED: {e}")
        if not a.no_sdsl:
            try:
                mod = load_run_sdsl()
                sdsl_dir = sdsl_binary(mod, workdir, a.sdsl_flags)
                for v in mod.VARIANTS:
                    log(f"sdsl {v}: build + queries (2 harness runs)")
                    systems[f"sdsl_{v}"] = run_sdsl_variant(mod, v, spec, a.timeout, sdsl_dir)
                    systems[f"sdsl_{v}"]["compiler_flags"] = "-O3 " + a.sdsl_flags
                    log(f"  built in {systems[f'sdsl_{v}']['build_s']:.1f} s")
            except Exception as e:
                errors["sdsl"] = str(e)
                log(f"  sdsl skipped: {e}")

        mism = compare_counts(systems, spec)
        table = build_table(systems, corpus, spec, mism["per_system"])
        fails = {k: r["check_failures"] for k, r in systems.items() if r.get("check_failures")}
        bad_checks = {k: v for k, v in fails.items()
                      if any(v.values())}
        n_pats = sum(len(p) for p in groups.values()) + len(locate)
        load_after = os.getloadavg()
        probe_after = cache_probe(workdir)
        if hog is not None:
            hog.kill()
            hog.wait()
            hog = None
        tdt = systems["ours"].get("timings_default_threads", {})
        loc_mt = (f"; fmindex locate with its default {tdt['num_threads']} threads: "
                  f"{C.fmt_num(tdt['locate']['median'])} ns/occ" if tdt else "")
        lines = [
            f"## fmindex core benchmark: {corpus.name}, {corpus.text_bytes / C.MB:.1f} MB "
            f"({corpus.n_docs:,} documents), fmindex {engine['commit']} ({engine['source']})",
            "",
            table,
            "",
            f"- patterns: {a.per_len} hits per length (random positions inside documents), "
            f"{len(misses)} misses (random printable ASCII, {MISS_LEN} B), {len(locate)} locate "
            f"patterns ({LOCATE_LEN} B, each with ≥{a.locate_limit} occurrences: "
            f"{sum(min(c, a.locate_limit) for c in systems['ours']['locate_counts']):,} occ resolved"
            f" per rep), {len(ranges)} extract ranges, {len(docs)} documents; {n_pats:,} counted "
            f"patterns in all.",
            f"- times: {a.reps} reps of the whole set; each query kind is timed in chunks of "
            f"~{a.chunk_us:g} µs and its time is the sum of the chunks' medians over the reps "
            f"(robust to preemption; plain medians of whole-rep totals are in the JSON)"
            + ("" if a.no_sdsl else f"; sdsl: median of {a.reps} reps of whole length groups "
               "(its harness)") + ". Cells: value (peer "
            "cost / fmindex cost ×; >1 = fmindex better; for build MB/s: fmindex MB/s / peer MB/s).",
            "- fmindex = one Python call per query (`Index.count/locate/extract/document`, "
            "num_threads=1); batch = `count_many(group, num_threads=1)`; fm-index: `count`, "
            "`iter_locate`+islice, size = pickled index; SA: int32 SA + text (size counts both), "
            "`sa_search` via ctypes, extract/document = bytes slices"
            + ("" if a.no_sdsl else "; sdsl: C++ loop (no Python call overhead), `g++ -O3 "
               + a.sdsl_flags + "`, two harness runs per variant, extract ranges its own "
               "random ones") + loc_mt + ".",
            f"- build: fmindex from the JSONL file (parse + index + write), peers from the text in "
            f"memory; CPU-seconds = user + sys of the build, all threads (less sensitive to "
            f"load; the sdsl harness reports wall time only); RSS includes the text. "
            f"{machine_before['cores']} cores, load average "
            f"{machine_before['loadavg'][0]:.1f} at start, {load_after[0]:.1f} at end "
            f"(concurrent jobs on the machine; see the spread row).",
            f"- counts compared on all {n_pats:,} patterns across systems: "
            f"{mism['patterns_with_disagreement']} patterns disagree.",
            "- cache probe, ns per dependent load at 16 / 24 / 32 MiB (how much L3 the VM had; "
            "it moves sdsl's times more than ours): "
            + " / ".join(f"{v:.0f}" for v in probe_before.values()) + " at start, "
            + " / ".join(f"{v:.0f}" for v in probe_after.values()) + " at end"
            + (f", with a cache hog streaming {a.cache_hog:g} MB on the other core for the "
               f"whole run (build figures not comparable)." if a.cache_hog else "."),
        ]
        if errors:
            lines.append(f"- skipped/failed: {errors}")
        if bad_checks:
            lines.append(f"- CHECK FAILURES: {bad_checks}")
        report = "\n".join(lines)
        print(report, flush=True)

        mb_label = int(round(min(a.mb, corpus.text_bytes / C.MB)))
        # a corpus given as a file path is named by its file's stem (core_dna_63mb.json)
        label = Path(corpus.name).stem if "/" in corpus.name else corpus.name
        out = Path(a.out) if a.out else HERE / "results" / f"core_{label}_{mb_label}mb.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        for r in systems.values():
            for key in ("counts", "locate_counts", "batch_counts"):
                r.pop(key, None)
        doc = {
            "command": " ".join([Path(sys.executable).name, "benches/bench_core.py"]
                                + (argv if argv is not None else sys.argv[1:])),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "duration_s": round(time.time() - t_start, 1),
            "fmindex_commit": engine["commit"], "engine": engine,
            "machine": machine_before, "loadavg_after": list(os.getloadavg()),
            "cache_probe_ns": {"before": probe_before, "after": probe_after},
            "cache_hog_mb": a.cache_hog,
            "corpus": corpus.info(),
            "params": {"reps": a.reps, "per_len": a.per_len, "n_miss": len(misses),
                       "miss_len": MISS_LEN, "n_locate": len(locate), "locate_len": LOCATE_LEN,
                       "locate_limit": a.locate_limit, "extract_len": a.extract_len,
                       "n_extract": len(ranges), "n_docs": len(docs), "seed": a.seed,
                       "count_lengths": list(hits)},
            "units": {"count": "µs/pattern", "locate": "ns/occurrence", "extract": "ns/byte",
                      "document": "ms/document", "batch": "µs/pattern",
                      "peak_rss_after_build": "bytes", "index_bytes": "bytes"},
            "systems": systems, "errors": errors, "count_check": mism,
            "check_failures": bad_checks, "table_markdown": report,
        }
        out.write_text(json.dumps(doc, indent=1, default=lambda o: o.tolist()
                                  if isinstance(o, np.ndarray) else str(o)))
        log(f"wrote {out}")
        if mism["patterns_with_disagreement"] or any(mism["per_system"].values()) or bad_checks:
            log("CORRECTNESS FAILURE: see the table / JSON")
            return 1
        return 0
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
        if not a.keep and not a.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
