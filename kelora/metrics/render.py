"""Render tracked metrics: ``full`` / ``short`` tables, ``tsv``, ``json`` (reference §5.3), ``rich``.

Every function takes a ``MetricStore`` and returns text **without** a trailing newline; the
caller prints it with one (``--metrics=json`` on stdout) or without (``--metrics-file``).  An
empty store renders as ``No metrics tracked`` (full/short), ``""`` (tsv: print nothing at all)
and ``{}`` (json).
"""
from __future__ import annotations

import math

import orjson

from kelora.escape import escape_diag, escape_json_text, escape_line
from kelora.metrics.store import MetricStore
from kelora.values import debug_string, format_float_rust, to_string

FORMATS = ("short", "full", "tsv", "json")
_MORE = "  [+{n} more. Use --metrics=full or --metrics-file for full list]"
_SHORT_LIMIT = 10
_SHORT_ROWS = 5


def format_metric_float(value: float) -> str:
    """Six significant digits, trailing zeros trimmed, ``0`` for zero (text views only)."""
    if not math.isfinite(value):
        return format_float_rust(value)
    if value == 0.0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(5 - magnitude, 0)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scalar_text(v: object) -> str:
    if type(v) is float:
        return format_metric_float(v)  # type: ignore[arg-type]
    return to_string(v)


def _table(rows: list[tuple[str, str]], left: str, right: str, truncate: bool) -> list[str]:
    """Two-column table: 2-space indent and gap, left padded (width capped 40), right aligned."""
    shown = rows[:_SHORT_ROWS] if truncate else rows
    lw = min(max([len(left), *(len(k) for k, _ in shown)]), 40)
    rw = max([len(right), *(len(c) for _, c in shown)])
    lines = [f"  {left:<{lw}}  {right:>{rw}}"]
    lines += [f"  {k:<{lw}}  {c:>{rw}}" for k, c in shown]
    if truncate:
        lines.append(_MORE.format(n=len(rows) - len(shown)))
    return lines


def render_text(store: MetricStore, level: str = "full") -> str:
    """The ``full`` / ``short`` human table."""
    views = store.views()
    if not views:
        return "No metrics tracked"
    short = level == "short"
    out: list[str] = []
    for key, shape, value in views:
        head = f"{key:<12}"
        if shape == "scalar":
            out.append(f"{head} = {_scalar_text(value)}")
        elif shape == "approx":
            out.append(f"{head} ≈ {value}")
        elif shape == "freq":
            items = sorted(value.items(), key=lambda kv: (-kv[1], kv[0]))  # type: ignore[union-attr]
            if not items:
                out.append(f"{head} (0 values)")
                continue
            out.append(f"{head} ({len(items)} values):")
            rows = [(k, str(c)) for k, c in items]
            out += _table(rows, "value", "count", short and len(rows) > _SHORT_LIMIT)
        elif shape == "unique":
            vals: list = value  # type: ignore[assignment]
            if not short:
                out.append(f"{head} ({len(vals)} unique):")
                out += [f"  {to_string(v)}" for v in vals]
            elif len(vals) <= _SHORT_LIMIT:
                out.append(f"{head} = {debug_string(vals)}")
            else:
                out.append(f"{head} ({len(vals)} unique):")
                out += [f"  {to_string(v)}" for v in vals[:_SHORT_ROWS]]
                out.append(_MORE.format(n=len(vals) - _SHORT_ROWS))
        elif shape in ("ranked", "ranked_by"):
            ranked: list = value  # type: ignore[assignment]
            out.append(f"{head} ({len(ranked)} items):")
            if shape == "ranked":
                rows = [(r["key"], str(r["count"])) for r in ranked]
                right = "count"
            else:
                rows = [(r["key"], format_metric_float(r["value"])) for r in ranked]
                right = "score"
            if rows:
                out += _table(rows, "item", right, short and len(rows) > _SHORT_LIMIT)
    return "\n".join(out).rstrip()


_TSV_BLANKS = str.maketrans("\t\r\n", "   ")


def _tsv_field(text: str) -> str:
    return text.translate(_TSV_BLANKS)


def _tsv_value(v: object) -> str:
    if type(v) is float:
        return format_float_rust(v)  # type: ignore[arg-type]
    return _tsv_field(to_string(v))


def render_tsv(store: MetricStore) -> str:
    """``metric<TAB>key<TAB>value`` lines; ``""`` when nothing was tracked."""
    lines: list[str] = []
    for key, shape, value in store.views():
        name = _tsv_field(key)
        if shape in ("scalar", "approx"):
            lines.append(f"{name}\t\t{_tsv_value(value)}")
        elif shape == "freq":
            for k, c in sorted(value.items(), key=lambda kv: (-kv[1], kv[0])):  # type: ignore[union-attr]
                lines.append(f"{name}\t{_tsv_field(k)}\t{c}")
        elif shape == "unique":
            # (texts, the common case, straight to their field: a unique metric can hold millions)
            lines += [f"{name}\t\t{v.translate(_TSV_BLANKS) if type(v) is str else _tsv_value(v)}"
                      for v in value]  # type: ignore[union-attr]
        elif shape == "ranked":
            lines += [f"{name}\t{_tsv_field(r['key'])}\t{r['count']}" for r in value]  # type: ignore[union-attr]
        elif shape == "ranked_by":
            lines += [
                f"{name}\t{_tsv_field(r['key'])}\t{format_float_rust(r['value'])}"
                for r in value  # type: ignore[union-attr]
            ]
    return "\n".join(lines)


def render_json(store: MetricStore) -> str:
    """Pretty JSON (2-space indent), keys sorted at every level (COMPAT D12); NaN/inf as null."""
    doc = store.finalize()
    from kelora.formats.render import fix_exponents

    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    try:
        data = orjson.dumps(doc, option=option)
    except orjson.JSONEncodeError:  # integers beyond 64 bits: exact digits (COMPAT D20); text UTF-8
        from kelora.formats.render import json_safe  # cannot hold: U+FFFD (kelora.safetext)

        data = orjson.dumps(json_safe(doc), option=option | orjson.OPT_NON_STR_KEYS)
    # (1e20 as serde_json writes it, as the event output does, not orjson's 1e+20)
    return escape_json_text(fix_exponents(data).decode())  # DEL/C1 as \u009b (D18)


def render(store: MetricStore, fmt: str) -> str:
    """Dispatch on ``short`` / ``full`` / ``tsv`` / ``json``."""
    if fmt == "json":
        return render_json(store)
    if fmt == "tsv":
        return escape_diag(render_tsv(store))  # keys and values come from the data (D18)
    if fmt in ("short", "full"):
        return escape_diag(render_text(store, fmt))
    raise ValueError(f"unknown metrics format {fmt!r}")


def rich_table(store: MetricStore, level: str = "full"):
    """A rich renderable of the metrics for terminals (COMPAT D13); rich is imported here only."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold")
    table.add_column("metric", style="cyan", no_wrap=True)
    table.add_column("key")
    table.add_column("value", justify="right")
    add_row = table.add_row

    def add(*cells, **kw):  # keys and values come from the data: escaped (D18)
        add_row(*(escape_line(c) for c in cells), **kw)

    table.add_row = add  # type: ignore[method-assign]
    views = store.views()
    if not views:
        table.add_row("No metrics tracked", "", "")
        return table
    short = level == "short"
    for key, shape, value in views:
        if shape == "scalar":
            table.add_row(key, "", _scalar_text(value))
        elif shape == "approx":
            table.add_row(key, "", f"≈ {value}")
        else:
            if shape == "freq":
                rows = [(k, str(c)) for k, c in sorted(value.items(), key=lambda kv: (-kv[1], kv[0]))]  # type: ignore[union-attr]
            elif shape == "unique":
                rows = [("", to_string(v)) for v in value]  # type: ignore[union-attr]
            elif shape == "ranked":
                rows = [(r["key"], str(r["count"])) for r in value]  # type: ignore[union-attr]
            else:
                rows = [(r["key"], format_metric_float(r["value"])) for r in value]  # type: ignore[union-attr]
            shown = rows[:_SHORT_ROWS] if short and len(rows) > _SHORT_LIMIT else rows
            for i, (k, v) in enumerate(shown):
                table.add_row(key if i == 0 else "", k, v)
            if not rows:
                table.add_row(key, "", "(empty)")
            if len(shown) < len(rows):
                table.add_row("", f"[+{len(rows) - len(shown)} more]", "", style="dim")
    return table
