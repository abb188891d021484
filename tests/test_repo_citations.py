"""Comments and docs cite only what is in the repository: "reference §N" names a section of
docs/dev/kelora-reference.md, and benchmark task names (T0–T6) are defined in the glossary."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sections():
    text = (ROOT / "docs" / "dev" / "kelora-reference.md").read_text()
    return set(re.findall(r"^#+ (\d+(?:\.\d+)?)[ .]", text, re.M))


def test_every_reference_section_cited_in_the_code_exists():
    sections = _sections()
    assert {"4.1", "5.1", "7"} <= sections
    missing = []
    for path in (ROOT / "kelora").rglob("*.py"):
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            if "reference" not in line.lower() and "§" not in line:
                continue
            for num in re.findall(r"§\s?(\d+(?:\.\d+)?)", line):
                if "RFC" in line or "rfc" in line:
                    continue
                if num not in sections:
                    missing.append(f"{path.relative_to(ROOT)}:{line_no}: §{num}")
    assert not missing, "cited sections not in docs/dev/kelora-reference.md:\n" + "\n".join(missing)


def test_benchmark_task_names_are_in_the_glossary():
    glossary = (ROOT / "docs" / "dev" / "glossary.md").read_text()
    used = set()
    for path in (ROOT / "kelora").rglob("*.py"):
        used |= set(re.findall(r"\bT[0-9]\b", path.read_text()))
    assert used, "no task names found: is the pattern right?"
    for name in sorted(used):
        assert f"| {name} |" in glossary, f"{name} is used in comments but not defined in docs/dev/glossary.md"


def test_no_comment_points_outside_the_repository():
    bad = []
    for path in (ROOT / "kelora").rglob("*.py"):
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            if "shared/spec" in line or "../shared" in line:
                bad.append(f"{path.relative_to(ROOT)}:{line_no}")
    assert not bad, "comments citing files outside the repository:\n" + "\n".join(bad)
