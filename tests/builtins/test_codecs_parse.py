import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kelora.builtins.registry import REGISTRY
from kelora.errors import FunctionError

CODEC = [
    ("encode_b64", ("héllo",), "aMOpbGxv"),
    ("decode_b64", ("aMOpbGxv",), "héllo"),
    ("decode_b64", ("aGk",), "hi"),
    ("decode_b64", ("aGk=",), "hi"),
    ("decode_b64", ("_-8",), "\ufffd\ufffd"),
    ("decode_b64", ("",), ""),
    ("encode_hex", ("\x00é",), "00c3a9"),
    ("decode_hex", ("00C3A9",), "\x00é"),
    ("decode_hex", ("",), ""),
    ("decode_hex", ("ff",), "\ufffd"),
    ("encode_url", ("a b/c?d=é~",), "a%20b%2Fc%3Fd%3D%C3%A9~"),
    ("encode_url", ("",), ""),
    ("decode_url", ("a%2Fb+c",), "a/b c"),
    ("decode_url", ("%zz",), "%zz"),
    ("escape_html", ('<p class="x">&</p>',), "&lt;p class=&quot;x&quot;&gt;&amp;&lt;/p&gt;"),
    ("unescape_html", ("&quot;&#x41;&amp;amp;",), '"A&amp;'),
    ("escape_json", ('a"b\\c\n\t\u0001é',), 'a\\"b\\\\c\\n\\t\\u0001é'),
    ("unescape_json", ('a\\"b\\\\c\\n\\u00e9',), 'a"b\\c\né'),
    ("unescape_json", ('a"b',), 'a"b'),
]


@pytest.mark.parametrize("name,args,want", CODEC, ids=[f"{c[0]}-{i}" for i, c in enumerate(CODEC)])
def test_codecs(f, name, args, want):
    assert f(name, *args) == want


@pytest.mark.parametrize("name,arg", [("decode_b64", "a"), ("decode_b64", "!!!!"), ("decode_hex", "abc"),
                                      ("decode_hex", "zz"), ("unescape_json", "\\x"), ("encode_b64", None)])
def test_codec_errors(f, name, arg):
    with pytest.raises(FunctionError):
        f(name, arg)


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_codecs_roundtrip(text):
    call = lambda n, *a: REGISTRY[n].func(*a)  # noqa: E731
    assert call("decode_b64", call("encode_b64", text)) == text
    assert call("decode_hex", call("encode_hex", text)) == text
    assert call("decode_url", call("encode_url", text)) == text
    assert call("unescape_html", call("escape_html", text)) == text
    if not any("\ud800" <= c <= "\udfff" for c in text):  # lone surrogates are not JSON
        assert call("unescape_json", call("escape_json", text)) == text


PARSE = [
    ("parse_json", ('{"a": 1, "b": [true, null]}',), {"a": 1, "b": [True, None]}),
    ("parse_json", ('"s"',), "s"),
    ("parse_json", ("null",), None),
    ("parse_json", ("[]",), []),
    ("parse_kv", ("a=1 b=x=y  c",), {"a": "1", "b": "x=y"}),
    ("parse_kv", ("",), {}),
    ("parse_kv", ("a=1&b=2", "&"), {"a": "1", "b": "2"}),
    ("parse_kv", ("a: 1, b: 2", ",", ":"), {"a": "1", "b": "2"}),
    ("parse_kv", ("a=1 a=2",), {"a": "2"}),
    ("parse_kv", ("=1 b=",), {"b": ""}),
    ("parse_logfmt", ('a=1 b="x y" c= d e="q\\"\\n"',), {"a": "1", "b": "x y", "c": "", "d": "", "e": 'q"\n'}),
    ("parse_logfmt", ("",), {}),
    ("parse_logfmt", ('msg="unterminated',), {"msg": "unterminated"}),
    ("parse_logfmt", ("  =x a=b",), {"a": "b"}),
    ("parse_url", ("http://h.com",), {"scheme": "http", "host": "h.com", "path": "/"}),
    ("parse_url", ("HTTPS://user@[::1]:8080/p?q#f",),
     {"scheme": "https", "user": "user", "host": "::1", "port": 8080, "path": "/p", "query": "q", "fragment": "f"}),
    ("parse_url", ("http://h:99999/",), {}),
    ("parse_url", ("/just/a/path",), {}),
    ("parse_url", ("",), {}),
    ("parse_url", ("redis://h:6379",), {"scheme": "redis", "host": "h", "port": 6379, "path": ""}),
    ("parse_query_params", ("a=1&b=2&a=3",), {"a": "3", "b": "2"}),
    ("parse_query_params", ("",), {}),
    ("parse_query_params", ("x=%E2%9C%93#frag",), {"x": "✓"}),
    ("parse_path", ("relative/file",), {"is_absolute": False, "parent": "relative", "file_name": "file",
                                        "stem": "file", "components": ["relative", "file"]}),
    ("parse_path", (".bashrc",), {"is_absolute": False, "parent": "", "file_name": ".bashrc",
                                  "stem": ".bashrc", "components": [".bashrc"]}),
    ("parse_path", ("/",), {"is_absolute": True, "parent": "", "file_name": "", "stem": "", "components": ["/"]}),
    ("parse_media_type", ("text/plain",), {"type": "text", "subtype": "plain", "params": {}}),
    ("parse_media_type", ("a/b; X=1; bad; y=\"q\\\"\"",), {"type": "a", "subtype": "b", "params": {"x": "1", "y": 'q"'}}),
    ("parse_media_type", ("/x",), {}),
    ("parse_content_disposition", ("inline",), {"type": "inline", "params": {}}),
    ("parse_content_disposition", ("",), {}),
    ("parse_jwt", ("Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjF9.",),
     {"header": {"alg": "none"}, "claims": {"exp": 1}, "signature": ""}),
    ("parse_jwt", ("a.b",), {}),
    ("parse_jwt", ("",), {}),
    ("parse_jwt", ("WzFd.WzFd.x",), {}),
    ("parse_jwt", ("!!!.###.x",), {}),
]


@pytest.mark.parametrize("name,args,want", PARSE, ids=[f"{c[0]}-{i}" for i, c in enumerate(PARSE)])
def test_parsers(f, name, args, want):
    assert f(name, *args) == want


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "[1,]", "nul"])
def test_parse_json_invalid_is_an_error(f, text):
    with pytest.raises(FunctionError) as info:
        f("parse_json", text)
    assert info.value.message.startswith("parse_json(): invalid JSON")


def test_parse_json_unit_is_a_type_error(f):
    with pytest.raises(FunctionError) as info:
        f("parse_json", None)
    assert info.value.missing_field


UA = [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     {"browser": "Safari", "browser_version": "17.1", "os": "macOS", "os_version": "10.15.7", "device": "Desktop"}),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.0 Mobile/15E148 Safari/604.1",
     {"browser": "Safari", "browser_version": "17.0", "os": "iOS", "os_version": "17.0", "device": "Mobile"}),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Mobile Safari/537.36",
     {"browser": "Chrome", "browser_version": "119.0.0.0", "os": "Android", "os_version": "13", "device": "Mobile"}),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     {"browser": "Firefox", "browser_version": "121.0", "os": "Linux", "device": "Desktop"}),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     {"browser": "Edge", "browser_version": "120.0.2210.91", "os": "Windows", "os_version": "10", "device": "Desktop"}),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     {"browser": "Googlebot", "browser_version": "2.1", "device": "Bot"}),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     {"browser": "Safari", "browser_version": "16.6", "os": "iPadOS", "os_version": "16.6", "device": "Tablet"}),
    ("python-requests/2.31.0", {"browser": "Python Requests", "browser_version": "2.31.0", "device": "Other"}),
    ("something odd", {"device": "Other"}),
    ("", {}),
]


@pytest.mark.parametrize("ua,want", UA)
def test_user_agents(f, ua, want):
    assert f("parse_user_agent", ua) == want


@pytest.mark.parametrize(
    "text,nth,want",
    [("x {\"a\": {\"b\": [1]}} y", 1, {"a": {"b": [1]}}), ("{bad {\"ok\": 1}", 1, {"ok": 1}),
     ("[1] [2] [3]", 2, [2]), ("[1] [2]", 3, ""), ("[1]", 0, ""), ("", 1, ""), ("{\"a\": 1", 1, ""),
     ("[1, {\"x\": 2}]", -1, [1, {"x": 2}])],
)
def test_extract_json(f, text, nth, want):
    assert f("extract_json", text, nth) == want
