"""``--rotation-map``: the (domain, old token, new token) rows of a secret rotation.

Every ``pseudonym()`` call of the run also computes the token under the previous secret
(``KELORA_SECRET_PREVIOUS``); the distinct pairs are collected per domain and written at the end,
sorted by domain then old token, so downstream re-keys history with a join on (domain, old)
and never sees an original value (the map holds tokens only).

State is mergeable: a worker process (``--parallel``) hands back the pairs of each batch
(``take``) and the parent adds them (``merge``); a set union is exact whatever the batch
boundaries, so the map equals a sequential run's.  Memory stays bounded: the rows of every
domain share one set, and past ``spill_rows`` rows in it (all domains together: a script with a
domain per tenant must not keep ``spill_rows`` per tenant) they move to a temporary SQLite file
next to the map (tokens only); the end of the run reads them back sorted from there.  The
previous secret's keyring keeps a bounded number of domains, like the current one
(``keyring.DOMAIN_LIMIT``).

A collision (one old token -> two new ones, or two old -> one new) means the map cannot be used
for a join; it is reported by name and the run exits 1 without writing the map.
"""
from __future__ import annotations

import csv
import io
import os
import sqlite3
import tempfile
from typing import Callable, Iterable, Iterator


SPILL_ROWS = 200_000  # rows (all domains) held in memory before they move to the temporary SQLite file
SUMMARY_DOMAINS = 20  # domains named one by one in the end-of-run summary


class RotationMap:
    def __init__(self, previous_keyring, path: str, *, spill_rows: int | None = None):
        self.prev = previous_keyring
        self.path = path
        self.spill_rows = SPILL_ROWS if spill_rows is None else spill_rows
        self.rows: set[tuple[str, str, str]] = set()  # {(domain, old, new)}, every domain
        self._db: sqlite3.Connection | None = None
        self._db_path: str | None = None
        self._pid = os.getpid()
        self.mappings = self.domains = 0  # totals of the last check()

    # ------------------------------------------------------------------ per call
    def wrap(self, domain: str, fn: Callable[[str], str]) -> Callable[[str], str]:
        """The domain's pseudonymizer, also recording (previous token, current token)."""
        prev = self.prev.pseudonymizer(domain)
        rows = self.rows
        add = rows.add
        limit = self.spill_rows
        spill = self._spill

        def rotating(value: str) -> str:
            new = fn(value)
            add((domain, prev(value), new))
            if len(rows) >= limit:
                spill()
            return new

        return rotating

    # ------------------------------------------------------------------ merging (--parallel)
    def take(self) -> dict[str, list[tuple[str, str]]] | None:
        """A worker's pairs since the last take, per domain (the set is emptied in place: the
        wrappers keep adding to it)."""
        out: dict[str, list[tuple[str, str]]] = {}
        for domain, old, new in self.rows:
            out.setdefault(domain, []).append((old, new))
        self.rows.clear()
        return out or None

    def merge(self, part: dict[str, list[tuple[str, str]]] | None) -> None:
        if not part:
            return
        rows = self.rows
        for domain, pairs in part.items():
            rows.update((domain, old, new) for old, new in pairs)
            if len(rows) >= self.spill_rows:
                self._spill()

    # ------------------------------------------------------------------ spilling
    def _spill(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked worker: its pairs go back to the parent with each batch
        db = self._db
        if db is None:
            folder = os.path.dirname(os.path.abspath(self.path))
            try:
                fd, self._db_path = tempfile.mkstemp(prefix=".kelora-rotation-", suffix=".db", dir=folder)
            except OSError:
                fd, self._db_path = tempfile.mkstemp(prefix=".kelora-rotation-", suffix=".db")
            os.close(fd)
            db = self._db = sqlite3.connect(self._db_path, isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS rows (domain TEXT, old TEXT, new TEXT, "
                       "PRIMARY KEY (domain, old, new)) WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO rows VALUES (?, ?, ?)", self.rows)
        self.rows.clear()
        db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._db_path is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                try:
                    os.unlink(self._db_path + suffix)
                except OSError:
                    pass
            self._db_path = None

    # ------------------------------------------------------------------ the end of the run
    def sorted_rows(self) -> Iterator[tuple[str, str, str]]:
        """All distinct rows, sorted by domain, old token, new token."""
        if self._db is not None:
            self._spill()
            yield from self._db.execute("SELECT domain, old, new FROM rows ORDER BY domain, old, new")
            return
        yield from sorted(self.rows)

    def check(self) -> tuple[dict[str, int], list[str]]:
        """``(mappings per domain, collision messages)`` over every row.  Only the first
        ``SUMMARY_DOMAINS`` domains (by name) are counted one by one; ``mappings`` and
        ``domains`` hold the totals (a domain per tenant must not make the summary unbounded)."""
        counts: dict[str, int] = {}
        collisions: list[str] = []
        last: tuple[str, str, str] | None = None
        news: dict[str, str] = {}  # new -> old, of the current domain (in-memory case)
        self.mappings = self.domains = 0
        for domain, old, new in self.sorted_rows():
            self.mappings += 1
            if last is None or last[0] != domain:
                self.domains += 1
            if domain in counts or len(counts) < SUMMARY_DOMAINS:
                counts[domain] = counts.get(domain, 0) + 1
            if last is not None and last[0] == domain and last[1] == old:
                collisions.append(f"in domain {domain!r}, old token {old} maps to two new tokens "
                                  f"({last[2]}, {new})")
            if self._db is None:
                if last is None or last[0] != domain:
                    news = {}
                other = news.setdefault(new, old)
                if other != old:
                    collisions.append(f"in domain {domain!r}, old tokens {other} and {old} map to "
                                      f"the same new token {new}")
            last = (domain, old, new)
        if self._db is not None:
            for domain, new, olds in self._db.execute(
                    "SELECT domain, new, group_concat(old, ', ') FROM rows GROUP BY domain, new "
                    "HAVING COUNT(*) > 1 ORDER BY domain, new"):
                collisions.append(f"in domain {domain!r}, old tokens {olds} map to the same new "
                                  f"token {new}")
        return counts, collisions

    def write(self) -> None:
        """Write the map atomically (a temporary file next to it, renamed into place)."""
        from kelora.atomicfile import write_atomic

        jsonl = self.path.endswith(".jsonl")
        rows = self.sorted_rows()
        write_atomic(self.path, lambda fh: _write_rows(fh, rows, jsonl), newline="")


def _write_rows(fh: io.TextIOBase, rows: Iterable[tuple[str, str, str]], jsonl: bool) -> None:
    if jsonl:
        import orjson

        for domain, old, new in rows:
            fh.write(orjson.dumps({"domain": domain, "old": old, "new": new}).decode() + "\n")
        return
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(("domain", "old", "new"))
    writer.writerows(rows)
