"""Fill the holes that start-up leaves in the C heap before a read loop runs.

Per event, orjson builds its output in a buffer taken from the C library's ``malloc`` (past the
512 bytes that CPython's own allocator serves) and grows it with ``realloc``.  Start-up (the
command line, the grammar, compiling the scripts) frees blocks of those sizes between blocks that
stay in use, and glibc hands them out first: the buffer then sits in a hole, cannot grow in
place, and every event pays a new block and a copy.  Measured with cachegrind on the T0
passthrough (JSON in, JSON out; 60k events): 29,050 instructions and 395 first-level cache misses
per event, against 28,010 and 232 for kelora before the second wave, whose start-up was smaller.
The same loop after importing nothing is as fast, and after importing kelora's command line
slow: the holes, not the loop, were the cause.

:func:`plug_holes` allocates a few blocks of each of those sizes, so the holes are taken by
blocks that stay put for the loop and the buffers come from the top of the heap, where they grow
in place; the loop holds the list until it ends.  T0 then costs 28,230 instructions and 182
misses per event (2-3 % less CPU in paired runs at 1M); ~200 KB held for the loop.  With another
allocator nothing is lost but those bytes (docs/benchmarks.md).
"""
from __future__ import annotations

# (glibc's sizes: CPython's allocator serves up to 512 bytes; orjson's buffer for an event of
# a few hundred bytes grows within this range)
PLUG_SIZES = range(513, 2048, 16)
PLUGS_PER_SIZE = 2


def plug_holes() -> list:
    """Blocks that take the free holes of the sizes orjson's buffers use; keep the list alive
    for as long as the loop runs."""
    return [bytes(size) for size in PLUG_SIZES for _ in range(PLUGS_PER_SIZE)]
