"""Environment and file builtins: get_env, read_file/read_lines (--begin only), writes.

Reading is limited to the ``--begin`` stage (lookup tables are loaded once, not per event).
Writing (append_file, truncate_file, mkdir) needs ``--allow-fs-writes``: scripts are often
copied from documentation, and a log filter should not create files by surprise.

No script reaches the pseudonym secret (COMPAT D16): ``get_env`` refuses the secret variables,
and every file function refuses ``/proc``, ``/sys`` and ``/dev`` and the secret file itself
(by device and inode, through symlinks), checked on the opened descriptor (``kelora.fileguard``).
The writers also refuse kelora's own state (config files, the trust list, the parser cache):
a script must not trust a config or plant code for the next run.
"""
from __future__ import annotations

import os

from kelora import fileguard, values
from kelora.builtins.limits import MAX_STR, want_list, want_str
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError
from kelora.keyring import is_secret_variable
from kelora.safetext import ERRORS

_NOTHING = object()
_BOM = "\ufeff"


@builtin("files", pass_context=True, shares=True)
def get_env(ctx, name: str, default: object = _NOTHING) -> object:
    """The value of an environment variable, else default ("" when not given).

    The pseudonym secret variables (KELORA_SECRET, KELORA_SECRET_FILE, any KELORA_*SECRET*,
    KELORA_ESCROW_KEY*) are not readable: scripts get an error, so no script can copy the secret
    (or learn where it is kept) into the output.

    Examples:
        get_env("KELORA_SURELY_UNSET_VARIABLE_X", "fallback")  =>  "fallback"
        get_env("KELORA_SECRET")  =>  !error not readable
        get_env("KELORA_SECRET_FILE")  =>  !error not readable
    """
    if is_secret_variable(name):
        raise FunctionError(f"get_env(): {name} is not readable from scripts (it names the pseudonym secret)")
    try:
        v = ctx.env.get(name)
    except UnicodeError:  # a lone surrogate cannot name a variable (the OS has bytes): unset
        v = None
    if v is None:
        return "" if default is _NOTHING else default
    return v


def _require_begin(ctx, fn: str) -> None:
    if ctx.stage != "begin":
        raise FunctionError(f"{fn}() can only be called during --begin phase")


def _read_text(ctx, fn: str, path: str) -> str:
    """The file's text, within the string limit; a FIFO or device is refused, not waited on
    (``fileguard.read_own_file``: one bounded, non-blocking read of a regular file)."""
    fileguard.check_script_path(ctx, fn, path)
    try:
        data, _ = fileguard.read_own_file(path, cap=4 * MAX_STR,  # (a character: at most 4 bytes)
                                          check=lambda st: fileguard.check_script_stat(ctx, fn, path, st))
    except fileguard.OwnFileRefused as why:
        if why.too_big:
            want_str(4 * MAX_STR + 1, fn)
        raise FunctionError(f"{fn}(): cannot read '{path}': {why}") from None
    except OSError as err:
        raise FunctionError(f"{fn}(): cannot read '{path}': {err.strerror or err}") from None
    text = data.decode("utf-8", "replace")
    want_str(len(text), fn)
    return text[1:] if text.startswith(_BOM) else text


@builtin("files", pass_context=True)
def read_file(ctx, path: str) -> str:
    """The whole content of a UTF-8 text file (a BOM is dropped). Only in --begin.

    Examples:
        try { read_file("lookup.txt") } catch (err) { "only in --begin" }  =>  "only in --begin"
    """
    _require_begin(ctx, "read_file")
    return _read_text(ctx, "read_file", path)


@builtin("files", pass_context=True)
def read_lines(ctx, path: str) -> list:
    """The lines of a UTF-8 text file, without line terminators. Only in --begin.

    Lines end at a line feed (a carriage return before it is dropped), as Kelora's: other
    characters some languages take as line breaks (form feed, U+2028...) stay in the line.

    Examples:
        try { read_lines("lookup.txt") } catch (err) { "only in --begin" }  =>  "only in --begin"
    """
    _require_begin(ctx, "read_lines")
    text = _read_text(ctx, "read_lines", path)
    lines = text.split("\n")
    if lines[-1] == "":  # (a final line end starts no line)
        lines.pop()
    want_list(len(lines), "read_lines")
    last = len(lines) - 1 if not text.endswith("\n") else len(lines)
    return [line[:-1] if i < last and line.endswith("\r") else line for i, line in enumerate(lines)]


def _require_writes(ctx, fn: str) -> None:
    if not ctx.allow_fs_writes:
        raise FunctionError(
            f"{fn}() writes to the file system; run with --allow-fs-writes to permit it"
        )


def _write_op(ctx, fn: str, op) -> None:
    """Run a file write now, or, inside an -e stage, when the stage succeeds.

    Reference §6.1: a failing stage discards its pending file operations with everything else.
    A write that fails after its stage committed can no longer undo the stage: it is a warning,
    or with --strict the end of the run (exit 1).
    """
    pending = getattr(ctx, "pending_io", None)
    if pending is None:
        op()
        return

    def deferred():
        try:
            op()
        except FunctionError as err:
            if ctx.strict:  # --strict: a failed write stops the run (exit 1), as in Kelora
                from kelora.errors import FatalError

                raise FatalError(f"Pipeline error: {err.message}") from None
            ctx.diag.warn(err.message)

    pending.append(deferred)


@builtin("files", pass_context=True, effects={"io"})
def append_file(ctx, path: str, content: str | list) -> None:
    """Append text (or each element of an array as one line) to a file. Needs --allow-fs-writes.

    A string is written as given plus a newline when it does not end with one.

    Examples:
        try { append_file("out.txt", "x") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "append_file")
    fileguard.check_script_write(ctx, "append_file", path)
    if type(content) is list:
        text = "".join(values.to_string(x) + "\n" for x in content)
    else:
        text = content if content.endswith("\n") else content + "\n"
    def op():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                fileguard.check_script_write_fd(ctx, "append_file", path, fd)
                data = text.encode("utf-8", ERRORS)
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)
        except OSError as err:
            raise FunctionError(f"append_file(): cannot write '{path}': {err.strerror or err}") from None

    _write_op(ctx, "append_file", op)


@builtin("files", pass_context=True, effects={"io"})
def truncate_file(ctx, path: str) -> None:
    """Create the file or empty it. Needs --allow-fs-writes.

    Examples:
        try { truncate_file("out.txt") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "truncate_file")
    fileguard.check_script_write(ctx, "truncate_file", path)

    def op():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)  # truncated only after the check
            try:
                fileguard.check_script_write_fd(ctx, "truncate_file", path, fd)
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)
        except OSError as err:
            raise FunctionError(f"truncate_file(): cannot write '{path}': {err.strerror or err}") from None

    _write_op(ctx, "truncate_file", op)


@builtin("files", pass_context=True, effects={"io"})
def mkdir(ctx, path: str, recursive: bool = False) -> None:
    """Create a directory (with its parents when recursive); existing is fine. Needs --allow-fs-writes.

    Examples:
        try { mkdir("out") } catch (err) { "needs --allow-fs-writes" }  =>  "needs --allow-fs-writes"
    """
    _require_writes(ctx, "mkdir")
    fileguard.check_script_write(ctx, "mkdir", path)

    def op():
        try:
            if recursive:
                os.makedirs(path, exist_ok=True)
            elif not os.path.isdir(path):
                os.mkdir(path)
        except OSError as err:
            raise FunctionError(f"mkdir(): cannot create '{path}': {err.strerror or err}") from None

    _write_op(ctx, "mkdir", op)
