"""Index files: versioned, checksummed, memory-mappable, never pickled.

Layout::

    b"OHSCIDX\\n"  magic (8 bytes)
    u64 LE        length of the header
    header        UTF-8 JSON: format version, index kind, signal type, parameters, and for each
                  array its name, dtype, shape, offset, byte length and BLAKE2b-128 checksum
    arrays        raw C-order bytes, each starting on a 64-byte boundary

Files are written to a temporary name and renamed into place, so a reader never sees half a file.
Any mismatch (magic, version, checksum, size) raises :class:`IndexCorruptError`; the caller then
rebuilds from the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ohsc.errors import IndexCorruptError
from ohsc.permissions import private_dir, private_open

MAGIC = b"OHSCIDX\n"
FORMAT_VERSION = 1
ALIGN = 64


@dataclass(frozen=True, slots=True)
class IndexFile:
    kind: str
    signal_type: str
    params: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]


def _checksum(data: memoryview | bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _raw(a: npt.NDArray[Any]) -> memoryview:
    """The bytes of a C-contiguous array, without copying."""
    if a.nbytes == 0:
        return memoryview(b"")
    return a.reshape(-1).view(np.uint8).data


def write_index(
    path: Path,
    *,
    kind: str,
    signal_type: str,
    params: dict[str, Any],
    meta: dict[str, Any],
    arrays: dict[str, npt.NDArray[Any]],
) -> int:
    """Write atomically; returns the file size."""
    entries = []
    offset = 0
    prepared: list[npt.NDArray[Any]] = []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.hasobject:
            raise TypeError(f"array {name} holds Python objects; index files store plain data only")
        offset = -(-offset // ALIGN) * ALIGN
        buf = _raw(a)
        entries.append(
            {
                "name": name,
                "dtype": a.dtype.str,
                "shape": list(a.shape),
                "offset": offset,
                "nbytes": int(a.nbytes),
                "blake2b": _checksum(buf),
            }
        )
        prepared.append(a)
        offset += a.nbytes
    header = json.dumps(
        {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "signal_type": signal_type,
            "params": params,
            "meta": meta,
            "arrays": entries,
        },
        sort_keys=True,
    ).encode()
    data_start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with private_open(tmp) as fh:
            fh.write(MAGIC)
            fh.write(struct.pack("<Q", len(header)))
            fh.write(header)
            for entry, a in zip(entries, prepared, strict=True):
                fh.seek(data_start + int(entry["offset"]))  # type: ignore[call-overload]
                if a.nbytes:
                    fh.write(_raw(a))
            fh.truncate(data_start + offset)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return data_start + offset


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(MAGIC))
            if magic != MAGIC:
                raise IndexCorruptError(f"{path.name}: not an OHSC index file")
            raw_len = fh.read(8)
            if len(raw_len) != 8:
                raise IndexCorruptError(f"{path.name}: truncated header")
            (hlen,) = struct.unpack("<Q", raw_len)
            if hlen > 64 * 1024 * 1024:
                raise IndexCorruptError(f"{path.name}: header length {hlen} is implausible")
            raw = fh.read(hlen)
    except OSError as exc:
        raise IndexCorruptError(f"{path.name}: cannot read: {exc}") from exc
    if len(raw) != hlen:
        raise IndexCorruptError(f"{path.name}: truncated header")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise IndexCorruptError(f"{path.name}: header is not JSON") from exc
    if header.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{path.name}: format version {header.get('format_version')} (this OHSC reads {FORMAT_VERSION})"
        )
    data_start = -(-(len(MAGIC) + 8 + hlen) // ALIGN) * ALIGN
    return header, data_start


def read_index(path: Path, *, verify: bool = True) -> IndexFile:
    """Memory-map an index file and check every array's checksum."""
    header, data_start = read_header(path)
    size = path.stat().st_size
    arrays: dict[str, npt.NDArray[Any]] = {}
    mm = np.memmap(path, dtype=np.uint8, mode="r") if size > data_start else np.zeros(0, np.uint8)
    for entry in header["arrays"]:
        start = data_start + int(entry["offset"])
        nbytes = int(entry["nbytes"])
        if start + nbytes > size:
            raise IndexCorruptError(f"{path.name}: array {entry['name']} runs past the end of the file")
        raw = mm[start : start + nbytes]
        if verify and _checksum(_raw(raw)) != entry["blake2b"]:
            raise IndexCorruptError(f"{path.name}: checksum mismatch in array {entry['name']}")
        try:
            dtype = np.dtype(entry["dtype"])
            if dtype.hasobject:
                raise IndexCorruptError(f"{path.name}: object arrays are not allowed")
            arrays[entry["name"]] = np.frombuffer(raw, dtype=dtype).reshape(entry["shape"])
        except (TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{path.name}: array {entry['name']}: {exc}") from exc
    return IndexFile(
        kind=header["kind"],
        signal_type=header["signal_type"],
        params=header.get("params", {}),
        meta=header.get("meta", {}),
        arrays=arrays,
    )
