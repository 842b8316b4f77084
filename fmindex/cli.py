"""The ``fmindex`` command line: build, add, count, locate, show, extract, stats, verify."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional

from . import __version__
from .errors import FMIndexError


def _pattern(args, text: "str | None" = None) -> "str | bytes":
    """The pattern argument (or ``text``): UTF-8 text, or bytes with --hex."""
    text = args.pattern if text is None else text
    if getattr(args, "hex", False):
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise FMIndexError(f"--hex: {text!r} is not hexadecimal") from None
    return text


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def _print_stats(st: dict, out=sys.stdout) -> None:
    text = max(st["text_bytes"], 1)
    print(f"documents       {st['documents']:>14,}", file=out)
    print(f"text bytes      {st['text_bytes']:>14,}", file=out)
    print(f"shards          {st['shards']:>14,}", file=out)
    print(f"sampling        SA every {st['sa_sample']}, ISA every {st['isa_sample']}", file=out)
    blocks = ("one tree" if st["tree_block_shift"] >= 63
              else f"a tree per 2^{st['tree_block_shift']} rows")
    blocks = f"{'4-ary' if st.get('tree_arity', 2) == 4 else 'binary'}, {blocks}"
    if st.get("tree_arity") == 16:
        blocks = "pair-occurrence table: two letters per search step"
    print(f"profile         {st['profile']} ({blocks})", file=out)
    print(f"{'component':<24}{'bytes':>14}{'% of text':>11}{'bits/char':>11}", file=out)
    for name, b in st["components"].items():
        print(f"{name:<24}{b:>14,}{100 * b / text:>10.1f}%{8 * b / text:>11.3f}", file=out)
    total = st["index_bytes"]
    print(f"{'total':<24}{total:>14,}{100 * total / text:>10.1f}%{8 * total / text:>11.3f}",
          file=out)


def _print_build_summary(man: dict, dt: float, text_bytes: int, out=sys.stdout) -> None:
    """Throughput, plan, memory and the per-phase timing table of a build (or an add)."""
    print(f"{text_bytes / 1e6:,.1f} MB of text in {dt:.1f} s "
          f"({text_bytes / 1e6 / max(dt, 1e-9):.2f} MB/s)", file=out)
    b = man.get("build", {})
    plan = b.get("plan", {})
    if plan:
        mem = plan.get("memory")
        print(f"plan: {len(man.get('shards', []))} shard(s) of at most "
              f"{_human(plan['shard_bytes'])} text, {plan['jobs']} job(s)"
              + (f", memory budget {_human(mem)}" if mem else ""), file=out)
    if b.get("worker_peak_rss"):
        w = b["worker_peak_rss"]
        print(f"peak RSS: reader {_human(b.get('main_peak_rss', 0))}, workers max "
              f"{_human(max(w))} each", file=out)
    elif b.get("main_peak_rss"):
        print(f"peak RSS: {_human(b['main_peak_rss'])}", file=out)
    timings = man.get("timings", {})
    if timings:
        order = ["read", "spool", "load spool", "metadata", "suffix sort", "bwt + samples",
                 "wavelet tree", "write", "wait for workers"]
        keys = [k for k in order if k in timings] + [k for k in timings if k not in order]
        work = sum(v for k, v in timings.items() if k != "wait for workers") or 1.0
        print("phases: (seconds, added up over the worker processes; wall time above)",
              file=out)
        print(f"  {'phase':<20}{'seconds':>10}{'% of work':>11}", file=out)
        for k in keys:
            share = "" if k == "wait for workers" else f"{100 * timings[k] / work:>10.1f}%"
            print(f"  {k:<20}{timings[k]:>10.1f}{share}", file=out)


def _sigterm_interrupts() -> None:
    """SIGTERM stops a build like Ctrl-C: workers killed, finished shards kept."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread
        pass


def cmd_build(args) -> int:
    from .builder import build
    t0 = time.perf_counter()
    _sigterm_interrupts()
    quiet = args.quiet
    from pathlib import Path
    missing = [p for p in args.inputs if not os.path.exists(p)]
    if missing:
        raise FMIndexError(f"input not found: {missing[0]} (check the path)")
    idx = build([Path(p) for p in args.inputs], args.output, text_field=args.text_field,
                skip_bad=args.skip_bad,
                sa_sample=args.sa_sample, isa_sample=args.isa_sample, profile=args.profile,
                shard_size=args.shard_size, memory=args.memory, jobs=_jobs(args.jobs),
                resume=args.resume, keep_partial=not args.no_keep_partial,
                overwrite=args.force,
                progress=not quiet and sys.stderr.isatty() or args.progress,
                validate_utf8=not args.no_utf8_check,
                log=None if quiet else (lambda m: print(m, file=sys.stderr)))
    dt = time.perf_counter() - t0
    if not quiet:
        st = idx.stats()
        man = idx.manifest
        print(f"built {args.output}")
        _print_build_summary(man, dt, st["text_bytes"])
        if man.get("skipped_records"):
            print(f"skipped {man['skipped_records']} bad records, e.g.:")
            for ex in man.get("skipped_examples", [])[:3]:
                print(f"  {ex}")
        _print_stats(st)
    return 0


def _jobs(v: str) -> int:
    if v == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        n = int(v)
    except ValueError:
        raise FMIndexError(f"--jobs {v!r}: give a number or 'auto'") from None
    if n < 1:
        raise FMIndexError("--jobs must be >= 1")
    return n


def cmd_add(args) -> int:
    from .builder import add
    t0 = time.perf_counter()
    _sigterm_interrupts()
    before = None
    if not args.quiet:
        from .index import open_index
        with open_index(args.index, verify=False) as old:
            before = (len(old), old.num_bytes, old.num_shards)
    idx = add(args.index, args.inputs, text_field=args.text_field, skip_bad=args.skip_bad,
              shard_size=args.shard_size, memory=args.memory, jobs=_jobs(args.jobs),
              progress=not args.quiet and sys.stderr.isatty() or args.progress,
              validate_utf8=not args.no_utf8_check)
    dt = time.perf_counter() - t0
    if not args.quiet:
        last = idx.manifest.get("additions", [{}])[-1]
        print(f"added {len(idx) - before[0]:,} documents ({idx.num_shards - before[2]} "
              f"shard(s)) to {args.index}: now {len(idx):,} documents, "
              f"{idx.num_shards} shards")
        _print_build_summary(dict(last, shards=last.get("shards", [])), dt,
                             idx.num_bytes - before[1])
    return 0


def cmd_count(args) -> int:
    from .index import open_index
    idx = open_index(args.index)
    texts = [args.pattern] + list(args.more or [])
    pats = [_pattern(args, t) for t in texts]
    counts = idx.count_many(pats) if len(pats) > 1 else [idx.count(pats[0])]
    for t, c in zip(texts, counts):
        print(c if len(pats) == 1 else f"{c}\t{t}")
    return 0


def cmd_locate(args) -> int:
    from .index import open_index
    idx = open_index(args.index)
    pat = _pattern(args)
    res = idx.locate(pat, limit=args.limit)
    plen = len(pat.encode() if isinstance(pat, str) else pat)
    if args.json:
        for doc, off in res:
            print(json.dumps({"doc": int(doc), "offset": int(off)}))
        return 0
    for doc, off in res:
        sn = idx.snippet(int(doc), int(off), plen, context=args.context)
        print(f"{int(doc)}\t{int(off)}\t{sn}")
    if args.limit is not None and len(res) == args.limit:
        total = idx.count(pat)
        if total > len(res):
            print(f"... {total - len(res)} more (raise --limit)", file=sys.stderr)
    return 0


def cmd_show(args) -> int:
    from .index import open_index
    idx = open_index(args.index)
    doc = idx.document(args.doc)
    if args.json:
        print(json.dumps({"doc": doc.id, "metadata": doc.metadata, "text": doc.text},
                         ensure_ascii=False))
        return 0
    meta = json.dumps(doc.metadata, ensure_ascii=False)
    print(f"# document {doc.id} ({len(doc.data)} bytes) metadata: {meta}", file=sys.stderr)
    sys.stdout.flush()
    sys.stdout.buffer.write(doc.data)
    if doc.data and not doc.data.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    return 0


def cmd_extract(args) -> int:
    from .index import open_index
    idx = open_index(args.index)
    sys.stdout.buffer.write(idx.extract(args.doc, args.start, args.end))
    sys.stdout.buffer.write(b"\n")
    return 0


def cmd_stats(args) -> int:
    from .index import open_index
    idx = open_index(args.index)
    st = idx.stats()
    if args.json:
        print(json.dumps(st, indent=1))
    else:
        _print_stats(st)
    return 0


def cmd_verify(args) -> int:
    from .index import open_index
    t0 = time.perf_counter()
    idx = open_index(args.index, verify=True)
    print(f"ok: {len(idx)} documents, {idx.num_bytes} bytes, every checksum matches "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


def stdlib_sources() -> List[str]:
    """The Python standard library's own .py files: a real corpus every machine has."""
    import sysconfig
    from pathlib import Path
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(str(p) for p in root.rglob("*.py")
                   if "site-packages" not in p.parts and "__pycache__" not in p.parts)
    if not files:
        raise FMIndexError(f"no .py files under {root}")
    return files


def cmd_demo(args) -> int:
    """Build an index of the standard library's sources and run a few queries on it."""
    from .builder import build
    from .index import open_index
    files = stdlib_sources()
    print(f"indexing {len(files)} .py files of the Python standard library -> {args.output}")
    t0 = time.perf_counter()
    idx = build(files, args.output, overwrite=True, skip_bad=True,
                progress=sys.stderr.isatty())
    dt = time.perf_counter() - t0
    st = idx.stats()
    print(f"built in {dt:.1f} s ({st['text_bytes'] / 1e6 / dt:.1f} MB/s); index = "
          f"{st['percent_of_text']:.1f}% of the {st['text_bytes'] / 1e6:.1f} MB of text")
    idx = open_index(args.output)
    for pat in ("import os", "def __init__(self", "raise NotImplementedError", "lambda"):
        t = time.perf_counter()
        c = idx.count(pat)
        print(f"count {pat!r}: {c}  ({(time.perf_counter() - t) * 1e6:.0f} µs)")
    pat = "Beautiful is better than ugly"
    for doc, off in idx.locate(pat, limit=3):
        print(f"locate {pat!r}: doc {doc} ({idx.metadata(int(doc)).get('path')}) offset {off}")
        print(f"    {idx.snippet(int(doc), int(off), len(pat), context=30)}")
    print(f"next: fmindex locate {args.output} 'your pattern' --limit 5 ; "
          f"fmindex show {args.output} 0 ; fmindex stats {args.output}")
    return 0


def _sizing_args(b) -> None:
    b.add_argument("--memory", default=None,
                   help="memory budget of the whole build, all processes together, e.g. 4G: "
                   "the shard size is chosen so that --jobs shards build within it")
    b.add_argument("-j", "--jobs", default="1",
                   help="shards built at the same time in worker processes ('auto' = one "
                   "per core; default 1)")
    b.add_argument("--shard-size", default=None,
                   help="text bytes per shard, e.g. 512M; overrides the size derived from "
                   "--memory (default without --memory: 1G)")


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fmindex",
        description="Compressed full-text index (FM-index) over text corpora: build it "
                    "once, then count, locate and extract exact matches in microseconds.",
        epilog="Run `fmindex COMMAND --help` for the options of a command.")
    p.add_argument("--version", action="version", version=f"fmindex {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    b = sub.add_parser("build", help="build an index from files or directories",
                       description="Build an index directory.  Inputs: .txt (one document per "
                       "file) or .jsonl (one JSON object per line, the text in --text-field, "
                       "other fields kept as metadata), each optionally .gz or .zst; a "
                       "directory means all its files.  The index is written to a hidden "
                       "temporary directory and renamed into place when complete.")
    b.add_argument("inputs", nargs="+", help="files or directories")
    b.add_argument("-o", "--output", required=True, help="index directory to create")
    b.add_argument("--text-field", default="text", help="JSONL field with the text (default: text)")
    b.add_argument("--skip-bad", action="store_true",
                   help="skip malformed records (counted and reported) instead of stopping")
    b.add_argument("--sa-sample", type=int, default=None,
                   help="suffix-array sample rate: locate costs at most this many steps per "
                   "occurrence; smaller = faster locate, bigger index (default 32; 128 with "
                   "--profile small)")
    b.add_argument("--isa-sample", type=int, default=None,
                   help="inverse suffix-array sample rate: extract overhead per call "
                   "(default 64; 256 with --profile small)")
    b.add_argument("--profile", choices=("fast", "small"), default="fast",
                   help="fast (default): 4-ary wavelet trees, one cache line per level "
                   "(about 1.7 levels per byte), or for a text of >= 99%% four letters (DNA) "
                   "a pair-occurrence table, two letters per search step; small: binary "
                   "trees over RRR-compressed "
                   "bitvectors, about half the size for a 3-4x slower count (see README: "
                   "Build profiles)")
    _sizing_args(b)
    b.add_argument("--resume", action="store_true",
                   help="continue an interrupted build of the same inputs into --output "
                   "(keeps its finished shards; the input is read on from there)")
    b.add_argument("--no-keep-partial", action="store_true",
                   help="on failure or Ctrl-C remove the hidden build directory instead of "
                   "keeping its finished shards for --resume")
    b.add_argument("--force", action="store_true", help="replace an existing index at --output")
    b.add_argument("--no-utf8-check", action="store_true",
                   help="index .txt files that are not valid UTF-8 as raw bytes")
    b.add_argument("--progress", action="store_true", help="progress bar even when not a terminal")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    b.set_defaults(fn=cmd_build)

    a = sub.add_parser("add", help="append documents to an index as new shards",
                       description="Build the inputs into new shards (same sampling as the "
                       "index) and publish them by replacing manifest.json atomically: "
                       "processes that opened the index before keep working; document ids "
                       "continue after the existing ones.")
    a.add_argument("index", help="index directory")
    a.add_argument("inputs", nargs="+", help="files or directories")
    a.add_argument("--text-field", default=None,
                   help="JSONL field with the text (default: the index's)")
    a.add_argument("--skip-bad", action="store_true", help="skip malformed records")
    _sizing_args(a)
    a.add_argument("--no-utf8-check", action="store_true",
                   help="index .txt files that are not valid UTF-8 as raw bytes")
    a.add_argument("--progress", action="store_true", help="progress bar even when not a terminal")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    a.set_defaults(fn=cmd_add)

    def pattern_args(sp):
        sp.add_argument("index", help="index directory")
        sp.add_argument("pattern", help="pattern (UTF-8 text, or hex bytes with --hex)")
        sp.add_argument("--hex", action="store_true", help="the pattern is hexadecimal bytes")

    c = sub.add_parser("count", help="count occurrences of a pattern",
                       description="Print the number of occurrences (overlapping, within "
                       "documents) of each pattern.")
    pattern_args(c)
    c.add_argument("more", nargs="*", help="more patterns (printed as count<TAB>pattern)")
    c.set_defaults(fn=cmd_count)

    lo = sub.add_parser("locate", help="list occurrences: doc id, offset, snippet",
                        description="Print one line per occurrence: document id, byte offset "
                        "in the document, and the match [in brackets] with context.")
    pattern_args(lo)
    lo.add_argument("--limit", type=int, default=None, help="at most this many occurrences")
    lo.add_argument("--context", type=int, default=40, help="context bytes each side (default 40)")
    lo.add_argument("--json", action="store_true", help="JSON lines {doc, offset}")
    lo.set_defaults(fn=cmd_locate)

    s = sub.add_parser("show", help="print a whole document (rebuilt from the index)",
                       description="Print document DOC to stdout and its metadata to stderr.")
    s.add_argument("index")
    s.add_argument("doc", type=int)
    s.add_argument("--json", action="store_true", help="one JSON object: doc, metadata, text")
    s.set_defaults(fn=cmd_show)

    e = sub.add_parser("extract", help="print bytes [start, end) of a document")
    e.add_argument("index")
    e.add_argument("doc", type=int)
    e.add_argument("start", type=int)
    e.add_argument("end", type=int)
    e.set_defaults(fn=cmd_extract)

    st = sub.add_parser("stats", help="size of every index component vs the corpus")
    st.add_argument("index")
    st.add_argument("--json", action="store_true")
    st.set_defaults(fn=cmd_stats)

    dm = sub.add_parser("demo", help="index the Python standard library's sources and query it",
                        description="A first real run with no download: builds an index of "
                        "the standard library's .py files and runs count/locate on it.")
    dm.add_argument("-o", "--output", default="stdlib-index",
                    help="index directory (default: ./stdlib-index, replaced if present)")
    dm.set_defaults(fn=cmd_demo)

    from .cli_lm import register as register_lm
    register_lm(sub)

    v = sub.add_parser("verify", help="check every file's checksum")
    v.add_argument("index")
    v.set_defaults(fn=cmd_verify)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.fn(args)
    except FMIndexError as e:
        print(f"fmindex {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (IndexError, ValueError) as e:
        print(f"fmindex {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        if args.command == "build" and not getattr(args, "no_keep_partial", True):
            print("interrupted: the finished shards are kept; run the same command with "
                  "--resume to continue", file=sys.stderr)
        else:
            print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
