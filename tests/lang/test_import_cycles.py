"""The modules of kelora.lang import each other one way (no cycle, lazy imports included), and
none imports another's private name (issue 16)."""
from __future__ import annotations

import ast
from pathlib import Path

import kelora.lang

LANG = Path(kelora.lang.__file__).parent


def _imports() -> dict[str, set[tuple[str, str]]]:
    """module -> {(imported lang module, imported name)} over every import statement."""
    mods = {p.stem for p in LANG.glob("*.py")}
    out: dict[str, set[tuple[str, str]]] = {}
    for path in LANG.glob("*.py"):
        deps: set[tuple[str, str]] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("kelora.lang."):
                    deps.update((node.module.split(".")[2], a.name) for a in node.names)
                elif node.module == "kelora.lang":
                    deps.update((a.name, "") for a in node.names if a.name in mods)
            elif isinstance(node, ast.Import):
                deps.update((a.name.split(".")[2], "") for a in node.names if a.name.startswith("kelora.lang."))
        out[path.stem] = {d for d in deps if d[0] != path.stem}
    return out


def test_no_import_cycle_in_the_language_package():
    graph = {m: {d for d, _ in deps} for m, deps in _imports().items()}
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for d in sorted(graph.get(m, ())):
            assert seen.get(d) != 1, "import cycle: " + " -> ".join([*path, m, d])
            if d not in seen:
                visit(d, [*path, m])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [])


def test_no_private_name_imported_across_modules():
    private = sorted((m, d, n) for m, deps in _imports().items() for d, n in deps
                     if n.startswith("_") and not n.startswith("__"))
    assert private == []
