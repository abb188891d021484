"""Shared helpers of the privacy lifecycle tests: the installed kelora, golden-vector derivation."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path

from tests.conftest import KELORA_BIN

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "privacy" / "pseudonym_vectors.json").read_text())["vectors"]
BENCH = "kelora-bench-secret"
HORSE = "correct horse battery staple"


def masters() -> dict[str, bytes]:
    """secret -> Argon2id master key, as given by the golden vectors (not recomputed by kelora)."""
    return {v["secret"]: bytes.fromhex(v["master_hex"]) for v in VECTORS}


def spec_token(master: bytes, domain: str, value: str) -> str:
    """The token by the published derivation (HKDF with hmac by hand, HMAC, base64url)."""
    prk = hmac.new(b"\0" * 32, master, hashlib.sha256).digest()
    key = hmac.new(prk, b"kelora:v1:" + domain.encode() + b"\x01", hashlib.sha256).digest()
    mac = hmac.new(key, (domain + value).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()[:24]


def run(args, *, env=None, stdin: bytes | None = None, cwd=None, timeout=120):
    full = {k: v for k, v in os.environ.items() if not k.startswith("KELORA")}
    full.update(env or {})
    return subprocess.run([KELORA_BIN, *args], input=stdin, capture_output=True, env=full,
                          cwd=cwd, timeout=timeout)


def key_file(tmp_path, name: str, data: bytes, mode=0o600) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    os.chmod(p, mode)
    return str(p)
