"""Why fixed-block boosting: Huffman bits/symbol of the BWT with one global tree vs per block.

    python benches/bench_block_entropy.py /work/corpora/jsonl/code_linux_c.jsonl --mb 30
"""
import argparse
import heapq
import json

import numpy as np

from fmindex._suffix_array import suffix_array


def load(path, mb):
    out, n = [], 0
    with open(path) as fh:
        for line in fh:
            t = json.loads(line)["text"].encode()
            out.append(t)
            n += len(t) + 1
            if n > mb * 1e6:
                break
    return b"\x01".join(out)


def huffman_bits(x):
    f = [int(v) for v in np.bincount(x, minlength=256) if v > 0]
    if len(f) < 2:
        return 1.0
    heapq.heapify(f)
    tot = 0
    while len(f) > 1:
        a, b = heapq.heappop(f), heapq.heappop(f)
        tot += a + b
        heapq.heappush(f, a + b)
    return tot / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("jsonl", nargs="+")
    ap.add_argument("--mb", type=float, default=30)
    args = ap.parse_args()
    print("| BWT of | one global tree | " + " | ".join(f"{1 << s >> 10} Ki blocks"
                                                      for s in (12, 14, 16, 18)) + " |")
    print("|---|---|---|---|---|---|")
    for path in args.jsonl:
        t = np.frombuffer(load(path, args.mb), dtype=np.uint8)
        bwt = t[suffix_array(t).astype(np.int64) - 1]
        row = [f"{huffman_bits(bwt):.2f}"]
        for s in (12, 14, 16, 18):
            B = 1 << s
            row.append(f"{sum(huffman_bits(bwt[i:i + B]) * len(bwt[i:i + B]) for i in range(0, len(bwt), B)) / len(bwt):.2f}")
        print(f"| {path.rsplit('/', 1)[-1]} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
