"""The `kelora` command line: flags -> a frozen ``Config`` -> ``pipeline.run``.

This module only declares options (typer, grouped into help panels) and turns them into a
``Config``.  Three things click cannot do alone are handled around it:

* **Stage order.** ``--filter``, ``-e``, ``-E``, ``--assert``, ``-l``, ``-L`` and ``-I`` run in the
  exact order given on the command line, across different options.  ``OrderedCommand`` keeps the
  parser's occurrence order (click records every occurrence) so the stages can be rebuilt.
* **Optional values that need ``=``** (``-s``/``--stats[=json]``, ``-m``/``--metrics[=tsv]``):
  a bare ``-s file.log`` must not eat the file name, so bare forms are rewritten first.
* **Errors**: clap-style usage errors with curated hints, exit 2, never a traceback.

The fast paths (``--version``, ``--help-functions``, ``--help-rhai``) run before typer is imported.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from kelora import __version__
from kelora.errors import FatalError, KeloraError, UsageError
from kelora.escape import escape_diag
from kelora.status import ExitStatus, Terminated

# Curated hints for flags users bring from grep/jq/Miller (reference §1.9).
FLAG_HINTS = {
    "--where": "use --filter 'EXPR' to keep matching events",
    "--grep": "use --filter 'e.message.contains(\"text\")' or --keep-lines REGEX",
    "--match": "use --filter 'EXPR' to keep matching events",
    "--sort": "kelora streams events; rank them with track_top_by(name, item, score) and -m",
    "--rank": "rank with track_top_by(name, item, score) and -m",
    "--top-n": "rank with track_top(name, item, n) or track_top_by(...) and -m",
    "--count": "count values with --freq FIELD or track_freq(name, value)",
    "--group-by": "group counts with --freq FIELD or track_freq(name, value)",
    "--uniq": "count distinct values with track_unique(name, value) or --card FIELD",
    "--resilient": "resilient processing is the default; --strict turns it off",
    "--select": "choose output fields with -k/--keys a,b,c",
}
# Kelora flags this version does not implement (out of scope: docs/compat.md "Not in this
# version"): say so, rather than "a similar argument exists" for an unrelated flag
# (--span-close is not --fail-closed).  tests/cli/help.toml checks every one.
KELORA_ONLY_FLAGS = {
    "--window": "use state in -e scripts", "--span": "", "--span-close": "", "--span-idle": "",
    "--drain": "", "--discover": "try -s for the keys seen", "--discover-depth": "", "--discover-final": "",
    "--merge-sorted": "", "--mark-gaps": "", "--file-order": "files are read in command-line order",
    "--section-from": "", "--section-after": "", "--section-before": "", "--section-through": "",
    "--max-sections": "", "--extract-prefix": "", "--prefix-sep": "", "--wrap": "", "--no-wrap": "",
    "--expand-nested": "", "--show-ts-local": "", "--show-ts-utc": "", "-z": "", "-Z": "",
    "--legend": "", "--no-legend": "", "--edit-config": "edit the file named by --show-config",
    "--completions": "", "--help-examples": "see --help and docs/tutorial.md",
    "--help-regex": "", "--help-formats": "see docs/formats.md",
}
FLAG_HINTS.update(
    (flag, f"{flag} is not supported by this version of kelora" + (f"; {advice}" if advice else ""))
    for flag, advice in KELORA_ONLY_FLAGS.items())
FLAG_HINTS["--span"] = "--span aggregation is not supported by this version of kelora"

STAGE_PARAMS = {
    "exec": "exec",
    "exec_file": "exec",
    "filter": "filter",
    "assert_": "assert",
    "levels": "levels",
    "exclude_levels": "exclude_levels",
    "include": "include",
}



def main(argv: list[str] | None = None) -> None:
    """Console entry point: never returns, never shows a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    _reserve_standard_streams()
    from kelora.secretenv import take_process_secrets

    take_process_secrets()  # COMPAT D16: no script or worker sees the secret variables
    from kelora.safetext import ERRORS

    try:  # messages carry file names, values, arguments: never an encoding failure (safetext)
        sys.stderr.reconfigure(errors=ERRORS)
    except (AttributeError, ValueError):
        pass
    try:
        try:
            # From here on a signal is an exception the pipeline handles (flushes stats,
            # removes a temporary -o file); before, kelora/__init__.py's handler exits quietly.
            if argv is None:
                sys.unraisablehook = _redeliver_lost_signals
                signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, _on_sigterm)
            code = run_command(args)
        finally:
            if argv is None:
                # The exit code is (about to be) known: a signal now is ignored while the process
                # reports and exits.  (A Python handler would be reset to the default action
                # while the interpreter shuts down: a late Ctrl-C would kill the process.)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except BrokenPipeError:
        code = _broken_pipe()
    except KeyboardInterrupt as intr:  # outside the pipeline's own handler (e.g. while compiling)
        code = ExitStatus.SIGTERM if isinstance(intr, Terminated) else ExitStatus.SIGINT
    except Exception as exc:  # a bug: one line instead of a traceback, exit 134 like Kelora's panic
        if os.environ.get("KELORA_DEBUG") and _interrupt_inside(exc) is None:
            raise
        code = unexpected_error(exc, sys.stderr)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        code = _broken_pipe()
    sys.exit(int(code))


def unexpected_error(exc: Exception, stderr) -> int:
    """The exit code for an exception no handler expected, reported on *stderr* in one line (no
    traceback): a signal that came inside it ends as the signal; else exit 134, like Kelora's
    panic, naming a missing dependency rather than calling it a bug."""
    intr = _interrupt_inside(exc)
    if intr is not None:
        return ExitStatus.SIGTERM if isinstance(intr, Terminated) else ExitStatus.SIGINT

    missing = _missing_dependency(exc)
    if missing:  # (an installation problem, not a bug: say what to install)
        text = (f"kelora: cannot run: the Python package {missing!r} is not installed. Hint: install "
                "kelora with its dependencies (pip install kelora, or make install in a checkout)")
    else:
        text = (f"kelora: internal error: {type(exc).__name__}: {exc} (this is a bug in kelora; please "
                "report it with the command line; KELORA_DEBUG=1 shows the traceback)")
    stderr.write(escape_diag(text) + "\n")
    return ExitStatus.INTERNAL


def _missing_dependency(exc: BaseException) -> str | None:
    """The package an error says is not installed (run from a checkout without `make install`, or
    a broken environment), else None; kelora's own modules are not a dependency."""
    seen: set = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] != "kelora":
            return exc.name.split(".")[0]
        exc = exc.__cause__ or exc.__context__
    return None


def _interrupt_inside(exc: BaseException) -> KeyboardInterrupt | None:
    """The signal an error stands for: Python 3.11 wraps a KeyboardInterrupt raised while a class
    is created (``__set_name__``, e.g. in ``platform`` imported lazily) in a RuntimeError, and
    an error raised while handling or because of a signal has it as cause or context."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _reserve_standard_streams() -> None:
    """A standard stream closed by the caller (`>&-`, `<&-`, `2>&-`): Python leaves ``sys.stdout``
    (…) as None, and the next file kelora opens would get that descriptor (an input file read
    as stdin, an -o file receiving what is meant for stdout).  /dev/null takes the descriptor,
    opened the wrong way round for stdin and stdout, so that using them fails (EBADF) as the
    closed stream would: "Failed to write output to stdout: Bad file descriptor", exit 1.  A
    closed stderr just loses the messages (there is nowhere to report)."""
    for fd, flags in ((0, os.O_WRONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            got = os.open(os.devnull, flags)
            if got != fd:
                os.dup2(got, fd)
                os.close(got)
        except OSError:
            pass
    try:
        if sys.stdin is None:
            sys.stdin = open(0, "r", closefd=False)
        if sys.stdout is None:
            sys.stdout = open(1, "w", closefd=False)
        if sys.stderr is None:
            sys.stderr = open(2, "w", closefd=False)
    except OSError:
        pass


def _redeliver_lost_signals(unraisable) -> None:
    """A signal that arrives while Python runs a finalizer or weakref callback raises there, and
    Python drops such exceptions ("Exception ignored in …", a traceback on stderr) and goes on
    as if no signal came.  Raise it again at the next Python call instead (a one-shot trace
    function: its exception propagates into the frame being entered, and tracing is then off).
    Sending the signal again would not do: ``os.kill`` and ``interrupt_main`` run the handler
    before this hook returns, and the new KeyboardInterrupt is dropped the same way.  Should
    the next call be in a finalizer too, that one comes back here and tries again."""
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt):
        again = Terminated if isinstance(exc, Terminated) else KeyboardInterrupt

        def raise_again(frame, event, arg):
            sys.settrace(None)
            raise again()

        sys.settrace(raise_again)
        return
    sys.__unraisablehook__(unraisable)


_TERMINATED: list[bool] = []  # SIGTERM came (typer's parser loses which signal it was)


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through subprocess tests
    _TERMINATED.append(True)
    try:
        sys.stderr.write("kelora: Received SIGTERM, shutting down gracefully...\n")  # Kelora's words
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    raise Terminated()


def _broken_pipe() -> int:
    # stdout is gone: point it at /dev/null so the interpreter's final flush stays quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return ExitStatus.BROKEN_PIPE


def run_command(args: list[str], env=None) -> int:
    """Parse flags, run the pipeline, return the exit code.  Usable in-process by tests."""
    from kelora.run.env import Env, isolate_secrets

    from kelora.escape import EscapingStream

    env = isolate_secrets(env or Env.from_process())
    if type(env.stderr) is not EscapingStream:
        # every diagnostic, warning, summary and error line: no raw control character (D18)
        env.stderr = EscapingStream(env.stderr)
    if args[:1] in (["-V"], ["--version"]):
        env.stdout.write(f"kelora {__version__}\n".encode())
        return ExitStatus.OK
    try:
        # the words given as options (a script or key list that looks like one is not)
        given = config_file_words(args)
        if not args or "--interactive" in given or "--no-history" in given:
            from kelora.cli import interactive  # before config defaults could fill an empty command line

            if interactive.wanted(given, env):
                return interactive.run(args, env)
        if any(a in ("--help-functions", "--help-rhai", "--help-time", "--help-multiline")
               or a.startswith("--help-functions=") for a in given if a):
            return _help_topics(given, env)
        if "--help" in given or any(a.startswith("--help=") for a in given if a):
            from kelora.cli import helpsearch

            word = helpsearch.keyword(given)
            if word is not None:  # Kelora's `--help KEYWORD` search
                env.stdout.write(escape_diag(helpsearch.render(word)).encode())  # (it quotes the word)
                return ExitStatus.OK
        config, extra = parse_args(args, env)
        if extra.get("exit") is not None:
            return extra["exit"]
        from kelora.run import pipeline

        return pipeline.run(config, env)
    except UsageError as err:
        _print_error(env, err)
        return ExitStatus.USAGE
    except FatalError as err:
        _print_error(env, err)
        return err.exit_code
    except KeloraError as err:
        _print_error(env, err)
        return ExitStatus.ERROR
    except BrokenPipeError:
        raise
    except OSError as exc:  # stats/metrics/stderr writes on a full disk or a dead device
        _print_error(env, FatalError(f"I/O error: {exc.strerror or exc}"))
        return ExitStatus.ERROR


def _print_error(env, err: KeloraError) -> None:
    # clap-style usage errors carry their own "error:" lead; everything else gets the prefix
    msg = err.message if err.message.startswith("error:") else f"kelora: {err.message}"
    if err.hint:
        msg += f"\n  hint: {err.hint}"
    env.stderr.write(msg + "\n")
    env.stderr.flush()


def config_file_words(args: list[str]) -> list[str | None]:
    """``config_file.option_words`` of *args* for kelora's own options."""
    from kelora.cli import config_file

    return config_file.option_words(args, own_options())


_OWN_OPTIONS: dict[str, bool] = {}


def own_options() -> dict[str, bool]:
    """``option_table`` of kelora's command, built once per process (read, never changed)."""
    if not _OWN_OPTIONS:
        from kelora.cli.flags import build_command

        _OWN_OPTIONS.update(option_table(build_command()))
    return _OWN_OPTIONS


def _help_topics(args: list[str | None], env) -> int:
    from kelora.cli import docs

    if "--help-time" in args or "--help-multiline" in args:
        from kelora.cli import helptext

        text = helptext.TIME_HELP if "--help-time" in args else helptext.MULTILINE_HELP
    elif "--help-rhai" in args:
        text = docs.language_summary()
    else:
        word = None
        for i, a in enumerate(args):
            if a.startswith("--help-functions="):  # Kelora's --help-functions=KEYWORD
                word = a.split("=", 1)[1] or None
                break
            if a == "--help-functions":
                after = args[i + 1] if i + 1 < len(args) else None
                word = after if after and not after.startswith("-") else None
                break
        text = docs.functions_help(word)  # (no match: Kelora's message, exit 0)
    env.stdout.write(escape_diag(text).encode())  # (a message that quotes the word: D18)
    return ExitStatus.OK


# --------------------------------------------------------------------------- argv -> Config

MAX_BATCH_TIMEOUT_MS = 2**31 - 1  # (what a wait on a pipe accepts on every platform)


def normalize_argv(args: list[str], takes_value: set[str]) -> list[str]:
    """Rewrite bare `-s`/`--stats`/`-m`/`--metrics` (their value must be attached with '=')."""
    out: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            out.extend(args[i:])
            break
        if tok in takes_value and i + 1 < len(args):
            out += [tok, args[i + 1]]
            i += 2
            continue
        if tok in ("-s", "--stats"):
            tok = "--stats=table"
        elif tok.startswith("-s="):
            tok = "--stats=" + tok[3:]
        elif tok in ("-m", "--metrics"):
            tok = "--metrics=auto"
        elif tok == "--scan-pii":
            tok = "--scan-pii=table"
        elif tok.startswith("-m="):
            tok = "--metrics=" + tok[3:]
        out.append(tok)
        i += 1
    return out


def option_table(command) -> dict[str, bool]:
    """Every option string of the command -> whether it takes a value."""
    table: dict[str, bool] = {}
    for p in command.params:
        takes = not getattr(p, "is_flag", False) and not getattr(p, "count", False)
        for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())):
            if o.startswith("-"):
                table[o] = takes
    for o in ("-s", "--stats", "-m", "--metrics", "--scan-pii"):  # their value must be attached with '='
        table[o] = False
    return table


def parse_args(args: list[str], env) -> tuple["Config", dict]:
    from kelora import fileguard
    from kelora.cli import config_file
    from kelora.cli.flags import build_command, click_errors

    command = build_command()
    options = own_options()
    protected = fileguard.file_ids(fileguard.secret_file_paths(env.secrets, None), str(env.cwd))
    given = config_file.option_words(args, options)  # (a value that looks like an option is not one)
    if "--trust-config" in given:
        env.stdout.write(_printable(config_file.trust(env.environ, env.cwd, options, protected), keep="\n").encode())
        return None, {"exit": 0}  # type: ignore[return-value]
    data = config_file.load(args, env.environ, env.cwd, protected, options)
    if data.secret_file:
        protected = protected | fileguard.file_ids([data.secret_file])
    data.protected = protected
    if data.project is not None:
        try:
            config_file.check_project(data, options)
        except UsageError as err:
            if "--show-config" not in given:
                raise
            for src in data.sources:
                if src.role == "project config":
                    src.note = f"refused: {err.message}"
    user_words = config_file.scan_words(args, options)
    user_flags = {opt for opt, _ in user_words if opt}
    if sum(opt in ("-f", "--input-format") for opt, _ in user_words) > 1:
        # Kelora builds a cascade from repeated -f: never silently take the last one instead
        raise UsageError("-f/--input-format given more than once: cascades (one format after another "
                         "per line) are not supported by this version of kelora",
                         hint="give one -f; `-f auto` picks the format from the first lines")
    if data.warnings and not (user_flags & {"--silent", "--no-warnings", "--no-diagnostics", "--show-config"}
                              or env.environ.get("KELORA_NO_WARNINGS") is not None):
        for line in data.warnings:
            env.stderr.write(f"kelora warning: {_printable(line)}\n")
    expanded, marks = config_file.expand_marked(args, data, options)
    if not user_flags & {"-q", "--quiet", "--silent", "--show-config", "--save-alias"}:
        note = config_file.announcement(data, options, expanded, marks)
        if note:
            env.stderr.write(f"kelora: {_printable(note)}\n")
    if data.project is not None:  # (without one, no script is the project's)
        data.script_origins = _script_origins(expanded, marks, options, command)
    takes_value = {o for o, takes in options.items() if takes}
    argv = normalize_argv(expanded, takes_value)
    ctx_holder: dict = {}
    try:
        got = command.main(args=argv, prog_name="kelora", standalone_mode=False, obj=ctx_holder)
    except click_errors() as exc:
        raise _usage_from_click(exc) from None
    if got == ExitStatus.SIGINT:
        # typer turns a KeyboardInterrupt while parsing (Ctrl-C, or SIGTERM's Terminated) into
        # a returned 130 (the command itself returns None), also one that came after the flags
        # were stored (closing click's context): raise it again, or the run would go on as if
        # no signal came
        raise Terminated() if _TERMINATED else KeyboardInterrupt()
    if "params" not in ctx_holder:  # --help was printed by click
        return None, {"exit": 0}  # type: ignore[return-value]
    params = ctx_holder["params"]
    order = ctx_holder["order"]
    if params.get("show_config"):
        env.stdout.write(_printable(config_file.show(data, env.environ, env.cwd), keep="\n").encode())
        return None, {"exit": 0}  # type: ignore[return-value]
    if params.get("save_alias"):
        return None, {"exit": _save_alias(args, params, data, options, env)}  # type: ignore[return-value]
    config = build_config(params, order, data, env)
    return config, {}


def _script_origins(words: list[str], marks: list[bool], options: dict, command) -> dict[str, list[bool]]:
    """For each script option (click parameter name), in occurrence order: whether a project
    config put it on the command line (its option or value word is marked by ``expand_marked``).
    click keeps the values of a repeated option in the same order, so the lists line up."""
    from kelora.cli import config_file

    param_of = {o: p.name for p in command.params
                for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    out: dict[str, list[bool]] = {}
    for opt, _val, at in config_file.scan_words_at(words, options):
        name = param_of.get(opt) if opt else None
        if name in STAGE_PARAMS or name in ("begin", "end"):
            out.setdefault(name, []).append(any(marks[k] for k in at))
    return out


def _printable(text: str, keep: str = "") -> str:
    """Control characters of a file name or config text shown as escapes (never raw), and the
    bytes of a file name that are not UTF-8 as ``\\xff`` (it can then be written at all)."""
    import re

    from kelora.safetext import escape_undecodable

    text = escape_undecodable(text)
    return re.sub("[\x00-\x1f\x7f-\x9f]", lambda m: m.group() if m.group() in keep
                  else f"\\u{{{ord(m.group()):x}}}", text)


def _save_alias(args: list[str], params: dict, data, options: dict, env) -> int:
    """--save-alias NAME (Kelora's handle_save_alias): store the user's own words, without input
    files; an alias that uses itself is stored flattened.  Written atomically (config_trust)."""
    from kelora.cli import config_file
    from kelora.cli import config_trust
    from kelora.cli import shellwords

    name = params["save_alias"]
    if not config_file.ALIAS_NAME.match(name):
        raise UsageError(
            f"Invalid alias name '{name}': use letters, digits, '_' or '-' (at most 64, not starting with a digit)"
        )
    emoji = params.get("emoji")
    if emoji is None:
        emoji = env.stderr_isatty and not any(env.environ.get(v) is not None for v in ("NO_EMOJI", "NO_COLOR"))
    lead = "🔹" if emoji else "kelora:"
    words, dropped = _alias_words(args, options)
    if dropped:
        env.stderr.write(f"{lead} Not saving input file(s) in alias '{name}' (aliases store reusable "
                         f"options, not specific inputs): {_printable(', '.join(dropped))}\n")
    if not words:
        raise UsageError(f"No command to save as alias '{name}'")
    refs = {v for o, v in config_file.scan_words(words, options) if o in ("-a", "--alias")}
    if name in refs:  # updating an alias with itself: flatten every reference (Kelora does)
        words = config_file.expand(words, config_file.ConfigData(aliases=data.aliases), options)
    target = config_file.save_target(data, env.environ, env.cwd, params.get("config_file"))
    was_trusted = any(s.used and s.role == "project config" and s.path == str(target) for s in data.sources)
    previous = config_file.save_alias(name, shellwords.join(words), target, data.protected)
    if was_trusted:  # the user changed their trusted file through kelora: keep it trusted
        try:
            config_trust.record_trusted(config_file.user_config_path(env.environ), target,
                                        config_trust.digest(target.read_bytes()))
        except (OSError, config_trust.UntrustablePath):
            pass
    out = f"{lead} Alias '{name}' saved to {_printable(str(target))}\n"
    if previous is not None:
        out += f"{lead} Replaced previous alias:\n    {name} = {_printable(previous)}\n"
    env.stdout.write(out.encode("utf-8"))
    return ExitStatus.OK


def _alias_words(args: list[str], options: dict) -> tuple[list[str], list[str]]:
    """The user's words minus --save-alias/--config-file/--ignore-config and input files."""
    from kelora.cli import config_file

    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--save-alias", "--config-file"):  # (the config file is where it is saved)
            skip = True
            continue
        if a.startswith(("--save-alias=", "--config-file=")) or a == "--ignore-config":
            continue
        out.append(a)
    dropped = []
    for opt, value in config_file.scan_words(out, options):
        if opt is None and value != "-":
            idx = len(out) - 1 - out[::-1].index(value)  # the last one: trailing positionals
            del out[idx]
            dropped.append(value)
    if "--" in out and out.index("--") == len(out) - 1:
        out.pop()
    return out, dropped


def _usage_from_click(exc) -> UsageError:
    from kelora.cli.flags import describe_click_error

    message, hint = describe_click_error(exc, FLAG_HINTS)
    return UsageError(message, hint=hint)


def _read_text(path: str, what: str, protected: frozenset = frozenset()) -> str:
    from kelora import fileguard

    try:
        return _universal(fileguard.read_flag_file(path, "-E/--exec-file", protected).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Failed to read {what.lower()} '{path}': {exc}")


def _origin_pools(p: dict, origins: dict, project_used: bool) -> dict[str, list[bool]]:
    """Per script parameter, one "from a project config" mark per value (``_script_origins``).
    Should the counts ever disagree with click's, every value of a run that uses a project
    config counts as the project's (refusing reveal() wrongly beats allowing it wrongly)."""
    out = {}
    for name in (*STAGE_PARAMS, "begin", "end"):
        value = p.get(name)
        n = (len(value) if isinstance(value, (list, tuple)) else 1) if value is not None else 0
        marks = list(origins.get(name, ()))
        if not project_used:
            marks = [False] * n
        elif len(marks) != n and (name not in ("begin", "end") or len(marks) < n):
            marks = [True] * n
        out[name] = marks
    return out


def build_config(p: dict, order: list[str], data, env) -> "Config":
    from kelora import fileguard
    from kelora.config import Config, Stage
    from kelora.formats import registry

    protected = getattr(data, "protected", frozenset())
    config_files = tuple(os.path.join(str(env.cwd), f) for f in getattr(data, "paths", ()))
    state = None
    outputs = (("-o/--output-file", p.get("output_file")), ("--metrics-file", p.get("metrics_file")),
               ("--rotation-map", p.get("rotation_map")), ("--escrow", p.get("escrow")))
    for flag, path in outputs:
        if path:
            fileguard.check_flag_write(path, flag, protected)
    # no two outputs in one file, no output over an input (before anything is read or written)
    inputs = [("input file", f) for f in p.get("files") or ()]
    inputs += [("-E/--exec-file", f) for f in p.get("exec_file") or ()]
    inputs += [("-I/--include", f) for f in p.get("include") or ()]
    inputs.append(("--config-file", p.get("config_file")))
    fileguard.check_distinct_files(outputs, inputs)
    for flag, path in outputs:  # (then kelora's own state: its config, trust list, parser cache)
        if path:
            state = state or fileguard.own_state(env.environ, config_files)
            fileguard.check_flag_own_state(path, flag, state)

    # --- stages in command-line order ------------------------------------------------------
    pools = {name: list(p.get(name) or ()) for name in STAGE_PARAMS}
    origins = _origin_pools(p, getattr(data, "script_origins", None) or {},
                            getattr(data, "project", None) is not None)
    stages: list[Stage] = []
    pending_includes: list[tuple[str, str]] = []
    include_from_project = False
    counts = {"exec": 0, "filter": 0, "assert": 0, "levels": 0, "exclude_levels": 0}
    raw: list[tuple[str, str, bool]] = []
    for name in order:
        if name in STAGE_PARAMS and pools[name]:
            raw.append((name, pools[name].pop(0), origins[name].pop(0)))
    total = {k: sum(1 for n, _, _ in raw if STAGE_PARAMS[n] == k) for k in counts}
    for name, value, from_project in raw:
        kind = STAGE_PARAMS[name]
        if kind == "include":
            pending_includes.append((value, _read_include(value, protected)))
            include_from_project = include_from_project or from_project
            continue
        if name == "exec_file":
            value = _read_text(value, "Exec file", protected)
        counts[kind] += 1
        label = {"exec": "exec script", "filter": "filter", "assert": "assert",
                 "levels": "levels", "exclude_levels": "exclude-levels"}[kind]
        if total[kind] > 1:
            label = f"{label} {counts[kind]}"
        prelude = None
        names: tuple[str, ...] = ()
        if pending_includes:
            if kind == "assert":
                raise UsageError("-I/--include cannot be attached to --assert (it takes a single expression)")
            if kind in ("exec", "filter"):
                names = tuple(n for n, _ in pending_includes)
                prelude = "\n".join(t for _, t in pending_includes)
                pending_includes = []
                from_project = from_project or include_from_project
                include_from_project = False
        if kind in ("levels", "exclude_levels"):
            items = tuple(x.strip() for x in value.split(",") if x.strip())
            if not items:
                raise UsageError(f"--{'levels' if kind == 'levels' else 'exclude-levels'} needs at least one level")
            value = ",".join(items)
        stages.append(Stage(kind, value, label, prelude, names, from_project))
    begin, end = p.get("begin"), p.get("end")
    begin_prelude = end_prelude = None
    # (a repeated --begin/--end: click keeps the last one)
    begin_from_project = bool(origins["begin"]) and origins["begin"][-1]
    end_from_project = bool(origins["end"]) and origins["end"][-1]
    if pending_includes:
        text = "\n".join(t for _, t in pending_includes)
        if end is not None:
            end_prelude = text
            end_from_project = end_from_project or include_from_project
        elif begin is not None:
            begin_prelude = text
            begin_from_project = begin_from_project or include_from_project
        else:
            raise UsageError("-I/--include must come before the --exec or --filter stage it belongs to")

    # --freq / --card / --describe: appended after every other stage, as Kelora does.
    implied_metrics = False
    for flag, fn in (("freq", "track_freq"), ("card", "track_cardinality"), ("describe", "track_stats")):
        for field in p.get(flag) or ():
            stages.append(Stage("exec", _field_tracker(fn, field), f"--{flag} {field}"))
            implied_metrics = True

    # --- input ---------------------------------------------------------------------------------
    fmt = p.get("input_format") or None
    if p.get("json_input"):
        if fmt is not None:
            raise UsageError("the argument '-j' cannot be used with '--input-format <FORMAT>'")
        fmt = "json"
    files = tuple(p.get("files") or ())
    for path in files:
        if path != "-":
            fileguard.check_flag_read(path, "input file", protected)
    if files.count("-") > 1:
        raise UsageError('stdin ("-") can only be specified once')
    if p.get("no_input") and files:
        raise UsageError("--no-input cannot be used with input files",
                         hint="Remove --no-input to read files, or remove file arguments to run script-only stages.")
    if not files and not p.get("no_input") and env.stdin_isatty:
        raise UsageError("error: no input files or stdin provided\n\n  tip: pass a file name, pipe data in, "
                         "or use --no-input with --begin/--end\n\nUsage: kelora [OPTIONS] [FILES]...\n\n"
                         "For more information, try '--help'.")
    if p.get("fail_open") and p.get("fail_closed"):
        raise UsageError("the argument '--fail-open' cannot be used with '--fail-closed'",
                         hint="--fail-closed drops a failed event; --fail-open restores its raw values")
    for flag in ("keep_lines", "ignore_lines"):
        pattern = p.get(flag)
        if pattern is not None:
            import re

            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"Invalid {flag.replace('_', '-')} regex pattern '{pattern}': {exc}")

    # --- output ----------------------------------------------------------------------------
    out_fmt = p.get("output_format") or None
    if p.get("json_output"):
        if out_fmt is not None:
            raise UsageError("the argument '-J' cannot be used with '--output-format <FORMAT>'")
        out_fmt = "json"
    out_fmt = out_fmt or "default"
    keys = _csv_list(p.get("keys"))
    if p.get("core") and out_fmt in registry.OUTPUTS and registry.OUTPUTS[out_fmt].family == "csv":
        raise UsageError(f"--core cannot be used with -F {out_fmt} (CSV columns come from --keys)")

    stats = p.get("stats")
    if p.get("no_stats"):
        stats = None
    from kelora.metrics.render import FORMATS as METRICS_FORMATS
    from kelora.report.messages import STATS_FORMATS

    if stats is not None and stats not in STATS_FORMATS:
        raise UsageError(f"invalid value '{stats}' for '--stats[=<FORMAT>]'",
                         hint="possible values: " + ", ".join(STATS_FORMATS))
    metrics = p.get("metrics")
    if metrics is None and implied_metrics:
        metrics = "auto"
    if p.get("no_metrics"):
        metrics = None
    if metrics is not None and metrics != "auto" and metrics not in METRICS_FORMATS:
        raise UsageError(f"invalid value '{metrics}' for '--metrics[=<FORMAT>]'",
                         hint="possible values: " + ", ".join(METRICS_FORMATS))

    output_file = p.get("output_file")
    if output_file is not None and output_file in registry.OUTPUTS and output_file != "none":
        env.stderr.write(
            f"kelora hint: writing output to a file named '{output_file}'; did you mean "
            f"-F {output_file} (--output-format)?\n")

    diagnostics = p.get("diagnostics")  # None | True | False (last one wins)
    warnings = p.get("warnings")
    hints = p.get("hints")
    env_no_warn = env.environ.get("KELORA_NO_WARNINGS") is not None
    env_no_hints = env.environ.get("KELORA_NO_HINTS") is not None
    warn_on = (not env_no_warn) if warnings is None else warnings
    hints_on = (not env_no_hints) if hints is None else hints
    if diagnostics is False:
        warn_on = hints_on = False
    hints_forced = diagnostics is True or hints is True
    if diagnostics is True:
        warn_on = hints_on = True
    verbose = p.get("verbose") or 0
    if diagnostics is False or p.get("silent"):
        verbose = 0

    threads = p.get("threads") or 0
    if threads > 1000:
        raise UsageError("--threads must be at most 1000")
    if threads < 0:
        raise UsageError(f"invalid value '{threads}' for '--threads <THREADS>': use 0 (one per core) or more")
    batch_size = p.get("batch_size")
    if batch_size is not None and batch_size <= 0:
        raise UsageError("Batch size must be greater than 0")
    engine = p.get("engine") or "local"
    if engine not in ("local", "dask"):
        raise UsageError(f"invalid value '{engine}' for '--engine <ENGINE>'", hint="possible values: local, dask")
    batch_timeout = p.get("batch_timeout")
    if batch_timeout is not None and batch_timeout < 0:
        raise UsageError("--batch-timeout must be 0 or more (milliseconds)")
    if batch_timeout is not None and batch_timeout > MAX_BATCH_TIMEOUT_MS:
        raise UsageError(f"--batch-timeout must be at most {MAX_BATCH_TIMEOUT_MS} (milliseconds, ~24 days); "
                         "0 never sends a partial batch early")
    parallel = bool(p.get("parallel")) or threads > 0 or batch_size is not None or engine == "dask"
    if p.get("no_parallel"):
        parallel = False
    if p.get("scheduler") is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask")

    seed = env.environ.get("KELORA_SEED")
    if seed is not None and not seed.isdigit():
        raise UsageError(f"KELORA_SEED must be a non-negative integer, got {seed!r}")

    scan_pii = p.get("scan_pii")
    if scan_pii is not None and scan_pii not in STATS_FORMATS:
        raise UsageError(f"invalid value '{scan_pii}' for '--scan-pii[=<FORMAT>]'",
                         hint="possible values: table, json")
    pii_allow = tuple(p.get("pii_allow") or ())
    if pii_allow:
        from kelora.privacy.pii_scan import check_allow

        for item in pii_allow:
            check_allow(item)

    take = p.get("take")
    if take is not None and take < 0:
        raise UsageError("--take must be 0 or more")

    time_options = _time_options(p, env)
    before, after = _context_sizes(p, stages, time_options)

    startup_hints = []
    if total["levels"] > 1:  # reference §1.3: repeated -l is AND, which surprises people
        startup_hints.append("-l/--levels given more than once: an event must match every list (AND); "
                             "use one comma-separated list, e.g. -l error,warn, to keep any of them")

    return Config(
        files=files,
        input_format=fmt or "auto",
        no_input=bool(p.get("no_input")),
        skip_lines=p.get("skip_lines") or 0,
        head=p.get("head"),
        keep_lines=p.get("keep_lines"),
        ignore_lines=p.get("ignore_lines"),
        max_line_bytes=_parse_size(p.get("max_line_bytes")),
        cols_sep=p.get("cols_sep"),
        strict_utf8=bool(p.get("strict_utf8")),
        **time_options,
        begin=begin,
        begin_prelude=begin_prelude,
        begin_from_project=begin_from_project,
        end_from_project=end_from_project,
        end=end,
        end_prelude=end_prelude,
        stages=tuple(stages),
        allow_fs_writes=bool(p.get("allow_fs_writes")),
        keys=keys,
        exclude_keys=_csv_list(p.get("exclude_keys")) or (),
        core=bool(p.get("core")),
        take=take,
        context_before=before,
        context_after=after,
        output_format=out_fmt,
        output_file=output_file,
        quiet=bool(p.get("quiet")),
        silent=bool(p.get("silent")),
        warnings=warn_on,
        hints=hints_on,
        hints_forced=hints_forced,
        script_output=p.get("script_output") is not False,
        brief=bool(p.get("brief")),
        color=p.get("color"),
        emoji=p.get("emoji"),
        stats=stats,
        with_stats=bool(p.get("with_stats")) and not p.get("no_stats"),  # --no-stats cancels both
        metrics=metrics,
        with_metrics=bool(p.get("with_metrics")),
        metrics_file=p.get("metrics_file"),
        parallel=parallel,
        threads=threads,
        batch_size=batch_size,
        unordered=bool(p.get("unordered")),
        batch_timeout=200 if batch_timeout is None else batch_timeout,
        engine=engine,
        scheduler=p.get("scheduler"),
        insecure_transport=bool(p.get("insecure_transport")),
        strict=bool(p.get("strict")),
        fail_closed=bool(p.get("fail_closed")),
        fail_open=bool(p.get("fail_open")),
        csv_safe=bool(p.get("csv_safe")),
        verbose=verbose,
        secret_file=data.secret_file,
        rotation_map=p.get("rotation_map"),
        escrow=p.get("escrow"),
        scan_pii=scan_pii,
        pii_allow=pii_allow,
        config_path=", ".join(data.paths) or None,
        project_config=getattr(data, "project", None),
        config_files=config_files,
        extra={"hints": startup_hints},
    )


def _time_options(p: dict, env) -> dict:
    """--ts-field, --ts-format, --input-tz (else TZ, else UTC), --normalize-ts, --since/--until
    (resolved here, so a bad value is a usage error before anything is read)."""
    from kelora.builtins.datetime_fns import zone
    from kelora.errors import FunctionError

    input_tz = p.get("input_tz")
    assumed = False
    if input_tz is not None:
        try:
            zone(input_tz)
        except FunctionError:
            raise UsageError(f"Invalid --input-tz '{input_tz}': expected 'local', 'UTC', or an IANA "
                             "timezone name (e.g. Europe/Berlin, America/New_York)") from None
    else:
        tz_env = env.environ.get("TZ", "")
        if tz_env:  # a chosen zone; one Python cannot read stands for the local time, as in Kelora
            try:
                zone(tz_env.lstrip(":"))
                input_tz = tz_env.lstrip(":")
            except FunctionError:
                input_tz = "local"
        else:
            input_tz, assumed = "UTC", True
    ts_field = p.get("ts_field")
    ts_field = ts_field.strip() or None if ts_field is not None else None
    ts_format = p.get("ts_format") or None
    since = until = None
    if p.get("since") is not None or p.get("until") is not None:
        from kelora.timestamps import TimeArgError, TsParser, resolve_time_range

        try:
            since, until = resolve_time_range(p.get("since"), p.get("until"), TsParser(tz=zone(input_tz)))
        except TimeArgError as exc:
            raise UsageError(str(exc)) from None
    return {"ts_field": ts_field, "ts_format": ts_format, "input_tz": input_tz, "tz_assumed": assumed,
            "normalize_ts": bool(p.get("normalize_ts")), "since": since, "until": until,
            "multiline": _multiline(p)}


def _context_sizes(p: dict, stages, time_options: dict) -> tuple[int, int]:
    """-B/-A/-C (as Kelora: -C sets both, overriding -A/-B); they need active filtering."""
    sizes = {k: p.get(k) for k in ("before_context", "after_context", "context")}
    for name, value in sizes.items():
        if value is not None and value < 0:
            flag = {"before_context": "-B", "after_context": "-A", "context": "-C"}[name]
            raise UsageError(f"error: invalid value '{value}' for '{flag} <N>': must be 0 or more")
    if sizes["context"] is not None:
        before = after = sizes["context"]
    else:
        before, after = sizes["before_context"] or 0, sizes["after_context"] or 0
    filtering = (any(st.kind in ("filter", "levels", "exclude_levels") for st in stages)
                 or time_options["since"] is not None or time_options["until"] is not None)
    if (before or after) and not filtering:
        raise UsageError("Context options (-A, -B, -C) require active filtering because context is shown "
                         "around matches. Add --filter, --levels, --since, or --until.")
    return before, after


def _multiline(p: dict):
    """-M/--multiline and --multiline-join -> a MultilineSpec (or None)."""
    value, join = p.get("multiline"), p.get("multiline_join")
    if join is not None and join not in ("space", "newline", "empty"):
        raise UsageError(f"error: invalid value '{join}' for '--multiline-join <JOIN>'\n  [possible values: "
                         "space, newline, empty]\n\nFor more information, try '--help'.")
    if value is None:
        if join not in (None, "space"):
            raise UsageError("--multiline-join requires --multiline. Start with --multiline indent, or see "
                             "--help-multiline for regex/timestamp strategies.")
        return None
    from kelora.errors import FatalError
    from kelora.run.multiline import compile_patterns, parse_spec

    try:
        spec = parse_spec(value, join or "space")
    except ValueError as exc:
        raise UsageError(f"Invalid multiline configuration '{value}': {exc}") from None
    try:
        compile_patterns(spec)
    except ValueError as exc:  # Kelora finds these when it builds the pipeline: exit 1
        raise FatalError(str(exc)) from None
    return spec


def _universal(text: str) -> str:
    """Line ends as text-mode open() gives them (scripts written on Windows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _read_include(path: str, protected: frozenset = frozenset()) -> str:
    from kelora import fileguard

    try:
        return _universal(fileguard.read_flag_file(path, "-I/--include", protected).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"Error: Failed to read include file '{path}': {reason}")


def _field_tracker(fn: str, field: str) -> str:
    import json

    q = json.dumps(field, ensure_ascii=False)  # (ASCII escapes would split 😀 into two surrogates)
    if "." in field:
        value = f"if e.contains({q}) {{ e[{q}] }} else {{ e.get_path({q}) }}"
    else:
        value = f"e[{q}]"
    return f"{fn}({q}, {value})"


def _csv_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _parse_size(value: str | None) -> int | None:
    if value is None:
        from kelora.config import DEFAULT_MAX_LINE_BYTES

        return DEFAULT_MAX_LINE_BYTES
    v = value.strip().lower()
    if v in ("0", "off", "unlimited", "none"):
        return None
    units = {"kib": 1024, "kb": 1000, "k": 1024, "mib": 1024**2, "mb": 1000**2, "m": 1024**2,
             "gib": 1024**3, "gb": 1000**3, "g": 1024**3, "b": 1}
    for suffix in sorted(units, key=len, reverse=True):
        if v.endswith(suffix):
            num = v[: -len(suffix)].strip()
            break
    else:
        suffix, num = "b", v
    try:
        size = float(num) * units[suffix]
        if not size >= 0:  # negative, or NaN
            raise ValueError
        return int(size)  # OverflowError for inf
    except (ValueError, OverflowError):
        raise UsageError(f"invalid size '{value}' for '--max-line-bytes' (examples: 1048576, 64MiB, 1GiB, off)") from None
