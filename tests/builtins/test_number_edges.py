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
