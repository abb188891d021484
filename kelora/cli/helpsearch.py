"""`kelora --help KEYWORD` / `--help=KEYWORD`: Kelora's search of the option reference.

A keyword that starts with '-' is a flag query: a whole-token, case-sensitive match against the
option's names (`-j` finds `-j`, not `-J` nor `--multiline-join`).  Any other keyword is a
smartcase substring search (case-insensitive unless it has a capital) over the option names
and help texts.  Matches are listed under their help panel; no match prints Kelora's line.
Exit 0 either way.
"""
from __future__ import annotations


def keyword(args: list[str | None]) -> str | None:
    """The KEYWORD of `--help KEYWORD` / `--help=KEYWORD` in *args* (``config_file.option_words``:
    None for an option's value), or None (plain --help)."""
    head = args[: args.index("--")] if "--" in args else args
    for i, a in enumerate(head):
        if a is None:
            continue
        if a.startswith("--help="):
            return a.split("=", 1)[1] or None
        if a == "--help" and i + 1 < len(head):
            return head[i + 1]
    return None


def render(word: str) -> str:
    from kelora.cli.flags import build_command

    flag_query = word.startswith("-")
    sensitive = any(c.isupper() for c in word)
    needle = word if sensitive else word.lower()
    panels: dict[str, list[str]] = {}
    for p in build_command().params:
        names = [*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())]
        if not any(n.startswith("-") for n in names):
            continue  # the FILES argument
        help_text = " ".join((getattr(p, "help", None) or "").split())
        if flag_query:
            hit = word in names
        else:
            hay = " ".join(names) + " " + help_text
            hit = needle in (hay if sensitive else hay.lower())
        if not hit:
            continue
        label = ", ".join(names)
        if not getattr(p, "is_flag", False) and not getattr(p, "count", False):
            label += f" <{(p.metavar or p.name or 'VALUE').upper()}>"
        panel = getattr(p, "rich_help_panel", None) or "Options"
        panels.setdefault(panel, []).append(f"  {label}\n          {help_text}")
    if not panels:
        return (f'No options matching "{word}". Run --help for the full reference '
                f"(search a flag like '-j' or '--since', or a bare word like 'time').\n")
    out = [f'Options matching "{word}":', ""]
    for panel, lines in panels.items():
        out.append(f"{panel}:")
        out.extend(lines)
        out.append("")
    return "\n".join(out)
