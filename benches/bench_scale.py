"""Scale benchmark (issue #4): memory-bounded parallel builds and many-shard queries.

    python benches/bench_scale.py build --size 2G --memory 2G --jobs 2      # >= 2 GB corpus
    python benches/bench_scale.py speedup --size 256M --shard-size 48M --reps 2
    python benches/bench_scale.py queries --size 100M                         # 1 vs 64 vs 100 shards
    python benches/bench_scale.py build --size 30G --memory 4G --jobs 2 --keep-corpus --keep-index \
        --work /big/dir --queries                                  # > RAM (hours on 2 cores)
    ... --time-limit 3600 (stop after an hour, shards kept), then the same with --resume

Corpora are made by concatenating the fetched corpora (/work/corpora/jsonl/*.jsonl) as
many times as needed, each copy's records tagged with ``"copy": k`` (so every document
id is distinct), streamed to one JSONL file of the requested size (decimal units: 2G =
2e9 bytes of file).

Memory is measured across the whole process tree of the build (the CLI started in its
own session: the reader, the forkserver, every worker), sampled every 0.25 s from /proc:
the peak of the summed RSS (counts pages shared between processes once per process:
an upper bound) and of the summed PSS (shared pages split: the real total), plus the
peak RSS (VmHWM) of each worker as reported by the build.

Results go to benches/results/scale_<mode>_<date>.json and a markdown table on stdout.
"MB" is 10^6 bytes; MiB/GiB are binary.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path("/work/corpora/jsonl")
RESULTS = ROOT / "benches" / "results"


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    if s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in e.get("PYTHONPATH", "").split(os.pathsep) if p])
    return e


# ------------------------------------------------------------------------ corpora
def make_corpus(path: Path, size: int, sources=None) -> dict:
    """Write >= ``size`` bytes of JSONL: the fetched corpora, copy after copy."""
    sources = sources or sorted(CORPUS_DIR.glob("*.jsonl"))
    if path.exists() and path.stat().st_size >= size:
        return {"path": str(path), "bytes": path.stat().st_size, "reused": True}
    t = time.perf_counter()
    written, copy, docs = 0, 0, 0
    with open(path, "wb", buffering=16 << 20) as out:
        while written < size:
            for src in sources:
                with open(src, "rb", buffering=16 << 20) as fh:
                    for line in fh:
                        if not line.startswith(b"{"):
                            continue
                        rec = b'{"copy":%d,' % copy + line[1:]
                        out.write(rec)
                        written += len(rec)
                        docs += 1
                        if written >= size:
                            break
                if written >= size:
                    break
            copy += 1
    return {"path": str(path), "bytes": written, "copies": copy, "records": docs,
            "seconds": round(time.perf_counter() - t, 1)}


# ------------------------------------------------------------------------ memory
_TICK = os.sysconf("SC_CLK_TCK")


def _session_pids(sid: int) -> dict:
    """pid -> CPU seconds (user + system) of every process of session ``sid``."""
    pids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                st = fh.read()
            fields = st[st.rindex(b")") + 2:].split()
            if int(fields[3]) == sid:          # field 6 (session), after pid and comm
                pids[int(d)] = (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, ValueError):
            continue
    return pids


def _rss_pss(pid: int) -> tuple:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class TreeSampler:
    """Peak summed RSS / PSS of a process session, sampled in a thread."""

    def __init__(self, sid: int, interval: float = 0.25):
        self.sid, self.interval = sid, interval
        self.peak_rss = self.peak_pss = 0
        self.peak_procs = 0
        self.samples = 0
        self.cpu = {}            # pid -> last CPU seconds seen (misses < 1 interval each)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            pids = _session_pids(self.sid)
            self.cpu.update(pids)
            rss = pss = 0
            for p in pids:
                r, s = _rss_pss(p)
                rss += r
                pss += s
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, len(pids))
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._t.join()


def _partial_progress(out: Path) -> dict:
    """Shards done so far by an unfinished build of ``out`` (from its journal)."""
    for d in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            st = json.loads((d / "build-state.json").read_bytes())
        except (OSError, ValueError):
            continue
        done = [s for s in st["shards"] if s["status"] == "done"]
        return {"dir": str(d), "shards_done": len(done),
                "text_bytes_done": sum(s["num_bytes"] for s in done),
                "input_bytes_done": sum(s["in_bytes"] for s in done),
                "documents_done": sum(s["n_docs"] for s in done)}
    return {}


def run_build(corpus, out: Path, memory=None, jobs=1, shard_size=None, extra=(),
              time_limit=None) -> dict:
    cmd = [sys.executable, "-m", "fmindex", "build", str(corpus), "-o", str(out), "-q",
           "--force", "--jobs", str(jobs)]
    if memory:
        cmd += ["--memory", memory]
    if shard_size:
        cmd += ["--shard-size", shard_size]
    cmd += list(extra)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    sampler = TreeSampler(proc.pid)
    try:
        _, err = proc.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:          # stop it like Ctrl-C: finished shards kept
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate()
        wall = time.perf_counter() - t
        sampler.stop()
        part = _partial_progress(out)
        return {"command": " ".join(cmd), "stopped_after_s": round(wall, 1),
                "returncode": proc.returncode, "partial": part,
                "MB_per_s": round(part.get("text_bytes_done", 0) / 1e6 / wall, 3),
                "cpu_s": round(sum(sampler.cpu.values()), 1),
                "peak_tree_rss": sampler.peak_rss, "peak_tree_pss": sampler.peak_pss,
                "peak_procs": sampler.peak_procs, "loadavg": os.getloadavg(),
                "stderr": err.decode(errors="replace")[-500:]}
    wall = time.perf_counter() - t
    sampler.stop()
    cpu = sum(sampler.cpu.values())           # CPU seconds of all processes of the build
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}): {err.decode(errors='replace')}")
    man = json.loads((out / "manifest.json").read_bytes())
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    b = man.get("build", {})
    return {"command": " ".join(cmd), "wall_s": round(wall, 2), "text_bytes": man["num_bytes"],
            "documents": man["n_docs"], "shards": len(man["shards"]),
            "MB_per_s": round(man["num_bytes"] / 1e6 / wall, 3),
            "cpu_s": round(cpu, 1), "cpu_utilisation": round(cpu / wall, 2),
            # what the cores the build got would do alone: text / (CPU seconds / jobs)
            "MB_per_s_if_jobs_cores_were_free": round(
                man["num_bytes"] / 1e6 / max(cpu / max(jobs, 1), wall / 1e3), 3),
            "peak_tree_rss": sampler.peak_rss, "peak_tree_pss": sampler.peak_pss,
            "peak_procs": sampler.peak_procs, "samples": sampler.samples,
            "reader_peak_rss": b.get("main_peak_rss"),
            "worker_peak_rss_max": max(b.get("worker_peak_rss") or [0]),
            "plan": b.get("plan"), "timings": man.get("timings"), "index_bytes": size,
            "loadavg": os.getloadavg()}


# ------------------------------------------------------------------------ queries
_QUERY_CHILD = r'''
import json, os, random, sys, time
t0 = time.perf_counter()
import fmindex
def rss():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(line.split()[1]) * 1024
    return out
cfg = json.loads(sys.argv[1])
r0 = rss()
t = time.perf_counter()
idx = fmindex.open(cfg["index"])
t_open = time.perf_counter() - t
r1 = rss()
pats = [bytes.fromhex(p) for p in cfg["patterns"]]
lat = {"count": [], "locate10": []}
for rep in range(cfg["reps"]):
    for p in pats:
        t = time.perf_counter(); idx.count(p); lat["count"].append(time.perf_counter() - t)
for p in pats[:cfg["n_locate"]]:
    t = time.perf_counter(); idx.locate(p, limit=10); lat["locate10"].append(time.perf_counter() - t)
t = time.perf_counter(); idx.count_many(pats); t_many = time.perf_counter() - t
r2 = rss()
n_q = cfg["reps"] * len(pats) + cfg["n_locate"] + len(pats)
def med(v): v = sorted(v); return v[len(v) // 2] if v else None
print(json.dumps({"shards": idx.num_shards, "open_s": t_open, "rss_before_open": r0,
                  "rss_after_open": r1, "rss_after_queries": r2, "queries": n_q,
                  "count_median_us": med(lat["count"]) * 1e6,
                  "count_p90_us": sorted(lat["count"])[int(0.9 * len(lat["count"]))] * 1e6,
                  "locate10_median_us": med(lat["locate10"]) * 1e6,
                  "count_many_us_per_pattern": t_many / len(pats) * 1e6}))
'''


def sample_patterns(corpus: Path, n: int, seed: int = 1) -> list:
    rng = random.Random(seed)
    texts = []
    with open(corpus, "rb") as fh:
        for i, line in enumerate(fh):
            if i % 50 == 0:
                texts.append(json.loads(line)["text"].encode())
            if len(texts) >= 2000:
                break
    pats = []
    while len(pats) < n:
        t = rng.choice(texts)
        if len(t) < 40:
            continue
        k = rng.choice([4, 8, 12, 16, 24])
        i = rng.randrange(len(t) - k)
        pats.append(t[i:i + k])
    pats += [bytes(rng.randrange(256) for _ in range(8)) for _ in range(n // 10)]   # misses
    return pats


def query_bench(index: Path, pats: list, reps: int = 3, n_locate: int = 200) -> dict:
    cfg = {"index": str(index), "patterns": [p.hex() for p in pats], "reps": reps,
           "n_locate": n_locate}
    r = subprocess.run([sys.executable, "-c", _QUERY_CHILD, json.dumps(cfg)], env=env(),
                       capture_output=True)
    if r.returncode:
        raise SystemExit(r.stderr.decode())
    return json.loads(r.stdout)


# ------------------------------------------------------------------------ modes
def mode_build(a, work: Path) -> dict:
    corpus = Path(a.corpus) if a.corpus else work / f"corpus_{a.size}.jsonl"
    info = make_corpus(corpus, parse_size(a.size)) if not a.corpus else {"path": a.corpus}
    print(f"corpus: {info}", file=sys.stderr)
    out = work / "idx_build"
    res = {"corpus": info, "runs": []}
    for rep in range(a.reps):
        r = run_build(corpus, out, memory=a.memory, jobs=a.jobs, shard_size=a.shard_size,
                      extra=["--resume"] if a.resume else [], time_limit=a.time_limit)
        print(json.dumps(r), file=sys.stderr)
        res["runs"].append(r)
    if a.queries and out.exists():
        pats = sample_patterns(corpus, 1000)
        res["queries"] = query_bench(out, pats, reps=1, n_locate=200)
    if not a.keep_index:
        shutil.rmtree(out, ignore_errors=True)
    if not a.keep_corpus and not a.corpus:
        corpus.unlink()
    return res


def mode_speedup(a, work: Path) -> dict:
    corpus = work / f"corpus_{a.size}.jsonl"
    info = make_corpus(corpus, parse_size(a.size))
    res = {"corpus": info, "jobs1": [], "jobs2": []}
    for rep in range(a.reps):
        for jobs in (1, 2):
            r = run_build(corpus, work / "idx_speedup", jobs=jobs, shard_size=a.shard_size,
                          memory=a.memory)
            print(json.dumps(r), file=sys.stderr)
            res[f"jobs{jobs}"].append(r)
    m1 = statistics.median(r["wall_s"] for r in res["jobs1"])
    m2 = statistics.median(r["wall_s"] for r in res["jobs2"])
    res["median_wall_jobs1"], res["median_wall_jobs2"] = m1, m2
    res["speedup"] = round(m1 / m2, 3)
    shutil.rmtree(work / "idx_speedup", ignore_errors=True)
    if not a.keep_corpus:
        corpus.unlink()
    return res


def mode_queries(a, work: Path) -> dict:
    corpus = work / f"corpus_{a.size}.jsonl"
    info = make_corpus(corpus, parse_size(a.size))
    pats = sample_patterns(corpus, 1000)
    res = {"corpus": info, "indexes": {}}
    size = parse_size(a.size)
    for n in (1, 64, 100):
        out = work / f"idx_q{n}"
        shard = None if n == 1 else str(size // n + 1)
        b = run_build(corpus, out, jobs=a.jobs, shard_size=shard)
        reps = []
        for _ in range(a.reps):
            reps.append(query_bench(out, pats))
        q = {k: statistics.median(r[k] for r in reps) for k in
             ("open_s", "count_median_us", "count_p90_us", "locate10_median_us",
              "count_many_us_per_pattern")}
        q["rss"] = reps[-1]["rss_before_open"], reps[-1]["rss_after_open"], reps[-1]["rss_after_queries"]
        q["queries"] = reps[-1]["queries"]
        res["indexes"][n] = {"build": b, "query": q, "shards": b["shards"]}
        print(json.dumps(res["indexes"][n]), file=sys.stderr)
        shutil.rmtree(out, ignore_errors=True)
    if not a.keep_corpus:
        corpus.unlink()
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["build", "speedup", "queries"])
    p.add_argument("--size", default="2G", help="corpus file size (decimal: 2G = 2e9 bytes)")
    p.add_argument("--corpus", default=None, help="use this corpus instead of generating one")
    p.add_argument("--memory", default=None)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--shard-size", default=None)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--work", default=None, help="work directory (default: a temp dir on /tmp)")
    p.add_argument("--keep-corpus", action="store_true")
    p.add_argument("--keep-index", action="store_true")
    p.add_argument("--queries", action="store_true", help="build mode: also time queries")
    p.add_argument("--resume", action="store_true", help="build mode: pass --resume")
    p.add_argument("--time-limit", type=float, default=None,
                   help="build mode: stop the build (SIGTERM, shards kept) after this many "
                   "seconds and report the partial progress; run again with --resume")
    p.add_argument("--tag", default="")
    a = p.parse_args()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    res = {"mode": a.mode, "args": vars(a), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "machine": {"cores": os.cpu_count(), "loadavg_before": os.getloadavg(),
                       "mem_total": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")}}
    try:
        res["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    res.update({"build": mode_build, "speedup": mode_speedup, "queries": mode_queries}[a.mode](a, work))
    res["duration_s"] = round(time.perf_counter() - t, 1)
    res["machine"]["loadavg_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"scale_{a.mode}_{a.size}{('_' + a.tag) if a.tag else ''}.json"
    (RESULTS / name).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
