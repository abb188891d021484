"""Secrets of the privacy lifecycle: the previous pseudonym secret and the escrow key.

Same rules as the current secret (COMPAT D10, D16, ``keyring.resolve_secret``): an environment
variable wins over a ``*_FILE`` variable and is taken as given, byte for byte; a file readable by
group or others is refused (exit 2) and loses one trailing newline (``keyring.read_secret_file``);
the bytes are never shown in any message.  One rule for every variable matters: a secret given
as ``KELORA_SECRET`` on one run and as ``KELORA_SECRET_PREVIOUS`` on the next must be the same
key, or the rotation map would not match history and equal secrets would pass as different.
Comparisons between secrets use ``hmac.compare_digest`` so not even timing depends on their
contents.
"""
from __future__ import annotations

import hmac

from kelora.errors import FatalError
from kelora.keyring import read_secret_file, resolve_secret

PREVIOUS = "KELORA_SECRET_PREVIOUS"
ESCROW = "KELORA_ESCROW_KEY"
ESCROW_MIN_BYTES = 32

# Names removed from the process environment at start-up together with KELORA_SECRET* (D16).
SECRET_ENV_NAMES = (PREVIOUS, PREVIOUS + "_FILE", ESCROW, ESCROW + "_FILE")


def _secret_env(ctx):
    """Where the secret variables are: the keyring's private copy once the command took them out
    of the environment (COMPAT D16, ``keyring.secret_env_of``), else the context's environment."""
    try:
        from kelora.keyring import secret_env_of  # type: ignore[attr-defined]
    except ImportError:
        return ctx.env
    return secret_env_of(ctx)


def _from_env(env, name: str) -> tuple[bytes | None, str | None]:
    """``(bytes, source label)`` from ``NAME`` or the file named by ``NAME_FILE``; ``(None, None)``
    when neither is set."""
    value = env.get(name)
    if value is not None:
        data = value.encode("utf-8", "surrogateescape")  # as given, like KELORA_SECRET
        if not data:
            raise FatalError(f"{name} must not be empty", exit_code=1)
        return data, name
    path = env.get(name + "_FILE")
    if path is not None:
        if path == "":
            raise FatalError(f"{name}_FILE is set but empty; name a secret file", exit_code=2)
        return read_secret_file(path, name + "_FILE"), name + "_FILE"
    return None, None


def current_secret(ctx) -> bytes | None:
    """The current pseudonym secret, or None when the run would use an ephemeral key."""
    secret, _ = resolve_secret(ctx)
    return secret


def previous_secret_if_set(ctx) -> bytes | None:
    """The previous secret when one is set (same rules), else None.  ``--escrow`` without
    ``--rotation-map`` still compares the escrow key with it: an escrow key equal to the secret
    of the tokens written before a rotation reverses those tokens just as well (COMPAT D21)."""
    data, _ = _from_env(_secret_env(ctx), PREVIOUS)
    return data


def previous_secret(ctx, current: bytes | None) -> tuple[bytes, str]:
    """The previous secret for ``--rotation-map``: required, and different from the current."""
    data, source = _from_env(_secret_env(ctx), PREVIOUS)
    if data is None:
        raise FatalError(
            "--rotation-map needs the previous secret: set KELORA_SECRET_PREVIOUS or "
            "KELORA_SECRET_PREVIOUS_FILE", exit_code=2)
    if current is None:
        raise FatalError(
            "--rotation-map needs the current secret (KELORA_SECRET or KELORA_SECRET_FILE); "
            "an ephemeral key cannot be rotated to", exit_code=2)
    if hmac.compare_digest(data, current):
        raise FatalError(
            f"the previous secret ({source}) equals the current one; a rotation needs two "
            "different secrets", exit_code=2)
    return data, source  # type: ignore[return-value]


def escrow_key(ctx, *secrets: bytes | None) -> bytes:
    """The escrow key (as given in the variable; one trailing newline stripped from a file): at
    least 32 bytes and different from every pseudonym secret set (current and previous), so
    holding one never reverses tokens."""
    data, source = _from_env(_secret_env(ctx), ESCROW)
    if data is None:
        raise FatalError("--escrow needs a key: set KELORA_ESCROW_KEY or KELORA_ESCROW_KEY_FILE",
                         exit_code=2)
    if len(data) < ESCROW_MIN_BYTES:
        raise FatalError(
            f"the escrow key ({source}) is {len(data)} bytes long; at least {ESCROW_MIN_BYTES} "
            "are required", hint="generate one with: head -c 48 /dev/urandom | base64",
            exit_code=2)
    for secret in secrets:
        if secret is not None and hmac.compare_digest(data, secret):
            raise FatalError(
                f"the escrow key ({source}) equals a pseudonym secret; use a separate key so that "
                "holding one does not reverse tokens", exit_code=2)
    return data
