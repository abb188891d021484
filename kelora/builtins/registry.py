"""The builtin registry: one decorator registers a Python function as a script function.

    @builtin("network")
    def mask_ip(ip: str, octets: int = 1) -> str:
        '''Zero the last *octets* octets of an IPv4 address ...

        Examples:
            mask_ip("192.168.1.42")  =>  "192.168.1.0"
        '''

* The Python name is the script name (``name=`` overrides it, e.g. for ``hash``/``len``).
* The signature is the spec: parameters without defaults set the minimum arity, ``*args`` makes it
  variadic, annotations give the accepted types.  Arity is checked when a script is compiled;
  types are checked per call with exact ``type(x) in allowed`` (so ``true`` is not an int).
* The docstring is the help text (``--help-functions``) and the reference page (docs/functions.md);
  its ``Examples:`` lines (``script => result``, the result in the language's notation:
  ``()``, ``#{"a": 1}``) are executed by the test suite.
* What the rest of kelora needs to know about a builtin is said here, once, by flags of the
  decorator (stored as the record's ``Facts``; nothing else keeps lists of names):

  - ``pure=False``: it has side effects or its result depends on more than its arguments (not
    folded at compile time);
  - ``mutates=True``: it changes its first argument (the receiver of ``x.f()``) in place, so
    ``e.tags.push(1)`` changes the event;
  - ``effects={...}``: which side effects it has, from ``EFFECTS`` below (``"metrics"`` for the
    ``track_*`` functions, ``"io"`` for the file writers, ...); the pipeline, the fast paths and
    the ``--parallel`` audit decide from these;
  - ``replay_safe=True``: not pure, yet gives the same result for the same arguments and key, so
    a failed statement may be run again (``pseudonym``: its only side effect, creating the
    keyring, is idempotent).  Pure functions that do not mutate are replay-safe anyway;
  - ``needs_key=True``: it derives its result from the pseudonym key (the key is derived while
    the scripts compile, and once before ``--parallel`` workers start);
  - ``hides_value=True``: its purpose is to hide a value (``pseudonym``, ``hash``,
    ``mask_ip``, ...): an ``-e`` stage that calls one is a privacy stage, which withholds the
    fields it changes when it fails instead of restoring their raw values (COMPAT D17), and the
    fields it reads are never shown in error messages (D24);
  - ``unit_on_failure=True``: it gives ``()`` for input it cannot convert or find (``to_int``,
    ``get``, ...): a run-time error about a ``()`` it gave names the call, not a missing field;
  - ``dynamic=True``: it reaches a function named or held by a value (``Fn``, ``call``), so any
    builtin, script ``fn`` or closure may run inside it: the analyses that follow calls assume
    the worst, and such scripts are left to the closure compiler.
* ``pass_context=True`` hands the run's ``RunContext`` as the first argument (metrics, secret,
  warnings); it is not part of the script-visible signature.
* Method-call sugar needs nothing here: ``x.f(a)`` is compiled as ``f(x, a)``.
"""
from __future__ import annotations

import difflib
import inspect
import threading
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from kelora import values
from kelora.errors import FunctionError

Number = int | float

# Annotation -> exact Python types accepted at run time.
_SCALARS: dict[object, frozenset[type]] = {
    str: frozenset({str, values.Char}),
    int: frozenset({int}),
    float: frozenset({float}),
    bool: frozenset({bool}),
    list: frozenset({list}),
    dict: frozenset({dict}),
    type(None): frozenset({type(None)}),
    None: frozenset({type(None)}),
    values.DateTime: frozenset({values.DateTime}),
    values.Duration: frozenset({values.Duration}),
}

_SCRIPT_TYPE_NAMES = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    list: "array",
    dict: "map",
    type(None): "()",
    None: "()",
    values.DateTime: "datetime",
    values.Duration: "duration",
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    allowed: frozenset[type] | None  # None = any value
    type_text: str
    has_default: bool
    default_text: str | None


# The side effects a builtin may declare (``@builtin(..., effects={"metrics"})``) and what each
# changes elsewhere.
EFFECTS = {
    "metrics": "records into the run's metrics (track_*): an exec stage queues the records and "
               "commits them when the stage succeeds",
    "io": "writes files (append_file, truncate_file, mkdir): needs --allow-fs-writes, refused "
          "under --parallel",
    "emit": "turns the event into several (emit_each): the general read loop handles it",
    "random": "draws random numbers: with KELORA_SEED each draw depends on the line number",
    "count": "counts calls across events (sample_every): under --parallel the run is read "
             "sequentially, or refused",
    "control": "ends the stage or the run (skip, exit): later calls are not made for every event",
    "print": "writes script output (print, eprint)",
    "escrow": "reads the --escrow database, each call counted for the audit (reveal): needs "
              "--escrow",
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What a builtin's decorator says about it (see the module docstring)."""

    pure: bool = True  # no side effects, result depends on the arguments only: foldable
    mutates: bool = False  # changes its first argument in place
    effects: frozenset[str] = frozenset()  # keys of EFFECTS
    replay_safe: bool = True  # may be run again after a failure (pure, or declared so)
    needs_key: bool = False  # derives its result from the pseudonym key
    hides_value: bool = False  # a privacy function (COMPAT D17, D24)
    unit_on_failure: bool = False  # gives () for input it cannot convert or find
    dynamic: bool = False  # reaches a function named or held by a value (Fn, call)


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    func: Callable[..., object]
    category: str
    params: tuple[Param, ...]
    min_args: int
    max_args: int | None  # None = variadic
    variadic: Param | None
    pass_context: bool
    doc: str
    returns: str
    facts: Facts = Facts()

    @property
    def pure(self) -> bool:
        return self.facts.pure

    @property
    def mutates(self) -> bool:
        return self.facts.mutates

    @property
    def effects(self) -> frozenset[str]:
        return self.facts.effects

    @property
    def replay_safe(self) -> bool:
        return self.facts.replay_safe

    @property
    def needs_key(self) -> bool:
        return self.facts.needs_key

    @property
    def hides_value(self) -> bool:
        return self.facts.hides_value

    @property
    def unit_on_failure(self) -> bool:
        return self.facts.unit_on_failure

    @property
    def dynamic(self) -> bool:
        return self.facts.dynamic

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def signature(self) -> str:
        parts = []
        for p in self.params:
            s = f"{p.name}: {p.type_text}"
            if p.has_default:
                s = f"[{s}]"
            parts.append(s)
        if self.variadic is not None:
            parts.append(f"{self.variadic.name}: {self.variadic.type_text}...")
        return f"{self.name}({', '.join(parts)}) -> {self.returns}"

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args}"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}"

    def accepts_arity(self, n: int) -> bool:
        return n >= self.min_args and (self.max_args is None or n <= self.max_args)

    def check_types(self, args: tuple | list) -> None:
        """Raise FunctionError unless every argument has an accepted type."""
        for i, a in enumerate(args):
            p = self.params[i] if i < len(self.params) else self.variadic
            if p is None or p.allowed is None or type(a) in p.allowed:
                continue
            if p.allowed is not None and isinstance(a, values.FnPtr) and values.FnPtr in p.allowed:
                continue
            got = values.type_name(a)
            raise FunctionError(
                f"{self.name}(): argument {i + 1} ({p.name}) must be {p.type_text}, got {got}",
                missing_field=a is None,
            )

    def examples(self) -> list[tuple[str, str]]:
        """``(script, expected_json)`` pairs from the docstring's Examples: section."""
        out: list[tuple[str, str]] = []
        in_examples = False
        for raw in self.doc.splitlines():
            line = raw.strip()
            if line.lower().startswith("examples:"):
                in_examples = True
                continue
            if in_examples:
                if not line:
                    continue
                if "=>" not in line:
                    if not raw.startswith((" ", "\t")):
                        in_examples = False
                    continue
                script, _, expected = line.rpartition("=>")
                out.append((script.strip(), expected.strip()))
        return out


class _Registry(dict):
    """``name -> Builtin``, each record built on first access.

    The decorator only stores the function: inspecting the signatures and type hints of ~400
    builtins took 30-50 ms of every start-up, and a script calls a handful of them.  Reads
    (``[]``, ``get``, ``values``, ``items``, iteration + ``[]``, ``dict(REGISTRY)``) see
    ``Builtin`` records as before.
    """

    __slots__ = ()

    def __getitem__(self, name: str) -> "Builtin":
        if not _LOADED:
            _load_modules()
        v = dict.__getitem__(self, name)
        if type(v) is _Pending:
            v = v.build()
            dict.__setitem__(self, name, v)
        return v

    def get(self, name, default=None):
        if not _LOADED:
            _load_modules()
        v = dict.get(self, name, _ABSENT)
        if v is _ABSENT:
            return default
        if type(v) is _Pending:
            v = v.build()
            dict.__setitem__(self, name, v)
        return v

    def __contains__(self, name) -> bool:
        if not _LOADED:
            _load_modules()
        return dict.__contains__(self, name)

    def __len__(self) -> int:
        if not _LOADED:
            _load_modules()
        return dict.__len__(self)

    def keys(self):
        if not _LOADED:
            _load_modules()
        return dict.keys(self)

    def _build_all(self) -> None:
        if not _LOADED:
            _load_modules()
        for k, v in list(dict.items(self)):
            if type(v) is _Pending:
                dict.__setitem__(self, k, v.build())

    def values(self):
        self._build_all()
        return dict.values(self)

    def items(self):
        self._build_all()
        return dict.items(self)

    def copy(self) -> dict:
        self._build_all()
        return dict(dict.items(self))

    def __iter__(self):  # (a Python-level __iter__ also makes dict(REGISTRY) go through [])
        if not _LOADED:
            _load_modules()
        return dict.__iter__(self)


_ABSENT = object()


class _Pending:
    """What ``@builtin`` recorded; ``build()`` makes the ``Builtin`` (see ``_make_entry``).
    Its ``facts`` are readable without building it (``facts()``)."""

    __slots__ = ("func", "args", "alias_of", "facts")

    def __init__(self, func, args: tuple, facts: Facts, alias_of: str | None = None):
        self.func = func
        self.args = args
        self.facts = facts
        self.alias_of = alias_of

    def build(self) -> "Builtin":
        if self.alias_of is not None:
            return _alias(REGISTRY[self.alias_of], self.args[0])
        return _make_entry(self.func, *self.args, facts=self.facts)


REGISTRY: dict[str, Builtin] = _Registry()
_LOADED = False  # have the builtin modules been imported (and registered their functions)?
_LOADING = False  # ... are they being imported (by the thread holding _LOAD_LOCK)?
_LOAD_LOCK = threading.RLock()


def _load_modules() -> None:
    """Import every module of the package once, on the first lookup: a script that calls no
    function (``--filter 'e.status >= 500'``) never pays for the ~25 modules (~25 ms).
    Another thread's lookup waits until every module is in (programs compiling scripts in
    threads through the Python API); the loading thread's own lookups, made by the modules'
    decorators while registering, go on with what is registered so far."""
    global _LOADED, _LOADING
    with _LOAD_LOCK:
        if _LOADED or _LOADING:
            return
        _LOADING = True
        try:
            import importlib
            import pkgutil

            import kelora.builtins as package

            for mod in pkgutil.iter_modules(package.__path__):
                if mod.name != "registry" and not mod.name.startswith("_"):
                    importlib.import_module(f"{package.__name__}.{mod.name}")
            _LOADED = True  # (only once all are in: a failed import is retried by the next lookup)
        finally:
            _LOADING = False


def _type_info(annotation: object) -> tuple[frozenset[type] | None, str]:
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is object:
        return None, "any"
    if annotation is values.FnPtr or annotation is Callable or getattr(annotation, "__origin__", None) is Callable:
        return frozenset({values.FnPtr}), "Fn"
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        allowed: set[type] = set()
        names = []
        for a in typing.get_args(annotation):
            sub, name = _type_info(a)
            if sub is None:
                return None, "any"
            allowed |= sub
            names.append(name)
        if allowed == {int, float}:
            return frozenset(allowed), "number"
        return frozenset(allowed), "|".join(names)
    if annotation in _SCALARS:
        return _SCALARS[annotation], _SCRIPT_TYPE_NAMES[annotation]
    origin = typing.get_origin(annotation)
    if origin in _SCALARS:
        return _SCALARS[origin], _SCRIPT_TYPE_NAMES[origin]
    raise TypeError(f"unsupported builtin annotation {annotation!r}")


def _owning(func):
    """*func* whose array/map result is deep-copied (see kelora/builtins/_owned.py)."""
    import functools

    from kelora.builtins._owned import owned

    @functools.wraps(func)
    def call(*args):
        return owned(func(*args))
    return call


def _make_entry(func, script_name: str, category: str, pass_context: bool, shares: bool = False,
                *, facts: Facts) -> Builtin:
    doc = inspect.getdoc(func)
    hints = typing.get_type_hints(func)
    sig = inspect.signature(func)
    params: list[Param] = []
    variadic: Param | None = None
    plist = list(sig.parameters.values())
    if pass_context:
        plist = plist[1:]
    for p in plist:
        allowed, text = _type_info(hints.get(p.name, inspect.Parameter.empty))
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            variadic = Param(p.name, allowed, text, True, None)
            continue
        has_default = p.default is not inspect.Parameter.empty
        params.append(
            Param(p.name, allowed, text, has_default, repr(p.default) if has_default else None)
        )
    min_args = sum(1 for p in params if not p.has_default)
    ret = hints.get("return", inspect.Parameter.empty)
    _, ret_text = _type_info(ret) if ret is not inspect.Parameter.empty else (None, "any")
    if shares:
        func = _owning(func)
    return Builtin(
        name=script_name,
        func=func,
        category=category,
        params=tuple(params),
        min_args=min_args,
        max_args=None if variadic else len(params),
        variadic=variadic,
        pass_context=pass_context,
        doc=doc,
        returns=ret_text,
        facts=facts,
    )


def builtin(
    category: str,
    *,
    name: str | None = None,
    pass_context: bool = False,
    pure: bool = True,
    aliases: tuple[str, ...] = (),
    shares: bool = False,
    mutates: bool = False,
    effects: typing.Iterable[str] = (),
    replay_safe: bool = False,
    needs_key: bool = False,
    hides_value: bool = False,
    unit_on_failure: bool = False,
    dynamic: bool = False,
):
    """Register the decorated function as a script builtin (see the module docstring for the
    flags that say what it does).

    *shares*: the result may hold arrays/maps of the arguments (``sorted``, ``filter``...): the
    script gets a deep copy, so it never aliases the event or ``conf`` (kelora/builtins/_owned.py).

    The ``Builtin`` record is built when the name is first looked up (see ``_Registry``).
    """

    effects = frozenset(effects)
    if not effects <= EFFECTS.keys():
        raise TypeError(f"unknown builtin effects {sorted(effects - EFFECTS.keys())} (see EFFECTS)")
    is_pure = pure and not pass_context
    facts = Facts(pure=is_pure, mutates=mutates, effects=effects,
                  replay_safe=(is_pure or replay_safe) and not mutates and not effects,
                  needs_key=needs_key, hides_value=hides_value, unit_on_failure=unit_on_failure,
                  dynamic=dynamic)

    def register(func: Callable[..., object]) -> Callable[..., object]:
        script_name = name or func.__name__
        if not (func.__doc__ or "").strip():
            raise TypeError(f"builtin {script_name} needs a docstring (it is the help text)")
        if effects and is_pure:
            raise TypeError(f"builtin {script_name} has effects: it cannot be pure (pure=False)")
        for n in (script_name, *aliases):
            if dict.__contains__(REGISTRY, n):
                raise TypeError(f"builtin {n} registered twice")
        dict.__setitem__(REGISTRY, script_name,
                         _Pending(func, (script_name, category, pass_context, shares), facts))
        for n in aliases:
            dict.__setitem__(REGISTRY, n, _Pending(func, (n,), facts, alias_of=script_name))
        return func

    return register


def _alias(entry: Builtin, alias: str) -> Builtin:
    from dataclasses import replace

    return replace(entry, name=alias, doc=f"Alias of {entry.name}().\n\n" + entry.doc)


def load_all() -> dict[str, Builtin]:
    """Import every builtin module (their decorators fill REGISTRY) and return the registry."""
    _load_modules()
    return REGISTRY


def facts(name: str) -> Facts | None:
    """The facts of builtin *name* (None when no builtin has that name), without building its
    record (see ``_Registry``)."""
    if not _LOADED:
        _load_modules()
    v = dict.get(REGISTRY, name)
    return None if v is None else v.facts


def hides_value(name: str) -> bool:
    """Is *name* a value-hiding builtin (a privacy function, COMPAT D17)?"""
    f = facts(name)
    return f is not None and f.hides_value


def mutates(name: str) -> bool:
    """Does builtin *name* change its first argument in place?"""
    f = facts(name)
    return f is not None and f.mutates


def is_dynamic(name: str) -> bool:
    """Does builtin *name* reach a function named or held by a value (``Fn``, ``call``)?"""
    f = facts(name)
    return f is not None and f.dynamic


def with_effect(names: typing.Iterable[str], effect: str) -> list[str]:
    """The builtins among *names* that have *effect* (a key of ``EFFECTS``), sorted."""
    if effect not in EFFECTS:
        raise ValueError(f"unknown builtin effect {effect!r}")
    return sorted(n for n in names if (f := facts(n)) is not None and effect in f.effects)


def has_effect(names: typing.Iterable[str], effect: str) -> bool:
    """Does any builtin among *names* (e.g. a program's ``calls``) have *effect*?"""
    return bool(with_effect(names, effect))


def needs_key(names: typing.Iterable[str]) -> bool:
    """Does any builtin among *names* derive its result from the pseudonym key?"""
    return any((f := facts(n)) is not None and f.needs_key for n in names)


def lookup(name: str) -> Builtin | None:
    return load_all().get(name)


def suggest(name: str, candidates: typing.Iterable[str] | None = None) -> str | None:
    """The closest known name, for "did you mean" hints."""
    pool = list(candidates) if candidates is not None else list(load_all())
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return match[0] if match else None
