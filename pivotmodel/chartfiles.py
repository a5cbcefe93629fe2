"""Charts drawn and saved for the report: ``ChartFiles.add`` writes a chart's data CSV at
once and its PNG and SVG either here or in one worker process (when the machine has a spare
core and can fork), so the figures render while the caller computes drivers and tables; the charts still
queued when the caller is done are drawn by the caller.

The bytes are the same either way (same matplotlib, same style, same data). ``finish``
waits for every chart and re-raises the first failure; leaving the ``with`` block always
stops the worker, so nothing is written into the folder afterwards.

A chart is drawn only when it would come out different: each chart's key (:func:`chart_key`:
its data, exactly, with its columns, types and attributes, how it is plotted, its source line,
and the code and library versions that draw it) is recorded with its files' hashes in the
report's manifest (``charts``), and a chart whose key is the one the ``previous`` report
recorded, with its files still those bytes, is copied from there instead of drawn.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pandas as pd

__all__ = ["ChartFiles", "registered_plot", "FLOAT", "chart_key"]

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


@functools.cache
def _code_fingerprint() -> bytes:
    """What draws every chart besides its data: pivotmodel's version and the bytes of the
    modules that draw (charts.py and this one), matplotlib's version."""
    from . import __version__, charts

    h = hashlib.sha256(f"{__version__}\0{charts.matplotlib.__version__}\0".encode())
    here = Path(__file__).resolve().parent
    for module in ("charts.py", "chartfiles.py"):
        h.update(hashlib.sha256((here / module).read_bytes()).digest())
    return h.digest()


def _plot_id(plot: Callable) -> str:
    """How a chart is plotted, in words that are the same in every process."""
    if isinstance(plot, registered_plot):
        return f"registered:{plot.name}"
    if isinstance(plot, functools.partial):
        return f"partial:{_plot_id(plot.func)}:{plot.args!r}:{sorted(plot.keywords.items())!r}"
    return f"{getattr(plot, '__module__', '')}.{getattr(plot, '__qualname__', repr(plot))}"


def chart_key(name: str, data: pd.DataFrame, plot: Callable, source: str) -> str:
    """SHA-256 of everything a chart's files depend on: its name, source line, plot, the data's
    columns, types, attributes and every value and index label exactly, and the drawing code."""
    h = hashlib.sha256(_code_fingerprint())
    h.update(f"{name}\0{source}\0{_plot_id(plot)}\0".encode())
    h.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
    h.update(repr(sorted(data.attrs.items())).encode())
    try:
        h.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists): every value written out exactly
        h.update(data.to_csv(index=True, float_format="%.17g").encode())
    return h.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def previous_charts(folder: Path | None) -> dict[str, dict[str, str]]:
    """The ``charts`` a previous report in ``folder`` recorded in its manifest (none when the
    folder is not a report pivotmodel made, or has no such record)."""
    from .atomic import MARKER

    if folder is None or not (folder / MARKER).is_file() or not (folder / "manifest.json").is_file():
        return {}
    try:
        charts = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("charts", {})
    except (ValueError, OSError, AttributeError):
        return {}
    return charts if isinstance(charts, dict) else {}


def _worker_start(parent: int) -> None:
    """The chart worker ends with its parent and holds none of its output pipes."""
    from .parent_death import exit_with_parent, release_parent_output

    exit_with_parent(parent)
    release_parent_output()


def _can_fork() -> bool:
    return (os.cpu_count() or 1) > 1 and "fork" in mp.get_all_start_methods()


class ChartFiles:
    def __init__(
        self,
        folder: Path,
        source: str,
        worker: bool | None = None,
        on_done: Callable[[], None] | None = None,
        previous: Path | None = None,
    ):
        self.folder, self.source = folder, source
        self.worker = _can_fork() if worker is None else worker
        self.on_done = on_done or (lambda: None)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[tuple[Future, tuple]] = []
        self.previous, self._recorded = previous, previous_charts(previous)
        self.keys: dict[str, str] = {}
        self.reused: list[str] = []

    def _reuse(self, name: str, key: str) -> bool:
        """Copy the previous report's files of this chart when its key and bytes are the recorded ones."""
        old = self._recorded.get(name)
        if not isinstance(old, dict) or old.get("key") != key or self.previous is None:
            return False
        files = {fmt: self.previous / "charts" / f"{name}.{fmt}" for fmt in ("png", "svg")}
        if not all(p.is_file() and _file_hash(p) == old.get(fmt) for fmt, p in files.items()):
            return False
        for fmt, p in files.items():
            shutil.copyfile(p, self.folder / "charts" / f"{name}.{fmt}")
        return True

    def add(self, name: str, data: pd.DataFrame, plot: Callable, source: str | None = None) -> Path:
        """Queue one chart (or copy it from the previous report when nothing it depends on
        changed); returns the path its PNG will have."""
        data.to_csv(self.folder / "data" / f"{name}.csv", index=False, float_format=FLOAT)
        args = (self.folder, name, data, plot, source or self.source)
        self.keys[name] = chart_key(name, data, plot, source or self.source)
        if self._reuse(name, self.keys[name]):
            self.reused.append(name)
            self.on_done()
        elif not self.worker:
            draw_and_save(*args)
            self.on_done()
        else:
            if self._pool is None:
                from .parent_death import parent_pipe

                parent_pipe()
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=mp.get_context("fork"), initializer=_worker_start, initargs=(os.getpid(),)
                )
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

    def record(self) -> dict[str, dict[str, str]]:
        """For the manifest, after :meth:`finish`: each chart's key and its PNG's and SVG's SHA-256."""
        charts = self.folder / "charts"
        return {
            name: {"key": key, **{fmt: _file_hash(charts / f"{name}.{fmt}") for fmt in ("png", "svg")}}
            for name, key in sorted(self.keys.items())
        }

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
