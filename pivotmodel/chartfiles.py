"""Charts drawn and saved for the report: ``ChartFiles.add`` writes a chart's data CSV at
once and its PNG and SVG either here or in one worker process (when the machine has a spare
core and can fork), so the figures render while the caller computes drivers and tables; the charts still
queued when the caller is done are drawn by the caller.

The bytes are the same either way (same matplotlib, same style, same data). ``finish``
waits for every chart and re-raises the first failure; leaving the ``with`` block always
stops the worker, so nothing is written into the folder afterwards.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pandas as pd

__all__ = ["ChartFiles", "registered_plot", "FLOAT"]

FLOAT = "%.6g"


class registered_plot:  # noqa: N801 (used like a function)
    """The plot function of ``charts.CHARTS[name]``, looked up when called (picklable)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, data: pd.DataFrame):
        from . import charts

        return charts.CHARTS[self.name][1](data)


def draw_and_save(folder: Path, name: str, data: pd.DataFrame, plot: Callable, source: str) -> None:
    """Draw ``plot(data)``, add the source line, save ``charts/<name>.png`` and ``.svg``."""
    from . import charts

    ax = plot(data)
    fig = ax.figure
    try:
        charts.add_source(fig, source)
        charts.save(fig, folder / "charts" / name)
    finally:
        charts.close(fig)


def _worker_start(parent: int) -> None:
    """The chart worker ends with its parent and holds none of its output pipes."""
    from .parent_death import exit_with_parent, release_parent_output

    exit_with_parent(parent)
    release_parent_output()


def _can_fork() -> bool:
    return (os.cpu_count() or 1) > 1 and "fork" in mp.get_all_start_methods()


class ChartFiles:
    def __init__(self, folder: Path, source: str, worker: bool | None = None, on_done: Callable[[], None] | None = None):
        self.folder, self.source = folder, source
        self.worker = _can_fork() if worker is None else worker
        self.on_done = on_done or (lambda: None)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[tuple[Future, tuple]] = []

    def add(self, name: str, data: pd.DataFrame, plot: Callable, source: str | None = None) -> Path:
        """Queue one chart; returns the path its PNG will have."""
        data.to_csv(self.folder / "data" / f"{name}.csv", index=False, float_format=FLOAT)
        args = (self.folder, name, data, plot, source or self.source)
        if not self.worker:
            draw_and_save(*args)
            self.on_done()
        else:
            if self._pool is None:
                from .parent_death import parent_pipe

                parent_pipe()
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"),
                                                 initializer=_worker_start, initargs=(os.getpid(),))
            future = self._pool.submit(draw_and_save, *args)
            future.add_done_callback(lambda f: self.on_done())
            self._futures.append((future, args))
        return self.folder / "charts" / f"{name}.png"

    def finish(self) -> None:
        """Wait for every queued chart; the first failure is raised here. Charts the worker
        has not started yet are taken back and drawn here, so both processes finish together."""
        futures, self._futures = self._futures, []
        for f, args in reversed(futures):
            if f.cancel():
                draw_and_save(*args)
        for f, _ in futures:
            if not f.cancelled():
                f.result()

    def close(self) -> None:
        if self._pool is not None:
            for f, _ in self._futures:
                f.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> ChartFiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
