"""Property tests: what kelora writes as logfmt/CSV, kelora reads back unchanged."""
from hypothesis import given, settings
from hypothesis import strategies as st

from kelora.formats import make_formatter, make_input_parser

_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
        st.sampled_from([" ", "\t", "\n", "\r", '"', "\\", "=", ",", "'"]),
    ),
    max_size=12,
)
# A leading letter keeps logfmt's type inference (numbers, true/false) out of the way.
_value = st.one_of(st.integers(-(2**63), 2**63 - 1), _text.map(lambda s: "x" + s))
_key = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_key, _value, min_size=1, max_size=6))
def test_logfmt_roundtrip(event):
    line = make_formatter("logfmt")(event).decode()
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert make_input_parser("logfmt").parse(line[:-1]) == event


_cell = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")),
        st.sampled_from([" ", '"', ",", "\t"]),
    ),
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_key, min_size=1, max_size=5, unique=True).flatmap(
    lambda keys: st.tuples(st.just(keys), st.lists(st.tuples(*[_cell for _ in keys]), min_size=1,
                                                   max_size=4))))
def test_csv_roundtrip(case):
    keys, rows = case
    for fmt in ("csv", "tsv"):
        writer = make_formatter(fmt, keys=keys)
        data = b"".join(writer(dict(zip(keys, row))) for row in rows).decode()
        reader = make_input_parser(fmt)
        events = [reader.parse(line) for line in data.split("\n")[:-1]]
        assert events[0] is None
        assert events[1:] == [dict(zip(keys, row)) for row in rows]


_logfmt_chars = st.sampled_from(['a', 'b', '1', '.', '=', '"', '\\', ' ', '\t', 'n', 'é', '-'])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_logfmt_chars, max_size=24))
def test_logfmt_fast_paths_agree_with_exact_scanner(text):
    from kelora.errors import InputError
    from kelora.formats.inputs import parse_logfmt_pairs
    from kelora.formats.scalars import infer_scalar

    try:
        expected = {k: infer_scalar(v) for k, v in parse_logfmt_pairs(text.strip())}
    except InputError as exc:
        expected = exc.message
    try:
        got = make_input_parser("logfmt").parse(text)
    except InputError as exc:
        got = exc.message
    assert repr(got) == repr(expected)  # repr: same keys, order, types (and nan == nan)


_noise = st.text(alphabet=st.sampled_from(list('ab1 \t",=:[]<>{}-\\é\x00') + ["\u2028"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_noise)
def test_parsers_never_crash(text):
    from kelora.errors import InputError
    from kelora.formats import detect_format

    detect_format(text)
    for spec in ("json", "logfmt", "syslog", "combined", "csv", "tsvnh a:int", "line", "raw"):
        p = make_input_parser(spec)
        for line in (text, text):  # second call: CSV data row after the header
            try:
                ev = p.parse(line)
            except InputError:
                continue
            assert ev is None or type(ev) is dict
