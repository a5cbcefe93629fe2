"""The hand-written blocks of benchmarks/bench_engine.py compute the engine's equations: their
outputs agree with the engine's to 1e-12 (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import FROZEN

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"


def test_hand_written_cloud_and_capex_blocks_agree_with_the_engine():
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.engine_rows(draws=400, repeat=1, folder=str(FROZEN))
    assert [r["block"] for r in rows] == ["capex block"]
    for r in rows:
        assert r["max_rel_diff"] <= 1e-12, r
        assert r["engine_ms"] > 0 and r["hand_written_ms"] > 0
