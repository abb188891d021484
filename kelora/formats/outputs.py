"""Output formats (reference §4): default, brief, json, logfmt, csv/tsv/csvnh/tsvnh, inspect, none.

``make_formatter(...)`` returns a function ``fmt(event, meta=None) -> bytes``: the event's text
with its trailing newline, or ``b""`` when nothing is left to print after ``-k``/``-K``/``-c``.
The function carries attributes ``select_fields`` (the selection step alone, for counting
filtered events), ``format_name`` and ``prints`` (False only for ``none``).
"""
from __future__ import annotations

import re

import orjson

from kelora.safetext import ERRORS

from kelora.errors import FatalError, UsageError
from kelora.escape import ALL_CONTROLS, CONTROLS, escape_controls, escape_json_text, escape_line
from kelora.values import Char, DateTime, Duration

from . import registry
from .fields import COLORED_LEVEL_KEYS
from .inspect import make_inspect
from .csvrow import row_builder
from .order import MISSING, make_selector, parse_key_list
from .render import display, fast_float, flatten, json_bytes, json_text, leaf_text

# (derived from the registry: kept as names other modules import)
OUTPUT_FORMATS = registry.output_names()
CSV_OUTPUTS = tuple(f.name for f in registry.OUTPUTS.values() if f.family == "csv")

_NL = orjson.OPT_APPEND_NEWLINE
_PLUS = 0x2B  # ``int in bytes`` is a plain memchr, far cheaper than ``b"e+" in data``


def _exp_plus(data: bytes) -> bool:
    """Whether orjson may have written an exponent as ``1e+16`` (serde writes ``1e16``): a '+'
    right after ``<digit>e``.  Cheaper than ``b"e+" in data`` (a two-byte search over the whole
    line), and e-mail addresses such as ``jane+news@`` no longer send the event down the
    careful path; a match inside a string is harmless (the careful path only fixes numbers)."""
    find = data.find
    i = find(_PLUS)  # memchr
    while i > 1:
        if data[i - 1] == 0x65 and 0x30 <= data[i - 2] <= 0x39:
            return True
        i = find(_PLUS, i + 1)
    return False


needs_keys = registry.needs_keys


def keys_required_error(fmt: str) -> FatalError:
    """The error for ``-F csv`` without ``-k`` (the pipeline prefixes ``Pipeline error: ``)."""
    return FatalError(
        f"{fmt.upper()} output requires --keys to define column order, e.g. --keys ts,level,msg. "
        "Use -s to inspect available fields."
    )


def make_formatter(fmt: str = "default", keys=None, exclude_keys=(), core: bool = False,
                   brief: bool = False, verbose: int = 0, color: bool = False,
                   terminal: bool = False, csv_safe: bool = False):
    """``color=True`` (TTY or ``FORCE_COLOR``) colours the default format's keys and levels.
    ``terminal=True`` (events go to a terminal) escapes control characters in csv/tsv (D18);
    ``csv_safe=True`` (``--csv-safe``) defuses spreadsheet formulas in csv/tsv cells (D19)."""
    fmt = (fmt or "default").lower()
    if fmt in CSV_OUTPUTS:
        keys = parse_key_list(keys, dedupe=False)  # a column named twice is printed twice
        if not keys:
            raise keys_required_error(fmt)
        if core:
            raise UsageError(f"--core cannot be used with {fmt} output")
        out = _make_csv(keys, parse_key_list(exclude_keys), fmt, terminal, csv_safe)
        out.select_fields = _csv_selector(keys, parse_key_list(exclude_keys))
    else:
        keys = parse_key_list(keys)
        select = make_selector(keys, exclude_keys, core)
        if fmt == "default":
            if brief:
                out = _make_brief(select)
            elif color:
                out = _make_default_color(select)
            else:
                out = _make_default(select)
        elif fmt == "json":
            out = _make_json(select)
            if terminal:
                out = _json_for_terminal(out)
        elif fmt == "logfmt":
            out = _make_logfmt(select)
        elif fmt == "inspect":
            out = make_inspect(select, verbose)
        elif fmt == "none":
            def out(event, meta=None):
                return b""
            out.prints = False
        elif fmt in registry.UNSUPPORTED_OUTPUTS:
            raise UsageError(f"Output format '{fmt}' is not supported by this version of kelora")
        else:
            raise UsageError(f"Unknown output format: '{fmt}'",
                             hint="Supported: " + ", ".join(OUTPUT_FORMATS))
        out.select_fields = select
    out.format_name = fmt
    if not hasattr(out, "prints"):
        out.prints = True
    return out


# --------------------------------------------------------------------------- json

# JSON escapes C0 controls itself, but writes DEL and the C1 controls (U+0080-U+009F; U+009B
# is a CSI to some terminals) as they are.  On a terminal they become JSON escapes (D18): the
# same data, as the metrics JSON writes them (escape.escape_json_text).
def _json_for_terminal(fmt):
    def fmt_json_terminal(event, meta=None):
        data = fmt(event, meta)
        return escape_json_text(data.decode()).encode() if _RAW_DEL_C1.search(data) else data

    return fmt_json_terminal


_RAW_DEL_C1 = re.compile(rb"\x7f|\xc2[\x80-\x9f]")  # (DEL, and C1 as UTF-8: the cheap test)


def _make_json(select):
    dumps = orjson.dumps
    careful = json_bytes  # slow path: DateTime/Duration, ints beyond 64 bits, ``1e+16`` fix-up
    cache = getattr(select, "canonical_cache", None)

    if cache is None:
        def fmt_json(event, meta=None):
            fields = select(event)
            if not fields:
                return b""
            try:
                data = dumps(fields, option=_NL)
            except TypeError:
                return careful(fields, _NL)
            if _PLUS in data and _exp_plus(data):
                return careful(fields, _NL)
            return data

        return fmt_json

    # The T0 passthrough path: canonical order inlined (see order.make_selector).
    get = cache.get
    template_for = select.template_for
    miss = MISSING

    def fmt_json_canonical(event, meta=None):
        shape = tuple(event)
        template = get(shape, miss)
        if template is miss:
            template = template_for(shape)
        if template is not None:
            # the shape's template holds exactly this event's keys, in output order: updating
            # it in place replaces every value (nothing keeps it past dumps below)
            template.update(event)
            event = template
        elif not event:
            return b""
        try:
            data = dumps(event, option=_NL)
        except TypeError:
            return careful(event, _NL)
        if _PLUS in data and _exp_plus(data):
            return careful(event, _NL)
        return data

    return fmt_json_canonical


# --------------------------------------------------------------------------- default / brief

_DEFAULT_ESC = re.compile(r"['\\\n\t\r]")
_DEFAULT_TABLE = str.maketrans({"'": "\\'", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"})


def _quote_default(s: str) -> str:
    if _DEFAULT_ESC.search(s) is not None:
        s = s.translate(_DEFAULT_TABLE)
    return "'" + s + "'"


def default_value(v) -> str:
    """One value as the default format shows it (``'text'``, ``1.0``, ``k=`` for ``()``...)."""
    t = type(v)
    if t is str:
        return _quote_default(v)
    if t is int:
        return str(v)
    if t is float:
        return fast_float(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return ""
    if t is dict or t is list:
        return json_text(v)
    if t is Char:  # a char is not a string to Kelora's formatter: shown bare
        return str(v)
    if t is DateTime:
        return "'" + v.iso() + "'"
    if t is Duration:
        return "'" + v.display() + "'"
    return _quote_default(display(v))


def _make_default(select):
    search = _DEFAULT_ESC.search
    table = _DEFAULT_TABLE
    controls = ALL_CONTROLS.search  # D18: one scan per line; keys and values alike

    def fmt_default(event, meta=None):
        fields = select(event)
        if not fields:
            return b""
        parts = []
        append = parts.append
        for k, v in fields.items():
            t = type(v)
            if t is str:
                if search(v) is not None:
                    v = v.translate(table)
                append(f"{k}='{v}'")
            elif t is int:
                append(f"{k}={v}")
            else:
                append(f"{k}={default_value(v)}")
        line = " ".join(parts)
        if controls(line) is not None:
            line = escape_line(line)
        return (line + "\n").encode("utf-8", ERRORS)

    return fmt_default


_KEY_COLOR = "\x1b[32m"
_RESET = "\x1b[0m"
_LEVEL_COLORS = {
    **dict.fromkeys(("error", "err", "fatal", "critical", "crit", "alert", "emerg", "emergency",
                     "panic", "severe"), "\x1b[91m"),
    **dict.fromkeys(("warn", "warning"), "\x1b[93m"),
    **dict.fromkeys(("info", "information", "notice"), "\x1b[92m"),
    **dict.fromkeys(("debug", "dbg"), "\x1b[96m"),
    **dict.fromkeys(("trace", "verbose"), "\x1b[36m"),
}


def _make_default_color(select):
    """Reference §4.2 colours: keys green, level values coloured inside their quotes."""
    level_keys = COLORED_LEVEL_KEYS

    def fmt_default_color(event, meta=None):
        fields = select(event)
        if not fields:
            return b""
        parts = []
        for k, v in fields.items():
            if k in level_keys and type(v) is str and v.lower() in _LEVEL_COLORS:
                text = escape_line(_quote_default(v))
                text = f"'{_LEVEL_COLORS[v.lower()]}{text[1:-1]}{_RESET}'"
            else:
                text = escape_line(default_value(v))
            parts.append(f"{_KEY_COLOR}{escape_line(k)}{_RESET}={text}")
        return (" ".join(parts) + "\n").encode("utf-8", ERRORS)

    return fmt_default_color


def _make_brief(select):
    def fmt_brief(event, meta=None):
        fields = select(event)
        if not fields:
            return b""
        # values as they are (Kelora): TAB/LF/CR kept, other controls escaped (D18)
        return (escape_controls(" ".join([display(v) for v in fields.values()])) + "\n").encode("utf-8", ERRORS)

    return fmt_brief


# --------------------------------------------------------------------------- logfmt

_LOGFMT_KEY_BAD = re.compile(r"[ \t\r\n=]")
# a control character also needs quotes: only quoted values carry escapes (D18), so the reader
# decodes `\u{1b}` in quoted values and an unquoted `\u{1b}` stays the text it is
_LOGFMT_NEEDS_QUOTE = re.compile('[ \t\r\n"=\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]')
_LOGFMT_TABLE = str.maketrans({'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"})


def logfmt_key(k: str, controls: bool = True) -> str:
    """*controls*: escape control characters (output, D18); ``to_logfmt()`` builds a string, raw."""
    if not k:
        return "_"
    k = _LOGFMT_KEY_BAD.sub("_", k)
    return escape_line(k) if controls else k


def _logfmt_quote(s: str, controls: bool = True) -> str:
    if not s or _LOGFMT_NEEDS_QUOTE.search(s) is not None:
        s = s.translate(_LOGFMT_TABLE)
        return '"' + (escape_controls(s) if controls else s) + '"'
    return s


def logfmt_value(v, controls: bool = True) -> str:
    t = type(v)
    if t is str or t is Char:
        return _logfmt_quote(v, controls)
    if t is int:
        return str(v)
    if t is float:
        return fast_float(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return ""
    if t is dict or t is list:
        flat = flatten(v)
        if len(flat) == 1 and flat[0][1] is None:
            return ""
        return _logfmt_quote(",".join(f"{k}={leaf_text(x)}" for k, x in flat), controls)
    return _logfmt_quote(display(v), controls)


def _make_logfmt(select):
    keys: dict[str, str] = {}  # sanitized key text, computed once per distinct key
    needs_quote = _LOGFMT_NEEDS_QUOTE.search
    table = _LOGFMT_TABLE

    def fmt_logfmt(event, meta=None):
        fields = select(event)
        if not fields:
            return b""
        parts = []
        append = parts.append
        for k, v in fields.items():
            key = keys.get(k)
            if key is None:
                if len(keys) > 10000:
                    keys.clear()
                key = keys[k] = logfmt_key(k)
            t = type(v)
            if t is str:
                if not v or needs_quote(v) is not None:
                    v = '"' + escape_controls(v.translate(table)) + '"'
                append(f"{key}={v}")
            elif t is int:
                append(f"{key}={v}")
            else:
                append(f"{key}={logfmt_value(v)}")
        return (" ".join(parts) + "\n").encode("utf-8", ERRORS)

    return fmt_logfmt


# --------------------------------------------------------------------------- csv / tsv

def _csv_special(delim: str):
    """The search for what makes a CSV cell need quotes (besides spaces at its ends)."""
    return re.compile("[" + re.escape(delim) + '"\r\n]').search


def _csv_needs_quote(delim: str):
    search = _csv_special(delim)

    def needs(s: str) -> bool:
        return not s or s[0] == " " or s[-1] == " " or search(s) is not None

    return needs


def csv_cell(v, needs) -> str:
    """One cell's text (already quoted when needed); Rhai display, maps/arrays ``k:v,k:v``."""
    t = type(v)
    if t is str:
        text = v
    elif t is int:
        return str(v)
    elif t is float:
        return fast_float(v)
    elif t is bool:
        return "true" if v else "false"
    elif v is None:
        return '""'
    elif t is dict or t is list:
        flat = flatten(v)
        if len(flat) == 1:
            text = leaf_text(flat[0][1])
        else:
            text = ",".join(f"{k}:{leaf_text(x)}" for k, x in flat)
    else:
        text = display(v)
    if needs(text):
        return '"' + text.replace('"', '""') + '"'
    return text


# --csv-safe (COMPAT D19, the OWASP rule): a cell a spreadsheet would read as a formula gets a
# leading `'`; a number literal (`-5`, `+1.5`, also as a string) and a lone `-` are left alone
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def csv_safe_text(text: str) -> str:
    """*text* with a leading `'` when a spreadsheet would run it as a formula."""
    if text and text[0] in _FORMULA_START and text != "-" and _NUMBER.fullmatch(text) is None:
        return "'" + text
    return text


def _make_csv(keys: tuple, exclude: tuple, fmt: str, terminal: bool = False, csv_safe: bool = False):
    delim = "\t" if fmt.startswith("tsv") else ","
    needs = _csv_needs_quote(delim)
    cell_of = _safe_cell(needs) if csv_safe else None
    columns = tuple((k, k not in exclude) for k in keys)
    header_text = delim.join((cell_of or (lambda k: csv_cell(k, needs)))(k) for k in keys)
    # on a terminal, control characters (but TAB/LF/CR, which CSV quotes) are escaped (D18);
    # a file or pipe gets the data as it is
    controls = CONTROLS.search if terminal else None
    if terminal:
        header_text = escape_controls(header_text)
    header = (header_text + "\n").encode("utf-8", ERRORS)

    def general(event):
        cells = []
        append = cells.append
        found = False
        for k, shown in columns:
            if shown and k in event:
                found = True
                v = event[k]
                if cell_of is not None:
                    append(cell_of(v))
                elif type(v) is str:
                    append('"' + v.replace('"', '""') + '"' if needs(v) else v)
                else:
                    append(csv_cell(v, needs))
            else:
                append("")
        if not found:
            return b""
        text = delim.join(cells)
        if controls is not None and controls(text) is not None:
            text = escape_controls(text)
        row = (text + "\n").encode("utf-8", ERRORS)
        pending = fmt_csv.header
        if pending is not None:
            fmt_csv.header = None
            return pending + row
        return row

    # the common case: a row function generated for the first event's column types (csvrow);
    # not for --csv-safe or a terminal (their rows take the general formatter)
    build = row_builder(columns, delim, _csv_special(delim)) if cell_of is None and not terminal else None
    row_of = None
    tries = 0

    def fmt_csv(event, meta=None):
        nonlocal row_of, tries
        if row_of is None:
            if build is None or tries >= 64:
                return general(event)
            tries += 1
            row_of = build(event)
            if row_of is None:
                return general(event)
        text = row_of(event)
        if text is None or fmt_csv.header is not None:  # (the first row: general writes the header)
            return general(event)
        return text.encode("utf-8", ERRORS)

    # The header still to be written before the first row (None once written, or for the
    # ``nh`` variants).  Parallel workers set it to None and the parent writes it once.
    fmt_csv.header = header if registry.OUTPUTS[fmt].header else None
    fmt_csv.header_line = header
    fmt_csv.general = general  # (tests compare the two)
    return fmt_csv


def _safe_cell(needs):
    """``csv_cell`` with formulas defused (D19): the cell's text gets its `'`, then its quotes."""
    def cell(v) -> str:
        t = type(v)
        if t is int or t is float or t is bool or v is None:
            return csv_cell(v, needs)  # numbers are numbers: never touched
        text = csv_cell(v, lambda s: False)  # the unquoted text
        text = csv_safe_text(text)
        return '"' + text.replace('"', '""') + '"' if needs(text) else text
    return cell


def _csv_selector(keys: tuple, exclude: tuple):
    wanted = tuple(k for k in keys if k not in exclude)

    def select(event):
        return {k: event[k] for k in wanted if k in event}

    return select
