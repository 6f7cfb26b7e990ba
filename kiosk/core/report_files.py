"""The report's columns and its CSV and XLSX files: Chinese headers, numbers as numbers, rates as percentages (the
PDF is drawn with Qt in kiosk/ui/report_pdf.py from the same columns)."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.report import Report, ReportRow, report_notes

FORMATS = ("pdf", "xlsx", "csv")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str  # CSV and XLSX, with its unit
    short: str  # the PDF's and the dashboard's narrower tables
    kind: str  # count, seconds (shown m:ss), minutes (shown h:mm), rate
    get: Callable[[ReportRow], int | float | None]


COLUMNS: list[Column] = [
    Column("issued", "取号数", "取号", "count", lambda r: r.issued),
    Column("served", "办结数", "办结", "count", lambda r: r.served),
    Column("no_show", "过号数", "过号", "count", lambda r: r.no_show),
    Column("transferred", "转出数", "转出", "count", lambda r: r.transferred),
    Column("wait_mean", "平均等候（秒）", "平均等候", "seconds", lambda r: r.wait.mean_s),
    Column("wait_p50", "等候P50（秒）", "等候P50", "seconds", lambda r: r.wait.p50_s),
    Column("wait_p90", "等候P90（秒）", "等候P90", "seconds", lambda r: r.wait.p90_s),
    Column("service_mean", "平均办理（秒）", "平均办理", "seconds", lambda r: r.service.mean_s),
    Column("service_p50", "办理P50（秒）", "办理P50", "seconds", lambda r: r.service.p50_s),
    Column("service_p90", "办理P90（秒）", "办理P90", "seconds", lambda r: r.service.p90_s),
    Column("pause", "暂停时长（分钟）", "暂停", "minutes", lambda r: r.pause_s),
    Column("idle", "空闲时长（分钟）", "空闲", "minutes", lambda r: r.idle_s),
    Column("rated", "评价数", "评价", "count", lambda r: r.rated),
    Column("satisfied", "满意数（含基本满意）", "满意", "count", lambda r: r.satisfied),
    Column("unrated", "未评价数", "未评价", "count", lambda r: r.unrated),
    Column("unrated_counted", "未评价按满意计", "按满意计", "count", lambda r: r.unrated_counted),
    Column("satisfaction_rate", "满意率", "满意率", "rate", lambda r: r.satisfaction_rate),
    Column("bad", "差评数", "差评", "count", lambda r: r.bad),
    Column("rectify_opened", "整改件数", "整改", "count", lambda r: r.rectify_opened),
    Column("rectify_closed", "整改办结数", "整改办结", "count", lambda r: r.rectify_closed),
    Column("cases_done", "办件办结数", "办件办结", "count", lambda r: r.cases_done),
    Column("cases_timed", "有期限件数", "有期限", "count", lambda r: r.cases_timed),
    Column("on_time_rate", "按时办结率", "按时办结率", "rate", lambda r: r.on_time_rate),
    Column("early_rate", "提前办结率", "提前办结率", "rate", lambda r: r.early_rate),
    Column("on_spot_rate", "现场办结率", "现场办结率", "rate", lambda r: r.on_spot_rate),
    Column("case_rated", "办件评价数", "办件评价", "count", lambda r: r.case_rated),
    Column("case_satisfaction_rate", "办件满意率", "办件满意率", "rate", lambda r: r.case_satisfaction_rate),
]
BY_KEY = {c.key: c for c in COLUMNS}
# the PDF's two tables, each fitting A4 landscape
QUEUE_TABLE = [BY_KEY[k] for k in ("issued", "served", "no_show", "transferred", "wait_mean", "wait_p50", "wait_p90",
                                   "service_mean", "service_p50", "service_p90", "pause", "idle")]
RATING_TABLE = [BY_KEY[k] for k in ("rated", "satisfied", "unrated", "satisfaction_rate", "bad", "rectify_opened",
                                    "rectify_closed", "cases_done", "on_time_rate", "early_rate", "on_spot_rate",
                                    "case_rated", "case_satisfaction_rate")]


def value(col: Column, row: ReportRow) -> int | float | None:
    """The cell as a number: seconds to 0.1 s, minutes to 0.1 min, a rate as a fraction (exact)."""
    v = col.get(row)
    if v is None:
        return None
    if col.kind == "seconds":
        return round(float(v), 1)
    if col.kind == "minutes":
        return round(float(v) / 60, 1)
    return v


def display(col: Column, row: ReportRow) -> str:
    """The cell as a person reads it: 9:47 for seconds, 1:05 (hours:minutes) for pause and idle, 85.7%."""
    v = col.get(row)
    if v is None:
        return "—"
    if col.kind == "rate":
        return f"{v * 100:.1f}%"
    if col.kind == "seconds":
        s = round(float(v))
        return f"{s // 60}:{s % 60:02d}"
    if col.kind == "minutes":
        m = round(float(v) / 60)
        return f"{m // 60}:{m % 60:02d}"
    return str(v)


def unit_note(col: Column) -> str:
    return {"seconds": "分:秒", "minutes": "时:分"}.get(col.kind, "")


def header_line(report: Report) -> str:
    return f"{report.title}（{report.span}，按{report.by_label}）"


def _rows(report: Report) -> list[ReportRow]:
    return [*report.rows, report.total]


# --- CSV ----------------------------------------------------------------------------------------------------------
def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([report.by_label] + [c.header for c in COLUMNS])
    for row in _rows(report):
        w.writerow([row.label] + [_csv_cell(c, row) for c in COLUMNS])
    return buf.getvalue()


def _csv_cell(col: Column, row: ReportRow) -> str | int | float:
    v = value(col, row)
    if v is None:
        return ""
    if col.kind == "rate":
        return f"{v * 100:.1f}%"  # Excel reads "85.7%" as the number 0.857 shown as a percentage
    return v


def write_csv(report: Report, path: str | Path) -> Path:
    """UTF-8 with a BOM, so Excel opens the Chinese headers right."""
    p = Path(path)
    p.write_text(to_csv(report), encoding="utf-8-sig", newline="")
    return p


# --- XLSX ---------------------------------------------------------------------------------------------------------
NUMBER_FORMATS = {"rate": "0.0%", "seconds": "0.0", "minutes": "0.0", "count": "0"}


def write_xlsx(report: Report, path: str | Path) -> Path:
    """Sheets 报表 (title, headers, a row per group, the hall total), 分时段 (the hours), 等候分布 and 说明."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "报表"
    ws.append([header_line(report)])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.append([f"生成于 {report.generated_at:%Y-%m-%d %H:%M}；{report.policy_note}"])
    ws.append([report.by_label] + [c.header for c in COLUMNS])
    head = ws.max_row
    for cell in ws[head]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in _rows(report):
        ws.append([row.label] + [value(c, row) for c in COLUMNS])
        r = ws.max_row
        for i, c in enumerate(COLUMNS, start=2):
            ws.cell(r, i).number_format = NUMBER_FORMATS[c.kind]
        if row.total:
            for cell in ws[r]:
                cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(head + 1, 2)
    ws.column_dimensions["A"].width = 22
    for i in range(2, len(COLUMNS) + 2):
        ws.column_dimensions[ws.cell(head, i).column_letter].width = 12

    hours = wb.create_sheet("分时段")
    hours.append(["取号时段", "取号数", "办结数", "平均等候（秒）", "等候P50（秒）", "等候P90（秒）"])
    for h in report.hours:
        hours.append([f"{h.hour:02d}:00–{h.hour + 1:02d}:00", h.issued, h.wait.n,
                      *(None if s is None else round(s, 1) for s in (h.wait.mean_s, h.wait.p50_s, h.wait.p90_s))])
    dist = wb.create_sheet("等候分布")
    dist.append(["等候（分钟）", "人数"])
    for b in report.wait_bins:
        dist.append([b.label, b.count])
    notes = wb.create_sheet("说明")
    for line in [report.policy_note, *report_notes(report.policy_days)]:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    p = Path(path)
    wb.save(p)
    return p


def write(report: Report, path: str | Path, fmt: str) -> Path:
    """CSV or XLSX; the PDF needs Qt (kiosk.ui.report_pdf.write_pdf)."""
    if fmt == "csv":
        return write_csv(report, path)
    if fmt == "xlsx":
        return write_xlsx(report, path)
    raise ValueError(f"format must be csv or xlsx here, not {fmt!r}")
