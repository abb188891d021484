"""Input formats: parse results, error messages, annotations, ragged CSV, detection."""
import math

import pytest

from kelora.errors import InputError, UsageError
from kelora.formats import INPUT_FORMATS, detect_format, make_input_parser


def parse_all(spec, lines, strict=False):
    p = make_input_parser(spec, strict=strict)
    return p, [p.parse(line) for line in lines]


# --------------------------------------------------------------------------- json

def test_json_keeps_order_nulls_and_types():
    p = make_input_parser("json")
    ev = p.parse('{"b":1,"a":null,"c":[1,{"z":1,"y":2}],"d":1.5,"e":true,"f":"é"}')
    assert list(ev) == ["b", "a", "c", "d", "e", "f"]
    assert ev["a"] is None and ev["d"] == 1.5 and ev["e"] is True and ev["f"] == "é"
    assert list(ev["c"][1]) == ["z", "y"]
    assert p.format_name == "json"


def test_json_parse_bytes_with_newlines():
    p = make_input_parser("json")
    assert p.parse_bytes(b'{"a":1}\n') == {"a": 1}
    assert p.parse_bytes(b'{"a":1}\r\n') == {"a": 1}


def test_lines_with_a_leftover_carriage_return():
    assert make_input_parser("json").parse('{"a":1}\r') == {"a": 1}
    assert make_input_parser("logfmt").parse("a=1\r") == {"a": 1}
    ev = make_input_parser("combined").parse('1.2.3.4 - - [t] "GET / HTTP/1.1" 200 5\r')
    assert ev["bytes"] == 5


@pytest.mark.parametrize("text, shown", [
    ("[1,2]", "[1,2]"), ('"x"', '"x"'), ("42", "42"), ("null", "null"), ("true", "true"),
    ("1e16", "1e16"), ('[{"b":1,"a":2}]', '[{"b":1,"a":2}]'),
])
def test_json_not_object(text, shown):
    with pytest.raises(InputError) as exc:
        make_input_parser("json").parse(text)
    assert exc.value.message == f"Expected JSON object, got: {shown}"


@pytest.mark.parametrize("text, message", [
    ("plain text", "Invalid JSON: expected value at column 1"),
    ("nope", "Invalid JSON: expected ident at column 1"),
    ('{"a":1', "Invalid JSON: EOF while parsing a value at column 7"),
    ('{"a":1} x', "Invalid JSON: trailing characters at column 9"),
    ("{a:1}", "Invalid JSON: key must be a string at column 2"),
])
def test_json_invalid_messages(text, message):
    p = make_input_parser("json")
    with pytest.raises(InputError) as exc:
        p.parse(text)
    assert exc.value.message == message
    with pytest.raises(InputError) as exc2:
        p.parse_bytes(text.encode())
    assert exc2.value.message == message


def test_json_leading_bom_is_ignored():
    p = make_input_parser("json")
    assert p.parse("\ufeff{\"a\":1}") == {"a": 1}
    assert p.parse_bytes(b"\xef\xbb\xbf{\"a\":1}") == {"a": 1}


def test_json_invalid_utf8_is_left_to_pipeline():
    with pytest.raises(UnicodeDecodeError):
        make_input_parser("json").parse_bytes(b'{"a":"\xff"}')


# --------------------------------------------------------------------------- line / raw

def test_line_and_raw():
    assert make_input_parser("line").parse("  hi  ") == {"line": "  hi  "}
    assert make_input_parser("line").parse("") == {"line": ""}
    assert make_input_parser("raw").parse(" a\tb\r") == {"raw": " a\tb\r"}
    assert make_input_parser("line").parse_bytes(b"x\r\n") == {"line": "x"}


# --------------------------------------------------------------------------- logfmt

def test_logfmt_types_and_quotes():
    p = make_input_parser("logfmt")
    ev = p.parse('level=info msg="hello \\"world\\"" count=42 ratio=0.5 ok=TRUE no=false '
                 'nl="a\\nb" odd="x\\qy" e= dq="a""b" big=99999999999999999999')
    assert ev == {"level": "info", "msg": 'hello "world"', "count": 42, "ratio": 0.5, "ok": True,
                  "no": False, "nl": "a\nb", "odd": "x\\qy", "e": "", "dq": 'a"b',
                  "big": 99999999999999999999}
    # integers keep their exact digits beyond 64 bits (COMPAT D20; Kelora's serde gives 1e20)
    assert type(ev["count"]) is int and type(ev["big"]) is int


def test_logfmt_numbers_json_rules():
    """Kelora types a logfmt value as a number only when it is a JSON number (its
    looks_like_json_number): zero-padded, ``+``-signed, inf and nan values stay strings."""
    ev = make_input_parser("logfmt").parse("a=+5 b=1_000 c=nan d=.5 e=1e3 f=0x10 g=-INF h=Infinity "
                                           "i=1.5e-3 j=- k=. l=1e m=2024-01-01 n=infinite o=+ "
                                           "zip=02134 id=007 z=0 nz=-0 p=1. q=-2 r=1E+2")
    assert [ev[k] for k in "abcdfgh"] == ["+5", "1_000", "nan", ".5", "0x10", "-INF", "Infinity"]
    assert ev["e"] == 1000.0 and ev["i"] == 0.0015 and type(ev["e"]) is float
    assert [ev[k] for k in "jklmno"] == ["-", ".", "1e", "2024-01-01", "infinite", "+"]
    assert [ev["zip"], ev["id"], ev["z"], ev["nz"], ev["p"], ev["q"], ev["r"]] == \
        ["02134", "007", 0, 0, "1.", -2, 100.0]


def test_logfmt_tabs_and_spaces_between_pairs():
    assert make_input_parser("logfmt").parse("a=1\t b=x  c=") == {"a": 1, "b": "x", "c": ""}


def test_logfmt_unicode_and_unterminated_quote():
    ev = make_input_parser("logfmt").parse('user=José note="open quote')
    assert ev == {"user": "José", "note": "open quote"}


@pytest.mark.parametrize("line, message", [
    ("key value", "Key cannot contain spaces"),
    ("=value", "Empty key found"),
    ("a=1 lonely", "Expected '=' after key 'lonely'"),
])
def test_logfmt_errors(line, message):
    with pytest.raises(InputError) as exc:
        make_input_parser("logfmt").parse(line)
    assert exc.value.message == message


# --------------------------------------------------------------------------- csv / tsv

def test_csv_header_quotes_and_embedded_quotes():
    p, evs = parse_all("csv", ["name, msg ", '"Smith, J","He said ""hi"""', "a,"])
    assert evs[0] is None
    assert evs[1] == {"name": "Smith, J", "msg": 'He said "hi"'}
    assert evs[2] == {"name": "a", "msg": ""}
    assert p.format_name == "csv"


def test_csv_ragged_rows_resilient():
    p, evs = parse_all("csv", ["a,b,c,d", "1,2,3,4,5,6", "1,2"])
    assert evs[1] == {"a": "1", "b": "2", "c": "3", "d": "4", "c5": "5", "c6": "6"}
    assert evs[2] == {"a": "1", "b": "2"}
    assert (p.ragged_extra, p.ragged_missing) == (1, 1)


def test_csv_ragged_rows_strict():
    p = make_input_parser("csv", strict=True)
    p.parse("a,b,c,d")
    with pytest.raises(InputError) as exc:
        p.parse("1,2,3,4,5")
    assert exc.value.message == "Row has 5 columns, expected 4 (from header)"


def test_csv_type_annotations_resilient_and_strict():
    p, evs = parse_all("csv status:INT,bytes:i64 ratio:double ok:boolean name:str",
                       ["status,bytes,ratio,ok,name", "200,-5,0.25,yes,x", "abc,,x,maybe,7"])
    assert evs[1] == {"status": 200, "bytes": -5, "ratio": 0.25, "ok": True, "name": "x"}
    assert evs[2] == {"status": None, "bytes": None, "ratio": None, "ok": None, "name": "7"}
    strict = make_input_parser("csv:status:int", strict=True)
    strict.parse("status")
    with pytest.raises(InputError) as exc:
        strict.parse("abc")
    assert exc.value.message == "Type conversion failed for field 'status': Cannot convert 'abc' to int"


def test_csv_annotation_errors():
    with pytest.raises(UsageError):
        make_input_parser("csv status:number")
    with pytest.raises(UsageError):
        make_input_parser("csv :int")


def test_tsv_and_headerless_variants():
    _, evs = parse_all("tsv", ["a\tb", "x y\t\"q\""])
    assert evs[1] == {"a": "x y", "b": "q"}
    p, evs = parse_all("csvnh", ["1,2,3", "4,5", "6,7,8,9"])
    assert evs == [{"c1": "1", "c2": "2", "c3": "3"}, {"c1": "4", "c2": "5"},
                   {"c1": "6", "c2": "7", "c3": "8", "c4": "9"}]
    assert (p.ragged_extra, p.ragged_missing) == (1, 1)
    _, evs = parse_all("tsvnh c2:int", ["a\t1"])
    assert evs == [{"c1": "a", "c2": 1}]


def test_csv_header_per_file():
    p = make_input_parser("csv")
    assert p.parse("a,b") is None and p.parse("1,2") == {"a": "1", "b": "2"}
    p.start_file()
    assert p.parse("x,y") is None and p.parse("3,4") == {"x": "3", "y": "4"}
    q = make_input_parser("csvnh")
    q.parse("1,2")
    q.start_file()
    assert q.parse("1,2,3") == {"c1": "1", "c2": "2", "c3": "3"} and q.ragged_extra == 0


def test_csv_bom_and_unicode_header():
    _, evs = parse_all("csv", ["\ufeffnom,ville", "José,Zürich"])
    assert evs[1] == {"nom": "José", "ville": "Zürich"}


def test_csv_unterminated_quote_is_an_error():
    """The read loop joins the lines of a quoted field; a record still open is Kelora's error."""
    p = make_input_parser("csv")
    p.parse("a,b")
    with pytest.raises(InputError) as exc:
        p.parse('1,"open')
    assert exc.value.message.startswith("Unterminated quoted field")
    assert p.parse('1,"two\nlines"') == {"a": "1", "b": "two\nlines"}


# --------------------------------------------------------------------------- syslog

def test_syslog_rfc5424():
    ev = make_input_parser("syslog").parse(
        "<165>1 2023-10-11T22:14:15.003Z server01 sshd 1234 ID47 - Failed password for user")
    assert ev == {"pri": 165, "facility": 20, "severity": 5, "level": "NOTICE", "version": 1,
                  "ts": "2023-10-11T22:14:15.003Z", "host": "server01", "prog": "sshd",
                  "pid": 1234, "msgid": "ID47", "msg": "Failed password for user"}


def test_syslog_rfc5424_dashes_and_structured_data():
    ev = make_input_parser("syslog").parse(
        '<34>1 - - app - - [exampleSDID@32473 iut="3" eventSource="App lication"] started')
    assert ev == {"pri": 34, "facility": 4, "severity": 2, "level": "CRIT", "version": 1, "prog": "app",
                  "msg": "started"}


def test_syslog_rfc3164_with_and_without_pri():
    p = make_input_parser("syslog")
    assert p.parse("Oct 11 22:14:15 server01 sshd[1234]: Failed password") == {
        "ts": "Oct 11 22:14:15", "host": "server01", "prog": "sshd", "pid": 1234,
        "msg": "Failed password"}
    assert p.parse("<34>Oct  1 22:14:15 web nginx: GET / 200") == {
        "pri": 34, "facility": 4, "severity": 2, "level": "CRIT", "ts": "Oct  1 22:14:15", "host": "web",
        "prog": "nginx", "msg": "GET / 200"}


@pytest.mark.parametrize("line", ["This is not a syslog line",
                                  "<999>1 2023-10-11T22:14:15Z h a - - - m"])
def test_syslog_errors(line):
    with pytest.raises(InputError) as exc:
        make_input_parser("syslog").parse(line)
    assert exc.value.message == f"Failed to parse syslog line: {line}"


# --------------------------------------------------------------------------- combined

def test_combined_apache():
    ev = make_input_parser("combined").parse(
        '192.168.1.1 - user [25/Dec/1995:10:00:00 +0000] "GET /index.html HTTP/1.0" 200 1234 '
        '"http://www.example.com/" "Mozilla/4.08"')
    assert ev == {"ip": "192.168.1.1", "user": "user", "ts": "25/Dec/1995:10:00:00 +0000",
                  "request": "GET /index.html HTTP/1.0", "method": "GET", "path": "/index.html",
                  "protocol": "HTTP/1.0", "status": 200, "bytes": 1234,
                  "referer": "http://www.example.com/", "user_agent": "Mozilla/4.08"}


def test_combined_nginx_request_time_and_dashes():
    ev = make_input_parser("combined").parse(
        '10.0.0.1 - - [25/Dec/1995:10:00:00 +0000] "GET /api HTTP/1.1" 304 - "-" "curl/7.68.0" "0.123"')
    assert ev == {"ip": "10.0.0.1", "ts": "25/Dec/1995:10:00:00 +0000",
                  "request": "GET /api HTTP/1.1", "method": "GET", "path": "/api",
                  "protocol": "HTTP/1.1", "status": 304, "user_agent": "curl/7.68.0",
                  "request_time": 0.123}


def test_common_log_format():
    ev = make_input_parser("combined").parse(
        '127.0.0.1 ident frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326')
    assert ev["identity"] == "ident" and ev["user"] == "frank" and ev["bytes"] == 2326
    assert "referer" not in ev and "user_agent" not in ev


def test_combined_error():
    with pytest.raises(InputError) as exc:
        make_input_parser("combined").parse("nope")
    assert exc.value.message == "Invalid combined log format"


# --------------------------------------------------------------------------- specs / detection

def test_unknown_and_unsupported_formats():
    with pytest.raises(UsageError):
        make_input_parser("yaml")
    with pytest.raises(UsageError):
        make_input_parser("cef")
    with pytest.raises(UsageError):
        make_input_parser("json status:int")
    assert set(INPUT_FORMATS) >= {"json", "line", "raw", "logfmt", "csv", "syslog", "combined"}


@pytest.mark.parametrize("line, fmt", [
    ('{"key": "value"}', "json"),
    ("{not json", "line"),
    ("<34>1 2023-04-15T10:00:00.000Z hostname app - - - message", "syslog"),
    ("<13>Apr 15 10:00:00 hostname program: message", "syslog"),
    ("Jan 15 10:30:45 server1 sshd[1234]: Accepted publickey", "syslog"),
    ('192.168.1.1 - - [15/Apr/2023:10:00:00 +0000] "GET /path HTTP/1.1" 200 1234', "combined"),
    ("time=2023-04-15T10:00:00Z level=info msg=test", "logfmt"),
    ('level=info msg="two words"', "logfmt"),
    ("name,age,city", "csv"),
    ('"name",age,city', "csv"),
    ("1,2,3", "csvnh"),
    ("john\t25\tnyc", "tsv"),
    ("1\t2\t3", "tsvnh"),
    ("just some random text", "line"),
    ("a, b", "line"),
    ("", "line"),
])
def test_detect_format(line, fmt):
    assert detect_format(line) == fmt


def test_auto_parser_detects_then_delegates():
    p = make_input_parser("auto")
    assert p.format_name == "auto"
    assert p.parse("a,b,c") is None  # csv header consumed
    assert p.format_name == "csv"
    assert p.parse("1,2,3,4") == {"a": "1", "b": "2", "c": "3", "c4": "4"}
    assert p.ragged_extra == 1
    q = make_input_parser("auto")
    assert q.parse_bytes(b'{"a":1}\n') == {"a": 1} and q.format_name == "json"
