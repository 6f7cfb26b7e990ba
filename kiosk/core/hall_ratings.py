"""好差评 at the window: asking for a rating, recording it, its reason, 未评价.  Part of Hall
(kiosk/core/hall.py), over its one command context."""
from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.command import (
    RATEABLE,
    STATUS_LABELS,
    Result,
    Tx,
)
from kiosk.core.rating import Channel, Level


class RatingCommands:
    """Hall commands on ratings."""

    # ================================================================================================
    # ratings (好差评)
    # ================================================================================================
    def request_rating(self, window: int) -> Result[dict[str, Any]]:
        """评价: ask the citizen at this window to rate the service just given (or being given)."""

        def body(tx: Tx) -> dict[str, Any]:
            w = self._staffed(tx, window)
            tid = w["current_ticket"] or w["last_ticket"]
            if not tid:
                raise E.NoCurrentTicket(window=window)
            t = tx.one("SELECT number, status FROM tickets WHERE id = ?", tid)
            if t is not None and t["status"] not in RATEABLE:
                raise E.NotRateable(number=t["number"], status=STATUS_LABELS[t["status"]])
            p = self._window_payload(tx, window, tid)
            tx.emit(ev.RATING_REQUESTED, p)
            return p["ticket"]

        return self.run("request_rating", None, body)

    def rate(
        self,
        ticket_id: str,
        level: Level | str,
        *,
        channel: Channel | str = Channel.EVALUATOR,
        reason: str | None = None,
        text: str | None = None,
        case_no: str | None = None,
        idem_key: str | None = None,
    ) -> Result[dict[str, Any]]:
        """一次一评: one rating per service.  A 差评 without a reason is kept with reason_pending."""
        lv = Level(level)
        ch = Channel(channel)
        reason = (reason or "").strip() or None

        def body(tx: Tx) -> dict[str, Any]:
            t = tx.one("SELECT * FROM tickets WHERE id = ?", ticket_id)
            if t is None:
                raise E.TicketNotFound(ticket=ticket_id)
            if t["status"] not in RATEABLE or t["window"] is None:
                raise E.NotRateable(number=t["number"], status=STATUS_LABELS[t["status"]])
            if reason and not lv.is_bad:
                raise E.ReasonNotNeeded()
            old = tx.one("SELECT * FROM ratings WHERE ticket_id = ?", ticket_id)
            if old is not None and old["status"] == "rated":
                raise E.RatingExists(number=t["number"])
            pending = int(lv.is_bad and not reason)
            rid = old["id"] if old is not None else uuid.uuid4().hex
            tx.exec(
                "INSERT OR REPLACE INTO ratings(id, ticket_id, number, business, window, clerk_id, status, level, "
                "channel, reason, text, reason_pending, rated_at, local_date, case_no) "
                "VALUES (?, ?, ?, ?, ?, ?, 'rated', ?, ?, ?, ?, ?, ?, ?, ?)",
                rid, ticket_id, t["number"], t["business"], t["window"], t["clerk_id"], lv.value, ch.value,
                reason, text, pending, tx.at, tx.today, case_no,
            )
            r = self._rating_dict(tx.conn, rid)
            tx.emit(ev.RATING_RECORDED, {"rating": r})
            return r

        return self.run("rate", idem_key, body, lambda v: ("rating", v["id"]))

    def complete_rating_reason(self, rating_id: str, reason: str, text: str | None = None) -> Result[dict[str, Any]]:
        """The reason of a 差评 given without one (reason_pending), once; a 满意 or an unrated service takes none."""

        def body(tx: Tx) -> dict[str, Any]:
            old = tx.one("SELECT level, reason, reason_pending FROM ratings WHERE id = ?", rating_id)
            if old is None:
                raise E.RatingNotFound()
            if not old["level"] or not Level(old["level"]).is_bad:
                raise E.ReasonNotNeeded()
            if not old["reason_pending"]:
                raise E.ReasonAlreadyGiven(reason=old["reason"] or "")
            if not reason.strip():
                raise E.ReasonRequired()
            tx.exec("UPDATE ratings SET reason = ?, text = COALESCE(?, text), reason_pending = 0 WHERE id = ?",
                    reason.strip(), text, rating_id)
            r = self._rating_dict(tx.conn, rating_id)
            tx.emit(ev.RATING_REASON_COMPLETED, {"rating": r})
            return r

        return self.run("complete_rating_reason", None, body)

    def mark_unrated(self, ticket_id: str) -> Result[None]:
        """The rating prompt timed out.  Kept as 'unrated' (counted as 满意 only by an explicit policy)."""

        def body(tx: Tx) -> None:
            t = tx.one("SELECT * FROM tickets WHERE id = ?", ticket_id)
            if t is None:
                raise E.TicketNotFound(ticket=ticket_id)
            if tx.one("SELECT id FROM ratings WHERE ticket_id = ?", ticket_id) is not None:
                return  # already rated (or already marked): a late timeout changes nothing
            tx.exec(
                "INSERT INTO ratings(id, ticket_id, number, business, window, clerk_id, status, reason_pending, "
                "local_date) VALUES (?, ?, ?, ?, ?, ?, 'unrated', 0, ?)",
                uuid.uuid4().hex, ticket_id, t["number"], t["business"], t["window"], t["clerk_id"], tx.today,
            )
            tx.emit(ev.RATING_UNRATED, {"ticket": self._row_ticket(t), "window": t["window"]})

        return self.run("mark_unrated", None, body)

    def _rating_dict(self, conn: sqlite3.Connection, rid: str) -> dict[str, Any]:
        r = conn.execute("SELECT * FROM ratings WHERE id = ?", (rid,)).fetchone()
        if r is None:
            raise E.RatingNotFound()
        d = dict(r)
        d["reason_pending"] = bool(d["reason_pending"])
        d["level_label"] = Level(d["level"]).label if d["level"] else "未评价"
        return d
