"""The JSON read loop of a run whose only stage is a ``--filter`` (the most common script), built
once per run as Python source.

``InputLoop._read_json_fast`` serves every run; this loop is the same work for one shape with
less per event: the filter's outcome is tested inline, and when the filter compiled to a single
generated expression (``codegen`` sets ``run.inline``) that expression is written into the loop
itself, so an event costs no Python call at all between ``loads`` and ``dumps``.  If the inline
expression raises anything, the event is evaluated again by ``run(s)``, which gives the
language's own error (the expression is replay-safe: codegen only generates those).

Counters are derived when the file ends: every event not written was filtered, and every
event whose filter gave a bool was a clean evaluation (``RunEnd._exit_code`` needs that).
"""
from __future__ import annotations

import re

from kelora.errors import ScriptRuntimeError, SkipEvent

_TEMPLATE = '''
def loop(stream, n, owner, s, run, settle, fmt, write, write_error, slow, max_bytes, tally):
    first = n
    output = unclean = slow_lines = 0
    try:
        for raw in stream:
            n += 1
            if len(raw) > max_bytes:
                owner.line_num = n
                slow_lines += 1
                slow(raw, n)
                continue
            try:
                _e = loads(raw)
            except JSONDecodeError:
                owner.line_num = n
                slow_lines += 1
                slow(raw, n)
                continue
            if type(_e) is not dict:
                owner.line_num = n
                slow_lines += 1
                slow(raw, n)
                continue
{evaluate}            if value is not True:
                if value is not False:
                    owner.line_num = n
                    unclean += 1
                    s.e = _e
                    settle(s, value)
                continue
            data = fmt(_e)
            if data:
                try:
                    write(data)
                except OSError as exc:
                    write_error(exc)
                output += 1
    finally:  # also when a signal, a closed pipe or --strict ends the run here
        owner.line_num = n
        tally[:] = (n - first, n - first - slow_lines, output, unclean)
'''


_SETTLE = """\
{pad}except (SkipEvent, ScriptRuntimeError) as exc:
{pad}    owner.line_num = n
{pad}    unclean += 1
{pad}    settle(s, exc)
{pad}    continue
"""

# run(s) is the language's way: its SkipEvent and runtime errors are settled
_CALL = "            s.e = _e\n            try:\n                value = run(s)\n" + _SETTLE.format(pad=" " * 12)
# the inline expression: on any exception, evaluate again the language's way
_INLINE = ("            {bind}try:\n                value = {expr}\n            except Exception:\n"
           "                s.e = _e\n                try:\n                    value = run(s)\n"
           + _SETTLE.format(pad=" " * 16))


def filter_loop(run):
    """``loop(stream, n, owner, scope, run, settle, fmt, write, write_error, slow, max_bytes,
    tally)`` for this filter's ``run``; it leaves ``[lines read, events created (on this path),
    events written, unclean filter outcomes]`` in ``tally``."""
    from orjson import JSONDecodeError, loads

    inline = getattr(run, "inline", None)
    ns: dict = dict(inline[1]) if inline is not None else {}
    ns.update(loads=loads, JSONDecodeError=JSONDecodeError, SkipEvent=SkipEvent,
              ScriptRuntimeError=ScriptRuntimeError)
    if inline is None:
        evaluate = _CALL
    else:
        # the scope needs the event only when the expression hands it on (closures, ctx calls)
        bind = "s.e = _e\n            " if re.search(r"\bs\b", inline[0]) else ""
        evaluate = _INLINE.replace("{bind}", bind).replace("{expr}", inline[0])
    source = _TEMPLATE.replace("{evaluate}", evaluate)
    exec(compile(source, "<kelora filter loop>", "exec"), ns)  # noqa: S102 - our own template
    return ns["loop"]
