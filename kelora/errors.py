"""The error types of kelora, and the one renderer for script errors.

Every failure a user can cause ends as a ``KeloraError`` subclass; ``cli.main`` maps them to
exit codes (see ``status.py``) so no Python traceback ever reaches the terminal.

Script errors carry a ``Span`` (character offsets into the script text) and the ``Source`` they
came from, and ``ScriptError.render()`` draws the stage label, ``line:col``, the source line and a
caret under the span.  Builtins raise the light ``FunctionError`` with just a message; the call
node that invoked them attaches the span (they never know where they were called from).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` in a script's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Source:
    """A script and the name users know it by (``exec script 2``, ``filter``, ``begin``)."""

    label: str
    text: str

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - line_start + 1

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""


class KeloraError(Exception):
    """Base of every error kelora reports to the user."""

    # the whole text the command line prints for it, where that is more than the message (the
    # Python API's script errors: the located report; kelora.api), else None
    report: str | None = None

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.report is None else self.report


class UsageError(KeloraError):
    """Bad command line or configuration: exit 2, before any input is read."""


class FatalError(KeloraError):
    """A run that cannot go on (unreadable output target, begin/end failure...): exit 1."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 1):
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


class FunctionError(KeloraError):
    """Raised by a builtin; the calling node turns it into a ScriptRuntimeError with a span.

    ``missing_field`` marks errors caused by a ``()`` argument (usually a field-name typo), which
    the error summary explains with a dedicated hint.
    """

    kind = "runtime"  # "limit" for the size/operation limits (kelora.builtins.limits)

    def __init__(self, message: str, *, hint: str | None = None, missing_field: bool = False):
        super().__init__(message, hint=hint)
        self.missing_field = missing_field


class ScriptError(KeloraError):
    """An error located in a script: syntax, compile (check) or runtime."""

    phase = "script"

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        span: Span | None = None,
        source: Source | None = None,
        hint: str | None = None,
        missing_field: bool = False,
    ):
        super().__init__(message, hint=hint)
        self.kind = kind
        self.span = span
        self.source = source
        self.missing_field = missing_field

    def with_source(self, source: Source, scope=None) -> "ScriptError":
        if self.source is None:
            self.source = source
        if scope is not None and self.missing_field:
            scope.ctx.explain_missing(self, scope)  # which field was missing (cold path)
        return self

    def location(self) -> str:
        if self.source is None or self.span is None:
            return ""
        line, col = self.source.line_col(self.span.start)
        return f"{line}:{col}"

    def render(self) -> str:
        """Multi-line report: what, where (label line:col), the line, a caret, a hint."""
        head = f"{self.source.label if self.source else 'script'} {self.phase} error"
        out = [head]
        if self.source is not None and self.span is not None:
            line, col = self.source.line_col(self.span.start)
            text = self.source.line_text(line)
            out.append(f"  At {line}:{col} in {self.source.label}")
            gutter = str(line)
            pad = " " * len(gutter)
            end_line, _ = self.source.line_col(max(self.span.start, self.span.end - 1))
            width = (self.span.end - self.span.start) if end_line == line else len(text) - col + 1
            width = max(1, min(width, max(1, len(text) - col + 1)))
            out.append(f"  {gutter} | {text}")
            out.append(f"  {pad} | {_caret(text, col - 1, width)}")
        out.append(f"  Error: {self.message}")
        if self.hint:
            out.append(f"  Hint: {self.hint}")
        return "\n".join(out)


class ScriptWarning(ScriptError):
    """A likely mistake that runs anyway (issue 14's silent traps): shown, never raised."""

    phase = "warning"

    def render(self) -> str:
        lines = ScriptError.render(self).split("\n")[1:]  # At / line / caret / Error / Hint
        body = [ln for ln in lines if not ln.startswith("  Error: ")]
        return "\n".join([self.message, *body])


def _cell_width(ch: str) -> int:
    """Terminal cells of one character: 2 for wide (CJK, most emoji), 0 for combining marks."""
    if ch in "\u200d\ufe0f\ufe0e" or ("\u0300" <= ch <= "\u036f"):
        return 0
    if ord(ch) < 0x1100:
        return 1
    import unicodedata

    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _caret(text: str, start: int, width: int) -> str:
    """The caret line under text[start:start+width]: tabs kept (so they expand alike), wide
    characters counted as two cells."""
    pad = "".join("\t" if ch == "\t" else " " * _cell_width(ch) for ch in text[:start])
    cells = sum(_cell_width(ch) if ch != "\t" else 1 for ch in text[start:start + width])
    return pad + "^" * max(1, cells)


class ScriptSyntaxError(ScriptError):
    phase = "syntax"


class ScriptCompileError(ScriptError):
    phase = "compile"


class ScriptRuntimeError(ScriptError):
    phase = "runtime"

    def __init__(self, message: str, *, kind: str = "runtime", value: object = None, **kw):
        super().__init__(message, kind=kind, **kw)
        self.value = value  # the thrown value for `throw` / catch (err)

    def short(self) -> str:
        """One-line form for per-event error lines and summaries."""
        msg = self.message
        if self.hint:
            msg = f"{msg}. {self.hint}"
        loc = self.location()
        return f"{msg} (at {loc})" if loc else msg


class InputError(KeloraError):
    """A line that could not be parsed in the chosen input format."""


# Control flow raised by builtins and handled by the pipeline (not errors).
class SkipEvent(Exception):
    """`skip()`: drop the current event; later stages do not run."""


class ExitRequest(Exception):
    """`exit(code [, msg])`: stop the whole run at once with this exit code."""

    def __init__(self, code: int, message: str | None = None):
        super().__init__(code)
        self.code = max(0, min(255, int(code)))
        self.message = message
