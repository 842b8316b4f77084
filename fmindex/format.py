"""On-disk format: typed array files and JSON manifests (spec in FORMAT.md).

Every binary array lives in its own file: a 64-byte header then the payload.

    offset size  field
    0      8     magic  b"FMIXARR\\0"
    8      2     format major version (u16 LE)
    10     2     format minor version (u16 LE)
    12     4     byte-order mark 0x01020304 (u32 LE): reads back otherwise on a
                 big-endian reader, so endianness is checked with the magic
    16     8     numpy dtype string, NUL padded (e.g. b"<u8")
    24     8     number of items (u64 LE)
    32     8     payload bytes (u64 LE)
    40     16    array name, NUL padded
    56     4     CRC-32 of the payload
    60     4     CRC-32 of header bytes [0, 60)

Arrays are opened with ``mmap`` read-only: opening costs one page per file.
The payload CRC is checked when asked (``verify``), the header always.
"""
from __future__ import annotations

import errno
import json
import mmap
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .errors import (CorruptIndexError, FormatVersionError, IndexFormatError,
                     MissingIndexFileError, TruncatedIndexFileError)

MAGIC = b"FMIXARR\0"
FORMAT_MAJOR = 1
FORMAT_MINOR = 5
BYTE_ORDER_MARK = 0x01020304
HEADER = struct.Struct("<8sHHI8sQQ16sII")
HEADER_BYTES = 64
assert HEADER.size == HEADER_BYTES
CRC_CHUNK = 1 << 24


def _crc32(buf) -> int:
    mv = memoryview(buf).cast("B")
    crc = 0
    for i in range(0, len(mv), CRC_CHUNK):
        crc = zlib.crc32(mv[i:i + CRC_CHUNK], crc)
    return crc & 0xFFFFFFFF


def write_array(path: "str | os.PathLike", name: str, arr: np.ndarray) -> dict:
    """Write ``arr`` (1-D, little-endian) to ``path``; fsync; return its manifest entry."""
    arr = np.ascontiguousarray(arr)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.dtype.fields is None else arr.reshape(-1)
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    arr = arr.astype(dt, copy=False)
    dstr = dt.str.encode() if dt.fields is None else b"V%d" % dt.itemsize
    payload = memoryview(arr.view(np.uint8).reshape(-1)) if arr.size else memoryview(b"")
    crc = _crc32(payload)
    head = HEADER.pack(MAGIC, FORMAT_MAJOR, FORMAT_MINOR, BYTE_ORDER_MARK, dstr.ljust(8, b"\0"),
                       arr.shape[0], payload.nbytes, name.encode()[:16].ljust(16, b"\0"), crc, 0)
    head = head[:60] + struct.pack("<I", zlib.crc32(head[:60]) & 0xFFFFFFFF)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    return {"bytes": HEADER_BYTES + payload.nbytes, "crc32": crc, "items": int(arr.shape[0])}


def read_array(path: "str | os.PathLike", name: str, dtype: Any, entry: "dict | None" = None,
               verify: bool = False) -> np.ndarray:
    """Map the array file read-only and check it against its header and manifest entry."""
    path = Path(path)
    dtype = np.dtype(dtype)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise MissingIndexFileError("file is missing; the index is incomplete: rebuild it",
                                    str(path)) from None
    except OSError as e:
        raise IndexFormatError(f"cannot open: {e}", str(path)) from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size < HEADER_BYTES:
            raise TruncatedIndexFileError(
                f"truncated: {size} bytes, shorter than the {HEADER_BYTES}-byte header; "
                "rebuild the index", str(path))
        head = fh.read(HEADER_BYTES)
        (magic, major, minor, bom, dstr, n_items, n_bytes, aname, crc, hcrc) = HEADER.unpack(head)
        if magic != MAGIC:
            raise IndexFormatError("not an fmindex array file (bad magic)", str(path))
        if bom != BYTE_ORDER_MARK:
            raise IndexFormatError("written on a machine of the other byte order", str(path))
        if zlib.crc32(head[:60]) & 0xFFFFFFFF != hcrc:
            raise CorruptIndexError("header checksum mismatch: the file is corrupted", str(path))
        if major != FORMAT_MAJOR:
            raise FormatVersionError(
                f"format version {major}.{minor}, this fmindex reads {FORMAT_MAJOR}.x: "
                "rebuild the index with this version", str(path))
        aname = aname.rstrip(b"\0").decode(errors="replace")
        dstr = dstr.rstrip(b"\0")
        if aname != name[:16]:
            raise CorruptIndexError(f"holds array {aname!r}, expected {name!r}", str(path))
        want = dtype.str.encode() if dtype.fields is None else b"V%d" % dtype.itemsize
        if dstr != want:
            raise CorruptIndexError(f"dtype {dstr!r}, expected {want!r}", str(path))
        if n_bytes != n_items * dtype.itemsize:
            raise CorruptIndexError("header sizes are inconsistent", str(path))
        if size != HEADER_BYTES + n_bytes:
            raise TruncatedIndexFileError(
                f"{size} bytes on disk, header says {HEADER_BYTES + n_bytes}: truncated or "
                "appended to; rebuild the index", str(path))
        if entry is not None:
            if entry.get("bytes") != size or entry.get("items", n_items) != n_items:
                raise TruncatedIndexFileError("size differs from the manifest", str(path))
            if entry.get("crc32", crc) != crc:
                raise CorruptIndexError("checksum differs from the manifest", str(path))
        if n_items == 0:
            return np.zeros(0, dtype=dtype)
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    arr = np.frombuffer(mm, dtype=dtype, count=n_items, offset=HEADER_BYTES)
    if verify and _crc32(arr.view(np.uint8)) != crc:
        raise CorruptIndexError("payload checksum mismatch: the file is corrupted; rebuild "
                                "the index", str(path))
    return arr


def write_json(path: "str | os.PathLike", obj: dict) -> None:
    """Write JSON durably (fsync)."""
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_json(path: "str | os.PathLike", kind: str) -> dict:
    """Read a manifest and check its format tag and version."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MissingIndexFileError(
            f"no {path.name}: not an fmindex index, or an unfinished build", str(path)) from None
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise CorruptIndexError(f"manifest is not valid JSON ({e})", str(path)) from None
    if not isinstance(obj, dict) or obj.get("format") != kind:
        raise IndexFormatError(f"not an {kind} manifest", str(path))
    ver = obj.get("format_version")
    if not (isinstance(ver, list) and len(ver) == 2 and ver[0] == FORMAT_MAJOR):
        raise FormatVersionError(
            f"format version {ver}, this fmindex reads {FORMAT_MAJOR}.x: rebuild the index "
            "with this version", str(path))
    return obj


def fsync_dir(path: "str | os.PathLike") -> None:
    """fsync a directory so that renames inside it are durable.

    Raises OSError (e.g. ENOSPC, EIO) except where the file system cannot fsync a
    directory at all (EINVAL, ENOTSUP), which is not an error of the build.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def publish_dir(tmp: "str | os.PathLike", out: "str | os.PathLike") -> None:
    """Rename a finished build directory into place.  An existing ``out`` is first renamed
    aside (so ``out`` is never half-written), then removed; the parent is fsynced."""
    import shutil
    tmp, out = Path(tmp), Path(out)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    os.rename(tmp, out)
    fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
