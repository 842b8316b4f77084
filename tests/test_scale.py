"""Sharded, parallel, resumable builds and multi-shard queries (issue #4).

- a many-shard index answers exactly like a one-shard index of the same corpus
  (hypothesis corpora, inline builds; real text, worker-process builds);
- a build killed with SIGKILL at random points, then resumed (possibly several times),
  gives an index identical in answers to an uninterrupted build;
- Ctrl-C and a full disk keep the finished shards for --resume;
- ``add`` appends shards atomically: an index opened before keeps answering as before.
"""
import errno
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fmindex
from fmindex import format as fmt
from fmindex.corpus import Documents
from fmindex.errors import FMIndexError
from fmindex.shard import DOC_STARTS_ARRAYS, SAMPLED_ROWS_ARRAYS, SHARD_ARRAYS
from fmindex.parallel_build import (BUILD_BYTES_PER_TEXT_BYTE, STATE_FILE, partial_builds,
                                    plan_build)
from oracle import occurrences

SAMPLE_DIR = Path(os.environ.get("FMINDEX_SAMPLE_DIR",
                                 Path(__file__).resolve().parents[2] / "shared/corpora/sample"))
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], deadline=None)


def answers(idx, patterns, docs_too=True) -> dict:
    """Everything a user can ask, in a comparable form."""
    out = {"n": len(idx), "bytes": idx.num_bytes,
           "counts": [idx.count(p) for p in patterns],
           "count_many": idx.count_many(patterns).tolist(),
           "locate": [idx.locate(p).tolist() for p in patterns],
           "lengths": idx.doc_lengths().tolist()}
    if docs_too:
        out["docs"] = [idx.document(d).data for d in range(len(idx))]
        out["meta"] = [idx.metadata(d) for d in range(len(idx))]
    return out


def sample_patterns(docs, rng, n=40):
    pats = [b"", b"the", b"\n", b"zzzzqqq"]
    for _ in range(n):
        t = docs[rng.randrange(len(docs))]
        if len(t) > 2:
            i = rng.randrange(len(t) - 1)
            pats.append(t[i:i + rng.randint(1, 12)])
    return pats


# ------------------------------------------------------------------ equivalence
docs_st = st.lists(st.one_of(st.binary(max_size=50).map(lambda b: bytes(x % 4 + 97 for x in b)),
                             st.binary(max_size=30)), min_size=1, max_size=25)


@SETTINGS
@given(docs=docs_st, shard_size=st.integers(1, 200), data=st.data())
def test_many_shards_answer_like_one(tmp_path_factory, docs, shard_size, data):
    root = tmp_path_factory.mktemp("eq")
    one = fmindex.build(Documents(docs), root / "one", progress=False, sa_sample=3,
                        isa_sample=5)
    many = fmindex.build(Documents(docs), root / "many", progress=False, sa_sample=3,
                         isa_sample=5, shard_size=shard_size)
    assert one.num_shards == 1
    pats = [b"", docs[0][:3]]
    for _ in range(8):
        t = docs[data.draw(st.integers(0, len(docs) - 1))]
        if t:
            i = data.draw(st.integers(0, len(t) - 1))
            pats.append(t[i:i + data.draw(st.integers(1, 6))])
    pats.append(data.draw(st.binary(min_size=1, max_size=3)))
    a, b = answers(one, pats), answers(many, pats)
    assert a == b
    assert a["locate"] == [occurrences(docs, p) for p in pats]
    for _ in range(4):
        d = data.draw(st.integers(0, len(docs) - 1))
        s = data.draw(st.integers(0, len(docs[d])))
        e = data.draw(st.integers(s, len(docs[d]) + 2))
        assert many.extract(d, s, e) == docs[d][s:e] == one.extract(d, s, e)
    lim = data.draw(st.integers(0, 10))
    for p in pats:
        got = many.locate(p, limit=lim)
        full = set(map(tuple, b["locate"][pats.index(p)]))
        assert len(got) == min(lim, len(full)) and set(map(tuple, got.tolist())) <= full
        assert got.tolist() == sorted(got.tolist())


@pytest.fixture(scope="module")
def real_corpus(tmp_path_factory):
    """~1.2 MB of real English text as JSONL (Moby Dick chapters + metadata)."""
    src = SAMPLE_DIR / "en_moby_dick.jsonl.gz"
    if not src.exists():
        pytest.skip(f"{src} not available")
    root = tmp_path_factory.mktemp("real")
    out = root / "moby.jsonl"
    with gzip.open(src, "rb") as fin, open(out, "wb") as fout:
        fout.write(fin.read())
    docs = [json.loads(line)["text"].encode() for line in out.read_bytes().splitlines()
            if line.strip()]
    return out, docs


@pytest.fixture(scope="module")
def real_reference(tmp_path_factory, real_corpus):
    src, docs = real_corpus
    out = tmp_path_factory.mktemp("ref") / "one"
    idx = fmindex.build(src, out, progress=False)
    pats = sample_patterns(docs, random.Random(3))
    return idx, pats, answers(idx, pats)


@pytest.mark.parametrize("jobs,shard_size,profile", [(1, "100k", "fast"), (2, "64k", "fast"),
                                                    (2, "300k", "fast"), (2, "200k", "small")])
def test_real_text_many_shards_worker_processes(tmp_path, real_corpus, real_reference, jobs,
                                                shard_size, profile):
    src, docs = real_corpus
    ref, pats, want = real_reference
    idx = fmindex.build(src, tmp_path / "many", progress=False, jobs=jobs,
                        shard_size=shard_size, profile=profile)
    assert idx.num_shards > 3
    assert all(s.params["wt_bits"] == ("rrr63rc" if profile == "small" else "plain")
               for s in idx.shards)
    assert answers(idx, pats) == want
    assert idx.locate("whale").tolist() == occurrences(docs, b"whale")
    assert [x for x in tmp_path.iterdir()] == [tmp_path / "many"]    # nothing left over
    assert set(p.name for p in (tmp_path / "many").iterdir()) == \
        {"manifest.json"} | {s["dir"] for s in idx.manifest["shards"]}


def test_memory_budget_plans_shards(tmp_path, real_corpus, real_reference):
    """--memory sizes shards: less memory or more jobs -> more, smaller shards."""
    p1 = plan_build("2G", 1)
    p2 = plan_build("2G", 2)
    assert p2.shard_bytes < p1.shard_bytes
    assert p2.jobs * p2.shard_bytes * BUILD_BYTES_PER_TEXT_BYTE < 2 << 30
    assert plan_build("2G", 2, shard_size="1M").shard_bytes == 1 << 20     # override
    with pytest.raises(ValueError, match="too small"):
        plan_build("100M", 4)
    src, _ = real_corpus
    ref, pats, want = real_reference
    idx = fmindex.build(src, tmp_path / "m", progress=False, memory="200M", jobs=1)
    # 200M - 80M process -> ~21 MiB per shard of text: one shard for 1.2 MB
    assert idx.num_shards == 1
    plan = idx.manifest["build"]["plan"]
    assert plan["memory"] == 200 << 20 and plan["shard_cost"] is not None


# ------------------------------------------------------------------------ resume
_BUILD = [sys.executable, "-m", "fmindex", "build"]


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory):
    """~3 MB of generated text in 3 JSONL files (one gzip) with metadata."""
    root = tmp_path_factory.mktemp("kill")
    rng = np.random.default_rng(11)
    words = [bytes(rng.integers(97, 123, size=rng.integers(1, 9), dtype=np.uint8)).decode()
             for _ in range(3000)]
    docs = []
    for f in range(3):
        lines = []
        for i in range(400):
            text = " ".join(rng.choice(words, size=int(rng.integers(50, 600))))
            docs.append(text.encode())
            lines.append(json.dumps({"text": text, "id": f"{f}-{i}"}))
        data = ("\n".join(lines) + "\n").encode()
        if f == 1:
            (root / f"part{f}.jsonl.gz").write_bytes(gzip.compress(data))
        else:
            (root / f"part{f}.jsonl").write_bytes(data)
    # one bad line, skipped (and counted) with --skip-bad
    with open(root / "part2.jsonl", "ab") as fh:
        fh.write(b'{"text": "broken\n')
    return root, docs


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory, kill_corpus):
    root, docs = kill_corpus
    out = tmp_path_factory.mktemp("killref") / "idx"
    idx = fmindex.build(root, out, progress=False, skip_bad=True)
    pats = sample_patterns(docs, random.Random(5), n=25)
    return pats, answers(idx, pats), idx.manifest["skipped_records"]


def _done_shards(out: Path) -> int:
    for part in partial_builds(out):
        try:
            st = json.loads((part / STATE_FILE).read_bytes())
        except (OSError, ValueError):
            continue
        return sum(s["status"] == "done" for s in st["shards"])
    return 0


def _run_until_killed(cmd, env, out: Path, target: int, extra: float):
    """Run ``cmd``; once ``target`` shards are done, wait ``extra`` seconds and SIGKILL
    the build and its workers.  Returns (exit code, stderr)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None:
        if _done_shards(out) >= target:
            time.sleep(extra)
            os.killpg(proc.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "the build made no progress"
        time.sleep(0.002)
    out_, err = proc.communicate()
    return proc.returncode, err.decode(errors="replace")


@pytest.mark.parametrize("jobs,seed", [(1, 1), (2, 2), (2, 3)])
def test_resume_after_sigkill_at_random_points(tmp_path, kill_corpus, kill_reference,
                                               subprocess_env, jobs, seed):
    """Kill the build at random points (after a random number of finished shards, plus a
    random delay: inside reading, spooling, sorting or writing), resume, kill the resumed
    build too, ... until it finishes: the result answers exactly like an uninterrupted
    build."""
    root, _ = kill_corpus
    pats, want, skipped = kill_reference
    out = tmp_path / "idx"
    rng = random.Random(seed)
    args = [str(root), "-o", str(out), "--shard-size", "64k", "--jobs", str(jobs),
            "--skip-bad", "-q"]
    kills = 0
    for attempt in range(60):
        cmd = _BUILD + args + (["--resume"] if attempt else [])
        target = _done_shards(out) + rng.randint(1, 10)
        code, err = _run_until_killed(cmd, subprocess_env, out, target,
                                      rng.uniform(0, 0.05))
        if code == 0:
            break
        assert code == -signal.SIGKILL, err
        kills += 1
        # a killed build never leaves something open() accepts, except a complete index
        if out.exists():
            fmindex.open(out, verify=True).close()
            break
        for part in tmp_path.iterdir():
            with pytest.raises(FMIndexError):
                fmindex.open(part)
    else:
        pytest.fail("the build never finished")
    assert kills >= 2
    idx = fmindex.open(out, verify=True)
    assert answers(idx, pats) == want
    assert idx.manifest["skipped_records"] == skipped
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]      # partial dirs cleaned up


# array files per (small, fast-profile) byte shard: the fixed set, the Elias-Fano document
# starts, the sampled-row blocks and the 4-ary tree's superblock counts
ARRAYS_PER_SHARD = (len(SHARD_ARRAYS) + len(DOC_STARTS_ARRAYS["elias_fano"])
                    + len(SAMPLED_ROWS_ARRAYS["blocks"]) + 1)


def test_resume_keeps_finished_shards(tmp_path, kill_corpus, kill_reference, monkeypatch):
    """Disk full in the 4th shard with keep_partial: a clear error, 3 finished shards
    kept; resume builds only the rest and answers like an uninterrupted build."""
    root, _ = kill_corpus
    pats, want, _ = kill_reference
    out = tmp_path / "idx"
    real = fmt.write_array
    calls = {"n": 0}

    def full(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3 * ARRAYS_PER_SHARD + 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*a, **kw)

    monkeypatch.setattr(fmt, "write_array", full)
    with pytest.raises(FMIndexError, match="disk full.*3 finished shard.*--resume"):
        fmindex.build(root, out, progress=False, skip_bad=True, shard_size="96k",
                      keep_partial=True)
    monkeypatch.undo()
    assert not out.exists()
    parts = partial_builds(out)
    assert len(parts) == 1
    state = json.loads((parts[0] / STATE_FILE).read_bytes())
    assert [s["status"] for s in state["shards"]] == ["done"] * 3
    notes = []
    idx = fmindex.build(root, out, progress=False, skip_bad=True, shard_size="96k",
                        resume=True, log=notes.append)
    assert "3 shard(s) done" in notes[0]
    assert idx.manifest["build"]["resumed"] is True
    assert answers(idx, pats) == want
    assert partial_builds(out) == []


def test_resume_with_changed_input_starts_over(tmp_path, kill_corpus):
    root, _ = kill_corpus
    src = tmp_path / "c.jsonl"
    src.write_bytes((root / "part0.jsonl").read_bytes())
    out = tmp_path / "idx"

    def boom_after(n):
        for i, line in enumerate(src.read_bytes().splitlines()):
            if i == n:
                raise KeyboardInterrupt
            yield json.loads(line)

    with pytest.raises(KeyboardInterrupt):
        fmindex.build(boom_after(300), out, progress=False, shard_size="32k",
                      keep_partial=True)
    assert len(partial_builds(out)) == 1
    notes = []
    idx = fmindex.build(src, out, progress=False, shard_size="32k", resume=True,
                        log=notes.append)
    assert "nothing to resume" in notes[0]
    assert len(idx) == 400
    assert partial_builds(out) == []


def test_sigint_keeps_partial_and_resume_finishes(tmp_path, kill_corpus, kill_reference,
                                                  subprocess_env):
    """Ctrl-C (SIGINT to the process group) on the CLI: exit 130, the message says how
    to resume, and --resume finishes the build."""
    root, _ = kill_corpus
    pats, want, _ = kill_reference
    out = tmp_path / "idx"
    cmd = _BUILD + [str(root), "-o", str(out), "--shard-size", "64k", "--jobs", "2",
                    "--skip-bad", "-q"]
    proc = subprocess.Popen(cmd, env=subprocess_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        parts = partial_builds(out)
        if parts and any(s["status"] == "done" for s in
                         (json.loads((parts[0] / STATE_FILE).read_bytes())["shards"]
                          if (parts[0] / STATE_FILE).exists() else [])):
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the build finished before the interrupt")
    assert proc.returncode == 130, err
    assert b"--resume" in err
    assert not out.exists() and len(partial_builds(out)) == 1
    r = subprocess.run(cmd + ["--resume"], env=subprocess_env, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert answers(fmindex.open(out, verify=True), pats) == want


# --------------------------------------------------------------------------- add
def test_add_appends_shards_atomically(tmp_path, real_corpus, real_reference,
                                       subprocess_env):
    src, docs = real_corpus
    ref, pats, want = real_reference
    lines = src.read_bytes().splitlines(keepends=True)
    a, b = tmp_path / "a.jsonl", tmp_path / "b"
    a.write_bytes(b"".join(lines[:60]))
    b.mkdir()
    (b / "b1.jsonl").write_bytes(b"".join(lines[60:100]))
    (b / "b2.jsonl").write_bytes(b"".join(lines[100:]))
    out = tmp_path / "idx"
    fmindex.build(a, out, progress=False, shard_size="200k")
    old = fmindex.open(out)
    old_answers = answers(old, pats[:10], docs_too=False)
    n_old = len(old)
    r = subprocess.run([sys.executable, "-m", "fmindex", "add", str(out), str(b),
                        "--shard-size", "150k", "--jobs", "2"],
                       env=subprocess_env, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert b"added" in r.stdout
    # the reader of the old manifest still answers as before
    assert answers(old, pats[:10], docs_too=False) == old_answers and len(old) == n_old
    new = fmindex.open(out, verify=True)
    assert new.num_shards > old.num_shards
    assert answers(new, pats) == want                 # = one build over everything
    assert new.manifest["additions"][0]["n_docs"] == len(docs) - n_old
    r = subprocess.run([sys.executable, "-m", "fmindex", "count", str(out), "whale"],
                       env=subprocess_env, capture_output=True)
    assert int(r.stdout) == ref.count("whale")
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) in ([], [".add.lock"])


def test_failed_add_leaves_the_index_unchanged(tmp_path, real_corpus):
    src, docs = real_corpus
    out = tmp_path / "idx"
    fmindex.build(src, out, progress=False)
    before = (out / "manifest.json").read_bytes()

    def bad():
        yield "one more document"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fmindex.builder.add(out, bad(), shard_size=1)
    assert (out / "manifest.json").read_bytes() == before
    idx = fmindex.open(out, verify=True)
    assert len(idx) == len(docs)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["manifest.json", "shard-00000"]
    idx = fmindex.builder.add(out, Documents(["one more document", "and another"]))
    assert len(idx) == len(docs) + 2 and idx.document(len(docs) + 1).data == b"and another"
    assert idx.count("one more document") == 1


# ------------------------------------------------------------------ 64-bit ids
def test_global_ids_and_offsets_are_int64(tmp_path):
    docs = [f"doc {i} abc" for i in range(50)]
    idx = fmindex.build(Documents(docs), tmp_path / "i", progress=False, shard_size=40)
    assert idx.num_shards >= 10
    loc = idx.locate("abc")
    assert loc.dtype["doc"] == np.int64 and loc.dtype["offset"] == np.int64
    assert loc["doc"].tolist() == list(range(50))
    assert idx.document(49).data == b"doc 49 abc"


# ------------------------------------------------------------------- memory
_PEAK_CHILD = r"""
import sys
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith(key))
import fmindex
base = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:      # VmHWM := VmRSS
    fh.write("5")
idx = fmindex.build(sys.argv[1], sys.argv[2], progress=False)
print(status("VmHWM") - base, idx.num_bytes + len(idx))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_build_peak_memory_is_text_plus_suffix_array(tmp_path, subprocess_env):
    """A one-shard build of ~40 MB of text peaks at the text + its 32-bit suffix array
    (5 bytes per text byte) above the interpreter: nothing else (SA-IS bucket arrays of the
    deep recursion levels, the sample arrays of the BWT pass, heap left by the reader)
    may add more than 0.15 bytes per text byte.  Measured 5.05; 5.21 before the fixes."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("cannot reset the peak RSS (/proc/self/clear_refs)")
    rng = np.random.default_rng(7)
    vocab = ["".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(1, 10)))
             for _ in range(5000)] + ["{", "}", "(", ")", ";", "\n", "    ", "=", "if", "int"]
    corpus = tmp_path / "c.jsonl"
    size = 0
    with open(corpus, "w") as fh:
        while size < 40_000_000:
            words = rng.zipf(1.3, int(rng.integers(50, 3000))) % len(vocab)
            text = " ".join(vocab[i] for i in words)
            fh.write(json.dumps({"text": text, "id": size}) + "\n")
            size += len(text)
    r = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(corpus), str(tmp_path / "idx")],
                       env=subprocess_env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    peak, n = map(int, r.stdout.split())
    assert peak / n <= 5.15, (peak / n, peak >> 20, n)


# ------------------------------------------------------------- memory (slow)
@pytest.mark.slow
def test_memory_budget_is_respected_by_the_whole_build(tmp_path, subprocess_env):
    """~120 MB of real text built with --memory 700M --jobs 2: the summed PSS of the
    reader, the forkserver and the workers, sampled every 0.25 s, stays under 700 MiB."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_scale", Path(__file__).resolve().parents[1] / "benches" / "bench_scale.py")
    bs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bs)
    corpus = tmp_path / "c.jsonl"
    bs.make_corpus(corpus, 130_000_000)
    out = tmp_path / "idx"
    cmd = _BUILD + [str(corpus), "-o", str(out), "-q", "--memory", "700M", "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=subprocess_env, start_new_session=True,
                            stderr=subprocess.PIPE)
    sampler = bs.TreeSampler(proc.pid)
    _, err = proc.communicate()
    sampler.stop()
    assert proc.returncode == 0, err
    idx = fmindex.open(out)
    assert idx.num_shards >= 2
    assert sampler.peak_pss <= 700 << 20, (sampler.peak_pss >> 20, sampler.peak_rss >> 20)
    assert max(idx.manifest["build"]["worker_peak_rss"]) <= (700 << 20) / 2


def test_count_over_many_shards_in_one_call(tmp_path, real_corpus, real_reference):
    """count() on >= PARALLEL_MIN_SHARDS shards: one GIL-free call, on 1 and on 2 threads,
    equals the single-shard index, for short (sequential) and long (threaded) patterns."""
    from fmindex._fm_shard import count_shards
    from fmindex.index import PARALLEL_MIN_SHARDS
    src, docs = real_corpus
    ref, pats, want = real_reference
    idx = fmindex.build(src, tmp_path / "many", progress=False, shard_size="40k")
    assert idx.num_shards >= PARALLEL_MIN_SHARDS
    fms = [s.fm for s in idx.shards]
    for p in pats + ["a", "the", "whale", "Ahab said", "", "\u00e9\u00e9zz"]:
        b = p.encode() if isinstance(p, str) else p
        expect = ref.count(b)
        assert idx.count(b) == expect, b
        assert count_shards(fms, b, 1) == count_shards(fms, b, 2) == expect, b
    for nt in (1, 2):
        with fmindex.open(tmp_path / "many", num_threads=nt) as again:
            assert [again.count(p) for p in pats] == [ref.count(p) for p in pats]


@pytest.mark.parametrize("jobs", [1, 2])
def test_metadata_survives_spool_and_shards(tmp_path, jobs):
    """Every document's metadata reads back as given, whether its shard was built in the
    reader (packed in memory) or in a worker from the spool files (packed from lines):
    values with commas, escaped newlines, brackets, non-ASCII, a lone surrogate, nesting,
    and documents without metadata."""
    rng = random.Random(11)
    recs = []
    for i in range(3000):
        meta = rng.choice([{}, {"id": f"d{i}"}, {"id": i, "ok": True, "none": None},
                           {"url": f"http://x/{i}?a=1,b=2", "t": "line\nnext, [x]"},
                           {"nested": {"k": [i, "é"]}, "f": 0.5}, {"s": "caf\u00e9 \ud800"}])
        recs.append({"text": "".join(rng.choice("abc ") for _ in range(rng.randint(1, 120))),
                     **meta})
    src = tmp_path / "m.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    idx = fmindex.build(src, tmp_path / "idx", progress=False, jobs=jobs, shard_size="32k")
    assert idx.num_shards > 3 and len(idx) == len(recs)
    for d in range(len(recs)):
        want = dict(recs[d])
        text = want.pop("text")
        doc = idx.document(d)
        assert doc.text == text and doc.metadata == want
