"""Token benchmark: fmindex token index vs the PyPI infini-gram package, same token ids.

    python benches/bench_tokens.py --tokens 60M            # full run (prepare, build both, query)
    python benches/bench_tokens.py --tokens 2M --quick     # smoke run

Stages (cached in --workdir, default /tmp/fmindex_bench_tokens):
  prepare   real text (the English corpora, then the samples, the multilingual Debian
            handbooks / fortunes and Linux C sources until --tokens is reached) through the
            Mistral SentencePiece v1 tokenizer (32000 ids, u16): tokens.npy + lengths.npy;
            the last --heldout documents are kept out of both indexes (∞-gram contexts).
  build     fmindex.tokens.build_tokens (child process: wall time, peak RSS) and
            infini-gram's indexer (python -m infini_gram.indexing over the same ids written
            in its on-disk format: \\xff\\xff + u16 ids per document, u64 offsets).
  query     count / prob / next-token distribution / ∞-gram latency by context length,
            the answers of both compared one by one (count, prob, exact ntd, suffix_len).

Results: benches/results/tokens_<N>.json and a markdown table on stdout.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import (CORPUS_DIR, SAMPLE_DIR, iter_jsonl_docs, machine_info, markdown_table,  # noqa: E402
                    run_child, summarize)

EOS = 2          # mistral v1 </s>: what both engines report for "end of document"


def parse_count(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9}
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)


# ----------------------------------------------------------------------------- prepare
def corpus_order():
    files = sorted(CORPUS_DIR.glob("en_*.jsonl"))
    files += sorted(SAMPLE_DIR.glob("*.jsonl*"))
    files += sorted(CORPUS_DIR.glob("ml_*.jsonl"))
    files += sorted(CORPUS_DIR.glob("code_*.jsonl"))
    return files


def prepare(workdir: Path, n_tokens: int, heldout: int) -> dict:
    tok_path = workdir / f"tokens_{n_tokens}.npy"
    len_path = workdir / f"lengths_{n_tokens}.npy"
    meta_path = workdir / f"prepare_{n_tokens}.json"
    if tok_path.exists() and len_path.exists() and meta_path.exists():
        return json.loads(meta_path.read_text())
    sys.path.insert(0, str(ROOT))
    from fmindex.tokens import load_tokenizer
    tk = load_tokenizer("mistral")
    t0 = time.perf_counter()
    arrays, lengths, used, n, nbytes = [], [], [], 0, 0
    batch: list = []
    target = n_tokens + 1
    for f in corpus_order():
        used.append(f.name)
        for _meta, text in iter_jsonl_docs([f]):
            if not text:
                continue
            batch.append(text.decode("utf-8", errors="replace"))
            nbytes += len(text)
            if len(batch) >= 256:
                for ids in tk.encode_many(batch):
                    arrays.append(np.asarray(ids, dtype=np.uint16))
                    lengths.append(len(ids))
                    n += len(ids)
                batch.clear()
                if n >= target + 2_000_000:
                    break
        if n >= target + 2_000_000:
            break
    for ids in tk.encode_many(batch):
        arrays.append(np.asarray(ids, dtype=np.uint16))
        lengths.append(len(ids))
        n += len(ids)
    # indexed docs: as many as reach n_tokens; then `heldout` docs for ∞-gram contexts
    lengths = np.asarray(lengths, dtype=np.int64)
    cum = np.cumsum(lengths)
    k = int(np.searchsorted(cum, n_tokens)) + 1
    k = min(k, len(arrays) - heldout)
    tokens = np.concatenate(arrays[:k])
    held = np.concatenate(arrays[k:k + heldout])
    np.save(tok_path, tokens)
    np.save(len_path, lengths[:k])
    np.save(workdir / f"heldout_{n_tokens}.npy", held)
    info = {"tokens": int(tokens.shape[0]), "documents": k, "text_bytes_read": nbytes,
            "files": used, "tokenizer": "mistral (SentencePiece v1, 32000 ids)",
            "heldout_tokens": int(held.shape[0]), "tokenize_s": round(time.perf_counter() - t0, 1)}
    meta_path.write_text(json.dumps(info, indent=1))
    return info


# ----------------------------------------------------------------------------- builds
def build_ours_child(workdir: Path, n_tokens: int, out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from fmindex.tokens import build_tokens
    toks = np.load(workdir / f"tokens_{n_tokens}.npy", mmap_mode="r")
    lens = np.load(workdir / f"lengths_{n_tokens}.npy")
    t = time.perf_counter()
    idx = build_tokens(toks, out, doc_lengths=lens, eos_id=EOS, overwrite=True)
    print(json.dumps({"build_s": time.perf_counter() - t, "stats": idx.stats()}, default=str))


def write_infinigram_files(workdir: Path, n_tokens: int, save_dir: Path) -> None:
    toks = np.load(workdir / f"tokens_{n_tokens}.npy", mmap_mode="r")
    lens = np.load(workdir / f"lengths_{n_tokens}.npy")
    save_dir.mkdir(parents=True, exist_ok=True)
    starts = np.zeros(lens.shape[0] + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    offs = np.zeros(lens.shape[0], dtype=np.uint64)
    pos = 0
    with open(save_dir / "tokenized.0", "wb") as fh:
        for d in range(lens.shape[0]):
            offs[d] = pos
            fh.write(b"\xff\xff")
            chunk = np.ascontiguousarray(toks[starts[d]:starts[d + 1]], dtype="<u2")
            fh.write(chunk.tobytes())
            pos += 2 + 2 * int(lens[d])
    offs.tofile(save_dir / "offset.0")


def build_infinigram(workdir: Path, n_tokens: int, save_dir: Path) -> dict:
    if save_dir.exists():
        shutil.rmtree(save_dir)
    t = time.perf_counter()
    write_infinigram_files(workdir, n_tokens, save_dir)
    t_write = time.perf_counter() - t
    data_dir = workdir / "ig_empty_data"
    data_dir.mkdir(exist_ok=True)
    r = run_child([sys.executable, "-m", "infini_gram.indexing", "--data_dir", str(data_dir),
                   "--save_dir", str(save_dir), "--token_dtype", "u16", "--cpus",
                   str(os.cpu_count() or 1), "--mem", "12",
                   "--ulimit", str(resource.getrlimit(resource.RLIMIT_NOFILE)[1])])
    if r["returncode"] != 0:
        raise SystemExit("infini-gram indexing failed")
    size = sum(p.stat().st_size for p in save_dir.iterdir() if p.is_file())
    parts = {p.name: p.stat().st_size for p in save_dir.iterdir() if p.is_file()}
    return {"write_token_files_s": t_write, "index_s": r["wall_s"], "maxrss_bytes": r["maxrss_bytes"],
            "index_bytes": size, "files": parts}


# ----------------------------------------------------------------------------- queries
def sample_contexts(tokens: np.ndarray, lens: np.ndarray, n: int, m: int, rng: random.Random,
                    with_next: bool = True):
    """n contexts of m tokens (plus the following token) from random positions in documents."""
    starts = np.zeros(lens.shape[0] + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    need = m + (1 if with_next else 0)
    ok = np.flatnonzero(lens >= need)
    out = []
    while len(out) < n and ok.shape[0]:
        d = int(ok[rng.randrange(ok.shape[0])])
        o = rng.randrange(int(lens[d]) - need + 1)
        seg = [int(x) for x in tokens[starts[d] + o: starts[d] + o + need]]
        out.append((seg[:m], seg[m] if with_next else None))
    return out


def timed(fn, items, reps: int):
    """Median over reps of the mean latency per item (seconds), and the answers of the last rep."""
    per = []
    ans = None
    for _ in range(reps):
        res = []
        t = time.perf_counter()
        for x in items:
            res.append(fn(x))
        per.append((time.perf_counter() - t) / max(len(items), 1))
        ans = res
    return summarize(per)["median"], ans


def run_queries(workdir: Path, n_tokens: int, ours_dir: Path, ig_dir: Path, args) -> dict:
    sys.path.insert(0, str(ROOT))
    from fmindex.tokens import open_tokens
    from infini_gram.engine import InfiniGramEngine
    toks = np.load(workdir / f"tokens_{n_tokens}.npy", mmap_mode="r")
    lens = np.load(workdir / f"lengths_{n_tokens}.npy")
    held = np.load(workdir / f"heldout_{n_tokens}.npy")
    ours = open_tokens(ours_dir)
    ig = InfiniGramEngine(index_dir=str(ig_dir), eos_token_id=EOS, vocab_size=65535,
                          token_dtype="u16", max_support=1000)
    rng = random.Random(12345)
    res: dict = {"count": {}, "prob": {}, "ntd": {}, "infgram": {}, "mismatches": {}}
    reps = args.reps
    mism = res["mismatches"]

    # sanity: totals
    assert ours.count([]) == ig.count([])["count"], (ours.count([]), ig.count([]))
    # warm-up (both indexes are memory-mapped: fault their pages in the same way)
    warm = [c for c, _ in sample_contexts(toks, lens, args.warmup, 3, random.Random(7))]
    for p in warm:
        ours.count(p)
        ig.count(p)
        ours.infgram_prob(p, 5)
        ig.infgram_prob(p, 5)

    for m in args.lengths:
        ctxs = sample_contexts(toks, lens, args.n, m, rng)
        pats = [c for c, _ in ctxs]
        t_o, a_o = timed(ours.count, pats, reps)
        t_i, a_i = timed(lambda p: ig.count(p)["count"], pats, reps)
        mism[f"count_{m}"] = sum(int(x != y) for x, y in zip(a_o, a_i))
        res["count"][m] = {"ours_us": t_o * 1e6, "infinigram_us": t_i * 1e6,
                           "median_count": float(np.median(a_o))}
        t_o, a_o = timed(lambda cw: ours.prob(cw[0], cw[1]), ctxs, reps)
        t_i, a_i = timed(lambda cw: ig.prob(cw[0], cw[1]), ctxs, reps)
        mism[f"prob_{m}"] = sum(int(x["context_count"] != y["prompt_cnt"] or
                                    x["continuation_count"] != y["cont_cnt"] or
                                    abs(x["prob"] - y["prob"]) > 1e-12) for x, y in zip(a_o, a_i))
        res["prob"][m] = {"ours_us": t_o * 1e6, "infinigram_us": t_i * 1e6}
        # next-token distribution: ours exact; infini-gram default (max_support=1000, approximate
        # above 1000 occurrences) and exact (max_support >= count) where the count allows
        nctx = pats[: args.n_ntd]
        t_o, a_o = timed(ours.next_token_distribution, nctx, reps)
        t_i, _ = timed(lambda p: ig.ntd(p), nctx, reps)
        exact_ctx = [p for p, c in zip(nctx, [sum(v[0] for v in d.values()) for d in a_o])
                     if c <= args.exact_ntd_max]
        t_ie, a_ie = timed(lambda p: ig.ntd(p, max_support=args.exact_ntd_max), exact_ctx, 1)
        a_oe = [ours.next_token_distribution(p) for p in exact_ctx]
        mism[f"ntd_exact_{m}"] = sum(
            int({k: v[0] for k, v in x.items()} != {k: v["cont_cnt"] for k, v in y["result_by_token_id"].items()})
            for x, y in zip(a_oe, a_ie))
        res["ntd"][m] = {"ours_exact_us": t_o * 1e6, "infinigram_default_us": t_i * 1e6,
                         "infinigram_exact_us": t_ie * 1e6, "exact_compared": len(exact_ctx),
                         "median_distinct": float(np.median([len(d) for d in a_o])),
                         "median_count": float(np.median([sum(v[0] for v in d.values()) for d in a_o]))}
    # ∞-gram: contexts from held-out documents (not indexed), by context length
    hl = np.asarray([held.shape[0]], dtype=np.int64)
    for m in args.inf_lengths:
        ctxs = sample_contexts(held, hl, args.n_inf, m, rng)
        t_o, a_o = timed(lambda cw: ours.infgram_prob(cw[0], cw[1]), ctxs, reps)
        t_i, a_i = timed(lambda cw: ig.infgram_prob(cw[0], cw[1]), ctxs, reps)
        mism[f"infgram_{m}"] = sum(int(x["suffix_len"] != y["suffix_len"] or
                                       x["context_count"] != y["prompt_cnt"] or
                                       x["continuation_count"] != y["cont_cnt"]) for x, y in zip(a_o, a_i))
        t_on, a_on = timed(lambda cw: ours.infgram_next_token_distribution(cw[0]), ctxs, reps)
        t_in, a_in = timed(lambda cw: ig.infgram_ntd(cw[0]), ctxs, reps)
        mism[f"infgram_ntd_suffix_len_{m}"] = sum(int(x["suffix_len"] != y["suffix_len"])
                                                 for x, y in zip(a_on, a_in))
        res["infgram"][m] = {"ours_prob_us": t_o * 1e6, "infinigram_prob_us": t_i * 1e6,
                             "ours_ntd_us": t_on * 1e6, "infinigram_ntd_us": t_in * 1e6,
                             "median_suffix_len": float(np.median([x["suffix_len"] for x in a_o]))}
    # CNF: ours vs infini-gram's count_cnf on two-clause queries of frequent-ish tokens
    cnf_rows = []
    for c, _ in sample_contexts(toks, lens, args.n_cnf, 2, rng, with_next=False):
        q = [[[c[0]]], [[c[1]]]]
        t = time.perf_counter()
        r_o = ours.search_documents(q, max_gap=20, limit=10)
        t_o = time.perf_counter() - t
        t = time.perf_counter()
        r_i = ig.count_cnf(q, max_diff_tokens=20)
        t_i = time.perf_counter() - t
        cnf_rows.append({"ours_s": t_o, "infinigram_s": t_i, "ours_docs": r_o["count"],
                         "ours_approx": r_o["approx"], "infinigram_count": r_i.get("count"),
                         "infinigram_approx": r_i.get("approx")})
    res["cnf"] = cnf_rows
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="60M")
    ap.add_argument("--workdir", default="/tmp/fmindex_bench_tokens")
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--stage", choices=["all", "prepare", "build", "query", "_build_ours"], default="all")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=300, help="contexts per length (count, prob)")
    ap.add_argument("--n-ntd", type=int, default=100)
    ap.add_argument("--n-inf", type=int, default=100)
    ap.add_argument("--n-cnf", type=int, default=10)
    ap.add_argument("--exact-ntd-max", type=int, default=20000)
    ap.add_argument("--lengths", type=int, nargs="+", default=[1, 2, 3, 5, 8, 16])
    ap.add_argument("--inf-lengths", type=int, nargs="+", default=[5, 20, 100, 500])
    ap.add_argument("--warmup", type=int, default=3000, help="warm-up queries per engine")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    n_tokens = parse_count(args.tokens)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ours_dir = workdir / f"ours_{n_tokens}"
    ig_dir = workdir / f"infinigram_{n_tokens}"
    if args.quick:
        args.reps, args.n, args.n_ntd, args.n_inf, args.n_cnf, args.warmup = 1, 50, 20, 20, 3, 300
    if args.stage == "_build_ours":
        build_ours_child(workdir, n_tokens, ours_dir)
        return
    t_all = time.perf_counter()
    report: dict = {"command": "python benches/bench_tokens.py " + " ".join(sys.argv[1:]),
                    "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info()}
    info = prepare(workdir, n_tokens, args.heldout)
    report["corpus"] = info
    print(f"corpus: {info['tokens']:,} tokens, {info['documents']:,} documents", flush=True)
    if args.stage == "prepare":
        return
    res_path = workdir / f"builds_{n_tokens}.json"
    if args.stage in ("all", "build") or not res_path.exists():
        r = run_child([sys.executable, __file__, "--tokens", args.tokens, "--workdir", str(workdir),
                       "--stage", "_build_ours"])
        if r["returncode"] != 0:
            raise SystemExit("fmindex token build failed")
        ours_stats = open_stats(ours_dir)
        builds = {"ours": {"build_s": r["wall_s"], "maxrss_bytes": r["maxrss_bytes"], **ours_stats},
                  "infinigram": build_infinigram(workdir, n_tokens, ig_dir)}
        res_path.write_text(json.dumps(builds, indent=1, default=str))
    builds = json.loads(res_path.read_text())
    report["builds"] = builds
    if args.stage == "build":
        return
    gc.collect()
    report["load_average_before"] = os.getloadavg()
    report["queries"] = run_queries(workdir, n_tokens, ours_dir, ig_dir, args)
    report["load_average_after"] = os.getloadavg()
    report["duration_s"] = round(time.perf_counter() - t_all, 1)
    out = Path(args.out) if args.out else HERE / "results" / f"tokens_{n_tokens // 10 ** 6}M.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(render(report))


def open_stats(path: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from fmindex.tokens import open_tokens
    st = open_tokens(path).stats()
    return {"index_bytes": st["index_bytes"], "bytes_per_token": st["bytes_per_token"],
            "components": st["components"]}


def render(rep: dict) -> str:
    b = rep["builds"]
    n = rep["corpus"]["tokens"]
    lines = [f"## {n / 1e6:.1f}M tokens ({rep['corpus']['documents']:,} documents), "
             f"{rep['corpus']['tokenizer']}", ""]
    o, i = b["ours"], b["infinigram"]
    lines.append(markdown_table(
        ["", "fmindex tokens", "infini-gram 2.6.0"],
        [["index bytes", f"{o['index_bytes'] / 1e6:.1f} MB", f"{i['index_bytes'] / 1e6:.1f} MB"],
         ["bytes / token", f"{o['index_bytes'] / n:.2f}", f"{i['index_bytes'] / n:.2f}"],
         ["build", f"{o['build_s']:.1f} s / {o['maxrss_bytes'] / 2**30:.2f} GiB",
          f"{i['index_s'] + i['write_token_files_s']:.1f} s / {i['maxrss_bytes'] / 2**30:.2f} GiB"]]))
    q = rep["queries"]
    la = rep.get("load_average_before")
    lines += ["", "Latency per query (µs, median of reps of the mean over the contexts)"
              + (f"; load average {la[0]:.1f} before / {rep['load_average_after'][0]:.1f} after "
                 f"(2 cores shared with other jobs)" if la else "") + ":", ""]
    rows = []
    for m, v in q["count"].items():
        p = q["prob"][m]
        t = q["ntd"][m]
        rows.append([f"ctx {m}", f"{v['ours_us']:.1f}", f"{v['infinigram_us']:.1f}",
                     f"{p['ours_us']:.1f}", f"{p['infinigram_us']:.1f}",
                     f"{t['ours_exact_us']:.0f}", f"{t['infinigram_default_us']:.0f}",
                     f"{t['infinigram_exact_us']:.0f}", f"{t['median_distinct']:.0f}"])
    lines.append(markdown_table(["context", "count ours", "count ig", "prob ours", "prob ig",
                                 "ntd ours (exact)", "ntd ig (max_support 1000)",
                                 "ntd ig (exact subset)", "median distinct"], rows))
    rows = []
    for m, v in q["infgram"].items():
        rows.append([f"ctx {m}", f"{v['ours_prob_us']:.1f}", f"{v['infinigram_prob_us']:.1f}",
                     f"{v['ours_ntd_us']:.0f}", f"{v['infinigram_ntd_us']:.0f}",
                     f"{v['median_suffix_len']:.0f}"])
    lines += ["", markdown_table(["held-out context", "∞-gram prob ours", "∞-gram prob ig",
                                  "∞-gram ntd ours", "∞-gram ntd ig", "median suffix_len"], rows)]
    if q.get("cnf"):
        rows = [[f"{r['ours_s'] * 1e3:.0f}", f"{r['infinigram_s'] * 1e3:.0f}", str(r["ours_docs"]),
                 str(r["ours_approx"]), str(r["infinigram_count"]), str(r["infinigram_approx"])]
                for r in q["cnf"]]
        lines += ["", "CNF (two single-token clauses, window 20): ours = matching documents, "
                  "infini-gram = count_cnf", "",
                  markdown_table(["ours ms", "ig ms", "ours docs", "ours approx", "ig count",
                                  "ig approx"], rows)]
    lines += ["", "Mismatches (ours vs infini-gram): " +
              ", ".join(f"{k}={v}" for k, v in q["mismatches"].items())]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
