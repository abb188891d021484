"""The input observations of ``--stats``/``--with-stats`` for a chunk of events at a time.

``Stats.observe_input`` and ``observe_time(*EventTime.of(event))`` cost more per event than a
whole filter run (a timestamp is parsed into a ``datetime`` for every event, and most are
distinct).  The JSON fast loops instead hand over the events they parsed in chunks, before any
stage has run, and :class:`ChunkObserver` records the same facts with C-level operations over
the chunk: the union of the keys, the distinct values of the first level key, and for the
common timestamp layout ``YYYY-MM-DDTHH:MM:SS.mmmZ`` one check of the whole chunk, after which
only the earliest and latest texts (which sort as the times do) are parsed.  Anything else
(mixed timestamp keys, other layouts, non-text levels) takes the per-event methods for that
chunk, so the counts, sets, spans and the first-seen order of the timestamp fields are exactly
those of the per-event observations (tests/test_stats_fast.py holds them equal).
"""
from __future__ import annotations

from itertools import repeat
from operator import itemgetter

from kelora.formats.fields import LEVEL_KEYS
from kelora.timestamps import TS_KEYS

# The layout: every text 24 characters, all of them together with their ASCII digits turned
# into "0" equal to the pattern repeated (one C-level check of the chunk); the second's tens
# digit 0-5; the date, hour and minute (the first 16 characters) checked once per distinct
# minute with the real parser (which rejects 30 February or hour 24).
_PATTERN = b"0000-00-00T00:00:00.000Z"
_ZEROS = bytes.maketrans(b"0123456789", b"0000000000")
_MINUTE = itemgetter(slice(0, 16))
_SECOND_TENS = itemgetter(17)
_TENS = frozenset("012345")
_LEVEL = LEVEL_KEYS[0]


class ChunkObserver:
    """``observe(chunk)``: the input observations of a list of events as parsed (not yet
    changed by any stage), as ``Stats.observe_input`` and ``observe_time`` would make them
    one by one, in order; with *output*, those of events as written (``Stats.observe_output``
    without -k/-K/-c: keys, levels and the output time span)."""

    def __init__(self, stats, event_time, output: bool = False):
        self.stats = stats
        self.output = output
        self.keys_into = stats.keys_output if output else stats.keys_seen
        self.levels_into = stats.levels_output if output else stats.levels_seen
        self.of = event_time.of
        self.parse = event_time.parser.parse
        # the shortcut only for the default search (no --ts-field, no --ts-format)
        self.fast_ts = event_time.keys is TS_KEYS and getattr(event_time.parser, "_custom", None) is None
        self.ts_keys = frozenset(event_time.keys)
        self.minutes: dict[str, bool] = {}  # "YYYY-MM-DDTHH:MM" -> the real parser accepts it

    def __call__(self, chunk: list) -> None:
        if not chunk:
            return
        stats = self.stats
        keys = set().union(*chunk)
        self.keys_into |= keys
        self._levels(chunk)
        present = keys & self.ts_keys
        if not present:
            if not self.output:
                stats.ts_missing += len(chunk)
            return
        if not (self.fast_ts and len(present) == 1 and self._times(chunk, next(iter(present)))):
            of = self.of
            if self.output:
                span = stats.span_out
                for event in chunk:
                    ts = of(event)[1]
                    if ts is not None:
                        _widen(span, ts)
                return
            observe_time = stats.observe_time
            for event in chunk:
                observe_time(*of(event))

    def _levels(self, chunk: list) -> None:
        seen = self.levels_into
        values = list(map(dict.get, chunk, repeat(_LEVEL)))
        try:
            distinct = set(values)
        except TypeError:  # a map or array as the level: one by one
            distinct = None
        if distinct is not None and all(type(v) is str for v in distinct):
            seen |= distinct
            return
        from kelora.report.stats import level_of

        for event, value in zip(chunk, values):
            if type(value) is str:
                seen.add(value)
            else:
                level = level_of(event)
                if level is not None:
                    seen.add(level)

    def _times(self, chunk: list, key: str) -> bool:
        """The chunk's timestamps when every event has *key* as text in the common layout and
        no other timestamp key is present; False (nothing recorded) otherwise."""
        values = list(map(dict.get, chunk, repeat(key)))
        try:
            joined = "".join(values).encode()
        except (TypeError, UnicodeEncodeError):  # not all texts (or lone surrogates)
            return False
        if (joined.translate(_ZEROS) != _PATTERN * len(values) or set(map(len, values)) != {24}
                or not _TENS.issuperset(map(_SECOND_TENS, values))):
            return False
        minutes = self.minutes
        parse = self.parse
        for minute in set(map(_MINUTE, values)):
            ok = minutes.get(minute)
            if ok is None:
                dt, flags = parse(minute + ":00.000Z")
                ok = minutes[minute] = dt is not None and not flags
            if not ok:
                return False
        stats = self.stats
        if self.output:
            span = stats.span_out
        else:
            n = len(values)
            stats.ts_fields[key] = stats.ts_fields.get(key, 0) + n
            stats.ts_parsed += n
            span = stats.span_in
        for text in (min(values), max(values)):  # (same layout: text order is time order)
            _widen(span, parse(text)[0])
        return True


def _widen(span: list, ts) -> None:
    if span[0] is None or ts < span[0]:
        span[0] = ts
    if span[1] is None or ts > span[1]:
        span[1] = ts
