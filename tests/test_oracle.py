"""Every query kind against the naive oracle, on hypothesis corpora and real text."""
import gzip
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fmindex
from oracle import count, occurrences

SAMPLE_DIR = Path(os.environ.get("FMINDEX_SAMPLE_DIR",
                                 Path(__file__).resolve().parents[2] / "shared/corpora/sample"))

_counter = [0]
_PROFILE = {"profile": "fast", "pairs": False}     # set by the block_shift fixture


def build(tmp_path_factory, docs, **kw):
    _counter[0] += 1
    kw.setdefault("profile", _PROFILE["profile"])
    out = tmp_path_factory.mktemp("idx") / f"i{_counter[0]}"
    if not (docs and isinstance(docs[0], Path)):
        docs = fmindex.corpus.Documents(docs)
    return fmindex.build(docs, out, progress=False, **kw)


def check_all(idx, docs, patterns):
    assert len(idx) == len(docs)
    assert idx.num_bytes == sum(map(len, docs))
    counts = idx.count_many(patterns)
    for p, c in zip(patterns, counts):
        occ = occurrences(docs, p)
        assert idx.count(p) == len(occ), p
        assert c == len(occ), p
        loc = idx.locate(p)
        assert [tuple(x) for x in loc.tolist()] == occ, p
        if occ:
            lim = idx.locate(p, limit=max(1, len(occ) // 2))
            assert len(lim) == max(1, len(occ) // 2)
            assert set(map(tuple, lim.tolist())) <= set(occ)
            assert list(lim["doc"] * 10**12 + lim["offset"]) == sorted(lim["doc"] * 10**12 + lim["offset"])


def check_docs(idx, docs):
    for d, text in enumerate(docs):
        assert idx.document(d).data == text
        assert idx.doc_length(d) == len(text)
    assert list(idx.doc_lengths()) == [len(t) for t in docs]


small_alpha = st.binary(min_size=0, max_size=40).map(lambda b: bytes(x % 3 for x in b))
any_bytes = st.binary(min_size=0, max_size=60)
runs = st.lists(st.tuples(st.integers(0, 255), st.integers(1, 30)), max_size=5).map(
    lambda rs: b"".join(bytes([c]) * n for c, n in rs))
doc_strategy = st.one_of(small_alpha, any_bytes, runs)
corpus_strategy = st.lists(doc_strategy, min_size=1, max_size=8)
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], deadline=None)


def patterns_for(docs, data):
    """Patterns: substrings of the documents, cross-boundary joins, random, long, empty."""
    pats = [b""]
    for _ in range(6):
        d = data.draw(st.integers(0, len(docs) - 1))
        t = docs[d]
        if t:
            i = data.draw(st.integers(0, len(t) - 1))
            j = data.draw(st.integers(i + 1, min(len(t), i + 12)))
            pats.append(t[i:j])
    for _ in range(3):                          # exactly 4 bytes: one 4-gram table lookup
        d = data.draw(st.integers(0, len(docs) - 1))
        if len(docs[d]) >= 4:
            i = data.draw(st.integers(0, len(docs[d]) - 4))
            pats.append(docs[d][i:i + 4])
    for a, b in zip(docs, docs[1:]):           # would match only across a boundary
        if a and b:
            pats.append(a[-2:] + b[:2])
    pats.append(data.draw(st.binary(min_size=1, max_size=4)))
    pats.append(max(docs, key=len) + b"x")     # longer than any document
    pats.append(bytes([min(b"".join(docs) or b"\0")]))   # smallest byte present
    # a byte the corpus lacks, last, inside the last 8 bytes (what the lookup tables
    # cover) or before them, in a pattern whose other bytes occur as a substring
    absent = sorted(set(range(256)) - set(b"".join(docs)))
    long_doc = max(docs, key=len)
    if absent and len(long_doc) >= 12:
        z = bytes([absent[data.draw(st.integers(0, len(absent) - 1))]])
        i = data.draw(st.integers(0, len(long_doc) - 12))
        t = long_doc[i:i + 12]
        pats += [t + z, t[:9] + z + t[9:], t[:4] + z + t[4:], z + t, t[:1] + z + t[1:]]
    return pats


@pytest.fixture(params=[("fast", 16, False), ("fast", 3, "triples"), ("fast", 6, False),
                        ("fast", 3, "tetra"), ("fast", 3, "ngram"), ("fast", 16, "ngram-few"),
                        ("small", 18, True), ("small", 3, False)],
                ids=["fast-blocks64k", "fast-blocks8-pairs-triples", "fast-blocks64",
                     "fast-blocks8-4grams-v1.2", "fast-blocks8-ngrams",
                     "fast-blocks64k-ngrams-few-buckets",
                     "small-blocks256k-pairs", "small-blocks8"])
def block_shift(request, monkeypatch):
    """Build profile, wavelet-tree block size and pair table of byte shards: the defaults,
    and tiny blocks so that small corpora span many blocks (block boundaries inside
    ranges, absent symbols...).  "small" stores the tree bits RRR-compressed; "pairs"
    forces the 2-byte pair table, which only large shards get by default, and "triples"
    the 3-byte table too (large shards of few distinct bytes); "ngram" adds the n-gram table
    of 4- to 8-byte strings with about one bucket per text byte, "ngram-few" with one per 32
    bytes (buckets of colliding strings, only the 4 most frequent of each kept); "tetra" the
    lossy 4/5-gram table that format 1.2 shards hold instead.  "small-blocks8" also puts
    every RRR line in its own superblock."""
    import fmindex.shard
    profile, shift, pairs = request.param
    monkeypatch.setattr(fmindex.shard, "BYTE_BLOCK_SHIFT", shift)
    monkeypatch.setattr(fmindex.shard, "SMALL_BLOCK_SHIFT", shift)
    if pairs:
        monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    if pairs in ("triples", "tetra", "ngram", "ngram-few"):
        monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "FAST_GRAM_TABLE", "tetra" if pairs == "tetra" else "ngram")
    if profile == "small" and shift < 8:
        # compact RRR lines: one superblock per line, so that ranges cross superblocks
        monkeypatch.setattr(fmindex.shard, "RRR_SUPER_SHIFT", 0)
    # 4/5-gram or n-gram buckets: fraction * N / 64 (none below one)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION",
                        {"tetra": 64.0, "ngram": 64.0, "ngram-few": 2.0}.get(pairs, 0.0))
    monkeypatch.setitem(_PROFILE, "profile", profile)
    monkeypatch.setitem(_PROFILE, "pairs", pairs)
    return shift


@SETTINGS
@given(docs=corpus_strategy, data=st.data())
def test_oracle_hypothesis(tmp_path_factory, block_shift, docs, data):
    idx = build(tmp_path_factory, docs, sa_sample=data.draw(st.sampled_from([1, 3, 32])),
                isa_sample=data.draw(st.sampled_from([1, 5, 64])))
    # a text of >= 99% four bytes gets a pair-occurrence table (one block, no tree)
    pair_steps = idx.shards[0].params["wt_arity"] == 16
    assert idx.shards[0].params["wt_block_shift"] == (63 if pair_steps else block_shift)
    assert idx.shards[0].params["wt_bits"] == ("rrr63rc" if _PROFILE["profile"] == "small" else "plain")
    # profile "small" stores the pair table over the bytes that occur (pair_dense_rows)
    pair_name = "pair_dense_rows" if _PROFILE["profile"] == "small" else "pair_rows"
    assert (pair_name in idx.shards[0].arrays) == bool(_PROFILE["pairs"])
    assert ({"pair_rows", "pair_dense_rows"} - {pair_name}).isdisjoint(idx.shards[0].arrays)
    arrays = idx.shards[0].arrays
    assert ("tri_rows" in arrays) == (_PROFILE["pairs"] in ("triples", "tetra", "ngram",
                                                            "ngram-few")
                                      and any(len(d) for d in docs))
    n = sum(map(len, docs)) + len(docs)
    assert ("tetra_rows" in arrays) == ("tri_rows" in arrays and _PROFILE["pairs"] == "tetra")
    assert ("ngram_rows" in arrays) == ("tri_rows" in arrays and (
        _PROFILE["pairs"] == "ngram" or (_PROFILE["pairs"] == "ngram-few" and n >= 32)))
    pats = patterns_for(docs, data)
    check_all(idx, docs, pats)
    # one search's guessed lines ahead (large shards only, by default): never an answer
    fm = idx.shards[0].fm
    if idx.shards[0].params["wt_arity"] in (4, 16):
        want = [idx.count(p) for p in pats]
        for ahead in (1, 2, 16):
            fm.search_ahead = ahead
            assert [idx.count(p) for p in pats] == want, ahead
        fm.search_ahead = 0
    check_docs(idx, docs)
    for _ in range(5):
        d = data.draw(st.integers(0, len(docs) - 1))
        n = len(docs[d])
        a = data.draw(st.integers(0, n))
        b = data.draw(st.integers(a, n + 3))
        assert idx.extract(d, a, b) == docs[d][a:b]


def test_all_256_byte_values(tmp_path_factory, block_shift):
    """Every byte value occurs: the separator must be a 257th symbol."""
    rng = np.random.default_rng(5)
    docs = [bytes(range(256)), bytes(range(255, -1, -1)) * 3, b"", b"\x00\x00\xff\xff\x00",
            rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()]
    idx = build(tmp_path_factory, docs, sa_sample=4, isa_sample=8)
    pats = [b"\x00", b"\xff", b"\x00\x00", b"\xff\x00", b"\x00\xff", bytes(range(10)),
            bytes([255, 254, 253]), b"\xff\xff\x00", docs[4][100:108]]
    check_all(idx, docs, pats)
    check_docs(idx, docs)


def test_smallest_byte_is_searchable(tmp_path_factory):
    """The sentinel must not collide with the smallest byte present (infini-gram mini bug)."""
    docs = [b"a b c", b"ab ab", b"  "]                # no newline: ' ' is the smallest byte
    idx = build(tmp_path_factory, docs)
    assert idx.count(b" ") == 5
    assert idx.count(b"a b") == 1
    assert idx.count(b"b ") == 2
    assert idx.count(b"  ") == 1


def test_one_byte_and_empty_documents(tmp_path_factory):
    docs = [b"", b"a", b"", b"a", b""]
    idx = build(tmp_path_factory, docs)
    check_all(idx, docs, [b"", b"a", b"aa", b"b"])
    check_docs(idx, docs)
    idx = build(tmp_path_factory, [b""])
    assert idx.count(b"") == 0 and idx.count(b"a") == 0 and idx.document(0).data == b""


def test_no_match_across_boundary(tmp_path_factory):
    docs = [b"natural", b"language", b"natural language"]
    idx = build(tmp_path_factory, docs)
    assert idx.count("natural language") == 1
    assert idx.count("allan") == 0
    assert idx.locate("natural language").tolist() == [(2, 0)]


def test_str_patterns_are_utf8(tmp_path_factory):
    docs = ["naïve café", "日本語のテキスト", "café"]
    idx = build(tmp_path_factory, docs)
    assert idx.count("café") == 2
    assert idx.count("テキ") == 1
    assert idx.count("é".encode()) == 2
    assert idx.count(b"\xc3") == 3       # raw bytes, even a partial UTF-8 sequence
    assert idx.document(1).text == "日本語のテキスト"


def test_metadata_round_trip(tmp_path_factory):
    docs = [{"text": "one", "id": 1, "url": "http://x"}, {"text": "two", "tags": ["a", "b"]}]
    idx = build(tmp_path_factory, docs)
    assert idx.document(0).metadata == {"id": 1, "url": "http://x"}
    assert idx.document(1).metadata == {"tags": ["a", "b"]}
    assert idx.document(1).text == "two"


def test_many_shards_answer_like_one(tmp_path_factory, block_shift):
    rng = np.random.default_rng(3)
    docs = [bytes(rng.integers(97, 100, rng.integers(0, 50), dtype=np.uint8)) for _ in range(60)]
    one = build(tmp_path_factory, docs)
    many = build(tmp_path_factory, docs, shard_size=200)
    assert many.num_shards > 3
    pats = [b"a", b"ab", b"abc", b"cc", b"", b"abab", b"x"]
    check_all(many, docs, pats)
    check_docs(many, docs)
    for p in pats:
        assert one.locate(p).tolist() == many.locate(p).tolist()


def _sample_docs(name, limit=None):
    path = SAMPLE_DIR / name
    if not path.exists():
        pytest.skip(f"{path} absent")
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            docs.append(json.loads(line)["text"].encode())
            if limit and len(docs) >= limit:
                break
    return docs


@pytest.fixture(scope="module")
def moby(tmp_path_factory):
    docs = _sample_docs("en_moby_dick.jsonl.gz")
    return docs, build(tmp_path_factory, docs)


def test_real_text_counts_and_locate(moby):
    docs, idx = moby
    rng = np.random.default_rng(11)
    pats = [b"whale", b"Ahab", b"the ", b"\n", b"Call me Ishmael", b"zzzz", b"e", b"."]
    for _ in range(40):
        d = docs[rng.integers(len(docs))]
        if len(d) > 100:
            i = int(rng.integers(0, len(d) - 64))
            pats.append(d[i:i + int(rng.choice([1, 2, 4, 8, 16, 32, 64]))])
    check_all(idx, docs, pats)
    fm = idx.shards[0].fm                       # lines guessed ahead, as large shards do
    before = fm.search_ahead
    fm.search_ahead = 2
    try:
        check_all(idx, docs, pats)
    finally:
        fm.search_ahead = before


def test_real_text_round_trip(moby):
    docs, idx = moby
    check_docs(idx, docs)
    rng = np.random.default_rng(2)
    for _ in range(50):
        d = int(rng.integers(len(docs)))
        n = len(docs[d])
        a = int(rng.integers(0, n + 1))
        b = int(rng.integers(a, n + 1))
        assert idx.extract(d, a, b) == docs[d][a:b]


def test_python_stdlib_sources(tmp_path_factory):
    """Real code: the standard library's own .py files, every machine has them."""
    import sysconfig
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.glob("*.py"))[:120]
    docs = [f.read_bytes() for f in files]
    idx = build(tmp_path_factory, files)
    check_docs(idx, docs)
    pats = [b"def ", b"import os", b"self.", b"\n\n\n", b"    return None\n", b"__init__",
            b"\t", b"raise ValueError("]
    check_all(idx, docs, pats)
    assert idx.metadata(0)["path"] == str(files[0])


def test_batched_kernels_match_reference(tmp_path_factory, block_shift):
    """Interleaved locate/extract/count (many lanes, several refills) = the simple kernels."""
    rng = np.random.default_rng(8)
    words = [b"alpha", b"beta", b"gamma", b"delta", b" ", b"\n", b"ab"]
    docs = [b"".join(words[i] for i in rng.integers(0, len(words), rng.integers(0, 900)))
            for _ in range(40)]
    for sa, isa in [(3, 3), (32, 64), (7, 1)]:
        idx = build(tmp_path_factory, docs, sa_sample=sa, isa_sample=isa)
        fm = idx.shards[0].fm
        for p in [b"a", b"ab", b"beta gamma", b" "]:
            sp, cnt = fm.search(p)
            ref = fm.locate_row_one_by_one(sp, cnt)
            for nt in (1, 2):
                assert np.array_equal(fm.locate_rows(sp, cnt, nt), ref)
        check_docs(idx, docs)
        for d in range(0, 40, 3):
            n = len(docs[d])
            for a, b in [(0, n), (1, n - 1), (n // 3, n // 2), (5, 400)]:
                assert idx.extract(d, a, b) == docs[d][a:b]
        pats = [docs[d][i:i + L] for d in range(40) for i, L in [(0, 3), (10, 9), (50, 30)]]
        pats += [b"", b"zz", b"alphabeta"] * 200
        expect = np.array([count(docs, p) for p in pats])
        for nt in (1, 2):
            assert np.array_equal(idx.count_many(pats, num_threads=nt), expect)


def test_metadata_with_a_lone_surrogate_round_trips(tmp_path_factory, tmp_path):
    """JSON's "\\ud800" escape gives a str UTF-8 cannot encode: the build keeps it (as
    ASCII-escaped JSON) instead of failing with a bare codec error."""
    p = tmp_path / "s.jsonl"
    p.write_bytes(b'{"text": "abc", "id": "\\ud800x"}\n{"text": "abd", "id": "caf\\u00e9"}\n')
    out = tmp_path / "idx"
    fmindex.build(p, out, progress=False)
    idx = fmindex.open(out)
    assert idx.document(0).metadata == {"id": "\ud800x"}
    assert idx.document(1).metadata == {"id": "café"}
    assert idx.count("ab") == 2


def test_guessed_lines_ahead_at_the_last_block(tmp_path_factory, monkeypatch):
    """Rows guessed ahead (search_ahead) next to the end of the BWT, with n a multiple of the
    block length (the table then has no block of n's own; qwt_guess_rank reads n - 1's):
    every count stays the oracle's, with 0, 1, 2 and 16 steps guessed ahead."""
    import fmindex.shard
    monkeypatch.setattr(fmindex.shard, "BYTE_BLOCK_SHIFT", 4)        # blocks of 16 rows
    rng = random.Random(5)
    for total in (30, 46, 62, 94):      # n = (total - 1) bytes + 2 separators + 1 = 16 k
        docs = [bytes(rng.choice(b"xyz~ab") for _ in range(total // 2)),
                bytes(rng.choice(b"xyz~ab") for _ in range(total - total // 2 - 1))]
        idx = build(tmp_path_factory, docs, profile="fast")
        sh = idx.shards[0]
        assert sh.params["wt_arity"] == 4 and sh.params["n_rows"] % 16 == 0
        pats = [b"~", b"~~", b"~~~", b"z~", b"yz~~", b"xyz~~", b"~~~~~~"]
        pats += [d[i:i + m] for d in docs for m in (3, 6, 11) for i in (0, len(d) - m)]
        want = [len(occurrences(docs, p)) for p in pats]
        for ahead in (0, 1, 2, 16):
            sh.fm.search_ahead = ahead
            assert [idx.count(p) for p in pats] == want, ahead
        idx.close()
