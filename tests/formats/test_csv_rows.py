"""CSV/TSV rows from the row function generated for the data's column types (kelora/formats/
csvrow.py) equal the general formatter's bytes, for every cell the generated function must hand
back: texts to quote, empty texts, spaces at the ends, floats outside [1e-4, 1e13], NaN and
infinities, booleans, null, maps, a missing column, integers beyond 64 bits."""
from __future__ import annotations

import subprocess

import pytest

from kelora.formats import make_formatter
from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN

REGULAR = {"timestamp": "2024-06-01T00:00:00.080Z", "user_id": 7, "status": 500, "duration_ms": 41.98}
ODD = [
    {"timestamp": "a,b"}, {"timestamp": 'say "hi"'}, {"timestamp": " lead"}, {"timestamp": "trail "},
    {"timestamp": ""}, {"timestamp": "line\nbreak"}, {"timestamp": "cr\rx"}, {"timestamp": "tab\there"},
    {"timestamp": "üñí €"}, {"duration_ms": 1e14}, {"duration_ms": 1e-5}, {"duration_ms": 0.0},
    {"duration_ms": -0.0}, {"duration_ms": -3.25}, {"duration_ms": 1e13}, {"duration_ms": 1e-4},
    {"duration_ms": float("nan")}, {"duration_ms": float("inf")}, {"duration_ms": 2.0**70},
    {"user_id": True}, {"user_id": None}, {"user_id": {"a": 1}}, {"user_id": [1, 2]},
    {"user_id": 2**70}, {"user_id": -5}, {"status": "500"}, {"status": 1.5},
]


def _events():
    yield dict(REGULAR)
    for change in ODD:
        yield {**REGULAR, **change}
    for key in REGULAR:  # a missing column
        yield {k: v for k, v in REGULAR.items() if k != key}
    yield {}
    yield {"other": 1}
    yield dict(REGULAR)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "csvnh"])
@pytest.mark.parametrize("keys,exclude", [("timestamp,user_id,status,duration_ms", ()),
                                          ("duration_ms,timestamp,duration_ms", ()),
                                          ("timestamp,user_id,status", ("user_id",))])
def test_generated_rows_equal_the_general_formatter(fmt, keys, exclude):
    fast = make_formatter(fmt, keys=keys, exclude_keys=exclude)
    slow = make_formatter(fmt, keys=keys, exclude_keys=exclude)
    for event in _events():
        assert fast(event) == slow.general(event), event


def test_generated_rows_through_the_command():
    """The same events through `kelora -j -F csv` (JSON input: the odd values JSON can hold)."""
    import json

    events = [e for e in _events() if all(v == v and v not in (float("inf"), 2.0**70) for v in e.values()
                                          if type(v) is float)]
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    proc = subprocess.run([KELORA_BIN, "-j", "-k", "timestamp,user_id,status,duration_ms", "-F", "csv"], input=data,
                          capture_output=True, env=clean_env(), timeout=60)
    general = make_formatter("csv", keys="timestamp,user_id,status,duration_ms").general
    assert proc.returncode == 0
    assert proc.stdout == b"".join(general(e) for e in events)
    assert proc.stdout.startswith(b"timestamp,user_id,status,duration_ms\n2024-06-01T00:00:00.080Z,7,500,41.98\n")
