"""Tests of fmindex.corpus: streaming corpus readers (pure Python, no compiled extension)."""

from __future__ import annotations

import gzip
import importlib
import io
import json
import os
import sys
import types
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def _load_corpus_module():
    """Import fmindex.corpus; if the package __init__ cannot be imported yet (compiled
    extensions not built), load the pure-Python sources under a private package name."""
    try:
        corpus = importlib.import_module("fmindex.corpus")
        errors = importlib.import_module("fmindex.errors")
        return corpus, errors
    except Exception:
        name = "_fmindex_corpus_src"
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(ROOT / "fmindex")]
        sys.modules[name] = pkg
        return (importlib.import_module(name + ".corpus"),
                importlib.import_module(name + ".errors"))


corpus, errors = _load_corpus_module()
CorpusError = errors.CorpusError
ReadStats = corpus.ReadStats
Documents = corpus.Documents
iter_documents = corpus.iter_documents
expand_inputs = corpus.expand_inputs

COMPRESSIONS = ["", ".gz", ".zst", ".zstd"]


def compress(data: bytes, suffix: str) -> bytes:
    if suffix.lower() == ".gz":
        return gzip.compress(data)
    if suffix.lower() in (".zst", ".zstd"):
        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    return data


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, compressed according to the path suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress(data, path.suffix))
    return path


def jsonl(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def read_all(inputs, **kw):
    return list(iter_documents(inputs, **kw))


RECORDS = [
    {"text": "hello world", "id": 1},
    {"text": "", "id": 2, "lang": "xx"},                    # empty document
    {"text": "héllo\nwörld — ☃ 𝄞\x00\ttab", "id": "three"},  # newline, NUL, astral char
    {"meta": {"nested": [1, 2, None]}, "text": "{\"not\": \"json\"}", "f": 1.5},
    {"text": "only text"},
]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("ext", [".jsonl", ".ndjson", ".json", ".JSONL"])
def test_jsonl_roundtrip(tmp_path, ext, comp):
    p = write(tmp_path / f"c{ext}{comp}", jsonl(RECORDS))
    stats = ReadStats()
    docs = read_all(p, stats=stats)
    assert [t for t, _ in docs] == [r["text"].encode("utf-8") for r in RECORDS]
    assert [m for _, m in docs] == [{k: v for k, v in r.items() if k != "text"} for r in RECORDS]
    assert stats.files == 1 and stats.documents == len(RECORDS) and stats.skipped == 0
    assert stats.bytes == sum(len(r["text"].encode()) for r in RECORDS)
    assert stats.compressed_bytes_read == p.stat().st_size


@pytest.mark.parametrize("comp", COMPRESSIONS + [".GZ"])
@pytest.mark.parametrize("ext", [".txt", ".md", ""])
def test_text_file_is_one_document(tmp_path, ext, comp):
    data = "line one\nligne deux é\n\n☃ last line without newline".encode()
    p = write(tmp_path / f"doc{ext}{comp}", data)
    stats = ReadStats()
    docs = read_all(str(p), stats=stats)
    assert docs == [(data, {"path": str(p)})]
    assert stats.documents == 1 and stats.bytes == len(data)
    assert stats.compressed_bytes_read == p.stat().st_size


@pytest.mark.parametrize("comp", COMPRESSIONS)
def test_empty_files(tmp_path, comp):
    txt = write(tmp_path / f"empty.txt{comp}", b"")
    assert read_all(txt) == [(b"", {"path": str(txt)})]
    js = write(tmp_path / f"empty.jsonl{comp}", b"")
    assert read_all(js) == []
    blank = write(tmp_path / f"blank.jsonl{comp}", b"\n  \n\t\r\n")
    stats = ReadStats()
    assert read_all(blank, stats=stats) == [] and stats.skipped == 0


def test_truly_empty_compressed_files(tmp_path):
    # zero-byte files with a compression suffix hold no data at all
    for name in ("a.txt.gz", "b.txt.zst"):
        (tmp_path / name).write_bytes(b"")
    assert [t for t, _ in read_all(tmp_path)] == [b"", b""]


def test_blank_lines_bom_crlf_and_no_final_newline(tmp_path):
    data = b"\xef\xbb\xbf" + b'{"text": "a"}\r\n\n   \n{"text": "b", "k": 1}\n\n{"text": "c"}'
    p = write(tmp_path / "x.jsonl", data)
    stats = ReadStats()
    assert read_all(p, stats=stats) == [(b"a", {}), (b"b", {"k": 1}), (b"c", {})]
    assert stats.skipped == 0 and stats.documents == 3


def test_text_field_option(tmp_path):
    p = write(tmp_path / "x.jsonl.gz", jsonl([{"body": "B1", "text": 7}, {"body": "B2"}]))
    assert read_all(p, text_field="body") == [(b"B1", {"text": 7}), (b"B2", {})]


def test_multi_member_gzip_and_multi_frame_zstd(tmp_path):
    a, b = jsonl(RECORDS[:2]), jsonl(RECORDS[2:])
    g = tmp_path / "m.jsonl.gz"
    g.write_bytes(gzip.compress(a) + gzip.compress(b))
    cctx = zstandard.ZstdCompressor()
    skippable = b"\x50\x2a\x4d\x18" + (3).to_bytes(4, "little") + b"xyz"
    z = tmp_path / "m.jsonl.zst"
    z.write_bytes(cctx.compress(a) + skippable + cctx.compress(b))
    want = [r["text"].encode() for r in RECORDS]
    assert [t for t, _ in read_all(g)] == want
    assert [t for t, _ in read_all(z)] == want


def test_streaming_zstd_written_without_content_size(tmp_path):
    buf = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(buf, closefd=False) as w:
        for i in range(3):
            w.write(jsonl([{"text": f"doc {i}"}]))
    p = tmp_path / "s.jsonl.zstd"
    p.write_bytes(buf.getvalue())
    assert [t for t, _ in read_all(p)] == [b"doc 0", b"doc 1", b"doc 2"]


@pytest.mark.parametrize("comp", COMPRESSIONS)
def test_lines_across_chunk_boundaries(tmp_path, monkeypatch, comp):
    monkeypatch.setattr(corpus, "_CHUNK", 7)
    monkeypatch.setattr(corpus, "_ZSTD_IN_CHUNK", 5)
    recs = [{"text": "x" * n + "é☃", "n": n} for n in range(0, 40, 3)]
    p = write(tmp_path / f"c.jsonl{comp}", jsonl(recs))
    assert [(t, m) for t, m in read_all(p)] == [(r["text"].encode(), {"n": r["n"]}) for r in recs]
    t = write(tmp_path / f"c.txt{comp}", jsonl(recs))
    assert read_all(t) == [(jsonl(recs), {"path": str(t)})]


def test_large_file_default_chunks(tmp_path):
    recs = [{"text": ("word%d " % i) * (i % 50), "i": i} for i in range(20000)]
    p = write(tmp_path / "big.jsonl.zst", jsonl(recs))
    stats = ReadStats()
    n = 0
    for (t, m), r in zip(iter_documents(p, stats=stats), recs):
        assert t == r["text"].encode() and m == {"i": r["i"]}
        n += 1
    assert n == len(recs) == stats.documents
    assert stats.compressed_bytes_read == p.stat().st_size


_texts = st.lists(st.text(st.characters(blacklist_categories=("Cs",))), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=_texts, comp=st.sampled_from(COMPRESSIONS), chunk=st.sampled_from([1, 3, 64, 1 << 20]))
def test_hypothesis_jsonl_roundtrip(tmp_path, monkeypatch, texts, comp, chunk):
    monkeypatch.setattr(corpus, "_CHUNK", chunk)
    monkeypatch.setattr(corpus, "_ZSTD_IN_CHUNK", chunk)
    recs = [{"text": t, "i": i} for i, t in enumerate(texts)]
    p = write(tmp_path / f"h.jsonl{comp}", jsonl(recs))
    assert read_all(p) == [(t.encode("utf-8"), {"i": i}) for i, t in enumerate(texts)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), comp=st.sampled_from(COMPRESSIONS),
       chunk=st.sampled_from([1, 2, 5, 1 << 20]))
def test_hypothesis_text_file_utf8_validation(tmp_path, monkeypatch, data, comp, chunk):
    monkeypatch.setattr(corpus, "_CHUNK", chunk)
    monkeypatch.setattr(corpus, "_ZSTD_IN_CHUNK", chunk)
    p = write(tmp_path / f"h.txt{comp}", data)
    assert read_all(p, validate_utf8=False) == [(data, {"path": str(p)})]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        with pytest.raises(CorpusError) as info:
            read_all(p)
        line = data.count(b"\n", 0, e.start) + 1
        assert info.value.path == str(p) and info.value.line == line
        assert f"byte offset {e.start} " in str(info.value)
        stats = ReadStats()
        assert read_all(p, skip_bad=True, stats=stats) == []
        assert stats.skipped == 1 and stats.documents == 0
    else:
        assert read_all(p) == [(data, {"path": str(p)})]


# --------------------------------------------------------------------------- bad records

BAD_LINES = [
    (b'{"text": "ok"', "malformed JSON"),
    (b"[1, 2]", "got an array"),
    (b'"just a string"', "got a string"),
    (b'{"body": "x"}', "--text-field"),
    (b'{"text": null}', "is null"),
    (b'{"text": 12}', "is a number"),
    (b'{"text": ["a"]}', "is an array"),
    (b'{"text": "\\ud800 lone"}', "lone surrogate"),
    (b'{"text": "caf\xe9"}', "invalid UTF-8"),
]


@pytest.mark.parametrize("comp", ["", ".gz", ".zst"])
@pytest.mark.parametrize("bad,reason", BAD_LINES)
def test_bad_record_names_file_and_line(tmp_path, bad, reason, comp):
    data = b'{"text": "first"}\n\n' + bad + b'\n{"text": "last"}\n'
    p = write(tmp_path / f"bad.jsonl{comp}", data)
    with pytest.raises(CorpusError) as info:
        read_all(p)
    err = info.value
    assert err.path == str(p) and err.line == 3
    msg = str(err)
    assert msg.startswith(f"{p}:3: ") and reason in msg and "--skip-bad" in msg
    stats = ReadStats()
    assert read_all(p, skip_bad=True, stats=stats) == [(b"first", {}), (b"last", {})]
    assert stats.skipped == 1 and stats.documents == 2
    assert stats.skipped_examples == [msg]


def test_skip_bad_counts_and_caps_examples(tmp_path):
    lines = []
    for i in range(25):
        lines.append(b"not json" if i % 2 else json.dumps({"text": str(i)}).encode())
    p = write(tmp_path / "m.jsonl", b"\n".join(lines))
    stats = ReadStats()
    docs = read_all(p, skip_bad=True, stats=stats)
    assert [t for t, _ in docs] == [str(i).encode() for i in range(0, 25, 2)]
    assert stats.skipped == 12 and len(stats.skipped_examples) == 10
    assert stats.skipped_examples[0].startswith(f"{p}:2: ")
    assert stats.skipped_examples[9].startswith(f"{p}:20: ")


def test_error_is_raised_lazily_after_good_records(tmp_path):
    p = write(tmp_path / "x.jsonl", b'{"text": "a"}\n{"text": 1}\n')
    it = iter_documents(p)
    assert next(it) == (b"a", {})
    with pytest.raises(CorpusError):
        next(it)


def test_json_array_file_gets_a_helpful_error(tmp_path):
    p = write(tmp_path / "arr.json", b'[\n  {"text": "a"}\n]\n')
    with pytest.raises(CorpusError, match="JSON Lines") as info:
        read_all(p)
    assert info.value.line == 1


def test_compressed_file_without_suffix_hint(tmp_path):
    p = tmp_path / "oops.jsonl"
    p.write_bytes(gzip.compress(b'{"text": "a"}\n'))
    with pytest.raises(CorpusError, match=r"\.gz suffix"):
        read_all(p)
    t = tmp_path / "oops.txt"
    t.write_bytes(zstandard.ZstdCompressor().compress(b"hello" * 10))
    with pytest.raises(CorpusError, match=r"\.zst suffix"):
        read_all(t)


def test_text_file_invalid_utf8_line_and_offset(tmp_path):
    data = "ok\nfine é\nbad ".encode() + b"\xff rest\n"
    p = write(tmp_path / "b.txt.gz", data)
    with pytest.raises(CorpusError) as info:
        read_all(p)
    assert info.value.path == str(p) and info.value.line == 3
    assert "byte 0xff at byte offset 15 " in str(info.value)
    assert "validate_utf8=False" in str(info.value)
    # truncated multi-byte sequence at the very end
    q = write(tmp_path / "t.txt", b"abc\n\xe2\x82")
    with pytest.raises(CorpusError, match="byte offset 4 ") as info:
        read_all(q)
    assert info.value.line == 2
    # skip_bad skips that file only
    good = write(tmp_path / "c.txt", b"good")
    stats = ReadStats()
    assert read_all([str(p), str(good)], skip_bad=True, stats=stats) == [(b"good", {"path": str(good)})]
    assert stats.skipped == 1 and stats.files == 2 and stats.documents == 1
    assert stats.compressed_bytes_read == p.stat().st_size + good.stat().st_size


# --------------------------------------------------------------------------- damaged streams


def _records_blob(n=3000):
    return jsonl({"text": f"document number {i} " * 3, "i": i} for i in range(n))


@pytest.mark.parametrize("kind", ["truncated", "flipped", "garbage"])
@pytest.mark.parametrize("comp", [".gz", ".zst"])
@pytest.mark.parametrize("fmt", [".jsonl", ".txt"])
def test_damaged_compressed_stream(tmp_path, comp, kind, fmt):
    blob = compress(_records_blob(), comp)
    if kind == "truncated":
        blob = blob[: len(blob) * 2 // 3]
    elif kind == "flipped":
        b = bytearray(blob)
        for k in range(len(b) // 2, len(b) // 2 + 8):
            b[k] ^= 0x55
        blob = bytes(b)
    else:
        blob = b"this is not compressed at all\n" * 10
    p = tmp_path / f"d{fmt}{comp}"
    p.write_bytes(blob)
    for skip_bad in (False, True):
        with pytest.raises(CorpusError) as info:
            for _ in iter_documents(p, skip_bad=skip_bad):
                pass
        err = info.value
        assert err.path == str(p) and err.line is not None and err.line >= 1
        assert str(err).startswith(f"{p}:{err.line}: ")
        if kind == "flipped" and not skip_bad:
            # gzip checks its CRC at the end of the member only: garbage decompressed
            # before may be reported first as a bad record, still naming file and line
            continue
        assert ("corrupted" in str(err) or "truncated" in str(err)) and "damaged" in str(err)


def test_truncated_zstd_reports_line_reached(tmp_path):
    blob = compress(_records_blob(), ".zst")
    p = tmp_path / "t.jsonl.zst"
    p.write_bytes(blob[:-20])
    got = []
    with pytest.raises(CorpusError, match="truncated zstd") as info:
        for t, _ in iter_documents(p):
            got.append(t)
    assert info.value.line == len(got) + 1
    assert 0 < len(got) < 3000


def test_missing_zstandard_gives_clear_error(tmp_path, monkeypatch):
    p = write(tmp_path / "x.jsonl.zst", jsonl([{"text": "a"}]))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(CorpusError, match="pip install zstandard"):
        read_all(p)
    q = write(tmp_path / "y.jsonl.gz", jsonl([{"text": "a"}]))  # gzip still fine
    assert read_all(q) == [(b"a", {})]


def test_unreadable_file(tmp_path):
    p = write(tmp_path / "x.txt", b"secret")
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):
            pytest.skip("running with permissions that ignore chmod")
        with pytest.raises(CorpusError, match="cannot open") as info:
            read_all(p)
        assert info.value.path == str(p)
    finally:
        p.chmod(0o644)


# --------------------------------------------------------------------------- paths, directories


def test_expand_inputs_directories(tmp_path):
    d = tmp_path / "corpus"
    files = ["b.txt", "a.jsonl", "sub/z.txt", "sub/deeper/y.txt", "a-b.txt", "sub0/x.txt"]
    for f in files:
        write(d / f, b"x")
    write(d / ".hidden.txt", b"x")
    write(d / ".git/config.txt", b"x")
    write(d / "sub/.also_hidden", b"x")
    got = expand_inputs(d)
    rel = [os.path.relpath(g, d) for g in got]
    assert rel == ["a-b.txt", "a.jsonl", "b.txt", os.path.join("sub", "deeper", "y.txt"),
                   os.path.join("sub", "z.txt"), os.path.join("sub0", "x.txt")]
    assert all(isinstance(g, str) and g.startswith(str(d)) for g in got)
    assert expand_inputs(str(d)) == got


def test_expand_inputs_lists_keep_order_and_dedupe(tmp_path):
    a = write(tmp_path / "a.txt", b"a")
    b = write(tmp_path / "b.txt", b"b")
    assert expand_inputs([b, a]) == [str(b), str(a)]
    assert expand_inputs([str(a), tmp_path, str(a)]) == [str(a), str(b)]
    hidden = write(tmp_path / "sub" / ".h.txt", b"h")
    assert expand_inputs(hidden) == [str(hidden)]  # named explicitly: kept


def test_expand_inputs_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such file") as info:
        expand_inputs(tmp_path / "missing.jsonl")
    assert info.value.path == str(tmp_path / "missing.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no file"):
        expand_inputs(tmp_path / "empty")
    write(tmp_path / "onlyhidden" / ".x.txt", b"x")
    with pytest.raises(CorpusError, match="no file"):
        expand_inputs(tmp_path / "onlyhidden")
    with pytest.raises(CorpusError):
        expand_inputs([])
    with pytest.raises(CorpusError, match="no such file"):
        iter_documents(str(tmp_path / "nope.txt"))  # raised at the call, not lazily


def test_directory_of_mixed_formats(tmp_path):
    d = tmp_path / "d"
    write(d / "1.jsonl.gz", jsonl([{"text": "j1"}, {"text": "j2", "m": 1}]))
    write(d / "2.txt.zst", b"t1")
    write(d / "3/4.ndjson", jsonl([{"text": "n1"}]))
    write(d / ".skip.jsonl", jsonl([{"text": "hidden"}]))
    stats = ReadStats()
    docs = read_all(d, stats=stats)
    assert docs == [(b"j1", {}), (b"j2", {"m": 1}), (b"t1", {"path": str(d / "2.txt.zst")}),
                    (b"n1", {})]
    assert stats.files == 3 and stats.documents == 4 and stats.bytes == 8
    assert stats.compressed_bytes_read == sum(
        p.stat().st_size for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_list_of_paths_forms(tmp_path):
    a = write(tmp_path / "a.txt", b"A")
    b = write(tmp_path / "b.txt", b"B")
    for inputs in ([a, b], (str(a), str(b)), [a, str(b)]):
        assert [t for t, _ in read_all(inputs)] == [b"A", b"B"]
    assert [m["path"] for _, m in read_all([str(a)])] == [str(a)]


# --------------------------------------------------------------------------- in-memory inputs


def test_in_memory_str_bytes_dicts():
    all_bytes = bytes(range(256))
    src = {"text": "dict text", "id": 5, "tags": ["a"]}
    items = ["plain str é", all_bytes, bytearray(b"ba"), memoryview(b"mv"), "",
             src, {"text": b"\xff\xfe raw", "k": None}]
    stats = ReadStats()
    docs = read_all(items, stats=stats)
    assert docs == [("plain str é".encode(), {}), (all_bytes, {}), (b"ba", {}), (b"mv", {}),
                    (b"", {}), (b"dict text", {"id": 5, "tags": ["a"]}),
                    (b"\xff\xfe raw", {"k": None})]
    assert all(type(t) is bytes for t, _ in docs)
    assert src == {"text": "dict text", "id": 5, "tags": ["a"]}  # not modified
    assert stats.documents == 7 and stats.files == 0
    assert stats.bytes == sum(len(t) for t, _ in docs)


def test_in_memory_generators_and_text_field():
    gen = ({"body": f"doc {i}", "i": i} for i in range(3))
    assert read_all(gen, text_field="body") == [(b"doc 0", {"i": 0}), (b"doc 1", {"i": 1}),
                                                (b"doc 2", {"i": 2})]
    assert read_all(x for x in [b"a", "b"]) == [(b"a", {}), (b"b", {})]
    assert read_all([]) == []
    assert read_all(iter([])) == []


def test_in_memory_bad_items():
    items = ["ok", 42, {"body": "x"}, {"text": 3.5}, "\udc80 lone", {"text": "fine"}]
    with pytest.raises(CorpusError, match="expected str, bytes or dict") as info:
        read_all(items)
    assert info.value.line == 2
    stats = ReadStats()
    assert read_all(items, skip_bad=True, stats=stats) == [(b"ok", {}), (b"fine", {})]
    assert stats.skipped == 4
    assert "text_field" in stats.skipped_examples[1]
    assert "lone surrogate" in stats.skipped_examples[3]
    assert stats.skipped_examples[0].startswith("<documents>:2: ")


def test_str_lists_paths_vs_documents(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.txt", b"file A")
    write(tmp_path / "b.txt", b"file B")
    # all existing -> paths
    assert [t for t, _ in read_all(["a.txt", "b.txt"])] == [b"file A", b"file B"]
    # none existing -> documents
    assert read_all(["hello", "world"]) == [(b"hello", {}), (b"world", {})]
    # Documents forces the in-memory reading
    assert read_all(Documents(["a.txt", "b.txt"])) == [(b"a.txt", {}), (b"b.txt", {})]
    assert read_all(Documents(("x" for _ in range(2)))) == [(b"x", {}), (b"x", {})]
    # a mix is refused with a hint
    with pytest.raises(CorpusError, match="Documents"):
        iter_documents(["a.txt", "some text"])
    # a single str is always a path
    with pytest.raises(CorpusError, match="Documents"):
        iter_documents("hello world")
    with pytest.raises(TypeError):
        iter_documents(b"bytes alone")
    with pytest.raises(TypeError):
        iter_documents({"text": "a dict alone"})
    with pytest.raises(TypeError):
        iter_documents(42)


# --------------------------------------------------------------------------- real data


def _sample_dir():
    env = os.environ.get("FMINDEX_SAMPLE_DIR")
    for d in ([Path(env)] if env else []) + [Path(__file__).resolve().parents[2] / "shared/corpora/sample",
                                            Path("/work/shared/corpora/sample")]:
        if d.is_dir() and list(d.glob("*.jsonl.gz")):
            return d
    pytest.skip("sample corpora not found (set FMINDEX_SAMPLE_DIR)")


def test_real_sample_corpora():
    d = _sample_dir()
    files = sorted(d.glob("*.jsonl.gz"))
    total = 0
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            want = [json.loads(line) for line in fh if line.strip()]
        stats = ReadStats()
        got = read_all(f, stats=stats)
        assert len(got) == len(want) == stats.documents
        for (t, m), w in zip(got, want):
            assert t == w.pop("text").encode("utf-8") and m == w
        assert stats.compressed_bytes_read == f.stat().st_size
        if f.name == "en_moby_dick.jsonl.gz":
            assert len(got) == 139
        total += len(got)
    stats = ReadStats()
    assert sum(1 for _ in iter_documents(d, stats=stats)) == total
    assert stats.files == len(files)


_json_leaf = st.one_of(st.text(), st.integers(min_value=-(1 << 70), max_value=1 << 70),
                       st.booleans(), st.none(), st.floats(allow_nan=True),
                       st.lists(st.integers(), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.text(), st.integers()), _json_leaf, max_size=5))
def test_encode_metadata_is_compact_json(meta):
    """metadata_json writes what json.dumps(ensure_ascii=False, compact) writes, for any
    flat object (the fast path) or nested one (the fallback); st.text() includes lone
    surrogates, which UTF-8 cannot hold: then the ASCII-escaped form, which reads back the
    same."""
    try:
        want = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        want = json.dumps(meta, separators=(",", ":")).encode()
    got = corpus.metadata_json(meta)
    assert got == want
    assert json.loads(got) == json.loads(json.dumps(meta)) or any(
        isinstance(v, float) and v != v for v in meta.values())     # NaN != NaN


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=6), st.integers()),
                                max_size=3), max_size=20), st.data())
def test_packed_metadata_blocks_are_json_arrays(metas, data):
    """PackedMetadata (appended one by one, or read back from a spool's lines) gives each
    block as the JSON array of its documents, whatever commas their JSON holds."""
    raw = [corpus.metadata_json(m) for m in metas]
    appended = corpus.PackedMetadata.of(raw)
    spooled = corpus.PackedMetadata.from_lines(b"".join(r + b"\n" for r in raw))
    assert len(appended) == len(spooled) == len(metas)
    if metas:
        i = data.draw(st.integers(0, len(metas) - 1))
        j = data.draw(st.integers(i + 1, len(metas)))
        want = b"[" + b",".join(raw[i:j]) + b"]"
        assert appended.block(i, j) == spooled.block(i, j) == want
        assert json.loads(want) == json.loads(json.dumps(metas[i:j]))
    appended.clear()
    assert len(appended) == 0 and len(appended.blob) == 0


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                           st.text()),
                 lambda c: st.one_of(st.lists(c, max_size=3),
                                     st.dictionaries(st.text(max_size=3), c, max_size=3)),
                 max_leaves=6).map(json.dumps),
    st.text(alphabet=' \t\n{}[]":,0123456789.eE+-tfnaulrsx\\', max_size=20)),
    st.sampled_from(["", " ", "\n", "\r\n", " \t"]), st.sampled_from(["", " ", "\t"]))
def test_parse_json_line_is_json_loads(body, tail, head):
    """The fast line parser returns what json.loads returns and raises what it raises
    (the message reported for a malformed line), for valid JSON and for junk."""
    s = head + body + tail
    try:
        want = ("ok", json.loads(s))
    except ValueError as e:
        want = ("error", type(e), str(e))
    except RecursionError:
        return
    try:
        got = ("ok", corpus._parse_json_line(s))
    except ValueError as e:
        got = ("error", type(e), str(e))
    if want[0] == "ok" and isinstance(want[1], float) and want[1] != want[1]:
        return
    assert got == want
