"""Which fields an event prints, and in what order (reference §4.1, flags ``-k``/``-K``/``-c``).

Every output format except CSV/TSV prints timestamp-family keys first (in the priority order
below), then level-family, then message-family keys, then the rest in insertion order.  ``-k``
replaces that with exactly its own order; ``-K`` removes keys afterwards; ``-c`` keeps only the
three families (plus the ``-k`` keys).

Speed: this runs once per printed event, so the plan for an event is computed once per *shape*
(the tuple of its keys) and cached; events of one log nearly always share a few shapes.  The
common reordering (family keys present but not in front) copies a template dict that already
holds the shape's keys in output order and updates it with the event: values are replaced in
place, nothing is inserted or resized, all in C.
"""
from __future__ import annotations

from .fields import LEVEL_KEYS, MESSAGE_KEYS, TIMESTAMP_KEYS

# Rank of every family key in the canonical order (the three families never share a name).
_RANK = {k: i for i, k in enumerate(TIMESTAMP_KEYS + LEVEL_KEYS + MESSAGE_KEYS)}
CORE_KEYS = frozenset(_RANK)

# Shapes cached per selector; a log with ever-changing shapes (e.g. free-form JSON) must not
# grow the cache without bound.
_CACHE_LIMIT = 4096
MISSING = object()  # cache-miss sentinel (None means "already in order")


def canonical_keys(keys) -> tuple:
    """The keys of an event in canonical output order (reference §4.1)."""
    head = sorted((k for k in keys if k in _RANK), key=_RANK.__getitem__)
    return tuple(head) + tuple(k for k in keys if k not in _RANK)


def parse_key_list(keys, dedupe: bool = True) -> tuple:
    """``-k a, b,,c`` -> ('a', 'b', 'c'): entries trimmed, empty ones dropped.

    A key named twice prints once (an event cannot hold it twice), except as CSV columns.
    """
    if keys is None:
        return ()
    if isinstance(keys, str):
        keys = keys.split(",")
    out: list[str] = []
    for k in keys:
        k = k.strip()
        if k and not (dedupe and k in out):
            out.append(k)
    return tuple(out)


def make_selector(keys=None, exclude_keys=(), core=False):
    """Return ``select(event) -> dict``: the fields to print, in print order.

    The result may be the event itself (when nothing changes): callers must not mutate it.
    An empty dict means the event prints nothing (the pipeline counts it as filtered).
    """
    keys = parse_key_list(keys)
    exclude = frozenset(parse_key_list(exclude_keys))
    cache: dict[tuple, object] = {}

    if keys or exclude or core:
        def plan(shape: tuple) -> tuple | None:
            present = set(shape)
            if keys and not core:
                out = [k for k in keys if k in present]
            else:
                out = list(canonical_keys(shape))
                if core:
                    out = [k for k in out if k in CORE_KEYS]
                    out += [k for k in keys if k in present and k not in CORE_KEYS]
            out = tuple(k for k in out if k not in exclude)
            return None if out == shape else out

        def select(event: dict) -> dict:
            shape = tuple(event)
            try:
                order = cache[shape]
            except KeyError:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                order = cache[shape] = plan(shape)
            if order is None:
                return event
            return {k: event[k] for k in order}

        return select

    def plan_canonical(shape: tuple):
        order = canonical_keys(shape)
        if order == shape:
            return None
        # Template holding every key in output order: copying it and updating it with the
        # event replaces values without inserting keys (no resize), all in C.
        return dict.fromkeys(order)

    def template_for(shape: tuple):
        """Cache miss: plan this shape (None = already in canonical order)."""
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        template = cache[shape] = plan_canonical(shape)
        return template

    get = cache.get

    def select_canonical(event: dict) -> dict:
        shape = tuple(event)
        template = get(shape, MISSING)
        if template is MISSING:
            template = template_for(shape)
        if template is None:
            return event
        fields = template.copy()
        fields.update(event)
        return fields

    # Formatters on the hot path inline this selection (one call less per event).
    select_canonical.canonical_cache = cache
    select_canonical.template_for = template_for
    return select_canonical
