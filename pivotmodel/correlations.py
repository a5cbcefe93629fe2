"""``correlations.yaml``, read once by the loader into a typed, validated object.

The file lists Spearman rank correlations between uncertain inputs (seed estimates by their
key, ``cloud.ai_revenue.seed.FY2026Q1``)::

    correlations:
      nearest: false          # true: use the nearest valid matrix if the one asked is not
      pairs:
        - {a: <input key>, b: <input key>, rho: 0.5, source: <id in sources.yaml>, note: why}

Every problem is collected and named by file, line and key. Whether the pairs make a valid
(positive semi-definite) matrix is decided where the copula is built
(:func:`pivotmodel.sampling.correlation_copula`), because ``--nearest-correlation`` may ask
for the nearest valid matrix instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InputError, Problem
from .schema import seed_key
from .yamlio import line_of, unknown_keys

__all__ = ["CorrelationPair", "Correlations", "parse_correlations", "pair_problems", "uncertain_keys", "PAIR_KEYS"]

PAIR_KEYS = ("a", "b", "rho", "source", "note")


@dataclass(frozen=True)
class CorrelationPair:
    a: str
    b: str
    rho: float  # Spearman, in (-1, 1)
    source: str
    note: str
    index: int  # position in ``pairs``
    line: int | None


@dataclass(frozen=True)
class Correlations:
    """The validated pairs of ``correlations.yaml`` (none when the file is absent)."""

    label: str  # file label for messages, e.g. assumptions/correlations.yaml
    pairs: tuple[CorrelationPair, ...] = ()
    nearest: bool = False  # the file's 'nearest: true'

    def __bool__(self) -> bool:
        return bool(self.pairs)

    @property
    def keys(self) -> tuple[str, ...]:
        """The inputs any pair names, sorted."""
        return tuple(sorted({k for p in self.pairs for k in (p.a, p.b)}))


def pair_problems(corr: Correlations, uncertain: Sequence[str], inputs: Collection[str]) -> list[Problem]:
    """A pair naming an input that is not uncertain (fixed, or not an input at all), or the
    same input twice. Checked at load and again on the keys of a design (an input made fixed
    in code since)."""
    out = []
    for pair in corr.pairs:
        where = f"correlations.pairs[{pair.index}]"
        ok = True
        for side in ("a", "b"):
            key = getattr(pair, side)
            if key not in uncertain:
                what = "a fixed input (a point value cannot be correlated)" if key in inputs else "not an input"
                out.append(
                    Problem(
                        corr.label,
                        f"{where}.{side}",
                        f"{key!r} is {what}; uncertain inputs: {', '.join(uncertain)}",
                        pair.line,
                    )
                )
                ok = False
        if ok and pair.a == pair.b:
            out.append(Problem(corr.label, where, "a and b are the same input", pair.line))
    return out


def parse_correlations(
    raw: Any, label: str, sources: Collection[str], uncertain: Sequence[str] | None, inputs: Collection[str]
) -> Correlations:
    """Validate the parsed YAML of ``correlations.yaml`` (None: no file). ``uncertain``: the
    keys a pair may name, sorted (None skips that check, when the inputs themselves failed)."""
    if raw is None:
        return Correlations(label)
    problems: list[Problem] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("correlations"), dict):
        raise InputError.single(label, "correlations", "must hold a mapping 'correlations:' with 'pairs:'")
    body = raw["correlations"]
    problems += unknown_keys(label, "correlations", body, ("pairs", "nearest"))
    nearest = body.get("nearest", False)
    if not isinstance(nearest, bool):
        problems.append(
            Problem(label, "correlations.nearest", f"must be true or false, got {nearest!r}", line_of(body, "nearest"))
        )
    if "pairs" not in body:
        raise InputError.single(
            label,
            "correlations.pairs",
            "missing: a list of {a, b, rho, source, note} ('pairs: []' for none)",
            getattr(body, "line", None),
        )
    pairs = body["pairs"]
    if pairs is None:
        raise InputError.single(
            label,
            "correlations.pairs",
            "is empty; write 'pairs: []' to run without correlations",
            line_of(body, "pairs"),
        )
    if not isinstance(pairs, list):
        raise InputError.single(
            label, "correlations.pairs", "must be a list of {a, b, rho, source, note}", line_of(body, "pairs")
        )
    entries = []
    for i, pair in enumerate(pairs):
        where = f"correlations.pairs[{i}]"
        line = getattr(pair, "line", None)
        if not isinstance(pair, dict):
            problems.append(Problem(label, where, "must be a mapping {a, b, rho, source, note}", line))
            continue
        problems += unknown_keys(label, where, pair, PAIR_KEYS)
        texts = [k for k in ("a", "b", "source", "note") if k in pair and not isinstance(pair[k], str)]
        for k in texts:
            problems.append(Problem(label, f"{where}.{k}", f"must be text, got {pair[k]!r}", line_of(pair, k)))
        if texts:
            continue
        rho = pair.get("rho")
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not -1 < rho < 1:
            problems.append(Problem(label, f"{where}.rho", f"must be a number in (-1, 1), got {rho!r}", line))
            continue
        if pair.get("source") not in sources:
            problems.append(
                Problem(label, f"{where}.source", f"{pair.get('source')!r} is not an id in sources.yaml", line)
            )
        entries.append(
            CorrelationPair(
                pair.get("a") or "",
                pair.get("b") or "",
                float(rho),
                str(pair.get("source", "")),
                str(pair.get("note", "")),
                i,
                line,
            )
        )
    corr = Correlations(label, tuple(entries), nearest is True)
    if uncertain is not None:
        problems += pair_problems(corr, uncertain, inputs)
    if problems:
        raise InputError(problems)
    return corr


def uncertain_keys(inputs: Mapping[str, Any], seeds: Mapping[Any, Any]) -> list[str]:
    """The keys a correlation may name: uncertain inputs and seed estimates, sorted."""
    keys = [k for k, inp in inputs.items() if inp.uncertain]
    keys += [seed_key(series, q) for (series, q), inp in seeds.items() if inp.uncertain]
    return sorted(keys)
