"""Hostile input files (issue 12, item 2): decompression bombs run in bounded memory.

The reader pulls a bounded block of decompressed bytes at a time (zstd and gzip) and a line is cut
at the line cap (``--max-line-bytes`` plus its CR LF) while it is assembled, so neither a zstd file
of 1.2 GB of newlines nor a gzip file holding one 1.5 GB line holds more than a block or the capped
line in memory.  Peak memory is measured from a wrapper process (``ru_maxrss`` of its one child);
the wrapper also caps the address space at 1 GiB, so the old behaviour fails quickly
(MemoryError) instead of taking the machine's memory.
"""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import zlib

import pytest

from tests.conftest import KELORA_BIN
from tests.reliability.conftest import run_bin

PEAK_MB = 200

_MEASURE = r"""
import json, resource, subprocess, sys
limit = 1 << 30
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
p = subprocess.run(sys.argv[1:], capture_output=True, preexec_fn=cap)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(json.dumps({"code": p.returncode, "out": p.stdout[-2000:].decode("utf-8", "replace"),
                  "err": p.stderr[-2000:].decode("utf-8", "replace"), "peak_mb": peak}))
"""


def _measured(args: list[str], timeout: float = 300) -> dict:
    p = subprocess.run([sys.executable, "-c", _MEASURE, KELORA_BIN, *args], capture_output=True,
                       timeout=timeout, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory):
    """~1.5 MB of gzip: one line of 1.5 GB ('a' * 1500 MiB, as 1500 gzip members of 1 MiB, which
    decompress as one stream) and then one ordinary line."""
    one = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = one.compress(b"a" * (1 << 20)) + one.flush()
    path = tmp_path_factory.mktemp("bomb") / "line.gz"
    path.write_bytes(member * 1500 + gzip.compress(b'\n{"after":1}\n'))
    assert path.stat().st_size < 2_000_000
    return path


@pytest.fixture(scope="module")
def zstd_bomb(tmp_path_factory):
    """~38 KB of zstd (one frame): 1.2 GB of newlines."""
    import zstandard

    path = tmp_path_factory.mktemp("bomb") / "newlines.zst"
    block = b"\n" * (1 << 20)
    with open(path, "wb") as f:
        writer = zstandard.ZstdCompressor(level=3).stream_writer(f)
        for _ in range(1200):
            writer.write(block)
        writer.flush(zstandard.FLUSH_FRAME)
    assert path.stat().st_size < 60_000
    return path


LONG = 1500 << 20


# auto: the first line was decoded to detect the format and then parsed as text, so the cut line
# was held as bytes, as text and as the copy in orjson's error (226 MB)
@pytest.mark.parametrize("fmt", ["json", "line", "auto"])
def test_gzip_of_one_huge_line_is_truncated_in_bounded_memory(gzip_bomb, fmt):
    res = _measured(["-f", fmt, str(gzip_bomb), "-F", "none", "--stats=json", "-e", "e.n = 1"])
    assert "Traceback" not in res["err"] and "internal error" not in res["err"], res["err"]
    assert f"kelora warning: line 1 is {LONG} bytes, over --max-line-bytes 67108864; truncated" in res["err"]
    assert res["peak_mb"] < PEAK_MB, res
    stats = json.loads(res["out"][res["out"].rindex('{\n  "format"'):])
    assert stats["lines"]["read"] == 2  # the line after the long one is read as it is
    if fmt in ("json", "auto"):  # (auto: the line after it is JSON)
        assert res["code"] == 0 and stats["lines"]["errors"] == 1  # the cut JSON does not parse
        assert stats["events"]["output"] == 1 and stats["keys"]["seen"] == ["after"]
    else:
        assert res["code"] == 0 and stats["events"]["output"] == 2


def test_zstd_of_newlines_is_read_a_block_at_a_time(zstd_bomb):
    # (1.2 billion blank lines take minutes to count: the first two million show the memory bound;
    #  before the fix the first decompression step alone produced all 1.2 GB)
    res = _measured(["-j", str(zstd_bomb), "--head", "2000000", "-F", "none", "--stats=json"])
    assert res["code"] == 0, res
    assert res["peak_mb"] < PEAK_MB, res
    stats = json.loads(res["out"][res["out"].rindex('{\n  "format"'):])
    assert stats["lines"]["read"] == 2_000_000 and stats["lines"]["blank"] == 2_000_000


def test_zstd_bomb_under_parallel(zstd_bomb):
    res = _measured(["-j", str(zstd_bomb), "--head", "300000", "--parallel", "-F", "none"])
    assert res["code"] == 0, res
    assert res["peak_mb"] < PEAK_MB, res


CRLF = (b"abcdefghij\r\n"  # exactly the limit with CR LF: not truncated
        b'{"a":1}\r\n'
        b"xyzxyzxyzxyzxyzxyz\n"  # 18 bytes
        b'{"b":2}\n'
        b'{"c":"123456"}\r\n'  # 14 bytes
        b"0123456789\r"  # 11 bytes: a CR that does not end a line is data
        b"\n" + b"k" * 5000 + b"\r\n" + b"last-no-newline")


@pytest.mark.parametrize("fmt", ["json", "line"])
@pytest.mark.parametrize("extra", [[], ["--parallel", "--batch-size", "2"], ["--stats"]])
def test_capped_reading_cuts_lines_exactly_like_a_plain_file(tmp_path, fmt, extra):
    """A compressed file (capped reader) gives the same events, warnings and counts as the plain
    file (whole lines), at and around the limit, with CR LF, and for the last line."""
    plain = tmp_path / "plain.log"
    plain.write_bytes(CRLF)
    packed = tmp_path / "packed.log.gz"
    packed.write_bytes(gzip.compress(CRLF))
    args = ["-f", fmt, "--max-line-bytes", "10", "-F", "json", *extra]
    if "--stats" in extra:
        args[-1] = "--stats=json"  # (the table has a throughput line)
    a = run_bin(args + [str(plain)])
    b = run_bin(args + [str(packed)])
    c = run_bin(args, stdin=gzip.compress(CRLF))
    timing = re.compile(rb'\n *"(lines_per_second|duration_ms)": [0-9.]+,?')
    assert timing.sub(b"", a.out) == timing.sub(b"", b.out) == timing.sub(b"", c.out)
    # (sorted: --parallel workers write their warnings as they go)
    assert sorted(a.err.replace(str(plain), "F").splitlines()) == sorted(b.err.replace(str(packed), "F").splitlines())
    assert "line 7 is 5000 bytes" in a.err and "line 3 is 18 bytes" in a.err and "line 1 is" not in a.err
    assert a.code == b.code == c.code


# make fuzz found b"\x1f\x8b" alone on stdin: text, as in Kelora (the gzip magic is 1F 8B 08);
# with the whole magic, a truncated stream is a read error, and no "stdin is empty" hint then
@pytest.mark.parametrize("data, code, line", [
    (b"\x1f\x8b", 0, "\x1f\ufffd"),
    (b"\x1f\x8bxy\n", 0, "\x1f\ufffdxy"),
    (b"\x1f\x8b\x08", 1, None),
    (b"(\xb5/\xfd", 1, None),
])
def test_compression_is_told_by_its_whole_magic(data, code, line):
    res = run_bin(["-f", "line", "-F", "json"], data)
    assert res.code == code, res.err
    assert "Traceback" not in res.err
    if line is None:
        assert "kelora: Failed to read 'stdin':" in res.err and "stdin is empty" not in res.err, res.err
        assert res.out == b""
    else:
        assert json.loads(res.out) == {"line": line}


@pytest.fixture(scope="module")
def never_starting(tmp_path_factory):
    """~120 MB of 'x' lines (gzip, ~120 KB) that no -M start pattern matches."""
    path = tmp_path_factory.mktemp("ml") / "flat.log.gz"
    path.write_bytes(gzip.compress(b"x" * 99 + b"\n") * 1 + gzip.compress((b"x" * 99 + b"\n") * 1_200_000, 6))
    return path


@pytest.mark.parametrize("strategy", ["regex:match=^NOMATCH", "all", "timestamp"])
def test_a_multiline_event_stops_growing_at_max_line_bytes(never_starting, strategy):
    # one event that never ends held the whole input (549 MB for 200 MB); now it is cut at
    # --max-line-bytes with a warning, the lines past it dropped as they come
    res = _measured(["-f", "raw", "-M", strategy, "--max-line-bytes", "8MB", "-F", "none", "--with-stats",
                     str(never_starting)])
    assert res["code"] == 0, res
    assert "multiline event at line 1 is over --max-line-bytes 8000000; truncated" in res["err"], res
    assert "Events created: 1 total" in res["err"], res
    assert res["peak_mb"] < PEAK_MB, res


def test_a_short_multiline_event_is_cut_exactly():
    res = run_bin(["-f", "line", "-M", "indent", "--max-line-bytes", "4", "-F", "json"], b"a\n b\n c\nd\n e\n")
    assert res.code == 0 and res.out == b'{"line":"a  b"}\n{"line":"d  e"}\n', res
    assert res.err.count("kelora warning: multiline event at line 1 is over --max-line-bytes 4; "
                         "truncated, 1 more line dropped") == 1, res.err
    strict = run_bin(["-f", "line", "-M", "indent", "--max-line-bytes", "4", "--strict"], b"a\n b\n c\n")
    assert strict.code == 1 and "Pipeline error: multiline event at line 1" in strict.err, strict


@pytest.fixture(scope="module")
def unbalanced_csv(tmp_path_factory):
    """A CSV file (~24 MB) whose second line opens a quote that is never closed."""
    path = tmp_path_factory.mktemp("csv") / "unbalanced.csv"
    path.write_bytes(b'a,b\n"x,1\n' + b"yyyyyyyyyyyyyyyyyyyyyyy,2\n" * 900_000 + b"last,3\n")
    return path


@pytest.mark.parametrize("parallel", [[], ["--parallel", "--threads", "2"]], ids=["sequential", "parallel"])
def test_an_unbalanced_csv_quote_is_dropped_at_max_line_bytes(unbalanced_csv, parallel):
    # the open quoted field held the rest of the file (1.4 GB for 208 MB); now the record is a
    # parse error once it runs past --max-line-bytes, and reading resumes on the next line
    res = _measured(["-f", "csv", "--max-line-bytes", "1MB", "-F", "none", "--with-stats", *parallel,
                     str(unbalanced_csv)])
    assert res["code"] == 0, res
    assert "a quoted field opened on line 2 is still open on line 38464, past --max-line-bytes 1000000" in res["err"], res
    assert "Lines processed: 900003 total, 0 filtered (0.0%), 1 errors (0.0%)" in res["err"], res
    assert res["peak_mb"] < PEAK_MB, res


def test_the_driver_cuts_csv_batches_where_the_sequential_run_drops_a_record(tmp_path):
    data = b'a,b\n"x,1\nyyyy,2\nzzzz,3\nq,4\n"w",5\nok,6\n"open\nok,7\n'
    path = tmp_path / "u.csv"
    path.write_bytes(data)
    outs = set()
    for extra in ([], ["--parallel", "--batch-size", "1"], ["--parallel", "--batch-size", "2"]):
        res = run_bin(["-f", "csv", "--max-line-bytes", "12", "-F", "json", *extra, str(path)])
        assert res.code == 0, res
        outs.add((res.out, res.err))
    assert len(outs) == 1, outs
    out, err = outs.pop()
    assert out.startswith(b'{"a":"q","b":"4"}\n{"a":"w","b":"5"}\n{"a":"ok","b":"6"}\n'), out
    assert "lines 2-4 dropped" in err, err
