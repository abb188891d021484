"""The frozen run configuration: everything the pipeline needs, nothing it has to look up.

``cli.py`` builds a ``Config`` from flags; tests may build one directly.  The pipeline never
reads ``sys.argv`` or the environment itself (the environment arrives in ``Env``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# --max-line-bytes when not given: a line longer than this is cut (with a warning)
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Stage:
    """One per-event stage, in command-line order."""

    kind: str  # "exec" | "filter" | "assert" | "levels" | "exclude_levels"
    text: str  # script text, or the comma list for levels
    label: str  # "exec script 2", "filter 1", ... (errors name it)
    prelude: str | None = None  # text of -I files attached to this stage
    prelude_names: tuple[str, ...] = ()  # the include file names (for messages)
    from_project: bool = False  # a project config added the script or one of its -I files


@dataclass(frozen=True, slots=True)
class Config:
    # input
    files: tuple[str, ...] = ()
    input_format: str = "auto"
    no_input: bool = False
    skip_lines: int = 0
    head: int | None = None
    keep_lines: str | None = None
    ignore_lines: str | None = None
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES
    strict_utf8: bool = False
    # timestamps (kelora.timestamps): --ts-field, --ts-format, the zone of naive values
    # (--input-tz, else TZ, else UTC; tz_assumed when neither was given), --normalize-ts, and
    # the --since/--until bounds (resolved to aware datetimes by cli.py; inclusive)
    ts_field: str | None = None
    ts_format: str | None = None
    input_tz: str = "UTC"
    tz_assumed: bool = True
    normalize_ts: bool = False
    since: datetime | None = None
    until: datetime | None = None
    # -M/--multiline with --multiline-join (kelora.run.multiline.MultilineSpec), or None
    multiline: object | None = None
    cols_sep: str | None = None  # -f cols:<spec>: the column separator (None: runs of whitespace)
    # processing
    begin: str | None = None
    begin_prelude: str | None = None
    begin_from_project: bool = False  # --begin/--end (or their -I files) from a project config
    end_from_project: bool = False
    end: str | None = None
    end_prelude: str | None = None
    stages: tuple[Stage, ...] = ()
    allow_fs_writes: bool = False
    # selection
    keys: tuple[str, ...] | None = None
    exclude_keys: tuple[str, ...] = ()
    core: bool = False
    take: int | None = None
    context_before: int = 0  # -B/-C (kelora.run.context_lines)
    context_after: int = 0  # -A/-C
    # output
    output_format: str = "default"
    output_file: str | None = None
    quiet: bool = False
    silent: bool = False
    warnings: bool = True
    hints: bool = True
    hints_forced: bool = False  # explicit --hints / --diagnostics (re-enables hints under -m)
    script_output: bool = True
    brief: bool = False
    color: bool | None = None  # None = auto
    emoji: bool | None = None
    # stats / metrics
    stats: str | None = None  # None | "table" | "json"
    with_stats: bool = False
    keep_stats: bool = False  # the stats are collected for a caller who reads them (kelora.api), not printed
    metrics: str | None = None  # None | "auto" | "short" | "full" | "tsv" | "json"
    with_metrics: bool = False
    metrics_file: str | None = None
    # performance
    parallel: bool = False
    threads: int = 0
    batch_size: int | None = None  # --batch-size; None: 1000 lines, or ~2 MiB ranges of a plain file (parallel.py)
    unordered: bool = False
    batch_timeout: int = 200  # --batch-timeout MS: an idle pipe's partial batch is sent (0: never)
    engine: str = "local"  # --engine: local (this machine) or dask (kelora.run.dask_engine)
    scheduler: str | None = None  # --scheduler ADDRESS of a Dask scheduler (None: a local cluster)
    insecure_transport: bool = False  # --insecure-transport: allow a remote tcp:// scheduler
    # errors
    strict: bool = False
    fail_closed: bool = False
    csv_safe: bool = False  # --csv-safe: defuse spreadsheet formulas in csv/tsv cells (D19)
    fail_open: bool = False  # --fail-open: failed privacy stages restore raw values (Kelora), D17
    verbose: int = 0
    # secrets (COMPAT D10): from the config file's root key
    secret_file: str | None = None
    # privacy lifecycle (COMPAT D21, kelora.privacy)
    rotation_map: str | None = None
    escrow: str | None = None
    scan_pii: str | None = None  # None | "table" | "json"
    pii_allow: tuple[str, ...] = ()
    # where config came from, for -v notices
    config_path: str | None = None
    project_config: str | None = None  # the used project .kelora.ini, as shown (./.kelora.ini)
    config_files: tuple[str, ...] = ()  # every config file used (absolute): no script writes them
    extra: dict = field(default_factory=dict)

    @property
    def has_scripts(self) -> bool:
        """Whether the run compiles any script (without one, the language is never imported)."""
        return (self.begin is not None or self.end is not None
                or any(st.kind not in ("levels", "exclude_levels") for st in self.stages))

    @property
    def collects_stats(self) -> bool:
        """Whether the run observes what the stats show (keys, levels, time spans)."""
        return self.stats is not None or self.with_stats or self.keep_stats

    @property
    def time_window(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def data_only(self) -> bool:
        """-s / -m style runs: events and script output are suppressed."""
        # (--scan-pii with -o is a gate, not data-only: the export is written, and kept only
        # when the scan is clean; kelora.privacy.lifecycle)
        return (self.stats is not None or self.metrics is not None
                or (self.scan_pii is not None and self.output_file is None))
