"""Golden tables: the deterministic projection of the frozen fixture tree by fiscal year,
calendar year and quarter (base case), and by fiscal year for the bull and bear scenarios
(``bull_fy.csv``, ``bear_fy.csv``), compared within a stated tolerance.

Refresh them (after a deliberate change to the engine or the frozen fixture) with
``python tests/golden.py``; review the diff of ``tests/golden/*.csv`` before committing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
FROZEN = HERE / "fixtures" / "frozen" / "assumptions"
BASES = ("fy", "cy", "quarter")
SCENARIOS = ("bull", "bear")  # golden by fiscal year, as <scenario>_fy.csv
RTOL, ATOL = 1e-9, 1e-9  # relative, and absolute for values near zero (RMB bn, ratios)


def table(basis: str, directory: Path = FROZEN, scenario: str | None = None) -> pd.DataFrame:
    from pivotmodel.assumptions import load
    from pivotmodel.model import project
    from pivotmodel.tables import segment_table

    return segment_table(project(load(directory, scenario)), basis=basis)


def compare(actual: pd.DataFrame, name: str, folder: Path = GOLDEN) -> list[str]:
    """Differences between ``actual`` and ``folder/name.csv`` beyond the tolerance; on any,
    ``folder/name.actual.csv`` is written beside it for a diff."""
    expected = pd.read_csv(folder / f"{name}.csv", index_col=[0, 1])
    got = pd.read_csv(_csv(actual), index_col=[0, 1])  # through CSV, as stored
    problems = []
    if list(got.index) != list(expected.index) or list(got.columns) != list(expected.columns):
        problems.append(f"{name}: rows or columns differ")
    else:
        a, e = got.to_numpy(float), expected.to_numpy(float)
        bad = ~np.isclose(a, e, rtol=RTOL, atol=ATOL, equal_nan=True)
        for i, j in zip(*np.nonzero(bad)):
            problems.append(f"{name}: {got.index[i]} {got.columns[j]}: {a[i, j]!r}, golden {e[i, j]!r}")
    if problems:
        actual.to_csv(folder / f"{name}.actual.csv", float_format="%.17g")
    else:
        (folder / f"{name}.actual.csv").unlink(missing_ok=True)
    return problems


def _csv(df: pd.DataFrame):
    import io

    buf = io.StringIO()
    df.to_csv(buf, float_format="%.17g")
    buf.seek(0)
    return buf


def refresh() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for basis in BASES:
        table(basis).to_csv(GOLDEN / f"{basis}.csv", float_format="%.17g")
        print(f"wrote {GOLDEN / f'{basis}.csv'}")
    for scenario in SCENARIOS:
        table("fy", scenario=scenario).to_csv(GOLDEN / f"{scenario}_fy.csv", float_format="%.17g")
        print(f"wrote {GOLDEN / f'{scenario}_fy.csv'}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    refresh()
