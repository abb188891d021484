"""Text UTF-8 cannot hold (issue 12, item 4): every output, metric, message and file name is written.

Unpaired surrogates (``to_char(55296)``) and the undecodable bytes of a file name or an environment
value become U+FFFD where text leaves kelora (kelora/safetext.py, docs/compat.md); a high surrogate
followed by a low one becomes the character they spell.  No line is lost, no temporary file is
left, and the failure of an output is never reported as a failed input.
"""
from __future__ import annotations

import json
import os

import pytest

from tests.reliability.conftest import assert_no_traceback, run, run_bin

FFFD = "\ufffd"
CODES = b'{"c":65}\n{"c":55296}\n{"c":66}\n{"c":67}\n'
TO_CHAR = "e.ch = to_char(e.c)"


def _clean(res, tmp_path=None):
    assert_no_traceback(res)
    assert "internal error" not in res.err and "Failed to" not in res.err and "failed to open" not in res.err, res.err
    if tmp_path is not None:
        assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") or p.startswith(".")], os.listdir(tmp_path)


@pytest.mark.parametrize("fmt, first, second", [
    (["-F", "json"], '{"c":65,"ch":"A"}', '{"c":55296,"ch":"\ufffd"}'),
    (["-F", "logfmt"], "c=65 ch=A", "c=55296 ch=\ufffd"),
    (["-F", "default"], "c=65 ch=A", "c=55296 ch=\ufffd"),
    (["-F", "csv", "--keys", "c,ch"], "65,A", "55296,\ufffd"),
    (["-F", "tsv", "--keys", "c,ch"], "65\tA", "55296\t\ufffd"),
])
@pytest.mark.parametrize("parallel", [[], ["--parallel", "--batch-size", "1"]])
def test_an_unpaired_surrogate_reaches_every_output_format(tmp_path, fmt, first, second, parallel):
    data = tmp_path / "codes.jsonl"
    data.write_bytes(CODES)
    res = run_bin(["-j", str(data), "-e", TO_CHAR, *fmt, *parallel], cwd=tmp_path)
    _clean(res, tmp_path)
    assert res.code == 0, res.err
    lines = res.out.decode("utf-8").splitlines()  # valid UTF-8
    assert first in lines and second in lines
    assert any("67" in line and "C" in line for line in lines)  # lines 3 and 4 are processed too
    assert len([x for x in lines if x.startswith(("c=", "{", "6", "5"))]) == 4


def test_inspect_and_an_output_file(tmp_path):
    data = tmp_path / "codes.jsonl"
    data.write_bytes(CODES)
    res = run_bin(["-j", str(data), "-e", TO_CHAR, "-F", "inspect"], cwd=tmp_path)
    _clean(res)
    assert res.code == 0 and f"'{FFFD}'" in res.out.decode("utf-8") and res.out.count(b"---") == 4
    out = tmp_path / "out.json"
    res = run_bin(["-j", str(data), "-e", TO_CHAR, "-F", "json", "-o", str(out)], cwd=tmp_path)
    _clean(res, tmp_path)
    assert res.code == 0, res.err
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert [r["ch"] for r in rows] == ["A", FFFD, "B", "C"]


def test_a_surrogate_pair_becomes_its_character_and_keys_are_cleaned_too(tmp_path):
    res = run_bin(["-j", "-e", 'e.s = to_char(55357) + to_char(56832); e[to_char(56320)] = 1', "-F", "json"],
                  stdin=b'{"a":1}\n')
    _clean(res)
    assert json.loads(res.out) == {"a": 1, "s": "\U0001F600", FFFD: 1}


def test_a_non_utf8_file_name_in_meta_filename_and_messages(tmp_path):
    name = os.fsdecode(b"bad\xffname.jsonl")
    (tmp_path / name).write_bytes(CODES)
    missing = os.fsdecode(b"missing\xfe.jsonl")
    for fmt in ("json", "logfmt", "inspect"):
        res = run_bin(["-j", name, "-e", "e.f = meta.filename", "-F", fmt], cwd=tmp_path)
        _clean(res)
        assert res.code == 0, res.err
        assert f"bad{FFFD}name.jsonl" in res.out.decode("utf-8")
    res = run_bin(["-j", name, missing, "-F", "json", "--stats=json"], cwd=tmp_path)
    assert_no_traceback(res)
    assert res.code == 1
    assert f"Failed to open file 'missing{FFFD}.jsonl'" in res.err
    assert res.out.decode("utf-8").count("\n{") >= 0 and json.loads(res.out[res.out.rindex(b'{\n  "format"'):])["files"]["failed_to_open"] == 1


def test_a_non_utf8_environment_value_in_outputs_metrics_and_stats(tmp_path):
    environ = {"V": os.fsdecode(b"val\xffue")}
    data = tmp_path / "one.jsonl"
    data.write_bytes(b'{"a":1}\n{"a":2}\n')
    out, metrics = tmp_path / "out.json", tmp_path / "metrics.json"
    script = 'e.v = get_env("V"); track_unique("vals", e.v); track_freq(e.v, 1); e[e.v] = 1; print(e.v); eprint(e.v)'
    res = run_bin(["-j", str(data), "-e", script, "-F", "json", "-o", str(out), "--metrics-file", str(metrics),
                   "--with-stats", "--with-metrics"], environ=environ, cwd=tmp_path)
    _clean(res, tmp_path)
    assert res.code == 0, res.err
    assert [json.loads(x)["v"] for x in out.read_text("utf-8").splitlines()] == [f"val{FFFD}ue"] * 2
    assert json.loads(metrics.read_text("utf-8"))["vals"] == [f"val{FFFD}ue"]
    assert res.out.decode("utf-8") == f"val{FFFD}ue\n" * 2  # print()
    assert f"val{FFFD}ue" in res.err  # eprint, --with-metrics, --with-stats (keys)
    for fmt in ("json", "tsv", "full", "short"):
        res = run_bin(["-j", str(data), "-e", script, f"--metrics={fmt}", "--stats=json"], environ=environ)
        _clean(res)
        assert f"val{FFFD}ue" in res.out.decode("utf-8"), (fmt, res.out)


def test_error_samples_and_messages_carry_the_replacement(tmp_path):
    for args in (["-e", "throw to_char(55296)"], ["-e", "throw to_char(55296)", "-v"],
                 ["--filter", "to_char(55296) + 1 > 0", "--with-stats", "-v"], ["-e", "throw to_char(55296)", "--strict"]):
        res = run_bin(["-j", *args, "-F", "json"], stdin=b'{"a":1}\n{"a":2}\n')
        _clean(res)
        assert res.code in (0, 1), res.err
        if args[0] == "-e":
            assert "rror" in res.err, res.err  # U+FFFD, or the escaped visible form of diagnostics (COMPAT D18)
            assert FFFD in res.err or "\\ud800" in res.err, res.err


def test_in_process_the_same_outputs_are_valid_utf8():
    res = run(["-j", "-e", TO_CHAR, "-F", "json"], stdin=CODES)
    assert res.code == 0 and res.out.decode("utf-8").count(FFFD) == 1


# --------------------------------------------------------------------------- serializers and writers
# The builtins that turn text into text or bytes for output (to_json, to_logfmt, to_kv, the
# encoders), the metric names, the PII gate's report and the privacy lifecycle's files follow the
# same rule: U+FFFD, never a crash, an "internal error" or a runtime error per event.

SERIALIZE = ("let m = #{}; m[to_char(e.c)] = to_char(e.c); e.j = to_json(m); e.p = to_json(m, 2); "
             "e.l = to_logfmt(m); e.k = to_kv(m); e.b = encode_b64(to_char(e.c)); "
             "e.h = encode_hex(to_char(e.c)); e.u = encode_url(to_char(e.c)); "
             "e.g = get_env(to_char(e.c), \"unset\")")


def test_serializers_and_encoders_write_the_replacement():
    res = run_bin(["-j", "-e", SERIALIZE, "-F", "json", "--strict"], stdin=CODES)
    _clean(res)
    assert res.code == 0, res.err
    rows = [json.loads(x) for x in res.out.decode("utf-8").splitlines()]
    assert len(rows) == 4
    bad = rows[1]
    assert bad["j"] == '{"\ufffd":"\ufffd"}' and json.loads(bad["p"]) == {FFFD: FFFD}
    assert bad["l"] == f"{FFFD}={FFFD}" and bad["k"] == f"{FFFD}={FFFD}"
    assert bad["b"] == "77+9" and bad["h"] == "efbfbd" and bad["u"] == "%EF%BF%BD"  # U+FFFD's bytes
    assert bad["g"] == "unset"
    assert rows[0]["j"] == '{"A":"A"}' and rows[0]["b"] == "QQ=="


def test_metric_names_and_keys_from_to_char_reach_the_metrics_file(tmp_path):
    out = tmp_path / "m.json"
    script = 'track_unique(to_char(e.c), to_char(e.c)); track_freq("f", to_char(e.c))'
    res = run_bin(["-j", "-e", script, "--metrics-file", str(out), "-m", "-F", "none"], stdin=CODES)
    _clean(res, tmp_path)
    assert res.code == 0, res.err
    doc = json.loads(out.read_text("utf-8"))
    assert doc[FFFD] == [FFFD] and doc["f"][FFFD] == 1 and doc["A"] == ["A"]
    assert f"f\t{FFFD}\t1" in res.err or FFFD in res.out.decode("utf-8") + res.err


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_the_pii_report_names_an_unencodable_field_path(fmt):
    res = run_bin(["-j", "-e", "e[to_char(e.c)] = \"ann@example.com\"", f"--scan-pii={fmt}"], stdin=CODES)
    _clean(res)
    assert res.code == 1, res.err
    text = res.out.decode("utf-8")
    if fmt == "json":
        fields = {f["field"] for f in json.loads(text)["findings"]}
        assert fields == {"A", FFFD, "B", "C"}
    else:
        assert f"\n{FFFD} " in text and "PII scan: 4 findings" in text


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rotation_map_and_escrow_with_an_unencodable_domain(tmp_path, suffix):
    environ = {"KELORA_SECRET": "a-long-enough-test-secret-0123456789",
               "KELORA_SECRET_PREVIOUS": "the-previous-test-secret-9876543210",
               "KELORA_ESCROW_KEY": "an-escrow-key-of-at-least-32-bytes-0123456789"}
    rmap, db = tmp_path / f"map{suffix}", tmp_path / "audit.db"
    script = 'e.t = pseudonym("v" + e.c, "d" + to_char(e.c))'
    res = run_bin(["-j", "-e", script, "--rotation-map", str(rmap), "--escrow", str(db), "-F", "json",
                   "--strict"], stdin=CODES, environ=environ, cwd=tmp_path)
    _clean(res)
    assert res.code == 0, res.err
    assert f"d{FFFD}: 1" in res.err and "4 new rows" in res.err, res.err
    text = rmap.read_text("utf-8")
    assert f"d{FFFD}" in text and "dA" in text and len(text.strip().splitlines()) == 4 + (suffix == ".csv")
    # the domain as the script spells it (lone surrogate) reveals what pseudonym() stored
    back = run_bin(["-j", "--escrow", str(db), "-e", 'e.o = reveal(e.t, "d" + to_char(e.c))', "-F", "json",
                    "--strict"], stdin=res.out, environ={"KELORA_ESCROW_KEY": environ["KELORA_ESCROW_KEY"]})
    _clean(back)
    assert back.code == 0, back.err
    assert [json.loads(x)["o"] for x in back.out.decode().splitlines()] == ["v65", "v55296", "v66", "v67"]


def test_in_process_serializers_never_raise_on_unencodable_text():
    from kelora.builtins.serializers import to_json, to_kv, to_logfmt
    from kelora.formats.render import json_bytes
    from kelora.values import Char

    for value in ("\ud800", Char("\ud800"), {Char("\udc80"): Char("\ud800")}, [{"k\ud800": ["\udfff"]}],
                  {Char("a"): 1}):
        for indent in (0, 2):
            out = to_json(value, indent)
            out.encode("utf-8")  # valid UTF-8 text, no \ud800 escape
            assert "\\ud" not in out
        json_bytes(value).decode("utf-8")
    assert to_logfmt({Char("\ud800"): "\udc80"}) == f"{FFFD}={FFFD}"
    assert to_kv({"a": Char("\ud800")}) == f"a={FFFD}"
