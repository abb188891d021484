"""Builtins that steer the pipeline: `skip()`, `exit()`, `emit_each()`."""
from __future__ import annotations

from kelora.builtins._owned import owned
from kelora.builtins.registry import builtin
from kelora.errors import ExitRequest, FunctionError, SkipEvent


@builtin("events", pass_context=True, effects={"control"})
def skip(ctx) -> None:
    """Drop the current event; the remaining stages do not run (counted as filtered).

    Examples:
        skip()  =>  !skip
    """
    if ctx.stage in ("begin", "end"):
        raise FunctionError("skip() can only be used in per-event stages (-e, --filter)")
    raise SkipEvent()


@builtin("events", name="exit", pass_context=True, effects={"control"})
def exit_(ctx, code: int = 0, message: str | None = None) -> None:
    """Stop the whole run at once with exit code *code* (clamped to 0..255), printing *message* to stderr.

    No --end stage, metrics or stats run after it.

    Examples:
        exit(3, "done")  =>  !exit 3
    """
    raise ExitRequest(code, message)


@builtin("events", pass_context=True, effects={"emit"})
def emit_each(ctx, items: object, base: dict | None = None) -> int:
    """Replace the current event by one new event per map in *items* (with *base* keys first).

    The new events run through the remaining stages; returns how many were queued.  Items that
    are not maps are skipped with a warning; *items* that is not an array is a warning and the
    event is kept (an error with --strict).

    Examples:
        emit_each([#{a: 1}, #{a: 2}], #{src: "x"})  =>  2
    """
    if ctx.stage in ("begin", "end") or ctx.emitted is None:
        raise FunctionError(f"emit_each() can only be used in an -e stage, not in --{ctx.stage}")
    if type(items) is not list:
        from kelora.values import type_name

        if ctx.strict:
            raise FunctionError(f"emit_each(): items must be array<map>, got {type_name(items)}")
        # resilient (Kelora): a warning, and the current event is kept as it is
        ctx.diag.warn(f"emit_each(): items must be array<map>; got {type_name(items)}; returning 0")
        return 0
    count = 0
    for item in items:
        if type(item) is not dict:
            ctx.diag.warn_once("emit_each-nonmap", "emit_each(): skipping an item that is not a map")
            continue
        # copies: the new events must not share arrays/maps with this event, `conf` or each other
        event = owned(dict(base)) if base else {}
        event.update(owned(item))  # type: ignore[arg-type]
        ctx.emitted.append(event)
        count += 1
    ctx.emitted_called = True
    return count
