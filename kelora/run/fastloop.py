"""The JSON read loop of a run whose stages are all *lean* (see below), generated once per run
as Python source with the stages unrolled.

``InputLoop._read_json_fast`` serves every run; this loop does the same work with less per
event for the common shapes: no stages (passthrough, CSV export), ``--filter`` (T1), exec
stages that need no snapshot, queue or collection (T2's pseudonymization, T3's ``track_*``).
Each stage becomes a few lines calling its program directly, with its own error path, and no
per-stage loop or tuple unpacking remains.  The first ``--filter`` that compiled to a single
generated expression (``codegen`` sets ``run.inline``) is written into the loop itself; if it
raises anything, the event is evaluated again by ``run(s)``, which gives the language's own
error (codegen only generates replay-safe expressions).

Lean stages: an exec stage with ``.lean = (run, failed)`` (``StageBuilder.exec_stage``) and a
filter stage with ``.lean_filter = (run, settle, index, declares_vars)`` that declares no
variables; the run must allow one shared ``Scope`` (no closures capturing it).

One exec stage shape has a shortcut: ``track_unique(NAME, pseudonym(e.FIELD, DOMAIN))`` (T3).
When the field is a text whose token is already in the domain's token cache and that token is
already among the metric's values, the call would change nothing, so the loop does not make it:
a cache lookup and a set test instead of two builtin calls.  Every other event (a new value, a
missing or non-text field, a queued op, a wrapped pseudonymizer without a cache) runs the stage
as usual, so first-seen order, warnings and errors are the stage's own.

Output: with ``fmt`` None (events suppressed, e.g. by ``-m`` or ``--stats``; ``Sink.counts_only``)
an event is counted as written when it is not empty, as ``Sink.emit`` counts it (and with stats,
observed as written).

Counters: ``tally`` receives ``[lines read, events created on this path, events written, events
dropped by a stage error, clean evaluations per filter]`` when the loop ends — also when a
signal, a closed pipe or ``--strict`` ends it.  Every other created event was filtered.  The
``finally`` sets it before making any call: Ctrl-C in ``producer | kelora`` often comes as the
pipe ends, the read then returns the end of input instead of being interrupted, and Python runs
the handler at the next call (the first one in ``finally``), which must not lose the counts.
"""
from __future__ import annotations

import re

from kelora.errors import ScriptRuntimeError, SkipEvent

_HEAD = '''
def loop(stream, n, owner, s, fmt, write, write_error, slow, max_bytes, tally, observe_in, observe_out):
    first = n
    output = errored = slow_lines = 0
<ok_init>
    try:
        for raw in stream:
            n += 1
            _e = None
            if len(raw) <= max_bytes:
                try:
                    _e = loads(raw)<input_check>
                except JSONDecodeError:
                    pass
            if type(_e) is not dict:  # too long, not JSON, or not an object
                owner.line_num = n
                slow_lines += 1
                if len(raw) > max_bytes:
                    raw = owner._cut_line(raw, n)<flush>
                slow(raw, n)
                continue<event_check><observe_in>
'''

_TAIL = '''
            data = fmt(<event>)<output_check>
            if data:
                try:
                    write(data)
                except OSError as exc:
                    write_error(exc)
                output += 1<observe_out>
    finally:  # (the counts first, by code that makes no call: see the module doc)
        owner.line_num = n
        tally[:] = (n - first, n - first - slow_lines, output, errored, <oks>)<final_flush>
'''

_TAIL_COUNT = '''
            if <event>:
                output += 1<observe_out>
    finally:  # (the counts first, by code that makes no call: see the module doc)
        owner.line_num = n
        tally[:] = (n - first, n - first - slow_lines, output, errored, <oks>)<final_flush>
'''

_EXEC = """
            try:
                run@(s)
            except SkipEvent:
                continue
            except ScriptRuntimeError as exc:
                owner.line_num = n
                r = failed@(s, exc)
                if r is not True:
                    if r is not False:
                        errored += 1
                    continue
            if s.e is None:
                s.e = {}
"""

# the T3 shortcut (see the module doc): tok@ / seen@ are bound by bind@ once the stage has run
_UNIQUE = """
            try:
                _hit = tok@(<event>[<field>]) in seen@
            except (KeyError, TypeError):  # no such field, or not hashable (no text: no token)
                _hit = False
            if not _hit:"""

# ... as the last step of a loop that only counts: a hit is counted and the loop goes on; a
# text not seen yet is tokenized and tracked by the two builtins themselves, without the
# interpreter around them (exactly the stage's work: a text's token cannot fail, and a lean
# stage queues no op, so ``ctx.pending`` is None unless a caller set it; then the stage runs)
_UNIQUE_LAST = """
            try:
                _v = <event>[<field>]
                if tok@(_v) in seen@:
                    output += 1  # (the event holds the field: it is not empty)
                    continue
            except (KeyError, TypeError):  # no such field, or not hashable (no text: no token)
                _v = None
            if type(_v) is str and seen@ is not _unbound and s.ctx.pending is None:
                track_unique(s.ctx, <name>, pfn@(_v))
                output += 1
                continue"""

_REBIND = """
            if seen@ is _unbound:
                tok@, seen@, pfn@ = bind@(s.ctx)
"""

_SETTLE = """<pad>except (SkipEvent, ScriptRuntimeError) as exc:
<pad>    owner.line_num = n
<pad>    <unclean>settle@(s, exc)
<pad>    continue
"""

_FILTER_CALL = """
            try:
                value = run@(s)
""" + _SETTLE.replace("<pad>", " " * 12)

_FILTER_INLINE = """
            try:
                value = <expr>
            except Exception:
                <bind>try:
                    value = run@(s)
""" + _SETTLE.replace("<pad>", " " * 16)

_FILTER_TEST = """            if value is not True:
                if value is False:
                    ok@ += 1
                else:
                    owner.line_num = n
                    <bind20>settle@(s, value)
                continue
            ok@ += 1
"""

# The first stage sees every event: its clean evaluations are counted as events less the
# unclean ones, which are rare, instead of one increment per event.
_FIRST_FILTER_TEST = """            if value is not True:
                if value is not False:
                    owner.line_num = n
                    unclean += 1
                    <bind20>settle@(s, value)
                continue
"""


def lean_steps(stage_fns) -> list | None:
    """``[("exec", run, failed) | ("filter", run, settle, index)]`` when every stage is lean."""
    steps = []
    for fn in stage_fns:
        lean, lean_filter = getattr(fn, "lean", None), getattr(fn, "lean_filter", None)
        if lean is not None:
            steps.append(("exec", *lean, unique_token(getattr(fn, "program", None))))
        elif lean_filter is not None and not lean_filter[3]:
            steps.append(("filter", *lean_filter[:3]))
        else:
            return None
    return steps


def unique_token(prog) -> tuple | None:
    """``(name, field, domain)`` when *prog* is exactly ``track_unique(NAME, pseudonym(e.FIELD,
    DOMAIN))`` with literal texts and no functions or prelude of its own, else None."""
    from kelora.lang import ast

    script = getattr(prog, "ast", None)
    if script is None or script.fns or prog.prelude_ast is not None or len(script.stmts) != 1:
        return None
    call = script.stmts[0]
    if not (type(call) is ast.Call and call.name == "track_unique" and not call.method and not call.optional
            and len(call.args) == 2):
        return None
    name, inner = call.args
    if not (type(name) is ast.Literal and type(name.value) is str and type(inner) is ast.Call
            and inner.name == "pseudonym" and not inner.method and not inner.optional and len(inner.args) == 2):
        return None
    field, domain = inner.args
    if not (type(field) is ast.Prop and not field.optional and type(field.obj) is ast.Var and field.obj.name == "e"
            and type(domain) is ast.Literal and type(domain.value) is str and domain.value):
        return None
    return name.value, field.name, domain.value


def _unique_binder(name: str, domain: str):
    """``bind(ctx) -> (token lookup, the metric's seen set, the pseudonymizer)`` once the metric
    and the domain's cached pseudonymizer exist (they are created by the stage's first run), else
    the unbound triple."""
    from kelora.metrics.store import UniqueMetric

    def bind(ctx):
        keyring = ctx.keyring
        m = ctx.metrics.metrics.get(name)
        if keyring is None or type(m) is not UniqueMetric:
            return _NO_TOKEN, _unbound, None
        fn = keyring.by_domain.get(domain)
        cache = getattr(fn, "cache", None)
        if cache is None:  # (a lifecycle wrapper: every value goes through it)
            return _NO_TOKEN, _unbound, None
        return cache.get, m.seen, fn
    return bind


_unbound = frozenset()  # (an empty "seen": nothing is skipped until bound)
_NO_TOKEN = {}.get


# stats (observe="chunk"): the events as read are handed to observe_in in chunks (before a slow
# line, which observes its own event, and at the end: the order of first sight is kept)
_CHUNK_IN = """
            chunk_add(_e)
            if not n & 63:  # (every 64 lines; a slow line hands the chunk over early)
                observe_in(chunk)
                chunk.clear()"""
_FLUSH = """
                if chunk:
                    observe_in(chunk)
                    chunk.clear()"""
# stats (observe="values", report.observe.ValueObserver): each event's keys join the keys seen
# here, and only the values of its timestamp and level keys (named by the observer's replan)
# are kept; nothing waits for the stages, which may change the event
_VALUES_IN = """
            keys_seen.update(_e)
            if len(keys_seen) != nkeys:  # (a key not seen before: what to pick may change)
                nkeys, tk, lk = replan(times, levels)
            if tk is _WHOLE:
                observe_one(_e)
            else:
                times.append(_e.get(tk))
                levels.append(_e.get(lk))
            if not n & 63:
                observe_in(times, levels)"""
_VALUES_FLUSH = """
                if times or levels:
                    observe_in(times, levels)"""
_VALUES_INIT = """    times = []
    levels = []
    keys_seen = observe_in.keys_into
    replan, observe_one = observe_in.replan, observe_in.one
    nkeys = -1
    tk = lk = None
"""
# ... and the events written, to observe_out in chunks too (they are not changed once written;
# the output observations are sets and a span: their order does not matter)
_CHUNK_OUT = """
                written_add(<event>)
                if len(written_events) >= 512:
                    observe_out(written_events)
                    written_events.clear()"""
_FLUSH_OUT = """
        if written_events:
            observe_out(written_events)
            written_events.clear()"""

# the observations still in hand when the loop ends; a signal that came as the input ended (the
# read saw the end of the pipe, so Python runs the handler only at the next call) is raised by
# the first call here: the chunks are handed over all the same, then the signal goes on
_FINAL_FLUSH = """
        _stop = None
        for _ in (0, 1):
            try:<flushes>
                break
            except KeyboardInterrupt as exc:
                _stop = exc
        if _stop is not None:
            raise _stop"""


# the line read exactly when it holds a run of 20 digits (and dashes): an integer orjson read
# as a float can be there
_FULL_CHECK = ("\n                    if big in raw.translate(digits):  # an integer orjson read as a float"
               "\n                        _e = exact(raw, _e)")


def _keyed_check(keys: frozenset) -> str:
    """The same, only when one of *keys* (those the stages read) holds a float or a container,
    where such a float can be; placed after the test that the line is an object.  (subscripts,
    which 3.11 specialises for dicts, cost less than .get calls: ~1,000 instructions per event
    on T2; an event without one of the keys takes .get)"""
    if not keys:
        return ""
    sub = " or ".join(f"type(_e[{k!r}]) in risky" for k in sorted(keys))
    get = " or ".join(f"type(_e.get({k!r})) in risky" for k in sorted(keys))
    return ("\n            try:"
            f"\n                if ({sub}) and big in raw.translate(digits):"
            "\n                    _e = exact(raw, _e)"
            "\n            except KeyError:"
            f"\n                if ({get}) and big in raw.translate(digits):"
            "\n                    _e = exact(raw, _e)")


def build_loop(steps: list, writes: bool = True, observe: str | None = None, changes: bool = False,
               keys: frozenset | None = None, observe_written: bool = True,
               exact_keys: frozenset | None = None):
    """``loop(stream, n, owner, scope, fmt, write, write_error, slow, max_bytes, tally,
    observe_in, observe_out)`` for *steps* (from :func:`lean_steps`); *writes* False: ``fmt``
    is None and events are only counted (see the module doc).  *observe* (stats): "chunk" calls
    ``observe_in(list of events)`` (when no stage changes them: report.observe.ChunkObserver),
    "values" adds each event's keys to ``observe_in.keys_into`` and hands ``observe_in`` the
    lists of its timestamp and level values (report.observe.ValueObserver); both call
    ``observe_out(list of events)`` with the events written (or counted as written), in
    chunks, unless *observe_written* is False (the caller takes their observations from the
    input's).  *changes*: a filter may change the event (then, as with exec stages, integers
    beyond 64 bits are read exactly before the stages run: the output-side re-read of the line
    would lose the filter's changes).  *keys*: the event's top-level keys the stages may read
    (``Program.event_reads`` of them all), None: any; *exact_keys*: those of them whose exact
    digits can matter (``Program.exact_reads``; a filter-only loop checks just these)."""
    from orjson import JSONDecodeError, loads

    # the first filter whose program is one generated expression is written in (only one:
    # its helper names _t1, _f1... are its own)
    inline_at = next((i for i, st in enumerate(steps) if st[0] == "filter" and hasattr(st[1], "inline")), None)
    inline = steps[inline_at][1].inline if inline_at is not None else None
    # the scope holds the event for every program called; the inline expression alone may not
    # need it
    bound = any(i != inline_at for i in range(len(steps))) or (
        inline is not None and re.search(r"\bs\b", inline[0]) is not None)
    bind = "" if bound else "s.e = _e\n" + " " * 16
    ns: dict = dict(inline[1]) if inline is not None else {}
    body: list[str] = []
    filters = []
    tokens: list[int] = []  # exec steps with the T3 shortcut
    exec_seen = False
    # one T3 stage alone changes no event: the exact re-read of huge integers is needed only
    # before it runs the stage (on output, as with no stages, a written huge float is re-checked)
    defer = (len(steps) == 1 and steps[0][0] == "exec" and len(steps[0]) > 3 and steps[0][3] is not None
             and observe is None)  # (a filter step's [3] is its index, not a shape)
    late_bind = defer and not writes  # (a hit then ends the event: only a stage run needs the scope)
    for i, step in enumerate(steps):
        if step[0] == "exec":
            ns[f"run{i}"], ns[f"failed{i}"] = step[1], step[2]
            shape = step[3] if len(step) > 3 else None
            if shape is None:
                body.append(_EXEC.replace("@", str(i)))
            else:  # the T3 shortcut: the stage runs (indented) only when it may change something
                ns[f"bind{i}"] = _unique_binder(shape[0], shape[2])
                tokens.append(i)
                check = (("\n            s.e = _e" if late_bind else "") +
                         "\n            if big in raw.translate(digits):  # (deferred: see `defer`)"
                         "\n                s.e = _e = exact(raw, _e)") if defer else ""
                general = check + _EXEC + _REBIND
                if i == len(steps) - 1 and not writes:
                    code = _UNIQUE_LAST
                else:
                    code = _UNIQUE
                    general = general.replace("\n            ", "\n                ")
                code = code.replace("<field>", repr(shape[1])).replace("<name>", repr(shape[0])).replace(
                    "<event>", "s.e" if exec_seen else "_e")
                body.append((code + general).replace("@", str(i)))
            exec_seen = True
            continue
        ns[f"run{i}"], ns[f"settle{i}"] = step[1], step[2]
        filters.append((i, step[3]))
        if i == inline_at:
            code = _FILTER_INLINE.replace("<bind>", bind)
            if exec_seen:  # an exec stage may have replaced the event
                code = "            _e = s.e" + code
        else:
            code = _FILTER_CALL
        first = i == 0
        test = (_FIRST_FILTER_TEST if first else _FILTER_TEST).replace(
            "<bind20>", bind.replace(" " * 16, " " * 20) if i == inline_at else "")
        pad = " " * (20 if i == inline_at else 16)
        code = code.replace("<unclean>", "unclean += 1\n" + pad if first else "")
        body.append((code + test).replace("@", str(i)))
    from kelora.formats.exactjson import DIGITS, RUN, exact, refmt, unread_exact
    from kelora.values import BIG_FLOAT_WRITTEN

    # integers beyond 64 bits (kelora/formats/exactjson.py): stages see exact values from the
    # start (a filter that reads e.id must not compare the float orjson made of it); without
    # stages, only lines whose output shows a huge float are looked at.  Only filters: nothing
    # changes the event, so such an output re-reads the whole line (refmt), as without stages;
    # and a key a filter only compares with a small number (`e.status >= 500`) is not checked.
    only_filters = bool(filters) and not (exec_seen or changes)
    if only_filters:
        checks = ("", _keyed_check(exact_keys)) if exact_keys is not None and keys is not None else (_FULL_CHECK, "")
        checks = (checks[0], "\n            if written[0]:"
                             "\n                data = refmt(raw, data, fmt)", checks[1])
    elif (exec_seen or changes) and not defer and keys is not None and observe is None:
        # The stages read only *keys*: the line is looked at when one of them holds a float or a
        # container (where an integer orjson read as a float can be); an output showing a huge
        # float takes the other keys' values from the exact reading where the stages left them
        # as read (exactjson.unread_exact).  (A translate and search of every line cost T2 ~8%.)
        checks = ("",
                  "\n            if written[0]:"
                  "\n                data = unread_exact(raw, <event>, data, fmt, reads)", _keyed_check(keys))
    elif (exec_seen or changes) and not defer:
        checks = (_FULL_CHECK, "", "")
    else:
        checks = ("", "\n            if written[0]:"
                      "\n                data = refmt(raw, data, fmt)", "")
    if not writes:
        checks = (checks[0], "", checks[2])
    ns.update(_unbound=_unbound, _NO_TOKEN=_NO_TOKEN)
    if observe == "values":
        from kelora.report.observe import WHOLE

        ns["_WHOLE"] = WHOLE
    if tokens:  # (the T3 shortcut's own call)
        from kelora.builtins.tracking import track_unique

        ns["track_unique"] = track_unique
    ns.update(loads=loads, JSONDecodeError=JSONDecodeError, SkipEvent=SkipEvent,
              big=RUN, digits=DIGITS, exact=exact, written=BIG_FLOAT_WRITTEN, refmt=refmt,
              unread_exact=unread_exact, reads=keys, risky=frozenset({float, dict, list}),
              ScriptRuntimeError=ScriptRuntimeError)
    # clean evaluations per filter; the first stage's are derived (see _FIRST_FILTER_TEST)
    oks = [("(n - first - slow_lines - unclean)" if i == 0 else f"ok{i}") for i, _ in filters]
    # (an event counted as written is observed as one written: --stats suppresses the output)
    out = observe and observe_written
    tail = (_TAIL if writes else _TAIL_COUNT).replace("<observe_out>", _CHUNK_OUT if out else "")
    flush = _FLUSH if observe == "chunk" else _VALUES_FLUSH if observe == "values" else ""
    final = flush + (_FLUSH_OUT.replace("\n", "\n        ") if out else "")
    tail = tail.replace("<final_flush>", _FINAL_FLUSH.replace("<flushes>", final) if final else "")
    head = _HEAD.replace("<flush>", flush).replace(
        "<observe_in>", _CHUNK_IN if observe == "chunk" else _VALUES_IN if observe == "values" else "")
    if observe:
        head = head.replace("    try:\n        for raw", ("    chunk = []\n    chunk_add = chunk.append\n" if observe == "chunk" else
                                                       _VALUES_INIT if observe == "values" else "")
                            + ("    written_events = []\n    written_add = written_events.append\n" if out else "")
                            + "    try:\n        for raw")
    source = (head.replace("<input_check>", checks[0]).replace("<event_check>", checks[2]).replace("<ok_init>", "".join(f"    {name} = 0\n" for name in oks if name.startswith("ok"))
                            + "    unclean = 0\n" + "".join(f"    tok{i}, seen{i}, pfn{i} = _NO_TOKEN, _unbound, None\n" for i in tokens))
              + ("            s.e = _e\n" if bound and not late_bind else "")
              + "".join(body)
              + tail.replace("<output_check>", checks[1]).replace("<event>", "s.e" if exec_seen else "_e").replace(
                  "<oks>", "(" + "".join(f"{x}, " for x in oks) + ")"))
    if inline is not None:
        source = source.replace("<expr>", inline[0])  # last: the expression may hold any text
    exec(compile(source, "<kelora read loop>", "exec"), ns)  # noqa: S102 - our own template
    loop = ns["loop"]
    loop.filter_indexes = tuple(index for _, index in filters)  # the order of the ok counts
    loop.source_code = source
    loop.observe = observe
    loop.changes = changes
    loop.observe_written = observe_written
    return loop
