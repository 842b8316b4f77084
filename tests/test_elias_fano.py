"""Elias-Fano document starts (ext/elias_fano.pxd): property tests against numpy, the
complete check that guards the kernels; compact separator rows and zstd metadata blocks;
and shards of the 1.0 format (plain starts, absolute rows, zlib metadata)."""
from __future__ import annotations

import json
import shutil
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import fmindex
from fmindex import _elias_fano as ef
from fmindex import format as fmt
from fmindex.corpus import Documents
from fmindex.errors import CorruptIndexError
from fmindex.shard import DOC_STARTS_ARRAYS, encode_metadata

# gaps between consecutive values: tiny documents, ordinary ones, and huge jumps
GAPS = st.lists(st.one_of(st.integers(1, 3), st.integers(1, 1000),
                          st.integers(1, 1 << 40)), min_size=0, max_size=600)


def values_of(first: int, gaps: list) -> np.ndarray:
    return np.cumsum(np.array([first] + gaps, dtype=np.uint64), dtype=np.uint64)


def queries_of(v: np.ndarray) -> np.ndarray:
    """Every value, its neighbours, the midpoints, and beyond the last."""
    q = np.concatenate([v, v[1:] - np.uint64(1), v + np.uint64(1),
                        v[:-1] + (v[1:] - v[:-1]) // np.uint64(2), v[-1:] + np.uint64(1 << 20)])
    return np.unique(q[q >= v[0]])


def check_all(v: np.ndarray) -> None:
    e = ef.EliasFano.from_values(v)
    assert len(e) == v.shape[0]
    assert np.array_equal(e.to_array(), v)
    assert np.array_equal(e.get_many(np.arange(v.shape[0])), v)
    for i in range(min(v.shape[0], 50)):
        assert e[i] == int(v[i])
    for i in range(v.shape[0] - 1):
        assert e.pair(i) == (int(v[i]), int(v[i + 1]))
    q = queries_of(v)
    assert np.array_equal(e.predecessors(q), np.searchsorted(v, q, side="right") - 1)
    # size: about 2 + log2(U / n) bits per value plus the select samples
    n = v.shape[0]
    assert e.nbytes * 8 <= n * (e.L + 3) + 64 * 6 + 64 * (3 * n // ef.SAMPLE + 2)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1 << 20), GAPS)
def test_matches_numpy(first, gaps):
    check_all(values_of(first, gaps))


@pytest.mark.parametrize("v", [
    [0],                                     # one value
    [5],
    [0, 1],
    list(range(0, 5000)),                    # many tiny documents: gaps of 1, L = 0
    list(range(0, 10000, 2)),
    [0, 1, 2, 3, 1 << 45],                   # a huge gap
    [0] + [(1 << 40) + i for i in range(3000)],   # one huge gap then a dense run (big bucket)
    list(range(0, 3000)) + [1 << 50],
    [0, (1 << 57) - 1, (1 << 60)],           # low-bit width at its cap
    [(1 << 64) - 1],                         # the largest uint64: last + 1 wraps to 0
    [0, 1, (1 << 64) - 1],
])
def test_edge_cases(v):
    check_all(np.array(v, dtype=np.uint64))


def test_sample_boundaries():
    """Runs of exactly SAMPLE ones and zeros, and values on sample edges."""
    rng = np.random.default_rng(3)
    for n in (ef.SAMPLE - 1, ef.SAMPLE, ef.SAMPLE + 1, 2 * ef.SAMPLE, 5 * ef.SAMPLE + 7):
        for gap_hi in (2, 4, 300, 1 << 20):
            gaps = rng.integers(1, gap_hi, n - 1).tolist()
            check_all(values_of(0, gaps))


def test_empty_and_unsorted_are_refused():
    with pytest.raises(ValueError):
        ef.encode(np.zeros(0, dtype=np.uint64))
    with pytest.raises(ValueError):
        ef.encode(np.array([3, 3], dtype=np.uint64))
    with pytest.raises(ValueError):
        ef.encode(np.array([4, 2], dtype=np.uint64))


def test_check_catches_every_damage():
    """Any bit flip in any of the arrays (or a wrong parameter) is refused by check(), or
    leaves a sequence that still decodes to strictly increasing values (e.g. a low bit) --
    never an out-of-bounds read later."""
    rng = np.random.default_rng(5)
    v = values_of(0, rng.integers(1, 700, 2000).tolist())
    e = ef.encode(v)
    assert ef.check(e["high"], e["low"], e["sel1"], e["sel0"], e["n"], e["last"], e["L"]) == v[0]
    ok = ef.decode(e["high"], e["low"], e["sel1"], e["sel0"], e["n"], e["last"], e["L"])
    assert np.array_equal(ok, v)
    for name in ("high", "low", "sel1", "sel0"):
        arr = e[name]
        for _ in range(40):
            bad = arr.copy()
            w = int(rng.integers(0, bad.shape[0]))
            bad[w] ^= np.uint64(1) << np.uint64(int(rng.integers(0, 64)))
            args = {k: e[k] for k in ("high", "low", "sel1", "sel0")}
            args[name] = bad
            try:
                got = ef.decode(args["high"], args["low"], args["sel1"], args["sel0"],
                                e["n"], e["last"], e["L"])
            except ValueError:
                continue
            # survived the check: only a low-part flip or padding can do that, and the
            # values are still a valid strictly increasing sequence ending at last
            assert name == "low"
            assert bool(np.all(got[1:] > got[:-1])) and int(got[-1]) == e["last"]
            e2 = ef.EliasFano(args["high"], args["low"], args["sel1"], args["sel0"],
                              e["n"], e["last"], e["L"])
            q = queries_of(got)
            assert np.array_equal(e2.predecessors(q), np.searchsorted(got, q, side="right") - 1)
    for n, last, L in ((e["n"] + 1, e["last"], e["L"]), (e["n"], e["last"] + 1, e["L"]),
                       (e["n"], e["last"], e["L"] + 1), (e["n"] - 1, e["last"], e["L"])):
        with pytest.raises(ValueError):
            ef.check(e["high"], e["low"], e["sel1"], e["sel0"], n, last, L)
    for name in ("high", "low", "sel1", "sel0"):
        args = {k: e[k] for k in ("high", "low", "sel1", "sel0")}
        args[name] = args[name][:-1]
        with pytest.raises(ValueError):
            ef.check(args["high"], args["low"], args["sel1"], args["sel0"],
                     e["n"], e["last"], e["L"])


# ------------------------------------------------------------------ the streaming check
U64 = (1 << 64) - 1


def reference_low_bits(n: int, last: int) -> int:
    """L = floor(log2((last + 1) / n)) (0 if last + 1 < 2n), at most 57: Python integers."""
    L = 0
    while L < ef.MAX_LOW_BITS and n << (L + 1) <= last + 1:
        L += 1
    return L


def reference_check(high, low, sel1, sel0, n: int, last: int, L: int) -> int:
    """The check written the plain way: decode every value of the layout (Python integers,
    each value taken as a uint64 like the kernels do), then verify.  The first value, or
    ValueError with check()'s message; the failures are tested in check()'s order."""
    if n == 0:
        raise ValueError("empty sequence")
    if L > ef.MAX_LOW_BITS or L != reference_low_bits(n, last):
        raise ValueError("wrong low-bit width")
    n_high_bits = n + (last >> L) + 1
    if high.shape[0] != (n_high_bits + 63) // 64 + 1:
        raise ValueError("high bits have the wrong size")
    if low.shape[0] != (n * L + 63) // 64 + 1:
        raise ValueError("low bits have the wrong size")
    if (sel1.shape[0] != -(-n // ef.SAMPLE)
            or sel0.shape[0] != -(-(n_high_bits - n) // ef.SAMPLE)):
        raise ValueError("select samples have the wrong size")
    bits = np.unpackbits(high.view(np.uint8), bitorder="little")
    ones = np.flatnonzero(bits[:n_high_bits]).tolist()
    zeros = np.flatnonzero(bits[:n_high_bits] == 0).tolist()
    low_int = int.from_bytes(low.tobytes(), "little")
    values = [(((p - i) << L) | ((low_int >> (i * L)) & ((1 << L) - 1))) & U64
              for i, p in enumerate(ones)]
    if (bits[n_high_bits:].any() or len(ones) != n
            or any(b <= a for a, b in zip(values, values[1:]))):
        raise ValueError("values are not strictly increasing or the bit counts are wrong")
    if values[-1] != last:
        raise ValueError("the last value differs from the recorded one")
    if (sel1.tolist() != ones[::ef.SAMPLE]) or (sel0.tolist() != zeros[::ef.SAMPLE]):
        raise ValueError("select samples do not match the high bits")
    return values[0]


def outcome(fn, arrays: dict, n: int, last: int, L: int):
    """("ok", first value) or ("error", message)."""
    try:
        return "ok", int(fn(arrays["high"], arrays["low"], arrays["sel1"], arrays["sel0"],
                            n, last, L))
    except ValueError as e:
        return "error", str(e)


@st.composite
def sequences(draw) -> np.ndarray:
    """Strictly increasing uint64 values: lengths around the sample boundaries (256), gaps
    from all-ones (L = 0, one big bucket) to huge, first values up to 2^64 - 1."""
    n = draw(st.one_of(st.integers(1, 10), st.integers(1, 1200),
                       st.sampled_from([ef.SAMPLE - 1, ef.SAMPLE, ef.SAMPLE + 1,
                                        2 * ef.SAMPLE, 3 * ef.SAMPLE + 1])))
    max_gap = draw(st.sampled_from([1, 2, 4, 300, 1 << 20, 1 << 40]))
    first = draw(st.one_of(st.integers(0, 1000), st.integers(0, U64)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    gaps = rng.integers(1, max_gap, n - 1, endpoint=True, dtype=np.uint64)
    if n > 1 and draw(st.booleans()):              # a dense run then one huge jump
        gaps[int(rng.integers(0, n - 1))] = np.uint64(1 << int(rng.integers(20, 60)))
    values = [first] + gaps.tolist()
    total = sum(values)
    if total > U64:                                # keep the last value below 2^64
        first = max(0, U64 - (total - first))
        values[0] = first
        if sum(values) > U64:
            values = [first] + [1] * (n - 1)
    return np.cumsum(np.array(values, dtype=np.uint64), dtype=np.uint64)


def encoded(v: np.ndarray) -> tuple:
    e = ef.encode(v)
    return {k: e[k] for k in ("high", "low", "sel1", "sel0")}, e["n"], e["last"], e["L"]


@settings(max_examples=300, deadline=None)
@given(sequences())
def test_streaming_check_accepts_valid_sequences(v):
    arrays, n, last, L = encoded(v)
    assert outcome(ef.check, arrays, n, last, L) == ("ok", int(v[0]))
    assert outcome(reference_check, arrays, n, last, L) == ("ok", int(v[0]))
    assert np.array_equal(ef.decode(arrays["high"], arrays["low"], arrays["sel1"],
                                    arrays["sel0"], n, last, L), v)


@st.composite
def damages(draw, arrays: dict, n: int, last: int, L: int) -> tuple:
    """One damage: 1-3 bit flips in one array, a truncated or lengthened array, or a wrong
    n / last / L (with L either kept or recomputed for the wrong n / last, so the damage
    also reaches the bit-level checks)."""
    arrays = {k: a.copy() for k, a in arrays.items()}
    kind = draw(st.sampled_from(["flip", "flip", "flip", "resize", "n", "last", "L"]))
    if kind == "flip":
        name = draw(st.sampled_from(sorted(arrays)))
        a = arrays[name]
        for _ in range(draw(st.integers(1, 3))):
            word = draw(st.integers(0, a.shape[0] - 1))
            a[word] ^= np.uint64(1) << np.uint64(draw(st.integers(0, 63)))
    elif kind == "resize":
        name = draw(st.sampled_from(sorted(arrays)))
        a = arrays[name]
        if draw(st.booleans()):
            arrays[name] = a[:a.shape[0] - draw(st.integers(1, a.shape[0]))].copy()
        else:
            arrays[name] = np.concatenate([a, np.zeros(draw(st.integers(1, 3)), np.uint64)])
    elif kind == "L":
        L = draw(st.sampled_from(sorted({max(L - 1, 0), L + 1, 0, ef.MAX_LOW_BITS} - {L})))
    else:
        delta = draw(st.sampled_from([-ef.SAMPLE, -2, -1, 1, 2, ef.SAMPLE]))
        if kind == "n":
            n = max(n + delta, 0)
        else:
            last = min(max(last + delta, 0), U64)
        if n > 0 and draw(st.booleans()):
            L = reference_low_bits(n, last)
    return arrays, n, last, L


@settings(max_examples=600, deadline=None)
@given(st.data(), sequences())
def test_streaming_check_raises_exactly_when_the_reference_does(data, v):
    """On damaged arrays the streaming check and the plain decode-and-verify agree: the
    same message, or both accept (a low-part flip can leave a valid sequence) with the
    same first value."""
    arrays, n, last, L = data.draw(damages(*encoded(v)))
    expected = outcome(reference_check, arrays, n, last, L)
    event(expected[1] if expected[0] == "error" else "accepted")   # --hypothesis-show-statistics
    assert outcome(ef.check, arrays, n, last, L) == expected


def test_streaming_check_absurd_sizes_are_refused():
    """Sizes computed in Python integers: an n near 2^64 is a size error, not a wrapped
    size that a tiny array matches (nor an 8 * n byte allocation)."""
    for n, last in (((1 << 64) - 1, 0), ((1 << 64) - 10, 20)):
        L = ef.low_bits_for(n, last)
        n_high_bits = (n + (last >> L) + 1) % (1 << 64)        # what uint64 arithmetic gives
        arrays = {"high": np.zeros((n_high_bits + 63) // 64 + 1, np.uint64),
                  "low": np.zeros(1, np.uint64),
                  "sel1": np.zeros(((n + 255) % (1 << 64)) >> 8, np.uint64),
                  "sel0": np.zeros(1, np.uint64)}
        kind, msg = outcome(ef.check, arrays, n, last, L)
        assert kind == "error" and "wrong size" in msg


def test_streaming_check_memory_does_not_grow_with_n():
    """check() on 5 million values allocates O(1) memory (tracemalloc sees numpy's
    allocations: decode, which needs 8 bytes per value, shows that it would notice)."""
    n = 5_000_000
    v = np.cumsum(np.random.default_rng(7).integers(1, 64, n, dtype=np.uint64),
                  dtype=np.uint64)
    arrays, n, last, L = encoded(v)
    del v
    args = (arrays["high"], arrays["low"], arrays["sel1"], arrays["sel0"], n, last, L)
    tracemalloc.start()
    try:
        ef.check(*args)
        _, check_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        values = ef.decode(*args)
        _, decode_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert check_peak < (1 << 20), check_peak
    assert decode_peak >= 8 * n and values.shape[0] == n


def test_packed_roundtrip():
    rng = np.random.default_rng(2)
    for w in (1, 7, 18, 33, 57):
        v = rng.integers(0, 1 << w, 1000, dtype=np.uint64) if w < 57 else \
            rng.integers(0, 1 << 56, 1000, dtype=np.uint64)
        assert np.array_equal(ef.packed_unpack(ef.packed_pack(v, w), w, v.shape[0]), v)
    with pytest.raises(ValueError):
        ef.packed_pack(np.array([8], dtype=np.uint64), 3)


# ------------------------------------------------------------------ in the index
DOCS = ([b""] * 3 + [b"a"] * 50 + [b"alpha beta", b"", b"x" * 5000, b"beta"]
        + [b"gamma %d beta" % i for i in range(700)] + [b""])


def records(docs):
    return [{"text": d.decode(), "id": i} for i, d in enumerate(docs)]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    out = tmp_path_factory.mktemp("ef") / "idx"
    fmindex.build(Documents(records(DOCS)), out, sa_sample=4, isa_sample=8,
                  progress=False).close()
    return out


def oracle_locate(docs, pat):
    res = []
    for d, t in enumerate(docs):
        i = t.find(pat)
        while i >= 0:
            res.append((d, i))
            i = t.find(pat, i + 1)
    return res


def answers(idx):
    return ([tuple(r) for r in idx.locate("beta").tolist()],
            [tuple(r) for r in idx.locate("a").tolist()],
            [idx.document(i).data for i in range(len(idx))],
            [idx.extract(i, 1, 3) for i in range(len(idx))],
            idx.doc_lengths().tolist(), [idx.metadata(i)["id"] for i in range(len(idx))])


def test_index_boundaries(small_index):
    with fmindex.open(small_index) as idx:
        sh = idx.shards[0]
        assert sh.params["doc_starts_encoding"] == "elias_fano"
        assert sh.params["doc_end_encoding"] == "sep_rank"
        assert not (small_index / "shard-00000" / "doc_starts.arr").exists()
        assert [tuple(r) for r in idx.locate("beta").tolist()] == oracle_locate(DOCS, b"beta")
        assert [tuple(r) for r in idx.locate("a").tolist()] == oracle_locate(DOCS, b"a")
        assert [idx.document(i).data for i in range(len(idx))] == DOCS
        assert idx.doc_lengths().tolist() == [len(d) for d in DOCS]
        starts = np.cumsum([0] + [len(d) + 1 for d in DOCS])
        assert np.array_equal(sh.doc_starts, starts)
        pos = np.arange(starts[-1], dtype=np.uint64)
        d, off = sh.fm.docs_of(pos)
        ref = np.searchsorted(starts, pos, side="right") - 1
        assert np.array_equal(d, ref) and np.array_equal(off, pos - starts[ref])
        perm = np.random.default_rng(0).permutation(pos)
        d, off = sh.fm.docs_of(perm)
        ref = np.searchsorted(starts, perm, side="right") - 1
        assert np.array_equal(d, ref) and np.array_equal(off, perm - starts[ref])
        with pytest.raises(ValueError):
            sh.fm.docs_of(np.array([starts[-1]], dtype=np.uint64))


def downgrade_to_1_0(shard_dir):
    """Rewrite a shard as format 1.0 wrote it: plain doc_starts.arr, absolute rows."""
    man = json.loads((shard_dir / "shard.json").read_text())
    p = man["params"]
    a = {n: fmt.read_array(shard_dir / f"{n}.arr", n, "<u8", man["files"][n])
         for n in list(DOC_STARTS_ARRAYS["elias_fano"]) + ["doc_end_rows", "C"]}
    k = p["n_docs"]
    starts = ef.decode(a["doc_ef_high"], a["doc_ef_low"], a["doc_ef_sel1"], a["doc_ef_sel0"],
                       k + 1, p["n_rows"] - 1, p["doc_ef_low_bits"])
    rows = ef.packed_unpack(a["doc_end_rows"], p["doc_end_width"], k) + a["C"][p["sep"]]
    for n in DOC_STARTS_ARRAYS["elias_fano"]:
        (shard_dir / f"{n}.arr").unlink()
        del man["files"][n]
    man["files"]["doc_starts"] = fmt.write_array(shard_dir / "doc_starts.arr", "doc_starts",
                                                 starts)
    man["files"]["doc_end_rows"] = fmt.write_array(
        shard_dir / "doc_end_rows.arr", "doc_end_rows", ef.packed_pack(rows, p["row_width"]))
    blob = fmt.read_array(shard_dir / "meta_blob.arr", "meta_blob", "u1", man["files"]["meta_blob"])
    mo = fmt.read_array(shard_dir / "meta_offsets.arr", "meta_offsets", "<u8",
                        man["files"]["meta_offsets"])
    import zstandard
    metas = []
    for b in range(mo.shape[0] - 1):
        block = bytes(blob[int(mo[b]):int(mo[b + 1])])
        raw = (zlib.decompress(block) if p["meta_codec"] == "zlib" else
               zstandard.ZstdDecompressor().decompressobj().decompress(block))
        metas += [json.dumps(m).encode() for m in json.loads(raw)]
    blob, mo, codec = encode_metadata(metas, "zlib")
    man["files"]["meta_blob"] = fmt.write_array(shard_dir / "meta_blob.arr", "meta_blob", blob)
    man["files"]["meta_offsets"] = fmt.write_array(shard_dir / "meta_offsets.arr",
                                                   "meta_offsets", mo)
    for k_ in ("doc_starts_encoding", "doc_ef_low_bits", "doc_end_encoding", "doc_end_width",
               "meta_codec"):
        del p[k_]
    man["format_version"] = [1, 0]
    (shard_dir / "shard.json").write_text(json.dumps(man))


def test_format_1_0_shards_still_open(small_index, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(small_index, old)
    downgrade_to_1_0(old / "shard-00000")
    with fmindex.open(old, verify=True) as a, fmindex.open(small_index) as b:
        assert a.shards[0].params["doc_starts_encoding"] == "plain"
        assert a.shards[0].params["meta_codec"] == "zlib"
        assert b.shards[0].params["meta_codec"] == "zstd"
        assert answers(a) == answers(b)


@pytest.mark.parametrize("edit", ["unknown encoding", "no low bits", "wrong low bits",
                                  "unknown end encoding", "wrong end width"])
def test_bad_boundary_params_are_refused(small_index, tmp_path, edit):
    bad = tmp_path / "bad"
    shutil.copytree(small_index, bad)
    path = bad / "shard-00000" / "shard.json"
    man = json.loads(path.read_text())
    p = man["params"]
    if edit == "unknown encoding":
        p["doc_starts_encoding"] = "rice"
    elif edit == "no low bits":
        del p["doc_ef_low_bits"]
    elif edit == "wrong low bits":
        p["doc_ef_low_bits"] += 1
    elif edit == "unknown end encoding":
        p["doc_end_encoding"] = "rank"
    else:
        p["doc_end_width"] += 1
    path.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError):
        fmindex.open(bad)


def test_repeated_doc_end_row_is_refused(small_index, tmp_path):
    """The separator rows must be C[sep] .. C[sep] + k - 1, each once: a repeat is refused."""
    bad = tmp_path / "bad"
    shutil.copytree(small_index, bad)
    sd = bad / "shard-00000"
    man = json.loads((sd / "shard.json").read_text())
    p = man["params"]
    rel = ef.packed_unpack(fmt.read_array(sd / "doc_end_rows.arr", "doc_end_rows", "<u8",
                                          man["files"]["doc_end_rows"]),
                           p["doc_end_width"], p["n_docs"]).copy()
    rel[1] = rel[0]
    man["files"]["doc_end_rows"] = fmt.write_array(sd / "doc_end_rows.arr", "doc_end_rows",
                                                   ef.packed_pack(rel, p["doc_end_width"]))
    (sd / "shard.json").write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError):
        fmindex.open(bad)


def test_damaged_metadata_block_is_refused(small_index, tmp_path):
    """A zstd block cut short or overwritten: metadata() raises CorruptIndexError (opened
    without checksums, which would refuse the file up front)."""
    bad = tmp_path / "bad"
    shutil.copytree(small_index, bad)
    path = bad / "shard-00000" / "meta_blob.arr"
    data = bytearray(path.read_bytes())
    for off in range(fmt.HEADER_BYTES, fmt.HEADER_BYTES + 12):
        data[off] ^= 0x5A
    path.write_bytes(bytes(data))
    with fmindex.open(bad, verify=False) as idx:
        with pytest.raises(CorruptIndexError):
            idx.metadata(0)
        assert idx.metadata(len(idx) - 1)["id"] == len(idx) - 1     # other blocks still fine


def test_format_1_0_byte_lm_and_token_shards(small_index, tmp_path):
    """The LM kernels (byte and token) are built from the same in-memory boundaries."""
    from fmindex import lm
    from fmindex.tokens import build_tokens, open_tokens
    old = tmp_path / "old"
    shutil.copytree(small_index, old)
    downgrade_to_1_0(old / "shard-00000")
    with fmindex.open(old) as a, fmindex.open(small_index) as b:
        for q in (b"", b"a", b"be", b"gamma 1", b"x"):
            assert lm.next_token_distribution(a, q) == lm.next_token_distribution(b, q)
    docs = [[5, 6], [], [5, 6, 7], [6], [7, 7, 7, 5]] * 40
    tok = build_tokens([np.asarray(d, dtype=np.uint32) for d in docs], tmp_path / "t", eos_id=0)
    tok_old = tmp_path / "t_old"
    shutil.copytree(tok.path, tok_old)
    for sd in sorted(tok_old.glob("shard-*")):
        downgrade_to_1_0(sd)
    t_old = open_tokens(tok_old, eos_id=0)
    assert t_old.shards[0].shard.params["doc_starts_encoding"] == "plain"
    for ctx in ([], [5], [6], [7, 7], [5, 6]):
        assert t_old.next_token_distribution(ctx) == tok.next_token_distribution(ctx)
        assert t_old.locate(ctx).tolist() == tok.locate(ctx).tolist() if ctx else True
    assert [t_old.extract(i).tolist() for i in range(len(docs))] == docs
