"""One ``count`` with and without the k-mer table (docs/design.md section 8f), A/B on the very
same mapped arrays: one shard opened once, two kernels over its arrays -- without the k-mer
table (the n-gram table's search path) and with it.  500 patterns per length drawn at random
positions inside documents, chunks of 50, 96 MB read before each chunk (cold), kernel order
alternated every round, sum of per-chunk medians.

    python benches/bench_kmer_table.py INDEX CORPUS.jsonl [ROUNDS]
"""
import gc
import json
import random
import statistics
import sys
import time

import numpy as np

from fmindex._fm_shard import FMShard
from fmindex.shard import Shard

LENGTHS = (8, 12, 16, 32, 64)
N_PATTERNS, CHUNK = 500, 50


def main() -> None:
    index, corpus = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    sh = Shard(index + "/shard-00000")
    if "kmer_rows" not in sh.arrays:
        sys.exit(f"{index}: no k-mer table (a fast shard of 4 dominant bytes has one)")
    ka, kp = sh.kernel_arrays, sh.kernel_params
    kernels = {"without": FMShard({k: v for k, v in ka.items()
                                   if k not in ("kmer_rows", "kmer_map")}, kp),
               "with": sh.fm}
    with open(corpus) as fh:
        docs = [json.loads(line)["text"].encode() for line in fh]
    rng = random.Random(7)
    pats = {}
    for m in LENGTHS:
        pats[m] = []
        while len(pats[m]) < N_PATTERNS:
            d = docs[rng.randrange(len(docs))]
            if len(d) > m:
                i = rng.randrange(len(d) - m)
                pats[m].append(d[i:i + m])
        ref = [kernels["without"].count(p) for p in pats[m]]
        assert [kernels["with"].count(p) for p in pats[m]] == ref, m
    flush = np.ones(96 << 20 >> 3, dtype=np.int64)
    times = {(n, m, c): [] for n in kernels for m in LENGTHS for c in range(0, N_PATTERNS, CHUNK)}
    gc.disable()
    for r in range(rounds):
        order = list(kernels) if r % 2 == 0 else list(kernels)[::-1]
        for m in LENGTHS:
            for c in range(0, N_PATTERNS, CHUNK):
                for n in order:
                    flush.sum()
                    count, chunk = kernels[n].count, pats[m][c:c + CHUNK]
                    t = time.perf_counter_ns()
                    for p in chunk:
                        count(p)
                    times[(n, m, c)].append(time.perf_counter_ns() - t)
    gc.enable()
    print(f"cold, {rounds} rounds; µs per count")
    print("| m | without the k-mer table | with it | ratio |")
    print("|---|---|---|---|")
    for m in LENGTHS:
        est = {n: sum(statistics.median(times[(n, m, c)])
                      for c in range(0, N_PATTERNS, CHUNK)) / N_PATTERNS / 1e3 for n in kernels}
        print(f"| {m} | {est['without']:.3f} | {est['with']:.3f} | "
              f"{est['without'] / est['with']:.2f}× |")


if __name__ == "__main__":
    main()
