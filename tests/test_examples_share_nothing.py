"""What the project presents as a shareable export carries no identifier (issue 11 item 8).

`make demo` (step 2, and its final `--scan-pii` gate) and the README's first example export no
e-mail or IP address anywhere, free text included.  The commands are read from the Makefile and
README themselves and run with the installed `kelora` (`--stats` "Keys output" after -k/-K is
tests/test_stats_keys_output.py).
"""
from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli_cases import clean_env

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IP_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]{3,}")


def identifiers(text: str) -> list[str]:
    """E-mail addresses and IPv4/IPv6 addresses found anywhere in *text*."""
    found = EMAIL.findall(text)
    for cand in IP_CANDIDATE.findall(text):
        cand = cand.strip(":.")
        if cand.count(".") == 3 or cand.count(":") >= 2:
            try:
                ipaddress.ip_address(cand)
            except ValueError:
                continue
            found.append(cand)
    return found


def test_the_scanner_finds_what_it_should():
    assert identifiers('{"m":"bad password for José.Müller@exämple.de","ip":"203.0.113.10"}') == [
        "José.Müller@exämple.de", "203.0.113.10"]
    assert identifiers('{"ip":"2001:db8:85a3::8a2e:370:7334","ts":"2024-06-03T08:00:44.970Z"}') == [
        "2001:db8:85a3::8a2e:370:7334"]
    assert identifiers('{"ip":"gVhoXuZAFTMB6OWB8THqvGHM","m":"<email>"}') == []


def test_make_demo_exports_no_identifier(tmp_path):
    stamp = tmp_path / "stamp"  # newer than pyproject.toml: make installs nothing
    stamp.touch()
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "demo", f"BIN={BIN}", f"STAMP={stamp}"],
                       capture_output=True, text=True, env=clean_env(), timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    step2 = out.split("== Step 2")[1].split("== Step 4")[0]
    assert '"user_id"' in step2 and '"message"' in step2 and '"ip"' in step2  # step 2 ran
    assert identifiers(out) == []
    assert "PII scan: clean" in out.split("== Final check")[1]  # the gate passed
    # the gate scans the step-2 export itself (one shared command)
    make = (ROOT / "Makefile").read_text()
    assert make.count("$(BIN)/kelora $(DEMO_EXPORT)") == 2


def _first_readme_command() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Usage", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("kelora "))
    cmd = ""
    for line in lines[start:]:
        cmd += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            return cmd


def test_readme_first_example_exports_no_identifier(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    cmd = _first_readme_command()
    assert "-o pseudonymized.json" in cmd
    env = clean_env({"KELORA_SECRET": "readme-secret-long-enough", "PATH": f"{BIN}:/usr/bin:/bin"})
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=120)
    assert p.returncode == 0, (cmd, p.stderr)
    export = (tmp_path / "pseudonymized.json").read_text()
    assert '"message"' in export and '"ip"' in export
    assert identifiers(p.stdout + export) == []
    gate = subprocess.run([str(BIN / "kelora"), "-j", "pseudonymized.json", "--scan-pii"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert gate.returncode == 0 and "PII scan: clean" in gate.stdout + gate.stderr
