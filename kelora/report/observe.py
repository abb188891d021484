"""The input observations of ``--stats``/``--with-stats`` for a chunk of events at a time.

``Stats.observe_input`` and ``observe_time(*EventTime.of(event))`` cost more per event than a
whole filter run (a timestamp is parsed into a ``datetime`` for every event, and most are
distinct).  The JSON fast loops instead hand over the events they parsed in chunks, before any
stage has run, and :class:`ChunkObserver` records the same facts with C-level operations over
the chunk: the union of the keys, the distinct values of the first level key, and for the
common timestamp layout ``YYYY-MM-DDTHH:MM:SS.mmmZ`` a few byte-level checks of the whole chunk,
after which only the earliest and latest texts (which sort as the times do) are kept; they are
parsed once, when the observer is closed (:meth:`ChunkObserver.close`, at the end of each read
loop).  Anything else (mixed timestamp keys, other layouts, non-text levels) takes the
per-event methods for that chunk, so the counts, sets, spans and the first-seen order of the
timestamp fields are exactly those of the per-event observations (tests/test_stats_fast.py
holds them equal).
"""
from __future__ import annotations

from operator import itemgetter

from kelora.formats.fields import LEVEL_KEYS
from kelora.report.stats import level_of
from kelora.timestamps import TS_KEYS

# The layout.  The texts of a chunk joined with "|" (a character the layout has not) and their
# ASCII digits turned into "0" must equal the layout repeated with "|" between: so every text is
# exactly one layout (a text holding "|" would add a separator the pattern has not).  The tens of
# the second (every 25th byte from the 17th) must be 0-5.  The date, hour and minute (the first
# 16 characters) are checked with the real parser once per distinct minute (it rejects
# 30 February or hour 24): when the earliest and latest texts of a chunk share them, every text
# between does.
_LAYOUT = b"0000-00-00T00:00:00.000Z"
_ZEROS = bytes.maketrans(b"0123456789", b"0000000000")
_MINUTE = itemgetter(slice(0, 16))
_LEVEL = itemgetter(LEVEL_KEYS[0])


class ChunkObserver:
    """``observe(chunk)``: the input observations of a list of events as parsed (not yet
    changed by any stage), as ``Stats.observe_input`` and ``observe_time`` would make them
    one by one, in order; with *output*, those of events as written (``Stats.observe_output``
    without -k/-K/-c: keys, levels and the output time span).  :meth:`close` completes the
    time span (call it once the events are observed; observing more afterwards is fine)."""

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
        self.pattern = b"|".join([_LAYOUT] * 64)
        self.nkeys = -1  # the size of keys_into when present was found
        self.present: set = set()  # the timestamp keys among keys_into
        self.key, self.get_key = None, None  # the timestamp key of the last chunk, its getter
        self.lo = self.hi = None  # the earliest and latest text of the layout, not yet in the span

    def __call__(self, chunk: list) -> None:
        if not chunk:
            return
        stats = self.stats
        keys = self.keys_into
        keys.update(*chunk)
        if len(keys) != self.nkeys:  # (a key never seen before: which timestamp keys are there)
            self.nkeys = len(keys)
            self.present = keys & self.ts_keys
        self._levels(chunk)
        present = self.present
        if not present:  # (none in any event so far)
            if not self.output:
                stats.ts_missing += len(chunk)
            return
        if len(present) > 1:  # several so far: this chunk's own
            present = set().union(*chunk) & self.ts_keys
            if not present:
                if not self.output:
                    stats.ts_missing += len(chunk)
                return
        # (one key seen so far: an event without it gives no values, as one with a non-text
        # value makes _times say False; both take the per-event path)
        key = next(iter(present))
        if not (self.fast_ts and len(present) == 1 and (values := self._values(chunk, key)) is not None
                and self._times(values, key)):
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
        try:  # (itemgetter over the chunk is about half the cost of dict.get through map)
            distinct = set(map(_LEVEL, chunk))
        except (KeyError, TypeError):  # an event without the key, or a map or array as the level
            distinct = None
        if distinct is not None:
            if distinct <= seen:  # (texts only: seen holds nothing else)
                return
            if all(type(v) is str for v in distinct):
                seen |= distinct
                return
        for event in chunk:  # (the first level key holding a text, as Stats.observe_input takes it)
            level = level_of(event)
            if level is not None:
                seen.add(level)

    def _values(self, chunk: list, key: str) -> list | None:
        """The values of *key* in the events of *chunk*; None when an event lacks it."""
        try:
            return list(map(self.get_key if key == self.key else self._key(key), chunk))
        except KeyError:  # (not the common layout in every event: the per-event path)
            return None

    def _times(self, values, key: str) -> bool:
        """Record the timestamps *values* of *key* (one per event, the events' only timestamp
        key) when every one is a text in the common layout; False (nothing recorded) otherwise."""
        try:
            joined = "|".join(values).encode()
        except (TypeError, UnicodeEncodeError):  # not all texts (or lone surrogates)
            return False
        n = len(values)
        if len(joined) != 25 * n - 1:
            return False
        pattern = self.pattern
        if len(pattern) < len(joined):
            pattern = self.pattern = b"|".join([_LAYOUT] * n)
        if not pattern.startswith(joined.translate(_ZEROS)) or joined[17::25].strip(b"012345"):
            return False
        ordered = sorted(values)  # (cheaper than min and max: the texts come nearly in order)
        lo, hi = ordered[0], ordered[-1]
        minutes = self.minutes
        parse = self.parse
        for minute in (lo[:16],) if lo[:16] == hi[:16] else set(map(_MINUTE, values)):
            ok = minutes.get(minute)
            if ok is None:
                dt, flags = parse(minute + ":00.000Z")
                ok = minutes[minute] = dt is not None and not flags
            if not ok:
                return False
        if not self.output:
            stats = self.stats
            stats.ts_fields[key] = stats.ts_fields.get(key, 0) + n
            stats.ts_parsed += n
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:
            if lo < self.lo:
                self.lo = lo
            if hi > self.hi:
                self.hi = hi
        return True

    def _key(self, key: str) -> itemgetter:
        self.key, self.get_key = key, itemgetter(key)
        return self.get_key

    def close(self) -> None:
        """Widen the time span by the earliest and latest texts of the layout seen so far
        (same layout: text order is time order)."""
        if self.lo is not None:
            span = self.stats.span_out if self.output else self.stats.span_in
            for text in (self.lo, self.hi):
                _widen(span, self.parse(text)[0])
            self.lo = self.hi = None


def _widen(span: list, ts) -> None:
    if span[0] is None or ts < span[0]:
        span[0] = ts
    if span[1] is None or ts > span[1]:
        span[1] = ts


WHOLE = object()  # (replan's timestamp key when each event is to be observed whole)


class ValueObserver(ChunkObserver):
    """The input observations made as each event is read, for loops whose stages may change
    the events (a :class:`ChunkObserver` would see them changed).  Observing each event whole
    (``Stats.observe_input`` and ``observe_time``, which parses every timestamp) made stats cost
    T2 ~45 %; this costs it ~25 %.  (For loops that change no event the two observers cost about
    the same: this one runs more bytecode per event, the other holds 64 events at a time, which
    costs as much in memory traffic; docs/benchmarks.md.)

    The generated read loop (kelora.run.fastloop, ``observe="values"``) adds each event's keys
    to the keys seen itself (one C call), and keeps only the values of the one timestamp key
    and the one level key that any event so far has had (None where an event lacks one).
    When the keys seen grow, :meth:`replan` observes the values kept so far and names the keys
    to keep.  With one timestamp key in the keys seen, an event's timestamp is that key's
    value (``EventTime.of`` of the event is ``of({key: value})``), and likewise its level;
    with several (or --ts-field/--ts-format) each event is observed whole at once by
    :meth:`one`, as ``Stats.observe_input`` and ``observe_time`` would (its keys are in)."""

    def __init__(self, stats, event_time):
        super().__init__(stats, event_time)
        self.level_keys = frozenset(LEVEL_KEYS)
        self.tk = self.lk = None  # the keys whose values are kept

    def replan(self, times: list, levels: list):
        """``(number of keys seen, timestamp key or WHOLE, level key)`` for the keys seen now,
        after observing the values kept so far."""
        self(times, levels)
        keys = self.keys_into
        ts = keys & self.ts_keys
        lv = keys & self.level_keys
        if not self.fast_ts or len(ts) > 1 or len(lv) > 1:
            self.tk, self.lk = WHOLE, None
        else:
            self.tk, self.lk = next(iter(ts), None), next(iter(lv), None)
        return len(keys), self.tk, self.lk

    def one(self, event: dict) -> None:
        level = level_of(event)
        if level is not None:
            self.levels_into.add(level)
        self.stats.observe_time(*self.of(event))

    def __call__(self, times: list, levels: list) -> None:
        """Observe the values kept (one per event, None where it lacks the key), and empty
        the lists."""
        if levels:
            seen = self.levels_into
            try:
                distinct = set(levels)
            except TypeError:  # a map or array as the level
                distinct = levels
            # (seen holds texts only; the only level key holding no text means no level)
            if type(distinct) is not set or not distinct <= seen:
                seen.update(v for v in distinct if type(v) is str)
            levels.clear()
        if times:
            tk = self.tk
            stats = self.stats
            if tk is None:
                stats.ts_missing += len(times)
            elif not self._times(times, tk):
                observe_time, of = stats.observe_time, self.of
                for value in times:
                    observe_time(*of({tk: value}))
            times.clear()
