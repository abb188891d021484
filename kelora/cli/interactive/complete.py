"""Tab completion at the ``kelora> `` prompt (stdlib readline; absent readline: no completion).

The word under the cursor completes to file names (as Kelora's prompt does), to function names
(``to_up`` -> ``to_upper(``, also after a dot: ``e.msg.to_up``), to the fields of the loaded
sample (``e.sta`` -> ``e.status``), to flags (``--fil`` -> ``--filter``) and to the prompt's own
commands (``:lo`` -> ``:load``).
"""
from __future__ import annotations

import glob
import os
import re

COMMANDS = (":help", ":quit", ":q", ":exit", ":load", ":event", ":eval", ":fn")
# what ends a word: spaces and script punctuation (not '.', '/', '-', ':'); quotes are not in it,
# as readline would then close a quote it thinks open (`"ab".to_up<TAB>` gave `to_upper("`)
DELIMS = " \t\n`()[]{},;=+*!<>&|?"
_IDENT = re.compile(r"[A-Za-z_]\w*\Z")


def setup(session):
    """Readline with history and completion, or None when the platform has no readline."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    completer = Completer(session)
    readline.set_completer(completer.complete)
    readline.set_completer_delims(DELIMS)
    if "libedit" in (readline.__doc__ or ""):  # macOS' readline
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return readline


class Completer:
    def __init__(self, session):
        self.session = session
        self._matches: list[str] = []
        self._functions: list[str] | None = None
        self._flags: list[str] | None = None

    def complete(self, text: str, state: int):
        if state == 0:
            try:
                self._matches = self.candidates(text)
            except Exception:  # a completion must never break the prompt
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def candidates(self, text: str) -> list[str]:
        if text.startswith(":"):
            return [c + " " for c in COMMANDS if c.startswith(text)]
        if text.startswith("-"):
            return [f for f in self.flags() if f.startswith(text)]
        out: list[str] = []
        head, dot, tail = text.rpartition(".")
        if dot and (tail == "" or _IDENT.match(tail)):
            if head == "e" or head.startswith("e."):
                out += [f"{head}.{k}" for k in self.session.field_names() if k.startswith(tail) and _IDENT.match(k)]
            out += [f"{head}.{f}(" for f in self.functions() if f.startswith(tail)]
        if text == "" or _IDENT.match(text):
            out += [f + "(" for f in self.functions() if f.startswith(text)]
        out += _files(text)
        seen: dict[str, None] = {}
        for c in out:
            seen.setdefault(c, None)
        return list(seen)

    def functions(self) -> list[str]:
        if self._functions is None:
            from kelora.builtins.registry import load_all

            self._functions = sorted(load_all())
        return self._functions

    def flags(self) -> list[str]:
        if self._flags is None:
            from kelora.cli.flags import build_command

            names = set()
            for p in build_command().params:
                if not getattr(p, "hidden", False):
                    names.update(o for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))
                                 if o.startswith("-"))
            self._flags = sorted(names)
        return self._flags


def _files(text: str) -> list[str]:
    if any(c in text for c in "*?["):
        return []
    if text[:1] in ("'", '"'):  # a quoted file name: complete inside the quote
        return [text[0] + f for f in _files(text[1:])]
    pattern = os.path.expanduser(text) + "*"
    found = []
    for path in sorted(glob.glob(pattern))[:200]:
        shown = text + path[len(os.path.expanduser(text)):] if text.startswith("~") else path
        found.append(shown + ("/" if os.path.isdir(path) else ""))
    return found
