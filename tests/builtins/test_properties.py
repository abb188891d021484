"""Property tests: the cut/split helpers agree with each other and with Python's slicing."""
from hypothesis import given, settings
from hypothesis import strategies as st

from kelora.builtins.registry import REGISTRY

fn = {n: REGISTRY[n].func for n in ("after", "before", "split", "slice", "between", "to_int", "to_string",
                                     "parse_logfmt", "to_logfmt", "unflatten", "flattened")}
text = st.text(alphabet="ab=/ é", max_size=20)


@settings(max_examples=80, deadline=None)
@given(text, st.sampled_from(["=", "/", "ab", " "]), st.integers(-4, 4))
def test_before_delim_after_rebuilds_the_text(t, d, nth):
    a, b = fn["after"](t, d, nth), fn["before"](t, d, nth)
    if a or b or t.startswith(d) or t.endswith(d):
        if (nth > 0 and t.count(d) >= nth) or (nth < 0 and t.count(d) >= -nth):
            assert b + d + a == t


@settings(max_examples=80, deadline=None)
@given(text, st.sampled_from(["=", "/", "ab"]))
def test_split_matches_rust_semantics(t, d):
    parts = fn["split"](t, d)
    assert d.join(parts) == t and len(parts) == t.count(d) + 1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(), max_size=8), st.integers(-10, 10) | st.none(), st.integers(-10, 10) | st.none(),
       st.sampled_from([None, 1, 2, -1, -3]))
def test_slice_is_python_slicing(items, a, b, step):
    spec = ":".join("" if x is None else str(x) for x in (a, b, step))
    assert fn["slice"](items, spec) == items[a:b:step]
    s = "".join(chr(65 + i % 26) for i in range(len(items)))
    assert fn["slice"](s, spec) == s[a:b:step]


@settings(max_examples=80, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1))
def test_to_int_roundtrips_to_string(n):
    assert fn["to_int"](fn["to_string"](n)) == n


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), st.text(max_size=10), max_size=5))
def test_logfmt_roundtrip(m):
    assert fn["parse_logfmt"](fn["to_logfmt"](m)) == m


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.integers(), lambda kids: st.dictionaries(st.sampled_from("abc"), kids, min_size=1, max_size=3),
                    max_leaves=8).filter(lambda v: isinstance(v, dict)))
def test_unflatten_inverts_flattened(m):
    assert fn["unflatten"](fn["flattened"](m)) == m
