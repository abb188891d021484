"""The prompt's history: ``<user config folder>/kelora/interactive_history.txt``, mode 0600.

The folder is the one of the user config file (``$XDG_CONFIG_HOME/kelora``, else
``~/.config/kelora``).  The file is created owner-only before anything is written to it (lines
typed at the prompt may hold values worth keeping private) and reset to 0600 at every save.
``--no-history`` neither reads nor writes it.  A history that cannot be read or written is not
an error: the prompt works without it (one warning).
"""
from __future__ import annotations

import os
import sys

MAX_LINES = 1000


class History:
    def __init__(self, env, readline):
        from kelora.cli.config_file import user_config_path

        self.path = user_config_path(env.environ).parent / "interactive_history.txt"
        self.rl = readline

    def load(self) -> None:
        if self.rl is None:
            return
        self.rl.set_history_length(MAX_LINES)
        try:
            if self.path.exists():
                self.rl.read_history_file(str(self.path))
        except OSError as exc:
            sys.stderr.write(f"kelora warning: cannot read the history {self.path}: {exc.strerror or exc}\n")

    def add(self, line: str) -> None:
        # readline's input() already records the line; nothing to do here (kept for a non-readline
        # prompt, which has no history)
        return

    def save(self) -> None:
        if self.rl is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
            self.rl.write_history_file(str(self.path))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            sys.stderr.write(f"kelora warning: cannot write the history {self.path}: {exc.strerror or exc}\n")
