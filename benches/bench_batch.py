"""Batched counting: one ``count`` call per pattern vs ``count_many`` with 1 and 2 threads.

    python benches/bench_batch.py IDX CORPUS.jsonl [--length 16] [--n 3000] [--reps 7]

Patterns are drawn from random positions of the corpus's documents; medians of reps.
"""
import argparse
import json
import time

import numpy as np

import fmindex


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("index")
    ap.add_argument("corpus", help="JSONL file the index was built from (patterns)")
    ap.add_argument("--length", type=int, default=16)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    idx = fmindex.open(args.index)
    docs = []
    with open(args.corpus) as fh:
        for line in fh:
            docs.append(json.loads(line)["text"].encode())
            if len(docs) > 3000:
                break
    rng = np.random.default_rng(0)
    pats = []
    while len(pats) < args.n:
        d = docs[rng.integers(len(docs))]
        if len(d) > args.length:
            i = rng.integers(0, len(d) - args.length)
            pats.append(d[i:i + args.length])
    res = {"count (one call each)": [], "count_many, 1 thread": [], "count_many, 2 threads": []}
    for _ in range(args.reps):
        t = time.perf_counter()
        for p in pats:
            idx.count(p)
        res["count (one call each)"].append((time.perf_counter() - t) / len(pats) * 1e6)
        for nt, key in ((1, "count_many, 1 thread"), (2, "count_many, 2 threads")):
            t = time.perf_counter()
            idx.count_many(pats, num_threads=nt)
            res[key].append((time.perf_counter() - t) / len(pats) * 1e6)
    base = np.median(res["count (one call each)"])
    print(f"| m = {args.length}, {args.n} patterns | µs / pattern | speed-up |")
    print("|---|--:|--:|")
    for k, v in res.items():
        print(f"| {k} | {np.median(v):.3f} | {base / np.median(v):.2f}x |")
    one, two = np.median(res["count_many, 1 thread"]), np.median(res["count_many, 2 threads"])
    print(f"\ncount_many 2 threads / 1 thread throughput: {one / two:.3f}x")


if __name__ == "__main__":
    main()
