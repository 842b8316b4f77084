"""fmindex: a compressed full-text FM-index over large corpora.

    import fmindex
    idx = fmindex.build(["a.jsonl.gz", "b.txt"], "idx/")
    idx = fmindex.open("idx/")
    idx.count("natural language")
    idx.locate("natural language", limit=10)
    idx.document(42).text
"""
__version__ = "0.1.0"

import os as _os

# OpenMP threads that spin while waiting steal the CPU from a preempted sibling on a busy
# machine (2 threads were 2.4x slower than 1 with the other core loaded, 1.0x with passive
# waiting: benches/bench_batch.py).  Batches are large, so a futex wake-up costs nothing.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from . import _fm_shard  # noqa: F401  (compiled kernels)
except ImportError as _e:  # pragma: no cover - only in a source tree that was not built
    raise ImportError(
        "fmindex's compiled kernels are missing: this looks like the source tree without "
        "a build.  Run `pip install .` (and run tests with `pytest`, not from an import path "
        "that shadows the installed package), or `python setup.py build_ext --inplace` "
        f"for development.  ({_e})") from None

from .errors import (CorpusError, CorruptIndexError, EmptyCorpusError, FMIndexError,  # noqa: E402
                     FormatVersionError, IndexFormatError, MissingIndexFileError,
                     PatternError, TruncatedIndexFileError)
from .index import Document, Index, Snippet, LOCATE_DTYPE  # noqa: E402
from .index import open_index as _open_bytes  # noqa: E402
from .builder import build as _build_bytes  # noqa: E402
from .tokens import TokenIndex, build_tokens, open_tokens, looks_like_token_ids  # noqa: E402

from typing import Any as _Any  # noqa: E402


def build(inputs: _Any, out_dir: "str | _os.PathLike", *, tokenizer: _Any = None,
          **kwargs: _Any) -> "Index | TokenIndex":
    """Build an index of ``inputs`` in ``out_dir`` and open it.

    Text (files, directories, or an iterable of str / bytes / dict) gives a byte index
    (:class:`Index`; options in :func:`fmindex.builder.build`).  With ``tokenizer=`` (e.g.
    ``"mistral"``, ``"cl100k"``, a callable ``str -> list[int]``), or when ``inputs`` are
    token ids (numpy integer arrays, ``.npy`` files, lists of id lists), a token index
    (:class:`TokenIndex`, with the n-gram / ∞-gram LM queries; options in
    :func:`fmindex.tokens.build_tokens`).
    """
    if tokenizer is not None or looks_like_token_ids(inputs):
        return build_tokens(inputs, out_dir, tokenizer=tokenizer, **kwargs)
    return _build_bytes(inputs, out_dir, **kwargs)


def open(path: "str | _os.PathLike", verify: "bool | str" = "auto",  # noqa: A001
         **kwargs: _Any) -> "Index | TokenIndex":
    """Open an index directory read-only with mmap: a byte :class:`Index` or a
    :class:`TokenIndex`, whichever ``path`` holds.

    ``verify``: ``"auto"`` checks headers, sizes and structural invariants of every file,
    and checksums small shards and files; ``True`` checksums everything; ``False`` skips
    checksums.
    """
    import json
    try:
        with _os.fdopen(_os.open(_os.path.join(_os.fspath(path), "manifest.json"),
                                 _os.O_RDONLY), "rb") as fh:
            kind = json.loads(fh.read(1 << 20) or b"{}").get("format")
    except (OSError, ValueError, AttributeError):
        kind = None                     # let the byte reader report what is wrong
    if kind == "fmindex-tokens":
        return open_tokens(path, verify=verify, **kwargs)
    return _open_bytes(path, verify=verify, **kwargs)


__all__ = ["build", "open", "Index", "TokenIndex", "build_tokens", "open_tokens",
           "Document", "Snippet", "LOCATE_DTYPE", "FMIndexError",
           "CorpusError", "EmptyCorpusError", "IndexFormatError", "MissingIndexFileError",
           "TruncatedIndexFileError", "CorruptIndexError", "FormatVersionError", "PatternError",
           "__version__"]
