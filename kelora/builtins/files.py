"""Environment and file builtins: get_env, read_file/read_lines (--begin only), writes.

Reading is limited to the ``--begin`` stage (lookup tables are loaded once, not per event).
Writing (append_file, truncate_file, mkdir) needs ``--allow-fs-writes``: scripts are often
copied from documentation, and a log filter should not create files by surprise.
"""
from __future__ import annotations

import os

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

_NOTHING = object()
_BOM = "\ufeff"


SECRET_VARIABLES = frozenset({"KELORA_SECRET"})  # never handed to scripts


@builtin("files", pass_context=True, shares=True)
def get_env(ctx, name: str, default: object = _NOTHING) -> object:
    """The value of an environment variable, else default ("" when not given).

    The pseudonym secret (KELORA_SECRET) is not readable: scripts get an error, so no script
    can copy the secret into the output.

    Examples:
        get_env("KELORA_SURELY_UNSET_VARIABLE_X", "fallback")  =>  "fallback"
        get_env("KELORA_SECRET")  =>  !error not readable
    """
    if name in SECRET_VARIABLES:
        raise FunctionError(f"get_env(): {name} is not readable from scripts (it holds the pseudonym secret)")
    v = ctx.env.get(name)
    if v is None:
        return "" if default is _NOTHING else default
    return v


def _require_begin(ctx, fn: str) -> None:
    if ctx.stage != "begin":
        raise FunctionError(f"{fn}() can only be called during --begin phase")


def _read_text(fn: str, path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise FunctionError(f"{fn}(): cannot read '{path}': {err.strerror or err}") from None
    text = data.decode("utf-8", "replace")
    return text[1:] if text.startswith(_BOM) else text


@builtin("files", pass_context=True)
def read_file(ctx, path: str) -> str:
    """The whole content of a UTF-8 text file (a BOM is dropped). Only in --begin.

    Examples:
        try { read_file("lookup.txt") } catch (err) { "only in --begin" }  =>  "only in --begin"
    """
    _require_begin(ctx, "read_file")
    return _read_text("read_file", path)


@builtin("files", pass_context=True)
def read_lines(ctx, path: str) -> list:
    """The lines of a UTF-8 text file, without line terminators. Only in --begin.

    Examples:
        try { read_lines("lookup.txt") } catch (err) { "only in --begin" }  =>  "only in --begin"
    """
    _require_begin(ctx, "read_lines")
    text = _read_text("read_lines", path)
    return text.splitlines() if "\r" in text or "\n" in text else ([text] if text else [])


def _require_writes(ctx, fn: str) -> None:
    if not ctx.allow_fs_writes:
        raise FunctionError(
            f"{fn}() writes to the file system; run with --allow-fs-writes to permit it"
        )


def _write_op(ctx, fn: str, op) -> None:
    """Run a file write now, or, inside an -e stage, when the stage succeeds.

    Reference §6.1: a failing stage discards its pending file operations with everything else.
    A write that fails after its stage committed can no longer undo the stage: it is a warning.
    """
    pending = getattr(ctx, "pending_io", None)
    if pending is None:
        op()
        return

    def deferred():
        try:
            op()
        except FunctionError as err:
            ctx.diag.warn(err.message)

    pending.append(deferred)


@builtin("files", pass_context=True)
def append_file(ctx, path: str, content: str | list) -> None:
    """Append text (or each element of an array as one line) to a file. Needs --allow-fs-writes.

    A string is written as given plus a newline when it does not end with one.

    Examples:
        try { append_file("out.txt", "x") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "append_file")
    if type(content) is list:
        text = "".join(values.to_string(x) + "\n" for x in content)
    else:
        text = content if content.endswith("\n") else content + "\n"
    def op():
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as err:
            raise FunctionError(f"append_file(): cannot write '{path}': {err.strerror or err}") from None

    _write_op(ctx, "append_file", op)


@builtin("files", pass_context=True)
def truncate_file(ctx, path: str) -> None:
    """Create the file or empty it. Needs --allow-fs-writes.

    Examples:
        try { truncate_file("out.txt") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "truncate_file")

    def op():
        try:
            with open(path, "w", encoding="utf-8"):
                pass
        except OSError as err:
            raise FunctionError(f"truncate_file(): cannot write '{path}': {err.strerror or err}") from None

    _write_op(ctx, "truncate_file", op)


@builtin("files", pass_context=True)
def mkdir(ctx, path: str, recursive: bool = False) -> None:
    """Create a directory (with its parents when recursive); existing is fine. Needs --allow-fs-writes.

    Examples:
        try { mkdir("out") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "mkdir")

    def op():
        try:
            if recursive:
                os.makedirs(path, exist_ok=True)
            elif not os.path.isdir(path):
                os.mkdir(path)
        except OSError as err:
            raise FunctionError(f"mkdir(): cannot create '{path}': {err.strerror or err}") from None

    _write_op(ctx, "mkdir", op)
