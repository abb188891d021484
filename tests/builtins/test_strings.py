import pytest

from kelora import values
from kelora.errors import FunctionError

CASES = [
    # after / before / between (nth, negative nth, absent, empty delimiter)
    ("after", ("a=b=c", "="), "b=c"),
    ("after", ("a=b=c", "=", 2), "c"),
    ("after", ("a=b=c", "=", -1), "c"),
    ("after", ("a=b=c", "=", -2), "b=c"),
    ("after", ("a=b=c", "=", -3), ""),
    ("after", ("a=b=c", "=", 0), ""),
    ("after", ("a=b=c", "=", 3), ""),
    ("after", ("abc", "x"), ""),
    ("after", ("abc", ""), "abc"),
    ("after", ("", "x"), ""),
    ("after", ("aaaa", "aa", 2), ""),
    ("after", ("aaaaa", "aa", 2), "a"),
    ("after", ("héllo wörld", "ö"), "rld"),
    ("before", ("a=b=c", "="), "a"),
    ("before", ("a=b=c", "=", 2), "a=b"),
    ("before", ("a=b=c", "=", -1), "a=b"),
    ("before", ("a=b=c", "=", 9), ""),
    ("before", ("abc", ""), ""),
    ("between", ("x[a]y[b]", "[", "]"), "a"),
    ("between", ("x[a]y[b]", "[", "]", 2), "b"),
    ("between", ("x[a]y[b]", "[", "]", -1), "b"),
    ("between", ("x[a", "[", "]"), ""),
    ("between", ("x[a", "[", ""), "a"),
    ("between", ("xa]", "[", "]"), ""),
    ("between", ("[a]", "[", "]", 0), ""),
    ("starting_with", ("foo ERROR bar ERROR baz", "ERROR"), "ERROR bar ERROR baz"),
    ("starting_with", ("foo ERROR bar ERROR baz", "ERROR", -1), "ERROR baz"),
    ("starting_with", ("abc", "z"), ""),
    ("ending_with", ("a.b.c", "."), "a.b."),
    ("ending_with", ("a.b.c", ".", 1), "a."),
    ("ending_with", ("a.b.c", ".", -1), "a.b."),
    ("ending_with", ("abc", "z"), ""),
    # replace
    ("replace", ("a.b.c", ".", "-"), "a-b-c"),
    ("replace", ("abc", "", "-"), "-a-b-c-"),
    ("replace", ("a+b", "+", "\\"), "a\\b"),
    ("replace", ("$1", "$1", "x"), "x"),
    ("replace", ("", "a", "b"), ""),
    # split (Rust str::split)
    ("split", ("/a/b", "/"), ["", "a", "b"]),
    ("split", ("/", "/"), ["", ""]),
    ("split", ("", ","), [""]),
    ("split", ("abc", ""), ["", "a", "b", "c", ""]),
    ("split", ("a::b", "::"), ["a", "b"]),
    ("split", ("a b", values.Char(" ")), ["a", "b"]),
    ("split", ("  a  b  ",), ["a", "b"]),
    ("split", ("",), []),
    ("split", ("hello", -2), ["hel", "lo"]),
    ("split", ("hello", 99), ["hello", ""]),
    ("split", ("hello", 0), ["", "hello"]),
    ("splitn", ("a=b=c", 2, "="), ["a", "b=c"]),
    ("splitn", ("a=b=c", 0, "="), []),
    # strip family
    ("strip", ("\t x \n",), "x"),
    ("strip", ("\u3000x\u00a0",), "x"),
    ("strip", ("xxhixx", "x"), "hi"),
    ("strip", ("abc", ""), "abc"),
    ("lstrip", ("  x  ",), "x  "),
    ("lstrip", ("0012", "0"), "12"),
    ("rstrip", ("  x  ",), "  x"),
    ("rstrip", ("1.500", "0"), "1.5"),
    ("trim", ("  x y  ",), "x y"),
    ("trim", ("",), ""),
    ("clip", ("--hello, world!--",), "hello, world"),
    ("clip", ("!!!",), ""),
    ("clip", ("«ünï»",), "ünï"),
    ("lclip", ("((a))",), "a))"),
    ("rclip", ("((a))",), "((a"),
    # case
    ("to_upper", ("abc é",), "ABC É"),
    ("to_lower", ("ABC É",), "abc é"),
    ("upper", ("x",), "X"),
    ("lower", ("X",), "x"),
    ("make_upper", ("x",), "X"),
    ("make_lower", ("X",), "x"),
    # predicates
    ("starts_with", ("abc", "ab"), True),
    ("starts_with", ("abc", "bc"), False),
    ("ends_with", ("abc", "bc"), True),
    ("ends_with", ("abc", ""), True),
    ("is_digit", ("123",), True),
    ("is_digit", ("١٢٣",), False),
    ("is_digit", ("-1",), False),
    ("is_digit", ("",), False),
    ("count", ("banana", "a"), 3),
    ("count", ("banana", "ana"), 1),
    ("count", ("", "a"), 0),
    ("count", ("abc", ""), 0),
    ("contains_any", ("timeout error", ["error", "fatal"]), True),
    ("contains_any", ("ok", ["error", 1]), False),
    ("contains_any", ([1, 2], [2.0]), True),
    ("contains_any", ([], ["a"]), False),
    ("starts_with_any", ("GET /", ["GET", "POST"]), True),
    ("starts_with_any", ("PUT /", ["GET", "POST"]), False),
    ("starts_with_any", ("x", []), False),
    ("starts_with_any", (["/api/x", 3], ["/api"]), True),
    ("ends_with_any", ("a.log", [".txt"]), False),
    ("edit_distance", ("flaw", "lawn"), 2),
    ("edit_distance", ("same", "same"), 0),
    ("edit_distance", ("ä", "a"), 1),
    # positions
    ("sub_string", ("hello", 0, 2), "he"),
    ("sub_string", ("hello", 3), "lo"),
    ("sub_string", ("hello", -2), "lo"),
    ("sub_string", ("hello", -10, 2), "he"),
    ("sub_string", ("hello", 2, 0), ""),
    ("sub_string", ("hello", 2, -1), ""),
    ("sub_string", ("héllo", 1, 1), "é"),
    ("index_of", ("héllo", "l"), 2),
    ("index_of", ("hello", "l", -2), 3),
    ("index_of", ("hello", "", 0), 0),
    ("index_of", ("hello", "x"), -1),
    ("index_of", ("hello", "l", 10), -1),
    ("index_of", (["a", "b"], "b"), 1),
    ("index_of", ([1, 2], "2"), -1),
    ("index_of", ([1, 2, 1], 1, 1), 2),
    ("slice", ("hello", "1:"), "ello"),
    ("slice", ("hello", ":-1"), "hell"),
    ("slice", ("hello", "::2"), "hlo"),
    ("slice", ("hello", "::-2"), "olh"),
    ("slice", ("hello", "10:"), ""),
    ("slice", ("hello", "x:2"), "he"),
    ("slice", ("hello", "1:3:0"), ""),
    ("slice", ("", "::-1"), ""),
    ("slice", ("héllo", "1:2"), "é"),
    ("slice", ([1, 2, 3], "-2:"), [2, 3]),
    ("slice", ([1, 2, 3], "::-1"), [3, 2, 1]),
    ("to_chars", ("hé",), ["h", "é"]),
    ("pad", ("7", 3, "0"), "700"),
    ("pad", ("7", 3), "7  "),
    ("truncate", ("hello", 0), ""),
    ("truncate", ("hello", -1), ""),
    # like / ilike
    ("like", ("abc", "*"), True),
    ("like", ("", "*"), True),
    ("like", ("abc", "a*c"), True),
    ("like", ("abc", "A*"), False),
    ("like", ("a.c", "a.c"), True),
    ("like", ("abc", "a.c"), False),
    ("like", ("a\nb", "a?b"), True),
    ("like", ("ab", "a?b"), False),
    ("like", ("[x]", "[x]"), True),
    ("ilike", ("HELLO", "h*O"), True),
    ("ilike", ("ǅ", "ǆ"), True),
    # columns
    ("col", ("a b  c", 1), "b"),
    ("col", ("a b  c", -1), "c"),
    ("col", ("a b  c", "0,2"), "a c"),
    ("col", ("a b  c", "1:"), "b c"),
    ("col", ("a,b,,c", 2, ","), ""),
    ("col", ("a,b,,c", "1:3", ",", "|"), "b|"),
    ("col", ("", 0), ""),
    ("cols", ("a b c", 0, 1), ["a", "b"]),
    ("cols", ("a b c", 5), [""]),
    ("cols", ("a,b,c", ["2", "0:2"], ","), ["c", "a b"]),
]


@pytest.mark.parametrize("name,args,want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_string_functions(f, name, args, want):
    got = f(name, *args)
    assert got == want
    assert type(got) is type(want) or (type(want) is str and isinstance(got, str))


@pytest.mark.parametrize(
    "name,args",
    [
        ("after", (None, "=")),
        ("before", ("x", None)),
        ("to_upper", (None,)),
        ("strip", (5,)),
        ("replace", (None, "a", "b")),
        ("split", (None, ",")),
        ("matches", (None, "x")),
        ("replace_regex", (None, "x", "y")),
        ("starts_with", (["a"], "a")),
        ("sub_string", ("abc", "1")),
        ("col", (None, 1)),
        ("like", (1, "*")),
    ],
)
def test_wrong_types_are_function_errors(f, name, args):
    with pytest.raises(FunctionError) as info:
        f(name, *args)
    assert "must be" in info.value.message
    assert info.value.missing_field == any(a is None for a in args)


def test_unit_argument_message_names_function_and_type(f):
    with pytest.raises(FunctionError) as info:
        f("to_upper", None)
    assert info.value.message == "to_upper(): argument 1 (text) must be string, got ()"


def test_arity_is_checked(f):
    with pytest.raises(FunctionError):
        f("after", "x")
    with pytest.raises(FunctionError):
        f("after", "x", "y", 1, 2)


def test_bool_is_not_an_int(f):
    with pytest.raises(FunctionError):
        f("after", "a=b", "=", True)


def test_replace_never_mutates(f):
    s = "a-b"
    assert f("replace", s, "-", "+") == "a+b"
    assert s == "a-b"


# ----------------------------------------------------------------- regex functions

REGEX_CASES = [
    ("matches", ("abc123", "\\d+"), True),
    ("matches", ("abc", "^b"), False),
    ("matches", ("abc", ""), True),
    ("matches", ("", "^$"), True),
    ("matches", ("ÄBC", "(?i)äbc"), True),
    ("matches", ("2024-01-15", "(?<y>\\d{4})-(?<m>\\d{2})"), True),
    ("matches", ("line\n", "line\\z"), False),
    ("matches", ("abc", "[[:alpha:]]+$"), True),
    ("matches", ("ab1", "^[[:alpha:]]+$"), False),
    ("matches", ("日本", "^\\p{L}+$"), True),
    ("matches", ("xAb", "x(?i)ab"), True),
    ("matches", ("XAb", "x(?i)ab"), False),
    ("replace_regex", ("a1b2", "\\d", "#"), "a#b#"),
    ("replace_regex", ("john smith", "(\\w+) (\\w+)", "$2, $1"), "smith, john"),
    ("replace_regex", ("john smith", "(?P<f>\\w+) (?P<l>\\w+)", "${l}_$f"), "smith_john"),
    ("replace_regex", ("ab", "(a)", "$1x"), "b"),
    ("replace_regex", ("ab", "(a)", "${1}x"), "axb"),
    ("replace_regex", ("ab", "a", "$$"), "$b"),
    ("replace_regex", ("ab", "a", "\\n"), "\\nb"),
    ("replace_regex", ("ab", "a", "$9"), "b"),
    ("replace_regex", ("ab", "a", "$"), "$b"),
    ("replace_regex", ("", "x", "y"), ""),
    ("replace_regex", ("héllo", "é", "e"), "hello"),
    ("split_regex", ("a1b2c", "\\d"), ["a", "b", "c"]),
    ("split_regex", ("a1b2", "\\d"), ["a", "b", ""]),
    ("split_regex", ("a-b", "(-)"), ["a", "b"]),
    ("split_regex", ("", ","), [""]),
]


@pytest.mark.parametrize("name,args,want", REGEX_CASES)
def test_regex_functions(f, name, args, want):
    assert f(name, *args) == want


def test_matches_invalid_pattern_is_an_error(f):
    with pytest.raises(FunctionError) as info:
        f("matches", "abc", "(")
    assert info.value.message.startswith("Invalid regex pattern '(': ")


def test_replace_regex_invalid_pattern_warns_once_and_keeps_text(f, ctx):
    assert f("replace_regex", "abc", "[", "x") == "abc"
    assert f("replace_regex", "abd", "[", "x") == "abd"
    assert ctx.diag.warnings == ["invalid regex '[': unterminated character set at position 0"]


def test_split_regex_invalid_pattern(f, ctx):
    assert f("split_regex", "a,b", "(") == ["a,b"]
    assert len(ctx.diag.warnings) == 1 and ctx.diag.warnings[0].startswith("invalid regex '('")


def test_strip_uses_rust_whitespace(f):
    assert f("strip", "\x1fx\x1f") == "\x1fx\x1f"
    assert f("trim", "\u2003x\u205f") == "x"
    assert f("lstrip", "\x85x") == "x"


def test_join_separator_first(f):
    assert f("join", ",", ["a", "b"]) == "a,b"
    with pytest.raises(FunctionError):
        f("join", "a", "b")


def test_get_on_strings_and_crop(f):
    assert f("get", "héllo", 1) == "é" and type(f("get", "abc", 0)) is values.Char
    assert f("get", "abc", -1) == "c"
    assert f("get", "abc", 3, "d") == "d"
    assert f("get", "abc", "x", "d") == "d"
    assert f("crop", "hello", 1, 3) == "ell"
