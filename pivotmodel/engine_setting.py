"""The engine setting, read once by the caller of the engine: ``PIVOTMODEL_ENGINE``.

* ``numpy``: always the numpy functions (the reference);
* ``compiled``: always the kernels (an error if numba cannot be imported);
* ``auto`` (the default): the kernels for a run of at least
  :data:`pivotmodel.model.engine_choice.COMPILED_FROM_RUN_DRAWS` draws when numba is installed,
  numpy otherwise; every smaller run, and every one-draw command (``validate``, ``project``),
  stays on numpy and never imports numba.

``pivotmodel.cli.main`` checks the setting before any command runs (a bad value is one clear
message, exit 2); :func:`pivotmodel.simulate.simulate` reads it once a run and hands the kernels
to :func:`pivotmodel.model.run`, in the parent and in each worker.
"""

from __future__ import annotations

import os
from types import ModuleType

from .errors import InputError
from .model.engine_choice import ENGINES, load_kernels, wants_kernels

__all__ = ["ENGINE_ENV", "engine_setting", "kernels_for_run"]

ENGINE_ENV = "PIVOTMODEL_ENGINE"


def engine_setting() -> str:
    """``PIVOTMODEL_ENGINE`` as one of :data:`ENGINES` (``auto`` when unset or empty)."""
    value = os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if value not in ENGINES:
        raise InputError.single(
            "environment", ENGINE_ENV, f"{os.environ[ENGINE_ENV]!r} is not an engine; use one of: {', '.join(ENGINES)}"
        )
    return value


def kernels_for_run(draws: int, setting: str | None = None) -> ModuleType | None:
    """The kernels a run of ``draws`` draws should use under ``setting`` (default: the
    environment's), imported and each run once on a tiny input (so a pool forked after this
    inherits them compiled); None for numpy. ``compiled`` without numba is an input error;
    ``auto`` without numba is numpy."""
    setting = engine_setting() if setting is None else setting
    if not wants_kernels(setting, draws):
        return None
    try:
        kernels = load_kernels()
    except ImportError as exc:
        if setting == "compiled":
            raise InputError.single(
                "environment",
                ENGINE_ENV,
                f"'compiled' needs numba, which cannot be imported here ({exc}); "
                'install it (pip install -e ".[compiled]") or use numpy or auto',
            ) from exc
        return None
    kernels.warm()
    return kernels
