"""The Hall: the single writer of hall state.  Each command is one transaction that also appends its events."""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from kiosk.core import appointments as A
from kiosk.core import context as C
from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import holidays
from kiosk.core import queue as Q
from kiosk.core import staff as S
from kiosk.core.calendar import WorkCalendar
from kiosk.core.config import HallConfig
from kiosk.core.estimate import ServiceTimes, estimate_wait_s, new_ticket_wait_s
from kiosk.core.events import Event, EventBus, Subscriber
from kiosk.core.figures import compute_times
from kiosk.core.phone import Tokens
from kiosk.core.privacy import id_hash, mask_id, valid_id
from kiosk.core.rating import Channel, Level
from kiosk.store import Store

T = TypeVar("T")
Clock = Callable[[], datetime]

OPEN_STATUSES = ("waiting", "called", "serving", "held")
STATUS_LABELS = {
    "waiting": "等候中", "called": "已叫号", "serving": "办理中", "held": "挂起", "done": "已办结",
    "no_show": "过号", "voided": "已作废", "expired": "已过期",
}
# Queue order inside a business: transferred-in first ("goes to the front there"), then the green channel
# (依法优先), then appointments whose time has come, then walk-ins — and appointments checked in early, until their
# time (kiosk/core/appointments.py); first come first served within a rank (docs/events.md "Queue order").
RANK = {"transfer": 0, "green": 1, "appointment": 2, "normal": 3}
RATEABLE = ("serving", "done")  # 一次一评 rates a service given: never a ticket only called (or gone, or held)
# issuing's two writes, spelled once (not formatted again for every ticket)
_NEXT_NUMBER = (
    "INSERT INTO counters(business, local_date, last_seq) VALUES (?, ?, 1) ON CONFLICT(business, local_date) "
    f"DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq, {', '.join(Q.RANK_COLUMNS)}")
_INSERT_TICKET = (
    "INSERT INTO tickets(id, number, business, prefix, seq, local_date, priority, rank, queue_pos, status, "
    "id_hash, id_masked, appointment_code, issued_at, recalls, transfers, printed, due_at) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ({Q.NEXT_QUEUE_POS}), 'waiting', ?, ?, ?, ?, 0, 0, 0, ?) RETURNING queue_pos")


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """What a command changed: its main value and the events it appended (Anki's OpChanges)."""

    value: T
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: dict[str, Any]
    ahead: int


class Tx:
    """The open write transaction of one command: the connection, 'now', who runs it from where (the command
    context, kiosk/core/context.py), and the events appended so far."""

    def __init__(self, hall: Hall, conn: sqlite3.Connection, now: datetime, operator: C.Operator = C.SYSTEM) -> None:
        self.hall, self.conn, self.now = hall, conn, now
        self.at = now.isoformat()
        self.local = now.astimezone(hall.tz)
        self.today = self.local.date().isoformat()
        self.events: list[Event] = []
        self.act(operator)

    def act(self, operator: C.Operator) -> None:
        """From here on the events are `operator`'s (the rollover and sweeps before a command are the system's)."""
        self.operator = operator
        self.actor, self.terminal = operator.actor, operator.terminal

    def by_clerk(self, clerk_id: str | None) -> None:
        """A window command: done by the clerk signed in there, unless the context already names a person."""
        if clerk_id and not self.operator.is_person:
            self.actor = f"staff:{clerk_id}"

    def emit(self, kind: str, payload: dict[str, Any]) -> Event:
        e = Store.append_event(self.conn, kind, payload, self.at, self.today, self.actor, self.terminal)
        self.events.append(e)
        return e

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
        return row

    def exec(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)


class Hall:
    """Commands change state (one transaction each, events appended); queries read.  Thread-safe."""

    def __init__(
        self,
        config: HallConfig,
        store: Store,
        *,
        clock: Clock,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.calendar = calendar or config.work_calendar()  # with the hall's [calendar] overrides
        self.bus = EventBus()
        self.tz = config.tz  # HallConfig.tz makes a ZoneInfo on each call, and every command needs it
        self._lock = threading.RLock()
        self.store_fault: E.StoreFault | None = None  # the last command's store fault, until a command commits
        # a business date the store is known to have reached: it only moves forward, so while today is not past it
        # no command needs to read it (set only from a committed value, never from a rollover not yet committed)
        self._day_open = ""
        # config lookups on every command's path, by key (HallConfig's own are linear scans)
        self._businesses = {b.code: b for b in config.businesses}
        self._windows = {w.number: w for w in config.windows}
        self._serves = {w.number: config.window_businesses(w.number) for w in config.windows}
        # issuing reads only the windows serving the business, by key (never every window's row)
        self._serving = {b.code: tuple(n for n, codes in self._serves.items() if b.code in codes)
                         for b in config.businesses}
        self._state_sqls: dict[str, str] = {}
        self._hours = {b.code: b.intervals() for b in config.businesses}  # parsed once, not per ticket
        self._init_state()
        holidays.restore(self)  # the province's published holiday calendar, kept in the store
        # today's service times for the estimated wait, counted as services finish (never a scan per ticket)
        self.service_times = ServiceTimes(self.today(), self.times(by="business"))
        self.subscribe(self._service_finished, {ev.SERVICE_FINISHED})
        self.appointment_clock = A.Clockwork()  # the next early appointment's turn, the next no-show

    # ================================================================================================
    # plumbing
    # ================================================================================================
    def _init_state(self) -> None:
        key = self.config.hall.secret or self.store.meta_get("id_hash_key")
        with self.store.write() as c:
            if not key:
                key = secrets.token_hex(32)
                self.store.meta_set(c, "id_hash_key", key)
            for w in self.config.windows:
                c.execute(
                    "INSERT OR IGNORE INTO windows(number, state, since) VALUES (?, 'idle', ?)",
                    (w.number, self.clock().isoformat()),
                )
            for b in self.config.businesses:
                c.execute("INSERT OR IGNORE INTO business_state(code, closed, message) VALUES (?, 0, '')", (b.code,))
        self._key = key.encode()
        self.tokens = Tokens(self._key)  # the phone pages' tokens (kiosk/core/phone.py)

    def _service_finished(self, e: Event) -> None:
        t = e.payload["ticket"]
        self.service_times.finished(str(t["local_date"]), str(t["business"]), float(e.payload.get("service_s") or 0))

    def subscribe(self, fn: Subscriber, kinds: set[str] | None = None) -> Callable[[], None]:
        """fn(Event) after commit, in seq order, in the committing thread: it must return at once."""
        return self.bus.subscribe(fn, kinds)

    @contextmanager
    def _command(self, idem_key: str | None = None, name: str = "") -> Iterator[Tx]:
        with self._lock:
            now = self.clock()
            try:
                with self.store.write() as conn:
                    tx = Tx(self, conn, now)  # the rollover and the sweeps are the hall's own doing
                    self._rollover(tx)
                    A.housekeep(tx)  # appointments whose time came, bookings nobody came for: before anything else
                    tx.act(C.current() or C.SYSTEM)
                    yield tx
            except E.StoreFault as fault:  # rolled back, not acknowledged; screens show it until a write commits
                self.store_fault = fault
                raise
            if tx.events:  # only a commit that wrote proves the store takes writes again (a replay writes nothing)
                self.store_fault = None
            self.bus.publish(tx.events)

    def run(
        self,
        name: str,
        idem_key: str | None,
        body: Callable[[Tx], T],
        value_ref: Callable[[T], tuple[str, str]] | None = None,
    ) -> Result[T]:
        """Run a command: `body(tx)` inside one write transaction; events it emits are published after commit.

        This is also the extension point for modules that add commands (cases, sync inbox): they write through
        `tx.exec`/`tx.emit` and never open their own write transaction.  A retried `idem_key` returns the first
        result and changes nothing."""
        with self._lock:
            seen: sqlite3.Row | None = None
            with self._command() as tx:
                # looked up inside the write transaction, so two processes retrying one key cannot both run it
                if idem_key:
                    seen = tx.one("SELECT * FROM command_log WHERE key = ?", idem_key)
                if seen is None:
                    S.authorize(tx, name)  # the command context's role may run this command (kiosk/core/staff.py)
                    value = body(tx)
                    if idem_key:
                        kind, vid = value_ref(value) if value_ref else ("none", "")
                        first = tx.events[0].seq if tx.events else 0
                        last = tx.events[-1].seq if tx.events else 0
                        tx.exec("INSERT INTO command_log VALUES (?, ?, ?, ?, ?, ?)", idem_key, name, kind, vid,
                                first, last)
            if seen is not None:
                return self._replay(seen)
            return Result(value, tx.events)

    def _replay(self, row: sqlite3.Row) -> Result[Any]:
        events = self.store.events_after(row["first_seq"] - 1, row["last_seq"] - row["first_seq"] + 1) \
            if row["first_seq"] else []
        value: Any = None
        if row["value_kind"] == "issued":
            t = self.ticket(row["value_id"])
            first = events[0].payload if events else {}
            value = Issued(t, int(first.get("ahead", 0)))
        elif row["value_kind"] == "ticket":
            value = self.ticket(row["value_id"])
        elif row["value_kind"] == "rating":
            value = self.rating(row["value_id"])
        return Result(value, events)

    # ================================================================================================
    # day rollover
    # ================================================================================================
    def _rollover(self, tx: Tx) -> None:
        """At the first command of a new local day: close the earlier days' open tickets, set-based, with ONE
        day.closed event naming every ticket closed (docs/events.md, "Day rollover"): 20,000 open tickets
        cost two UPDATEs and one event, not 20,000 events with the hall locked."""
        if self._day_open >= tx.today:
            return
        row = tx.one("SELECT value FROM meta WHERE key = 'business_date'")
        if row is not None and row[0] >= tx.today:
            self._day_open = row[0]
            return
        if row is not None:
            stale = Q.open_before(tx.conn, tx.today, row[0])
            Q.expire_before(tx.conn, tx.today, row[0], tx.at)
            tx.exec("UPDATE windows SET current_ticket = NULL, last_ticket = NULL, "
                    "state = CASE WHEN state = 'paused' THEN 'paused' ELSE 'idle' END")
            by_day: dict[str, list[sqlite3.Row]] = {}
            for t in stale:
                by_day.setdefault(t["local_date"], []).append(t)
            tx.emit(ev.DAY_CLOSED, {"date": row[0], "new_date": tx.today, "expired": len(stale),
                                    "expired_numbers": {day: Q.expired_numbers(rows)
                                                        for day, rows in sorted(by_day.items())}})
            S.sign_out_all(self, tx)  # staff accounts sign in again each day (halls without accounts: as before)
        tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('business_date', ?)", tx.today)

    def tick(self) -> list[Event]:
        """Called by a timer: rolls the day over at local midnight even when nobody touches the hall."""
        with self._lock:
            now = self.clock()
            today = now.astimezone(self.config.tz).date().isoformat()
            if self._day_open >= today:
                if not A.pending(self, now):  # an early appointment's turn, a no-show: else nothing to do, no SQL
                    return []
                with self._command() as tx:
                    pass
                return tx.events
            row = self.store.conn().execute("SELECT value FROM meta WHERE key = 'business_date'").fetchone()
            if row is not None and row[0] >= today:
                self._day_open = row[0]
                return []
            with self._command() as tx:
                pass
            return tx.events

    # ================================================================================================
    # helpers
    # ================================================================================================
    def _tdict(self, tx: Tx | None, ticket_id: str) -> dict[str, Any]:
        conn = tx.conn if tx else self.store.conn()
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise E.TicketNotFound(ticket=ticket_id)
        return self._row_ticket(row)

    def _row_ticket(self, row: sqlite3.Row | dict[str, Any], **changes: Any) -> dict[str, Any]:
        """The ticket dict events and screens carry; `changes`: columns the command has just updated, so that it
        need not read the row again."""
        if not isinstance(row, dict):  # a Row finds a column by name in a scan of its names: once, not 18 times
            row = dict(zip(row.keys(), row, strict=True))
        if changes:
            row = {**row, **changes}
        b = self._businesses.get(row["business"])
        return {
            "id": row["id"], "number": row["number"], "business": row["business"],
            "business_name": b.name if b else row["business"], "prefix": row["prefix"],
            "priority": row["priority"], "status": row["status"], "status_label": STATUS_LABELS[row["status"]],
            "issued_at": row["issued_at"], "local_date": row["local_date"], "id_masked": row["id_masked"],
            "appointment_code": row["appointment_code"], "due_at": row["due_at"], "window": row["window"],
            "target_window": row["target_window"], "recalls": row["recalls"],
            "called_at": row["called_at"], "started_at": row["started_at"], "finished_at": row["finished_at"],
        }

    def _window_cfg(self, number: int) -> Any:
        w = self._windows.get(number)
        if w is None:
            raise E.UnknownWindow(window=number)
        return w

    def _window_row(self, tx: Tx, number: int) -> sqlite3.Row:
        self._window_cfg(number)
        row = tx.one("SELECT * FROM windows WHERE number = ?", number)
        assert row is not None  # created at start-up for every configured window
        return row

    def _staffed(self, tx: Tx, number: int) -> sqlite3.Row:
        """The window's row for a window command, refused while nobody is signed in there: every call, 过号 and
        办结 lands on a clerk's record (and a caller left open at an empty desk cannot call citizens)."""
        w = self._window_row(tx, number)
        if not w["clerk_id"]:
            raise E.NoClerkSignedIn(window=number, window_name=self._window_cfg(number).name)
        tx.by_clerk(w["clerk_id"])
        return w

    def _check_started(self, tx: Tx, w: sqlite3.Row) -> sqlite3.Row | None:
        """呼叫 closes the current ticket as 办结: refused while it is only called, so a no-show is never counted as
        served; the clerk first says 过号 or 开始办理.  Returns the current ticket's row (None: none), which the
        command then finishes without reading it again."""
        if not w["current_ticket"]:
            return None
        t: sqlite3.Row | None = tx.one("SELECT * FROM tickets WHERE id = ?", w["current_ticket"])
        if t is not None and t["status"] == "called":
            raise E.CalledNotStarted(number=t["number"])
        return t

    def _current(self, tx: Tx, number: int) -> sqlite3.Row:
        w = self._staffed(tx, number)
        if not w["current_ticket"]:
            raise E.NoCurrentTicket(window=number)
        row = tx.one("SELECT * FROM tickets WHERE id = ?", w["current_ticket"])
        assert row is not None
        return row

    def _ahead(self, conn: sqlite3.Connection, t: sqlite3.Row | dict[str, Any]) -> int:
        """Waiting tickets that call-next would take before this one in its own queue."""
        return Q.ahead(conn, t)

    def _window_payload(self, tx: Tx, number: int, ticket_id: str | None = None,
                        w: sqlite3.Row | None = None, ticket: dict[str, Any] | None = None) -> dict[str, Any]:
        """`w`: the window's row when the command already read it (its clerk does not change mid-command);
        `ticket`: the ticket dict when the command already has it (else it is read by `ticket_id`)."""
        if w is None:
            w = self._window_row(tx, number)
        p: dict[str, Any] = {"window": number, "window_name": self._window_cfg(number).name,
                             "clerk": w["clerk_name"]}
        if ticket is not None:
            p["ticket"] = ticket
        elif ticket_id:
            p["ticket"] = self._tdict(tx, ticket_id)
        return p

    def _next_queue_pos(self, tx: Tx) -> int:
        return Q.next_queue_pos(tx.conn)

    def _finish_current(self, tx: Tx, number: int, w: sqlite3.Row | None = None,
                        t: sqlite3.Row | None = None, *, calling: bool = False) -> None:
        """办结 the window's current ticket.  `t`: its row when the command has read it; `calling`: the command
        calls the next one at once, and its one UPDATE of the window row also records this one as the last."""
        if w is None:
            w = self._window_row(tx, number)
        if not w["current_ticket"]:
            return
        if t is None:
            t = tx.one("SELECT * FROM tickets WHERE id = ?", w["current_ticket"])
        assert t is not None
        began = t["started_at"] or t["called_at"]
        tx.exec("UPDATE tickets SET status = 'done', finished_at = ? WHERE id = ?", tx.at, t["id"])
        if not calling:
            tx.exec("UPDATE windows SET current_ticket = NULL, last_ticket = ?, state = 'idle', since = ? "
                    "WHERE number = ?", t["id"], tx.at, number)
        p = self._window_payload(tx, number, w=w, ticket=self._row_ticket(t, status="done", finished_at=tx.at))
        p["wait_s"] = _secs(t["issued_at"], t["first_called_at"])
        p["service_s"] = _secs(began, tx.at)
        tx.emit(ev.SERVICE_FINISHED, p)

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

    # ================================================================================================
    # window actions
    # ================================================================================================
    def sign_in(self, window: int, clerk_id: str, clerk_name: str) -> Result[None]:
        """签到 by name, for a hall with no staff accounts; once one account exists: PinRequired (sign_in_staff)."""
        def body(tx: Tx) -> None:
            self._window_row(tx, window)
            if S.any_accounts(tx.conn):
                raise S.PinRequired()
            self._sign_in(tx, window, clerk_id, clerk_name)

        return self.run("sign_in", None, body)

    def sign_in_staff(self, window: int, staff_no: str, pin: str) -> Result[None]:
        """签到 with a staff number (or badge code) and PIN: lock, roster, one window each (kiosk/core/staff.py)."""
        return S.sign_in(self, window, staff_no, pin)

    def _sign_in(self, tx: Tx, window: int, clerk_id: str, clerk_name: str) -> None:
        tx.by_clerk(clerk_id)
        tx.exec("UPDATE windows SET clerk_id = ?, clerk_name = ? WHERE number = ?", clerk_id, clerk_name, window)
        p = self._window_payload(tx, window)
        p.update(clerk_id=clerk_id, clerk_name=clerk_name)
        tx.emit(ev.WINDOW_SIGNED_IN, p)

    def sign_out(self, window: int) -> Result[None]:
        def body(tx: Tx) -> None:
            self._sign_out(tx, window)

        return self.run("sign_out", None, body)

    def _sign_out(self, tx: Tx, window: int, reason: str | None = None) -> None:
        """`reason`: day_end (the rollover), disabled (the account stopped); None: the clerk's own 签退."""
        w = self._window_row(tx, window)
        if w["current_ticket"]:
            t = tx.one("SELECT number FROM tickets WHERE id = ?", w["current_ticket"])
            raise E.WindowBusy(window=window, number=t["number"] if t else "")
        if reason is None:  # the clerk's own 签退 (day end: the system's; disabled: whoever disabled the account)
            tx.by_clerk(w["clerk_id"])
        p = self._window_payload(tx, window)
        p.update(clerk_id=w["clerk_id"], clerk_name=w["clerk_name"])
        if reason:
            p["reason"] = reason
        tx.exec("UPDATE windows SET clerk_id = NULL, clerk_name = NULL WHERE number = ?", window)
        tx.emit(ev.WINDOW_SIGNED_OUT, p)

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
        tx.exec(
            "UPDATE tickets SET status = 'called', window = ?, clerk_id = ?, called_at = ?, "
            "first_called_at = COALESCE(first_called_at, ?), recalls = 0, target_window = NULL WHERE id = ?",
            window, w["clerk_id"], tx.at, tx.at, t["id"],
        )
        tx.exec("UPDATE windows SET current_ticket = ?, last_ticket = COALESCE(?, last_ticket), state = 'calling', "
                "since = ? WHERE number = ?", t["id"], finished["id"] if finished is not None else None, tx.at,
                window)
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

    def pause(self, window: int, reason: str) -> Result[None]:
        """暂停: the window stops calling; boards show 暂停服务 and the reason."""

        def body(tx: Tx) -> None:
            w = self._staffed(tx, window)
            if w["current_ticket"]:
                cur = tx.one("SELECT number FROM tickets WHERE id = ?", w["current_ticket"])
                raise E.WindowBusy(window=window, number=cur["number"] if cur else "")
            tx.exec("UPDATE windows SET state = 'paused', pause_reason = ?, since = ? WHERE number = ?",
                    reason, tx.at, window)
            p = self._window_payload(tx, window)
            p["reason"] = reason
            tx.emit(ev.WINDOW_PAUSED, p)

        return self.run("pause", None, body)

    def resume_window(self, window: int) -> Result[None]:
        def body(tx: Tx) -> None:
            w = self._staffed(tx, window)
            if w["state"] != "paused":
                raise E.WindowNotPaused(window=window)
            tx.exec("UPDATE windows SET state = 'idle', pause_reason = NULL, since = ? WHERE number = ?",
                    tx.at, window)
            tx.emit(ev.WINDOW_RESUMED, self._window_payload(tx, window))

        return self.run("resume_window", None, body)

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

    # --- businesses and notices ---------------------------------------------------------------------
    def close_business(self, business: str, message: str) -> Result[None]:
        """Stop issuing for a business with a message the kiosk shows (系统维护, 今日号已满…)."""

        def body(tx: Tx) -> None:
            if self.config.business(business) is None:
                raise E.UnknownBusiness(business=business)
            tx.exec("UPDATE business_state SET closed = 1, message = ? WHERE code = ?", message, business)
            tx.emit(ev.BUSINESS_CLOSED, {"business": business, "message": message})

        return self.run("close_business", None, body)

    def open_business(self, business: str) -> Result[None]:
        def body(tx: Tx) -> None:
            if self.config.business(business) is None:
                raise E.UnknownBusiness(business=business)
            tx.exec("UPDATE business_state SET closed = 0, message = '' WHERE code = ?", business)
            tx.emit(ev.BUSINESS_OPENED, {"business": business})

        return self.run("open_business", None, body)

    def set_notice(self, text: str) -> Result[None]:
        def body(tx: Tx) -> None:
            tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('notice', ?)", text)
            tx.emit(ev.NOTICE_CHANGED, {"notice": text})

        return self.run("set_notice", None, body)

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

    # ================================================================================================
    # devices report through commands too (events are the record)
    # ================================================================================================
    def report_device_health(self, device: str, kind: str, state: str, reason: str = "") -> Result[None]:
        def body(tx: Tx) -> None:
            tx.actor = _device_actor(device)
            old = tx.one("SELECT state, reason FROM devices WHERE name = ?", device)
            if old is not None and old["state"] == state and (old["reason"] or "") == reason:
                return
            tx.exec("INSERT OR REPLACE INTO devices(name, kind, state, reason, since) VALUES (?, ?, ?, ?, ?)",
                    device, kind, state, reason, tx.at)
            tx.emit(ev.DEVICE_HEALTH, {"device": device, "kind": kind, "state": state, "reason": reason})

        return self.run("report_device_health", None, body)

    def report_print(self, ticket_id: str, *, ok: bool, device: str, reason: str = "") -> Result[None]:
        def body(tx: Tx) -> None:
            tx.actor = _device_actor(device)
            t = tx.one("SELECT * FROM tickets WHERE id = ?", ticket_id)
            if t is None:
                raise E.TicketNotFound(ticket=ticket_id)
            tx.exec("UPDATE tickets SET printed = ? WHERE id = ?", 1 if ok else -1, ticket_id)
            tx.emit(ev.PRINT_DONE if ok else ev.PRINT_FAILED,
                    {"ticket": self._row_ticket(t), "device": device, "reason": reason})

        return self.run("report_print", None, body)

    # ================================================================================================
    # queries
    # ================================================================================================
    def now(self) -> datetime:
        return self.clock()

    def today(self) -> str:
        return self.clock().astimezone(self.config.tz).date().isoformat()

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


def _device_actor(name: str) -> str:
    """A device's report is the device's own doing (a name with spaces is recorded without them)."""
    return f"device:{''.join(name.split())[:64] or '?'}"


def _qs(items: tuple[Any, ...] | list[Any]) -> str:
    return ",".join("?" * len(items)) or "NULL"


def _secs(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 1)


def _weekday_names(days: frozenset[int]) -> str:
    return "、".join("周" + "一二三四五六日"[d - 1] for d in sorted(days))

