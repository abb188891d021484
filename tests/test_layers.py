"""Import contracts: dependencies go one way, drivers -> run -> domain -> core.

    drivers  kelora.cli, kelora.api, kelora.__main__ : the command line and the Python API
    run      kelora.run            : plan, state, reader, stages, sink, parallel drivers
    domain   kelora.lang, kelora.builtins, kelora.formats, kelora.metrics, kelora.report,
             kelora.privacy, kelora.timestamps, kelora.keyring, kelora.fileguard, kelora.context
    core     kelora.values, kelora.errors, kelora.status, kelora.config, kelora.safetext,
             kelora.escape, kelora.atomicfile, kelora.secretenv, kelora (the package)

Every import counts, also those inside functions (kelora imports lazily for start-up time, but a
lazy import is still a dependency).  A module may import its own layer and the layers below.
"""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "kelora"

LAYERS = [
    ("drivers", ("kelora.cli", "kelora.api", "kelora.__main__")),
    ("run", ("kelora.run",)),
    ("domain", ("kelora.lang", "kelora.builtins", "kelora.formats", "kelora.metrics", "kelora.report",
                "kelora.privacy", "kelora.timestamps", "kelora.keyring", "kelora.fileguard",
                "kelora.context")),
    ("core", ("kelora.values", "kelora.errors", "kelora.status", "kelora.config", "kelora.safetext",
              "kelora.escape", "kelora.atomicfile", "kelora.secretenv", "kelora")),
]


def layer_of(module: str) -> int:
    best, rank = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            # "kelora" names the package itself only: every module must be placed explicitly
            if (module == p or (p != "kelora" and module.startswith(p + "."))) and len(p) > rank:
                best, rank = i, len(p)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to tests/test_layers.py")
    return best


def modules():
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def from_target(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` reads, relative imports resolved against *package*."""
    if node.level:
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        return f"{base}.{node.module}" if node.module else base
    return node.module or ""


def imports_of(name: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kelora"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            target = from_target(node, package)
            if not target.startswith("kelora"):
                continue
            for alias in node.names:  # `from kelora.x import y`: y may be a module
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists() \
                    or (PKG.parent / sub.replace(".", "/")).is_dir() else target


def test_every_module_is_in_a_layer():
    for name, _ in modules():
        layer_of(name)


# kelora/__init__.py is the package's public face: it re-exports the API (lazily, on first use)
EXEMPT = {"kelora"}


def test_dependencies_go_one_way():
    wrong = []
    for name, path in modules():
        if name in EXEMPT:
            continue
        mine = layer_of(name)
        for line, target in imports_of(name, path):
            if layer_of(target) < mine:
                wrong.append(f"{path.relative_to(PKG.parent)}:{line} imports {target} "
                             f"({LAYERS[mine][0]} -> {LAYERS[layer_of(target)][0]})")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_a_violation_is_caught(tmp_path):
    # the checker itself: an import from core up to the run layer is reported
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from kelora.run import pipeline\n")
    found = list(imports_of("kelora.values", bad))
    assert found == [(2, "kelora.run.pipeline")] and layer_of(found[0][1]) < layer_of("kelora.values")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(dotted: str) -> bool:
    path = PKG.parent / dotted.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def private_uses(name: str, path: Path):
    """``(line, what)`` for each private name *name*'s module takes from another kelora module:
    ``from kelora.x import _y`` (relative imports too), ``x._y`` on an imported kelora module,
    and a private module (``kelora.builtins._regex``) imported from outside its package.
    Binding a public name to a private alias (``import kelora.x as _x``) is fine."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]

    def module_ok(dotted: str) -> bool:  # a `_module` is private to the package that holds it
        parts = dotted.split(".")
        return all(not _private(p) or ".".join(parts[:i]) == package
                   or package.startswith(".".join(parts[:i]) + ".") for i, p in enumerate(parts))

    modules_bound = {}  # local name -> kelora module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kelora"):
                    if not module_ok(alias.name):
                        yield node.lineno, alias.name
                    local = alias.asname or alias.name.split(".")[0]
                    modules_bound[local] = alias.asname and alias.name or local
        elif isinstance(node, ast.ImportFrom):
            target = from_target(node, package)
            if not target.startswith("kelora"):
                continue
            if not module_ok(target):
                yield node.lineno, target
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if _is_module(sub):
                    if not module_ok(sub):
                        yield node.lineno, sub
                    modules_bound[alias.asname or alias.name] = sub
                elif _private(alias.name):
                    yield node.lineno, sub
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules_bound):
            yield node.lineno, f"{modules_bound[node.value.id]}.{node.attr}"


def test_no_private_name_is_taken_from_another_module():
    # a name shared across modules is part of its module's interface: it gets a public name
    # (or moves to the module that owns the fact), so renaming a private helper breaks nothing
    wrong = [f"{path.relative_to(PKG.parent)}:{line} uses {what}"
             for name, path in modules() for line, what in private_uses(name, path)]
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_a_private_use_is_caught(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from kelora.keyring import _fingerprint as fp, resolve_secret as _rs\n"
                   "from kelora import values\nimport kelora.formats._priv\n"
                   "from kelora.builtins._regex import compile_regex\n"
                   "def f():\n    return values._hidden\n")
    found = sorted(w for _, w in private_uses("kelora.run.x", bad))
    assert found == sorted(["kelora.keyring._fingerprint", "kelora.formats._priv",
                            "kelora.builtins._regex", "kelora.values._hidden"])
    # the same private module from inside its own package is fine
    ok = tmp_path / "y.py"
    ok.write_text("from kelora.builtins._regex import compile_regex\nfrom ._owned import owned\n")
    assert list(private_uses("kelora.builtins.y", ok)) == []
