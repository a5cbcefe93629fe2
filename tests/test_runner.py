"""Where a run's chunks are computed (pivotmodel.runner): a concurrent.futures executor and a
dask.distributed cluster give the same bits as the local pool and a serial run, and the
command line's --executor dask / --scheduler write the same files as the local pool."""

from __future__ import annotations

import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import runner
from pivotmodel.cli import main
from pivotmodel.simulate import simulate

SEED = 20260522
KEEP = ["group.capex", "cloud.revenue"]
OUTPUTS = ["claims.csv", "quantiles_quarter.csv", "quantiles_fy.csv", "quantiles_cy.csv", "convergence.csv"]


@pytest.fixture(scope="module")
def a():
    return assumptions_mod.load()


@pytest.fixture(scope="module")
def reference(a):
    """5,000 draws in chunks of 1,000 in this process: the run every other path must equal."""
    return simulate(a, draws=5000, seed=SEED, method="lhs", chunk_size=1000, jobs=1, keep=KEEP, sample_size=1500)


def assert_same_run(r, ref) -> None:
    assert np.array_equal(r.sample, ref.sample)
    assert np.array_equal(r.inputs.to_numpy(), ref.inputs.to_numpy())
    assert np.array_equal(r.claim_metric.to_numpy(), ref.claim_metric.to_numpy(), equal_nan=True)
    assert np.array_equal(r.claim_holds.to_numpy(), ref.claim_holds.to_numpy(), equal_nan=True)
    pd.testing.assert_frame_equal(r.claims_table(), ref.claims_table(), check_exact=True)
    pd.testing.assert_frame_equal(r.convergence(), ref.convergence(), check_exact=True)
    for basis in r.available_bases():
        pd.testing.assert_frame_equal(r.quantiles(basis), ref.quantiles(basis), check_exact=True)


def test_thread_and_spawned_process_executors_equal_the_serial_run(a, reference):
    """Threads of this process use the parent's state as it is; spawned processes inherit
    nothing and install the pickled state once each."""
    with ThreadPoolExecutor(2) as pool:
        threaded = simulate(
            a, draws=5000, seed=SEED, method="lhs", chunk_size=1000, keep=KEEP, sample_size=1500, executor=pool
        )
    assert threaded.manifest["executor"] == "executor"
    assert_same_run(threaded, reference)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        spawned = simulate(
            a, draws=5000, seed=SEED, method="lhs", chunk_size=1000, keep=KEEP, sample_size=1500, executor=pool
        )
    assert_same_run(spawned, reference)
    local = simulate(a, draws=5000, seed=SEED, method="lhs", chunk_size=1000, jobs=2, keep=KEEP, sample_size=1500)
    assert local.manifest["executor"] == "local pool" and reference.manifest["executor"] == "serial"
    assert_same_run(local, reference)


def test_a_worker_installs_each_runs_state_once():
    """_remote installs the state when its run key is new to the process, and only then."""
    calls = []
    install, work = calls.append, lambda lo, hi: (lo, hi, len(calls))
    old = runner._installed["key"]
    try:
        runner._installed["key"] = None
        payload = runner.pickle.dumps({"n": 1})
        assert runner._remote(install, work, "run-1", payload, 0, 10) == (0, 10, 1)
        assert runner._remote(install, work, "run-1", payload, 10, 20) == (10, 20, 1)  # already held
        assert runner._remote(install, work, "run-2", runner.pickle.dumps({"n": 2}), 0, 5) == (0, 5, 2)
        assert calls == [{"n": 1}, {"n": 2}]
    finally:
        runner._installed["key"] = old


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_dask_local_cluster_equals_the_local_pool(a, reference, cluster):
    from dask.distributed import Client

    with Client(cluster) as client:
        assert runner.executor_workers(client) == 2
        r = simulate(
            a, draws=5000, seed=SEED, method="lhs", chunk_size=1000, keep=KEEP, sample_size=1500, executor=client
        )
        again = simulate(
            a, draws=5000, seed=SEED, method="lhs", chunk_size=700, keep=KEEP, sample_size=1500, executor=client
        )
    assert r.manifest["executor"] == "dask"
    assert_same_run(r, reference)
    assert_same_run(again, reference)  # a second run on the same workers: its own state, other chunks


def test_cli_scheduler_writes_the_same_files_as_the_local_pool(tmp_path, cluster):
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(["simulate", "--draws", "3000", "--jobs", "2", "--out", str(local)]) == 0
    assert main(["simulate", "--draws", "3000", "--scheduler", cluster.scheduler_address, "--out", str(dask)]) == 0
    for name in OUTPUTS:
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name
    assert '"executor": "dask"' in (dask / "manifest.json").read_text(encoding="utf-8")


def test_cli_backtest_on_the_scheduler_writes_the_same_files(tmp_path, cluster):
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(["backtest", "--draws", "200", "--horizon", "1", "--out", str(local)]) == 0
    assert (
        main(
            [
                "backtest",
                "--draws",
                "200",
                "--horizon",
                "1",
                "--scheduler",
                cluster.scheduler_address,
                "--out",
                str(dask),
            ]
        )
        == 0
    )
    for name in ("scores.csv", "summary.csv", "verdicts.txt"):
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name


def test_cli_executor_dask_without_dask_installed_is_an_input_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import dask.distributed -> ImportError
    out = tmp_path / "run"
    assert main(["simulate", "--draws", "100", "--executor", "dask", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--executor: executor: dask is not installed: pip install 'pivotmodel[distributed]'" in err
    assert "Traceback" not in err and not Path(out).exists()


SOBOL_KEYS = ["cloud.ai_revenue.growth.start", "capex.plan.total", "capex.plan.phasing_tilt"]


def test_model_runs_in_chunks_on_a_pool_or_an_executor_equal_one_pass(a):
    """The sensitivity batch (sensitivity._run): 1,000 rows in chunks of 300 on a local pool of
    two and on threads give the bits of one pass here."""
    from pivotmodel import sensitivity

    rng = np.random.default_rng(4)
    values = {k: np.repeat(np.asarray(v, dtype=float), 1000) for k, v in sensitivity.base_values(a).items()}
    values["capex.plan.total"] = rng.uniform(380_000, 560_000, 1000)
    outs = [sensitivity.parse_output("group.capex@FY2027"), sensitivity.parse_output("cloud.revenue@FY2028")]
    one = sensitivity._run(a, values, outs)
    assert one[0].shape == (1000,) and np.ptp(one[0]) > 0
    pooled = sensitivity._run(a, values, outs, chunk=300, jobs=2)
    with ThreadPoolExecutor(2) as pool:
        threaded = sensitivity._run(a, values, outs, chunk=300, executor=pool)
    for got in (pooled, threaded):
        for x, y in zip(got, one):
            assert np.array_equal(x, y)


def test_sobol_on_dask_equals_sobol_here(a, cluster):
    from dask.distributed import Client

    from pivotmodel.sensitivity import sobol

    here = sobol(a, "cloud.revenue@FY2028", n=64, inputs=SOBOL_KEYS)
    with Client(cluster) as client:
        there = sobol(a, "cloud.revenue@FY2028", n=64, inputs=SOBOL_KEYS, executor=client)
    pd.testing.assert_frame_equal(there, here, check_exact=True)
    assert there.attrs["evaluations"] == 64 * (3 + 2)


def test_cli_a_scheduler_that_cannot_be_reached_is_an_input_error(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "run"
    assert main(["simulate", "--draws", "100", "--scheduler", "bogus://x", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        "--scheduler: scheduler: cannot connect to a dask scheduler at 'bogus://x' (unknown address scheme 'bogus'"
        in err
    )
    assert "Traceback" not in err and not out.exists()
