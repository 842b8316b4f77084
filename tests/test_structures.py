"""Each succinct structure alone against numpy (rank = cumsum, select/access = scans)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fmindex._rank_bitvector import RankBitVector
from fmindex._quad_vector import QuadRankVector
from fmindex._wavelet_tree import WaveletTree, build_wavelet_tree_arrays, huffman4_shape


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


def check_wavelet_tree(seq, sigma, block_shift=63, arity=2, wt=None):
    wt = wt or WaveletTree(seq, sigma, block_shift=block_shift, arity=arity)
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


@pytest.mark.parametrize("kind", ["rrr63", "rrr63r", "rrr63rc"])
@pytest.mark.parametrize("shift", [63, 7])
def test_wavelet_tree_over_rrr_bits(kind, shift):
    """The tree's node bits RRR-compressed (profile small), every kind; rrr63rc with one
    superblock per line, so that node ranges cross superblocks."""
    from fmindex._rrr_bitvector import rrr_encode_compact_lines, rrr_encode_lines
    rng = np.random.default_rng(11)
    seq = np.minimum(rng.zipf(1.3, 60000) - 1, 255).astype(np.uint8)
    a = build_wavelet_tree_arrays(seq, 256, shift)
    if kind == "rrr63rc":
        a["lines"], a["payload"], a["rrr_supers"] = rrr_encode_compact_lines(a["lines"],
                                                                             a["n_bits"], True, 0)
        a["rrr_super_shift"] = 0
        assert a["rrr_supers"].shape[0] > 2
    else:
        a["lines"], a["payload"] = rrr_encode_lines(a["lines"], a["n_bits"], kind == "rrr63r")
    a["bits"] = kind
    check_wavelet_tree(seq, 256, wt=WaveletTree(arrays=a))


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


# --- QuadRankVector and 4-ary trees (profile "fast" of byte shards) -------------------------

def check_quad_vector(digits):
    d = np.asarray(digits, dtype=np.int64)
    qv = QuadRankVector(d)
    n = d.shape[0]
    assert len(qv) == n
    cs = np.zeros((4, n + 1), dtype=np.int64)
    for x in range(4):
        cs[x, 1:] = np.cumsum(d == x)
    for i in range(0, n + 1, max(1, n // 211)):
        for x in range(4):
            assert qv.rank(x, i) == cs[x, i]
        j = min(n, i + int(i % 300))
        assert qv.rank_pair(int(i % 4), i, j) == (cs[i % 4, i], cs[i % 4, j])
    for x in range(4):
        assert qv.rank(x, n) == cs[x, n]
    for i in range(0, n, max(1, n // 211)):
        assert qv[i] == d[i]
        assert qv.access_rank(i) == (d[i], cs[d[i], i])
    with pytest.raises(IndexError):
        qv.rank(0, n + 1)


@settings(deadline=None)
@given(arrays(np.uint8, st.integers(0, 2000), elements=st.integers(0, 3)))
def test_quad_vector_random(digits):
    check_quad_vector(digits)


# line = 224 digits, superblock = 256 lines = 57,344 digits (16-bit in-line counts)
@pytest.mark.parametrize("n", [1, 31, 32, 33, 223, 224, 225, 448, 57_343, 57_344, 57_345,
                               3 * 57_344 + 5])
@pytest.mark.parametrize("kind", ["uniform", "all3", "runs"])
def test_quad_vector_line_and_superblock_edges(n, kind):
    rng = np.random.default_rng(n)
    if kind == "uniform":
        d = rng.integers(0, 4, n)
    elif kind == "all3":
        d = np.full(n, 3)           # a count of 57,344 before a superblock end: no overflow
    else:
        d = np.repeat(rng.integers(0, 4, n // 100 + 1), 100)[:n]
    check_quad_vector(d)


@settings(deadline=None)
@given(arrays(np.uint8, st.integers(0, 600)), st.sampled_from([4, 7, 16]))
def test_quad_wavelet_tree_bytes(seq, shift):
    check_wavelet_tree(seq, 256, shift, arity=4)


@settings(deadline=None)
@given(arrays(np.uint16, st.integers(1, 300), elements=st.integers(0, 256)),
       st.sampled_from([4, 7]))
def test_quad_wavelet_tree_257_symbols(seq, shift):
    check_wavelet_tree(seq, 257, shift, arity=4)


@pytest.mark.parametrize("present", [1, 2, 3, 4, 5, 6, 7, 8, 255, 256])
def test_quad_wavelet_tree_padding(present):
    """Every count of present symbols (padding leaves make all nodes 4-ary)."""
    rng = np.random.default_rng(present)
    syms = rng.choice(256, present, replace=False).astype(np.uint8)
    seq = syms[rng.integers(0, present, 3000)]
    check_wavelet_tree(seq, 256, 10, arity=4)


@pytest.mark.parametrize("skew", [1.0, 1.5, 3.0])
def test_quad_wavelet_tree_skewed(skew):
    rng = np.random.default_rng(7)
    seq = np.minimum(rng.zipf(skew + 0.01, 20000) - 1, 255).astype(np.uint8)
    check_wavelet_tree(seq, 256, 12, arity=4)


def test_quad_codes_are_length_limited():
    """A code-length limit below the Huffman depth takes the length-limiting path, in the
    standalone shape and in the build, and the tree still answers exactly."""
    fib = [1, 1]
    while len(fib) < 40:
        fib.append(fib[-1] + fib[-2])
    codes, code_len, children, size = huffman4_shape(np.array(fib[:40]), max_len=4)
    assert code_len.max() <= 4 and int(size[0]) == sum(fib[:40])
    free = huffman4_shape(np.array(fib[:40]), max_len=13)[1]
    assert free.max() > 4
    seq = np.repeat(np.arange(40, dtype=np.uint8), np.array(fib[:40]) % 997 + 1)
    np.random.default_rng(2).shuffle(seq)
    a = build_wavelet_tree_arrays(seq, 256, 14, arity=4, max_code_len=3)
    assert int(((a["table"] >> np.uint64(26)) & np.uint64(63)).max()) <= 3
    check_wavelet_tree(seq, 256, wt=WaveletTree(arrays=a))


def test_quad_tree_is_shallower():
    """On a real BWT-like skew the 4-ary tree stores about half as many levels per symbol."""
    rng = np.random.default_rng(3)
    seq = np.minimum(rng.zipf(1.3, 200_000) - 1, 255).astype(np.uint8)
    two = build_wavelet_tree_arrays(seq, 256, 16, arity=2)
    four = build_wavelet_tree_arrays(seq, 256, 16, arity=4)
    bits_per_symbol = two["n_bits"] / seq.shape[0]
    digits_per_symbol = four["n_bits"] / seq.shape[0]
    assert digits_per_symbol < 0.65 * bits_per_symbol
