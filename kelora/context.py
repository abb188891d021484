"""Run-time state shared by compiled scripts, builtins and the pipeline.

``RunContext`` lives for the whole run (one per worker process): metrics, ``conf``, ``state``,
the pseudonym keyring, diagnostics.  ``Scope`` lives for one event: the event map ``e``, its
``meta``, and the ``let`` variables, which (COMPAT D1) are shared by every stage of that event.

Per-stage atomicity is the pipeline's job: it snapshots what a stage may change, and builtins
with side effects (``track_*``, ``emit_each``) record them in ``ctx.pending`` / ``ctx.emitted``
while a stage runs so a failing stage can discard them.
"""
from __future__ import annotations

import os
from typing import Callable, Mapping


class Diagnostics:
    """Where script-originated text goes.  The pipeline supplies real sinks; tests may not."""

    def __init__(
        self,
        print_fn: Callable[[str], None] | None = None,
        eprint_fn: Callable[[str], None] | None = None,
        warn_fn: Callable[[str], None] | None = None,
        warn_once_fn: Callable[[str, str], None] | None = None,
    ):
        self.print = print_fn or (lambda s: None)
        self.eprint = eprint_fn or (lambda s: None)
        self._warn = warn_fn or (lambda s: None)
        # (key, message): a parallel worker's reporter marks these for the driver (Reporter.warning_once)
        self._warn_once = warn_once_fn or (lambda key, message: self._warn(message))
        self._seen: set[str] = set()

    def warn(self, message: str) -> None:
        self._warn(message)

    def warn_once(self, key: str, message: str) -> None:
        if key not in self._seen:
            self._seen.add(key)
            self._warn_once(key, message)

    def first_time(self, key: str) -> bool:
        """Record *key* as warned; whether it was new (a driver keeping one of each)."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def forget_once(self) -> None:
        """Warn again on the next occurrence of every key (a worker starting a batch: each batch
        reports its own first occurrences, and the driver keeps the first in input order)."""
        self._seen.clear()


class RunContext:
    """Everything a builtin may need besides its arguments."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        diagnostics: Diagnostics | None = None,
        allow_fs_writes: bool = False,
        strict: bool = False,
        secret_file: str | None = None,
        secret_env: Mapping[str, str] | None = None,
        config_files: tuple[str, ...] = (),
        pseudonym_notice: Callable[[str, str], None] | None = None,
    ):
        from kelora.metrics.store import MetricStore

        self.env: Mapping[str, str] = os.environ if env is None else env
        self.diag = diagnostics or Diagnostics()
        self.allow_fs_writes = allow_fs_writes
        self.strict = strict
        self.secret_file = secret_file  # config-file `secret_file` (COMPAT D10)
        # the secret variables, kept apart from `env` (COMPAT D16; None: keyring.secret_env_of)
        self.secret_env = secret_env
        self._protected_ids = None  # (dev, ino) of secret files (kelora.fileguard), lazily
        self.config_files = config_files  # the config files the run used: kelora's own state
        self._own_state = None  # kelora.fileguard.OwnState, lazily (what writers refuse)
        # Called as notice(kind, text) by the keyring: kind "warning" (ephemeral key) or
        # "status" (the -vv line); the pipeline decides what is shown.
        self.pseudonym_notice = pseudonym_notice or (lambda kind, text: None)
        self.stage = "exec"  # begin | exec | filter | assert | end
        self.conf: dict = {}
        self.state: dict = {}
        self.metrics = MetricStore()
        self.metrics_view: dict | None = None  # finalised metrics, visible in --end
        self.pending: list | None = None  # track_* ops of the running stage
        self.emitted: list | None = None  # emit_each events of the running stage
        self.pending_io: list | None = None  # file writes of the running stage (--allow-fs-writes)
        self.keyring = None  # pseudonym keys, created at the first pseudonym() call
        self.pseudonym_wrappers: tuple = ()  # privacy lifecycle hooks (kelora.privacy.lifecycle)
        self.escrow = None  # --escrow: kelora.privacy.escrow.Escrow (reveal())
        self.position: Callable[[], int] | None = None  # the line being processed (the pipeline's)


    @staticmethod
    def explain_missing(err, scope) -> None:
        """Name the field whose absence caused *err* (``kelora.lang.explain``; a cold path)."""
        from kelora.lang.explain import enrich

        enrich(err, scope)


class Scope:
    """Variables of one event (or of --begin/--end).  ``e`` may become ``None`` (``e = ()``)."""

    __slots__ = ("e", "vars", "meta", "ctx")

    def __init__(self, e: dict | None, meta: dict, ctx: RunContext, vars: dict | None = None):
        self.e = e
        self.meta = meta
        self.ctx = ctx
        self.vars = {} if vars is None else vars
