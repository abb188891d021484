"""Interactive mode (COMPAT D22): a ``kelora> `` prompt for command lines and expressions.

``cli.run_command`` calls :func:`wanted` before any config file or flag is looked at (an empty
command line is decided on before config defaults would fill it).  This module stays tiny: the
prompt, readline and the script machinery are imported by :func:`run` only, so the start-up of
an ordinary command does not grow.
"""
from __future__ import annotations

OWN_FLAGS = ("--interactive", "--no-history")


def wanted(args: list[str], env) -> bool:
    """Interactive mode: ``--interactive``, or an empty command line on a terminal (stdin and
    stdout).  ``--no-history`` alone counts as an empty command line with an option of the mode."""
    if "--interactive" in args:
        return True
    if args and any(a not in OWN_FLAGS for a in args):
        return False
    return bool(env.stdin_isatty and env.stdout_isatty)


def run(args: list[str], env) -> int:
    from kelora.cli.interactive.repl import main

    return main(args, env)
