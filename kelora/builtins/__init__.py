"""Script builtins.  Importing this package registers every builtin module found in it.

Each module registers its functions with ``@builtin`` (see ``registry.py``); this file only
imports them, so adding a module needs no edit here.
"""
import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "registry" and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
