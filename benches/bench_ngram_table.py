"""One ``count`` with and without the n-gram table (docs/design.md sections 8c, 8d), A/B on
the very same mapped arrays (two indexes of the same bytes in two directories can time up to
1.3x apart, from where their pages sit): one shard opened once, kernels over its arrays --
A without a table (the triple-table search path), C with its own (n-gram or 4/5-gram), and
optionally B with the table of another build of the same text (e.g. the older 4/5-gram
layout; its other arrays must be identical).  500 patterns per length drawn at random positions inside documents (like
bench_core.py), chunks of 50, kernel order rotated every round, sum of per-chunk medians.

    python benches/bench_ngram_table.py CORPUS.jsonl ROUNDS INDEX [OTHER_INDEX]
    MODE=warm (default: each chunk run once untimed first) or MODE=cold (96 MB read before
    each chunk)
"""
import sys, json, time, random, gc, os, statistics as stt
import numpy as np
from fmindex.shard import Shard
from fmindex._fm_shard import FMShard
MODE = os.environ.get("MODE", "warm")
corpus, rounds, d5 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d4 = sys.argv[4] if len(sys.argv) > 4 else None
docs = [json.loads(l)["text"].encode() for l in open(corpus, "rb")]
lens = np.array([len(d) for d in docs]); cum = np.cumsum(lens)
rng = random.Random(7)
def sample(m, n):
    out = []
    while len(out) < n:
        g = rng.randrange(int(cum[-1]))
        d = int(np.searchsorted(cum, g, side="right")); o = g - (int(cum[d]) - int(lens[d]))
        p = docs[d][o:o + m]
        if len(p) < m or b"\x00" in p or b"\x01" in p: continue
        try: p.decode("utf-8")
        except UnicodeDecodeError: continue
        out.append(p)
    return out
M = [4, 8, 16, 32, 64]
pats = {m: sample(m, 500) for m in M}
sh = Shard(d5 + "/shard-00000")
ka, kp = sh.kernel_arrays, sh.kernel_params
GRAM_TABLES = ("tetra_rows", "ngram_rows")
bare = {k: v for k, v in ka.items() if k not in GRAM_TABLES}
FM = {"A": FMShard(bare, kp)}
if d4:
    sh4 = Shard(d4 + "/shard-00000")
    for k in ("wt_lines", "tri_rows", "sa_samples"):
        assert np.array_equal(sh4.arrays[k], ka[k]), k
    FM["B"] = FMShard({**bare, **{k: sh4.arrays[k] for k in GRAM_TABLES if k in sh4.arrays}}, kp)
FM["C"] = sh.fm
NAMES = list(FM)
for m in M:
    ref = [FM["A"].count(p) for p in pats[m]]
    for n in NAMES[1:]:
        assert [FM[n].count(p) for p in pats[m]] == ref
FLUSH = np.ones(96 << 20 >> 3, dtype=np.int64)
def timed(fn, ps):
    if MODE == "cold":
        FLUSH.sum()
    else:
        for p in ps: fn(p)
    t0 = time.perf_counter_ns()
    for p in ps: fn(p)
    return time.perf_counter_ns() - t0
CH = 50
T = {(n, m, c): [] for n in NAMES for m in M for c in range(0, 500, CH)}
many = {n: [] for n in NAMES}
from fmindex.index import pack_patterns
buf, offs = pack_patterns(pats[16] * 4)
gc.disable()
for r in range(rounds):
    order = NAMES[r % len(NAMES):] + NAMES[:r % len(NAMES)]
    if r % 2: order = order[::-1]
    for m in M:
        for c in range(0, 500, CH):
            for n in order:
                T[(n, m, c)].append(timed(FM[n].count, pats[m][c:c + CH]))
    for n in order:
        if MODE == "cold": FLUSH.sum()
        else: FM[n].count_many(buf, offs)
        t0 = time.perf_counter_ns(); FM[n].count_many(buf, offs)
        many[n].append((time.perf_counter_ns() - t0) / (len(offs) - 1) / 1e3)
gc.enable()
print("mode", MODE, "rounds", rounds)
for m in M:
    est = {n: sum(stt.median(T[(n, m, c)]) for c in range(0, 500, CH)) / 500 / 1e3 for n in NAMES}
    line = f"m={m:3d} one count: " + "  ".join(f"{n} {est[n]:.3f} us" for n in NAMES)
    for n in NAMES[1:]:
        rr = [sum(T[("A", m, c)][r] for c in range(0, 500, CH)) / sum(T[(n, m, c)][r] for c in range(0, 500, CH)) for r in range(rounds)]
        line += f"  A/{n} {est['A']/est[n]:.3f} (per-round median {stt.median(rr):.3f})"
    print(line)
print("m= 16 count_many(2000 patterns, 1 thread) us/pattern: " + "  ".join(f"{n} {stt.median(many[n]):.3f}" for n in NAMES)
      + "  " + "  ".join(f"A/{n} {stt.median(many['A'])/stt.median(many[n]):.3f}" for n in NAMES[1:]))
