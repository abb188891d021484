import pytest

from kelora.context import Diagnostics, RunContext

BENCH_SECRET = "kelora-bench-secret"


class Recorder:
    """Collects pseudonym notices and warnings a context emits."""

    def __init__(self):
        self.notices: list[tuple[str, str]] = []
        self.warnings: list[str] = []


def make_ctx(env=None, secret_file=None, rec=None):
    rec = rec or Recorder()
    ctx = RunContext(
        env=env if env is not None else {},
        secret_file=secret_file,
        diagnostics=Diagnostics(warn_fn=rec.warnings.append),
        pseudonym_notice=lambda kind, text: rec.notices.append((kind, text)),
    )
    return ctx, rec


@pytest.fixture
def bench_ctx():
    ctx, _ = make_ctx({"KELORA_SECRET": BENCH_SECRET})
    return ctx
