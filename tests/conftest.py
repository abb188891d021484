import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The installed console script next to the interpreter running the tests (the venv's bin/).
KELORA_BIN = str(Path(sys.executable).parent / "kelora") if (Path(sys.executable).parent / "kelora").exists() else shutil.which("kelora")


@pytest.fixture
def kelora_bin():
    assert KELORA_BIN, "the kelora console script is not installed"
    return KELORA_BIN
