"""Numbers at the edge of a float's range in builtins: a clean result or a clear error, never
Python's own exception text ("(34, 'Numerical result out of range')", "cannot convert float
infinity to integer")."""
import pytest

from kelora.errors import FunctionError


@pytest.mark.parametrize("decimals", [309, 400, 10**6])
def test_round_with_more_decimals_than_a_float_holds_keeps_the_value(f, decimals):
    assert f("round", 1.5, decimals) == 1.5
    assert f("round", 2.345, 2) == 2.35


@pytest.mark.parametrize("fn", ["duration_from_seconds", "duration_from_ms", "duration_from_minutes",
                                "duration_from_hours", "duration_from_days"])
def test_a_duration_beyond_nanoseconds_is_a_clear_error(f, fn):
    with pytest.raises(FunctionError, match=rf"^{fn}\(\): 1e300 is out of range for a duration$"):
        f(fn, 1e300)


def test_clamp_and_rand_int_bounds_in_kelora_words(f):
    # Kelora's datetime_integration_test / random.rs pin these words
    with pytest.raises(FunctionError, match=r"min \(10\) must not be greater than max \(0\)"):
        f("clamp", 5, 10, 0)
    with pytest.raises(FunctionError, match=r"min \(10\) cannot be greater than max \(5\)"):
        f("rand_int", 10, 5)
