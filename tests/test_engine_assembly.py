"""run() gives exactly the arrays of a plain reference, series by series, bit for bit.

The reference below is the engine written the straightforward way: every block makes fresh
arrays, every series is computed whatever is kept, and each output is built as a fresh
(draws, timeline) array from the reported row with ``np.where`` splices, then the projected
quarters copied in. The engine does the same work with fewer passes (results written in
place or straight into the arrays it returns, series nobody kept dropped early, history
splices resolved once in prepare, quick-commerce powers once a year); nothing of that may
change a number. Blocks outside the ones the engine assembles (cloud, capex, earnings, the
paths) are called as they are.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sampled_values

import pivotmodel.assumptions as assumptions_mod
import pivotmodel.model as model
from pivotmodel.model import SERIES, prepare, run
from pivotmodel.model.capex import use_shares
from pivotmodel.model.china_ecommerce import _order_value_times
from pivotmodel.model.cloud import exit_streams, project_cloud, project_cloud_demand
from pivotmodel.model.earnings import project_earnings
from pivotmodel.model.group import GROUP_READS, SEGMENTS, project_group
from pivotmodel.model.growth_segments import GROWTH_SEGMENTS
from pivotmodel.model.inputs import Values, exit_add_back
from pivotmodel.model.paths import by_quarter, compound_yoy, converging_path, quarter_steps
from pivotmodel.model.supply import project_supply
from pivotmodel.sampling import make_design

# --- the plain reference ------------------------------------------------------------------


def _path(v, prefix, quarters):
    return converging_path(v(f"{prefix}.start"), v(f"{prefix}.long_run"), v(f"{prefix}.half_life"), quarters)


def _plain_china_ecommerce(v, base, quarters):
    P, q = "china_ecommerce", "china_ecommerce.quick_commerce"
    cmr0, qc0 = base.series(v, f"{P}.cmr"), base.series(v, f"{q}_revenue")
    other0 = base.series(v, f"{P}.revenue") - cmr0 - qc0
    take0 = v(f"{P}.take_rate.base")
    gmv = compound_yoy(cmr0 / take0, _path(v, f"{P}.gmv.growth", quarters))
    first_year = (np.arange(quarters) < 4)[None, :]
    take_growth = _path(v, f"{P}.take_rate.growth", quarters) + by_quarter(
        np.multiply, v(f"{P}.regulatory_shock"), first_year
    )
    cmr = gmv * compound_yoy(np.broadcast_to(take0, (v.draws, 4)), take_growth)
    monetisation = _path(v, f"{q}.monetisation", quarters)
    aov0 = v(f"{q}.order_value.base")
    orders = compound_yoy(qc0 / (aov0 * monetisation[:, :1]), _path(v, f"{q}.orders.growth", quarters))
    year = np.floor(quarter_steps(quarters) / 4.0) + 1.0
    revenue_per_order = aov0 * np.asfortranarray((1.0 + v(f"{q}.order_value.growth")) ** year) * monetisation
    qc_revenue = orders * revenue_per_order
    per_order = by_quarter(
        lambda s, t, b: s * (1.0 - t / b),
        v(f"{q}.loss_per_order.start"),
        quarter_steps(quarters),
        v(f"{q}.quarters_to_breakeven"),
    )
    qc_ebita = np.minimum(per_order, v(f"{q}.long_run_margin") * revenue_per_order) * orders
    other = compound_yoy(other0, _path(v, f"{P}.other_revenue.growth", quarters))
    return {
        f"{P}.gmv": gmv,
        f"{P}.cmr": cmr,
        f"{q}_orders": orders,
        f"{q}_revenue": qc_revenue,
        f"{q}_ebita": qc_ebita,
        f"{P}.other_revenue": other,
        f"{P}.revenue": cmr + qc_revenue + other,
        f"{P}.adjusted_ebita": _path(v, f"{P}.core_margin", quarters) * (cmr + other) + qc_ebita,
    }


def _plain_growth_segment(e, v, base, quarters, segment, capex, revenue_only=False):
    growth = _path(v, f"{segment}.revenue.growth", quarters)
    if revenue_only:
        return compound_yoy(base.series(v, f"{segment}.revenue"), growth)
    start, depreciation = v(f"{segment}.margin.start"), 0.0
    if segment == "all_others":
        own = use_shares(v)[1]
        china, intl = v("capex.rest_share.china_ecommerce"), v("capex.rest_share.international")
        share = own + (1.0 - v("cloud.supply.capacity_share_of_capex") - own) * (1.0 - china - intl)
        start = start + exit_add_back(e, v, f"{segment}.margin.start", capex, share)
        depreciation = share * capex.depreciation_new
    margin = converging_path(start, v(f"{segment}.margin.long_run"), v(f"{segment}.margin.half_life"), quarters)
    revenue = compound_yoy(base.series(v, f"{segment}.revenue"), growth)
    out = {f"{segment}.revenue": revenue, f"{segment}.adjusted_ebita": margin * revenue - depreciation}
    if segment == "all_others":
        out[f"{segment}.ai_depreciation"] = own * capex.depreciation_new
        out[f"{segment}.new_depreciation"] = depreciation
    return out


def _plain_charges(e, v, seg, capex):
    """China E-commerce's and AIDC's shares of the rest of new depreciation, beyond the exit
    quarter's rate (share x depreciation / revenue in FY2026Q4) applied to revenue."""
    cloud, own = use_shares(v)
    rest = 1.0 - cloud - own
    out = {}
    for segment in ("china_ecommerce", "international"):
        share = rest * v(f"capex.rest_share.{segment}")
        exit_rate = share * capex.depreciation_new_history[:, -1:] / e.base.series(v, f"{segment}.revenue")[:, -1:]
        charged = share * capex.depreciation_new
        net = exit_rate * seg[f"{segment}.revenue"] - charged
        out[f"{segment}.adjusted_ebita"] = seg[f"{segment}.adjusted_ebita"] + net
        out[f"{segment}.new_depreciation"] = charged
    return out


def _plain_group(v, seg, capex, quarters):
    n = v.draws
    segment_revenue = sum(seg[f"{s}.revenue"] for s in SEGMENTS)
    elimination = -(
        seg["cloud.internal_revenue"] + v("group.elimination.other_share") * (segment_revenue - seg["cloud.revenue"])
    )
    segment_ebita = sum(seg[f"{s}.adjusted_ebita"] for s in SEGMENTS)
    unallocated = np.broadcast_to(v("group.unallocated"), (n, quarters))
    ebita_elim = np.broadcast_to(v("group.ebita_elimination"), (n, quarters))
    adjusted_ebita = segment_ebita + unallocated + ebita_elim
    ebitda = adjusted_ebita + capex.depreciation
    cash_tax = v("group.tax.cash_tax_rate") * np.maximum(adjusted_ebita, 0.0)
    return {
        "group.segment_revenue": segment_revenue,
        "group.elimination": elimination,
        "group.revenue": segment_revenue + elimination,
        "group.segment_ebita": segment_ebita,
        "group.unallocated": unallocated,
        "group.ebita_elimination": ebita_elim,
        "group.adjusted_ebita": adjusted_ebita,
        "group.depreciation": capex.depreciation,
        "group.depreciation_new": capex.depreciation_new,
        "group.adjusted_ebitda": ebitda,
        "group.capex": capex.capex,
        "group.cash_tax": cash_tax,
        "group.capex_to_revenue": capex.capex / (segment_revenue + elimination),
        "group.fcf_proxy": ebitda - capex.capex - cash_tax,
        "group.fcf": ebitda - capex.capex - cash_tax + v("group.other_cash_items"),
        "group.fx_usd_rmb": np.broadcast_to(v("group.fx.usd_rmb"), (n, quarters)),
    }


def _plain_estimates(e, v):
    s = lambda name: e.base.series(v, name)  # noqa: E731
    cloud, ai = s("cloud.revenue"), s("cloud.ai_revenue")
    internal = v("cloud.internal_share") * cloud
    ecom, cmr, qc = s("china_ecommerce.revenue"), s("china_ecommerce.cmr"), s("china_ecommerce.quick_commerce_revenue")
    return {
        "cloud.internal_revenue": internal,
        "cloud.ai_revenue": ai,
        "cloud.external_revenue": cloud - internal,
        "cloud.other_external_revenue": cloud - internal - ai,
        "china_ecommerce.cmr": cmr,
        "china_ecommerce.quick_commerce_revenue": qc,
        "china_ecommerce.other_revenue": ecom - cmr - qc,
        "china_ecommerce.quick_commerce_ebita": s("china_ecommerce.quick_commerce_ebita"),
        "china_ecommerce.quick_commerce_orders": qc
        / (
            v("china_ecommerce.quick_commerce.order_value.base")
            * v("china_ecommerce.quick_commerce.monetisation.start")
        ),
    }


def _plain_run(a, values):
    """Every series over the whole timeline, (draws, quarters), the plain way."""
    e = prepare(a)  # for the blocks called as they are (capex history, anchors)
    h, first, quarters = a.history, e.first_projected, e.quarters
    data = {k: np.array([x]) for k, x in e.base_values.items()} if values is None else values
    v = Values(data, max(np.asarray(x).size for x in data.values()))
    demand = project_cloud_demand(v, e.base, quarters)
    seg = _plain_china_ecommerce(v, e.base, quarters)
    seg.update(_plain_growth_segment(e, v, e.base, quarters, "international", None))
    revenue_all_others = _plain_growth_segment(e, v, e.base, quarters, "all_others", None, revenue_only=True)
    # capex is funded by the other segments' revenue after elimination (+ cloud external, in the loop)
    funding = (1.0 - v("group.elimination.other_share")) * (
        seg["china_ecommerce.revenue"] + seg["international.revenue"] + revenue_all_others
    )
    streams = exit_streams(v, e.base)
    capex, supply = project_supply(
        e, v, first, quarters, demand, funding, streams["ai_revenue"] + streams["other_external_revenue"]
    )
    seg.update(project_cloud(e, v, quarters, capex, supply))
    for segment in GROWTH_SEGMENTS:
        seg.update(_plain_growth_segment(e, v, e.base, quarters, segment, capex))
    seg.update(_plain_charges(e, v, seg, capex))
    seg.update(_plain_group(v, seg, capex, quarters))
    seg.update(project_earnings(v, seg, first, quarters))
    ant = np.broadcast_to(v("earnings.ant.stake") * v("earnings.ant.net_profit"), seg["group.equity_method"].shape)
    seg.update({"group.equity_method_ant": ant, "group.equity_method_others": seg["group.equity_method"] - ant})

    timeline = e.timeline
    split = timeline.position(first)
    reported = tuple(timeline.quarters[:split])
    estimated = _plain_estimates(e, v)
    out = {}
    for name in SERIES:
        full = np.empty((v.draws, len(timeline)), order="F")
        full[:, :split] = h.row(name, reported)
        if name == "group.fx_usd_rmb":
            full[:, :split] = np.where(np.isnan(full[:, :split]), v("group.fx.usd_rmb"), full[:, :split])
        if name == "group.capex":
            full[:, :split] = np.where(
                np.isnan(full[:, :split]), h.row("group.capex_stated", reported), full[:, :split]
            )
        if name == "group.capex_to_revenue":
            stated = np.where(
                np.isnan(h.row("group.capex", reported)),
                h.row("group.capex_stated", reported),
                h.row("group.capex", reported),
            )
            full[:, :split] = stated / np.array(h.row("group.revenue", reported), dtype=float)
        if name == "group.fcf_proxy":
            ebita = np.array([h.value("group.adjusted_ebita", q) for q in reported])
            da = np.array([h.annual_value("group.depreciation", q.fiscal_year) / 4.0 for q in reported])
            capex_h = np.array([h.capex(q) for q in reported])
            full[:, :split] = ebita + da - capex_h - v("group.tax.cash_tax_rate") * np.maximum(ebita, 0.0)
        if name in estimated:
            cols = slice(split - 4, split)
            full[:, cols] = np.where(np.isnan(full[:, cols]), estimated[name], full[:, cols])
        full[:, split:] = seg[name]
        out[name] = full
    return out


# --- the tests ----------------------------------------------------------------------------

SMALL_KEEP = (
    "group.fx_usd_rmb",
    "group.capex",
    "group.fcf_proxy",
    "group.revenue",
    "cloud.ai_revenue",
    "china_ecommerce.quick_commerce_ebita",
)


def _assert_same(p, reference, names):
    assert set(p.series) == set(names)
    for name in names:
        got, want = p[name], np.broadcast_to(reference[name], p[name].shape)
        assert got.shape == (p.draws, len(p.timeline)), name
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), name  # bit for bit, NaN where NaN


@pytest.mark.parametrize("keep", [None, SMALL_KEEP], ids=["every series", "a few"])
@pytest.mark.parametrize("sampler", ["inputs", "sobol"])
def test_run_equals_the_plain_reference(bundled, keep, sampler):
    values = (
        sampled_values(bundled, 600, 11)
        if sampler == "inputs"
        else make_design(bundled, 1024, 5, "sobol").values(0, 1024)
    )
    reference = _plain_run(bundled, values)
    _assert_same(run(prepare(bundled), values, keep=keep), reference, SERIES if keep is None else keep)


def test_base_case_and_single_valued_inputs_equal_the_plain_reference(bundled):
    _assert_same(run(prepare(bundled)), _plain_run(bundled, None), SERIES)
    # every third input one value for all draws (as a caller may pass them): shapes broadcast
    values = {
        k: (x[:1] if i % 3 == 0 else x) for i, (k, x) in enumerate(sorted(sampled_values(bundled, 300, 2).items()))
    }
    reference = _plain_run(bundled, values)
    for keep in (None, SMALL_KEEP):
        _assert_same(run(prepare(bundled), values, keep=keep), reference, SERIES if keep is None else keep)


def test_a_reported_quarter_without_an_fx_rate_takes_each_draws_assumption(assumptions_copy):
    reported = assumptions_copy / "history" / "reported.csv"
    lines = reported.read_text(encoding="utf-8").splitlines(keepends=True)
    reported.write_text(
        "".join(x for x in lines if not x.startswith("FY2024Q3,Consolidated,usd_rmb_rate")), encoding="utf-8"
    )
    a = assumptions_mod.load(assumptions_copy)
    values = sampled_values(a, 200, 9)
    p = run(prepare(a), values, keep=["group.fx_usd_rmb", "group.revenue"])
    column = p.timeline.labels.index("FY2024Q3")
    assert np.array_equal(p["group.fx_usd_rmb"][:, column], values["group.fx.usd_rmb"])
    _assert_same(p, _plain_run(a, values), ("group.fx_usd_rmb", "group.revenue"))


def test_order_value_powers_once_a_year_equal_powers_every_quarter():
    """Wide-ranging growth rates and many draws, so that a power taken in another memory
    layout (which may round differently) would show."""
    rng = np.random.default_rng(1)
    n, quarters = 100_000, 21
    aov0 = rng.uniform(20.0, 80.0, (n, 1))
    growth = rng.normal(0.0, 0.2, (n, 1)) * 10.0 ** rng.uniform(-4.0, 0.0, (n, 1))
    monetisation = np.asfortranarray(rng.uniform(0.01, 0.2, (n, quarters)))
    year = np.floor(quarter_steps(quarters) / 4.0) + 1.0
    plain = aov0 * np.asfortranarray((1.0 + growth) ** year) * monetisation
    assert _order_value_times(aov0, growth, monetisation, n).tobytes() == np.asfortranarray(plain).tobytes()
    one_rate = _order_value_times(aov0, growth[:1], monetisation, n)  # a fixed growth input: one row
    assert (
        one_rate.tobytes()
        == np.asfortranarray(aov0 * np.asfortranarray((1.0 + growth[:1]) ** year) * monetisation).tobytes()
    )


def test_each_kept_series_is_its_own_array(bundled):
    p = run(prepare(bundled), sampled_values(bundled, 50, 3))
    arrays = [p[name] for name in SERIES]
    assert all(x.flags.f_contiguous and x.flags.writeable and x.base is None for x in arrays)
    assert len({id(x) for x in arrays}) == len(arrays)


class _Reads(dict):
    """A dict that records the keys read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_group_and_earnings_read_only_the_series_run_keeps_for_them(bundled):
    """run() drops each block's results that no later block reads: the lists must be right."""
    e = prepare(bundled)
    full = run(e, sampled_values(bundled, 20, 4))
    v = Values(sampled_values(bundled, 20, 4), 20)
    seg = _Reads({name: full[name][:, -e.quarters :] for name in SERIES})
    streams = exit_streams(v, e.base)
    capex, _ = project_supply(
        e,
        v,
        e.first_projected,
        e.quarters,
        project_cloud_demand(v, e.base, e.quarters),
        np.full((20, e.quarters), 200_000.0),
        streams["ai_revenue"] + streams["other_external_revenue"],
    )
    project_group(v, seg, capex, e.quarters)
    assert seg.read == GROUP_READS
    seg = _Reads(seg)
    project_earnings(v, seg, e.first_projected, e.quarters)
    assert seg.read == model._EARNINGS_READS
