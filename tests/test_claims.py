"""The claim language: what the parser refuses (and says), and the evaluator on hand-worked
cases against the deterministic projection."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.claims import Claim, evaluate, parse_claims, parse_condition, parse_test
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
    return Claim("t", "words", {"publication": "p", "date": "2026", "url": "u"}, "reading", test, parse_condition(test))


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
        (
            "__import__('os')",
            ["unknown function '__import__'", "valid: sum, cumsum, usd, share, yoy, all, any, first_fy, first_cy"],
        ),
        ("__import__('os').system('true') > 0", ["unknown function", "valid: sum"]),
        ("cloud.revenue.__class__", ["dunder name", "not allowed"]),
        ("sum(cloud.revenue.__class__, FY2027) > 1", ["dunder name"]),
        ("(1).real", ["attribute access", "not allowed", "only series names"]),
        ("lambda: 1", ["Lambda", "not allowed in a claim test"]),
        ("[x for x in cloud.revenue]", ["ListComp", "not allowed"]),
        ("cloud.revenue[0] > 1", ["Subscript", "not allowed"]),
        ("foo > 1", ["unknown name 'foo'", "series (", "periods (", "functions ("]),
        (
            "sum(cloud.revnue, FY2027) > 1",
            ["unknown series 'cloud.revnue'", "valid series:", "cloud.revenue", "group.capex"],
        ),
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
    assert bad_series.line == next(i for i, ln in enumerate(lines, 1) if "cloud.revnue" in ln)
    assert "unknown series 'cloud.revnue'" in bad_series.message and "cloud.revenue" in bad_series.message
    assert bad_period.key == "claims[2] (far_future).test"
    assert bad_period.line == next(i for i, ln in enumerate(lines, 1) if "FY2040" in ln)
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
        "  - {id: a_claim, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) < "
        "0'}\n"
        "  - {id: a_claim, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) < "
        "0'}\n"
        "  - {id: no_test, words: w, source: {publication: p, date: d, url: u}, reading: r}\n"
        "  - {id: extra_key, words: w, source: {publication: p, date: d, url: u}, reading: r, test: 'sum(fcf, FY2027) "
        "< 0', colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        parse_claims(read_yaml(path), label="claims.yaml")
    msgs = [str(q) for q in exc.value.problems]
    assert "claims.yaml:3: claims[1] (a_claim).id: duplicate claim id 'a_claim'" in msgs
    assert "claims.yaml:4: claims[2] (no_test): missing test" in msgs
    assert any(m.startswith("claims.yaml:5: claims[3] (extra_key).colour: unknown key") for m in msgs)


def test_bundled_register_parses_and_evaluates(a, p):
    claims = parse_claims(
        read_yaml(a.directory / "claims.yaml"), projection=p
    )  # the loader's parse, plus the base case
    assert [(c.id, c.test, c.index) for c in claims] == [(c.id, c.test, c.index) for c in a.claims]
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
    assert value("sum(cloud.revenue, FY2027Q3) > 0", p).metric[0] == pytest.approx(
        rev[cols(p, "FY2027Q3", "FY2027Q3")].sum() / 1000, rel=1e-12
    )
    win = cols(p, "FY2026Q1", "FY2028Q4")
    assert value("cumsum(capex, FY2026Q1:FY2028Q4) > 0", p).metric[0] == pytest.approx(
        p["group.capex"][0, win].sum() / 1000, rel=1e-12
    )
    assert value("usd(cloud.revenue, FY2027) > 0", p).metric[0] == pytest.approx(
        (rev[fy27] / fx[fy27]).sum() / 1000, rel=1e-12
    )
    assert value("yoy(cloud.revenue, FY2027) > 0", p).metric[0] == pytest.approx(
        rev[fy27].sum() / rev[fy26].sum() - 1, rel=1e-12
    )
    # arithmetic inside a test
    m = value("sum(cloud.revenue, FY2027) - 2 * sum(cloud.revenue, FY2026) / 4 > 0", p).metric[0]
    assert m == pytest.approx((rev[fy27].sum() - 2 * rev[fy26].sum() / 4) / 1000, rel=1e-12)


def test_first_fy_and_first_cy(p):
    rev = p["cloud.revenue"][0]
    assert value("first_fy(sum(cloud.revenue) > 0) <= 2031", p).metric[0] == 2024.0
    assert value("first_cy(sum(cloud.revenue) > 0) <= 2030", p).metric[0] == 2024.0  # CY2023 is incomplete
    never = value("first_fy(sum(cloud.revenue) > 1000000) <= 2031", p)
    assert math.isinf(never.metric[0]) and never.metric[0] > 0
    assert never.holds[0] == 0.0  # "never within the timeline" is a defined outcome: the claim fails
    assert value("first_fy(sum(cloud.revenue) > 1000000) > 2030", p).holds[0] == 1.0
    # first FY whose cloud revenue exceeds the FY2028 total less 1 (RMB bn): FY2028 by construction
    fy28 = rev[cols(p, "FY2028Q1", "FY2028Q4")].sum() / 1000
    fy27 = rev[cols(p, "FY2027Q1", "FY2027Q4")].sum() / 1000
    assert fy27 < fy28 - 1
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1}) <= 2031", p).metric[0] == 2028.0
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1}) <= 2028", p).holds[0] == 1.0
    assert value(f"first_fy(sum(cloud.revenue) > {fy28 - 1}) <= 2027", p).holds[0] == 0.0
    assert value(f"2028 >= first_fy(sum(cloud.revenue) > {fy28 - 1})", p).holds[0] == 1.0


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
    g = [
        rev[cols(p, f"FY2027Q{k}", f"FY2027Q{k}")].sum() / rev[cols(p, f"FY2026Q{k}", f"FY2026Q{k}")].sum() - 1
        for k in range(1, 5)
    ]
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
    # a band is two comparisons joined by and (chained comparisons are refused)
    cc = claim("0 < sum(cloud.revenue, FY2027) and sum(cloud.revenue, FY2027) < 1000000")
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
    a = evaluate(claim("first_year(share(cloud.revenue, group.revenue) > 0.15) < 2031"), p)
    b = evaluate(claim("first_fy(share(cloud.revenue, group.revenue) > 0.15) < 2031"), p)
    # reported shares: FY2024 11.3%, FY2025 11.8%, FY2026 15.4% -> first fiscal year 2026
    assert np.array_equal(a.metric, b.metric) and a.metric[0] == 2026


# --- a test is a bounded condition; a non-finite value is never "holds" (issue 9) -------------

FIXTURES_BAD = Path(__file__).resolve().parent / "fixtures" / "bad"


def validate_claims_fixture(capsys, tmp_path, kind: str) -> str:
    """Lay ``tests/fixtures/bad/<kind>/claims.yaml`` over a copy of the bundled folder, run
    ``pivotmodel validate`` and return its stderr (exit 2, no traceback)."""
    import shutil

    from pivotmodel.cli import main

    directory = tmp_path / "assumptions"
    shutil.copytree(assumptions_mod.default_directory(), directory)
    shutil.copytree(FIXTURES_BAD / kind, directory, dirs_exist_ok=True)
    rc = main(["validate", "--assumptions", str(directory)])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in err and "OK:" not in out, (rc, out, err)
    assert f"assumptions/claims.yaml:7: claims[0] ({kind}).test: " in err
    return err


def test_a_number_is_not_a_test(capsys, tmp_path):
    err = validate_claims_fixture(capsys, tmp_path, "claim_not_boolean")
    assert (
        "a test must be a condition (a comparison, or comparisons joined with and/or/not); this one is a number" in err
    )


def test_first_fy_compared_beyond_the_timeline(capsys, tmp_path):
    err = validate_claims_fixture(capsys, tmp_path, "claim_unbounded_first_fy")
    assert (
        "first_fy() is compared with 2040, outside the complete FY years of the model's timeline (2024-2031); "
        "the model cannot tell whether the condition first holds there"
    ) in err


def test_division_by_zero_in_the_base_case(capsys, tmp_path):
    err = validate_claims_fixture(capsys, tmp_path, "claim_division_by_zero")
    assert (
        "not evaluable in the base case: sum(cloud.revenue, FY2027) / (sum(capex, FY2027) - sum(capex, FY2027)) "
        "is not a finite number (a division by zero or an overflow)"
    ) in err


def test_chained_comparison_is_refused(capsys, tmp_path):
    err = validate_claims_fixture(capsys, tmp_path, "claim_chained_comparison")
    assert "chained comparisons (a <= x <= b) are not allowed; write a band as two comparisons joined by 'and'" in err


def test_a_test_of_1500_terms_is_refused_with_the_limit(capsys, tmp_path):
    err = validate_claims_fixture(capsys, tmp_path, "claim_too_long")
    assert "the test is 31,501 characters long; the limit is 2,000 (split the claim)" in err
    assert len(err) < 1000  # the message does not echo thirty thousand characters


@pytest.mark.parametrize(
    "text, words",
    [
        ("first_fy(sum(cloud.revenue) > 0)", "this one is a year (or infinity). Bound it, e.g. first_fy(cond) <= 2031"),
        ("first_fy(sum(cloud.revenue) > 0) + 1 <= 2031", "first_fy/first_cy can only be compared with a year"),
        ("first_fy(sum(cloud.revenue) > 0) <= first_cy(sum(cloud.revenue) > 0)", "must be compared with a year"),
        ("all(first_fy(sum(cloud.revenue) > 0) <= 2030, FY2027Q1:FY2027Q4)", "first_fy() cannot be used inside all()"),
        (
            "sum(capex, FY2027) > 1 and sum(capex, FY2027)",
            "'and' joins conditions (comparisons); 'sum(capex, FY2027)' is not one",
        ),
        ("not sum(capex, FY2027)", "'not' applies to a condition"),
        ("(sum(capex, FY2027) > 1) > 0", "a comparison needs numbers on both sides"),
        ("(sum(capex, FY2027) > 1) + 1 > 0", "arithmetic needs numbers"),
        ("all(sum(capex), FY2027Q1:FY2027Q4)", "the first argument of all() must be a condition"),
        ("sum(capex, FY2027) > 1e999", "is not finite"),
        ("sum(sum(capex, FY2027), FY2027) > 1", "sum() takes series and a period"),
        ("not " * 60 + "sum(capex, FY2027) > 1", "the test is nested 63 levels deep; the limit is 40"),
        (
            "1 + " * 300 + "sum(capex, FY2027) > 0",
            "the test has 606 terms and operators; the limit is 400 (split the claim)",
        ),
    ],
)
def test_parser_refuses_tests_that_are_not_bounded_conditions(text, words):
    with pytest.raises(ClaimTestError) as exc:
        parse_condition(text)
    assert words in str(exc.value), str(exc.value)


def test_a_non_finite_metric_is_not_evaluable_in_that_draw_only(a, p):
    """A draw where the test divides by zero is "not evaluable" (NaN), never counted as
    holding; the other draws are evaluated as usual."""
    from conftest import sampled_values

    pp = project(a, sampled_values(a, 4, seed=5))
    fy27 = pp.total("group.capex", "FY2027") / 1000
    assert len(set(fy27)) == 4
    # zero denominator in draw 2 only
    c = claim(f"sum(cloud.revenue, FY2027) / (sum(capex, FY2027) - {float(fy27[2])!r}) > 0")
    with np.errstate(all="ignore"):
        v = evaluate(c, pp)
    assert np.isnan(v.holds[2]) and not np.isnan(v.holds[[0, 1, 3]]).any()
    assert "is not a finite number" in v.undefined
    # share() and yoy() with a zero denominator: undefined, not "holds" and not a history gap
    zero = claim("share(cloud.revenue, group.revenue, FY2027) * 0 / 0 < 1")
    with np.errstate(all="ignore"):
        assert np.isnan(evaluate(zero, p).holds[0])
    with np.errstate(all="ignore"):
        v = evaluate(claim("sum(cloud.revenue, FY2027) / 0 > 1"), p)
    assert np.isnan(v.holds[0]) and v.undefined.startswith("sum(cloud.revenue, FY2027) / 0 is not a finite number")


def test_a_history_gap_is_not_reported_as_a_division_by_zero(p):
    with np.errstate(all="ignore"):
        v = evaluate(claim("usd(china_ecommerce.quick_commerce_ebita, FY2025Q3) <= -9.9"), p)
    assert np.isnan(v.holds[0]) and v.undefined == ""


def test_empty_or_missing_claims_register_is_an_error():
    with pytest.raises(
        InputError, match="claims.yaml: is missing: simulate, claims and report need at least one claim"
    ):
        parse_claims(None, "assumptions/claims.yaml")
    with pytest.raises(InputError, match="claims: is an empty list"):
        parse_claims({"claims": []}, "assumptions/claims.yaml")


@pytest.mark.parametrize(
    "test, expected",
    [
        ("usd(cloud.revenue, FY2031) > 100", ("usd", ("cloud.revenue",), "FY2031", "US$ bn", ">", 100.0)),
        (
            "cumsum(capex, FY2026Q1:FY2028Q4) > 380",
            ("cumsum", ("group.capex",), "FY2026Q1:FY2028Q4", "RMB bn", ">", 380.0),
        ),
        (
            "yoy(group.adjusted_ebita, FY2026Q3) < -0.60",
            ("yoy", ("group.adjusted_ebita",), "FY2026Q3", "ratio", "<", -0.6),
        ),
        (
            "share(cloud.adjusted_ebita, cloud.revenue, FY2027) >= 0.09",
            ("share", ("cloud.adjusted_ebita", "cloud.revenue"), "FY2027", "ratio", ">=", 0.09),
        ),
        (
            "sum(group.eps_non_gaap_ads_usd, FY2027) > 9",
            ("sum", ("group.eps_non_gaap_ads_usd",), "FY2027", "US$ per ADS", ">", 9.0),
        ),
        # a difference of RMB totals stays RMB bn; a quotient of two RMB amounts is a ratio
        ("sum(capex, FY2027) - sum(capex, FY2026) > 10", (None, ("group.capex",), None, "RMB bn", ">", 10.0)),
        (
            "(sum(cloud.ai_revenue, FY2027) - sum(cloud.ai_revenue, FY2026)) / (sum(cloud.revenue, FY2027) - "
            "sum(cloud.revenue, FY2026)) > 0.5",
            (None, ("cloud.ai_revenue", "cloud.revenue"), None, "ratio", ">", 0.5),
        ),
        # no metric: the per-draw value is the 0/1 outcome
        ("all(yoy(cloud.revenue) >= 0.26, FY2027Q1:FY2027Q4)", (None, ("cloud.revenue",), None, "outcome", None, None)),
        (
            "sum(capex, FY2027) >= 108 and sum(capex, FY2027) <= 132",
            (None, ("group.capex",), None, "outcome", None, None),
        ),
    ],
)
def test_measure_read_off_the_parsed_test(test, expected):
    from pivotmodel.claims import measure_of

    m = measure_of(parse_test(test).body)
    assert (m.function, m.series, m.period, m.unit, m.comparison, m.threshold) == expected


def test_measure_of_first_fy_holds_the_year_and_the_condition():
    c = Claim(
        "x",
        "w",
        {},
        "r",
        "first_fy(share(cloud.revenue, group.revenue) > 0.30) <= 2031",
        parse_test("first_fy(share(cloud.revenue, group.revenue) > 0.30) <= 2031"),
    )
    m = c.measure
    assert (m.function, m.unit, m.comparison, m.threshold) == ("first_fy", "year", "<=", 2031.0)
    assert (m.condition.function, m.condition.series, m.condition.threshold) == (
        "share",
        ("cloud.revenue", "group.revenue"),
        0.30,
    )
    assert (c.threshold, c.comparison) == (2031.0, "<=")
