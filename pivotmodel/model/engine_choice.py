"""Which implementation of the engine's hot loops runs: the numpy reference or the compiled
kernels (:mod:`pivotmodel.model.kernels`, numba, from the ``compiled`` extra).

The engine never chooses: the caller passes the kernels module (or None, numpy) to
:func:`pivotmodel.model.run`, which makes it the choice of the blocks for that run only
(:func:`running_with`; the drivers ask :func:`kernels_for`). The setting (``PIVOTMODEL_ENGINE``)
is read once, outside ``model/``, by :mod:`pivotmodel.engine_setting`; this module reads no
environment and raises no input error. :func:`wants_kernels` says whether a run of so many
draws should use them under a setting; :func:`load_kernels` imports them.

Both give the same numbers, bit for bit (tests/test_compiled_engine.py), so the choice and the
threshold change only the time a run takes. This module imports nothing heavy; the kernels
module is imported only when it is chosen.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from types import ModuleType

__all__ = ["ENGINES", "COMPILED_FROM_RUN_DRAWS", "wants_kernels", "load_kernels", "kernels_for", "running_with"]

ENGINES = ("auto", "numpy", "compiled")
# ``auto`` uses the kernels from this many draws a run: loading numba and the kernels costs about
# 0.5-0.7 s a process and the kernels save about a quarter of the engine's time (~34 ms of CPU a
# 24,576-draw chunk, benchmarks/bench_compiled.py), so they pay only on runs of a few million draws.
COMPILED_FROM_RUN_DRAWS = 2_000_000

# The kernels of the run in progress (None: numpy); set by run() for its duration only.
_RUNNING: contextvars.ContextVar[ModuleType | None] = contextvars.ContextVar("pivotmodel_kernels", default=None)


def wants_kernels(setting: str, draws: int) -> bool:
    """Whether a run of ``draws`` draws should use the kernels under ``setting`` (one of
    :data:`ENGINES`), before knowing numba is installed."""
    return setting == "compiled" or (setting == "auto" and draws >= COMPILED_FROM_RUN_DRAWS)


def load_kernels() -> ModuleType:
    """The kernels module, imported (compiled, or loaded from numba's cache); ImportError
    without numba."""
    from . import kernels

    return kernels


def kernels_for() -> ModuleType | None:
    """The kernels module when the engine's blocks run compiled in this run, else None (numpy)."""
    return _RUNNING.get()


@contextlib.contextmanager
def running_with(kernels: ModuleType | None) -> Iterator[None]:
    """The blocks called inside use ``kernels`` (None: numpy)."""
    token = _RUNNING.set(kernels)
    try:
        yield
    finally:
        _RUNNING.reset(token)
