"""Mergeable numeric summaries behind the metrics: exact sums, a quantile sketch, HyperLogLog.

All three merge so that combining the summaries of consecutive chunks gives the same result as
summarising the whole stream at once (see ``kelora/metrics/store.py``).
"""
from __future__ import annotations

import math
from typing import Iterable

import xxhash


# --------------------------------------------------------------------------- exact float sums

def _msum_into(partials: list[float], values: Iterable[float]) -> list[float]:
    """Shewchuk's exact summation: non-overlapping partials whose sum is exactly the total."""
    for x in values:
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]
    return partials


class ExactSum:
    """A sum that stays an int while only ints are added, exact (rounded once) with floats.

    Floats wait in ``buf`` and are folded into exact partials in batches (cheap per add);
    infinities and NaNs are summed apart (their result does not depend on order).
    """

    __slots__ = ("ints", "partials", "buf", "special", "has_float")
    _COMPACT = 2048

    def __init__(self):
        self.ints = 0
        self.partials: list[float] = []
        self.buf: list[float] = []
        self.special = 0.0
        self.has_float = False

    def add(self, v) -> None:
        if type(v) is int:
            self.ints += v
            return
        self.has_float = True
        buf = self.buf
        buf.append(v)
        if len(buf) >= self._COMPACT:
            self._compact()

    def _compact(self) -> None:
        finite = []
        for x in self.buf:
            if math.isfinite(x):
                finite.append(x)
            else:
                self.special += x
        _msum_into(self.partials, finite)
        self.buf.clear()

    def merge(self, other: "ExactSum") -> None:
        self.ints += other.ints
        self.has_float |= other.has_float
        self.special += other.special
        self.buf.extend(other.partials)
        self.buf.extend(other.buf)
        if len(self.buf) >= self._COMPACT:
            self._compact()

    def value(self) -> int | float:
        if not self.has_float:
            return self.ints
        self._compact()
        if self.special != 0.0 or math.isnan(self.special):
            return self.special
        try:
            ints = float(self.ints)
        except OverflowError:  # (integers read exactly, D20, beyond what a float holds)
            return math.inf if self.ints > 0 else -math.inf
        return math.fsum([*self.partials, ints])

    def float_value(self) -> float:
        return float(self.value())


# --------------------------------------------------------------------------- quantile sketch

class QuantileSketch:
    """Exact values up to ``limit``, then log buckets with ``alpha`` relative accuracy."""

    __slots__ = ("values", "sorted", "pos", "neg", "zeros", "count", "limit")
    ALPHA = 0.005
    GAMMA = (1 + ALPHA) / (1 - ALPHA)
    LOG_GAMMA = math.log(GAMMA)
    EXACT_LIMIT = 100_000

    def __init__(self, limit: int = EXACT_LIMIT):
        self.values: list[float] | None = []
        self.sorted = True
        self.pos: dict[int, int] = {}
        self.neg: dict[int, int] = {}
        self.zeros = 0
        self.count = 0
        self.limit = limit

    def add(self, x: float) -> None:
        self.count += 1
        values = self.values
        if values is not None:
            values.append(x)
            self.sorted = False
            if len(values) > self.limit:
                self._to_buckets()
        else:
            self._bucket(x)

    def _bucket(self, x: float) -> None:
        if x > 0:
            k = math.ceil(math.log(x) / self.LOG_GAMMA)
            self.pos[k] = self.pos.get(k, 0) + 1
        elif x < 0:
            k = math.ceil(math.log(-x) / self.LOG_GAMMA)
            self.neg[k] = self.neg.get(k, 0) + 1
        else:
            self.zeros += 1

    def _to_buckets(self) -> None:
        values, self.values = self.values, None
        for x in values or ():
            self._bucket(x)

    def merge(self, other: "QuantileSketch") -> None:
        if self.values is not None and other.values is not None and (
            len(self.values) + len(other.values) <= self.limit
        ):
            self.values.extend(other.values)
            self.sorted = False
            self.count += other.count
            return
        if self.values is not None:
            self._to_buckets()
        if other.values is not None:
            for x in other.values:
                self._bucket(x)
        else:
            for k, c in other.pos.items():
                self.pos[k] = self.pos.get(k, 0) + c
            for k, c in other.neg.items():
                self.neg[k] = self.neg.get(k, 0) + c
            self.zeros += other.zeros
        self.count += other.count

    def quantile(self, q: float) -> float:
        if self.count == 0:
            return 0.0
        if self.values is not None:
            if not self.sorted:
                self.values.sort()
                self.sorted = True
            vals = self.values
            rank = q * (len(vals) - 1)
            lo = math.floor(rank)
            hi = min(lo + 1, len(vals) - 1)
            frac = rank - lo
            return float(vals[lo] + (vals[hi] - vals[lo]) * frac) if frac else float(vals[lo])
        rank = q * (self.count - 1)
        seen = 0
        g = self.GAMMA
        for k in sorted(self.neg, reverse=True):  # most negative first
            seen += self.neg[k]
            if seen > rank:
                return -2 * g**k / (g + 1)
        seen += self.zeros
        if seen > rank:
            return 0.0
        for k in sorted(self.pos):
            seen += self.pos[k]
            if seen > rank:
                return 2 * g**k / (g + 1)
        return 2 * g ** max(self.pos) / (g + 1) if self.pos else 0.0


# --------------------------------------------------------------------------- HyperLogLog

class HyperLogLog:
    """2**p one-byte registers; values are hashed with xxh3-64 (seed 0) of their UTF-8 text."""

    __slots__ = ("p", "registers")

    def __init__(self, error: float = 0.01):
        error = min(max(float(error), 0.001), 0.26)
        m = (1.04 / error) ** 2
        self.p = min(max(math.ceil(math.log2(m)), 4), 18)
        self.registers = bytearray(1 << self.p)

    def add(self, text: str) -> None:
        h = xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))
        rest_bits = 64 - self.p
        rank = rest_bits - (h & ((1 << rest_bits) - 1)).bit_length() + 1
        idx = h >> rest_bits
        regs = self.registers
        if rank > regs[idx]:
            regs[idx] = rank

    def merge(self, other: "HyperLogLog") -> None:
        if other.p != self.p:  # created with another error bound: fold the finer one down
            if other.p > self.p:
                other = other.reduced(self.p)
            else:
                folded = self.reduced(other.p)
                self.p, self.registers = folded.p, folded.registers
        regs = self.registers
        for i, r in enumerate(other.registers):
            if r > regs[i]:
                regs[i] = r

    def reduced(self, p: int) -> "HyperLogLog":
        """The same sketch at a lower precision p (the dropped index bits lead the rest)."""
        out = HyperLogLog.__new__(HyperLogLog)
        out.p = p
        out.registers = bytearray(1 << p)
        shift = self.p - p
        for i, r in enumerate(self.registers):
            if r:
                low = i & ((1 << shift) - 1)
                rank = r + shift if low == 0 else shift - low.bit_length() + 1
                j = i >> shift
                if rank > out.registers[j]:
                    out.registers[j] = rank
        return out

    def estimate(self) -> int:
        m = len(self.registers)
        zeros = self.registers.count(0)
        if zeros == m:
            return 0
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / math.fsum(2.0 ** -r for r in self.registers)
        if raw <= 2.5 * m and zeros:  # small range: linear counting
            return int(round(m * math.log(m / zeros)))
        return int(round(raw))
