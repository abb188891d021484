"""CSV/TSV input (``csv``, ``tsv``, ``csvnh``, ``tsvnh``) with optional type annotations.

* With a header (``csv``/``tsv``) the first line names the columns (names trimmed; a blank
  name becomes ``cN``, N its 1-based position) and is consumed (``parse`` returns None);
  ``csvnh``/``tsvnh`` name them ``c1, c2, ...``.
* A quoted field may hold newlines (RFC 4180, ``""`` inside quotes): the read loop joins the
  physical lines of such a record (``records_span_lines``; Kelora's rule: a line with an odd
  number of double quotes opens or closes a field).  A record that still has an odd number of
  quotes when the input ends is an error, "Unterminated quoted field", as in Kelora.
* Ragged rows are kept (resilient): extra cells become ``cN`` (1-based column number), short
  rows leave the missing fields absent; ``ragged_extra``/``ragged_missing`` count them for the
  stats line.  ``--strict``: ``Row has 5 columns, expected 4 (from header)``.
* Annotations ``name:int|float|bool|string`` (aliases ``i64 integer f64 double boolean str``,
  any case), separated by spaces or commas: ``-f "csv status:int bytes:int"``.  A value that
  does not convert is ``()`` (null); ``--strict`` makes it a parse error.
"""
from __future__ import annotations

import csv
import re
import sys

from kelora.errors import InputError, UsageError

from .inputs import Parser
from .scalars import CONVERTERS, FIELD_TYPES

# A single huge cell must not abort the run (the default limit is 128 KiB).
csv.field_size_limit(sys.maxsize)

def parse_type_spec(spec: str) -> dict[str, str]:
    """``"status:int, bytes:float"`` -> {"status": "int", "bytes": "float"}; UsageError when bad."""
    types: dict[str, str] = {}
    for item in re.split(r"[\s,]+", spec.strip()):
        if not item:
            continue
        name, sep, type_text = item.partition(":")
        name = name.strip()
        if not sep:
            continue  # a bare name carries no annotation
        if not name:
            raise UsageError(f"Invalid field spec '{item}': Field name cannot be empty")
        kind = FIELD_TYPES.get(type_text.strip().lower())
        if kind is None:
            raise UsageError(
                f"Invalid field spec '{item}': Unknown type annotation: '{type_text.strip()}'",
                hint="Supported types: int, float, bool, string",
            )
        if kind != "string":
            types[name] = kind
    return types


class _OneLine:
    """Iterator feeding exactly one line to a long-lived csv.reader (cheaper than a new reader)."""

    __slots__ = ("line",)

    def __init__(self):
        self.line = None

    def __iter__(self):
        return self

    def __next__(self):
        line = self.line
        if line is None:
            raise StopIteration
        self.line = None
        return line


UNTERMINATED = ("Unterminated quoted field: a quoted value was opened but never closed before end "
                "of input. Check for an unbalanced double quote (\").")


def record_complete(record: bytes | str) -> bool:
    """Whether *record* (one or more physical lines) is a whole CSV/TSV record: every double
    quote, opening, closing or doubled, is one character, so a record that does not end inside
    a quoted field has an even number of them (Kelora's csv_record_complete).  A cut between
    lines of a file is a record boundary when the quotes before it are even in number."""
    return not record.count(b'"' if isinstance(record, bytes) else '"') & 1


def make_csv(name: str, rest: str, strict: bool, cols_sep: str | None = None) -> "CsvParser":
    """The registry's factory for csv, tsv, csvnh and tsvnh (``rest``: 'name:int,...' types)."""
    return CsvParser(name, parse_type_spec(rest) if rest else None, strict=strict)


class CsvParser(Parser):
    records_span_lines = True

    def __init__(self, name: str, types: dict[str, str] | None = None, strict: bool = False):
        self.format_name = name
        self.delimiter = "\t" if name.startswith("tsv") else ","
        self.has_header = not name.endswith("nh")
        self.types = types or {}
        self.strict = strict
        self.headers: tuple[str, ...] | None = None
        self.converters: tuple = ()
        self.ragged_extra = 0
        self.ragged_missing = 0
        self._feed = _OneLine()
        self._reader = csv.reader(self._feed, delimiter=self.delimiter, quotechar='"',
                                  doublequote=True, skipinitialspace=False, strict=False)

    def split(self, line: str) -> list[str]:
        if '"' not in line:
            return line.split(self.delimiter)
        if line.count('"') & 1:
            raise InputError(UNTERMINATED)
        self._feed.line = line
        try:
            return next(self._reader)
        except StopIteration:  # pragma: no cover - a line always yields a row
            return [""]
        except csv.Error as exc:
            # (Python's csv module adds advice about opening files that is no use here)
            reason = str(exc).split(" - do you need to open the file")[0]
            raise InputError(f"Failed to parse CSV line: {reason}") from None

    def start_file(self) -> None:
        """Each file brings its own header (Kelora re-initializes the CSV parser per file)."""
        self.headers = None

    def _set_headers(self, names: list[str]) -> None:
        self.headers = tuple(names)
        self.converters = tuple((name, CONVERTERS[self.types[name]], self.types[name])
                                if name in self.types else None for name in names)

    def parse(self, line):
        cells = self.split(line)
        if self.headers is None:
            if self.has_header:
                if cells:
                    cells[0] = cells[0].lstrip("\ufeff")
                # A blank header cell takes its positional name cN (1-based), as in Kelora:
                # several blank columns would otherwise collide into one "" key and lose data.
                self._set_headers([c.strip() or f"c{i}" for i, c in enumerate(cells, 1)])
                return None
            self._set_headers([f"c{i}" for i in range(1, len(cells) + 1)])
        headers = self.headers
        nh = len(headers)
        nc = len(cells)
        if nc != nh:
            if self.strict:
                src = "header" if self.has_header else "first row"
                raise InputError(f"Row has {nc} columns, expected {nh} (from {src})")
            if nc > nh:
                self.ragged_extra += 1
            else:
                self.ragged_missing += 1
        if not self.types:
            if nc == nh:
                return dict(zip(headers, cells))
            event = dict(zip(headers, cells))
            for i in range(nh, nc):
                name = f"c{i + 1}"
                if name not in event:  # a real header of that name keeps its value (Kelora)
                    event[name] = cells[i]
            return event
        event = {}
        converters = self.converters
        for i, cell in enumerate(cells):
            if i >= nh:
                if f"c{i + 1}" not in headers:
                    event[f"c{i + 1}"] = cell
                continue
            conv = converters[i]
            if conv is None:
                event[headers[i]] = cell
                continue
            name, fn, kind = conv
            value = fn(cell)
            if value is None and self.strict:
                raise InputError(
                    f"Type conversion failed for field '{name}': Cannot convert '{cell}' to {kind}"
                )
            event[name] = value
        return event
