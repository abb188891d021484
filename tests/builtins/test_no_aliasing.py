"""No builtin hands a script a live part of its arguments (issue 12, item 5).

Every registered builtin is called with arguments holding nested arrays/maps; neither its result
nor the container it mutates may then hold one of the argument's own arrays/maps (a script
changing it would change the event behind the stage's snapshot, or `conf`).
"""
from __future__ import annotations

import itertools

from kelora.builtins.registry import load_all
from kelora.context import RunContext
from kelora.values import FnPtr

SKIP = {  # side effects outside the values (files, output, exit) or context-bound
    "print", "eprint", "exit", "skip", "append_file", "truncate_file", "mkdir", "read_file",
    "read_lines", "emit_each", "pseudonym", "reveal", "sample_every", "sample_prob",
    "pop", "remove",  # they move the item out of the array/map: nothing is left to alias
}


class Ident(FnPtr):
    arity = 1

    def __init__(self):
        super().__init__("ident")

    def __call__(self, *args):
        return args[0] if args else None


class Truthy(FnPtr):
    arity = 1

    def __init__(self):
        super().__init__("truthy")

    def __call__(self, *args):
        return True


def _fresh_pool() -> list:
    return [
        {"n": {"a": [1]}, "l": [[1], {"x": 1}], "s": "v", "a.b": {"c": [2]}},
        [{"a": [1]}, [2, [3]], {"b": {}}],
        "n", "a.b", ["n", "l"], 1, Ident(), Truthy(),
    ]


def _containers(v, out: set) -> set:
    if type(v) is list:
        out.add(id(v))
        for x in v:
            _containers(x, out)
    elif type(v) is dict:
        out.add(id(v))
        for x in v.values():
            _containers(x, out)
    return out


def test_no_builtin_returns_or_stores_a_live_part_of_its_arguments():
    reg = load_all()
    problems = []
    for name in sorted(reg):
        b = reg[name]
        if name in SKIP or b.name != name:
            continue
        hi = b.max_args if b.max_args is not None else b.min_args + 2
        for n in range(b.min_args, min(hi, 3) + 1):
            for idx in itertools.product(range(len(_fresh_pool())), repeat=n):
                pool = _fresh_pool()  # fresh objects for every call (mutators change them)
                args = [pool[i] for i in idx]
                if not any(type(a) in (list, dict) for a in args):
                    continue
                ids = [_containers(a, set()) for a in args]
                try:
                    b.check_types(args)
                    if b.pass_context:
                        ctx = RunContext()
                        ctx.emitted = []
                        res = b.func(ctx, *args)
                    else:
                        res = b.func(*args)
                except Exception:
                    continue
                everything = set().union(*ids)
                shared = _containers(res, set()) & everything
                if res is not None and shared:
                    problems.append(f"{name}{tuple(type(a).__name__ for a in args)} returns a live part")
                    break
                # a container argument that was mutated must not now hold another argument's parts
                for i, a in enumerate(args):
                    others = everything - ids[i]
                    now = _containers(a, set()) - {id(a)}
                    if now & others:
                        problems.append(f"{name}: argument {i} now holds a part of another argument")
                        break
            else:
                continue
            break
    assert not problems, "\n".join(problems)
