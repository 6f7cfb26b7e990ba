"""The Hall: the single writer of hall state.  Each command is one transaction that also appends its events."""
from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from kiosk.core import appointments as A
from kiosk.core import context as C
from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import holidays
from kiosk.core import queue as Q
from kiosk.core import staff as S
from kiosk.core.calendar import WorkCalendar
from kiosk.core.command import (  # re-exported: the names screens and modules import from kiosk.core.hall
    _FINISH_TICKET,
    OPEN_STATUSES,
    RANK,
    RATEABLE,
    STATUS_LABELS,
    Issued,
    Result,
    Tx,
    _secs,
)
from kiosk.core.config import HallConfig
from kiosk.core.estimate import ServiceTimes
from kiosk.core.events import Event, EventBus, Subscriber
from kiosk.core.hall_devices import DeviceReports
from kiosk.core.hall_queries import HallQueries
from kiosk.core.hall_queue import QueueCommands
from kiosk.core.hall_ratings import RatingCommands
from kiosk.core.hall_windows import WindowCommands
from kiosk.core.phone import Tokens
from kiosk.store import Store

__all__ = ["OPEN_STATUSES", "RANK", "RATEABLE", "STATUS_LABELS", "Clock", "Hall", "Issued", "Result", "Tx"]

T = TypeVar("T")
Clock = Callable[[], datetime]


class Hall(QueueCommands, WindowCommands, RatingCommands, DeviceReports, HallQueries):
    """Commands change state (one transaction each, events appended); queries read.  Thread-safe.

    The commands live by capability in kiosk/core/hall_queue.py, hall_windows.py, hall_ratings.py and
    hall_devices.py, the queries in hall_queries.py (staff accounts: kiosk/core/staff.py); here is what they share:
    the store, the clock, the lock, the command context (`run`, Tx) and the day rollover."""

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

    def business_date(self, local: datetime) -> str:
        """The business date at the hall's local time `local`: its date, never before the one the hall has reached
        (a clock set back across midnight does not reopen a closed day, and the log's dates stay in seq order:
        docs/events.md "Day rollover").  Tx.today and today() both."""
        return max(local.date().isoformat(), self._day_open)

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
            self._day_open = max(self._day_open, tx.today)  # committed: the store's business date is this one now
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
            self._day_open = tx.today = row[0]  # a clock behind the store's business date: that date still
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
        if tx.operator.is_person:  # someone signed in elsewhere (the dashboard) acts here only as a manager
            S.authorize_window(tx, self._window_cfg(number).name, w["clerk_id"])
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
        tx.exec(_FINISH_TICKET, tx.at, t["id"])
        if not calling:
            tx.exec("UPDATE windows SET current_ticket = NULL, last_ticket = ?, state = 'idle', since = ? "
                    "WHERE number = ?", t["id"], tx.at, number)
        p = self._window_payload(tx, number, w=w, ticket=self._row_ticket(t, status="done", finished_at=tx.at))
        p["wait_s"] = _secs(t["issued_at"], t["first_called_at"])
        p["service_s"] = _secs(began, tx.at)
        tx.emit(ev.SERVICE_FINISHED, p)
