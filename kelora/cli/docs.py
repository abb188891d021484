"""Help and reference text generated from the builtin registry (one source of truth).

* ``--help-functions``        one line per function, grouped by category
* ``--help-functions WORD``   one function's page, or a search (kelora.cli.funcdocs)
* ``python -m kelora.cli.docs``   the Markdown reference, checked in as docs/functions.md
"""
from __future__ import annotations

import sys

from kelora.builtins.registry import REGISTRY, load_all

CATEGORY_TITLES = {
    "privacy": "Privacy and hashing",
    "network": "IP addresses",
    "extract": "Extraction",
    "strings": "Strings",
    "conversion": "Conversion",
    "maps": "Maps and events",
    "arrays": "Arrays",
    "math": "Math",
    "datetime": "Date and time",
    "codecs": "Codecs",
    "parsing": "Parsing",
    "serializers": "Serializers",
    "tracking": "Tracking (metrics)",
    "events": "Pipeline control",
    "core": "Language core",
    "files": "Files and environment",
}


def _by_category() -> dict[str, list]:
    load_all()
    groups: dict[str, list] = {}
    for name in sorted(REGISTRY):
        b = REGISTRY[name]
        groups.setdefault(b.category, []).append(b)
    return dict(sorted(groups.items(), key=lambda kv: CATEGORY_TITLES.get(kv[0], kv[0])))


def functions_help(word: str | None = None) -> str | None:
    groups = _by_category()
    if word is None:
        out = ["Script functions (call as f(x, ...) or x.f(...)); --help-functions NAME for details.", ""]
        for cat, items in groups.items():
            out.append(f"{CATEGORY_TITLES.get(cat, cat.title())}:")
            width = max(len(b.name) for b in items)
            for b in items:
                out.append(f"  {b.name.ljust(width)}  {b.summary}")
            out.append("")
        return "\n".join(out)
    from kelora.cli.funcdocs import help_text  # search: names, summaries, descriptions, synonyms

    return help_text(word)


def no_match(word: str) -> str:
    from kelora.cli.funcdocs import no_match as text

    return text(word)


def markdown() -> str:
    from kelora.cli.funcdocs import doc_text, example_command

    groups = _by_category()
    out = ["# kelora function reference", "",
           "Generated from the builtin registry by `python -m kelora.cli.docs` (do not edit by hand;",
           "`make docs` regenerates it and a test fails when it is stale).",
           "Every function can be called as `f(x, y)` or, method-style, as `x.f(y)`.", ""]
    for cat, items in groups.items():
        out.append(f"## {CATEGORY_TITLES.get(cat, cat.title())}")
        out.append("")
        for b in items:
            out.append(f"### `{b.signature()}`")
            out.append("")
            out.append(doc_text(b).rstrip())
            out.append("")
            ex = example_command(b)
            if ex is not None:
                shown, output = ex
                out += ["```console", f"$ {shown}", *output.rstrip("\n").split("\n"), "```", ""] if output.strip() \
                    else ["```console", f"$ {shown}", "```", ""]
            if b.hides_value:
                out.append("*Privacy function:* a failing `-e` stage that calls it withholds the "
                           "fields it sets instead of restoring them (COMPAT D17).")
                out.append("")
    return "\n".join(out).rstrip() + "\n"


LANGUAGE_SUMMARY = """\
kelora script language (a Rhai subset; see docs/language.md)

Stages      --begin (once, conf writable) · -e/--exec (per event) · --filter/--assert (one
            expression) · --end (once, sees metrics).  Stages run in command-line order.
Variables   e (the event map) · meta (line, line_num, filename) · line · conf · state · metrics
            `let x = ...` lives for the whole event, across stages (kelora difference D1).
Values      () unit · 42 · 1.5 · "text" · r"raw \\d" · #"raw"# · `template ${e.x}` · 'c'
            [1, 2] arrays · #{a: 1} maps · true/false · 1..5 / 1..=5 ranges
Fields      e.status · e["user-id"] · e.missing is () · e.x = () deletes · e = () drops
Operators   + - * / % **  == != < > <= >=  && || !  & | ^ << >>  in  ??  (int/int truncates)
Control     if c { } else { } · switch x { 1 => .., 2 | 3 => .., _ => .. } · for x in arr { }
            while c { } · loop { } · break · continue · return · try { } catch (err) { } · throw
Functions   fn name(a, b) { a + b }   (cannot see e/meta/conf: pass them in)
            closures |x| x * 2 with map/filter/reduce/all/some
Methods     x.f(a) is f(x, a) for every function; --help-functions lists them
Errors      a failing -e stage is rolled back and the event passes on (--fail-closed drops it,
            --strict stops the run); filters that fail count as false. A failing stage that
            calls pseudonym/hash/mask_ip/normalized leaves out the fields it sets (--fail-open
            restores them).
"""


def language_summary() -> str:
    return LANGUAGE_SUMMARY


if __name__ == "__main__":
    sys.stdout.write(markdown())
