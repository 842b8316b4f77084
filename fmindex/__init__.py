"""fmindex: a compressed full-text FM-index over large corpora.

    import fmindex
    idx = fmindex.build(["a.jsonl.gz", "b.txt"], "idx/")
    idx = fmindex.open("idx/")
    idx.count("natural language")
    idx.locate("natural language", limit=10)
    idx.document(42).text
"""
__version__ = "0.1.0"

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
from .index import open_index as open  # noqa: E402,A001
from .builder import build  # noqa: E402

__all__ = ["build", "open", "Index", "Document", "Snippet", "LOCATE_DTYPE", "FMIndexError",
           "CorpusError", "EmptyCorpusError", "IndexFormatError", "MissingIndexFileError",
           "TruncatedIndexFileError", "CorruptIndexError", "FormatVersionError", "PatternError",
           "__version__"]
