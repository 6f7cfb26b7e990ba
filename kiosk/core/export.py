"""Exports for Excel: case figures, and the tickets and ratings of a date range (`hall export`), to CSV (UTF-8 with
BOM, so Excel opens Chinese right) and XLSX (openpyxl).  Headers are Chinese, codes are said by their Chinese names,
numbers stay numbers and times are the hall's local time (XLSX date and time cells)."""
from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from kiosk.core.config import HallConfig
from kiosk.core.figures import BY_LABELS, COLUMNS
from kiosk.core.hall import STATUS_LABELS
from kiosk.core.rating import CHANNEL_LABELS, Channel, Level

RATES = {"on_time_rate", "early_rate", "on_spot_rate", "satisfaction_rate"}
PRIORITY_LABELS = {"normal": "普通", "green": "绿色通道", "appointment": "预约", "transfer": "转入"}
RATING_STATUS_LABELS = {"rated": "已评价", "unrated": "未评价"}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

Cell = str | int | float | date | datetime | None


@dataclass(frozen=True, slots=True)
class Sheet:
    """One exported table: its title (the XLSX sheet's name), Chinese headers, and typed cells."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]


# --- case figures ------------------------------------------------------------------------------------------------
def _header(by: str) -> list[str]:
    return [BY_LABELS.get(by, by)] + [label for _, label in COLUMNS]


def _key(row: dict[str, Any], by: str, names: dict[str, str]) -> Cell:
    """The group's cell: a window stays a number, a day a date, a business is said by its name."""
    k = row.get(by)
    if by == "hall":
        return "全厅"
    if k is None:
        return "未指定"
    if by == "window" and isinstance(k, int):
        return k
    if by == "day":
        return date.fromisoformat(str(k))
    if by == "business":
        return names.get(str(k), str(k))
    return str(k)


def figures_sheet(rows: list[dict[str, Any]], by: str, names: dict[str, str] | None = None) -> Sheet:
    """`names`: business code → name, for figures by business (the code is shown without it)."""
    return Sheet("办件统计", _header(by),
                 [[_key(r, by, names or {})] + [r.get(k) for k, _ in COLUMNS] for r in rows])


def to_csv(rows: list[dict[str, Any]], by: str, names: dict[str, str] | None = None) -> str:
    return sheet_csv(figures_sheet(rows, by, names))


def write_csv(path: str | Path, rows: list[dict[str, Any]], by: str, names: dict[str, str] | None = None) -> None:
    Path(path).write_text(to_csv(rows, by, names), encoding="utf-8-sig", newline="")


def write_xlsx(path: str | Path, rows: list[dict[str, Any]], by: str, title: str,
               names: dict[str, str] | None = None) -> None:
    sheet = figures_sheet(rows, by, names)
    rates = {i for i, (k, _) in enumerate(COLUMNS, start=1) if k in RATES}
    write_sheets_xlsx(path, [sheet], titles={sheet.title: title}, percent_columns={sheet.title: rates})


# --- tickets and ratings (`hall export`) ------------------------------------------------------------------------
TICKET_HEADERS = ["日期", "号码", "业务", "优先级", "状态", "窗口", "工号", "取号时间", "首次叫号时间", "开始办理时间",
                  "结束时间", "等候时长（秒）", "办理时长（秒）", "重呼次数", "转移次数"]
RATING_HEADERS = ["日期", "号码", "业务", "窗口", "工号", "评价状态", "满意度", "评价渠道", "差评原因", "评价时间",
                  "办件编号"]


def tickets_sheet(conn: sqlite3.Connection, config: HallConfig, day_from: str, day_to: str) -> Sheet:
    """Every ticket taken on local dates day_from..day_to, in the order they were taken."""
    names, tz = _business_names(config), config.tz
    rows: list[list[Cell]] = []
    for r in conn.execute(
        "SELECT * FROM tickets WHERE local_date BETWEEN ? AND ? ORDER BY local_date, queue_pos", (day_from, day_to),
    ):
        began = r["started_at"] or r["called_at"]
        served = r["status"] == "done" and began and r["finished_at"]
        rows.append([
            date.fromisoformat(r["local_date"]), r["number"], names.get(r["business"], r["business"]),
            PRIORITY_LABELS.get(r["priority"], r["priority"]), STATUS_LABELS.get(r["status"], r["status"]),
            r["window"], r["clerk_id"], _local(r["issued_at"], tz), _local(r["first_called_at"], tz),
            _local(r["started_at"], tz), _local(r["finished_at"], tz),
            _seconds(r["issued_at"], r["first_called_at"]), _seconds(began, r["finished_at"]) if served else None,
            r["recalls"], r["transfers"],
        ])
    return Sheet("号票", TICKET_HEADERS, rows)


def ratings_sheet(conn: sqlite3.Connection, config: HallConfig, day_from: str, day_to: str) -> Sheet:
    """Every rating (and unrated service) of local dates day_from..day_to."""
    names, tz = _business_names(config), config.tz
    rows: list[list[Cell]] = []
    for r in conn.execute(
        "SELECT * FROM ratings WHERE local_date BETWEEN ? AND ? ORDER BY rated_at IS NULL, rated_at, number",
        (day_from, day_to),
    ):
        rows.append([
            date.fromisoformat(r["local_date"]), r["number"], names.get(r["business"], r["business"]), r["window"],
            r["clerk_id"], RATING_STATUS_LABELS.get(r["status"], r["status"]), _level(r["level"]),
            _channel(r["channel"]), r["reason"], _local(r["rated_at"], tz), r["case_no"],
        ])
    return Sheet("评价", RATING_HEADERS, rows)


def _business_names(config: HallConfig) -> dict[str, str]:
    return {b.code: b.name for b in config.businesses}


def _level(code: str | None) -> str | None:
    try:
        return Level(code).label if code else None
    except ValueError:  # a code this version does not know: shown as stored rather than lost
        return code


def _channel(code: str | None) -> str | None:
    try:
        return CHANNEL_LABELS[Channel(code)] if code else None
    except ValueError:
        return code


def _local(at: str | None, tz: tzinfo) -> datetime | None:
    """A stored UTC moment as the hall's wall-clock time (Excel cells carry no zone)."""
    return datetime.fromisoformat(at).astimezone(tz).replace(tzinfo=None) if at else None


def _seconds(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds())


# --- writers -----------------------------------------------------------------------------------------------------
def _csv_cell(v: Cell) -> str | int | float:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M:%S}"
    if isinstance(v, date):
        return v.isoformat()
    return v


def sheet_csv(sheet: Sheet) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(sheet.headers)
    w.writerows([_csv_cell(v) for v in row] for row in sheet.rows)
    return buf.getvalue()


def write_sheet_csv(path: str | Path, sheet: Sheet) -> None:
    Path(path).write_text(sheet_csv(sheet), encoding="utf-8-sig", newline="")


def write_sheets_xlsx(path: str | Path, sheets: Sequence[Sheet], *, titles: dict[str, str] | None = None,
                      percent_columns: dict[str, set[int]] | None = None) -> None:
    """One worksheet per sheet; `titles`: a bold title line above a sheet's headers; `percent_columns`: 0-based
    column indexes shown as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        title = (titles or {}).get(sheet.title)
        if title:
            ws.append([title])
            ws.cell(1, 1).font = Font(bold=True, size=14)
        ws.append(sheet.headers)
        head = ws.max_row
        for c in ws[head]:
            c.font = Font(bold=True)
        for row in sheet.rows:
            ws.append(row)
        percents = (percent_columns or {}).get(sheet.title, set())
        for r, row in enumerate(sheet.rows, start=head + 1):
            for i, v in enumerate(row):
                if i in percents:
                    ws.cell(r, i + 1).number_format = "0.00%"
                elif isinstance(v, datetime):
                    ws.cell(r, i + 1).number_format = DATETIME_FORMAT
                elif isinstance(v, date):
                    ws.cell(r, i + 1).number_format = DATE_FORMAT
        for i, _ in enumerate(sheet.headers, start=1):
            ws.column_dimensions[ws.cell(head, i).column_letter].width = 20 if i > 1 else 14
    wb.save(str(path))
