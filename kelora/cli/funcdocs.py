"""Function pages and function search for ``--help-functions`` and docs/functions.md (issue 14).

* A page is the signature, the docstring with its examples in the language's own notation
  (``()``, ``#{"a": 1}``) and without the doc test's markers (``!skip``, ``!exit N``,
  ``!error TEXT`` become ``//`` comments saying what happens), and one whole ``kelora`` command
  built from the first example, run in-process, with its real output.
* ``search(text)`` finds functions by name, summary and description, with synonyms for the words
  people bring from elsewhere (``distinct`` -> ``track_unique``, ``epoch`` -> ``to_datetime``,
  ``redact`` -> ``normalized``), and suggests close names when nothing matches.
"""
from __future__ import annotations

import difflib
import re

from kelora.builtins.registry import REGISTRY, load_all

DOC_SECRET = "kelora-bench-secret"  # the doc test's secret: examples with pseudonyms hold with it

# word a user searches for -> functions, best first (names not registered are ignored)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "distinct": ("track_unique", "track_cardinality", "unique"),
    "uniq": ("track_unique", "unique", "track_cardinality"),
    "dedup": ("unique", "track_unique"),
    "cardinality": ("track_cardinality", "track_unique"),
    "epoch": ("to_datetime", "timestamp", "to_epoch", "to_epoch_ms", "epoch_seconds"),
    "unix": ("to_datetime", "timestamp", "to_epoch"),
    "date": ("to_datetime", "timestamp", "now"),
    "time": ("to_datetime", "timestamp", "now"),
    "redact": ("normalized", "mask_ip", "pseudonym"),
    "scrub": ("normalized", "mask_ip", "pseudonym"),
    "anonymize": ("pseudonym", "mask_ip", "normalized", "hash"),
    "anonymise": ("pseudonym", "mask_ip", "normalized", "hash"),
    "pseudonymize": ("pseudonym",),
    "mask": ("mask_ip", "normalized"),
    "hide": ("pseudonym", "mask_ip", "normalized"),
    "count": ("track_count", "track_freq", "track_inc"),
    "frequency": ("track_freq",),
    "histogram": ("track_bucket", "track_freq"),
    "sum": ("track_sum", "sum"),
    "total": ("track_sum", "sum"),
    "average": ("track_avg",),
    "mean": ("track_avg", "track_stats"),
    "median": ("track_percentiles",),
    "percentile": ("track_percentiles",),
    "p99": ("track_percentiles",),
    "top": ("track_top", "track_top_by"),
    "length": ("len",),
    "size": ("len",),
    "upper": ("to_upper",),
    "uppercase": ("to_upper",),
    "lower": ("to_lower",),
    "lowercase": ("to_lower",),
    "regex": ("matches", "extract_re", "replace_re", "split_re"),
    "regexp": ("matches", "extract_re", "replace_re", "split_re"),
    "grep": ("contains", "matches"),
    "exists": ("has", "get_path"),
    "null": ("has", "or_empty"),
    "default": ("get_path", "get", "or_empty"),
    "int": ("to_int",),
    "integer": ("to_int",),
    "float": ("to_float",),
    "str": ("to_string",),
    "string": ("to_string",),
    "json": ("parse_json", "to_json"),
    "drop": ("skip",),
    "ip": ("mask_ip", "is_ipv4", "is_private_ip"),
    "emit": ("emit_each",),
    "explode": ("emit_each",),
    "substring": ("sub_string", "slice"),
}

MARKERS = {"!skip": "drops the event", "!exit": "ends the run with exit code {arg}", "!error": "error: {arg}"}


def _functions() -> list:
    load_all()
    return [REGISTRY[n] for n in sorted(REGISTRY) if REGISTRY[n].name == n]


# --------------------------------------------------------------------------- pages

def doc_text(b) -> str:
    """The docstring as shown to users: marker example lines become `//` comments."""
    out = []
    for line in b.doc.rstrip().split("\n"):
        left, arrow, right = line.rpartition("=>")
        marker = right.strip().split(" ", 1) if arrow else [""]
        if marker[0] in MARKERS:
            arg = marker[1] if len(marker) > 1 else ""
            line = left.rstrip() + "  // " + MARKERS[marker[0]].format(arg=arg)
        out.append(line)
    return "\n".join(out)


def example_command(b) -> tuple[str, str] | None:
    """(shell command, its output) for the function's first example, run in-process."""
    examples = b.examples()
    if not examples:
        return None
    plain = [(s, x) for s, x in examples if not x.startswith("!")]
    valued = [(s, x) for s, x in plain if x != "()"]
    script, expected = (valued or plain or examples)[0]
    from kelora.cli.shellwords import quote

    tracks = b.name.startswith("track_")
    if tracks:
        args = ["-j", "-e", script, "-m"]  # a metric shows at the end of the run
    else:
        if valued:
            script = _print_last(script)
        args = ["-j", "-q", "-e", script]
    secret = "KELORA_SECRET" in b.doc
    code, stdout, stderr = _run(args, secret)
    shown = " ".join(["kelora", *(quote(a) for a in args)])
    shown = f"echo '{{}}' | {'KELORA_SECRET=' + DOC_SECRET + ' ' if secret else ''}{shown}"
    output = stdout + stderr
    if code:
        output += f"(exit code {code})\n"
    return shown, output


def _print_last(script: str) -> str:
    """``a; b; EXPR`` -> ``a; b; print(EXPR)`` (the value of the example's last expression)."""
    from kelora.lang.lower import to_ast

    try:
        tree = to_ast(script, "script")
    except Exception:
        return f"print({script})"
    if not tree.stmts:
        return script
    last = tree.stmts[-1]
    span = getattr(last, "span", None)
    if span is None or type(last).__name__ in ("Let", "Assign", "FnDef", "For", "While", "Loop",
                                              "Break", "Continue", "Return", "Throw"):
        return script
    if type(last).__name__ == "Try":  # a statement, not an expression: its value through a function
        return f"fn example() {{ {script} }} print(example())"
    head, body = script[:span.start], script[span.start:span.end]
    return f"{head}print({body}){script[span.end:]}"


def _run(args: list[str], secret: bool) -> tuple[int, str, str]:
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    env = Env.for_test(stdin=b"{}\n", environ={"KELORA_SECRET": DOC_SECRET} if secret else {})
    code = run_command(args, env)
    return int(code), env.stdout.getvalue().decode("utf-8", "replace"), env.stderr.getvalue()


def page(b, command: bool = True) -> str:
    out = [b.signature(), "", doc_text(b)]
    ex = example_command(b) if command else None
    if ex is not None:
        shown, output = ex
        out += ["", "Command:", f"    $ {shown}"]
        out += [f"    {ln}" for ln in output.rstrip("\n").split("\n")] if output.strip() else []
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- search

def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text) if w]


def search(text: str) -> list:
    """Functions matching every word of *text* (name, summary, description or synonym), best first.
    Smartcase, as Kelora's keyword search: a word with a capital letter is matched as written."""
    funcs = _functions()
    q = text.strip().lower()
    exact = [b for b in funcs if b.name.lower() == q or b.name.lower() == q.replace(" ", "_")]
    if exact:
        return exact
    words = _words(text.strip())
    if not words:
        return []
    scored = []
    for b in funcs:
        name, body = b.name.lower(), b.doc.split("Examples:")[0]
        total = 0
        for word in words:
            w = word.lower()
            flags = 0 if word != w else re.IGNORECASE  # smartcase
            score = 0
            syn = SYNONYMS.get(w) or SYNONYMS.get(w.rstrip("s")) or ()
            if b.name in syn:
                score = 20 - syn.index(b.name)
            elif w in name:
                score = 12 if name.startswith(w) or f"_{w}" in name else 8
            elif w == b.category:
                score = 5
            elif re.search(rf"\b{re.escape(word)}", b.summary, flags):
                score = 4
            elif re.search(re.escape(word), body, flags):
                score = 2
            if not score:
                break
            total += score
        else:
            scored.append((-total, b.name, b))
    return [b for _, _, b in sorted(scored)]


def close_names(text: str) -> list[str]:
    names = [b.name for b in _functions()]
    word = text.strip().lower().replace(" ", "_")
    return difflib.get_close_matches(word, names, n=3, cutoff=0.6)


def help_text(text: str) -> str:
    """What ``--help-functions TEXT`` prints: the page of the function TEXT names, else Kelora's
    "Functions matching" list (by category, the best match's first), else Kelora's no-match line
    and the close names."""
    found = search(text)
    q = text.strip().lower()
    if found and found[0].name.lower() in (q, q.replace(" ", "_")):
        b = found[0]
        also = [n for w in _words(q) for n in SYNONYMS.get(w, ()) if n in REGISTRY and n != b.name]
        tail = f"\nSee also: {', '.join(dict.fromkeys(also))}\n" if also else ""
        return page(b) + tail
    if found:
        from kelora.cli.docs import CATEGORY_TITLES

        groups: dict[str, list] = {}
        for b in found:
            groups.setdefault(b.category, []).append(b)
        out = [f'Functions matching "{text}":', ""]
        for cat in groups:  # the category of the best match first
            items = groups[cat]
            out.append(f"{CATEGORY_TITLES.get(cat, cat.title())}:")
            width = max(len(b.name) for b in items)
            out += [f"  {b.name.ljust(width)}  {b.summary}" for b in items]
            out.append("")
        return "\n".join(out)
    return no_match(text)


def no_match(text: str) -> str:
    close = close_names(text)
    tip = f"Did you mean: {', '.join(close)}?\n" if close else ""
    return f'No functions matching "{text}". Run --help-functions for the full catalogue.\n' + tip
