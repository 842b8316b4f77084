"""Build an index directory from a corpus: stream documents, cut shards, build, publish.

The build writes everything into a hidden temporary directory next to the target
(``.NAME.tmp-XXXX``) and renames it into place only when every shard and the
top-level ``manifest.json`` are written and fsynced.  A killed build leaves at
most that hidden directory, which ``open`` never accepts (no manifest at the
target path); an interrupted or failed build removes it, unless ``keep_partial``
(the CLI) keeps it for ``resume``.  The engine (shards sized from a memory budget,
worker processes, journal and resume, ``add``) is in :mod:`fmindex.parallel_build`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional

from .index import Index
from .parallel_build import parse_size  # noqa: F401  (re-exported)

DEFAULT_SA_SAMPLE = 32
DEFAULT_ISA_SAMPLE = 64
DEFAULT_SHARD_BYTES = 1 << 30          # ~5.6 bytes of build RAM per text byte
MAX_SHARD_BYTES = (1 << 31) - (1 << 20)


def build(inputs: Any, out_dir: "str | os.PathLike", *, text_field: str = "text",
          skip_bad: bool = False, sa_sample: Optional[int] = None,
          isa_sample: Optional[int] = None, profile: str = "fast",
          shard_size: "int | str | None" = None, overwrite: bool = False,
          progress: Optional[bool] = None,
          validate_utf8: bool = True, memory: "int | str | None" = None, jobs: int = 1,
          resume: bool = False, keep_partial: bool = False,
          log: Optional[Callable[[str], None]] = None) -> Index:
    """Build an index of ``inputs`` in ``out_dir`` and open it.

    :param inputs: a path (file or directory), a list of paths, or an iterable of
        documents (``str``, ``bytes`` or ``dict`` with a ``text_field`` key).
        Files: ``.txt`` (one document per file) and ``.jsonl``, optionally ``.gz``/``.zst``.
    :param text_field: the JSONL / dict field holding the text; other fields are metadata.
    :param skip_bad: skip malformed records (counted in the manifest) instead of failing.
    :param sa_sample: suffix-array sample rate (locate walks at most this many LF steps);
        default 32 for profile "fast", 64 for "small".
    :param isa_sample: inverse-suffix-array sample rate (extract overhead per call);
        default 64 for "fast", 128 for "small".
    :param profile: ``"fast"`` (default: plain bitvectors, one cache line per tree level)
        or ``"small"`` (RRR-compressed bitvectors and sparser samples: ~40% smaller than
        "fast", count ~3x slower; still ~2x faster than sdsl-lite's RRR index).
    :param shard_size: text bytes per shard (e.g. ``"1G"``); overrides the size derived
        from ``memory``; default 1 GiB when neither is given.
    :param memory: memory budget of the whole build, all processes together (e.g.
        ``"4G"``): shards are sized so that ``jobs`` of them build within it.
    :param jobs: shards built at the same time; ``jobs > 1`` builds them in worker
        processes (the reader streams each shard's documents to a spool file).
    :param resume: continue an interrupted build of the same inputs into ``out_dir``
        (its hidden ``.NAME.tmp-*`` directory): finished shards are kept.  Files must
        be unchanged (paths, sizes, mtimes; otherwise a new build starts); for an
        iterable of documents the caller must pass the same documents again (the
        first ones, already indexed, are skipped by count).
    :param keep_partial: on failure or interruption keep the hidden build directory
        with its finished shards (for ``resume``) instead of removing it.
    :param overwrite: replace an existing index at ``out_dir``.
    :param progress: show a progress bar on stderr (default: when stderr is a terminal).
    :param log: called with one-line notes (resume decisions).
    :raises EmptyCorpusError: the corpus holds no document.
    :raises CorpusError: a bad record (file and line in the message), unless ``skip_bad``.
    """
    from .parallel_build import build_index
    return build_index(inputs, out_dir, text_field=text_field, skip_bad=skip_bad,
                       sa_sample=sa_sample, isa_sample=isa_sample, profile=profile,
                       shard_size=shard_size,
                       memory=memory, jobs=jobs, resume=resume, keep_partial=keep_partial,
                       overwrite=overwrite, progress=progress, validate_utf8=validate_utf8,
                       log=log)


def add(index_dir: "str | os.PathLike", inputs: Any, *, text_field: Optional[str] = None,
        skip_bad: bool = False, shard_size: "int | str | None" = None,
        memory: "int | str | None" = None, jobs: int = 1, progress: Optional[bool] = None,
        validate_utf8: bool = True) -> Index:
    """Append ``inputs`` to the index at ``index_dir`` as new shards (atomically: readers of
    the old manifest keep working) and open the result.  Document ids continue after the
    existing ones; sampling parameters are those of the index."""
    from .parallel_build import add_to_index
    return add_to_index(index_dir, inputs, text_field=text_field, skip_bad=skip_bad,
                        shard_size=shard_size, memory=memory, jobs=jobs, progress=progress,
                        validate_utf8=validate_utf8)
