"""Which implementation of the engine's hot loops runs: the numpy reference or the compiled
kernels (:mod:`pivotmodel.model.kernels`, numba).

The environment variable ``PIVOTMODEL_ENGINE`` chooses:

* ``numpy``: always the numpy functions (the reference);
* ``compiled``: always the kernels (an error if numba cannot be imported);
* ``auto`` (the default): the kernels for arrays of at least :data:`COMPILED_FROM_DRAWS` draws
  when numba imports, else numpy. One-draw commands (``validate``, ``project``) therefore never
  import numba (its import alone costs about half a second).

Both give the same numbers, bit for bit (tests/test_compiled_engine.py), so the choice and the
threshold change only the time a run takes. This module imports nothing heavy; the kernels
module is imported only when it is chosen.
"""

from __future__ import annotations

import os
from types import ModuleType

from ..errors import InputError

__all__ = ["ENGINE_ENV", "ENGINES", "COMPILED_FROM_DRAWS", "engine_setting", "kernels_for", "warm_for"]

ENGINE_ENV = "PIVOTMODEL_ENGINE"
ENGINES = ("auto", "numpy", "compiled")
COMPILED_FROM_DRAWS = 2_048

_numba_missing: bool | None = None  # None: not tried yet


def engine_setting() -> str:
    """``PIVOTMODEL_ENGINE`` as one of :data:`ENGINES` (``auto`` when unset or empty)."""
    value = os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if value not in ENGINES:
        raise InputError.single("environment", ENGINE_ENV, f"{os.environ[ENGINE_ENV]!r} is not an engine; use one of: {', '.join(ENGINES)}")
    return value


def kernels_for(draws: int) -> ModuleType | None:
    """The kernels module when a block of ``draws`` draws should run compiled, else None (numpy)."""
    global _numba_missing
    setting = engine_setting()
    if setting == "numpy" or (setting == "auto" and (draws < COMPILED_FROM_DRAWS or _numba_missing)):
        return None
    try:
        from . import kernels
    except ImportError as exc:
        _numba_missing = True
        if setting == "compiled":
            raise InputError.single("environment", ENGINE_ENV, f"'compiled' needs numba, which cannot be imported here ({exc}); "
                                    "install it (pip install numba) or use numpy or auto") from exc
        return None
    return kernels


def warm_for(draws: int) -> None:
    """Load (or, the first time on a machine, compile) the kernels now if blocks of ``draws``
    draws will run compiled. Called before a process pool forks, the workers inherit them
    instead of each importing numba and loading them (or compiling them side by side)."""
    kernels = kernels_for(draws)
    if kernels is not None:
        kernels.warm()
