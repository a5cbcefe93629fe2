"""``pivotmodel project``: the deterministic projection (each input at its median) as a table,
CSV or workbook."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import check_file_target, csv_is_ours, write_atomic, write_owned_csv
from ..errors import InputError
from .common import load_assumptions

__all__ = ["cmd_project", "register"]


def cmd_project(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..model import project
    from ..tables import segment_table

    a = load_assumptions(args)
    if args.bridge is not None:
        return _print_bridge(a, args.bridge)
    if args.out and args.format != "table":
        check_file_target(Path(args.out), _projection_file_is_ours, a.input_paths)
    table = segment_table(project(a), basis=args.basis, currency=args.currency, children=a.children)
    title = (
        f"pivotmodel deterministic projection, scenario {a.scenario.name}: reported (A) to "
        f"{a.history.last_quarter.label}, projected (P) to {a.horizon.label}; each input at its median"
    )
    fmt = args.format or "table"
    if args.out and args.format is None:  # --out p.csv / p.xlsx says the format
        fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(Path(args.out).suffix.lower(), "")
        if not fmt:
            raise InputError.single(
                "--out",
                "format",
                f"cannot tell the format from {args.out!r}; name a .csv or .xlsx file or give --format",
            )
    if fmt == "table":
        if args.out:
            raise InputError.single(
                "--out", "format", "--format table prints to the terminal; use csv or xlsx with --out"
            )
        shown = table.copy().astype(object)
        for key, row in table.iterrows():
            fmt = "{:.3f}" if key[1].endswith("(ratio)") else "{:,.2f}" if "per ADS)" in key[1] else "{:,.1f}"
            shown.loc[key] = [("n/a" if pd.isna(x) else fmt.format(x)) for x in row]
        marked = _mark_cells(shown, a, args)
        children_note = _mark_children(shown, a)
        with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 200):
            print(title)
            print(shown.to_string())
            print(
                "n/a: not reported on this basis (see assumptions/history/README.md). Capex is purchase of "
                "property and equipment (FCF table); FY2024-FY2025, which lack it, show the 20-F cash-flow line "
                "(PP&E and land-use rights). Quarterly capex of FY2025Q1-Q2 (used for depreciation) is that year's "
                "remainder spread evenly; FY2025Q3 is the stated 31.8bn. FCF: reported on reported years; projected = "
                "the "
                "proxy (EBITDA - capex - cash tax) + other cash items calibrated on FY2025-FY2026 "
                "(group.other_cash_items)."
            )
            print(_eps_note(marked, args.currency))
            if children_note:
                print(children_note)
        return 0
    if fmt == "csv" and not args.out:
        sys.stdout.write(table.to_csv(float_format="%.6g"))
        return 0
    if not args.out:
        raise InputError.single("--out", "format", "xlsx needs --out PATH")
    out = Path(args.out)
    if fmt == "csv":
        write_owned_csv(out, "project", lambda tmp: table.to_csv(tmp, float_format="%.6g"))
    else:
        from ..workbook import Sheet, write_workbook

        sheet = Sheet("projection", table, True, dict.fromkeys(table.columns, "item"))
        notes = Sheet("notes", _notes_frame(table, a, args))
        write_atomic(out, lambda tmp: write_workbook(tmp, [sheet, notes]))
    print(f"wrote {out}")
    return 0


# the marks on cells not as Alibaba printed them, and what each says (the footnote's header)
MARKS = {
    "d": "derived, not printed per ADS by Alibaba",
    "e": "includes an estimate for a quarter whose release figure is not in the stored pages (a gap)",
}


def _eps_note(marked: list[tuple[str, str, str, str]], currency: str) -> str:
    """The footnote on reported EPS and the marked cells: each mark's meaning, then one line a cell."""
    usd = currency == "usd"
    note = (
        "EPS in an (A) column is the figure as reported (per ADS; a year's annual row, never a sum of quarters or "
        "a model figure), n/a where the history has no row"
        + ("; in US$ at the period's average rate (the 20-F's US$ column uses its year-end rate)." if usd else ".")
    )
    for mark, meaning in MARKS.items():
        cells = [(item, col, text) for item, col, m, text in marked if m == mark]
        if cells:
            note += f" ({mark}): {meaning}:" if mark == "d" else f"\n({mark}): {meaning}:"
            note += "".join(f"\n  {col} {item.strip()}: {text}" for item, col, text in cells)
    return note


def _mark_cells(shown, a, args) -> list[tuple[str, str, str, str]]:
    """Suffix " (d)" / " (e)" to the reported cells :func:`marked_cells` names (in place); the cells."""
    from ..earnings_table import marked_cells
    from ..periods import parse_period
    from ..tables import SEGMENT_NAMES

    cols = [(c, parse_period(c.split(" ")[0])) for c in shown.columns]  # "FY2026 (A)", "FY2026Q1 (A)"
    cells = marked_cells(a.history, cols, args.currency)
    for item, col, mark, _ in cells:
        key = (SEGMENT_NAMES["group"], item)
        if key in shown.index and shown.loc[key, col] != "n/a":
            shown.loc[key, col] = f"{shown.loc[key, col]} ({mark})"
    return cells


CHILDREN_NOTE = (
    "estimated history (assumptions/history/children.csv, basis estimate, each row with its source and rule); "
    "Alibaba reports only the segment, and the residual is the segment less those estimates"
)


def _children_cells(table, a) -> list[tuple[tuple[str, str], str, str]]:
    """(row key, column, business) of every child-segment and residual cell in a column with
    reported quarters that holds a number: a child's history is a sourced estimate."""
    from ..periods import parse_period
    from ..tables import SEGMENT_NAMES, child_lines

    last = a.history.last_quarter
    cols = [c for c in table.columns if parse_period(c.split(" ")[0]).first <= last]
    out = []
    for parent in sorted({c.parent for c in a.children}):
        for label, _ in child_lines(a.children, parent):
            keys = [k for k in table.index if k[0] == SEGMENT_NAMES[parent] and k[1].startswith(f"{label} (")]
            out += [(k, c, label.strip().split(":")[0]) for k in keys for c in cols]
    return out


def _mark_children(shown, a) -> str:
    """Suffix " (e)" to the child-segment rows' cells that hold reported quarters (in place); the
    footnote, or ""."""
    names = []
    for key, col, name in _children_cells(shown, a):
        if shown.loc[key, col] != "n/a":
            shown.loc[key, col] = f"{shown.loc[key, col]} (e)"
            names.append(name)
    if not names:
        return ""
    listed = ", ".join(dict.fromkeys(names))
    return f"(e) on the businesses inside a segment ({listed}) in columns with reported quarters: {CHILDREN_NOTE}."


def _notes_frame(table, a, args):
    """The workbook's "notes" sheet: every cell of the projection sheet that is not a figure as
    Alibaba printed it (derived d, or on an estimate e), with its note; what the table marks."""
    import pandas as pd

    from ..earnings_table import marked_cells
    from ..periods import parse_period
    from ..tables import SEGMENT_NAMES

    cols = [(c, parse_period(c.split(" ")[0])) for c in table.columns]
    rows = [
        (SEGMENT_NAMES["group"], item.strip(), col, mark, note)
        for item, col, mark, note in marked_cells(a.history, cols, args.currency)
        if (SEGMENT_NAMES["group"], item) in table.index and pd.notna(table.loc[(SEGMENT_NAMES["group"], item), col])
    ]
    rows += [
        (key[0], key[1].strip(), col, "e", CHILDREN_NOTE)
        for key, col, _ in _children_cells(table, a)
        if pd.notna(table.loc[key, col])
    ]
    return pd.DataFrame(rows, columns=["segment", "item", "period", "mark", "note"])


def _print_bridge(a, end: str) -> int:
    """The last reported year to ``end`` (a projected fiscal year), line by line, base case."""
    from ..earnings_table import bridge_marks, bridge_table
    from ..model import project
    from ..periods import PeriodError, parse_period

    last = a.history.last_quarter
    start = f"FY{last.fiscal_year if last.q == 4 else last.fiscal_year - 1}"
    end = end or f"FY{(last + 1).fiscal_year if (last + 1).q == 1 else (last + 1).fiscal_year + 1}"
    try:
        period = parse_period(end)
    except PeriodError:
        period = None
    if period is None or period.kind != "fy" or period.first <= last or period.last > a.horizon:
        raise InputError.single(
            "--bridge",
            "bridge",
            f"{end!r} is not a projected fiscal year; valid: FY{last.fiscal_year + 1}..FY{a.horizon.fiscal_year}",
        )
    table = bridge_table(project(a), start, period.label)
    marks = bridge_marks(a.history, start)
    shown = table.astype(object)
    for label, row in table.iterrows():
        digits = 2 if "per ADS)" in label else 1
        shown.loc[label] = ["n/a" if x != x else f"{x:,.{digits}f}" for x in row]
        if label in marks and shown.loc[label].iloc[0] != "n/a":  # the reported year's cell and the change
            shown.loc[label, [table.columns[0], "change"]] += " (e)"
    print(
        f"pivotmodel bridge, scenario {a.scenario.name}: {start} as reported to {period.label}, base case "
        "(each input at its median); RMB bn, shares in millions, EPS in RMB per ADS"
    )
    with pd_options():
        print(shown.to_string())
    print(
        "n/a: not reported for the year (a quarter's figure is missing from the history; see "
        "assumptions/history/README.md); never filled by the model. Net income attributable is the sum of the "
        "quarters (the EPS numerator). Tax: earnings.tax_rate on the positive adjusted EBITA of China e-commerce "
        "and Cloud (assumptions/earnings.yaml)."
    )
    if marks:
        print(f"(e): {MARKS['e']}:" + "".join(f"\n  {start} {label.strip()}: {note}" for label, note in marks.items()))
    return 0


def pd_options():
    import pandas as pd

    return pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 200)


def _projection_file_is_ours(path: Path) -> bool:
    """A projection pivotmodel wrote: a CSV behind its ownership comment, or a workbook it created."""
    import zipfile

    from ..workbook import CREATOR

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return f"<dc:creator>{CREATOR}</dc:creator>" in z.read("docProps/core.xml").decode("utf-8", "replace")
        return csv_is_ours(path)
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("project", parents=[common], help="deterministic projection by segment and year")
    p.add_argument(
        "--format",
        choices=["table", "csv", "xlsx"],
        default=None,
        help="output format (default: table, or the suffix of --out)",
    )
    p.add_argument("--out", default=None, metavar="PATH", help="write to a file instead of the terminal")
    p.add_argument(
        "--currency", choices=["rmb", "usd"], default="rmb", help="money in RMB or US$ (at the FX input's median)"
    )
    p.add_argument(
        "--bridge",
        nargs="?",
        const="",
        default=None,
        metavar="FY",
        help="walk the last reported year to FY (default: the first projected year) line by line, base case",
    )
    p.add_argument(
        "--basis",
        choices=["fy", "cy", "quarter"],
        default="fy",
        help="fiscal (April-March) or calendar years, or quarters (the last 4 reported, then projected)",
    )
    p.set_defaults(handler=cmd_project)
