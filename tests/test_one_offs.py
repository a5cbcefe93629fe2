"""One-offs declared under an anchored start: the run-rate excludes them; bad entries are named."""

from __future__ import annotations

import pytest
from conftest import copy_assumptions, replace_once

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.errors import InputError

KEY = "all_others.margin.start"
RTHK = "https://news.rthk.hk/rthk/en/component/k2/1842352-20260202.htm"
ONE_OFF = f'{{quarter: FY2026Q4, amount: -3000, source: "{RTHK}", note: '


def test_the_declared_one_off_leaves_the_run_rate_start_unchanged_by_it(bundled, tmp_path):
    anchor = bundled.inputs[KEY].anchor
    # FY2026Q3-Q4: (-9,800 - 20,698 + 3,000 Qwen campaign) / (67,339 + 65,459) = -27,498 / 132,798
    assert anchor.value == pytest.approx(-27_498 / 132_798)
    assert anchor.excluded == -3000.0
    assert "one-offs removed from all_others.adjusted_ebita: -3,000 [FY2026Q4 -3,000]" in anchor.describe()
    # without the declaration the start carries the campaign: -30,498 / 132,798 = -23.0%
    folder = copy_assumptions(tmp_path)
    replace_once(folder / "all_others.yaml", ONE_OFF, '{quarter: FY2024Q4, amount: -3000, source: "x", note: ')
    moved = assumptions_mod.load(folder).inputs[KEY].anchor
    assert moved.value == pytest.approx(-30_498 / 132_798)  # a one-off outside the quarters read changes nothing
    assert "[FY2024Q4 -3,000, outside the quarters read]" in moved.describe()


def test_a_one_off_without_a_source_is_an_input_error(tmp_path):
    folder = copy_assumptions(tmp_path)
    replace_once(folder / "all_others.yaml", f'amount: -3000, source: "{RTHK}", ', "amount: -3000, ")
    with pytest.raises(InputError) as e:
        assumptions_mod.load(folder)
    expected = (
        "all_others.margin.start.anchor.exclude[0].source: a one-off needs its source (a sources.yaml id or a URL)"
    )
    assert expected in str(e.value)
