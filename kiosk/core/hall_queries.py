"""What screens, boards and reports read from the hall: tickets, queues, windows, counts, times, ratings.
Part of Hall (kiosk/core/hall.py); queries never write."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from kiosk.core import errors as E
from kiosk.core import queue as Q
from kiosk.core import staff as S
from kiosk.core.command import (
    _qs,
    _secs,
)
from kiosk.core.estimate import new_ticket_wait_s
from kiosk.core.events import Event
from kiosk.core.figures import compute_times
from kiosk.core.rating import Level


class HallQueries:
    """Hall queries (reads only, any thread)."""

    # ================================================================================================
    # queries
    # ================================================================================================
    def now(self) -> datetime:
        return self.clock()

    def today(self) -> str:
        """The business date now (Hall.business_date)."""
        return self.business_date(self.clock().astimezone(self.config.tz))

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        return self._tdict(None, ticket_id)

    def find_ticket(self, number: str, day: str | None = None) -> dict[str, Any] | None:
        number = number.strip().upper()
        if len(number) < 2 or not number[1:].isdigit():
            return None
        # by the day's unique (prefix, seq): one index step, not the day's tickets
        row = self.store.conn().execute(
            "SELECT * FROM tickets WHERE local_date = ? AND prefix = ? AND seq = ? AND number = ?",
            (day or self.today(), number[0], int(number[1:]), number)).fetchone()
        return self._row_ticket(row) if row else None

    def rating(self, rating_id: str) -> dict[str, Any]:
        return self._rating_dict(self.store.conn(), rating_id)

    def ahead_of(self, ticket_id: str) -> int:
        conn = self.store.conn()
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise E.TicketNotFound(ticket=ticket_id)
        return self._ahead(conn, row) if row["status"] == "waiting" else 0

    def waiting(self, window: int | None = None, business: str | None = None) -> list[dict[str, Any]]:
        """Waiting tickets in the order call-next would take them (for a window), or per business."""
        conn = self.store.conn()
        today = self.today()
        if window is not None:
            codes = self.config.window_businesses(window)
            rows = conn.execute(
                f"SELECT * FROM tickets WHERE {Q.WAITING} AND target_window = ? AND local_date = ? UNION ALL "
                f"SELECT * FROM tickets WHERE {Q.WAITING} AND local_date = ? AND business IN ({_qs(codes)}) "
                "AND target_window IS NULL",
                (window, today, today, *codes),
            ).fetchall()
            order = {c: i for i, c in enumerate(codes)}
            combined = self._window_cfg(window).combined
            rows.sort(key=lambda r: (r["rank"], -1 if r["target_window"] == window else
                                     0 if combined else order.get(r["business"], 99), r["queue_pos"]))
        else:
            sql = f"SELECT * FROM tickets WHERE {Q.WAITING} AND local_date = ?"
            args: list[Any] = [today]
            if business:
                sql += " AND business = ?"
                args.append(business)
            rows = conn.execute(sql + " ORDER BY rank, queue_pos", args).fetchall()
        return [self._row_ticket(r) for r in rows]

    def held(self, window: int) -> list[dict[str, Any]]:
        rows = self.store.conn().execute(
            f"SELECT * FROM tickets WHERE {Q.HELD} AND local_date = ? AND held_window = ? "
            "ORDER BY queue_pos", (self.today(), window)).fetchall()
        return [self._row_ticket(r) for r in rows]

    def waiting_counts(self) -> list[dict[str, Any]]:
        """Per business: waiting count and the longest wait so far (seconds), for kiosk, board, dashboard; the
        windows serving it that are open (not paused), the paused ones' reasons, and the estimated wait of a ticket
        taken now (None: no open window).  Reads one counters row and a few queue heads per business, never the
        waiting tickets themselves."""
        conn = self.store.conn()
        now = self.clock()
        today = self.today()
        rows = Q.waiting_summary(conn, today, [b.code for b in self.config.businesses])
        closed = {r["code"]: r for r in conn.execute("SELECT * FROM business_state")}
        states = self._window_states(conn)
        times = self.service_times.rows(today)
        out = []
        for b in self.config.businesses:
            r = rows.get(b.code)
            st = closed.get(b.code)
            waiting = r[0] if r else 0
            serving, open_windows, reasons = self._open_for(states, b.code)
            out.append({
                "business": b.code, "name": b.name, "prefix": b.prefix, "waiting": waiting,
                "longest_wait_s": _secs(r[1], now.isoformat()) if r else 0,
                "closed": bool(st["closed"]) if st else False, "message": st["message"] if st else "",
                "windows": serving, "open_windows": open_windows, "pause_reasons": reasons,
                "wait_s": new_ticket_wait_s(times, b.code, waiting, open_windows) if serving else None,
            })
        return out

    def windows(self) -> list[dict[str, Any]]:
        """Every window with its current ticket: two statements, whatever the number of windows."""
        conn = self.store.conn()
        rows = {r["number"]: r for r in conn.execute("SELECT * FROM windows")}
        current = {t["id"]: t for t in conn.execute(
            "SELECT * FROM tickets WHERE id IN (SELECT current_ticket FROM windows)")}
        return [self._window_dict(w, rows[w.number], current) for w in self.config.windows]

    def window(self, number: int) -> dict[str, Any]:
        """One window (a caller's, an evaluator's): its own row and ticket, not every window's."""
        w = self._window_cfg(number)
        conn = self.store.conn()
        row = conn.execute("SELECT * FROM windows WHERE number = ?", (number,)).fetchone()
        current = {t["id"]: t for t in conn.execute(
            "SELECT * FROM tickets WHERE id = ?", (row["current_ticket"],))} if row["current_ticket"] else {}
        return self._window_dict(w, row, current)

    def _window_dict(self, w: Any, r: sqlite3.Row, current: dict[str, sqlite3.Row]) -> dict[str, Any]:
        t = current.get(r["current_ticket"]) if r["current_ticket"] else None
        cur = self._row_ticket(t) if t is not None else None
        return {
            "number": w.number, "name": w.name, "state": r["state"], "clerk_id": r["clerk_id"],
            "clerk_name": r["clerk_name"], "pause_reason": r["pause_reason"], "since": r["since"],
            "current": cur, "last_ticket": r["last_ticket"], "businesses": list(self._serves[w.number]),
            "combined": w.combined,
            "recalls_left": self.config.rules.recall_cap - cur["recalls"] if cur else None,
        }

    def recent_calls(self, limit: int = 8) -> list[dict[str, Any]]:
        """The latest calls for the hall board: newest first, one line per ticket.  Reads the day's calls from
        their own index, a page at a time, until `limit` tickets are found (recalls repeat a ticket)."""
        conn = self.store.conn()
        today = self.today()
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        before = Q.SEQ_MAX
        while len(out) < limit:
            rows = Q.latest_calls(conn, today, limit * 3, before)
            for r in rows:
                p = json.loads(r["payload"])
                if p["ticket"]["id"] in seen:
                    continue
                seen.add(p["ticket"]["id"])
                out.append({"number": p["ticket"]["number"], "window": p["window"], "window_name": p["window_name"],
                            "business_name": p["ticket"]["business_name"], "at_utc": r["at_utc"]})
                if len(out) >= limit:
                    break
            if len(rows) < limit * 3:
                break
            before = rows[-1]["seq"]
        return out

    def notice(self) -> str:
        return self.store.meta_get("notice") or self.config.hall.notice

    def has_staff_accounts(self) -> bool:
        """Whether window sign-in needs a staff number and PIN (kiosk/core/staff.py): once one account exists."""
        return S.any_accounts(self.store.conn())

    def devices(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.conn().execute("SELECT * FROM devices ORDER BY name")]

    def counts(self, day: str | None = None) -> dict[str, dict[str, int]]:
        """Today's (or a day's) ticket counts per business and status, plus a hall total."""
        day = day or self.today()
        out: dict[str, dict[str, int]] = {}
        for r in self.store.conn().execute(
            "SELECT business, status, COUNT(*) AS n FROM tickets WHERE local_date = ? GROUP BY business, status",
            (day,)):
            out.setdefault(r["business"], {})[r["status"]] = int(r["n"])
        total: dict[str, int] = {}
        for per in out.values():
            per["issued"] = sum(per.values())
            for k, v in per.items():
                total[k] = total.get(k, 0) + v
        out["_total"] = total
        return out

    def times(self, by: str = "business", day_from: str | None = None, day_to: str | None = None
              ) -> list[dict[str, Any]]:
        """Average wait (issue → first call) and service time (start or call → finish) over a range of local dates
        (default today), one row per business, window, clerk, day or hour taken (kiosk.core.figures.TIME_GROUPS);
        another `by` is a ValueError naming them."""
        d1 = day_from or self.today()
        d2 = day_to or d1
        return compute_times(self.store.conn(), by, d1, d2, self.config.tz)

    def rating_summary(self, day_from: str | None = None, day_to: str | None = None) -> dict[str, Any]:
        """好差评 distribution.  Unrated services are reported on their own line; counted as 满意 only when
        the region's policy is configured, and then said so (`unrated_counted_as_satisfied`)."""
        d1 = day_from or self.today()
        d2 = day_to or d1
        conn = self.store.conn()
        dist = {lv.value: 0 for lv in Level}
        for r in conn.execute("SELECT level, COUNT(*) AS n FROM ratings WHERE status = 'rated' AND local_date "
                              "BETWEEN ? AND ? GROUP BY level", (d1, d2)):
            dist[r["level"]] = int(r["n"])
        days = self.config.rules.unrated_as_satisfied_days
        cutoff = (self.clock().astimezone(self.config.tz).date() - timedelta(days=days)).isoformat()
        unrated = conn.execute("SELECT COUNT(*) FROM ratings WHERE status = 'unrated' AND local_date BETWEEN ? AND ?",
                               (d1, d2)).fetchone()[0]
        counted = 0
        if days > 0:
            counted = conn.execute(
                "SELECT COUNT(*) FROM ratings WHERE status = 'unrated' AND local_date BETWEEN ? AND ? "
                "AND local_date <= ?", (d1, d2, cutoff)).fetchone()[0]
        rated = sum(dist.values())
        good = dist["very_satisfied"] + dist["satisfied"] + dist["basic"]
        denom = rated + counted
        pending = conn.execute("SELECT COUNT(*) FROM ratings WHERE reason_pending = 1 AND local_date BETWEEN ? AND ?",
                               (d1, d2)).fetchone()[0]
        return {
            "distribution": dist, "rated": rated, "unrated": int(unrated),
            "unrated_counted_as_satisfied": int(counted), "policy_days": days,
            "satisfaction_rate": round((good + counted) / denom, 4) if denom else None,
            "bad": dist["dissatisfied"] + dist["very_dissatisfied"], "reason_pending": int(pending),
        }

    def bad_ratings(self, day_from: str | None = None, day_to: str | None = None) -> list[dict[str, Any]]:
        d1 = day_from or self.today()
        d2 = day_to or d1
        rows = self.store.conn().execute(
            "SELECT id FROM ratings WHERE level IN ('dissatisfied', 'very_dissatisfied') AND local_date BETWEEN ? "
            "AND ? ORDER BY rated_at DESC", (d1, d2)).fetchall()
        return [self._rating_dict(self.store.conn(), r["id"]) for r in rows]

    def events_after(self, seq: int, limit: int = 1000) -> list[Event]:
        return self.store.events_after(seq, limit)
