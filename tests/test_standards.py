"""The code standards, enforced by the test command (so CI and every developer run them):
ruff's rule set (pyproject.toml, [tool.ruff.lint]) and mypy on the package; every module
imports on its own; only the CLI package imports the CLI; no function in the package is
longer than 80 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "pivotmodel", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_finds_nothing():
    cache = Path(tempfile.gettempdir()) / "pivotmodel-mypy-cache"  # outside the repository
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "pivotmodel"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


MAX_FUNCTION_LINES = 80


def test_no_function_longer_than_80_lines():
    offenders = []
    for path in sorted((ROOT / "pivotmodel").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} ({length} lines)")
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(offenders)


def _modules() -> list[str]:
    """Every module of the package by its dotted name (``__main__`` modules run the CLI when imported)."""
    package = ROOT / "pivotmodel"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


# Imports each module in a fresh child of a process that has loaded only the third-party
# libraries (so the children do not pay for them again): an import cycle or a missing import
# fails there exactly as in `python -c "import pivotmodel.X"`.
_IMPORT_EACH = """
import importlib, os, sys, traceback
import numpy, pandas, scipy.stats, yaml
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
print("failed:", failed)
"""


def test_every_module_imports_on_its_own():
    names = _modules()
    assert {"pivotmodel.cli", "pivotmodel.cli.run", "pivotmodel.model.capex", "pivotmodel.report"} <= set(names)
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *names], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.stdout.strip() == "failed: []", run.stdout + run.stderr


def test_only_the_cli_package_imports_the_cli():
    """Analysis and presentation modules never import :mod:`pivotmodel.cli` (the CLI calls them;
    ``python -m pivotmodel`` runs it)."""
    offenders = []
    for path in sorted((ROOT / "pivotmodel").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("pivotmodel", "cli") or rel.name == "__main__.py":
            continue
        package = ".".join(rel.with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                targets = [f"{base}.{node.module}" if base and node.module else (node.module or base)]
                targets += [f"{targets[0]}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            if any(t == "pivotmodel.cli" or t.startswith("pivotmodel.cli.") for t in targets):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_only_the_charts_module_imports_matplotlib():
    """Presentation in one place: every figure is drawn, saved and closed by
    :mod:`pivotmodel.charts`; no other module imports matplotlib (at any depth of a function)."""
    offenders = []
    for path in sorted((ROOT / "pivotmodel").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel == Path("pivotmodel/charts.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "matplotlib" or n.startswith("matplotlib.") for n in names):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []
