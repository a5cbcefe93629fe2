"""A wheel of pivotmodel ships the bundled assumptions: built with pip, installed into a
folder of its own (no repository beside it) and run from elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_and_finds_the_bundled_assumptions(tmp_path):
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "-w", str(wheels)], check=True, capture_output=True)
    (wheel,) = wheels.glob("pivotmodel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {
        n.removeprefix("pivotmodel/bundled_assumptions/")
        for n in names
        if n.startswith("pivotmodel/bundled_assumptions/")
    }
    in_repo = {
        str(p.relative_to(ROOT / "assumptions"))
        for p in (ROOT / "assumptions").rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".csv", ".md")
    }
    assert shipped == in_repo
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("PIVOTMODEL_ASSUMPTIONS", None)  # the installed default, not the tests' frozen tree
    code = "import pivotmodel, pivotmodel.assumptions as a; print(pivotmodel.__file__); print(a.bundled_directory())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, check=True, capture_output=True, text=True
    ).stdout
    module, folder = out.splitlines()
    assert module.startswith(str(target)) and folder == str(target / "pivotmodel" / "bundled_assumptions")
    run = subprocess.run(
        [sys.executable, "-m", "pivotmodel.cli", "validate"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.startswith("OK: "), run.stderr
