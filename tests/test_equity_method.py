"""Ant Group's part of the equity-method line (model/equity_method.py), on the frozen fixture."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pivotmodel.model import project


def test_ant_share_is_stake_times_its_profit_and_the_rest_is_the_remainder(bundled):
    p = project(bundled)
    first = p.timeline.position(p.first_projected)
    # Ant's quarterly net profit, triangular (2,000, 4,500, 12,000) at its median: the mode lies
    # below the midpoint, so median = 12,000 - sqrt((12,000 - 2,000) x (12,000 - 4,500) / 2)
    # = 12,000 - 6,123.72 = 5,876.28; Alibaba's 33% = 1,939.17 a quarter
    median = 12_000 - math.sqrt(10_000 * 7_500 / 2)
    ant = p["group.equity_method_ant"][0, first:]
    np.testing.assert_allclose(ant, 0.33 * median, rtol=1e-9)
    assert ant[0] == pytest.approx(1_939.17, abs=0.01)
    # the line is unchanged (the input earnings.equity_method); the other investees are the rest
    np.testing.assert_allclose(
        p["group.equity_method_others"][0, first:] + ant, p["group.equity_method"][0, first:], rtol=1e-12
    )
