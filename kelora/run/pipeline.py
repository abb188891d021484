"""The run: compile every script, read lines, run stages in order, write events, report.

``run(config, env) -> exit code`` is the whole program behind the flags.  It never touches
``sys``: input, output, terminal facts and environment variables come in through ``Env``.

Order of a run (reference §4-§6): compile all scripts (nothing is read if one fails) → open the
output → ``--begin`` → for each line: line selection → parse → stages → output → ``--end`` →
metrics → stats → error summary → exit code.  Ctrl-C / SIGTERM still flush metrics and stats.
"""
from __future__ import annotations

from kelora.safetext import ERRORS

import os
import time

from kelora.builtins import registry as builtin_registry
from kelora.config import Config
from kelora.context import Diagnostics, RunContext, Scope
from kelora.errors import ExitRequest, FatalError, ScriptError, ScriptRuntimeError, UsageError
from kelora.formats import registry
from kelora.formats.select_input import split_spec
from kelora.run.ingest import InputLoop, StopInput
from kelora.run.multiline import MultilineInput
from kelora.run.sink import OutputSink
from kelora.run.end import RunEnd
from kelora.report.messages import Reporter
from kelora.run.state import RunState
from kelora.run.stages import StageBuilder, StageFailed
from kelora.report.stats import ErrorLog, Stats
from kelora.status import ExitStatus

class Pipeline(InputLoop, MultilineInput, RunEnd):
    """One run.  Reading lives in ``ingest.InputLoop``, the end of the run in ``run_end.RunEnd``."""

    def __init__(self, config: Config, env):
        self.config = config
        self.env = env
        self.reporter = Reporter(config, env)
        # what the run counts (stats, errors, filter counts, metrics, privacy share): replaced
        # by a fresh one per batch in --parallel workers and Dask tasks (start_batch)
        self.state = RunState()
        self.sink: OutputSink | None = None
        self.line_num = 0
        self.current_label = "stdin"
        self.current_source = None  # the InputSource being read (ingest: a line over the cap)
        self.exit_override: int | None = None
        self.interrupted: int | None = None
        self.parser = None
        self.parser_consumed_first = False
        self.detected_formats: list[str] = []  # -f auto / auto-per-file: what detection chose
        self.called_functions: frozenset[str] = frozenset()
        self.privacy = None  # kelora.privacy.lifecycle.Lifecycle: --rotation-map, --escrow, --scan-pii
        self.event_time = None  # kelora.timestamps.EventTime, when timestamps are looked at
        self.context = None  # kelora.run.context_lines, with -A/-B/-C
        self.context_stages: frozenset[int] = frozenset()
        # set by compile(): the compiled scripts and per-event stages, and what the run needs
        self.begin = self.end = None
        self.builder: StageBuilder | None = None
        self.stage_fns: tuple = ()
        self.needs_meta = False
        self.meta_time = None  # EventTime.of when meta holds parsed_ts
        self.scope_reusable = False  # may one Scope object serve every event? (ingest)
        self.audited_stages: list = []  # (kind, program) of every stage, for --parallel's audit
        self.parallel_sequential = False  # --parallel that must read sequentially (the audit)
        # set while reading: the -f spec as decided and a CSV header line (a RunPlan carries
        # both), the progress bar, the end-of-run hints' input sample, the generated loop
        self.input_spec = config.input_format
        self.header_line: str | None = None
        self.progress = None
        self.hint_sample = None
        self.hint_sample_ready = False
        self.lean_loop = None
        self.fast_gate = None  # the JSON fast loop's input observer (its slow lines use it too)
        self.assert_render = None
        if (config.collects_stats or config.time_window or config.normalize_ts
                or config.ts_field or config.ts_format):
            from kelora.timestamps import event_time

            self.event_time = event_time(config)
            self.stats.ts_override_field = config.ts_field
            self.stats.ts_override_format = config.ts_format
        self.ctx = RunContext(
            env=env.environ,
            diagnostics=Diagnostics(self._script_print, self._script_eprint, self.reporter.warning,
                                    self.reporter.warning_once),
            allow_fs_writes=config.allow_fs_writes,
            strict=config.strict,
            secret_file=config.secret_file,
            secret_env=getattr(env, "secrets", None),
            config_files=config.config_files,
            pseudonym_notice=self._pseudonym_notice,
        )
        self.ctx.metrics = self.state.metrics
        self.ctx.position = lambda: self.line_num  # seeded random draws per line (mathfns.run_rng)

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def errors(self) -> ErrorLog:
        return self.state.errors

    # ------------------------------------------------------------------ batches
    def start_batch(self, out, printed, first_line: int, label: str) -> RunState:
        """Count and write the next lines as one batch on their own (a ``--parallel`` worker,
        a Dask task): a fresh state, the sink writing into *out* (events) and *printed* (script
        ``print``), line numbers continuing from *first_line*.  ``finish_batch`` hands the
        batch's state back for the driver to merge."""
        state = RunState(stats=Stats(format_name=self.stats.format_name),
                         filter_ok=self.builder.filter_ok)
        for k in state.filter_ok:  # (the filter stages' closures hold this very dict)
            state.filter_ok[k] = 0
        self.state = state
        self.ctx.metrics = state.metrics
        self.sink.redirect(out, printed, state.stats)
        self.line_num = first_line - 1
        self.current_label = label
        # each batch reports the first occurrence of each once-only warning it meets, marked:
        # the driver keeps the first in input order (batching.first_warnings)
        self.reporter.mark_once = True
        self.ctx.diag.forget_once()
        if self.config.has_scripts:  # (the language is in already)
            from kelora.lang import traps

            traps.forget()
        return state

    def finish_batch(self) -> RunState:
        """The state of the batch since ``start_batch``, detached from this pipeline."""
        state = self.state
        state.filter_ok = dict(state.filter_ok)
        state.privacy = self.privacy.take() if self.privacy is not None else None
        return state

    # ------------------------------------------------------------------ script output
    def _script_print(self, text: str) -> None:
        if self.config.script_output and not self.config.data_only:
            if self.privacy is not None and self.privacy.scanner is not None:
                self.privacy.scanner.scan_printed(text)  # (--scan-pii: what is printed is written too)
            if self.sink is not None:
                self.sink.script_print(text)
            else:
                self.env.stdout.write((text + "\n").encode("utf-8", ERRORS))

    def _script_eprint(self, text: str) -> None:
        if self.config.script_output and not self.config.data_only:
            if self.sink is not None:
                self.sink.flush()
            from kelora.escape import raw_stream

            # script output: escaped on a terminal (D18), as it is into a file or pipe
            stream = self.env.stderr if self.env.stderr_isatty else raw_stream(self.env.stderr)
            stream.write(text + "\n")
            stream.flush()

    def _pseudonym_notice(self, kind: str, text: str) -> None:
        if kind == "warning":
            # shown only at quiet level 0 (hidden by -s, -m, --silent, --no-diagnostics,
            # --no-script-output) but not by -q (reference §7)
            if self.reporter.quiet_level == 0 and self.config.warnings and not self.config.silent:
                self.reporter.write(self.reporter.prefix["error"] + text)
        elif self.config.verbose >= 2 and self.reporter.quiet_level == 0:
            self.reporter.write(self.reporter.prefix["status"] + text)

    # ------------------------------------------------------------------ compile
    def compile(self) -> None:
        from kelora.lang import compile_script  # (cheap: the language loads at its first script)

        c = self.config
        if _needs_key(c):
            from kelora.keyring import prefetch

            prefetch(self.ctx)  # Argon2id in a thread while the scripts compile
        if c.begin is not None:
            self.begin = compile_script(c.begin, label="begin", mode="script", stage="begin",
                                        prelude=c.begin_prelude)
            if c.begin_from_project:
                _no_reveal_from_project(self.begin, "--begin", c)
        calls: set[str] = set()
        if self.begin is not None:
            calls |= self.begin.calls
        builder = StageBuilder(self.ctx, self._record_error, strict=c.strict,
                               fail_closed=c.fail_closed, assert_failed=self._assert_failed,
                               fail_open=c.fail_open, withheld=self._withheld)
        self.builder = builder
        fns = []
        audited = []  # (kind, program) of the per-event stages, for --parallel (parallel_audit)
        needs_meta = c.output_format == "inspect"
        parsed_ts = needs_meta  # meta.parsed_ts: read by a script, or shown by inspect
        reusable = True  # may one Scope object serve every event? (see _read_json_fast)
        filter_index = 0
        for stage in c.stages:
            if stage.kind in ("levels", "exclude_levels"):
                fns.append(builder.levels_stage(stage.text, keep=stage.kind == "levels"))
                audited.append(("levels", None))
                continue
            mode = "script" if stage.kind == "exec" else "expression"
            kind = "exec" if stage.kind == "exec" else ("filter" if stage.kind == "filter" else "assert")
            prog = compile_script(stage.text, label=stage.label, mode=mode, stage=kind,
                                  prelude=stage.prelude)
            if stage.from_project:
                _no_reveal_from_project(prog, stage.label, c)
            audited.append((kind, prog))
            calls |= prog.calls
            if stage.prelude or _captures_scope(prog):
                reusable = False
            if not prog.uses.isdisjoint(("meta", "line")):  # (its --include prelude too)
                needs_meta = True
            if "meta" in prog.uses:
                parsed_ts = True
            if kind == "exec":
                fns.append(builder.exec_stage(prog))
            elif kind == "filter":
                fns.append(builder.filter_stage(prog, filter_index))
                filter_index += 1
            else:
                needs_meta = True
                fns.append(builder.assert_stage(prog))
        if c.normalize_ts:  # after the scripts, as Kelora
            fns.append(_normalize_stage(self.event_time.of))
        if c.end is not None:
            self.end = compile_script(c.end, label="end", mode="script", stage="end",
                                      prelude=c.end_prelude)
            if c.end_from_project:
                _no_reveal_from_project(self.end, "--end", c)
        if self.end is not None:
            calls |= self.end.calls
        self.audited_stages = [("begin", self.begin), *audited, ("end", self.end)]
        scripts = [(kind, prog) for kind, prog in self.audited_stages if prog is not None]
        if scripts:  # (a run without scripts, such as a passthrough, never imports the language)
            from kelora.lang.names import StageInfo, check_stages

            # names no stage declares (COMPAT D23), before any input is read; silent-trap warnings
            check_stages([StageInfo(kind, prog) for kind, prog in scripts],
                         warn=self.reporter.warning if self.reporter.warnings_on else None,
                         warn_once=self.reporter.warning_once)
        self.called_functions = frozenset(calls)
        self.state.filter_ok = builder.filter_ok
        self.stage_fns = tuple(fns)
        self.needs_meta = needs_meta
        if parsed_ts:  # (the event's timestamp as found before the stages, each event)
            if self.event_time is None:
                from kelora.timestamps import event_time

                self.event_time = event_time(c)
            self.meta_time = self.event_time.of
        if builtin_registry.has_effect(calls, "random") and self.ctx.env.get("KELORA_SEED"):
            # seeded draws depend on the line number (builtins/mathfns.run_rng): the loops
            # that keep it only per slow line (fastloop) are not for this run
            reusable = False
        self.scope_reusable = reusable

    # ------------------------------------------------------------------ errors
    def _location(self) -> str:
        if self.current_label == "stdin":
            return f"line {self.line_num}"
        return f"{self.current_label}:{self.line_num}"

    def _verbose_location(self) -> str:
        """-v lines: in multi-file runs `<basename>:<n>` when basenames are unique (reference §6.1)."""
        files = [f for f in self.config.files if f != "-"]
        if self.current_label == "stdin" or len(self.config.files) < 2:
            return self._location()
        names = [os.path.basename(f) for f in files]
        label = os.path.basename(self.current_label) if len(names) == len(set(names)) else self.current_label
        return f"{label}:{self.line_num}"

    def _record_error(self, kind: str, scope: Scope | None, message: str, filter_index: int | None) -> str:
        """Record a per-event error; the input location it names (``line 3``, ``app.log:3``)."""
        loc = self._location()
        self.errors.record(kind, loc, message)
        if self.errors.first_render is None and self.builder.first_error[0] is not None:
            self.errors.first_render = self.builder.first_error[0].render()
        if kind == "script":  # reported by the end-of-run summary (and by -v as it happens)
            self.errors.script_errors += 1
        if filter_index is not None:
            self.errors.filter_errors[filter_index] = self.errors.filter_errors.get(filter_index, 0) + 1
        if self.reporter.verbose_errors:
            self.reporter.write(f"{self.reporter.prefix['error']}{self._verbose_location()}: {kind} - {message}")
        return loc

    def _withheld(self, n: int) -> None:
        """A failed privacy stage withheld *n* fields of the event (-1: dropped it), D17."""
        stats = self.stats  # (workers replace self.stats per batch)
        if n < 0:
            stats.events_withheld_dropped += 1
        else:
            stats.fields_withheld += n
            stats.events_withheld += 1

    def _assert_failed(self, text: str, scope: Scope) -> None:
        render = self.assert_render
        if render is None:  # built once, at the first violation
            from kelora.formats import make_formatter

            render = self.assert_render = make_formatter("default")
        self.stats.assertion_failures += 1
        rendered = render(scope.e or {}).decode("utf-8", "replace").rstrip("\n")
        loc = self._location()
        if not self.config.silent:
            self.reporter.write(f"kelora: assert failed: {text}\n  {loc}: {rendered}")
        if self.config.strict:
            raise StageFailed(f"assert failed: {text}")

    # ------------------------------------------------------------------ the run
    def run(self) -> int:
        c = self.config
        started = time.perf_counter()
        try:
            self.compile()
        except ScriptError as err:
            self.reporter.fatal(f"Pipeline error: {err.render()}")
            return ExitStatus.ERROR
        from kelora.formats import keys_required_error, make_input_parser, needs_keys

        # the -f spec is checked before anything is read (an empty input would never build it)
        make_input_parser(c.input_format, strict=c.strict, cols_sep=c.cols_sep)
        if c.input_format == "auto-per-file" and c.parallel:
            raise UsageError("-f auto-per-file is not supported with --parallel or thread overrides. "
                             "Rerun without --parallel.")
        if needs_keys(c.output_format) and not c.keys:
            raise FatalError(f"Pipeline error: {keys_required_error(c.output_format).message}")
        if c.parallel and c.engine == "dask":
            from kelora.run.dask_engine import refuse

            refuse(self)  # side effects a retry would repeat, an unshared key, plain tcp://
        if c.rotation_map or c.escrow or c.scan_pii or builtin_registry.has_effect(self.called_functions, "escrow"):
            from kelora.privacy.lifecycle import Lifecycle

            self.privacy = Lifecycle.start(self)  # refusals (exit 2) before anything is read
            self.state.privacy = self.privacy
        for hint in c.extra.get("hints", ()):
            self.reporter.hint(hint)
        if c.config_path:
            self.reporter.status(f"Config: {c.config_path}")  # (Kelora's words)
        self.parallel_sequential = False
        if c.parallel:
            from kelora.run.parallel_audit import ParallelRefused, audit

            try:
                # sample_every at the top level: read sequentially (the same result by definition)
                self.parallel_sequential = audit(self.audited_stages)
            except ParallelRefused as refused:
                if c.engine == "dask":  # (as every Dask refusal: exit 2, naming the engine)
                    raise UsageError("Pipeline error: " + refused.message.replace("--parallel", "--engine dask")) from None
                raise FatalError(f"Pipeline error: {refused.message}") from None
        self.sink = self.make_sink()
        if c.context_before or c.context_after:
            self._setup_context()
        status = ExitStatus.OK
        try:
            try:
                self.sink.open()
                self.run_begin()
                if not c.no_input:
                    # --take stops after N events, and CSV headers are per file: sequential
                    per_file_header = len(c.files) > 1 and registry.has_header(split_spec(c.input_format)[0])
                    sequential = c.multiline is not None or self.context is not None
                    if c.parallel and self.context is not None:
                        self.reporter.warning("cross-event context (--window or -B/-C) requires sequential mode; "
                                              "ignoring --parallel settings. Rerun without --parallel if you need "
                                              "cross-event context.")
                    elif c.parallel and sequential:
                        self.reporter.warning("multiline events (-M) are read sequentially; ignoring --parallel "
                                              "settings. Rerun without --parallel to silence this.")
                    if (c.parallel and c.take is None and not per_file_header and not sequential
                            and not self.parallel_sequential):
                        if c.engine == "dask":
                            from kelora.run.dask_engine import DaskReader as Driver
                        else:
                            from kelora.run.parallel import ParallelReader as Driver
                        Driver(self).read_inputs()
                    else:
                        self._read_inputs()
                if self.context is not None:
                    self.context.finish()
                self.run_end()
            except StopInput:
                if self.context is not None:
                    self.context.finish()
                self.run_end()
        except StageFailed as fail:
            self.sink.flush()
            self.reporter.fatal(f"Pipeline error: {fail.message}")
            self.stats.elapsed = time.perf_counter() - started
            # --strict stopped the run: no partial -o export (docs/compat.md), and the
            # "Pipeline error" line already is the summary
            self._finish_outputs(commit=False, summary=False)
            return ExitStatus.ERROR
        except ExitRequest as req:
            self.sink.flush()
            if req.message:
                self.env.stderr.write(req.message + "\n")
            # exit(0) is a normal early end; exit(n > 0) reports a failure: no -o export
            self._finish_outputs(commit=req.code == 0, report=False)
            return req.code
        except KeyboardInterrupt as intr:
            from kelora.status import Terminated

            status = ExitStatus.SIGTERM if isinstance(intr, Terminated) else ExitStatus.SIGINT
            self.interrupted = status
        except FatalError:
            self.sink.abort()
            if self.privacy is not None:
                self.privacy.finish(self, commit=False)
            raise
        except BrokenPipeError:
            self.sink.abort()
            return ExitStatus.BROKEN_PIPE
        except BaseException:  # an internal error: still no temporary -o file left behind
            self.sink.abort()
            raise
        self.stats.elapsed = time.perf_counter() - started
        try:
            self._finish_outputs(commit=self.interrupted is None)
        except BrokenPipeError:
            return ExitStatus.BROKEN_PIPE
        except BaseException:  # a (second) signal while finishing: no temporary -o file left
            self.sink.abort()
            raise
        if self.interrupted is not None:
            return self.interrupted
        return self.exit_code()

    def make_sink(self) -> OutputSink:
        """The run's sink (not opened yet), fed by the stages."""
        sink = OutputSink(self.config, self.env, self.stats)
        if self.privacy is not None and self.privacy.scanner is not None:
            sink.scan = self.privacy.scanner.scan  # --scan-pii sees what would be written
        if self.event_time is not None:
            sink.ts_of = self.event_time.of  # the output time span of the stats
        return sink

    def run_begin(self) -> None:
        if self.begin is None:
            return
        self.ctx.stage = "begin"
        scope = Scope({}, {}, self.ctx)
        try:
            self.begin.run(scope)
        except ScriptRuntimeError as err:
            raise FatalError(f"Pipeline error: Begin stage error: {err.short()}{_where(err)}")
        finally:
            self.ctx.stage = "exec"

    def run_end(self) -> None:
        if self.end is None:
            return
        self.ctx.stage = "end"
        self.ctx.metrics_view = self.ctx.metrics.finalize()
        self.sink.flush()
        scope = Scope({}, {}, self.ctx)
        try:
            self.end.run(scope)
        except ScriptRuntimeError as err:
            raise FatalError(f"Pipeline error: End stage error: {err.short()}{_where(err)}")

    # ------------------------------------------------------------------ stages
    def _setup_context(self) -> None:
        """-A/-B/-C: the stages that decide (the --filter ones, else -l/-L) and the printer;
        ``_process`` hands them the events the deciding stages drop or keep."""
        from kelora.run.context_lines import ContextLines, MarkMatches

        c = self.config
        markers = c.output_format == "default"
        emoji = self.reporter.emoji
        filters = frozenset(i for i, st in enumerate(c.stages) if st.kind == "filter")
        if filters:
            self.context = ContextLines(c.context_before, c.context_after, self.sink.emit, self.stats,
                                        emoji=emoji, markers=markers)
            self.context_stages = filters
        elif any(st.kind in ("levels", "exclude_levels") for st in c.stages):
            self.context = MarkMatches(self.sink.emit, emoji=emoji, markers=markers)
        else:  # --since/--until only: nothing is marked (as Kelora)
            return

    def _process(self, scope: Scope, start: int) -> None:
        """Run the stages from *start* over one event; write it, or count why it went."""
        fns = self.stage_fns
        for i in range(start, len(fns)):
            result = fns[i](scope)
            if result is True:
                continue
            if result is False:
                if i in self.context_stages:  # -A/-B/-C: a deciding stage's drop is held as context
                    self.context.miss(scope.e, scope.meta)
                else:
                    self.stats.events_filtered += 1
            elif result is None:  # DROPPED_BY_ERROR: the stage failed and the event is not passed on
                self.stats.events_errored += 1
            elif not result:
                self.stats.events_filtered += 1
            else:  # emit_each: the event is replaced by the emitted ones
                for event in result:
                    self._process(Scope(event, scope.meta, self.ctx, scope.vars.copy()), i + 1)
            return
        if self.context is not None and scope.e:
            self.context.hit(scope.e, scope.meta)  # a kept event is a match
        else:
            self.sink.emit(scope.e, scope.meta)


def _normalize_stage(ts_of):
    """--normalize-ts: the event's timestamp field rewritten as RFC 3339 in UTC (a value that
    does not parse is left as it is; nanosecond digits are kept: ``timestamps.normalized``)."""
    from kelora.timestamps import normalized, value_text

    def normalize(scope: Scope):
        event = scope.e
        if event:
            field_name, ts, _ = ts_of(event)
            if ts is not None:
                event[field_name] = normalized(value_text(event[field_name]), ts)
        return True
    return normalize


def _needs_key(c: Config) -> bool:
    """Does a script of the run call a builtin that needs the pseudonym key (from the scripts'
    ASTs: parsing them is memoised, so compiling them next does not parse them again)?  A script
    that does not parse says no here: compiling it reports the error, in stage order."""
    if not c.has_scripts:  # (a run without scripts never imports the language)
        return False
    from kelora.lang.program import called_names

    scripts = [(c.begin, "script"), (c.begin_prelude, "script"), (c.end, "script"),
               (c.end_prelude, "script")]
    for st in c.stages:
        if st.kind not in ("levels", "exclude_levels"):
            scripts.append((st.text, "script" if st.kind == "exec" else "expression"))
            scripts.append((st.prelude, "script"))
    return any(builtin_registry.needs_key(called_names(text, mode)) for text, mode in scripts if text)


def _captures_scope(prog) -> bool:
    """Whether a compiled stage may keep its Scope beyond the event (closures, Fn pointers)."""
    from kelora.lang import ast

    return any(isinstance(n, ast.Closure) or (isinstance(n, ast.Call) and builtin_registry.is_dynamic(n.name))
               for st in (*prog.ast.stmts, *prog.ast.fns) for n in ast.walk(st))


def run(config: Config, env) -> int:
    return Pipeline(config, env).run()


def _no_reveal_from_project(prog, where: str, config: Config) -> None:
    """reveal() is never called by a script a project config added (issue 15, COMPAT D15): a
    cloned repository's `.kelora.ini` must not turn the user's --escrow run into a reveal of
    every token it sees.  Checked on the compiled program (its calls include user fns, closures
    and -I files); a function pointer cannot name reveal() (``Fn`` refuses context builtins)."""
    if "reveal" in prog.calls:
        raise FatalError(f"Pipeline error: reveal() may not be called from a project config's script "
                         f"({where} comes from {config.project_config or 'a project .kelora.ini'}); "
                         "pass that script on the command line or keep it in your user config",
                         exit_code=2)


def _where(err) -> str:
    """The script line and a caret under the failing place, as -e errors show them (Kelora's
    one line first, unchanged): `--end` scripts are often several lines long."""
    lines = err.render().split("\n")
    shown = [ln for ln in lines[1:] if not ln.startswith(("  Error: ", "  Hint: "))]
    return "\n" + "\n".join(shown) if shown else ""

