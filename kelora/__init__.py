"""kelora: a log processor with a small scripting language, built to pseudonymize logs."""
import _signal  # (the C module: `signal` builds its enums first, ~10 ms without a handler)
import os as _os
import sys as _sys


def _quit_quietly(signum, frame):  # pragma: no cover - exercised through subprocess tests
    _os._exit(130 if signum == _signal.SIGINT else 143)


# The command line: Ctrl-C or SIGTERM while it starts (imports take ~0.1 s) ends it with 130 /
# 143 and no traceback; ``kelora.cli.app.main`` then installs the run's own handlers.  Only for the
# ``kelora`` command (and ``python -m kelora``): a program importing kelora keeps its handlers.
def _is_the_command() -> bool:
    if not _sys.argv:
        return False
    if _os.path.basename(_sys.argv[0]) == "kelora":
        return True
    orig = getattr(_sys, "orig_argv", [])
    return _sys.argv[0] == "-m" and "-m" in orig and orig[orig.index("-m") + 1:][:1] == ["kelora"]


def _hold_signals_in_native_imports() -> None:
    """Ctrl-C/SIGTERM while a C extension initialises (orjson, xxhash, blake3, the cffi
    bindings, ...) must not raise inside it: such an init imports Python modules (orjson's imports
    json), a KeyboardInterrupt there makes it fail half-way, and some inits then
    crash the process (SIGSEGV, seen with orjson at ~0.1 s into start-up).  Around every
    extension module's create/exec step (main thread only: handlers run there alone), the two
    signals are only recorded, and the handler in place before is run with them right after the
    step, in ordinary Python code: the run then stops exactly as for a signal a moment later.
    (Handlers, not the signal mask: another thread could still take a masked signal and have
    its Python handler run inside the init.)"""
    import _frozen_importlib_external as bootstrap  # the import system itself: already loaded
    import _thread

    main_thread = _thread.get_ident()
    held: list[int] = []
    depth = [0]
    loader = bootstrap.ExtensionFileLoader

    def record(signum, frame):
        held.append(signum)

    def holding(step):
        def wrapper(self, arg):
            if depth[0] or _thread.get_ident() != main_thread:  # nested: the outer one holds
                return step(self, arg)
            saved = []
            try:
                for sig in (_signal.SIGINT, _signal.SIGTERM):
                    before = _signal.getsignal(sig)
                    if before is not None:  # (None: a handler not set from Python, left alone)
                        _signal.signal(sig, record)  # (a signal pending before the step raises here)
                        saved.append((sig, before))
                depth[0] = 1
                return step(self, arg)
            finally:
                depth[0] = 0
                late = None
                for sig, before in saved:  # every handler back, even if a signal comes meanwhile
                    while True:
                        try:
                            _signal.signal(sig, before)
                            break
                        except KeyboardInterrupt as exc:  # (SIGINT's own handler was back already)
                            late = exc
                got, held[:] = list(held), []
                for sig in dict.fromkeys(got):  # the safe point: each signal once, in order
                    _signal.raise_signal(sig)
                if late is not None:
                    raise late

        return wrapper

    loader.create_module = holding(loader.create_module)
    loader.exec_module = holding(loader.exec_module)


if _is_the_command():
    if isinstance(getattr(_sys, "last_value", None), KeyboardInterrupt):
        # Ctrl-C in the interpreter's own start-up, where Python printed it and went on
        # ("Failed checking if argv[0] is an import path entry"): it still ends the command
        _os._exit(130)
    try:
        _signal.signal(_signal.SIGINT, _quit_quietly)
        _signal.signal(_signal.SIGTERM, _quit_quietly)
        _hold_signals_in_native_imports()
    except ValueError:  # not the main thread
        pass

__version__ = "0.1.0"


def __getattr__(name):
    # The Python API (kelora/api.py), imported on first use: the command does not pay for it.
    if name in ("Pipeline", "main"):
        from kelora import api

        return getattr(api, name)
    if name in ("KeloraError", "UsageError", "FatalError", "ScriptError", "ScriptSyntaxError",
                "ScriptCompileError", "ScriptRuntimeError", "InputError"):
        from kelora import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'kelora' has no attribute {name!r}")
