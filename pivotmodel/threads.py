"""Independent pieces of numpy and scipy work shared among up to two threads.

Used where each piece is one call that releases the GIL for its whole length (numpy's sort,
scipy.special's ufuncs): the output tables' column sorts and the PERT lookup tables. Each
piece writes only its own results, so the numbers never depend on how many threads ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["in_threads"]


def in_threads(count: int, work: Callable[[int], object], threads: int | None = None) -> None:
    """Call ``work(i)`` for i in 0..count-1, piece i on thread i mod threads (default: two,
    or one on a one-core machine). An exception in any piece is raised here."""
    workers = max(1, min(count, threads if threads is not None else min(2, os.cpu_count() or 1)))
    if workers == 1:
        for i in range(count):
            work(i)
        return
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(lambda k: [work(i) for i in range(k, count, workers)], k) for k in range(workers)]:
            done.result()
