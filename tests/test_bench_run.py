"""benchmarks/bench_run.py loads another tree's engine beside this one: loaded from this very
tree, it runs the same numbers (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import sampled_values

import pivotmodel.model as engine

ROOT = Path(__file__).resolve().parents[1]


def test_the_other_trees_engine_loads_beside_this_one_and_agrees(bundled):
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "bench_run.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    other = bench.load_engine(ROOT, "pivotmodel_bench_copy")
    assert other is not engine and other.run is not engine.run
    values = sampled_values(bundled, 40, 5)
    keep = bench.simulate_keep(bundled)
    assert bench._identical(
        other.run(other.prepare(bundled), values, keep=keep), engine.run(engine.prepare(bundled), values, keep=keep)
    )
    wall, cpu, mapped = bench._one(other, other.prepare(bundled), values, None)
    assert wall > 0 and cpu >= 0 and mapped >= 0
    assert bench._peak_growth(engine, engine.prepare(bundled), values, keep) >= 0
