"""A dependency that is not installed (kelora run from a checkout without `make install`, or a
broken environment) is named with what to do, not reported as a bug in kelora."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli.test_cli_cases import clean_env

# (None in sys.modules: the next import of that name fails as if it were not installed)
RUN = "import sys; sys.modules[{name!r}] = None; from kelora.cli.app import main; main(sys.argv[1:])"


@pytest.mark.parametrize("name", ["typer", "orjson"])
def test_a_missing_package_is_named_with_a_hint(tmp_path, name):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n')
    p = subprocess.run([sys.executable, "-c", RUN.format(name=name), "-j", str(path)], capture_output=True,
                       env=clean_env(), timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 134
    assert err == (f"kelora: cannot run: the Python package '{name}' is not installed. Hint: install kelora "
                   "with its dependencies (pip install kelora, or make install in a checkout)\n")


def test_a_missing_module_of_kelora_itself_is_still_an_internal_error():
    from kelora.cli.app import _missing_dependency

    assert _missing_dependency(ModuleNotFoundError("x", name="kelora.nothing")) is None
    try:
        try:
            import typer_is_not_here  # noqa: F401
        except ImportError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert _missing_dependency(outer) == "typer_is_not_here"
