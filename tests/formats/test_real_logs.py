"""Real public logs (``../shared/data/real/`` next to the checkout): every file parses, by
auto-detection and by its explicit format, with at most 0.5% of its lines as parse errors
(issue 13).  Skipped cleanly when the folder is absent (a clean clone elsewhere);
``KELORA_REAL_DATA`` may point at it."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN, ROOT


def _data_dir() -> Path | None:
    env = os.environ.get("KELORA_REAL_DATA")
    candidates = [Path(env)] if env else []
    # next to the checkout; a worktree under <dir>/wt/<branch> has it one level further up
    candidates += [ROOT.parent / "shared" / "data" / "real", ROOT.parent.parent / "shared" / "data" / "real"]
    return next((c for c in candidates if c.is_dir()), None)


DATA = _data_dir()

# file -> the format auto-detection must choose (and the explicit format to run it with)
EXPECTED = {
    "Android_2k.log": "line",
    "Spark_2k.log": "line",
    "Linux_2k.log": "syslog",
    "Mac_2k.log": "syslog",
    "apache_access.log": "combined",
    "lnav_logfile_bunyan.0": "json",
    "lnav_logfile_ecs_log.json": "json",
    "lnav_logfile_json.json": "json",
    "lnav_logfile_logfmt.0": "logfmt",
}

pytestmark = pytest.mark.skipif(DATA is None, reason="../shared/data/real is not next to this checkout")


def _stats(args: list[str]) -> dict:
    proc = subprocess.run([KELORA_BIN, *args, "-s=json"], capture_output=True, timeout=300,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _files() -> list[str]:
    if DATA is None:
        return sorted(EXPECTED)
    found = sorted(p.name for p in DATA.iterdir() if p.is_file() and p.name != "README.md")
    return found


@pytest.mark.parametrize("name", _files())
@pytest.mark.parametrize("how", ["auto", "explicit"])
def test_real_log_parses(name, how):
    assert name in EXPECTED, f"new real log {name}: add its expected format to EXPECTED"
    fmt = EXPECTED[name]
    args = [str(DATA / name)] if how == "auto" else ["-f", fmt, str(DATA / name)]
    doc = _stats(args)
    lines = doc["lines"]
    assert doc["format"]["detected"] == fmt
    assert lines["errors"] <= 0.005 * lines["read"], doc
    assert doc["events"]["created"] + lines["errors"] + lines["blank"] + lines["header"] + lines["filtered"] + lines.get("joined", 0) == lines["read"]
