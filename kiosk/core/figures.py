"""Figures the hall reports: case figures (按时/提前/现场办结率, average working days, 满意率) and the queue's
wait and service times, each grouped by one of a fixed set of keys."""
from __future__ import annotations

import sqlite3
from calendar import monthrange
from datetime import date, datetime, tzinfo
from typing import Any

# by → the key a row groups on, in the cases query and in the ratings query (c: the case, t: the ticket linked to
# it, r: the rating); "hall": one row for the whole hall, "day": the day concluded (ratings: the day given)
BY_COLUMNS: dict[str, tuple[str, str]] = {
    "department": ("c.department", "c.department"), "window": ("c.window", "c.window"),
    "clerk": ("c.clerk", "c.clerk"), "business": ("t.business", "t.business"),
    "day": ("c.finished_date", "r.local_date"), "hall": ("'hall'", "'hall'"),
}
# times(by=…): "hour" is the local hour the ticket was taken (when citizens arrive), "day" its local date
TIME_GROUPS: tuple[str, ...] = ("business", "window", "clerk", "day", "hour")
GOOD_LEVELS = ("very_satisfied", "satisfied", "basic")

# column order and Chinese headers for exports and screens
COLUMNS: list[tuple[str, str]] = [
    ("done", "办结件数"), ("timed", "有时限件数"), ("on_time", "按时办结"), ("on_time_rate", "按时办结率"),
    ("early", "提前办结"), ("early_rate", "提前办结率"), ("instant", "即办件"), ("on_spot", "现场办结"),
    ("on_spot_rate", "现场办结率"), ("avg_working_days", "平均办理工作日"), ("rated", "评价数"),
    ("satisfied", "满意数"), ("satisfaction_rate", "满意率"),
]
BY_LABELS = {"department": "部门", "window": "窗口", "clerk": "工作人员", "business": "业务", "day": "日期",
             "hall": "全厅"}


def day_range(day: date) -> tuple[str, str]:
    return day.isoformat(), day.isoformat()


def month_range(year: int, month: int) -> tuple[str, str]:
    return date(year, month, 1).isoformat(), date(year, month, monthrange(year, month)[1]).isoformat()


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def compute_figures(conn: sqlite3.Connection, by: str, day_from: str, day_to: str) -> list[dict[str, Any]]:
    """One row per group over cases concluded (办结) on local dates day_from..day_to, and ratings given then.

    按时办结率 = finished before the due moment / concluded cases that had a deadline;
    提前办结率 = finished with a working day or more to spare / the same denominator;
    现场办结率 = 即办件 finished on the day of acceptance / all concluded cases;
    满意率 = 非常满意 + 满意 + 基本满意 / rated services linked to the group's cases (一事一评)."""
    if by not in BY_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(BY_COLUMNS)}, not {by!r}")
    col, rcol = BY_COLUMNS[by]
    groups: dict[Any, dict[str, Any]] = {}

    def group(k: Any) -> dict[str, Any]:
        if k not in groups:
            groups[k] = {by: k, "done": 0, "timed": 0, "on_time": 0, "early": 0, "instant": 0, "on_spot": 0,
                         "avg_working_days": None, "rated": 0, "satisfied": 0}
        return groups[k]

    for r in conn.execute(
        f"SELECT {col} AS k, COUNT(*) AS done, COUNT(c.on_time) AS timed, COALESCE(SUM(c.on_time), 0) AS on_time, "
        "COALESCE(SUM(c.early), 0) AS early, SUM(c.case_type = 1) AS instant, "
        "COALESCE(SUM(c.on_spot), 0) AS on_spot, AVG(c.used_days) AS avg_days FROM cases c "
        "LEFT JOIN tickets t ON t.id = c.ticket_id WHERE c.status = 'done' AND c.finished_date BETWEEN ? AND ? "
        "GROUP BY k", (day_from, day_to),
    ):
        g = group(r["k"])
        g.update(done=r["done"], timed=r["timed"], on_time=r["on_time"], early=r["early"], instant=r["instant"],
                 on_spot=r["on_spot"],
                 avg_working_days=None if r["avg_days"] is None else round(r["avg_days"], 2))
    for r in conn.execute(
        f"SELECT {rcol} AS k, COUNT(*) AS rated, SUM(r.level IN (?, ?, ?)) AS good FROM ratings r "
        "JOIN cases c ON c.case_no = r.case_no LEFT JOIN tickets t ON t.id = c.ticket_id "
        "WHERE r.status = 'rated' AND r.local_date BETWEEN ? AND ? GROUP BY k",
        (*GOOD_LEVELS, day_from, day_to),
    ):
        g = group(r["k"])
        g.update(rated=r["rated"], satisfied=r["good"])
    out = []
    for k in sorted(groups, key=lambda x: (x is None, str(x))):
        g = groups[k]
        g["on_time_rate"] = _rate(g["on_time"], g["timed"])
        g["early_rate"] = _rate(g["early"], g["timed"])
        g["on_spot_rate"] = _rate(g["on_spot"], g["done"])
        g["satisfaction_rate"] = _rate(g["satisfied"], g["rated"])
        out.append(g)
    return out


def compute_times(conn: sqlite3.Connection, by: str, day_from: str, day_to: str, tz: tzinfo
                  ) -> list[dict[str, Any]]:
    """Average wait (issue → first call) and service time (start, or call when never started → finish) of the
    tickets served (done) on local dates day_from..day_to, one row per group of TIME_GROUPS, in key order."""
    if by not in TIME_GROUPS:
        raise ValueError(f"by must be one of {', '.join(TIME_GROUPS)}, not {by!r}")
    groups: dict[Any, list[Any]] = {}  # key → [served, wait sum, waits, service sum, services]
    for r in conn.execute(
        "SELECT business, window, clerk_id, local_date, issued_at, first_called_at, "
        "COALESCE(started_at, called_at) AS began, finished_at FROM tickets "
        "WHERE status = 'done' AND local_date BETWEEN ? AND ?", (day_from, day_to),
    ):
        key = _time_key(r, by, tz)
        if key is None:  # e.g. served before anyone signed in at the window: no clerk to put it under
            continue
        g = groups.setdefault(key, [0, 0.0, 0, 0.0, 0])
        g[0] += 1
        if r["first_called_at"]:
            g[1] += _secs(r["issued_at"], r["first_called_at"])
            g[2] += 1
        if r["began"] and r["finished_at"]:
            g[3] += _secs(r["began"], r["finished_at"])
            g[4] += 1
    return [{by: k, "served": g[0], "avg_wait_s": round(g[1] / g[2], 1) if g[2] else 0.0,
             "avg_service_s": round(g[3] / g[4], 1) if g[4] else 0.0} for k, g in sorted(groups.items())]


def _time_key(r: sqlite3.Row, by: str, tz: tzinfo) -> Any:
    if by == "hour":
        return datetime.fromisoformat(r["issued_at"]).astimezone(tz).hour
    return r[{"business": "business", "window": "window", "clerk": "clerk_id", "day": "local_date"}[by]]


def _secs(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
