"""Secret sources (COMPAT D10): precedence, file permissions, empty secrets, and secrecy."""
import os
import traceback

import pytest

from kelora import keyring as K
from kelora.builtins.privacy import hash_, pseudonym
from kelora.errors import FatalError, FunctionError

from .conftest import BENCH_SECRET, make_ctx

OTHER = "correct horse battery staple"
TOKEN_BENCH = "lJLFJ4vhI8t22lS9ZsPWhF-s"  # alice@example.com / users
TOKEN_OTHER = "B6aC2V_B82idC-DGRn-GBevK"


def write_secret(tmp_path, text, mode=0o600, name="secret"):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    os.chmod(p, mode)
    return str(p)


def all_text(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), getattr(exc, "hint", "") or "", getattr(exc, "message", "")]
    parts += traceback.format_exception(exc)
    return "\n".join(parts)


def test_env_secret_wins_over_files(tmp_path):
    f = write_secret(tmp_path, OTHER)
    ctx, rec = make_ctx({"KELORA_SECRET": BENCH_SECRET, "KELORA_SECRET_FILE": f}, secret_file=f)
    assert pseudonym(ctx, "alice@example.com", "users") == TOKEN_BENCH
    assert ("status", "pseudonym: ON (stable; KELORA_SECRET)") in rec.notices


def test_env_file_wins_over_config_file(tmp_path):
    f1 = write_secret(tmp_path, OTHER + "\n", name="a")
    f2 = write_secret(tmp_path, BENCH_SECRET, name="b")
    ctx, rec = make_ctx({"KELORA_SECRET_FILE": f1}, secret_file=f2)
    assert pseudonym(ctx, "alice@example.com", "users") == TOKEN_OTHER
    assert rec.notices == [("status", "pseudonym: ON (stable; KELORA_SECRET_FILE)")]


def test_config_secret_file(tmp_path):
    f = write_secret(tmp_path, BENCH_SECRET + "\n")
    ctx, rec = make_ctx({}, secret_file=f)
    assert pseudonym(ctx, "alice@example.com", "users") == TOKEN_BENCH
    assert rec.notices == [("status", "pseudonym: ON (stable; secret_file)")]


def test_only_one_trailing_newline_is_stripped(tmp_path):
    f = write_secret(tmp_path, BENCH_SECRET + "\n\n")
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": f})
    assert pseudonym(ctx, "alice@example.com", "users") != TOKEN_BENCH
    f2 = write_secret(tmp_path, BENCH_SECRET + "\r\n", name="crlf")
    ctx2, _ = make_ctx({"KELORA_SECRET_FILE": f2})
    assert pseudonym(ctx2, "alice@example.com", "users") == TOKEN_BENCH


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_group_or_other_access_is_refused(tmp_path, mode):
    f = write_secret(tmp_path, BENCH_SECRET, mode=mode)
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": f})
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    err = ei.value
    assert err.exit_code == 2
    assert f in err.message and "group or others" in err.message
    assert "chmod 600" in (err.hint or "")
    assert BENCH_SECRET not in all_text(err)


def test_owner_only_modes_are_accepted(tmp_path):
    f = write_secret(tmp_path, BENCH_SECRET, mode=0o400)
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": f})
    assert pseudonym(ctx, "alice@example.com", "users") == TOKEN_BENCH


def test_missing_file_is_fatal_exit_2(tmp_path):
    missing = str(tmp_path / "nope")
    ctx, _ = make_ctx({}, secret_file=missing)
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    assert ei.value.exit_code == 2 and missing in ei.value.message


def test_directory_is_refused(tmp_path):
    d = tmp_path / "dir"
    d.mkdir(mode=0o700)
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": str(d)})
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    assert ei.value.exit_code == 2


def test_unreadable_file_is_fatal(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    f = write_secret(tmp_path, BENCH_SECRET, mode=0o200)
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": f})
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    assert ei.value.exit_code == 2


def test_empty_env_secret_exits_1():
    ctx, _ = make_ctx({"KELORA_SECRET": ""})
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    assert ei.value.message == "KELORA_SECRET must not be empty"
    assert ei.value.exit_code == 1


@pytest.mark.parametrize("content", ["", "\n"])
def test_empty_secret_file_exits_1(tmp_path, content):
    f = write_secret(tmp_path, content)
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": f})
    with pytest.raises(FatalError) as ei:
        pseudonym(ctx, "x", "users")
    assert ei.value.exit_code == 1
    assert "empty" in ei.value.message and f in ei.value.message


def test_empty_secret_file_variable_is_an_error():
    ctx, _ = make_ctx({"KELORA_SECRET_FILE": ""})
    with pytest.raises(FatalError):
        pseudonym(ctx, "x", "users")


def test_secret_never_in_error_texts(tmp_path):
    """Provoke every error path with a distinctive secret; it must appear nowhere."""
    secret = "TOPSECRET-\u00e4-" + "z" * 20
    master = K.master_for(secret.encode())
    texts = []
    ctx, rec = make_ctx({"KELORA_SECRET": secret})
    pseudonym(ctx, "ok", "users")
    for args in [(None, "users"), (True, "users"), ([1], "users"), ("x", ""), ("x", None),
                 (float("inf"), "users"), ({"k": secret}, "users")]:
        try:
            pseudonym(ctx, *args)
        except FunctionError as err:
            texts.append(all_text(err))
    f = write_secret(tmp_path, secret, mode=0o644)
    for env in ({"KELORA_SECRET_FILE": f}, {"KELORA_SECRET_FILE": str(tmp_path / "missing")}):
        c, _ = make_ctx(env)
        try:
            pseudonym(c, "x", "users")
        except FatalError as err:
            texts.append(all_text(err))
    try:
        hash_("x", "nope")
    except FunctionError as err:
        texts.append(all_text(err))
    texts += [repr(ctx.keyring), str(ctx.keyring), repr(ctx.keyring.by_domain)]
    texts += [t for _, t in rec.notices]
    assert len(texts) >= 12
    blob = "\n".join(texts)
    assert secret not in blob
    assert master.hex() not in blob
    assert repr(master) not in blob
    assert "TOPSECRET" not in blob


def test_prefetched_master_key_gives_the_same_tokens():
    secret = "prefetch secret " + os.urandom(4).hex()  # not in the process-wide cache yet
    ctx, _ = make_ctx({"KELORA_SECRET": secret})
    K.prefetch(ctx)
    assert K._PENDING  # the derivation runs in a thread
    token = pseudonym(ctx, "alice@example.com", "users")
    assert not K._PENDING
    assert token == K.reference_token(K.derive_master(secret.encode()), "alice@example.com", "users")


def test_prefetch_reports_nothing_and_the_run_still_fails_on_a_bad_source(tmp_path):
    f = write_secret(tmp_path, OTHER, mode=0o644)
    ctx, rec = make_ctx({"KELORA_SECRET_FILE": f})
    K.prefetch(ctx)  # a loose file: no thread, no message, no exception here
    assert not K._PENDING and not rec.notices
    with pytest.raises(FatalError) as err:
        pseudonym(ctx, "alice@example.com", "users")
    assert err.value.exit_code == 2
