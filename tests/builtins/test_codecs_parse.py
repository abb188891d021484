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
    ("parse_url", ("HTTPS://user:pw@[::1]:8080/p?q#f",),
     {"scheme": "https", "user": "user", "pass": "pw", "host": "[::1]", "port": "8080", "path": "/p",
      "query": "q", "query_map": {"q": ""}, "fragment": "f"}),
    ("parse_url", ("https://h:443/x",), {"scheme": "https", "host": "h", "path": "/x"}),
    ("parse_url", ("//cdn.example.com/a.js",), {"host": "cdn.example.com", "path": "/a.js"}),
    ("parse_url", ("http://h/?a=1&a=2",), {"scheme": "http", "host": "h", "path": "/", "query": "a=1&a=2",
                                           "query_map": {"a": "1"}}),
    ("parse_url", ("http://h:99999/",), {}),
    ("parse_url", ("/just/a/path#x",), {"path": "/just/a/path", "fragment": "x"}),
    ("parse_url", ("a?b",), {"path": "a", "query": "b", "query_map": {"b": ""}}),
    ("parse_url", ("example.com",), {}),
    ("parse_url", ("",), {}),
    ("parse_url", ("redis://h:6379",), {"scheme": "redis", "host": "h", "port": "6379"}),
    ("parse_query_params", ("a=1&b=2&a=3",), {"a": "1", "b": "2"}),
    ("parse_query_params", ("",), {}),
    ("parse_query_params", ("x=%E2%9C%93",), {"x": "✓"}),
    ("parse_path", ("relative/file",), {"input": "relative/file", "is_absolute": False, "is_relative": True,
                                        "has_root": False, "parent": "relative", "file_name": "file",
                                        "stem": "file", "components": ["relative", "file"]}),
    ("parse_path", (".bashrc",), {"input": ".bashrc", "is_absolute": False, "is_relative": True,
                                  "has_root": False, "file_name": ".bashrc", "stem": ".bashrc",
                                  "components": [".bashrc"]}),
    ("parse_path", ("/",), {"input": "/", "is_absolute": True, "is_relative": False, "has_root": True,
                            "components": ["/"], "root": "/"}),
    ("parse_path", ("./a//b/./c.",), {"input": "./a//b/./c.", "is_absolute": False, "is_relative": True,
                                      "has_root": False, "parent": "./a/b", "file_name": "c.", "stem": "c",
                                      "extension": "", "components": [".", "a", "b", "c."]}),
    ("parse_path", ("/tmp/..",), {"input": "/tmp/..", "is_absolute": True, "is_relative": False,
                                  "has_root": True, "parent": "/tmp", "components": ["/", "tmp", ".."],
                                  "root": "/"}),
    ("parse_media_type", ("text/plain",), {"type": "text", "subtype": "plain", "params": {}}),
    ("parse_media_type", ('a/b; X=1; bad; y="q\\";z"; x=2',),
     {"type": "a", "subtype": "b", "params": {"x": "1", "bad": "", "y": 'q";z'}}),
    ("parse_media_type", ("/x",), {}),
    ("parse_media_type", ("text/html, text/plain",), {}),
    ("parse_content_disposition", ("inline",), {"disposition": "inline", "params": {}}),
    ("parse_content_disposition", ("attachment; filename=a.txt; filename*=UTF-8''%C3%A4.txt",),
     {"disposition": "attachment", "params": {"filename": "a.txt", "filename*": "UTF-8''%C3%A4.txt"},
      "filename": "ä.txt"}),
    ("parse_content_disposition", ("",), {}),
    ("parse_jwt", ("Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjF9.",),
     {"header": {"alg": "none"}, "claims": {"exp": 1}, "signature_b64u": "", "alg": "none"}),
    ("parse_jwt", ("eyJ0eXAiOiJKV1QiLCJraWQiOjF9.e30",),
     {"header": {"typ": "JWT", "kid": 1}, "claims": {}, "signature_b64u": "", "typ": "JWT"}),
    ("parse_jwt", ("a.b",), {"header": {}, "claims": {}, "signature_b64u": ""}),
    ("parse_jwt", ("a.b.c.d",), {}),
    ("parse_jwt", ("",), {}),
    ("parse_jwt", ("WzFd.WzFd.x",), {"header": {}, "claims": {}, "signature_b64u": "x"}),
    ("parse_jwt", ("!!!.###.x",), {}),
]


@pytest.mark.parametrize("name,args,want", PARSE, ids=[f"{c[0]}-{i}" for i, c in enumerate(PARSE)])
def test_parsers(f, name, args, want):
    assert f(name, *args) == want


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "[1,]", "nul"])
def test_parse_json_invalid_is_an_error(f, text):
    with pytest.raises(FunctionError) as info:
        f("parse_json", text)
    assert info.value.message.startswith("parse_json(): Invalid JSON")
    assert "(char" not in info.value.message  # (serde's wording, not Python's json positions)


def test_parse_json_unit_is_a_type_error(f):
    with pytest.raises(FunctionError) as info:
        f("parse_json", None)
    assert info.value.missing_field


UA = [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     {"agent_family": "Safari", "agent_version": "17.1", "os_family": "macOS", "os_version": "10.15.7",
      "device": "Desktop"}),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.0 Mobile/15E148 Safari/604.1",
     {"agent_family": "Safari", "agent_version": "17.0", "os_family": "iOS", "os_version": "17.0",
      "device": "Mobile"}),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Mobile Safari/537.36",
     {"agent_family": "Chrome", "agent_version": "119.0.0.0", "os_family": "Android", "os_version": "13",
      "device": "Mobile"}),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     {"agent_family": "Firefox", "agent_version": "121.0", "os_family": "Linux", "device": "Desktop"}),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     {"agent_family": "Edge", "agent_version": "120.0.2210.91", "os_family": "Windows", "os_version": "10.0",
      "device": "Desktop"}),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     {"agent_family": "Mozilla", "device": "Bot"}),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     {"agent_family": "Safari", "agent_version": "16.6", "os_family": "iOS", "os_version": "16.6",
      "device": "Tablet"}),
    ("Go-http-client/1.1", {"agent_family": "Go-http-client", "agent_version": "1.1", "device": "Bot"}),
    ("python-requests/2.31.0", {}),
    ("Mozilla/5.0 (Linux; Android; Tablet)", {"agent_family": "Mozilla", "os_family": "Linux", "device": "Tablet"}),
    ("Mozilla/5.0 (Linux; Android 14; SM-X910) Chrome/120.0 Safari/537.36",
     {"agent_family": "Chrome", "agent_version": "120.0", "os_family": "Android", "os_version": "14"}),
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
