"""--parallel gives byte-identical output and identical metrics/stats to a sequential run."""
from __future__ import annotations

import json
import random
import subprocess

import pytest

from tests.conftest import KELORA_BIN
from tests.cli.test_cli_cases import clean_env

SECRET = {"KELORA_SECRET": "kelora-bench-secret"}


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    rnd = random.Random(42)
    users = [f"user{i}@example.{rnd.choice(['com', 'org', 'de'])}" for i in range(300)]
    path = tmp_path_factory.mktemp("par") / "events.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(4000):
            ev = {"timestamp": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
                  "level": rnd.choice(["INFO", "INFO", "WARN", "ERROR"]),
                  "user_email": rnd.choice(users), "session_token": f"{rnd.getrandbits(64):016x}",
                  "status": rnd.choice([200, 200, 201, 404, 500, 503]),
                  "duration_ms": round(rnd.uniform(1, 900), 2), "path": rnd.choice(["/a", "/b", "/api/x"])}
            if i % 97 == 0:
                fh.write("{not json\n")  # parse errors must be counted once, in order
            if i % 250 == 0:
                del ev["user_email"]  # exec errors too
            fh.write(json.dumps(ev) + "\n")
    return path


CASES = {
    "passthrough": ["-F", "json"],
    "filter": ["--filter", "e.status >= 500", "-F", "json"],
    "pseudonymize": ["-e", 'e.user_id = pseudonym(e.user_email, "users")',
                     "-e", 'e.session_id = pseudonym(e.session_token, "sessions")',
                     "-e", "e.user_email = (); e.session_token = ()", "-F", "json"],
    "csv": ["-k", "timestamp,status,duration_ms", "-F", "csv"],
    "metrics": ["-e", 'track_unique("users", pseudonym(e.user_email, "users")); track_freq("status", e.status); '
                      'track_sum("ms", e.duration_ms); track_percentiles("lat", e.duration_ms); '
                      'track_cardinality("paths", e.path); track_top("paths_top", e.path, 2); track_avg("avg", e.duration_ms)',
                "--metrics=json"],
    "stats": ["--filter", "e.level != \"INFO\"", "--stats=json"],
}


def _run(args, path, extra=()):
    proc = subprocess.run([KELORA_BIN, "-j", str(path), *args, *extra], capture_output=True,
                          env=clean_env(SECRET), timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _strip_throughput(out: bytes) -> object:
    doc = json.loads(out)
    doc.pop("throughput", None)
    return doc


@pytest.mark.parametrize("name", list(CASES))
def test_parallel_equals_sequential(name, events_file):
    args = CASES[name]
    seq = _run(args, events_file)
    par = _run(args, events_file, ["--parallel", "--threads", "2", "--batch-size", "333"])
    assert seq[0] == par[0]
    if name == "stats":
        assert _strip_throughput(seq[1]) == _strip_throughput(par[1])
    else:
        assert seq[1] == par[1]
    assert seq[1], "the case produced no output at all"
    assert seq[2].replace(b"\r", b"") == par[2].replace(b"\r", b"")  # same summary on stderr


# --------------------------------------------------------------------------- byte ranges
# A plain file is cut into byte ranges by the parent and its batches are written by the workers
# themselves, in turn; these cases pin what a sequential run does at the edges.

def _pair(tmp_path, args, files, batch="7"):
    seq = _run_files(args, files)
    par = _run_files(args, files, ["--parallel", "--threads", "2", "--batch-size", batch])
    return seq, par


def _run_files(args, files, extra=()):
    proc = subprocess.run([KELORA_BIN, "-j", *map(str, files), *args, *extra], capture_output=True,
                          env=clean_env(SECRET), timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def ragged_files(tmp_path_factory, events_file):
    folder = tmp_path_factory.mktemp("ragged")
    lines = events_file.read_bytes().splitlines(keepends=True)[:500]
    a = folder / "a.jsonl"
    a.write_bytes(b"\n" + b"".join(lines[:300]) + b"\r\n")  # leading blank line, CRLF blank end
    b = folder / "b.jsonl"
    b.write_bytes(b"".join(lines[300:]).rstrip(b"\n"))  # no newline at the end
    return a, b


@pytest.mark.parametrize("batch", ["1", "7", "299", "1000"])
def test_ranges_across_files_and_ragged_ends(ragged_files, batch, tmp_path):
    seq, par = _pair(tmp_path, ["-F", "json", "-e", "e.n = meta.line_num"], ragged_files, batch)
    assert seq[0] == par[0] == 0
    assert seq[1] == par[1] and seq[1].count(b"\n") == 500 - 6  # six lines are not JSON
    assert seq[2] == par[2]
    seq, par = _pair(tmp_path, ["--stats=json"], ragged_files, batch)
    assert _strip_throughput(seq[1]) == _strip_throughput(par[1])


def test_skip_lines_spanning_a_file(ragged_files, tmp_path):
    seq, par = _pair(tmp_path, ["-F", "json", "--skip-lines", "320", "-e", "e.n = meta.line_num"], ragged_files)
    # 502 lines (two blank ones added); of the 182 left two are not JSON
    assert seq == par and seq[1].count(b"\n") == 180 and seq[1].endswith(b'"n":502}\n')


@pytest.fixture(scope="module")
def clean_file(tmp_path_factory, events_file):
    path = tmp_path_factory.mktemp("clean") / "clean.jsonl"
    path.write_bytes(b"".join(x for x in events_file.read_bytes().splitlines(keepends=True) if x.startswith(b'{"')))
    return path


def test_strict_stop_writes_nothing_after_the_failing_event(clean_file, tmp_path):
    args = ["--strict", "-e", "if e.status == 503 && e.duration_ms > 800.0 { e.x.y = 1 }", "-F", "json"]
    seq, par = _pair(tmp_path, args, [clean_file])
    assert seq[0] == par[0] == 1
    assert seq[1] == par[1] and seq[1]  # the events before the first failure, nothing after
    assert seq[2] == par[2]


def test_exit_stops_like_a_sequential_run(events_file, tmp_path):
    seq, par = _pair(tmp_path, ["-e", "if e.status == 503 { exit(3) }", "-F", "json"], [events_file])
    assert seq[0] == par[0] == 3 and seq[1] == par[1] and seq[1]


def test_output_file_and_print_keep_their_streams(events_file, tmp_path):
    script = ["-e", 'if e.status == 500 { print("five hundred " + e.path) }', "-F", "csv", "-k", "status,path"]
    seq = _run_files([*script, "-o", str(tmp_path / "seq.csv")], [events_file])
    par = _run_files([*script, "-o", str(tmp_path / "par.csv")], [events_file], ["--parallel", "--batch-size", "50"])
    assert seq[0] == par[0] == 0
    assert seq[1] == par[1] and b"five hundred" in seq[1]  # print() went to stdout, in order
    assert (tmp_path / "seq.csv").read_bytes() == (tmp_path / "par.csv").read_bytes()
    assert (tmp_path / "par.csv").read_bytes().count(b"status,path") == 1  # one header


def test_unordered_writes_every_batch_once(events_file, tmp_path):
    seq, par = _run_files(["-F", "json"], [events_file]), _run_files(
        ["-F", "json"], [events_file], ["--parallel", "--unordered", "--batch-size", "13"])
    assert seq[0] == par[0] == 0
    assert sorted(seq[1].splitlines()) == sorted(par[1].splitlines())


def test_a_closed_pipe_ends_the_run_with_141(events_file):
    p = subprocess.Popen([KELORA_BIN, "-j", str(events_file), "-F", "json", "--parallel", "--batch-size", "10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(SECRET))
    p.stdout.readline()
    p.stdout.close()
    assert p.wait(timeout=60) == 141
    assert b"Traceback" not in p.stderr.read()


def test_full_disk_is_a_write_error(events_file):
    proc = subprocess.run([KELORA_BIN, "-j", str(events_file), "-F", "json", "--parallel", "--batch-size", "10",
                           "-o", "/dev/full"], capture_output=True, env=clean_env(SECRET), timeout=60)
    assert proc.returncode == 1
    assert b"No space left on device" in proc.stderr and b"Traceback" not in proc.stderr


def test_nth_line_end_matches_a_plain_scan():
    from kelora.run.batching import nth_line_end

    rnd = random.Random(7)
    for _ in range(3000):
        block = b"".join(b"x" * rnd.randrange(6) + b"\n" for _ in range(rnd.randrange(30))) + b"y" * rnd.randrange(3)
        limit = rnd.randrange(len(block) + 1)
        start, n, guess = rnd.randrange(limit + 1), rnd.randrange(1, 10), rnd.randrange(60)
        expected, pos = -1, start
        for _ in range(n):
            k = block.find(b"\n", pos, limit)
            if k < 0:
                expected = -1
                break
            expected = pos = k + 1
        assert nth_line_end(bytearray(block + b"\n\n"), limit, start, n, guess) == expected


def test_a_killed_worker_ends_the_run_instead_of_hanging_it(tmp_path):
    import os
    import signal
    import time

    big = tmp_path / "big.jsonl"
    big.write_text("".join(f'{{"n":{i},"s":"{"x" * 50}"}}\n' for i in range(200_000)), encoding="utf-8")
    p = subprocess.Popen([KELORA_BIN, "-j", str(big), "--parallel", "--threads", "2", "--batch-size", "100",
                          "-e", "e.t = e.s.len() * e.n", "-F", "json"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env(SECRET))
    children: list[str] = []
    deadline = time.monotonic() + 20
    while not children and time.monotonic() < deadline and p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/task/{p.pid}/children", encoding="ascii") as fh:
                children = fh.read().split()
        except OSError:
            break
        time.sleep(0.02)
    if not children:
        pytest.skip("the run ended before a worker could be seen (or /proc has no children list)")
    os.kill(int(children[0]), signal.SIGKILL)
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("kelora --parallel hung after a worker was killed")
    err = p.stderr.read()
    if code == 0:
        pytest.skip("the killed worker had already finished its last batch")
    assert code == 1
    assert b"worker process" in err and b"died" in err and b"Traceback" not in err


def test_default_batches_of_a_plain_file_are_byte_ranges(tmp_path, events_file):
    """Without --batch-size a plain file goes in ~2 MiB ranges (parallel.RANGE_BYTES): a 6 MB
    file with ragged lines gives the sequential output, stats and line numbers."""
    lines = events_file.read_bytes().splitlines(keepends=True)
    big = tmp_path / "big.jsonl"
    with big.open("wb") as fh:
        for i in range(5):
            fh.write(b"".join(lines))
            fh.write(b'{"pad":"' + b"y" * (3_000_000 if i == 2 else 10) + b'"}\n')  # one line > 2 MiB
    assert big.stat().st_size > 3 * (2 << 20)
    args = ["-e", "e.n = meta.line_num", "-F", "json"]
    seq, par = _run_files(args, [big]), _run_files(args, [big], ["--parallel", "--threads", "2"])
    assert seq == par and seq[0] == 0
    seq, par = _run_files(["--stats=json"], [big]), _run_files(["--stats=json"], [big], ["--parallel"])
    assert _strip_throughput(seq[1]) == _strip_throughput(par[1])


@pytest.mark.parametrize("spec", ["CSV", "csv", " Csv:a:int", "TSV"])
def test_csv_headers_per_file_whatever_the_spelling_of_the_format(tmp_path, spec):
    """-f is case-insensitive and takes annotations: every spelling of csv/tsv reads each file's
    own header under --parallel as the sequential run does (the header of the second file was
    read as a data row when -f was spelled `CSV`)."""
    sep = "\t" if spec.strip().lower().startswith("t") else ","
    files = []
    for name, rows in (("a", ["1", "2"]), ("b", ["3", "4"])):
        path = tmp_path / f"{name}.txt"
        path.write_text(f"a{sep}b\n" + "".join(f"{r}{sep}x\n" for r in rows), encoding="utf-8")
        files.append(str(path))
    runs = [subprocess.run([KELORA_BIN, "-f", spec, *files, *extra, "-F", "json"], capture_output=True,
                           env=clean_env(SECRET)) for extra in ([], ["--parallel", "--threads", "2"])]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.count(b"\n") == 4 and b'"a":"b"' not in runs[0].stdout and b'"a":' in runs[0].stdout
    assert runs[1].stdout == runs[0].stdout and runs[1].returncode == 0


# --------------------------------------------------------------------------- found by probing
def _same(args, files=(), stdin=None, cwd=None, batches=("7", "1", "500")):
    """The sequential run and --parallel runs with several batch sizes: stdout, stderr and exit
    code equal (Throughput lines aside)."""
    def run(extra):
        proc = subprocess.run([KELORA_BIN, *map(str, files), *args, *extra], input=stdin, capture_output=True,
                              env=clean_env(SECRET), timeout=120, cwd=cwd)
        err = b"\n".join(line for line in proc.stderr.splitlines() if b"Throughput" not in line)
        return proc.returncode, proc.stdout, err
    seq = run([])
    for batch in batches:
        assert run(["--parallel", "--threads", "2", "--batch-size", batch]) == seq, batch
    return seq


def test_csv_files_of_a_detected_format_each_bring_their_header(tmp_path):
    """-f auto choosing CSV/TSV over several files: read in one process, as with -f csv
    (before, the second file's header was a data row under the first file's names)."""
    (tmp_path / "a.csv").write_text("a,b,c\n1,2,3\n")
    (tmp_path / "b.csv").write_text("x,y,z\n7,8,9\n")
    (tmp_path / "a.tsv").write_text("\n\np\tq\n1\t2\n")
    code, out, _ = _same(["-F", "json", "--with-stats"], [tmp_path / "a.csv", tmp_path / "b.csv"])
    assert out == b'{"a":"1","b":"2","c":"3"}\n{"x":"7","y":"8","z":"9"}\n'
    _same(["-F", "json"], [tmp_path / "a.tsv", tmp_path / "a.tsv"])
    _same(["-F", "json", "--skip-lines", "1"], ["-", tmp_path / "b.csv"], stdin=b"h1,h2\nv1,v2\nv3,v4\n")


def test_a_failed_input_is_taken_in_its_place(tmp_path):
    """An input that cannot be opened or read is reported when a sequential run reaches it:
    with --strict every event before it is written first, an earlier batch's stop keeps it
    from being reported at all (before, the parent raised at once and killed the workers)."""
    import gzip

    j = tmp_path / "j.jsonl"
    j.write_text("".join(f'{{"i":{i}}}\n' for i in range(3000)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n{"a":1}\n')
    trunc = tmp_path / "t.gz"
    trunc.write_bytes(gzip.compress(j.read_bytes())[:300])
    missing = tmp_path / "missing.jsonl"
    code, out, err = _same(["-j", "--strict", "-F", "json"], [j, missing])
    assert code == 1 and out.count(b"\n") == 3000 and err.count(b"missing.jsonl") == 1
    _same(["-j", "-F", "json", "--with-stats"], [j, missing, j])
    _same(["-j", "--strict", "--with-stats", "-F", "json"], [j, trunc])
    _same(["-j", "--with-stats", "-F", "json"], [j, trunc, j])
    _same(["-j", "--strict"], [bad, missing])
    _same(["-j", "-e", "if e.i == 5 { exit(0) }", "-F", "json"], [j, missing])


def test_stderr_comes_in_input_order_and_once_only_warnings_once(tmp_path):
    """A batch's stderr (eprint, -v errors, --assert, warnings) is written by the parent in
    input order; a warning given once per run is shown once, for its first occurrence in the
    input (before: once per worker, quoting whichever batch a worker saw first), and a limit on
    a merged metric warns as the sequential run does."""
    n = tmp_path / "n.jsonl"
    n.write_text("".join(f'{{"n":"{i}","i":{i}}}\n' for i in range(2000)))
    code, _, err = _same(["-j", "-e", 'eprint("E" + e.i)', "-F", "none"], [n])
    assert err.splitlines()[:3] == [b"E0", b"E1", b"E2"]
    _same(["-j", "-v", "-e", "e.x = e.nope * 2", "-F", "none"], [n])
    _same(["-j", "--assert", "e.i < 1990", "-F", "none"], [n])
    _, _, err = _same(["-j", "-e", "e.x = e.n + 1; e.y = e.i / 7; e.z = e.n > 10", "-F", "none"], [n])
    assert err.count(b"warning") == 3
    _same(["-j", "-e", "emit_each([1, #{a: e.i}])", "-F", "none"], [n])
    many = tmp_path / "many.jsonl"
    many.write_text("".join(f'{{"n":{i}}}\n' for i in range(100_050)))
    _, _, err = _same(["-j", "-e", 'track_unique("u", e.n)', "-q"], [many], batches=("20000",))
    assert err.count(b"holds more than 100000") == 1


def test_end_of_run_hints_are_those_of_the_sequential_run(tmp_path):
    """The hints built from the first lines of each input (hints.Sample): the parallel driver
    keeps them as it cuts batches (lines, or the head of a byte-range file)."""
    j = tmp_path / "j.jsonl"
    j.write_text("".join(f'{{"i":{i},"level":"INFO"}}\n' for i in range(3000)))
    for args in (["-l", "fatal"], ["--filter", "e.nope == 1"], ["--filter", "e.i > 5000"], ["-k", "levle,i"]):
        code, out, err = _same(["-j", *args, "-F", "json"], [j])
        assert b"hint" in err, args
    _same(["-j", "--filter", "e.i > 5000", "-F", "json"], ["-"], stdin=j.read_bytes())


def test_blank_lines_before_the_format_is_chosen(tmp_path):
    """Inputs of blank lines only, before -f auto has seen a line to choose from: counted as blank
    in the parent, as the sequential run counts them (a batch of them reached workers with no
    format: a crash before CSV files, extra `line` events under Dask)."""
    (tmp_path / "b1.txt").write_text("\n")
    (tmp_path / "b.txt").write_text("\n \n")
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    (tmp_path / "w.txt").write_text("hello\nworld\n")
    (tmp_path / "many.txt").write_text("\n" * 300_000 + '{"a":1}\n')
    for files in (["b1.txt", "x.csv"], ["b.txt", "x.csv", "x.csv"], ["b.txt", "w.txt"], ["many.txt"]):
        code, out, _ = _same(["-F", "json", "--with-stats"], [tmp_path / f for f in files], batches=("1", "500"))
        assert code == 0 and out.startswith(b"{")


def test_invalid_utf8_is_counted_once_and_strict_utf8_stops_as_sequentially(tmp_path):
    """A first line of invalid UTF-8 was decoded twice (the parent, choosing the format, and the
    worker): counted twice and located without the file's name; --strict-utf8 on a later line
    came back as "worker failed: FatalError: ..." in place of the run's own message."""
    (tmp_path / "first.jsonl").write_bytes(b'{"a":"\xff"}\n{"b":1}\n')
    (tmp_path / "later.jsonl").write_bytes(b'{"b":1}\n{"a":"\xff"}\n{"c":2}\n')
    (tmp_path / "head.csv").write_bytes(b"a,b\xff\n1,2\n3,4\n")
    for name, fmt in (("first.jsonl", "json"), ("later.jsonl", "auto"), ("head.csv", "csv")):
        path = tmp_path / name
        code, _, err = _same(["-f", fmt, "-F", "json", "--with-stats"], [path])
        assert b"1 line contained invalid UTF-8" in err and f"(first: {path}:".encode() in err
        code, _, err = _same(["-f", fmt, "-F", "json", "--strict-utf8"], [path])
        assert code == 1 and err.startswith(f"kelora: invalid UTF-8 at {path}:".encode()), err
    _same(["-j", "-F", "json", "--with-stats"], stdin=(tmp_path / "first.jsonl").read_bytes())
