"""A/B timing of several indexes of the same corpus, opened in one process and timed in
alternation (robust to a shared, drifting machine): count by pattern length, locate per
occurrence, extract per byte.  Prints medians over rounds and the ratio to the first index.

    python benches/bench_ab.py CORPUS.jsonl IDX_A IDX_B [IDX_C ...] [--rounds 7] [--cold]

``--cold``: 96 MB are read before every chunk of 50 counts (and before each locate and
extract group), so that each chunk starts with none of the indexes' lines cached: the
regime of a VM that gets little of its L3 (docs/design.md section 8e), whatever share it
has while the benchmark runs.
"""
import argparse
import json
import time

import numpy as np

import fmindex


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="JSONL file the indexes were built from (patterns)")
    ap.add_argument("indexes", nargs="+")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--lengths", default="4,8,16,32,64")
    ap.add_argument("--per-len", type=int, default=300)
    ap.add_argument("--n-locate", type=int, default=60)
    ap.add_argument("--n-extract", type=int, default=200)
    ap.add_argument("--cold", action="store_true",
                    help="evict the caches (read 96 MB) before every chunk of 50 counts")
    args = ap.parse_args()
    flush = np.ones((96 << 20) >> 3, dtype=np.int64) if args.cold else None
    chunk = 50 if args.cold else None
    idxs = [fmindex.open(p) for p in args.indexes]
    docs = []
    with open(args.corpus) as fh:
        for i, line in enumerate(fh):
            if i % 7 == 0:
                docs.append(json.loads(line)["text"].encode())
    rng = np.random.default_rng(1)

    def draw(m, n):
        out = []
        while len(out) < n:
            d = docs[rng.integers(len(docs))]
            if len(d) > m:
                i = int(rng.integers(0, len(d) - m))
                out.append(d[i:i + m])
        return out

    lengths = [int(x) for x in args.lengths.split(",") if x]
    groups = {f"count m={m} (µs)": draw(m, args.per_len) for m in lengths}
    loc = draw(5, args.n_locate)
    first = idxs[0]
    big = [i for i in range(len(first)) if first.doc_length(i) > 1100]
    ext = []
    for _ in range(args.n_extract if big else 0):
        d = big[int(rng.integers(len(big)))]
        a = int(rng.integers(0, first.doc_length(d) - 1000))
        ext.append((d, a))
    res = {p: {} for p in args.indexes}
    for _ in range(args.rounds):
        for p, ix in zip(args.indexes, idxs):
            r = res[p]
            for name, pats in groups.items():
                total = 0.0
                for c in range(0, len(pats), chunk or len(pats)):
                    if flush is not None:
                        flush.sum()
                    t = time.perf_counter()
                    for q in pats[c:c + (chunk or len(pats))]:
                        ix.count(q)
                    total += time.perf_counter() - t
                r.setdefault(name, []).append(total / len(pats) * 1e6)
            if flush is not None:
                flush.sum()
            t = time.perf_counter()
            occ = sum(len(ix.locate(q, limit=1000)) for q in loc)
            r.setdefault("locate (µs/occ)", []).append((time.perf_counter() - t) / max(occ, 1) * 1e6)
            if ext:
                if flush is not None:
                    flush.sum()
                t = time.perf_counter()
                for d, a in ext:
                    ix.extract(d, a, a + 1000)
                r.setdefault("extract (ns/B)", []).append(
                    (time.perf_counter() - t) / (len(ext) * 1000) * 1e9)
    names = list(res[args.indexes[0]])
    head = "| metric | " + " | ".join(args.indexes) + " |"
    print(head)
    print("|---" * (len(args.indexes) + 1) + "|")
    for n in names:
        base = float(np.median(res[args.indexes[0]][n]))
        cells = []
        for p in args.indexes:
            v = float(np.median(res[p][n]))
            cells.append(f"{v:.3g}" + ("" if p == args.indexes[0] else f" ({v / base:.2f}×)"))
        print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"\nmedians of {args.rounds} alternating rounds; (×) = time relative to the first index"
          + ("; cold: 96 MB read before every chunk of 50 counts" if args.cold else ""))


if __name__ == "__main__":
    main()
