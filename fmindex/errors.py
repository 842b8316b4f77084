"""Exception hierarchy of fmindex.  Every error says what went wrong and what to do."""


class FMIndexError(Exception):
    """Base class of every error raised by fmindex."""


class CorpusError(FMIndexError, ValueError):
    """Bad input while reading a corpus (malformed JSON, missing text field, bad UTF-8...).

    ``path`` and ``line`` (1-based, or None) name where the problem is.
    """

    def __init__(self, message: str, path: "str | None" = None, line: "int | None" = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class EmptyCorpusError(CorpusError):
    """The corpus holds no document at all."""


class IndexFormatError(FMIndexError):
    """An index directory or file is missing, truncated, corrupted or of another format."""

    def __init__(self, message: str, path: "str | None" = None):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class MissingIndexFileError(IndexFormatError):
    """A file the manifest lists is not there."""


class TruncatedIndexFileError(IndexFormatError):
    """A file is shorter (or longer) than its header and the manifest say."""


class CorruptIndexError(IndexFormatError):
    """A checksum or an internal invariant does not hold."""


class FormatVersionError(IndexFormatError):
    """The index was written by an incompatible version of the format."""


class PatternError(FMIndexError, ValueError):
    """A query pattern is not usable (wrong type, invalid UTF-8, too long)."""
