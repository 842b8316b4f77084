"""Shared test configuration: hypothesis profiles and a few fixtures.

Profiles: ``ci`` (default, 60 examples, no deadline) and ``thorough`` (1000 examples);
choose with ``FMINDEX_HYPOTHESIS_PROFILE=thorough``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("FMINDEX_HYPOTHESIS_PROFILE", "ci"))


def _package_root() -> str:
    """The directory holding the ``fmindex`` package this test run imports (the in-place
    build of the checkout, or site-packages after ``pip install .``)."""
    import fmindex
    return str(Path(fmindex.__file__).resolve().parents[1])


@pytest.fixture(scope="session")
def subprocess_env() -> dict:
    """Environment for ``python -m fmindex`` / helper subprocesses: they import the same
    fmindex as the tests (its directory first on PYTHONPATH), UTF-8 I/O."""
    env = dict(os.environ)
    parts = [_package_root()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONIOENCODING"] = "utf-8"
    # `python -m fmindex` would put the working directory (the checkout, whose fmindex/
    # has no compiled kernels after `pip install .`) first on sys.path: don't.
    env["PYTHONSAFEPATH"] = "1"
    return env
