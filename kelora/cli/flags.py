"""The option table of `kelora`, declared with typer and grouped into help panels.

The command callback does no work: it stores the parsed values and the occurrence order of the
options in ``ctx.obj`` for ``cli.build_config``.  Keeping declarations here and logic in
``cli.py`` keeps the option list readable as a table.
"""

from typing import Annotated, Optional

import typer
from typer.core import TyperCommand
from kelora.formats import registry as formats_registry

INPUT = "Input"
PROCESSING = "Processing (stages run in command-line order)"
SELECTION = "Filtering and selection"
OUTPUT = "Output"
DIAG = "Diagnostics"
METRICS = "Stats and metrics"
PERF = "Performance"
CONFIG = "Configuration"
PRIVACY = "Privacy lifecycle"


class OrderedCommand(TyperCommand):
    """Records the order in which options occurred, so stages keep command-line order."""

    def make_parser(self, ctx):
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args):
            opts, rest, order = parse(args=args)
            ctx.meta["kelora.order"] = [p.name for p in order]
            return opts, rest, order

        parser.parse_args = parse_args
        return parser


S = Optional[str]
L = Optional[list[str]]


def kelora_command(
    ctx: typer.Context,
    files: Annotated[L, typer.Argument(help="Input files, read in order as one stream ('-' = stdin; none = stdin). gzip/zstd detected.", show_default=False, metavar="[FILES]...")] = None,
    # --- input
    input_format: Annotated[S, typer.Option("-f", "--input-format", help=formats_registry.input_help(), rich_help_panel=INPUT, show_default=False)] = None,
    json_input: Annotated[bool, typer.Option("-j", help="Same as -f json.", rich_help_panel=INPUT)] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Read no input; only --begin/--end run.", rich_help_panel=INPUT)] = False,
    skip_lines: Annotated[Optional[int], typer.Option("--skip-lines", help="Skip the first N lines.", rich_help_panel=INPUT)] = None,
    head: Annotated[Optional[int], typer.Option("--head", help="Read only the first N lines.", rich_help_panel=INPUT)] = None,
    keep_lines: Annotated[S, typer.Option("--keep-lines", help="Keep only raw lines matching REGEX (before parsing).", rich_help_panel=INPUT)] = None,
    ignore_lines: Annotated[S, typer.Option("--ignore-lines", help="Drop raw lines matching REGEX (before parsing).", rich_help_panel=INPUT)] = None,
    max_line_bytes: Annotated[S, typer.Option("--max-line-bytes", help="Per-line cap (bytes, 64MiB, 1GiB, off). Longer lines are truncated with a warning.", rich_help_panel=INPUT)] = None,
    cols_sep: Annotated[S, typer.Option("--cols-sep", help="Column separator for -f cols:<spec> (default: runs of whitespace).", rich_help_panel=INPUT)] = None,
    strict_utf8: Annotated[bool, typer.Option("--strict-utf8", help="Abort on invalid UTF-8 instead of replacing it with U+FFFD.", rich_help_panel=INPUT)] = False,
    ts_field: Annotated[S, typer.Option("--ts-field", help="Use only this field as the event timestamp (no auto-detection).", rich_help_panel=INPUT)] = None,
    ts_format: Annotated[S, typer.Option("--ts-format", help="Timestamp format (chrono/strftime, e.g. '%d.%m.%Y %H:%M:%S'), tried first. See --help-time.", rich_help_panel=INPUT)] = None,
    multiline: Annotated[S, typer.Option("-M", "--multiline", help="Join lines into events before parsing: timestamp[:format=FMT], indent, regex:match=RE[:end=RE], all. See --help-multiline.", rich_help_panel=INPUT, metavar="STRATEGY")] = None,
    multiline_join: Annotated[S, typer.Option("--multiline-join", help="Join multiline lines with: space (default), newline, or empty.", rich_help_panel=INPUT, metavar="JOIN")] = None,
    input_tz: Annotated[S, typer.Option("--input-tz", help="Zone for timestamps without an offset: UTC (default), local, or an IANA name (Europe/Berlin). Else the TZ variable.", rich_help_panel=INPUT)] = None,
    # --- processing
    begin: Annotated[S, typer.Option("--begin", help="Script run once before input (conf is writable here).", rich_help_panel=PROCESSING)] = None,
    filter: Annotated[L, typer.Option("--filter", help="Keep events for which the expression is true. Repeatable.", rich_help_panel=PROCESSING)] = None,
    exec: Annotated[L, typer.Option("-e", "--exec", help="Script run per event. Repeatable.", rich_help_panel=PROCESSING)] = None,
    exec_file: Annotated[L, typer.Option("-E", "--exec-file", help="Like -e, with the script read from FILE.", rich_help_panel=PROCESSING)] = None,
    include: Annotated[L, typer.Option("-I", "--include", help="Prepend FILE (fn definitions) to the next stage.", rich_help_panel=PROCESSING)] = None,
    assert_: Annotated[L, typer.Option("--assert", help="Report events for which the expression is false (exit 1 at end).", rich_help_panel=PROCESSING)] = None,
    end: Annotated[S, typer.Option("--end", help="Script run once after input; sees metrics.", rich_help_panel=PROCESSING)] = None,
    allow_fs_writes: Annotated[bool, typer.Option("--allow-fs-writes", help="Allow append_file, truncate_file, mkdir.", rich_help_panel=PROCESSING)] = False,
    normalize_ts: Annotated[bool, typer.Option("--normalize-ts", help="Rewrite the event timestamp field as RFC 3339 UTC (after the scripts).", rich_help_panel=PROCESSING)] = False,
    fail_closed: Annotated[bool, typer.Option("--fail-closed", help="Drop an event whose -e stage fails instead of passing it on (privacy exports).", rich_help_panel=PROCESSING)] = False,
    fail_open: Annotated[bool, typer.Option("--fail-open", help="When a privacy stage (pseudonym, hash, mask_ip...) fails, restore its fields' raw values as Kelora does, instead of withholding them.", rich_help_panel=PROCESSING)] = False,
    # --- privacy lifecycle (kelora.privacy)
    rotation_map: Annotated[S, typer.Option("--rotation-map", help="Write the distinct domain,old,new token rows of a secret rotation (previous secret from KELORA_SECRET_PREVIOUS[_FILE]) to FILE (CSV; JSON lines for .jsonl).", rich_help_panel=PRIVACY)] = None,
    escrow: Annotated[S, typer.Option("--escrow", help="Keep each token's original value AES-256-GCM encrypted in the SQLite FILE (key from KELORA_ESCROW_KEY[_FILE]); enables reveal().", rich_help_panel=PRIVACY)] = None,
    scan_pii: Annotated[S, typer.Option("--scan-pii", help="Report PII left in what would be written (per field and kind) instead of events; exit 1 if any (--scan-pii=json for JSON).", rich_help_panel=PRIVACY, show_default=False)] = None,
    pii_allow: Annotated[L, typer.Option("--pii-allow", help="Do not report FIELD (or FIELD:KIND) in --scan-pii. Repeatable.", rich_help_panel=PRIVACY)] = None,
    # --- selection
    levels: Annotated[L, typer.Option("-l", "--levels", help="Keep events whose level is in LIST (a stage).", rich_help_panel=SELECTION)] = None,
    exclude_levels: Annotated[L, typer.Option("-L", "--exclude-levels", help="Drop events whose level is in LIST (a stage).", rich_help_panel=SELECTION)] = None,
    keys: Annotated[S, typer.Option("-k", "--keys", help="Output only these top-level keys, in this order.", rich_help_panel=SELECTION)] = None,
    exclude_keys: Annotated[S, typer.Option("-K", "--exclude-keys", help="Remove these top-level keys.", rich_help_panel=SELECTION)] = None,
    core: Annotated[bool, typer.Option("-c", "--core", help="Keep only timestamp, level and message keys (+ -k keys).", rich_help_panel=SELECTION)] = False,
    since: Annotated[S, typer.Option("--since", help="Keep events at or after TIME: 2024-01-15T12:00:00Z, '2024-01-15 12:00', 10:30, 1h, -30m, yesterday, now-15m, until-1h. See --help-time.", rich_help_panel=SELECTION, metavar="TIME")] = None,
    until: Annotated[S, typer.Option("--until", help="Keep events at or before TIME (same forms; since+30m is relative to --since).", rich_help_panel=SELECTION, metavar="TIME")] = None,
    after_context: Annotated[Optional[int], typer.Option("-A", "--after-context", help="Show N events after each match (needs --filter, -l/-L, --since or --until).", rich_help_panel=SELECTION, metavar="N")] = None,
    before_context: Annotated[Optional[int], typer.Option("-B", "--before-context", help="Show N events before each match.", rich_help_panel=SELECTION, metavar="N")] = None,
    context: Annotated[Optional[int], typer.Option("-C", "--context", help="Show N events before and after each match.", rich_help_panel=SELECTION, metavar="N")] = None,
    take: Annotated[Optional[int], typer.Option("-n", "--take", help="Emit at most N events, then stop reading.", rich_help_panel=SELECTION)] = None,
    # --- output
    output_format: Annotated[S, typer.Option("-F", "--output-format", help=formats_registry.output_help(), rich_help_panel=OUTPUT)] = None,
    csv_safe: Annotated[Optional[bool], typer.Option("--csv-safe/--no-csv-safe", help="CSV/TSV: prefix cells that start with = + - @ TAB or CR with ' so spreadsheets do not run them as formulas (numbers untouched). Settable in the config's defaults.", rich_help_panel=OUTPUT, show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("-J", help="Same as -F json.", rich_help_panel=OUTPUT)] = False,
    output_file: Annotated[S, typer.Option("-o", "--output-file", help="Write events to FILE (atomically, when the run ends).", rich_help_panel=OUTPUT)] = None,
    brief: Annotated[bool, typer.Option("-b", "--brief", help="Default format: values only.", rich_help_panel=OUTPUT)] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Suppress events (-qq is the same).", rich_help_panel=OUTPUT)] = False,
    color: Annotated[Optional[bool], typer.Option("--force-color/--no-color", help="Colour on/off.", rich_help_panel=OUTPUT, show_default=False)] = None,
    emoji: Annotated[Optional[bool], typer.Option("--force-emoji/--no-emoji", help="Emoji prefixes on/off.", rich_help_panel=OUTPUT, show_default=False)] = None,
    # --- diagnostics
    silent: Annotated[bool, typer.Option("--silent/--no-silent", help="Suppress events, stats, metrics, warnings, hints; one line on failure.", rich_help_panel=DIAG, show_default=False)] = False,
    diagnostics: Annotated[Optional[bool], typer.Option("--diagnostics/--no-diagnostics", help="Show/hide warnings and hints.", rich_help_panel=DIAG, show_default=False)] = None,
    warnings: Annotated[Optional[bool], typer.Option("--warnings/--no-warnings", help="Show/hide warnings.", rich_help_panel=DIAG, show_default=False)] = None,
    hints: Annotated[Optional[bool], typer.Option("--hints/--no-hints", help="Show/hide hints.", rich_help_panel=DIAG, show_default=False)] = None,
    script_output: Annotated[Optional[bool], typer.Option("--script-output/--no-script-output", help="Enable/suppress print() and eprint().", rich_help_panel=DIAG, show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="Stop at the first error (exit 1).", rich_help_panel=DIAG, show_default=False)] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="Show each error as it happens (-vv: more).", rich_help_panel=DIAG)] = 0,
    # --- stats / metrics
    stats: Annotated[S, typer.Option("-s", "--stats", help="Print stats instead of events (--stats=json for JSON).", rich_help_panel=METRICS, show_default=False)] = None,
    no_stats: Annotated[bool, typer.Option("--no-stats", hidden=True)] = False,
    with_stats: Annotated[bool, typer.Option("--with-stats", help="Print events, then stats on stderr.", rich_help_panel=METRICS)] = False,
    metrics: Annotated[S, typer.Option("-m", "--metrics", help="Print tracked metrics instead of events (=short|full|tsv|json).", rich_help_panel=METRICS, show_default=False)] = None,
    no_metrics: Annotated[bool, typer.Option("--no-metrics", hidden=True)] = False,
    with_metrics: Annotated[bool, typer.Option("--with-metrics", help="Print events, then metrics on stderr.", rich_help_panel=METRICS)] = False,
    metrics_file: Annotated[S, typer.Option("--metrics-file", help="Write metrics as JSON to FILE.", rich_help_panel=METRICS)] = None,
    freq: Annotated[L, typer.Option("--freq", help="Count values of FIELD (implies -m).", rich_help_panel=METRICS)] = None,
    card: Annotated[L, typer.Option("--card", help="Estimate distinct values of FIELD (implies -m).", rich_help_panel=METRICS)] = None,
    describe: Annotated[L, typer.Option("--describe", help="Summary statistics of numeric FIELD (implies -m).", rich_help_panel=METRICS)] = None,
    # --- performance
    parallel: Annotated[bool, typer.Option("-P", "--parallel", help="Process batches in worker processes.", rich_help_panel=PERF)] = False,
    no_parallel: Annotated[bool, typer.Option("--no-parallel", hidden=True)] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", help="Worker processes (0 = one per core).", rich_help_panel=PERF)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Lines per batch (default 1000; a plain file without this flag goes in ~2 MiB ranges).", rich_help_panel=PERF)] = None,
    batch_timeout: Annotated[Optional[int], typer.Option("--batch-timeout", help="Send a partial batch once no line came from a pipe for MS milliseconds (default 200; 0 = wait for a full batch).", rich_help_panel=PERF, metavar="MS")] = None,
    engine: Annotated[S, typer.Option("--engine", help="Where batches run: local (default) or dask (a dask.distributed cluster; implies --parallel; pip install kelora[dask]).", rich_help_panel=PERF, metavar="ENGINE")] = None,
    scheduler: Annotated[S, typer.Option("--scheduler", help="Dask scheduler ADDRESS for --engine dask (tls://host:8786); default: a local cluster of --threads worker processes.", rich_help_panel=PERF, metavar="ADDRESS")] = None,
    insecure_transport: Annotated[bool, typer.Option("--insecure-transport", help="Allow a remote --scheduler over plain tcp:// (events are personal data in transit).", rich_help_panel=PERF)] = False,
    unordered: Annotated[bool, typer.Option("--unordered", help="Do not keep input order in parallel mode.", rich_help_panel=PERF)] = False,
    # --- config
    config_file: Annotated[S, typer.Option("--config-file", help="Use only this INI file.", rich_help_panel=CONFIG)] = None,
    ignore_config: Annotated[bool, typer.Option("--ignore-config", help="Skip config files.", rich_help_panel=CONFIG)] = False,
    alias: Annotated[L, typer.Option("-a", "--alias", help="Expand a saved alias (from the config's \\[aliases] section).", rich_help_panel=CONFIG)] = None,
    save_alias: Annotated[S, typer.Option("--save-alias", help="Save this command line as alias NAME and exit.", rich_help_panel=CONFIG)] = None,
    show_config: Annotated[bool, typer.Option("--show-config", help="Print the config files used or ignored (and why) and exit.", rich_help_panel=CONFIG)] = False,
    trust_config: Annotated[bool, typer.Option("--trust-config", help="Trust the project .kelora.ini found from here (records its path and SHA-256) and exit.", rich_help_panel=CONFIG)] = False,
    # --- help (handled before parsing; declared so they appear in --help)
    version: Annotated[bool, typer.Option("-V", "--version", help="Print the version.")] = False,
    help_functions: Annotated[bool, typer.Option("--help-functions", help="List script functions (--help-functions WORD: that function, or a search of the descriptions).")] = False,
    help_rhai: Annotated[bool, typer.Option("--help-rhai", help="Summary of the script language.")] = False,
    help_multiline: Annotated[bool, typer.Option("--help-multiline", help="Multiline strategies (-M).")] = False,
    help_time: Annotated[bool, typer.Option("--help-time", help="Timestamp formats, zones and --since/--until forms.")] = False,
    # --- interactive mode (handled before parsing, kelora.cli.interactive; declared for --help)
    interactive: Annotated[bool, typer.Option("--interactive", help="Open the kelora> prompt: command lines without shell quoting, :load/:eval to try expressions (also: kelora alone on a terminal).")] = False,
    no_history: Annotated[bool, typer.Option("--no-history", help="Interactive mode without the history file.")] = False,
) -> None:
    """Process logs with scripts: parse, filter, transform, pseudonymize, and export.

    Example: kelora -j app.jsonl -e 'e.user_id = pseudonym(e.user_email, "users"); e.user_email = ()' -F json
    """
    params = dict(ctx.params)
    ctx.obj["params"] = params
    ctx.obj["order"] = ctx.meta.get("kelora.order", [])


# Kelora's exit-code section of --help (kelora/status.py holds the codes).  "\b" keeps the
# lines as they are (click would rewrap the paragraph).
EXIT_CODES = """Exit Codes:

\b
  0    Success: the run did its job. By default kelora is resilient:
       malformed lines and failed -e stages are reported on stderr and
       counted but do NOT change the exit code (use --strict to make the
       first such error fatal instead).
  1    Error. Any of:
         - a named input file could not be opened
         - an --assert condition failed
         - a gate stage saw input but never once succeeded (parsing
           failed on every line, or a --filter errored on every event)
         - a forbidden operation (e.g. changing `conf` outside --begin)
         - with --strict, ANY single parse/filter/exec error (also stops
           early)
  2    Invalid command-line usage (unknown flag, bad value, conflicting
       options, or a malformed config or script file); nothing was read.
  130  Interrupted (SIGINT / Ctrl-C).
  134  Internal error: a bug; please report it.
  141  Broken pipe (SIGPIPE).
  143  Terminated (SIGTERM)."""


def build_command():
    app = typer.Typer(
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )
    app.command(cls=OrderedCommand, epilog=EXIT_CODES)(kelora_command)
    command = typer.main.get_command(app)
    for param in command.params:  # (what the value is, as Kelora's help names it: not <str>)
        if getattr(param, "metavar", None) is None and param.name in METAVARS:
            param.metavar = METAVARS[param.name]
    return command


# The value names of the options that take one (Kelora's words), where the option itself does
# not set one; a value name of typer's own would be <str>, <int> or the parameter (<ASSERT_>).
METAVARS = {
    "input_format": "FORMAT", "skip_lines": "N", "head": "N", "keep_lines": "REGEX",
    "ignore_lines": "REGEX", "max_line_bytes": "SIZE", "cols_sep": "SEP", "ts_field": "FIELD",
    "ts_format": "FORMAT", "input_tz": "TZ", "begin": "SCRIPT", "filter": "EXPR", "exec": "SCRIPT",
    "exec_file": "FILE", "include": "FILE", "assert_": "EXPR", "end": "SCRIPT", "rotation_map": "FILE",
    "escrow": "FILE", "scan_pii": "FORMAT", "pii_allow": "FIELD[:KIND]", "levels": "LIST",
    "exclude_levels": "LIST", "keys": "LIST", "exclude_keys": "LIST", "take": "N",
    "output_format": "FORMAT", "output_file": "FILE", "stats": "FORMAT", "metrics": "FORMAT",
    "metrics_file": "FILE", "freq": "FIELD", "card": "FIELD", "describe": "FIELD", "threads": "N",
    "batch_size": "N", "config_file": "FILE", "alias": "NAME", "save_alias": "NAME",
}


def click_errors():
    from typer._click import exceptions as ce

    return (ce.UsageError,)


def describe_click_error(exc, flag_hints: dict[str, str]) -> tuple[str, str | None]:
    """A clap-like message for a click usage error (printed without the `kelora:` prefix)."""
    from typer._click import exceptions as ce

    tail = "\n\nUsage: kelora [OPTIONS] [FILES]...\n\nFor more information, try '--help'."
    if isinstance(exc, ce.NoSuchOption):
        name = exc.option_name
        tip = flag_hints.get(name)
        if tip is None and exc.possibilities:
            tip = f"a similar argument exists: '{exc.possibilities[0]}'"  # closest match first
        text = f"error: unexpected argument '{name}' found"
        if tip:
            text += f"\n\n  tip: {tip}"
        return text + tail, None
    if isinstance(exc, ce.BadOptionUsage) and "requires an argument" in str(exc.message):
        return f"error: a value is required for '{exc.option_name}' but none was supplied" + tail, None
    if isinstance(exc, ce.BadParameter):
        hint = exc.param_hint if isinstance(exc.param_hint, str) else ""
        if not hint and exc.param is not None and getattr(exc.param, "opts", None):
            hint = f"'{max(exc.param.opts, key=len)}'"
        where = f" for {hint}" if hint else ""
        return f"error: invalid value{where}: {exc.message}" + tail, None
    return f"error: {exc.format_message()}" + tail, None
