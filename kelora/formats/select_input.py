"""``-f SPEC`` -> a parser object; ``-f auto`` -> a parser that detects on its first line."""
from __future__ import annotations

from kelora.errors import UsageError

from . import registry
from .detect import detect_format
from .inputs import Parser

# (derived from the registry: kept as names other modules import)
INPUT_FORMATS = registry.input_names()
CSV_FORMATS = registry.family("csv")


def split_spec(spec: str) -> tuple[str, str]:
    """``"csv status:int"`` / ``"csv:status:int"`` -> ("csv", "status:int")."""
    spec = spec.strip()
    cut = len(spec)
    for sep in (" ", "\t", ":"):
        pos = spec.find(sep)
        if pos != -1:
            cut = min(cut, pos)
    return spec[:cut].lower(), spec[cut + 1:].strip()


def make_input_parser(spec: str, strict: bool = False, cols_sep: str | None = None) -> Parser:
    """Build the parser for a ``-f`` value; UsageError (exit 2) for unknown formats/annotations."""
    name, rest = split_spec(spec)
    fmt = registry.INPUTS.get(name)
    if rest and (fmt is None or not fmt.spec):
        typed = [f.name for f in registry.INPUTS.values() if f.spec == "types"]
        raise UsageError(f"Unknown input format: '{spec.strip()}'",
                         hint=f"Type annotations are only accepted by {', '.join(typed[:-1])} and {typed[-1]}")
    if fmt is None:
        if name in registry.UNSUPPORTED_INPUTS:
            raise UsageError(f"Input format '{name}' is not supported by this version of kelora")
        raise UsageError(f"Unknown input format: '{spec.strip()}'",
                         hint="Supported: " + ", ".join(INPUT_FORMATS))
    if fmt.auto:
        return AutoParser(strict=strict)
    factory = registry.load(fmt.factory)
    if not fmt.spec:
        return factory()
    return factory(name, rest, strict, cols_sep)


class AutoParser(Parser):
    """Detects the format from the first line it sees, then delegates every call.

    ``format_name`` is ``"auto"`` until then, afterwards the detected name (for the stats line
    ``Detected format:``).  The pipeline may instead call ``detect_format`` itself.
    """

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.inner: Parser | None = None
        self.format_name = "auto"

    def _detect(self, line: str) -> Parser:
        self.inner = make_input_parser(detect_format(line), strict=self.strict)
        self.format_name = self.inner.format_name
        self.parse = self.inner.parse  # later calls skip this wrapper
        self.parse_bytes = self.inner.parse_bytes
        return self.inner

    def parse(self, line):
        return self._detect(line).parse(line)

    def parse_bytes(self, raw):
        if self.inner is not None:
            return self.inner.parse_bytes(raw)
        text = raw.decode("utf-8")
        return self._detect(text).parse_bytes(raw)

    def start_file(self) -> None:
        if self.inner is not None:
            self.inner.start_file()

    @property
    def ragged_extra(self):
        return self.inner.ragged_extra if self.inner is not None else 0

    @property
    def ragged_missing(self):
        return self.inner.ragged_missing if self.inner is not None else 0
