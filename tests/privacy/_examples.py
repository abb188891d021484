"""Run builtin docstring examples directly in Python (until the script language runs them).

The examples use only literals and plain calls, which read the same in Python once the
Rhai literals ``true``/``false``/``()`` are mapped.
"""
from __future__ import annotations

import orjson

from kelora.builtins.registry import load_all
from kelora.errors import KeloraError


def run_examples(names, ctx):
    registry = load_all()
    ns = {"true": True, "false": False}
    for name, entry in registry.items():
        if entry.pass_context:
            ns[name] = (lambda f: lambda *a: f(ctx, *a))(entry.func)
        else:
            ns[name] = entry.func
    results = []
    for name in names:
        entry = registry[name]
        examples = entry.examples()
        assert examples, f"{name} has no examples"
        for script, expected in examples:
            if expected.startswith("!error"):
                try:
                    eval(script, dict(ns))  # noqa: S307
                except KeloraError as err:
                    assert expected[len("!error"):].strip() in err.message
                    continue
                raise AssertionError(f"{script} did not fail")
            got = eval(script, dict(ns))  # noqa: S307 - literals and calls from our own docstrings
            results.append((name, script, orjson.loads(expected), got))
    return results
