"""A CSV/TSV row written by code generated for the column types of the data (T4, CSV export).

``outputs._make_csv``'s general formatter looks at every cell's type and quoting rule through
``csv_cell``: a few Python calls per cell.  Exports are usually regular: every event holds the
chosen columns, with the same types (a text timestamp, integer ids, float durations).  The first
such event gives the types, and :func:`row_builder` writes one function for them, e.g. for
``-k timestamp,user_id,status,duration_ms``::

    def row(event):
        try:
            v0 = event['timestamp']; v1 = event['user_id']; v2 = event['status']; v3 = event['duration_ms']
        except KeyError:
            return None
        if type(v0) is not str or type(v1) is not int or type(v2) is not int or type(v3) is not float:
            return None
        if not v0 or v0[0] == ' ' or v0[-1] == ' ' or search(v0) is not None:
            return None
        if not 0.0001 <= (v3 if v3 >= 0 else -v3) <= 10000000000000.0:
            return None
        return f"{v0},{v1},{v2},{v3!r}\\n"

It returns the row's text only when every cell is one the general formatter writes as its plain
text: a text that needs no quotes (``csv_cell``'s rule: not empty, no space at either end, no
delimiter, quote or line break), an integer (``str``), a float in the range where its ``repr``
is Rhai's display (``render.fast_float``).  Any other event (a missing column, another type, a
text to quote, a float out of that range, NaN) gets None and goes to the general formatter, so
the bytes are the general formatter's in every case.
"""
from __future__ import annotations

_PLAIN = (str, int, float)  # the types a row function is written for


def row_builder(columns: tuple, delim: str, search):
    """``build(event) -> row function or None`` for *columns* (``(key, shown)`` pairs) and the
    quoting test *search* (a compiled search for the delimiter, ``"``, CR and LF): None when
    *event* lacks a shown column or holds a type the row functions do not write."""
    shown = [(i, k) for i, (k, s) in enumerate(columns) if s]

    def build(event):
        try:
            types = [type(event[k]) for _, k in shown]
        except (KeyError, TypeError):
            return None
        if not shown or not all(t in _PLAIN for t in types):
            return None
        fetch = "; ".join(f"v{i} = event[{k!r}]" for i, k in shown)
        checks = " or ".join(f"type(v{i}) is not {t.__name__}" for (i, _), t in zip(shown, types))
        lines = ["def row(event):", "    try:", f"        {fetch}", "    except KeyError:", "        return None",
                 f"    if {checks}:", "        return None"]
        for (i, _), t in zip(shown, types):
            if t is str:
                lines += [f"    if not v{i} or v{i}[0] == ' ' or v{i}[-1] == ' ' or search(v{i}) is not None:",
                          "        return None"]
            elif t is float:  # (NaN fails both comparisons)
                lines += [f"    if not 0.0001 <= (v{i} if v{i} >= 0 else -v{i}) <= 10000000000000.0:",
                          "        return None"]
        cells = {i: ("{v%d!r}" if t is float else "{v%d}") % i for (i, _), t in zip(shown, types)}
        pattern = delim.replace("\t", "\\t").join(cells.get(i, "") for i in range(len(columns)))
        lines.append(f'    return f"{pattern}\\n"')
        ns = {"search": search}
        exec(compile("\n".join(lines), "<kelora csv row>", "exec"), ns)  # noqa: S102 - our own template
        return ns["row"]

    return build
