"""Context lines ``-A/-B/-C``: events around the events kept by the filters, as grep does.

Which stages decide: the ``--filter`` stages when there is one, else ``-l/-L`` (then only the
matching events are printed, marked, as Kelora does); with only ``--since/--until`` nothing is
marked.  An event a deciding stage drops is *held* instead of counted as filtered: it is
printed as before-context (``/ ``) when a match follows within ``-B`` events, as after-context
(``\\ ``) when it is within ``-A`` events after a match, as both (``| ``) when it is both, and
dropped (counted as filtered) otherwise.  Each event is printed once, in input order; matches
get ``* `` (``◉ `` with emoji).  Markers appear in the default format only (not json, csv,
logfmt...).  Context events count as output (and towards ``--take``), as in Kelora.  An
after-context event is held back while it may still become before-context of a later match
(at most ``-B`` events), so that it can be marked ``| ``.

Runs without ``-A/-B/-C`` never build this object; the pipeline's fast read loops are not
taken when it exists.
"""
from __future__ import annotations

from collections import deque

MATCH, BEFORE, AFTER, BOTH = "*", "/", "\\", "|"


class ContextLines:
    def __init__(self, before: int, after: int, emit, stats, emoji: bool = False, markers: bool = True):
        self.before = before
        self.after = after
        self.emit = emit  # OutputSink.emit(event, meta, prefix)
        self.stats = stats
        self.after_left = 0
        self.held: deque = deque()  # (event, meta, is_after) not printed yet
        self.marks = ({MATCH: ("◉ " if emoji else "* ").encode(), BEFORE: b"/ ", AFTER: b"\\ ", BOTH: b"| "}
                      if markers else dict.fromkeys((MATCH, BEFORE, AFTER, BOTH), b""))

    def hit(self, event, meta) -> None:
        """An event that passed every stage."""
        marks = self.marks
        held = self.held
        while held:
            ev, mt, is_after = held.popleft()
            self.emit(ev, mt, marks[BOTH if is_after else BEFORE])
        self.emit(event, meta, marks[MATCH])
        self.after_left = self.after

    def miss(self, event, meta) -> None:
        """An event a deciding stage dropped."""
        is_after = self.after_left > 0
        if is_after:
            self.after_left -= 1
        held = self.held
        held.append((event, meta, is_after))
        while len(held) > self.before:
            self._release(held.popleft())

    def finish(self) -> None:
        held = self.held
        while held:
            self._release(held.popleft())

    def _release(self, item) -> None:
        event, meta, is_after = item
        if is_after:
            self.emit(event, meta, self.marks[AFTER])
        else:
            self.stats.events_filtered += 1


class MarkMatches:
    """``-l/-L`` with ``-A/-B/-C`` and no ``--filter``: matches marked, no neighbours."""

    def __init__(self, emit, emoji: bool = False, markers: bool = True):
        self.emit = emit
        self.mark = ("◉ " if emoji else "* ").encode() if markers else b""

    def hit(self, event, meta) -> None:
        self.emit(event, meta, self.mark)

    def finish(self) -> None:
        pass
