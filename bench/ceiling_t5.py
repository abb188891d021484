#!/usr/bin/env python3
"""T5 scrub free text: message = normalized(message) with the default pattern set, as ONE
combined regex pass (an alternation in the default order, one named group per pattern), orjson
in and out.  The hand-written ceiling for `kelora -j FILE -e 'e.message = normalized(e.message)'
-F json` (same style as shared/bench/ref/*.py)."""
import re
import sys
from orjson import OPT_APPEND_NEWLINE as NL, dumps, loads

O = r"(?:25[0-5]|2[0-4]\d|[01]?\d?\d)"
H = "[0-9A-Fa-f]"
PATTERNS = [  # Kelora's default set, in its order
    ("ipv4_port", rf"\b{O}\.{O}\.{O}\.{O}:\d{{1,5}}\b"),
    ("ipv4", rf"\b{O}\.{O}\.{O}\.{O}\b"),
    ("ipv6", rf"(?<![0-9A-Fa-f:])(?:{H}{{1,4}}|(?=::))(?::{H}{{0,4}}){{2,7}}(?![0-9A-Fa-f:])"),
    ("email", r"\b[\w.%+-]+@[\w.-]+\.[^\W\d_]{2,}\b"),
    ("url", r"\b[a-z][a-z0-9+.-]*://[^\s]+\b"),
    ("fqdn", r"\b(?:[a-z](?:[a-z0-9-]{0,63}[a-z0-9])?\.){2,}[a-z0-9][a-z0-9-]{0,8}\b"),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("mac", r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b|\b(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}\b"),
    ("md5", r"\b[a-fA-F0-9]{32}\b"),
    ("sha1", r"\b[a-fA-F0-9]{40}\b"),
    ("sha256", r"\b[a-fA-F0-9]{64}\b"),
    ("path", r"\B/[\w./-]+"),
    ("oauth", r"\bya29\.[0-9A-Za-z_-]+\b"),
    ("function", r"\b[\w.]+\([^)]*\)"),
    ("hexcolor", r"#[0-9A-Fa-f]{6}\b"),
    ("version", r"\b[vV]\d+\.\d+(?:\.\d+)?(?:-[a-zA-Z0-9]+)?\b"),
]
COMBINED = re.compile("|".join(f"(?P<{name}>{src})" for name, src in PATTERNS))
PLACEHOLDER = {name: f"<{name}>" for name, _ in PATTERNS}


def repl(m):
    return PLACEHOLDER[m.lastgroup]


def main():
    sub = COMBINED.sub
    out = sys.stdout.buffer.write
    with open(sys.argv[1], "rb") as f:
        for line in f:
            o = loads(line)
            o["message"] = sub(repl, o["message"])
            out(dumps(o, option=NL))


main()
