"""Clean-up of a piecewise viseme track held as names plus shared boundaries.

A track of n visemes is `names[0..n-1]` and `bounds[0..n]`, viseme i spanning
bounds[i]..bounds[i+1]. Every edit here moves or removes an inner boundary, never the first or
the last, so the span (and the sum of the durations) cannot change.
"""

from __future__ import annotations

import heapq

# Shapes a viewer misses when they are skipped: closing the lips (p b m) and lip-to-teeth
# contact (f v). A short one borrows time from a neighbour instead of vanishing.
SALIENT = frozenset({"PP", "FF"})

# Durations within this of the minimum count as meeting it; float sums of split phone times
# land a few ulps either side, and must not loop or merge a viseme that is long enough.
_TOLERANCE_MS = 1e-6


def merge_repeats(names: list[str], bounds: list[float]) -> None:
    """Fuse neighbours with the same shape, in place: the mouth does not move between them."""
    i = 1
    while i < len(names):
        if names[i] == names[i - 1]:
            del names[i]
            del bounds[i]
        else:
            i += 1


def _is_short(duration: float, min_ms: float) -> bool:
    return duration <= _TOLERANCE_MS or duration < min_ms - _TOLERANCE_MS


class _Pieces:
    """The track as a linked list of pieces, so each merge is O(1) and a heap finds the shortest."""

    def __init__(self, names: list[str], bounds: list[float]):
        n = len(names)
        self.names = list(names)
        self.lo = bounds[:-1]
        self.hi = bounds[1:]
        self.prev = list(range(-1, n - 1))
        self.next = [k + 1 if k + 1 < n else -1 for k in range(n)]
        self.version = [0] * n
        self.count = n
        self.heap = [(self.hi[k] - self.lo[k], self.lo[k], k, 0) for k in range(n)]
        heapq.heapify(self.heap)

    def length(self, k: int) -> float:
        return self.hi[k] - self.lo[k]

    def touch(self, k: int) -> None:
        self.version[k] += 1
        heapq.heappush(self.heap, (self.length(k), self.lo[k], k, self.version[k]))

    def remove(self, k: int) -> None:
        p, n = self.prev[k], self.next[k]
        if p >= 0:
            self.next[p] = n
        if n >= 0:
            self.prev[n] = p
        self.version[k] = -1
        self.count -= 1

    def borrow(self, k: int, min_ms: float) -> bool:
        """Lengthen piece k to min_ms from a neighbour that stays at least min_ms long."""
        need = min_ms - self.length(k)
        if need <= _TOLERANCE_MS:
            return False
        # The following neighbour first: taking its time keeps the shape's onset where the sound is.
        n, p = self.next[k], self.prev[k]
        if n >= 0 and self.length(n) - need >= min_ms:
            self.hi[k] = self.lo[n] = self.lo[k] + min_ms
            self.touch(n)
        elif p >= 0 and self.length(p) - need >= min_ms:
            self.lo[k] = self.hi[p] = self.hi[k] - min_ms
            self.touch(p)
        else:
            return False
        self.touch(k)
        return True

    def absorb(self, k: int) -> None:
        """Give piece k's time to its shorter neighbour, which keeps more distinct shapes alive."""
        p, n = self.prev[k], self.next[k]
        into = p if n < 0 or (p >= 0 and self.length(p) <= self.length(n)) else n
        if into == p:
            self.hi[p] = self.hi[k]
        else:
            self.lo[n] = self.lo[k]
        self.remove(k)
        # The shapes now meeting across the removed piece may be the same: fuse them.
        if p >= 0 and n >= 0 and self.names[p] == self.names[n]:
            self.hi[p] = self.hi[n]
            self.remove(n)
            into = p
        self.touch(into)

    def export(self, names: list[str], bounds: list[float]) -> None:
        k = next(i for i in range(len(self.names)) if self.version[i] >= 0 and self.prev[i] < 0)
        names.clear()
        bounds[:] = [self.lo[k]]
        while k >= 0:
            names.append(self.names[k])
            bounds.append(self.hi[k])
            k = self.next[k]


def enforce_min_duration(names: list[str], bounds: list[float], min_ms: float) -> None:
    """Remove visemes shorter than min_ms, in place, shortest first, keeping the span.

    Salient shapes borrow time when a neighbour can spare it; others merge into a neighbour.
    A track whose whole span is shorter than min_ms ends as one viseme.
    """
    merge_repeats(names, bounds)
    if len(names) < 2:
        return
    pieces = _Pieces(names, bounds)
    while pieces.count > 1 and pieces.heap:
        length, _, k, version = heapq.heappop(pieces.heap)
        if version != pieces.version[k]:
            continue   # stale entry: the piece changed or is gone
        if not _is_short(length, min_ms):
            break
        if pieces.names[k] in SALIENT and pieces.borrow(k, min_ms):
            continue
        pieces.absorb(k)
    pieces.export(names, bounds)
