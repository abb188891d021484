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

The API never changes ``os.environ``: the secret comes from the ``secret=`` argument, or (None)
from the environment as the command reads it, and only the keyring sees it.  Diagnostics
(warnings, the error summary) and script ``print`` output are kept in ``diagnostics`` and
``printed`` rather than written to the process's streams.
"""
from __future__ import annotations

import io
import os
from typing import Iterable, Iterator, Sequence

from kelora.errors import FatalError, KeloraError, UsageError

_STAGE_FLAGS = {"exec": "-e", "filter": "--filter", "assert": "--assert", "levels": "-l",
                "exclude_levels": "-L"}


def _texts(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Pipeline:
    """One kelora run, set up once and run with ``process()`` (each call is a new run)."""

    def __init__(self, exec: str | Sequence[str] | None = None, filter: str | Sequence[str] | None = None,
                 begin: str | None = None, end: str | None = None, keys: Sequence[str] | None = None,
                 exclude_keys: Sequence[str] | None = None, secret: str | bytes | None = None, *,
                 stages: Sequence[tuple[str, str]] | None = None, input_format: str = "json",
                 strict: bool = False, fail_closed: bool = False, args: Sequence[str] = ()):
        if stages is not None and (exec is not None or filter is not None):
            raise UsageError("give either stages=[...] or exec=/filter=, not both (stages keeps their order)")
        argv = ["--ignore-config", "-f", input_format, "-F", "json", "--no-emoji"]
        ordered = list(stages) if stages is not None else (
            [("exec", t) for t in _texts(exec)] + [("filter", t) for t in _texts(filter)])
        for kind, text in ordered:
            flag = _STAGE_FLAGS.get(kind)
            if flag is None:
                raise UsageError(f"unknown stage kind {kind!r}; use one of: {', '.join(_STAGE_FLAGS)}")
            argv += [flag, text]
        if begin is not None:
            argv += ["--begin", begin]
        if end is not None:
            argv += ["--end", end]
        if keys is not None:
            argv += ["-k", ",".join(keys)]
        if exclude_keys:
            argv += ["-K", ",".join(exclude_keys)]
        if strict:
            argv.append("--strict")
        if fail_closed:
            argv.append("--fail-closed")
        self.argv = [*argv, *args]
        self._secret = secret.decode() if isinstance(secret, bytes) else secret
        self._metrics: dict | None = None
        self._stats: dict | None = None
        self.exit_code: int | None = None
        self.diagnostics = ""
        self.printed = b""
        config, env = self._config()  # flags and scripts are checked now, as the command
        _Run(config, env).check()       # does before reading any input

    # ------------------------------------------------------------------ set-up
    def _env(self):
        from kelora.run.env import Env, isolate_secrets

        environ = dict(os.environ)  # a copy: the caller's environment is never changed
        env = Env(stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.StringIO(), environ=environ)
        env = isolate_secrets(env)
        if self._secret is not None:
            from kelora.keyring import is_secret_variable

            secrets = {k: v for k, v in env.secrets.items() if not is_secret_variable(k)
                       or k.startswith(("KELORA_SECRET_PREVIOUS", "KELORA_ESCROW"))}
            env.secrets = {**secrets, "KELORA_SECRET": self._secret}
        return env

    def _config(self):
        from kelora.cli.app import parse_args

        env = self._env()
        config, extra = parse_args(self.argv, env)
        if extra.get("exit") is not None:
            raise UsageError(f"these options do not run a pipeline: {' '.join(self.argv)}")
        return config, env

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
        ``input_format``), yielding each output event as a dict as soon as it is produced."""
        self._metrics = self._stats = None
        self.exit_code = None
        config, env = self._config()
        return self._run(config, env, events)

    def _run(self, config, env, events) -> Iterator[dict]:
        import orjson

        run = _Run(config, env)
        run.start()
        try:
            for n, item in enumerate(events, 1):
                if isinstance(item, str):
                    line = item.encode("utf-8", "surrogateescape")
                elif isinstance(item, bytes):
                    line = item
                elif isinstance(item, dict):
                    try:
                        line = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS)
                    except TypeError as exc:
                        raise UsageError(f"event {n} cannot be given to kelora: {exc}") from None
                else:
                    raise UsageError(f"event {n} is a {type(item).__name__}; give dicts, or lines as str/bytes")
                yield from run.feed(line)
                if run.stopped:
                    break
            yield from run.finish()
        finally:
            self.diagnostics += env.stderr.getvalue()
            self.printed += run.printed()
        self.exit_code = run.exit_code
        self._metrics, self._stats = run.metrics, run.stats


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
        self.metrics = self.stats = None

    def check(self) -> None:
        """Compile the scripts (a ScriptError, a KeloraError, with the CLI's message) and refuse
        the options that need the whole command-line run."""
        from kelora.errors import ScriptError

        pipe = self.pipe
        c = pipe.config
        try:
            pipe.compile()
        except ScriptError as err:  # str(err): the CLI's message (what, where, the line, a caret, a hint)
            err.message = f"Pipeline error: {err.render()}"
            raise
        whole_run = [flag for flag, used in (
            ("--parallel", c.parallel), ("-o", c.output_file), ("-M", c.multiline is not None),
            ("-A/-B/-C", c.context_before or c.context_after), ("--rotation-map", c.rotation_map),
            ("--escrow", c.escrow), ("--scan-pii", c.scan_pii), ("reveal()", "reveal" in pipe.called_functions),
        ) if used]
        if whole_run:
            raise UsageError(f"{', '.join(whole_run)}: not available in Pipeline.process(); "
                             "run the command line with kelora.main([...]) instead")

    def start(self) -> None:
        pipe = self.pipe
        self.check()
        pipe.sink = pipe.make_sink()
        pipe.sink.open(in_memory=True)
        pipe.sink.redirect(self.out, self.print_out, pipe.stats)
        self._run(pipe.run_begin)

    def _run(self, step):
        from kelora.errors import ExitRequest
        from kelora.run.ingest import StopInput
        from kelora.run.stages import StageFailed

        try:
            step()
        except StopInput:  # --take reached
            self.stopped = True
        except StageFailed as fail:  # --strict
            raise FatalError(f"Pipeline error: {fail.message}") from None
        except ExitRequest as req:  # exit(code): the run ends here, without --end
            self.exit_code = req.code
            self.stopped = self.exited = True

    def feed(self, line: bytes) -> list[dict]:
        """Run one input line; the events it produced (none once the run has stopped)."""
        from kelora.run.batch import Lines

        if self.stopped:
            return []
        pipe = self.pipe
        pipe.current_source = source = Lines([line + b"\n"], None)
        self._run(lambda: pipe.read_stream(source))
        return self._take()

    def _take(self) -> list[dict]:
        import orjson

        data = self.out.getvalue()
        if not data:
            return []
        self.out.seek(0)
        self.out.truncate()
        return [orjson.loads(line) for line in data.splitlines()]

    def finish(self) -> list[dict]:
        import json

        from kelora.metrics.render import render
        from kelora.report.messages import stats_json

        pipe = self.pipe
        if not self.exited:
            self._run(pipe.run_end)
        events = self._take()
        self.metrics = json.loads(render(pipe.ctx.metrics, "json") or "{}")
        self.stats = json.loads(stats_json(pipe.stats))
        if self.exit_code == 0:
            self.exit_code = int(pipe.exit_code())
        return events

    def printed(self) -> bytes:
        return self.print_out.getvalue()


def main(argv: Sequence[str]) -> int:
    """Run a kelora command line in this process (the real stdin/stdout/stderr) and return its
    exit code, as the ``kelora`` command would exit.  ``os.environ`` is left as it is."""
    from kelora.cli.app import run_command
    from kelora.run.env import Env
    from kelora.status import ExitStatus

    env = Env.from_process()
    try:
        code = run_command(list(argv), env)
    except BrokenPipeError:
        code = ExitStatus.BROKEN_PIPE
    except KeyboardInterrupt:
        code = ExitStatus.SIGINT
    try:
        env.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        code = ExitStatus.BROKEN_PIPE
    return int(code)
