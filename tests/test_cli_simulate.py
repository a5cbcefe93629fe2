"""The simulate and claims commands, in process: outputs, reuse, and bad input (exit 2, no
traceback, earlier run untouched)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import pivotmodel
import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.simulate import inputs_hash

FILES = [
    ".pivotmodel-output",
    "claims.csv",
    "quantiles_quarter.csv",
    "quantiles_fy.csv",
    "quantiles_cy.csv",
    "convergence.csv",
    "manifest.json",
]


@pytest.fixture(scope="module")
def claim_ids():
    a = assumptions_mod.load()
    ids = [c.id for c in a.claims]
    assert len(ids) >= 10
    return ids


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, claim_ids):
    out = tmp_path_factory.mktemp("cli") / "run"
    rc = main(["simulate", "--draws", "400", "--jobs", "1", "--out", str(out)])
    assert rc == 0
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_simulate_writes_the_run(tmp_path, capsys, claim_ids):
    out = tmp_path / "run"
    assert main(["simulate", "--draws", "400", "--jobs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for cid in claim_ids:
        assert cid in printed, cid
    assert "400 draws" in printed and f"wrote {out}/" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    a = assumptions_mod.load()
    assert manifest["seed"] == a.settings["seed"] == 20260522
    assert manifest["method"] == a.settings["method"]
    assert manifest["draws"] == 400
    assert manifest["inputs_sha256"] == inputs_hash(a) and len(manifest["inputs_sha256"]) == 64
    assert manifest["pivotmodel_version"] == pivotmodel.__version__
    claims = pd.read_csv(out / "claims.csv", index_col="id")
    assert list(claims.index) == claim_ids
    evaluable = claims[claims["draws"] > 0]
    assert claims.loc[claims["draws"] == 0, "probability"].isna().all()  # "not evaluable" claims
    assert len(evaluable) >= 10 and (evaluable["draws"] == 400).all()
    assert ((evaluable["probability"] >= 0) & (evaluable["probability"] <= 1)).all()
    assert (evaluable["ci_low"] <= evaluable["probability"] + 1e-12).all()
    assert (evaluable["probability"] <= evaluable["ci_high"] + 1e-12).all()
    for basis in ("quarter", "fy", "cy"):
        q = pd.read_csv(out / f"quantiles_{basis}.csv")
        assert list(q.columns[:3]) == ["series", "period", "unit"] and "P50" in q.columns
        assert "cloud.revenue" in set(q["series"])
    conv = pd.read_csv(out / "convergence.csv")
    assert set(conv["claim"]) == set(claim_ids) and conv["draws"].max() == 400
    # no temporary folders left beside the run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_claims_reuses_the_last_run(run_dir, capsys, claim_ids):
    before = _snapshot(run_dir)
    capsys.readouterr()
    assert main(["claims", "--draws", "400", "--out", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    assert f"(from the last run in {run_dir}/: the same input files and options)" in printed
    for cid in claim_ids:
        assert cid in printed
    assert _snapshot(run_dir) == before
    # read back from claims.csv: every claim with one status and its reason, never a "[nan]" label
    assert "[nan]" not in printed and "nan" not in printed.split("What decides each claim")[0]
    reasons = printed.split("What decides each claim (README, 'Claims: what decides each'):\n")[1].splitlines()
    statuses = ("model", "decided by input ", "decided by construction", "reported", "on estimates", "not evaluable")
    table = pd.read_csv(run_dir / "claims.csv", index_col="id")
    in_order = table.sort_values("headline", ascending=False, kind="stable").index
    assert [line.split(":")[0].strip() for line in reasons[: len(claim_ids)]] == list(in_order)
    assert all(line.split(": ", 1)[1].startswith(statuses) for line in reasons[: len(claim_ids)]), reasons
    assert main(["claims", "--draws", "400", "--out", str(run_dir), "--markdown"]) == 0
    md = capsys.readouterr().out.splitlines()
    assert md[:2] == ["| claim | P(holds) | status | reason |", "|---|---:|---|---|"] and len(md) >= len(claim_ids) + 2


@pytest.mark.parametrize("command", ["simulate", "claims"])
def test_bad_correlations_exit_2_and_leave_the_run(run_dir, tmp_path, capsys, command):
    bad = tmp_path / "assumptions"
    shutil.copytree(assumptions_mod.default_directory(), bad)
    path = bad / "correlations.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("rho: 0.5") == 1
    path.write_text(text.replace("rho: 0.5", "rho: 1.5"), encoding="utf-8")
    before = _snapshot(run_dir)
    siblings = sorted(p.name for p in run_dir.parent.iterdir())
    capsys.readouterr()
    rc = main([command, "--assumptions", str(bad), "--draws", "400", "--jobs", "1", "--out", str(run_dir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    assert "pivotmodel: 1 problem in the inputs:" in err
    assert "correlations.yaml" in err and "correlations.pairs[0].rho: must be a number in (-1, 1), got 1.5" in err
    assert _snapshot(run_dir) == before
    assert sorted(p.name for p in run_dir.parent.iterdir()) == siblings


def test_non_psd_correlations_via_cli(run_dir, tmp_path, capsys):
    bad = tmp_path / "assumptions"
    shutil.copytree(assumptions_mod.default_directory(), bad)
    shutil.copy(Path(__file__).resolve().parent / "fixtures" / "mc" / "corr_not_psd.yaml", bad / "correlations.yaml")
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["simulate", "--assumptions", str(bad), "--draws", "100", "--jobs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not positive semi-definite" in err and "capex.plan.total" in err and "Traceback" not in err
    assert not out.exists()
    assert (
        main(
            [
                "simulate",
                "--assumptions",
                str(bad),
                "--draws",
                "100",
                "--jobs",
                "1",
                "--method",
                "mc",
                "--nearest-correlation",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["correlation_adjusted_to_nearest"] is True
    assert manifest["method"] == "mc" and manifest["draws"] == 100
