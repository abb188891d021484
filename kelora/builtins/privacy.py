"""Privacy builtins: ``pseudonym`` (keyed, domain-separated tokens), ``hash``, ``bucket``.

Values may be strings or numbers (COMPAT D5): numbers are hashed as their JSON text (``123``,
``1.5``, ``1e20``: the text kelora's JSON output and ``to_json`` write) so ``pseudonym(e.id)`` and ``pseudonym("123")`` agree.  ``()`` (a missing field) is an
error flagged ``missing_field`` so the summary can point at a field-name typo.
"""
from __future__ import annotations

import hashlib
import math

import xxhash

from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.formats.render import json_float_text
from kelora.keyring import ensure_keyring
from kelora.safetext import clean
from kelora.values import type_name


def value_text(fn: str, value: object) -> str:
    """The text a privacy function hashes: strings as-is, numbers as JSON text (D5)."""
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is int:
        return str(value)
    if t is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise FunctionError(f"{fn}: value must be a string or a finite number, got {value!r}")
        return json_float_text(value)  # the text -F json and to_json() write: 1e20, not 1e+20
    if isinstance(value, str):  # Char
        return str(value)
    raise FunctionError(
        f"{fn}(): value must be a string or a number, got {type_name(value)}",
        missing_field=value is None,
    )


@builtin("privacy", pass_context=True, hides_value=True, replay_safe=True, needs_key=True)
def pseudonym(ctx, value: str | int | float, domain: str) -> str:
    """Keyed, domain-separated pseudonym: a stable 24-character base64url token.

    The key comes from KELORA_SECRET (or KELORA_SECRET_FILE, or the config's secret_file);
    without one an ephemeral key is used and tokens change between runs.  The same value gives
    different tokens in different domains.  Numbers are hashed as their JSON text.  The example
    below holds with KELORA_SECRET=kelora-bench-secret.

    Examples:
        pseudonym("alice@example.com", "users")  =>  "lJLFJ4vhI8t22lS9ZsPWhF-s"
        pseudonym("", "users")  =>  "s5WfHARl-bMDpOyvZafjI5gM"
    """
    keyring = ctx.keyring
    if keyring is None:
        keyring = ensure_keyring(ctx)
    fn = keyring.by_domain.get(domain)
    if fn is None:
        if type(domain) is not str:
            if not isinstance(domain, str):
                raise FunctionError(
                    f"pseudonym(): domain must be a string, got {type_name(domain)}",
                    missing_field=domain is None,
                )
            domain = str(domain)  # Char
        fn = keyring.pseudonymizer(domain)
    if type(value) is not str:
        value = value_text("pseudonym", value)
    return fn(value)


@builtin("privacy", pass_context=True, effects={"escrow"})
def reveal(ctx, token: str, domain: str) -> str | None:
    """The original value behind a pseudonym token, from the ``--escrow`` database; () if unknown.

    Available only in a run with ``--escrow FILE`` and the escrow key (KELORA_ESCROW_KEY or
    KELORA_ESCROW_KEY_FILE); a script calling it without them does not compile.  Every call is
    counted (``reveals: N`` in the stats, and on stderr at the end of the run) so audits see it.
    Example: ``kelora -j --escrow audit.db -e 'e.original = reveal(e.t, "users")'``.

    Examples:
        reveal("lJLFJ4vhI8t22lS9ZsPWhF-s", "users")  =>  !error --escrow
    """
    escrow = ctx.escrow
    if escrow is None:
        raise FunctionError("reveal() needs --escrow FILE and the escrow key (KELORA_ESCROW_KEY)")
    if not isinstance(token, str) or not isinstance(domain, str):
        raise FunctionError("reveal(): token and domain must be strings",
                            missing_field=token is None or domain is None)
    # (the escrow holds domains as pseudonym() derived them: U+FFFD for unencodable text; a
    # token that is not UTF-8 text is no token of ours)
    return escrow.reveal(clean(str(token)), clean(str(domain)))


def _pseudonym_literal_domain(args: tuple):
    """``compile_literal`` hook: ``pseudonym(x, "users")`` binds its domain's pseudonymizer
    (and that one's token cache) once, instead of looking the domain up on every call."""
    domain = args[1] if len(args) == 2 else None
    if type(domain) is not str or not domain:
        return None  # a computed or invalid domain: the general function (and its errors)
    bound_keyring = fn = cached = None

    def pseudonym_in_domain(ctx, value, _domain):
        nonlocal bound_keyring, fn, cached
        keyring = ctx.keyring
        if keyring is None or keyring is not bound_keyring:
            if keyring is None:
                keyring = ensure_keyring(ctx)
            fn = keyring.pseudonymizer(domain)
            cached = getattr(fn, "cache", {}).get
            bound_keyring = keyring
        if type(value) is str:
            token = cached(value)
            return token if token is not None else fn(value)
        return fn(value_text("pseudonym", value))

    return pseudonym_in_domain


pseudonym.compile_literal = _pseudonym_literal_domain  # type: ignore[attr-defined]


def _xxh3_hex(data: bytes) -> str:
    return xxhash.xxh3_64_hexdigest(data)


def _blake3_hex(data: bytes) -> str:
    import blake3

    return blake3.blake3(data).hexdigest()


_HASHERS = {
    "sha256": lambda b: hashlib.sha256(b).hexdigest(),
    "sha512": lambda b: hashlib.sha512(b).hexdigest(),
    "sha1": lambda b: hashlib.sha1(b).hexdigest(),
    "md5": lambda b: hashlib.md5(b).hexdigest(),
    "blake3": _blake3_hex,
    "xxh3": _xxh3_hex,
    "xxh64": lambda b: xxhash.xxh64_hexdigest(b),
    "xxh128": lambda b: xxhash.xxh3_128_hexdigest(b),
}
_SUPPORTED = ", ".join(_HASHERS)


@builtin("privacy", name="hash", hides_value=True)
def hash_(value: str | int | float, algo: str = "sha256") -> str:
    """Hash a value (unkeyed) and return lowercase hex; sha256 unless *algo* names another.

    Algorithms (case-insensitive): sha256, sha512, sha1, md5, blake3, xxh3 (64-bit, 16 hex),
    xxh64 (16 hex), xxh128 (32 hex).  Numbers are hashed as their JSON text.  Unkeyed hashes of
    guessable values (e-mails, IPs) can be reversed by brute force: use pseudonym() for those.

    Examples:
        hash("hello")  =>  "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        hash("hello", "xxh3")  =>  "9555e8555c62dcfd"
        hash("test", "XXH3")  =>  "9ec9f7918d7dfc40"
        hash("hello", "md5")  =>  "5d41402abc4b2a76b9719d911017c592"
        hash(123, "sha1")  =>  "40bd001563085fc35165329ea1ff5c5ecbdbbeef"
    """
    hasher = _HASHERS.get(algo) or _HASHERS.get(algo.lower())
    if hasher is None:
        raise FunctionError(f"Unknown hash algorithm '{algo}'. Supported: {_SUPPORTED}")
    text = value if type(value) is str else value_text("hash", value)
    return hasher(text.encode("utf-8", "surrogatepass"))


_I64_WRAP = 1 << 64
_I64_HALF = 1 << 63


@builtin("privacy", hides_value=True)
def bucket(value: str | int | float) -> int:
    """XXH3-64 of the value as a signed 64-bit integer (may be negative): stable sharding.

    Use ``bucket(x) % n`` to split by value; like Rust, ``%`` keeps the sign of the left side.

    Examples:
        bucket("hello")  =>  -7685981735718036227
        bucket("alice")  =>  5593767425381308080
    """
    text = value if type(value) is str else value_text("bucket", value)
    h = xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))
    return h - _I64_WRAP if h >= _I64_HALF else h
