"""The BWT + samples pass against numpy: every output array, with and without the release
of SA's consumed memory, ISA samples derived after the pass (isa_rate a multiple of
sa_rate) or written during it (any other rates), one or many parts."""
import sys

import numpy as np
import pytest

from fmindex._bwt_builder import build_bwt_and_samples
from fmindex._suffix_array import suffix_array


def unpack(words, width, n):
    """Entries 0..n-1 of a bit-packed uint64 array (entry i = bits [i*w, (i+1)*w))."""
    bit = np.arange(n, dtype=np.uint64) * np.uint64(width)
    q = (bit >> np.uint64(6)).astype(np.int64)
    r = bit & np.uint64(63)
    lo = words[q] >> r
    hi = (words[q + 1] << (np.uint64(63) - r)) << np.uint64(1)
    return (lo | hi) & np.uint64((1 << width) - 1)


def make_text(n, seed):
    """Words over a small alphabet with separator 9 after each document."""
    rng = np.random.default_rng(seed)
    words = [rng.integers(0, 4, rng.integers(1, 12)).astype(np.uint8) for _ in range(300)]
    parts, size = [], 0
    while size < n:
        doc = np.concatenate([words[i] for i in rng.integers(0, 300, rng.integers(1, 400))])
        parts += [doc, np.array([9], dtype=np.uint8)]
        size += doc.shape[0] + 1
    text = np.concatenate(parts)
    return text, np.concatenate([[0], np.flatnonzero(text == 9) + 1]).astype(np.uint64)


def expected(text, sa, sep, sa_rate, isa_rate):
    N = text.shape[0]
    bwt = np.empty(N + 1, dtype=text.dtype)
    bwt[0] = text[N - 1]
    prev = sa.astype(np.int64) - 1
    bwt[1:] = np.where(prev >= 0, text[np.maximum(prev, 0)], sep)
    rows = np.empty(N, dtype=np.int64)
    rows[sa] = np.arange(1, N + 1)              # row of each text position
    marked = np.flatnonzero(sa % sa_rate == 0) + 1
    return bwt, marked, sa[marked - 1] // sa_rate, rows[::isa_rate]


@pytest.mark.parametrize("rates", [(32, 64), (4, 4), (3, 5), (8, 2), (1, 7)])
@pytest.mark.parametrize("parts", [(1, 1 << 20), (2, 1 << 16)])
def test_bwt_and_samples_match_numpy(rates, parts):
    sa_rate, isa_rate = rates
    threads, min_rows = parts
    text, ds = make_text(1_500_000, 1)
    N = text.shape[0]
    sa0 = suffix_array(text)
    bwt, marked, sa_vals, isa_rows = expected(text, sa0, 9, sa_rate, isa_rate)
    outs = []
    for release in (True, False):
        sa = sa0.copy()
        out = build_bwt_and_samples(text, sa, 9, sa_rate, isa_rate, ds, num_threads=threads,
                                    min_part_rows=min_rows, release_sa=release)
        assert out["bwt_first"] == bwt[0] and np.array_equal(out["bwt_tail"], bwt[1:])
        assert out["r0"] == int(np.flatnonzero(sa0 == 0)[0]) + 1
        low, prefix = out["sampled_low"], out["sampled_prefix"]
        assert np.array_equal(low, (marked & 255).astype(np.uint8))
        assert np.array_equal(prefix[1:], np.searchsorted(marked >> 8, np.arange(prefix.shape[0] - 1),
                                                          side="right"))
        assert np.array_equal(unpack(out["sa_samples"], out["sa_width"], marked.shape[0]), sa_vals)
        assert np.array_equal(unpack(out["isa_samples"], out["row_width"], isa_rows.shape[0]),
                              isa_rows)
        ends = ds[1:].astype(np.int64) - 1      # position of each document's separator
        rows = np.empty(N, dtype=np.int64)
        rows[sa0] = np.arange(1, N + 1)
        assert np.array_equal(unpack(out["doc_end_rows"], out["row_width"], ends.shape[0]),
                              rows[ends])
        if release and sys.platform.startswith("linux"):
            # SA's whole pages past the BWT were handed back (private memory reads as zeros)
            raw = sa.view(np.uint8)
            start = -(-(raw.ctypes.data + N) // 4096) * 4096 - raw.ctypes.data
            end = (raw.ctypes.data + raw.nbytes) // 4096 * 4096 - raw.ctypes.data
            assert end - start > 4 * N // 2 and not raw[start:end].any()
        outs.append({k: v for k, v in out.items() if k != "bwt_tail"})
    for k, v in outs[0].items():
        assert np.array_equal(v, outs[1][k]), k
