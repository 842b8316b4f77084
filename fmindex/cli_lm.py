"""Command line for token corpora and n-gram / ∞-gram queries (wired into ``fmindex`` by
``register(subparsers)``):

    fmindex build-tokens docs.jsonl -o tidx/ --tokenizer mistral
    fmindex build-tokens a.npy b.npy -o tidx/ --eos-id 2
    fmindex lm count   tidx/ "natural language"          # text is tokenized; --ids 5613,4086
    fmindex lm prob    tidx/ "natural" 4086               # next token: an id, text or eos
    fmindex lm ntd     tidx/ "natural" --limit 10
    fmindex lm infgram tidx/ "a long context ..." [--next ID]
    fmindex lm cnf     tidx/ --clause "natural language|NLP" --clause "model" --max-gap 50

Every ``lm`` command also works on a byte index (contexts are bytes, the next "token" is
the next byte, written as one character, ``\\xNN`` or ``eos``).  Output is JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List

from .errors import FMIndexError


def _open(path: str, args) -> Any:
    from .tokens import is_token_index, open_tokens
    if is_token_index(path):
        return open_tokens(path, eos_id=getattr(args, "eos_id", None))
    from .index import open_index
    return open_index(path)


def _is_tokens(idx) -> bool:
    from .tokens import TokenIndex
    return isinstance(idx, TokenIndex)


def _parse_ids(s: str) -> List[int]:
    parts = [p for p in s.replace(",", " ").split() if p]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise FMIndexError(f"--ids: {s!r} is not a list of integers (e.g. 5613,4086)") from None


def _context(idx, s: str, args):
    if _is_tokens(idx):
        if args.ids:
            return _parse_ids(s)
        if idx.tokenizer is None:
            raise FMIndexError("this token index records no tokenizer: pass --ids")
        return idx.tokenize(s)
    if args.hex:
        try:
            return bytes.fromhex(s)
        except ValueError:
            raise FMIndexError(f"--hex: {s!r} is not hexadecimal") from None
    return s.encode("utf-8")


def _next(idx, s: str):
    if _is_tokens(idx):
        if s.lower() == "eos":
            return idx.eos_id
        try:
            return int(s)
        except ValueError:
            ids = idx.tokenize(s) if idx.tokenizer is not None else []
            if len(ids) != 1:
                raise FMIndexError(f"next token {s!r}: give a token id (or text that is one token)")
            return ids[0]
    from .lm import END
    if s.lower() == "eos":
        return END
    if s.startswith("\\x") and len(s) == 4:
        return int(s[2:], 16)
    b = s.encode("utf-8")
    if len(b) != 1:
        raise FMIndexError(f"next byte {s!r}: give one character, \\xNN or eos")
    return b[0]


def _label(idx, tid: int) -> str:
    if _is_tokens(idx):
        if tid == idx.eos_id:
            return "<eos>"
        t = idx.detokenize([tid]) if idx.tokenizer is not None else None
        return t if t is not None else str(tid)
    from .lm import END
    return "<eos>" if tid == END else bytes([tid]).decode("latin-1")


def _dump(obj) -> int:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


def _dist(idx, d: dict) -> list:
    return [{"id": k, "token": _label(idx, k), "count": c, "prob": p} for k, (c, p) in d.items()]


def cmd_build_tokens(args) -> int:
    from .tokens import build_tokens
    inputs: Any = args.inputs
    if all(p.endswith(".npy") for p in inputs):
        inputs = list(inputs)
    idx = build_tokens(inputs, args.output, tokenizer=args.tokenizer, eos_id=args.eos_id,
                       text_field=args.text_field, shard_tokens=args.shard_tokens,
                       sa_sample=args.sa_sample, isa_sample=args.isa_sample,
                       profile=args.profile, overwrite=args.force, progress=not args.quiet)
    if not args.quiet:
        st = idx.stats()
        print(f"built {args.output}: {st['documents']:,} documents, {st['tokens']:,} tokens, "
              f"{st['index_bytes']:,} bytes ({st['bytes_per_token']:.2f} bytes/token), "
              f"{idx.manifest.get('build_seconds', 0):.1f} s")
    return 0


def cmd_lm(args) -> int:
    idx = _open(args.index, args)
    tok = _is_tokens(idx)
    from . import lm as blm
    if args.lm_command == "count":
        ctx = _context(idx, args.context, args)
        return _dump({"count": idx.count(ctx) if tok else blm.count(idx, ctx)})
    if args.lm_command == "prob":
        ctx = _context(idx, args.context, args)
        w = _next(idx, args.next)
        return _dump(idx.prob(ctx, w) if tok else blm.prob(idx, ctx, w))
    if args.lm_command == "ntd":
        ctx = _context(idx, args.context, args)
        d = (idx.next_token_distribution(ctx, limit=args.limit) if tok
             else blm.next_token_distribution(idx, ctx, limit=args.limit))
        return _dump(_dist(idx, d))
    if args.lm_command == "infgram":
        ctx = _context(idx, args.context, args)
        if args.next is not None:
            w = _next(idx, args.next)
            return _dump(idx.infgram_prob(ctx, w) if tok else blm.infgram_prob(idx, ctx, w))
        r = (idx.infgram_next_token_distribution(ctx, limit=args.limit) if tok
             else blm.infgram_next_token_distribution(idx, ctx, limit=args.limit))
        r["distribution"] = _dist(idx, r["distribution"])
        return _dump(r)
    if args.lm_command == "cnf":
        cnf = [[_context(idx, alt, args) for alt in cl.split("|")] for cl in args.clause]
        kw = dict(max_gap=args.max_gap, limit=args.limit, max_clause_freq=args.max_clause_freq)
        r = idx.search_documents(cnf, **kw) if tok else blm.search_documents(idx, cnf, **kw)
        if args.snippets and tok:
            for d in r["documents"]:
                s = idx.snippet(d["doc"], d["start"], d["end"] - d["start"], context=10)
                d["text"] = s.get("match_text")
        return _dump(r)
    raise FMIndexError(f"unknown lm command {args.lm_command}")


def register(subparsers) -> None:
    """Add ``build-tokens`` and ``lm`` to the ``fmindex`` command line."""
    b = subparsers.add_parser(
        "build-tokens", help="build a token index (n-gram / ∞-gram LM queries)",
        description="Build a token index from text through a tokenizer (.jsonl / .txt files) "
                    "or from .npy arrays of token ids (one document per file).")
    b.add_argument("inputs", nargs="+", help="files / directories, or .npy token arrays")
    b.add_argument("-o", "--output", required=True)
    b.add_argument("--tokenizer", default=None,
                   help="mistral (SentencePiece v1), mistral-v3, tekken, cl100k; needed for text")
    b.add_argument("--eos-id", type=int, default=None,
                   help="id reported for the end of a document (default: the tokenizer's EOS)")
    b.add_argument("--text-field", default="text")
    b.add_argument("--shard-tokens", type=int, default=None, help="tokens per shard")
    b.add_argument("--sa-sample", type=int, default=None,
                   help="suffix-array sample rate (default 32; 128 with --profile small)")
    b.add_argument("--isa-sample", type=int, default=None,
                   help="inverse suffix-array sample rate (default 64; 256 with --profile small)")
    b.add_argument("--profile", choices=("fast", "small"), default="fast",
                   help="fast: plain bitvectors; small: RRR-compressed (smaller, slower)")
    b.add_argument("-f", "--force", action="store_true", help="replace an existing index")
    b.add_argument("-q", "--quiet", action="store_true")
    b.set_defaults(fn=cmd_build_tokens)

    lmp = subparsers.add_parser(
        "lm", help="n-gram / ∞-gram queries: count, prob, ntd, infgram, cnf",
        description="Language-model queries (infini-gram semantics) on a token or byte index.")
    sub = lmp.add_subparsers(dest="lm_command", metavar="LM_COMMAND")
    sub.required = True

    def common(p, context=True):
        p.add_argument("index")
        if context:
            p.add_argument("context", help="text (tokenized), or ids with --ids")
        p.add_argument("--ids", action="store_true", help="contexts are token ids: 5613,4086")
        p.add_argument("--hex", action="store_true", help="byte index: contexts in hex")
        p.add_argument("--eos-id", type=int, default=None, help="override the index's EOS id")
        p.set_defaults(fn=cmd_lm)

    common(sub.add_parser("count", help="occurrences of an n-gram"))
    p = sub.add_parser("prob", help="count(ctx + next) / count(ctx)")
    common(p)
    p.add_argument("next", help="next token id (or eos); byte index: a character, \\xNN or eos")
    p = sub.add_parser("ntd", help="exact next-token distribution")
    common(p)
    p.add_argument("--limit", type=int, default=20)
    p = sub.add_parser("infgram", help="∞-gram: back off to the longest matching suffix")
    common(p)
    p.add_argument("--next", default=None, help="a next token: print its ∞-gram probability")
    p.add_argument("--limit", type=int, default=20)
    p = sub.add_parser("cnf", help="documents matching (a|b) AND c within a window")
    common(p, context=False)
    p.add_argument("--clause", action="append", required=True,
                   help="one clause: alternatives separated by | (repeat for AND)")
    p.add_argument("--max-gap", type=int, default=100)
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--max-clause-freq", type=int, default=50000)
    p.add_argument("--snippets", action="store_true", help="token index: add the matched text")


def main(argv=None) -> int:
    """Standalone entry (until wired into ``fmindex``): ``python -m fmindex.cli_lm lm ...``."""
    p = argparse.ArgumentParser(prog="fmindex")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except (FMIndexError, IndexError, ValueError) as e:
        print(f"fmindex {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
