"""The claim language: what the parser refuses (and says), and the evaluator on hand-worked
cases against the deterministic projection."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.claims import Claim, evaluate, parse_claims, parse_test
from pivotmodel.claims import TestError as ClaimTestError
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.periods import parse_quarter
from pivotmodel.yamlio import read_yaml

MC = Path(__file__).resolve().parent / "fixtures" / "mc"


@pytest.fixture(scope="module")
def a():
    return assumptions_mod.load()


@pytest.fixture(scope="module")
def p(a):
    return project(a)


def claim(test: str) -> Claim:
    return Claim("t", "words", {"publication": "p", "date": "2026", "url": "u"}, "reading", test, parse_test(test))


def value(test: str, p):
    v = evaluate(claim(test), p)
    assert v.metric.shape == (p.draws,) and v.holds.shape == (p.draws,)
    return v


def cols(p, first: str, last: str) -> slice:
    return slice(p.timeline.position(parse_quarter(first)), p.timeline.position(parse_quarter(last)) + 1)


# --- the parser refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,words",
    [
        ("__import__('os')", ["unknown function '__import__'", "valid: sum, cumsum, usd, share, yoy, all, any, first_fy, first_cy"]),
        ("__import__('os').system('true') > 0", ["unknown function", "valid: sum"]),
        ("cloud.revenue.__class__", ["dunder name", "not allowed"]),
        ("sum(cloud.revenue.__class__, FY2027) > 1", ["dunder name"]),
        ("(1).real", ["attribute access", "not allowed", "only series names"]),
        ("lambda: 1", ["Lambda", "not allowed in a claim test"]),
        ("[x for x in cloud.revenue]", ["ListComp", "not allowed"]),
        ("cloud.revenue[0] > 1", ["Subscript", "not allowed"]),
        ("foo > 1", ["unknown name 'foo'", "series (", "periods (", "functions ("]),
        ("sum(cloud.revnue, FY2027) > 1", ["unknown series 'cloud.revnue'", "valid series:", "cloud.revenue", "group.capex"]),
        ("max(sum(cloud.revenue, FY2027), 1) > 1", ["unknown function 'max'", "valid:"]),
        ("sum(cloud.revenue, period=FY2027) > 1", ["keyword arguments are not allowed"]),
        ("sum(cloud.revenue, FY2027) == 1", ["comparison Eq is not allowed", "> >= < <="]),
        ("sum(cloud.revenue, FY2027) ** 2 > 1", ["operator Pow is not allowed"]),
        ("'rm -rf' > 1", ["text 'rm -rf' is not allowed"]),
        ("True", ["constant True is not allowed"]),
        ("sum(cloud.revenue, FY2027) >", ["syntax error"]),
        ("", ["non-empty"]),
        ("1 if 1 else 2", ["IfExp", "not allowed"]),
    ],
)
def test_parser_rejects(text, words):
    with pytest.raises(ClaimTestError) as exc:
        parse_test(text)
    msg = str(exc.value)
    for w in words:
        assert w in msg, (text, msg)


def test_period_outside_timeline_is_caught_at_evaluation(p):
    c = claim("sum(cloud.revenue, FY2040) > 1")  # parses: FY2040 is a well-formed period
    with pytest.raises(ClaimTestError) as exc:
        evaluate(c, p)
    assert str(exc.value) == "period FY2040 is outside the model's timeline FY2024Q1..FY2031Q4"


def test_period_needed_outside_all_any(p):
    with pytest.raises(ClaimTestError, match=r"sum\(\) needs a period here"):
        evaluate(claim("sum(cloud.revenue) > 1"), p)
    with pytest.raises(ClaimTestError, match="yoy needs the year before FY2024"):
        evaluate(claim("yoy(cloud.revenue, FY2024) > 0"), p)
    with pytest.raises(ClaimTestError, match=r"share\(\) takes 2-3 arguments"):
        evaluate(claim("share(cloud.revenue) > 0"), p)
    with pytest.raises(ClaimTestError, match="expected a series name, got 'FY2027'"):
        evaluate(claim("share(cloud.revenue, FY2027) > 0"), p)


def test_parse_claims_names_id_file_and_line(p):
    path = MC / "claims_broken.yaml"
    raw = read_yaml(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    with pytest.raises(InputError) as exc:
        parse_claims(raw, label=str(path), projection=p)
    probs = exc.value.problems
    assert len(probs) == 2  # both broken claims, the good one is fine
    bad_series, bad_period = probs
    assert bad_series.file == str(path)
    assert bad_series.key == "claims[1] (misspelt_series).test"
    assert bad_series.line == next(i for i, l in enumerate(lines, 1) if "cloud.revnue" in l)
    assert "unknown series 'cloud.revnue'" in bad_series.message and "cloud.revenue" in bad_series.message
    assert bad_period.key == "claims[2] (far_future).test"
    assert bad_period.line == next(i for i, l in enumerate(lines, 1) if "FY2040" in l)
    assert "FY2040 is outside the model's timeline" in bad_period.message
    assert f"{path}:{bad_series.line}: claims[1] (misspelt_series).test:" in str(exc.value)
    # without a projection the period is not checked, the series is
    with pytest.raises(InputError) as exc2:
        parse_claims(raw, label=str(path))
    assert [q.key for q in exc2.value.problems] == ["claims[1] (misspelt_series).test"]


def test_parse_claims_duplicate_and_missing_keys(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text(
        "claims:\n"
        "  - {id: a_claim, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) < 0'}\n"
        "  - {id: a_claim, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) < 0'}\n"
        "  - {id: no_test, words: w, source: {publication: p, date: d, url: u}, reading: r}\n"
        "  - {id: extra_key, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) < 0', colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        parse_claims(read_yaml(path), label="claims.yaml")
    msgs = [str(q) for q in exc.value.problems]
    assert "claims.yaml:3: claims[1] (a_claim).id: duplicate claim id 'a_claim'" in msgs
    assert "claims.yaml:4: claims[2] (no_test): missing test" in msgs
    assert any(m.startswith("claims.yaml:5: claims[3] (extra_key).colour: unknown key") for m in msgs)


def test_bundled_register_parses_and_evaluates(a, p):
    claims = parse_claims(a.claims_raw, projection=p)
    assert len(claims) >= 10
    assert len({c.id for c in claims}) == len(claims)


def test_bare_range_as_value_is_a_test_error(p):
    with pytest.raises(ClaimTestError):
        parse_test("FY2026Q1:FY2028Q4 > 3")
        evaluate(claim("FY2026Q1:FY2028Q4 > 3"), p)


def test_unary_minus_on_condition_is_a_test_error(p):
    with pytest.raises(ClaimTestError):
        parse_test("-(sum(fcf, FY2027) > 0) < 0")
        evaluate(claim("-(sum(fcf, FY2027) > 0) < 0"), p)


# --- the evaluator, by hand ------------------------------------------------------------------


def test_share_cy2026_by_hand(p):
    s = cols(p, "FY2026Q4", "FY2027Q3")  # calendar 2026 = Jan-Dec 2026 = FY2026Q4..FY2027Q3
    assert s.stop - s.start == 4
    expected = p["cloud.revenue"][0, s].sum() / p["group.revenue"][0, s].sum()
    v = value("share(cloud.revenue, group.revenue, CY2026) > 0.30", p)
    assert v.metric[0] == pytest.approx(expected, rel=1e-12)
    assert 0.1 < expected < 0.3
    assert v.holds[0] == 0.0
    assert value("share(cloud.revenue, group.revenue, CY2026) > 0.10", p).holds[0] == 1.0


def test_sum_cumsum_usd_yoy_by_hand(p):
    rev = p["cloud.revenue"][0]
    fx = p["group.fx_usd_rmb"][0]
    fy27 = cols(p, "FY2027Q1", "FY2027Q4")
    fy26 = cols(p, "FY2026Q1", "FY2026Q4")
    assert value("sum(cloud.revenue, FY2027) > 0", p).metric[0] == pytest.approx(rev[fy27].sum() / 1000, rel=1e-12)
    assert value("sum(cloud.revenue, FY2027Q3) > 0", p).metric[0] == pytest.approx(rev[cols(p, "FY2027Q3", "FY2027Q3")].sum() / 1000, rel=1e-12)
    win = cols(p, "FY2026Q1", "FY2028Q4")
    assert value("cumsum(capex, FY2026Q1:FY2028Q4) > 0", p).metric[0] == pytest.approx(p["group.capex"][0, win].sum() / 1000, rel=1e-12)
    assert value("usd(cloud.revenue, FY2027) > 0", p).metric[0] == pytest.approx((rev[fy27] / fx[fy27]).sum() / 1000, rel=1e-12)
    assert value("yoy(cloud.revenue, FY2027) > 0", p).metric[0] == pytest.approx(rev[fy27].sum() / rev[fy26].sum() - 1, rel=1e-12)
    # arithmetic inside a test
    m = value("sum(cloud.revenue, FY2027) - 2 * sum(cloud.revenue, FY2026) / 4 > 0", p).metric[0]
    assert m == pytest.approx((rev[fy27].sum() - 2 * rev[fy26].sum() / 4) / 1000, rel=1e-12)


def test_first_fy_and_first_cy(p):
    rev = p["cloud.revenue"][0]
    assert value("first_fy(sum(cloud.revenue) > 0)", p).metric[0] == 2024.0
    assert value("first_cy(sum(cloud.revenue) > 0)", p).metric[0] == 2024.0  # CY2023 is incomplete
    never = value("first_fy(sum(cloud.revenue) > 1000000)", p)
    assert math.isinf(never.metric[0]) and never.metric[0] > 0
    # first FY whose cloud revenue exceeds the FY2028 total less 1 (RMB bn): FY2028 by construction
    fy28 = rev[cols(p, "FY2028Q1", "FY2028Q4")].sum() / 1000
    fy27 = rev[cols(p, "FY2027Q1", "FY2027Q4")].sum() / 1000
    assert fy27 < fy28 - 1
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1})", p).metric[0] == 2028.0
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1}) <= 2028", p).holds[0] == 1.0
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1}) <= 2027", p).holds[0] == 0.0


def test_all_and_any_over_quarters(p):
    q = p["cloud.revenue"][0, cols(p, "FY2027Q1", "FY2027Q4")] / 1000
    lo, hi = q.min(), q.max()
    assert lo < hi
    assert value(f"all(sum(cloud.revenue) > {lo - 0.01}, FY2027Q1:FY2027Q4)", p).holds[0] == 1.0
    assert value(f"all(sum(cloud.revenue) > {lo + 0.01}, FY2027Q1:FY2027Q4)", p).holds[0] == 0.0
    assert value(f"any(sum(cloud.revenue) > {hi - 0.01}, FY2027Q1:FY2027Q4)", p).holds[0] == 1.0
    assert value(f"any(sum(cloud.revenue) > {hi + 0.01}, FY2027Q1:FY2027Q4)", p).holds[0] == 0.0
    # quarter-wise yoy inside all()
    rev = p["cloud.revenue"][0]
    g = [rev[cols(p, f"FY2027Q{k}", f"FY2027Q{k}")].sum() / rev[cols(p, f"FY2026Q{k}", f"FY2026Q{k}")].sum() - 1 for k in range(1, 5)]
    assert value(f"all(yoy(cloud.revenue) > {min(g) - 1e-6}, FY2027Q1:FY2027Q4)", p).holds[0] == 1.0
    assert value(f"all(yoy(cloud.revenue) > {min(g) + 1e-6}, FY2027Q1:FY2027Q4)", p).holds[0] == 0.0


def test_negative_numbers_and_boolean_operators(p):
    fcf27 = p["group.fcf"][0, cols(p, "FY2027Q1", "FY2027Q4")].sum() / 1000
    c = claim(f"sum(fcf, FY2027) > {fcf27 - 1}")
    assert evaluate(c, p).holds[0] == 1.0
    neg = claim("sum(fcf, FY2027) > -1000")
    assert neg.threshold == -1000.0 and neg.comparison == ">"
    assert evaluate(neg, p).metric[0] == pytest.approx(fcf27, rel=1e-12)
    assert value("-sum(cloud.revenue, FY2027) < 0", p).holds[0] == 1.0
    assert value("-sum(cloud.revenue, FY2027) < 0", p).metric[0] < 0
    t, f = "sum(cloud.revenue, FY2027) > 0", "sum(cloud.revenue, FY2027) < 0"
    assert value(f"{t} and {f}", p).holds[0] == 0.0
    assert value(f"{t} or {f}", p).holds[0] == 1.0
    assert value(f"{t} and not {f}", p).holds[0] == 1.0
    assert value(f"not ({t})", p).holds[0] == 0.0
    # a chained comparison is a conjunction, and has no single threshold
    cc = claim("0 < sum(cloud.revenue, FY2027) < 1000000")
    assert cc.threshold is None
    assert evaluate(cc, p).holds[0] == 1.0


def test_nan_from_unreported_history_is_not_evaluable(p):
    # AI revenue is not reported before FY2026: a test reading FY2024Q1 is "not evaluable" (NaN), not "fails"
    assert np.isnan(p["cloud.ai_revenue"][0, cols(p, "FY2024Q1", "FY2024Q1")]).all()
    v = value("sum(cloud.ai_revenue, FY2024Q1) > 0", p)
    assert np.isnan(v.holds[0]) and np.isnan(v.metric[0])
    v = value("sum(cloud.ai_revenue, FY2024Q1) > 0 or sum(cloud.revenue, FY2027) > 0", p)
    assert np.isnan(v.holds[0])


def test_first_year_is_the_fiscal_reading(p):
    a = evaluate(claim("first_year(share(cloud.revenue, group.revenue) > 0.15) < 3000"), p)
    b = evaluate(claim("first_fy(share(cloud.revenue, group.revenue) > 0.15) < 3000"), p)
    # reported shares: FY2024 11.3%, FY2025 11.8%, FY2026 15.4% -> first fiscal year 2026
    assert np.array_equal(a.metric, b.metric) and a.metric[0] == 2026
