import pytest

from kelora.context import Diagnostics, RunContext
from tests.builtins._mini import call


class Recorder(Diagnostics):
    def __init__(self):
        self.warnings: list[str] = []
        super().__init__(warn_fn=self.warnings.append)


@pytest.fixture
def ctx():
    return RunContext(env={}, diagnostics=Recorder())


@pytest.fixture
def f(ctx):
    """f(name, *args): call a builtin as a script would (arity and type checks included)."""
    return lambda name, *args: call(name, list(args), ctx)
