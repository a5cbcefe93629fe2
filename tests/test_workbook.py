"""XLSX workbooks (pivotmodel.workbook): formats per column or per row, frozen panes,
filters, widths, clean sheet names, byte-identical files."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from openpyxl import load_workbook

from pivotmodel.workbook import Sheet, number_format, sheet_name, write_workbook


def _sheets():
    claims = pd.DataFrame(
        {
            "probability (ratio)": [0.25, 0.0],
            "draws (count)": [20000, 20000],
            "metric_p50 (claim units)": [2030.0, 455.2],
            "metric_unit": ["year", "RMB bn"],
            "words": ["short", "a long statement " * 8],
        },
        index=pd.Index(["first_fy_claim", "capex_claim"], name="id"),
    )
    q = pd.DataFrame(
        {"unit": ["RMB bn", "ratio"], "P50": [609.4556253849976, 0.1681]},
        index=pd.MultiIndex.from_tuples(
            [("cloud.revenue", "FY2027"), ("cloud.share", "FY2027")], names=["series", "period"]
        ),
    )
    return [
        Sheet("claims", claims, True, {"metric_p50 (claim units)": "metric_unit"}),
        Sheet("quantiles_fy (RMB bn)", q, True, {"P50": "unit"}),
    ]


def test_formats_panes_filters_and_names(tmp_path):
    path = tmp_path / "w.xlsx"
    write_workbook(path, _sheets())
    wb = load_workbook(path)
    assert wb.sheetnames == ["claims", "quantiles_fy_RMB_bn"]
    ws = wb["claims"]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:F3"
    assert ws["B2"].number_format == "0.0%" and ws["B2"].value == 0.25
    assert ws["C2"].number_format == "#,##0"
    assert ws["D2"].number_format == "0" and ws["D3"].number_format == "#,##0.0"  # year, then RMB bn, row by row
    assert ws["F3"].alignment.wrap_text and ws.column_dimensions["F"].width == 70
    q = wb["quantiles_fy_RMB_bn"]
    assert q.freeze_panes == "C2"  # both index columns stay in view
    assert q["A3"].value == "cloud.share"  # index written on every row (no merged cells, filters work)
    assert q["D2"].number_format == "#,##0.0" and q["D3"].number_format == "0.0%"
    assert q["D2"].value == pytest.approx(609.4556253849976)


def test_same_tables_same_bytes(tmp_path):
    write_workbook(tmp_path / "a.xlsx", _sheets())
    time.sleep(1.1)  # zip entry times and document dates would differ by a second
    write_workbook(tmp_path / "b.xlsx", _sheets())
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_number_format_and_sheet_name():
    assert number_format("ratio") == "0.0%" and number_format("Revenue (RMB bn)") == "#,##0.0"
    assert number_format("furlongs") is None and number_format(None) is None
    assert sheet_name("quantiles_fy (RMB bn)") == "quantiles_fy_RMB_bn"
    assert len(sheet_name("x" * 40)) == 31
    with pytest.raises(ValueError, match="clash"):
        write_workbook("unused.xlsx", [Sheet("a b", pd.DataFrame({"x": [1]})), Sheet("a_b", pd.DataFrame({"x": [1]}))])
