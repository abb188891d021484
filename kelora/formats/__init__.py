"""Input parsers and output formatters (reference §1.1 ``-f``, §1.3/§1.4 ``-k -K -c -F -b``, §4).

Inputs::

    p = make_input_parser("csv status:int", strict=False)   # UsageError when the spec is bad
    event = p.parse(line)        # dict | None (line consumed, e.g. CSV header); InputError
    event = p.parse_bytes(raw)   # same from bytes (json: straight to orjson)
    p.format_name; p.ragged_extra; p.ragged_missing
    detect_format(first_non_empty_line) -> "json" | "syslog" | "combined" | "logfmt" | ... | "line"

Outputs::

    fmt = make_formatter("json", keys=None, exclude_keys=(), core=False, brief=False, verbose=0)
    fmt(event, meta=None) -> bytes   # with trailing newline; b"" when no field is left
    fmt.select_fields(event) -> dict  # the fields that would print, in order ({} = dropped)
    needs_keys("csv") -> True; keys_required_error("csv") -> FatalError
"""
from .detect import detect_format
from .order import canonical_keys, make_selector, parse_key_list
from .outputs import (CSV_OUTPUTS, OUTPUT_FORMATS, default_value, keys_required_error,
                      make_formatter, needs_keys)
from .select_input import CSV_FORMATS, INPUT_FORMATS, AutoParser, make_input_parser, split_spec

__all__ = [
    "AutoParser", "CSV_FORMATS", "CSV_OUTPUTS", "INPUT_FORMATS", "OUTPUT_FORMATS",
    "canonical_keys", "default_value", "detect_format", "keys_required_error", "make_formatter",
    "make_input_parser", "make_selector", "needs_keys", "parse_key_list", "split_spec",
]
