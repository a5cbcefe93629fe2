"""Stages and a bar for long commands, on a terminal only.

``Progress(total, enabled=None)`` shows ``stage name  |#####     | 7/21`` on stderr when stderr
is a terminal (or ``enabled=True``) and nothing at all otherwise, so piped or logged output
stays clean, as ``simulate`` does. Thread-safe enough for the callbacks of a process pool.
Whether shown or not, it times each stage (wall and this process's CPU seconds): ``timings``,
and :func:`format_timings` for a table.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress", "format_timings"]


class Progress:
    def __init__(self, total: int, enabled: bool | None = None, unit: str = "step") -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._bar = None
        self.timings: list[tuple[str, float, float]] = []  # (stage, wall s, CPU s of this process)
        self._open: tuple[str, float, float] | None = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit=unit,
                file=sys.stderr,
                leave=False,
                mininterval=0.2,
                bar_format="{desc:<34.34}|{bar:24}| {n_fmt}/{total_fmt} [{elapsed}]",
            )

    def _close_stage(self) -> None:
        if self._open is not None:
            name, wall, cpu = self._open
            self.timings.append((name, time.perf_counter() - wall, time.process_time() - cpu))
            self._open = None

    def stage(self, text: str) -> None:
        """Name what is being done now (and end the previous stage's timing)."""
        self._close_stage()
        self._open = (text, time.perf_counter(), time.process_time())
        if self._bar is not None:
            with self._lock:
                self._bar.set_description_str(text)

    def add_total(self, n: int) -> None:
        """Steps found to be needed once the work is under way."""
        if self._bar is not None:
            with self._lock:
                self._bar.total += n
                self._bar.refresh()

    def step(self, n: int = 1) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def close(self) -> None:
        self._close_stage()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def format_timings(timings: list[tuple[str, float, float]], title: str = "stage") -> str:
    """A table of stage timings: wall seconds, CPU seconds of this process, share of the wall time."""
    total = sum(w for _, w, _ in timings) or 1.0
    lines = [f"{title:<36s} {'wall s':>8s} {'CPU s':>8s} {'share':>6s}"]
    lines += [f"{name:<36.36s} {wall:8.2f} {cpu:8.2f} {wall / total:6.0%}" for name, wall, cpu in timings]
    lines.append(f"{'total':<36s} {sum(w for _, w, _ in timings):8.2f} {sum(c for _, _, c in timings):8.2f}")
    return "\n".join(lines)
