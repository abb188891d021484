"""Operator semantics of the script language (reference §3.2), one function per operator.

Decisions: int/int truncates toward zero and `%` takes the dividend's sign (Rust); i64 overflow
and integer division by zero are errors; `+` with a string on either side concatenates the
other side's ``to_string``; comparisons across unrelated types are false (``!=`` true) and never
raise.  Functions raise ``OpError``; the compiled node adds its span.
"""
from __future__ import annotations

import math
import re

from kelora import values
from kelora.values import FLOAT_EPSILON as EPS, Char, I64_MAX, I64_MIN, compare, equals, float_diff, float_ne, to_string, type_name

MAX_STRING_LEN = 16 * 1024 * 1024
MAX_ARRAY_LEN = 10_000_000


# Called as hook(op, a, b, result) where an operator silently did something a learner rarely
# means (text joined to a number, integer division giving 0, text compared with a number); set
# by kelora.lang.traps for a run with warnings on.  Only the branches that do these call it.
TRAP_HOOK = None


class OpError(Exception):
    """Operator failure; ``missing`` marks a ``()`` operand (likely a missing field)."""

    def __init__(self, message: str, missing: bool = False, kind: str = "runtime"):
        super().__init__(message)
        self.message = message
        self.missing = missing
        self.kind = kind


def _bad(op: str, a, b) -> OpError:
    return OpError(
        f"cannot apply `{op}` to {type_name(a)} and {type_name(b)}",
        missing=a is None or b is None,
    )


# A quoted number (`"500"`): compared with a number, ops.eq's text-vs-number branch warns
# (codegen leaves such comparisons to it; program.exact_reads checks their operands).
NUMERIC_TEXT = re.compile(r"-?\d[\d_]*(\.\d+)?")


def _int(r: int, op: str, a: int = 0, b: int = 0) -> int:
    """*r*, the result of ints *a* op *b*, when it and they are i64 (an operand beyond, read
    exactly from the input, COMPAT D20, overflows as the result would)."""
    if I64_MIN <= r <= I64_MAX and I64_MIN <= a <= I64_MAX and I64_MIN <= b <= I64_MAX:
        return r
    raise OpError(f"integer overflow in `{op}`")


def _wide(a, b, op: str) -> None:
    """Arithmetic of an int beyond i64 with a float: the same overflow (D20), not a float of
    it (nor Python's error for an int too large for a float)."""
    if (type(a) is int and not I64_MIN <= a <= I64_MAX) or (type(b) is int and not I64_MIN <= b <= I64_MAX):
        raise OpError(f"integer overflow in `{op}`")


def check_str(s: str) -> str:
    if len(s) > MAX_STRING_LEN:
        raise OpError(f"string length exceeds the limit of {MAX_STRING_LEN} characters", kind="limit")
    return s


def check_list(a: list) -> list:
    if len(a) > MAX_ARRAY_LEN:
        raise OpError(f"array length exceeds the limit of {MAX_ARRAY_LEN} items", kind="limit")
    return a


_NUM = (int, float)


def add(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a + b
        if I64_MIN <= r <= I64_MAX and I64_MIN <= a <= I64_MAX and I64_MIN <= b <= I64_MAX:
            return r
        raise OpError("integer overflow in `+`")
    if ta is str and tb is str:
        return check_str(a + b) if len(a) + len(b) > 65536 else a + b
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "+")
        return a + b
    if ta is str or ta is Char or tb is str or tb is Char:
        if (ta is str or ta is Char) and (tb is str or tb is Char):
            return check_str(str(a) + str(b))
        r = check_str(to_string(a) + to_string(b))
        if TRAP_HOOK is not None and (ta is int or ta is float or tb is int or tb is float):
            TRAP_HOOK("+", a, b, r)
        return r
    if ta is list and tb is list:
        return check_list(a + b)
    if ta is dict and tb is dict:
        r = dict(a)
        r.update(b)
        return r
    if ta is values.DateTime and tb is values.Duration:
        return _shifted(a, b.nanos, "+")
    if ta is values.Duration and tb is values.Duration:
        return values.Duration(a.nanos + b.nanos)
    raise _bad("+", a, b)


def _shifted(dt: values.DateTime, nanos: int, op: str) -> values.DateTime:
    """datetime ± duration; past year 1..9999 (Python's datetime range) a script error, not a crash."""
    try:
        return dt.shifted(nanos / 1000)
    except OverflowError:
        raise OpError(f"datetime out of range in `{op}` (years 1 to 9999)") from None


def sub(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int(a - b, "-", a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "-")
        return a - b
    if ta is values.DateTime and tb is values.DateTime:
        return values.Duration.from_timedelta(a.since(b))
    if ta is values.DateTime and tb is values.Duration:
        return _shifted(a, -b.nanos, "-")
    if ta is values.Duration and tb is values.Duration:
        return values.Duration(a.nanos - b.nanos)
    raise _bad("-", a, b)


def _i32(n: int) -> int:
    """Kelora narrows the int of ``duration * n`` / ``duration / n`` to i32 (chrono's operand)."""
    return ((n + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def mul(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int(a * b, "*", a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "*")
        return a * b
    if ta is values.Duration and tb is int:
        return values.Duration(_int(a.nanos * _i32(b), "*"))
    raise _bad("*", a, b)


def div(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b == 0:
            raise OpError("Division by zero")
        q = abs(a) // abs(b)
        if q == 0 and a and TRAP_HOOK is not None:
            TRAP_HOOK("/", a, b, 0)
        return _int(q if (a >= 0) == (b >= 0) else -q, "/", a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "/")
        if b == 0:
            if a == 0 or (ta is float and math.isnan(a)):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if ta is values.Duration and tb is int:
        d = _i32(b)
        if d == 0:
            raise OpError("duration division by zero")
        q = abs(a.nanos) // abs(d)  # truncated toward zero, as chrono does
        return values.Duration(q if (a.nanos >= 0) == (d > 0) else -q)
    raise _bad("/", a, b)


def mod(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b == 0:
            raise OpError("Division by zero")
        r = abs(a) % abs(b)
        return _int(-r if a < 0 else r, "%", a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "%")
        if b == 0:
            return math.nan
        return math.fmod(a, b)
    raise _bad("%", a, b)


def pow_(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b < 0:
            raise OpError("integer raised to a negative power; use a float base (e.g. 2.0 ** -1)")
        if (a in (0, 1) or b <= 63 or a == -1) and I64_MIN <= a <= I64_MAX and b <= I64_MAX:
            return _int(a**b if a != -1 else (1 if b % 2 == 0 else -1), "**")
        raise OpError("integer overflow in `**`")
    if (ta is float or ta is int) and (tb is float or tb is int):
        _wide(a, b, "**")
        try:
            r = float(a) ** b
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            return math.inf
        if type(r) is complex:
            return math.nan
        return r
    raise _bad("**", a, b)


def shl(a, b):
    if type(a) is int and type(b) is int:
        if b < 0:
            return shr(a, -b)
        if b >= 64:
            raise OpError("shift amount out of range (0 to 63)")
        r = (a << b) & 0xFFFFFFFFFFFFFFFF
        return r - (1 << 64) if r > I64_MAX else r
    raise _bad("<<", a, b)


def shr(a, b):
    if type(a) is int and type(b) is int:
        if b < 0:
            return shl(a, -b)
        if b >= 64:
            raise OpError("shift amount out of range (0 to 63)")
        return a >> b
    raise _bad(">>", a, b)


def bitand(a, b):
    ta, tb = type(a), type(b)
    if (ta is int and tb is int) or (ta is bool and tb is bool):
        return a & b
    raise _bad("&", a, b)


def bitor(a, b):
    ta, tb = type(a), type(b)
    if (ta is int and tb is int) or (ta is bool and tb is bool):
        return a | b
    raise _bad("|", a, b)


def bitxor(a, b):
    ta, tb = type(a), type(b)
    if (ta is int and tb is int) or (ta is bool and tb is bool):
        return a ^ b
    raise _bad("^", a, b)


def eq(a, b):
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int):
        return a == b
    r = equals(a, b)
    if not r and TRAP_HOOK is not None and _text_vs_number(ta, type(b)):
        TRAP_HOOK("==", a, b, r)
    return r


def ne(a, b):
    ta, tb = type(a), type(b)
    if (ta is float and (tb is float or tb is int)) or (tb is float and ta is int):
        return float_ne(a, b)  # (a NaN: false, as Rhai's `!=`)
    return not eq(a, b)


def _text_vs_number(ta, tb) -> bool:
    return (ta is str and (tb is int or tb is float)) or (tb is str and (ta is int or ta is float))


def _cmp_trap(op, a, b):
    if TRAP_HOOK is not None and (a is None or b is None or _text_vs_number(type(a), type(b))):
        TRAP_HOOK(op, a, b, False)  # (a () operand: warned only for `e.Status` next to `status`)


def lt(a, b):
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is str):
        return a < b
    if (ta is float and (tb is float or tb is int)) or (tb is float and ta is int):
        return -float_diff(a, b) > EPS  # Rhai's tolerance (values.float_diff)
    c = compare(a, b)
    if c is None:
        _cmp_trap("<", a, b)
        return False
    return c < 0


def le(a, b):
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is str):
        return a <= b
    if (ta is float and (tb is float or tb is int)) or (tb is float and ta is int):
        return -float_diff(a, b) > -EPS  # Rhai's tolerance (values.float_diff)
    c = compare(a, b)
    if c is None:
        _cmp_trap("<=", a, b)
        return False
    return c <= 0


def gt(a, b):
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is str):
        return a > b
    if (ta is float and (tb is float or tb is int)) or (tb is float and ta is int):
        return float_diff(a, b) > EPS  # Rhai's tolerance (values.float_diff)
    c = compare(a, b)
    if c is None:
        _cmp_trap(">", a, b)
        return False
    return c > 0


def ge(a, b):
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is str):
        return a >= b
    if (ta is float and (tb is float or tb is int)) or (tb is float and ta is int):
        return float_diff(a, b) > -EPS  # Rhai's tolerance (values.float_diff)
    c = compare(a, b)
    if c is None:
        _cmp_trap(">=", a, b)
        return False
    return c >= 0


def contains(container, item) -> bool:
    """`item in container`: array element, map key, substring (or char), range member."""
    t = type(container)
    if t is list:
        if type(item) is str:
            for x in container:
                if type(x) is str and x == item:
                    return True
            return any(type(x) is Char and x == item for x in container)
        return any(eq(x, item) for x in container)
    if t is dict:
        return isinstance(item, str) and item in container
    if t is str or t is Char:
        if isinstance(item, str):
            return item in container
        raise OpError(f"`in` on a string needs a string or char, got {type_name(item)}",
                      missing=item is None)
    if t is range:
        return type(item) is int and item in container
    raise OpError(f"`in` needs an array, map, string or range on the right, got {type_name(container)}",
                  missing=container is None)


def in_(a, b):
    return contains(b, a)


def make_range(a, b, inclusive: bool):
    if type(a) is not int or type(b) is not int:
        raise OpError(f"a range needs integer bounds, got {type_name(a)} and {type_name(b)}",
                      missing=a is None or b is None)
    return range(a, b + 1) if inclusive else range(a, b)


def neg(a):
    t = type(a)
    if t is int:
        return _int(-a, "-", a)
    if t is float:
        return -a
    raise OpError(f"cannot negate {type_name(a)}", missing=a is None)


def pos(a):
    if type(a) in _NUM:
        return a
    raise OpError(f"unary `+` needs a number, got {type_name(a)}", missing=a is None)


def not_(a):
    if type(a) is bool:
        return not a
    raise OpError(f"`!` needs a bool, got {type_name(a)}", missing=a is None)


BINARY = {
    "+": add, "-": sub, "*": mul, "/": div, "%": mod, "**": pow_,
    "<<": shl, ">>": shr, "&": bitand, "|": bitor, "^": bitxor,
    "==": eq, "!=": ne, "<": lt, "<=": le, ">": gt, ">=": ge, "in": in_,
}
UNARY = {"-": neg, "+": pos, "!": not_}
# Operators that never raise (safe to specialise without a try block).
NEVER_RAISE = frozenset({"==", "!=", "<", "<=", ">", ">="})


# Items one copy may create below its top level.  Values can share sub-containers (`[a, a]`),
# so a copy can be exponentially larger than the data it starts from: `m = #{a: m, b: m}` in a
# loop would otherwise exhaust memory.  The top level's own items are bounded by MAX_ARRAY_LEN.
MAX_COPY_ITEMS = 1_000_000
_CONTAINERS = (list, dict)


# Operations charged per nested container copied (the top level is free): copying is work the
# loop counter does not see, and `a = [a]` in a loop copies ever deeper values.
COPY_OP_COST = 10


def deep_copy(v, rt=None):
    """Value semantics for arrays/maps read from a place (Rhai clones on assignment).

    With the script's ``Runtime``, nested containers copied count against its operation limit."""
    t = type(v)
    if t is not list and t is not dict:
        return v
    budget = [MAX_COPY_ITEMS + len(v), 0]  # [items left, containers copied]
    out = _copy(v, budget)
    if rt is not None and budget[1] > 1:
        rt.ops += (budget[1] - 1) * COPY_OP_COST
        if rt.ops > rt.max_ops:
            raise rt.too_many_ops(None)
    return out


def _copy(v, budget: list):
    budget[0] -= 1 + len(v)
    budget[1] += 1
    if budget[0] < 0:
        from kelora.errors import ScriptRuntimeError  # callers copy outside the OpError->span wrapper

        raise ScriptRuntimeError(f"value too large to copy: more than {MAX_COPY_ITEMS:,} nested items",
                                 kind="limit", span=None)
    if type(v) is list:
        return [_copy(x, budget) if type(x) in _CONTAINERS else x for x in v]
    return {k: (_copy(x, budget) if type(x) in _CONTAINERS else x) for k, x in v.items()}
