"""Distribution specs: medians and quantiles against closed forms, and impossible specs.

Closed forms are written out here (with the standard library's NormalDist for the normal
quantile) rather than taken from scipy, which the module itself uses.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pivotmodel.distributions import DIST_FIELDS, SpecError, build_distribution

Z95 = NormalDist().inv_cdf(0.95)  # 1.6448536...
GRID = (np.arange(20_000) + 0.5) / 20_000  # midpoints: the mean of ppf(GRID) ~ the mean


def build(kind, **params):
    return build_distribution(kind, params)


# --- medians and quantiles ----------------------------------------------------------------


def test_fixed():
    d = build("fixed", value=3.5)
    assert d.is_fixed and d.median() == 3.5
    np.testing.assert_array_equal(d.ppf(np.array([0.01, 0.5, 0.99])), [3.5, 3.5, 3.5])
    assert d.support == (3.5, 3.5)


def test_uniform():
    d = build("uniform", low=2, high=6)
    assert d.median() == pytest.approx(4.0)
    assert d.quantile(0.25) == pytest.approx(3.0)
    assert d.support == (2.0, 6.0)
    assert not d.is_fixed


def test_triangular_median_when_mode_is_right_of_centre():
    # c = 0.8 >= 0.5, so the median is on the left leg: a + sqrt(0.5 (b-a)(m-a)) = sqrt(0.4)
    d = build("triangular", low=0, mode=0.8, high=1)
    assert d.median() == pytest.approx(math.sqrt(0.4), rel=1e-12)
    # p = 0.9 > c: b - sqrt((1-p)(b-a)(b-m)) = 1 - sqrt(0.02)
    assert d.quantile(0.9) == pytest.approx(1 - math.sqrt(0.02), rel=1e-12)
    # p = 0.1 < c: a + sqrt(p (b-a)(m-a)) = sqrt(0.08)
    assert d.quantile(0.1) == pytest.approx(math.sqrt(0.08), rel=1e-12)


def test_triangular_median_when_mode_is_left_of_centre():
    # c = (12-10)/10 = 0.2 < 0.5: median = b - sqrt(0.5 (b-a)(b-m)) = 20 - sqrt(40)
    d = build("triangular", low=10, mode=12, high=20)
    assert d.median() == pytest.approx(20 - math.sqrt(40), rel=1e-12)
    assert d.support == (10.0, 20.0)


def test_symmetric_triangular_median_is_the_mode():
    assert build("triangular", low=0.75, mode=0.85, high=0.95).median() == pytest.approx(0.85, abs=1e-12)


@settings(max_examples=60)
@given(
    st.floats(-100, 100),
    st.floats(0.01, 100),
    st.floats(0, 1),
)
def test_triangular_median_closed_form(low, width, c):
    high, mode = low + width, low + c * width
    assume(low < high)
    d = build("triangular", low=low, mode=mode, high=high)
    if c >= 0.5:
        expected = low + math.sqrt(0.5 * width * (mode - low))
    else:
        expected = high - math.sqrt(0.5 * width * (high - mode))
    assert d.median() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    values = d.ppf(np.linspace(0.001, 0.999, 50))
    assert np.all(np.diff(values) >= 0)
    assert values.min() >= low and values.max() <= high


def test_pert_is_a_scaled_beta():
    # low 0, mode 0, high 1, lambda 4: Beta(1, 5), CDF 1 - (1-x)^5, median 1 - 0.5^(1/5)
    d = build("pert", low=0, mode=0, high=1)
    assert d.median() == pytest.approx(1 - 0.5 ** (1 / 5), rel=1e-10)
    assert d.quantile(0.9) == pytest.approx(1 - 0.1 ** (1 / 5), rel=1e-10)
    # lambda 2: Beta(1, 3), median 1 - 0.5^(1/3); scaled to [10, 20]
    d2 = build("pert", low=10, mode=10, high=20, **{"lambda": 2})
    assert d2.median() == pytest.approx(10 + 10 * (1 - 0.5 ** (1 / 3)), rel=1e-10)


def test_pert_mean_is_low_plus_four_modes_plus_high_over_six():
    d = build("pert", low=10, mode=20, high=60)
    assert np.mean(d.ppf(GRID)) == pytest.approx((10 + 4 * 20 + 60) / 6, rel=1e-4)  # 25
    assert build("pert", low=2, mode=5, high=8).median() == pytest.approx(5.0, abs=1e-12)


def test_normal():
    d = build("normal", mean=5, sd=2)
    assert d.median() == pytest.approx(5.0)
    assert d.quantile(0.95) == pytest.approx(5 + 2 * Z95, rel=1e-10)
    assert d.quantile(0.05) == pytest.approx(5 - 2 * Z95, rel=1e-10)


def test_truncnormal_stays_inside_its_bounds():
    d = build("truncnormal", mean=0.1, sd=0.5, low=0.0, high=0.3)
    values = d.ppf(np.concatenate([[0.0, 1e-12], GRID, [1 - 1e-12, 1.0]]))
    assert values.min() >= 0.0 and values.max() <= 0.3
    assert d.quantile(0.0) == pytest.approx(0.0) and d.quantile(1.0) == pytest.approx(0.3)
    assert d.support == (0.0, 0.3)


def test_truncnormal_quantiles_closed_form():
    # N(0,1) cut to [-1, 2]: q(p) = Phi^-1(Phi(-1) + p (Phi(2) - Phi(-1)))
    n = NormalDist()
    d = build("truncnormal", mean=0, sd=1, low=-1, high=2)
    for p in (0.1, 0.5, 0.9):
        expected = n.inv_cdf(n.cdf(-1) + p * (n.cdf(2) - n.cdf(-1)))
        assert d.quantile(p) == pytest.approx(expected, rel=1e-8)
    # symmetric cut: median is the mean
    assert build("truncnormal", mean=1, sd=2, low=-1, high=3).median() == pytest.approx(1.0, abs=1e-12)


def test_lognormal_from_median_and_sigma():
    d = build("lognormal", median=10, sigma=0.5)
    assert d.median() == pytest.approx(10.0, rel=1e-12)
    assert d.quantile(0.95) == pytest.approx(10 * math.exp(0.5 * Z95), rel=1e-10)
    assert d.quantile(0.05) == pytest.approx(10 * math.exp(-0.5 * Z95), rel=1e-10)
    assert d.support[0] == 0.0


def test_lognormal_from_p5_and_p95_reproduces_them():
    d = build("lognormal", p5=2, p95=8)
    assert d.quantile(0.05) == pytest.approx(2.0, rel=1e-10)
    assert d.quantile(0.95) == pytest.approx(8.0, rel=1e-10)
    assert d.median() == pytest.approx(4.0, rel=1e-10)  # sqrt(2 x 8)


def test_range_normal_reproduces_p5_and_p95():
    d = build("range", p5=10, p95=30)
    assert d.quantile(0.05) == pytest.approx(10.0, rel=1e-10)
    assert d.quantile(0.95) == pytest.approx(30.0, rel=1e-10)
    assert d.median() == pytest.approx(20.0, rel=1e-12)
    # sd = (p95 - p5) / (2 x 1.6449): the quartile is mean + 0.6745 sd
    assert d.quantile(0.75) == pytest.approx(20 + NormalDist().inv_cdf(0.75) * 20 / (2 * Z95), rel=1e-10)


def test_range_lognormal_reproduces_p5_and_p95():
    d = build("range", p5=10, p95=40, shape="lognormal")
    assert d.quantile(0.05) == pytest.approx(10.0, rel=1e-10)
    assert d.quantile(0.95) == pytest.approx(40.0, rel=1e-10)
    assert d.median() == pytest.approx(20.0, rel=1e-10)  # geometric mean


@settings(max_examples=60)
@given(st.floats(-1e4, 1e4), st.floats(1e-3, 1e4))
def test_range_reproduces_any_interval(p5, width):
    p95 = p5 + width
    assume(p5 < p95)
    d = build("range", p5=p5, p95=p95)
    assert d.quantile(0.05) == pytest.approx(p5, rel=1e-8, abs=1e-8)
    assert d.quantile(0.95) == pytest.approx(p95, rel=1e-8, abs=1e-8)


def test_bernoulli():
    d = build("bernoulli", p=0.3)
    np.testing.assert_array_equal(d.ppf(np.array([0.0, 0.29, 0.3, 0.31, 0.99])), [1, 1, 0, 0, 0])
    assert d.median() == 0.0  # P(event) < 1/2: the median case has no event
    assert np.mean(d.ppf(GRID)) == pytest.approx(0.3, abs=1e-4)
    assert build("bernoulli", p=0.7).median() == 1.0


def test_bernoulli_with_values():
    d = build("bernoulli", p=0.15, value_if_true=-0.04, value_if_false=0.0)
    assert d.median() == 0.0
    assert d.quantile(0.1) == -0.04
    assert d.support == (-0.04, 0.0)
    assert np.all(build("bernoulli", p=0.0).ppf(GRID) == 0.0)
    assert np.all(build("bernoulli", p=1.0).ppf(GRID) == 1.0)


def test_ppf_keeps_the_shape_of_its_input():
    u = np.full((3, 2), 0.5)
    for d in (build("fixed", value=1), build("bernoulli", p=0.5), build("normal", mean=0, sd=1)):
        assert d.ppf(u).shape == (3, 2)


# --- impossible specs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, params, field, message",
    [
        ("uniform", {"low": 2, "high": 1}, "high", r"low must be < high \(2.0 vs 1.0\)"),
        ("uniform", {"low": 1, "high": 1}, "high", r"low must be < high"),
        ("triangular", {"low": 0.5, "mode": 0.4, "high": 0.3}, "high", r"low must be < high \(0.5 vs 0.3\)"),
        ("pert", {"low": 3, "mode": 2, "high": 1}, "high", r"low must be < high"),
        ("truncnormal", {"mean": 0, "sd": 1, "low": 2, "high": 1}, "high", r"low must be < high"),
        ("range", {"p5": 30, "p95": 10}, "p95", r"p5 must be < p95 \(30.0 vs 10.0\)"),
        ("lognormal", {"p5": 8, "p95": 2}, "p95", r"p5 must be < p95"),
    ],
)
def test_low_above_high(kind, params, field, message):
    with pytest.raises(SpecError, match=message) as info:
        build_distribution(kind, params)
    assert info.value.field == field


@pytest.mark.parametrize("kind", ["triangular", "pert"])
@pytest.mark.parametrize("mode", [-0.1, 1.5])
def test_mode_outside_low_high(kind, mode):
    with pytest.raises(SpecError, match=rf"must lie in \[low, high\] = \[0.0, 1.0\], got {mode}") as info:
        build_distribution(kind, {"low": 0, "mode": mode, "high": 1})
    assert info.value.field == "mode"


@pytest.mark.parametrize("kind, extra", [("normal", {}), ("truncnormal", {"low": -1, "high": 1})])
@pytest.mark.parametrize("sd", [0, -0.5])
def test_sd_not_positive(kind, extra, sd):
    with pytest.raises(SpecError, match=rf"must be > 0, got {float(sd)}") as info:
        build_distribution(kind, {"mean": 0, "sd": sd, **extra})
    assert info.value.field == "sd"


@pytest.mark.parametrize("sigma", [0, -0.2])
def test_sigma_not_positive(sigma):
    with pytest.raises(SpecError, match=rf"must be > 0, got {float(sigma)}") as info:
        build("lognormal", median=1, sigma=sigma)
    assert info.value.field == "sigma"


@pytest.mark.parametrize("params, field", [({"median": 0, "sigma": 1}, "median"), ({"p5": -1, "p95": 2}, "p5")])
def test_lognormal_needs_positive_values(params, field):
    with pytest.raises(SpecError, match="must be > 0 for a lognormal") as info:
        build_distribution("lognormal", params)
    assert info.value.field == field


@pytest.mark.parametrize("params", [{"median": 1, "sigma": 1, "p5": 0.5}, {"median": 1}, {"sigma": 1}, {}, {"p5": 1}])
def test_lognormal_takes_median_and_sigma_or_p5_and_p95(params):
    with pytest.raises(SpecError, match="median and sigma") as info:
        build_distribution("lognormal", params)
    assert info.value.field == "median"


def test_unknown_field_names_the_field_and_the_valid_ones():
    with pytest.raises(SpecError, match=r"triangular takes low, mode, high; 'peak' is not one of them") as info:
        build("triangular", low=0, mode=1, high=2, peak=1)
    assert info.value.field == "peak"


def test_missing_field():
    with pytest.raises(SpecError, match=r"normal needs mean, sd; sd is missing") as info:
        build("normal", mean=0)
    assert info.value.field == "sd"


def test_unknown_family_lists_the_families():
    with pytest.raises(SpecError) as info:
        build("triangle", low=0, mode=1, high=2)
    assert info.value.field == "dist"
    assert "unknown distribution 'triangle'" in str(info.value)
    for family in DIST_FIELDS:
        assert family in str(info.value)


@pytest.mark.parametrize("p", [1.2, -0.1])
def test_probability_outside_0_1(p):
    with pytest.raises(SpecError, match=rf"must lie in \[0, 1\], got {p}") as info:
        build("bernoulli", p=p)
    assert info.value.field == "p"


@pytest.mark.parametrize(
    "value, message",
    [
        ("abc", r"must be a number, got 'abc'"),
        (True, r"must be a number, got True"),
        (None, "must be a number"),
        (float("nan"), "must be finite"),
        (float("inf"), "must be finite"),
    ],
)
def test_non_numbers(value, message):
    with pytest.raises(SpecError, match=message) as info:
        build("uniform", low=value, high=2)
    assert info.value.field == "low"


def test_other_impossible_fields():
    with pytest.raises(SpecError, match="must be normal or lognormal, got 'gamma'") as info:
        build("range", p5=1, p95=2, shape="gamma")
    assert info.value.field == "shape"
    with pytest.raises(SpecError, match="must be > 0, got 0.0") as info:
        build("pert", low=0, mode=1, high=2, **{"lambda": 0})
    assert info.value.field == "lambda"
    with pytest.raises(SpecError, match="must be a number") as info:
        build("bernoulli", p=0.5, value_if_true="yes")
    assert info.value.field == "value_if_true"


def test_every_field_declares_whether_it_scales_with_the_unit():
    from pivotmodel.distributions import DIST_FIELDS, SCALES_WITH_UNIT

    fields = {f for required, optional in DIST_FIELDS.values() for f in (*required, *optional)}
    assert fields == set(SCALES_WITH_UNIT)
    assert not SCALES_WITH_UNIT["sigma"] and not SCALES_WITH_UNIT["p"] and SCALES_WITH_UNIT["low"]


def test_lazy_scipy_stand_in_gives_scipys_numbers():
    """Support and quantiles computed without importing scipy.stats equal scipy's exactly."""
    from scipy import stats

    from pivotmodel.distributions import _Frozen

    cases = [
        ("beta", (2.2, 3.1), {"loc": 0.1, "scale": 0.3}),
        ("uniform", (), {"loc": 0.1, "scale": 0.7}),
        ("triang", (), {"c": 0.3, "loc": 0.1, "scale": 0.7}),
        ("triang", (), {"c": 0.0, "loc": -0.1, "scale": 0.7}),
        ("lognorm", (), {"s": 0.3, "scale": 2.2}),
        ("norm", (0.13, 0.071), {}),
        ("truncnorm", (-1.3, 2.7), {"loc": 3.3, "scale": 0.7}),
    ]
    for name, args, kwds in cases:
        lazy, real = _Frozen(name, *args, **kwds), getattr(stats, name)(*args, **kwds)
        assert lazy.support() == tuple(float(x) for x in real.support()), name
        for p in (1e-7, 0.05, 0.3, 0.5, 0.95, 1 - 1e-7):
            assert lazy.quantile(p) == float(real.ppf(p)), (name, p)
