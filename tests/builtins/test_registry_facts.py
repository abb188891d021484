"""Facts about builtins live on their ``@builtin`` decorator, and every consumer asks the registry.

A throwaway builtin declared with a flag gets the behaviour that flag stands for, with no list of
names to update anywhere else (issue 16, "one place per fact").
"""
from __future__ import annotations

import pytest

from kelora.run import parallel_audit
from kelora.builtins import registry
from kelora.lang import compile_script


@pytest.fixture
def temp_builtin():
    added = []

    def add(func, **kw):
        registry.builtin("test", **kw)(func)
        added.append(func.__name__)
        return func

    yield add
    for name in added:
        registry.REGISTRY.pop(name, None)


def _doc_only(x) -> None:
    """Test builtin."""


def test_flags_are_checked_when_declared():
    with pytest.raises(TypeError, match="unknown builtin effects"):
        registry.builtin("test", pure=False, effects={"teleport"})
    with pytest.raises(TypeError, match="cannot be pure"):
        registry.builtin("test", effects={"io"})(_doc_only)
    assert "_doc_only" not in registry.REGISTRY


def test_facts_are_read_without_building_the_record():
    registry.load_all()
    name = "track_top_by"
    raw = dict.get(registry.REGISTRY, name)
    f = registry.facts(name)
    assert f is not None and f.effects == frozenset({"metrics"}) and not f.pure
    assert type(dict.get(registry.REGISTRY, name)) is type(raw)  # still as it was (maybe _Pending)
    assert registry.facts("no_such_builtin") is None
    assert registry.REGISTRY[name].effects == frozenset({"metrics"})


def test_known_builtins_say_what_they_do():
    assert registry.with_effect(["append_file", "mkdir", "len"], "io") == ["append_file", "mkdir"]
    assert registry.has_effect(["emit_each"], "emit") and registry.has_effect(["rand"], "random")
    assert registry.needs_key(["pseudonym"]) and not registry.needs_key(["hash"])
    assert registry.hides_value("hash") and not registry.hides_value("len")
    assert registry.mutates("push") and not registry.mutates("len")
    assert registry.REGISTRY["pseudonym"].replay_safe  # not pure, declared replay-safe
    assert registry.REGISTRY["len"].replay_safe  # pure
    assert not registry.REGISTRY["push"].replay_safe  # mutates
    assert not registry.REGISTRY["print"].replay_safe  # has an effect
    assert registry.REGISTRY["to_int"].unit_on_failure
    assert registry.is_dynamic("Fn") and registry.is_dynamic("call") and not registry.is_dynamic("map")
    # aliases share the facts of the function they alias
    assert registry.facts("upper") == registry.facts("to_upper")
    with pytest.raises(ValueError):
        registry.has_effect(["len"], "teleport")


def test_a_new_file_writer_is_refused_under_parallel(temp_builtin):
    def kl_test_write(path: str) -> None:
        """Test writer."""

    temp_builtin(kl_test_write, pure=False, effects={"io"})
    prog = compile_script('kl_test_write("x")')
    with pytest.raises(parallel_audit.ParallelRefused, match="kl_test_write"):
        parallel_audit.audit([("exec", prog)])


def test_a_new_tracker_is_queued_like_track_functions(temp_builtin):
    from kelora.lang.program import _tracks_last

    def kl_test_track(x) -> None:
        """Test tracker."""

    temp_builtin(kl_test_track, pure=False, effects={"metrics"})
    prog = compile_script("kl_test_track(e.a)")
    assert prog.tracks_last  # a lone call of a metrics builtin: applied at once (T3)
    assert not compile_script("kl_test_track(e.a); e.b = 1").tracks_last
    assert not _tracks_last(compile_script("kl_test_track(kl_test_track(1))").ast.stmts)
