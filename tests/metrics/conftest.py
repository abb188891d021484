import pytest

from kelora.context import Diagnostics, RunContext


def new_ctx(warnings=None):
    return RunContext(env={}, diagnostics=Diagnostics(warn_fn=(warnings.append if warnings is not None else None)))


@pytest.fixture
def ctx():
    return new_ctx()
