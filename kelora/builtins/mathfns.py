"""Math builtins (abs, clamp, floor, round, mod...) and sampling (rand, sample_every, sample_prob).

Rounding follows Rhai: floats stay floats (``floor(3.7)`` is ``3.0``), ints pass through.
Random numbers come from one generator per run, seeded by ``KELORA_SEED`` when it is set, so
sampled runs are reproducible.
"""
from __future__ import annotations

import math
import random
import weakref

from kelora import values
from kelora.builtins.registry import builtin
from kelora.errors import FunctionError, UsageError

Number = int | float
_NOTHING = object()


def _check_int(n: int, fn: str) -> int:
    if not values.I64_MIN <= n <= values.I64_MAX:
        raise FunctionError(f"Integer overflow: {fn}")
    return n


@builtin("math", name="abs")
def abs_(x: int | float) -> int | float:
    """Absolute value (int stays int).

    Examples:
        abs(-5)  =>  5
        abs(-2.5)  =>  2.5
    """
    return _check_int(-x, "abs") if type(x) is int and x < 0 else abs(x)


@builtin("math")
def sign(x: int | float) -> int:
    """-1, 0 or 1 by the sign of x.

    Examples:
        sign(-3.5)  =>  -1
        sign(0)  =>  0
    """
    return (x > 0) - (x < 0)


@builtin("math")
def clamp(x: int | float, lo: int | float, hi: int | float) -> int | float:
    """x limited to the range lo..hi (lo > hi is an error).

    Examples:
        clamp(15, 0, 10)  =>  10
        clamp(-1.5, 0, 10)  =>  0
        clamp(5, 0, 10)  =>  5
    """
    if lo > hi:
        raise FunctionError(f"clamp(): min ({values.to_string(lo)}) must not be greater than max ({values.to_string(hi)})")
    return lo if x < lo else hi if x > hi else x


def _float_op(x: int | float, op) -> int | float:
    if type(x) is int:
        return x
    if math.isnan(x) or math.isinf(x):
        return x
    return float(op(x))


@builtin("math")
def floor(x: int | float) -> int | float:
    """Largest whole number <= x (a float for a float, as Rhai).

    Examples:
        floor(3.7)  =>  3.0
        floor(-3.2)  =>  -4.0
        floor(7)  =>  7
    """
    return _float_op(x, math.floor)


@builtin("math", aliases=("ceiling",))
def ceil(x: int | float) -> int | float:
    """Smallest whole number >= x (a float for a float).

    Examples:
        ceil(3.2)  =>  4.0
        ceil(7)  =>  7
    """
    return _float_op(x, math.ceil)


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


@builtin("math", name="round")
def round_(x: int | float, decimals: int = 0) -> int | float:
    """Round half away from zero (a float for a float); optional number of decimals.

    Examples:
        round(2.5)  =>  3.0
        round(-2.5)  =>  -3.0
        round(3.14159, 2)  =>  3.14
        round(7)  =>  7
    """
    if type(x) is int or math.isnan(x) or math.isinf(x):
        return x
    if decimals <= 0:
        return float(_round_half_away(x))
    if decimals > 308:  # (10.0**decimals would overflow; no float but a subnormal has such digits)
        return x
    factor = 10.0**decimals
    scaled = x * factor
    if math.isinf(scaled):
        return x
    return _round_half_away(scaled) / factor


@builtin("math", name="int")
def int_(x: int | float) -> int | float:
    """The whole-number part of a float, as a float (Rhai's int()); ints pass through.

    Examples:
        int(3.7)  =>  3.0
    """
    return _float_op(x, math.trunc)


@builtin("math", name="mod")
def mod_(a: int | float, b: int | float) -> int | float:
    """Remainder of a / b with the sign of a (like %), but 0 when b is 0.

    Examples:
        mod(7, 3)  =>  1
        mod(-7, 3)  =>  -1
        mod(5, 0)  =>  0
        mod(7.5, 2)  =>  1.5
    """
    if b == 0:
        return 0 if type(a) is int and type(b) is int else 0.0
    if type(a) is int and type(b) is int:
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return math.fmod(a, b)


@builtin("math")
def sqrt(x: int | float) -> float:
    """Square root (NaN for negative numbers).

    Examples:
        sqrt(16)  =>  4.0
    """
    return math.sqrt(x) if x >= 0 else math.nan


@builtin("math")
def exp(x: int | float) -> float:
    """e raised to x.

    Examples:
        exp(0)  =>  1.0
    """
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


@builtin("math")
def ln(x: int | float) -> float:
    """Natural logarithm (NaN for x < 0, -inf for 0).

    Examples:
        ln(1)  =>  0.0
    """
    if x == 0:
        return -math.inf
    return math.log(x) if x > 0 else math.nan


@builtin("math")
def log(x: int | float, base: int | float = 10) -> float:
    """Logarithm of x to base (default 10).

    Examples:
        log(1000)  =>  3.0
        log(8, 2)  =>  3.0
    """
    if x <= 0 or base <= 0 or base == 1:
        return -math.inf if x == 0 else math.nan
    return math.log(x) / math.log(base) if base != 10 else math.log10(x)


@builtin("math")
def is_nan(x: int | float) -> bool:
    """True for a NaN float.

    Examples:
        is_nan(1.0)  =>  false
    """
    return type(x) is float and math.isnan(x)


@builtin("math")
def is_finite(x: int | float) -> bool:
    """True unless x is NaN or infinite.

    Examples:
        is_finite(2)  =>  true
    """
    return type(x) is int or math.isfinite(x)


# --------------------------------------------------------------------------- randomness

_RNGS: "weakref.WeakKeyDictionary[object, random.Random]" = weakref.WeakKeyDictionary()
_SAMPLE_COUNTERS: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def run_rng(ctx) -> random.Random:
    """The run's random generator; with KELORA_SEED (an integer) one generator per input line,
    seeded from the seed and the line number (and one for --begin, one for --end), so a
    --parallel run draws exactly what a sequential one draws for each line."""
    rng = _RNGS.get(ctx)
    if rng is not None and rng.__class__ is _SeededLines:
        return rng.for_line(ctx)
    if rng is None:
        seed_text = ctx.env.get("KELORA_SEED")
        if seed_text is not None and seed_text != "":
            try:
                seed = int(seed_text.strip())
            except ValueError:
                raise UsageError(
                    f"invalid KELORA_SEED '{seed_text}': expected an integer"
                ) from None
            rng = _RNGS[ctx] = _SeededLines(seed)
            return rng.for_line(ctx)
        rng = random.Random()
        _RNGS[ctx] = rng
    return rng


class _SeededLines:
    """KELORA_SEED's generators: one per line (per --begin, per --end), made when first used."""

    __slots__ = ("seed", "key", "rng")

    def __init__(self, seed: int):
        self.seed = seed
        self.key = None
        self.rng = None

    def for_line(self, ctx) -> random.Random:
        stage = ctx.stage
        if stage == "begin" or stage == "end":
            key = stage
        else:
            position = getattr(ctx, "position", None)
            key = position() if position is not None else 0
        if key != self.key:
            self.key = key
            self.rng = random.Random(f"kelora-seed:{self.seed}:{key}")
        return self.rng


@builtin("math", pass_context=True, effects={"random"})
def rand(ctx) -> float:
    """A random float in [0, 1).

    Examples:
        type_of(rand())  =>  "f64"
    """
    return run_rng(ctx).random()


@builtin("math", pass_context=True, effects={"random"})
def rand_int(ctx, lo: int, hi: int) -> int:
    """A random int between lo and hi, both included (lo > hi is an error).

    Examples:
        rand_int(3, 3)  =>  3
    """
    if lo > hi:
        raise FunctionError(f"rand_int(): min ({lo}) cannot be greater than max ({hi})")
    return run_rng(ctx).randint(lo, hi)


@builtin("math", pass_context=True, effects={"count"})
def sample_every(ctx, n: int) -> bool:
    """True on the nth, 2nth, 3nth... call with this n (a counter per n; n <= 1 is always true).

    Examples:
        sample_every(1)  =>  true
    """
    if n <= 1:
        return True
    counters = _SAMPLE_COUNTERS.get(ctx)
    if counters is None:
        counters = _SAMPLE_COUNTERS[ctx] = {}
    c = counters.get(n, 0) + 1
    counters[n] = c
    return c % n == 0


@builtin("math", pass_context=True, effects={"random"})
def sample_prob(ctx, p: int | float) -> bool:
    """True with probability p (0.0..1.0); reproducible when KELORA_SEED is set.

    Examples:
        sample_prob(1.0)  =>  true
        sample_prob(0)  =>  false
    """
    if p <= 0:
        return False
    if p >= 1:
        return True
    return run_rng(ctx).random() < p
