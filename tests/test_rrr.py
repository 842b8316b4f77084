"""RRRBitVector (profile "small") on its own: rank / select / access / paired rank vs numpy,
for both kinds: rrr63 (every block enumerative) and rrr63r (mid-range classes raw)."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmindex._rank_bitvector import RankBitVector
from fmindex._rrr_bitvector import (RRRBitVector, rrr_encode_lines, rrr_lines_consistent,
                                    rrr_lines_for_bits, rrr_payload_words)

HEADER = Path(__file__).resolve().parents[1] / "ext" / "rrr_tables.h"


def check(bits, raw=False):
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[0]
    v = RRRBitVector(bits, raw=raw)
    assert v.raw == raw
    ranks = np.concatenate([[0], np.cumsum(bits)]).astype(np.uint64)
    assert len(v) == n and v.n_ones == int(bits.sum())
    assert np.array_equal(v.rank1_many(np.arange(n + 1, dtype=np.uint64)), ranks)
    for i in range(n):
        assert v[i] == bits[i]
        assert v.access_rank1(i) == (bits[i], ranks[i])
    ones, zeros = np.flatnonzero(bits), np.flatnonzero(~bits)
    for q in range(0, ones.shape[0], max(1, ones.shape[0] // 300)):
        assert v.select1(q) == ones[q]
    for q in range(0, zeros.shape[0], max(1, zeros.shape[0] // 300)):
        assert v.select0(q) == zeros[q]
    with pytest.raises(IndexError):
        v.select1(ones.shape[0])
    with pytest.raises(IndexError):
        v.select0(zeros.shape[0])
    return v, ranks


# bit patterns that exercise every block class: random density, runs, all-0 / all-1
densities = st.sampled_from([0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 9000), p=densities, run=st.integers(1, 200), seed=st.integers(0, 2**32),
       raw=st.booleans())
def test_rank_access_vs_numpy(n, p, run, seed, raw):
    rng = np.random.default_rng(seed)
    bits = np.repeat(rng.random(n // run + 1) < p, run)[:n] ^ (rng.random(n) < 0.01 * (p > 0))
    v, ranks = check(bits, raw)
    # paired rank: every (a, b) class: same block, same line, different lines
    for _ in range(200):
        a = int(rng.integers(0, n + 1))
        b = min(n, a + int(rng.choice([0, 1, 5, 62, 63, 64, 4000])))
        assert v.rank1_pair(a, b) == (ranks[a], ranks[b])


@pytest.mark.parametrize("n", [0, 1, 62, 63, 64, 126, 3779, 3780, 3781, 7560, 7561])
@pytest.mark.parametrize("kind", ["zeros", "ones", "alternating", "random", "sparse"])
@pytest.mark.parametrize("raw", [False, True])
def test_block_and_line_edges(n, kind, raw):
    rng = np.random.default_rng(n)
    bits = {"zeros": np.zeros(n, bool), "ones": np.ones(n, bool),
            "alternating": np.arange(n) % 2 == 1, "random": rng.random(n) < 0.5,
            "sparse": rng.random(n) < 0.15}[kind]
    v, ranks = check(bits, raw)
    assert v.rank1(n) == ranks[n]
    with pytest.raises(IndexError):
        v.rank1(n + 1)
    with pytest.raises(IndexError):
        v[n]


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("seed", [3, 4])
def test_every_class_round_trips(raw, seed):
    """Blocks of every class k = 0..63 (raw and enumerative ones side by side, so that
    payload widths 0..63 follow each other in one line), random arrangements."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k in rng.permutation(np.repeat(np.arange(64), 3)):
        b = np.zeros(63, bool)
        b[rng.choice(63, size=int(k), replace=False)] = True
        blocks.append(b)
    v, ranks = check(np.concatenate(blocks), raw)
    for _ in range(500):        # paired rank inside one block of any class
        a = int(rng.integers(0, len(v)))
        b = min(len(v), a + int(rng.integers(0, 63 - a % 63)))
        assert v.rank1_pair(a, b) == (ranks[a], ranks[b])


def test_raw_kind_stores_mid_range_classes_raw():
    """rrr63r: a block whose offset would take >= FM_RRR_RAW_MIN bits takes 63; others
    are as in rrr63 (sizes from the payload bits)."""
    raw_min = int(re.search(r"#define FM_RRR_RAW_MIN (\d+)", HEADER.read_text()).group(1))
    for k in range(64):
        n = 63 * 60 * 20                  # whole lines, so that only the payload differs
        bits = np.zeros(n, bool)
        rng = np.random.default_rng(k)
        for blk in range(n // 63):
            bits[blk * 63 + rng.choice(63, size=k, replace=False)] = True
        width = (math.comb(63, k) - 1).bit_length()
        a, b = RRRBitVector(bits), RRRBitVector(bits, raw=True)
        grow = (b.payload.shape[0] - a.payload.shape[0]) * 64
        extra = (63 - width) * (n // 63) if width >= raw_min else 0
        assert extra - 64 < grow <= extra + 64, k


def test_compresses_skewed_bits():
    rng = np.random.default_rng(9)
    n = 200_000
    skewed = rng.random(n) < 0.02
    assert RRRBitVector(skewed).size_in_bytes() < 0.25 * RankBitVector(skewed).size_in_bytes()
    runs = np.repeat(rng.random(n // 100) < 0.5, 100)
    assert RRRBitVector(runs).size_in_bytes() < 0.35 * RankBitVector(runs).size_in_bytes()


def test_encode_rejects_bad_lengths():
    plain = RankBitVector(np.ones(100, bool))
    with pytest.raises(ValueError):
        rrr_encode_lines(plain.lines[:-8], 100)
    lines, payload = rrr_encode_lines(plain.lines, 100)
    assert lines.shape[0] == rrr_lines_for_bits(100) * 8
    assert payload.shape[0] == rrr_payload_words(lines, 100)
    with pytest.raises(ValueError):
        RRRBitVector.from_arrays(lines, payload[:-1], 100)
    assert RRRBitVector.from_arrays(lines, payload, 100).rank1(100) == 100
    # a raw payload is not an enumerative one: opening it as the other kind is refused
    rng = np.random.default_rng(1)
    bits = rng.random(20_000) < 0.5
    plain = RankBitVector(bits)
    lines, payload = rrr_encode_lines(plain.lines, len(bits), True)
    assert payload.shape[0] == rrr_payload_words(lines, len(bits), True)
    assert payload.shape[0] > rrr_payload_words(lines, len(bits), False)
    with pytest.raises(ValueError):
        RRRBitVector.from_arrays(lines, payload, len(bits))
    assert rrr_lines_consistent(lines, len(bits), True)
    assert not rrr_lines_consistent(lines, len(bits), False)
    assert rrr_lines_consistent(rrr_encode_lines(plain.lines, len(bits))[0], len(bits))
    bad = lines.copy()
    bad[8 + 1] += 1                     # second line's payload pointer
    assert not rrr_lines_consistent(bad, len(bits), True)
    bad = lines.copy()
    bad[16] -= 1                        # third line's ones before it
    assert not rrr_lines_consistent(bad, len(bits), True)
    v = RRRBitVector.from_arrays(lines, payload, len(bits), raw=True)
    assert v.rank1(len(bits)) == int(bits.sum())


def test_generated_tables_match_math_comb():
    """ext/rrr_tables.h (tools/gen_rrr_tables.py) holds the right binomials and widths."""
    text = HEADER.read_text()
    binom = re.search(r"FM_BINOM\[64\]\[64\] = \{(.*?)\};", text, re.S).group(1)
    vals = [int(x) for x in re.findall(r"(\d+)ULL", binom)]
    assert vals == [math.comb(n, k) if k <= n else 0 for n in range(64) for k in range(64)]
    lens = re.search(r"FM_RRR_LEN\[64\] = \{(.*?)\};", text, re.S).group(1)
    widths = [(math.comb(63, k) - 1).bit_length() for k in range(64)]
    assert [int(x) for x in lens.split(",")] == widths
    raw_min = int(re.search(r"#define FM_RRR_RAW_MIN (\d+)", text).group(1))
    assert 40 <= raw_min <= 60
    lensr = re.search(r"FM_RRR_LENR\[64\] = \{(.*?)\};", text, re.S).group(1)
    raw_widths = [63 if w >= raw_min else w for w in widths]
    assert [int(x) for x in lensr.split(",")] == raw_widths
    for name, ws in (("FM_RRR_LEN2", widths), ("FM_RRR_LENR2", raw_widths)):
        body = re.search(name + r"\[4096\] = \{(.*?)\};", text, re.S).group(1)
        assert [int(x) for x in body.replace("\n", "").split(",") if x.strip()] == [
            ws[c & 63] + ws[c >> 6] for c in range(4096)]
