"""The pair-occurrence table (ext/pair_occ.pxd) on its own against numpy, and DNA shards
built on it (format 1.4, wt_arity 16) against the naive oracle: two letters per backward-
search step, exceptions (N, header text, separators, the end-marker row), damage."""
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fmindex
import fmindex.shard
from fmindex._fm_shard import PAIR_COUNT_PARALLEL_MIN_SYMBOLS
from fmindex._pair_occ import BLOCK_ROWS, PairOccTable, build_pair_occ
from fmindex.corpus import Documents
from fmindex.errors import CorruptIndexError, IndexFormatError
from oracle import count, occurrences

LETTERS = b"ACGT"
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], deadline=None)
SHARD = "shard-00000"


def shard_bwt(docs, sep, sa=None):
    """(T, SA with the end marker's row 0, BWT with the separator at row r0, r0, C) in the
    shard's conventions: T = doc_0 sep doc_1 sep ..., C[c] = 1 + symbols of T below c."""
    T = b"".join(d + bytes([sep]) for d in docs)
    N = len(T)
    if sa is None:
        sa = sorted(range(N), key=lambda i: T[i:])
    SA = np.array([N] + list(sa), dtype=np.int64)
    t = np.frombuffer(T, dtype=np.uint8)
    bwt = np.where(SA > 0, t[(SA - 1) % N], sep).astype(np.uint8)
    r0 = int(np.flatnonzero(SA == 0)[0])
    C = np.ones(257, dtype=np.uint64)
    C[1:] += np.cumsum(np.bincount(t, minlength=256), dtype=np.uint64)
    return T, SA, bwt, r0, C


def pair_digits(T, SA):
    """Each row's pair x = code(T[p - 2]) << 2 | code(T[p - 1]), or -1 (an exception)."""
    code = {b: i for i, b in enumerate(LETTERS)}
    out = np.full(SA.shape[0], -1, dtype=np.int64)
    for row, p in enumerate(SA.tolist()):
        if p >= 2 and T[p - 2] in code and T[p - 1] in code:
            out[row] = code[T[p - 2]] << 2 | code[T[p - 1]]
    return out


def check_table(T, SA, bwt, r0, C, sep, rows=None):
    t = PairOccTable.build(bwt, r0, C, sep, list(LETTERS))
    n = bwt.shape[0]
    assert len(t) == n and t.errors(sep, r0) == 0
    digits = pair_digits(T, SA)
    rows = range(n + 1) if rows is None else rows
    present = sorted(set(bwt.tolist()) | {ord("Z")})
    cum = {c: np.concatenate([[0], np.cumsum(bwt == c)]) for c in present}
    cum2 = {x: np.concatenate([[0], np.cumsum(digits == x)]) for x in range(16)}
    for i in rows:
        for c in present:
            assert t.rank(c, i) == cum[c][i], (c, i)
        for x in range(16):
            assert t.rank2(x, i) == cum2[x][i], (x, i)
        if i < n:
            assert t.inverse_select(i) == (int(bwt[i]), int(cum[int(bwt[i])][i])), i
    for x in range(16):
        pair = bytes([LETTERS[x >> 2], LETTERS[x & 3]])
        starts = [r for r, p in enumerate(SA.tolist()) if T[p:p + 2] == pair]
        assert t.pair_start(x) == ((starts[0] if starts else t.pair_start(x)[0]), len(starts))
    return t


dna_docs = st.lists(
    st.tuples(st.lists(st.sampled_from(list(LETTERS)), max_size=120),
              st.lists(st.tuples(st.integers(0, 119), st.sampled_from(list(b"NAn\x00\xff>"))),
                       max_size=3)).map(
        lambda t: bytes([b if not [x for i, x in t[1] if i == j] else
                         [x for i, x in t[1] if i == j][0] for j, b in enumerate(t[0])])),
    min_size=1, max_size=12)


@SETTINGS
@given(docs=dna_docs)
def test_ranks_against_numpy(docs):
    """rank of every byte, rank2 of every pair, inverse select and the pairs' first rows at
    every row, on small DNA-like texts with exceptions."""
    sep = 1                                             # a byte absent from the texts
    T, SA, bwt, r0, C = shard_bwt(docs, sep)
    check_table(T, SA, bwt, r0, C, sep)


def test_ranks_across_blocks_and_superblocks():
    """A text of ~70,000 rows: 160 blocks and 3 superblocks, exceptions scattered (an N
    every ~400 bases, a header line per document); ranks at every block boundary +- 2
    and at rows drawn at random."""
    rng = random.Random(3)
    docs = []
    for d in range(40):
        body = bytearray(rng.choice(LETTERS) for _ in range(rng.randint(1000, 2400)))
        for _ in range(len(body) // 400):
            body[rng.randrange(len(body))] = ord("N")
        docs.append(b">seq%d\n" % d + bytes(body))
    sep = 1
    T = b"".join(d + bytes([sep]) for d in docs)
    sa = fmindex.shard.sort_suffixes(np.frombuffer(T, dtype=np.uint8)).tolist()
    T, SA, bwt, r0, C = shard_bwt(docs, sep, sa)
    n = bwt.shape[0]
    assert n > 2 * 32400
    rows = set(rng.randrange(n + 1) for _ in range(300)) | {0, n}
    for b in range(0, n + 1, BLOCK_ROWS):
        rows |= {r for r in range(b - 2, b + 3) if 0 <= r <= n}
    for b in range(0, n + 1, BLOCK_ROWS // 2):
        rows |= {r for r in range(b - 1, b + 2) if 0 <= r <= n}
    check_table(T, SA, bwt, r0, C, sep, sorted(rows))


def test_damage_is_counted():
    """Every kind of damage to the arrays is seen: by the size checks (ValueError) or as
    violated invariants of the one-pass check."""
    rng = random.Random(4)
    docs = [bytes(rng.choice(LETTERS) for _ in range(2500)) + b"NN" for _ in range(2)]
    sep = 1
    T, SA, bwt, r0, C = shard_bwt(docs, sep)
    good = build_pair_occ(bwt, r0, C, sep, list(LETTERS))
    n = bwt.shape[0]

    def errors(a):
        return PairOccTable.from_arrays(a, n, list(LETTERS), C).errors(sep, r0)

    assert errors(good) == 0
    for damage in ("count", "digit", "super", "flag", "exc_order", "exc_sym", "rare"):
        a = {k: v.copy() for k, v in good.items()}
        if damage == "count":                   # a pair count of block 1
            a["blocks"][32 + 1] += 1
        elif damage == "digit":                 # a digit of block 0 (not an exception's)
            a["blocks"][5 + 3] ^= 0x10
        elif damage == "super":                 # the totals
            a["supers"][-20 + 5] += 1
        elif damage == "flag":                  # a block flagged that holds no exception
            flagged = [(a["blocks"][32 * b + 4] >> 15) & 1 for b in range(len(a["blocks"]) // 32)]
            b = flagged.index(0)
            a["blocks"][32 * b + 4] |= np.uint64(0x8000)
        elif damage == "exc_order":
            a["exc_rows"][[0, 1]] = a["exc_rows"][[1, 0]]
        elif damage == "exc_sym":               # an exception's byte changed
            a["exc_syms"][int(np.flatnonzero(a["exc_syms"] == ord("N"))[0])] = ord("X")
        else:                                   # a rare-byte row moved
            a["rare_rows"][0] += 1
        assert errors(a) > 0, damage
    for damage in ("blocks", "rare_start", "rare_rows"):
        a = {k: v.copy() for k, v in good.items()}
        if damage == "blocks":
            a["blocks"] = a["blocks"][:-8]
        elif damage == "rare_start":
            a["rare_start"][100] = a["rare_start"][101] + 1
        else:
            a["rare_rows"] = a["rare_rows"][:-1]
        with pytest.raises(ValueError):
            errors(a)


def test_build_refuses_bad_letters():
    T, SA, bwt, r0, C = shard_bwt([b"ACGTACGT"], 1)
    for letters, sep in ((b"ACG", 1), (b"AACG", 1), (b"TGCA", 1), (b"ACGT", ord("A"))):
        with pytest.raises(ValueError):
            build_pair_occ(bwt, r0, C, sep, list(letters))


# ------------------------------------------------------------------ shards of DNA

@pytest.fixture(params=["no-tables", "tables"])
def tables(request, monkeypatch):
    """No lookup table (every step from the pair-occurrence table, from the whole range),
    or the pair, triple, n-gram and 8-mer tables in front of it."""
    if request.param == "tables":
        monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
        monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
        monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", 64.0)
        monkeypatch.setattr(fmindex.shard, "PAIR_KMER_MAX_FRACTION", 1e12)
    return request.param


def dna_patterns(docs, rng):
    pats = [b"", b"N", b"NN", b"A", b"AC", b"ACG", b"ACGTN", b"NACGT", b"ACGTACGTACGTACGTA"]
    text = b"\x01".join(docs)
    for m in (1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 33):
        for _ in range(6):
            if len(text) > m:
                i = rng.randrange(len(text) - m)
                pats.append(text[i:i + m])
    pats += [a[-3:] + b[:3] for a, b in zip(docs, docs[1:]) if a and b][:5]
    pats.append(max(docs, key=len) + b"A")
    # a byte no document holds (and the separator), last, inside the last 8 bytes or
    # before them: answered before any table line is read
    for z in (b"Z", b"\x01"):
        if len(text) > 12:
            i = rng.randrange(len(text) - 12)
            t = text[i:i + 12]
            pats += [t + z, t[:6] + z + t[6:], z + t, t[:2] + z + t[2:]]
    return pats


def is_pair_steps(docs):
    """The rule: the 4 most frequent bytes are >= 99% of the text (and all 4 occur)."""
    counts = np.sort(np.bincount(np.frombuffer(b"".join(docs), dtype=np.uint8),
                                 minlength=256))[::-1]
    return bool(counts[3] > 0 and counts[:4].sum() >= 0.99 * counts.sum())


@SETTINGS
@given(docs=dna_docs, seed=st.integers(0, 1000), sa=st.sampled_from([1, 3, 32]),
       isa=st.sampled_from([1, 5, 64]))
def test_dna_index_against_oracle(tmp_path_factory, tables, docs, seed, sa, isa):
    """count, count_many (1 and 2 threads), locate, extract and documents of DNA-like
    corpora, with and without the lookup tables in front of the pair steps."""
    out = tmp_path_factory.mktemp("dna") / "i"
    idx = fmindex.build(Documents(docs), out, progress=False, sa_sample=sa, isa_sample=isa,
                        validate_utf8=False)
    sh = idx.shards[0]
    assert (sh.params["wt_arity"] == 16) == is_pair_steps(docs)
    if sh.params["wt_arity"] == 16:
        counts = np.bincount(np.frombuffer(b"".join(docs), dtype=np.uint8), minlength=256)
        letters = sh.params["po_letters"]
        assert letters == sorted(letters)
        assert ("kmer_rows" in sh.arrays) == (tables == "tables")
        if tables == "tables":
            assert sh.arrays["kmer_rows"].shape[0] == 2 * 4 ** 8
        assert counts[letters].min() >= np.delete(counts, letters).max()
    pats = dna_patterns(docs, random.Random(seed))
    want = [count(docs, p) for p in pats]
    assert [idx.count(p) for p in pats] == want
    if sh.params["wt_arity"] == 16:
        # a small table stays cached: no guessed steps ahead, unless asked (a large one's
        # default); the answers never depend on them
        fm = sh.fm
        assert fm.search_ahead == 0
        for ahead in (1, 4, 16):
            fm.search_ahead = ahead
            assert [idx.count(p) for p in pats] == want, ahead
        fm.search_ahead = 0
    assert list(idx.count_many(pats)) == want
    assert list(idx.count_many(pats, num_threads=2)) == want
    for p in pats[::3]:
        assert [tuple(x) for x in idx.locate(p).tolist()] == occurrences(docs, p), p
    for d, text in enumerate(docs):
        assert idx.document(d).data == text
        assert idx.extract(d, len(text) // 3, len(text) // 3 + 50) == text[len(text) // 3:][:50]
    idx.close()
    again = fmindex.open(out, verify=True)
    assert again.count(pats[-2]) == want[-2]
    again.close()


def _dna_corpus(seed=6):
    rng = random.Random(seed)
    docs = []
    for i in range(60):
        d = bytearray(rng.choice(LETTERS) for _ in range(rng.randint(200, 3000)))
        if i % 7 == 3:
            j = rng.randrange(len(d) - 10)
            d[j:j + 6] = b"NNNNNN"
        docs.append(b">chr%d\n" % i + bytes(d))
    return docs


def test_dna_real_size_and_tables(tmp_path, monkeypatch):
    """A 100 KB DNA corpus with every table: arity 16, the 8-mer table (only with its size
    cap lifted: 512 KB), the pair table's bits per row, stats, and every count against the
    text (patterns of 1 to 40 bases, absent ones, ones with N and header bytes)."""
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    monkeypatch.setattr(fmindex.shard, "TRI_TABLE_MAX_FRACTION", 1e12)
    monkeypatch.setattr(fmindex.shard, "GRAM_TABLE_MAX_FRACTION", 0.5)
    docs = _dna_corpus()
    idx = fmindex.build(Documents(docs), tmp_path / "i", progress=False)
    assert "kmer_rows" not in idx.shards[0].arrays       # 512 KB > 2% of 100 KB
    assert "ngram_rows" in idx.shards[0].arrays
    idx.close()
    monkeypatch.setattr(fmindex.shard, "PAIR_KMER_MAX_FRACTION", 1e12)
    idx = fmindex.build(Documents(docs), tmp_path / "i", progress=False, overwrite=True)
    sh = idx.shards[0]
    # beside the 8-mer table, an n-gram table of half the usual share (PAIR_NGRAM_MAX_FRACTION)
    assert sh.params["wt_arity"] == 16 and "ngram_rows" in sh.arrays
    assert sh.params["po_block_lines"] == 3
    assert sh.arrays["kmer_rows"].shape[0] == 2 * 4 ** 8
    bits = 8 * sh.arrays["wt_lines"].nbytes / sh.params["n_rows"]
    assert 5.0 < bits < 5.15
    rng = random.Random(1)
    text = b"\x01".join(docs)
    pats = [text[i:i + m] for m in (1, 2, 5, 8, 9, 10, 11, 20, 21, 40)
            for i in (rng.randrange(len(text) - m) for _ in range(20))]
    pats += [bytes(rng.choice(LETTERS) for _ in range(15)) for _ in range(20)]
    pats += [b"NNNN", b"ANNNNNNA", b">chr1", b"\nACGT"]
    want = [count(docs, p) for p in pats]
    assert [idx.count(p) for p in pats] == want
    idx.shards[0].fm.search_ahead = 4               # what a table beyond the cache does
    assert [idx.count(p) for p in pats] == want
    assert list(idx.count_many(pats, num_threads=2)) == want
    # enough symbols for 2 threads on a pair-occurrence shard: both share the batch
    k = PAIR_COUNT_PARALLEL_MIN_SYMBOLS // sum(map(len, pats)) + 1
    assert list(idx.count_many(pats * k, num_threads=2)) == want * k
    idx.close()
    # text that is not 99% four letters keeps the 4-ary tree
    rng = random.Random(2)
    mixed = [bytes(rng.choice(b"ACGTNRY") for _ in range(500)) for _ in range(10)]
    m = fmindex.build(Documents(mixed), tmp_path / "m", progress=False)
    assert m.shards[0].params["wt_arity"] == 4
    assert [m.count(p) for p in (b"ACG", b"NRY")] == [count(mixed, p) for p in (b"ACG", b"NRY")]
    m.close()
    monkeypatch.setattr(fmindex.shard, "FAST_PAIR_STEPS", False)
    t = fmindex.build(Documents(docs), tmp_path / "t", progress=False)
    assert t.shards[0].params["wt_arity"] == 4
    t.close()


def _rewrite(src: Path, dst: Path, name: str, arr: np.ndarray) -> Path:
    import fmindex.format as fmt
    shutil.copytree(src, dst)
    entry = fmt.write_array(dst / SHARD / f"{name}.arr", name, arr)
    man = json.loads((dst / SHARD / "shard.json").read_text())
    man["files"][name] = entry
    fmt.write_json(dst / SHARD / "shard.json", man)
    return dst


def test_dna_index_damage(tmp_path):
    """A flipped byte of the table is refused by its checksum (verify "auto" or True); with a
    valid checksum, unsorted or outside exception rows by the check on open, a changed
    digit or count by verify=True's one-pass check; damaged letters by the manifest check."""
    docs = _dna_corpus(7)
    src = tmp_path / "i"
    fmindex.build(Documents(docs), src, progress=False).close()
    sd = src / SHARD
    raw = bytearray((sd / "wt_lines.arr").read_bytes())
    raw[64 + 8 * 40] ^= 1
    flip = tmp_path / "flip"
    shutil.copytree(src, flip)
    (flip / SHARD / "wt_lines.arr").write_bytes(bytes(raw))
    for verify in ("auto", True):               # (verify=False reads large files unchecked)
        with pytest.raises(IndexFormatError):
            fmindex.open(flip, verify=verify)
    good = fmindex.open(src)
    lines = np.array(good.shards[0].arrays["wt_lines"])
    exc = np.array(good.shards[0].arrays["po_exc_rows"])
    good.close()
    bad = lines.copy()
    bad[32 * 3 + 5] ^= np.uint64(0x3)           # two digits of block 3 changed
    d = _rewrite(src, tmp_path / "digit", "wt_lines", bad)
    fmindex.open(d, verify=False).close()
    with pytest.raises(CorruptIndexError, match="pair-occurrence"):
        fmindex.open(d, verify=True)
    for name, arr in (("unsorted", exc[[1, 0] + list(range(2, len(exc)))]),
                      ("outside", np.concatenate([exc[:-1], [10 ** 9]]).astype(np.uint64))):
        d = _rewrite(src, tmp_path / name, "po_exc_rows", arr)
        with pytest.raises(CorruptIndexError, match="pair-occurrence"):
            fmindex.open(d, verify=False)
    d = tmp_path / "letters"
    shutil.copytree(src, d)
    man = json.loads((d / SHARD / "shard.json").read_text())
    man["params"]["po_letters"] = [65, 67, 71]
    (d / SHARD / "shard.json").write_text(json.dumps(man))
    with pytest.raises(CorruptIndexError, match="letters"):
        fmindex.open(d, verify=False)


def test_cli_stats_and_verify_name_the_table(tmp_path, subprocess_env):
    """`fmindex stats` says what holds the BWT; `fmindex verify` runs the one-pass check."""
    import subprocess
    import sys
    fmindex.build(Documents(_dna_corpus(8)[:10]), tmp_path / "i", progress=False).close()
    for cmd in ("stats", "verify"):
        r = subprocess.run([sys.executable, "-m", "fmindex", cmd, str(tmp_path / "i")],
                           env=subprocess_env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        if cmd == "stats":
            assert "pair-occurrence table" in r.stdout


@pytest.mark.parametrize("name", ["wt_lines", "wt_supers", "po_exc_syms"])
def test_random_damage_never_crashes(tmp_path, name):
    """Damage that keeps every size and a valid checksum (so only verify=True's one-pass
    check could see it): opened with verify=False, every query stays inside the arrays and
    returns (wrong answers allowed) or raises CorruptIndexError, or the open refuses the
    shard; verify=True always refuses it."""
    docs = _dna_corpus(9)[:20]
    src = tmp_path / "i"
    fmindex.build(Documents(docs), src, progress=False).close()
    good = fmindex.open(src)
    arr = np.array(good.shards[0].arrays[name])
    good.close()
    rng = np.random.default_rng(11)
    pats = [d[i:i + m] for d in docs[:5] for i, m in ((10, 3), (50, 16), (200, 33))]
    for k in range(6):
        bad = arr.copy()
        flat = bad.view(np.uint8)
        idx = rng.integers(0, flat.shape[0], size=8)
        flat[idx] = rng.integers(0, 256, size=8, dtype=np.uint8)
        d = _rewrite(src, tmp_path / f"d{k}", name, bad)
        try:
            ix = fmindex.open(d, verify=False)
        except CorruptIndexError:
            continue
        queries = ([lambda: ix.count_many(pats)] + [lambda p=p: ix.count(p) for p in pats]
                   + [lambda p=p: ix.locate(p, limit=50) for p in pats]
                   + [lambda doc=doc: ix.extract(doc, 0, 300) for doc in range(3)])
        for q in queries:
            try:
                q()
            except CorruptIndexError:       # a walk that met no sample: a clear error
                pass
        ix.close()
        with pytest.raises(CorruptIndexError):
            fmindex.open(d, verify=True)


def _as_4_line_table(blocks, n, exc_rows, exc_syms, letters):
    """The format 1.4 layout of a table (4-line blocks of 432 rows, superblocks of 75
    blocks), written here in numpy from FORMAT.md, from the digits of a 3-line table."""
    words = blocks.reshape(-1, 24)[:, 5:]
    digits = ((words[:, :, None] >> (4 * np.arange(16, dtype=np.uint64))) & 15)
    digits = digits.reshape(-1)[:n].astype(np.int64)
    is_exc = np.zeros(n, dtype=bool)
    is_exc[exc_rows.astype(np.int64)] = True
    code = np.full(256, -1)
    code[np.asarray(letters)] = np.arange(4)
    inc = np.zeros((n, 20), dtype=np.uint64)
    ok = ~is_exc
    inc[np.flatnonzero(ok), digits[ok]] = 1
    inc[np.flatnonzero(ok), 16 + (digits[ok] & 3)] = 1
    ec = code[exc_syms]
    inc[exc_rows[ec >= 0].astype(np.int64), 16 + ec[ec >= 0]] = 1
    cum = np.zeros((n + 1, 20), dtype=np.uint64)
    np.cumsum(inc, axis=0, out=cum[1:])
    nb = n // 432 + 1
    out = np.zeros((nb, 32), dtype=np.uint64)
    starts = np.minimum(np.arange(nb) * 432, n)
    supers_at = np.minimum((np.arange(nb) // 75) * 75 * 432, n)
    rel = cum[starts] - cum[supers_at]
    for x in range(16):
        out[:, x >> 2] |= rel[:, x] << np.uint64(16 * (x & 3))
    for c in range(4):
        out[:, 4] |= rel[:, 16 + c] << np.uint64(16 * c)
    flagged = np.unique(exc_rows.astype(np.int64) // 432)
    out[flagged, 4] |= np.uint64(0x8000)
    padded = np.zeros(nb * 432, dtype=np.uint64)
    padded[:n] = digits
    packed = padded.reshape(nb, 27, 16) << (4 * np.arange(16, dtype=np.uint64))
    out[:, 5:] = np.bitwise_or.reduce(packed, axis=2)
    n_sup = (nb - 1) // 75 + 1
    supers = np.zeros((n_sup + 1, 20), dtype=np.uint64)
    supers[:n_sup] = cum[np.minimum(np.arange(n_sup) * 75 * 432, n)]
    supers[n_sup] = cum[n]
    return out.reshape(-1), supers.reshape(-1)


def test_format_1_4_table_is_read(tmp_path, monkeypatch):
    """A DNA shard of format 1.4 (4-line blocks, no po_block_lines), made here from a new
    one's digits, opens (re-laid out in memory), passes verify=True and answers every count,
    locate and extract as the new one and the text do."""
    monkeypatch.setattr(fmindex.shard, "PAIR_TABLE_MIN_ROWS", 0)
    docs = _dna_corpus()
    new = fmindex.build(Documents(docs), tmp_path / "new", progress=False)
    sh = new.shards[0]
    assert sh.params["wt_arity"] == 16 and sh.params["po_block_lines"] == 3
    p = sh.params
    old_dir = tmp_path / "old"
    shutil.copytree(tmp_path / "new", old_dir)
    sdir = old_dir / sh.path.name
    lines4, supers4 = _as_4_line_table(np.asarray(sh.arrays["wt_lines"]), p["n_rows"],
                                       np.asarray(sh.arrays["po_exc_rows"]),
                                       np.asarray(sh.arrays["po_exc_syms"]), p["po_letters"])
    man = json.loads((sdir / "shard.json").read_text())
    man["files"]["wt_lines"] = fmindex.format.write_array(sdir / "wt_lines.arr", "wt_lines",
                                                          lines4)
    man["files"]["wt_supers"] = fmindex.format.write_array(sdir / "wt_supers.arr", "wt_supers",
                                                           supers4)
    del man["params"]["po_block_lines"]
    man["format_version"] = [1, 4]
    fmindex.format.write_json(sdir / "shard.json", man)
    old = fmindex.open(old_dir, verify=True)
    assert old.shards[0].arrays["wt_lines"].shape[0] == lines4.shape[0]    # the file, 4 lines
    rng = random.Random(5)
    text = b"\x01".join(docs)
    pats = [text[i:i + m] for m in (1, 2, 3, 5, 8, 9, 16, 21, 40)
            for i in (rng.randrange(len(text) - m) for _ in range(15))]
    pats += [b"NNNN", b"ANNNNNNA", b">chr1", b"\nACGT", b"ACGTTGCAACGT"]
    want = [count(docs, q) for q in pats]
    assert [old.count(q) for q in pats] == want
    assert list(old.count_many(pats, num_threads=2)) == want
    for q in pats[::7]:
        assert old.locate(q).tolist() == new.locate(q).tolist()
    for d in range(0, len(docs), 5):
        assert old.document(d).data == new.document(d).data == docs[d]
    # a damaged 1.4 table is caught by verify=True after the relayout
    bad = lines4.copy()
    bad[32 * 3 + 7] ^= np.uint64(1 << 8)                 # a digit of block 3
    man["files"]["wt_lines"] = fmindex.format.write_array(sdir / "wt_lines.arr", "wt_lines",
                                                          bad)
    fmindex.format.write_json(sdir / "shard.json", man)
    with pytest.raises(CorruptIndexError, match="pair-occurrence"):
        fmindex.open(old_dir, verify=True)
