"""The Python API: kelora's run from a program, without a shell (docs/api.md).

    import kelora

    p = kelora.Pipeline(exec=['e.uid = pseudonym(e.email, "users")'], filter="e.status >= 500")
    for event in p.process(events):      # any iterable of dicts (or of lines: input_format=)
        ...
    p.metrics, p.stats                   # as --metrics=json and --stats=json, after the run
    kelora.main(["-j", "app.log", "-F", "csv", "-k", "ts,msg"])  # a command line -> exit code

A ``Pipeline`` is a set of options turned into a command line and checked by the very code the
``kelora`` command uses, so every option means what its flag means and every error is the
CLI's (a ``KeloraError`` subclass with the same message).  Each ``process()`` call is one run:
scripts compiled, ``--begin`` run once, events through the stages as they are pulled, and
``--end`` when the input is exhausted; only then are ``metrics`` and ``stats`` available.

The values given (scripts, key names) are passed as ``--option=value`` words, and ``args=`` is
looked over before anything parses it: no value is ever taken for an option, and an option
that would do something other than this run (write a config, print help, read files, change
the output format) is refused before it does anything.

The API never changes ``os.environ``: the secret comes from the ``secret=`` argument, or (None)
from the environment as the command reads it, and only the keyring sees it.  Diagnostics
(warnings, the error summary; control characters escaped as on a terminal) and script
``print`` output are kept in ``diagnostics`` and ``printed`` rather than written to the
process's streams.
"""
from __future__ import annotations

import io
import os
import sys
from typing import Iterable, Iterator, Sequence

from kelora.errors import FatalError, KeloraError, UsageError

_STAGE_FLAGS = {"exec": "--exec", "filter": "--filter", "assert": "--assert", "levels": "--levels",
                "exclude_levels": "--exclude-levels"}

# Options args= may not hold, and why (kelora.main runs any command line).
_ELSEWHERE = "run the command line with kelora.main([...]) instead"
_NOT_HERE = {
    **dict.fromkeys(("-F", "--output-format", "-J", "-b", "--brief", "-o", "--output-file", "-q", "--quiet",
                     "--silent", "-s", "--stats", "-m", "--metrics", "--freq", "--card", "--describe"),
                    "process() yields the events themselves, as dicts"),
    **dict.fromkeys(("--with-stats", "--with-metrics", "--metrics-file"),
                    "read p.stats and p.metrics once the run has ended"),
    **dict.fromkeys(("--no-input",), "process() takes the events"),
    **dict.fromkeys(("-P", "--parallel", "--threads", "--engine", "--scheduler", "--batch-size", "--batch-timeout",
                     "--unordered", "--insecure-transport", "-M", "--multiline", "--multiline-join", "-A",
                     "--after-context", "-B", "--before-context", "-C", "--context", "--rotation-map", "--escrow",
                     "--scan-pii"), "it needs the whole command-line run"),
    **dict.fromkeys(("-h", "--help", "--help-functions", "--help-rhai", "--help-time", "--help-multiline",
                     "-V", "--version", "--interactive", "--no-history", "--save-alias", "--show-config",
                     "--trust-config"), "it is a command of its own, not a run"),
    **dict.fromkeys(("--config-file", "-a", "--alias"), "a Pipeline reads no config file: give the options"),
}


def _texts(value, what: str) -> list[str]:
    """One text or a sequence of texts, as a list; UsageError for anything else."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if isinstance(items, (bytes, dict)) or not hasattr(items, "__iter__"):
        raise UsageError(f"{what}= takes a text or a list of texts, not a {type(value).__name__}")
    items = list(items)
    for item in items:
        if not isinstance(item, str):
            raise UsageError(f"{what}= takes a text or a list of texts; it holds a {type(item).__name__}")
    return items


def _text(value, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{what}= takes a text, not a {type(value).__name__}")
    return value


def _key_list(value, what: str) -> str:
    names = _texts(value, what)
    for name in names:
        if "," in name or not name:
            raise UsageError(f"{what}=: {name!r} is not one key name (give one name per item; "
                             "a name cannot hold a comma, as on the command line)")
    return ",".join(names)


class _Secret:
    """The ``secret=`` argument, held apart: never shown, never pickled (nor a Pipeline holding it)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return "<secret>"

    def __reduce_ex__(self, protocol):
        raise TypeError("a kelora.Pipeline given secret= cannot be pickled (the secret is never written "
                        "anywhere); build the Pipeline where it runs")


def _take_secret(secret) -> _Secret | None:
    if secret is None:
        return None
    if isinstance(secret, (bytes, bytearray)):
        # (as the environment gives undecodable bytes: the keyring encodes it back exactly)
        secret = bytes(secret).decode("utf-8", "surrogateescape")
    elif not isinstance(secret, str):
        raise UsageError(f"secret= takes a text or bytes, not a {type(secret).__name__}")
    if not secret:
        raise UsageError("secret= must not be empty (None reads KELORA_SECRET or KELORA_SECRET_FILE)")
    return _Secret(secret)


def _shown(err: KeloraError) -> KeloraError:
    """*err* with the control characters of its text escaped, as the command shows them on a
    terminal (D18): event data reaches messages, and callers print them."""
    from kelora.escape import escape_diag

    err.report = escape_diag(str(err))
    if err.hint:
        err.hint = escape_diag(err.hint)
    return err


class Pipeline:
    """One kelora run, set up once and run with ``process()`` (each call is a new run)."""

    def __init__(self, exec: str | Sequence[str] | None = None, filter: str | Sequence[str] | None = None,
                 begin: str | None = None, end: str | None = None, keys: str | Sequence[str] | None = None,
                 exclude_keys: str | Sequence[str] | None = None, secret: str | bytes | None = None, *,
                 stages: Sequence[tuple[str, str]] | None = None, input_format: str = "json",
                 strict: bool = False, fail_closed: bool = False, args: Sequence[str] = ()):
        if stages is not None and (exec is not None or filter is not None):
            raise UsageError("give either stages=[...] or exec=/filter=, not both (stages keeps their order)")
        if not isinstance(input_format, str) or not input_format:
            raise UsageError(f"input_format= takes a format name such as 'json' or 'logfmt', not {input_format!r}")
        for name, flag in (("strict", strict), ("fail_closed", fail_closed)):
            if not isinstance(flag, bool):
                raise UsageError(f"{name}= takes True or False, not {flag!r}")
        if isinstance(args, (str, bytes)) or not hasattr(args, "__iter__"):
            raise UsageError("args= takes a list of command-line words, such as ['--take', '10']")
        args = list(args)
        if not all(isinstance(a, str) for a in args):
            raise UsageError("args= takes a list of command-line words, such as ['--take', '10']")
        given = _refuse_options(args)
        argv = ["--ignore-config", "--output-format=json", "--no-emoji", "--no-color"]
        if not (input_format == "json" and given & {"-j", "-f", "--input-format"}):  # (args= may name it)
            argv.insert(1, f"--input-format={input_format}")
        if stages is not None:
            ordered = []
            for stage in (stages if not isinstance(stages, (str, bytes)) else [stages]):
                if not (isinstance(stage, (tuple, list)) and len(stage) == 2 and isinstance(stage[0], str)
                        and isinstance(stage[1], str)):
                    raise UsageError(f"stages= takes (kind, script) pairs, such as ('exec', 'e.x = 1'); got {stage!r}")
                ordered.append((stage[0], stage[1]))
        else:
            ordered = [("exec", t) for t in _texts(exec, "exec")] + [("filter", t) for t in _texts(filter, "filter")]
        for kind, text in ordered:
            flag = _STAGE_FLAGS.get(kind)
            if flag is None:
                raise UsageError(f"unknown stage kind {kind!r}; use one of: {', '.join(_STAGE_FLAGS)}")
            argv.append(f"{flag}={text}")  # (attached: a script is never read as an option)
        if _text(begin, "begin") is not None:
            argv.append(f"--begin={begin}")
        if _text(end, "end") is not None:
            argv.append(f"--end={end}")
        if keys is not None:
            argv.append(f"--keys={_key_list(keys, 'keys')}")
        if exclude_keys is not None:
            argv.append(f"--exclude-keys={_key_list(exclude_keys, 'exclude_keys')}")
        if strict:
            argv.append("--strict")
        if fail_closed:
            argv.append("--fail-closed")
        self.argv = [*argv, *args]
        self._secret = _take_secret(secret)
        self._metrics: dict | None = None
        self._stats: dict | None = None
        self._latest = None  # the newest process() run: only it publishes its results
        self.exit_code: int | None = None
        self.diagnostics = ""
        self.printed = b""
        try:
            config, env = self._config()  # flags and scripts are checked now, as the command
            _Run(config, env).check()       # does before reading any input
        except KeloraError as err:
            raise _shown(err) from None

    def __reduce_ex__(self, protocol):
        if self._secret is not None:
            return self._secret.__reduce_ex__(protocol)  # (refuses)
        return super().__reduce_ex__(protocol)

    # ------------------------------------------------------------------ set-up
    def _env(self):
        from kelora.escape import EscapingStream
        from kelora.run.env import Env, isolate_secrets

        environ = dict(os.environ)  # a copy: the caller's environment is never changed
        # (stderr as a terminal's: script eprint() text is escaped too; colour is off by flag)
        env = Env(stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=EscapingStream(io.StringIO()), environ=environ,
                  stderr_isatty=True)
        env = isolate_secrets(env)
        if self._secret is not None:
            from kelora.keyring import is_secret_variable

            secrets = {k: v for k, v in env.secrets.items() if not is_secret_variable(k)
                       or k.startswith(("KELORA_SECRET_PREVIOUS", "KELORA_ESCROW"))}
            env.secrets = {**secrets, "KELORA_SECRET": self._secret.text}
        return env

    def _config(self):
        from dataclasses import replace

        from kelora.cli.app import parse_args

        env = self._env()
        config, extra = parse_args(self.argv, env)
        if extra.get("exit") is not None:  # (args= is looked over first: not expected)
            raise UsageError(f"these options do not run a pipeline: {' '.join(self.argv)}")
        # the stats are collected to be read (p.stats), and the events come from process():
        # no stdin, and no end-of-run hint about an empty one
        return replace(config, keep_stats=True, no_input=True), env

    @property
    def metrics(self) -> dict:
        """The tracked metrics (as ``--metrics=json``), once a ``process()`` run has finished."""
        if self._metrics is None:
            raise KeloraError("metrics are available once process() has been run to the end")
        return self._metrics

    @property
    def stats(self) -> dict:
        """The run's statistics (as ``--stats=json``), once a ``process()`` run has finished."""
        if self._stats is None:
            raise KeloraError("stats are available once process() has been run to the end")
        return self._stats

    # ------------------------------------------------------------------ the run
    def process(self, events: Iterable) -> Iterator[dict]:
        """Run the stages over *events* (dicts, or lines as ``str``/``bytes`` in the
        ``input_format``), yielding each output event as a dict as soon as it is produced.
        ``metrics``, ``stats``, ``exit_code``, ``diagnostics`` and ``printed`` then belong to
        this run (to the newest one, when several are pulled in turn)."""
        if isinstance(events, (str, bytes, bytearray, dict)) or not hasattr(events, "__iter__"):
            raise UsageError(f"process() takes an iterable of events (dicts) or lines, not a "
                             f"{type(events).__name__}" + ("; wrap one line in a list" if isinstance(
                                 events, (str, bytes, bytearray)) else ""))
        self._metrics = self._stats = None
        self.exit_code = None
        self.diagnostics, self.printed = "", b""
        self._latest = token = object()
        try:
            config, env = self._config()
        except KeloraError as err:
            raise _shown(err) from None
        return self._run(config, env, events, token)

    def _run(self, config, env, events, token) -> Iterator[dict]:
        run = _Run(config, env)
        # -f auto chooses the format from the first lines together, as the command does from a
        # file's first buffered lines: that many are gathered before the first is run
        ahead: list | None = [] if config.input_format in ("auto", "auto-per-file") else None
        try:
            run.start()
            for n, item in enumerate(events, 1):
                lines = _lines(item, n)
                if ahead is not None:
                    ahead += lines
                    if len(ahead) < DETECT_LINES:
                        continue
                    lines, ahead = ahead, None
                yield from run.feed(lines)  # (the events before a --strict failure first)
                if run.stopped:
                    break
            if ahead:
                yield from run.feed(ahead)
            if run.failed is None:
                yield from run.finish()
            if run.failed is not None:
                raise run.failed
        except KeloraError as err:
            raise _shown(err) from None
        finally:
            if self._latest is token:
                self.diagnostics = env.stderr.getvalue()
                self.printed = run.printed()
        if self._latest is token:
            self.exit_code = run.exit_code
            self._metrics, self._stats = run.metrics, run.stats


def _refuse_options(args: list[str]) -> set[str]:
    """UsageError for an option of *args* that a Pipeline cannot take, before any is acted on;
    the options given.  (An unknown option is left to the parser's own error, with its
    suggestion: nothing is acted on when parsing fails.)"""
    from kelora.cli.app import own_options
    from kelora.cli.config_file import scan_words

    table = own_options()
    pairs = scan_words(args, table)
    given = {opt for opt, _ in pairs if opt is not None}
    if any(opt not in table and opt not in _NOT_HERE for opt in given):
        return given
    for opt, value in pairs:
        if opt is None:
            raise UsageError(f"{value!r}: input files are not available in kelora.Pipeline (process() takes "
                             f"the events); {_ELSEWHERE}")
        why = _NOT_HERE.get(opt)
        if why is not None:
            raise UsageError(f"{opt}: not available in kelora.Pipeline ({why}); {_ELSEWHERE}")
    return given


def _lines(item, n: int) -> list[bytes]:
    """The input lines of one item of process(): a dict as one JSON line, a str or bytes as the
    lines it holds (as the command would read them from a file)."""
    if isinstance(item, dict):
        return [_json_line(item, n) + b"\n"]
    if isinstance(item, str):
        try:
            data = item.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate: invalid UTF-8, read as the command reads it
            data = item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (bytes, bytearray)):
        data = bytes(item)
    else:
        raise UsageError(f"event {n} is a {type(item).__name__}; give dicts, or lines as str/bytes")
    parts = data.split(b"\n")
    if len(parts) > 1 and parts[-1] == b"":
        parts.pop()  # (a final newline ends the last line)
    return [part + b"\n" for part in parts]


def _json_line(event: dict, n: int) -> bytes:
    """*event* as a JSON line, exactly: texts as keys only, numbers as given (integers beyond 64
    bits too); NaN and infinities, which JSON cannot carry, are refused rather than nulled."""
    import orjson

    try:
        line = orjson.dumps(event)
    except TypeError as exc:
        if "64-bit" not in str(exc) and "Recursion" not in str(exc):
            raise UsageError(f"event {n} cannot be given to kelora: {exc}") from None
        import json

        _check_plain(event, n)
        try:
            return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
                "utf-8", "surrogatepass")
        except (TypeError, ValueError, RecursionError) as err:
            raise UsageError(f"event {n} cannot be given to kelora: {err}") from None
    if b"null" in line:  # (orjson writes NaN and infinities as null)
        _check_plain(event, n)
    return line


DETECT_LINES = 50  # (reader.peek_lines looks at as many)
MAX_DEPTH = 10_000  # nesting of an event given as a dict (one that holds itself never ends)


def _check_plain(value, n: int) -> None:
    """UsageError for a NaN or infinite float, a key that is not a text, or nesting deeper than
    MAX_DEPTH (a dict or list that holds itself) anywhere in *value*."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if type(v) is float and (v != v or v in (float("inf"), float("-inf"))):
            raise UsageError(f"event {n} holds {v!r}, which a JSON event cannot carry; give None or a text")
        if isinstance(v, (dict, list, tuple)) and depth >= MAX_DEPTH:
            raise UsageError(f"event {n} is nested deeper than {MAX_DEPTH} levels (or holds itself)")
        if isinstance(v, dict):
            for k in v:
                if not isinstance(k, str):
                    raise UsageError(f"event {n} cannot be given to kelora: Dict key must be str (got {k!r})")
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, depth + 1) for x in v)


class _Run:
    """A pipeline fed one line at a time; its sink keeps the formatted events for the caller."""

    def __init__(self, config, env):
        from kelora.run.pipeline import Pipeline as Run

        self.pipe = Run(config, env)
        self.env = env
        self.out = io.BytesIO()
        self.print_out = io.BytesIO()
        self.exit_code = 0
        self.stopped = self.exited = False  # --take reached or exit() called; exit(): no --end
        self.failed: FatalError | None = None  # --strict stopped the run (raised once its events are out)
        self.metrics = self.stats = None
        self.started = 0.0

    def check(self) -> None:
        """Compile the scripts (a ScriptError, a KeloraError, with the CLI's message) and refuse
        the options that need the whole command-line run; then what the command checks before
        reading (the -f spec)."""
        from kelora.errors import ScriptError
        from kelora.formats import make_input_parser

        pipe = self.pipe
        c = pipe.config
        try:
            pipe.compile()
        except ScriptError as err:  # str(err): the CLI's message (what, where, the line, a caret, a hint)
            err.report = f"Pipeline error: {err.render()}"
            raise
        whole_run = [flag for flag, used in (
            ("--parallel", c.parallel), ("-o", c.output_file), ("-M", c.multiline is not None),
            ("-A/-B/-C", c.context_before or c.context_after), ("--rotation-map", c.rotation_map),
            ("--escrow", c.escrow), ("--scan-pii", c.scan_pii), ("reveal()", "reveal" in pipe.called_functions),
        ) if used]
        if whole_run:
            raise UsageError(f"{', '.join(whole_run)}: not available in Pipeline.process(); {_ELSEWHERE}")
        make_input_parser(c.input_format, strict=c.strict, cols_sep=c.cols_sep)

    def start(self) -> None:
        import time

        pipe = self.pipe
        self.check()
        self.started = time.perf_counter()
        pipe.sink = pipe.make_sink()
        pipe.sink.open(in_memory=True)
        pipe.sink.redirect(self.out, self.print_out, pipe.stats)
        self._run(pipe.run_begin)
        if self.failed is not None:
            raise self.failed

    def _run(self, step):
        from kelora.errors import ExitRequest
        from kelora.run.ingest import StopInput
        from kelora.run.stages import StageFailed

        try:
            step()
        except StopInput:  # --take reached
            self.stopped = True
        except StageFailed as fail:  # --strict
            self.failed = FatalError(f"Pipeline error: {fail.message}")
            self.stopped = True
        except ExitRequest as req:  # exit(code): the run ends here, without --end
            if req.message:
                self.env.stderr.write(req.message + "\n")
            self.exit_code = req.code
            self.stopped = self.exited = True

    def feed(self, lines: list[bytes]) -> list[dict]:
        """Run input lines; the events they produced (none once the run has stopped)."""
        from kelora.run.batch import Lines

        if self.stopped:
            return []
        pipe = self.pipe
        # (a stream that can be peeked at: -f auto looks at the lines buffered, as from a file)
        stream = io.BufferedReader(io.BytesIO(b"".join(lines))) if len(lines) > 1 else lines
        pipe.current_source = source = Lines(stream, None)
        self._run(lambda: pipe.read_stream(source))
        return self._take()

    def _take(self) -> list[dict]:
        import orjson

        from kelora.formats.exactjson import DIGITS, RUN, exact

        data = self.out.getvalue()
        if not data:
            return []
        self.out.seek(0)
        self.out.truncate()
        events = []
        for line in data.splitlines():
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:  # (nested deeper than orjson reads)
                import json

                event = json.loads(line)
            else:
                if RUN in line.translate(DIGITS):  # an integer beyond 64 bits: read exactly
                    event = exact(line, event)
            events.append(event)
        return events

    def finish(self) -> list[dict]:
        import json
        import time

        from kelora.metrics.render import render
        from kelora.report.messages import stats_json

        pipe = self.pipe
        if not self.exited:
            self._run(pipe.run_end)
        events = self._take()
        stats = pipe.stats
        stats.elapsed = time.perf_counter() - self.started
        stats.files_processed = stats.files_processed or 1  # (the iterable, as the command counts stdin)
        if not self.exited:
            pipe.write_diagnostics()  # the error summary and hints, into diagnostics
        self.metrics = json.loads(render(pipe.ctx.metrics, "json") or "{}")
        self.stats = json.loads(stats_json(stats))
        if self.exit_code == 0:
            self.exit_code = int(pipe.exit_code())
        return events

    def printed(self) -> bytes:
        return self.print_out.getvalue()


def _process_env():
    """The process's streams as the command uses them, also where stdout has no file descriptor
    (a notebook, ``contextlib.redirect_stdout``, a test's capture): then through ``sys.stdout``."""
    from kelora.run.env import Env

    try:
        return Env.from_process()
    except (io.UnsupportedOperation, AttributeError, ValueError, OSError):
        from pathlib import Path

        from kelora.secretenv import held_secrets

        # (None: no such stream, as under pythonw; text only: read and written as UTF-8)
        stdin = sys.stdin if sys.stdin is not None else io.StringIO()
        stdin = getattr(stdin, "buffer", None) or io.BufferedReader(_TextIn(stdin))
        out = getattr(sys.stdout, "buffer", None) or _TextOut(sys.stdout if sys.stdout is not None else io.StringIO())
        err = sys.stderr if sys.stderr is not None else io.StringIO()
        return Env(stdin=stdin, stdout=out, stderr=err, environ=os.environ, cwd=Path.cwd(), secrets=held_secrets())


class _TextIn(io.RawIOBase):
    """A byte stream over a text one (``sys.stdin`` replaced by a ``StringIO``)."""

    def __init__(self, text):
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.pending:
            chunk = self.text.read(8192)
            if not chunk:
                return 0
            self.pending = chunk.encode("utf-8", "surrogateescape")
        n = min(len(b), len(self.pending))
        b[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


class _TextOut:
    """A byte stream over a text one (the command writes UTF-8 bytes)."""

    def __init__(self, text):
        self.text = text

    def write(self, data: bytes) -> int:
        self.text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self.text.flush()

    def isatty(self) -> bool:
        return False


def main(argv: Sequence[str]) -> int:
    """Run a kelora command line in this process (the real stdin/stdout/stderr) and return its
    exit code, as the ``kelora`` command would exit.  ``os.environ`` is left as it is; nothing
    is raised (an unexpected error is reported in one line, exit 134, as by the command)."""
    from kelora.cli.app import run_command, unexpected_error
    from kelora.status import ExitStatus

    words = None if argv is None or isinstance(argv, (str, bytes)) or not hasattr(argv, "__iter__") else list(argv)
    if words is None or not all(isinstance(a, str) for a in words):
        raise UsageError("kelora.main() takes a list of command-line words, such as ['-j', 'app.log']")
    try:
        env = _process_env()
        code = run_command(words, env)
    except BrokenPipeError:
        code = ExitStatus.BROKEN_PIPE
    except KeyboardInterrupt:
        code = ExitStatus.SIGINT
    except Exception as exc:  # a bug: reported as the command reports it
        code = unexpected_error(exc, sys.stderr if sys.stderr is not None else io.StringIO())
        env = None
    try:
        if env is not None:
            env.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        code = ExitStatus.BROKEN_PIPE
    return int(code)
