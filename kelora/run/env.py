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
    # secret variables (KELORA_SECRET, KELORA_SECRET_FILE, ...) taken out of ``environ`` at
    # start-up (COMPAT D16): only the keyring reads them, no script can
    secrets: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_process(cls) -> "Env":
        from kelora.secretenv import held_secrets

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
            secrets=held_secrets(),
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


def isolate_secrets(env: Env) -> Env:
    """``env`` with the secret variables moved from ``environ`` to ``secrets`` (a new Env and a
    new mapping: the caller's environment object is never changed)."""
    from kelora.secretenv import is_secret_variable

    names = [k for k in env.environ if is_secret_variable(k)]
    if not names:
        return env
    import dataclasses

    secrets = {**env.secrets, **{k: env.environ[k] for k in names}}
    public = {k: v for k, v in env.environ.items() if k not in secrets}
    return dataclasses.replace(env, environ=public, secrets=secrets)
