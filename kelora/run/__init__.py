"""The run: a plan built once from the flags, a state that counts, a reader, stages and a sink.

    pipeline   Pipeline: compile the scripts, run --begin, read, run the stages, --end, report
    plan       RunPlan: what another process needs to run batches of this run (picklable)
    state      RunState: stats, errors, filter counts, metrics, privacy share; exact merge()
    batch      Task -> run_batch -> BatchResult: one batch on its own (--parallel, Dask)
    reader     sources and capped line reading; ingest: the per-line loops; fastloop: the
               generated loop; multiline (-M), context_lines (-A/-B/-C)
    stages     the compiled per-event stages (exec, filter, assert, levels) with rollback
    sink       where events go (stdout, an atomic -o file), formatted and counted
    end        the end of a run: commit, metrics, stats, summary, exit code
    batching   cutting the input into batches (byte ranges, line lists), --batch-timeout, and
               absorbing results in input order: shared by the two parallel drivers
    parallel   --parallel's driver (forked workers); workers: its processes
    dask_engine  --engine dask: the same batches on a dask.distributed cluster
    env        the injected process environment (streams, terminal facts, variables)

Drivers (``kelora.cli``, ``kelora.api``) build a ``Pipeline`` from a ``Config`` and call
``run()``; parallel drivers build a ``RunPlan`` and merge each ``BatchResult`` in input order.
"""
