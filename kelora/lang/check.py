"""Static checks on the AST, run once before compiling: calls and what the script touches.

* Every call resolves to a user ``fn`` (by name and arity), a registered builtin with a fitting
  arity, or a variable that may hold a function; otherwise a ``ScriptCompileError``
  (``unknown-function`` with "did you mean", or ``invalid-arity``) is raised before any input is
  read.
* ``analyze`` reports what the pipeline needs: does the script mutate the event (top level or
  nested), declare `let` variables, which builtins it calls and which special names
  (``SPECIALS``: ``meta``, ``line``, ...) it refers to.  The pipeline decides from these (does
  a run need ``meta``, the pseudonym key...), never from the script's text, so a comment or a
  string that mentions a name changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from kelora.builtins import registry
from kelora.errors import ScriptCompileError
from kelora.lang import ast

SPECIALS = ("e", "meta", "line", "conf", "state", "metrics")


@dataclass(frozen=True, slots=True)
class Analysis:
    mutates_event: bool
    mutates_nested: bool
    declares_vars: bool
    calls: frozenset  # names of the functions called (user fns excluded)
    uses: frozenset  # the SPECIALS referred to (a local of the same name counts too)


def root_of(node: ast.Node) -> tuple[str | None, int]:
    """The variable a place expression starts from, and how many accesses deep it is."""
    depth = 0
    while isinstance(node, (ast.Prop, ast.Index)):
        node = node.obj
        depth += 1
    if isinstance(node, ast.Var):
        return node.name, depth
    return None, depth


def analyze(top_stmts, fns) -> Analysis:
    """*top_stmts*: the statements run at the stage's top level; *fns*: every user fn."""
    mut_e = mut_nested = declares = False
    calls: set[str] = set()
    uses: set[str] = set()
    user_names = {f.name for f in fns}
    user_arities = {(f.name, len(f.params)) for f in fns}
    nodes = []
    for top in top_stmts:
        if isinstance(top, ast.Let):
            declares = True
        nodes.extend(ast.walk(top))
    for f in fns:
        nodes.extend(ast.walk(f))
    local_names = {n.name for n in nodes if isinstance(n, ast.Let)}
    for node in nodes:
        if isinstance(node, ast.Var):
            if node.name in SPECIALS:
                uses.add(node.name)
        elif isinstance(node, ast.Assign):
            root, depth = root_of(node.target)
            if root == "e":
                mut_e = True
                if depth >= 2:
                    mut_nested = True
            elif root is not None and depth == 0 and root not in local_names and root not in SPECIALS:
                declares = True  # assigns a variable declared by an earlier stage (D1)
        elif isinstance(node, ast.Call):
            argc = len(node.args)
            # a user fn takes the call only with its own arity (as the compiler resolves it):
            # `fn reveal(x)` does not hide a two-argument reveal(t, d), which is the builtin
            if (node.name, argc) not in user_arities and not (
                    node.method and (node.name, argc - 1) in user_arities):
                calls.add(node.name)
            # a builtin that changes its first argument (``@builtin(mutates=True)``) rooted at `e`
            if node.args and node.name not in user_names and registry.mutates(node.name):
                root, depth = root_of(node.args[0])
                if root == "e":
                    mut_e = True
                    if depth >= 1:
                        mut_nested = True
    return Analysis(mut_e, mut_nested, declares, frozenset(calls), frozenset(uses))


def resolve_calls(roots, fns: dict[tuple[str, int], ast.FnDef]) -> None:
    """Raise ScriptCompileError for unknown functions and wrong arities in *roots*."""
    reg = registry.REGISTRY  # loads the builtin modules at its first lookup (scripts with calls)
    var_names = set()
    all_nodes = []
    for r in roots:
        all_nodes.extend(ast.walk(r))
    for n in all_nodes:
        if isinstance(n, ast.Let):
            var_names.add(n.name)
        elif isinstance(n, (ast.FnDef, ast.Closure)):
            var_names.update(n.params)
        elif isinstance(n, ast.For):
            var_names.add(n.var)
            if n.index_var:
                var_names.add(n.index_var)
    user_names = {name for name, _ in fns}
    for n in all_nodes:
        if not isinstance(n, ast.Call):
            continue
        argc = len(n.args)
        if (n.name, argc) in fns or (n.method and (n.name, argc - 1) in fns):
            continue
        b = reg.get(n.name)
        span = n.name_span or n.span
        if b is not None:
            if b.accepts_arity(argc):
                continue
            if n.name in user_names:
                arities = sorted(a for nm, a in fns if nm == n.name)
                raise ScriptCompileError(
                    f"function {n.name}() takes {_plural(arities)}, got {argc}", kind="invalid-arity",
                    span=span, hint=f"builtin signature: {b.signature()}")
            shown = argc - 1 if n.method else argc
            recv = n.args[0] if n.method else None
            if isinstance(recv, ast.Var) and recv.name not in var_names and recv.name[:1].isupper():
                # `Math.floor(x)`, `JSON.parse(s)`: a namespace from another language, not a value
                raise ScriptCompileError(
                    f"`{recv.name}` is not defined: functions are called by name here", kind="foreign",
                    span=recv.span, hint=f"call it directly: {b.signature()}")
            msg = f"{n.name}() takes {b.arity_text()} argument{'s' if b.arity_text() != '1' else ''}, got {argc}"
            if n.method:
                msg += f" (the receiver plus {shown})"
            raise ScriptCompileError(msg, kind="invalid-arity", span=span,
                                     hint=f"signature: {b.signature()}")
        if n.name in user_names:
            arities = sorted(a for nm, a in fns if nm == n.name)
            raise ScriptCompileError(
                f"function {n.name}() takes {_plural(arities)}, got {argc}", kind="invalid-arity", span=span)
        if n.name in var_names and not n.method:
            continue  # calling a variable that holds a function pointer
        from kelora.lang.foreign import FUNCTIONS

        if n.name in FUNCTIONS:
            raise ScriptCompileError(f"unknown function {n.name}()", kind="unknown-function", span=span,
                                     hint=FUNCTIONS[n.name])
        sug = registry.suggest(n.name, list(reg) + sorted(user_names))
        raise ScriptCompileError(
            f"unknown function {n.name}()", kind="unknown-function", span=span,
            hint=f"did you mean {sug}()?" if sug else "see `kelora --help-functions` for the list",
        )


def _plural(arities: list[int]) -> str:
    text = " or ".join(str(a) for a in arities)
    return f"{text} argument{'s' if arities != [1] else ''}"
