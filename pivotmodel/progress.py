"""Stages and a bar for long commands, on a terminal only.

``Progress(total, enabled=None)`` shows ``stage name  |#####     | 7/21`` on stderr when stderr
is a terminal (or ``enabled=True``) and nothing at all otherwise, so piped or logged output
stays clean, as ``simulate`` does. Thread-safe enough for the callbacks of a process pool.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["Progress"]


class Progress:
    def __init__(self, total: int, enabled: bool | None = None, unit: str = "step") -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._bar = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, file=sys.stderr, leave=False, mininterval=0.2,
                             bar_format="{desc:<34.34}|{bar:24}| {n_fmt}/{total_fmt} [{elapsed}]")

    def stage(self, text: str) -> None:
        """Name what is being done now."""
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
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
