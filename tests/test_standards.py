"""The code standards, enforced by the test command (so CI and every developer run them):
ruff's rule set (pyproject.toml, [tool.ruff.lint]) and mypy on the package."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "pivotmodel", "tests", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_finds_nothing():
    cache = Path(tempfile.gettempdir()) / "pivotmodel-mypy-cache"  # outside the repository
    run = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), "pivotmodel"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
