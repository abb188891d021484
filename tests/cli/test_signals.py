"""Exit codes that need a live process or a terminal (reference §6.2): 130 (SIGINT), 143
(SIGTERM), 141 (stdout closed under us), and 2 for "no input" when stdin is a terminal.

The signal tests wait until ``--begin`` has run (it eprints "ready"), so the signal arrives while
kelora is blocked reading a slow stdin, and then check that stats are still flushed and that an
``-o`` export is not left behind.
"""
from __future__ import annotations

import os
import pty
import signal
import subprocess

import pytest

from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN


def _wait_ready(proc, deadline: float = 20.0) -> None:
    """Read stderr until the --begin stage's "ready" line; never block past the deadline."""
    import selectors
    import time

    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    end = time.monotonic() + deadline
    seen = b""
    while b"ready\n" not in seen:
        left = end - time.monotonic()
        if left <= 0 or not sel.select(timeout=left):
            proc.kill()
            proc.communicate()
            pytest.fail(f"kelora did not start in time; stderr so far: {seen!r}")
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            proc.wait()
            pytest.fail(f"kelora ended early ({proc.returncode}); stderr: {seen!r}")
        seen += chunk


def _start(args, tmp_path, lines=b'{"a":1}\n{"a":2}\n'):
    # print/eprint are on (no -s/-m): "ready" must reach stderr
    proc = subprocess.Popen(
        [KELORA_BIN, *args, "--begin", 'eprint("ready")'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=tmp_path, env=clean_env(),
    )
    _wait_ready(proc)
    proc.stdin.write(lines)
    proc.stdin.flush()
    return proc


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_exit_code_and_stats_flushed(sig, code, tmp_path):
    proc = _start(["-j", "-q", "--with-stats"], tmp_path)
    # the two lines are read before the signal: stats must count them
    import time

    time.sleep(0.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert b"kelora: Stats:\n" in err and b"Lines processed: 2 total" in err, err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_leaves_no_partial_export(sig, code, tmp_path):
    (tmp_path / "out.log").write_text("previous\n")
    proc = _start(["-j", "-o", "out.log"], tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert (tmp_path / "out.log").read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.log"]


def test_sigint_flushes_metrics(tmp_path):
    proc = _start(["-j", "-q", "-e", 'track_sum("n", 1)', "--with-metrics"], tmp_path,
                  lines=b'{"a":1}\n{"a":2}\n{"a":3}\n')
    import time

    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out == b""
    assert err.endswith(b"kelora: Tracked metrics:\nn            = 3\n"), err


def test_broken_pipe_exits_141(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_text('{"a":1}\n' * 60000)  # ~240 KB of output: more than a pipe buffer
    proc = subprocess.Popen([KELORA_BIN, "-j", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env())
    assert proc.stdout.readline() == b"a=1\n"
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 141, err
    assert err == b""


def test_broken_pipe_through_head(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_text('{"a":1}\n' * 60000)
    script = f'"{KELORA_BIN}" -j big.jsonl -F json | head -1; echo "status=${{PIPESTATUS[0]}}"'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, cwd=tmp_path, env=clean_env(), timeout=60)
    assert proc.stdout == b'{"a":1}\nstatus=141\n'
    assert b"Traceback" not in proc.stderr


def test_no_input_on_a_terminal_is_a_usage_error(tmp_path):
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([KELORA_BIN, "-j"], stdin=slave, capture_output=True, cwd=tmp_path,
                              env=clean_env(), timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.startswith(b"error: no input files or stdin provided\n")
    assert b"Usage: kelora [OPTIONS] [FILES]..." in proc.stderr


def test_terminal_stdin_with_a_file_is_fine(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"a":1}\n')
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([KELORA_BIN, "-j", "a.jsonl"], stdin=slave, capture_output=True, cwd=tmp_path,
                              env=clean_env(), timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"a=1\n"


def test_internal_error_exits_134_without_traceback(monkeypatch, capsys):
    """Reference §6.2: 134 for an internal panic; a bug must not show a Python traceback."""
    from kelora.cli import app as cli

    def boom(args, env=None):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cli, "run_command", boom)
    monkeypatch.delenv("KELORA_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-j"])
    assert exit_info.value.code == 134
    err = capsys.readouterr().err
    assert err.startswith("kelora: internal error: RuntimeError: simulated bug (this is a bug in kelora")
    assert "Traceback" not in err
