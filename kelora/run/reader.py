"""Input sources: files in command-line order (or stdin) as one stream of byte lines.

Decompression is chosen by magic bytes, not file names (gzip ``1F 8B 08``, multi-member;
zstd ``28 B5 2F FD``), on files and on stdin alike.  Lines stay ``bytes`` here: the JSON fast
path hands them to orjson undecoded, and only lines that need text are decoded.
"""
from __future__ import annotations

import functools
import io
import os
import select
import stat
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
    lines: object = None  # the byte lines to read (see ``line_cap``): ``stream`` itself or pieces of capped length
    cap: int = 0  # the length at which ``lines`` cuts a line (0: never, ``lines`` is ``stream``)


class LongLine(bytes):
    """A line longer than the line cap as ``--parallel`` sends it to a worker: its first bytes,
    and in ``length`` the whole line's length (without its line ending)."""

    length: int

    def __new__(cls, head: bytes, length: int):
        self = super().__new__(cls, head)
        self.length = length
        return self

    def __reduce__(self):
        return (LongLine, (bytes(self), self.length))


def line_cap(max_line_bytes: int | None) -> int:
    """The longest piece a capped reader returns: the longest allowed line with its CR LF."""
    return 0 if max_line_bytes is None else max_line_bytes + 2


def capped(src: InputSource, cap: int) -> InputSource:
    """Give *src* its ``lines``.  A decompressed stream or a pipe is read in pieces of at most
    *cap* bytes, so one line never costs more memory than the cap (a 1.5 GB line from a small
    gzip file); a piece that fills the cap without a newline is cut, and ``rest_of_line`` drops
    the rest.  A regular file as it is keeps the plain (fastest) line iteration: its lines are
    on disk already and no longer than the file."""
    if cap and not _plain_regular(src):
        src.lines, src.cap = iter(functools.partial(src.stream.readline, cap), b""), cap
    else:
        src.lines, src.cap = src.stream, 0
    return src


def _plain_regular(src: InputSource) -> bool:
    if src.fd is None or not isinstance(src.stream, io.BufferedReader):
        return False
    try:
        if src.stream.fileno() != src.fd:
            return False  # a decompressor in between
        return stat.S_ISREG(os.fstat(src.fd).st_mode)
    except (OSError, ValueError):
        return False


def record_bytes(raw: bytes, max_bytes: int | None) -> int:
    """What a line adds to a CSV record that spans lines: its bytes without the line end (at
    most --max-line-bytes: a longer line is cut) and one for the join.  The sequential loop
    (``InputLoop.read_stream``) and the --parallel driver (``batching``) both count with it, so
    they drop a record that runs past --max-line-bytes at the same line and cut batches where
    the sequential run reads records."""
    n = getattr(raw, "length", None)  # (LongLine: the whole line's length)
    if n is None:
        n = len(raw)
        if raw[-1:] == b"\n":
            n -= 2 if raw[-2:] == b"\r\n" else 1
    return (n if max_bytes is None else min(n, max_bytes)) + 1


def rest_of_line(piece: bytes, stream: BinaryIO) -> int:
    """*piece* filled the cap without a newline: read and drop the rest of its line, a block
    at a time, and return the whole line's length (without its line ending)."""
    length = len(piece)
    last = piece[-1:]
    while True:
        block = stream.readline(READ_BUFFER)
        if not block:
            return length
        if block[-1:] == b"\n":
            length += len(block) - 1
            if (block[-2:-1] if len(block) > 1 else last) == b"\r":
                length -= 1
            return length
        length += len(block)
        last = block[-1:]


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

    # Compressed bytes per step.  One decompress() call returns everything these bytes hold and
    # a zstd block of 128 KiB can take 4 bytes (RLE), so this bounds one step's output to about
    # 16 MiB (a 38 KB file of 1.2 GB of newlines no longer comes out in one piece).  Small steps
    # cost little: ~0.06 s per 100 MB of ordinary logs.
    CHUNK = 512

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


class _FlushBeforeWait(io.RawIOBase):
    """A pipe, terminal or socket as the reader sees it: before a read that would wait for the
    writer, ``idle()`` runs (the sink writes out what it holds).  So `tail -f app.log | kelora`
    shows each event as soon as its line has arrived, as Kelora's line-buffered stdout does,
    while a busy pipe is still read in large blocks and written without a flush per event.
    *inner* is the source's own buffered reader: ``read1`` gives what it holds, else one read."""

    def __init__(self, inner: BinaryIO, fd: int, idle):
        self._inner, self._fd, self._idle = inner, fd, idle

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, b) -> int:
        try:
            waiting = not select.select([self._fd], [], [], 0)[0]
        except (OSError, ValueError):
            waiting = False
        if waiting:
            self._idle()
        data = self._inner.read1(len(b))
        n = len(data)
        b[:n] = data
        return n


def _flushing_before_wait(stream: BinaryIO, idle) -> BinaryIO:
    """*stream*, read through ``_FlushBeforeWait`` when it is a pipe, terminal or socket (a
    regular file never waits) and there is an *idle* to run."""
    if idle is None:
        return stream
    try:
        fd = stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return stream
    except (AttributeError, OSError, ValueError):  # (an in-memory stream: nothing waits)
        return stream
    return io.BufferedReader(_FlushBeforeWait(stream, fd, idle), READ_BUFFER)


def open_path(path: str, idle=None) -> tuple[BinaryIO, int]:
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
        return decompressing(_flushing_before_wait(raw, idle)), raw.fileno()
    except OSError as exc:
        raw.close()
        raise OpenFailure(path, f"Failed to open file '{path}': {_io_reason(exc)}")


def _stdin(stdin: BinaryIO, meta_name: str | None, cap: int, idle=None) -> InputSource | OpenFailure:
    try:
        return capped(InputSource("stdin", meta_name, decompressing(_flushing_before_wait(stdin, idle))), cap)
    except OSError as exc:  # a closed stdin (`<&-`): EBADF
        return OpenFailure("stdin", f"Failed to read 'stdin': {_io_reason(exc)}")


def sources(files: tuple[str, ...], stdin: BinaryIO, cap: int = 0, idle=None) -> Iterator[InputSource | OpenFailure]:
    """Yield each input in order; unopenable ones come as ``OpenFailure`` for the caller to
    report.  *cap*: see ``line_cap`` and ``capped``; *idle*: called before a pipe, terminal or
    socket is waited for (``_FlushBeforeWait``)."""
    if not files:
        yield _stdin(stdin, None, cap, idle)
        return
    for path in files:
        if path == "-":
            yield _stdin(stdin, "-", cap, idle)
            continue
        try:
            stream, fd = open_path(path, idle)
        except OpenFailure as failure:
            yield failure
            continue
        yield capped(InputSource(path, path, stream, fd), cap)


SAMPLE_BYTES = 256 << 10  # at most this much of a buffered stream is looked at for detection


def peek_lines(stream: BinaryIO, limit: int = 50) -> list[bytes]:
    """Up to *limit* complete lines (line ends removed) that *stream* has already buffered,
    without consuming them: ``-f auto`` looks at several lines (``formats.detect_sample``).

    Never blocks beyond what reading the next line would: a ``BufferedReader`` with data left in
    its buffer returns it as it is, an empty one does one read.  A partial last line is left out,
    so a slow pipe just gives fewer lines (or none: then detection uses the first line alone)."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        return []
    try:
        data = peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
    except (OSError, ValueError):
        return []
    end = data.rfind(b"\n")
    if end < 0:
        return []
    lines = data[:end].split(b"\n", limit)[:limit]
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]
