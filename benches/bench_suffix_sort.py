#!/usr/bin/env python
"""Suffix-sort throughput: fmindex._suffix_array (SA-IS) vs pydivsufsort.

Text (default): the "text" fields of /work/corpora/jsonl/*.jsonl (one document
per line, joined by newlines, files in sorted order) up to --mb MB; if that
directory is missing, /work/shared/corpora/sample/*.jsonl.gz; else the Python
standard library's .py files.  --input FILE sorts the raw bytes of FILE.

Every run happens in a fresh subprocess, so peak RSS (ru_maxrss) is measured
per method and per run.  Reported per method (median of --runs runs):
wall seconds, MB/s (wall), MB/s (CPU time of the sorting thread's process --
steadier than wall time when the machine is shared), peak RSS and peak RSS
minus the RSS before sorting (the input text is already loaded then; the
figure includes the output array, 4n bytes for n < 2^31).

    python benches/bench_suffix_sort.py                 # 100 MB, 3 runs
    python benches/bench_suffix_sort.py --mb 20 --runs 5
    python benches/bench_suffix_sort.py --methods ours  # skip divsufsort
    python benches/bench_suffix_sort.py --mix           # all corpus files, equal shares
"""
import argparse
import glob
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

METHODS = ("ours", "divsufsort")


# ------------------------------------------------------------------ text ---

def _jsonl_texts(lines):
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        text = doc.get("text") if isinstance(doc, dict) else None
        if isinstance(text, str):
            yield text.encode("utf-8")


def load_text(limit_bytes: int, input_path: "str | None" = None, mix: bool = False):
    """Return (bytes, description).  mix: an equal share from every file
    (else the files are read in sorted order until the limit)."""
    if input_path:
        with open(input_path, "rb") as fh:
            return fh.read(limit_bytes), input_path
    sources = [
        ("/work/corpora/jsonl/*.jsonl", open),
        ("/work/shared/corpora/sample/*.jsonl.gz", gzip.open),
    ]
    for pattern, opener in sources:
        files = sorted(glob.glob(pattern))
        if not files:
            continue
        out, used = bytearray(), 0
        share = -(-limit_bytes // len(files)) if mix else limit_bytes
        for path in files:
            used += 1
            start = len(out)
            with opener(path, "rb") as fh:
                for text in _jsonl_texts(fh):
                    out += text
                    out += b"\n"
                    if len(out) - start >= share or len(out) >= limit_bytes:
                        break
            if len(out) >= limit_bytes:
                break
        if out:
            how = "equal share per file" if mix else "in file order"
            return bytes(out[:limit_bytes]), f"{pattern} ({used} file{'s' * (used != 1)}, {how})"
    stdlib = sysconfig.get_paths()["stdlib"]
    out = bytearray()
    for path in sorted(glob.glob(os.path.join(stdlib, "**", "*.py"), recursive=True)):
        try:
            with open(path, "rb") as fh:
                out += fh.read()
        except OSError:
            continue
        if len(out) >= limit_bytes:
            break
    return bytes(out[:limit_bytes]), f"python stdlib .py files under {stdlib}"


# ---------------------------------------------------------------- worker ---

def _current_rss() -> int:
    """Resident set size now (bytes); falls back to the high-water mark."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(method: str, path: str, out_path: "str | None") -> None:
    import numpy as np

    text = np.fromfile(path, dtype=np.uint8)  # writable (divsufsort needs it)
    if method == "ours":
        sys.path.insert(0, REPO)
        from fmindex._suffix_array import suffix_array as sort
    elif method == "divsufsort":
        from pydivsufsort import divsufsort as sort
    else:
        raise SystemExit(f"unknown method {method!r}")
    base_rss = _current_rss()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    sa = sort(text)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if out_path:
        np.save(out_path, sa)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, "base": base_rss,
                      "n": int(text.shape[0]), "dtype": str(sa.dtype)}))


def run_worker(method, path, out_path=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", method, "--input", path]
    if out_path:
        cmd += ["--save", out_path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main ---

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=100.0, help="text size in MB (2^20 bytes), default 100")
    ap.add_argument("--runs", type=int, default=3, help="runs per method (median reported), default 3")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma list: ours,divsufsort")
    ap.add_argument("--input", help="sort the raw bytes of this file instead of the corpora")
    ap.add_argument("--mix", action="store_true",
                    help="take an equal share of the text from every corpus file")
    ap.add_argument("--no-check", action="store_true", help="skip comparing the two suffix arrays")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        worker(args.worker, args.input, args.save)
        return 0

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r} (choose from {', '.join(METHODS)})")
    limit = int(args.mb * (1 << 20))
    data, desc = load_text(limit, args.input, args.mix)
    n = len(data)
    print(f"text: {n / 1e6:.1f} MB from {desc}")
    print(f"runs per method: {args.runs} (each in its own process); cpu count {os.cpu_count()}")

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_sa_") as tmp:
        text_path = os.path.join(tmp, "text.bin")
        with open(text_path, "wb") as fh:
            fh.write(data)
        del data
        saved = {}
        for r in range(args.runs):
            for m in methods:  # interleaved, so load changes hit both methods
                out = None
                if r == 0 and not args.no_check and len(methods) > 1:
                    out = os.path.join(tmp, f"sa_{m}.npy")
                    saved[m] = out
                res = run_worker(m, text_path, out)
                results.setdefault(m, []).append(res)
                print(f"  run {r + 1} {m:10s} {res['wall']:7.2f} s wall  {res['cpu']:7.2f} s cpu", flush=True)
        if saved:
            import numpy as np
            arrays = {m: np.load(p, mmap_mode="r") for m, p in saved.items()}
            ref_name = methods[0]
            for m, a in arrays.items():
                if m == ref_name:
                    continue
                same = a.shape == arrays[ref_name].shape and bool(np.array_equal(a, arrays[ref_name]))
                print(f"check: {m} {'==' if same else '!='} {ref_name}")
                if not same:
                    return 1

    print()
    header = (f"{'method':12s} {'wall s':>8s} {'MB/s':>8s} {'MB/s cpu':>9s} "
              f"{'peak RSS MB':>12s} {'extra MB':>9s} {'extra/n':>8s}")
    print(header)
    print("-" * len(header))
    summary = {}
    for m in methods:
        rs = results[m]
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        peak = statistics.median(r["peak"] for r in rs)
        extra = statistics.median(r["peak"] - r["base"] for r in rs)
        summary[m] = n / wall / 1e6
        print(f"{m:12s} {wall:8.2f} {n / wall / 1e6:8.2f} {n / cpu / 1e6:9.2f} "
              f"{peak / 2**20:12.0f} {extra / 2**20:9.0f} {extra / n:8.2f}")
    if "ours" in summary and "divsufsort" in summary:
        print(f"\nspeed ratio ours / divsufsort (wall, median): {summary['ours'] / summary['divsufsort']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
