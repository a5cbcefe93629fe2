"""The compiled kernels (pivotmodel.model.kernels) against the numpy reference: every series of
the engine equal bit for bit on sampled draws and on edge cases, simulate's output files equal
byte for byte with one worker or two, and the PIVOTMODEL_ENGINE switch (a bad value, and the
commands that must not import numba). The cloud's supply loop and the capex policy after the
plan (pivotmodel.model.supply) have no kernel: both engines run the same numpy code there, so
their series are equal by construction, and the kernels still cover the paths and depreciation."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FROZEN, copy_assumptions, replace_once

from pivotmodel.cli import main
from pivotmodel.engine_setting import ENGINE_ENV, kernels_for_run
from pivotmodel.model import SERIES, engine_choice, prepare, run
from pivotmodel.model.engine_choice import COMPILED_FROM_RUN_DRAWS, kernels_for, load_kernels, running_with
from pivotmodel.sampling import make_design

pytest.importorskip("numba")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_compiled.py"


def _bits(x: np.ndarray) -> np.ndarray:
    """The array's float64 bit patterns: equal only if every value is the same number (the sign
    of zero and NaN included)."""
    return np.ascontiguousarray(x, dtype=np.float64).view(np.int64)


def _both(monkeypatch, engine, values) -> tuple:
    reference = run(engine, values)
    compiled = run(engine, values, kernels=load_kernels())
    return reference, compiled


def _assert_identical(reference, compiled) -> None:
    assert set(reference.series) == set(compiled.series) == set(SERIES)
    differ = [s for s in SERIES if not np.array_equal(_bits(reference.series[s]), _bits(compiled.series[s]))]
    assert differ == []


@pytest.fixture(scope="module")
def engine(bundled):
    return prepare(bundled)


@pytest.mark.parametrize("seed", [11, 20260522])
def test_every_series_is_identical_on_sampled_draws(bundled, engine, monkeypatch, seed):
    values = make_design(bundled, 6000, seed, bundled.settings["method"]).values(0, 3000)
    reference, compiled = _both(monkeypatch, engine, values)
    _assert_identical(reference, compiled)
    assert reference.draws == 3000


def test_the_base_case_is_identical(engine, monkeypatch):
    """One draw: a block of the kernels shorter than their block of draws."""
    _assert_identical(*_both(monkeypatch, engine, None))


def _edge_values(a, draws: int) -> dict[str, np.ndarray]:
    """Sampled draws, each quarter of them pushed to an edge: no cloud demand at all (nothing
    asked, nothing carried); capacity far above demand (no backlog); a buyback authorisation that
    runs out mid-horizon; a capex plan already overspent; some inputs given as one shared value."""
    values = {
        k: np.array(x, dtype=float)
        for k, x in make_design(a, 2 * draws, 5, a.settings["method"]).values(0, draws).items()
    }
    quarter = np.arange(draws) % 4
    none = quarter == 0
    for stream in ("ai_revenue", "other_external_revenue", "internal_revenue"):
        for part in ("start", "long_run"):
            values[f"cloud.{stream}.growth.{part}"][none] = -1.0  # demand x (1 - 1) = 0 from the first quarter
    values["cloud.supply.exit_utilisation"][quarter == 1] = 0.01  # capacity 100x the exit revenue
    exhausted = quarter == 2
    values["earnings.buyback.remaining"][exhausted] = 2.5 * values["earnings.buyback.pace"][exhausted]
    values["earnings.buyback.program_end"][:] = (
        a.history.last_quarter + 12
    ).index  # the programme spans the authorisation's end
    values["capex.plan.total"][quarter == 3] = 1.0  # reported capex already exceeds it
    values["earnings.goodwill_impairment.event"][:] = 1.0
    values["earnings.goodwill_impairment.quarter"][:] = (a.history.last_quarter + 3).index  # in the horizon
    values["cloud.supply.deployment_lag"] = values["cloud.supply.deployment_lag"][:1]  # one value for every draw
    values["earnings.buyback.price_growth"] = values["earnings.buyback.price_growth"][:1]
    return values


def test_every_series_is_identical_on_edge_cases(bundled, engine, monkeypatch):
    values = _edge_values(bundled, 2500)
    reference, compiled = _both(monkeypatch, engine, values)
    _assert_identical(reference, compiled)
    backlog, shares = reference.series["cloud.backlog"], reference.series["group.buyback"]
    split = reference.timeline.position(reference.first_projected)
    assert (backlog[0::4, split:] == 0).all() and (reference.series["cloud.demand"][0::4, split:] == 0).all()
    assert (backlog[1::4, split:] == 0).all()
    assert (shares[2::4, split + 3 : split + 12] == 0).all()  # authorisation used up, programme not over


def test_nan_and_infinite_inputs_propagate_alike(bundled, engine, monkeypatch):
    """NaN through np.minimum / np.maximum / np.clip (the kernels' _minimum, _maximum) and
    divisions by zero: the same NaN and inf in the same places."""
    values = {
        k: np.array(x, dtype=float)
        for k, x in make_design(bundled, 4000, 3, bundled.settings["method"]).values(0, 2100).items()
    }
    for key, rows in (
        ("earnings.buyback.pace", slice(0, None, 7)),
        ("cloud.supply.exit_utilisation", slice(1, None, 7)),
        ("cloud.supply.deployment_lag", slice(2, None, 7)),
        ("earnings.cash.base", slice(3, None, 7)),
        ("cloud.ai_revenue.growth.start", slice(4, None, 7)),
    ):
        values[key][rows] = np.nan
    values["capex.useful_life"][5::7] = 0.0  # depreciation over no life: inf or NaN
    values["earnings.shares.base"][6::7] = 0.0  # EPS over no shares
    with np.errstate(all="ignore"):
        reference, compiled = _both(monkeypatch, engine, values)
    _assert_identical(reference, compiled)
    split = reference.timeline.position(reference.first_projected)
    assert np.isnan(reference.series["group.buyback"][0::7, split]).all()  # within the programme: min(NaN pace, left)
    assert np.isnan(reference.series["cloud.revenue"][1::7, split]).all()


@pytest.mark.parametrize("jobs", [1, 2])
def test_simulate_writes_the_same_bytes_with_either_engine(tmp_path, monkeypatch, jobs):
    """A run of two chunks: every output file equal byte for byte (the manifest's clock aside)."""
    folder = copy_assumptions(tmp_path)
    replace_once(folder / "simulation.yaml", "chunk_size: 25000", "chunk_size: 2500")
    monkeypatch.setenv("PIVOTMODEL_ASSUMPTIONS", str(folder))
    outputs = {}
    for name in ("numpy", "compiled"):
        monkeypatch.setenv(ENGINE_ENV, name)
        out = tmp_path / name
        assert main(["simulate", "--draws", "5000", "--jobs", str(jobs), "--out", str(out)]) == 0
        outputs[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    manifests = [json.loads(o.pop("manifest.json")) for o in outputs.values()]
    for m in manifests:
        del m["started_utc"], m["seconds"]
    assert manifests[0] == manifests[1] and manifests[0]["draws"] == 5000
    assert outputs["numpy"] == outputs["compiled"]


def test_a_bad_engine_name_is_one_clear_message(monkeypatch, capsys):
    monkeypatch.setenv(ENGINE_ENV, "fast")
    assert main(["project"]) == 2
    err = capsys.readouterr().err
    assert "PIVOTMODEL_ENGINE" in err and "'fast' is not an engine" in err and "auto, numpy, compiled" in err
    assert "Traceback" not in err


def test_auto_uses_the_kernels_only_for_a_large_run_and_the_choice_lasts_one_run():
    assert kernels_for_run(COMPILED_FROM_RUN_DRAWS - 1, "auto") is None
    kernels = kernels_for_run(COMPILED_FROM_RUN_DRAWS, "auto")
    assert kernels is load_kernels() and kernels_for_run(10**9, "numpy") is None
    assert kernels_for() is None  # outside a run: numpy
    with running_with(kernels):
        assert kernels_for() is kernels
    assert kernels_for() is None  # nothing lingers after the run


def test_the_environment_is_read_by_the_caller_not_the_engine(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "compiled")
    assert kernels_for_run(1) is load_kernels()
    assert kernels_for() is None  # setting the variable alone changes nothing inside model/


def test_compiled_loads_the_kernels_for_any_run_and_warm_runs_each():
    kernels = kernels_for_run(1, "compiled")
    assert kernels is not None
    compiled = [name for name in ("converging", "compound", "capex_in_service") if getattr(kernels, name).signatures]
    assert len(compiled) == 3  # every kernel has its compiled signature
    # the cloud's supply loop and the capex policy (pivotmodel.model.supply) run in numpy only:
    # the kernels that served a fixed capacity path are gone rather than left unused
    assert not hasattr(kernels, "serve3") and not hasattr(kernels, "cloud_supply")


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_large_run_under_auto_loads_the_kernels_before_its_workers_and_changes_no_number(
    tmp_path, monkeypatch, start_method
):
    import pivotmodel.simulate as simulate_mod
    from pivotmodel.assumptions import load
    from pivotmodel.simulate import simulate

    a = load(FROZEN)
    monkeypatch.setenv(ENGINE_ENV, "numpy")
    reference = simulate(a, draws=600, seed=3, jobs=2, chunk_size=200, start_method=start_method)
    monkeypatch.setattr(engine_choice, "COMPILED_FROM_RUN_DRAWS", 500)  # 600 draws count as large
    monkeypatch.setenv(ENGINE_ENV, "auto")
    chosen = []
    real = simulate_mod.kernels_for_run
    monkeypatch.setattr(simulate_mod, "kernels_for_run", lambda *args: chosen.append(real(*args)) or chosen[-1])
    compiled = simulate(a, draws=600, seed=3, jobs=2, chunk_size=200, start_method=start_method)
    assert chosen[0] is load_kernels()  # the parent chose them once, from the environment, before its workers
    assert compiled.claims_table().equals(reference.claims_table())
    assert compiled.quantiles("fy").equals(reference.quantiles("fy"))


def test_help_validate_and_project_do_not_import_numba():
    code = (
        "import sys, contextlib, io\n"
        "from pivotmodel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    for argv in (['--help'], ['validate'], ['project']):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print(sorted(m for m in ('numba', 'pivotmodel.model.kernels') if m in sys.modules))\n"
    )
    env_free = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent
    )
    assert env_free.stdout.strip() == "[]", env_free.stdout + env_free.stderr


def test_the_benchmark_finds_both_engines_identical():
    rows = runpy.run_path(str(BENCH))["compiled_rows"](draws=300, repeat=1, folder=str(FROZEN))
    assert [r["block"] for r in rows] == ["run()", "cloud demand", "capex"]
    assert all(r["identical"] and r["numpy_ms"] > 0 and r["compiled_ms"] > 0 for r in rows)


def test_a_kernel_compiles_without_a_cache_folder():
    """Code numba cannot cache (here: defined in a string, as code in a read-only install
    without a writable cache folder) still compiles, in memory."""
    from numba import float64, void

    from pivotmodel.model import kernels

    scope: dict = {}
    exec("def double(x, out):\n    for i in range(x.shape[0]):\n        out[i] = 2.0 * x[i]\n", scope)
    double = kernels._jit(void(float64[::1], float64[::1]))(scope["double"])
    out = np.empty(3)
    double(np.arange(3.0), out)
    assert out.tolist() == [0.0, 2.0, 4.0]
