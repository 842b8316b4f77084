"""Dependent-load latency of this machine by working-set size: the floor under one
backward-search step.

Each step of a backward search reads one cache line (or one per tree level) whose address
depends on the line read before it, so a step of one ``count`` can never take less than one
dependent load from wherever the line lives.  This compiles a pointer chase (gcc, no
dependencies) over a random cyclic permutation of 64-byte lines in a buffer of N MiB, with
transparent huge pages asked for (MADV_HUGEPAGE) or refused (MADV_NOHUGEPAGE), and prints ns
per load: where it jumps is the cache this VM really gets, and the plateau above is DRAM.

    python benches/bench_memory_latency.py [--mib 2,4,8,12,16,24,32,64,128] [--loads 20000000]

docs/design.md section 8d uses it to bound what one ``count`` per character can cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHASE_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t next_random(void) {           /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

int main(int argc, char **argv) {
    size_t mib = strtoull(argv[1], 0, 10);
    int huge = atoi(argv[2]);
    long loads = atol(argv[3]);
    size_t lines = mib * 1024 * 1024 / 64, align = 2u << 20;
    char *raw = mmap(0, lines * 64 + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return 1;
    char *buf = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    madvise(buf, lines * 64, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    size_t *perm = malloc(lines * sizeof(size_t));
    for (size_t i = 0; i < lines; i++) perm[i] = i;
    for (size_t i = lines - 1; i > 0; i--) {          /* Fisher-Yates */
        size_t j = next_random() % (i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < lines; i++)                /* one cycle through every line */
        *(size_t *)(buf + perm[i] * 64) = perm[(i + 1) % lines] * 64;
    size_t p = 0;
    for (long s = 0; s < loads / 10; s++) p = *(size_t *)(buf + p);   /* warm up */
    double t = now();
    for (long s = 0; s < loads; s++) p = *(size_t *)(buf + p);
    t = now() - t;
    printf("%.2f %zu\n", t / loads * 1e9, p & 1);
    return 0;
}
"""


def compile_chase(workdir: Path) -> Path:
    """Compile the pointer chase; returns the executable's path."""
    src = workdir / "chase.c"
    exe = workdir / "chase"
    src.write_text(CHASE_C)
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return exe


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", default="2,4,8,12,16,24,32,64,128",
                    help="working-set sizes in MiB, comma-separated")
    ap.add_argument("--loads", type=int, default=20_000_000, help="dependent loads per run")
    ap.add_argument("--reps", type=int, default=3, help="runs per size and page kind (median)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.mib.split(",")]
    with tempfile.TemporaryDirectory() as d:
        exe = compile_chase(Path(d))
        print(f"# dependent 64-byte loads, {args.loads:,} per run, median of {args.reps}; "
              f"{os.cpu_count()} CPUs")
        print("| working set (MiB) | ns/load, 4 KiB pages | ns/load, huge pages asked |")
        print("|---|---|---|")
        for mib in sizes:
            row = []
            for huge in (0, 1):
                t = [float(subprocess.run([str(exe), str(mib), str(huge), str(args.loads)],
                                          check=True, capture_output=True, text=True)
                           .stdout.split()[0]) for _ in range(args.reps)]
                row.append(statistics.median(t))
            print(f"| {mib} | {row[0]:.1f} | {row[1]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
