"""Input sources: files in command-line order (or stdin) as one stream of byte lines.

Decompression is chosen by magic bytes, not file names (gzip ``1F 8B 08``, multi-member;
zstd ``28 B5 2F FD``), on files and on stdin alike.  Lines stay ``bytes`` here: the JSON fast
path hands them to orjson undecoded, and only lines that need text are decoded.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_BUFFER = 1 << 20  # large blocks: fewer syscalls on multi-GB exports


@dataclass
class InputSource:
    label: str  # how errors name it: the path as given, or "stdin"
    meta_name: str | None  # meta.filename: path as given, "-" if listed, absent for plain stdin
    stream: BinaryIO


class OpenFailure(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _io_reason(exc: OSError) -> str:
    if exc.errno is not None and exc.strerror:
        return f"{exc.strerror} (os error {exc.errno})"
    return str(exc)


def decompressing(raw: BinaryIO) -> BinaryIO:
    """Wrap ``raw`` in a decompressor when its first bytes are a gzip or zstd header."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, READ_BUFFER)  # type: ignore[arg-type]
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        import gzip

        return io.BufferedReader(gzip.GzipFile(fileobj=buffered), READ_BUFFER)  # type: ignore[arg-type]
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        return io.BufferedReader(reader, READ_BUFFER)  # type: ignore[arg-type]
    return buffered


def open_path(path: str) -> BinaryIO:
    if path.lower().endswith(".zip"):
        raise OpenFailure(path, f"Failed to open file '{path}': zip archives are not supported (unzip it and pass the files)")
    if os.path.isdir(path):
        raise OpenFailure(path, f"Input path '{path}' is a directory; skipping (input files only)")
    try:
        raw = open(path, "rb", buffering=READ_BUFFER)
    except OSError as exc:
        raise OpenFailure(path, f"Failed to open file '{path}': {_io_reason(exc)}")
    try:
        return decompressing(raw)
    except OSError as exc:
        raw.close()
        raise OpenFailure(path, f"Failed to open file '{path}': {_io_reason(exc)}")


def sources(files: tuple[str, ...], stdin: BinaryIO) -> Iterator[InputSource | OpenFailure]:
    """Yield each input in order; unopenable ones come as ``OpenFailure`` for the caller to report."""
    if not files:
        yield InputSource("stdin", None, decompressing(stdin))
        return
    for path in files:
        if path == "-":
            yield InputSource("stdin", "-", decompressing(stdin))
            continue
        try:
            yield InputSource(path, path, open_path(path))
        except OpenFailure as failure:
            yield failure
