"""Property (COMPAT D17, issue 11): a stage that calls `pseudonym` and fails never passes on an
original value of a field it assigns or removes; with and without `--parallel`.

Each generated stage mixes pseudonym assignments (top-level and nested), removals and branches,
and always fails somewhere (a type error of pseudonym on an array, map, bool or `()`, a write into
a non-map, or an explicit failing statement at a random place), so every event goes through the
failure path.  The output must be the input with exactly the stage's target paths taken out.
"""
from __future__ import annotations

import copy
import json
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN
from tests.reliability.conftest import run

SECRET = {"KELORA_SECRET": "kelora-test-secret-0123456789"}
FIELDS = ["a", "b", "c", "d"]
SUB = ["x", "y"]

_counter = iter(range(10**9))
marker = st.builds(lambda _: f"orig{next(_counter)}", st.none())  # unique, searchable strings
scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.sampled_from([0.5, -2.25, 1.5e10]), marker)
value = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(SUB), inner, max_size=2)), max_leaves=6)
event = st.dictionaries(st.sampled_from(FIELDS), value, max_size=4)

field = st.sampled_from(FIELDS)
sub = st.sampled_from(SUB)
pseudo_statement = st.builds(lambda f, g: (f'e.{f} = pseudonym(e.{g}, "d")', [(f,)]), field, field)
statement = st.one_of(
    pseudo_statement,
    st.builds(lambda f: (f"e.{f} = ()", [(f,)]), field),
    st.builds(lambda f, h, g: (f'e.{f}.{h} = pseudonym(e.{g}, "d")', [(f, h)]), field, sub, field),
    st.builds(lambda f, g: (f'if e.{g} == true {{ e.{f} = pseudonym(e.{g}, "d") }}', [(f,)]), field, field),
    st.builds(lambda f, g: (f'e["{f}"] = pseudonym(e.{g}.to_string(), "d")', [(f,)]), field, field),
)
FAIL = ("e.zz = e.nope + 1", [("zz",)])


@st.composite
def stage(draw):
    stmts = draw(st.permutations([draw(pseudo_statement), *draw(st.lists(statement, max_size=3))]))
    stmts.insert(draw(st.integers(0, len(stmts))), FAIL)  # every run fails somewhere
    text = "; ".join(s for s, _ in stmts)
    targets = sorted({p for _, ps in stmts for p in ps})
    return text, targets


def expected(ev: dict, targets) -> dict:
    out = copy.deepcopy(ev)
    for path in targets:
        cont = out
        for key in path[:-1]:
            cont = cont.get(key) if isinstance(cont, dict) else None
        if isinstance(cont, dict):
            cont.pop(path[-1], None)
    return out


def originals(ev: dict, targets):
    """JSON texts of the input values at the target paths."""
    for path in targets:
        v = ev
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if v is not None:
            yield v


def _data(evs):
    return "".join(json.dumps({"id": i, **ev}) + "\n" for i, ev in enumerate(evs)).encode()


def check(out_text: str, evs, targets):
    got = [json.loads(x) for x in out_text.splitlines()]
    assert got == [expected({"id": i, **ev}, targets) for i, ev in enumerate(evs)]
    for ev in evs:  # said plainly: no marker string of a target's original value is in the output
        for v in originals(ev, targets):
            for text in _markers(v):
                assert text not in out_text


def _markers(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from _markers(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _markers(x)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=stage(), evs=st.lists(event, min_size=1, max_size=6))
def test_failed_pseudonym_stage_passes_on_no_original_target_value(script, evs):
    text, targets = script
    res = run(["-j", "-F", "json", "-e", text], _data(evs), environ=SECRET)
    assert res.code == 0, res.err
    check(res.text, evs, targets)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=stage(), evs=st.lists(event, min_size=4, max_size=12))
def test_the_same_through_the_installed_kelora_with_and_without_parallel(script, evs):
    text, targets = script
    outs = []
    for extra in ([], ["--parallel", "--threads", "2", "--batch-size", "2"]):
        proc = subprocess.run([KELORA_BIN, "-j", "-F", "json", "-e", text, *extra], input=_data(evs),
                              capture_output=True, env=clean_env(SECRET), timeout=60)
        assert proc.returncode == 0, proc.stderr
        check(proc.stdout.decode(), evs, targets)
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
