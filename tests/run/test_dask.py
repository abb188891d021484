"""--engine dask: on a LocalCluster(n_workers=2, processes=True) the run gives byte-identical
output, --stats=json and --metrics=json to the sequential run; a worker with another secret
stops the run; a killed worker neither duplicates nor loses lines; what Dask cannot run safely
is refused before anything is read.

Skipped only when Dask cannot be imported (``make test`` installs it: the dev extra includes
kelora[dask]).  One cluster serves the module (``--scheduler``); one test starts kelora's own.
"""
import gzip
import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.conftest import KELORA_BIN  # noqa: E402

SECRET = "dask-test-secret-0123456789abcdef"
GEN = [Path(__file__).resolve().parents[3] / "shared" / "bench" / "gen_events.py",
       Path("/work/shared/bench/gen_events.py")]


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                     dashboard_address=None, silence_logs=logging.CRITICAL, env={"KELORA_SECRET": SECRET})
    yield c
    c.close()


def _kelora(args, stdin=None, secret=SECRET, timeout=180, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KELORA_", "DASK_"))}
    env.update(env_extra or {})
    if secret is not None:
        env["KELORA_SECRET"] = secret
    return subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True, env=env, timeout=timeout)


def _stats(stderr_or_out: bytes) -> dict:
    data = json.loads(stderr_or_out)
    data.pop("throughput", None)  # the run's duration
    return data


def _same_as_sequential(cluster, args, stdin=None, extra=("--batch-size", "97"), env_extra=None):
    """Events (and stderr), --metrics=json and --stats=json of the Dask run equal the sequential
    run's (the two reports come from one run: metrics, then stats, on stdout)."""
    dask = ["--engine", "dask", "--scheduler", cluster.scheduler_address, *extra]
    for flags in ((), ("--metrics=json", "--stats=json")):
        seq = _kelora([*args, *flags], stdin)
        got = _kelora([*args, *flags, *dask], stdin, env_extra=env_extra)
        assert got.returncode == seq.returncode, got.stderr
        assert got.stderr == seq.stderr
        if not flags:
            assert got.stdout == seq.stdout
            continue
        seq_metrics, _, seq_stats = seq.stdout.partition(b'\n{\n  "format"')
        got_metrics, _, got_stats = got.stdout.partition(b'\n{\n  "format"')
        assert got_metrics == seq_metrics and seq_stats
        assert _stats(b'{"format"' + got_stats) == _stats(b'{"format"' + seq_stats)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "events.jsonl"
    gen = next((g for g in GEN if g.is_file()), None)
    if gen is not None:
        with open(path, "wb") as out:
            subprocess.run([sys.executable, str(gen), "3000", "--seed", "7"], stdout=out, check=True)
    else:  # the shared benchmark kit is not beside the checkout: events of the same shape
        rng = random.Random(7)
        with open(path, "w") as out:
            for i in range(3000):
                out.write(json.dumps({"timestamp": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                                      "level": rng.choice(["INFO", "WARN", "ERROR"]),
                                      "user_email": f"user{rng.randrange(300)}@example.com",
                                      "status": rng.choice([200, 200, 404, 500]),
                                      "message": "hello " * rng.randrange(5)}) + "\n")
    return path


SCRIPT = ["-e", 'e.user = pseudonym(e.user_email, "users"); e.user_email = ()',
          "--filter", "e.status >= 400",
          "-e", 'track_freq("status", e.status); track_unique("users", e.user); track_inc("n")']


def test_bench_data_same_output_stats_and_metrics(cluster, bench_data):
    _same_as_sequential(cluster, ["-j", str(bench_data), *SCRIPT, "-F", "json"])


@pytest.fixture(scope="module")
def ragged(tmp_path_factory):
    d = tmp_path_factory.mktemp("ragged")
    rows = [b'{"i": %d, "user": "u%d", "status": %d}' % (i, i % 7, 200 + i % 4 * 100) for i in range(400)]
    (d / "crlf.jsonl").write_bytes(b"".join(r + b"\r\n" for r in rows[:150]))
    (d / "nofinal.jsonl").write_bytes(b"\n".join(rows[150:300]))  # no final newline
    long = b'{"i": 9999, "user": "long", "status": 500, "pad": "' + b"x" * 300_000 + b'"}'
    (d / "long.jsonl").write_bytes(b"\n".join([*rows[300:320], long, b"not json", b"", *rows[320:]]) + b"\n")
    (d / "more.jsonl.gz").write_bytes(gzip.compress(b"".join(r + b"\n" for r in rows[::3])))
    csv = [b"i,user,status"] + [b"%d,u%d,%d" % (i, i % 5, 200 + i % 3 * 100) for i in range(300)]
    csv.insert(50, b'50,"two\nlines",500')
    (d / "data.csv").write_bytes(b"\n".join(csv) + b"\n")
    return d


def test_ragged_inputs_same_output_stats_and_metrics(cluster, ragged):
    files = [str(ragged / n) for n in ("crlf.jsonl", "nofinal.jsonl", "long.jsonl", "more.jsonl.gz")]
    script = ["-e", 'e.u = pseudonym(e.user, "users"); track_unique("u", e.u); track_sum("s", e.status)',
              "--filter", "e.status >= 300"]
    _same_as_sequential(cluster, ["-j", *files, *script, "--max-line-bytes", "100000"])
    _same_as_sequential(cluster, ["-f", "csv", str(ragged / "data.csv"), "-e", 'track_freq("status", e.status)',
                                  "-F", "csv", "-k", "i,user,status"])
    stdin = (ragged / "long.jsonl").read_bytes() + (ragged / "crlf.jsonl").read_bytes()
    _same_as_sequential(cluster, ["-j", *script, "-F", "json"], stdin=stdin)


def test_worker_warnings_and_errors_reach_the_user_in_order(cluster, ragged):
    """A worker's stderr is not the user's: -v errors come back with the batch."""
    _same_as_sequential(cluster, ["-j", str(ragged / "long.jsonl"), "-v", "-e", "e.x = e.status / (e.i % 2)"])


def test_a_worker_with_another_secret_stops_the_run(cluster, bench_data):
    got = _kelora(["-j", str(bench_data), *SCRIPT, "--engine", "dask", "--scheduler", cluster.scheduler_address],
                  secret="another-secret-than-the-workers-have")
    assert got.returncode == 2
    assert got.stdout == b""
    err = got.stderr.decode()
    assert "derived a different pseudonym key" in err and "Traceback" not in err
    assert SECRET not in err and "another-secret" not in err


def test_a_killed_worker_neither_duplicates_nor_loses_lines(cluster, tmp_path):
    from distributed import Client

    lines = b"".join(b'{"i": %d}\n' % i for i in range(4000))
    # each event does some work, so the run is still going when a worker is killed
    script = ["-e", "let s = 0; for k in range(0, 300) { s += k }; e.s = s", "--batch-size", "40"]
    proc = subprocess.Popen([KELORA_BIN, "-j", *script, "--engine", "dask", "--scheduler", cluster.scheduler_address],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "KELORA_SECRET": SECRET})
    proc.stdin.write(lines)
    proc.stdin.close()
    first = proc.stdout.readline()  # batches are being written
    with Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    still_running = proc.poll() is None
    os.kill(victim, 9)
    rest = proc.stdout.read()
    proc.wait(timeout=180)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    expected = _kelora(["-j", *script], stdin=lines).stdout
    assert first + rest == expected
    assert still_running, "the run ended before the worker was killed: make it longer"
    with Client(cluster, set_as_default=False) as client:  # the nanny brought the worker back
        client.wait_for_workers(2, timeout=60)


def test_batch_timeout_sends_a_quiet_pipes_partial_batch(cluster):
    from tests.run.test_batch_timeout import run_slow_writer

    assert run_slow_writer(["--engine", "dask", "--scheduler", cluster.scheduler_address], quiet_s=12)


def test_kelora_starts_its_own_local_cluster(bench_data):
    """Without --scheduler: a quiet LocalCluster of --threads processes; the secret reaches the
    workers through their environment, and nothing but kelora's own output is printed."""
    args = ["-j", str(bench_data), *SCRIPT, "-F", "logfmt"]
    seq = _kelora(args)
    got = _kelora([*args, "--engine", "dask", "--threads", "2", "--batch-size", "500"])
    assert got.returncode == 0, got.stderr
    assert got.stdout == seq.stdout
    assert got.stderr == seq.stderr


@pytest.mark.parametrize("args, secret, message", [
    (["-e", 'e.u = pseudonym(e.user, "u")'], None, "pseudonym() with --engine dask needs a secret"),
    (["--allow-fs-writes", "-e", 'append_file("/tmp/x", "y")'], SECRET, "append_file cannot be used with --engine dask"),
    (["--scheduler", "tcp://10.1.2.3:8786"], SECRET, "is not encrypted"),
    (["--escrow", "e.db"], SECRET, "--escrow is not supported with --engine dask"),
    (["--scheduler", "tcp://127.0.0.1"], SECRET, "is not a Dask scheduler address"),
    (["--scheduler", "127.0.0.1:notaport"], SECRET, "is not a Dask scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:8786/extra"], SECRET, "is not a Dask scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:99999"], SECRET, "is not a Dask scheduler address"),
    (["--scheduler", "ws://127.0.0.1:8786"], SECRET, "is not a Dask scheduler address"),
    (["-e", 'if e.user == "a" { e.s = sample_every(2) }'], SECRET, "not available in --engine dask mode"),
], ids=["ephemeral-key", "append_file", "plain-tcp", "escrow", "no-port", "bad-port", "path", "port-range",
        "ws", "conditional-sample_every"])
def test_refused_before_reading(args, secret, message):
    got = _kelora(["-j", "--engine", "dask", *args], stdin=b'{"user": "a"}\n', secret=secret)
    assert got.returncode == 2
    assert got.stdout == b""
    assert message in got.stderr.decode()


def test_plain_tcp_is_allowed_with_insecure_transport():
    from kelora.errors import UsageError
    from kelora.run.dask_engine import check_address

    check_address("tcp://10.1.2.3:8786", insecure=True)
    check_address("tls://10.1.2.3:8786", insecure=False)
    check_address("tcp://127.0.0.1:8786", insecure=False)  # never leaves the machine
    check_address("localhost:8786", insecure=False)
    check_address("tcp://[::1]:8786", insecure=False)
    for remote in ("tcp://scheduler.internal:8786", "10.1.2.3:8786", "tcp://localhost.example.com:8786",
                   "tcp://[2001:db8::1]:8786"):
        with pytest.raises(UsageError, match="is not encrypted"):
            check_address(remote, insecure=False)
    with pytest.raises(UsageError, match="is not a Dask scheduler address"):  # (tcp and tls only)
        check_address("ws://10.1.2.3:8786", insecure=True)


# ---------------------------------------------------------------------------- over TLS

TLS = "DASK_DISTRIBUTED__COMM__TLS__"


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A cluster that speaks only TLS (throwaway CA and certificates from ``Security.temporary``,
    made with ``cryptography``), and the Dask settings a client needs to reach it, as a user
    gives them to kelora: Dask's own environment variables (docs/dask.md)."""
    from distributed import LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    d = tmp_path_factory.mktemp("tls")
    files = {}
    for name, pem in (("CA_FILE", security.tls_ca_file), ("CLIENT__CERT", security.tls_client_cert),
                      ("CLIENT__KEY", security.tls_client_key)):
        path = d / f"{name.lower()}.pem"
        path.write_text(pem)
        path.chmod(0o600)
        files[TLS + name] = str(path)
    c = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", protocol="tls://",
                     security=security, dashboard_address=None, silence_logs=logging.CRITICAL,
                     env={"KELORA_SECRET": SECRET})
    assert c.scheduler_address.startswith("tls://")
    yield c, files
    c.close()


def test_tls_scheduler_same_output_stats_and_metrics(tls_cluster, bench_data):
    """Events, metrics and stats through a tls:// scheduler (the key check included) are the
    sequential run's, byte for byte; the certificates come from Dask's configuration."""
    cluster, settings = tls_cluster
    _same_as_sequential(cluster, ["-j", str(bench_data), *SCRIPT, "-F", "json"], env_extra=settings)


def test_tls_scheduler_is_not_reached_in_the_clear(tls_cluster, bench_data):
    cluster, _ = tls_cluster
    plain = cluster.scheduler_address.replace("tls://", "tcp://")
    got = _kelora(["-j", str(bench_data), *SCRIPT, "--engine", "dask", "--scheduler", plain])
    assert got.returncode == 1 and got.stdout == b""
    assert b"cannot connect to the Dask scheduler" in got.stderr and b"Traceback" not in got.stderr


def test_tls_scheduler_without_tls_settings_is_refused(tls_cluster, bench_data, tmp_path):
    """No CA or client certificate in Dask's configuration, or one that cannot be read: a usage
    error before anything is read (Dask itself failed with a TypeError, shown as an internal
    error); certificates of another CA: the connection is refused, in one line."""
    cluster, settings = tls_cluster
    args = ["-j", str(bench_data), *SCRIPT, "--engine", "dask", "--scheduler", cluster.scheduler_address]
    missing = tmp_path / "missing.pem"
    for env_extra, code, message in [
        ({}, 2, b"uses TLS, and Dask's configuration names no CA file"),
        ({TLS + "CA_FILE": settings[TLS + "CA_FILE"]}, 2, b"names no client certificate"),
        ({**settings, TLS + "CLIENT__CERT": str(missing)}, 2, str(missing).encode() + b"', which cannot be read"),
    ]:
        got = _kelora(args, env_extra=env_extra)
        assert (got.returncode, got.stdout) == (code, b""), got.stderr
        assert message in got.stderr and b"DASK_DISTRIBUTED__COMM__TLS__CA_FILE" in got.stderr
        assert b"Traceback" not in got.stderr and b"internal error" not in got.stderr
    from distributed.security import Security

    other = Security.temporary()  # a client certificate the cluster's CA did not sign
    wrong = {}
    for name, pem in (("CA_FILE", other.tls_ca_file), ("CLIENT__CERT", other.tls_client_cert),
                      ("CLIENT__KEY", other.tls_client_key)):
        (tmp_path / name).write_text(pem)
        wrong[TLS + name] = str(tmp_path / name)
    got = _kelora(args, env_extra=wrong)
    assert (got.returncode, got.stdout) == (1, b"")
    assert b"cannot connect to the Dask scheduler" in got.stderr and b"Traceback" not in got.stderr


def test_local_cluster_under_require_encryption(bench_data):
    """Dask's configuration requires TLS everywhere: kelora's own cluster gets throwaway
    certificates (it failed to start, an internal error)."""
    args = ["-j", str(bench_data), *SCRIPT, "-F", "logfmt"]
    seq = _kelora(args)
    got = _kelora([*args, "--engine", "dask", "--threads", "2", "--batch-size", "500"],
                  env_extra={"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"})
    assert got.returncode == 0, got.stderr
    assert (got.stdout, got.stderr) == (seq.stdout, seq.stderr)


def test_without_dask_installed_a_clear_error():
    code = ("import sys; sys.modules['distributed'] = None; sys.argv = ['kelora', '-j', '--engine', 'dask'];"
            "from kelora.cli.app import main; main()")
    got = subprocess.run([sys.executable, "-c", code], input=b'{"a": 1}\n', capture_output=True, timeout=60)
    assert got.returncode == 2
    assert b"pip install 'kelora[dask]'" in got.stderr


def test_a_connect_that_never_completes_is_given_up_with_one_line():
    """A port that is not a Dask scheduler (a web server, the dashboard) never finishes Dask's
    handshake, which its own timeout does not cover: kelora gives up after its deadline."""
    from kelora.errors import FatalError
    from kelora.run.dask_engine import _client_within

    started = time.monotonic()
    with pytest.raises(FatalError, match="no Dask scheduler answered"):
        _client_within("tcp://127.0.0.1:8787", 0.2, lambda: time.sleep(30))
    assert time.monotonic() - started < 10
    with pytest.raises(FatalError, match="ValueError: bad"):
        _client_within("tcp://x:1", 1, lambda: (_ for _ in ()).throw(ValueError("bad")))


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    spawned = b"spawn_main" in fh.read()
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid and spawned:
                out.append(int(entry))
    return out


def test_the_run_survives_losing_every_worker_at_once():
    """kelora's own cluster of one worker, killed mid-run: the nanny starts another and the lost
    batches run again, because the plan is a task's result that the scheduler can compute again
    (when it was scattered data, the run ended with FutureCancelledError)."""
    lines = b"".join(b'{"i": %d}\n' % i for i in range(6000))
    script = ["-e", "let s = 0; for k in range(0, 300) { s += k }; e.s = s", "--batch-size", "40"]
    proc = subprocess.Popen([KELORA_BIN, "-j", *script, "--engine", "dask", "--threads", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "KELORA_SECRET": SECRET})
    proc.stdin.write(lines)
    proc.stdin.close()
    first = proc.stdout.readline()  # the worker has the plan and runs batches
    victims = _children(proc.pid)
    still_running = proc.poll() is None
    for victim in victims:
        os.kill(victim, 9)
    rest = proc.stdout.read()
    proc.wait(timeout=180)
    err = proc.stderr.read()
    assert victims and still_running, "no worker to kill, or the run ended first: make it longer"
    assert proc.returncode == 0, err
    assert first + rest == _kelora(["-j", *script], stdin=lines).stdout


@pytest.mark.parametrize("delay", [0.6, 0.9, 1.2])
def test_ctrl_c_while_the_local_cluster_starts_shows_no_traceback(bench_data, delay):
    """(Dask's own exit hook failed on a half-started cluster and printed a traceback.)"""
    import signal

    proc = subprocess.Popen([KELORA_BIN, "-j", str(bench_data), "-F", "json", "--engine", "dask", "--threads", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "KELORA_SECRET": SECRET})
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)  # (as Ctrl-C: the half-started workers get it too)
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode in (0, 130)


def test_blank_lines_before_the_format_is_chosen(tmp_path):
    """(A batch of blank lines reached the workers before the format was chosen: each chose its
    own, and two blank lines became `line` events.)"""
    (tmp_path / "b.txt").write_text("\n\n")
    (tmp_path / "w.txt").write_text("hello\nworld\n")
    args = [str(tmp_path / "b.txt"), str(tmp_path / "w.txt"), "-F", "json"]
    dask = ["--engine", "dask", "--threads", "2"]
    assert _kelora([*args, *dask]).stdout == _kelora(args).stdout == b'{"line":"hello"}\n{"line":"world"}\n'
    assert _stats(_kelora([*args, "--stats=json", *dask]).stdout) == _stats(_kelora([*args, "--stats=json"]).stdout)
