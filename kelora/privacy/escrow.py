"""``--escrow FILE``: an encrypted (domain, token) -> original value store, and ``reveal()``.

For legal escalations a pseudonymised export sometimes has to be traced back to a person.  The
mapping lives here, encrypted, never in the output:

* the AES-256 key is derived from ``KELORA_ESCROW_KEY[_FILE]`` (taken as given, >= 32 bytes) with
  HKDF-SHA256, info ``kelora:v1:escrow``; the escrow key must differ from the pseudonym secret,
  so that holding either alone does not reverse tokens;
* one row per (domain, token): AES-256-GCM of the original value with a random 96-bit nonce and
  the domain and token as associated data (a row moved to another token does not decrypt), and
  the first-seen time; rows are written once (``INSERT OR IGNORE``);
* a key-check row (a fixed text encrypted under the key) makes a wrong key fail at start
  (exit 2) instead of writing rows nobody can read; the file holds no key material otherwise
  and never an original value in clear;
* an existing file is checked before anything is written to it, on a connection that cannot
  write (``query_only``): a file that is not a kelora escrow (empty, another SQLite database,
  an escrow whose key check is gone) is refused (exit 2) rather than turned into one, and a
  reveal-only run never creates or changes a database.  A new file is built next to its name
  and linked into place, so a concurrent run never finds it half made;
* SQLite in WAL mode with batched transactions: an interrupted run leaves the rows of the
  committed batches, two runs writing the same file take turns (``busy_timeout``), and under
  ``--parallel`` workers encrypt their rows and hand them to the parent, the only writer.

``cryptography`` is imported only here, only when ``--escrow`` is used.
"""
from __future__ import annotations

import os
import sqlite3
import struct
import tempfile
import time
from urllib.parse import quote

from kelora.errors import FatalError
from kelora.escape import escape_line

INFO = b"kelora:v1:escrow"
FORMAT = "kelora-escrow-v1"
KEY_CHECK_TEXT = b"kelora escrow key check"
KEY_CHECK_AD = b"kelora:v1:escrow:key-check"
BATCH_ROWS = 1000  # rows per transaction
SEEN_LIMIT = 200_000  # (domain, token) pairs remembered as already escrowed, per process
BUSY_MS = 30_000  # how long a writer waits for another run's transaction
SQLITE_NOTADB = 26  # sqlite3 error code: the file is not a database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS escrow (domain TEXT NOT NULL, token TEXT NOT NULL, "
    "nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, first_seen TEXT NOT NULL, "
    "PRIMARY KEY (domain, token)) WITHOUT ROWID",
)


def _require_cryptography() -> None:
    """A clear refusal (exit 2) instead of an internal error when ``cryptography`` is missing
    (an environment installed before it became a dependency: rerun ``make install``)."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise FatalError("--escrow needs the 'cryptography' package, which is not installed "
                         "(reinstall kelora, e.g. make install)", exit_code=2) from None


def derive_key(escrow_key: bytes) -> bytes:
    _require_cryptography()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(escrow_key)


def associated_data(domain: str, token: str) -> bytes:
    d = domain.encode("utf-8", "surrogatepass")
    return INFO + struct.pack(">I", len(d)) + d + token.encode("ascii", "replace")


def _db_error(path: str, err: Exception) -> FatalError:
    return FatalError(f"escrow database '{escape_line(path)}': {err}", exit_code=2)


class Escrow:
    """One run's escrow: the write buffer, the reveal side, and (in the parent) the database."""

    def __init__(self, path: str, key: bytes, *, create: bool):
        _require_cryptography()
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.path = path
        self._aead = AESGCM(derive_key(key))
        del key
        self.pending: dict[tuple[str, str], tuple[str, float]] = {}  # plaintext, not yet encrypted
        self.ready: list[tuple] = []  # encrypted rows not yet stored (a worker's batch)
        self.seen: set[tuple[str, str]] = set()
        self.added = 0  # rows this run inserted
        self.reveals = 0
        self._pid = os.getpid()
        self.writable = create  # a run that calls pseudonym(); a reveal-only run never writes
        self._conn = self._open(create)
        self._reader: sqlite3.Connection | None = None  # a forked worker's own connection

    def __repr__(self) -> str:
        return f"<Escrow {self.path!r} key=hidden>"

    # ------------------------------------------------------------------ the database
    def _connect(self) -> sqlite3.Connection:
        """A connection to the existing file that never creates one (``mode=rw``), and writes
        nothing until ``PRAGMA query_only=0``: a reveal-only run and every worker stay readers."""
        uri = "file:" + quote(os.fsencode(os.path.abspath(self.path))) + "?mode=rw"
        conn = sqlite3.connect(uri, timeout=BUSY_MS / 1000, isolation_level=None, uri=True,
                               check_same_thread=False)
        conn.execute("PRAGMA query_only=1")
        conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        return conn

    def _open(self, create: bool) -> sqlite3.Connection:
        """The database, checked before anything is written to it: an existing file must be a
        kelora escrow (its tables, format and key check) opened by this key; only a missing
        file is created, and only by a run that calls pseudonym() (``create``)."""
        path, shown = self.path, escape_line(self.path)
        try:
            if not os.path.exists(path):
                if not create:
                    raise FatalError(f"escrow database '{shown}' does not exist (a run that only "
                                     "reveals never creates one)", exit_code=2)
                self._create()
            conn = self._connect()
        except sqlite3.DatabaseError as err:
            raise _db_error(path, err) from None
        except OSError as err:
            raise FatalError(f"escrow database '{shown}': {err.strerror or err}", exit_code=2) from None
        try:
            self._check(conn)
            if create:
                conn.execute("PRAGMA query_only=0")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException as err:
            conn.close()
            if isinstance(err, sqlite3.DatabaseError):
                raise _db_error(path, err) from None
            raise
        return conn

    def _check(self, conn: sqlite3.Connection) -> None:
        """Refuse (exit 2) a file that is not a kelora escrow, or not one of this key; reads only."""
        shown = escape_line(self.path)

        def refuse(why: str) -> FatalError:
            return FatalError(f"'{shown}' is not a kelora escrow database ({why})", exit_code=2,
                              hint="name the escrow file kelora created, or a new file (a run that "
                                   "calls pseudonym() creates it)")

        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as err:
            if getattr(err, "sqlite_errorcode", 0) & 0xFF == SQLITE_NOTADB:
                raise refuse("not a SQLite database") from None
            raise
        if not {"meta", "escrow"} <= tables:
            raise refuse("an empty file" if not tables and os.path.getsize(self.path) == 0
                         else "a database without kelora's tables")
        meta = dict(conn.execute("SELECT name, value FROM meta WHERE name IN ('format', 'key_check')"))
        if meta.get("format") != FORMAT:
            raise refuse(f"not the format {FORMAT}")
        if meta.get("key_check") is None:
            raise refuse("its key check is missing, so no key can be verified")
        from cryptography.exceptions import InvalidTag

        try:
            value = bytes(meta["key_check"])
            self._aead.decrypt(value[:12], value[12:], KEY_CHECK_AD)
        except (InvalidTag, TypeError, ValueError):
            raise FatalError(f"the escrow key does not open '{shown}' (wrong KELORA_ESCROW_KEY?)",
                             exit_code=2) from None

    def _create(self) -> None:
        """A new escrow, whole or not at all: built in a temporary file next to it (0600) and
        linked into place, so a run that starts at the same moment never sees a half-made file
        (it finds none, or this one; a link never replaces a file another run linked first)."""
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".kelora-escrow-", suffix=".db", dir=folder)
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")
                for stmt in SCHEMA:
                    conn.execute(stmt)
                nonce = os.urandom(12)
                check = nonce + self._aead.encrypt(nonce, KEY_CHECK_TEXT, KEY_CHECK_AD)
                conn.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
                conn.execute("INSERT INTO meta VALUES ('key_check', ?)", (check,))
                conn.execute("COMMIT")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()  # (the last connection: everything is in the file itself)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another run created it first: that one is used (and checked)
            except OSError:
                if os.path.exists(self.path):  # (a file system without hard links)
                    return
                os.replace(tmp, self.path)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.unlink(tmp + suffix)
                except OSError:
                    pass

    # ------------------------------------------------------------------ recording
    def wrap(self, domain: str, fn):
        """The domain's pseudonymizer, also escrowing each new (domain, token)."""
        seen, pending = self.seen, self.pending
        flush = self.flush

        def escrowing(value: str) -> str:
            token = fn(value)
            key = (domain, token)
            if key not in seen:
                if len(seen) >= SEEN_LIMIT:
                    seen.clear()  # only costs a redundant INSERT OR IGNORE later
                seen.add(key)
                pending[key] = (value, time.time())
                if len(pending) >= BATCH_ROWS:
                    flush()
            return token

        return escrowing

    def _encrypt_pending(self) -> None:
        if not self.pending:
            return
        enc = self._aead.encrypt
        fmt = time.strftime
        for (domain, token), (value, seen_at) in self.pending.items():
            nonce = os.urandom(12)
            data = value.encode("utf-8", "surrogatepass")
            stamp = fmt("%Y-%m-%dT%H:%M:%S", time.gmtime(seen_at)) + f".{int(seen_at % 1 * 1000):03d}Z"
            self.ready.append((domain, token, nonce, enc(nonce, data, associated_data(domain, token)), stamp))
        self.pending.clear()

    def flush(self) -> None:
        """Encrypt the pending rows; in the parent, store them in one transaction."""
        self._encrypt_pending()
        if os.getpid() == self._pid:
            self.store(self.ready)
            self.ready = []

    def store(self, rows: list) -> None:
        if not rows:
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                conn.executemany("INSERT OR IGNORE INTO escrow VALUES (?, ?, ?, ?, ?)", rows)
                self.added += conn.total_changes - before
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as err:
            raise FatalError(f"escrow database '{escape_line(self.path)}': {err}") from None

    # ------------------------------------------------------------------ --parallel
    def take(self) -> tuple[list, int] | None:
        """A worker's encrypted rows and reveal count since the last take."""
        self._encrypt_pending()
        rows, reveals = self.ready, self.reveals
        self.ready, self.reveals = [], 0
        return (rows, reveals) if rows or reveals else None

    def merge(self, part) -> None:
        if part:
            rows, reveals = part
            self.reveals += reveals
            self.store(rows)

    # ------------------------------------------------------------------ reveal
    def reveal(self, token: str, domain: str):
        """The original value of (domain, token), or None when the escrow does not hold it."""
        self.reveals += 1
        hit = self.pending.get((domain, token))
        if hit is not None:
            return hit[0]
        conn = self._conn if os.getpid() == self._pid else self._worker_reader()
        try:
            row = conn.execute("SELECT nonce, ciphertext FROM escrow WHERE domain = ? AND token = ?",
                               (domain, token)).fetchone()
        except sqlite3.DatabaseError as err:
            raise FatalError(f"escrow database '{escape_line(self.path)}': {err}") from None
        if row is None:
            for r in self.ready:  # encrypted in this worker, not stored yet
                if r[0] == domain and r[1] == token:
                    row = (r[2], r[3])
                    break
            else:
                return None
        from cryptography.exceptions import InvalidTag

        try:
            data = self._aead.decrypt(bytes(row[0]), bytes(row[1]), associated_data(domain, token))
        except InvalidTag:
            raise FatalError(f"escrow database '{escape_line(self.path)}': the row of a token in domain "
                             f"{domain!r} does not decrypt (tampered or moved)") from None
        return data.decode("utf-8", "surrogatepass")

    def _worker_reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = self._connect()
        return self._reader

    # ------------------------------------------------------------------ end
    def close(self, commit: bool = True) -> None:
        """Store what is pending (an interrupted run keeps every row it computed: each one is
        true whatever happened to the export) and close."""
        if os.getpid() != self._pid:
            return
        try:
            self.flush()
        finally:
            if self.writable:  # (a reveal-only run changes nothing, not even by a checkpoint)
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError:
                    pass  # another run holds it: its own close checkpoints
            self._conn.close()
