"""Control characters from data never reach a terminal raw (COMPAT D18; issue 11 item 5).

Every C0 control, DEL and every C1 control is written into values, keys, unparsable lines and
file names; no raw control byte (ESC, BEL, CSI, ...) may come out on stdout or stderr in the
default, logfmt and inspect formats, csv/tsv on a terminal (a pty), print() on a terminal, and
in every diagnostic and summary (parse errors, -v/-vv, stats, metrics, warnings).  They come
out as `\\u{1b}`; logfmt output is read back by kelora's logfmt reader with the data intact.
"""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import tty

import pytest

from kelora.formats.registry import OUTPUTS
from tests.cli.test_cli_cases import clean_env
from tests.conftest import KELORA_BIN

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]
# the characters a format may keep as they are: its own line structure
KEPT = {"\n", "\t"}
# kelora's own colour codes (default format on a terminal)
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def _raw_controls(data: bytes, allowed=frozenset(KEPT)) -> list[str]:
    text = SGR.sub(b"", data).decode("utf-8", "replace")
    return sorted({f"U+{ord(ch):04X}" for ch in text if ch in CONTROLS and ch not in allowed})


def _events() -> bytes:
    """One event per control character: in a value, in a key, and inside a nested map/array."""
    lines = []
    for i, ch in enumerate(CONTROLS):
        lines.append(json.dumps({"n": i, "msg": f"a{ch}b", f"k{ch}ey": "v",
                                 "nest": {f"x{ch}": [f"y{ch}"]}}))
    # the issue's reproduction: retitle the terminal, ring the bell, clear the screen
    lines.append(json.dumps({"n": 99, "msg": "\x1b]0;PWNED\x07\x1b[2J\u009b31m"}))
    return ("\n".join(lines) + "\n").encode()


EVENTS = _events()
# lines that are not JSON, carrying raw controls (parse-error samples, -v/-vv raw lines)
BAD_LINES = b"".join(b"{not json " + ch.encode() + b" \x1b[2J\x07\n" for ch in CONTROLS if ch not in "\n\r")


def kelora(args, stdin: bytes = b"", env=None, cwd=None):
    proc = subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True,
                          env=clean_env(env), timeout=60, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def kelora_tty(args, stdin: bytes = b"", env=None):
    """stdout on a pseudo-terminal (raw mode: the pty adds no CR); stderr a pipe."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([KELORA_BIN, *args], stdin=subprocess.PIPE, stdout=slave,
                            stderr=subprocess.PIPE, env=clean_env({"COLUMNS": "200", **(env or {})}))
    os.close(slave)
    proc.stdin.write(stdin)
    proc.stdin.close()
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = proc.stderr.read()
    proc.wait(timeout=60)
    return proc.returncode, out, err


# ------------------------------------------------------------------ the reproduction

def test_issue_repro_terminal_escape_in_a_value_is_shown_escaped():
    code, out, err = kelora(["-j"], b'{"msg":"\\u001b]0;PWNED\\u0007\\u001b[2J"}\n')
    assert code == 0
    assert b"\x1b" not in out and b"\x07" not in out
    assert out == b"msg='\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J'\n"


# ------------------------------------------------------------------ formats

@pytest.mark.parametrize("fmt", [["-F", "default"], ["-F", "logfmt"], ["-F", "inspect"], ["-b"],
                                 ["-F", "inspect", "-vv"]])
def test_no_raw_control_in_text_formats(fmt):
    code, out, err = kelora(["-j", *fmt], EVENTS)
    assert code == 0, err
    allowed = KEPT | {"\r"} if fmt == ["-b"] else KEPT  # brief shows values as they are, but for escapes
    assert _raw_controls(out, allowed) == []
    assert _raw_controls(err) == []
    assert b"\\u{1b}" in out or fmt[-1] == "inspect" or b"\\x1B" in out


def test_default_format_on_a_terminal_has_only_its_own_colour_codes():
    code, out, err = kelora_tty(["-j"], EVENTS)
    assert code == 0, err
    assert _raw_controls(out, KEPT) == []
    assert b"\\u{1b}]0;PWNED" in out


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_on_a_terminal_are_escaped(fmt):
    code, out, err = kelora_tty(["-j", "-F", fmt, "-k", "n,msg"], EVENTS)
    assert code == 0, err
    assert _raw_controls(out, KEPT | {"\r"}) == []  # CSV quotes TAB/LF/CR; others escaped
    assert b"\\u{1b}" in out


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_output_format_on_a_terminal_shows_no_raw_control(name):
    """Every format of the registry, a new one included (docs/dev/contributing.md): on a
    terminal no control character of the data reaches it raw (COMPAT D18)."""
    keys = ["-k", "n,msg"] if OUTPUTS[name].needs_keys else []
    code, out, err = kelora_tty(["-j", "-F", name, *keys], EVENTS)
    assert code == 0, err
    csv_family = OUTPUTS[name].family == "csv"  # (CSV quotes TAB, LF and CR: they are its data)
    assert _raw_controls(out, KEPT | {"\r"} if csv_family else KEPT) == []


def test_csv_into_a_pipe_or_file_keeps_the_data():
    code, out, _ = kelora(["-j", "-F", "csv", "-k", "msg"], b'{"msg":"a\\u001bb"}\n')
    assert out == b"msg\na\x1bb\n"  # an export is data: only a terminal gets escapes


def test_print_on_a_terminal_is_escaped_and_into_a_pipe_is_not():
    args = ["-j", "-e", "print(e.msg)", "-F", "none"]
    code, out, err = kelora_tty(args, b'{"msg":"\\u001b[2J\\u0007"}\n')
    assert out.strip() == b"\\u{1b}[2J\\u{7}"
    code, out, err = kelora(args, b'{"msg":"\\u001b[2J\\u0007"}\n')
    assert out == b"\x1b[2J\x07\n"


# ------------------------------------------------------------------ logfmt round trip

def test_logfmt_round_trip_keeps_every_control_character():
    values = [{"n": i, "v": f"a{ch}b\\u{{1b}}c"} for i, ch in enumerate(CONTROLS)]
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    code, logfmt, err = kelora(["-j", "-F", "logfmt"], data)
    assert code == 0 and _raw_controls(logfmt, KEPT) == []
    code, back, err = kelora(["-f", "logfmt", "-F", "json"], logfmt)
    assert code == 0, err
    assert [json.loads(x) for x in back.splitlines()] == values


# ------------------------------------------------------------------ diagnostics and summaries

@pytest.mark.parametrize("extra", [[], ["-v"], ["-vv"], ["--strict"], ["--stats"], ["--with-stats"],
                                   ["--stats=json"], ["--silent"]])
def test_parse_error_samples_and_raw_lines_are_escaped(extra):
    code, out, err = kelora(["-j", *extra], BAD_LINES + EVENTS)
    assert _raw_controls(out) == []
    assert _raw_controls(err) == [], err[:2000]
    if extra == ["-vv"]:  # -vv shows each unparsable line: escaped
        assert b"{not json \\u{1b} \\u{1b}[2J\\u{7}" in err


def test_stats_and_metrics_key_lists_are_escaped():
    args = ["-j", "-e", 'track_unique("u", e.msg); track_count(e.msg)']
    for extra in (["--stats"], ["-m"], ["--metrics=tsv"], ["--metrics=json"], ["--with-stats", "--with-metrics"]):
        code, out, err = kelora([*args, *extra], EVENTS)
        assert code == 0, err
        assert _raw_controls(out) == [], (extra, out[:500])
        assert _raw_controls(err) == [], (extra, err[:500])
    code, out, _ = kelora([*args, "--metrics=json"], EVENTS)
    json.loads(out)  # still valid JSON


def test_script_errors_and_warnings_are_escaped():
    # a runtime error whose message quotes a value, an exit() message, a failed assert
    for args in (["-j", "-e", "e.x = e.msg.to_int()"],
                 ["-j", "-e", 'if e.n == 99 { exit(3, e.msg) }'],
                 ["-j", "--assert", "e.n < 0"],
                 ["-j", "-e", "e.x = e.msg + 1", "-v"]):
        code, out, err = kelora(args, EVENTS)
        assert _raw_controls(err) == [], (args, err[:800])


def test_file_names_are_escaped(tmp_path):
    name = "log\x1b]0;PWNED\x07\x1b[2J\u009b.jsonl"
    (tmp_path / name).write_bytes(EVENTS)
    for args in ([name, "missing\x1b[2J\x07.jsonl"], [name, "--stats"], ["-j", "-v", name]):
        code, out, err = kelora(["-j", *args], cwd=tmp_path)
        assert _raw_controls(err) == [], (args, err[:800])
        assert _raw_controls(out, KEPT) == [], (args, out[:800])


# ------------------------------------------------------------------ messages that quote a word or a path

ESC_WORD = "x\x1b]0;PWNED\x07\u009b2J\x7f"


@pytest.mark.parametrize("args", [["--help", ESC_WORD], [f"--help={ESC_WORD}"], ["--help-functions", ESC_WORD],
                                  [f"--help-functions={ESC_WORD}"]])
def test_help_searches_quote_the_word_escaped(args):
    code, out, err = kelora_tty(args)
    assert code == 0 and _raw_controls(out, KEPT | {"\r"}) == [] and b"\\u{1b}]0;PWNED" in out


def test_the_pii_report_shows_field_paths_escaped(tmp_path):
    data = b'{"ip\\u001b]0;PWNED\\u0007":"10.0.0.1","b\\u009b2J\\u007f":"10.0.0.2"}\n'
    for fmt in (["--scan-pii"], ["--scan-pii=json"]):
        code, out, err = kelora_tty(["-j", *fmt], data)
        assert code == 1 and _raw_controls(out, KEPT | {"\r"}) == [], out
    code, out, _ = kelora(["-j", "--scan-pii=json"], data)
    assert {f["field"] for f in json.loads(out)["findings"]} == {"ip\x1b]0;PWNED\x07", "b\u009b2J\x7f"}


def test_trust_config_names_the_file_escaped(tmp_path):
    project = tmp_path / "p\x1b]0;PWNED\x07"
    (project / ".git").mkdir(parents=True)
    ini = project / ".kelora.ini"
    ini.write_text("defaults = -j\n")
    ini.chmod(0o600)
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.run([KELORA_BIN, "--trust-config"], stdout=slave, stderr=subprocess.PIPE, cwd=project,
                          env=clean_env({"HOME": str(tmp_path / "home")}), timeout=60)
    os.close(slave)
    os.close(master)
    # refused (a path with a control character could not be held unambiguously by the trust
    # list, docs/security.md), and named escaped
    assert proc.returncode == 2 and b"control character" in proc.stderr, proc.stderr
    assert _raw_controls(proc.stderr, KEPT) == [] and b"\\u{1b}]0;PWNED\\u{7}" in proc.stderr, proc.stderr
