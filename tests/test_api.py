"""The top-level API dispatches between byte and token indexes."""
import numpy as np
import pytest

import fmindex


def test_build_and_open_dispatch(tmp_path):
    tok = fmindex.build([np.array([1, 2, 3, 1, 2], np.uint32), np.array([2, 3], np.uint32)],
                        tmp_path / "t")
    assert isinstance(tok, fmindex.TokenIndex)
    assert tok.count([1, 2]) == 2 and tok.count([2, 3]) == 2
    assert isinstance(fmindex.open(tmp_path / "t"), fmindex.TokenIndex)
    byt = fmindex.build(fmindex.corpus.Documents([b"abcab", b"bc"]), tmp_path / "b")
    assert isinstance(byt, fmindex.Index) and byt.count(b"ab") == 2 and byt.count("bc") == 2
    assert isinstance(fmindex.open(tmp_path / "b"), fmindex.Index)


def test_build_with_callable_tokenizer(tmp_path):
    vocab = {"a": 1, "b": 2}
    idx = fmindex.build(["a b a", "b a"], tmp_path / "t",
                        tokenizer=lambda s: [vocab[w] for w in s.split()])
    assert isinstance(idx, fmindex.TokenIndex)
    assert idx.count([2, 1]) == 2


def test_open_reports_a_missing_index(tmp_path):
    with pytest.raises(fmindex.IndexFormatError):
        fmindex.open(tmp_path / "nothing-here")
