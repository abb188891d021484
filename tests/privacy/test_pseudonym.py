"""pseudonym(): the 12 golden vectors with every intermediate, caching, types, notices."""
import base64
import json
import pickle
from pathlib import Path

import pytest

from kelora import keyring as K
from kelora.builtins.privacy import pseudonym
from kelora.errors import FunctionError

from .conftest import BENCH_SECRET, make_ctx

# A copy of shared/spec/pseudonym_vectors.json (derived with the argon2 CLI and openssl only).
VECTORS = json.loads(Path(__file__).with_name("pseudonym_vectors.json").read_text())["vectors"]


def test_there_are_twelve_vectors():
    assert len(VECTORS) == 12


@pytest.mark.parametrize("vec", VECTORS, ids=[f"v{i + 1}" for i in range(len(VECTORS))])
def test_vector_intermediates_and_token(vec):
    master = K.master_for(vec["secret"].encode())
    assert master.hex() == vec["master_hex"]
    dkey = K.domain_key(master, vec["domain"])
    assert dkey.hex() == vec["domain_key_hex"]
    import hashlib
    import hmac

    mac = hmac.new(dkey, (vec["domain"] + vec["value"]).encode(), hashlib.sha256).digest()
    assert mac.hex() == vec["mac_hex"]
    assert base64.urlsafe_b64encode(mac).rstrip(b"=")[:24].decode() == vec["token"]
    assert K.reference_token(master, vec["value"], vec["domain"]) == vec["token"]
    # the builtin, through a context carrying the secret in its env
    ctx, _ = make_ctx({"KELORA_SECRET": vec["secret"]})
    assert pseudonym(ctx, vec["value"], vec["domain"]) == vec["token"]
    # twice: the second answer comes from the token cache
    assert pseudonym(ctx, vec["value"], vec["domain"]) == vec["token"]


def test_uncached_argon2_matches_vector():
    vec = VECTORS[0]
    assert K.derive_master(vec["secret"].encode()).hex() == vec["master_hex"]


def test_fast_path_equals_reference_on_many_values():
    master = K.master_for(BENCH_SECRET.encode())
    kr = K.Keyring(master, K.SOURCE_ENV, cache_limit=50)  # small: exercise cache clearing
    values = [f"user{i}@example.com" for i in range(300)] + ["", "ä", "😀", "a\tb", "x" * 200]
    for d in ("users", "sessions", "kunden-ä"):
        for v in values + values[:60]:
            assert kr.token(v, d) == K.reference_token(master, v, d)
    assert len(kr.by_domain) == 3
    assert all(0 < len(fn.cache) <= 50 for fn in kr.by_domain.values())


def test_domains_and_token_caches_are_bounded():
    """However many domains a script computes, a keyring keeps at most domain_limit
    pseudonymizers and cache_total cached tokens; tokens stay the reference ones, also from a
    function bound before its domain was dropped (a literal domain binds it once)."""
    master = K.master_for(BENCH_SECRET.encode())
    kr = K.Keyring(master, K.SOURCE_ENV, cache_limit=40, domain_limit=8, cache_total=100)
    bound = kr.pseudonymizer("users")
    for i in range(300):
        d = f"tenant-{i}"
        for v in ("a", "b", f"v{i}"):
            assert kr.token(v, d) == K.reference_token(master, v, d)
        assert len(kr.by_domain) <= 8
        assert sum(len(fn.cache) for fn in kr.by_domain.values()) <= 100
        if i % 7 == 0:
            for j in range(60):  # one domain past its own limit
                kr.token(f"x{j}", d)
            assert all(len(fn.cache) <= 40 for fn in kr.by_domain.values())
    assert "users" not in kr.by_domain  # dropped long ago ...
    assert bound("alice") == K.reference_token(master, "alice", "users")  # ... and still right
    assert kr.token("alice", "users") == K.reference_token(master, "alice", "users")


def test_many_domains_take_bounded_memory(tmp_path):
    """150k distinct domains (one per event) peak within 50 MB of one domain (each kept domain
    cost ~1.6 KB, forever: +240 MB here)."""
    import os
    import subprocess

    from tests.conftest import KELORA_BIN

    def peak_kb(lines: bytes) -> int:
        data = tmp_path / "in.jsonl"
        data.write_bytes(lines)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KELORA")}
        env.update(KELORA_SECRET=BENCH_SECRET, KELORA_IGNORE_CONFIG="1")
        proc = subprocess.Popen([KELORA_BIN, "-j", str(data), "-e", "e.t = pseudonym(e.v, e.d)", "-q"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0
        return usage.ru_maxrss

    n = 150_000
    one = peak_kb(b"".join(b'{"v":"x","d":"dom"}\n' for _ in range(n)))
    many = peak_kb(b"".join(b'{"v":"x","d":"dom%d"}\n' % i for i in range(n)))
    assert many - one < 50_000, (one, many)


def test_token_cache_hits_return_the_same_object():
    kr = K.Keyring(K.master_for(BENCH_SECRET.encode()), K.SOURCE_ENV)
    fn = kr.pseudonymizer("users")
    assert fn("alice") is fn("alice")
    assert len(fn.cache) == 1


def test_token_shape(bench_ctx):
    tok = pseudonym(bench_ctx, "alice", "users")
    assert len(tok) == 24
    assert set(tok) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert pseudonym(bench_ctx, "alice", "sessions") != tok


def test_numbers_hash_as_json_text(bench_ctx):
    assert pseudonym(bench_ctx, 123, "ids") == pseudonym(bench_ctx, "123", "ids")
    assert pseudonym(bench_ctx, 1.5, "ids") == pseudonym(bench_ctx, "1.5", "ids")
    assert pseudonym(bench_ctx, 1.0, "ids") == pseudonym(bench_ctx, "1.0", "ids")
    assert pseudonym(bench_ctx, -7, "ids") == pseudonym(bench_ctx, "-7", "ids")


@pytest.mark.parametrize("number", [1e20, 1e16, -2.5e-9, 1.2345678901234568e20, 1e300, 5e-324])
def test_exponent_floats_hash_as_the_json_text_kelora_writes(bench_ctx, number):
    """``1e20`` as -F json and to_json() write it (serde_json's form), not orjson's ``1e+20``:
    pseudonym(e.v), hash(e.v) and bucket(e.v) equal the calls on to_json(e.v)."""
    from kelora.builtins.privacy import bucket, hash_
    from kelora.builtins.serializers import to_json
    from kelora.formats.render import json_bytes

    text = to_json(number)
    assert "e+" not in text and json_bytes({"v": number}) == b'{"v":' + text.encode() + b"}"
    assert pseudonym(bench_ctx, number, "ids") == pseudonym(bench_ctx, text, "ids")
    assert hash_(number) == hash_(text) and bucket(number) == bucket(text)


def test_unit_value_is_missing_field_error(bench_ctx):
    with pytest.raises(FunctionError) as ei:
        pseudonym(bench_ctx, None, "users")
    assert ei.value.missing_field


@pytest.mark.parametrize("bad", [True, [1], {"a": 1}, float("nan")])
def test_other_types_are_errors(bench_ctx, bad):
    with pytest.raises(FunctionError) as ei:
        pseudonym(bench_ctx, bad, "users")
    assert not ei.value.missing_field


def test_empty_domain_is_error(bench_ctx):
    with pytest.raises(FunctionError, match="^pseudonym: domain must be non-empty$"):
        pseudonym(bench_ctx, "x", "")


def test_domain_must_be_string(bench_ctx):
    with pytest.raises(FunctionError):
        pseudonym(bench_ctx, "x", None)
    with pytest.raises(FunctionError):
        pseudonym(bench_ctx, "x", 5)


def test_status_notice_for_env_secret():
    ctx, rec = make_ctx({"KELORA_SECRET": BENCH_SECRET})
    pseudonym(ctx, "a", "users")
    pseudonym(ctx, "b", "users")
    assert rec.notices == [("status", "pseudonym: ON (stable; KELORA_SECRET)")]
    assert ctx.keyring is not None and ctx.keyring.stable


def test_ephemeral_key_warns_and_is_random():
    ctx, rec = make_ctx({})
    tok = pseudonym(ctx, "alice", "users")
    assert len(tok) == 24
    assert rec.notices == [
        ("warning", "KELORA_SECRET not set; using ephemeral key, pseudonyms won't be stable across runs"),
        ("status", "pseudonym: ON (ephemeral; not stable)"),
    ]
    ctx2, _ = make_ctx({})
    assert pseudonym(ctx2, "alice", "users") != tok  # a new random key per run
    assert pseudonym(ctx, "alice", "users") == tok  # stable within the run


def test_ephemeral_keyring_refuses_pickling():
    ctx, _ = make_ctx({})
    pseudonym(ctx, "a", "users")
    with pytest.raises(TypeError):
        pickle.dumps(ctx.keyring)


def test_env_keyring_pickles_without_key_material(monkeypatch):
    ctx, _ = make_ctx({"KELORA_SECRET": BENCH_SECRET})
    tok = pseudonym(ctx, "a", "users")
    blob = pickle.dumps(ctx.keyring)
    master = K.master_for(BENCH_SECRET.encode())
    assert master not in blob and BENCH_SECRET.encode() not in blob
    # the receiving process derives the key from its own environment
    monkeypatch.setenv("KELORA_SECRET", BENCH_SECRET)
    clone = pickle.loads(blob)
    assert clone.token("a", "users") == tok


def test_repr_hides_keys(bench_ctx):
    pseudonym(bench_ctx, "a", "users")
    text = repr(bench_ctx.keyring) + str(bench_ctx.keyring)
    master = K.master_for(BENCH_SECRET.encode())
    assert BENCH_SECRET not in text and master.hex() not in text
    assert "hidden" in text


def test_keyring_is_reused_not_rederived(bench_ctx, monkeypatch):
    pseudonym(bench_ctx, "a", "users")
    monkeypatch.setattr(K, "derive_master", lambda s: pytest.fail("derived again"))
    monkeypatch.setattr(K, "domain_key", lambda m, d: pytest.fail("domain key again"))
    for i in range(100):
        pseudonym(bench_ctx, f"v{i}", "users")


def test_docstring_example_is_the_vector():
    from kelora.builtins.registry import lookup

    examples = dict(lookup("pseudonym").examples())
    assert examples['pseudonym("alice@example.com", "users")'] == '"lJLFJ4vhI8t22lS9ZsPWhF-s"'
