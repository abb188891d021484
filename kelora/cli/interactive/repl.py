"""The ``kelora> `` prompt: read a line, run it in-process, repeat (COMPAT D22).

A line is either a command of the mode (``:help``, ``:quit``, ``:load``, ``:event``, ``:eval`` or
``? EXPR``, ``:fn``) or kelora's own arguments, split like a shell would (quotes work, but no
shell is involved: nothing to escape for it) with globs expanded, and run by
``cli.run_command`` in this process, as Kelora's interactive mode runs them.

Ctrl-C while a command runs reaches it as KeyboardInterrupt: the pipeline stops, flushes and
removes any temporary ``-o`` file as on a Ctrl-C of the plain command, and the prompt comes back.
Ctrl-C at the prompt twice in a row (or Ctrl-D, ``:quit``) ends the mode with exit 0.
"""
from __future__ import annotations

import os
import sys

from kelora.status import ExitStatus

BANNER = "Kelora Interactive Mode — :quit to exit, :help for help\n"

HELP = """\
Interactive mode - enter kelora commands without 'kelora' prefix

  TAB          Complete files, functions and (after :load) e.FIELD names
  *.log        Glob patterns auto-expand
  'foo bar'    Use quotes when args contain spaces
  -h           Quick help (or --help for full)

  :load FILE [OPTIONS]  Keep the first events of FILE as a sample (format auto-detected;
                        OPTIONS such as -f logfmt are kelora's own)
  :event N              Make event N of the sample (from 1) the current event `e`
  :eval EXPR            Evaluate EXPR (or statements) against the current event,
  ? EXPR                  e.g. `? e.status + 1` prints `501 (i64)`
  :fn NAME              Help for a function (:fn WORD searches)

  Ctrl-C       Cancel running command (press twice to exit)
  :quit        Exit (or :q, :exit, {eof})

Example: -j mylog.json --filter 'e.status >= 500'
"""

QUIT = (":quit", ":q", ":exit")
SAMPLE_SIZE = 1000  # events kept by :load


def main(args: list[str], env) -> int:
    from kelora.cli.interactive import OWN_FLAGS

    extra = [a for a in args if a not in OWN_FLAGS]
    if extra:
        from kelora.errors import UsageError

        raise UsageError(f"--interactive cannot be combined with other arguments (got {extra[0]!r}); "
                         "type them at the kelora> prompt instead")
    # Everything the session writes to stderr (warnings, file names, history paths, errors)
    # goes through one escaping stream: no control character of the data or of a path reaches
    # the terminal raw (D18), whichever line wrote it.
    from kelora.escape import EscapingStream

    plain_stderr = sys.stderr
    sys.stderr = EscapingStream(plain_stderr)
    try:
        return _session(args, env)
    finally:
        sys.stderr = plain_stderr


def _session(args: list[str], env) -> int:
    from kelora.cli.interactive.session import Session
    from kelora.cli.interactive import complete, history

    session = Session(env)
    use_history = "--no-history" not in args
    rl = complete.setup(session)
    hist = history.History(env, rl) if use_history else None
    if hist is not None:
        hist.load()
    out = sys.stdout
    out.write(BANNER + "\n")
    out.flush()
    interrupts = 0
    try:
        while True:
            try:
                line = input("kelora> ")
            except EOFError:  # Ctrl-D
                out.write("\n")
                break
            except KeyboardInterrupt as intr:
                if _terminated(intr):
                    return ExitStatus.SIGTERM
                interrupts += 1
                if interrupts >= 2:
                    out.write("\nExiting...\n")
                    break
                out.write("\n(To exit, press Ctrl-C again or type :quit)\n")
                out.flush()
                continue
            interrupts = 0
            text = line.strip()
            if not text:
                continue
            if hist is not None:
                hist.add(text)
            if text in QUIT:
                break
            try:
                _dispatch(text, session, env)
            except KeyboardInterrupt as intr:  # outside the pipeline's own handler
                if _terminated(intr):
                    return ExitStatus.SIGTERM
                sys.stderr.write("\n(cancelled)\n")
            finally:
                _after_command(env)
    finally:
        if hist is not None:
            hist.save()
    out.flush()
    return ExitStatus.OK


def _terminated(intr: BaseException) -> bool:
    from kelora.status import Terminated

    return isinstance(intr, Terminated)


def _after_command(env) -> None:
    """Leave nothing of one command to the next: its output flushed, its warning hook gone."""
    from kelora.lang import traps

    traps.uninstall()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _dispatch(text: str, session, env) -> None:
    if text == ":help" or text == ":h":
        sys.stdout.write(HELP.format(eof="Ctrl-Z" if os.name == "nt" else "Ctrl-D"))
        return
    if text.startswith("?"):
        session.evaluate(text[1:].strip())
        return
    if text.startswith(":"):
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        if name == ":eval":
            session.evaluate(rest)
        elif name == ":load":
            words = _words(rest)
            if words is not None:
                session.load(expand_globs(words))
        elif name == ":event":
            session.pick(rest)
        elif name == ":fn":
            session.function_help(rest)
        else:
            from kelora.builtins.registry import suggest

            close = suggest(name, [*QUIT, ":help", ":load", ":event", ":eval", ":fn"])
            tip = f" (did you mean {close}?)" if close else ""
            sys.stderr.write(f"Error: unknown command {name}{tip}; :help lists the commands\n")
        return
    words = _words(text)
    if not words:
        return
    if words[0] == "kelora":  # pasted from a shell: the program name is implied here
        words = words[1:]
    from kelora.cli.app import config_file_words

    if "--interactive" in config_file_words(words):
        sys.stderr.write("Error: already in interactive mode\n")
        return
    if not words:
        return
    if _looks_like_script(words):
        sys.stderr.write(f"Error: this looks like script text, not kelora's arguments; to evaluate it, "
                         f"start the line with `?`: ? {text.strip()}\n")
        return
    run_line(expand_globs(words), env)


_SCRIPT_WORDS = frozenset({"let", "const", "fn", "if", "for", "while", "loop", "print", "return",
                           "switch", "throw", "try"})


def _looks_like_script(words: list[str]) -> bool:
    """A line typed as a command line that is surely script text (`let x = 5`, `e.status > 1`,
    `print(e)`): no option, and its first word a keyword, `e.…` or a call, not a file."""
    first = words[0]
    if any(w.startswith("-") for w in words) or os.path.exists(first):
        return False
    head = first.split("(", 1)[0]
    return (head in _SCRIPT_WORDS or first.startswith(("e.", "e[", "meta.", "conf."))
            or ("(" in first and head.isidentifier()))


def _words(text: str) -> list[str] | None:
    from kelora.cli.shellwords import split

    try:
        return split(text)
    except ValueError as exc:
        sys.stderr.write(f"Error: {exc} in: {text}\n")
        return None


def expand_globs(words: list[str]) -> list[str]:
    """Kelora's rule: a word with ``*``, ``?`` or ``[`` that names files becomes those files
    (sorted); a pattern matching nothing stays as typed.  Script text (the value of -e,
    --filter, ...: it has spaces or quotes) is never taken for a pattern."""
    import glob

    out: list[str] = []
    for w in words:
        if w.startswith("-") or not any(c in w for c in "*?[") or any(c in w for c in " \t\"'(){}="):
            out.append(w)
            continue
        found = sorted(glob.glob(os.path.expanduser(w)))
        out.extend(found or [w])
    return out


def run_line(words: list[str], env) -> int:
    """One command line, in-process, with the terminal's streams (a fresh Env each time)."""
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    run_env = Env.from_process()
    run_env.secrets = env.secrets
    try:
        return run_command(words, run_env)
    finally:
        try:
            run_env.stdout.flush()
        except (OSError, ValueError):
            pass
