"""What a run counts, as one mergeable value.

A sequential run has one ``RunState``; a ``--parallel`` worker or a Dask task fills a fresh one
per batch, and the driver merges the batches' states **in input order** into its own, which
gives exactly the sequential counts (every part's ``merge`` is exact: sums, unions, first-seen
order kept by merging in order).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kelora.metrics.store import MetricStore
from kelora.report.stats import ErrorLog, Stats


@dataclass
class RunState:
    stats: Stats = field(default_factory=Stats)
    errors: ErrorLog = field(default_factory=ErrorLog)
    filter_ok: dict = field(default_factory=dict)  # filter stage index -> clean evaluations
    metrics: MetricStore = field(default_factory=MetricStore)
    # the privacy lifecycle: the run's ``Lifecycle`` in a driver, a batch's share of it
    # (``Lifecycle.take()``) in a batch's state; None when no privacy flag is used
    privacy: object | None = None

    def merge(self, other: "RunState") -> None:
        """Add *other* (the state of the next batch in input order) to this state."""
        self.stats.merge(other.stats)
        self.errors.merge(other.errors)
        ok = self.filter_ok
        for k, v in other.filter_ok.items():
            ok[k] = ok.get(k, 0) + v
        self.metrics.merge(other.metrics)
        if other.privacy is not None and self.privacy is not None:
            self.privacy.merge(other.privacy)
