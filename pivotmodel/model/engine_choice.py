"""Which implementation of the engine's hot loops runs: the numpy reference or the compiled
kernels (:mod:`pivotmodel.model.kernels`, numba, from the ``compiled`` extra).

The environment variable ``PIVOTMODEL_ENGINE`` chooses:

* ``numpy``: always the numpy functions (the reference);
* ``compiled``: always the kernels (an error if numba cannot be imported);
* ``auto`` (the default): the kernels once a run of at least :data:`COMPILED_FROM_RUN_DRAWS`
  draws has loaded them (:func:`warm_for`, which ``simulate`` calls before its workers start)
  and numba is installed; numpy otherwise. Loading numba and the kernels costs about 0.5-0.7 s
  a process and the kernels save about a quarter of the engine's time (~34 ms of CPU a
  24,576-draw chunk, benchmarks/bench_compiled.py), so they pay only on runs of a few million
  draws; every smaller run, and every one-draw command (``validate``, ``project``), stays on
  numpy and never imports numba.

Both give the same numbers, bit for bit (tests/test_compiled_engine.py), so the choice and the
threshold change only the time a run takes. This module imports nothing heavy; the kernels
module is imported only when it is chosen.
"""

from __future__ import annotations

import os
from types import ModuleType

from ..errors import InputError

__all__ = ["ENGINE_ENV", "ENGINES", "COMPILED_FROM_RUN_DRAWS", "engine_setting", "compiled_for_run", "kernels_for",
           "warm_for"]

ENGINE_ENV = "PIVOTMODEL_ENGINE"
ENGINES = ("auto", "numpy", "compiled")
COMPILED_FROM_RUN_DRAWS = 2_000_000

_loaded: ModuleType | None = None  # the kernels, once a run (or the compiled setting) loaded them


def engine_setting() -> str:
    """``PIVOTMODEL_ENGINE`` as one of :data:`ENGINES` (``auto`` when unset or empty)."""
    value = os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if value not in ENGINES:
        raise InputError.single("environment", ENGINE_ENV, f"{os.environ[ENGINE_ENV]!r} is not an engine; use one of: {', '.join(ENGINES)}")
    return value


def _load(required: bool) -> ModuleType | None:
    """The kernels module, imported (compiled or loaded from numba's cache) the first time."""
    global _loaded
    if _loaded is None:
        try:
            from . import kernels
        except ImportError as exc:
            if required:
                raise InputError.single("environment", ENGINE_ENV, f"'compiled' needs numba, which cannot be imported here ({exc}); "
                                        "install it (pip install -e \".[compiled]\") or use numpy or auto") from exc
            return None
        _loaded = kernels
    return _loaded


def compiled_for_run(draws: int) -> bool:
    """Whether a run of ``draws`` draws should use the kernels (before knowing numba is installed)."""
    setting = engine_setting()
    return setting == "compiled" or (setting == "auto" and draws >= COMPILED_FROM_RUN_DRAWS)


def kernels_for() -> ModuleType | None:
    """The kernels module when the engine's blocks should run compiled now, else None (numpy)."""
    setting = engine_setting()
    if setting == "numpy":
        return None
    if setting == "compiled":
        return _load(required=True)
    return _loaded  # auto: only once a large run has loaded them


def warm_for(draws: int) -> bool:
    """Load the kernels now (compiling them, the first time on a machine) if a run of ``draws``
    draws should use them, and run each once on a tiny input; True if it did. Called before a
    process pool forks, the workers inherit them instead of each loading numba."""
    if not compiled_for_run(draws):
        return False
    kernels = _load(required=engine_setting() == "compiled")
    if kernels is None:
        return False
    kernels.warm()
    return True
