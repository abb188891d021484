"""The run: a plan built once from the flags, a state that counts, a reader, stages and a sink.

Drivers (``kelora.cli``, the Python API in ``kelora.api``, the Dask engine) build a
``Pipeline`` from a ``Config`` and call ``run()``, or run batches of lines with
``kelora.run.batch.run_batch`` and merge each ``BatchResult``'s ``RunState`` into theirs.
"""
