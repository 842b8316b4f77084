"""Each succinct structure alone against numpy (rank = cumsum, select/access = scans)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fmindex._rank_bitvector import RankBitVector
from fmindex._wavelet_tree import WaveletTree


def check_bitvector(bits):
    bits = np.asarray(bits, dtype=np.uint8)
    bv = RankBitVector(bits)
    n = bits.shape[0]
    cs = np.concatenate([[0], np.cumsum(bits, dtype=np.int64)])
    assert len(bv) == n and bv.n_ones == cs[-1]
    pos = np.arange(n + 1, dtype=np.uint64)
    assert np.array_equal(bv.rank1_many(pos), cs.astype(np.uint64))
    for i in range(0, n + 1, max(1, n // 97)):
        assert bv.rank0(i) == i - cs[i]
    ones = np.flatnonzero(bits)
    zeros = np.flatnonzero(bits == 0)
    for k in range(0, len(ones), max(1, len(ones) // 50)):
        assert bv.select1(k) == ones[k]
    for k in range(0, len(zeros), max(1, len(zeros) // 50)):
        assert bv.select0(k) == zeros[k]
    for i in range(0, n, max(1, n // 50)):
        assert bv[i] == bits[i]
    with pytest.raises(IndexError):
        bv.rank1(n + 1)
    with pytest.raises(IndexError):
        bv.select1(len(ones))


@settings(deadline=None)
@given(arrays(np.uint8, st.integers(0, 3000), elements=st.integers(0, 1)))
def test_bitvector_random(bits):
    check_bitvector(bits)


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 447, 448, 449, 895, 896, 897, 100_000])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.5, 1.0])
def test_bitvector_line_boundaries(n, density):
    rng = np.random.default_rng(n)
    check_bitvector(rng.random(n) < density)


BLOCK_SHIFTS = [63, 4, 7]      # one global tree; 16- and 128-symbol blocks


def check_wavelet_tree(seq, sigma, block_shift=63):
    wt = WaveletTree(seq, sigma, block_shift=block_shift)
    n = seq.shape[0]
    assert len(wt) == n
    for c in np.unique(np.concatenate([seq, [0, sigma - 1]])).tolist():
        cs = np.concatenate([[0], np.cumsum(seq == c)])
        for i in range(0, n + 1, max(1, n // 61)):
            assert wt.rank(c, i) == cs[i]
    for i in range(0, n, max(1, n // 61)):
        assert wt[i] == seq[i]
        c, r = wt.inverse_select(i)
        assert c == seq[i] and r == np.count_nonzero(seq[:i] == c)


@settings(deadline=None)
@given(arrays(np.uint8, st.integers(0, 500)), st.sampled_from(BLOCK_SHIFTS))
def test_wavelet_tree_bytes(seq, shift):
    check_wavelet_tree(seq, 256, shift)


@settings(deadline=None)
@given(arrays(np.uint16, st.integers(1, 300), elements=st.integers(0, 256)),
       st.sampled_from(BLOCK_SHIFTS))
def test_wavelet_tree_257_symbols(seq, shift):
    check_wavelet_tree(seq, 257, shift)


@settings(deadline=None)
@given(arrays(np.uint32, st.integers(1, 300), elements=st.integers(0, 2**31 - 1)))
def test_wavelet_tree_large_alphabet(seq):
    _, compact = np.unique(seq, return_inverse=True)
    check_wavelet_tree(compact.astype(np.uint32), int(compact.max()) + 1)


@pytest.mark.parametrize("skew", [1.0, 1.5, 3.0])
@pytest.mark.parametrize("shift", BLOCK_SHIFTS + [12])
def test_wavelet_tree_skewed(skew, shift):
    rng = np.random.default_rng(7)
    seq = np.minimum(rng.zipf(skew + 0.01, 20000) - 1, 255).astype(np.uint8)
    check_wavelet_tree(seq, 256, shift)


def test_wavelet_tree_long_codes_are_limited():
    """Fibonacci frequencies give a Huffman tree deeper than 26: codes are length-limited."""
    fib = [1, 1]
    while len(fib) < 40:
        fib.append(fib[-1] + fib[-2])
    seq = np.repeat(np.arange(40, dtype=np.uint32), fib[:40][::-1])[:3_000_000]
    np.random.default_rng(1).shuffle(seq)
    check_wavelet_tree(seq, 40)


@pytest.mark.parametrize("shift", BLOCK_SHIFTS)
def test_wavelet_tree_single_symbol(shift):
    check_wavelet_tree(np.full(1000, 7, dtype=np.uint8), 256, shift)
