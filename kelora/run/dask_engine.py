"""``--engine dask``: the run's batches on a ``dask.distributed`` cluster (docs/dask.md).

The driver (this process) does what ``--parallel``'s parent does -- it compiles the scripts, runs
``--begin``, chooses the input format and cuts the input into tasks (``kelora.run.batching``:
plain files as byte ranges that workers ``pread`` from the same path, stdin, pipes and compressed
files as line lists shipped with the task) -- and then submits each task to the cluster with the
run's ``RunPlan``, broadcast to the workers once.  A worker builds its pipeline from the plan once
per run (``worker_pipeline``; cached per worker thread), runs ``run_batch`` and returns the
``BatchResult`` with what the batch wrote to stderr (warnings, ``-v`` errors: a worker's stderr is
not the user's).  Only the driver writes, in input order (or as batches finish with
``--unordered``), and merges each batch's ``RunState`` in the same order: output, stats and
metrics are those of a sequential run.

Failure model.  Dask re-runs the tasks of a worker that died (up to its ``allowed-failures``);
the driver writes a batch once, from the one result its future gives, so a retry neither
duplicates nor loses lines.  Side effects that a retry would repeat (``append_file``,
``truncate_file``, ``mkdir``, the privacy lifecycle's files) are refused before anything is read.

Secrets.  The secret never travels: a worker derives the key from its own environment or secret
file.  Before the first task every worker proves it derived the same key as the driver (the
``Keyring.fingerprint()`` in ``RunPlan.key_check``, an HMAC of a fixed label, never the key), and
a worker built later checks again: a different or missing secret stops the run (exit 2), because
mixed keys would silently split one value into several tokens.  The local cluster's worker
processes get the secret variables through their own process environment at spawn (the nanny's
``env``; docs/security.md).  An ephemeral key cannot be shared, so ``pseudonym()`` without a
secret is refused.
"""
from __future__ import annotations

import dataclasses
import io
import os
import threading
import time
import uuid

from kelora.errors import FatalError, UsageError
from kelora.run.batch import Range
from kelora.run.batching import IDLE, Batcher, InputFailed, signals_held
from kelora.builtins import registry as builtin_registry
from kelora.run.stages import StageFailed

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
SECRET_SOURCES = ("KELORA_SECRET", "KELORA_SECRET_FILE")  # what a local cluster's workers get
PER_WORKER = 3  # tasks in flight per worker: keeps workers busy, bounds the driver's memory
# run-time variables a worker takes from the driver, not from its own environment
FORWARDED = ("KELORA_SEED",)


class KeyMismatch(Exception):
    """A worker derived another pseudonym key than the driver (or none): the run stops."""


# ---------------------------------------------------------------------------- before reading

def refuse(pipeline) -> None:
    """What ``--engine dask`` cannot run: raise ``UsageError`` (exit 2) before anything is read."""
    c = pipeline.config
    if c.scheduler is not None:
        check_address(c.scheduler, c.insecure_transport)
    for flag, used in (("--rotation-map", c.rotation_map), ("--escrow", c.escrow),
                       ("--scan-pii", c.scan_pii)):
        if used:
            raise UsageError(f"{flag} is not supported with --engine dask: its files would be written "
                             "by every worker (and again by a retried batch); rerun without --engine dask")
    calls = pipeline.called_functions
    # file writers and escrow reads: effects a batch re-run after a lost worker would repeat
    writers = sorted({*builtin_registry.with_effect(calls, "io"), *builtin_registry.with_effect(calls, "escrow")})
    if writers:
        raise UsageError(f"{', '.join(writers)} cannot be used with --engine dask: a batch re-run after a "
                         "lost worker would repeat its effect; rerun without --engine dask")
    if builtin_registry.needs_key(calls):
        from kelora.keyring import resolve_secret

        secret, _ = resolve_secret(pipeline.ctx)
        if secret is None:
            raise UsageError("pseudonym() with --engine dask needs a secret (KELORA_SECRET or KELORA_SECRET_FILE): "
                             "an ephemeral key would differ on every worker")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("--engine dask needs Dask: pip install 'kelora[dask]'") from None
    if c.scheduler is not None:
        tls_settings(c.scheduler)


def address_parts(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a ``--scheduler`` address (``tls://host:8786``, ``host:8786``
    for tcp, ``[::1]:8786``); UsageError for anything else, before any connection is tried."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if rest.startswith("["):
        host, close, port = rest[1:].partition("]:")
        host = host if close else ""
    else:
        host, _, port = rest.rpartition(":")
    if (scheme not in ("tcp", "tls") or not host or "/" in rest or ":" in host.strip("[]") and not
            rest.startswith("[") or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536):
        raise UsageError(f"--scheduler '{address}' is not a Dask scheduler address",
                         hint="give tls://HOST:PORT, such as tls://scheduler.internal:8786 (tcp:// or HOST:PORT "
                              "on this machine)")
    return scheme, host, int(port)


def check_address(address: str, insecure: bool) -> None:
    """A remote scheduler must be reached over TLS unless ``--insecure-transport``: events are
    personal data in transit.  A loopback address never leaves the machine."""
    scheme, host, _ = address_parts(address)
    if scheme == "tls" or insecure:
        return
    if host.lower() in LOOPBACK:
        return
    raise UsageError(f"--scheduler '{address}' is not encrypted, and events are personal data in transit: "
                     "use a tls:// scheduler address, or add --insecure-transport to send them in the clear")


TLS_SETTINGS = ("distributed.comm.tls.ca-file, distributed.comm.tls.client.cert and .client.key in Dask's "
                "configuration (or DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT, "
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY)")


def tls_settings(address: str):
    """Dask's ``Security`` for *address* (None for an unencrypted one), read from Dask's own
    configuration (docs/dask.md): a ``tls://`` scheduler needs the cluster's CA and a client
    certificate, and both must load, else ``UsageError`` before anything is read (Dask itself
    would fail in the middle of connecting, with a TypeError)."""
    scheme = address.partition("://")[0] if "://" in address else "tcp"
    if scheme != "tls":
        return None
    from distributed.security import Security

    try:
        security = Security()
    except (ValueError, TypeError) as exc:  # a bad tls.min-version and the like
        raise UsageError(f"Dask's TLS configuration is not valid: {exc}") from None
    if not (security.tls_ca_file and security.tls_client_cert):
        missing = "CA file" if not security.tls_ca_file else "client certificate"
        raise UsageError(f"--scheduler '{address}' uses TLS, and Dask's configuration names no {missing}",
                         hint="set " + TLS_SETTINGS)
    for key, value in (("ca-file", security.tls_ca_file), ("client.cert", security.tls_client_cert),
                       ("client.key", security.tls_client_key)):
        # a value holding a newline is the PEM text itself (as Dask reads it), else a path
        if value and "\n" not in value and not os.access(value, os.R_OK):
            raise UsageError(f"Dask's TLS setting distributed.comm.tls.{key} names '{value}', which cannot be read",
                             hint="check " + TLS_SETTINGS)
    try:
        security.get_connection_args("client")  # loads the files: a wrong path fails here
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise UsageError(f"Dask's TLS settings cannot be loaded: {exc}", hint="check " + TLS_SETTINGS) from None
    return security


# ---------------------------------------------------------------------------- the workers' side

_LOCAL = threading.local()  # per worker thread: (run id, pipeline, env)


def _worker_env(forwarded: dict):
    from kelora.keyring import held_secrets, take_process_secrets
    from kelora.run.env import Env

    take_process_secrets()  # COMPAT D16 in the worker too: no script sees the secret variables
    return Env(stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.StringIO(),
               environ={**os.environ, **forwarded}, secrets=held_secrets())


def _where() -> str:
    import socket

    return f"{socket.gethostname()} (pid {os.getpid()})"


def _check_key(key_check: str | None, secret_file: str | None, secrets) -> None:
    if key_check is None:
        return
    from kelora.keyring import environment_fingerprint

    try:
        mine = environment_fingerprint(secret_file, secrets)
    except FatalError as err:
        raise KeyMismatch(f"the Dask worker on {_where()} cannot read its pseudonym secret: {err.message}") from None
    if mine is None:
        raise KeyMismatch(f"the Dask worker on {_where()} has no pseudonym secret (KELORA_SECRET or "
                          "KELORA_SECRET_FILE in its environment)")
    if mine != key_check:
        raise KeyMismatch(f"the Dask worker on {_where()} derived a different pseudonym key than this "
                          "process: its secret differs")


def check_worker(key_check: str | None, secret_file: str | None) -> str | None:
    """Run on every worker before the first task (``Client.run``): why its key differs, or None.
    (Returned, not raised: Dask logs a failed call with its arguments, the fingerprint among them.)"""
    try:
        _check_key(key_check, secret_file, _worker_env({}).secrets)
    except KeyMismatch as err:
        return str(err)
    return None


class _signals_deferred:
    """SIGINT and SIGTERM only noted during the block (main thread), then raised as they would
    have been (KeyboardInterrupt, Terminated) once it is over."""

    def __enter__(self):
        import signal
        import threading

        self.came: list[int] = []
        self.old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, lambda signum, frame: self.came.append(signum))

    def __exit__(self, *exc):
        import signal

        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        if self.came and exc[0] is None:
            from kelora.status import Terminated

            raise Terminated() if self.came[0] == signal.SIGTERM else KeyboardInterrupt()


class _quiet_fd2:
    """File descriptor 2 on /dev/null while the local cluster starts: the worker processes it
    spawns keep it, so a Ctrl-C that reaches them half-started (it goes to the whole process
    group) prints no start-up traceback of theirs; their warnings and errors come back with
    each batch's result anyway.  Restored before anything of kelora's is printed."""

    def __enter__(self):
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def _the_plan(plan):
    return plan


CONNECT_SECONDS = 20  # to reach a --scheduler and finish Dask's handshake with it


def _client_within(address: str, seconds: float, connect):
    """``connect()`` (a Dask ``Client``), given up after *seconds*: Dask's own timeout does not
    cover its handshake, so a port that is not a Dask scheduler (a web server) would hang the
    run.  Every failure is one FatalError line."""
    import threading

    box: dict = {}

    def attempt():
        try:
            box["client"] = connect()
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc
    thread = threading.Thread(target=attempt, name="kelora-dask-connect", daemon=True)
    thread.start()
    thread.join(seconds + 5)
    if thread.is_alive():
        raise FatalError(f"cannot connect to the Dask scheduler at '{address}': no Dask scheduler answered within "
                         f"{seconds + 5:.0f} s", hint="check the address and port (the scheduler's, not its dashboard's)")
    error = box.get("error")
    if error is not None:
        if isinstance(error, KeyboardInterrupt):
            raise error
        raise FatalError(f"cannot connect to the Dask scheduler at '{address}': {type(error).__name__}: {error}") from None
    return box["client"]


def run_task(plan, run_id: str, forwarded: dict, task):
    """A Dask task: one batch of *plan*; returns ``(output bytes, BatchResult, stderr text)``,
    or ``(b"", None, why)`` when this worker's key differs.  The output comes first and apart
    from the result: Dask then sends it as a frame of its own, neither copied into a pickle
    stream nor scanned (a tuple whose first item Dask serializes itself is sent item by item).  It never raises: Dask would log the failed
    task with its arguments, the batch's events among them."""
    from kelora.run.batch import run_batch

    state = getattr(_LOCAL, "run", None)
    if state is None or state[0] != run_id:
        from kelora.run.plan import worker_pipeline

        _LOCAL.run = None  # a previous run's pipeline is released
        env = _worker_env(forwarded)
        try:
            _check_key(plan.key_check, plan.config.secret_file, env.secrets)
        except KeyMismatch as err:
            return b"", None, str(err)
        try:
            pipe = worker_pipeline(plan, env)
            if plan.key_check is not None:
                from kelora.keyring import ensure_keyring

                ensure_keyring(pipe.ctx)
        except Exception as exc:  # noqa: BLE001 - reported by the driver as a failed batch
            from kelora.run.batch import BatchResult
            from kelora.run.state import RunState

            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return None, BatchResult(task.seq, RunState(), failure=f"a Dask worker could not start the run: {message}"), ""
        env.stderr.seek(0)
        env.stderr.truncate()  # compile-time notes are the driver's to show
        state = _LOCAL.run = (run_id, pipe, env)
    _, pipe, env = state
    result = run_batch(pipe, task)
    out, result.out = result.out, None
    err = env.stderr.getvalue()
    if err:
        env.stderr.seek(0)
        env.stderr.truncate()
    return out, result, err


# ---------------------------------------------------------------------------- the driver

def _quiet() -> None:
    """No Dask log lines or warnings on the user's stderr."""
    import logging
    import warnings

    # (asyncio: "Task exception was never retrieved" of a worker start cut off by Ctrl-C)
    for name in ("distributed", "tornado", "bokeh", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"distributed(\..*)?$")
    warnings.filterwarnings("ignore", module=r"dask(\..*)?$")


def _shared(task):
    """*task* as a worker on another machine reads it: a byte range of a plain file by its
    absolute path, checked by inode only (the device number is each machine's own)."""
    lines = task.lines
    if type(lines) is not Range:
        return task
    shared = Range(os.path.abspath(lines.path), (None, lines.ident[1]), lines.offset, lines.length)
    return dataclasses.replace(task, lines=shared)


def _mismatch(why: str) -> FatalError:
    return FatalError(f"Pipeline error: {why}", hint="give every worker the same KELORA_SECRET or "
                      "KELORA_SECRET_FILE", exit_code=2)


def _wait(fut, timeout: float) -> None:
    """Wait up to *timeout* seconds for *fut* (its failure is taken up by ``_take``)."""
    try:
        fut.result(timeout=timeout)
    except Exception:  # noqa: BLE001 - a timeout, or the task's own error
        pass


class DaskReader(Batcher):
    """Runs the batches of ``Pipeline`` *pipeline* on a Dask cluster; called instead of
    ``Pipeline._read_inputs``."""

    # A Dask task costs far more than a --parallel pipe message (the scheduler's bookkeeping, a
    # connection to fetch each result): ranges of 8 MiB instead of 2 (~25,000 benchmark events;
    # PER_WORKER in flight per worker, so the driver's memory stays bounded).  T2 on 1M events,
    # 2 workers, CPU s: driver 2.7 -> 2.3, workers 10.2 -> 9.1 (docs/benchmarks.md).
    range_bytes = 8 << 20

    def read_inputs(self) -> None:
        p = self.p
        batches = self._batches()
        first = self.first_task(batches)  # primes the parser: the plan needs the format
        if first is None:
            return
        from kelora.run.plan import plan_of

        key_check = None
        if "pseudonym" in p.called_functions:
            from kelora.keyring import ensure_keyring

            key_check = ensure_keyring(p.ctx).fingerprint()
        plan = plan_of(p, key_check)
        self.note_begin_metrics()
        p.sink.flush()
        self._header = p.sink.take_header()
        forwarded = {k: p.env.environ[k] for k in FORWARDED if k in p.env.environ}
        client, cluster = self._connect(key_check is not None)
        self.pending: dict = {}  # seq -> future
        self.next_seq = 0
        try:
            self._check_workers(client, plan)
            # a task's result, not scattered data: if every worker holding it dies, the scheduler
            # computes it again (from the plan in the task itself) for the batches re-run
            run_id = uuid.uuid4().hex
            plan_f = client.submit(_the_plan, plan, key=f"kelora-plan-{run_id}", pure=False)
            window = PER_WORKER * max(1, len(client.scheduler_info().get("workers", {})))

            def submit(task):
                task = _shared(task)
                self.pending[task.seq] = client.submit(
                    run_task, plan_f, run_id, forwarded, task, key=f"kelora-{run_id}-{task.seq}", pure=False)

            submit(first)
            for task in batches:
                if task is IDLE:  # a quiet pipe: write what is ready meanwhile
                    self._collect(block=False)
                    p.sink.flush()
                    continue
                if type(task) is InputFailed:  # in its place: after every batch before it
                    while self.pending:
                        self._collect(block=True)
                    self.input_failed(task)
                    continue
                while len(self.pending) >= window:
                    self._collect(block=True)
                submit(task)
            while self.pending:
                self._collect(block=True)
            self._metric_conflicts()
        finally:
            if self.pending:
                try:
                    client.cancel(list(self.pending.values()))
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
            self._close(client, cluster)

    # -------------------------------------------------------------- the cluster
    def _connect(self, with_secret: bool):
        _quiet()
        import dask
        from distributed import Client, LocalCluster

        c = self.p.config
        dask.config.set({"distributed.scheduler.work-stealing": True,
                         "distributed.admin.tick.limit": "1h"})  # no "event loop unresponsive" lines
        if c.scheduler is not None:
            client = _client_within(c.scheduler, CONNECT_SECONDS, lambda: Client(
                c.scheduler, timeout=f"{CONNECT_SECONDS}s", set_as_default=False, security=tls_settings(c.scheduler)))
            try:
                client.wait_for_workers(1, timeout=60)
            except (OSError, TimeoutError):
                client.close()
                raise FatalError(f"the Dask scheduler at '{c.scheduler}' has no workers") from None
            return client, None
        import logging

        # The secret variables reach the workers as their own process environment at spawn
        # (the nanny keeps them to restart a lost worker); never in a task or a message.
        env = {k: v for k, v in self.p.env.secrets.items() if k in SECRET_SOURCES} if with_secret else {}
        tls = {}
        if dask.config.get("distributed.comm.require-encryption", None):
            # the user's Dask configuration asks for TLS on every connection: throwaway
            # certificates (cryptography), which live as long as this run's cluster
            from distributed.security import Security

            tls = {"protocol": "tls://", "security": Security.temporary()}
        n_workers = c.threads or os.cpu_count() or 2
        cluster = client = None
        quiet = _quiet_fd2()
        quiet.__enter__()
        try:
            # the workers' statistical profiler (a thread walking every stack 100 times a second,
            # for the dashboard this cluster does not have) only takes the GIL from the batches;
            # the nanny hands this configuration to the workers it starts
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                cluster = LocalCluster(n_workers=n_workers, processes=True,
                                       threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.CRITICAL, env=env, **tls)
            with _signals_deferred():  # (a Client cut off half-built hangs 60 s at exit)
                # results come straight from the worker that holds them, not relayed by the
                # scheduler (which runs in this process: every batch's bytes went through twice)
                client = Client(cluster, set_as_default=False, direct_to_workers=True)
                client.wait_for_workers(n_workers, timeout=120)  # (all spawned: quiet until then)
        except BaseException as exc:
            # Ctrl-C (or a failure) while the workers start: what started is closed while fd 2 is
            # still quiet, and Dask's own exit hook, which fails on a half-started cluster with a
            # traceback, is not left to run
            import atexit

            from distributed.deploy import spec

            atexit.unregister(spec.close_clusters)
            self._close(client, cluster)
            quiet.__exit__()
            if not isinstance(exc, Exception):
                raise
            raise FatalError(f"the local Dask cluster did not start: {type(exc).__name__}: {exc}") from None
        quiet.__exit__()
        return client, cluster

    @staticmethod
    def _close(client, cluster) -> None:
        with signals_held():
            for thing in (client, cluster):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:  # noqa: BLE001 - shutting down: nothing left to report
                        pass

    def _check_workers(self, client, plan) -> None:
        if plan.key_check is None:
            return
        for why in client.run(check_worker, plan.key_check, plan.config.secret_file).values():
            if why is not None:
                raise _mismatch(why)

    # -------------------------------------------------------------- results
    def _collect(self, block: bool) -> None:
        """Absorb finished batches: in input order, or as they finish with --unordered.  Waits
        (in short steps, for Ctrl-C) when *block*; holds signals while absorbing, so the counts
        of an interrupted run are those of what was written."""
        pending = self.pending
        if self.ordered:
            while self.next_seq in pending:
                fut = pending[self.next_seq]
                if not fut.done():
                    if not block:
                        return
                    _wait(fut, 0.2)
                    continue
                self._take(self.next_seq)
                self.next_seq += 1
                block = False  # one batch is enough to make room
            return
        done = [seq for seq, fut in pending.items() if fut.done()]
        if not done and block:
            deadline = time.monotonic() + 0.2
            while not done and time.monotonic() < deadline:
                time.sleep(0.005)
                done = [seq for seq, fut in pending.items() if fut.done()]
        for seq in sorted(done):
            self._take(seq)

    def _take(self, seq: int) -> None:
        fut = self.pending.pop(seq)
        try:
            out, result, err = fut.result()
        except Exception as exc:  # noqa: BLE001 - a task that failed in Dask: one clear line
            name = type(exc).__name__
            if name == "KilledWorker":
                raise StageFailed(f"batch {seq + 1} was lost: the Dask workers running it died repeatedly") from None
            if "Cancelled" in name:
                raise StageFailed(f"batch {seq + 1} was lost: the Dask cluster cancelled it (its workers or the "
                                  "scheduler went away)") from None
            raise StageFailed(f"batch {seq + 1} failed on a Dask worker: {name}: {exc}") from None
        if result is None:
            raise _mismatch(err)
        result.out = out
        with signals_held():
            err = self.first_warnings(err)
            if err:
                self.p.sink.flush()
                self.p.env.stderr.write(err)
                self.p.env.stderr.flush()
            self._absorb(result)
