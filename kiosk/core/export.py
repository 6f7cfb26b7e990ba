"""Export case figures to CSV (UTF-8 with BOM, so Excel opens Chinese right) and XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from kiosk.core.figures import BY_LABELS, COLUMNS

RATES = {"on_time_rate", "early_rate", "on_spot_rate", "satisfaction_rate"}


def _header(by: str) -> list[str]:
    return [BY_LABELS.get(by, by)] + [label for _, label in COLUMNS]


def _key(row: dict[str, Any], by: str) -> str:
    k = row.get(by)
    return "未指定" if k is None else ("全厅" if by == "hall" else str(k))


def to_csv(rows: list[dict[str, Any]], by: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_header(by))
    for r in rows:
        w.writerow([_key(r, by)] + ["" if r.get(k) is None else r[k] for k, _ in COLUMNS])
    return buf.getvalue()


def write_csv(path: str | Path, rows: list[dict[str, Any]], by: str) -> None:
    Path(path).write_text(to_csv(rows, by), encoding="utf-8-sig", newline="")


def write_xlsx(path: str | Path, rows: list[dict[str, Any]], by: str, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "办件统计"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(_header(by))
    for c in ws[2]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([_key(r, by)] + [r.get(k) for k, _ in COLUMNS])
    for i, (k, _) in enumerate(COLUMNS, start=2):
        if k in RATES:
            for row in ws.iter_rows(min_row=3, min_col=i, max_col=i):
                for cell in row:
                    cell.number_format = "0.00%"
    for col in ws.columns:
        letter = col[0].column_letter
        ws.column_dimensions[letter].width = 14
    wb.save(str(path))
