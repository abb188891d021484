"""The secret variables held back from the environment (COMPAT D16): the ``kelora`` command
moves them out of ``os.environ`` first thing, before any script or worker runs; only the keyring
(``kelora.keyring``) reads them.  A module of its own so that this costs the command no import
of the key machinery (hashlib, hmac, secrets, threading) on runs that never derive a key."""
from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"KELORA_(?:\w*SECRET\w*|ESCROW_KEY\w*)\Z")
_HELD: dict[str, str] = {}  # secret variables this process took out of os.environ


def is_secret_variable(name: str) -> bool:
    """KELORA_SECRET, KELORA_SECRET_FILE, any KELORA_*SECRET*, KELORA_ESCROW_KEY*."""
    return _SECRET_NAME.match(name) is not None


def take_process_secrets() -> dict[str, str]:
    """Move the secret variables out of ``os.environ`` into this module (the ``kelora`` command
    does this first thing, before any script or worker runs).  Nothing is read or validated
    here: the secret source stays lazy, exactly as before."""
    for name in [k for k in os.environ if is_secret_variable(k)]:
        _HELD[name] = os.environ.pop(name)
    return dict(_HELD)


def held_secrets() -> dict[str, str]:
    return dict(_HELD)
