"""RRRBitVector (profile "small") on its own: rank / select / access / paired rank vs numpy,
for every kind: rrr63 (every block enumerative), rrr63r (mid-range classes raw) and rrr63rc
(rrr63r's blocks in compact 72-block lines under superblocks, of any size here)."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmindex._rank_bitvector import RankBitVector
from fmindex._rrr_bitvector import (RRR_DEFAULT_SUPER_SHIFT, RRR_MAX_SUPER_SHIFT, RRRBitVector,
                                    rrr_encode_compact_lines, rrr_encode_lines,
                                    rrr_lines_consistent, rrr_lines_for_bits, rrr_payload_words,
                                    rrr_supers_for_bits)

HEADER = Path(__file__).resolve().parents[1] / "ext" / "rrr_tables.h"


COMPACT_LINE_BITS = 63 * 72


def check(bits, raw=False, super_shift=None):
    """Every query against numpy; ``super_shift``: compact lines (kind rrr63rc when raw)."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[0]
    if super_shift is None:
        v = RRRBitVector(bits, raw=raw)
    else:
        v = RRRBitVector(bits, raw=raw, compact=True, super_shift=super_shift)
        assert rrr_lines_consistent(v.lines, n, raw, v.supers, super_shift)
        assert v.supers.shape[0] == rrr_supers_for_bits(n, super_shift)
    assert v.raw == raw and v.compact == (super_shift is not None)
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
       raw=st.booleans(), super_shift=st.one_of(st.none(), st.integers(0, 3)))
def test_rank_access_vs_numpy(n, p, run, seed, raw, super_shift):
    rng = np.random.default_rng(seed)
    bits = np.repeat(rng.random(n // run + 1) < p, run)[:n] ^ (rng.random(n) < 0.01 * (p > 0))
    v, ranks = check(bits, raw, super_shift)
    # paired rank: every (a, b) class: same block, same line, different lines
    for _ in range(200):
        a = int(rng.integers(0, n + 1))
        b = min(n, a + int(rng.choice([0, 1, 5, 62, 63, 64, 4000])))
        assert v.rank1_pair(a, b) == (ranks[a], ranks[b])


@settings(max_examples=60, deadline=None)
@given(lines=st.integers(0, 9), delta=st.integers(-64, 64), p=densities,
       run=st.integers(1, 300), seed=st.integers(0, 2**32), super_shift=st.integers(0, 3))
def test_compact_lines_around_line_and_superblock_edges(lines, delta, p, run, seed, super_shift):
    """Kind rrr63rc: lengths within a block of a line end (so of a superblock end at the
    small superblock sizes drawn), every density; paired ranks that straddle lines and
    superblocks."""
    n = max(0, lines * COMPACT_LINE_BITS + delta)
    rng = np.random.default_rng(seed)
    bits = np.repeat(rng.random(n // run + 1) < p, run)[:n] ^ (rng.random(n) < 0.02 * (p > 0))
    v, ranks = check(bits, True, super_shift)
    assert v.supers.shape[0] == 2 * ((n // COMPACT_LINE_BITS) // (1 << super_shift) + 1)
    edges = [L * COMPACT_LINE_BITS + d for L in range(lines + 2) for d in (-2, -1, 0, 1, 63)]
    for a in [e for e in edges if 0 <= e <= n]:
        for b in (a, a + 1, a + 62, a + 63, a + COMPACT_LINE_BITS, n):
            if a <= b <= n:
                assert v.rank1_pair(a, b) == (ranks[a], ranks[b])


@pytest.mark.parametrize("n", [0, 1, 62, 63, 64, 126, 3779, 3780, 3781, 7560, 7561])
@pytest.mark.parametrize("kind", ["zeros", "ones", "alternating", "random", "sparse"])
@pytest.mark.parametrize("raw", [False, True])
def test_block_and_line_edges(n, kind, raw):
    _edges(n, kind, raw, None)


# compact lines: 4,536 bits (blocks 70 and 71 from 4,410); superblocks of 1 and 2 lines
@pytest.mark.parametrize("n", [0, 1, 62, 63, 4409, 4410, 4411, 4472, 4473, 4535, 4536, 4537,
                               8945, 9071, 9072, 9073, 13608, 18144])
@pytest.mark.parametrize("kind", ["zeros", "ones", "alternating", "random", "sparse"])
@pytest.mark.parametrize("super_shift", [0, 1, RRR_DEFAULT_SUPER_SHIFT])
def test_compact_block_line_and_superblock_edges(n, kind, super_shift):
    _edges(n, kind, True, super_shift)


def _edges(n, kind, raw, super_shift):
    rng = np.random.default_rng(n)
    bits = {"zeros": np.zeros(n, bool), "ones": np.ones(n, bool),
            "alternating": np.arange(n) % 2 == 1, "random": rng.random(n) < 0.5,
            "sparse": rng.random(n) < 0.15}[kind]
    v, ranks = check(bits, raw, super_shift)
    assert v.rank1(n) == ranks[n]
    with pytest.raises(IndexError):
        v.rank1(n + 1)
    with pytest.raises(IndexError):
        v[n]


@pytest.mark.parametrize("raw,super_shift", [(False, None), (True, None), (True, 0), (True, 2)])
@pytest.mark.parametrize("seed", [3, 4])
def test_every_class_round_trips(raw, super_shift, seed):
    """Blocks of every class k = 0..63 (raw and enumerative ones side by side, so that
    payload widths 0..63 follow each other in one line), random arrangements."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k in rng.permutation(np.repeat(np.arange(64), 3)):
        b = np.zeros(63, bool)
        b[rng.choice(63, size=int(k), replace=False)] = True
        blocks.append(b)
    v, ranks = check(np.concatenate(blocks), raw, super_shift)
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


def test_compact_lines_are_smaller_and_hold_72_blocks():
    """rrr63rc: the payload of rrr63r, 72 blocks per line instead of 60, and a superblock
    pair per 2^super_shift lines."""
    rng = np.random.default_rng(2)
    n = 63 * 72 * 300 + 17
    bits = rng.random(n) < 0.1
    old = RRRBitVector(bits, raw=True)
    new = RRRBitVector(bits, raw=True, compact=True)
    assert np.array_equal(old.payload, new.payload)
    assert new.lines.shape[0] == 8 * (n // (63 * 72) + 1) == 8 * rrr_lines_for_bits(n, True)
    assert old.lines.shape[0] == 8 * (n // (63 * 60) + 1)
    assert new.supers.shape[0] == 2 and list(new.supers) == [0, 0]
    assert new.size_in_bytes() < old.size_in_bytes()
    small = RRRBitVector(bits, raw=True, compact=True, super_shift=3)
    assert small.supers.shape[0] == 2 * (300 // 8 + 1)
    assert np.array_equal(small.payload, new.payload)
    # every superblock holds the absolute counters of its first line
    for s in range(1, small.supers.shape[0] // 2):
        at = s * 8 * 63 * 72
        assert small.supers[2 * s] == new.rank1(at) == int(bits[:at].sum())
    with pytest.raises(ValueError, match="super_shift"):
        RRRBitVector(bits, raw=True, compact=True, super_shift=RRR_MAX_SUPER_SHIFT + 1)


def test_damaged_compact_line_or_superblock_is_refused():
    """rrr63rc: a line whose relative ones or payload pointer do not follow from the line
    before it, a superblock pair that disagrees with its lines, a superblock's first line
    with non-zero relative counters (even when the pair makes up for it), a superblock
    array of the wrong length, or 60-block lines read as compact ones: all refused."""
    rng = np.random.default_rng(8)
    bits = rng.random(63 * 72 * 40 + 5) < 0.3
    n = len(bits)
    plain = RankBitVector(bits)
    shift = 2
    lines, payload, supers = rrr_encode_compact_lines(plain.lines, n, True, shift)
    assert rrr_lines_consistent(lines, n, True, supers, shift)
    assert payload.shape[0] == rrr_payload_words(lines, n, True, supers, shift)
    v = RRRBitVector.from_arrays(lines, payload, n, raw=True, supers=supers, super_shift=shift)
    assert v.rank1(n) == int(bits.sum())

    def refused(lines_=lines, supers_=supers, shift_=shift, raw=True):
        return not rrr_lines_consistent(lines_, n, raw, supers_, shift_)

    # word 0 of a line: classes of blocks 70, 71 | relative ones << 12 | relative pointer << 38
    for line, delta in ((1, 1 << 12), (5, 1 << 12), (6, -(1 << 12)), (13, 1 << 38),
                        (39, 1 << 38), (2, 1), (9, 1 << 6)):
        bad = lines.copy()
        bad[8 * line:8 * line + 1] += np.uint64(delta % (1 << 64))
        assert refused(bad), (line, delta)
    bad = lines.copy()
    bad[8 * 7 + 3] ^= np.uint64(1)              # a class of line 7: line 8 no longer follows
    assert refused(bad)
    for word in (2, 3):                         # superblock 1 (line 4): ones, pointer
        bad = supers.copy()
        bad[word] += np.uint64(1)
        assert refused(supers_=bad)
    bad_lines, bad_supers = lines.copy(), supers.copy()
    bad_lines[8 * 4] += np.uint64(3 << 12)      # line 4 relative 3, its superblock 3 lower
    bad_supers[2] -= np.uint64(3)
    assert refused(bad_lines, bad_supers)
    assert refused(supers_=supers[:-2]) and refused(supers_=np.zeros(supers.shape[0] + 2, np.uint64))
    assert refused(shift_=3) and refused(shift_=RRR_MAX_SUPER_SHIFT + 1)
    assert refused(raw=False)                   # the payload widths of rrr63, not rrr63r
    assert not rrr_lines_consistent(lines, n, True)     # compact lines read as 60-block ones
    with pytest.raises(ValueError):
        RRRBitVector.from_arrays(lines, payload, n, raw=True, supers=supers[:-2], super_shift=shift)
    with pytest.raises(ValueError):
        RRRBitVector.from_arrays(lines, payload[:-1], n, raw=True, supers=supers,
                                 super_shift=shift)
