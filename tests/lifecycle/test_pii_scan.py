"""--scan-pii (COMPAT D21): a PII corpus of true positives of every kind and look-alikes that must
not be flagged, through the installed kelora; precision and recall are printed (pytest -s)."""
from __future__ import annotations

import json
import time

import pytest

from kelora.privacy.pii_patterns import KINDS, find

from .helpers import BENCH, run

POSITIVES = {
    "email": ["alice@example.com", "contact: José.Müller@exämple.de now", "maria.jones+work@net-south.dev",
              "<bob_o'k@mail.co.uk>", "x=ann-lee@sub.domain.example.org;"],
    "ipv4": ["10.0.0.1", "client 192.168.1.20 connected", "from=203.0.113.7:443", "8.8.8.8,1.1.1.1"],
    "ipv6": ["2001:db8::1", "fe80::1ff:fe23:4567:890a", "[2001:db8:85a3::8a2e:370:7334]:8080",
             "addr 2001:0db8:0000:0000:0000:ff00:0042:8329 up", "::ffff:c000:280"],
    "phone": ["+44 20 7946 0958", "call +1 (555) 123-4567", "+49-30-901820", "+33 1 23 45 67 89",
              "tel:+81312345678"],
    "card": ["4111 1111 1111 1111", "card=5555555555554444", "3782-822463-10005", "6011111111111117",
             "paid with 4012-8888-8888-1881"],
    "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "iban FR1420041010050500013M02606",
             "NL91ABNA0417164300"],
    "ssn": ["123-45-6789", "ssn: 078-05-1120", "SSN=219-09-9999"],
    "jwt": ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhIn0.c2lnbmF0dXJl"],
    "private-key": ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "-----BEGIN PRIVATE KEY-----",
                    "key: -----BEGIN OPENSSH PRIVATE KEY-----"],
    "aws-key": ["AKIAIOSFODNN7EXAMPLE", "aws_access_key_id=ASIAY34FZKBOKMUTVV7A"],
    "github-token": ["ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                     "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"],
    "slack-token": ["xoxb-2345678901-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxp-1234567890-abcdefghij"],
    "google-api-key": ["AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "key=AIzaSyA1234567890abcdefghijklmnopqrstuv"],
    "mac": ["00:1A:2B:3C:4D:5E", "hw 3c-22-fb-90-11-a7", "0050.56c0.0001"],
    "url-credentials": ["postgres://admin:s3cr3t@db.internal:5432/app", "https://user:pa55@example.com/x",
                        "redis://:hunter2@cache:6379"],
}

NEGATIVES = [
    # version numbers
    "v1.2.3", "1.2.3", "version 1.2.3.4", "v2.10.4.1", "Python 3.11.7", "2.0.0-beta.1", "release 4.2.0.1",
    "libssl1.1", "node v18.17.1",
    # dates and times
    "2024-06-01T00:00:00.057Z", "2024-01-15", "15.01.2024", "12:30:45", "10:30:45.123",
    "2024-01-15 10:30:45+02:00", "Mon, 15 Jan 2024 10:30:45 GMT", "2024/01/15", "20240115",
    "1705312245123", "1705312245",
    # order ids, invoice numbers, hashes, uuids, request ids
    "ORD-20240115-000123", "order 858205", "INV-2024-0001", "/v2/orders/858205",
    "9b499416c41b6c69", "87808418f3f3645326e6809195432cf1",
    "d41d8cd98f00b204e9800998ecf8427e", "550e8400-e29b-41d4-a716-446655440000",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "req-4111-1111", "1234567890123", "4111 1111 1111 1112",
    # pseudonym tokens and other base64url
    "lJLFJ4vhI8t22lS9ZsPWhF-s", "B6aC2V_B82idC-DGRn-GBevK", "RGBAYNu3NrNOoiD9npTfRPwO",
    # numbers, sizes, durations, percentages
    "status 500 in 12.5ms", "took 1.234.567 ns", "3.14159", "1,234,567.89", "+5", "+1", "99.9%",
    "-1234.5678", "+0200", "1e10",
    # code-ish text
    "std::io::Read", "a::b::c", "Foo::Bar", "http://example.com/path", "https://example.com:8443/a?b=c",
    "user@", "@mention", "foo@bar", "x.y@z", "rate limit 97/100", "GET /charge?api_key=redacted",
    "SELECT * FROM t WHERE id = 5", "eyJ not a jwt", "AKIA", "ghp_short", "xoxb-short",
    "00:00:00:00:00:00", "12-34-56", "1-800-FLOWERS", "ISBN 978-3-16-148410-0",
]


def _corpus():
    rows = []
    for kind, samples in POSITIVES.items():
        for s in samples:
            rows.append((s, kind))
    for s in NEGATIVES:
        rows.append((s, None))
    return rows


def test_every_kind_has_true_positives():
    assert set(POSITIVES) == set(KINDS)


def test_corpus_precision_and_recall(tmp_path, capsys):
    rows = _corpus()
    data = b"".join(json.dumps({f"f{i}": s}, ensure_ascii=False).encode() + b"\n" for i, (s, _) in enumerate(rows))
    r = run(["-j", "--scan-pii=json"], stdin=data)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    found: dict[str, set[str]] = {}
    for f in doc["findings"]:
        found.setdefault(f["field"], set()).add(f["kind"])
        assert f["lines"] == [int(f["field"][1:]) + 1]
    tp = fp = fn = 0
    misses, false_alarms = [], []
    for i, (s, kind) in enumerate(rows):
        got = found.get(f"f{i}", set())
        if kind is not None:
            if kind in got:
                tp += 1
            else:
                fn += 1
                misses.append((kind, s))
        fp += len(got - {kind})
        false_alarms += [(k, s) for k in got - {kind}]
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    with capsys.disabled():
        print(f"\nPII corpus: {len(rows)} samples ({sum(1 for _, k in rows if k)} positives), "
              f"precision {precision:.3f}, recall {recall:.3f}")
    assert not misses, misses
    assert not false_alarms, false_alarms
    # the report never shows a value
    for s, _ in rows:
        if len(s) > 6:
            assert s.encode() not in r.stdout


def test_clean_export_exits_0_and_table_format():
    r = run(["-j", "--scan-pii"], stdin=b'{"msg":"ok","n":5}\n{"v":"v1.2.3.4"}\n')
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"PII scan: clean (2 events scanned)\n"


def test_table_lists_field_kind_count_and_first_three_lines():
    data = b"".join(json.dumps({"u": {"mail": f"user{i}@example.com"}, "ip": "10.0.0.%d" % i}).encode() + b"\n"
                    for i in range(1, 6))
    r = run(["-j", "--scan-pii"], stdin=data)
    assert r.returncode == 1
    out = r.stdout.decode().splitlines()
    assert out[0].split() == ["field", "kind", "count", "first", "lines"]
    assert out[1].split() == ["ip", "ipv4", "5", "1,", "2,", "3"]
    assert out[2].split() == ["u.mail", "email", "5", "1,", "2,", "3"]
    assert "10 findings" in out[-1]


def test_scans_what_would_be_written_after_stages_and_keys():
    data = b'{"mail":"a@example.com","ip":"10.0.0.1","msg":"ok"}\n'
    assert run(["-j", "--scan-pii", "-K", "mail,ip"], stdin=data).returncode == 0
    assert run(["-j", "--scan-pii", "-k", "msg"], stdin=data).returncode == 0
    assert run(["-j", "--scan-pii", "-e", "e.mail = (); e.ip = mask_ip(e.ip, 4)"], stdin=data).returncode == 0
    assert run(["-j", "--scan-pii", "--filter", "false"], stdin=data).returncode == 0
    r = run(["-j", "--scan-pii", "-e", "e.ip = ()"], stdin=data)
    assert r.returncode == 1 and b"mail" in r.stdout and b"ipv4" not in r.stdout


def test_pii_allow_field_and_kind():
    data = b'{"mail":"a@example.com","host":{"ip":"10.0.0.1","mac":"00:1A:2B:3C:4D:5E"}}\n'
    assert run(["-j", "--scan-pii", "--pii-allow", "mail", "--pii-allow", "host"], stdin=data).returncode == 0
    r = run(["-j", "--scan-pii", "--pii-allow", "mail", "--pii-allow", "host:ipv4"], stdin=data)
    assert r.returncode == 1 and b"host.mac" in r.stdout and b"ipv4" not in r.stdout
    bad = run(["-j", "--scan-pii", "--pii-allow", "mail:emial"], stdin=data)
    assert bad.returncode == 2 and b"unknown kind" in bad.stderr


def test_pseudonymized_export_is_clean_and_parallel_equal(tmp_path):
    lines = b"".join(json.dumps({"user_email": f"u{i % 97}@example.com", "ip": f"10.0.{i % 7}.{i % 200}",
                                 "msg": "ok" if i % 5 else f"mail to u{i}@example.com"}).encode() + b"\n"
                     for i in range(3000))
    f = tmp_path / "in.jsonl"
    f.write_bytes(lines)
    env = {"KELORA_SECRET": BENCH}
    script = ["-e", 'e.user_id = pseudonym(e.user_email, "users"); e.user_email = ()',
              "-e", "e.ip = mask_ip(e.ip, 4)"]
    seq = run(["-j", str(f), *script, "--scan-pii=json"], env=env)
    par = run(["-j", str(f), *script, "--scan-pii=json", "--parallel", "--batch-size", "101"], env=env)
    assert seq.returncode == par.returncode == 1
    assert seq.stdout == par.stdout
    doc = json.loads(seq.stdout)
    assert [(x["field"], x["kind"], x["count"], x["lines"]) for x in doc["findings"]] == [("msg", "email", 600, [1, 6, 11])]
    clean = run(["-j", str(f), *script, "-e", "e.msg = ()", "--scan-pii"], env=env)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout == b"PII scan: clean (3000 events scanned)\n"


def test_own_tokens_that_look_like_pii_are_not_reported(monkeypatch):
    """A token that happens to look like PII (say, 16 digits passing Luhn) is not reported."""
    from kelora import keyring
    from kelora.cli.app import run_command
    from kelora.run.env import Env

    monkeypatch.setattr(keyring, "_make_pseudonymizer",
                        lambda master, domain, *limits: (lambda value: "4111111111111111"))
    env = Env.for_test(stdin=b'{"u":"a"}\n', environ={"KELORA_SECRET": BENCH})
    assert run_command(["-j", "-e", 'e.u = pseudonym(e.u, "users")', "--scan-pii"], env) == 0
    env = Env.for_test(stdin=b'{"u":"a","c":"4111111111111111 x"}\n', environ={"KELORA_SECRET": BENCH})
    assert run_command(["-j", "-e", 'e.u = pseudonym(e.u, "users")', "--scan-pii"], env) == 0
    env = Env.for_test(stdin=b'{"c":"4111111111111111"}\n', environ={"KELORA_SECRET": BENCH})
    assert run_command(["-j", "--scan-pii"], env) == 1


@pytest.mark.parametrize("unit", ["a", "1", "1.", "a@", ":", "a:", "+1 ", "1-", "eyJ", "eyJa.", "://a:",
                                  "-----BEGIN ", "ghp_", "AKIA", "1.1.1.", "aa:", "GB82", "+1", "@a.", "1 ",
                                  "a.", "0:", "A1"])
def test_hostile_input_stays_linear(unit):
    """Every pattern is bounded: 100 kB of a repeated unit scans in well under seconds per unit."""
    small, big = unit * (10_000 // len(unit)), unit * (100_000 // len(unit))
    t0 = time.perf_counter()
    find(small)
    t1 = time.perf_counter()
    find(big)
    t2 = time.perf_counter()
    assert t2 - t1 < 10 * max(t1 - t0, 0.001) * 3 + 0.5  # ~linear (x10 input, generous bound)


@pytest.mark.parametrize("parallel", [[], ["--parallel", "--batch-size", "7"]])
def test_scan_with_output_file_is_a_gate(tmp_path, parallel):
    """--scan-pii -o FILE writes the export and keeps it only when the scan is clean; with
    findings the previous FILE stays as it was (exit 1)."""
    out = tmp_path / "export.json"
    out.write_text("previous export\n")
    data = b"".join(json.dumps({"n": i, "mail": f"u{i}@example.com"}).encode() + b"\n" for i in range(50))
    f = tmp_path / "in.jsonl"
    f.write_bytes(data)
    r = run(["-j", str(f), "--scan-pii", "-o", str(out), "-F", "json", *parallel])
    assert r.returncode == 1 and b"not written" in r.stderr
    assert out.read_text() == "previous export\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    r = run(["-j", str(f), "--scan-pii", "-o", str(out), "-F", "json", "-K", "mail", *parallel])
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"PII scan: clean (50 events scanned)\n"
    assert [json.loads(x) for x in out.read_text().splitlines()] == [{"n": i} for i in range(50)]


# ------------------------------------------------------------------ a bounded report (issue 15)

def _keyed(n: int) -> bytes:
    """Maps keyed by user ids (u100000...) and by names (one new field path per event)."""
    return b"".join(json.dumps({"users": {f"u{100000 + i}": {"email": f"user{i}@example.com"}},
                                "by_name": {f"name{i}x": "10.0.1.7"},
                                "ok": {"12": "v1.2.3.4", "ipv4": "10.0.0.9"}}).encode() + b"\n"
                    for i in range(n))


def test_id_keyed_paths_collapse_and_the_report_is_capped(tmp_path):
    from kelora.privacy.pii_scan import MAX_ROWS, OTHER

    n = MAX_ROWS + 500
    f = tmp_path / "keyed.jsonl"
    f.write_bytes(_keyed(n))
    seq = run(["-j", str(f), "--scan-pii=json"])
    assert seq.returncode == 1, seq.stderr
    doc = json.loads(seq.stdout)
    rows = {(x["field"], x["kind"]): x for x in doc["findings"]}
    assert len(doc["findings"]) == MAX_ROWS  # 1 + 1 + the first by_name paths, then counted per kind
    # one row for every user id, not one per user; short keys with digits stay as they are
    assert rows[("users.<id>.email", "email")]["count"] == n
    assert rows[("ok.ipv4", "ipv4")]["count"] == n and ("ok.12", "ipv4") not in rows
    named = [x for x in doc["findings"] if x["field"].startswith("by_name.")]
    assert len(named) == MAX_ROWS - 2
    other = doc["other_field_paths"]
    assert other == [{"kind": "ipv4", "count": n - len(named), "lines": [MAX_ROWS - 1, MAX_ROWS, MAX_ROWS + 1]}]
    assert sum(x["count"] for x in doc["findings"]) + other[0]["count"] == 3 * n  # nothing lost
    # --parallel gives the same report (the parent applies the cap in input order)
    par = run(["-j", str(f), "--scan-pii=json", "--parallel", "--batch-size", "97"])
    assert par.stdout == seq.stdout
    table = run(["-j", str(f), "--scan-pii"])
    lines = table.stdout.decode().splitlines()
    assert len(lines) == MAX_ROWS + 3  # header, the rows, the other row, the summary
    assert lines[-2].split()[:4] == ["(other", "field", "paths)", "ipv4"]
    assert f"more than {MAX_ROWS} field/kind pairs" in lines[-1] and OTHER in lines[-1]


def test_the_scanners_memory_is_bounded_on_id_keyed_paths():
    """In-process: 20,000 distinct field paths keep at most MAX_ROWS findings and bounded caches."""
    from types import SimpleNamespace

    from kelora.privacy.pii_scan import KEY_CACHE_LIMIT, MAX_ROWS, Scanner

    pipe = SimpleNamespace(config=SimpleNamespace(scan_pii="json"), line_num=0)
    s = Scanner(pipe, ("allowed.field",))
    for i in range(20_000):
        pipe.line_num = i + 1
        s.scan({"m": {f"key{i}name": "ann@example.com", f"{i:08d}": "ann@example.com"}})
    assert len(s.findings) == MAX_ROWS
    assert s.other["email"][0] + sum(e[0] for e in s.findings.values()) == 40_000
    assert len(s._allowed) <= KEY_CACHE_LIMIT and len(s._clean_keys) <= KEY_CACHE_LIMIT
    assert ("m.<id>", "email") in s.findings


def test_id_like_keys():
    from kelora.privacy.pii_scan import id_like

    for key in ("12345", "u123", "550e8400-e29b-41d4-a716-446655440000", "0042", "user_1234567"):
        assert id_like(key), key
    for key in ("ipv4", "sha256", "http2", "line_1", "12", "name", "", "v1.2.3"):
        assert not id_like(key), key


@pytest.mark.parametrize("parallel", [[], ["--parallel", "--batch-size", "7"]])
def test_the_gate_scans_what_scripts_print_and_the_metrics(tmp_path, parallel):
    """The run writes print() output and metrics too: --scan-pii reports PII there (print() and
    metrics.NAME), and with any finding neither the -o export nor the --metrics-file is
    written; clean metrics are written as usual."""
    data = b"".join(json.dumps({"n": i, "mail": f"u{i}@example.com"}).encode() + b"\n" for i in range(20))
    f = tmp_path / "in.jsonl"
    f.write_bytes(data)
    out, metrics = tmp_path / "export.json", tmp_path / "metrics.json"
    r = run(["-j", str(f), "-e", 'track_unique("users", e.mail); e.mail = ()', "--scan-pii=json",
             "-o", str(out), "--metrics-file", str(metrics), *parallel])
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert report["findings"] == [{"field": "metrics.users[]", "kind": "email", "count": 20, "lines": []}]
    assert f"'{out}' not written".encode() in r.stderr and f"'{metrics}' not written".encode() in r.stderr
    assert not out.exists() and not metrics.exists()
    # (print() is written beside an -o export; without -o the report replaces it on stdout)
    r = run(["-j", str(f), "-e", 'if e.n == 3 { print(`user ${e.mail}`) } e.mail = ()', "--scan-pii",
             "-o", str(out), *parallel])
    assert r.returncode == 1 and not out.exists()
    assert b"user u3@example.com\n" in r.stdout
    assert b"print()  email        1  4" in r.stdout, r.stdout
    r = run(["-j", str(f), "-e", 'track_sum("n", 1); e.mail = ()', "--scan-pii", "-o", str(out),
             "--metrics-file", str(metrics), *parallel])
    assert r.returncode == 0, r.stderr
    assert json.loads(metrics.read_text()) == {"n": 20} and out.exists()
