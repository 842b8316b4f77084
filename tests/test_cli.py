"""The ``fmindex`` command line, run as ``python -m fmindex`` in a subprocess."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fmindex
from fmindex.cli import make_parser

RECORDS = [
    {"text": "natural language processing with an fm-index", "id": 1, "lang": "en"},
    {"text": "the FM-index of natural text; natural selection", "id": 2, "lang": "en",
     "tags": ["a", "b"]},
    {"text": "héllo wörld, natürlich natural", "id": 3, "lang": "de", "score": 0.5},
    {"text": "", "id": 4, "lang": None},
    {"text": "日本語のテキスト natural", "id": 5, "lang": "ja"},
]
NOTES = "some notes about natural things\nsecond line\n"
DOCS = [r["text"].encode() for r in RECORDS] + [NOTES.encode()]


def oracle(pattern: bytes) -> list:
    out = []
    for d, text in enumerate(DOCS):
        i = text.find(pattern)
        while i >= 0:
            out.append((d, i))
            i = text.find(pattern, i + 1)
    return out


def run(env, *args, cwd=None, check=None):
    r = subprocess.run([sys.executable, "-m", "fmindex", *map(str, args)], capture_output=True,
                       env=env, cwd=cwd, timeout=120)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
    return r


def no_traceback(r):
    assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    with gzip.open(root / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        for r in RECORDS:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (root / "notes.txt").write_text(NOTES, encoding="utf-8")
    lines = [json.dumps(RECORDS[0]), json.dumps(RECORDS[1]), "{not json", json.dumps(RECORDS[2])]
    (root / "bad.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def built(files, subprocess_env):
    """(index path, the build's CompletedProcess)."""
    out = files / "idx"
    r = run(subprocess_env, "build", files / "corpus.jsonl.gz", files / "notes.txt", "-o", out,
            "--sa-sample", 4, "--isa-sample", 8)
    return out, r


@pytest.fixture
def idx(built):
    return built[0]


# ------------------------------------------------------------------------- build
def test_build_prints_a_summary(built, files):
    out, r = built
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert f"built {out}" in text
    assert "phases:" in text
    for line in ("documents", "text bytes", "shards", "total"):
        assert line in text
    docs_line = next(ln for ln in text.splitlines() if ln.startswith("documents"))
    assert docs_line.split()[-1] == str(len(DOCS))
    bytes_line = next(ln for ln in text.splitlines() if ln.startswith("text bytes"))
    assert bytes_line.split()[-1].replace(",", "") == str(sum(map(len, DOCS)))
    with fmindex.open(out, verify=True) as ix:
        assert [ix.document(i).data for i in range(len(ix))] == DOCS
        assert ix.metadata(1) == {"id": 2, "lang": "en", "tags": ["a", "b"]}
        assert ix.metadata(5) == {"path": str(files / "notes.txt")}


def test_build_quiet(files, subprocess_env, tmp_path):
    r = run(subprocess_env, "build", files / "notes.txt", "-o", tmp_path / "q", "-q", check=0)
    assert r.stdout == b""


def test_build_existing_output_needs_force(files, subprocess_env, tmp_path):
    out = tmp_path / "idx"
    run(subprocess_env, "build", files / "notes.txt", "-o", out, "-q", check=0)
    r = run(subprocess_env, "build", files / "corpus.jsonl.gz", "-o", out, "-q", check=2)
    assert b"already exists" in r.stderr and b"--force" in r.stderr
    no_traceback(r)
    run(subprocess_env, "build", files / "corpus.jsonl.gz", "-o", out, "-q", "--force", check=0)
    assert run(subprocess_env, "count", out, "natural", check=0).stdout == b"5\n"


def test_build_bad_line(files, subprocess_env, tmp_path):
    out = tmp_path / "idx"
    r = run(subprocess_env, "build", files / "bad.jsonl", "-o", out, check=2)
    err = r.stderr.decode()
    assert "bad.jsonl:3" in err, err                   # file and 1-based line
    assert "--skip-bad" in err
    no_traceback(r)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_build_skip_bad(files, subprocess_env, tmp_path):
    out = tmp_path / "idx"
    r = run(subprocess_env, "build", files / "bad.jsonl", "-o", out, "--skip-bad", check=0)
    text = r.stdout.decode()
    assert "skipped 1 bad records" in text
    assert "bad.jsonl:3" in text
    assert run(subprocess_env, "count", out, "natural", check=0).stdout == b"4\n"


def test_build_missing_input_among_others(files, subprocess_env, tmp_path):
    r = run(subprocess_env, "build", tmp_path / "nope.jsonl", files / "notes.txt",
            "-o", tmp_path / "idx", check=2)
    assert b"nope.jsonl" in r.stderr
    no_traceback(r)
    assert not (tmp_path / "idx").exists()


def test_build_missing_input(subprocess_env, tmp_path):
    r = run(subprocess_env, "build", tmp_path / "nope.jsonl", "-o", tmp_path / "idx")
    assert r.returncode == 2, r
    assert b"nope.jsonl" in r.stderr
    no_traceback(r)
    assert not (tmp_path / "idx").exists()


def test_build_text_field(files, subprocess_env, tmp_path):
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"body": "abc abc", "text": "zzz"}) + "\n")
    out = tmp_path / "idx"
    run(subprocess_env, "build", src, "-o", out, "--text-field", "body", "-q", check=0)
    assert run(subprocess_env, "count", out, "abc", "zzz", check=0).stdout == b"2\tabc\n0\tzzz\n"


# ------------------------------------------------------------------------- count
def test_count_one(idx, subprocess_env):
    r = run(subprocess_env, "count", idx, "natural", check=0)
    assert r.stdout == f"{len(oracle(b'natural'))}\n".encode()


def test_count_several(idx, subprocess_env):
    pats = ["natural", "FM-index", "wörld", "日本語", "absent!", " "]
    r = run(subprocess_env, "count", idx, *pats, check=0)
    lines = r.stdout.decode().splitlines()
    assert lines == [f"{len(oracle(p.encode()))}\t{p}" for p in pats]


def test_count_hex(idx, subprocess_env):
    for p in (b"natural", "ö".encode(), "ö".encode()[:1], b"\xff"):
        r = run(subprocess_env, "count", idx, p.hex(), "--hex", check=0)
        assert r.stdout == f"{len(oracle(p))}\n".encode(), p


def test_count_hex_several(idx, subprocess_env):
    pats = [b"natural", b"text", "ö".encode()]
    r = run(subprocess_env, "count", idx, "--hex", *[p.hex() for p in pats], check=0)
    counts = [int(line.split("\t")[0]) for line in r.stdout.decode().splitlines()]
    assert counts == [len(oracle(p)) for p in pats]


def test_count_bad_hex(idx, subprocess_env):
    r = run(subprocess_env, "count", idx, "zz", "--hex", check=2)
    assert b"hexadecimal" in r.stderr
    no_traceback(r)


# ------------------------------------------------------------------------ locate
def test_locate_json(idx, subprocess_env):
    r = run(subprocess_env, "locate", idx, "natural", "--json", check=0)
    got = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [(o["doc"], o["offset"]) for o in got] == oracle(b"natural")


def test_locate_text_lines(idx, subprocess_env):
    r = run(subprocess_env, "locate", idx, "natural", "--context", 5, check=0)
    lines = r.stdout.decode().splitlines()
    assert len(lines) == len(oracle(b"natural"))
    for line, (d, o) in zip(lines, oracle(b"natural")):
        doc, off, snippet = line.split("\t")
        assert (int(doc), int(off)) == (d, o)
        assert "[natural]" in snippet


def test_locate_limit(idx, subprocess_env):
    total = len(oracle(b"natural"))
    r = run(subprocess_env, "locate", idx, "natural", "--limit", 2, check=0)
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 2
    assert f"{total - 2} more" in r.stderr.decode()
    r = run(subprocess_env, "locate", idx, "natural", "--limit", 3, "--json", check=0)
    got = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(got) == 3
    assert {(o["doc"], o["offset"]) for o in got} <= set(oracle(b"natural"))
    r = run(subprocess_env, "locate", idx, "natural", "--limit", 100, check=0)
    assert len(r.stdout.decode().splitlines()) == total and r.stderr == b""


def test_locate_hex_and_absent(idx, subprocess_env):
    r = run(subprocess_env, "locate", idx, "wörld".encode().hex(), "--hex", "--json", check=0)
    assert [tuple(json.loads(x).values()) for x in r.stdout.decode().splitlines()] == \
        oracle("wörld".encode())
    assert run(subprocess_env, "locate", idx, "absent!", check=0).stdout == b""


def test_locate_negative_limit(idx, subprocess_env):
    r = run(subprocess_env, "locate", idx, "natural", "--limit", -1, check=2)
    no_traceback(r)


# ------------------------------------------------------------------ show / extract
def test_show(idx, subprocess_env):
    r = run(subprocess_env, "show", idx, 2, check=0)
    assert r.stdout == DOCS[2] + b"\n"
    err = r.stderr.decode()
    assert "document 2" in err
    meta = json.loads(err[err.index("metadata:") + len("metadata:"):])
    assert meta == {"id": 3, "lang": "de", "score": 0.5}
    r = run(subprocess_env, "show", idx, 5, check=0)
    assert r.stdout == NOTES.encode()                    # ends with a newline already
    r = run(subprocess_env, "show", idx, 3, check=0)
    assert r.stdout == b""                               # the empty document


def test_show_json(idx, subprocess_env):
    r = run(subprocess_env, "show", idx, 4, "--json", check=0)
    obj = json.loads(r.stdout)
    assert obj == {"doc": 4, "metadata": {"id": 5, "lang": "ja"}, "text": DOCS[4].decode()}


def test_extract(idx, subprocess_env):
    r = run(subprocess_env, "extract", idx, 0, 8, 16, check=0)
    assert r.stdout == DOCS[0][8:16] + b"\n"
    r = run(subprocess_env, "extract", idx, 2, 1, 1000, check=0)
    assert r.stdout == DOCS[2][1:] + b"\n"


@pytest.mark.parametrize("args,needle", [
    (["show", 99], b"out of range"),
    (["show", -1], b"out of range"),
    (["extract", 99, 0, 5], b"out of range"),
    (["extract", 0, -1, 5], b">= 0"),
])
def test_show_extract_errors(idx, subprocess_env, args, needle):
    r = run(subprocess_env, args[0], idx, *args[1:], check=2)
    assert needle in r.stderr
    no_traceback(r)


# ------------------------------------------------------------------ stats / verify
def test_stats(idx, subprocess_env):
    text = run(subprocess_env, "stats", idx, check=0).stdout.decode()
    assert "documents" in text and "total" in text and "bits/char" in text
    st = json.loads(run(subprocess_env, "stats", idx, "--json", check=0).stdout)
    assert st["documents"] == len(DOCS)
    assert st["text_bytes"] == sum(map(len, DOCS))
    assert st["sa_sample"] == 4 and st["isa_sample"] == 8
    assert st["index_bytes"] == sum(st["components"].values())


def test_verify(idx, subprocess_env, tmp_path):
    r = run(subprocess_env, "verify", idx, check=0)
    assert r.stdout.startswith(b"ok: 6 documents")
    bad = tmp_path / "idx"
    shutil.copytree(idx, bad)
    arr = bad / "shard-00000" / "sa_samples.arr"
    data = bytearray(arr.read_bytes())
    data[-1] ^= 0xFF
    arr.write_bytes(bytes(data))
    r = run(subprocess_env, "verify", bad, check=2)
    assert b"sa_samples.arr" in r.stderr and b"checksum" in r.stderr
    no_traceback(r)


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cmd", [["count", "x"], ["locate", "x"], ["show", 0],
                                 ["extract", 0, 0, 1], ["stats"], ["verify"]])
def test_missing_index(subprocess_env, tmp_path, cmd):
    missing = tmp_path / "no-such-index"
    r = run(subprocess_env, cmd[0], missing, *cmd[1:], check=2)
    assert str(missing).encode() in r.stderr
    assert r.stderr.startswith(f"fmindex {cmd[0]}: error:".encode())
    assert r.stdout == b""
    no_traceback(r)


def test_not_an_index(subprocess_env, files):
    r = run(subprocess_env, "count", files, "x", check=2)      # a directory without manifest
    assert b"manifest.json" in r.stderr
    no_traceback(r)


def test_usage_errors(subprocess_env, idx):
    assert run(subprocess_env).returncode == 2
    assert run(subprocess_env, "frobnicate").returncode == 2
    assert run(subprocess_env, "show", idx, "notanumber").returncode == 2
    assert run(subprocess_env, "build", "x.txt").returncode == 2          # no -o


# --------------------------------------------------------------------------- help
SUBCOMMANDS = sorted(next(a for a in make_parser()._actions
                          if a.__class__.__name__ == "_SubParsersAction").choices)


def test_subcommands_known():
    assert {"build", "count", "locate", "show", "extract", "stats", "verify"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("cmd", [[]] + [[c] for c in SUBCOMMANDS], ids=lambda c: c[0] if c else "fmindex")
def test_help(subprocess_env, cmd):
    r = run(subprocess_env, *cmd, "--help", check=0)
    assert r.stdout.startswith(b"usage: fmindex")
    assert r.stderr == b""


def test_version(subprocess_env):
    r = run(subprocess_env, "--version", check=0)
    assert r.stdout.decode().strip() == f"fmindex {fmindex.__version__}"


# ------------------------------------------------------------- console entry point
def test_console_script(idx, subprocess_env):
    exe = shutil.which("fmindex", path=subprocess_env.get("PATH"))
    if exe is None:
        pytest.skip("the fmindex console script is not on PATH (pip install .)")
    r = subprocess.run([exe, "--help"], capture_output=True, env=subprocess_env, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(b"usage: fmindex")
    r = subprocess.run([exe, "count", str(idx), "natural"], capture_output=True,
                       env=subprocess_env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{len(oracle(b'natural'))}\n".encode()
