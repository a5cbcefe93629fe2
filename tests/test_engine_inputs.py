"""The closed engine: prepared once per run, picklable, and free of the loader."""

from __future__ import annotations

import ast
import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import sampled_values

from pivotmodel.model import prepare, project, run
from pivotmodel.model.prepare import capex_history


def test_the_engine_package_does_not_import_the_loader():
    code = (
        "import sys, pivotmodel.model; "
        "print(sorted(m for m in sys.modules if m in ('pivotmodel.assumptions', 'pivotmodel.history', "
        "'pivotmodel.yamlio', "
        "'pivotmodel.errors', 'pivotmodel.engine_setting', 'pivotmodel.base_quarters')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prepared_inputs_pickle_and_run_bit_identically(bundled):
    e = prepare(bundled)
    back = pickle.loads(pickle.dumps(e))
    values = sampled_values(bundled, 40, 3)
    p, q, r = run(e, values), run(back, values), project(bundled, values)
    assert set(p.series) == set(q.series) == set(r.series)
    for name in p.series:
        np.testing.assert_array_equal(p[name], q[name], err_msg=name)
        np.testing.assert_array_equal(p[name], r[name], err_msg=name)


def test_prepared_inputs_hold_the_reported_facts_the_drivers_read(bundled):
    e = prepare(bundled)
    last = bundled.history.last_quarter
    assert e.first_projected == last + 1
    assert e.quarters == bundled.horizon.index - last.index
    assert e.base.quarters == tuple(last + k for k in (-3, -2, -1, 0))
    np.testing.assert_array_equal(
        e.base.reported["cloud.revenue"], [bundled.history.value("cloud.revenue", q) for q in e.base.quarters]
    )
    np.testing.assert_array_equal(e.capex_between(last + (-3), last), capex_history(bundled.history, last + (-3), last))
    assert not e.capex_history.flags.writeable  # shared by every chunk: never written
    assert e.legacy_fy == (last.fiscal_year if last.q == 4 else last.fiscal_year - 1)
    # run without values is the base case: one draw at every input's median
    base = run(e)
    assert base.draws == 1
    np.testing.assert_array_equal(base["group.revenue"], project(bundled)["group.revenue"])


MODEL = Path(__file__).resolve().parents[1] / "pivotmodel" / "model"


def test_nothing_under_model_reads_the_environment_or_raises_input_errors():
    found = []
    for path in sorted(MODEL.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                or isinstance(node, ast.Name)
                and node.id in ("InputError", "environ", "getenv")
            ):
                found.append(f"{path.name}:{node.lineno}")
            if (
                isinstance(node, ast.ImportFrom)
                and node.module in ("os", "errors")
                or isinstance(node, ast.Import)
                and any(a.name == "os" for a in node.names)
            ):
                found.append(f"{path.name}:{node.lineno} imports {getattr(node, 'module', None) or 'os'}")
    assert found == []


def test_the_engine_keeps_no_module_state_and_no_history(bundled):
    from pivotmodel.model import engine_choice

    assert not hasattr(engine_choice, "_loaded") and engine_choice.kernels_for() is None
    e = prepare(bundled)
    assert "history" not in {f.name for f in dataclasses.fields(e)}
    # the reported annual totals a projection's reported years take, computed once here:
    # FY2025 cloud revenue restated on the four-segment basis = the history's annual row
    assert e.annual[("cloud.revenue", 2025)] == bundled.history.annual_value("cloud.revenue", 2025)
    p = run(e, None, keep=["cloud.revenue", "group.capex"])
    assert p.total("cloud.revenue", "FY2025")[0] == bundled.history.annual_value("cloud.revenue", 2025)
    # pickled, the prepared inputs no longer carry the loader's rows (they were 86% of the bytes)
    assert len(pickle.dumps(e)) < 0.5 * len(pickle.dumps((e, bundled.history)))


def test_the_run_hash_is_the_old_rereading_one_and_ignores_edits_after_loading(tmp_path):
    import hashlib

    from conftest import copy_assumptions

    from pivotmodel.assumptions import load
    from pivotmodel.simulate import inputs_hash

    folder = copy_assumptions(tmp_path)
    a = load(folder, "bear")
    # the old definition: re-read the folder's YAML, the history CSVs and the scenario chain
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) + sorted((folder / "history").glob("*.csv"))
    files += [p for p in a.scenario.paths if p not in files]
    h = hashlib.sha256()
    for path in files:
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    assert inputs_hash(a) == h.hexdigest()
    (folder / "claims.yaml").write_text("# edited while a run was going\n", encoding="utf-8")
    assert inputs_hash(a) == h.hexdigest()  # the hash of what the run read, not of the folder now
