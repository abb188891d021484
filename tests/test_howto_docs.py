"""The how-to documents, the tutorial and the language page cannot rot: every command in them
runs, and prints what they show.

In `docs/how-to/*.md`, `docs/tutorial.md` and `docs/language.md`, each ```console block holds `$ command` lines, each followed by the
output the command prints (stdout and stderr together, as on a terminal).  A command continues
over several lines while it ends with `\\` or has an unclosed quote.  `$ export NAME=value`
sets a variable for the later commands of the same document.

The commands run with bash, from a scratch folder holding a copy of `examples/`, with the
installed `kelora` first on PATH, so files one step writes are there for the next.  The
`Throughput:` line of --stats varies from run to run and is compared loosely.

Each ```rhai block (a script shown on its own) must run as an `-E` stage, with `--strict`, on
the first event of `examples/app.log`: exit 0, no error.

Refresh the shown outputs after a deliberate change:  python -m tests.test_howto_docs --update
(or ``--update docs/tutorial.md`` for one document).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "how-to"
BIN = Path(sys.executable).parent
VARYING = [(re.compile(r"^Throughput: .*$", re.M), "Throughput: <varies>")]


@dataclass
class Command:
    text: str  # as written (may span lines)
    expected: list[str] = field(default_factory=list)
    line: int = 0  # line of `$` in the document


def _complete(cmd: str) -> bool:
    if cmd.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(cmd)
    except ValueError:
        return False
    return True


def parse_doc(text: str) -> list[Command]:
    commands: list[Command] = []
    lines = text.splitlines()
    i = 0
    in_block = False
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_block = line.strip() == "```console" if not in_block else False
            i += 1
            continue
        if in_block and line.startswith("$ "):
            cmd = line[2:]
            start = i
            while not _complete(cmd) and i + 1 < len(lines):
                i += 1
                cmd += "\n" + lines[i]
            commands.append(Command(cmd, [], start + 1))
        elif in_block and commands:
            commands[-1].expected.append(line)
        i += 1
    return commands


def normalize(text: str) -> str:
    for pattern, repl in VARYING:
        text = pattern.sub(repl, text)
    return text.rstrip("\n")


class Session:
    """Runs one document's commands in order in a scratch folder."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kelora-howto-"))
        shutil.copytree(ROOT / "examples", self.dir / "examples")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("KELORA_") and k not in ("FORCE_COLOR", "NO_COLOR")}
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["KELORA_IGNORE_CONFIG"] = "1"
        self.env["COLUMNS"] = "100"

    def run(self, cmd: Command) -> str:
        text = cmd.text.strip()
        m = re.fullmatch(r"export ([A-Za-z_][A-Za-z0-9_]*)=(.*)", text, re.S)
        if m:
            self.env[m.group(1)] = shlex.split(m.group(2))[0] if m.group(2) else ""
            return ""
        proc = subprocess.run(["bash", "-c", text], cwd=self.dir, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        return proc.stdout.decode("utf-8", "replace")

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def documents() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), ROOT / "docs" / "tutorial.md", ROOT / "docs" / "language.md"]


def _cases():
    for doc in documents():
        yield pytest.param(doc, id=doc.name)


def rhai_blocks(text: str) -> list[tuple[int, str]]:
    """(line, script) of each ```rhai block."""
    blocks, lines, start = [], text.splitlines(), None
    for i, line in enumerate(lines):
        if start is None and line.strip() == "```rhai":
            start = i + 1
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines[start:i])))
            start = None
    return blocks


@pytest.mark.parametrize("doc", list(_cases()))
def test_howto_commands_print_what_the_doc_shows(doc):
    text = doc.read_text(encoding="utf-8")
    commands = parse_doc(text)
    assert commands, f"{doc.name} has no ```console commands"
    session = Session()
    try:
        for n, (line, script) in enumerate(rhai_blocks(text)):
            path = session.dir / f"block{n}.rhai"
            path.write_text(script, encoding="utf-8")
            got = session.run(Command(f"kelora -j examples/app.log --take 1 --strict -q -E {path.name}; "
                                      "echo \"exit $?\""))
            assert got.endswith("exit 0\n") and "error" not in got.lower(), f"{doc.name}:{line}: the script fails\n{got}"
        for cmd in commands:
            got = normalize(session.run(cmd))
            want = normalize("\n".join(cmd.expected))
            assert "Traceback" not in got, f"{doc.name}:{cmd.line}: {cmd.text}\n{got}"
            assert got == want, (f"{doc.name}:{cmd.line}: output differs for\n$ {cmd.text}\n"
                                 f"--- doc ---\n{want}\n--- actual ---\n{got}")
    finally:
        session.close()


def update(doc: Path) -> None:
    """Rewrite the outputs shown in ``doc`` with what the commands print now."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    commands = parse_doc("\n".join(lines))
    session = Session()
    out: list[str] = []
    try:
        i = 0
        in_block = False
        pending = {c.line: c for c in commands}
        while i < len(lines):
            line = lines[i]
            if line.strip().startswith("```"):
                in_block = line.strip() == "```console" if not in_block else False
                out.append(line)
                i += 1
                continue
            if in_block and (i + 1) in pending:
                cmd = pending[i + 1]
                n = cmd.text.count("\n") + 1
                out.extend(lines[i:i + n])
                i += n
                while i < len(lines) and not lines[i].startswith("$ ") and not lines[i].strip().startswith("```"):
                    i += 1
                result = session.run(cmd).rstrip("\n")
                if result:
                    out.extend(result.split("\n"))
                continue
            out.append(line)
            i += 1
    finally:
        session.close()
    doc.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if "--update" in sys.argv:
        chosen = [Path(a).resolve() for a in sys.argv[sys.argv.index("--update") + 1:]]
        for path in chosen or documents():
            update(path)
            print(f"updated {path.relative_to(ROOT)}")
