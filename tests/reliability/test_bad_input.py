"""Bad input: every case ends with the documented exit code and message (reference §6), no
traceback, and the accounting invariant of kelora/report/stats.py holds in ``--stats=json``.

Large inputs are generated here, never committed.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import stat
import subprocess

import pytest

from tests.reliability.conftest import assert_accounting, assert_no_traceback, run, run_bin


def check(args, stdin=b"", *, code=0, err_has=(), stats=None, emits=False, cwd=None):
    """Run twice (normal, and with --stats=json): exit code, stderr text, accounting."""
    res = run(args, stdin=stdin, cwd=cwd)
    assert res.code == code, (res.code, res.err)
    for text in err_has:
        assert text in res.err, (text, res.err)
    st = run([*args, "--stats=json"], stdin=stdin, cwd=cwd)
    assert st.code == code, (st.code, st.err)
    doc = st.stats()
    assert_accounting(doc, emits=emits)
    for path, value in (stats or {}).items():
        group, key = path.split(".")
        assert doc[group][key] == value, (path, doc)
    return res, doc


# ----------------------------------------------------------------------------------- JSON lines

def test_malformed_json_is_a_counted_parse_error():
    res, doc = check(["-j", "-F", "json"], b'{"a":1}\n{bad\n{"b":2}\n',
                     err_has=["line 2: Invalid JSON: key must be a string at column 2"],
                     stats={"lines.errors": 1, "events.created": 2, "events.output": 2})
    assert res.out == b'{"a":1}\n{"b":2}\n'


def test_truncated_json_line():
    res, _ = check(["-j", "-F", "json"], b'{"a":1}\n{"b": "unterminated',
                   err_has=["line 2: Invalid JSON: EOF while parsing"], stats={"lines.errors": 1})
    assert res.out == b'{"a":1}\n'


@pytest.mark.parametrize("line, shown", [
    (b"[1,2]", "[1,2]"), (b'"text"', '"text"'), (b"42", "42"), (b"null", "null"), (b"true", "true"),
])
def test_json_that_is_not_an_object(line, shown):
    check(["-j"], b'{"ok":1}\n' + line + b"\n", err_has=[f"Expected JSON object, got: {shown}"],
          stats={"lines.errors": 1, "events.output": 1})


def test_only_bad_lines_fail_the_parse_gate():
    """Exit 1 when no line ever parsed (reference §6.2)."""
    check(["-j"], b"{bad\n[1]\n", code=1, stats={"lines.errors": 2, "events.created": 0})


def test_strict_aborts_at_first_parse_error_keeping_earlier_output():
    res = run(["-j", "--strict", "-F", "json"], b'{"a":1}\n{bad\n{"b":2}\n')
    assert res.code == 1
    assert res.out == b'{"a":1}\n'
    assert "kelora: Pipeline error: Invalid JSON" in res.err


def test_invalid_utf8_is_replaced_and_counted():
    res, doc = check(["-j", "-F", "json"], b'{"a":"caf\xe9"}\n{"b":"\xff\xfe"}\n',
                     stats={"events.output": 2, "lines.errors": 0})
    assert doc["decode_warnings"] == 2
    assert json.loads(res.out.splitlines()[0]) == {"a": "caf\ufffd"}


def test_invalid_utf8_strict_utf8_stops_with_a_message():
    res = run(["-j", "--strict-utf8"], b'{"a":1}\n{"a":"\xff"}\n')
    assert res.code == 1
    assert "invalid UTF-8 at line 2" in res.err and "--strict-utf8" in res.err


def test_nul_bytes():
    # escaped NUL in a JSON string is data; a raw NUL is invalid JSON; in -f line it is kept
    res, _ = check(["-j", "-F", "json"], b'{"a":"x\\u0000y"}\n{"a":"x\x00y"}\n\x00\x00\x00\n',
                   stats={"lines.errors": 2, "events.output": 1})
    assert json.loads(res.out) == {"a": "x\x00y"}
    res, _ = check(["-f", "line", "-F", "json"], b"a\x00b\n\x00\n", stats={"events.output": 2})
    assert [json.loads(x)["line"] for x in res.out.splitlines()] == ["a\x00b", "\x00"]
    check(["-f", "logfmt", "-F", "json"], b"a=1 b=\x00\n\x00=\x00\n", stats={"lines.read": 2})


def test_five_megabyte_line_parses_by_default():
    big = b'{"blob":"' + b"x" * (5 * 1024 * 1024) + b'"}\n'
    res, _ = check(["-j", "-k", "blob", "-F", "json"], big + b'{"blob":"y"}\n', stats={"events.output": 2})
    assert len(res.out) > 5 * 1024 * 1024


def test_max_line_bytes_truncates_with_a_warning_and_strict_fails():
    big = b'{"blob":"' + b"x" * (5 * 1024 * 1024) + b'"}\n'
    data = b'{"a":1}\n' + big + b'{"a":2}\n'
    # truncated JSON no longer parses: a counted parse error, the other lines go through
    res, _ = check(["-j", "--max-line-bytes", "1MiB", "-F", "json"], data,
                   err_has=["line 2 is 5242891 bytes, over --max-line-bytes 1048576; truncated"],
                   stats={"lines.errors": 1, "events.output": 2})
    assert res.out == b'{"a":1}\n{"a":2}\n'
    # -f line keeps the truncated text
    res, _ = check(["-f", "line", "--max-line-bytes", "1000", "-k", "line", "-F", "json"], data,
                   stats={"events.output": 3})
    assert len(json.loads(res.out.splitlines()[1])["line"]) == 1000
    strict = run(["-j", "--max-line-bytes", "1MiB", "--strict"], data)
    assert strict.code == 1 and "over --max-line-bytes" in strict.err


def test_ten_thousand_deep_nesting_is_a_parse_error():
    deep_obj = b'{"a":' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"
    deep_arr = b"[" * 10_000 + b"]" * 10_000 + b"\n"
    check(["-j"], b'{"ok":1}\n' + deep_obj + deep_arr, err_has=["depth limit exceeded"],
          stats={"lines.errors": 2, "events.output": 1})


@pytest.mark.parametrize("depth", [254, 256, 300, 1000])
def test_deep_but_valid_json_passes_through_unchanged(depth):
    """orjson writes at most 255 levels; deeper valid input must not be lost on output."""
    line = b'{"a":' + b"[" * depth + b'{"k":1.5e16,"s":"\xc3\xa9"}' + b"]" * depth + b',"b":2}\n'
    res, _ = check(["-j", "-F", "json"], line, stats={"events.output": 1})
    import orjson

    assert orjson.loads(res.out) == orjson.loads(line)
    assert b"e+" not in res.out  # serde_json's float text (1.5e16)


def test_deep_json_inside_a_script_value_does_not_crash():
    text = "[" * 10_000 + "]" * 10_000
    res = run(["-j", "-e", "e.x = parse_json(e.s)", "-F", "json"], json.dumps({"s": text}).encode() + b"\n")
    assert res.code == 0  # a recovered exec error or a value, never a crash
    assert json.loads(res.out)["s"] == text


def test_huge_numbers_and_special_floats():
    data = (b'{"big":' + b"9" * 5000 + b"}\n"   # beyond f64: out of range (serde_json)
            b'{"inf":1e400}\n'
            b'{"nan":NaN}\n'
            b'{"neg0":-0.0}\n'
            b'{"i":123456789012345678901234567890}\n'  # beyond i64: read as a float
            b'{"i64":9223372036854775807,"min":-9223372036854775808}\n')
    res, _ = check(["-j", "-F", "json"], data, err_has=["number out of range"],
                   stats={"lines.errors": 3, "events.output": 3})
    out = [json.loads(x) for x in res.out.splitlines()]
    assert out[0] == {"neg0": -0.0} and str(out[0]["neg0"]) == "-0.0"
    assert out[1]["i"] == pytest.approx(1.2345678901234568e29)
    assert out[2] == {"i64": 9223372036854775807, "min": -9223372036854775808}


def test_duplicate_keys_last_wins():
    res, _ = check(["-j", "-F", "json"], b'{"d":1,"x":0,"d":2}\n', stats={"events.output": 1})
    assert json.loads(res.out) == {"d": 2, "x": 0}


@pytest.mark.parametrize("fmt, data, expected", [
    ("json", b'{"a":"1"}\r\n{"a":"2"}\r\n', [{"a": "1"}, {"a": "2"}]),
    ("logfmt", b"a=1\r\na=2\r\n", [{"a": 1}, {"a": 2}]),
    ("csv", b"a,b\r\n1,x\r\n2,y\r\n", [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]),
    ("line", b"one\r\ntwo\r\n", [{"line": "one"}, {"line": "two"}]),
])
def test_crlf_line_endings(fmt, data, expected):
    res, _ = check(["-f", fmt, "-F", "json"], data)
    got = [json.loads(x) for x in res.out.splitlines()]
    assert [{k: str(v) for k, v in d.items()} for d in got] == [{k: str(v) for k, v in d.items()} for d in expected]


def test_last_line_without_newline_is_processed(tmp_path):
    f = tmp_path / "no-eol.jsonl"
    f.write_bytes(b'{"a":1}\n{"a":2}')
    res, _ = check(["-j", "-F", "json", str(f)], stats={"events.output": 2, "lines.read": 2})
    assert res.out == b'{"a":1}\n{"a":2}\n'


def test_blank_and_whitespace_lines_are_counted_not_errors():
    check(["-j"], b'\n   \n\t\n{"a":1}\n\n', stats={"lines.blank": 4, "lines.errors": 0, "events.output": 1})


# ----------------------------------------------------------------------------------- files

def test_empty_file_and_empty_stdin(tmp_path):
    f = tmp_path / "empty.log"
    f.write_bytes(b"")
    res, _ = check(["-j", str(f)], stats={"lines.read": 0, "events.created": 0})
    assert res.out == b"" and res.err == ""
    check(["-j"], b"", stats={"lines.read": 0})


def test_missing_file_is_reported_and_others_still_processed(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_bytes(b'{"a":1}\n')
    missing = str(tmp_path / "missing.jsonl")
    res, doc = check(["-j", "-F", "json", missing, str(good)], code=1,
                     err_has=[f"kelora: Failed to open file '{missing}': No such file or directory (os error 2)"],
                     stats={"events.output": 1})
    assert res.out == b'{"a":1}\n'
    assert doc["files"] == {"processed": 1, "failed_to_open": 1}
    strict = run(["-j", "--strict", missing, str(good)])
    assert strict.code == 1 and strict.out == b""


def test_directory_is_skipped_with_a_message(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_bytes(b'{"a":1}\n')
    check(["-j", str(tmp_path), str(good)], code=1,
          err_has=[f"Input path '{tmp_path}' is a directory; skipping (input files only)"],
          stats={"events.output": 1})


def test_unreadable_file_as_root(tmp_path):
    f = tmp_path / "secret.log"
    f.write_bytes(b'{"a":1}\n')
    f.chmod(0)
    try:
        with open(f, "rb"):
            pass
        readable = True
    except PermissionError:
        readable = False
    if readable:
        pytest.skip("this process may read a chmod 000 file (root with CAP_DAC_OVERRIDE); "
                    "test_unreadable_file_without_dac_override covers it")
    check(["-j", str(f)], code=1, err_has=["Permission denied (os error 13)"])


def _drop_dac_capabilities():
    """preexec: remove CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the
    exec'd root process gets file permission checks like any user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP = 24
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file_without_dac_override(tmp_path):
    """Root without CAP_DAC_OVERRIDE: chmod 000 really denies the read."""
    if os.geteuid() != 0:
        pytest.skip("as a normal user test_unreadable_file_as_root covers this")
    locked = tmp_path / "locked.log"
    good = tmp_path / "good.log"
    for path in (locked, good):
        path.write_bytes(b'{"a":1}\n')
    locked.chmod(0)
    try:
        res = run_bin(["-j", "-F", "json", str(locked), str(good)], preexec_fn=_drop_dac_capabilities)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop capabilities here: {exc}")
    assert_no_traceback(res)
    assert res.code == 1, res.err
    assert f"kelora: Failed to open file '{locked}': Permission denied (os error 13)" in res.err
    assert res.out == b'{"a":1}\n'


def _lines(n: int) -> bytes:
    return b"".join(b'{"i":%d}\n' % i for i in range(n))


def test_truncated_gzip_is_a_failed_read_not_a_crash(tmp_path):
    blob = gzip.compress(_lines(20_000))
    f = tmp_path / "cut.gz"
    f.write_bytes(blob[: len(blob) // 2])
    res, doc = check(["-j", "-q", str(f)], code=1, err_has=[f"Failed to read '{f}'", "gzip"])
    assert doc["events"]["created"] > 0  # what was readable was processed, and counted
    assert doc["files"]["failed_to_open"] == 1


@pytest.mark.parametrize("damage", ["deflate", "crc", "header"])
def test_corrupt_gzip_is_a_failed_read_not_a_crash(tmp_path, damage):
    blob = bytearray(gzip.compress(_lines(20_000)))
    if damage == "deflate":
        for i in range(200, 400):
            blob[i] ^= 0x55
    elif damage == "crc":
        blob[-8:-4] = b"\0\0\0\0"
    else:
        blob[3] = 0xFF  # reserved flag bits set
    f = tmp_path / "bad.gz"
    f.write_bytes(bytes(blob))
    check(["-j", "-q", str(f)], code=1, err_has=[f"Failed to read '{f}'"])
    bin_res = run_bin(["-j", "-q", str(f)])
    assert_no_traceback(bin_res)
    assert bin_res.code == 1


def test_truncated_zstd_is_a_failed_read(tmp_path):
    import zstandard

    blob = zstandard.ZstdCompressor().compress(_lines(50_000))
    f = tmp_path / "cut.zst"
    f.write_bytes(blob[: len(blob) // 2])
    check(["-j", "-q", str(f)], code=1, err_has=[f"Failed to read '{f}'", "truncated zstd"])


def test_corrupt_zstd_with_checksum_is_a_failed_read(tmp_path):
    import zstandard

    blob = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(_lines(50_000)))
    for i in range(100, 300):
        blob[i] ^= 0x55
    f = tmp_path / "bad.zst"
    f.write_bytes(bytes(blob))
    check(["-j", "-q", str(f)], code=1, err_has=[f"Failed to read '{f}'", "zstd"])


def test_gzip_on_stdin_corrupt():
    blob = bytearray(gzip.compress(_lines(5_000)))
    for i in range(100, 200):
        blob[i] ^= 0x55
    check(["-j", "-q"], bytes(blob), code=1, err_has=["Failed to read 'stdin'"])


# ----------------------------------------------------------------------------------- CSV

def test_csv_ragged_rows_kept_and_counted():
    res, doc = check(["-f", "csv", "-F", "json"], b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n",
                     stats={"lines.header": 1, "events.output": 3})
    assert doc["ragged_rows"] == {"extra_columns": 1, "missing_columns": 1}
    assert [json.loads(x) for x in res.out.splitlines()][2] == {"a": "6", "b": "7", "c": "8", "c4": "9"}
    strict = run(["-f", "csv", "--strict"], b"a,b,c\n1,2,3\n4,5\n")
    assert strict.code == 1 and "Row has 2 columns, expected 3" in strict.err


def test_csv_quotes():
    res, _ = check(["-f", "csv", "-F", "json"], b'a,b\n"x,1","he said ""hi"""\n"",plain\n',
                   stats={"events.output": 2})
    assert [json.loads(x) for x in res.out.splitlines()] == [
        {"a": "x,1", "b": 'he said "hi"'}, {"a": "", "b": "plain"}]


def test_csv_embedded_newline_accounting_holds():
    """Whatever a quoted newline becomes, no line is lost from the accounting."""
    check(["-f", "csv", "-F", "json"], b'a,b,c\n"multi\nline",2,3\n4,5,6\n')


def test_csv_embedded_newline_is_one_record():
    res = run(["-f", "csv", "-F", "json"], b'a,b,c\n"multi\nline",2,3\n4,5,6\n')
    assert [json.loads(x) for x in res.out.splitlines()] == [
        {"a": "multi\nline", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": "6"}]


# ----------------------------------------------------------------------------------- garbage

@pytest.mark.parametrize("fmt", ["auto", "json", "logfmt", "csv", "tsv", "syslog", "combined", "line", "raw"])
def test_binary_garbage(fmt):
    rnd = random.Random(1234)
    garbage = bytes(rnd.getrandbits(8) for _ in range(60_000))
    res = run(["-f", fmt, "-F", "json"], garbage)
    assert res.code in (0, 1), res.err
    st = run(["-f", fmt, "--stats=json"], garbage)
    assert st.code == res.code
    doc = st.stats()
    assert_accounting(doc)
    assert doc["lines"]["read"] == garbage.count(b"\n") + (0 if garbage.endswith(b"\n") else 1)
    if fmt == "line":
        assert doc["events"]["created"] == doc["lines"]["read"]


def test_binary_garbage_through_the_command(tmp_path):
    rnd = random.Random(99)
    f = tmp_path / "garbage.bin"
    f.write_bytes(bytes(rnd.getrandbits(8) for _ in range(200_000)))
    res = run_bin(["-F", "json", str(f)])
    assert_no_traceback(res)
    assert res.code in (0, 1)


def test_every_line_is_accounted_for_with_mixed_trouble():
    """Blank, header-free JSON, errors, filters, skips, --fail-closed drops, all in one run."""
    data = (b'{"n":1}\n\n{"n":2}\n{bad\n{"n":"x"}\n  \n{"n":4}\n[1]\n{"n":5}\n{"n":6}\n'
            b'{"n":7}\n')
    args = ["-j", "--skip-lines", "1", "--ignore-lines", "^\\{\"n\":7", "--filter", "e.n != 4",
            "-e", "if e.n == 5 { skip() }", "-e", "e.m = e.n.to_int() + 1", "--fail-closed"]
    res, doc = check(args, data, stats={
        "lines.read": 11, "lines.filtered": 2, "lines.blank": 2, "lines.errors": 2,
        "events.created": 5, "events.filtered": 2, "events.errored": 1, "events.output": 2})
    assert res.out.count(b"\n") == 2


@pytest.mark.parametrize("fmt, data", [
    ("json", b'\n{"n":1}\n\n{"n":2}\n{bad\n{"n":"x"}\n  \n{"n":4}\n[1]\n{"n":5}\n{"n":6}\n{"n":7}\n'),
    ("csv", b"\na,b\n1,2\n\n3,4\n5\n6,7,8\n\"x\ny\",1\n"),
    ("logfmt", b"n=1\n\nn=2 x\n=\nn=4\nn=5\n"),
])
@pytest.mark.parametrize("par", [["--parallel", "--batch-size", "1"], ["--parallel", "--batch-size", "3", "--threads", "2"]])
def test_parallel_runs_account_like_sequential_ones(fmt, data, par):
    args = ["-f", fmt, "--skip-lines", "1", "--filter", "e.n != 4", "-e", "if e.n == 5 { skip() }",
            "-e", "e.m = e.n.to_int() + 1", "--fail-closed", "--stats=json"]
    seq = run(args, data)
    got = run([*args, *par], data)
    assert got.code == seq.code
    a, b = seq.stats(), got.stats()
    assert_accounting(a)
    assert_accounting(b)
    assert (b["lines"], b["events"]) == (a["lines"], a["events"])


SELECTION_DATA = (b'{"n":1,"level":"info"}\n{"n":2,"level":"error"}\n\n{"n":3}\n{bad\n'
                  b'{"n":4,"level":"error"}\n{"n":5}\n')


@pytest.mark.parametrize("args", [["--take", "2"], ["--head", "4"], ["-l", "error"], ["-L", "error"],
                                  ["-k", "zz"], ["-k", "n", "--take", "1"], ["-e", "e = ()"],
                                  ["--keep-lines", "n.:[24]"], ["--ignore-lines", "bad"],
                                  ["--skip-lines", "3"], ["-e", "emit_each([])"]])
def test_accounting_with_every_selection_flag(args):
    doc = run(["-j", *args, "--stats=json"], SELECTION_DATA).stats()
    assert_accounting(doc)


def test_integers_beyond_64_bits_in_metrics_arithmetic_and_detection():
    """D20 across the run: track_min/track_max told two ids that round to one float apart only by
    arrival (and an int too large for a float stopped the run with exit 134 from track_max,
    track_avg or a sum with floats); arithmetic on an operand beyond i64 gave a result when the
    result fitted; auto-detection took a line with a 400-digit integer for text."""
    long = "1" * 400
    pair = b'{"id":18446744073709551617}\n{"id":18446744073709551616}\n'
    for data in (pair, b"\n".join(reversed(pair.split(b"\n")[:2])) + b"\n"):
        res = run(["-j", "-e", 'track_max("mx", e.id); track_min("mn", e.id)', "-m", "--metrics=json"], data)
        assert json.loads(res.out) == {"mn": 18446744073709551616, "mx": 18446744073709551617}
    data = f'{{"id":{long}}}\n{{"id":1}}\n'.encode()
    for script in ('track_max("mx", e.id); track_inc("n")', 'track_avg("a", e.id); track_inc("n")',
                   'track_sum("s", e.id); track_sum("s", 1.5)', 'track_stats("st", e.id); track_inc("n")',
                   'track_percentiles("p", e.id); track_inc("n")'):
        for extra in ([], ["--parallel", "--batch-size", "1"]):
            res = run_bin(["-j", "-e", script, "-m", "--metrics=json", *extra], data)
            assert res.code == 0, (script, res.err)
            assert_no_traceback(res)
            assert "too large for a float (400 digits)" in res.err or "track_max" in script or "track_sum" in script
    res = run(["-j", "-e", 'track_max("mx", e.id)', "-m", "--metrics=json"], data)
    assert json.loads(res.out) == {"mx": int(long)}
    big = b'{"a":-9223372036854775809,"b":9223372036854775808}\n'
    for script in ("e.z = e.a + 1", "e.z = e.b - 1", "e.z = e.b / 2", "e.z = -e.b", "e.z = e.b % 5",
                   "e.z = e.b + 0.5", "e.z = e.b ** 1", "e.z = e.b * 1.0"):
        res = run(["-j", "-e", script, "-F", "json", "--strict"], big)
        assert res.code == 1 and "integer overflow" in res.err, (script, res.err)
    res = run(["-F", "json"], f'{{"id":{long}}}\n'.encode())
    assert json.loads(res.out) == {"id": int(long)}


def test_integers_too_long_for_a_float_keep_their_digits():
    # orjson refuses an integer of 300+ digits ("number out of range"); COMPAT D20 keeps integers
    # exact up to Python's 4300-digit limit, also through parse_json().  A float out of range,
    # NaN and 5000 digits stay errors.
    long = "7" * 400
    data = (f'{{"id":{long},"n":-{long}}}\n'.encode()
            + f'{{"f":{long}.5}}\n'.encode()
            + f'{{"g":{long},"x":NaN}}\n'.encode()
            + b'{"big":' + b"9" * 5000 + b"}\n"
            + json.dumps({"s": f'{{"a":{long}}}'}).encode() + b"\n")
    res, _ = check(["-j", "-e", "if e.s != () { e.p = parse_json(e.s) }", "-F", "json"], data,
                   err_has=["number out of range"], stats={"lines.errors": 3, "events.output": 2})
    first, last = (json.loads(x) for x in res.out.splitlines())
    assert first == {"id": int(long), "n": -int(long)}
    assert last["p"] == {"a": int(long)}
    assert f'"id":{long},' in res.out.decode()
