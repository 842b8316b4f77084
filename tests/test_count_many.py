"""count_many == count, pattern by pattern, on every input count_many accepts.

A list or tuple of bytes / ASCII str is read in place (``pattern_refs``: pointers to the
objects' data, no copy); anything else is converted and packed into one buffer.  Both paths,
1 and 2 threads, single- and multi-shard indexes, must give count's answers.
"""
from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fmindex
from fmindex._fm_shard import COUNT_PARALLEL_MIN_SYMBOLS, pattern_refs
from fmindex.corpus import Documents
from fmindex.errors import PatternError
from fmindex.index import MAX_PATTERN_BYTES
from oracle import count as oracle_count

WORDS = ("alpha beta gamma delta natural language fm index the of and x y z "
         "héllo wörld 日本語 naïve").split()


def _docs(n: int, seed: int) -> "list[str]":
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(0 if i % 29 == 3 else rng.randint(1, 50)))
            for i in range(n)]


@pytest.fixture(scope="module", params=["one-shard", "sharded"])
def index(request, tmp_path_factory):
    docs = _docs(300, seed=3)
    kw = {"shard_size": "2k"} if request.param == "sharded" else {}
    out = tmp_path_factory.mktemp("cm") / "idx"
    idx = fmindex.build(Documents(docs), out, sa_sample=4, isa_sample=8, progress=False, **kw)
    assert (idx.num_shards > 1) == (request.param == "sharded")
    yield idx, [d.encode() for d in docs]
    idx.close()


def _as_bytes(p) -> bytes:
    return p.encode() if isinstance(p, str) else bytes(p)


def _check(idx, pats, expect=None):
    want = [idx.count(p) for p in pats]
    if expect is not None:
        assert want == expect
    for nt in (1, 2):
        got = idx.count_many(pats, num_threads=nt)
        assert got.dtype == np.int64 and got.shape == (len(pats),)
        assert got.tolist() == want, nt
    # repeated up to the size from which 2 threads share the batch
    size = sum(len(_as_bytes(p)) for p in pats)
    if pats and size < COUNT_PARALLEL_MIN_SYMBOLS:
        k = COUNT_PARALLEL_MIN_SYMBOLS // max(size, 1) + 1
        if len(pats) * k <= 20_000:
            more = type(pats)(list(pats) * k)
            assert idx.count_many(more, num_threads=2).tolist() == want * k
    return want


# patterns: pieces of the corpus (hits, some long), misses, bytes absent from the corpus,
# empty ones; as bytes, ASCII or non-ASCII str, bytearray, memoryview
_piece = st.tuples(st.integers(0, 299), st.integers(0, 400), st.integers(0, 300))
_pattern = st.one_of(
    st.binary(max_size=6),
    st.text(alphabet="abelphtgmo xyzö日本", max_size=8),
    st.sampled_from(WORDS + ["", " ", "a", "the of", "alpha beta"]),
    _piece,
)


def _materialize(docs, p, kind):
    if isinstance(p, tuple):                    # a piece of document d at [a, a + m)
        d, a, m = p
        p = docs[d][a:a + m]
    b = _as_bytes(p)
    return {"bytes": b, "str": b.decode("utf-8", errors="replace") if isinstance(p, str)
            else b, "bytearray": bytearray(b), "memoryview": memoryview(b)}[kind]


@given(data=st.data())
def test_lists_match_count(index, data):
    idx, docs = index
    n = data.draw(st.integers(0, 300))            # >= 64: the threads share the batch
    raw = data.draw(st.lists(_pattern, min_size=n, max_size=n))
    kinds = data.draw(st.lists(st.sampled_from(["bytes", "bytes", "str", "bytearray",
                                                "memoryview"]),
                               min_size=len(raw), max_size=len(raw)))
    pats = [_materialize(docs, p, k) for p, k in zip(raw, kinds)]
    want = _check(idx, pats)
    assert want == [oracle_count(docs, _as_bytes(p)) for p in pats]
    _check(idx, tuple(pats), want)
    for nt in (1, 2):                                   # any iterable: the packed path
        assert idx.count_many(iter(pats), num_threads=nt).tolist() == want


@given(pats=st.integers(0, 200).flatmap(
    lambda n: st.lists(st.binary(max_size=12), min_size=n, max_size=n)))
def test_bytes_lists_match_count(index, pats):
    """Only bytes: the in-place path throughout."""
    idx, docs = index
    assert pattern_refs(pats, MAX_PATTERN_BYTES) is not None
    want = _check(idx, pats)
    assert want == [oracle_count(docs, p) for p in pats]


def test_edge_lists(index):
    idx, docs = index
    total = sum(map(len, docs))
    assert idx.count_many([]).tolist() == []
    assert idx.count_many(()).tolist() == []
    assert idx.count_many([b""]).tolist() == [total]
    assert idx.count_many(["", b"", ""] * 50, num_threads=2).tolist() == [total] * 150
    absent = [b"\x00", b"\xff\xfe", b"\x01alpha", "alpha\x7f", b"zzzz"]
    assert idx.count_many(absent * 40, num_threads=2).tolist() == [0] * 200
    long_hit = max(docs, key=len)
    long_miss = long_hit + b"\x00"
    big = b"alpha " * 200_000
    _check(idx, [long_hit, long_miss, big, long_hit[:1000], b"alpha"] * 30)
    # non-ASCII str and bytes subclasses take the packed path; same answers
    class B(bytes):
        pass
    _check(idx, ["héllo", "日本語", B(b"alpha"), "naïve", b"alpha"] * 30)


def test_every_chunk_is_counted(index):
    """Hits only (a skipped pattern would stay 0), at sizes around any chunking; 70-byte
    patterns, so that 64 of them are enough for 2 threads."""
    idx, docs = index
    assert 64 * 70 >= COUNT_PARALLEL_MIN_SYMBOLS
    hits = [d[i:i + 70] for d in docs if len(d) > 120 for i in (0, 7, 13)]
    assert all(idx.count(p) > 0 for p in hits)
    rng = random.Random(1)
    for n in (1, 2, 31, 32, 63, 64, 65, 127, 255, 256, 257, 513, 1000, 3001, 6001):
        pats = [rng.choice(hits) for _ in range(n)]
        _check(idx, pats)


def test_shard_level_paths_agree(index):
    """FMShard.count_refs (in place) == FMShard.count_many (buffer + offsets) == count."""
    idx, docs = index
    from fmindex.index import pack_patterns
    rng = random.Random(2)
    pats = [d[a:a + rng.randint(0, 30)] for d in docs for a in (0, 3)] * 3
    refs = pattern_refs(pats, MAX_PATTERN_BYTES)
    assert refs is not None and len(refs) == len(pats)
    buf, offsets = pack_patterns(pats)
    for sh in idx.shards:
        want = [sh.fm.count(p) for p in pats]
        for nt in (1, 2, 3):
            assert sh.fm.count_refs(refs, nt).tolist() == want
            assert sh.fm.count_many(buf, offsets, nt).tolist() == want


def test_pattern_refs_accepts_only_what_it_can_read_in_place():
    ok = [b"a", "ascii", b"", ""]
    assert len(pattern_refs(ok, 10)) == 4
    assert len(pattern_refs(tuple(ok), 10)) == 4
    for bad in (["héllo"], [bytearray(b"a")], [memoryview(b"a")], [1], [None], [b"a", "é"]):
        assert pattern_refs(bad, 10) is None
    assert pattern_refs(iter(ok), 10) is None                   # not a list or tuple
    assert pattern_refs(np.array([b"a"]), 10) is None
    class L(list):
        pass
    assert pattern_refs(L(ok), 10) is None
    assert pattern_refs([b"12345"], 5) is not None
    assert pattern_refs([b"123456"], 5) is None                 # over the length limit
    assert pattern_refs(["123456"], 5) is None


def test_limit_still_raises(index):
    idx, _ = index
    big = b"z" * (MAX_PATTERN_BYTES + 1)
    for pats in ([b"alpha", big], (big,), [b"a", big.decode()]):
        with pytest.raises(PatternError, match="exceeds the limit"):
            idx.count_many(pats)


def test_list_mutated_while_counting(index):
    """The in-place path keeps its own references: another thread replacing the list's items
    with equal copies (freeing the originals) and appending / removing items while
    count_many runs without the GIL changes no answer."""
    idx, docs = index
    base = [d[i:i + 12] for d in docs if len(d) > 40 for i in (0, 9, 21)][:400]
    base += [b"alpha", b"\x00\x01", b"", "the of"]
    assert sum(map(len, base)) >= COUNT_PARALLEL_MIN_SYMBOLS      # 2 threads share it
    want = [idx.count(p) for p in base]
    pats = list(base)
    stop = threading.Event()

    def mutate():
        r = random.Random(4)
        while not stop.is_set():
            i = r.randrange(len(base))
            p = pats[i]
            pats[i] = p.encode().decode() if isinstance(p, str) else bytes(bytearray(p))
            pats.append(b"x" * r.randint(1, 50))
            pats.pop()

    t = threading.Thread(target=mutate)
    t.start()
    try:
        for k in range(40):
            snapshot_len = len(base)
            got = idx.count_many(pats, num_threads=1 + k % 2).tolist()
            assert len(got) in (snapshot_len, snapshot_len + 1)
            assert got[:snapshot_len] == want
    finally:
        stop.set()
        t.join()


def test_token_index_count_many_still_works(tmp_path):
    """Token indexes pass uint32 ids through the buffer path (FMShard.count_many)."""
    from fmindex.tokens import build_tokens
    rng = random.Random(5)
    seqs = [[rng.randrange(1, 40) for _ in range(rng.randint(1, 60))] for _ in range(80)]
    tok = build_tokens([np.array(s, dtype=np.int64) for s in seqs], tmp_path / "tok",
                       eos_id=0, progress=False)
    pats = [s[i:i + k] for s in seqs if len(s) > 10 for i, k in ((0, 1), (3, 2), (5, 4))] * 3
    pats += [[], [39, 39, 39, 39], [41], [1]]
    want = [tok.count(p) for p in pats]
    assert sum(w > 0 for w in want) > 100
    for nt in (1, 2):
        tok.num_threads = nt
        assert tok.count_many(pats).tolist() == want


@given(st.lists(st.binary(max_size=12), max_size=40), st.integers(0, 10_000))
def test_count_each_is_count(index, patterns, seed):
    """FMShard.count_each (the one-at-a-time kernel in one C loop, which the benchmark times
    against sdsl's harness) gives each shard's count, empty patterns and misses included."""
    from fmindex.index import pack_patterns
    idx, docs = index
    rng = random.Random(seed)
    text = b"\n".join(docs)
    for _ in range(10):
        i = rng.randrange(len(text))
        patterns.append(text[i:i + rng.randint(1, 10)])
    buf, offs = pack_patterns(patterns)
    for sh in idx.shards:
        got = sh.fm.count_each(buf, offs)
        assert got.dtype == np.int64
        assert list(got) == [sh.fm.count(p) for p in patterns]
    with pytest.raises(ValueError):
        idx.shards[0].fm.count_each(buf, np.array([0, len(buf) + 1], dtype=np.int64))
