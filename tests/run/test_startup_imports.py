"""What a run imports decides its start-up time (a 10-line run is mostly start-up).

A run without scripts (a passthrough or format conversion) needs neither the script language
(its AST module alone is ~15 ms of frozen dataclasses, lark more) nor the key machinery, and no
time zone database unless a zone is named; a config file's digest loads hashlib only when a
config file is read.  Each case runs the command in a fresh interpreter and lists the modules
it loaded."""
import json
import subprocess
import sys

PROBE = """
import io, json, sys
import kelora
rc = kelora.main(sys.argv[1:])
mods = sorted(m for m in sys.modules
              if m.startswith("kelora.lang.") or m.split(".")[0] in ("lark", "hashlib", "zoneinfo", "hmac"))
print(json.dumps({"rc": rc, "modules": mods}), file=sys.stderr)
"""


def loaded(tmp_path, *args: str) -> list[str]:
    src = tmp_path / "in.jsonl"
    src.write_text('{"ts":"2024-01-01T00:00:00Z","level":"INFO","status":500}\n')
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(home / ".config")}
    proc = subprocess.run([sys.executable, "-c", PROBE, "-j", str(src), *args], capture_output=True,
                          text=True, cwd=tmp_path, env=env)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["rc"] == 0, proc.stderr
    return report["modules"]


def test_a_run_without_scripts_imports_no_language_keys_or_zones(tmp_path):
    assert loaded(tmp_path, "-F", "json") == []
    assert loaded(tmp_path, "-F", "csv", "-k", "ts,status", "--with-stats") == []


def test_a_filter_run_loads_the_language(tmp_path):
    # (the probe sees the modules a run imports: without this, the case above could pass
    # because it lists nothing at all)
    mods = loaded(tmp_path, "--filter", "e.status >= 500", "-F", "json")
    assert "kelora.lang.program" in mods and "kelora.lang.ast" in mods
    assert "hmac" not in mods and "zoneinfo" not in mods
