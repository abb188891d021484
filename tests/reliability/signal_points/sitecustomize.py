"""Sends kelora a signal at an exact point of its run (tests/reliability/test_hostile_signals.py).

Loaded by the interpreter at start-up when this directory is on PYTHONPATH.  The points are the
ones where a signal at the wrong moment went wrong; timing alone hits each one rarely:

  KELORA_TEST_SIGNAL=native:NAME   while the C extension NAME initialises (at its first nested
                                   import: orjson imports uuid, enum, dataclasses, numpy there)
  KELORA_TEST_SIGNAL=parse         while typer/click parses the command line
  KELORA_TEST_SIGNAL=call:F:PATH:N at the Nth call of function F in a file ending with PATH,
                                   once kelora's main runs (e.g. call:__exit__:_click/core.py:3)
  KELORA_TEST_SIGNAL=finalizer     inside a finalizer (__del__), once kelora's main runs
  KELORA_TEST_SIGNAL=set_name      inside a __set_name__ call (class creation), once main runs

KELORA_TEST_SIGNAL_NUM is the signal (default SIGINT).  "signal point reached" on stderr shows
that the point was met (a test whose point was never reached proves nothing).
"""
import os
import signal
import sys

_POINT = os.environ.get("KELORA_TEST_SIGNAL", "")
_SIG = int(os.environ.get("KELORA_TEST_SIGNAL_NUM", signal.SIGINT))
_done = []


def _fire():
    _done.append(True)
    os.write(2, b"signal point reached\n")
    os.kill(os.getpid(), _SIG)


def _main_runs() -> bool:  # kelora.cli.app.main installed its hook: the run's handlers are in place
    return sys.unraisablehook is not sys.__unraisablehook__


if _POINT.startswith("native:"):
    _name, _, _nth = _POINT.split(":", 1)[1].partition(":")
    _seen = []

    def _audit(event, args):
        if _done or event != "import":
            return
        f = sys._getframe(1)
        while f is not None:
            code, local = f.f_code.co_name, f.f_locals
            if code == "create_module":
                step = getattr(local.get("spec"), "name", None)
            else:
                step = getattr(local.get("module"), "__name__", None) if code == "exec_module" else None
            if step == _name:
                _seen.append(args[0])
                if os.environ.get("KELORA_TEST_SIGNAL_SHOW"):
                    os.write(2, f"import {args[0]}\n".encode())
                if len(_seen) >= int(_nth or 1):
                    _fire()
                return
            f = f.f_back

    sys.addaudithook(_audit)

elif _POINT in ("parse", "finalizer", "set_name") or _POINT.startswith("call:"):
    _func, _path, _nth = (_POINT.split(":") + ["", "", "1"])[1:4]
    _calls = []

    class _Bomb:
        def __del__(self):
            _fire()

    def _profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        hit = False
        if _POINT == "parse":
            hit = code.co_name == "parse_args" and code.co_filename.endswith(os.path.join("_click", "core.py"))
        elif _POINT == "finalizer":
            hit = code.co_name == "run_command" and _main_runs()
        elif _POINT == "set_name":
            hit = code.co_name == "__set_name__" and _main_runs()
        elif code.co_name == _func and code.co_filename.endswith(_path) and _main_runs():
            _calls.append(1)
            hit = len(_calls) == int(_nth or 1)
        if hit:
            sys.setprofile(None)
            if _POINT == "finalizer":
                _Bomb()  # dropped at once: its __del__ sends the signal
            else:
                _fire()

    sys.setprofile(_profile)
