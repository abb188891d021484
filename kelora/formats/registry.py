"""Every input and output format, in one place: its name, its help line and what it needs.

The ``-f``/``-F`` flag definitions and their help, ``make_input_parser``/``make_formatter``,
auto-detection, the pipeline (a header per file) and the ``--parallel`` parent (a header read
before the fork) all read these tables; adding a format is one entry here and its module
(docs/dev/contributing.md).  Factories are named as ``"module:function"`` and imported only when
the format is used, so start-up does not pay for formats a run does not read.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True, slots=True)
class InputFormat:
    name: str
    help: str
    # "module:callable" (relative to kelora.formats): called as factory() for a format without
    # a spec, else as factory(name, rest, strict, cols_sep) (select_input.make_parser)
    factory: str | None
    family: str = ""  # "csv": delimited records (csv/tsv with or without a header)
    has_header: bool = False  # the first line of each file names the columns
    # what may follow the name: "types" (csv 'name:int,...'), "columns" (cols:<spec>),
    # "pattern" (regex:<pattern>)
    spec: str = ""
    detect_rank: int = 0  # auto-detection tries the formats by rank (0: never detected)
    auto: bool = False  # auto / auto-per-file: detection decides


@dataclass(frozen=True, slots=True)
class OutputFormat:
    name: str
    help: str
    family: str = ""  # "csv": delimited columns (-k decides them; --core refused)
    needs_keys: bool = False  # -k is required: the columns are not known otherwise
    header: bool = False  # a header row before the first event


INPUTS: dict[str, InputFormat] = {f.name: f for f in (
    InputFormat("auto", "detect the format from the first lines (the default)", None, auto=True),
    InputFormat("auto-per-file", "detect the format of each file on its own", None, auto=True),
    InputFormat("json", "one JSON object per line", "inputs:JsonParser", detect_rank=1),
    InputFormat("line", "each line is an event {line: ...}", "inputs:LineParser"),
    InputFormat("raw", "each line as it is, line endings kept", "inputs:RawParser"),
    InputFormat("logfmt", "key=value pairs", "inputs:LogfmtParser", detect_rank=4),
    InputFormat("syslog", "RFC 5424 and BSD (RFC 3164) syslog lines", "syslog:SyslogParser", detect_rank=2),
    InputFormat("csv", "comma-separated values with a header line", "csvin:make_csv", family="csv",
                has_header=True, spec="types", detect_rank=6),
    InputFormat("tsv", "tab-separated values with a header line", "csvin:make_csv", family="csv",
                has_header=True, spec="types", detect_rank=5),
    InputFormat("csvnh", "comma-separated values without a header (c1, c2, ...)", "csvin:make_csv",
                family="csv", spec="types", detect_rank=6),
    InputFormat("tsvnh", "tab-separated values without a header (c1, c2, ...)", "csvin:make_csv",
                family="csv", spec="types", detect_rank=5),
    InputFormat("combined", "Apache/nginx combined (and common) access log lines",
                "combined:CombinedParser", detect_rank=3),
    InputFormat("cols", "whitespace- or --cols-sep-separated columns named by cols:<spec>",
                "cols:make_cols", spec="columns"),
    InputFormat("regex", "the named groups (?P<name>...) of regex:<pattern>, anchored at both ends",
                "regexin:make_regex", spec="pattern"),
)}

OUTPUTS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("default", "key='value' pairs, coloured on a terminal (-b: values only)"),
    OutputFormat("json", "one JSON object per line"),
    OutputFormat("logfmt", "key=value pairs"),
    OutputFormat("inspect", "every field with its type, for debugging"),
    OutputFormat("csv", "comma-separated, header first (needs -k)", family="csv", needs_keys=True, header=True),
    OutputFormat("tsv", "tab-separated, header first (needs -k)", family="csv", needs_keys=True, header=True),
    OutputFormat("csvnh", "comma-separated, no header (needs -k)", family="csv", needs_keys=True),
    OutputFormat("tsvnh", "tab-separated, no header (needs -k)", family="csv", needs_keys=True),
    OutputFormat("none", "no events (stats, metrics and script output only)"),
)}

# Kelora formats this implementation does not have (COMPAT "out of scope"): named in the error.
UNSUPPORTED_INPUTS = ("cef", "cri", "glog", "nginx-error", "apache-error", "log4j", "python-logging",
                      "postgres", "redis", "s3", "haproxy", "iso8601-level")
UNSUPPORTED_OUTPUTS = ("levelmap", "keymap", "tailmap")


def input_names() -> tuple[str, ...]:
    """The -f values as the help lists them (``cols`` as ``cols:<spec>``, ``regex:<pattern>``)."""
    shown = {"columns": ":<spec>", "pattern": ":<pattern>"}
    return tuple(f.name + shown.get(f.spec, "") for f in INPUTS.values())


def output_names() -> tuple[str, ...]:
    return tuple(OUTPUTS)


def family(name: str) -> tuple[str, ...]:
    """The input format names of one family (``family("csv")``)."""
    return tuple(f.name for f in INPUTS.values() if f.family == name)


def input_help() -> str:
    return ("Input format: " + ", ".join(input_names())
            + " (csv 'name:int,...' adds types). See docs/formats.md.")


def output_help() -> str:
    return ", ".join(output_names()) + "."


def detection_order() -> tuple[str, ...]:
    """The line formats auto-detection tries, in order; the csv family comes after them (tab
    before comma; with or without a header decided from the first line)."""
    ranked = sorted((f.detect_rank, f.name) for f in INPUTS.values() if f.detect_rank and f.family != "csv")
    return tuple(name for _, name in ranked)


def has_header(name: str) -> bool:
    f = INPUTS.get(name)
    return f is not None and f.has_header


def needs_keys(name: str) -> bool:
    """True for the output formats that need ``-k`` to know their columns."""
    f = OUTPUTS.get(name)
    return f is not None and f.needs_keys


def load(ref: str):
    """The callable a factory reference names (``"csvin:make_csv"``), imported on first use."""
    module, _, attr = ref.partition(":")
    return getattr(import_module(f"kelora.formats.{module}"), attr)
