"""GB/T 39046-2020 §6.6 evaluation records (评价记录) of on-site ratings, built by the hall for the sync stream:
办件编号 (or the ticket), 评价渠道, 评价人 (masked), 评价时间, 评价次数, 满意度代码 (A.8), 文字评价, 行政区划."""
from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from kiosk.core.privacy import scrub_text
from kiosk.core.rating import CHANNEL_LABELS, GB39046_CODE, PF_CODE, Channel, Level

EVALUATION_RECORDED = "evaluation.recorded"  # {record}
ANONYMOUS = "匿名"  # a walk-in who gave no name or ID: GB/T 39046 still wants the field filled


def gb_time(iso: str, tz: tzinfo) -> str:
    """评价时间 as the standard writes it: local time, YYYYMMDDThhmmss."""
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _evaluator(conn: sqlite3.Connection, r: sqlite3.Row) -> str:
    """评价人, masked: the case's applicant (张*三), a booked appointment's name, the ticket's masked ID number, or
    匿名 — never a clear name or number."""
    if r["case_no"]:
        c = conn.execute("SELECT applicant_masked FROM cases WHERE case_no = ?", (r["case_no"],)).fetchone()
        if c is not None and c[0]:
            return str(c[0])
    a = conn.execute("SELECT name_masked FROM appointments WHERE ticket_id = ? AND name_masked IS NOT NULL",
                     (r["ticket_id"],)).fetchone()
    if a is not None and a[0]:
        return str(a[0])
    t = conn.execute("SELECT id_masked FROM tickets WHERE id = ?", (r["ticket_id"],)).fetchone()
    if t is not None and t[0]:
        return str(t[0])
    return ANONYMOUS


def record(conn: sqlite3.Connection, rating_id: str, region: str, tz: tzinfo, revision: int) -> dict[str, Any] | None:
    """The evaluation record of a rating as it is now (None if it was not rated).  `revision` grows when the
    record is sent again (the 差评 reason given later): a receiver keeps the highest revision per `id`."""
    r = conn.execute("SELECT * FROM ratings WHERE id = ?", (rating_id,)).fetchone()
    if r is None or r["status"] != "rated" or not r["level"] or not r["rated_at"]:
        return None
    level = Level(r["level"])
    channel = Channel(r["channel"] or Channel.EVALUATOR)
    if r["case_no"]:  # 一事一评: how many times this case has been rated, this one included
        count = conn.execute("SELECT COUNT(*) FROM ratings WHERE case_no = ? AND status = 'rated' AND rated_at <= ?",
                             (r["case_no"], r["rated_at"])).fetchone()[0]
    else:
        count = 1  # 一次一评 on site: one rating per service (ticket)
    reason, comment = scrub_text(r["reason"] or ""), scrub_text(r["text"] or "")  # a number typed in: masked
    text = "；".join(s for s in (reason, comment) if s)
    return {
        "id": r["id"], "revision": revision,
        "project_no": (r["case_no"] or r["ticket_id"])[:50], "project_kind": "case" if r["case_no"] else "ticket",
        "channel": PF_CODE[channel], "channel_label": CHANNEL_LABELS[channel],
        "evaluator": _evaluator(conn, r), "rated_at": gb_time(r["rated_at"], tz), "rated_at_utc": r["rated_at"],
        "count": int(count),
        "satisfaction": GB39046_CODE[level], "level": level.value, "text": text[:2000],
        "reason": reason[:500], "comment": comment[:2000], "region": region,
        "number": r["number"], "window": r["window"],
    }
