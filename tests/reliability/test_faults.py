"""Faults around the run: closed stdout, signals, failing -o / --metrics-file targets, full disk.

These run the installed command in a subprocess: exit codes, signals and pipes are process facts.
"""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time

import pytest

from tests.conftest import KELORA_BIN
from tests.reliability.conftest import assert_no_traceback, run, run_bin
from tests.reliability.test_bad_input import _drop_dac_capabilities

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def _big_input(tmp_path, n=200_000):
    f = tmp_path / "big.jsonl"
    f.write_bytes(b"".join(b'{"i":%d,"msg":"hello world"}\n' % i for i in range(n)))
    return f


# ----------------------------------------------------------------------------------- SIGPIPE

@pytest.mark.parametrize("extra", [[], ["-F", "json"], ["--with-stats"], ["-e", "track_sum(\"n\", 1)", "--with-metrics"]])
def test_stdout_closed_early_exits_141_quietly(tmp_path, extra):
    big = _big_input(tmp_path)
    script = f'"{KELORA_BIN}" -j {" ".join(map(repr, extra))} "{big}" | head -1; exit ${{PIPESTATUS[0]}}'
    p = subprocess.run(["bash", "-c", script], capture_output=True, env=ENV, timeout=60)
    assert p.returncode == 141, p.stderr
    assert p.stdout.count(b"\n") == 1
    assert b"Traceback" not in p.stderr and b"BrokenPipe" not in p.stderr, p.stderr


def test_stdout_closed_before_stats_json(tmp_path):
    """-s output goes to stdout after the run: a reader that left still gives 141, no traceback."""
    big = _big_input(tmp_path, 50_000)
    p = subprocess.run(["bash", "-c", f'"{KELORA_BIN}" -j "{big}" --stats=json | head -c 1; exit ${{PIPESTATUS[0]}}'],
                       capture_output=True, env=ENV, timeout=60)
    assert p.returncode in (0, 141), p.stderr  # 0 when the whole document fit the pipe buffer
    assert b"Traceback" not in p.stderr, p.stderr


# ----------------------------------------------------------------------------------- signals

def _interrupted_run(tmp_path, sig, extra=()):
    metrics_file = tmp_path / "metrics.json"
    out_file = tmp_path / "out.json"
    ready = tmp_path.parent / f"{tmp_path.name}.ready"
    args = [KELORA_BIN, "-j", "-F", "json", "-e", 'track_sum("n", 1)', "--allow-fs-writes",
            "-e", f'if e.i == 4 {{ append_file("{ready}", "ready") }}', "-m=json", "--stats=json",
            "--metrics-file", str(metrics_file), *extra]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    for i in range(5):
        p.stdin.write(b'{"i":%d}\n' % i)
    p.stdin.flush()
    # wait until the five lines were processed (the script says so in a file); stdin stays open
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert ready.exists(), p.stderr.read() if p.poll() is not None else "no progress"
    ready.unlink()
    p.send_signal(sig)
    try:
        code = p.wait(timeout=20)  # stdin is still open: only the signal can end the run
    finally:
        p.stdin.close()
    out, err = p.stdout.read(), p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    return code, out, err, metrics_file, out_file


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_flushes_metrics_stats_and_metrics_file(tmp_path, sig, code):
    got, out, err, metrics_file, _ = _interrupted_run(tmp_path, sig)
    assert got == code, err
    assert "Traceback" not in err, err
    text = out.decode()
    assert '"n": 5' in text  # -m=json on stdout
    stats = json.loads(text[text.index('{\n  "format"'):])
    assert stats["lines"]["read"] == 5 and stats["events"]["created"] == 5
    assert json.loads(metrics_file.read_text()) == {"n": 5}
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")], os.listdir(tmp_path)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_leaves_no_partial_output_file(tmp_path, sig, code):
    out_file = tmp_path / "export.json"
    out_file.write_text("previous good export\n")
    got, _, err, metrics_file, _ = _interrupted_run(tmp_path, sig, ["-o", str(out_file)])
    assert got == code, err
    assert out_file.read_text() == "previous good export\n"  # not clobbered by a partial run
    assert sorted(os.listdir(tmp_path)) == ["export.json", "metrics.json"]


# ----------------------------------------------------------------------------------- -o targets

def test_output_into_missing_folder(tmp_path):
    target = tmp_path / "no" / "such" / "out.json"
    res = run_bin(["-j", "-o", str(target)], stdin=b'{"a":1}\n')
    assert_no_traceback(res)
    assert res.code == 1
    assert f"kelora: Failed to create output file '{target}': No such file or directory" in res.err
    assert not target.exists()


def test_output_into_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    target = folder / "out.json"
    preexec = _drop_dac_capabilities if os.geteuid() == 0 else None  # root ignores the mode
    try:
        res = run_bin(["-j", "-o", str(target)], stdin=b'{"a":1}\n', preexec_fn=preexec)
    finally:
        folder.chmod(0o755)
    assert_no_traceback(res)
    assert res.code == 1, res.err
    assert f"kelora: Failed to create output file '{target}': Permission denied" in res.err
    assert os.listdir(folder) == []


def test_output_to_dev_full_fails_and_keeps_the_device(tmp_path):
    before = os.stat("/dev/full")
    assert stat.S_ISCHR(before.st_mode)
    big = _big_input(tmp_path, 20_000)
    res = run_bin(["-j", "-o", "/dev/full", str(big)])
    assert_no_traceback(res)
    assert res.code == 1
    assert "No space left on device" in res.err and "/dev/full" in res.err
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev  # not renamed over


def test_output_to_dev_null_and_stdout_keep_the_devices(tmp_path):
    res = run_bin(["-j", "-o", "/dev/null", "--metrics-file", "/dev/null", "-e", 'track_sum("n", 1)'],
                  stdin=b'{"a":1}\n')
    assert res.code == 0 and res.out == b""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    res = run_bin(["-j", "-F", "json", "-o", "/dev/stdout"], stdin=b'{"a":1}\n')
    assert res.code == 0 and res.out == b'{"a":1}\n'
    assert os.path.islink("/dev/stdout") or not os.path.isfile("/dev/stdout")


def _mount_tmpfs(path, size="256k"):
    path.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    return p.returncode == 0


def test_full_disk_gives_a_clear_error_and_no_partial_file(tmp_path):
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt):
        pytest.skip("cannot mount a tmpfs here; test_output_to_dev_full_fails_and_keeps_the_device "
                    "covers ENOSPC")
    try:
        (mnt / "export.json").write_text("previous\n")
        big = _big_input(tmp_path, 50_000)
        res = run_bin(["-j", "-F", "json", "-o", str(mnt / "export.json"), str(big)])
        assert_no_traceback(res)
        assert res.code == 1
        assert f"Failed to write output to {mnt / 'export.json'}: No space left on device" in res.err
        assert os.listdir(mnt) == ["export.json"]  # no temporary file left
        assert (mnt / "export.json").read_text() == "previous\n"
        # --metrics-file on a full disk: clear error, exit 1, no temporary file
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        res = run_bin(["-j", "-e", "track_unique(\"u\", e.msg + e.i)", "--metrics-file", str(mnt / "m.json"),
                       str(big)])
        assert_no_traceback(res)
        assert res.code == 1
        assert f"Failed to write metrics file '{mnt / 'm.json'}'" in res.err
        assert sorted(os.listdir(mnt)) == ["export.json", "filler"]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# ----------------------------------------------------------------------------------- metrics file

def test_metrics_file_is_written_atomically(tmp_path, monkeypatch):
    """The file is written next to the target and renamed: a failure leaves the old one intact."""
    import kelora.run.pipeline as pipeline

    target = tmp_path / "metrics.json"
    target.write_text('{"old": 1}')
    seen = []

    def failing_replace(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), json.loads(open(src).read())))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    res = run(["-j", "-e", 'track_sum("n", 1)', "--metrics-file", str(target)], b'{"a":1}\n{"a":2}\n')
    assert res.code == 1
    assert f"Failed to write metrics file '{target}': No space left on device" in res.err
    assert seen and seen[0][0] == str(tmp_path) and seen[0][2] == {"n": 2}  # complete before rename
    assert target.read_text() == '{"old": 1}'
    assert os.listdir(tmp_path) == ["metrics.json"]
    monkeypatch.undo()
    res = run(["-j", "-e", 'track_sum("n", 1)', "--metrics-file", str(target)], b'{"a":1}\n')
    assert res.code == 0 and json.loads(target.read_text()) == {"n": 1}
    assert pipeline  # imported for the patch target's module


def test_metrics_file_into_missing_folder(tmp_path):
    target = tmp_path / "nope" / "m.json"
    res = run(["-j", "-e", 'track_sum("n", 1)', "--metrics-file", str(target)], b'{"a":1}\n')
    assert res.code == 1
    assert f"Failed to write metrics file '{target}'" in res.err


def test_output_file_is_committed_only_on_success(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous\n")
    res = run(["-j", "-F", "json", "-o", str(target), "--strict", "-e", "e.x = e.a.to_int() + 1"],
              b'{"a":1}\n{"a":"bad"}\n')
    assert res.code == 1
    # a fatal --strict abort keeps what was written so far, like stdout ("earlier output kept")
    text = target.read_text()
    assert text in ("previous\n", '{"a":1,"x":2}\n')
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


@pytest.mark.parametrize("extra", [["-F", "json"], ["-s"], ["--stats=json"], ["-e", 'track_sum("n", 1)', "-m"],
                                   ["-q", "--with-stats"]])
def test_stdout_on_a_full_device_is_a_clear_error(tmp_path, extra):
    big = _big_input(tmp_path, 5_000)
    with open("/dev/full", "wb") as full:
        p = subprocess.run([KELORA_BIN, "-j", *extra, str(big)], stdout=full, stderr=subprocess.PIPE,
                           env=ENV, timeout=60)
    err = p.stderr.decode()
    assert "Traceback" not in err, err
    if extra == ["-q", "--with-stats"]:  # nothing goes to stdout: the run succeeds
        assert p.returncode == 0, err
        return
    assert p.returncode == 1, err
    assert "No space left on device" in err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_with_parallel_and_an_open_stdin(tmp_path, sig, code):
    p = subprocess.Popen([KELORA_BIN, "-j", "--parallel", "--batch-size", "2", "-e", 'track_sum("n", 1)',
                          "-m=json", "--stats=json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    try:
        p.stdin.write(b"".join(b'{"a":%d}\n' % i for i in range(6)))
        p.stdin.flush()
        time.sleep(1.5)
        os.killpg(p.pid, sig) if sig == signal.SIGINT else p.send_signal(sig)
        got = p.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        pytest.fail("kelora --parallel did not stop on the signal")
    finally:
        p.stdin.close()
        p.stdout.close()
        p.stderr.close()
    assert got == code


def test_atomic_outputs_keep_the_file_mode(tmp_path):
    """The temporary file of an atomic write gets the target's mode (or the umask's), not 0600."""
    out, metrics = tmp_path / "o.json", tmp_path / "m.json"
    args = ["-j", "-o", str(out), "-e", 'track_sum("n", 1)', "--metrics-file", str(metrics)]
    umask = os.umask(0o022)
    try:
        assert run(args, b'{"a":1}\n').code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644 == stat.S_IMODE(metrics.stat().st_mode)
        out.chmod(0o640)
        metrics.chmod(0o604)
        assert run(args, b'{"a":2}\n').code == 0
        assert (stat.S_IMODE(out.stat().st_mode), stat.S_IMODE(metrics.stat().st_mode)) == (0o640, 0o604)
        assert out.read_text() == "a=2\n"
    finally:
        os.umask(umask)


@pytest.mark.parametrize("target", ["folder", ""])
def test_output_to_a_directory_or_empty_name(tmp_path, target):
    (tmp_path / "folder").mkdir()
    before = sorted(os.listdir(tmp_path))
    p = run_bin(["-j", "-o", target], stdin=b'{"a":1}\n', cwd=str(tmp_path))
    assert_no_traceback(p)
    assert p.code == 1 and "kelora: Failed to" in p.err and "output file" in p.err
    assert sorted(os.listdir(tmp_path)) == before  # no temporary file left behind


@pytest.mark.parametrize("flag", ["-o", "--metrics-file", "--rotation-map"])
@pytest.mark.parametrize("dangling", [False, True])
def test_atomic_outputs_write_through_a_symlink(tmp_path, flag, dangling):
    """As Kelora's File::create: the link stays a link and its target gets the output (the
    rename used to replace the link by a regular file and leave the target unchanged)."""
    target, link = tmp_path / "sub" / "target.txt", tmp_path / "link.txt"
    target.parent.mkdir()
    if not dangling:
        target.write_text("old\n")
    link.symlink_to(os.path.join("sub", "target.txt"))
    args = {"-o": ["-o", str(link), "-F", "json"],
            "--metrics-file": ["-e", 'track_sum("n", 1)', "--metrics-file", str(link)],
            "--rotation-map": ["-e", 'e.u = pseudonym(e.a.to_string(), "d")', "--rotation-map", str(link)]}[flag]
    env = {"KELORA_SECRET": "new-secret-0123456789abcdef", "KELORA_SECRET_PREVIOUS": "old-secret-0123456789abcdef"}
    p = run_bin(["-j", *args], stdin=b'{"a":1}\n', environ=env, cwd=str(tmp_path))
    assert_no_traceback(p)
    assert p.code == 0, p.err
    assert link.is_symlink() and os.readlink(link) == os.path.join("sub", "target.txt")
    text = target.read_text()
    assert text != "old\n" and text, text
    if flag == "-o":
        assert json.loads(text) == {"a": 1}
    assert sorted(os.listdir(target.parent)) == ["target.txt"]  # (no temporary file left)
