"""``pivotmodel report`` on the default run: the code before issue 13 against today's, side by side.

The old code is taken from git (``--baseline``, default the commit issue 13 started from),
unpacked into a temporary folder as the package ``pivotmodel_old`` and imported beside
today's ``pivotmodel``, so both run in this one process on the same assumption files; runs
alternate (old, new, old, new, ...) so a busy machine slows both alike. Each run writes a whole
report folder; the script checks that both hold the same claims and drivers tables and the
same chart bytes, then prints seconds and ratios.

What changed: drivers of every claim in one pass over the draws (each input sorted once,
instead of one ``ks_2samp`` call per claim and input), the PRIM box peeled on the shrinking
set of draws, the claims table and convergence computed once, and the charts drawn in a worker
process while the drivers and tables are computed (charts still queued at the end are drawn
by the main process).

    python benchmarks/bench_report.py                 # 3 rounds, draws from simulation.yaml
    python benchmarks/bench_report.py --rounds 1 --draws 5000
"""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "5948037"  # the commit issue 13 started from


def import_old(rev: str):
    """``pivotmodel`` as of ``rev``, importable as ``pivotmodel_old`` (its modules import each other relatively)."""
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "pivotmodel"], check=True, capture_output=True
    ).stdout
    where = Path(tempfile.mkdtemp(prefix="bench_report_old_"))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(where, filter="data")
    (where / "pivotmodel").rename(where / "pivotmodel_old")
    sys.path.insert(0, str(where))
    return importlib.import_module("pivotmodel_old.report"), importlib.import_module("pivotmodel_old.assumptions")


def timed(fn) -> tuple[float, Path]:
    out = Path(tempfile.mkdtemp(prefix="bench_report_")) / "report"
    t0 = time.perf_counter()
    fn(out)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the old code (default %(default)s)")
    args = ap.parse_args()

    import pivotmodel.assumptions as new_assumptions
    from pivotmodel import report as new_report

    old_report, old_assumptions = import_old(args.baseline)
    folder = ROOT / "assumptions"
    a_new, a_old = new_assumptions.load(folder), old_assumptions.load(folder)
    draws = args.draws or int(a_new.settings["draws"])
    seed = int(a_new.settings["seed"])

    def old(out: Path) -> None:
        old_report.write_report(a_old, out, draws, seed)

    def new(out: Path) -> None:
        new_report.write_report(a_new, out, draws, seed, progress=False)

    def serial(out: Path) -> None:  # today's code without the chart worker: what one core gains
        new_report.write_report(a_new, out, draws, seed, progress=False, chart_worker=False)

    for fn in (old, new, serial):  # warm-up: imports, font caches
        timed(fn)
    olds, news, serials = [], [], []
    for _ in range(args.rounds):
        t_old, f_old = timed(old)
        t_new, f_new = timed(new)
        serials.append(timed(serial)[0])
        olds.append(t_old)
        news.append(t_new)
        for rel in (
            "tables/claims.csv",
            "tables/claim_drivers.csv",
            "tables/claim_boxes.csv",
            "charts/cloud_share.png",
            "charts/claim_probabilities.svg",
        ):
            same = (f_old / rel).read_bytes() == (f_new / rel).read_bytes()
            if not same:
                print(f"note: {rel} differs between old and new")
    print(f"pivotmodel report, {draws:,} draws, {args.rounds} rounds (old = {args.baseline}, alternating)")
    print(f"{'code':<18}{'best s':>8}{'median s':>10}")
    print(f"{'old':<18}{min(olds):>8.2f}{np.median(olds):>10.2f}")
    print(f"{'new':<18}{min(news):>8.2f}{np.median(news):>10.2f}")
    print(f"{'new, one process':<18}{min(serials):>8.2f}{np.median(serials):>10.2f}")
    print(f"speed-up (old / new): best {min(olds) / min(news):.2f}x, median {np.median(olds) / np.median(news):.2f}x")
    print(
        f"speed-up (old / new in one process): best {min(olds) / min(serials):.2f}x, "
        f"median {np.median(olds) / np.median(serials):.2f}x"
    )


if __name__ == "__main__":
    main()
