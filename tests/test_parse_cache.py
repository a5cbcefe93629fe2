"""The parse cache of the timeline and the backtest (backtest.load_parsed): one parse per folder's
files, scenario and as-of quarter; a changed file is parsed again; an input error stays one."""

from __future__ import annotations

import pytest
from conftest import copy_assumptions, replace_once

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import backtest
from pivotmodel.errors import InputError
from pivotmodel.periods import parse_quarter
from pivotmodel.simulate import inputs_hash


def test_each_folder_and_quarter_is_parsed_once_until_a_file_changes(tmp_path, monkeypatch):
    folder = copy_assumptions(tmp_path)
    loads = []
    real = assumptions_mod.load
    monkeypatch.setattr(assumptions_mod, "load", lambda *args, **kw: loads.append(kw.get("as_of")) or real(*args, **kw))
    q = parse_quarter("FY2026Q4")  # the last reported quarter, named: a key of its own beside "no as-of"
    first = backtest.load_parsed(folder, None, as_of=q)
    assert backtest.load_parsed(folder, None, as_of=q) is first and len(loads) == 1
    assert first.history.last_quarter == q and inputs_hash(first) == inputs_hash(real(folder, None, as_of=q))
    latest = backtest.load_parsed(folder, None)
    assert latest is not first and latest.history.last_quarter == q and len(loads) == 2
    assert backtest.load_parsed(folder, None) is latest and len(loads) == 2
    replace_once(folder / "simulation.yaml", "seed: 20260522", "seed: 7")
    changed = backtest.load_parsed(folder, None, as_of=q)
    assert changed is not first and changed.settings["seed"] == 7 and len(loads) == 3


def test_an_input_error_is_raised_again_from_the_cache(tmp_path, monkeypatch):
    folder = copy_assumptions(tmp_path)
    loads = []
    real = assumptions_mod.load
    monkeypatch.setattr(assumptions_mod, "load", lambda *args, **kw: loads.append(1) or real(*args, **kw))
    early = parse_quarter("FY2026Q3")  # its base quarters straddle the segment change: the model cannot start there
    with pytest.raises(InputError) as one:
        backtest.load_parsed(folder, None, as_of=early)
    with pytest.raises(InputError) as two:
        backtest.load_parsed(folder, None, as_of=early)
    assert str(one.value) == str(two.value) and "FY2026Q3 is too early" in str(one.value) and len(loads) == 1
