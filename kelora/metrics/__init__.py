"""Metrics tracked by ``track_*``: the store and its mergeable metric values (``store``), the
sketches behind cardinality and percentiles (``sketches``), and their rendering (``render``)."""
