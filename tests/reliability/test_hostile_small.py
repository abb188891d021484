"""The small ones of issue 12 (item 9): each gets a clear message and the documented exit code."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import KELORA_BIN
from tests.reliability.conftest import assert_no_traceback, run, run_bin

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def _sh(script: str, cwd, environ=None, timeout=60):
    env = dict(ENV, K=KELORA_BIN, **(environ or {}))
    p = subprocess.run(["bash", "-c", script], capture_output=True, env=env, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


@pytest.fixture
def one(tmp_path):
    (tmp_path / "one.jsonl").write_bytes(b'{"a":1}\n{"a":2}\n')
    return tmp_path


def test_closed_stdout_with_an_output_file(one):
    code, _, err = _sh('"$K" -j one.jsonl -F json -o x.json >&-', one)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 0, err
    assert (one / "x.json").read_text() == '{"a":1}\n{"a":2}\n'


def test_closed_stdout_without_an_output_file_is_a_write_error(one):
    code, _, err = _sh('"$K" -j one.jsonl -F json >&-', one)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1, err
    assert "Failed to write output to stdout: Bad file descriptor" in err


@pytest.mark.parametrize("extra", [[], ["-o", "x.json"], ["--parallel"]])
def test_closed_stdin_with_file_inputs(one, extra):
    code, out, err = _sh(f'"$K" -j one.jsonl -F json {" ".join(extra)} <&-', one)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 0, err
    got = (one / "x.json").read_bytes() if extra[:1] == ["-o"] else out
    assert got == b'{"a":1}\n{"a":2}\n'


def test_closed_stdin_without_inputs_is_a_read_error(one):
    code, _, err = _sh('"$K" -j -F json <&-', one)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1 and "stdin" in err, err


def test_closed_stderr(one):
    code, out, _ = _sh('"$K" -j one.jsonl -F json --with-stats 2>&-', one)
    assert code == 0 and out == b'{"a":1}\n{"a":2}\n'


@pytest.mark.parametrize("field", ["😀", "a😀b", "𝔘"])
def test_freq_of_a_field_name_above_u_ffff(field):
    res = run_bin(["-j", "--freq", field, "-F", "none", "-m=json"],
                  stdin=(json.dumps({field: "x"}, ensure_ascii=False) + "\n").encode())
    assert_no_traceback(res)
    assert res.code == 0, res.err
    assert field in res.out.decode("utf-8")


@pytest.mark.parametrize("value", ["inf", "-inf", "=-1", "=-1KiB", "nan", "1e400"])
def test_max_line_bytes_that_is_no_size_is_a_flag_error(value):
    arg = ["--max-line-bytes" + value] if value.startswith("=") else ["--max-line-bytes", value]
    res = run_bin(["-j", *arg], stdin=b'{"a":1}\n')
    assert_no_traceback(res)
    assert res.code == 2, res.err
    assert "invalid size" in res.err and "--max-line-bytes" in res.err and "internal error" not in res.err
    assert res.out == b""


def test_a_fifo_as_secret_file_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo, 0o600)
    for extra in ([], ["--parallel"]):
        res = run_bin(["-j", "-e", 'e.p = pseudonym(e.a, "d")', "-F", "json", *extra], stdin=b'{"a":"x"}\n',
                      environ={"KELORA_SECRET_FILE": str(fifo)}, timeout=30)
        assert_no_traceback(res)
        assert res.code == 2, res.err
        assert "is not a regular file" in res.err and res.out == b""


def test_a_device_as_secret_file_is_refused():
    res = run_bin(["-j", "-e", 'e.p = pseudonym(e.a, "d")'], stdin=b'{"a":"x"}\n',
                  environ={"KELORA_SECRET_FILE": "/dev/zero"}, timeout=30)
    assert res.code == 2 and "is not a regular file" in res.err, res.err


def test_metrics_file_is_fsynced_before_its_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else fd))
        return real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "m.json"
    res = run(["-j", "-e", 'track_sum("n", 1)', "--metrics-file", str(target)], stdin=b'{"a":1}\n')
    assert res.code == 0, res.err
    assert json.loads(target.read_text()) == {"n": 1}
    kinds = [k for k, _ in calls]
    assert "fsync" in kinds and kinds.index("fsync") < kinds.index("replace"), calls
    assert ".kelora-metrics-" in str(calls[kinds.index("fsync")][1])
