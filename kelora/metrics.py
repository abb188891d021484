"""Placeholder: replaced by the mergeable metric store."""


class MetricStore:
    pass
