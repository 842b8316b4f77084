"""Build profiles: "small" (RRR-compressed tree bits) answers exactly like "fast", is
smaller, keeps its parameters through add / reopen, and refuses a damaged payload."""
import gzip
import json
import random
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fmindex
from fmindex.builder import add
from fmindex.corpus import Documents
from fmindex.errors import CorruptIndexError, IndexFormatError

SAMPLE = Path(os.environ.get("FMINDEX_SAMPLE_DIR",
                             Path(__file__).resolve().parents[2] / "shared/corpora/sample"))
MOBY = SAMPLE / "en_moby_dick.jsonl.gz"
SHARD = "shard-00000"


def moby_docs() -> list:
    if not MOBY.exists():
        pytest.skip(f"sample corpus not found: {MOBY}")
    with gzip.open(MOBY, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"].encode() for line in fh]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Moby Dick (real English, 1.2 MB) as a fast and as a small index."""
    docs = moby_docs()
    root = tmp_path_factory.mktemp("profiles")
    fast = fmindex.build(MOBY, root / "fast", progress=False)
    small = fmindex.build(MOBY, root / "small", profile="small", progress=False)
    return docs, fast, small, root


def test_small_answers_like_fast_and_the_text(pair):
    docs, fast, small, _ = pair
    rng = np.random.default_rng(11)
    pats = [b"whale", b"Ahab", b"the", b"e", b"Queequeg's", b"\n", b"zzzzq", b"white whale"]
    for _ in range(150):
        d = docs[int(rng.integers(0, len(docs)))]
        if len(d) < 2:
            continue
        i = int(rng.integers(0, len(d) - 1))
        pats.append(d[i:i + int(rng.integers(1, 40))])
    counts = small.count_many(pats)
    for p, c in zip(pats, counts):
        want = sum(doc.count(p) if len(p) == 1 else _overlapping(doc, p) for doc in docs)
        assert small.count(p) == fast.count(p) == c == want, p
    for p in (b"whale", b"Ahab", b"Starbuck"):
        got = sorted(map(tuple, small.locate(p).tolist()))
        assert got == sorted(map(tuple, fast.locate(p).tolist()))
        assert all(docs[d][o:o + len(p)] == p for d, o in got)
    for d in range(0, len(docs), 7):
        assert small.document(d).data == docs[d]
        n = len(docs[d])
        assert small.extract(d, n // 3, n // 3 + 500) == docs[d][n // 3:n // 3 + 500]


def _overlapping(doc: bytes, p: bytes) -> int:
    n, i = 0, doc.find(p)
    while i >= 0:
        n += 1
        i = doc.find(p, i + 1)
    return n


def test_small_is_smaller_with_its_own_sampling(pair):
    _, fast, small, _ = pair
    fs, ss = fast.stats(), small.stats()
    assert (fs["profile"], ss["profile"]) == ("fast", "small")
    assert (ss["sa_sample"], ss["isa_sample"]) == (128, 256)
    assert (fs["sa_sample"], fs["isa_sample"]) == (32, 64)
    tree = "bwt (wavelet tree)"
    assert ss["components"][tree] < 0.75 * fs["components"][tree]
    assert ss["index_bytes"] < 0.75 * fs["index_bytes"]


def test_explicit_sampling_and_bad_profile(tmp_path):
    docs = [b"abracadabra", b"cadabra abra"]
    idx = fmindex.build(Documents(docs), tmp_path / "a", profile="small", sa_sample=4,
                        isa_sample=8, progress=False)
    st = idx.stats()
    assert (st["profile"], st["sa_sample"], st["isa_sample"]) == ("small", 4, 8)
    assert idx.count("abra") == 4 and sorted(map(tuple, idx.locate("abra").tolist())) == \
        [(0, 0), (0, 7), (1, 3), (1, 8)]
    with pytest.raises(ValueError, match="profile"):
        fmindex.build(Documents(docs), tmp_path / "b", profile="tiny", progress=False)
    assert not (tmp_path / "b").exists()


def test_add_keeps_the_profile(tmp_path):
    idx = fmindex.build(Documents([b"first document", b"second one"]), tmp_path / "i",
                        profile="small", progress=False)
    idx.close()
    idx = add(tmp_path / "i", Documents([b"third document here"]), progress=False)
    assert idx.num_shards == 2
    assert all(s.params["wt_bits"] == "rrr63rc" for s in idx.shards)
    assert idx.count("document") == 2
    assert idx.document(2).data == b"third document here"


@pytest.fixture
def small_copy(pair, tmp_path):
    dst = tmp_path / "idx"
    shutil.copytree(pair[3] / "small", dst)
    return dst


def test_damaged_payload_is_refused(small_copy):
    path = small_copy / SHARD / "wt_payload.arr"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexFormatError):
        fmindex.open(small_copy, verify=True)
    # unverified: wrong answers are possible, a crash is not
    with fmindex.open(small_copy, verify=False) as idx:
        for p in ("whale", "the", "Ahab", "a", "sea"):
            idx.count(p)
            idx.locate(p, limit=50)
        idx.document(3)


def test_missing_or_inconsistent_payload_is_refused(small_copy):
    shard_json = small_copy / SHARD / "shard.json"
    man = json.loads(shard_json.read_bytes())
    man["params"]["wt_bits"] = "rrr64"
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="tree bit layout"):
        fmindex.open(small_copy)
    man["params"]["wt_bits"] = "rrr63rc"
    extra = man["extra_arrays"]
    man["extra_arrays"] = [e for e in extra if e != "wt_payload"]
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="RRR"):
        fmindex.open(small_copy)
    man["extra_arrays"] = [e for e in extra if e != "wt_rrr_supers"]
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="RRR superblocks"):
        fmindex.open(small_copy)
    man["extra_arrays"] = extra
    del man["params"]["wt_rrr_super_shift"]
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="wt_rrr_super_shift"):
        fmindex.open(small_copy)
    man["params"]["wt_rrr_super_shift"] = 14        # relative counters would not fit 26 bits
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="wt_rrr_super_shift"):
        fmindex.open(small_copy)
    man["params"]["wt_rrr_super_shift"] = 0         # the superblock array has another length
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="RRR superblocks"):
        fmindex.open(small_copy)
    man["params"]["wt_rrr_super_shift"] = 13
    (small_copy / SHARD / "wt_payload.arr").unlink()
    shard_json.write_text(json.dumps(man))
    with pytest.raises(IndexFormatError):
        fmindex.open(small_copy)


def test_kind_is_validated_against_the_payload(small_copy, tmp_path, monkeypatch):
    """An rrr63r shard relabelled rrr63 has the wrong payload size, an rrr63rc shard
    relabelled rrr63r / rrr63 the wrong number of lines: refused."""
    import fmindex.shard as shard_mod
    shard_json = small_copy / SHARD / "shard.json"
    man = json.loads(shard_json.read_bytes())
    assert man["params"]["wt_bits"] == "rrr63rc"
    for kind in ("rrr63r", "rrr63"):
        man["params"]["wt_bits"] = kind
        shard_json.write_text(json.dumps(man))
        with pytest.raises(CorruptIndexError, match="RRR lines"):
            fmindex.open(small_copy)
    monkeypatch.setitem(shard_mod.PROFILE_WT_BITS, "small", "rrr63r")
    fmindex.build(Documents(moby_docs()[:60]), tmp_path / "r", profile="small",
                  progress=False).close()
    shard_json = tmp_path / "r" / SHARD / "shard.json"
    man = json.loads(shard_json.read_bytes())
    assert man["params"]["wt_bits"] == "rrr63r"
    man["params"]["wt_bits"] = "rrr63"
    shard_json.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="RRR .*payload"):
        fmindex.open(tmp_path / "r")


@pytest.mark.parametrize("super_shift", [13, 1])
def test_damaged_compact_line_is_refused(pair, tmp_path, monkeypatch, super_shift):
    """rrr63rc: one line's relative ones or payload pointer changed, one class changed, or
    a superblock pair changed: refused on open even unverified (every line is checked
    against the one before it), with superblocks of 2^13 and of 2 lines."""
    import fmindex.shard as shard_mod
    src = pair[3] / "small"
    if super_shift != shard_mod.RRR_SUPER_SHIFT:
        monkeypatch.setattr(shard_mod, "RRR_SUPER_SHIFT", super_shift)
        src = tmp_path / "src"
        fmindex.build(MOBY, src, profile="small", progress=False).close()
    man = json.loads((src / SHARD / "shard.json").read_bytes())
    assert man["params"]["wt_bits"] == "rrr63rc"
    assert man["params"]["wt_rrr_super_shift"] == super_shift
    lines = np.fromfile(src / SHARD / "wt_lines.arr", dtype="<u8", offset=64)
    n_lines = lines.shape[0] // 8
    supers = np.fromfile(src / SHARD / "wt_rrr_supers.arr", dtype="<u8", offset=64)
    assert supers.shape[0] == 2 * ((n_lines - 1) // (1 << super_shift) + 1)
    # (file, u64 word, xor mask): a line's relative ones / pointer (bits 12.. / 38.. of word
    # 0), a class (word 4; word 0's bits 0..11), a superblock's ones and pointer
    damage = [("wt_lines.arr", 8 * (n_lines // 2), 1 << 12), ("wt_lines.arr", 8 * (n_lines // 2), 1 << 40),
              ("wt_lines.arr", 8 * (n_lines // 3) + 4, 1 << 6), ("wt_lines.arr", 8 * 3, 1 << 33),
              ("wt_lines.arr", 8 * 5, 1 << 7)]
    if supers.shape[0] > 2:
        damage += [("wt_rrr_supers.arr", 2, 4), ("wt_rrr_supers.arr", 3, 8)]
    for t, (fname, word, mask) in enumerate(damage):
        dst = tmp_path / f"d{t}"
        shutil.copytree(src, dst)
        path = dst / SHARD / fname
        raw = bytearray(path.read_bytes())
        off = 64 + 8 * word
        value = int.from_bytes(raw[off:off + 8], "little") ^ mask
        raw[off:off + 8] = value.to_bytes(8, "little")
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptIndexError, match="RRR line counts"):
            fmindex.open(dst, verify=False)
        with pytest.raises(IndexFormatError):
            fmindex.open(dst, verify=True)
    with fmindex.open(src, verify=True) as idx:      # the undamaged copy answers
        assert idx.count("whale") == pair[1].count("whale")


@pytest.mark.parametrize("kind,seed", [("rrr63r", 6), ("rrr63", 5)])
def test_older_rrr_indexes_stay_readable(pair, tmp_path, monkeypatch, kind, seed):
    """Indexes written before rrr63rc (60-block lines: kind rrr63r, and before it rrr63, every
    block enumerative) open and answer like the fast profile; add() to such an index writes
    rrr63rc shards beside them."""
    import fmindex.shard as shard_mod
    docs, fast, small, _ = pair
    monkeypatch.setitem(shard_mod.PROFILE_WT_BITS, "small", kind)
    old = fmindex.build(MOBY, tmp_path / "old", profile="small", progress=False)
    assert all(s.params["wt_bits"] == kind for s in old.shards)
    monkeypatch.undo()
    assert old.stats()["profile"] == "small"
    if kind == "rrr63r":
        assert old.stats()["index_bytes"] > small.stats()["index_bytes"]
    old.close()
    old = fmindex.open(tmp_path / "old", verify=True)
    rng = np.random.default_rng(seed)
    pats = [b"whale", b"Ahab", b"the", b"e", b"white whale"]
    for _ in range(100):
        d = docs[int(rng.integers(0, len(docs)))]
        if len(d) > 2:
            i = int(rng.integers(0, len(d) - 1))
            pats.append(d[i:i + int(rng.integers(1, 30))])
    assert old.count_many(pats).tolist() == fast.count_many(pats).tolist() == \
        small.count_many(pats).tolist()
    if kind == "rrr63r":
        assert [old.count(p) for p in pats] == [small.count(p) for p in pats]
    for p in (b"whale", b"Starbuck"):
        assert sorted(map(tuple, old.locate(p).tolist())) == \
            sorted(map(tuple, fast.locate(p).tolist()))
    assert old.document(4).data == docs[4]
    old.close()
    idx = add(tmp_path / "old", Documents([b"a whale of a new document"]), progress=False)
    assert [s.params["wt_bits"] for s in idx.shards] == [kind, "rrr63rc"]
    assert idx.count("whale") == fast.count("whale") + 1


def test_cli_build_small_and_stats(tmp_path, subprocess_env):
    if not MOBY.exists():
        pytest.skip("sample corpus missing")
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "fmindex", "build", str(MOBY), "-o", str(out),
                        "--profile", "small", "-q"], capture_output=True, timeout=300,
                       env=subprocess_env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "fmindex", "stats", str(out)],
                       capture_output=True, timeout=60, text=True, env=subprocess_env)
    assert r.returncode == 0 and "profile         small" in r.stdout, r.stdout
    assert "SA every 128, ISA every 256" in r.stdout
    r = subprocess.run([sys.executable, "-m", "fmindex", "count", str(out), "white whale"],
                       capture_output=True, timeout=60, text=True, env=subprocess_env)
    assert r.returncode == 0 and r.stdout.split()[0].replace(",", "").isdigit(), r.stdout


def test_pair_table_answers_and_damage(tmp_path, monkeypatch):
    """The 2-byte pair table (large shards only; forced here) gives the same counts, and a
    damaged one is refused even unverified (its invariants are checked on open)."""
    import fmindex.shard
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    idx = fmindex.build(Documents(docs), tmp_path / "p", progress=False)
    assert "pair_rows" in idx.shards[0].arrays
    pats = [b"th", b"he", b"e ", b"wh", b"whale", b"Ah", b"\xff\xfe", b"q", b"xyz", b"the sea"]
    for p in pats:
        assert idx.count(p) == sum(_overlapping(d, p) for d in docs), p
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    idx.close()
    path = tmp_path / "p" / SHARD / "pair_rows.arr"
    raw = bytearray(path.read_bytes())
    raw[64 + 4 * (ord("t") * 257 + 5):64 + 4 * (ord("t") * 257 + 6)] = b"\xff\xff\xff\x7f"
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError, match="pair table"):
        fmindex.open(tmp_path / "p", verify=False)
    with pytest.raises(IndexFormatError):
        fmindex.open(tmp_path / "p", verify=True)


def test_dense_pair_table_answers_and_damage(tmp_path, monkeypatch):
    """Profile "small" stores the pair table over the bytes that occur: the same counts as
    the text for pairs of present, absent and separator-adjacent bytes; a damaged table or
    byte map is refused even unverified."""
    import fmindex.shard
    docs = moby_docs()[:40] + [bytes(range(0, 256, 3))]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    idx = fmindex.build(Documents(docs), tmp_path / "d", progress=False, profile="small")
    sh = idx.shards[0]
    assert "pair_dense_rows" in sh.arrays and "pair_rows" not in sh.arrays
    text = b"".join(docs)
    present = sorted(set(text))
    nz = int(np.count_nonzero(sh.arrays["pair_map"] != 0xFFFF))
    assert nz == len(present) + (sh.params["sep"] < 256)      # the separator is a byte here
    assert sh.arrays["pair_dense_rows"].shape[0] == nz * (nz + 1)
    rng = np.random.default_rng(4)
    pats = [bytes([a, b]) for a in present[::3] for b in present[::5]]
    pats += [b"\x01a", b"a\x01", b"\xff\xff", b"th", b"he", bytes([present[-1], present[0]])]
    for _ in range(300):
        i = int(rng.integers(0, len(text) - 6))
        pats.append(text[i:i + int(rng.integers(2, 6))])
    for p in pats:
        assert idx.count(p) == sum(_overlapping(d, p) for d in docs), p
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    idx.close()
    for name, at, val in (("pair_dense_rows", 4 * (nz + 1) + 4 * 3, b"\xff\xff\xff\x7f"),
                          ("pair_map", 2 * ord("t"), b"\x00\x00")):
        bad = tmp_path / f"bad_{name}"
        shutil.copytree(tmp_path / "d", bad)
        path = bad / SHARD / f"{name}.arr"
        raw = bytearray(path.read_bytes())
        raw[64 + at:64 + at + len(val)] = val
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptIndexError, match="pair table"):
            fmindex.open(bad, verify=False)
        with pytest.raises(IndexFormatError):
            fmindex.open(bad, verify=True)


def test_triple_table_answers_and_damage(tmp_path, monkeypatch):
    """The 3-byte table (large shards of few distinct bytes; forced here) gives the same
    counts as the text, for patterns with absent bytes, the separator's neighbours and every
    length around 3; a damaged table is refused even unverified."""
    import fmindex.shard
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    idx = fmindex.build(Documents(docs), tmp_path / "t", progress=False)
    sh = idx.shards[0]
    text = b"".join(docs)
    assert "tri_rows" in sh.arrays and "tri_map" in sh.arrays
    k = int(np.count_nonzero(sh.arrays["tri_map"][:256] != 0xFFFF))
    nz = int(np.count_nonzero(sh.arrays["tri_map"][256:] != 0xFFFF))
    assert sh.arrays["tri_rows"].shape[0] == k * k * (nz + 1) and k == nz - 1  # all but sep
    # a budget for fewer first/second bytes: only the most frequent are covered, the rest
    # of the patterns fall back to the pair table
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 4.0 * 20 * 20 * (nz + 1) / len(text))
    rng = np.random.default_rng(3)
    pats = [b"the", b"he ", b"wha", b"whale", b"Ah", b"\xff\xfe\xfd", b"q", b"xyz", b"the sea",
            b"zzz", b"e.\n", b".\n\n", b"\nThe"]
    for _ in range(200):
        i = int(rng.integers(0, len(text) - 8))
        pats.append(text[i:i + int(rng.integers(3, 8))])
    pats += [bytes(rng.integers(0, 256, 3, dtype=np.uint8)) for _ in range(50)]
    for p in pats:
        assert idx.count(p) == sum(_overlapping(d, p) for d in docs), p
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    idx.close()
    small = fmindex.build(Documents(docs), tmp_path / "ts", progress=False, profile="small")
    assert "pair_dense_rows" in small.shards[0].arrays and "tri_rows" not in small.shards[0].arrays
    small.close()
    part = fmindex.build(Documents(docs), tmp_path / "t20", progress=False)
    assert int(np.count_nonzero(part.shards[0].arrays["tri_map"][:256] != 0xFFFF)) == 20
    for p in pats:
        assert part.count(p) == sum(_overlapping(d, p) for d in docs), p
    assert list(part.count_many(pats)) == [part.count(p) for p in pats]
    part.close()
    path = tmp_path / "t" / SHARD / "tri_rows.arr"
    raw = bytearray(path.read_bytes())
    raw[64 + 4 * 7:64 + 4 * 8] = b"\xff\xff\xff\x7f"
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError, match="triple table"):
        fmindex.open(tmp_path / "t", verify=False)
    with pytest.raises(IndexFormatError):
        fmindex.open(tmp_path / "t", verify=True)


@pytest.mark.parametrize("fname", ["wt_lines.arr", "wt_payload.arr", "wt_rrr_supers.arr"])
def test_random_damage_to_rrr_bits_never_crashes(pair, tmp_path, fname):
    """Unverified, a small index with flipped RRR bytes answers (perhaps wrongly) or
    reports the damage, and never reads outside its arrays."""
    rng = np.random.default_rng(len(fname))
    for trial in range(3):
        dst = tmp_path / f"idx{trial}"
        shutil.copytree(pair[3] / "small", dst)
        path = dst / SHARD / fname
        raw = bytearray(path.read_bytes())
        for pos in rng.integers(64, len(raw), 200):
            raw[int(pos)] = int(rng.integers(0, 256))
        path.write_bytes(bytes(raw))
        try:
            idx = fmindex.open(dst, verify=False)
        except IndexFormatError:
            continue                # refused by an invariant check: fine too
        with idx:
            queries = [lambda p=p: idx.count(p) for p in ("whale", "the", "Ahab", "a", "sea")]
            queries += [lambda p=p: idx.locate(p, limit=100) for p in ("whale", "the", "a")]
            queries += [lambda: idx.count_many(["whale", "the sea", "ship"])]
            queries += [lambda d=d: idx.document(d) for d in range(0, len(idx), 25)]
            for q in queries:
                try:
                    q()
                except IndexFormatError:    # damage detected by a query: fine too
                    pass


def test_small_sampling_layouts_agree_and_ef_is_smaller(tmp_path, monkeypatch):
    """Profile "small" stores its sampled rows as Elias-Fano, its ISA samples as sample ranks
    and its metadata in blocks of 256 documents; the 1.1 layout (256-row blocks, ISA rows,
    blocks of 64) is still read.  Both answer every query like the text, at the same rates
    the new layout's samples are smaller, and metadata crosses block boundaries correctly."""
    import fmindex.shard
    docs = moby_docs()[:300]
    docs += [f"note {i}: short doc".encode() for i in range(700)]
    recs = [{"text": d.decode(), "id": f"doc-{i}", "n": i} for i, d in enumerate(docs)]
    new = fmindex.build(Documents(recs), tmp_path / "new", profile="small", sa_sample=16,
                        isa_sample=48, progress=False)
    monkeypatch.setitem(fmindex.shard.PROFILE_SAMPLED_ROWS, "small", "blocks")
    monkeypatch.setitem(fmindex.shard.PROFILE_META_BLOCK_DOCS, "small", 64)
    old = fmindex.build(Documents(recs), tmp_path / "old", profile="small", sa_sample=16,
                        isa_sample=48, progress=False)
    pn, po = new.shards[0].params, old.shards[0].params
    assert (pn["sampled_encoding"], pn["isa_encoding"], pn["meta_block_docs"]) == \
        ("elias_fano", "sample_rank", 256)
    assert (po["sampled_encoding"], po["isa_encoding"], po["meta_block_docs"]) == \
        ("blocks", "row", 64)
    an, ao = new.shards[0].arrays, old.shards[0].arrays
    marks_new = sum(an[k].nbytes for k in an if k.startswith("sampled_ef_"))
    marks_old = ao["sampled_prefix"].nbytes + ao["sampled_low"].nbytes
    assert marks_new < 0.75 * marks_old, (marks_new, marks_old)
    assert an["isa_samples"].nbytes < ao["isa_samples"].nbytes
    for p in (b"whale", b"the", b"note 6", b"doc", b"\n\n", b"Ahab said"):
        want = sorted((d, i) for d, t in enumerate(docs) for i in _find_all(t, p))
        assert sorted(map(tuple, new.locate(p).tolist())) == want, p
        assert sorted(map(tuple, old.locate(p).tolist())) == want, p
    rng = np.random.default_rng(2)
    for _ in range(200):
        d = int(rng.integers(0, len(docs)))
        n = len(docs[d])
        a = int(rng.integers(0, n + 1))
        b = int(rng.integers(a, n + 5))
        assert new.extract(d, a, b) == old.extract(d, a, b) == docs[d][a:b]
    assert [new.metadata(i) for i in range(len(docs))] == \
        [{"id": f"doc-{i}", "n": i} for i in range(len(docs))]
    assert [old.metadata(i) for i in range(0, len(docs), 13)] == \
        [{"id": f"doc-{i}", "n": i} for i in range(0, len(docs), 13)]
    new.close()
    old.close()


@pytest.mark.parametrize("value", [0, 4097, 128])
def test_bad_metadata_block_size_is_refused(tmp_path, value):
    docs = [f"doc {i}".encode() for i in range(300)]
    fmindex.build(Documents(docs), tmp_path / "i", profile="small", progress=False).close()
    path = tmp_path / "i" / SHARD / "shard.json"
    man = json.loads(path.read_text())
    man["params"]["meta_block_docs"] = value         # 128: offsets do not match
    path.write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError):
        fmindex.open(tmp_path / "i", verify=False)


class _TableRewriter:
    """Copies of the index at ``src`` with one array file rewritten under a valid checksum
    (the damage tests of the 4/5-gram, n-gram and k-mer tables): ``open(name, arr, verify)``
    copies, writes ``arr`` as NAME.arr with its manifest entry, and opens the copy."""

    def __init__(self, src: Path):
        self.src, self.n = src, 0

    def open(self, name: str, arr: np.ndarray, verify):
        import fmindex.format as fmt
        dst = self.src.parent / f"{self.src.name}-d{self.n}"
        self.n += 1
        shutil.copytree(self.src, dst)
        entry = fmt.write_array(dst / SHARD / f"{name}.arr", name, arr)
        man = json.loads((dst / SHARD / "shard.json").read_text())
        man["files"][name] = entry
        fmt.write_json(dst / SHARD / "shard.json", man)
        return fmindex.open(dst, verify=verify)


def _flip_is_refused(src: Path, name: str, offset: int) -> None:
    """A copy of the index at ``src`` with bit 0 of byte ``offset`` of NAME.arr flipped is
    refused by the checksum in every verify mode."""
    raw = bytearray((src / SHARD / f"{name}.arr").read_bytes())
    raw[offset] ^= 1
    dst = src.parent / f"{src.name}-flip"
    shutil.copytree(src, dst)
    (dst / SHARD / f"{name}.arr").write_bytes(bytes(raw))
    for verify in (False, "auto", True):
        with pytest.raises(IndexFormatError):
            fmindex.open(dst, verify=verify)


def _tetra_lookup(sh, p: bytes):
    """(first row, count, bytes answered) of the longest suffix of p (5 or 4 bytes) held by
    the shard's 4/5-gram table, or None (a Python mirror of fm_tetra_range)."""
    from fmindex.shard import TETRA_SLOTS, TETRA_WORDS, tetra_hash
    t = sh.arrays["tetra_rows"].reshape(-1, TETRA_WORDS)
    k = int.from_bytes(p[-4:], "big")
    b = int(tetra_hash(np.array([k], dtype=np.uint32), t.shape[0])[0])
    got = None
    for i in range(TETRA_SLOTS):
        w = int(t[b, 2 * TETRA_SLOTS + i])
        if int(t[b, i]) != k or not w:
            continue
        if (int(t[b, TETRA_WORDS - 1]) >> i) & 1:
            if len(p) >= 5 and w >> 24 == p[-5]:
                return int(t[b, TETRA_SLOTS + i]), w & 0xFFFFFF, 5
        elif got is None:
            got = int(t[b, TETRA_SLOTS + i]), w, 4
    return got


def _tetra_entries(sh) -> dict:
    """Every string the 4/5-gram table holds -> its count."""
    from fmindex.shard import TETRA_SLOTS, TETRA_WORDS
    t = sh.arrays["tetra_rows"].reshape(-1, TETRA_WORDS)
    out = {}
    for b, i in zip(*np.nonzero(t[:, 2 * TETRA_SLOTS:3 * TETRA_SLOTS])):
        key, w = int(t[b, i]).to_bytes(4, "big"), int(t[b, 2 * TETRA_SLOTS + i])
        if (int(t[b, TETRA_WORDS - 1]) >> i) & 1:
            out[bytes([w >> 24]) + key] = w & 0xFFFFFF
        else:
            out[key] = w
    return out


@pytest.mark.parametrize("fraction", [0.03, 0.5, 64.0])
def test_tetra_table_answers(tmp_path, monkeypatch, fraction):
    """The lossy 4/5-gram table (fast large byte shards; forced here at a few bucket counts:
    a handful of crowded buckets, where most strings are dropped, up to one per text byte)
    gives the text's counts, ranges and occurrences for patterns it holds and for those it
    dropped: every length around 4 and 5, a 5th-last byte other than the stored ones, the
    separator's neighbours, absent bytes."""
    import fmindex.shard
    from fmindex.shard import TETRA_SLOTS, TETRA_WORDS
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", fraction)
    monkeypatch.setattr(fmindex.shard, "FAST_GRAM_TABLE", "tetra")     # a format 1.2 table
    idx = fmindex.build(Documents(docs), tmp_path / "q", progress=False)
    sh = idx.shards[0]
    text = b"".join(docs)
    n_text = len(text) + len(docs)
    t = sh.arrays["tetra_rows"].reshape(-1, TETRA_WORDS)
    assert t.shape[0] == int(fraction * n_text) // 64
    used = t[:, 2 * TETRA_SLOTS:3 * TETRA_SLOTS] > 0
    grams = {}
    for n in (4, 5):
        for d in docs:
            for i in range(len(d) - n + 1):
                grams[d[i:i + n]] = grams.get(d[i:i + n], 0) + 1
    # every stored string occurs, with its count; crowded buckets dropped some
    stored = _tetra_entries(sh)
    s4 = [g for g in stored if len(g) == 4]
    s5 = [g for g in stored if len(g) == 5]
    assert s4 and s5 and all(grams.get(g) == c for g, c in stored.items())
    assert all(g[1:] in stored for g in s5)        # a 5-gram only with its 4-gram
    n4 = sum(len(g) == 4 for g in grams)
    if fraction < 1:
        assert used.mean() > 0.9 and len(s4) < n4
        # the most frequent 4-grams are kept first
        top = sorted((g for g in grams if len(g) == 4), key=lambda g: -grams[g])[:10]
        assert sum(g in stored for g in top) >= 8
    else:                                   # room for nearly every 4-gram (5-grams compete)
        assert len(s4) > 0.95 * n4
    rng = np.random.default_rng(4)
    pats = [b"the ", b" the", b"whal", b"Ahab", b"\xff\xfe\xfd\xfc", b"qqqq", b"e.\n\n",
            b".\n\nT", docs[0][-4:], docs[1][:4], docs[0][-2:] + docs[1][:2], b"zzzz",
            b"\xfe" + s4[0], s4[0][:3] + b"\xfe"]
    pats += sorted(s4)[:30] + sorted(s5)[:30]
    pats += [bytes([(g[0] + 1) % 256]) + g[1:] for g in sorted(s5)[:30]]   # another 5th-last
    pats += [b"x" + g for g in sorted(s5)[:10]] + [b"the" + g for g in sorted(s4)[:10]]
    pats += [g for g in grams if g not in stored][:40]
    for _ in range(300):
        i = int(rng.integers(0, len(text) - 12))
        pats.append(text[i:i + int(rng.integers(3, 12))])
    pats += [bytes(rng.integers(0, 256, 4, dtype=np.uint8)) for _ in range(30)]
    pats += [p[:2] + b"\xfe" + p[3:] for p in pats[:30] if len(p) >= 4]    # an absent byte
    hits = [_tetra_lookup(sh, p) for p in pats if len(p) >= 4]
    assert sum(h is not None and h[2] == 5 for h in hits) >= 30
    assert sum(h is not None and h[2] == 4 for h in hits) >= 30
    if fraction < 1:                        # strings that occur but were dropped
        assert any(len(p) == 4 and _tetra_lookup(sh, p) is None and grams.get(p) for p in pats)
    for p in pats:
        want = sum(_overlapping(d, p) for d in docs)
        assert idx.count(p) == want, p
        start, cnt = sh.fm.search(p)
        assert cnt == want, p
        h = _tetra_lookup(sh, p) if len(p) >= 4 else None
        if h is not None and len(p) == h[2]:
            assert (start, cnt) == h[:2], p
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    for p in pats[:120]:
        occ = sorted((d, o) for d, doc in enumerate(docs) for o in _find_all(doc, p))
        assert [tuple(x) for x in idx.locate(p).tolist()] == occ, p
    assert sh.fm.tetra_check() == 0
    idx.close()
    # the small profile has no table
    small = fmindex.build(Documents(docs), tmp_path / "qs", progress=False, profile="small")
    assert "tetra_rows" not in small.shards[0].arrays
    small.close()


def _find_all(doc: bytes, p: bytes) -> list:
    out, i = [], doc.find(p)
    while i >= 0:
        out.append(i)
        i = doc.find(p, i + 1)
    return out


def test_tetra_table_damage(tmp_path, monkeypatch):
    """A damaged 4/5-gram table is refused in every verify mode (the file is always
    checksummed); a table rewritten with a valid checksum but a wrong range is refused by
    its invariants (rows outside the triple table's), or, if they still hold, by the
    backward-search check of verify=True.  A shard without the table still opens."""
    import fmindex.format as fmt
    import fmindex.shard
    from fmindex.shard import TETRA_SLOTS, TETRA_WORDS
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", 0.5)
    monkeypatch.setattr(fmindex.shard, "FAST_GRAM_TABLE", "tetra")     # a format 1.2 table
    fmindex.build(Documents(docs), tmp_path / "q", progress=False).close()
    good = np.array(fmindex.open(tmp_path / "q").shards[0].arrays["tetra_rows"])

    rewriter = _TableRewriter(tmp_path / "q")

    def reopen_with(table, verify):
        return rewriter.open("tetra_rows", table, verify)

    # flipped bytes: refused by the checksum, whatever the verify mode
    _flip_is_refused(tmp_path / "q", "tetra_rows", 64 + 4 * (2 * TETRA_SLOTS))  # bucket 0's count
    # valid checksums: a count one too large breaks the range invariants or the exact check
    t = good.copy().reshape(-1, TETRA_WORDS)
    t[0, 2 * TETRA_SLOTS] += 1
    with pytest.raises(CorruptIndexError, match="gram table"):
        reopen_with(t.reshape(-1), True)
    # a first row moved inside its triple's range (count shrunk): only the exact check sees it
    t = good.copy().reshape(-1, TETRA_WORDS)
    b, j = next((b, j) for b in range(t.shape[0]) for j in range(TETRA_SLOTS)
                if t[b, 2 * TETRA_SLOTS + j] >= 2)
    t[b, TETRA_SLOTS + j] += 1
    t[b, 2 * TETRA_SLOTS + j] -= 1
    reopen_with(t.reshape(-1), "auto").close()
    with pytest.raises(CorruptIndexError, match="backward search"):
        reopen_with(t.reshape(-1), True)
    # a key moved to another bucket, a key with the separator, a duplicate key, a nonzero
    # empty slot: structural
    sep = fmindex.open(tmp_path / "q").shards[0].params["sep"]
    for damage in ("bucket", "sep", "dup", "empty", "rows", "flag"):
        t = good.copy().reshape(-1, TETRA_WORDS)
        if damage == "rows":                        # a first row outside the string's pair
            b, j = next((b, j) for b in range(t.shape[0]) for j in range(TETRA_SLOTS)
                        if t[b, TETRA_SLOTS + j] > 1000)
            t[b, TETRA_SLOTS + j] = 1
        elif damage == "flag":                      # a 4-gram entry marked as a 5-gram
            b, j = next((b, j) for b in range(t.shape[0]) for j in range(TETRA_SLOTS)
                        if t[b, 2 * TETRA_SLOTS + j] and not (t[b, 15] >> j) & 1)
            t[b, 15] |= 1 << j
        elif damage == "bucket":
            t[[0, 1]] = t[[1, 0]]
        elif damage == "sep":
            t[0, 0] = (int(t[0, 0]) & 0xFFFFFF00) | sep
        elif damage == "dup":                       # slot 1 := slot 0, flag included
            t[0, [1, 6, 11]] = t[0, [0, 5, 10]]
            t[0, 15] = (int(t[0, 15]) & ~2) | ((int(t[0, 15]) & 1) << 1)
        else:                                       # a flag beyond the slots
            t[0, 15] |= 1 << TETRA_SLOTS
        with pytest.raises(CorruptIndexError, match="gram table"):
            reopen_with(t.reshape(-1), False)
    # no table at all (a shard of an older build): opens and answers through the triples
    dst = tmp_path / "none"
    shutil.copytree(tmp_path / "q", dst)
    man = json.loads((dst / SHARD / "shard.json").read_text())
    man["extra_arrays"].remove("tetra_rows")
    del man["files"]["tetra_rows"]
    fmt.write_json(dst / SHARD / "shard.json", man)
    (dst / SHARD / "tetra_rows.arr").unlink()
    with fmindex.open(dst, verify=True) as idx:
        assert "tetra_rows" not in idx.shards[0].arrays
        for p in (b"the ", b"whale", b"Ahab", b"zzzz"):
            assert idx.count(p) == sum(_overlapping(d, p) for d in docs), p


def _ngram_entries(sh) -> dict:
    """Every string the n-gram table holds -> (first row, count)."""
    from fmindex.shard import NGRAM_SLOTS, NGRAM_WORDS
    t = sh.arrays["ngram_rows"].reshape(-1, NGRAM_WORDS)
    out = {}
    for b in range(t.shape[0]):
        for j in range(NGRAM_SLOTS):
            key, w = int(t[b, 2 * j]), int(t[b, 2 * j + 1])
            if w:
                k = w >> 60
                out[key.to_bytes(k, "big")] = (w & 0xFFFFFFFF, (w >> 32) & ((1 << 28) - 1))
    return out


def _ngram_lookup(sh, p: bytes):
    """(first row, count, bytes answered) of the longest suffix of p (8 to 4 bytes) that the
    shard's n-gram table holds, or None (a Python mirror of fm_ngram_range)."""
    from fmindex.shard import NGRAM_SLOTS, NGRAM_WORDS, ngram_hash
    t = sh.arrays["ngram_rows"].reshape(-1, NGRAM_WORDS)
    for k in range(min(8, len(p)), 3, -1):
        key = int.from_bytes(p[-k:], "big")
        b = int(ngram_hash(np.array([key], np.uint64), np.array([k], np.uint64), t.shape[0])[0])
        for j in range(NGRAM_SLOTS):
            w = int(t[b, 2 * j + 1])
            if int(t[b, 2 * j]) == key and w >> 60 == k:
                return w & 0xFFFFFFFF, (w >> 32) & ((1 << 28) - 1), k
    return None


@pytest.mark.parametrize("fraction", [0.03, 0.5, 64.0])
def test_ngram_table_answers(tmp_path, monkeypatch, fraction):
    """The n-gram table (fast large byte shards; forced here at a few bucket counts: a
    handful of crowded buckets, where most strings are dropped, up to one per text byte)
    holds strings of 4 to 8 bytes with their exact rows, the most frequent first; counts,
    ranges and occurrences agree with the text for patterns it holds, for longer patterns
    that end in them, and for those it dropped (every length around 4..8, a byte before a
    held string other than the text's, the separator's neighbours, absent bytes)."""
    import fmindex.shard
    from fmindex.shard import NGRAM_WORDS
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", fraction)
    idx = fmindex.build(Documents(docs), tmp_path / "q", progress=False)
    sh = idx.shards[0]
    assert "tetra_rows" not in sh.arrays
    text = b"".join(docs)
    n_text = len(text) + len(docs)
    t = sh.arrays["ngram_rows"].reshape(-1, NGRAM_WORDS)
    assert t.shape[0] == int(fraction * n_text) // 64
    grams = {}
    for n in range(4, 9):
        for d in docs:
            for i in range(len(d) - n + 1):
                grams[d[i:i + n]] = grams.get(d[i:i + n], 0) + 1
    stored = _ngram_entries(sh)
    by_len = {k: [g for g in stored if len(g) == k] for k in range(4, 9)}
    assert all(by_len[k] for k in range(4, 9))
    # every stored string occurs, with its count and its first row
    for g, (first, c) in stored.items():
        assert grams.get(g) == c, g
        assert sh.fm.search(g) == (first, c), g
    used = (t[:, 1::2] != 0).mean()
    if fraction < 1:
        assert used > 0.9 and len(stored) < len(grams)
        # the most frequent strings are kept first
        top = sorted(grams, key=lambda g: -grams[g])[:20]
        assert sum(g in stored for g in top) >= 16
    else:
        assert sum(1 for g in grams if len(g) == 4 and g in stored) > 0.9 * sum(
            1 for g in grams if len(g) == 4)
    rng = np.random.default_rng(4)
    pats = [b"the ", b" the", b"whal", b"Ahab", b"\xff\xfe\xfd\xfc", b"qqqq", b"e.\n\n",
            b".\n\nT", docs[0][-4:], docs[1][:4], docs[0][-2:] + docs[1][:2], b"zzzz"]
    for k in range(4, 9):
        held = sorted(by_len[k])[:15]
        pats += held
        pats += [bytes([(g[0] + 1) % 256]) + g[1:] for g in held]       # another first byte
        pats += [b"x" + g for g in held] + [b"the " + g for g in held]  # longer, ending in g
        pats += [g[:-1] + b"\xfe" for g in held]                        # an absent byte
    pats += [g for g in grams if g not in stored][:40]
    for _ in range(300):
        i = int(rng.integers(0, len(text) - 20))
        pats.append(text[i:i + int(rng.integers(3, 20))])
    pats += [bytes(rng.integers(0, 256, 6, dtype=np.uint8)) for _ in range(30)]
    hits = [_ngram_lookup(sh, p) for p in pats if len(p) >= 4]
    for k in range(4, 9):
        assert sum(h is not None and h[2] == k for h in hits) >= 10, k
    if fraction < 1:                        # strings that occur but were dropped
        assert any(_ngram_lookup(sh, p) is None and grams.get(p) for p in pats if len(p) >= 4)
    for p in pats:
        want = sum(_overlapping(d, p) for d in docs)
        assert idx.count(p) == want, p
        start, cnt = sh.fm.search(p)
        assert cnt == want, p
        h = _ngram_lookup(sh, p) if len(p) >= 4 else None
        if h is not None and len(p) == h[2]:
            assert (start, cnt) == h[:2], p
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    for p in pats[:150]:
        occ = sorted((d, o) for d, doc in enumerate(docs) for o in _find_all(doc, p))
        assert [tuple(x) for x in idx.locate(p).tolist()] == occ, p
    assert sh.fm.ngram_check() == 0 and sh.fm.ngram_structure_errors() == 0
    idx.close()
    small = fmindex.build(Documents(docs), tmp_path / "qs", progress=False, profile="small")
    assert "ngram_rows" not in small.shards[0].arrays
    small.close()


def test_ngram_table_damage(tmp_path, monkeypatch):
    """A damaged n-gram table is refused in every verify mode (the file is always
    checksummed); a table rewritten with a valid checksum but broken invariants (a string in
    another bucket, with the separator, twice, of a bad length or with bytes beyond it, a
    zero count, a nonzero empty slot, rows outside its pair's) is refused on open, and a
    plausible wrong range by verify=True's backward-search check.  A shard without it opens."""
    import fmindex.format as fmt
    import fmindex.shard
    from fmindex.shard import NGRAM_SLOTS, NGRAM_WORDS
    docs = moby_docs()[:40]
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", 0.5)
    fmindex.build(Documents(docs), tmp_path / "q", progress=False).close()
    with fmindex.open(tmp_path / "q") as idx:
        good = np.array(idx.shards[0].arrays["ngram_rows"]).reshape(-1, NGRAM_WORDS)
        sep = idx.shards[0].params["sep"]
    rewriter = _TableRewriter(tmp_path / "q")

    def reopen_with(table, verify):
        return rewriter.open("ngram_rows", table.reshape(-1), verify)

    _flip_is_refused(tmp_path / "q", "ngram_rows", 64 + 8 + 4)      # bucket 0's first count

    def slot(pred):
        return next((b, j) for b in range(good.shape[0]) for j in range(NGRAM_SLOTS)
                    if int(good[b, 2 * j + 1]) and pred(int(good[b, 2 * j]), int(good[b, 2 * j + 1])))
    one = np.uint64(1)
    # a first row moved up by one inside its string's range (count shrunk): exact check only
    b, j = slot(lambda key, w: (w >> 32) & 0xFFFFFFF >= 2 and w >> 60 == 6)
    t = good.copy()
    w = int(t[b, 2 * j + 1])                                  # first + 1, count - 1
    t[b, 2 * j + 1] = np.uint64((w & ~((1 << 60) - 1)) | ((((w >> 32) & 0xFFFFFFF) - 1) << 32)
                                | ((w & 0xFFFFFFFF) + 1))
    reopen_with(t, "auto").close()
    with pytest.raises(CorruptIndexError, match="backward search"):
        reopen_with(t, True)
    for damage in ("bucket", "sep", "dup", "empty", "rows", "length", "beyond", "zero"):
        t = good.copy()
        b, j = slot(lambda key, w: w >> 60 == 5 and (w & 0xFFFFFFFF) > 1000)
        if damage == "bucket":
            b2 = (b + 1) % t.shape[0]
            t[[b, b2]] = t[[b2, b]]
        elif damage == "sep":
            t[b, 2 * j] = (t[b, 2 * j] & ~np.uint64(0xFF)) | np.uint64(sep)
        elif damage == "dup":
            j2 = (j + 1) % NGRAM_SLOTS
            t[b, 2 * j2:2 * j2 + 2] = t[b, 2 * j:2 * j + 2]
        elif damage == "empty":                 # an emptied slot that kept its key
            t[b, 2 * j + 1] = 0
        elif damage == "rows":                  # a first row outside the string's pair
            t[b, 2 * j + 1] = (t[b, 2 * j + 1] & ~np.uint64(0xFFFFFFFF)) | one
        elif damage == "length":
            t[b, 2 * j + 1] = (t[b, 2 * j + 1] & ~(np.uint64(15) << np.uint64(60))) | (
                np.uint64(9) << np.uint64(60))
        elif damage == "beyond":                # a byte above the string's 5 bytes
            t[b, 2 * j] |= np.uint64(0x41) << np.uint64(40)
        else:                                   # count 0 in a used slot
            t[b, 2 * j + 1] &= ~(np.uint64(0xFFFFFFF) << np.uint64(32))
        with pytest.raises(CorruptIndexError, match="gram table"):
            reopen_with(t, False)
    # no table at all (a shard of an older build): opens and answers through the triples
    dst = tmp_path / "none"
    shutil.copytree(tmp_path / "q", dst)
    man = json.loads((dst / SHARD / "shard.json").read_text())
    man["extra_arrays"].remove("ngram_rows")
    del man["files"]["ngram_rows"]
    fmt.write_json(dst / SHARD / "shard.json", man)
    (dst / SHARD / "ngram_rows.arr").unlink()
    with fmindex.open(dst, verify=True) as idx:
        assert "ngram_rows" not in idx.shards[0].arrays
        for p in (b"the ", b"whale", b"Ahab", b"zzzz", b"the whale"):
            assert idx.count(p) == sum(_overlapping(d, p) for d in docs), p


def _dna_docs(seed: int = 5) -> list:
    """DNA-like documents: 4 bases, a few N / R runs (rare bytes the k-mer table skips)."""
    rng = random.Random(seed)
    docs = []
    for i in range(160):
        d = bytearray(rng.choice(b"ACGT") for _ in range(rng.randint(0, 600)))
        if i % 9 == 4 and len(d) > 20:
            j = rng.randrange(len(d) - 5)
            d[j:j + rng.randint(1, 5)] = b"N" * len(d[j:j + 5])
        if i % 23 == 7 and d:
            d[rng.randrange(len(d))] = ord("R")
        docs.append(bytes(d))
    return docs


def _dna_index(tmp_path, monkeypatch, name="q"):
    """A DNA index with the k-mer table of format 1.3 (the tree kept: no pair-occurrence
    table, which new DNA shards get instead; see test_pair_occ.py)."""
    import fmindex.shard
    monkeypatch.setattr(fmindex.shard, "FAST_PAIR_STEPS", False)
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", 0.5)
    monkeypatch.setattr(fmindex.shard, "KMER_TABLE_MAX_FRACTION", 64.0)   # k = 9 fits
    monkeypatch.setattr(fmindex.shard, "KMER_MAX_K", 9)
    docs = _dna_docs()
    return docs, fmindex.build(Documents(docs), tmp_path / name, progress=False)


def test_kmer_table_answers(tmp_path, monkeypatch):
    """Shards of 4 dominant bytes (DNA) store the k-mer table (Bowtie's "ftab"): every
    string of k of those bytes with its exact rows; counts, count_many and locate agree with
    the text for patterns it answers (length >= k), shorter ones, ones with a rare byte in
    their last k, absent strings and strings across a document boundary."""
    docs, idx = _dna_index(tmp_path, monkeypatch)
    sh = idx.shards[0]
    km, kr = sh.arrays["kmer_map"], sh.arrays["kmer_rows"]
    assert kr.shape[0] == 2 * 4 ** 9
    assert [int(km[b]) for b in b"ACGT"] == [0, 1, 2, 3] and int(km[ord("N")]) == 0xFF
    assert sh.fm.kmer_check() == 0
    rng = random.Random(9)
    text = b"\x00".join(docs)
    pats = []
    for m in (1, 2, 4, 8, 9, 10, 12, 20):
        for _ in range(40):
            i = rng.randrange(len(text) - m)
            pats.append(text[i:i + m])
    pats += [bytes(rng.choice(b"ACGT") for _ in range(rng.randint(9, 14))) for _ in range(60)]
    pats += [b"ACGTACGTN", b"NNACGTACGTA", b"ACGTRACGTAC", b"ACGTACGTACGTACGT" * 3]
    pats += [a[-5:] + b[:5] for a, b in zip(docs, docs[1:]) if len(a) > 5 and len(b) > 5][:20]
    e = kr.reshape(-1, 2)
    held = 0
    for p in pats:
        want = sum(_overlapping(d, p) for d in docs)
        assert idx.count(p) == want, p
        if len(p) == 9 and all(b in b"ACGT" for b in p):
            code = 0
            for b in p:
                code = code * 4 + b"ACGT".index(b)
            assert int(e[code, 1]) == want, p
            if want:
                assert (int(e[code, 0]), want) == sh.fm.search(p), p
                held += 1
    assert held >= 20
    assert list(idx.count_many(pats)) == [idx.count(p) for p in pats]
    for p in pats[::5]:
        occ = sorted((d, o) for d, doc in enumerate(docs) for o in _find_all(doc, p))
        assert [tuple(x) for x in idx.locate(p).tolist()] == occ, p
    idx.close()
    # text that is not 99% four bytes gets no k-mer table
    moby = fmindex.build(Documents(moby_docs()[:20]), tmp_path / "moby", progress=False)
    assert "kmer_rows" not in moby.shards[0].arrays
    moby.close()


def test_kmer_table_damage(tmp_path, monkeypatch):
    """A damaged k-mer table is refused: flipped bytes by the checksum in every verify mode;
    with a valid checksum, overlapping or out-of-order ranges, rows outside their first
    byte's, a nonzero first row of an absent string and a damaged byte map by the structure
    check on open, and a plausible wrong range by verify=True's backward search."""
    docs, idx = _dna_index(tmp_path, monkeypatch)
    good_rows = np.array(idx.shards[0].arrays["kmer_rows"])
    good_map = np.array(idx.shards[0].arrays["kmer_map"])
    idx.close()
    sd = tmp_path / "q" / SHARD
    reopen_with = _TableRewriter(tmp_path / "q").open
    _flip_is_refused(tmp_path / "q", "kmer_rows", 64 + 8 * 100)
    e = good_rows.reshape(-1, 2)
    used = np.flatnonzero(e[:, 1] >= 2)
    i = int(used[len(used) // 2])
    # a count one larger where the next string's range follows at once: overlap (structure)
    nz = np.flatnonzero(e[:, 1] > 0)
    adj = [int(a) for a, b in zip(nz, nz[1:]) if int(e[b, 0]) == int(e[a, 0] + e[a, 1])]
    assert adj
    t = e.copy()
    t[adj[0], 1] += 1
    with pytest.raises(CorruptIndexError, match="k-mer table"):
        reopen_with("kmer_rows", t.reshape(-1), False)
    # first row moved up by one, count shrunk: inside its range, only verify=True sees it
    t = e.copy()
    t[i, 0] += 1
    t[i, 1] -= 1
    reopen_with("kmer_rows", t.reshape(-1), "auto").close()
    with pytest.raises(CorruptIndexError, match="backward search"):
        reopen_with("kmer_rows", t.reshape(-1), True)
    for damage in ("outside", "absent", "order"):
        t = e.copy()
        if damage == "outside":                 # a first row below its first byte's rows
            t[i, 0] = 1
        elif damage == "absent":                # an absent string with a first row
            z = int(np.flatnonzero(e[:, 1] == 0)[0])
            t[z, 0] = 5
        else:                                   # two entries swapped
            j = int(used[len(used) // 2 + 1])
            t[[i, j]] = t[[j, i]]
        with pytest.raises(CorruptIndexError, match="k-mer table"):
            reopen_with("kmer_rows", t.reshape(-1), False)
    for damage in ("dup", "sep", "size"):
        m = good_map.copy()
        if damage == "dup":                     # two bytes with code 0, none with 3
            m[ord("T")] = 0
        elif damage == "sep":                   # the separator's byte instead of T
            sep = json.loads((sd / "shard.json").read_text())["params"]["sep"]
            assert sep < 256
            m[ord("T")] = 0xFF
            m[sep] = 3
        else:
            m = m[:200]
        with pytest.raises(CorruptIndexError):
            reopen_with("kmer_map", m, False)
