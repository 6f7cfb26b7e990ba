"""The province's view over the collector's tables: what each stored event adds to its hall's day (kept at intake,
in the event's own transaction), the roll-up report by 行政区划 prefix (province ⊃ city ⊃ county ⊃ township ⊃ hall;
a village room's 12-digit code rolls into its township), 整改 progress per hall, and the 好差评 evaluation records
exported in the national (GB/T 39046) or the provincial form."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sync import contract

# Portable SQL (SQLite ≥ 3.24 and PostgreSQL ≥ 9.5), like sync/central.py's.
SCHEMA = [
    # one row per hall and local day: the figures an event adds, summed at intake (exactly once: only an event
    # that was new adds to it), so a report reads days × halls rows, never the event log
    "CREATE TABLE IF NOT EXISTS hall_day (hall_id TEXT NOT NULL, local_date TEXT NOT NULL, region TEXT NOT NULL, "
    "tickets BIGINT NOT NULL, waits BIGINT NOT NULL, wait_sum DOUBLE PRECISION NOT NULL, rated BIGINT NOT NULL, "
    "good BIGINT NOT NULL, done BIGINT NOT NULL, timed BIGINT NOT NULL, on_time BIGINT NOT NULL, "
    "yellow BIGINT NOT NULL, red BIGINT NOT NULL, PRIMARY KEY (hall_id, local_date))",
    "CREATE INDEX IF NOT EXISTS hall_day_date ON hall_day(local_date)",
    # the p90 wait reads every wait of the range: kept narrow, by day
    "CREATE TABLE IF NOT EXISTS hall_waits (local_date TEXT NOT NULL, region TEXT NOT NULL, hall_id TEXT NOT NULL, "
    "wait_s DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hall_waits_date ON hall_waits(local_date)",
    # GB/T 39046 evaluation records, the highest revision per (hall, record id)
    "CREATE TABLE IF NOT EXISTS evaluations (hall_id TEXT NOT NULL, id TEXT NOT NULL, revision INTEGER NOT NULL, "
    "region TEXT NOT NULL, local_date TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (hall_id, id))",
    "CREATE INDEX IF NOT EXISTS evaluations_date ON evaluations(local_date)",
    # 整改 progress of every hall's items: the latest item state (by seq) and the latest card (by seq)
    "CREATE TABLE IF NOT EXISTS rect_items (hall_id TEXT NOT NULL, id TEXT NOT NULL, region TEXT NOT NULL, "
    "item_seq BIGINT NOT NULL, card_seq BIGINT NOT NULL, stage TEXT, status TEXT, outcome TEXT, card TEXT NOT NULL, "
    "level TEXT, opened_date TEXT, due_at TEXT, closed_at TEXT, closed_on_time INTEGER, window_no INTEGER, "
    "clerk_id TEXT, case_no TEXT, steps BIGINT NOT NULL, PRIMARY KEY (hall_id, id))",
    "CREATE INDEX IF NOT EXISTS rect_items_opened ON rect_items(opened_date)",
    # the holiday calendar version each hall counts working days with (calendar.applied)
    "CREATE TABLE IF NOT EXISTS hall_calendar (hall_id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
    "at_utc TEXT NOT NULL)",
]
TABLES = ("hall_day", "hall_waits", "evaluations", "rect_items", "hall_calendar")

DAY_COLUMNS = ("tickets", "waits", "wait_sum", "rated", "good", "done", "timed", "on_time", "yellow", "red")
GOOD = frozenset({"very_satisfied", "satisfied", "basic"})
# what a later item event replaces (the card has its own seq: rectification.card_changed carries no item)
_ITEM_COLUMNS = ("stage", "status", "outcome", "level", "opened_date", "due_at", "closed_at", "closed_on_time",
                 "window_no", "clerk_id", "case_no", "region")
# 行政区划 prefix length of each level (GB/T 2260 + the 12-digit statistical code): 省 2, 市 4, 县 6, 乡镇 9
LEVELS: dict[str, int | None] = {"province": 2, "city": 4, "county": 6, "township": 9, "hall": None}


class DayTotals:
    """What one batch adds to hall_day, summed per (hall, day) in memory and written once per key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[Any]] = {}  # (hall, day) → [region, *DAY_COLUMNS]
        self.waits: list[tuple[str, str, str, float]] = []  # hall_waits rows, written in one executemany

    def add(self, m: contract.EventMsg, fig: contract.Figures, det: contract.Details) -> None:
        add = {"tickets": int(m.kind == "ticket.issued")}
        if fig.wait_s is not None:
            add.update(waits=1, wait_sum=fig.wait_s)
            self.waits.append((m.local_date, m.region, m.hall_id, fig.wait_s))
        if fig.level is not None:
            add.update(rated=1, good=int(fig.level in GOOD))
        if det.case_done:
            add.update(done=1, timed=int(det.case_on_time is not None), on_time=int(bool(det.case_on_time)))
        if det.case_card in ("yellow", "red"):
            add[det.case_card] = 1
        if not any(add.values()):
            return
        row = self.rows.setdefault((m.hall_id, m.local_date), [m.region, *([0] * len(DAY_COLUMNS))])
        for i, col in enumerate(DAY_COLUMNS, 1):
            row[i] += add.get(col, 0)

    def write(self, cur: Any) -> None:
        if self.waits:
            cur.executemany("INSERT INTO hall_waits(local_date, region, hall_id, wait_s) VALUES (?, ?, ?, ?)",
                            self.waits)
        cols = ", ".join(DAY_COLUMNS)
        sums = ", ".join(f"{c} = hall_day.{c} + excluded.{c}" for c in DAY_COLUMNS)
        for (hall_id, day), (region, *values) in self.rows.items():
            cur.execute(f"INSERT INTO hall_day(hall_id, local_date, region, {cols}) VALUES (?, ?, ?, "
                        f"{', '.join('?' * len(DAY_COLUMNS))}) ON CONFLICT (hall_id, local_date) DO UPDATE SET "
                        f"{sums}, region = excluded.region", (hall_id, day, region, *values))


def store_details(cur: Any, m: contract.EventMsg, fig: contract.Figures, det: contract.Details) -> None:
    """The rows a new event adds besides itself (in its transaction): an evaluation record, an item's progress or
    card, a calendar version (its wait goes with the batch's DayTotals).  Events arrive out of order after a gap
    repair: each keeps the latest."""
    if det.evaluation is not None:
        rec = det.evaluation
        cur.execute(
            "INSERT INTO evaluations(hall_id, id, revision, region, local_date, record) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (hall_id, id) DO UPDATE SET revision = excluded.revision, record = excluded.record, "
            "region = excluded.region, local_date = excluded.local_date "
            "WHERE excluded.revision > evaluations.revision",
            (m.hall_id, rec.id, rec.revision, rec.region, m.local_date,
             json.dumps(contract.to_builtins(rec), ensure_ascii=False)))
    if det.rectification is not None:
        it = det.rectification
        stage = it.stage or ("closed" if it.status == "closed" else "verify")
        values = (stage, it.status, it.outcome, it.level.value, it.opened_date, it.due_at.isoformat(),
                  it.closed_at.isoformat() if it.closed_at else None,
                  None if it.closed_on_time is None else int(it.closed_on_time), it.window, it.clerk_id, it.case_no)
        step = int(m.kind == "rectification.step")
        cur.execute(
            "INSERT INTO rect_items(hall_id, id, region, item_seq, card_seq, stage, status, outcome, card, level, "
            "opened_date, due_at, closed_at, closed_on_time, window_no, clerk_id, case_no, steps) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hall_id, id) DO UPDATE SET "
            "steps = rect_items.steps + excluded.steps, "
            + ", ".join(f"{c} = CASE WHEN excluded.item_seq > rect_items.item_seq THEN excluded.{c} "
                        f"ELSE rect_items.{c} END" for c in _ITEM_COLUMNS)
            + ", card = CASE WHEN excluded.card_seq > rect_items.card_seq THEN excluded.card ELSE rect_items.card END"
            + ", card_seq = CASE WHEN excluded.card_seq > rect_items.card_seq THEN excluded.card_seq "
              "ELSE rect_items.card_seq END"
            + ", item_seq = CASE WHEN excluded.item_seq > rect_items.item_seq THEN excluded.item_seq "
              "ELSE rect_items.item_seq END",
            (m.hall_id, it.id, m.region, m.seq, m.seq, *values[:3], it.card, *values[3:], step))
    if det.rect_card is not None:
        item_id, card = det.rect_card
        cur.execute(  # a card change may overtake its item (gap repair): the item fills the rest when it comes
            "INSERT INTO rect_items(hall_id, id, region, item_seq, card_seq, card, steps) "
            "VALUES (?, ?, ?, 0, ?, ?, 0) ON CONFLICT (hall_id, id) DO UPDATE SET card = excluded.card, "
            "card_seq = excluded.card_seq WHERE excluded.card_seq > rect_items.card_seq",
            (m.hall_id, item_id, m.region, m.seq, card))
    if det.calendar_version is not None:
        cur.execute("INSERT INTO hall_calendar(hall_id, version, at_utc) VALUES (?, ?, ?) ON CONFLICT (hall_id) "
                    "DO UPDATE SET version = excluded.version, at_utc = excluded.at_utc "
                    "WHERE excluded.version > hall_calendar.version",
                    (m.hall_id, det.calendar_version, m.at_utc.isoformat()))


# --- the report -------------------------------------------------------------------------------------------------
def _key(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    n = LEVELS[level]
    return "hall_id" if n is None else f"SUBSTR(region, 1, {n})"


def _range(column: str, day_from: str | None, day_to: str | None) -> tuple[str, list[str]]:
    where, args = "1 = 1", []
    if day_from:
        where += f" AND {column} >= ?"
        args.append(day_from)
    if day_to:
        where += f" AND {column} <= ?"
        args.append(day_to)
    return where, args


def percentile(values: Sequence[float], q: float) -> float:
    """PostgreSQL's percentile_cont on sorted values: linear between the two nearest ranks."""
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def check_day(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{what} must be a date YYYY-MM-DD, not {value!r}") from None


def report(db: Any, level: str = "hall", day_from: str | None = None, day_to: str | None = None
           ) -> list[dict[str, Any]]:
    """One row per hall, or per 行政区划 prefix at `level`, over local days [day_from, day_to]: tickets, mean and p90
    wait, 满意率, 按时办结率, yellow and red cards raised, and the 整改 items opened in the range that are open, overdue
    (open with a red card) or closed.  Rates are None when nothing was counted."""
    key = _key(level)
    d1, d2 = check_day(day_from, "--from"), check_day(day_to, "--to")
    if d1 and d2 and d2 < d1:
        raise ValueError(f"the range ends ({d2}) before it starts ({d1})")
    where, args = _range("local_date", d1, d2)
    sums = ", ".join(f"SUM({c})" for c in DAY_COLUMNS)
    rows: dict[str, dict[str, Any]] = {}
    for r in db.query(f"SELECT {key}, COUNT(DISTINCT hall_id), MIN(region), {sums} FROM hall_day WHERE {where} "
                      f"GROUP BY {key}", args):
        v = dict(zip(DAY_COLUMNS, (float(x or 0) for x in r[3:]), strict=True))
        rows[r[0]] = {
            "halls": int(r[1]), "tickets": int(v["tickets"]), "waits": int(v["waits"]),
            "avg_wait_s": round(v["wait_sum"] / v["waits"], 1) if v["waits"] else None, "p90_wait_s": None,
            "rated": int(v["rated"]), "satisfaction_rate": round(v["good"] / v["rated"], 4) if v["rated"] else None,
            "done": int(v["done"]), "timed": int(v["timed"]),
            "on_time_rate": round(v["on_time"] / v["timed"], 4) if v["timed"] else None,
            "yellow": int(v["yellow"]), "red": int(v["red"]),
            "rectify_open": 0, "rectify_overdue": 0, "rectify_closed": 0, "_region": r[2],
        }
    for k, p90 in _p90(db, key, where, args).items():
        rows.setdefault(k, _empty())["p90_wait_s"] = round(p90, 1)
    rwhere, rargs = _range("opened_date", d1, d2)
    for r in db.query(
            f"SELECT {key}, MIN(region), SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN status = 'open' AND card = 'red' THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) FROM rect_items "
            f"WHERE opened_date IS NOT NULL AND {rwhere} GROUP BY {key}", rargs):
        row = rows.setdefault(r[0], _empty())
        row["_region"] = row["_region"] or r[1]
        row.update(rectify_open=int(r[2] or 0), rectify_overdue=int(r[3] or 0), rectify_closed=int(r[4] or 0))
    names = {h: (n, reg) for h, n, reg in db.query("SELECT hall_id, name, region FROM halls")} \
        if level == "hall" else {}
    out = []
    for k in sorted(rows):
        row = rows[k]
        region = row.pop("_region") or ""
        head: dict[str, Any] = {"level": level}
        if level == "hall":
            name, reg = names.get(k, ("", region))
            head.update(hall_id=k, name=name, region=reg or region)
        else:
            head.update(prefix=k, region=k.ljust(9, "0"))
        out.append({**head, **row})
    return out


def _empty() -> dict[str, Any]:
    return {"halls": 0, "tickets": 0, "waits": 0, "avg_wait_s": None, "p90_wait_s": None, "rated": 0,
            "satisfaction_rate": None, "done": 0, "timed": 0, "on_time_rate": None, "yellow": 0, "red": 0,
            "rectify_open": 0, "rectify_overdue": 0, "rectify_closed": 0, "_region": ""}


def _p90(db: Any, key: str, where: str, args: list[str]) -> dict[str, float]:
    if db.is_pg:  # the database sorts each group's waits itself
        return {r[0]: float(r[1]) for r in db.query(
            f"SELECT {key}, percentile_cont(0.9) WITHIN GROUP (ORDER BY wait_s) FROM hall_waits WHERE {where} "
            f"GROUP BY {key}", args)}
    groups: dict[str, list[float]] = {}
    for k, w in db.query(f"SELECT {key}, wait_s FROM hall_waits WHERE {where}", args):
        groups.setdefault(k, []).append(float(w))
    return {k: percentile(sorted(ws), 0.9) for k, ws in groups.items()}


# --- 好差评 records out ------------------------------------------------------------------------------------------
GB_FIELDS = (("project_no", "办件编号"), ("channel", "评价渠道"), ("evaluator", "评价人"), ("rated_at", "评价时间"),
             ("count", "评价次数"), ("satisfaction", "满意度代码"), ("text", "文字评价"), ("region", "行政区划"))
PROVINCIAL_FIELDS = ("projectNo", "areaCode", "pf", "satisfaction", "appraiseTime", "appraiseCount", "content",
                     "reason")


def evaluation_records(db: Any, day_from: str | None = None, day_to: str | None = None
                       ) -> list[contract.EvaluationRecord]:
    """The stored records of ratings given on local days [day_from, day_to], by time."""
    import msgspec

    where, args = _range("local_date", check_day(day_from, "--from"), check_day(day_to, "--to"))
    recs = [msgspec.json.decode(r[0], type=contract.EvaluationRecord)
            for r in db.query(f"SELECT record FROM evaluations WHERE {where}", args)]
    return sorted(recs, key=lambda r: (r.rated_at_utc, r.id))


def national(rec: contract.EvaluationRecord) -> dict[str, Any]:
    """GB/T 39046 §6.6 form: the standard's data element names."""
    return {label: getattr(rec, f) for f, label in GB_FIELDS}


def provincial(rec: contract.EvaluationRecord, tz: ZoneInfo) -> dict[str, Any]:
    """The provincial upload form through sync.provincial's adapter (satisfaction reversed, pf channel codes)."""
    from kiosk.core.rating import PF_CODE
    from sync.provincial import to_provincial

    channel = next(ch for ch, code in PF_CODE.items() if code == rec.channel)
    rating = {"level": rec.level.value, "rated_at": rec.rated_at_utc.isoformat(), "channel": channel.value,
              "ticket_id": rec.project_no, "text": rec.comment, "reason": rec.reason}
    out = to_provincial(rating, region=rec.region, tz=tz, project_no=rec.project_no)
    d = contract.to_builtins(out)
    d["appraiseCount"] = rec.count
    return d


def write_ratings(records: list[contract.EvaluationRecord], form: str, fmt: str, out: Path | None,
                  tz: ZoneInfo) -> str | None:
    """Records in the national or the provincial form, as JSON (returned when `out` is None) or XLSX."""
    if form not in ("gb39046", "provincial"):
        raise ValueError(f"form must be gb39046 or provincial, not {form!r}")
    rows = [national(r) if form == "gb39046" else provincial(r, tz) for r in records]
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2)
        if out is None:
            return text
        out.write_text(text + "\n", encoding="utf-8")
        return None
    if fmt != "xlsx":
        raise ValueError(f"format must be json or xlsx, not {fmt!r}")
    if out is None:
        raise ValueError("--format xlsx needs --out FILE")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "评价记录" if form == "gb39046" else "provincial"
    headers = [label for _, label in GB_FIELDS] if form == "gb39046" else list(PROVINCIAL_FIELDS)
    ws.append(headers)
    for row in rows:
        ws.append([row[h] for h in headers])
    for cell in ws[1]:
        ws.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) * 2 + 4)
    for col in ("A", "C", "D") if form == "gb39046" else ("A", "E"):
        for cell in ws[col][1:]:
            cell.number_format = "@"  # 办件编号, 评价时间: text, never a number Excel rounds
    wb.save(out)
    return None

