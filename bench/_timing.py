"""Timing shared by the benchmarks: interleave ours and the reference, keep the best of N.

Interleaving means a burst of load on a shared machine slows both sides alike, and the
best of N is the run least disturbed by it.
"""

import time


def seconds(fn) -> float:
    """Wall time of one call of fn()."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_of(fns, repeats: int) -> list[float]:
    """Call each of fns once per round, for `repeats` rounds; return each one's best time."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], seconds(fn))
    return best
