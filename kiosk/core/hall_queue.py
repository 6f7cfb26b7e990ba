"""The queue: issuing (walk-ins, the green channel, appointment check-in), calling, serving, transferring,
holding and voiding tickets.  Part of Hall (kiosk/core/hall.py), over its one command context."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.core import appointments as A
from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import queue as Q
from kiosk.core.command import (
    _CALL_TICKET,
    _CALL_WINDOW,
    _INSERT_TICKET,
    _NEXT_NUMBER,
    OPEN_STATUSES,
    RANK,
    STATUS_LABELS,
    Issued,
    Result,
    Tx,
    _qs,
    _weekday_names,
)
from kiosk.core.estimate import estimate_wait_s
from kiosk.core.privacy import id_hash, mask_id, valid_id
from kiosk.store import Store


class QueueCommands:
    """Hall commands on tickets: each one transaction through `Hall.run`."""

    # ================================================================================================
    # issuing
    # ================================================================================================
    def issue_ticket(
        self,
        business: str,
        *,
        id_number: str | None = None,
        priority: str = "normal",
        appointment_code: str | None = None,
        terminal: str | None = None,
        idem_key: str | None = None,
    ) -> Result[Issued]:
        """Take a ticket (`terminal`: the kiosk it was taken at, so that kiosk's printer prints it).
        Refusals: UnknownBusiness, BusinessClosed, OutsideTicketHours, DailyCapReached, IdRequired,
        InvalidIdNumber, DuplicateOpenTicket (and the appointment refusals)."""
        if appointment_code:
            return self.check_in(code=appointment_code, terminal=terminal, idem_key=idem_key)
        if priority not in ("normal", "green"):
            raise ValueError(f"priority must be 'normal' or 'green', not {priority!r}")

        def body(tx: Tx) -> Issued:
            b = self._businesses.get(business)
            if b is None:
                raise E.UnknownBusiness(business=business)
            if priority == "green" and not b.green_channel:
                raise E.GreenChannelUnavailable(name=b.name)
            return self._issue(tx, b, id_number=id_number, priority=priority, appointment=None, terminal=terminal)

        return self.run("issue_ticket", idem_key, body, lambda v: ("issued", v.ticket["id"]))

    def _issue(self, tx: Tx, b: Any, *, id_number: str | None, priority: str,
               appointment: sqlite3.Row | None, terminal: str | None = None, due_at: str | None = None) -> Issued:
        """`priority`: normal or green for a walk-in; appointment (or normal, late) for a check-in; `due_at`: an
        early check-in waits in the walk-in rank until then (kiosk/core/appointments.py placement)."""
        state = tx.one(self._state_sql(b.code), b.code)
        assert state is not None
        if state["closed"]:
            raise E.BusinessClosed(name=b.name, message=state["message"] or "请咨询服务台")
        open_windows = self._check_open_window(tx, b, state["open_windows"])
        self._check_day(b, tx.local.date(), "今天")
        if appointment is None or priority == "normal":  # a late check-in is a walk-in: the ticket hours
            self._check_hours(tx, b)
        else:
            self._check_checkin_hours(tx, b)
        h = masked = None
        if id_number:
            if not valid_id(id_number):
                raise E.InvalidIdNumber()
            h, masked = id_hash(self._key, id_number), mask_id(id_number)
        elif appointment is not None and appointment["id_hash"]:
            # booked with an ID: the checked-in ticket is that ID's open ticket, as a walk-in one would be
            h, masked = appointment["id_hash"], appointment["id_masked"]
        elif (b.id_required or self.config.rules.id_required) and appointment is None:
            raise E.IdRequired(name=b.name)
        if h:
            dup = tx.one(
                f"SELECT number FROM tickets WHERE id_hash = ? AND business = ? AND local_date = ? "
                f"AND status IN ({_qs(OPEN_STATUSES)})",
                h, b.code, tx.today, *OPEN_STATUSES,
            )
            if dup is not None:
                raise E.DuplicateOpenTicket(name=b.name, number=dup["number"])
        # one statement takes the day's next number and reads the waiting counts the ticket joins (an upsert, not
        # REPLACE: the row also holds those counts); past the cap the command raises and the increment rolls back
        counts = tx.one(_NEXT_NUMBER, b.code, tx.today)
        assert counts is not None
        seq = int(counts["last_seq"])
        if seq > b.daily_cap:
            raise E.DailyCapReached(name=b.name, cap=b.daily_cap)
        prio = priority
        t = {"id": Store.new_id(), "number": f"{b.prefix}{seq:03d}", "business": b.code, "prefix": b.prefix,
             "seq": seq, "local_date": tx.today, "priority": prio, "rank": RANK["normal" if due_at else prio],
             "due_at": due_at,
             "status": "waiting", "id_hash": h, "id_masked": masked,
             "appointment_code": appointment["code"] if appointment is not None else None, "issued_at": tx.at,
             "window": None, "target_window": None, "recalls": 0, "called_at": None, "started_at": None,
             "finished_at": None}
        t["queue_pos"] = tx.one(
            _INSERT_TICKET, t["id"], t["number"], b.code, b.prefix, seq, tx.today, prio, t["rank"],
            h, masked, t["appointment_code"], tx.at, due_at,
        )[0]  # type: ignore[index]
        ahead = Q.ahead_of_new(counts, t["rank"])  # the counts before it joined: all of its rank or better
        tdict = self._row_ticket(t)
        # token: what the ticket's QR opens on a phone ({public_base_url}/t/<token>, docs/web.md)
        # wait_s: the estimated wait printed and shown with it (kiosk/core/estimate.py; None: not estimable)
        payload = {"ticket": tdict, "ahead": ahead, "hall_name": self.config.name,
                   "token": self.tokens.ticket(t["id"]),
                   "wait_s": estimate_wait_s(ahead, self.service_times.average(tx.today, b.code), open_windows)}
        if terminal:
            payload["terminal"] = terminal
        tx.emit(ev.TICKET_ISSUED, payload)
        return Issued(tdict, ahead)

    def _window_states(self, conn: sqlite3.Connection) -> dict[int, sqlite3.Row]:
        return {r["number"]: r for r in conn.execute("SELECT number, state, pause_reason FROM windows")}

    def _open_for(self, states: dict[int, sqlite3.Row], code: str) -> tuple[int, int, list[str]]:
        """(windows serving the business, those of them not paused, the paused ones' reasons)."""
        serving = [n for n, codes in self._serves.items() if code in codes]
        paused = [states[n] for n in serving if n in states and states[n]["state"] == "paused"]
        reasons = list(dict.fromkeys(str(r["pause_reason"]) for r in paused if r["pause_reason"]))
        return len(serving), len(serving) - len(paused), reasons

    def _state_sql(self, code: str) -> str:
        """The business's state and how many of the windows serving it are open (not paused), in one statement
        that reads those windows by key — never every window's row.  Nothing is kept in step with the pauses: a
        ticket is issued far more often than a window pauses, and the windows' rows stay the one record."""
        sql = self._state_sqls.get(code)
        if sql is None:
            windows = ",".join(str(int(n)) for n in self._serving.get(code, ()))
            sql = ("SELECT s.closed AS closed, s.message AS message, (SELECT COUNT(*) FROM windows WHERE number "
                   f"IN ({windows}) AND state IS NOT 'paused') AS open_windows "
                   "FROM (SELECT ? AS code) AS k LEFT JOIN business_state AS s ON s.code = k.code")
            self._state_sqls[code] = sql
        return sql

    def _check_open_window(self, tx: Tx, b: Any, open_windows: int) -> int:
        """No ticket while every window serving the business is paused: nobody would call it, and the citizen
        would wait with no word of it.  `open_windows`: how many of them are open; returned when some are."""
        if open_windows or not self._serving.get(b.code):
            return open_windows
        _serving, _open, reasons = self._open_for(self._window_states(tx.conn), b.code)
        raise E.NoOpenWindow(name=b.name, reasons="、".join(reasons),
                             why=f"（{'、'.join(reasons)}）" if reasons else "")

    def _check_day(self, b: Any, day: date, label: str) -> None:
        """Whether the business opens on `day` (docs/events.md, "Business days"): its weekdays, never on a public
        holiday or the hall's closure, always on a 调休 make-up working day; `days = "all"`: every day."""
        if b.days == "all":
            return
        cal, weekday = self.calendar, day.isoweekday()
        if cal.is_working_day(day):
            if weekday > 5 or weekday in b.weekdays():  # a working Saturday or Sunday is worked as a weekday
                return
            raise E.NotBusinessDay(name=b.name, days=_weekday_names(b.weekdays()), day=label)
        holiday = cal.holiday_name(day)
        if day in cal.closed:
            reason = "本中心休息日"
        elif holiday:
            reason = f"法定节假日（{holiday}）"
        elif weekday in b.weekdays():
            return  # an ordinary weekend day the business lists (周六延时服务)
        else:
            reason = "休息日"
        raise E.NotWorkingDay(day=label, reason=reason, name=b.name)

    def _check_hours(self, tx: Tx, b: Any) -> None:
        now_t = tx.local.time()
        if not any(s <= now_t <= e for s, e in self._hours.get(b.code) or b.intervals()):
            raise E.OutsideTicketHours(name=b.name, hours="、".join(b.hours))

    def _check_checkin_hours(self, tx: Tx, b: Any) -> None:
        """An appointment checks in within the ticket hours widened by [rules] checkin_grace_minutes on each side
        (an early arrival, a slot at lunch), never after the hall has closed."""
        grace = timedelta(minutes=self.config.rules.checkin_grace_minutes)
        day = tx.local.date()
        first, last = datetime.combine(day, time.min), datetime.combine(day, time.max)
        spans = [(max(datetime.combine(day, s) - grace, first), min(datetime.combine(day, e) + grace, last))
                 for s, e in b.intervals()]
        now = tx.local.replace(tzinfo=None)
        if not any(a <= now <= z for a, z in spans):
            raise E.OutsideCheckInHours(name=b.name, hours="、".join(f"{a:%H:%M}-{z:%H:%M}" for a, z in spans))

    # --- appointments -------------------------------------------------------------------------------
    def book_appointment(
        self,
        code: str,
        business: str,
        day: date,
        slot_start: str,
        slot_end: str,
        *,
        id_number: str | None = None,
        name: str | None = None,
        idem_key: str | None = None,
    ) -> Result[dict[str, Any]]:
        """Record an appointment at a slot the caller chose (the demo, tests): the rules every booking obeys — the
        business opens that day, slot capacity, the per-ID limit — apply, the slot grid and horizon do not.  Screens,
        the phone, the province and the service desk book through kiosk.core.appointments.book instead."""

        def body(tx: Tx) -> dict[str, Any]:
            b = self.config.business(business)
            if b is None:
                raise E.UnknownBusiness(business=business)
            if not b.appointments:
                raise E.AppointmentsNotOffered(name=b.name)
            return A.record(tx, b, day, slot_start, slot_end, code=code, id_number=id_number, name=name,
                            source="desk")

        return self.run("book_appointment", idem_key, body)

    def check_in(
        self, *, code: str | None = None, id_number: str | None = None, terminal: str | None = None,
        idem_key: str | None = None,
    ) -> Result[Issued]:
        """预约签到: by appointment code or ID number; where the ticket stands depends on when (appointments.placement):
        ahead of walk-ins from slot start − appointment_early_minutes to slot end + appointment_grace_minutes."""
        if not code and not id_number:
            raise E.AppointmentNotFound()

        def body(tx: Tx) -> Issued:
            if code:
                a = tx.one("SELECT * FROM appointments WHERE code = ?", code.strip())
            else:
                if not valid_id(id_number or ""):
                    raise E.InvalidIdNumber()
                a = tx.one(
                    "SELECT * FROM appointments WHERE id_hash = ? AND date = ? ORDER BY status = 'booked' DESC, "
                    "status = 'no_show' DESC, slot_start LIMIT 1", id_hash(self._key, id_number or ""), tx.today,
                )
            if a is None:
                raise E.AppointmentNotFound()
            b = self.config.business(a["business"])
            if b is None:
                raise E.UnknownBusiness(business=a["business"])
            if not b.appointments:
                raise E.AppointmentsNotOffered(name=b.name)
            if a["status"] == "checked_in":
                t = tx.one("SELECT number FROM tickets WHERE id = ?", a["ticket_id"])
                raise E.AppointmentUsed(number=t["number"] if t else "")
            if a["status"] not in ("booked", "no_show"):  # a no-show may still come late: a walk-in, or refused
                raise E.AppointmentNotFound()
            if a["date"] != tx.today:
                raise E.AppointmentNotToday(date=a["date"])
            priority, due_at = A.placement(tx, a)  # early, on time or late: docs/events.md "Queue order"
            issued = self._issue(tx, b, id_number=id_number, priority=priority, appointment=a, terminal=terminal,
                                 due_at=due_at)
            tx.exec("UPDATE appointments SET status = 'checked_in', ticket_id = ? WHERE code = ?",
                    issued.ticket["id"], a["code"])
            return issued

        return self.run("check_in", idem_key, body, lambda v: ("issued", v.ticket["id"]))

    def call_next(self, window: int, *, idem_key: str | None = None) -> Result[dict[str, Any]]:
        """呼叫: finish the current ticket (if any) and call the next one this window serves."""

        def body(tx: Tx) -> dict[str, Any]:
            w = self._staffed(tx, window)
            if w["state"] == "paused":
                raise E.WindowPaused(window=window)
            t = self._pick_next(tx, window)
            if t is None:
                raise E.QueueEmpty()
            cur = self._check_started(tx, w)
            self._finish_current(tx, window, w, cur, calling=True)
            return self._call(tx, window, t, w, specific=False, finished=cur)

        return self.run("call_next", idem_key, body, lambda v: ("ticket", v["id"]))

    def call_ticket(self, window: int, number_or_id: str, *, idem_key: str | None = None) -> Result[dict[str, Any]]:
        """Call a specific waiting ticket (by number today, or by id) at this window."""

        def body(tx: Tx) -> dict[str, Any]:
            w = self._staffed(tx, window)
            if w["state"] == "paused":
                raise E.WindowPaused(window=window)
            t = tx.one("SELECT * FROM tickets WHERE id = ? OR (number = ? AND local_date = ?)",
                       number_or_id, number_or_id.upper(), tx.today)
            if t is None:
                raise E.TicketNotFound(ticket=number_or_id)
            if t["status"] != "waiting":
                raise E.TicketNotWaiting(number=t["number"], status=STATUS_LABELS[t["status"]])
            if t["target_window"]:  # sent to one window: it is that window's to call
                if t["target_window"] != window:
                    to = self.config.window(t["target_window"])
                    raise E.TransferredElsewhere(number=t["number"], window=t["target_window"],
                                                 window_name=to.name if to else f"{t['target_window']}号窗口")
            else:
                self._check_serves(window, t["business"])
            cur = self._check_started(tx, w)
            self._finish_current(tx, window, w, cur, calling=True)
            return self._call(tx, window, t, w, specific=True, finished=cur)

        return self.run("call_ticket", idem_key, body, lambda v: ("ticket", v["id"]))

    def _check_serves(self, window: int, business: str) -> None:
        """A window takes only the businesses it lists (a 综合窗口: every business)."""
        if business not in self.config.window_businesses(window):
            b = self.config.business(business)
            raise E.WindowDoesNotServe(window=window, window_name=self._window_cfg(window).name,
                                       name=b.name if b else business)

    def _pick_next(self, tx: Tx, window: int) -> sqlite3.Row | None:
        """The head of each queue this window serves, by index, then the best of those heads:
        rank first, then the window's business preference (none for a combined window), then arrival."""
        codes = self._serves[window]
        combined = self._window_cfg(window).combined
        order = {code: 0 if combined else pref for pref, code in enumerate(codes)}

        def key(row: sqlite3.Row) -> tuple[int, int, int]:
            pref = -1 if row["target_window"] == window else order[row["business"]]
            return row["rank"], pref, row["queue_pos"]

        return min(Q.heads(tx.conn, tx.today, window, codes), key=key, default=None)

    def _call(self, tx: Tx, window: int, t: sqlite3.Row, w: sqlite3.Row, *, specific: bool,
              finished: sqlite3.Row | None = None) -> dict[str, Any]:
        """`finished`: the ticket _finish_current(calling=True) has just closed, recorded as the window's last."""
        tx.exec(_CALL_TICKET, window, w["clerk_id"], tx.at, tx.at, t["id"])
        tx.exec(_CALL_WINDOW, t["id"], finished["id"] if finished is not None else None, tx.at, window)
        # the row as the UPDATE above left it (tests/core/test_queries.py compares it with the store)
        called = self._row_ticket(t, status="called", window=window, called_at=tx.at, recalls=0, target_window=None)
        p = self._window_payload(tx, window, w=w, ticket=called)
        p.update(recall=0, specific=specific, recalls_left=self.config.rules.recall_cap)
        tx.emit(ev.TICKET_CALLED, p)
        return p["ticket"]

    def recall(self, window: int) -> Result[dict[str, Any]]:
        """重呼: announce the current ticket again, at most `recall_cap` times."""

        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            cap = self.config.rules.recall_cap
            if t["status"] != "called":
                raise E.TicketNotWaiting(number=t["number"], status=STATUS_LABELS[t["status"]])
            if t["recalls"] >= cap:
                raise E.RecallLimit(number=t["number"], cap=cap)
            tx.exec("UPDATE tickets SET recalls = recalls + 1, called_at = ? WHERE id = ?", tx.at, t["id"])
            p = self._window_payload(tx, window, t["id"])
            p.update(recall=t["recalls"] + 1, recalls_left=cap - t["recalls"] - 1)
            tx.emit(ev.TICKET_RECALLED, p)
            return p["ticket"]

        return self.run("recall", None, body)

    def no_show(self, window: int) -> Result[dict[str, Any]]:
        """过号: the called citizen did not come; the window is free again."""

        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            if t["status"] != "called":
                raise E.TicketNotWaiting(number=t["number"], status=STATUS_LABELS[t["status"]])
            tx.exec("UPDATE tickets SET status = 'no_show', finished_at = ? WHERE id = ?", tx.at, t["id"])
            tx.exec("UPDATE windows SET current_ticket = NULL, state = 'idle', since = ? WHERE number = ?",
                    tx.at, window)
            p = self._window_payload(tx, window, t["id"])
            tx.emit(ev.TICKET_NO_SHOW, p)
            return p["ticket"]

        return self.run("no_show", None, body)

    def start_service(self, window: int) -> Result[dict[str, Any]]:
        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            if t["status"] != "called":
                raise E.TicketNotWaiting(number=t["number"], status=STATUS_LABELS[t["status"]])
            tx.exec("UPDATE tickets SET status = 'serving', started_at = ? WHERE id = ?", tx.at, t["id"])
            tx.exec("UPDATE windows SET state = 'serving', since = ? WHERE number = ?", tx.at, window)
            p = self._window_payload(tx, window, t["id"])
            tx.emit(ev.SERVICE_STARTED, p)
            return p["ticket"]

        return self.run("start_service", None, body)

    def finish_service(self, window: int) -> Result[dict[str, Any]]:
        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            self._finish_current(tx, window)
            return self._tdict(tx, t["id"])

        return self.run("finish_service", None, body)

    def transfer(
        self, window: int, *, to_business: str | None = None, to_window: int | None = None
    ) -> Result[dict[str, Any]]:
        """转移: the current ticket goes to the front of another business's queue or another window's."""

        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            if to_business is None and to_window is None:
                raise ValueError("transfer needs to_business or to_window")
            business = to_business or t["business"]
            b = self.config.business(business)
            if b is None:
                raise E.UnknownBusiness(business=business)
            if to_window is not None:
                self._check_serves(to_window, business)
            elif not any(business in self.config.window_businesses(w.number) for w in self.config.windows):
                raise E.NoWindowServes(name=b.name)  # it would wait where no window ever calls it
            tx.exec(
                "UPDATE tickets SET status = 'waiting', business = ?, rank = ?, queue_pos = ?, target_window = ?, "
                "window = NULL, transfers = transfers + 1, recalls = 0 WHERE id = ?",
                business, RANK["transfer"], self._next_queue_pos(tx), to_window, t["id"],
            )
            tx.exec("UPDATE windows SET current_ticket = NULL, state = 'idle', since = ? WHERE number = ?",
                    tx.at, window)
            p = {"ticket": self._tdict(tx, t["id"]), "from_window": window, "to_business": business,
                 "to_window": to_window, "window_name": self._window_cfg(window).name}
            tx.emit(ev.TICKET_TRANSFERRED, p)
            return p["ticket"]

        return self.run("transfer", None, body)

    def hold(self, window: int) -> Result[dict[str, Any]]:
        """挂起: set the current ticket aside (e.g. the citizen fetches a document); the window may call on."""

        def body(tx: Tx) -> dict[str, Any]:
            t = self._current(tx, window)
            tx.exec("UPDATE tickets SET status = 'held', held_window = ? WHERE id = ?", window, t["id"])
            tx.exec("UPDATE windows SET current_ticket = NULL, state = 'idle', since = ? WHERE number = ?",
                    tx.at, window)
            p = self._window_payload(tx, window, t["id"])
            tx.emit(ev.TICKET_HELD, p)
            return p["ticket"]

        return self.run("hold", None, body)

    def resume_ticket(self, window: int, number_or_id: str) -> Result[dict[str, Any]]:
        """Take a held ticket back as this window's current one."""

        def body(tx: Tx) -> dict[str, Any]:
            w = self._staffed(tx, window)
            if w["state"] == "paused":
                raise E.WindowPaused(window=window)
            t = tx.one("SELECT * FROM tickets WHERE status = 'held' AND (id = ? OR (number = ? AND local_date = ?))",
                       number_or_id, number_or_id.upper(), tx.today)
            if t is None:
                raise E.TicketNotFound(ticket=number_or_id)
            if t["held_window"] != window:
                raise E.NotServedHere(number=t["number"], window=window)
            if w["current_ticket"]:
                cur = tx.one("SELECT number FROM tickets WHERE id = ?", w["current_ticket"])
                raise E.WindowBusy(window=window, number=cur["number"] if cur else "")
            tx.exec("UPDATE tickets SET status = 'serving', started_at = COALESCE(started_at, ?), held_window = NULL "
                    "WHERE id = ?", tx.at, t["id"])
            tx.exec("UPDATE windows SET current_ticket = ?, state = 'serving', since = ? WHERE number = ?",
                    t["id"], tx.at, window)
            p = self._window_payload(tx, window, t["id"])
            tx.emit(ev.TICKET_RESUMED, p)
            return p["ticket"]

        return self.run("resume_ticket", None, body)

    def void(self, number_or_id: str, reason: str = "") -> Result[dict[str, Any]]:
        """作废: a ticket that will not be served (e.g. it failed to print and the citizen left)."""

        def body(tx: Tx) -> dict[str, Any]:
            t = tx.one("SELECT * FROM tickets WHERE id = ? OR (number = ? AND local_date = ?)",
                       number_or_id, number_or_id.upper(), tx.today)
            if t is None:
                raise E.TicketNotFound(ticket=number_or_id)
            if t["status"] not in OPEN_STATUSES:
                raise E.TicketNotWaiting(number=t["number"], status=STATUS_LABELS[t["status"]])
            tx.exec("UPDATE tickets SET status = 'voided', finished_at = ? WHERE id = ?", tx.at, t["id"])
            tx.exec("UPDATE windows SET current_ticket = NULL, state = 'idle', since = ? WHERE current_ticket = ?",
                    tx.at, t["id"])
            p = {"ticket": self._tdict(tx, t["id"]), "window": t["window"], "reason": reason}
            tx.emit(ev.TICKET_VOIDED, p)
            return p["ticket"]

        return self.run("void", None, body)
