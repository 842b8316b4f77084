"""Run the sdsl-lite reference harness (``sdsl_bench``) from Python.

Stdlib only, so it can be loaded by path, e.g.::

    import importlib.util
    spec = importlib.util.spec_from_file_location("run_sdsl", "benches/sdsl/run_sdsl.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    res = mod.run_sdsl("plain", "/tmp/sotu.txt", [b"the", b"nation"])

``run_sdsl`` returns the harness's JSON object as a dict (see sdsl_bench.cpp).
Note that the harness replaces 0x00 bytes by 0x01 in both text and patterns
(sdsl reserves byte 0); ``zero_bytes_replaced`` says how many text bytes were.

Command line::

    python benches/sdsl/run_sdsl.py TEXT_FILE [--reps 5] [--check] [--seed 1]

runs both variants on TEXT_FILE with patterns drawn from the text (lengths
1..64, 20 each, plus random misses) and prints a table; ``--check`` verifies
every count against an overlapping byte count done in Python, and has the
harness verify its locate/extract outputs against the text.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BUILD_DIR = os.path.join(HERE, "build")
VARIANTS = ("plain", "rrr127")

__all__ = ["run_sdsl", "binary_path", "ensure_built", "write_patterns",
           "VARIANTS", "sample_patterns", "overlapping_count"]


def binary_path(build_dir: str | None = None) -> str:
    return os.path.join(build_dir or DEFAULT_BUILD_DIR, "sdsl_bench")


def ensure_built(build_dir: str | None = None, install: bool = False) -> str:
    """Return the path of the harness binary, building it if missing.

    With ``install=True`` runs install.sh first (needs root or sudo).
    """
    exe = binary_path(build_dir)
    if os.path.isfile(exe) and os.access(exe, os.X_OK):
        return exe
    if install:
        subprocess.run(["bash", os.path.join(HERE, "install.sh")], check=True)
    cmd = ["bash", os.path.join(HERE, "build.sh")]
    if build_dir:
        cmd.append(build_dir)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            "building sdsl_bench failed (is libsdsl-dev installed? see "
            f"{os.path.join(HERE, 'install.sh')}):\n{proc.stderr}")
    return exe


def write_patterns(path: str, patterns) -> None:
    """Write the harness's pattern file: <uint32 LE length><bytes> records."""
    with open(path, "wb") as f:
        for p in patterns:
            p = bytes(p)
            f.write(struct.pack("<I", len(p)))
            f.write(p)


def run_sdsl(variant, text_path, patterns: list[bytes], reps=5, **kw) -> dict:
    """Build an sdsl index of ``text_path`` and time queries on ``patterns``.

    variant: "plain" (csa_wt<wt_huff<>,32,64>) or "rrr127"
             (csa_wt<wt_huff<rrr_vector<127>>,32,64>).
    Keyword options (all optional):
      locate_limit=1000, extract_len=1000, extract_count=200, seed=42,
      tmpdir=None (None: in-memory construction; else disk construction
      with temporaries there), verify=False (harness checks locate/extract
      results against the text), build_dir=None, timeout=None (seconds),
      install=False (run install.sh if the binary must be built).
    Returns the parsed JSON dict; keys include variant, text_bytes,
    zero_bytes_replaced, build_s, peak_rss_bytes, index_bytes,
    count_us_by_len ({int length: median µs}), count_results,
    locate_us_per_occ, extract_ns_per_char.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    build_dir = kw.pop("build_dir", None)
    timeout = kw.pop("timeout", None)
    install = kw.pop("install", False)
    opts = {
        "locate_limit": kw.pop("locate_limit", None),
        "extract_len": kw.pop("extract_len", None),
        "extract_count": kw.pop("extract_count", None),
        "seed": kw.pop("seed", None),
        "tmpdir": kw.pop("tmpdir", None),
    }
    verify = bool(kw.pop("verify", False))
    if kw:
        raise TypeError(f"unknown keyword arguments: {sorted(kw)}")

    exe = ensure_built(build_dir, install=install)
    fd, pat_path = tempfile.mkstemp(prefix="sdsl_pats_", suffix=".bin")
    os.close(fd)
    try:
        write_patterns(pat_path, patterns)
        cmd = [exe, variant, os.fspath(text_path), pat_path, "--reps", str(int(reps))]
        for key, val in opts.items():
            if val is not None:
                cmd += ["--" + key.replace("_", "-"), str(val)]
        if verify:
            cmd.append("--verify")
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    finally:
        os.unlink(pat_path)
    if proc.returncode != 0:
        raise RuntimeError(f"sdsl_bench failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace')}")
    res = json.loads(proc.stdout)
    res["count_us_by_len"] = {int(k): v for k, v in res["count_us_by_len"].items()}
    res["locate_us_per_occ_by_len"] = {
        int(k): v for k, v in res.get("locate_us_per_occ_by_len", {}).items()}
    return res


# --------------------------------------------------------------------------
# command line

def overlapping_count(text: bytes, pat: bytes) -> int:
    """Number of (possibly overlapping) occurrences of pat in text."""
    if not pat:
        return len(text) + 1
    n, start = 0, text.find(pat)
    while start != -1:
        n += 1
        start = text.find(pat, start + 1)
    return n


def sample_patterns(text: bytes, lengths=(1, 2, 4, 8, 16, 32, 64), per_len=20,
                    n_miss=20, seed=1) -> list[bytes]:
    """Patterns drawn from the text (per_len of each length) plus random misses.

    Misses are random byte strings (length 8..32) that do not occur in text.
    """
    rng = random.Random(seed)
    pats = []
    for m in lengths:
        if m > len(text):
            continue
        for _ in range(per_len):
            i = rng.randrange(len(text) - m + 1)
            pats.append(text[i:i + m])
    misses = 0
    while misses < n_miss:
        m = rng.choice((8, 16, 32))
        p = bytes(rng.randrange(1, 256) for _ in range(m))
        if p not in text:
            pats.append(p)
            misses += 1
    return pats


def _fmt_table(results) -> str:
    lens = sorted({k for r in results for k in r["count_us_by_len"]})
    rows = [("variant",) + tuple(r["variant"] for r in results)]
    rows.append(("text MB",) + tuple(f"{r['text_bytes'] / 1e6:.2f}" for r in results))
    rows.append(("0x00 replaced",) + tuple(str(r["zero_bytes_replaced"]) for r in results))
    rows.append(("build s",) + tuple(f"{r['build_s']:.2f}" for r in results))
    rows.append(("peak RSS MB",) + tuple(f"{r['peak_rss_bytes'] / 2**20:.1f}" for r in results))
    rows.append(("index MB",) + tuple(f"{r['index_bytes'] / 2**20:.2f}" for r in results))
    rows.append(("size % text",) + tuple(
        f"{100.0 * r['index_bytes'] / r['text_bytes']:.1f}" for r in results))
    for m in lens:
        rows.append((f"count us m={m}",) + tuple(
            f"{r['count_us_by_len'].get(m, float('nan')):.3f}" for r in results))
    rows.append(("locate us/occ",) + tuple(
        "-" if r["locate_us_per_occ"] is None else f"{r['locate_us_per_occ']:.3f}"
        for r in results))
    rows.append(("extract ns/char",) + tuple(
        "-" if r["extract_ns_per_char"] is None else f"{r['extract_ns_per_char']:.1f}"
        for r in results))
    w0 = max(len(r[0]) for r in rows)
    w = max(len(c) for r in rows for c in r[1:])
    return "\n".join(r[0].ljust(w0) + "  " + "  ".join(c.rjust(w) for c in r[1:])
                     for r in rows)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("text", help="text file (raw bytes)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="pattern sampling seed")
    ap.add_argument("--per-len", type=int, default=20)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--locate-limit", type=int, default=1000)
    ap.add_argument("--extract-len", type=int, default=1000)
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--check", action="store_true",
                    help="verify counts against Python and locate/extract in the harness")
    ap.add_argument("--json", action="store_true", help="also print the raw JSON results")
    a = ap.parse_args(argv)

    with open(a.text, "rb") as f:
        text = f.read()
    pats = sample_patterns(text, per_len=a.per_len, seed=a.seed)
    results = []
    ok = True
    for v in a.variants.split(","):
        r = run_sdsl(v, a.text, pats, reps=a.reps, locate_limit=a.locate_limit,
                     extract_len=a.extract_len, tmpdir=a.tmpdir, verify=a.check)
        results.append(r)
        if a.check:
            # the harness maps 0x00 -> 0x01 in text and patterns; do the same
            t = text.replace(b"\x00", b"\x01")
            want = [overlapping_count(t, p.replace(b"\x00", b"\x01")) for p in pats]
            bad = [i for i, (x, y) in enumerate(zip(r["count_results"], want)) if x != y]
            if len(r["count_results"]) != len(want) or bad:
                ok = False
                print(f"CHECK FAILED [{v}]: {len(bad)} count mismatches, first: "
                      f"{[(pats[i], r['count_results'][i], want[i]) for i in bad[:3]]}",
                      file=sys.stderr)
            if not r.get("verify_ok", False):
                ok = False
                print(f"CHECK FAILED [{v}]: {r.get('verify_error')}", file=sys.stderr)
    print(f"{len(pats)} patterns, reps={a.reps}, locate limit={a.locate_limit}, "
          f"extract len={a.extract_len}")
    print(_fmt_table(results))
    if a.json:
        for r in results:
            print(json.dumps(r))
    if a.check:
        print("check: " + ("OK (counts match Python; locate/extract verified)"
                           if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
