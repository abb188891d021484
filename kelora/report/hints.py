"""End-of-run hints that explain an empty or surprising result (issues 13 and 14).

Kelora's wording is kept where its tests pin it: "0 events matched. ..." for a filter on a field
never seen, a number compared with a quoted string, `-l` without a level field; `-k`/`-K` naming a
key never present ("Did you mean 'level'?" / "Present fields: ..."); "No input: stdin is empty";
ragged CSV rows.  Beyond Kelora (issue 14), a filter on a field that exists but matched nothing
says which values were seen ("No event passed the filter: e.level was "ERROR", "INFO"") — never
the values of a field that a privacy function reads (COMPAT D24).

What the scripts refer to (the fields a filter reads, the fields an ``-e`` stage assigns) is read
from their ASTs, so a comment or a string that mentions ``e.name`` changes nothing.

What the input held is learnt without per-event work: ``Sample`` keeps the first lines of each
input as they are read (an ``itertools.chain``: the rest of the stream is iterated at C speed)
and they are parsed again here, only when a hint may be due.  With ``--stats`` the complete key
set of the run is used instead.
"""
from __future__ import annotations

import itertools
import re

from kelora.formats.fields import LEVEL_KEYS

MAX_PER_SOURCE = 1000  # lines kept from the start of each input
MAX_SOURCES = 16
MAX_VALUES = 5  # values listed per field
_NUMERIC_TEXT = re.compile(r"-?\d[\d_]*(?:\.\d+)?")


class _Tee:
    """Iterates as the wrapped stream does, after handing its first lines to a recorder."""

    def __init__(self, stream, head):
        self._stream = stream
        self._iter = itertools.chain(head, stream)

    def __iter__(self):
        return self._iter

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Sample:
    """The first lines of each input (raw bytes), kept for the end-of-run hints."""

    def __init__(self):
        self.sources: list[list[bytes]] = []
        self.truncated = False

    def new_source(self) -> list[bytes] | None:
        """The list that keeps the first lines of one more input (None past MAX_SOURCES); a
        reader that fills it itself (the parallel drivers) sets ``truncated`` when it stops at
        MAX_PER_SOURCE."""
        if len(self.sources) >= MAX_SOURCES:
            self.truncated = True
            return None
        lines: list[bytes] = []
        self.sources.append(lines)
        return lines

    def wrap(self, stream):
        lines = self.new_source()
        if lines is None:
            return stream

        def record(it):
            for raw in it:
                lines.append(raw)
                yield raw
            if len(lines) >= MAX_PER_SOURCE:
                self.truncated = True

        return _Tee(stream, record(itertools.islice(stream, MAX_PER_SOURCE)))


def wanted(config) -> bool:
    """Whether a run may need the sample: filters, -l, -k or --exclude-keys."""
    return bool(config.keys or config.exclude_keys
                or any(st.kind in ("filter", "levels") for st in config.stages))


class Seen:
    """Keys, levels and field values of the sampled events."""

    def __init__(self):
        self.keys: set[str] = set()
        self.levels: list[str] = []
        self.values: dict[str, list] = {}
        self.events = 0


def observe(sample: Sample | None, fmt: str, strict: bool, fields: set[str]) -> Seen:
    seen = Seen()
    if sample is None or not sample.sources:
        return seen
    from kelora.errors import KeloraError
    from kelora.formats import make_input_parser

    try:
        parser = make_input_parser(fmt, strict=False)
    except KeloraError:
        return seen
    for lines in sample.sources:
        if hasattr(parser, "start_file"):
            parser.start_file()
        for raw in lines:
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                parse_bytes = getattr(parser, "parse_bytes", None)
                event = parse_bytes(raw) if parse_bytes else parser.parse(raw.decode("utf-8", "replace"))
            except Exception:  # a parse error was reported when the line was read
                continue
            if not isinstance(event, dict):
                continue
            seen.events += 1
            seen.keys.update(k for k in event if isinstance(k, str))
            for key in LEVEL_KEYS:
                v = event.get(key)
                if type(v) is str:
                    if v not in seen.levels:
                        seen.levels.append(v)
                    break
            for f in fields:
                if f in event:
                    vals = seen.values.setdefault(f, [])
                    v = event[f]
                    if v not in vals and len(vals) < MAX_VALUES + 1:
                        vals.append(v)
    return seen


def _nodes(config, kind: str):
    """Every AST node of the *kind* ("filter" or "exec") stages, in source order (parents first).
    The stages compiled before the run, so they parse (the parse is memoised: lower.to_ast)."""
    if not any(st.kind == kind for st in config.stages):  # (nothing to import the language for)
        return
    from kelora.errors import ScriptError
    from kelora.lang import ast
    from kelora.lang.lower import to_ast

    for st in config.stages:
        if st.kind != kind:
            continue
        try:
            tree = to_ast(st.text, "script" if kind == "exec" else "expression")
        except (ScriptError, RecursionError):  # pragma: no cover - compiled before the run
            continue
        for root in (*tree.stmts, *tree.fns):
            yield from ast.walk(root)


def _event_field(node) -> str | None:
    """``NAME`` for ``e.NAME``, else None."""
    from kelora.lang import ast

    if isinstance(node, ast.Prop) and isinstance(node.obj, ast.Var) and node.obj.name == "e":
        return node.name
    return None


def filter_fields(config) -> list[str]:
    """The top-level event fields the --filter stages read (``e.a.b`` reads ``a``), in order."""
    out: list[str] = []
    for n in _nodes(config, "filter"):
        f = _event_field(n)
        if f is not None and f not in out:
            out.append(f)
    return out


def _quoted_numbers(config) -> list[tuple[str, str]]:
    """``(field, text)`` for each ``e.field == "123"`` in the --filter stages."""
    from kelora.lang import ast

    out = []
    for n in _nodes(config, "filter"):
        if isinstance(n, ast.Binary) and n.op == "==" and isinstance(n.right, ast.Literal) \
                and type(n.right.value) is str and _NUMERIC_TEXT.fullmatch(n.right.value):
            f = _event_field(n.left)
            if f is not None:
                out.append((f, n.right.value))
    return out


def assigned_keys(config) -> set[str]:
    """Fields an -e stage may create (`e.total = ...`): present although not in the input."""
    if not any(st.kind == "exec" for st in config.stages):
        return set()
    from kelora.lang import ast

    return {f for n in _nodes(config, "exec") if isinstance(n, ast.Assign) and n.op is None
            and (f := _event_field(n.target)) is not None}


# ------------------------------------------------------------------------------ the hints

def zero_results(config, stats, errors_total: int, seen: Seen, private: set[str]) -> str | None:
    """The one hint explaining a run where every event was filtered out (Kelora's order)."""
    if stats.events_created == 0 or stats.events_output > 0 or errors_total:
        return None
    levels = [st.text for st in config.stages if st.kind == "levels"]
    if levels:
        hint = _level_hint(levels, stats, seen)
        if hint:
            return hint
    if not any(st.kind == "filter" for st in config.stages) or not seen.events:
        return None
    keys = seen.keys | set(stats.keys_seen) | assigned_keys(config)
    referenced = filter_fields(config)
    unseen = [f for f in referenced if f not in keys]
    if unseen:
        msg = (f"0 events matched. Filter referenced unseen field{'s' if len(unseen) > 1 else ''}: "
               f"{', '.join(unseen)}.")
        if len(unseen) == 1:
            near = nearest_field(unseen[0], keys)
            if near:
                msg += f" Did you mean '{near}'?"
        msg += " This may be a typo; rerun with -s to inspect discovered keys."
        if seen.events and getattr(seen, "_partial", False):
            msg += " (Keys from the first lines of each input.)"
        return msg
    for field, literal in _quoted_numbers(config):
        vals = seen.values.get(field, ())
        if field in keys and (not vals or any(type(v) in (int, float) for v in vals)):
            return (f"0 events matched. Filter compares e.{field} to the string \"{literal}\". If "
                    f"e.{field} holds numbers, the quotes force a string-vs-number comparison that "
                    f"is always false — drop them: e.{field} == {literal}. Rerun with -s to check the "
                    f"field's type.")
    # issue 14: the values a field really had (not Kelora: it stays silent here)
    from kelora.lang.explain import show

    parts = []
    for f in referenced:
        vals = seen.values.get(f)
        if not vals or f in private:
            continue
        shown = ", ".join(show(v, 30) for v in vals[:MAX_VALUES])
        more = ", …" if len(vals) > MAX_VALUES else ""
        parts.append(f"e.{f} was {shown}{more}")
    if parts:
        return "No event passed the filter: " + "; ".join(parts) + " (values seen in the input)."
    return None


def _level_hint(levels: list[str], stats, seen: Seen) -> str | None:
    present = seen.levels or sorted(stats.levels_seen)
    has_field = bool(present) or any(k in seen.keys or k in stats.keys_seen for k in LEVEL_KEYS)
    if not has_field:
        fmt = f" (format: {stats.format_name})" if stats.format_name else ""
        return ("0 events matched. -l/--levels is set, but no level field was found in the input"
                f"{fmt} — it looks unstructured. Parse levels first (e.g. -f cols/regex), or match "
                "text with --filter 'e.line.contains(\"ERROR\")'.")
    wanted_ = [w.strip() for t in levels for w in t.split(",") if w.strip()]
    if not present or any(p.lower() == w.lower() for p in present for w in wanted_):
        return None
    return (f"0 events matched. -l/--levels {','.join(wanted_)} matched none of the levels present: "
            f"{','.join(present)}. If those are the same level under a different name (e.g. 'E' vs "
            f"'ERROR'), match the value directly, e.g. --filter 'e.level == \"{present[0]}\"'.")


def key_typos(config, stats, seen: Seen) -> list[str]:
    """-k/--keys and --exclude-keys naming fields never present (fires whatever was output)."""
    if stats.events_created == 0 or not seen.events and not stats.keys_seen:
        return []
    known = seen.keys | set(stats.keys_seen) | set(stats.keys_output) | assigned_keys(config)
    out = []
    for flag, requested, consequence in (("-k/--keys", config.keys or (), ""),
                                         ("--exclude-keys", config.exclude_keys, ", so it was not removed")):
        unseen = [k for k in requested if k not in known]
        if len(unseen) == 1:
            out.append(f"{flag} names field '{unseen[0]}', which was never present in the input"
                       f"{consequence}. {_unseen_suggestion(unseen[0], known)}")
        elif unseen:
            out.append(f"{flag} names fields never present in the input{consequence}: "
                       f"{', '.join(unseen)}. {_present_fields(known)}")
    return out


def _unseen_suggestion(key: str, known: set[str]) -> str:
    head = re.split(r"[.\[]", key, maxsplit=1)[0]
    if head != key and head in known:
        container = key[:-2] if key.endswith("[]") else key
        if container == head:
            return (f"Did you mean the top-level field '{head}'? -k/--keys selects whole fields, so "
                    f"-k {head} keeps its entire value (array and all).")
        return (f"'{head}' is present, but -k/--keys and --exclude-keys act on whole top-level fields "
                f"and can't reach nested values. Flatten it first, e.g. --exec 'e.val = "
                f"e.get_path(\"{container}\")' then -k val.")
    near = nearest_field(key, known)
    if near:
        return f"Did you mean '{near}'?"
    return _present_fields(known)


def _present_fields(known: set[str]) -> str:
    if known and len(known) <= 12:
        return f"Present fields: {', '.join(sorted(known))}."
    return "Run --discover to list fields."


def nearest_field(key: str, known) -> str | None:
    """Kelora's heuristic: similarity > 0.6, containment, or a shared 2-character prefix."""
    import difflib

    kl = key.lower()
    best = None
    for f in sorted(known):
        fl = f.lower()
        sim = difflib.SequenceMatcher(None, kl, fl).ratio()
        close = sim > 0.6 or kl in fl or fl in kl or (len(kl) >= 2 and kl[:2] == fl[:2])
        if close and (best is None or sim > best[0]):
            best = (sim, f)
    return best[1] if best else None


def ragged_rows(stats) -> str | None:
    if not (stats.ragged_extra or stats.ragged_missing):
        return None
    parts = []
    if stats.ragged_extra:
        n = stats.ragged_extra
        parts.append(f"{n} row{'s' if n != 1 else ''} with more columns than expected (extras kept as cN)")
    if stats.ragged_missing:
        n = stats.ragged_missing
        parts.append(f"{n} row{'s' if n != 1 else ''} with fewer columns than expected (missing fields left absent)")
    return "CSV: " + ", ".join(parts) + ". Use --strict to reject ragged rows."


NO_INPUT = ("No input: stdin is empty and no files were given. Pass a file, pipe data in, or run "
            "kelora in a terminal for interactive mode. See -h for a quick reference.")
