"""Formatting builtins: human_bytes, format_decimals/percent, padding, shortening, bars, colours.

Widths count display columns (East Asian wide characters take two), as Kelora's do.  The colour
helpers are no-ops: script output is not coloured when piped, and kelora does not colour
script-produced text at all (events are coloured by the output formatter).
"""
from __future__ import annotations

import math
import unicodedata

from kelora import values
from kelora.builtins.limits import want_str
from kelora.builtins.registry import builtin


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


def _human(n: float, si: bool) -> str:
    if math.isnan(n):
        return "NaN"
    if math.isinf(n):
        return "-inf" if n < 0 else "inf"
    base = 1000.0 if si else 1024.0
    units = ("B", "KB", "MB", "GB", "TB", "PB", "EB") if si else (
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    neg = math.copysign(1.0, n) < 0
    v = abs(float(n))
    i = 0
    while v >= base and i < len(units) - 1:
        v /= base
        i += 1
    sign = "-" if neg and v != 0 else ""
    if i == 0:
        return f"{sign}{_round_half_away(v)} {units[0]}"
    return f"{sign}{v:.1f} {units[i]}"


def _round_half_away(v: float) -> int:
    return int(math.floor(v + 0.5))


@builtin("strings")
def human_bytes(n: int | float, units: str = "iec") -> str:
    """A byte count with binary units (1.5 KiB); units "si" gives decimal ones (1.5 KB).

    Examples:
        human_bytes(1536)  =>  "1.5 KiB"
        human_bytes(500)  =>  "500 B"
        human_bytes(1500, "si")  =>  "1.5 KB"
    """
    return _human(n, units.lower() == "si")


@builtin("strings")
def human_bytes_si(n: int | float) -> str:
    """A byte count with decimal (SI) units: 1.5 MB.

    Examples:
        human_bytes_si(1500000)  =>  "1.5 MB"
    """
    return _human(n, True)


@builtin("strings")
def format_decimals(x: int | float, decimals: int) -> str:
    """The number as text with exactly that many decimals (0..20).

    Examples:
        format_decimals(3.14159, 2)  =>  "3.14"
        format_decimals(2, 3)  =>  "2.000"
    """
    d = max(0, min(20, decimals))
    return f"{float(x):.{d}f}"


@builtin("strings")
def format_percent(ratio: int | float, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.042 => "4.2%".

    Examples:
        format_percent(0.042, 1)  =>  "4.2%"
        format_percent(0.5, 0)  =>  "50%"
    """
    d = max(0, min(20, decimals))
    return f"{float(ratio) * 100.0:.{d}f}%"


def _fill(fill: str) -> str:
    return fill[:1] if fill else " "


@builtin("strings")
def ljust(text: str, width: int, fill: str = " ") -> str:
    """Left-justify text in width columns (padding on the right).

    Examples:
        ljust("ab", 5, ".")  =>  "ab..."
        ljust("abcdef", 3)  =>  "abcdef"
    """
    n = max(0, width - _width(text))
    want_str(len(text) + n, "ljust")
    return text + _fill(fill) * n


@builtin("strings")
def rjust(text: str, width: int, fill: str = " ") -> str:
    """Right-justify text in width columns (padding on the left).

    Examples:
        rjust("42", 5, "0")  =>  "00042"
    """
    n = max(0, width - _width(text))
    want_str(len(text) + n, "rjust")
    return _fill(fill) * n + text


@builtin("strings")
def center(text: str, width: int, fill: str = " ") -> str:
    """Center text in width columns; the extra column of odd padding goes on the right.

    Examples:
        center("ab", 5, "*")  =>  "*ab**"
    """
    total = max(0, width - _width(text))
    want_str(len(text) + total, "center")
    left = total // 2
    return _fill(fill) * left + text + _fill(fill) * (total - left)


def _take_width(text: str, width: int, from_end: bool = False) -> str:
    out, used = [], 0
    for c in (reversed(text) if from_end else text):
        w = _width(c)
        if used + w > width:
            break
        out.append(c)
        used += w
    return "".join(reversed(out)) if from_end else "".join(out)


@builtin("strings")
def shorten(text: str, width: int, marker: str = "…") -> str:
    """Cut text to width columns, ending with marker ("…") when it was cut.

    Examples:
        shorten("hello world", 8)  =>  "hello w…"
        shorten("short", 10)  =>  "short"
    """
    if _width(text) <= width:
        return text
    room = width - _width(marker)
    if room <= 0:
        return _take_width(marker, max(0, width))
    return _take_width(text, room) + marker


@builtin("strings")
def shorten_middle(text: str, width: int, marker: str = "…") -> str:
    """Cut the middle of text to fit width columns, keeping both ends around marker.

    Examples:
        shorten_middle("abcdefghij", 7)  =>  "abc…hij"
        shorten_middle("abcdefghij", 6)  =>  "abc…ij"
    """
    if _width(text) <= width:
        return text
    room = width - _width(marker)
    if room <= 0:
        return _take_width(marker, max(0, width))
    front = (room + 1) // 2
    return _take_width(text, front) + marker + _take_width(text, room - front, from_end=True)


_EIGHTHS = " ▏▎▍▌▋▊▉█"


@builtin("strings")
def bar(value: int | float, maximum: int | float, width: int = 20) -> str:
    """A horizontal bar of width cells for value/maximum (eighth-block resolution).

    Examples:
        bar(5, 10, 4)  =>  "██  "
        bar(20, 10, 2)  =>  "██"
    """
    width = max(0, width)
    want_str(width, "bar")
    if maximum <= 0 or value <= 0 or math.isnan(value):
        return " " * width
    frac = min(1.0, value / maximum)
    eighths = int(round(frac * width * 8))
    full, part = divmod(eighths, 8)
    s = "█" * full + (_EIGHTHS[part] if part else "")
    return s + " " * (width - _width(s))


_SPARKS = "▁▂▃▄▅▆▇█"


@builtin("strings")
def sparkline(items: list) -> str:
    """A one-line chart of the numbers in the array (non-numbers are skipped).

    Examples:
        sparkline([1, 2, 3, 4, 5, 6, 7, 8])  =>  "▁▂▃▄▅▆▇█"
        sparkline([])  =>  ""
    """
    nums = [float(x) for x in items if type(x) in (int, float) and not math.isnan(x)]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    if hi == lo:
        return _SPARKS[3] * len(nums)
    return "".join(_SPARKS[min(7, int((x - lo) / (hi - lo) * 7 + 0.5))] for x in nums)


def _colour(name: str):
    def fn(text: object) -> str:
        return values.to_string(text)

    fn.__name__ = name
    fn.__doc__ = f"""Colour helper {name}(): returns the text unchanged (kelora never colours script text).

    Examples:
        {name}("ok")  =>  "ok"
    """
    return fn


for _name in ("red", "green", "yellow", "blue", "magenta", "cyan", "white", "black", "gray",
              "grey", "bold", "dim", "italic", "underline", "inverse"):
    builtin("strings", name=_name)(_colour(_name))
