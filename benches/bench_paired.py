#!/usr/bin/env python3
"""One count, fmindex against sdsl-lite, timed in alternating rounds of the same minutes.

bench_core.py times each system in its own child process, one after the other.  On this
VM the share of the L3 that the neighbours leave us moves during a run (docs/design.md
section 8e), and sdsl's times move with it more than ours, so two systems timed minutes
apart can be in different cache states.  Here both indexes stay loaded (sdsl's in a
harness process that answers commands, ``sdsl_bench --serve``; fmindex's in this process)
and the rounds alternate: round r times fmindex and sdsl on the same patterns, one right
after the other, each system's turn following the other's.  Each round's ratio compares like with
like; the table reports the median of the per-round ratios, their range, and how many
rounds reach 3x::

    python benches/bench_paired.py --corpus /tmp/dna.jsonl            # any JSONL, or
    python benches/bench_paired.py --corpus english --rounds 15       # a named corpus
    python benches/bench_paired.py --corpus code_linux_c --warm       # repeated patterns

Patterns: ``--per-len`` random substrings of each length per round, drawn like
bench_core's (uniform over the text, inside documents).  By default (*fresh*) every round
has its own patterns and each system sees them once, right after answering the previous
round's (so that what every query reads, such as sdsl's root bitvector or our lookup
tables, is as cached as on a server of that one index, though the other system ran in
between): the latency of queries that do not repeat.  ``--warm`` repeats one set:
an untimed pass, then ``--reps`` timed passes, as bench_core does.  Before the rounds
every page of both indexes is touched once (fmindex maps its files; sdsl reads its index
into memory), and one untimed round runs.  fmindex is timed through ``Index.count`` (one
Python call per pattern, ~0.1 us of it the call), sdsl in its C++ loop.  Every round's
occurrence totals per length must agree (non-zero exit otherwise).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import common as C  # noqa: E402
import bench_core as BC  # noqa: E402


def log(msg: str) -> None:
    print(f"[paired {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="code_linux_c",
                    help="a corpus name of benches/common.py or a JSONL path")
    ap.add_argument("--mb", type=float, default=100.0, help="first MB of the corpus (default 100)")
    ap.add_argument("--lengths", default="8,16,32,64", help="pattern lengths (default 8,16,32,64)")
    ap.add_argument("--per-len", type=int, default=2000,
                    help="patterns of each length per round (default 2000)")
    ap.add_argument("--rounds", type=int, default=11, help="timed rounds (default 11)")
    ap.add_argument("--warm", action="store_true",
                    help="one pattern set for all rounds: an untimed pass then --reps timed ones")
    ap.add_argument("--reps", type=int, default=3, help="timed passes per round with --warm")
    ap.add_argument("--loop", default="python", choices=("python", "c"),
                    help="fmindex timed through Index.count, one Python call per pattern "
                         "(default, as bench_core), or FMShard.count_each's C loop (as "
                         "sdsl's harness; a one-shard index)")
    ap.add_argument("--variant", default="plain", choices=("plain", "rrr127"),
                    help="sdsl index (default plain: csa_wt<wt_huff<>, 32, 64>)")
    ap.add_argument("--profile", default="fast", choices=("fast", "small"),
                    help="fmindex build profile (default fast)")
    ap.add_argument("--sdsl-flags", default="-msse4.2 -mpopcnt",
                    help="extra compiler flags of the sdsl harness (as bench_core)")
    ap.add_argument("--cache-hog", type=float, default=0.0, metavar="MB",
                    help="stream MB on the other core during the run (as bench_core)")
    ap.add_argument("--workdir", default=None,
                    help="scratch directory; its fmindex and sdsl indexes are reused if there")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    return ap.parse_args(argv)


class SdslServer:
    """``sdsl_bench VARIANT TEXT --serve``: one index, loaded once, timed on command."""

    def __init__(self, exe: str, variant: str, text_path: Path, index_file: Path):
        self.proc = subprocess.Popen([exe, variant, str(text_path), "--serve", "--index",
                                      str(index_file)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.ready = self._reply()

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sdsl_bench exited (status {self.proc.wait()})")
        return json.loads(line)

    def count(self, pattern_file: Path, reps: int, warm: bool) -> dict:
        self.proc.stdin.write(f"count {pattern_file} {reps} {int(warm)}\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def touch_index(idx) -> int:
    """Read one byte of every page of the index's mapped arrays (no page faults later,
    as for sdsl's index, read into memory); returns the bytes covered."""
    total = 0
    for sh in idx.shards:
        for arr in sh.kernel_arrays.values():
            if isinstance(arr, np.ndarray) and arr.nbytes:
                b = arr.reshape(-1).view(np.uint8)
                int(b[::4096].sum())
                total += b.nbytes
    return total


def python_loop(count):
    """A group's occurrence total, one ``Index.count`` call per pattern."""
    def run(ps: List[bytes]) -> int:
        s = 0
        for p in ps:
            s += count(p)
        return s
    run.prepare = lambda ps: None
    return run


def c_loop(fm):
    """A group's occurrence total from ``FMShard.count_each``: the same backward searches,
    one after the other in a nogil C loop (no Python call per pattern, as sdsl's loop).
    The patterns are packed when first seen, outside the timing."""
    packed: Dict[int, tuple] = {}

    def pack(ps: List[bytes]) -> tuple:
        key = id(ps)
        if key not in packed:
            offs = np.zeros(len(ps) + 1, dtype=np.int64)
            np.cumsum([len(p) for p in ps], out=offs[1:])
            packed[key] = (ps, np.frombuffer(b"".join(ps), dtype=np.uint8), offs)
        return packed[key][1:]

    def run(ps: List[bytes]) -> int:
        return int(fm.count_each(*pack(ps)).sum())
    run.prepare = pack
    return run


def time_ours(run, groups: Dict[int, List[bytes]], reps: int, warm: bool):
    """Per length: median µs per pattern over ``reps`` timed passes (after an untimed
    one when ``warm``), and the occurrence total."""
    for ps in groups.values():
        run.prepare(ps)                 # outside the timing (packing, for the C loop)
    sums = {m: run(ps) for m, ps in groups.items()} if warm else {}
    us: Dict[int, List[float]] = {m: [] for m in groups}
    for _ in range(reps):
        for m, ps in groups.items():
            t = time.perf_counter()
            s = run(ps)
            us[m].append((time.perf_counter() - t) * 1e6 / len(ps))
            sums.setdefault(m, s)
    return {m: statistics.median(v) for m, v in us.items()}, sums


def main(argv=None) -> int:
    a = parse_args(argv)
    lengths = [int(x) for x in a.lengths.split(",")]
    workdir = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="bench_paired_"))
    workdir.mkdir(parents=True, exist_ok=True)
    hog = None
    if a.cache_hog > 0:
        hog = subprocess.Popen([sys.executable, "-c", BC.CACHE_HOG, str(a.cache_hog)])
        time.sleep(1.0)
        log(f"cache hog: {a.cache_hog:g} MB streamed by pid {hog.pid}")
    server = None
    try:
        import fmindex
        corpus = C.prepare_corpus(a.corpus, a.mb, workdir)
        text = corpus.text_path.read_bytes()
        log(f"{corpus.n_docs} documents, {corpus.text_bytes / C.MB:.1f} MB in {workdir}")
        idx_dir = workdir / f"fmindex_{a.profile}"
        if not (idx_dir / "manifest.json").exists():
            log(f"fmindex: build ({a.profile})")
            fmindex.build(str(corpus.jsonl_path), idx_dir, profile=a.profile, overwrite=True,
                          progress=False)
        idx = fmindex.open(idx_dir, num_threads=1)
        if not np.array_equal(idx.doc_lengths(), corpus.doc_lengths):
            raise SystemExit(f"{idx_dir} holds other documents than the corpus")
        mod = BC.load_run_sdsl()
        exe = mod.binary_path(BC.sdsl_binary(mod, workdir, a.sdsl_flags))
        log(f"sdsl {a.variant}: load or build")
        server = SdslServer(exe, a.variant, corpus.text_path,
                            workdir / f"sdsl_{a.variant}.idx")
        log(f"  ready: {server.ready}")
        log(f"touched {touch_index(idx) / C.MB:.1f} MB of fmindex's mapped arrays")
        if a.loop == "c":
            if idx.num_shards != 1:
                raise SystemExit("--loop c needs a one-shard index")
            ours_run = c_loop(idx.shards[0].fm)
        else:
            ours_run = python_loop(idx.count)

        rng = random.Random(a.seed)
        n_sets = 1 if a.warm else a.rounds + 1
        sets = [C.sample_hits(text, corpus, lengths, a.per_len, rng) for _ in range(n_sets)]
        del text
        files = []
        for i, g in enumerate(sets):
            f = workdir / f"patterns_{i}.bin"
            mod.write_patterns(str(f), [p for m in lengths for p in g[m]])
            files.append(f)
        probe_before = BC.cache_probe(workdir)
        log(f"cache probe (ns per dependent load): {probe_before}")
        reps = a.reps if a.warm else 1
        rounds = []
        mismatches = 0
        for r in range(-1, a.rounds):        # round -1: untimed, pages and code warmed
            k = 0 if a.warm else r + 1
            order = ("ours", "sdsl")        # each system's turn follows the other's
            res = {}
            for who in order:
                # fresh: the system first answers the previous round's patterns (its hot
                # lines, e.g. sdsl's root bitvector or our lookup tables, cached again
                # after the other system's turn, as on a server of this one index), then
                # is timed on patterns it has not seen
                if who == "ours":
                    if not a.warm and k > 0:
                        time_ours(ours_run, sets[k - 1], 1, False)
                    res["ours"], res["ours_sums"] = time_ours(ours_run, sets[k], reps, a.warm)
                else:
                    if not a.warm and k > 0:
                        server.count(files[k - 1], 1, False)
                    s = server.count(files[k], reps, a.warm)
                    res["sdsl"] = {int(m): v for m, v in s["count_us_by_len"].items()}
                    res["sdsl_sums"] = {int(m): v for m, v in s["count_sum_by_len"].items()}
            bad = [m for m in lengths if res["ours_sums"][m] != res["sdsl_sums"][m]]
            if bad:
                mismatches += 1
                log(f"round {r}: occurrence totals differ at m = {bad}: "
                    f"{[(res['ours_sums'][m], res['sdsl_sums'][m]) for m in bad]}")
            if r < 0:
                continue
            rounds.append(res)
            log(f"round {r + 1}/{a.rounds}: " + "  ".join(
                f"m={m} {res['sdsl'][m] / res['ours'][m]:.2f}" for m in lengths))
        probe_after = BC.cache_probe(workdir)
        log(f"cache probe after: {probe_after}")
    finally:
        if server is not None:
            server.close()
        if hog is not None:
            hog.kill()

    rows = []
    summary = {}
    for m in lengths:
        ours = [x["ours"][m] for x in rounds]
        sd = [x["sdsl"][m] for x in rounds]
        ratios = [x["sdsl"][m] / x["ours"][m] for x in rounds]
        summary[m] = {"ours_us": statistics.median(ours), "sdsl_us": statistics.median(sd),
                      "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
                      "ratio_max": max(ratios), "rounds_ge_3": sum(q >= 3 for q in ratios)}
        s = summary[m]
        rows.append([str(m), f"{s['ours_us']:.3g}", f"{s['sdsl_us']:.3g}",
                     f"**{s['ratio_median']:.2f}**", f"{s['ratio_min']:.2f}–{s['ratio_max']:.2f}",
                     f"{s['rounds_ge_3']}/{len(rounds)}"])
    print(f"\n{corpus.name}: {corpus.text_bytes / C.MB:.1f} MB, fmindex {a.profile} "
          f"({fmindex.__version__}, {'Index.count' if a.loop == 'python' else 'C loop'}) "
          f"vs sdsl {a.variant}, {len(rounds)} rounds, "
          f"{'warm: one set, ' + str(a.reps) + ' passes' if a.warm else 'fresh patterns'}, "
          f"{a.per_len} per length; cache probe 16/24/32 MiB "
          f"{'/'.join(f'{v:.0f}' for v in probe_before.values())} → "
          f"{'/'.join(f'{v:.0f}' for v in probe_after.values())} ns"
          + (f"; cache hog {a.cache_hog:g} MB" if a.cache_hog else ""))
    print(C.markdown_table(["m", "fmindex µs", f"sdsl {a.variant} µs",
                            "sdsl ÷ fmindex (median of rounds)", "range", "rounds ≥ 3×"], rows))
    print(f"occurrence totals: {'all agree' if not mismatches else f'{mismatches} rounds differ'}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"corpus": corpus.info(), "args": vars(a), "machine": C.machine_info(),
                       "fmindex_version": fmindex.__version__,
                       "git_head": C.git_head(HERE.parent), "sdsl": server.ready,
                       "cache_probe_before": probe_before, "cache_probe_after": probe_after,
                       "summary": {str(m): v for m, v in summary.items()},
                       "rounds": [{k: ({str(m): x for m, x in v.items()} if isinstance(v, dict)
                                       else v) for k, v in rd.items()} for rd in rounds],
                       "count_mismatch_rounds": mismatches}, f, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
