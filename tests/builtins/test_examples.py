"""Every docstring example of the general-purpose builtins holds (run by the mini evaluator)."""
from __future__ import annotations

import json
import math

import pytest

from kelora.context import RunContext
from tests.builtins._mini import REGISTRY, Unsupported, jsonable, run

MODULES = {
    "strings", "text_regex", "columns", "durations", "webparse", "conversion", "maps", "serializers", "codecs", "textparse", "useragent",
    "arrays", "mathfns", "datetime_fns", "files", "textfmt", "absorb",
}


def _mine():
    for name in sorted(REGISTRY):
        b = REGISTRY[name]
        if b.func.__module__.rsplit(".", 1)[-1] not in MODULES:
            continue
        for i, (script, expected) in enumerate(b.examples()):
            yield pytest.param(name, script, expected, id=f"{name}[{i}]")


EXAMPLES = list(_mine())


def test_every_function_has_examples():
    names = {n for n, b in REGISTRY.items() if b.func.__module__.rsplit(".", 1)[-1] in MODULES}
    assert len(names) > 150
    for n in names:
        assert REGISTRY[n].examples(), n
        assert REGISTRY[n].summary, n


@pytest.mark.parametrize("name,script,expected", EXAMPLES)
def test_docstring_example(name, script, expected):
    ctx = RunContext(env={})
    try:
        got = jsonable(run(script, ctx))
    except Unsupported as why:
        pytest.skip(str(why))
    want = json.loads(expected)
    if isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=1e-12), (script, got)
        return
    assert got == want, f"{script} gave {got!r}, docstring says {expected}"
    assert type(got) is type(want) or (want is None), f"{script}: type {type(got)} vs {type(want)}"
