"""Pseudonym keys: where the secret comes from, how keys are derived, and the fast token path.

    master   = Argon2id(secret, salt=b"kelora:v1:master", t=3, m=64 MiB, p=1, 32 bytes)
    K_d      = HKDF-SHA256(ikm=master, salt=none, info=b"kelora:v1:" + utf8(d), L=32)
    token    = base64url(HMAC-SHA256(K_d, utf8(d) || utf8(v)))[:24]

(reference §7; golden vectors in tests/privacy/pseudonym_vectors.json.)

Cost model (measured on the benchmark machine, 100k events of shared/bench data, two domains):
a bare precomputed-state HMAC (shared/bench/ref/kpseudo.py) costs ~1.07 µs per value; this
module's pseudonymizer ~0.95 µs with the token cache and ~1.25 µs when nothing hits it, so the
cache pays off from a ~20% hit rate (log data repeats users, sessions and IPs far more).
Argon2id takes ~0.2 s and 64 MiB, so it runs once per process, lazily at the first
``pseudonym()`` call (``argon2`` is imported only then).  The HKDF per domain runs once per domain.
Per value, the HMAC is two SHA-256 compressions on states precomputed per domain: the inner
state already holds ``K_d ^ ipad`` *and* the domain prefix, the outer one ``K_d ^ opad``; a value
costs two ``copy()``/``update()``/``digest()`` rounds on CPython's builtin ``_sha256`` (its
``copy()`` is ~2.5x cheaper than OpenSSL's EVP copy for one-block messages).  On top, each
domain keeps a bounded dict of recent tokens: log fields repeat a lot (users, sessions, IPs).

Secret sources (COMPAT D10), first match wins:
``KELORA_SECRET`` > file named by ``KELORA_SECRET_FILE`` > config ``secret_file``; none -> a
random ephemeral key (``secrets.token_bytes``, D9) and a warning.

Secrecy.  The secret and the keys derived from it live only in closures and private slots of
``Keyring``; ``repr``/``str`` show the source, never bytes; error messages name files and
variables, never contents.  A keyring cannot be pickled with its keys: ``__reduce__`` sends only
the *source description* (e.g. "KELORA_SECRET"), and the receiving process derives the master key
itself from its own environment.  An ephemeral keyring cannot be rebuilt elsewhere (that would
give another key), so pickling one raises; a parallel pipeline should create it in the parent
before forking (``ensure_keyring(ctx)``), which fork-started workers inherit by memory, not a pipe.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import threading
from binascii import b2a_base64
from typing import Callable, Mapping

from kelora.errors import FatalError, FunctionError
from kelora.safetext import clean

SALT = b"kelora:v1:master"
INFO_PREFIX = b"kelora:v1:"
# Per-domain token cache: cleared wholesale when it passes this size (cheaper than an LRU and,
# for log data, nearly as effective: hot values are re-cached at once).
TOKEN_CACHE_LIMIT = 100_000
# Memory stays bounded whatever the number of domains a script computes (one per tenant, or a
# field of the data): a keyring keeps at most DOMAIN_LIMIT pseudonymizers (~1.6 KB each: two
# SHA-256 states, a closure, its cache) and drops the oldest past that -- tokens are
# deterministic, so a dropped domain only costs its HKDF (a few µs) and its cache when it comes
# back.  The token caches of all its domains together hold at most TOKEN_CACHE_TOTAL tokens
# (every one is cleared when they pass it): two benchmark domains at their full 100k never
# reach it, so their hit rate is as before.
DOMAIN_LIMIT = 1024
TOKEN_CACHE_TOTAL = 300_000

try:  # CPython's builtin SHA-256: cheaper copy() than OpenSSL's EVP for one-block messages
    from _sha256 import sha256 as _fast_sha256  # type: ignore[import-not-found]  # <= 3.11
except ImportError:  # pragma: no cover
    try:
        from _sha2 import sha256 as _fast_sha256  # type: ignore[import-not-found]  # 3.12+
    except ImportError:
        _fast_sha256 = hashlib.sha256

_B64_TR = bytes.maketrans(b"+/", b"-_")

# Source labels, as shown in the `pseudonym: ON (...)` status line.
SOURCE_ENV = "KELORA_SECRET"
SOURCE_ENV_FILE = "KELORA_SECRET_FILE"
SOURCE_CONFIG_FILE = "secret_file"
SOURCE_EPHEMERAL = "ephemeral"


# --------------------------------------------------------------------------- derivation

def derive_master(secret: bytes) -> bytes:
    """Argon2id master key (reference §7 step 1).  ~0.2 s, 64 MiB: call once per process."""
    try:
        from argon2.low_level import Type, hash_secret_raw
    except ImportError as err:  # pragma: no cover - argon2-cffi is a dependency
        raise FatalError(f"pseudonym init failed: argon2-cffi is not installed ({err.name})") from None
    try:
        return hash_secret_raw(
            secret, SALT, time_cost=3, memory_cost=65536, parallelism=1, hash_len=32,
            type=Type.ID, version=19,
        )
    except Exception as err:  # argon2 errors never contain the password
        raise FatalError(f"pseudonym init failed: {type(err).__name__}") from None


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with no salt (= HashLen zero bytes)."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def domain_key(master: bytes, domain: str) -> bytes:
    """HKDF-SHA256 domain key (reference §7 step 2)."""
    return hkdf_sha256(master, INFO_PREFIX + domain.encode("utf-8"), 32)


def _make_pseudonymizer(master: bytes, domain: str, cache_limit: int,
                        budget: list[int] | None = None,
                        overflow: Callable[[], None] | None = None) -> Callable[[str], str]:
    """A function value -> 24-char token for one domain, with a bounded token cache.

    *budget* (a one-item list shared by a keyring's domains) counts the tokens all their caches
    may still take; each new cache entry takes one (a cleared cache gives its back), and at zero
    *overflow* clears the caches and refills it.  Only a cache miss pays for this."""
    if budget is None:
        budget = [1 << 62]
    key = domain_key(master, domain).ljust(64, b"\x00")  # 32-byte key < SHA-256 block
    inner = _fast_sha256(bytes(b ^ 0x36 for b in key))
    inner.update(domain.encode("utf-8"))  # the domain prefix of every message: absorb it once
    outer = _fast_sha256(bytes(b ^ 0x5C for b in key))
    del key
    icopy, ocopy = inner.copy, outer.copy
    b64, tr = b2a_base64, _B64_TR
    cache: dict[str, str] = {}
    cache_get = cache.get

    def pseudonymize(value: str) -> str:
        token = cache_get(value)
        if token is not None:
            return token
        try:
            data = value.encode()
        except UnicodeEncodeError:  # lone surrogates: hash their bytes rather than fail
            data = value.encode("utf-8", "surrogatepass")
        i = icopy()
        i.update(data)
        o = ocopy()
        o.update(i.digest())
        # 24 base64url chars == the first 18 MAC bytes (which encode without padding)
        token = b64(o.digest()[:18], newline=False).translate(tr).decode("ascii")
        if len(cache) >= cache_limit:
            budget[0] += len(cache)
            cache.clear()
        budget[0] -= 1
        if budget[0] < 0 and overflow is not None:
            overflow()
        cache[value] = token
        return token

    pseudonymize.cache = cache  # type: ignore[attr-defined]  # values -> tokens (tests, stats)
    return pseudonymize


def reference_token(master: bytes, value: str, domain: str) -> str:
    """The plain, obviously-correct token computation (tests compare the fast path with it)."""
    mac = hmac.new(domain_key(master, domain), (domain + value).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=")[:24].decode("ascii")


# --------------------------------------------------------------------------- keyring

class Keyring:
    """Keys of one process: the master key (private) and one pseudonymizer per domain.

    ``pseudonymizer(domain)`` returns the per-domain function (the interpreter may bind it once
    for a literal domain); ``token(value, domain)`` is the general entry point.  At most
    ``domain_limit`` pseudonymizers are kept, in ``by_domain`` (oldest first): a lookup there is
    the hot path of a computed domain, so a hit does not reorder it, and the domain created
    longest ago goes first -- a hot domain dropped that way is made again at its next call (its
    tokens are the same).  A caller that bound a dropped function (a literal domain, the T3
    loop) keeps using it: it still gives the right tokens.
    """

    __slots__ = ("_master", "source", "config_path", "stable", "by_domain", "_cache_limit", "wrappers",
                 "_caches", "_domain_limit", "_cache_total", "_budget", "__weakref__")

    def __init__(
        self, master: bytes, source: str, *, config_path: str | None = None,
        cache_limit: int = TOKEN_CACHE_LIMIT, domain_limit: int | None = None,
        cache_total: int | None = None,
    ):
        self._master = master
        self.source = source  # SOURCE_* label: safe to show
        self.config_path = config_path  # config `secret_file` path (a path, not a secret)
        self.stable = source != SOURCE_EPHEMERAL
        self.by_domain: dict[str, Callable[[str], str]] = {}
        self._caches: dict[str, dict] = {}  # domain -> its token cache (inside any wrapper)
        self._cache_limit = cache_limit
        self._domain_limit = DOMAIN_LIMIT if domain_limit is None else domain_limit
        self._cache_total = TOKEN_CACHE_TOTAL if cache_total is None else cache_total
        self._budget = [self._cache_total]  # tokens the caches may still take (all domains)
        # ``(domain, fn) -> fn`` hooks of the privacy lifecycle (rotation map, escrow, the PII
        # gate's own-token list; kelora.privacy.lifecycle): each wraps a domain's pseudonymizer
        # once, so runs without them keep the bare function (and its token cache fast path).
        self.wrappers: tuple = ()

    def pseudonymizer(self, domain: str) -> Callable[[str], str]:
        fn = self.by_domain.get(domain)
        if fn is None:
            if domain == "":
                raise FunctionError("pseudonym: domain must be non-empty")
            # a domain is a label the script chose: text UTF-8 cannot hold is U+FFFD in it, as
            # wherever text leaves kelora (the HKDF info, the rotation map, the escrow rows)
            name = clean(domain)
            fn = _make_pseudonymizer(self._master, name, self._cache_limit, self._budget,
                                     self._clear_caches)
            cache = getattr(fn, "cache", {})
            for wrap in self.wrappers:
                fn = wrap(name, fn)
            by_domain = self.by_domain
            while len(by_domain) >= self._domain_limit:
                self._drop(next(iter(by_domain)))
            by_domain[domain] = fn
            self._caches[domain] = cache
        return fn

    def _drop(self, domain: str) -> None:
        """Forget the oldest domain's pseudonymizer; its cache's tokens go back to the budget."""
        del self.by_domain[domain]
        cache = self._caches.pop(domain)
        self._budget[0] += len(cache)
        cache.clear()  # (a caller still bound to it refills it, within the per-domain limit)

    def _clear_caches(self) -> None:
        """The caches together reached ``cache_total``: start them all afresh."""
        for cache in self._caches.values():
            cache.clear()
        self._budget[0] = self._cache_total

    def forget_domains(self) -> None:
        """Drop every pseudonymizer (the lifecycle wraps them anew: ``Lifecycle.start``)."""
        for domain in list(self.by_domain):
            self._drop(domain)
        self._budget[0] = self._cache_total

    def token(self, value: str, domain: str) -> str:
        fn = self.by_domain.get(domain)
        if fn is None:
            fn = self.pseudonymizer(domain)
        return fn(value)

    def fingerprint(self) -> str:
        """An HMAC of a fixed label under the master key: two processes with equal fingerprints
        derived the same key (the Dask engine checks its workers with it).  It reveals nothing
        of the key and is never printed."""
        return hmac.new(self._master, b"kelora:v1:key-check", hashlib.sha256).hexdigest()

    def status_text(self) -> str:
        if not self.stable:
            return "pseudonym: ON (ephemeral; not stable)"
        return f"pseudonym: ON (stable; {self.source})"

    # Never show key material.
    def __repr__(self) -> str:
        return f"<Keyring source={self.source} domains={len(self.by_domain)} keys=hidden>"

    __str__ = __repr__

    def __reduce__(self):
        if not self.stable:
            raise TypeError(
                "an ephemeral pseudonym keyring cannot be sent to another process; "
                "create it before forking workers, or set KELORA_SECRET"
            )
        # Only the source description travels; the receiver re-derives from its environment.
        return (_rebuild_keyring, (self.source, self.config_path))


def _rebuild_keyring(source: str, config_path: str | None) -> "Keyring":
    """Unpickling hook: derive the keyring again from this process's environment."""
    from kelora.context import RunContext

    keyring = load_keyring(RunContext(secret_file=config_path))
    if keyring.source != source:
        raise FatalError(
            f"pseudonym secret source differs in a worker ({keyring.source} instead of {source})"
        )
    return keyring


# --------------------------------------------------------------------------- secret loading

def read_secret_file(path: str, origin: str) -> bytes:
    """Secret bytes of a file; refuses group/other-accessible files (like ssh)."""
    shown = path
    path = os.path.expanduser(path)
    try:
        # a FIFO would block the open (and the read) until a writer comes: check the type
        # first, and open without blocking (the fstat below checks the file actually opened)
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise FatalError(f"secret file '{shown}' ({origin}) is not a regular file", exit_code=2)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise FatalError(
            f"cannot read secret file '{shown}' ({origin}): {err.strerror or type(err).__name__}",
            exit_code=2,
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FatalError(f"secret file '{shown}' ({origin}) is not a regular file", exit_code=2)
        if st.st_mode & 0o077:
            raise FatalError(
                f"secret file '{shown}' ({origin}) is accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); refusing to use it",
                hint=f"restrict it to its owner: chmod 600 {shown}",
                exit_code=2,
            )
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as err:
        raise FatalError(
            f"cannot read secret file '{shown}' ({origin}): {err.strerror or type(err).__name__}",
            exit_code=2,
        ) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise FatalError(f"secret file '{shown}' ({origin}) is empty", exit_code=1)
    return data


# --------------------------------------------------------------------------- isolation (D16)
# (in kelora/secretenv.py: the command holds the variables back before it imports anything heavy)
from kelora.secretenv import held_secrets, is_secret_variable, take_process_secrets  # noqa: E402,F401


def secret_env_of(ctx) -> Mapping[str, str]:
    """Where ``ctx`` finds the secret variables: its private ``secret_env``, else the variables
    this process held back plus any secret names still in ``ctx.env`` (library use)."""
    secret_env = getattr(ctx, "secret_env", None)
    if secret_env is not None:
        return secret_env
    env = getattr(ctx, "env", None) or {}
    return {**held_secrets(), **{k: v for k, v in env.items() if is_secret_variable(k)}}


SHORT_SECRET = 16  # bytes; Kelora accepts shorter secrets, kelora warns (COMPAT D16)


def resolve_secret(ctx) -> tuple[bytes | None, str]:
    """``(secret bytes or None for ephemeral, source label)``; raises FatalError on bad sources."""
    env = secret_env_of(ctx)
    secret = env.get("KELORA_SECRET")
    if secret is not None:
        if secret == "":
            raise FatalError("KELORA_SECRET must not be empty", exit_code=1)
        return secret.encode("utf-8", "surrogateescape"), SOURCE_ENV
    path = env.get("KELORA_SECRET_FILE")
    if path is not None:
        if path == "":
            raise FatalError("KELORA_SECRET_FILE is set but empty; name a secret file", exit_code=2)
        return read_secret_file(path, "KELORA_SECRET_FILE"), SOURCE_ENV_FILE
    path = getattr(ctx, "secret_file", None)
    if path:
        return read_secret_file(path, "config secret_file"), SOURCE_CONFIG_FILE
    return None, SOURCE_EPHEMERAL


# Argon2 results per secret within this process (tests and repeated runs in one process derive
# the same master key many times).  Keyed by a SHA-256 of the secret, never the secret itself.
_MASTER_CACHE: dict[bytes, bytes] = {}
_PENDING: dict[bytes, threading.Thread] = {}  # derivations started by prefetch(), same keys


def _fingerprint(secret: bytes) -> bytes:
    return hashlib.sha256(b"kelora-master-cache:" + secret).digest()


def master_for(secret: bytes) -> bytes:
    """The master key of *secret* (Argon2id, once per process: cached, or joined from prefetch())."""
    fp = _fingerprint(secret)
    pending = _PENDING.pop(fp, None)
    if pending is not None:
        pending.join()
    master = _MASTER_CACHE.get(fp)
    if master is None:
        master = _MASTER_CACHE[fp] = derive_master(secret)
    return master


def prefetch(ctx) -> None:
    """Start deriving the master key in a thread while the scripts compile.

    Argon2id takes ~0.2 s and argon2-cffi releases the GIL, so the derivation overlaps with
    importing and compiling (~0.1 s for a pseudonym script).  Nothing is reported here: a bad
    secret source raises later, from ``load_keyring``, exactly as without the prefetch, and a
    failed derivation is simply done again there."""
    try:
        secret, _ = resolve_secret(ctx)
    except FatalError:
        return
    if secret is None:
        return
    fp = _fingerprint(secret)
    if fp in _MASTER_CACHE or fp in _PENDING:
        return

    def derive() -> None:
        try:
            _MASTER_CACHE[fp] = derive_master(secret)
        except FatalError:
            pass

    thread = _PENDING[fp] = threading.Thread(target=derive, name="kelora-keyring", daemon=True)
    thread.start()


def finish_prefetch() -> None:
    """Wait for prefetch threads (``--parallel`` forks only a quiet process)."""
    while _PENDING:
        _PENDING.popitem()[1].join()


def load_keyring(ctx) -> Keyring:
    """Build a keyring from ``ctx`` (env, secret_file) and report it through ``pseudonym_notice``."""
    secret, source = resolve_secret(ctx)
    if secret is None:
        keyring = Keyring(secrets.token_bytes(32), SOURCE_EPHEMERAL)
        ctx.pseudonym_notice(
            "warning", "KELORA_SECRET not set; using ephemeral key, pseudonyms won't be stable across runs"
        )
    else:
        short = len(secret) < SHORT_SECRET
        keyring = Keyring(
            master_for(secret), source,
            config_path=getattr(ctx, "secret_file", None) if source == SOURCE_CONFIG_FILE else None,
        )
        del secret
        if short:
            ctx.pseudonym_notice(
                "warning", f"the pseudonym secret ({source}) is shorter than {SHORT_SECRET} bytes and "
                "could be guessed; use at least 16 random bytes (e.g. openssl rand -base64 32)")
    keyring.wrappers = tuple(getattr(ctx, "pseudonym_wrappers", ()))
    ctx.pseudonym_notice("status", keyring.status_text())
    return keyring


def environment_fingerprint(secret_file: str | None, secret_env: Mapping[str, str]) -> str | None:
    """``Keyring.fingerprint()`` of the key this process would derive from *secret_env* (its
    secret variables) and the config's *secret_file*; None when it has no secret (ephemeral).
    Raises FatalError for a bad secret source, as a run would."""
    from kelora.context import RunContext

    secret, _ = resolve_secret(RunContext(secret_file=secret_file, secret_env=secret_env))
    if secret is None:
        return None
    return Keyring(master_for(secret), SOURCE_ENV).fingerprint()


def ensure_keyring(ctx) -> Keyring:
    """``ctx.keyring``, created on first use."""
    keyring = ctx.keyring
    if keyring is None:
        keyring = ctx.keyring = load_keyring(ctx)
    return keyring
