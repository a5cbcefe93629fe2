"""XLSX workbooks an analyst can read: a number format per column (or per row where a unit
column says the unit), frozen header and id columns, filters, column widths, short clean sheet
names, and byte-identical files for the same tables (fixed document dates and zip times).

``write_workbook(path, sheets)`` takes ``[Sheet(name, frame, index, units), ...]``; ``units``
maps a column to a unit (``"ratio"``, ``"RMB bn"``, ``"count"``, ...) or to the name of a
column holding each row's unit. Columns not named there take the unit in their header's
brackets (``"probability (ratio)"``) or stay in Excel's General format.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# the workbook author, by which `project --out` recognises a file pivotmodel wrote (and may replace)
CREATOR = "pivotmodel"

__all__ = ["CREATOR", "Sheet", "write_workbook", "number_format", "sheet_name", "FIXED_TIME"]

FIXED_TIME = "2000-01-01T00:00:00Z"  # written as the document's created/modified time
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

FORMATS = {
    "ratio": "0.0%",
    "share": "0.0%",
    "probability": "0.0%",
    "RMB bn": "#,##0.0",
    "RMB_bn": "#,##0.0",
    "US$ bn": "#,##0.0",
    "USD bn": "#,##0.0",
    "RMB mn": "#,##0",
    "RMB_mn": "#,##0",
    "count": "#,##0",
    "count_mn": "#,##0.0",
    "year": "0",
    "quarters": "0.00",
    "RMB": "#,##0.00",
    "RMB_per_USD": "0.000",
    "distance": "0.000",
    "p": "0.0E+00",
    "flag": "0",
}
_BRACKET = re.compile(r"\(([^()]*)\)\s*$")
_WIDE_TEXT = 70


def number_format(unit: object) -> str | None:
    """Excel number format of a unit name, or None (General) for an unknown unit."""
    if not isinstance(unit, str):
        return None
    unit = unit.strip()
    if unit in FORMATS:
        return FORMATS[unit]
    m = _BRACKET.search(unit)  # "Revenue (RMB bn)"
    return FORMATS.get(m.group(1)) if m else None


def sheet_name(text: str) -> str:
    """Letters, digits and underscores, at most 31 characters (Excel's limit)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", text)).strip("_")[:31]


@dataclass
class Sheet:
    name: str
    frame: pd.DataFrame
    index: bool = False
    units: dict[str, str] = field(default_factory=dict)  # column -> unit, or column -> name of a unit column


def _format_sheet(ws, sheet: Sheet, columns: list[str]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    n_rows = ws.max_row
    key_cols = sheet.frame.index.nlevels if sheet.index else 1
    ws.freeze_panes = ws.cell(row=2, column=key_cols + 1)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n_rows}"
    position = {c: i + 1 for i, c in enumerate(columns)}
    for col, j in position.items():
        unit = sheet.units.get(col)
        per_row = unit in position  # the unit is in another column, row by row
        fixed = number_format(unit if unit is not None else col) if not per_row else None
        width = len(str(col))
        for i in range(2, n_rows + 1):
            cell = ws.cell(row=i, column=j)
            v = cell.value
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                fmt = number_format(ws.cell(row=i, column=position[str(unit)]).value) if per_row else fixed
                if fmt:
                    cell.number_format = fmt
                width = max(width, 12)
            elif v is not None:
                text = str(v)
                width = max(width, len(text))
                if len(text) > _WIDE_TEXT:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = min(width + 2, _WIDE_TEXT)


def _normalise(raw: bytes) -> bytes:
    """The zip rebuilt with fixed entry times and fixed document dates (byte-identical files);
    in memory, so a full disk fails the one write of the file, never a half-closed zip."""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        entries = [(i.filename, z.read(i)) for i in z.infolist()]
    stamp = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = stamp.sub(rb"\g<1>" + FIXED_TIME.encode() + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def write_workbook(path: Path, sheets: list[Sheet]) -> None:
    """Write ``sheets`` to ``path`` (an .xlsx), formatted; the same tables give the same bytes."""
    names = [sheet_name(s.name) for s in sheets]
    if len(set(names)) != len(names):
        raise ValueError(f"sheet names clash after cleaning: {names}")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        xw.book.properties.creator = CREATOR
        for s, name in zip(sheets, names):
            s.frame.to_excel(xw, sheet_name=name, index=s.index, merge_cells=False)
            cols = ([str(n) for n in s.frame.index.names] if s.index else []) + [str(c) for c in s.frame.columns]
            _format_sheet(xw.sheets[name], s, cols)
    Path(path).write_bytes(_normalise(buf.getvalue()))
