"""Per-event stage functions: one closure per `--filter`/`-e`/`--assert`/`-l`/`-L` stage.

Each stage is ``fn(scope) -> result`` where result is ``True`` (go on), ``False`` (the event is
dropped: counted as filtered), ``DROPPED_BY_ERROR`` (dropped because the stage failed: counted as
errored) or a list of new events (``emit_each``: the current event is replaced by these, which
run through the remaining stages).

Atomicity (reference §6.1, COMPAT D1/D11): an exec stage that fails leaves the event, the
event's ``let`` variables and its ``track_*`` calls exactly as before the stage.  Only what the
compiled program says it may change is snapshotted, so a stage that cannot mutate costs nothing.

Privacy stages fail closed per field (COMPAT D17): when a stage that may call a value-hiding
function fails, the event is restored as above and then every field the stage may assign or
remove (``Program.targets``, computed from the AST) is taken out, so no raw value that the stage
was meant to hide is passed on; a stage whose targets cannot be listed drops the event.
``--fail-closed`` drops every failed event; ``--fail-open`` keeps Kelora's restore.
"""
from __future__ import annotations

import copy
from typing import Callable

from kelora.builtins import registry
from kelora.context import RunContext, Scope
from kelora.errors import ScriptRuntimeError, SkipEvent
from kelora.formats.fields import LEVEL_KEYS

MISSING_FIELD = ("Missing field during expression evaluation: {detail}. Check field names, or use "
                 "e.has(...) / e.get_path(...) when the field is optional.")


# Stage result for an event dropped because its stage failed (--fail-closed, conf mutation):
# counted as `events.errored`, not as filtered.
DROPPED_BY_ERROR = None


def withhold(e: dict | None, paths) -> int:
    """Take each key path out of *e* (D17); the number of fields that were there."""
    n = 0
    if not e:
        return 0
    for path in paths:
        cont = e
        for key in path[:-1]:
            cont = cont.get(key) if type(cont) is dict else None
            if cont is None:
                break
        if type(cont) is dict and path[-1] in cont:
            del cont[path[-1]]
            n += 1
    return n


class StageFailed(Exception):
    """--strict: the first per-event error ends the run."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def describe(err: ScriptRuntimeError) -> str:
    """The one-line message used in per-event error lines and in the summary."""
    where = err.location()
    label = err.source.label if err.source else "script"
    at = f" [{label} at {where}]" if where else f" [{label}]"
    if err.missing_field:
        return MISSING_FIELD.format(detail=f"{err.message}{at}")
    msg = err.message
    if err.hint:
        msg += f". {err.hint[:1].upper()}{err.hint[1:]}"
    return msg + at


class StageBuilder:
    """Builds stage closures bound to one run's context, error log and policies."""

    def __init__(self, ctx: RunContext, record_error: Callable[[str, Scope, str, int | None], str],
                 *, strict: bool, fail_closed: bool, assert_failed: Callable[[str, Scope], None],
                 fail_open: bool = False, withheld: Callable[[int], None] | None = None):
        self.ctx = ctx
        self.record_error = record_error  # (kind, scope, message, filter_index)
        self.strict = strict
        self.fail_closed = fail_closed
        self.fail_open = fail_open
        self.withheld = withheld  # (number of fields withheld from one event; -1: event dropped)
        self.assert_failed = assert_failed
        self.filter_ok: dict[int, int] = {}
        self.first_error: list = [None]  # the first runtime error, rendered by the summary

    # ------------------------------------------------------------------ exec
    def exec_stage(self, prog) -> Callable[[Scope], object]:
        ctx = self.ctx
        run = prog.run
        # no snapshot when the program cannot fail after its first write (Program.writes_last)
        mutates = prog.mutates_event and not prog.writes_last
        nested = prog.mutates_nested
        declares = prog.declares_vars
        calls = prog.calls
        # a lone track_* call records nothing when it fails: no queue (Program.tracks_last)
        tracks = registry.has_effect(calls, "metrics") and not prog.tracks_last
        emits = registry.has_effect(calls, "emit")
        # file writes wait for their stage to succeed (ctx.pending_io)
        writes = registry.has_effect(calls, "io")
        record, strict, fail_closed = self.record_error, self.strict, self.fail_closed
        deepcopy = copy.deepcopy
        # a privacy stage (D17): on failure, withhold its targets instead of passing them on raw
        targets = prog.targets if prog.privacy and not (fail_closed or self.fail_open) else None
        paths = targets.paths if targets is not None else ()
        drop_whole = targets is not None and targets.whole
        on_withheld = self.withheld or (lambda n: None)
        first = self.first_error

        def failed(scope: Scope, err: ScriptRuntimeError):
            """Report a run that raised (the event was restored); the result for the event."""
            if err.kind == "conf-readonly":
                record("script", scope, err.message, None)
                if strict:
                    raise StageFailed(err.message)
                return DROPPED_BY_ERROR
            message = describe(err)
            if first[0] is None:
                first[0] = err
            where = record("exec", scope, message, None)
            if strict:  # (the input line too: --strict stops with this one line)
                raise StageFailed(f"exec error: {message}" + (f" (input {where})" if where else ""))
            if targets is not None:
                if drop_whole:
                    on_withheld(-1)
                    return DROPPED_BY_ERROR
                n = withhold(scope.e, paths)
                if n:
                    on_withheld(n)
                return True
            return DROPPED_BY_ERROR if fail_closed else True

        if not (mutates or declares or tracks or emits or writes):
            # nothing to snapshot, queue or collect (T2's stages): the lean form
            def lean_stage(scope: Scope):
                try:
                    run(scope)
                except SkipEvent:
                    return False
                except ScriptRuntimeError as err:
                    return failed(scope, err)
                if scope.e is None:
                    scope.e = {}  # `e = ()`: nothing is output, but later stages still run
                return True

            # the same steps, for a caller's loop that inlines them (Pipeline._read_json_fast)
            lean_stage.lean = (run, failed)  # type: ignore[attr-defined]
            lean_stage.program = prog  # type: ignore[attr-defined]  # (fastloop.unique_token)
            return lean_stage

        def stage(scope: Scope):
            e = scope.e
            snapshot = None
            if mutates and e is not None:
                snapshot = deepcopy(e) if nested else e.copy()
            vars_snapshot = scope.vars.copy() if declares else None
            if tracks:
                ctx.pending = []
            if emits:
                ctx.emitted = []
                ctx.emitted_called = False
            if writes:
                ctx.pending_io = []
            try:
                run(scope)
            except SkipEvent:
                _discard()
                return False
            except ScriptRuntimeError as err:
                _discard()
                if snapshot is not None:
                    scope.e = snapshot
                if vars_snapshot is not None:
                    scope.vars = vars_snapshot
                return failed(scope, err)
            if tracks:
                pending = ctx.pending
                ctx.pending = None
                if pending:
                    ctx.metrics.commit(pending)
            if writes:
                ops, ctx.pending_io = ctx.pending_io, None
                for op in ops:
                    op()
            if scope.e is None:
                scope.e = {}  # `e = ()`: nothing is output, but later stages still run
            if emits:
                emitted, called = ctx.emitted, ctx.emitted_called
                ctx.emitted = None
                if called:
                    return emitted
            return True

        def _discard():
            ctx.pending = None
            ctx.emitted = None
            ctx.pending_io = None

        return stage

    # ------------------------------------------------------------------ filter
    def filter_stage(self, prog, index: int) -> Callable[[Scope], object]:
        run = prog.run
        record, strict = self.record_error, self.strict
        ok = self.filter_ok
        ok[index] = 0
        label = prog.source.label
        first = self.first_error

        def settle(scope: Scope, outcome) -> bool:
            """A run that gave no bool: SkipEvent, a runtime error, or a value of another type."""
            if isinstance(outcome, SkipEvent):
                return False
            if isinstance(outcome, ScriptRuntimeError):
                message = "Filter error: " + describe(outcome)
                if first[0] is None:
                    first[0] = outcome
            else:
                from kelora.values import type_name

                message = (f"Filter error: the filter must return a bool, got {type_name(outcome)} (in {label}); "
                           "compare the value (`e.status >= 500`) or test that it is set (`e.status != ()`)")
            where = record("filter", scope, message, index)
            if strict:
                raise StageFailed(message + (f" (input {where})" if where else ""))
            return False

        def stage(scope: Scope):
            try:
                value = run(scope)
            except (SkipEvent, ScriptRuntimeError) as exc:
                return settle(scope, exc)
            if value is True or value is False:
                ok[index] += 1  # a clean evaluation (see RunEnd.exit_code)
                return value
            return settle(scope, value)

        # the same steps, for a read loop that inlines them (InputLoop._read_json_filter)
        stage.lean_filter = (run, settle, index, prog.declares_vars)  # type: ignore[attr-defined]
        stage.program = prog  # type: ignore[attr-defined]  # (whether it may change the event)
        return stage

    # ------------------------------------------------------------------ assert
    def assert_stage(self, prog) -> Callable[[Scope], object]:
        run = prog.run
        failed = self.assert_failed
        text = prog.source.text

        def stage(scope: Scope):
            try:
                ok = run(scope) is True
            except ScriptRuntimeError:
                ok = False
            if not ok:
                failed(text, scope)
            return True

        return stage

    # ------------------------------------------------------------------ levels
    @staticmethod
    def levels_stage(levels: str, keep: bool) -> Callable[[Scope], object]:
        wanted = frozenset(x.strip().lower() for x in levels.split(",") if x.strip())
        keys = LEVEL_KEYS

        def stage(scope: Scope):
            e = scope.e
            level = None
            for key in keys:
                v = e.get(key)
                if type(v) is str:
                    level = v
                    break
            if level is None:
                return not keep  # -l drops events without a level; -L keeps them
            return (level.lower() in wanted) is keep

        return stage
