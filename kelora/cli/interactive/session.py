"""What the prompt remembers between lines: a sample of events, the current event, `let`s.

``:load FILE`` runs kelora itself on FILE (in-process, format auto-detected unless the options
say otherwise) with ``-F json`` into memory and keeps the first events; ``:eval`` compiles the
text as an ``-e`` stage, checks its names as a run would (COMPAT D23, with the same advice), and
runs it on the current event.  Errors are shown with the renderer of a run (line, caret, hint);
results in the language's own notation with their type: ``501 (i64)``, ``#{"a": 1} (map)``.
"""
from __future__ import annotations

import copy
import io
import sys

SAMPLE_SIZE = 1000


class Session:
    def __init__(self, env):
        self.env = env
        self.sample: list[dict] = []
        self.source = ""
        self.index = 0  # 1-based position of the current event in the sample (0: none)
        self.event: dict = {}
        self.vars: dict = {}
        self.earlier: list = []  # names.StageInfo of :eval lines that declared variables
        self._ctx = None

    # ------------------------------------------------------------------ sample
    def load(self, words: list[str]) -> None:
        if not words:
            sys.stderr.write("Error: :load needs a file name, e.g. :load app.log (or :load app.log -f logfmt)\n")
            return
        from kelora.cli.app import run_command
        from kelora.run.env import Env
        from kelora.escape import EscapingStream

        out = io.BytesIO()
        env = Env(stdin=io.BytesIO(), stdout=out, stderr=EscapingStream(sys.stderr),
                  environ=self.env.environ, cwd=self.env.cwd, secrets=self.env.secrets)
        code = run_command([*words, "-F", "json", "-n", str(SAMPLE_SIZE), "--no-stats"], env)
        events = _read_events(out.getvalue())
        if code != 0 and not events:
            sys.stderr.write(f"Error: nothing loaded from {words[0]} (kelora exited with {int(code)})\n")
            return
        if not events:
            sys.stderr.write(f"Error: {words[0]} holds no events\n")
            return
        self.sample = events
        self.source = words[0]
        self._set(1)
        keys = _keys(events)
        shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
        sys.stdout.write(f"Loaded {len(events)} event{'s' if len(events) != 1 else ''} from {_safe(words[0])}"
                         f" (fields: {_safe(shown)}); event 1 is `e` (:event N picks another)\n")

    def pick(self, text: str) -> None:
        if not self.sample:
            sys.stderr.write("Error: no sample loaded; :load FILE first\n")
            return
        if not text:
            self._show_event()
            return
        try:
            n = int(text)
        except ValueError:
            n = 0
        if not 1 <= n <= len(self.sample):
            sys.stderr.write(f"Error: :event takes a number from 1 to {len(self.sample)}\n")
            return
        self._set(n)
        self._show_event()

    def _set(self, n: int) -> None:
        self.index = n
        self.event = copy.deepcopy(self.sample[n - 1])  # :eval may change it; :event N resets it

    def _show_event(self) -> None:
        from kelora.values import debug_string

        lines = [f"  {debug_string(k)}: {debug_string(v)}," for k, v in self.event.items()]
        body = "\n".join(lines)
        head = f"event {self.index} of {len(self.sample)}" if self.index else "current event"
        sys.stdout.write(f"{head}:\n#{{\n{_safe(body, keep_newlines=True)}\n}}\n")

    def field_names(self) -> list[str]:
        return _keys(self.sample) if self.sample else list(self.event)

    # ------------------------------------------------------------------ :eval
    def evaluate(self, text: str) -> None:
        if not text:
            sys.stderr.write("Error: :eval needs an expression, e.g. :eval e.status + 1\n")
            return
        from kelora.context import Scope
        from kelora.errors import ExitRequest, KeloraError, ScriptError, SkipEvent
        from kelora.lang import compile_script
        from kelora.lang.names import StageInfo, check_stages
        from kelora.values import debug_string, type_name

        try:
            prog = compile_script(text, label="eval", mode="script", stage="exec")
            here = StageInfo("exec", prog, ":eval")
            check_stages([*self.earlier, here], warn=self._warn)
        except ScriptError as err:
            sys.stderr.write(_safe(err.render()) + "\n")
            return
        scope = Scope(self.event, {"filename": self.source} if self.source else {}, self._context(), self.vars)
        try:
            value = prog.run(scope)
        except ScriptError as err:
            sys.stderr.write(_safe(err.render()) + "\n")
            return
        except SkipEvent:
            sys.stdout.write("(skip(): the event would be dropped)\n")
            return
        except ExitRequest as req:  # (a run would end here; the session goes on)
            said = f": {req.message}" if req.message else ""
            sys.stdout.write(_safe(f"(exit(): a run would stop here with exit code {req.code}{said})") + "\n")
            return
        except KeloraError as err:  # exit(), a file refused, ...
            sys.stderr.write(_safe(f"Error: {err.message}") + "\n")
            return
        finally:
            from kelora.lang import traps

            traps.uninstall()
        if scope.e is None:  # `e = ()`: the event would be dropped; keep an empty one to go on
            self.event = {}
            sys.stdout.write("(e = (): the event would be dropped)\n")
        else:
            self.event = scope.e
        if prog.top_lets:
            self.earlier.append(here)
        if value is None:
            sys.stdout.write("()\n")
        else:
            sys.stdout.write(f"{_safe(debug_string(value))} ({type_name(value)})\n")

    def _warn(self, text: str) -> None:
        sys.stderr.write(f"kelora warning: {text}\n")

    def _context(self):
        if self._ctx is None:
            from kelora.context import Diagnostics, RunContext

            def out(s: str) -> None:
                sys.stdout.write(_safe(s, keep_newlines=True) + "\n")

            def err(s: str) -> None:
                sys.stderr.write(_safe(s, keep_newlines=True) + "\n")

            self._ctx = RunContext(env=self.env.environ, secret_env=self.env.secrets,
                                   diagnostics=Diagnostics(out, err, self._warn))
        return self._ctx

    # ------------------------------------------------------------------ :fn
    def function_help(self, word: str) -> None:
        from kelora.cli import docs

        if not word:
            sys.stdout.write(docs.functions_help(None))
            return
        text = docs.functions_help(word)
        sys.stdout.write(text if text is not None else docs.no_match(word))


def _read_events(data: bytes) -> list[dict]:
    import json

    events = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            ev = json.loads(line)  # exact integers (COMPAT D20)
        except ValueError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    return events


def _keys(events: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for ev in events:
        for k in ev:
            seen.setdefault(k, None)
    return list(seen)


def _safe(text: str, keep_newlines: bool = False) -> str:
    """No raw control character from a value reaches the terminal (D18)."""
    from kelora.escape import escape_diag

    if keep_newlines:
        return "\n".join(escape_diag(part) for part in text.split("\n"))
    return escape_diag(text)
