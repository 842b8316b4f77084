"""fmindex: a compressed full-text FM-index over large corpora.

    import fmindex
    idx = fmindex.build(["a.jsonl.gz", "b.txt"], "idx/")
    idx = fmindex.open("idx/")
    idx.count("natural language")
    idx.locate("natural language", limit=10)
    idx.document(42).text
"""
__version__ = "0.1.0"

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
