"""RRRBitVector (profile "small") on its own: rank / select / access / paired rank vs numpy."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmindex._rank_bitvector import RankBitVector
from fmindex._rrr_bitvector import (RRRBitVector, rrr_encode_lines, rrr_lines_for_bits,
                                    rrr_payload_words)

HEADER = Path(__file__).resolve().parents[1] / "ext" / "rrr_tables.h"


def check(bits):
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[0]
    v = RRRBitVector(bits)
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
@given(n=st.integers(0, 9000), p=densities, run=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_rank_access_vs_numpy(n, p, run, seed):
    rng = np.random.default_rng(seed)
    bits = np.repeat(rng.random(n // run + 1) < p, run)[:n] ^ (rng.random(n) < 0.01 * (p > 0))
    v, ranks = check(bits)
    # paired rank: every (a, b) class: same block, same line, different lines
    for _ in range(200):
        a = int(rng.integers(0, n + 1))
        b = min(n, a + int(rng.choice([0, 1, 5, 62, 63, 64, 4000])))
        assert v.rank1_pair(a, b) == (ranks[a], ranks[b])


@pytest.mark.parametrize("n", [0, 1, 62, 63, 64, 126, 3779, 3780, 3781, 7560, 7561])
@pytest.mark.parametrize("kind", ["zeros", "ones", "alternating", "random"])
def test_block_and_line_edges(n, kind):
    rng = np.random.default_rng(n)
    bits = {"zeros": np.zeros(n, bool), "ones": np.ones(n, bool),
            "alternating": np.arange(n) % 2 == 1, "random": rng.random(n) < 0.5}[kind]
    v, ranks = check(bits)
    assert v.rank1(n) == ranks[n]
    with pytest.raises(IndexError):
        v.rank1(n + 1)
    with pytest.raises(IndexError):
        v[n]


def test_every_class_round_trips():
    """One block of every class k = 0..63, each with a random arrangement of its ones."""
    rng = np.random.default_rng(3)
    blocks = []
    for k in range(64):
        b = np.zeros(63, bool)
        b[rng.choice(63, size=min(k, 63), replace=False)] = True
        blocks.append(b)
    check(np.concatenate(blocks))


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


def test_generated_tables_match_math_comb():
    """ext/rrr_tables.h (tools/gen_rrr_tables.py) holds the right binomials and widths."""
    text = HEADER.read_text()
    binom = re.search(r"FM_BINOM\[64\]\[64\] = \{(.*?)\};", text, re.S).group(1)
    vals = [int(x) for x in re.findall(r"(\d+)ULL", binom)]
    assert vals == [math.comb(n, k) if k <= n else 0 for n in range(64) for k in range(64)]
    lens = re.search(r"FM_RRR_LEN\[64\] = \{(.*?)\};", text, re.S).group(1)
    assert [int(x) for x in lens.split(",")] == [(math.comb(63, k) - 1).bit_length()
                                                 for k in range(64)]
