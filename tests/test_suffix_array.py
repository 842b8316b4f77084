"""Tests of fmindex._suffix_array (SA-IS in ext/sais.c).

Reference outputs: a naive sort of all suffixes (small inputs) and
pydivsufsort.divsufsort (larger ones).  The end of the text is a virtual
sentinel smaller than every symbol, so shorter-prefix suffixes sort first.
"""
import glob
import os
import random
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmindex._suffix_array import _suffix_array_64, suffix_array, suffix_array_bytes

try:
    from pydivsufsort import divsufsort
except ImportError:  # pragma: no cover - pydivsufsort is a dependency
    divsufsort = None

needs_divsufsort = pytest.mark.skipif(divsufsort is None, reason="pydivsufsort not installed")


def naive_sa(seq):
    seq = list(seq)
    return sorted(range(len(seq)), key=lambda i: seq[i:])


def check(text, expected=None, **kw):
    """Run both index widths on text and compare with expected (naive if None)."""
    if expected is None:
        if isinstance(text, (bytes, bytearray)):
            expected = naive_sa(text)
        else:
            expected = naive_sa(np.asarray(text).tolist())
    sa = suffix_array(text, **kw)
    assert sa.dtype == np.int32
    assert sa.tolist() == list(expected)
    sa64 = _suffix_array_64(text, **kw)
    assert sa64.dtype == np.int64
    assert sa64.tolist() == list(expected)
    return sa


def verify_sa(text, sa):
    """Full linear check that sa is the suffix array of text: a permutation
    whose neighbours a, b satisfy T[a] < T[b], or T[a] == T[b] and the
    suffix after a ranks before the suffix after b (end of text lowest)."""
    t = np.asarray(text).astype(np.int64)
    n = t.shape[0]
    sa = np.asarray(sa, dtype=np.int64)
    assert sa.shape == (n,)
    rank = np.full(n + 1, -1, dtype=np.int64)
    rank[sa] = np.arange(n)
    assert np.array_equal(np.sort(sa), np.arange(n))
    a, b = sa[:-1], sa[1:]
    ok = (t[a] < t[b]) | ((t[a] == t[b]) & (rank[a + 1] < rank[b + 1]))
    assert bool(ok.all())


def divsufsort_ref(data: bytes):
    arr = np.frombuffer(data, dtype=np.uint8).copy()  # divsufsort wants writable
    return divsufsort(arr)


# ----------------------------------------------------------------- bytes ---

SMALL_CASES = [
    b"",
    b"a",
    b"\x00",
    b"\xff",
    b"ab",
    b"ba",
    b"aa",
    b"banana",
    b"mississippi",
    b"abracadabra",
    b"aaaaaaaaaa",
    b"abababababab",
    b"ababababababa",
    b"abcabcabcabcab",
    b"zyxwvutsrqponm",
    b"abcdefghijklmn",
    b"\x00\x00\x00\x01\x00\x00",
    b"\xff\x00\xff\x00\xff",
    b"aabaabaabaab" * 3,
    b"cabbage cabbage cabbage",
    bytes(range(256)),
    bytes(range(255, -1, -1)),
    bytes(range(256)) * 3,
]


@pytest.mark.parametrize("text", SMALL_CASES, ids=lambda t: repr(t[:12]))
def test_small_bytes_match_naive(text):
    check(text)
    assert suffix_array_bytes(text).tolist() == naive_sa(text)


def test_empty_and_single():
    for empty in (b"", bytearray(), np.zeros(0, np.uint8), np.zeros(0, np.int64)):
        sa = suffix_array(empty)
        assert sa.shape == (0,) and sa.dtype == np.int32
    assert suffix_array_bytes(b"").shape == (0,)
    assert _suffix_array_64(b"").dtype == np.int64
    for one in (b"q", np.array([7], np.uint16), np.array([2**31 - 5], np.int64)):
        assert suffix_array(one).tolist() == [0]


def test_random_small_exhaustive():
    rng = random.Random(12345)
    for _ in range(1500):
        n = rng.randint(0, 60)
        sigma = rng.choice([1, 2, 3, 4, 8, 256])
        text = bytes(rng.randrange(sigma) + (0 if sigma == 256 else 97) for _ in range(n))
        check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_hypothesis_bytes(data):
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(b"ab"), max_size=200).map(bytes))
def test_hypothesis_binary_alphabet(data):
    check(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 40), st.binary(min_size=1, max_size=6))
def test_hypothesis_periodic(period_len, reps, seed):
    unit = (seed * period_len)[:period_len]
    data = unit * reps + unit[: reps % (period_len + 1)]
    check(data)


def test_long_runs_and_periodic_match_divsufsort():
    cases = [
        b"a" * 100_000,
        b"ab" * 60_000,
        b"abc" * 40_000 + b"ab",
        b"aab" * 33_333,
        (b"a" * 1000 + b"b") * 100,
        b"\x00" * 50_000 + b"\x01" + b"\x00" * 50_000,
        bytes(range(256)) * 400,
        b"".join(bytes([c]) * (c + 1) for c in range(256)) * 3,
    ]
    for data in cases:
        sa = suffix_array(data)
        if divsufsort is not None:
            assert np.array_equal(sa, divsufsort_ref(data))
        else:  # pragma: no cover
            assert sa.tolist() == naive_sa(data)
        assert np.array_equal(_suffix_array_64(data), sa)


@needs_divsufsort
@pytest.mark.parametrize("sigma", [1, 2, 4, 26, 256])
def test_random_medium_matches_divsufsort(sigma):
    rng = np.random.default_rng(sigma)
    data = rng.integers(0, sigma, 300_000, dtype=np.uint8)
    if sigma < 256:
        data = data + 60
    ref = divsufsort(data.copy())
    assert np.array_equal(suffix_array(data), ref)
    assert np.array_equal(suffix_array(data.tobytes()), ref)


def _real_text(limit: int) -> bytes:
    files = sorted(glob.glob("/work/corpora/jsonl/*.jsonl"))
    if files:
        chunks, total = [], 0
        for path in files[:6]:
            with open(path, "rb") as fh:
                part = fh.read(limit // 6)
            chunks.append(part)
            total += len(part)
        return b"".join(chunks)
    src = os.path.dirname(os.__file__)
    out = bytearray()
    for path in sorted(glob.glob(os.path.join(src, "*.py"))):
        with open(path, "rb") as fh:
            out += fh.read()
        if len(out) >= limit:
            break
    return bytes(out[:limit])


@needs_divsufsort
def test_real_text_matches_divsufsort():
    data = _real_text(3_000_000)
    ref = divsufsort_ref(data)
    assert np.array_equal(suffix_array_bytes(data), ref)
    assert np.array_equal(_suffix_array_64(data), ref)


# -------------------------------------------------------- integer alphabets ---

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int32, np.int64, np.uint64,
                                   np.int16, np.int8])
def test_dtypes_same_order(dtype):
    data = b"mississippi banana abracadabra"
    arr = np.frombuffer(data, np.uint8).astype(dtype)
    check(arr, naive_sa(data))


def test_int_alphabet_257_with_separator():
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 80)
        seq = [rng.choice([256, rng.randrange(3), rng.randrange(256)]) for _ in range(n)]
        check(np.array(seq, np.uint16))
        check(np.array(seq, np.int32), alphabet_size=257)


def test_int_large_sparse_ids():
    rng = random.Random(3)
    vocab = [0, 1, 2**31 - 5, 2**31 - 2, 2**30, 123456789, 99]
    for _ in range(200):
        n = rng.randint(1, 60)
        seq = [rng.choice(vocab) for _ in range(n)]
        for dt in (np.int64, np.uint32, np.int32):
            check(np.array(seq, dt))
    big = np.array([2**40, 2**33, 5, 2**40], np.int64)  # beyond int32: compacted
    check(big)


def test_int_dense_alphabet_larger_than_n():
    seq = np.array([1000, 5, 999, 5, 1000, 5], np.int32)
    check(seq)
    check(seq, alphabet_size=5000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=150))
def test_hypothesis_ints(seq):
    check(np.array(seq, np.int64))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 2), max_size=100))
def test_hypothesis_sparse_ints(seq):
    check(np.array(seq, np.int64))


@needs_divsufsort
def test_int_medium_matches_divsufsort():
    # symbols 0..255 stored as int32 with a large alphabet_size exercise the
    # integer kernel (no byte shortcut when a value >= 256 exists)
    rng = np.random.default_rng(5)
    data = rng.integers(0, 6, 200_000).astype(np.uint8)
    ref = divsufsort(data.copy())
    wide = data.astype(np.int32) * 300 + 7  # same order, values >= 256
    assert np.array_equal(suffix_array(wide), ref)
    assert np.array_equal(suffix_array(wide, alphabet_size=int(wide.max()) + 1), ref)
    assert np.array_equal(_suffix_array_64(wide), ref)
    tokens = rng.integers(0, 50_000, 200_000).astype(np.int32)  # token-id like
    verify_sa(tokens, suffix_array(tokens))


@pytest.mark.parametrize("dtype,hi,n", [
    (np.uint16, 60_000, 150_000),     # 16-bit kernel, no copy
    (np.int64, 60_000, 150_000),      # converted to uint16
    (np.int64, 120_000, 150_000),     # converted to int32
    (np.uint32, 120_000, 150_000),    # read as int32 in place
    (np.int32, 120_000, 150_000),     # int32 kernel, no copy
    (np.uint16, 65_535, 1_000),       # k > n, 16-bit: no compaction
    (np.int64, 2**40, 100_000),       # sparse, > 65536 distinct: compacted to int32
    (np.int64, 2**40, 30_000),        # sparse, compacted to uint16
])
def test_int_kernels_verified(dtype, hi, n):
    rng = np.random.default_rng(hi % 1000 + n)
    # repetitive token stream: a few random "sentences" repeated, so the
    # recursion sees equal LMS substrings
    vocab = rng.integers(0, hi, 5000, dtype=np.int64).astype(dtype)
    idx = np.concatenate([rng.integers(0, 5000, 50) for _ in range(40)])
    seq = np.concatenate([vocab[idx[rng.integers(0, len(idx) - 40):][:40]] for _ in range(n // 40 + 1)])[:n]
    sa = suffix_array(seq)
    verify_sa(seq, sa)
    assert np.array_equal(_suffix_array_64(seq), sa)


def test_verifier_rejects_wrong_arrays():
    data = np.frombuffer(b"mississippi", np.uint8)
    sa = suffix_array(data)
    verify_sa(data, sa)
    bad = sa.copy()
    bad[[3, 4]] = bad[[4, 3]]
    with pytest.raises(AssertionError):
        verify_sa(data, bad)


# ------------------------------------------------------------------ errors ---

def test_negative_symbols_rejected():
    with pytest.raises(ValueError):
        suffix_array(np.array([1, -1, 2], np.int32))
    with pytest.raises(ValueError):
        suffix_array(np.array([-5], np.int64))


def test_alphabet_size_checked():
    with pytest.raises(ValueError):
        suffix_array(np.array([1, 2, 9], np.int32), alphabet_size=9)
    with pytest.raises(ValueError):
        suffix_array(b"abc", alphabet_size=98)
    with pytest.raises(ValueError):
        suffix_array(b"abc", alphabet_size=0)
    assert suffix_array(b"abc", alphabet_size=100).tolist() == [0, 1, 2]


def test_bad_types_rejected():
    with pytest.raises(TypeError):
        suffix_array(np.array([1.0, 2.0]))
    with pytest.raises(TypeError):
        suffix_array("text")
    with pytest.raises(TypeError):
        suffix_array_bytes("text")
    with pytest.raises(ValueError):
        suffix_array(np.zeros((2, 2), np.uint8))


def test_input_not_modified_and_views():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 4, 5000, dtype=np.uint8)
    keep = base.copy()
    suffix_array(base)
    assert np.array_equal(base, keep)
    ints = rng.integers(0, 1000, 5000).astype(np.int32)
    keep_i = ints.copy()
    suffix_array(ints)
    assert np.array_equal(ints, keep_i)
    # non-contiguous view
    strided = base[::2]
    assert np.array_equal(suffix_array(strided), suffix_array(strided.copy()))
    ro = np.frombuffer(base.tobytes(), np.uint8)  # read-only buffer
    assert np.array_equal(suffix_array(ro), suffix_array(base))
    assert np.array_equal(suffix_array(memoryview(base.tobytes())), suffix_array(base))


def test_python_list_input():
    assert suffix_array([3, 1, 2, 1]).tolist() == naive_sa([3, 1, 2, 1])
    assert suffix_array([]).shape == (0,)


def test_threads_run_concurrently_and_correctly():
    rng = np.random.default_rng(9)
    texts = [rng.integers(0, 3, 200_000, dtype=np.uint8) for _ in range(4)]
    expected = [suffix_array(t) for t in texts]
    results = [None] * 4

    def work(i):
        results[i] = suffix_array(texts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for got, exp in zip(results, expected):
        assert np.array_equal(got, exp)
