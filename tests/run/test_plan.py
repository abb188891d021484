"""The run as plan, state and batches: a RunPlan pickled to "another process" runs batches that,
merged in input order, give exactly the sequential run's output, stats and metrics."""
import io
import pickle

import pytest

from kelora.cli.app import parse_args
from kelora.run.env import Env, isolate_secrets
from kelora.run.pipeline import Pipeline
from kelora.run.batch import BatchResult, Task, run_batch
from kelora.run.plan import RunPlan, plan_of, worker_pipeline
from kelora.run.state import RunState
from kelora.report.messages import stats_json
from kelora.metrics import render as metrics_render

LINES = [b'{"i": %d, "user": "u%d", "status": %d}\n' % (i, i % 13, 200 + (i % 4) * 100) for i in range(300)]
LINES[17] = b"not json\n"
LINES[120] = b"\n"
CSV = [b"i,user,status\n"] + [b"%d,u%d,%d\n" % (i, i % 5, 200 + i % 3 * 100) for i in range(200)]

SCRIPTS = [
    ["-j", "-e", "e.n = e.i * 2", "--filter", "e.status >= 400",
     "-e", 'track_count("by_status_" + e.status); track_unique("users", e.user)'],
    ["-j", "--begin", "conf.base = 1000", "-e", "e.k = conf.base + e.i", "-k", "i,k"],
    ["-f", "csv", "-e", "e.status = e.status.to_int(); track_sum(\"s\", e.status)", "-F", "csv", "-k", "i,status"],
    ["-j", "-e", 'e.u = pseudonym(e.user, "users"); track_unique("u", e.u)', "-F", "logfmt"],
]


def _env(stdin=b""):
    return Env.for_test(stdin, environ={"KELORA_SECRET": "plan-test-secret-0123456789"})


def _sequential(argv, data):
    from kelora.cli.app import run_command

    env = _env(data)
    code = run_command([*argv, "--stats=json"], env)
    return code, env.stdout.getvalue()




def _driver(argv, first_line):
    env = _env()
    from kelora.run.env import isolate_secrets

    env = isolate_secrets(env)
    config, _ = parse_args([*argv, "--stats=json"], env)
    driver = Pipeline(config, env)
    driver.compile()
    driver.sink = driver.make_sink()
    driver.sink.open()
    driver.run_begin()
    text = driver.decode(first_line.rstrip(b"\r\n"), 1)
    driver.parser = driver.make_parser(text)
    header = None
    if driver.stats.format_name in ("csv", "tsv"):
        header = text
        driver.header_line = text
    return driver, env, header


@pytest.mark.parametrize("argv", SCRIPTS, ids=["filter-metrics", "begin-conf", "csv", "pseudonym"])
@pytest.mark.parametrize("size", [1, 7, 64, 1000])
def test_batches_from_a_pickled_plan_equal_the_sequential_run(argv, size):
    data = CSV if argv[:2] == ["-f", "csv"] else LINES
    code, expected = _sequential(argv, b"".join(data))

    driver, env, header = _driver(argv, data[0])
    plan = pickle.loads(pickle.dumps(plan_of(driver)))
    assert isinstance(plan, RunPlan)
    worker = worker_pipeline(plan, isolate_secrets(_env()))
    body = data[1:] if header is not None else data
    start = 2 if header is not None else 1
    if header is not None:
        driver.stats.lines_read += 1
        driver.stats.lines_header += 1
    out = io.BytesIO()
    pending_header = driver.sink.take_header()
    for seq, i in enumerate(range(0, len(body), size)):
        task = pickle.loads(pickle.dumps(Task(seq, body[i:i + size], start + i, "stdin", None)))
        result = pickle.loads(pickle.dumps(run_batch(worker, task)))
        assert isinstance(result, BatchResult) and isinstance(result.state, RunState)
        assert result.failure is None and result.exit_request is None
        if result.out and pending_header:
            out.write(pending_header)
            pending_header = None
        out.write(result.out)
        driver.state.merge(result.state)
    driver.stats.files_processed += 1  # (the driver's reader counts the input it opened)
    assert code == 0
    events, _, stats = expected.partition(b'{\n  "format"')
    assert out.getvalue() == events
    assert _without_timing(stats_json(driver.stats)) == _without_timing('{\n  "format"' + stats.decode())
    metrics = metrics_render.render(driver.state.metrics, "json")
    assert metrics == _sequential_metrics(argv, b"".join(data))


def _without_timing(text):
    import json

    data = json.loads(text)
    del data["throughput"]  # the run's duration
    return data


def _sequential_metrics(argv, data):
    from kelora.cli.app import run_command

    env = _env(data)
    assert run_command([*argv, "--metrics=json"], env) == 0
    return env.stdout.getvalue().decode().rstrip("\n") + ("\n" if not env.stdout.getvalue().endswith(b"\n") else "")


def test_run_state_merge_is_exact_and_in_order():
    from kelora.metrics.store import MetricStore

    a, b = RunState(), RunState()
    a.stats.lines_read, b.stats.lines_read = 3, 4
    a.filter_ok[0] = 2
    b.filter_ok[0] = 5
    b.filter_ok[1] = 1
    a.errors.record("parse", "line 1", "x")
    b.errors.record("parse", "line 9", "y")
    a.merge(b)
    assert a.stats.lines_read == 7
    assert a.filter_ok == {0: 7, 1: 1}
    assert a.errors.counts == {"parse": 2} and [s[1] for s in a.errors.samples] == ["line 1", "line 9"]
    assert isinstance(a.metrics, MetricStore)
