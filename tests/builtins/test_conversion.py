import math

import pytest

from kelora import values
from kelora.errors import FunctionError

CASES = [
    ("to_int", ("12",), 12),
    ("to_int", ("+12",), 12),
    ("to_int", ("-12",), -12),
    ("to_int", ("1.5",), None),
    ("to_int", (" 7",), None),
    ("to_int", ("7\n",), None),
    ("to_int", ("1_000",), None),
    ("to_int", ("0x1f",), None),
    ("to_int", ("١٢",), None),
    ("to_int", ("",), None),
    ("to_int", ("9223372036854775807",), 9223372036854775807),
    ("to_int", ("9223372036854775808",), None),
    ("to_int", (3.7,), 3),
    ("to_int", (-3.7,), -3),
    ("to_int", (5,), 5),
    ("to_int", (None,), None),
    ("to_int", (True,), None),
    ("to_int", ({},), None),
    ("to_int", ([1],), None),
    ("to_int", ("1,234", ","), 1234),
    ("to_int", ("1.234.567", "."), 1234567),
    ("to_int", ("1 234'5", " '"), 12345),
    ("to_int", (values.Char("7"),), 7),
    ("to_int_or", ("42", 0), 42),
    ("to_int_or", ("4.2", 0), 0),
    ("to_int_or", (4.2, "x"), "x"),
    ("to_int_or", (None, ()), ()),
    ("to_int_or", (True, -1), -1),
    ("to_int_or", ("1,000", ",", -1), 1000),
    ("to_int_or", ("1,0x0", ",", -1), -1),
    ("to_float", ("3.5",), 3.5),
    ("to_float", ("1e3",), 1000.0),
    ("to_float", (".5",), 0.5),
    ("to_float", ("5.",), 5.0),
    ("to_float", ("-0.25",), -0.25),
    ("to_float", ("inf",), math.inf),
    ("to_float", ("-Infinity",), -math.inf),
    ("to_float", ("1_0",), None),
    ("to_float", (" 1",), None),
    ("to_float", (".",), None),
    ("to_float", ("1e",), None),
    ("to_float", ("",), None),
    ("to_float", (7,), 7.0),
    ("to_float", (None,), None),
    ("to_float", (False,), None),
    ("to_float", ("1.234,5", ".", ","), 1234.5),
    ("to_float", ("1,5", "", ","), 1.5),
    ("to_float", ("1,5", "", ",,"), None),
    ("to_float_or", ("x", 0.0), 0.0),
    ("to_float_or", ("2", 0.0), 2.0),
    ("to_float_or", (None, -1), -1),
    ("to_float_or", ("1 234,5", " ", ",", 0.0), 1234.5),
    ("to_bool", ("true",), True),
    ("to_bool", ("TRUE",), True),
    ("to_bool", ("Yes",), True),
    ("to_bool", ("1",), True),
    ("to_bool", ("on",), True),
    ("to_bool", ("false",), False),
    ("to_bool", ("no",), False),
    ("to_bool", ("0",), False),
    ("to_bool", ("Off",), False),
    ("to_bool", ("2",), None),
    ("to_bool", ("",), None),
    ("to_bool", (0,), False),
    ("to_bool", (-3,), True),
    ("to_bool", (0.0,), False),
    ("to_bool", (0.1,), True),
    ("to_bool", (True,), True),
    ("to_bool", (None,), None),
    ("to_bool", ([],), None),
    ("to_bool_or", ("nah", False), False),
    ("to_bool_or", ("yes", False), True),
    ("to_bool_or", (None, "d"), "d"),
    ("to_string", (42,), "42"),
    ("to_string", (-1.5,), "-1.5"),
    ("to_string", (1e14,), "1e14"),
    ("to_string", (True,), "true"),
    ("to_string", (None,), ""),
    ("to_string", ("s",), "s"),
    ("to_string", ([1, "a", None],), '[1, "a", ()]'),
    ("to_string", ({"a": 1},), '#{"a": 1}'),
    ("or_empty", ("",), None),
    ("or_empty", ([],), None),
    ("or_empty", ({},), None),
    ("or_empty", (None,), None),
    ("or_empty", ("a",), "a"),
    ("or_empty", ([0],), [0]),
    ("or_empty", (0,), 0),
    ("or_empty", (False,), False),
    ("status_class", (100,), "1xx"),
    ("status_class", (199,), "1xx"),
    ("status_class", (302,), "3xx"),
    ("status_class", (599,), "5xx"),
    ("status_class", (600,), "unknown"),
    ("status_class", (-1,), "unknown"),
    ("parse_int", ("-42",), -42),
    ("parse_int", ("777", 8), 511),
    ("parse_float", ("1.5e2",), 150.0),
    ("to_hex", (-1,), "ffffffffffffffff"),
    ("to_binary", (0,), "0"),
    ("to_octal", (64,), "100"),
    ("to_char", (0x1F600,), "😀"),
]


@pytest.mark.parametrize("name,args,want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_conversions(f, name, args, want):
    got = f(name, *args)
    assert got == want
    assert type(got) is type(want) or (type(want) is str and isinstance(got, str))


def test_to_float_nan(f):
    assert math.isnan(f("to_float", "NaN"))
    assert math.isnan(f("to_float", "nan"))


@pytest.mark.parametrize("x", [math.nan, math.inf, 1e19, -1e19])
def test_to_int_float_out_of_range_is_an_error(f, x):
    with pytest.raises(FunctionError) as info:
        f("to_int", x)
    assert "Integer overflow" in info.value.message


@pytest.mark.parametrize(
    "name,args",
    [("status_class", ("200",)), ("status_class", (None,)), ("parse_int", ("x",)),
     ("parse_int", ("1", 1)), ("parse_float", ("x",)), ("to_int_or", ("1",)),
     ("to_int_or", ("1", 2, 3, 4)), ("to_float_or", ("1", 2, 3)), ("to_char", (-1,)),
     ("to_int", ("1", 5))],
)
def test_conversion_errors(f, name, args):
    with pytest.raises(FunctionError):
        f(name, *args)


@pytest.mark.parametrize(
    "value,true_for",
    [("s", {"is_string"}), (values.Char("c"), {"is_string"}), (1, {"is_int", "is_number"}),
     (1.5, {"is_float", "is_number"}), (True, {"is_bool"}), ([], {"is_array"}), ({}, {"is_map"}),
     (None, {"is_unit"}), (values.Duration(1), {"is_duration"})],
)
def test_type_checks(f, value, true_for):
    checks = ["is_string", "is_int", "is_float", "is_number", "is_bool", "is_array", "is_map",
              "is_unit", "is_datetime", "is_duration"]
    assert {c for c in checks if f(c, value)} == true_for
