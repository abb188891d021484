"""The kelora script language (a Rhai subset): text -> checked AST -> closures.

    from kelora.lang import compile_script
    prog = compile_script(text, label="exec script 1", mode="script", stage="exec")
    prog.run(scope)

Importing this package is cheap; lark is imported when the first script is compiled.
"""
from __future__ import annotations


def compile_script(*args, **kwargs):
    from kelora.lang.program import compile_script as _compile

    return _compile(*args, **kwargs)


__all__ = ["compile_script"]
