"""The process environment as one injectable object (httpie's ``Environment`` idea).

The pipeline reads stdin and writes stdout/stderr only through ``Env``; tests build one around
``BytesIO``/``StringIO`` and run everything in-process.
"""
from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Mapping, TextIO


@dataclass
class Env:
    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    environ: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = field(default_factory=Path.cwd)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False

    @classmethod
    def from_process(cls) -> "Env":
        return cls(
            stdin=sys.stdin.buffer,
            # a private, larger buffer on fd 1: fewer write syscalls on big exports
            stdout=open(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False),
            stderr=sys.stderr,
            environ=os.environ,
            cwd=Path.cwd(),
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )

    @classmethod
    def for_test(cls, stdin: bytes = b"", environ: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> "Env":
        return cls(
            stdin=io.BytesIO(stdin),
            stdout=io.BytesIO(),
            stderr=io.StringIO(),
            environ=dict(environ or {}),
            cwd=cwd or Path.cwd(),
        )


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
