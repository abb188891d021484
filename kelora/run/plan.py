"""A run's plan: what another process needs to run batches of it exactly as this one would.

The plan is immutable and picklable, and holds no secret: scripts travel as source (in the
``Config``) and are compiled where they run; ``--begin`` has run once, in the driver, and its
frozen ``conf`` travels here; the input format was decided (and a CSV header read) by the
driver from the first line.  A process that runs batches builds its pipeline with
``worker_pipeline(plan, env)``; keys are derived there from that process's own secret.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kelora.config import Config


@dataclass(frozen=True)
class RunPlan:
    config: Config
    conf: dict  # ``conf`` as --begin left it (read-only in the per-event stages)
    input_format: str  # the -f spec as decided (``auto`` resolved from the first line)
    header: str | None = None  # a CSV/TSV header line read by the driver
    # HMAC of a fixed label under the driver's pseudonym key (never the key): a worker must
    # derive the same (kelora.keyring.Keyring.fingerprint); None when no script calls pseudonym
    key_check: str | None = None


def plan_of(pipeline, key_check: str | None = None) -> RunPlan:
    """The plan of *pipeline*: compiled, ``--begin`` run, its parser chosen (first line read)."""
    import copy

    return RunPlan(
        config=pipeline.config,
        conf=copy.deepcopy(pipeline.ctx.conf),
        input_format=pipeline.input_spec,
        header=pipeline.header_line,
        key_check=key_check,
    )


def worker_pipeline(plan: RunPlan, env):
    """A pipeline that runs batches of *plan* (``kelora.run.batch.run_batch``) in this process.

    Its output goes to memory (the driver writes the run's output and the ``-o`` file), its
    ``--begin`` does not run again (``conf`` comes from the plan), its compile-time warnings
    are the driver's to show."""
    from kelora.formats import make_input_parser
    from kelora.run.pipeline import Pipeline

    config = dataclasses.replace(plan.config, parallel=False)
    pipe = Pipeline(config, env)
    pipe.compile()
    pipe.ctx.conf.update(plan.conf)
    pipe.parser = make_input_parser(plan.input_format, strict=config.strict, cols_sep=config.cols_sep)
    pipe.input_spec = plan.input_format
    pipe.stats.format_name = getattr(pipe.parser, "format_name", plan.input_format)
    if plan.header is not None:
        pipe.parser.parse(plan.header)
        pipe.header_line = plan.header
    pipe.sink = pipe.make_sink()
    pipe.sink.open(in_memory=True)
    pipe.sink.take_header()  # written once by the driver
    return pipe
