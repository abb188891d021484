"""Output formats pinned byte for byte against reference §4 (plus COMPAT D2/D6)."""
from datetime import datetime, timezone

import pytest

from kelora.errors import FatalError, UsageError
from kelora.formats import make_formatter, make_input_parser, needs_keys
from kelora.formats.order import canonical_keys, make_selector
from kelora.values import Char, DateTime, Duration

DT = DateTime(datetime(2026, 1, 2, 15, 4, 5, tzinfo=timezone.utc))


def out(fmt, event, **kw):
    return make_formatter(fmt, **kw)(event)


# --------------------------------------------------------------------------- order (§4.1)

def test_canonical_order_example():
    ev = {"service": "api", "message": "m", "level": "INFO", "timestamp": "T"}
    assert out("default", ev) == b"timestamp='T' level='INFO' message='m' service='api'\n"
    assert out("json", ev) == b'{"timestamp":"T","level":"INFO","message":"m","service":"api"}\n'
    assert out("logfmt", ev) == b"timestamp=T level=INFO message=m service=api\n"


def test_family_priority_and_event_is_message_family():
    keys = ("service", "event", "msg", "t", "ts", "severity", "level", "x")
    assert canonical_keys(keys) == ("ts", "t", "level", "severity", "msg", "event", "service", "x")


def test_benchmark_shape_moves_event_before_service():
    p = make_input_parser("json")
    line = ('{"timestamp":"2024-06-01T00:00:00.080Z","level":"ERROR","service":"audit",'
            '"event":"token_refresh","user_id":124674,"duration_ms":41.98,"message":"ok"}')
    expected = (b'{"timestamp":"2024-06-01T00:00:00.080Z","level":"ERROR","message":"ok",'
                b'"event":"token_refresh","service":"audit","user_id":124674,"duration_ms":41.98}\n')
    fmt = make_formatter("json")
    for _ in range(3):  # cached shape gives the same bytes
        assert fmt(p.parse(line)) == expected


def test_already_canonical_event_is_returned_as_is():
    select = make_selector()
    ev = {"ts": 1, "level": "x", "other": 2}
    assert select(ev) is ev


def test_keys_exact_order_and_missing_omitted():
    ev = {"timestamp": "T", "level": "INFO", "user": "u", "status": 200}
    assert out("default", ev, keys="status, user,,nope") == b"status=200 user='u'\n"
    assert out("default", ev, keys=["nope"]) == b""


def test_exclude_keeps_canonical_order():
    ev = {"service": "api", "message": "m", "level": "INFO", "timestamp": "T"}
    assert out("default", ev, exclude_keys="level") == b"timestamp='T' message='m' service='api'\n"
    assert out("default", ev, keys="service,level", exclude_keys="level") == b"service='api'\n"
    assert out("json", {"a": 1}, exclude_keys=["a"]) == b""


def test_core_keeps_family_keys_plus_k():
    ev = {"service": "api", "message": "m", "level": "INFO", "timestamp": "T", "user": "u"}
    assert out("default", ev, core=True) == b"timestamp='T' level='INFO' message='m'\n"
    assert out("default", ev, core=True, keys="user") == b"timestamp='T' level='INFO' message='m' user='u'\n"
    assert out("default", {"user": "u"}, core=True) == b""


def test_select_fields_attribute():
    fmt = make_formatter("json", keys="b,a")
    assert fmt.select_fields({"a": 1, "b": 2, "c": 3}) == {"b": 2, "a": 1}
    assert fmt.select_fields({"c": 3}) == {}


def test_empty_event_prints_nothing():
    for name in ("default", "json", "logfmt", "inspect"):
        assert out(name, {}) == b""


# --------------------------------------------------------------------------- default (§4.2)

def test_default_example_and_escapes():
    assert out("default", {"level": "INFO", "message": "Hello world", "status": 200}) == \
        b"level='INFO' message='Hello world' status=200\n"
    assert out("default", {"s": "it's \\ a\nb\tc\rd", "e": ""}) == \
        b"s='it\\'s \\\\ a\\nb\\tc\\rd' e=''\n"


@pytest.mark.parametrize("value, text", [
    (1.0, "1.0"), (0.045, "0.045"), (8.5, "8.5"), (1e14, "1e14"), (1.5e-14, "1.5e-14"),
    (0.0, "0.0"), (-2.0, "-2.0"), (1e13, "10000000000000.0"), (0.00001, "0.00001"),
    (float("nan"), "NaN"), (float("inf"), "inf"),
])
def test_default_floats(value, text):
    assert out("default", {"x": value}) == f"x={text}\n".encode()


def test_default_other_types():
    ev = {"n": None, "b": True, "f": False, "ports": [22, 23, 80], "meta": {"b": "x", "a": 1},
          "dt": DT, "d": Duration(90_000_000_000), "c": Char("z"), "u": "é"}
    assert out("default", ev) == (
        "n= b=true f=false ports=[22,23,80] meta={\"b\":\"x\",\"a\":1} "
        "dt='2026-01-02T15:04:05+00:00' d='1m 30s' c=z u='é'\n").encode()


def test_default_color():
    ev = {"level": "ERROR", "msg": "x", "n": 1}
    assert out("default", ev, color=True) == (
        b"\x1b[32mlevel\x1b[0m='\x1b[91mERROR\x1b[0m' \x1b[32mmsg\x1b[0m='x' \x1b[32mn\x1b[0m=1\n")


def test_brief():
    ev = {"level": "INFO", "message": "test message", "user": "alice"}
    assert out("default", ev, brief=True) == b"INFO test message alice\n"
    assert out("default", {"a": 1.0, "b": [1], "c": None, "d": 2}, brief=True) == b"1.0 [1]  2\n"


# --------------------------------------------------------------------------- json (§4.3)

def test_json_example_and_unicode():
    ev = {"timestamp": "2024-01-15T10:00:00Z", "event": "login", "user": "alice",
          "ip": "192.168.1.10", "success": True}
    assert out("json", ev) == (b'{"timestamp":"2024-01-15T10:00:00Z","event":"login","user":"alice",'
                               b'"ip":"192.168.1.10","success":true}\n')
    assert out("json", {"u": "é/\"\\\n\x01"}) == '{"u":"é/\\"\\\\\\n\\u0001"}\n'.encode()


@pytest.mark.parametrize("value, text", [
    (1.0, b"1.0"), (0.045, b"0.045"), (8.5, b"8.5"), (1e14, b"100000000000000.0"),
    (1e16, b"1e16"), (1.5e-14, b"1.5e-14"), (-1.2345678901234568e17, b"-1.2345678901234568e17"),
    (float("nan"), b"null"), (float("-inf"), b"null"), (None, b"null"),
])
def test_json_floats_like_ryu(value, text):
    assert out("json", {"x": value}) == b'{"x":' + text + b"}\n"


def test_json_exponent_fix_leaves_strings_alone():
    assert out("json", {"s": "1e+16", "x": [2e20]}) == b'{"s":"1e+16","x":[2e20]}\n'


def test_json_special_values():
    ev = {"dt": DT, "d": Duration(5_000_000_000), "big": 2**70, "neg": -(2**70),
          "nested": {"z": 1, "a": [DT]}}
    # integers beyond 64 bits are written as their exact digits (COMPAT D20), not as strings
    assert out("json", ev) == (b'{"dt":"2026-01-02T15:04:05+00:00","d":"5s","big":1180591620717411303424,'
                               b'"neg":-1180591620717411303424,'
                               b'"nested":{"z":1,"a":["2026-01-02T15:04:05+00:00"]}}\n')


def test_json_self_containing_map_does_not_crash():
    m = {"a": 1}
    m["self"] = m
    assert out("json", {"m": m}) == b'"<unserializable>"\n'
    for name in ("default", "logfmt", "inspect", "csv"):
        assert b"<" in out(name, {"m": m}, keys=["m"])


def test_json_keeps_nulls_and_nested_insertion_order():
    p = make_input_parser("json")
    line = '{"a":null,"m":{"z":1,"b":{"y":2,"c":3}}}'
    assert out("json", p.parse(line)) == line.encode() + b"\n"


# --------------------------------------------------------------------------- logfmt (§4.4)

def test_logfmt_quoting_and_keys():
    ev = {"a b": "x y", "c=d": "", "": 1, "q": 'say "hi"', "n": None, "f": 1.0, "ok": True,
          "path": "/x?y", "dt": DT, "d": Duration(90_000_000_000)}
    assert out("logfmt", ev) == (
        'a_b="x y" c_d="" _=1 q="say \\"hi\\"" n= f=1.0 ok=true path=/x?y '
        'dt=2026-01-02T15:04:05+00:00 d="1m 30s"\n').encode()


def test_logfmt_nested_flattening():
    ev = {"a": {"b": 1}, "ports": [22, 23], "e": {}, "deep": {"x": {"y": "v w"}, "l": [1.5, None]}}
    assert out("logfmt", ev) == (
        b'a="b=1" ports="0=22,1=23" e= deep="x_y=v w,l_0=1.5,l_1="\n')


# --------------------------------------------------------------------------- csv (§4.5)

def test_csv_example_header_once():
    fmt = make_formatter("csv", keys="timestamp,method,path,status")
    ev = {"timestamp": "2024-01-15T10:00:00Z", "method": "GET", "path": "/", "status": 200}
    assert fmt(ev) == b"timestamp,method,path,status\n2024-01-15T10:00:00Z,GET,/,200\n"
    assert fmt(ev) == b"2024-01-15T10:00:00Z,GET,/,200\n"


def test_csv_header_state_is_visible_for_parallel_workers():
    fmt = make_formatter("csv", keys="a")
    assert fmt.header == fmt.header_line == b"a\n"
    fmt.header = None  # a worker: rows only
    assert fmt({"a": 1}) == b"1\n"
    assert make_formatter("csvnh", keys="a").header is None


def test_csv_no_header_before_first_printed_row():
    fmt = make_formatter("csv", keys="a,b")
    assert fmt({"c": 1}) == b""
    assert fmt({"b": 2}) == b"a,b\n,2\n"


def test_csv_cells():
    fmt = make_formatter("csvnh", keys="s,e,n,f,b,q,sp,nl,m,one,empty,miss")
    ev = {"s": "x,y", "e": "", "n": None, "f": 0.045, "b": False, "q": 'a"b', "sp": " pad",
          "nl": "a\nb", "m": {"k": 1, "l": [2, "v"]}, "one": {"k": 1}, "empty": []}
    assert fmt(ev) == b'"x,y","","",0.045,false,"a""b"," pad","a\nb","k:1,l_0:2,l_1:v",1,"",\n'


def test_csv_duplicate_column_kept():
    assert out("csv", {"a": 1}, keys="a,a") == b"a,a\n1,1\n"


def test_tsv_variants():
    assert out("tsv", {"a": "x,y", "b": "t\tu"}, keys="a,b") == b'a\tb\nx,y\t"t\tu"\n'
    assert out("tsvnh", {"a": 1.0}, keys="a") == b"1.0\n"


def test_csv_header_escaped_and_exclude():
    fmt = make_formatter("csv", keys=["a b", "x,y", "c"], exclude_keys="c")
    assert fmt({"a b": 1, "x,y": 2, "c": 3}) == b'a b,"x,y",c\n1,2,\n'


def test_csv_requires_keys_and_no_core():
    assert needs_keys("csv") and needs_keys("tsvnh") and not needs_keys("json")
    with pytest.raises(FatalError) as exc:
        make_formatter("tsv")
    assert exc.value.message == ("TSV output requires --keys to define column order, e.g. --keys "
                                 "ts,level,msg. Use -s to inspect available fields.")
    with pytest.raises(UsageError):
        make_formatter("csv", keys="a", core=True)


# --------------------------------------------------------------------------- inspect (§4.6)

def test_inspect_example():
    fmt = make_formatter("inspect")
    assert fmt({"level": "INFO", "status": 200}, {"line_num": 1}) == (
        b"---\nlevel  | string | \"INFO\"\nstatus | int    | 200\nmeta.line_num | int | 1\n")


def test_inspect_nested_types_and_meta():
    ev = {"m": {"a": 1, "list": [True, None]}, "f": 200.0, "c": Char("x"), "e": {},
          "s": "tab\there\x01"}
    meta = {"parsed_ts": DT, "line_num": 3, "filename": "f.log"}
    assert make_formatter("inspect")(ev, meta).decode() == (
        "---\n"
        "m | map(2) | {\n"
        "  a    | int      | 1\n"
        "  list | array(2) | [\n"
        "    [0] | bool | true\n"
        "    [1] | null | null\n"
        "  ]\n"
        "}\n"
        "f | float  | 200\n"
        "c | char   | 'x'\n"
        "e | map(0) | {\n"
        "}\n"
        's | string | "tab\\there\\x01"\n'
        "meta.parsed_ts | datetime | 2026-01-02T15:04:05Z\n"
        "meta.line_num  | int      | 3\n"
        'meta.filename  | string   | "f.log"\n')


def test_inspect_truncation_by_verbosity():
    ev = {"s": "x" * 200}
    assert make_formatter("inspect")(ev) == b'---\ns | string | "' + b"x" * 80 + b'"...\n'
    assert b"x" * 160 + b'"...' in make_formatter("inspect", verbose=1)(ev)
    assert make_formatter("inspect", verbose=2)(ev) == b'---\ns | string | "' + b"x" * 200 + b'"\n'


def test_inspect_name_width_capped():
    long = "k" * 50
    text = make_formatter("inspect")({long: 1, "a": 2}).decode()
    assert f"{long} | int | 1\n" in text and "a" + " " * 39 + " | int | 2\n" in text


# --------------------------------------------------------------------------- none / unknown

def test_none_and_unknown():
    fmt = make_formatter("none")
    assert fmt({"a": 1}) == b"" and fmt.prints is False
    with pytest.raises(UsageError):
        make_formatter("yaml")
    with pytest.raises(UsageError):
        make_formatter("levelmap")


def test_inspect_meta_timestamp_pads_the_year_to_four_digits():
    meta = {"parsed_ts": DateTime(datetime(5, 1, 2, 3, 4, 5, tzinfo=timezone.utc))}
    assert make_formatter("inspect")({"a": 1}, meta).decode().endswith(
        "meta.parsed_ts | datetime | 0005-01-02T03:04:05Z\n")
