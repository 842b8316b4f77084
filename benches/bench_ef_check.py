"""Time and memory of the Elias-Fano check run when a shard is opened (``check``), on one
synthetic sequence, against ``decode`` (check, then every value into an array: what the
check cost before it streamed) and, with ``--old DIR``, against the ``check`` of an older
build of ext/elias_fano.pyx compiled as the module ``ef_old`` in DIR.  The candidates are
timed in alternation in one process (robust to a shared, drifting machine); the median
of the rounds is printed, and each one's tracemalloc peak (numpy's allocations are traced).

    python benches/bench_ef_check.py [--n 10000000] [--max-gap 64] [--rounds 7] [--old DIR]
"""
import argparse
import importlib
import statistics
import sys
import time
import tracemalloc

import numpy as np

from fmindex import _elias_fano as ef


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000_000, help="number of values")
    ap.add_argument("--max-gap", type=int, default=64,
                    help="gaps drawn uniformly from 1..max-gap (64: L = 5)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--old", help="directory with an older build importable as ef_old")
    args = ap.parse_args()
    gaps = np.random.default_rng(1).integers(1, args.max_gap, args.n, endpoint=True,
                                             dtype=np.uint64)
    values = np.cumsum(gaps, dtype=np.uint64)
    del gaps
    e = ef.encode(values)
    del values
    call = (e["high"], e["low"], e["sel1"], e["sel0"], e["n"], e["last"], e["L"])
    stored = sum(e[k].nbytes for k in ("high", "low", "sel1", "sel0"))
    print(f"n = {e['n']:,}, L = {e['L']}, arrays {stored / 1e6:.1f} MB")
    candidates = {"check (streaming)": ef.check, "decode": ef.decode}
    if args.old:
        sys.path.insert(0, args.old)
        candidates["old check"] = importlib.import_module("ef_old").check
    times = {name: [] for name in candidates}
    for _ in range(args.rounds):
        for name, fn in candidates.items():
            t = time.perf_counter()
            fn(*call)
            times[name].append(time.perf_counter() - t)
    for name, fn in candidates.items():
        tracemalloc.start()
        result = fn(*call)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result
        med = statistics.median(times[name])
        print(f"{name:18s} median {med * 1e3:7.1f} ms  ({med * 1e9 / e['n']:.2f} ns/value; "
              f"min {min(times[name]) * 1e3:.1f} ms)  tracemalloc peak {peak / 1e6:8.3f} MB")


if __name__ == "__main__":
    main()
