import pytest

from kelora import values
from kelora.errors import FunctionError

EV = {"z": 1, "a": {"b": [10, {"c": "x"}], "n": None}, "s": "", "m": None}

CASES = [
    ("keep", (EV, ["s", "z"]), {"z": 1, "s": ""}),
    ("keep", (EV, []), {}),
    ("keep", (None, ["a"]), {}),
    ("keep", ({"a": None}, ["a"]), {"a": None}),
    ("drop", (EV, ["a", "m", "nope"]), {"z": 1, "s": ""}),
    ("drop", ({"a": 1}, []), {"a": 1}),
    ("has", (EV, "z"), True),
    ("has", (EV, "m"), False),
    ("has", (EV, "s"), True),
    ("has", (EV, "nope"), False),
    ("has", (None, "x"), False),
    ("get", (EV, "z"), 1),
    ("get", (EV, "m"), None),
    ("get", (EV, "m", 5), 5),
    ("get", (EV, "nope", "d"), "d"),
    ("get", (None, "x", 0), 0),
    ("get", ([1, 2], 0), 1),
    ("get", ([1, 2], -3, "d"), "d"),
    ("get", ([1, 2], "0", "d"), "d"),
    ("get_path", (EV, "a.b[0]"), 10),
    ("get_path", (EV, "a.b[-1].c"), "x"),
    ("get_path", (EV, "a.b.1.c"), "x"),
    ("get_path", (EV, "a.b[5]", "d"), "d"),
    ("get_path", (EV, "a.n", "d"), "d"),
    ("get_path", (EV, "z.q", "d"), "d"),
    ("get_path", (EV, "a.b[0].c", "d"), "d"),
    ("get_path", (EV, "missing"), None),
    ("get_path", ('{"a": {"b": [1, 2]}}', "a.b[1]"), 2),
    ("get_path", ("{bad json", "a", "d"), "d"),
    ("get_path", (None, "a", "d"), "d"),
    ("get_path", ({"a.b": 1}, "a.b", "d"), "d"),
    ("has_path", (EV, "a.n"), True),
    ("has_path", (EV, "a.b[1].c"), True),
    ("has_path", (EV, "a.b[2]"), False),
    ("has_path", ('{"x": null}', "x"), True),
    ("has_path", ("nope", "x"), False),
    ("path_equals", (EV, "a.b[0]", 10), True),
    ("path_equals", (EV, "a.b[0]", 10.0), False),
    ("path_equals", (EV, "a.b[0]", "10"), False),
    ("path_equals", (EV, "a.b[1].c", "x"), True),
    ("path_equals", (EV, "nope", None), False),
    ("path_equals", (EV, "a.n", None), True),
    ("flattened", ({"a": {"b": {"c": 1}}, "d": [1, [2]]},), {"a.b.c": 1, "d.0": 1, "d.1.0": 2}),
    ("flattened", ({"a": {}, "b": []},), {"a": {}, "b": []}),
    ("flattened", ({"a": [{"b": 1}, 2]}, "bracket"), {"a[0].b": 1, "a[1]": 2}),
    ("flattened", ({"a": {"b": 1}}, "underscore"), {"a_b": 1}),
    ("flattened", ({"a": {"b": {"c": 1}}}, "dot", 0), {"a": {"b": {"c": 1}}}),
    ("flattened", ({"a": {"b": {"c": 1}}}, "dot", 1), {"a.b": {"c": 1}}),
    ("flattened", ({},), {}),
    ("flatten_field", ({"r": {"a": 1, "b": {"c": 2}}, "x": 0}, "r"), {"r.a": 1, "r.b.c": 2}),
    ("flatten_field", ({"r": 5}, "r"), {"r": 5}),
    ("flatten_field", ({}, "r"), {}),
    ("flatten_field", ({"r": [1]}, "r", "underscore"), {"r_0": 1}),
    ("unflatten", ({"a.b": 1, "a.c.d": 2, "e": 3},), {"a": {"b": 1, "c": {"d": 2}}, "e": 3}),
    ("unflatten", ({"a": 1, "a.b": 2},), {"a": {"b": 2}}),
    ("unflatten", ({"a__b": 1}, "__"), {"a": {"b": 1}}),
    ("unflatten", ({"a.b": 1}, ""), {"a.b": 1}),
]


@pytest.mark.parametrize("name,args,want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_map_functions(f, name, args, want):
    assert f(name, *args) == want


def test_keep_preserves_source_order(f):
    assert list(f("keep", {"c": 1, "a": 2, "b": 3}, ["b", "c"])) == ["c", "b"]


def test_keep_and_drop_return_new_maps(f):
    src = {"a": 1, "b": 2}
    out = f("drop", src, ["a"])
    out["c"] = 3
    assert src == {"a": 1, "b": 2}


@pytest.mark.parametrize("fn", ["keep", "drop"])
@pytest.mark.parametrize("fields", ["a", ["a", 1], None, [None]])
def test_keep_drop_fields_must_be_string_array(f, fn, fields):
    with pytest.raises(FunctionError) as info:
        f(fn, {"a": 1}, fields)
    assert info.value.message == f"{fn}(fields): fields must be an array of strings"


def test_rename_field(f):
    m = {"a": 1, "b": 2, "c": 3}
    assert f("rename_field", m, "b", "x") is True
    assert list(m.items()) == [("a", 1), ("x", 2), ("c", 3)]
    assert f("rename_field", m, "nope", "y") is False
    assert f("rename_field", m, "a", "c") is True
    assert list(m.items()) == [("c", 1), ("x", 2)]
    assert f("rename_field", m, "x", "x") is True and m == {"c": 1, "x": 2}


def test_merge_and_enrich_mutate(f):
    m = {"a": 1, "b": None}
    assert f("merge", m, {"b": 2, "c": 3}) is None
    assert m == {"a": 1, "b": 2, "c": 3}
    n = {"a": 1}
    assert f("enrich", n, {"a": 9, "z": 0}) is None
    assert n == {"a": 1, "z": 0}


def test_map_type_errors(f):
    with pytest.raises(FunctionError):
        f("rename_field", None, "a", "b")
    with pytest.raises(FunctionError):
        f("merge", {}, None)
    with pytest.raises(FunctionError):
        f("flattened", {"a": 1}, "weird")
    with pytest.raises(FunctionError):
        f("get_path", {}, None)


# ----------------------------------------------------------------- serializers

SER = [
    ("to_json", ({"b": 1, "a": [True, None, 1.5, "x\"y"]},), '{"b":1,"a":[true,null,1.5,"x\\"y"]}'),
    ("to_json", (1.0,), "1.0"),
    ("to_json", (1e16,), "1e16"),
    ("to_json", (1e15,), "1000000000000000.0"),
    ("to_json", (1.5e-7,), "1.5e-7"),
    ("to_json", (0.0001,), "0.0001"),
    ("to_json", (-0.0,), "-0.0"),
    ("to_json", (float("nan"),), "null"),
    ("to_json", (None,), "null"),
    ("to_json", ("é/\u0001\n",), '"é/\\u0001\\n"'),
    ("to_json", ([],), "[]"),
    ("to_json", ({},), "{}"),
    ("to_json", ({"a": [1, {}]}, 2), '{\n  "a": [\n    1,\n    {}\n  ]\n}'),
    ("to_json", ([1], 4), "[\n    1\n]"),
    ("to_json", ([1], -1), "[1]"),
    ("to_json", (values.Char("c"),), '"c"'),
    ("to_json", (values.Duration(90 * 10**9),), '"1m 30s"'),
    ("to_logfmt", ({"a": 1, "b": 2.0, "c": True, "d": None},), "a=1 b=2.0 c=true d="),
    ("to_logfmt", ({"msg": 'say "hi"\n'},), 'msg="say \\"hi\\"\\n"'),
    ("to_logfmt", ({"k": "a=b", "e": ""},), 'k="a=b" e=""'),
    ("to_logfmt", ({"k v": 1, "": 2},), "k_v=1 _=2"),
    ("to_logfmt", ({"p": [22, 23], "m": {}},), 'p="0=22,1=23" m='),
    ("to_logfmt", ({},), ""),
    ("to_kv", ({"a": 1, "b": None},), "a=1 b="),
    ("to_kv", ({"a": [1]}, ",", ":"), "a:[1]"),
]


@pytest.mark.parametrize("name,args,want", SER, ids=[f"{c[0]}-{i}" for i, c in enumerate(SER)])
def test_serializers(f, name, args, want):
    assert f(name, *args) == want


def test_to_json_datetime_is_rfc3339(f):
    dt = f("to_datetime", "2024-01-15T10:00:00Z")
    assert f("to_json", {"t": dt}) == '{"t":"2024-01-15T10:00:00+00:00"}'


def test_to_json_roundtrips_through_parse_json(f):
    v = {"a": [1, 2.5, "x", None, True, {"b": []}], "c": "ü"}
    assert f("parse_json", f("to_json", v)) == v
    assert f("parse_json", f("to_json", v, 3)) == v


# ----------------------------------------------------------------- absorb_*

def test_absorb_kv_writes_and_keeps_remainder(f):
    e = {"msg": "a=1 noise b = c=3", "a": "old"}
    r = f("absorb_kv", e, "msg")
    assert r == {"status": "applied", "data": {"a": "1", "c": "3"}, "written": True,
                 "remainder": "noise b =", "removed_source": False, "error": None}
    assert e == {"msg": "noise b =", "a": "1", "c": "3"}


def test_absorb_kv_options(f, ctx):
    e = {"q": "a:1;b:2", "a": "keep"}
    r = f("absorb_kv", e, "q", {"sep": ";", "kv_sep": ":", "overwrite": False})
    assert r["written"] is True and r["removed_source"] is True
    assert e == {"a": "keep", "b": "2"}
    e = {"q": "x=1"}
    f("absorb_kv", e, "q", {"keep_source": True})
    assert e == {"q": "x=1", "x": "1"}
    bad = f("absorb_kv", {"q": "x=1"}, "q", {"nope": 1})
    assert bad["status"] == "invalid_option" and bad["error"] == "unknown option 'nope'"
    ctx.strict = True
    with pytest.raises(FunctionError):
        f("absorb_kv", {"q": "x=1"}, "q", {"sep": ""})


def test_absorb_statuses(f):
    assert f("absorb_kv", {}, "m")["status"] == "missing_field"
    assert f("absorb_kv", {"m": 5}, "m")["status"] == "not_string"
    e = {"m": ""}
    r = f("absorb_kv", e, "m")
    assert r["status"] == "empty" and r["removed_source"] is True and e == {}
    e = {"m": "just words"}
    assert f("absorb_kv", e, "m")["status"] == "empty" and e == {"m": "just words"}


def test_absorb_json(f):
    e = {"p": '{"a": {"b": 1}, "z": null}', "z": 0}
    r = f("absorb_json", e, "p", {"overwrite": False})
    assert r["status"] == "applied" and r["data"] == {"a": {"b": 1}, "z": None}
    assert e == {"z": 0, "a": {"b": 1}}
    e = {"p": "{bad"}
    r = f("absorb_json", e, "p")
    assert r["status"] == "parse_error" and r["error"].startswith("Invalid JSON: ") and e == {"p": "{bad"}
    assert f("absorb_json", {"p": "  "}, "p")["status"] == "empty"
    assert f("absorb_json", {"p": "3"}, "p")["error"] == "absorb_json expects a JSON object, got number"


def test_absorb_regex(f):
    e = {"m": "GET /x 200"}
    r = f("absorb_regex", e, "m", r"(?<method>\w+) (?P<path>\S+)(?P<none>Z)?")
    assert r["data"] == {"method": "GET", "path": "/x"} and e == {"method": "GET", "path": "/x"}
    e = {"m": "zzz"}
    assert f("absorb_regex", e, "m", r"(?P<d>\d+)")["status"] == "empty" and e == {}
    r = f("absorb_regex", {"m": "x"}, "m", "(")
    assert r["status"] == "parse_error" and r["error"].startswith("Invalid regex pattern")
