"""Case figures the hall reports (按时/提前/现场办结率, average working days, 满意率), computed in SQL."""
from __future__ import annotations

import sqlite3
from calendar import monthrange
from datetime import date
from typing import Any

# by → the cases column a row groups on ("hall": one row for the whole hall)
BY_COLUMNS: dict[str, str] = {"department": "department", "window": "window", "clerk": "clerk", "hall": "'hall'"}
GOOD_LEVELS = ("very_satisfied", "satisfied", "basic")

# column order and Chinese headers for exports and screens
COLUMNS: list[tuple[str, str]] = [
    ("done", "办结件数"), ("timed", "有时限件数"), ("on_time", "按时办结"), ("on_time_rate", "按时办结率"),
    ("early", "提前办结"), ("early_rate", "提前办结率"), ("instant", "即办件"), ("on_spot", "现场办结"),
    ("on_spot_rate", "现场办结率"), ("avg_working_days", "平均办理工作日"), ("rated", "评价数"),
    ("satisfied", "满意数"), ("satisfaction_rate", "满意率"),
]
BY_LABELS = {"department": "部门", "window": "窗口", "clerk": "工作人员", "hall": "全厅"}


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
    col = BY_COLUMNS[by]
    groups: dict[Any, dict[str, Any]] = {}

    def group(k: Any) -> dict[str, Any]:
        if k not in groups:
            groups[k] = {by: k, "done": 0, "timed": 0, "on_time": 0, "early": 0, "instant": 0, "on_spot": 0,
                         "avg_working_days": None, "rated": 0, "satisfied": 0}
        return groups[k]

    for r in conn.execute(
        f"SELECT {col} AS k, COUNT(*) AS done, COUNT(on_time) AS timed, COALESCE(SUM(on_time), 0) AS on_time, "
        "COALESCE(SUM(early), 0) AS early, SUM(case_type = 1) AS instant, COALESCE(SUM(on_spot), 0) AS on_spot, "
        "AVG(used_days) AS avg_days FROM cases WHERE status = 'done' AND finished_date BETWEEN ? AND ? GROUP BY k",
        (day_from, day_to),
    ):
        g = group(r["k"])
        g.update(done=r["done"], timed=r["timed"], on_time=r["on_time"], early=r["early"], instant=r["instant"],
                 on_spot=r["on_spot"],
                 avg_working_days=None if r["avg_days"] is None else round(r["avg_days"], 2))
    ccol = "c." + col if not col.startswith("'") else col
    for r in conn.execute(
        f"SELECT {ccol} AS k, COUNT(*) AS rated, SUM(r.level IN (?, ?, ?)) AS good FROM ratings r "
        "JOIN cases c ON c.case_no = r.case_no WHERE r.status = 'rated' AND r.local_date BETWEEN ? AND ? GROUP BY k",
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
