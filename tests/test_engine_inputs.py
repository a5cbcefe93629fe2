"""The closed engine: prepared once per run, picklable, and free of the loader."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
from conftest import sampled_values

from pivotmodel.model import prepare, project, run
from pivotmodel.model.prepare import capex_history


def test_the_engine_package_does_not_import_the_loader():
    code = ("import sys, pivotmodel.model; "
            "print(sorted(m for m in sys.modules if m in ('pivotmodel.assumptions', 'pivotmodel.history', 'pivotmodel.yamlio')))")
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
    np.testing.assert_array_equal(e.base.reported["cloud.revenue"], [bundled.history.value("cloud.revenue", q) for q in e.base.quarters])
    np.testing.assert_array_equal(e.capex_between(last + (-3), last), capex_history(bundled.history, last + (-3), last))
    assert not e.capex_history.flags.writeable  # shared by every chunk: never written
    assert e.legacy_fy == (last.fiscal_year if last.q == 4 else last.fiscal_year - 1)
    # run without values is the base case: one draw at every input's median
    base = run(e)
    assert base.draws == 1
    np.testing.assert_array_equal(base["group.revenue"], project(bundled)["group.revenue"])
