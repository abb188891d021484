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
    fd: int | None = None  # the file's descriptor: its offset tells the progress display how far we are


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

        return io.BufferedReader(_GzipRaw(gzip.GzipFile(fileobj=buffered)), READ_BUFFER)
    if head.startswith(ZSTD_MAGIC):
        return io.BufferedReader(_ZstdRaw(buffered), READ_BUFFER)
    return buffered


class _GzipRaw(io.RawIOBase):
    """GzipFile whose failures are all ``OSError``s (corrupt deflate data raises ``zlib.error``,
    a truncated file ``EOFError``): the pipeline reports them as a failed read of that file."""

    def __init__(self, inner):
        import zlib

        self._inner = inner
        self._errors = (zlib.error, EOFError)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            # read1: one decompression step per call, so the lines decoded before a corrupt or
            # truncated spot reach the pipeline instead of being lost with the failing call
            data = self._inner.read1(len(b))
        except self._errors as exc:
            raise OSError(f"corrupt or truncated gzip data: {exc}") from None
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


class _ZstdRaw(io.RawIOBase):
    """Multi-frame zstd decompression that notices a truncated last frame (zstandard's
    ``stream_reader`` just stops there, silently losing the rest of the file)."""

    CHUNK = 1 << 16  # compressed bytes per step: bounds the output of one decompress() call

    def __init__(self, src: BinaryIO):
        import zstandard

        self._src = src
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._error = zstandard.ZstdError
        self._d = self._new()
        self._in_frame = False  # bytes of an unfinished frame were fed
        self._out = b""
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self._pos >= len(self._out):
            if self._eof:
                return 0
            chunk = self._src.read(self.CHUNK)
            if not chunk:
                self._eof = True
                if self._in_frame:
                    raise OSError("truncated zstd data: the last frame is incomplete")
                return 0
            self._out, self._pos = self._feed(chunk), 0
        n = min(len(b), len(self._out) - self._pos)
        b[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def _feed(self, data: bytes) -> bytes:
        parts = []
        while data:
            try:
                parts.append(self._d.decompress(data))
            except self._error as exc:
                raise OSError(f"corrupt zstd data: {exc}") from None
            self._in_frame = True
            if not self._d.eof:
                break
            data = self._d.unused_data  # the next frame (multi-frame files)
            self._d = self._new()
            self._in_frame = False
        return b"".join(parts)

    def close(self) -> None:
        self._src.close()
        super().close()


def open_path(path: str) -> tuple[BinaryIO, int]:
    """The (decompressed) byte stream of a file, and the descriptor of the file itself."""
    if path.lower().endswith(".zip"):
        raise OpenFailure(path, f"Failed to open file '{path}': zip archives are not supported (unzip it and pass the files)")
    if os.path.isdir(path):
        raise OpenFailure(path, f"Input path '{path}' is a directory; skipping (input files only)")
    try:
        raw = open(path, "rb", buffering=READ_BUFFER)
    except OSError as exc:
        raise OpenFailure(path, f"Failed to open file '{path}': {_io_reason(exc)}")
    try:
        return decompressing(raw), raw.fileno()
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
            stream, fd = open_path(path)
        except OpenFailure as failure:
            yield failure
            continue
        yield InputSource(path, path, stream, fd)
