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


if _is_the_command():
    try:
        _signal.signal(_signal.SIGINT, _quit_quietly)
        _signal.signal(_signal.SIGTERM, _quit_quietly)
    except ValueError:  # not the main thread
        pass

__version__ = "0.1.0"


def __getattr__(name):
    # The Python API (kelora/api.py), imported on first use: the command does not pay for it.
    if name in ("Pipeline", "main"):
        from kelora import api

        return getattr(api, name)
    if name in ("KeloraError", "UsageError", "FatalError", "ScriptError", "ScriptCompileError",
                "ScriptRuntimeError", "InputError"):
        from kelora import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'kelora' has no attribute {name!r}")
