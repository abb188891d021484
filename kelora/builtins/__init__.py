"""Script builtins.  Each module registers its functions with ``@builtin`` (see ``registry.py``).

The modules are imported on the first registry lookup (``registry._load_modules``), not here:
a script that calls no function does not load them.  Adding a module needs no edit anywhere.
"""
