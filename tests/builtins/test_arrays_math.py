import math

import pytest

from kelora import values
from kelora.context import RunContext
from kelora.errors import FunctionError, UsageError
from tests.builtins._mini import call

CASES = [
    ("sorted", ([3, 1.5, 2],), [1.5, 2, 3]),
    ("sorted", (["b", "B", "a"],), ["B", "a", "b"]),
    ("sorted", ([],), []),
    ("sorted", ([1, 3, 2], True), [3, 2, 1]),
    ("sorted", ([True, False],), [False, True]),
    ("reversed", ([1, "a", None],), [None, "a", 1]),
    ("reversed", ([],), []),
    ("unique", ([1, 1.0, "1", None, None, [1], [1], {"a": 1}, {"a": 1}],), [1, "1", None, [1], {"a": 1}]),
    ("unique", ([],), []),
    ("sorted_by", ([{"n": "b"}, {"n": "a"}, {"n": None}, 5], "n"), [{"n": "a"}, {"n": "b"}, {"n": None}, 5]),
    ("pluck", ([{"a": 1}, {"a": None}, {"b": 2}, "x", {"a": [1]}], "a"), [1, [1]]),
    ("pluck", ([], "a"), []),
    ("pluck_as_nums", ([{"a": 1}, {"a": "2.5"}, {"a": "x"}, {"a": True}, {"a": None}], "a"), [1.0, 2.5]),
    ("join", (["a", 1, None, "b", ["c"]], "+"), "a+b"),
    ("join", ([], ","), ""),
    ("join", ([values.Char("x"), "y"], ""), "xy"),
    ("min", ([3, 1.5, 2],), 1.5),
    ("min", (["b", "a"],), "a"),
    ("min", ([],), None),
    ("min", (1, 2), 1),
    ("max", ([3, 1.5, 2],), 3),
    ("max", (1, 2.5), 2.5),
    ("max", ([7],), 7),
    ("sum", ([1, 2, 3],), 6.0),
    ("sum", ([0.1, 0.2, 0.3],), 0.6),
    ("sum", ([],), None),
    ("sum", ([1, None],), None),
    ("sum", ([1, True],), None),
    ("mean", ([1, 2],), 1.5),
    ("variance", ([1, 1, 1],), 0.0),
    ("stddev", ([1, 3],), 1.0),
    ("percentile", ([5, 1, 4, 2, 3], 0), 1.0),
    ("percentile", ([5, 1, 4, 2, 3], 100), 5.0),
    ("percentile", ([5, 1, 4, 2, 3], 90), 4.6),
    ("percentile", ([7], 50.5), 7.0),
    ("median", ([1, 2, 3],), 2.0),
    # math
    ("abs", (-3,), 3),
    ("abs", (3,), 3),
    ("abs", (-0.5,), 0.5),
    ("sign", (2.5,), 1),
    ("clamp", (5, 1, 3), 3),
    ("clamp", (0.5, 1, 3), 1),
    ("clamp", (2, 1, 3), 2),
    ("clamp", (2, 2, 2), 2),
    ("floor", (-0.5,), -1.0),
    ("floor", (5,), 5),
    ("ceil", (-0.5,), -0.0),
    ("ceiling", (1.1,), 2.0),
    ("round", (0.5,), 1.0),
    ("round", (1.5,), 2.0),
    ("round", (2.5,), 3.0),
    ("round", (-0.5,), -1.0),
    ("round", (1.005, 1), 1.0),
    ("round", (2.675, 2), 2.68),
    ("round", (-1.25, 1), -1.3),
    ("round", (7, 2), 7),
    ("int", (-3.7,), -3.0),
    ("mod", (7, -3), 1),
    ("mod", (-7, -3), -1),
    ("mod", (0, 5), 0),
    ("mod", (5, 0.0), 0.0),
    ("mod", (-7.5, 2), -1.5),
    ("sqrt", (2.25,), 1.5),
    ("exp", (1000,), math.inf),
    ("ln", (0,), -math.inf),
    ("log", (100,), 2.0),
    ("log", (0,), -math.inf),
    ("is_nan", (5,), False),
    ("is_finite", (math.inf,), False),
]


@pytest.mark.parametrize("name,args,want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_array_and_math(f, name, args, want):
    got = f(name, *args)
    if type(want) is float and not math.isinf(want):
        assert type(got) is float and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)
    else:
        assert got == want and type(got) is type(want)


def test_sorted_copies(f):
    src = [2, 1]
    assert f("sorted", src) == [1, 2] and src == [2, 1]
    assert f("reversed", src) == [1, 2] and src == [2, 1]


def test_nan_results(f):
    assert math.isnan(f("sqrt", -1))
    assert math.isnan(f("ln", -1))
    assert math.isnan(f("log", -1))
    assert f("is_nan", math.nan) is True
    assert math.isnan(f("floor", math.nan))


@pytest.mark.parametrize(
    "name,args",
    [
        ("sorted", ([1, "a"],)),
        ("sorted", ([None, None, 1],)),
        ("min", ([1, "a"],)),
        ("max", (1, "a")),
        ("min", ("abc",)),
        ("mean", ([],)),
        ("mean", ([1, "2"],)),
        ("variance", ([None],)),
        ("percentile", ([], 50)),
        ("percentile", ([1, 2], 101)),
        ("percentile", ([1, 2], -1)),
        ("clamp", (1, 3, 2)),
        ("abs", (values.I64_MIN,)),
        ("abs", (None,)),
        ("floor", ("1.5",)),
        ("join", ("abc", ",")),
        ("pluck", (None, "a")),
        ("sorted_by", ([{"n": 1}, {"n": "a"}], "n")),
    ],
)
def test_array_math_errors(f, name, args):
    with pytest.raises(FunctionError):
        f(name, *args)


def test_sample_every_counts_per_n(ctx):
    got3 = [call("sample_every", [3], ctx) for _ in range(7)]
    assert got3 == [False, False, True, False, False, True, False]
    assert call("sample_every", [2], ctx) is False  # n=2 has its own counter
    assert call("sample_every", [2], ctx) is True
    assert all(call("sample_every", [n], ctx) for n in (1, 0, -5))
    other = RunContext(env={})
    assert call("sample_every", [2], other) is False  # counters are per run


def test_seeded_randomness_is_reproducible():
    def draw():
        c = RunContext(env={"KELORA_SEED": "42"})
        return ([call("rand", [], c) for _ in range(3)] + [call("rand_int", [1, 6], c) for _ in range(5)]
                + [call("sample_prob", [0.5], c) for _ in range(10)])

    a, b = draw(), draw()
    assert a == b
    assert all(0.0 <= x < 1.0 for x in a[:3]) and all(1 <= x <= 6 for x in a[3:8])


def test_unseeded_and_bounds(ctx):
    assert 0.0 <= call("rand", [], ctx) < 1.0
    assert call("rand_int", [-2, -2], ctx) == -2
    assert call("sample_prob", [1], ctx) is True and call("sample_prob", [-0.5], ctx) is False
    with pytest.raises(FunctionError):
        call("rand_int", [5, 1], ctx)
    hits = sum(call("sample_prob", [0.3], ctx) for _ in range(2000))
    assert 450 < hits < 750


def test_invalid_seed_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        call("rand", [], RunContext(env={"KELORA_SEED": "abc"}))
    assert "KELORA_SEED" in info.value.message
