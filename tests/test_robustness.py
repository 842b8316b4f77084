"""Robustness: damaged index files, failed / killed / disk-full builds, bad patterns.

Every damaged index must be refused by ``fmindex.open`` with the documented error
(fmindex/errors.py) naming the damaged file -- never a wrong answer, never a crash.
The one exception is a payload byte flipped in an array file opened with
``verify=False`` (checksums skipped): there the index may answer wrongly, but it
must still not kill the process; that case runs in forked children of a helper
subprocess so that a segfault cannot take pytest down.
"""
from __future__ import annotations

import errno
import gzip
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fmindex
from fmindex import format as fmt
from fmindex.corpus import Documents
from fmindex.errors import (CorpusError, CorruptIndexError, EmptyCorpusError, FMIndexError,
                            FormatVersionError, IndexFormatError, MissingIndexFileError,
                            PatternError, TruncatedIndexFileError)
from fmindex.shard import DOC_STARTS_ARRAYS, SAMPLED_ROWS_ARRAYS, SHARD_ARRAYS
from oracle import count as oracle_count

SHARD = "shard-00000"
# byte shards of the default ("fast") profile also hold the 4-ary tree's superblock counts
ARRAY_FILES = [f"{SHARD}/{name}.arr" for name in
               list({**SHARD_ARRAYS, **DOC_STARTS_ARRAYS["elias_fano"],
                     **SAMPLED_ROWS_ARRAYS["blocks"]}) + ["wt_supers"]]
# profile "small" stores these instead (or on top): Elias-Fano sampled rows, ISA samples as
# sample ranks, RRR payload and superblocks
SMALL_ONLY_FILES = [f"{SHARD}/{name}.arr" for name in
                    list(SAMPLED_ROWS_ARRAYS["elias_fano"])
                    + ["isa_samples", "wt_payload", "wt_rrr_supers"]]
JSON_FILES = ["manifest.json", f"{SHARD}/shard.json"]
ALL_FILES = JSON_FILES + ARRAY_FILES
# the files backward search (count) reads; corrupting any other one cannot change a count
COUNT_FILES = {f"{SHARD}/{n}.arr" for n in ("wt_lines", "wt_nodes", "wt_codes", "wt_code_len", "C",
                                             "wt_supers", "wt_table", "wt_roots")}
VERIFY_MODES = [False, "auto", True]

WORDS = ("alpha beta gamma delta natural language fm index the of and x y z "
         "héllo wörld 日本語 naïve").split()
PATTERNS = ["alpha", "beta", "gamma", "natural language", "a", "e", " ", "x y", "zzz", "ph",
            "index fm", "lang", "ö", "日本", "the of", "q"]


# --------------------------------------------------------------------------- helpers
def make_docs(n: int, seed: int) -> list:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        k = 0 if i % 37 == 5 else rng.randint(1, 60)      # a few empty documents
        docs.append(" ".join(rng.choice(WORDS) for _ in range(k)))
    return docs


def oracle_locate(docs: "list[bytes]", pat: bytes) -> list:
    out = []
    for di, d in enumerate(docs):
        if not pat:
            out.extend((di, o) for o in range(len(d)))
            continue
        i = d.find(pat)
        while i >= 0:
            out.append((di, i))
            i = d.find(pat, i + 1)
    return out


def flip(path: Path, offset: int, xor: int = 0xFF) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ xor]))


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


def rewrite_header(path: Path, **changes) -> None:
    """Rewrite fields of an array file header, with a valid header CRC."""
    names = ["magic", "major", "minor", "bom", "dtype", "items", "nbytes", "name", "crc", "hcrc"]
    raw = bytearray(path.read_bytes())
    fields = dict(zip(names, fmt.HEADER.unpack(bytes(raw[:fmt.HEADER_BYTES]))))
    fields.update(changes)
    fields["hcrc"] = 0
    head = fmt.HEADER.pack(*(fields[n] for n in names))
    head = head[:60] + struct.pack("<I", zlib.crc32(head[:60]) & 0xFFFFFFFF)
    raw[:fmt.HEADER_BYTES] = head
    path.write_bytes(bytes(raw))


def edit_json(path: Path, fn) -> None:
    obj = json.loads(path.read_bytes())
    fn(obj)
    path.write_text(json.dumps(obj))


def assert_names(err: IndexFormatError, path: Path) -> None:
    """The error says which file is damaged."""
    assert err.path is not None, err
    assert Path(err.path).name == path.name, (err.path, path)
    assert path.name in str(err)


def no_leftovers(out: Path) -> None:
    """Nothing at ``out`` and no hidden ``.NAME.tmp-*`` / ``.NAME.old-*`` next to it."""
    assert not out.exists(), f"{out} exists after a failed build"
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert left == [], f"leftover build directories: {left}"


def answers(idx) -> dict:
    return {"counts": [idx.count(p) for p in PATTERNS],
            "locate": [idx.locate(p).tolist() for p in PATTERNS[:4]],
            "docs": [idx.document(i).data for i in range(len(idx))],
            "meta": [idx.metadata(i) for i in range(len(idx))]}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def corpus() -> list:
    return [{"text": t, "id": i, "tag": "even" if i % 2 == 0 else "odd"}
            for i, t in enumerate(make_docs(240, seed=7))]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, corpus) -> Path:
    """A single-shard index with dense samples (every array non-trivial)."""
    return _build_pristine(tmp_path_factory, corpus, "pristine")


def _build_pristine(tmp_path_factory, corpus, name: str, **kw) -> Path:
    out = tmp_path_factory.mktemp(name) / "idx"
    idx = fmindex.build(Documents(corpus), out, sa_sample=4, isa_sample=8, progress=False, **kw)
    assert idx.num_shards == 1
    idx.close()
    return out


@pytest.fixture
def damaged(pristine, tmp_path) -> Path:
    """A fresh copy of the pristine index, to damage."""
    return _copy_index(pristine, tmp_path)


def _copy_index(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "idx"
    shutil.copytree(src, dst)
    return dst


def test_pristine_index_is_right(pristine, corpus):
    docs = [r["text"].encode() for r in corpus]
    for verify in VERIFY_MODES:
        with fmindex.open(pristine, verify=verify) as idx:
            for p in PATTERNS:
                assert idx.count(p) == oracle_count(docs, p.encode()), p
            assert [tuple(r) for r in idx.locate("beta").tolist()] == \
                oracle_locate(docs, b"beta")
            assert [idx.document(i).data for i in range(len(idx))] == docs
            assert idx.metadata(3) == {"id": 3, "tag": "odd"}


def test_every_shard_file_is_covered(pristine):
    """The parametrized cases below cover every file a built shard holds."""
    on_disk = sorted(str(p.relative_to(pristine)) for p in pristine.rglob("*") if p.is_file())
    assert on_disk == sorted(ALL_FILES)
    for f in ARRAY_FILES:
        assert (pristine / f).stat().st_size > fmt.HEADER_BYTES, f"{f} has an empty payload"


# ----------------------------------------------------------- truncated / missing files
@pytest.mark.parametrize("fname", ALL_FILES)
@pytest.mark.parametrize("how", ["empty", "10 bytes", "one byte short"])
def test_truncated_file_is_refused(damaged, fname, how):
    _check_truncation_refused(damaged, fname, how)


def _check_truncation_refused(index: Path, fname: str, how: str) -> None:
    path = index / fname
    size = path.stat().st_size
    truncate(path, {"empty": 0, "10 bytes": 10, "one byte short": size - 1}[how])
    for verify in VERIFY_MODES:
        with pytest.raises(IndexFormatError) as ei:
            fmindex.open(index, verify=verify)
        assert_names(ei.value, path)
        if fname.endswith(".arr"):
            assert isinstance(ei.value, TruncatedIndexFileError), ei.value


@pytest.mark.parametrize("fname", ARRAY_FILES)
def test_appended_file_is_refused(damaged, fname):
    path = damaged / fname
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(TruncatedIndexFileError) as ei:
        fmindex.open(damaged, verify=False)
    assert_names(ei.value, path)


@pytest.mark.parametrize("fname", ALL_FILES)
def test_missing_file_is_refused(damaged, fname):
    path = damaged / fname
    path.unlink()
    for verify in VERIFY_MODES:
        with pytest.raises(MissingIndexFileError) as ei:
            fmindex.open(damaged, verify=verify)
        assert_names(ei.value, path)


def test_missing_shard_directory_is_refused(damaged):
    shutil.rmtree(damaged / SHARD)
    with pytest.raises(MissingIndexFileError):
        fmindex.open(damaged)


@pytest.mark.parametrize("what", ["missing", "file", "empty dir"])
def test_not_an_index_is_refused(tmp_path, what):
    p = tmp_path / "x"
    if what == "file":
        p.write_text("hello")
    elif what == "empty dir":
        p.mkdir()
    with pytest.raises(IndexFormatError):
        fmindex.open(p)


# ------------------------------------------------------------------ header damage
@pytest.mark.parametrize("fname", ARRAY_FILES)
def test_header_byte_flip_is_refused(damaged, fname):
    """Every single byte of the 64-byte header is covered by the magic, the byte-order
    mark or the header CRC: each flip is refused, whatever ``verify``."""
    path = damaged / fname
    pristine_bytes = path.read_bytes()
    for off in range(fmt.HEADER_BYTES):
        for xor in (0xFF, 0x01):
            flip(path, off, xor)
            for verify in (False, "auto"):
                with pytest.raises(IndexFormatError) as ei:
                    fmindex.open(damaged, verify=verify)
                assert_names(ei.value, path)
                if not (0 <= off < 8 or 12 <= off < 16):       # not magic / byte order
                    assert isinstance(ei.value, CorruptIndexError), (off, ei.value)
            path.write_bytes(pristine_bytes)
    fmindex.open(damaged).close()                                # restored: opens again


@pytest.mark.parametrize("fname", ARRAY_FILES)
@pytest.mark.parametrize("change,error", [
    ({"major": fmt.FORMAT_MAJOR + 1}, FormatVersionError),
    ({"major": 0}, FormatVersionError),
    ({"bom": 0x04030201}, IndexFormatError),          # written on a big-endian machine
    ({"name": b"bogus".ljust(16, b"\0")}, CorruptIndexError),
    ({"dtype": b"<f8".ljust(8, b"\0")}, CorruptIndexError),
    ({"crc": 12345}, CorruptIndexError),              # differs from the manifest
], ids=["major+1", "major0", "bom", "name", "dtype", "crc"])
def test_consistent_but_wrong_header_is_refused(damaged, fname, change, error):
    path = damaged / fname
    rewrite_header(path, **change)
    for verify in VERIFY_MODES:
        with pytest.raises(error) as ei:
            fmindex.open(damaged, verify=verify)
        assert_names(ei.value, path)


@pytest.mark.parametrize("fname", ARRAY_FILES)
def test_header_lying_about_size_is_refused(damaged, fname):
    path = damaged / fname
    head = fmt.HEADER.unpack(path.read_bytes()[:fmt.HEADER_BYTES])
    items, nbytes = head[5], head[6]
    itemsize = nbytes // items
    rewrite_header(path, items=items + 1, nbytes=nbytes + itemsize)
    with pytest.raises(TruncatedIndexFileError) as ei:
        fmindex.open(damaged, verify=False)
    assert_names(ei.value, path)


def test_newer_minor_version_is_read(damaged, pristine):
    for f in ARRAY_FILES:
        rewrite_header(damaged / f, minor=fmt.FORMAT_MINOR + 7)
    for f in JSON_FILES:
        edit_json(damaged / f, lambda o: o.__setitem__("format_version",
                                                      [fmt.FORMAT_MAJOR, fmt.FORMAT_MINOR + 7]))
    with fmindex.open(damaged, verify=True) as a, fmindex.open(pristine) as b:
        assert answers(a) == answers(b)


def test_swapped_array_files_are_refused(damaged):
    a, b = damaged / SHARD / "sa_samples.arr", damaged / SHARD / "isa_samples.arr"
    shutil.copyfile(a, b)
    with pytest.raises(CorruptIndexError) as ei:
        fmindex.open(damaged, verify=False)
    assert_names(ei.value, b)


def test_file_from_another_index_is_refused(damaged, tmp_path):
    """Same shape, other content: the manifest's CRC catches it even without verify."""
    other = fmindex.build(Documents([r.upper() for r in make_docs(240, seed=7)]),
                          tmp_path / "other", sa_sample=4, isa_sample=8, progress=False)
    other.close()
    src = tmp_path / "other" / SHARD / "wt_lines.arr"
    dst = damaged / SHARD / "wt_lines.arr"
    if src.stat().st_size != dst.stat().st_size:
        pytest.skip("the other index's wavelet tree has another size")
    shutil.copyfile(src, dst)
    with pytest.raises(IndexFormatError) as ei:
        fmindex.open(damaged, verify=False)
    assert_names(ei.value, dst)


# ------------------------------------------------------------------ payload damage
def _payload_offsets(path: Path) -> list:
    size = path.stat().st_size
    n = size - fmt.HEADER_BYTES
    return sorted({fmt.HEADER_BYTES, fmt.HEADER_BYTES + n // 2, size - 1})


@pytest.mark.parametrize("fname", ARRAY_FILES)
def test_payload_flip_is_caught_by_verify(damaged, fname):
    _check_flips_caught(damaged, fname)


def _check_flips_caught(index: Path, fname: str) -> None:
    path = index / fname
    pristine_bytes = path.read_bytes()
    for off in _payload_offsets(path):
        for xor in (0xFF, 0x01):
            flip(path, off, xor)
            with pytest.raises(CorruptIndexError) as ei:
                fmindex.open(index, verify=True)
            assert_names(ei.value, path)
            # every file of this small index is under the "auto" checksum limit
            with pytest.raises(CorruptIndexError) as ei:
                fmindex.open(index, verify="auto")
            assert_names(ei.value, path)
            path.write_bytes(pristine_bytes)


# The helper subprocess imports fmindex once, then forks one child per damaged copy:
# a child killed by a signal (segfault) is recorded, not fatal.
_DRIVER = textwrap.dedent(r'''
    import json, os, sys, time, traceback
    import fmindex

    cfg = json.load(open(sys.argv[1]))
    PATS = cfg["patterns"]

    def workload(path):
        idx = fmindex.open(path, verify=False, num_threads=1)
        out = {"counts": [idx.count(p) for p in PATS],
               "count_many": idx.count_many(PATS, num_threads=1).tolist()}
        out["locate"] = [idx.locate(p).tolist() for p in PATS[:6]]
        docs, windows, meta = [], [], []
        for i in range(len(idx)):
            docs.append(idx.document(i).data.hex())
            n = idx.doc_length(i)
            windows.append("".join(idx.extract(i, s, s + 5).hex() for s in range(0, n, 3)))
            meta.append(idx.metadata(i))
        out["documents"], out["extract"], out["metadata"] = docs, windows, meta
        return out

    results = {}
    for case in cfg["cases"]:
        res_path = os.path.join(cfg["out"], case["id"] + ".json")
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                res = {"answers": workload(case["path"])}
            except fmindex.FMIndexError as e:
                res = {"fmerror": type(e).__name__, "message": str(e)}
            except BaseException as e:
                res = {"pyexc": type(e).__name__, "message": str(e)[:300]}
                code = 1
            with open(res_path, "w") as fh:
                json.dump(res, fh)
            os._exit(code)
        deadline = time.monotonic() + cfg["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                status = None
                break
            time.sleep(0.005)
        if status is None:
            results[case["id"]] = {"outcome": "hang"}
        elif os.WIFSIGNALED(status):
            results[case["id"]] = {"outcome": "signal", "signal": os.WTERMSIG(status)}
        else:
            with open(res_path) as fh:
                res = json.load(fh)
            res["outcome"] = ("answers" if "answers" in res else
                              "fmerror" if "fmerror" in res else "pyexc")
            res["exit"] = os.WEXITSTATUS(status)
            results[case["id"]] = res
    print(json.dumps(results))
''')


@pytest.fixture(scope="module")
def unverified_flips(pristine, tmp_path_factory, subprocess_env):
    """Outcome of opening (verify=False) and querying a copy of the index with one payload
    byte flipped: for every array file, at its first, middle and last payload byte."""
    return _flip_outcomes(pristine, ARRAY_FILES, tmp_path_factory.mktemp("flips"),
                          subprocess_env)


def _flip_outcomes(pristine, files, root, subprocess_env):
    cases = [{"id": "pristine", "path": str(pristine)}]
    for fname in files:
        for off in _payload_offsets(pristine / fname):
            cid = f"{Path(fname).stem}@{off}"
            dst = root / cid
            shutil.copytree(pristine, dst)
            flip(dst / fname, off)
            cases.append({"id": cid, "path": str(dst), "file": fname})
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps({"patterns": PATTERNS, "cases": cases, "out": str(root),
                               "timeout": 10}))
    driver = root / "driver.py"
    driver.write_text(_DRIVER)
    r = subprocess.run([sys.executable, str(driver), str(cfg)], capture_output=True,
                       env=subprocess_env, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    results = json.loads(r.stdout)
    for case in cases[1:]:
        shutil.rmtree(case["path"], ignore_errors=True)
    ref = results.pop("pristine")
    assert ref["outcome"] == "answers", ref
    table = {}
    for case in cases[1:]:
        res = results[case["id"]]
        if res["outcome"] == "answers":
            wrong = [k for k, v in res["answers"].items() if v != ref["answers"][k]]
            res["wrong"] = wrong
            res["outcome"] = "WRONG ANSWERS: " + ", ".join(wrong) if wrong else "identical"
        table[case["id"]] = res
    # a summary for whoever reads the test output (pytest -rA / -s)
    print("\npayload byte flipped, opened with verify=False:")
    for cid, res in table.items():
        print(f"  {cid:<24} {res['outcome']} {res.get('fmerror', '')}{res.get('pyexc', '')}"
              f"{res.get('signal', '')}")
    return ref, table


class UnverifiedCorruptionWarning(UserWarning):
    """A corrupted file opened with verify=False crashed the process or answered wrongly."""


STRICT_UNVERIFIED = os.environ.get("FMINDEX_STRICT_UNVERIFIED") == "1"


@pytest.mark.parametrize("fname", ARRAY_FILES)
def test_payload_flip_without_verify(unverified_flips, fname, record_property):
    """verify=False skips the payload checksums: the kernels then trust the arrays.

    Asserted: no hang, and a file backward search never reads cannot change a count.
    Reported (a UnverifiedCorruptionWarning; a failure with FMINDEX_STRICT_UNVERIFIED=1):
    a child killed by a signal (segfault) or wrong counts -- the outcome should be an
    FMIndexError, identical counts or a Python exception, never a crash.
    """
    ref, table = unverified_flips
    stem = Path(fname).stem
    mine = {cid: res for cid, res in table.items() if cid.split("@")[0] == stem}
    assert mine
    record_property("outcomes", {cid: res["outcome"] for cid, res in mine.items()})
    problems = []
    for cid, res in mine.items():
        assert res["outcome"] != "hang", (cid, res)
        if res["outcome"] == "signal":
            problems.append(f"{cid}: killed by signal {res['signal']}")
        elif "wrong" in res:
            wrong_counts = {"counts", "count_many"} & set(res["wrong"])
            if wrong_counts:
                assert fname in COUNT_FILES, (cid, res["wrong"])
                problems.append(f"{cid}: wrong {', '.join(sorted(wrong_counts))}")
    if problems:
        msg = (f"{fname} corrupted, opened with verify=False: " + "; ".join(problems))
        if STRICT_UNVERIFIED:
            pytest.fail(msg)
        warnings.warn(msg, UnverifiedCorruptionWarning)


# ------------------------------------------- profile "small": its own sampling files
@pytest.fixture(scope="module")
def pristine_small(tmp_path_factory, corpus) -> Path:
    """A small-profile index: Elias-Fano sampled rows, ISA samples stored as sample ranks
    (isa_sample a multiple of sa_sample), RRR tree bits."""
    out = _build_pristine(tmp_path_factory, corpus, "pristine_small", profile="small")
    with fmindex.open(out) as idx:
        p = idx.shards[0].params
    assert (p["sampled_encoding"], p["isa_encoding"], p["wt_bits"]) == \
        ("elias_fano", "sample_rank", "rrr63rc")
    return out


@pytest.fixture
def damaged_small(pristine_small, tmp_path) -> Path:
    return _copy_index(pristine_small, tmp_path)


def test_pristine_small_index_is_right(pristine_small, corpus):
    docs = [r["text"].encode() for r in corpus]
    with fmindex.open(pristine_small, verify=True) as idx:
        for p in PATTERNS:
            assert idx.count(p) == oracle_count(docs, p.encode()), p
        assert [tuple(r) for r in idx.locate("beta").tolist()] == oracle_locate(docs, b"beta")
        assert [idx.document(i).data for i in range(len(idx))] == docs
        for i in range(0, len(idx), 5):
            n = len(docs[i])
            assert [idx.extract(i, a, a + 7) for a in range(0, n, 3)] == \
                [docs[i][a:a + 7] for a in range(0, n, 3)]


@pytest.mark.parametrize("fname", SMALL_ONLY_FILES)
@pytest.mark.parametrize("how", ["empty", "10 bytes", "one byte short"])
def test_small_truncated_file_is_refused(damaged_small, fname, how):
    _check_truncation_refused(damaged_small, fname, how)


@pytest.mark.parametrize("fname", SMALL_ONLY_FILES)
def test_small_payload_flip_is_caught_by_verify(damaged_small, fname):
    _check_flips_caught(damaged_small, fname)


@pytest.mark.parametrize("edit", [
    {"sampled_encoding": "bitmap"}, {"isa_encoding": "rows please"},
    {"sampled_last": 0}, {"sampled_last": 10 ** 15}, {"sampled_ef_low_bits": 70},
    {"isa_width": 1}, {"isa_width": None}, {"isa_sample": 6, "n_isa_samples": None},
    {"sampled_encoding": "blocks"}, {"isa_encoding": "row"},
])
def test_small_inconsistent_sampling_params_are_refused(damaged_small, edit):
    """A manifest whose sampling parameters do not match its arrays is refused on open."""
    mpath = damaged_small / SHARD / "shard.json"
    man = json.loads(mpath.read_text())
    p = man["params"]
    for k, v in edit.items():
        if k == "n_isa_samples":
            n_txt = p["n_rows"] - 1
            p[k] = (n_txt + p["isa_sample"] - 1) // p["isa_sample"]
        elif v is None:
            del p[k]
        else:
            p[k] = v
    mpath.write_text(json.dumps(man))
    for verify in VERIFY_MODES:
        with pytest.raises(IndexFormatError):
            fmindex.open(damaged_small, verify=verify)


@pytest.fixture(scope="module")
def unverified_small_flips(pristine_small, tmp_path_factory, subprocess_env):
    return _flip_outcomes(pristine_small, SMALL_ONLY_FILES,
                          tmp_path_factory.mktemp("flips_small"), subprocess_env)


@pytest.mark.parametrize("fname", SMALL_ONLY_FILES)
def test_small_payload_flip_without_verify(unverified_small_flips, fname):
    """verify=False: a flipped byte in the small profile's Elias-Fano sampled rows is refused
    on open (they are decoded and checked completely) unless it only hit padding; one in
    the other files changes no count;
    never a crash or a hang (ISA sample ranks are clamped to the marked rows)."""
    ref, table = unverified_small_flips
    stem = Path(fname).stem
    mine = {cid: res for cid, res in table.items() if cid.split("@")[0] == stem}
    assert mine
    for cid, res in mine.items():
        assert res["outcome"] not in ("hang", "signal"), (cid, res)
        if stem.startswith("sampled_ef"):       # refused, or a flip in padding bits
            assert res["outcome"] in ("fmerror", "identical"), (cid, res)
        if "wrong" in res and stem != "wt_payload":
            assert not {"counts", "count_many"} & set(res["wrong"]), (cid, res["wrong"])


_DEFAULT_OPEN = textwrap.dedent(r'''
    import json, sys, fmindex
    want = json.load(open(sys.argv[2]))
    try:
        idx = fmindex.open(sys.argv[1])            # default verify="auto"
        got = idx.count_many(want["patterns"], num_threads=1).tolist()
        for i in range(0, len(idx), 7):
            idx.document(i)
        idx.locate("ab", limit=5000)
    except fmindex.FMIndexError as e:
        print("error", type(e).__name__)
        sys.exit(0)
    print("identical" if got == want["counts"] else "wrong")
''')


def test_large_index_flipped_rank_counter_default_open(tmp_path, subprocess_env):
    rng = np.random.default_rng(1)
    text = rng.integers(ord("a"), ord("z") + 1, size=8_000_000, dtype=np.uint8)
    text[rng.integers(0, text.shape[0], size=text.shape[0] // 6)] = ord(" ")
    raw = text.tobytes()
    out = tmp_path / "idx"
    idx = fmindex.build(Documents([raw[i:i + 20_000] for i in range(0, len(raw), 20_000)]),
                        out, progress=False)
    pats = [raw[i:i + k].decode() for i in range(0, len(raw), 400_000) for k in (1, 2, 3, 5, 8)]
    want = {"patterns": pats, "counts": idx.count_many(pats).tolist()}
    idx.close()
    lines = out / SHARD / "wt_lines.arr"
    assert lines.stat().st_size > (1 << 22), "wt_lines.arr must be over the 'auto' CRC limit"
    flip(lines, fmt.HEADER_BYTES + 64 * 7000 + 2)
    (tmp_path / "want.json").write_text(json.dumps(want))
    (tmp_path / "open.py").write_text(_DEFAULT_OPEN)
    r = subprocess.run([sys.executable, str(tmp_path / "open.py"), str(out),
                        str(tmp_path / "want.json")], capture_output=True, env=subprocess_env,
                       timeout=120)
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout.split()[0] in (b"error", b"identical"), r.stdout


# ------------------------------------------------------------------ manifests
@pytest.mark.parametrize("fname", JSON_FILES)
@pytest.mark.parametrize("garbage", [b"", b"{", b"\x00\xff\xfe garbage", b"not json at all",
                                     b'{"format": "fmindex", "format_version": [1, 0]',
                                     b"\xef\xbb\xbf\xff"])
def test_garbage_json_is_corrupt(damaged, fname, garbage):
    path = damaged / fname
    path.write_bytes(garbage)
    with pytest.raises(CorruptIndexError) as ei:
        fmindex.open(damaged)
    assert_names(ei.value, path)


@pytest.mark.parametrize("fname", JSON_FILES)
@pytest.mark.parametrize("obj", [[], "fmindex", 1, None, {}, {"format": "something else"}])
def test_json_that_is_not_a_manifest_is_refused(damaged, fname, obj):
    path = damaged / fname
    path.write_text(json.dumps(obj))
    with pytest.raises(IndexFormatError) as ei:
        fmindex.open(damaged)
    assert_names(ei.value, path)


@pytest.mark.parametrize("fname", JSON_FILES)
@pytest.mark.parametrize("version", [[fmt.FORMAT_MAJOR + 1, 0], [0, 9], None, "1.0", [1],
                                     [fmt.FORMAT_MAJOR + 1]])
def test_json_format_version(damaged, fname, version):
    path = damaged / fname
    edit_json(path, lambda o: o.__setitem__("format_version", version))
    with pytest.raises(FormatVersionError) as ei:
        fmindex.open(damaged)
    assert_names(ei.value, path)


@pytest.mark.parametrize("complete", [False, None, "true", 1, "missing"])
def test_incomplete_manifest_is_refused(damaged, complete):
    path = damaged / "manifest.json"
    if complete == "missing":
        edit_json(path, lambda o: o.pop("complete"))
    else:
        edit_json(path, lambda o: o.__setitem__("complete", complete))
    with pytest.raises(CorruptIndexError) as ei:
        fmindex.open(damaged)
    assert_names(ei.value, path)


def _set(key, value):
    return lambda o: o.__setitem__(key, value)


def _shard0(key, value):
    return lambda o: o["shards"][0].__setitem__(key, value)


def _param(key, value):
    return lambda o: o["params"].__setitem__(key, value)


def _drop_param(key):
    return lambda o: o["params"].pop(key)


def _file_entry(value):
    return lambda o: o["files"].__setitem__("C", value)




@pytest.mark.parametrize("fname,mutate", [
    pytest.param("manifest.json", _set("shards", "shard-00000"), id="shards-not-list"),
    pytest.param("manifest.json", _set("shards", []), id="no-shards"),
    pytest.param("manifest.json", _shard0("n_docs", 3), id="n_docs-differs"),
    pytest.param("manifest.json", _shard0("num_bytes", 1), id="num_bytes-differs"),
    pytest.param("manifest.json", _shard0("dir", "shard-99999"), id="dir-missing"),
    pytest.param("manifest.json", _set("shards", [1]), id="shard-entry-int"),
    pytest.param("manifest.json", _set("shards", [{}]), id="shard-entry-no-dir"),
    pytest.param("manifest.json", _shard0("dir", "../elsewhere"), id="shard-dir-escapes"),
    pytest.param(f"{SHARD}/shard.json", lambda o: o.pop("params"), id="no-params"),
    pytest.param(f"{SHARD}/shard.json", _set("params", []), id="params-list"),
    pytest.param(f"{SHARD}/shard.json", _param("sa_sample", "x"), id="param-str"),
    pytest.param(f"{SHARD}/shard.json", _param("n_rows", -1), id="n_rows-negative"),
    pytest.param(f"{SHARD}/shard.json", _param("num_bytes", 2 ** 70), id="num_bytes-huge"),
    pytest.param(f"{SHARD}/shard.json", _param("row_width", 1000), id="row_width-huge"),
    pytest.param(f"{SHARD}/shard.json", _param("sa_width", 99), id="sa_width-wrong"),
    pytest.param(f"{SHARD}/shard.json", _param("r0", 0), id="r0-zero"),
    pytest.param(f"{SHARD}/shard.json", _param("sigma", 300), id="sigma-wrong"),
    pytest.param(f"{SHARD}/shard.json", _param("sa_sample", 5), id="sa_sample-wrong"),
    pytest.param(f"{SHARD}/shard.json", _drop_param("sigma"), id="param-sigma-missing"),
    pytest.param(f"{SHARD}/shard.json", _param("sa_sample", 0), id="sa_sample-zero"),
    pytest.param(f"{SHARD}/shard.json", _param("isa_sample", 0), id="isa_sample-zero"),
    pytest.param(f"{SHARD}/shard.json", _param("wt_n_bits", 2 ** 70), id="wt_n_bits-huge"),
    pytest.param(f"{SHARD}/shard.json", lambda o: o.pop("files"), id="no-files"),
    pytest.param(f"{SHARD}/shard.json", _file_entry({}), id="file-entry-empty"),
    pytest.param(f"{SHARD}/shard.json", lambda o: o["files"]["C"].__setitem__("crc32", 1),
                 id="file-crc-differs"),
    pytest.param(f"{SHARD}/shard.json", lambda o: o["files"]["C"].__setitem__("items", 1),
                 id="file-items-differs"),
    pytest.param(f"{SHARD}/shard.json", _file_entry(5), id="file-entry-int"),
    pytest.param(f"{SHARD}/shard.json", lambda o: o["files"]["C"].__setitem__("bytes", "x"),
                 id="file-bytes-str"),
])
def test_inconsistent_manifest_is_refused(damaged, fname, mutate):
    """Valid JSON with the right format tag, but wrong content: an IndexFormatError,
    never a KeyError / TypeError / ZeroDivisionError from inside the library."""
    edit_json(damaged / fname, mutate)
    for verify in VERIFY_MODES:
        with pytest.raises(IndexFormatError):
            fmindex.open(damaged, verify=verify)


# --------------------------------------------------------------------- build errors
@pytest.mark.parametrize("kind", ["list", "Documents", "generator", "empty jsonl",
                                  "blank jsonl", "empty txt in dir"])
def test_empty_corpus(tmp_path, kind):
    if kind == "list":
        inputs = []
    elif kind == "Documents":
        inputs = Documents([])
    elif kind == "generator":
        inputs = (x for x in ())
    elif kind == "empty jsonl":
        inputs = tmp_path / "empty.jsonl"
        inputs.write_bytes(b"")
    elif kind == "blank jsonl":
        inputs = tmp_path / "blank.jsonl"
        inputs.write_bytes(b"\n\n  \n")
    else:
        inputs = tmp_path / "corpus"
        inputs.mkdir()
        (inputs / "a.jsonl.gz").write_bytes(gzip.compress(b""))
        (inputs / "b.jsonl").write_bytes(b"\n")
    out = tmp_path / "idx"
    with pytest.raises(EmptyCorpusError):
        fmindex.build(inputs, out, progress=False)
    no_leftovers(out)


def test_directory_without_files(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / ".hidden.txt").write_text("skipped")
    out = tmp_path / "idx"
    with pytest.raises(CorpusError):
        fmindex.build(tmp_path / "corpus", out, progress=False)
    no_leftovers(out)


def test_corpus_of_only_bad_records_is_empty(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text("{oops\n[1]\n")
    out = tmp_path / "idx"
    with pytest.raises(EmptyCorpusError, match="2 bad records skipped"):
        fmindex.build(src, out, skip_bad=True, progress=False)
    no_leftovers(out)


@pytest.mark.parametrize("shard_size", [None, 1])
def test_corpus_of_only_empty_documents(tmp_path, shard_size):
    out = tmp_path / "idx"
    idx = fmindex.build(Documents(["", b"", {"text": "", "k": 1}]), out,
                        shard_size=shard_size, progress=False)
    for i in (idx, fmindex.open(out, verify=True)):
        assert len(i) == 3 and i.num_bytes == 0
        assert i.count("") == 0 and i.count("a") == 0 and i.count(b"\0") == 0
        assert i.count_many(["", "a", b"\xff"]).tolist() == [0, 0, 0]
        assert len(i.locate("")) == 0 and len(i.locate("a")) == 0
        assert [i.document(d).data for d in range(3)] == [b"", b"", b""]
        assert i.extract(1, 0, 10) == b""
        assert i.metadata(2) == {"k": 1}
        assert i.doc_lengths().tolist() == [0, 0, 0]


def test_out_dir_exists(tmp_path):
    out = tmp_path / "idx"
    fmindex.build(Documents(["first version"]), out, progress=False)
    with pytest.raises(FMIndexError, match="already exists"):
        fmindex.build(Documents(["second version"]), out, progress=False)
    assert fmindex.open(out).count("first") == 1
    idx = fmindex.build(Documents(["second version", "another second"]), out,
                        overwrite=True, progress=False)
    assert idx.count("first") == 0 and idx.count("second") == 2
    reopened = fmindex.open(out, verify=True)
    assert len(reopened) == 2 and reopened.document(1).data == b"another second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]    # no .idx.old-* left


def test_empty_existing_dir(tmp_path):
    out = tmp_path / "idx"
    out.mkdir()
    with pytest.raises(FMIndexError):
        fmindex.build(Documents(["x"]), out, progress=False)
    assert fmindex.build(Documents(["x"]), out, overwrite=True, progress=False).count("x") == 1


@pytest.mark.parametrize("what", ["dir", "file"])
def test_non_index_is_never_replaced(tmp_path, what):
    out = tmp_path / "precious"
    if what == "dir":
        out.mkdir()
        (out / "thesis.tex").write_text("years of work")
    else:
        out.write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(FMIndexError):
            fmindex.build(Documents(["x"]), out, overwrite=overwrite, progress=False)
    if what == "dir":
        assert (out / "thesis.tex").read_text() == "years of work"
    else:
        assert out.read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


class Boom(Exception):
    pass


def _exploding(n_ok: int, exc: BaseException):
    for i in range(n_ok):
        yield f"document {i} " + "lorem ipsum " * (i % 7)
    raise exc


@pytest.mark.parametrize("shard_size", [None, 200])
@pytest.mark.parametrize("exc", [Boom("midway"), KeyboardInterrupt(), MemoryError()],
                         ids=["exception", "KeyboardInterrupt", "MemoryError"])
def test_build_failing_midway_leaves_nothing(tmp_path, shard_size, exc):
    """With shard_size=200 several shards are already written when the input fails."""
    out = tmp_path / "idx"
    with pytest.raises(type(exc)):
        fmindex.build(_exploding(50, exc), out, shard_size=shard_size, progress=False)
    no_leftovers(out)


def test_bad_jsonl_line_late_in_file_leaves_nothing(tmp_path):
    src = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"text": f"doc {i} " * 20}) for i in range(2000)]
    lines.insert(1500, '{"text": "unterminated')
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "idx"
    with pytest.raises(CorpusError) as ei:
        fmindex.build(src, out, shard_size="16k", progress=False)
    assert ei.value.line == 1501 and ei.value.path is not None
    assert "corpus.jsonl:1501" in str(ei.value)
    no_leftovers(out)
    idx = fmindex.build(src, out, shard_size="16k", skip_bad=True, progress=False)
    assert len(idx) == 2000 and idx.manifest["skipped_records"] == 1


def test_failed_overwrite_keeps_the_old_index(tmp_path):
    out = tmp_path / "idx"
    fmindex.build(Documents(["the old index"]), out, progress=False)
    with pytest.raises(Boom):
        fmindex.build(_exploding(30, Boom()), out, overwrite=True, progress=False)
    idx = fmindex.open(out, verify=True)
    assert len(idx) == 1 and idx.count("old") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


# ---------------------------------------------------------------------- disk full
def _enospc_on_call(monkeypatch, module, name, n):
    real = getattr(module, name)
    calls = {"n": 0}

    def failing(*a, **kw):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*a, **kw)

    monkeypatch.setattr(module, name, failing)
    return calls


N_ARRAYS = len(SHARD_ARRAYS)


@pytest.mark.parametrize("target,n", [
    ("write_array", 1), ("write_array", 5), ("write_array", N_ARRAYS),
    ("write_array", N_ARRAYS + 3),          # in the second shard
    ("write_json", 1),                      # the first shard.json
    ("write_json", 3),                      # the top-level manifest.json (2 shards)
    ("fsync", 2),
])
def test_disk_full(tmp_path, monkeypatch, target, n):
    module = os if target == "fsync" else fmt
    calls = _enospc_on_call(monkeypatch, module, target, n)
    out = tmp_path / "idx"
    docs = Documents([f"document {i} " * 30 for i in range(40)])
    with pytest.raises(FMIndexError, match="disk full") as ei:
        fmindex.build(docs, out, shard_size="8k", progress=False)
    assert calls["n"] >= n
    assert isinstance(ei.value.__cause__, OSError)
    monkeypatch.undo()
    no_leftovers(out)


def test_disk_full_during_overwrite_keeps_the_old_index(tmp_path, monkeypatch):
    out = tmp_path / "idx"
    fmindex.build(Documents(["the old index"]), out, progress=False)
    _enospc_on_call(monkeypatch, fmt, "write_array", 3)
    with pytest.raises(FMIndexError, match="disk full"):
        fmindex.build(Documents(["new"] * 10), out, overwrite=True, progress=False)
    monkeypatch.undo()
    assert fmindex.open(out, verify=True).count("old") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_other_os_error_is_not_called_disk_full(tmp_path, monkeypatch):
    def eio(*a, **kw):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(fmt, "write_array", eio)
    out = tmp_path / "idx"
    with pytest.raises(OSError) as ei:
        fmindex.build(Documents(["x"]), out, progress=False)
    assert "disk full" not in str(ei.value)
    no_leftovers(out)


# ------------------------------------------------------------------ killed build
_KILLED_BUILD = textwrap.dedent(r'''
    import sys, fmindex
    fmindex.build(sys.argv[1], sys.argv[2], shard_size=sys.argv[3], progress=False)
    print("finished")
''')


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    """~20 MB of generated text as JSON Lines (2000 documents of ~10 kB)."""
    root = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(42)
    text = rng.integers(ord("a"), ord("z") + 1, size=20_000_000, dtype=np.uint8)
    text[rng.integers(0, text.shape[0], size=text.shape[0] // 6)] = ord(" ")
    raw = text.tobytes().decode("ascii")
    src = root / "big.jsonl"
    with open(src, "w") as fh:
        for i in range(0, len(raw), 10_000):
            fh.write('{"text": "%s", "n": %d}\n' % (raw[i:i + 10_000], i))
    return src


@pytest.mark.parametrize("shard_size,kill_when,must_be_killed", [
    ("1G", "shard-00000", True),                 # one shard, during the suffix sort
    ("3M", "shard-00002", True),                 # two shards written, the third in progress
    ("1G", "shard-00000/wt_lines.arr", False),   # writing the files (may finish first)
], ids=["sorting", "between-shards", "writing"])
def test_killed_build_is_never_opened(tmp_path, big_corpus, subprocess_env, shard_size,
                                      kill_when, must_be_killed):
    """SIGKILL a build of ~20 MB: what is left is never opened as an index, and the next
    build to the same path works."""
    out = tmp_path / "idx"
    script = tmp_path / "build.py"
    script.write_text(_KILLED_BUILD)
    proc = subprocess.Popen([sys.executable, str(script), str(big_corpus), str(out),
                             shard_size], env=subprocess_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None:
            tmps = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-")]
            if any((t / kill_when).exists() for t in tmps):
                if must_be_killed:
                    time.sleep(0.1)
                break
            assert time.monotonic() < deadline, "the build did not get there in 60 s"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        stdout, stderr = proc.communicate()
    if proc.returncode == 0:                     # finished before the kill
        assert not must_be_killed, "the build finished before it could be killed"
        fmindex.open(out, verify=True).close()
    else:
        assert proc.returncode == -signal.SIGKILL, stderr.decode(errors="replace")
        if out.exists():                         # only if killed after the final rename
            fmindex.open(out, verify=True).close()
    tmps = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-")]
    if must_be_killed:
        assert not out.exists() and tmps
    for t in tmps:                               # a killed build's directory is no index
        with pytest.raises(FMIndexError):
            fmindex.open(t)
        for sub in t.iterdir():
            with pytest.raises(FMIndexError):
                fmindex.open(sub)
    idx = fmindex.build(Documents(["after the crash"]), out, overwrite=True, progress=False)
    assert idx.count("crash") == 1


# ---------------------------------------------------------------------- patterns
@pytest.fixture(scope="module")
def text_index(pristine, corpus):
    with fmindex.open(pristine) as idx:
        yield idx, [r["text"].encode() for r in corpus]


@pytest.mark.parametrize("bad", ["\ud800", "abc\udfff", "\udcff\udcfe", "x" * 10 + "\ud83d"])
def test_lone_surrogate_is_a_pattern_error(text_index, bad):
    idx, _ = text_index
    for call in (idx.count, idx.locate, lambda p: idx.count_many([p]),
                 lambda p: idx.count_many(["alpha", p])):
        with pytest.raises(PatternError) as ei:
            call(bad)
        assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize("bad", [1, 1.5, None, ["a"], ("a",), {"a": 1}, object(), np.int64(3),
                                 np.array([97], dtype=np.uint8)],
                         ids=lambda b: type(b).__name__)
def test_non_text_pattern_is_a_pattern_error(text_index, bad):
    idx, _ = text_index
    for call in (idx.count, idx.locate, lambda p: idx.count_many([p])):
        with pytest.raises(PatternError):
            call(bad)


def test_bytes_like_patterns(text_index):
    idx, docs = text_index
    for p in ["alpha", "héllo", "日本語", "the of"]:
        b = p.encode()
        want = oracle_count(docs, b)
        assert idx.count(p) == idx.count(b) == idx.count(bytearray(b)) == \
            idx.count(memoryview(b)) == want
        assert idx.count_many([p, b, bytearray(b), memoryview(b)]).tolist() == [want] * 4


def test_bytes_subclass_patterns(text_index):
    """A bytes subclass is a bytes pattern for every entry point (the kernels take exactly
    bytes: as_pattern converts it)."""
    class B(bytes):
        pass
    idx, docs = text_index
    for p in [b"alpha", "héllo".encode(), b"the of", b"zzz"]:
        want = oracle_count(docs, p)
        assert idx.count(B(p)) == want
        assert [tuple(r) for r in idx.locate(B(p)).tolist()] == oracle_locate(docs, p)
        assert idx.count_many([B(p), p]).tolist() == [want, want]


def test_invalid_utf8_bytes_in_a_text_index(text_index):
    """Fragments of multi-byte characters are valid byte patterns."""
    idx, docs = text_index
    for p in [b"\xc3", b"\xa9", b"\xc3\xb6", b"\xe6\x97", b"\x97\xa5", b"\xff", b"\x80\x80",
              "日本語".encode()[1:5], b"h\xc3", b"\xb6rld"]:
        assert idx.count(p) == oracle_count(docs, p), p
        assert [tuple(r) for r in idx.locate(p).tolist()] == oracle_locate(docs, p), p


_BYTE_ALPHABET = [0x00, 0x01, 0x61, 0x62, 0x80, 0xA9, 0xC3, 0xED, 0xA0, 0xFE, 0xFF]


def _byte_docs(seed: int, all_bytes: bool) -> "list[bytes]":
    rng = random.Random(seed)
    docs = [bytes(rng.choice(_BYTE_ALPHABET) for _ in range(rng.randint(0, 80)))
            for _ in range(60)]
    docs.append(b"")
    if all_bytes:
        docs.append(bytes(range(256)))
    return docs


@pytest.fixture(scope="module", params=[False, True], ids=["some-bytes", "all-256-bytes"])
def byte_index(request, tmp_path_factory):
    docs = _byte_docs(11, request.param)
    out = tmp_path_factory.mktemp("bytes") / "idx"
    idx = fmindex.build(Documents(docs), out, sa_sample=3, isa_sample=5, progress=False)
    assert (idx.shards[0].params["sep"] == 256) == request.param
    yield idx, docs
    idx.close()


_byte_patterns = st.one_of(
    st.binary(min_size=1, max_size=6),
    st.lists(st.sampled_from(_BYTE_ALPHABET), min_size=1, max_size=5).map(bytes),
)


@given(data=st.data())
def test_raw_byte_patterns_match_oracle(byte_index, data):
    idx, docs = byte_index
    if data.draw(st.booleans()):
        d = data.draw(st.sampled_from([d for d in docs if d]))
        a = data.draw(st.integers(0, len(d) - 1))
        p = d[a:a + data.draw(st.integers(1, 8))]
    else:
        p = data.draw(_byte_patterns)
    assert idx.count(p) == oracle_count(docs, p)
    assert [tuple(r) for r in idx.locate(p).tolist()] == oracle_locate(docs, p)
    assert idx.count_many([p, b""]).tolist() == [oracle_count(docs, p), idx.num_bytes]


def test_byte_documents_round_trip(byte_index):
    idx, docs = byte_index
    assert [idx.document(i).data for i in range(len(idx))] == docs
    for i, d in enumerate(docs):
        assert idx.extract(i, 2, 9) == d[2:9]


def test_huge_pattern_not_in_corpus(text_index):
    idx, _ = text_index
    big = (b"alpha beta " * 100_000)[:1 << 20]
    t = time.perf_counter()
    assert idx.count(big) == 0
    assert idx.count(big.decode()) == 0
    assert len(idx.locate(big)) == 0
    assert idx.count_many([big, b"alpha"]).tolist()[0] == 0
    assert time.perf_counter() - t < 2.0


def test_pattern_size_limit(text_index):
    idx, _ = text_index
    limit = 1 << 24
    assert idx.count(b"z" * limit) == 0                      # at the limit: fine
    for p in (b"z" * (limit + 1), "z" * (limit + 1), bytearray(limit + 1)):
        for call in (idx.count, idx.locate, lambda q: idx.count_many([q])):
            with pytest.raises(PatternError, match="limit"):
                call(p)


# ------------------------------------------------------------ documents and extract
@pytest.fixture(scope="module")
def sharded_index(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("sharded") / "idx"
    idx = fmindex.build(Documents(corpus), out, shard_size="2k", sa_sample=5, isa_sample=7,
                        progress=False)
    assert idx.num_shards > 3
    yield idx, [r["text"].encode() for r in corpus]
    idx.close()


@pytest.mark.parametrize("which", ["text_index", "sharded_index"])
def test_out_of_range_documents(request, which):
    idx, docs = request.getfixturevalue(which)
    n = len(idx)
    assert n == len(docs)
    for d in (-1, -n, -n - 1, n, n + 1, 2 ** 40, 2 ** 70):
        for call in (idx.document, idx.extract, idx.metadata, idx.doc_length,
                     lambda x: idx.extract(x, 0, 1), lambda x: idx.snippet(x, 0, 1)):
            with pytest.raises(IndexError):
                call(d)
    assert idx.document(n - 1).data == docs[-1]
    assert idx.document(np.int64(n - 1)).data == docs[-1]


@pytest.mark.parametrize("which", ["text_index", "sharded_index"])
def test_negative_offsets(request, which):
    idx, docs = request.getfixturevalue(which)
    d = max(range(len(docs)), key=lambda i: len(docs[i]))
    for start, end in ((-1, None), (-1, 5), (0, -1), (-5, -1)):
        with pytest.raises(ValueError):
            idx.extract(d, start, end)
    for off, length, ctx in ((-1, 1, 0), (0, -1, 0), (0, 1, -1)):
        with pytest.raises(ValueError):
            idx.snippet(d, off, length, ctx)
    with pytest.raises(ValueError):
        idx.locate("alpha", limit=-1)


@pytest.mark.parametrize("which", ["text_index", "sharded_index"])
def test_extract_is_clipped(request, which):
    idx, docs = request.getfixturevalue(which)
    for i in range(0, len(docs), 7):
        d = docs[i]
        assert idx.extract(i) == d
        assert idx.extract(i, 3, 10 ** 9) == d[3:]
        assert idx.extract(i, 10 ** 9) == b""
        assert idx.extract(i, 9, 4) == b""
        assert idx.document(i).data == d


def test_build_working_directory_is_refused(pristine, tmp_path):
    """A build killed after writing its manifest but before the final rename leaves a
    complete-looking .NAME.tmp-XXXX directory: only the rename publishes it."""
    work = tmp_path / ".idx.tmp-k1ll3d"
    shutil.copytree(pristine, work)
    with pytest.raises(IndexFormatError, match="--resume"):
        fmindex.open(work)
    published = tmp_path / "idx"
    work.rename(published)
    fmindex.open(published).close()


def test_count_checked_fast_path(text_index):
    """FMShard.count_checked, Index.count's one-call fast path: bytes and str (as UTF-8) up
    to max_bytes, on both sides of the length up to which the kernel keeps the GIL (16);
    -1 for what the slow path must explain (other types, too long, not valid Unicode)."""
    idx, docs = text_index
    fm = idx.shards[0].fm
    class S(str):
        pass
    for p in [b"a", b"alpha", b"alpha beta gamm", b"alpha beta gamma", b"alpha beta gamma ",
              "héllo".encode(), b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzz"]:
        want = oracle_count(docs, p)
        assert fm.count_checked(p, len(p)) == fm.count(p)
        if len(idx.shards) == 1:
            assert fm.count_checked(p, len(p)) == want
            assert fm.count_checked(p.decode(), len(p)) == want
        assert fm.count_checked(p, len(p) - 1) == -1                 # over max_bytes
        assert fm.count_checked(p.decode(), len(p) - 1) == -1        # UTF-8 length counts
        assert idx.count(p) == idx.count(p.decode()) == idx.count(S(p.decode())) == want
    assert fm.count_checked(b"", 0) == fm.count_checked("", 0) == fm.num_bytes
    for bad in ("\ud800", bytearray(b"alpha"), memoryview(b"alpha"), S("alpha"), 3, None):
        assert fm.count_checked(bad, 1 << 24) == -1


def test_pattern_over_the_limit_is_a_pattern_error(text_index):
    """A pattern longer than MAX_PATTERN_BYTES is refused by every entry point, also in a
    list of bytes (count_many's fast path) and as str."""
    from fmindex.index import MAX_PATTERN_BYTES
    idx, docs = text_index
    big = b"a" * (MAX_PATTERN_BYTES + 1)
    for call in (idx.count, idx.locate, lambda p: idx.count_many([b"alpha", p]),
                 lambda p: idx.count_many([b"alpha", p.decode()])):
        with pytest.raises(PatternError, match="exceeds the limit"):
            call(big)
    ok = [b"alpha", b"the", "héllo".encode()]
    assert idx.count_many(ok).tolist() == [oracle_count(docs, p) for p in ok]
