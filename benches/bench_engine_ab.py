"""Engine A/B: the same index counted by two builds of fmindex, in alternating processes.

    python benches/bench_engine_ab.py IDX CORPUS.jsonl CHECKOUT_A CHECKOUT_B \
        [--rounds 5] [--lengths 4,8,16,64] [--n 20000] [--misses]

CHECKOUT_A / CHECKOUT_B are source trees with their extensions built in place
(``git worktree add /tmp/wt_base COMMIT && cd /tmp/wt_base && python setup.py build_ext
--inplace``).  Every process is started *in its checkout's directory* with only that
checkout on ``PYTHONPATH``: ``python -c`` puts the working directory first on ``sys.path``,
so a harness run from one checkout would time that checkout twice (docs/design.md §8g).
Each process checks which fmindex it imported.

Each round runs A then B (then B then A on odd rounds); each process draws fresh patterns
(seeded by the round) from the corpus text, times ``FMShard.count_each`` (one search at a
time in a nogil loop) and ``FMShard.count_many`` (one thread) on shard 0, and reports
medians over 5 passes of ``--n`` patterns.  ``--misses`` adds random printable-ASCII
patterns of 16 bytes.  The table gives each side's median over the rounds, B ÷ A, and the
per-round ratios: the spread between rounds is the noise to compare a change with.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

WORKER = r'''
import json, sys, time
import numpy as np
import fmindex
checkout = sys.argv[1]
assert fmindex.__file__.startswith(checkout), (fmindex.__file__, checkout)
fm = fmindex.open(sys.argv[2], num_threads=1).shards[0].fm
text = b"".join(json.loads(line)["text"].encode()
                for line in open(sys.argv[3], "rb"))[:100_000_000]
rng = np.random.default_rng(int(sys.argv[4]))
n = int(sys.argv[5])
res = {}
for length in json.loads(sys.argv[6]):
    for kind in ("each", "many"):
        times = []
        for _ in range(5):
            if length == "miss16":
                pats = [bytes(p) for p in rng.integers(32, 127, (n, 16), dtype=np.uint8)]
            else:
                pats = [text[i:i + length] for i in rng.integers(0, len(text) - length, n)]
            offs = np.zeros(n + 1, np.int64)
            np.cumsum([len(p) for p in pats], out=offs[1:])
            buf = np.frombuffer(b"".join(pats), np.uint8)
            t = time.perf_counter()
            if kind == "each":
                fm.count_each(buf, offs)
            else:
                fm.count_many(buf, offs, 1)
            times.append(time.perf_counter() - t)
        res[f"{kind} m={length}"] = float(np.median(times)) / n * 1e9
print(json.dumps(res))
'''


def run_one(checkout: str, args, rnd: int, lengths) -> dict:
    env = {"PYTHONPATH": checkout, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "OPENBLAS_NUM_THREADS": "1", "HOME": os.environ.get("HOME", "/tmp")}
    r = subprocess.run([sys.executable, "-c", WORKER, checkout, args.index, args.corpus,
                        str(rnd), str(args.n), json.dumps(lengths)],
                       env=env, cwd=checkout, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{checkout}: worker failed\n{r.stderr}")
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index")
    ap.add_argument("corpus", help="JSONL file the index was built from (patterns)")
    ap.add_argument("a", help="checkout A (the baseline), extensions built in place")
    ap.add_argument("b", help="checkout B")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lengths", default="4,8,16,64")
    ap.add_argument("--n", type=int, default=20000, help="patterns per pass")
    ap.add_argument("--misses", action="store_true",
                    help="also random printable-ASCII patterns of 16 bytes")
    args = ap.parse_args()
    a, b = (os.path.realpath(x) for x in (args.a, args.b))
    lengths = [int(x) for x in args.lengths.split(",") if x]
    if args.misses:
        lengths.append("miss16")
    out = {a: [], b: []}
    for rnd in range(args.rounds):
        for checkout in ((a, b) if rnd % 2 == 0 else (b, a)):
            out[checkout].append(run_one(checkout, args, rnd, lengths))
            print(f"round {rnd + 1}/{args.rounds}: {os.path.basename(checkout)} done",
                  file=sys.stderr, flush=True)
    print(f"| ns per pattern | A ({args.a}) | B ({args.b}) | B ÷ A | per round |")
    print("|---|--:|--:|--:|---|")
    for key in out[a][0]:
        va = np.array([r[key] for r in out[a]])
        vb = np.array([r[key] for r in out[b]])
        per = " ".join(f"{x:.2f}" for x in vb / va)
        print(f"| {key} | {np.median(va):.1f} | {np.median(vb):.1f} | "
              f"{np.median(vb) / np.median(va):.2f} | {per} |")


if __name__ == "__main__":
    main()
