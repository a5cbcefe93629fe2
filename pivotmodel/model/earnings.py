"""Below adjusted EBITA: from group adjusted EBITA to GAAP and non-GAAP net income, earnings
per ADS, buybacks, dividends and net cash, on the same (draws, quarters) arrays.

Units: RMB million a quarter; share counts in millions of ordinary shares (8 per ADS); EPS
in RMB or US$ per ADS. Signs: SBC, amortisation, impairment, interest expense and income
tax are negative; buybacks and dividends are positive cash returned. Inputs are in
``assumptions/earnings.yaml``, which states the identities and Alibaba's non-GAAP
reconciliation. Per quarter t:

* SBC = -sbc_share_of_revenue x revenue
* income from operations = adjusted EBITA + SBC + amortisation + goodwill impairment
  (impairment = event x size, in the event quarter only)
* interest and investment income = cash_yield / 4 x cash(t-1) + investment gains(t),
  cash(t-1) = net cash(t-1) + debt; investment gains(t) = centre + spread x z(t), z(t) a
  standard normal drawn for each quarter on its own (see :func:`quarterly_normals`)
* interest expense = -debt_cost / 4 x debt
* income before tax = income from operations + interest and investment income
  + interest expense + other income
* income tax = -tax_rate x (max(China e-commerce EBITA, 0) + max(Cloud EBITA, 0)): tax by
  entity group, on the profit-making groups' adjusted EBITA; the loss-making groups (AIDC,
  All others, unallocated) bring no relief, investment gains and interest are untaxed (the
  rate is calibrated on FY2026 on the same base)
* net income = income before tax + income tax + equity method; attributable = + NCI
* non-GAAP net income = net income - SBC - amortisation - goodwill impairment
  - investment gains (no tax effects: SBC and gains are outside the taxed base here)
* buyback (US$) = min(pace, authorisation left) until programme end, then after_program;
  ADS bought = buyback / price(t), price(t) = price x (1 + price_growth)^(t/4)
* shares(t) = shares(t-1) x (1 + esop_dilution / 4) - 8 x ADS bought
* dividends = dividend per ADS x ADS outstanding x FX, in fiscal Q2
* net cash(t) = net cash(t-1) + FCF - buybacks - dividends (FCF, operating cash flow less
  capex, already holds the interest received and paid: its other cash items are calibrated on
  reported FCF, so interest is not added again)
* EPS per ADS = (net income [+ non-GAAP adjustments] + NCI) / (diluted shares / 8),
  diluted shares = shares x (1 + dilution_premium)
"""

from __future__ import annotations

import numpy as np

from ..earnings_series import SHARES_PER_ADS
from ..periods import Quarter
from .inputs import Values
from .paths import by_quarter

__all__ = ["project_earnings", "quarterly_normals", "TAXED_SEGMENTS"]

# the entity groups whose positive adjusted EBITA is taxed (earnings.tax_rate is calibrated on them)
TAXED_SEGMENTS = ("china_ecommerce.adjusted_ebita", "cloud.adjusted_ebita")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: 64 well-mixed bits from 64 (uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def quarterly_normals(draw: np.ndarray, quarters: int) -> np.ndarray:
    """Independent standard normals, (draws, quarters), one a quarter, from each draw's uniform
    ``draw`` (draws, 1): the first quarter's is the uniform itself, each later quarter t's is
    SplitMix64 of the uniform's bits and t, so a draw's quarters depend on that draw alone (the
    same whatever the chunking or the number of processes). A draw at exactly 0.5 (the base
    case: every input at its median) gives 0 in every quarter: each quarter's median."""
    from scipy import special

    u = np.ascontiguousarray(draw, dtype=np.float64).reshape(-1, 1)
    bits = u.view(np.uint64)
    t = np.arange(1, quarters + 1, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        mixed = _splitmix(_splitmix(bits) + t * _GOLDEN)
    uq = ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0  # (0, 1), 53 bits
    uq[:, :1] = np.clip(u, 1e-300, 1.0 - 2.0**-53)  # the first quarter is the draw's own uniform: monotone
    z = special.ndtri(uq)  # in it, so a tornado or solve on the input moves that quarter as they expect
    return np.where(u == 0.5, 0.0, z)


def _capital_return(
    v: Values,
    seg: dict[str, np.ndarray],
    fx: np.ndarray,
    debt: np.ndarray,
    cash_yield: np.ndarray,
    first: Quarter,
    quarters: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run buybacks, dividends, net cash and share count quarter by quarter; return them with interest income."""
    n = v.draws
    shape = (n, quarters)
    # Capital return and net cash run quarter by quarter (interest depends on last quarter's cash).
    end_q = Quarter.from_index(int(v("earnings.buyback.program_end")[0, 0])).index - first.index
    left = v("earnings.buyback.remaining")[:, 0].copy()
    pace, after = v("earnings.buyback.pace")[:, 0], v("earnings.buyback.after_program")[:, 0]
    price0, growth = v("earnings.buyback.price")[:, 0], v("earnings.buyback.price_growth")[:, 0]
    esop = v("earnings.shares.esop_dilution")[:, 0]
    dps = v("earnings.dividend.per_ads")[:, 0]
    fcf = seg["group.fcf"]
    net_cash_prev = np.broadcast_to(v("earnings.cash.base")[:, 0] - debt[:, 0], (n,)).copy()
    shares_prev = np.broadcast_to(v("earnings.shares.base")[:, 0], (n,)).copy()
    # quarter columns contiguous (order F): the loop writes one column a quarter
    interest_income = np.empty(shape, order="F")
    buyback, dividends, net_cash, shares = (np.empty(shape, order="F") for _ in range(4))
    quarter_yield, debt0, growth1, esop_q = cash_yield[:, 0] / 4.0, debt[:, 0], 1.0 + growth, 1.0 + esop / 4.0
    for t in range(quarters):
        interest_income[:, t] = quarter_yield * np.maximum(net_cash_prev + debt0, 0.0)
        if t <= end_q:
            usd = np.minimum(pace, left)
            left = left - usd
        else:
            usd = np.broadcast_to(after, (n,))
        price = price0 * growth1 ** (t / 4.0)
        bought = SHARES_PER_ADS * usd / price
        shares[:, t] = shares_prev * esop_q - bought
        buyback[:, t] = usd * fx[:, t]
        paid = (first + t).q == 2
        dividends[:, t] = dps * shares_prev / SHARES_PER_ADS * fx[:, t] if paid else 0.0
        net_cash[:, t] = net_cash_prev + fcf[:, t] - buyback[:, t] - dividends[:, t]
        net_cash_prev, shares_prev = net_cash[:, t], shares[:, t]
    return interest_income, buyback, dividends, net_cash, shares


def project_earnings(v: Values, seg: dict[str, np.ndarray], first: Quarter, quarters: int) -> dict[str, np.ndarray]:
    n = v.draws
    shape = (n, quarters)
    full = lambda x: np.broadcast_to(x, shape)  # noqa: E731  (read-only views; project copies them)
    revenue, ebita = seg["group.revenue"], seg["group.adjusted_ebita"]
    fx = full(v("group.fx.usd_rmb"))

    sbc = -v("earnings.sbc_share_of_revenue") * revenue
    amortisation = full(v("earnings.amortisation"))
    event_q = Quarter.from_index(int(v("earnings.goodwill_impairment.quarter")[0, 0]))
    in_event = (np.arange(quarters) == event_q.index - first.index)[None, :]
    impairment = v("earnings.goodwill_impairment.event") * v("earnings.goodwill_impairment.size")
    goodwill = by_quarter(lambda hit, x: np.where(hit, x, 0.0), in_event, impairment)
    goodwill = full(goodwill)
    operations = ebita + sbc  # sums in place, in the order written in the docstring
    operations += amortisation
    operations += goodwill

    gains = v("earnings.investment_gains.centre") + v("earnings.investment_gains.spread") * quarterly_normals(
        v("earnings.investment_gains.draw"), quarters
    )
    debt = v("earnings.debt")
    interest_expense = full(-v("earnings.debt_cost") / 4.0 * debt)
    other = full(v("earnings.other_income"))
    equity = full(v("earnings.equity_method"))
    nci = full(v("earnings.nci"))
    tax_rate, cash_yield = v("earnings.tax_rate"), v("earnings.cash_yield")

    interest_income, buyback, dividends, net_cash, shares = _capital_return(
        v, seg, fx, debt, cash_yield, first, quarters
    )

    # in place where a temporary would only be read once (same operations, same order)
    interest_investment = interest_income
    interest_investment += gains
    before_tax = operations + interest_investment
    before_tax += interest_expense
    before_tax += other
    tax = sum(np.maximum(seg[name], 0.0) for name in TAXED_SEGMENTS)
    tax = -tax_rate * np.broadcast_to(tax, shape)
    net_income = before_tax + tax
    net_income += equity
    adjustments = sbc + amortisation
    adjustments += goodwill
    np.negative(adjustments, out=adjustments)
    adjustments -= gains
    non_gaap = net_income + adjustments
    diluted = shares * (1.0 + v("earnings.shares.dilution_premium"))
    ads = diluted / SHARES_PER_ADS
    eps = non_gaap + nci
    eps /= ads
    gaap_eps = net_income + nci
    gaap_eps /= ads
    return {
        "group.sbc": sbc,
        "group.amortisation": amortisation,
        "group.goodwill_impairment": goodwill,
        "group.income_from_operations": operations,
        "group.interest_investment_income": interest_investment,
        "group.investment_gains": gains,
        "group.interest_expense": interest_expense,
        "group.other_income": other,
        "group.income_before_tax": before_tax,
        "group.income_tax": tax,
        "group.equity_method": equity,
        "group.net_income": net_income,
        "group.nci": nci,
        "group.net_income_attributable": net_income + nci,
        "group.non_gaap_adjustments": adjustments,
        "group.non_gaap_net_income": non_gaap,
        "group.buyback": buyback,
        "group.dividends": dividends,
        "group.net_cash": net_cash,
        "group.shares_outstanding": shares,
        "group.diluted_shares": diluted,
        "group.eps_non_gaap_ads": eps,
        "group.eps_non_gaap_ads_usd": eps / fx,
        "group.eps_gaap_ads": gaap_eps,
    }
