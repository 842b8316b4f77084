"""Batched counting: one ``count`` call per pattern vs ``count_many`` with 1 and 2 threads.

    python benches/bench_batch.py IDX CORPUS.jsonl [--length 16] [--n 3000] [--reps 7]

Patterns are drawn from random positions of the whole corpus (any document, weighted by
length), fresh for every method and rep, so that no method finds the lines of an earlier
one's patterns in the cache; medians of reps.  (Until session 10 they came from the first
3,000 documents only and were reused across methods and reps: one call per pattern then
read lines that earlier calls had cached, and the speed-up read low.)
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
    texts = []
    with open(args.corpus) as fh:
        for line in fh:
            t = json.loads(line)["text"].encode()
            if len(t) > args.length:
                texts.append(t)
    if not texts:
        raise SystemExit(f"no document of the corpus is longer than {args.length} bytes")
    # a position uniform over the documents' windows: document by its window count
    windows = np.array([len(t) - args.length for t in texts], dtype=np.float64)
    cum = np.cumsum(windows)
    rng = np.random.default_rng(0)

    def draw():
        at = rng.random(args.n) * cum[-1]
        ds = np.searchsorted(cum, at, side="right")
        offs = (at - (cum[ds] - windows[ds])).astype(np.int64)
        return [texts[d][o:o + args.length] for d, o in zip(ds.tolist(), offs.tolist())]

    res = {"count (one call each)": [], "count_many, 1 thread": [], "count_many, 2 threads": []}
    for _ in range(args.reps):
        pats = draw()
        t = time.perf_counter()
        for p in pats:
            idx.count(p)
        res["count (one call each)"].append((time.perf_counter() - t) / len(pats) * 1e6)
        for nt, key in ((1, "count_many, 1 thread"), (2, "count_many, 2 threads")):
            pats = draw()
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
