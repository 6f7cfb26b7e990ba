"""HallClient: the one doorway from a screen to the hall (in-process, on a store shared with other processes, or a
LAN client) and its event signal."""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from kiosk.core import context as C
from kiosk.core.errors import HallError, StoreFault
from kiosk.core.events import Event

log = logging.getLogger(__name__)


class HallLike(Protocol):
    """What a screen may ask of a hall (kiosk.core.hall.Hall satisfies it; a LAN proxy will too)."""

    config: Any

    def subscribe(self, fn: Callable[[Event], None], kinds: set[str] | None = None) -> Callable[[], None]: ...
    def now(self) -> datetime: ...
    def tick(self) -> list[Event]: ...


def screen_operator(role: str, window: int | None = None) -> C.Operator:
    """A screen's operator before anyone signs in there: the kiosk and the evaluator serve citizens; at a caller,
    the board or the dashboard it is someone not signed in ("anonymous": a caller's window commands are its
    signed-in clerk's, filled in by the hall; a manager's command is refused until a manager signs in, in a hall
    with accounts); the dashboard names its manager once one signs in (DashboardScreen.sign_in)."""
    terminal = C.terminal_of(role, window)
    return C.Operator("citizen", terminal) if role in ("kiosk", "evaluator") else C.anonymous(terminal)


class Acting:
    """A hall module (cases, staff, appointments) whose calls run as the client's operator, like its commands."""

    def __init__(self, target: Any, client: HallClient | ClientView) -> None:
        self._target, self._client = target, client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kw: Any) -> Any:
            with C.acting(C.current() or self._client.operator):  # a ClientView's operator, when it set one
                return attr(*args, **kw)

        return call


class ClientView:
    """One screen's doorway when several screens share a HallClient (the demo): the client's signals, queries and
    commands, with the commands run as this view's `operator` (the kiosk: a citizen; the caller: its window)."""

    def __init__(self, client: HallClient, operator: C.Operator) -> None:
        self.client, self.operator = client, operator

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not (inspect.ismethod(attr) or isinstance(attr, Acting)):
            return attr  # signals, config, the hall
        if isinstance(attr, Acting):
            return Acting(attr._target, self)  # type: ignore[arg-type]

        def call(*args: Any, **kw: Any) -> Any:
            with C.acting(self.operator):
                return attr(*args, **kw)

        return call


class HallClient(QObject):
    """Commands and queries pass straight through; hall events reach Qt only through one queued signal.

    `events` is emitted in the Qt thread whatever thread committed the command (a device thread, the sync
    thread, or the UI itself): the subscriber only emits `_incoming`, whose queued connection hops to the thread
    this object lives in.  Queuing also keeps a screen's slot from running while the hall holds its write lock.
    `heartbeat` is emitted each time the hall answers the periodic tick, so a board can tell "quiet" from "gone".

    A hall on a store (not a LAN proxy) is also followed through the store's events table, every `follow_s`:
    the events table is the bus between processes on one PC, so a screen sees what a kiosk, caller or server in
    another process committed.  Both paths meet in `_deliver`, in `seq` order and each event once: an event of
    this process's bus that arrives after a gap first brings in the events other processes wrote in between.
    """

    events = Signal(object)  # Event, in the Qt thread
    heartbeat = Signal()
    store_fault = Signal(object)  # the StoreFault in force, or None once a command commits again
    quiet = Signal(object)  # why the hall stopped answering (its store or its server), or None once it answers
    _incoming = Signal(object)

    FOLLOW_PAGE = 500  # events per read of the log; a long backlog is read in pages, each delivered in order

    def __init__(self, hall: Any, *, heartbeat_s: float = 5.0, follow_s: float = 0.05,
                 operator: C.Operator | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hall = hall
        # who this screen's commands are done by, and where (kiosk/core/context.py): a caller or the dashboard
        # names the signed-in person here; a window command without one is the window's signed-in clerk's
        self.operator = operator or C.Operator("system", "screen")
        self.fault: StoreFault | None = None
        self.silent: str | None = None  # what `quiet` last said
        store = getattr(hall, "store", None)
        self._store = store if hasattr(store, "events_after") else None
        self.last_seq = self._log_end()  # screens read the state as of now: only later events are news
        self._incoming.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = hall.subscribe(self._incoming.emit)
        self._beat = QTimer(self)
        self._beat.timeout.connect(self._tick)
        if heartbeat_s > 0:
            self._beat.start(int(heartbeat_s * 1000))
        self._follow = QTimer(self)
        self._follow.timeout.connect(self.follow)
        if self._store is not None and follow_s > 0:
            self._follow.start(int(follow_s * 1000))

    # --- plumbing -----------------------------------------------------------------------------------------
    def _log_end(self) -> int:
        """The store's last seq; -1 while it cannot be read (then the first event read sets it, nothing replayed)."""
        if self._store is None:
            return 0
        try:
            return self._store.last_seq()
        except StoreFault as fault:
            self._went_quiet(f"无法读取大厅数据库：{fault.message}")
            return -1

    def _deliver(self, ev: Event) -> None:
        if self._store is not None:
            if self.last_seq < 0:
                self.last_seq = ev.seq - 1
            if ev.seq <= self.last_seq:
                return  # already delivered from the log (or from this process's bus)
            if ev.seq > self.last_seq + 1 and not self._catch_up(ev.seq - 1):
                return  # the store cannot be read now: the next read of the log delivers all of it in order
            self.last_seq = ev.seq
        self.events.emit(ev)

    def _catch_up(self, upto: int | None = None) -> bool:
        """Deliver the log's events after `last_seq` (up to `upto`), in order.  False if the store cannot be read."""
        assert self._store is not None
        while upto is None or self.last_seq < upto:
            try:
                page = self._store.events_after(self.last_seq, self.FOLLOW_PAGE)
            except StoreFault as fault:
                self._went_quiet(f"无法读取大厅数据库：{fault.message}")
                return False
            for ev in page:
                if upto is not None and ev.seq > upto:
                    return True
                self.last_seq = ev.seq
                self.events.emit(ev)
            if len(page) < self.FOLLOW_PAGE:
                break
        return True

    def follow(self) -> None:
        """One read of the store's event log (a cheap indexed query): what other processes committed."""
        if self._store is None:
            return
        if self.last_seq < 0:  # unreadable when this screen started: begin at the log's end, replay nothing
            self.last_seq = self._log_end()
            if self.last_seq < 0:
                return
        if not self._catch_up():
            return
        self._went_quiet(None)
        self.heartbeat.emit()  # a store that answers is a live hall

    def _went_quiet(self, why: str | None) -> None:
        if why != self.silent:
            self.silent = why
            if why:
                log.warning("hall stopped answering: %s", why)
            self.quiet.emit(why)

    def _tick(self) -> None:
        try:
            self.hall.tick()  # also rolls the day over at midnight; a LAN hall raises when its server is silent
        except StoreFault as fault:  # the midnight rollover could not be written
            self._note_fault(fault)
            return
        except HallError as exc:  # the LAN server is away: no heartbeat, so the board shows stale by itself
            self._went_quiet(f"大厅服务器没有应答：{exc.message}")
            return
        except Exception:
            log.exception("hall did not answer the heartbeat tick")
            return
        # an in-process hall also knows of faults and recoveries from commands that bypass this client (devices,
        # sync, the 办件 pass); a LAN hall has no such attribute and reports faults through its replies only
        known = getattr(self.hall, "store_fault", False)
        if known is None or isinstance(known, StoreFault):
            self._note_fault(known)
        if not self._follow.isActive():  # a client following the store is heard through its reads of the log
            self._went_quiet(None)
            self.heartbeat.emit()

    def _command(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run one hall command, keeping `fault` (and the screens showing it) up to date."""
        try:
            with C.acting(C.current() or self.operator):  # a ClientView's operator, when it set one
                result = fn(*args, **kw)
        except StoreFault as fault:
            self._note_fault(fault)
            raise
        if getattr(result, "events", None):  # a commit that wrote: the store takes writes again
            self._note_fault(None)
        return result

    def _note_fault(self, fault: StoreFault | None) -> None:
        before = self.fault
        self.fault = fault
        if (before and before.message) != (fault and fault.message):
            self.store_fault.emit(fault)

    def stop_heartbeat(self) -> None:
        self._beat.stop()
        self._follow.stop()

    def close(self) -> None:
        self._beat.stop()
        self._follow.stop()
        self._unsubscribe()

    @property
    def config(self) -> Any:
        return self.hall.config

    def now(self) -> datetime:
        return self.hall.clock()

    # --- commands (each returns Result(value, events); refusals raise HallError) ---------------------------
    def issue_ticket(self, business: str, **kw: Any) -> Any:
        return self._command(self.hall.issue_ticket, business, **kw)

    def check_in(self, **kw: Any) -> Any:
        return self._command(self.hall.check_in, **kw)

    def call_next(self, window: int) -> Any:
        return self._command(self.hall.call_next, window)

    def call_ticket(self, window: int, number: str) -> Any:
        return self._command(self.hall.call_ticket, window, number)

    def recall(self, window: int) -> Any:
        return self._command(self.hall.recall, window)

    def no_show(self, window: int) -> Any:
        return self._command(self.hall.no_show, window)

    def start_service(self, window: int) -> Any:
        return self._command(self.hall.start_service, window)

    def finish_service(self, window: int) -> Any:
        return self._command(self.hall.finish_service, window)

    def transfer(self, window: int, **kw: Any) -> Any:
        return self._command(self.hall.transfer, window, **kw)

    def hold(self, window: int) -> Any:
        return self._command(self.hall.hold, window)

    def resume_ticket(self, window: int, number: str) -> Any:
        return self._command(self.hall.resume_ticket, window, number)

    def pause(self, window: int, reason: str) -> Any:
        return self._command(self.hall.pause, window, reason)

    def resume_window(self, window: int) -> Any:
        return self._command(self.hall.resume_window, window)

    def void(self, number: str, reason: str = "") -> Any:
        return self._command(self.hall.void, number, reason)

    def sign_in(self, window: int, clerk_id: str, clerk_name: str) -> Any:
        return self._command(self.hall.sign_in, window, clerk_id, clerk_name)

    def sign_in_staff(self, window: int, staff_no: str, pin: str) -> Any:
        return self._command(self.hall.sign_in_staff, window, staff_no, pin)

    def sign_out(self, window: int) -> Any:
        return self._command(self.hall.sign_out, window)

    def request_rating(self, window: int) -> Any:
        return self._command(self.hall.request_rating, window)

    def rate(self, ticket_id: str, level: Any, **kw: Any) -> Any:
        return self._command(self.hall.rate, ticket_id, level, **kw)

    def complete_rating_reason(self, rating_id: str, reason: str, text: str | None = None) -> Any:
        return self._command(self.hall.complete_rating_reason, rating_id, reason, text)

    def mark_unrated(self, ticket_id: str) -> Any:
        return self._command(self.hall.mark_unrated, ticket_id)

    def close_business(self, business: str, message: str) -> Any:
        return self._command(self.hall.close_business, business, message)

    def open_business(self, business: str) -> Any:
        return self._command(self.hall.open_business, business)

    def set_notice(self, text: str) -> Any:
        return self._command(self.hall.set_notice, text)

    # --- queries ----------------------------------------------------------------------------------------------
    def waiting_counts(self) -> list[dict[str, Any]]:
        return self.hall.waiting_counts()  # type: ignore[no-any-return]

    def waiting(self, window: int | None = None) -> list[dict[str, Any]]:
        return self.hall.waiting(window=window)  # type: ignore[no-any-return]

    def held(self, window: int) -> list[dict[str, Any]]:
        return self.hall.held(window)  # type: ignore[no-any-return]

    def windows(self) -> list[dict[str, Any]]:
        return self.hall.windows()  # type: ignore[no-any-return]

    def window(self, number: int) -> dict[str, Any]:
        return self.hall.window(number)  # type: ignore[no-any-return]

    def has_staff_accounts(self) -> bool:
        return bool(self.hall.has_staff_accounts())

    def recent_calls(self, limit: int = 8) -> list[dict[str, Any]]:
        return self.hall.recent_calls(limit)  # type: ignore[no-any-return]

    def notice(self) -> str:
        return str(self.hall.notice())

    def devices(self) -> list[dict[str, Any]]:
        return self.hall.devices()  # type: ignore[no-any-return]

    def counts(self) -> dict[str, dict[str, int]]:
        return self.hall.counts()  # type: ignore[no-any-return]

    def times(self, by: str = "business") -> list[dict[str, Any]]:
        return self.hall.times(by=by)  # type: ignore[no-any-return]

    def rating_summary(self) -> dict[str, Any]:
        return self.hall.rating_summary()  # type: ignore[no-any-return]

    def bad_ratings(self) -> list[dict[str, Any]]:
        return self.hall.bad_ratings()  # type: ignore[no-any-return]

    def ahead_of(self, ticket_id: str) -> int:
        return int(self.hall.ahead_of(ticket_id))

    def find_ticket(self, number: str) -> dict[str, Any] | None:
        return self.hall.find_ticket(number)  # type: ignore[no-any-return]

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        return self.hall.ticket(ticket_id)  # type: ignore[no-any-return]

    # --- collaborators that may not exist yet (other engineers' modules): looked up lazily ------------------
    def catalog_item(self, business: str) -> dict[str, Any] | None:
        """办事指南 for a business from sync.catalog, or None when the catalogue is not available."""
        try:
            from sync.catalog import catalog_for  # type: ignore[import-not-found]
        except ImportError:
            return None
        try:
            remote = getattr(self.hall, "catalog_for", None)  # a LAN hall asks its server
            item = remote(business) if remote else catalog_for(self.hall, business)
        except Exception:
            log.exception("catalogue lookup failed for %s", business)
            return None
        return item if isinstance(item, dict) else None

    def catalog_items(self, business: str) -> list[dict[str, Any]]:
        """Every 办事指南 item of a business (its `guide` item first), so each can be reached; [] without any."""
        try:
            from sync.catalog import catalog_items
            remote = getattr(self.hall, "catalog_items", None)  # a LAN hall asks its server
            items = remote(business) if remote else catalog_items(self.hall, business)
        except Exception:
            log.exception("catalogue items failed for %s", business)
            return []
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    def catalog_menu(self) -> dict[str, dict[str, Any]]:
        """The kiosk's businesses as the catalogue names and offers them (sync.catalog.menu), by code; {} when it
        cannot be read (the TOML's menu then stands)."""
        try:
            from sync.catalog import menu
            remote = getattr(self.hall, "catalog_menu", None)
            rows = remote() if remote else menu(self.hall)
        except Exception:
            log.exception("catalogue menu failed")
            return {}
        return {r["code"]: r for r in rows if isinstance(r, dict) and "code" in r}

    @property
    def cases(self) -> Any:
        """The hall's 办件 module (kiosk.core.cases.Cases), made once per client: its queries and commands run in
        the caller's thread like every other call here."""
        if self._cases is None:
            from kiosk.core.cases import Cases

            self._cases = Acting(getattr(self.hall, "cases", None) or Cases(self.hall), self)  # LAN: its own
        return self._cases

    _cases: Any = None

    @property
    def staff(self) -> Any:
        """The staff accounts (kiosk.core.staff.Staff): the hall's, or a LAN hall's (for the dashboard only)."""
        from kiosk.core.staff import Staff

        return Acting(getattr(self.hall, "staff", None) or Staff(self.hall), self)

    @property
    def appointments(self) -> Any:
        """Booking (kiosk.core.appointments.Appointments), or a LAN hall's RemoteAppointments: the same calls."""
        if self._appointments is None:
            from kiosk.core.appointments import Appointments

            self._appointments = Acting(getattr(self.hall, "appointments", None) or Appointments(self.hall), self)
        return self._appointments

    _appointments: Any = None

    def appointment_offer(self, business: str) -> list[dict[str, Any]]:
        """[{date, slots: [{start, end, capacity, free}]}] a business takes bookings for."""
        return self.appointments.offer(business)  # type: ignore[no-any-return]

    def book_appointment(self, business: str, day: str, slot_start: str, **kw: Any) -> Any:
        return self._command(self.appointments.book, business, day, slot_start, **kw)

    def cancel_appointment(self, code: str, **kw: Any) -> Any:
        return self._command(self.appointments.cancel, code, **kw)

    def case_lookup(self, case_no: str, check: str) -> dict[str, Any] | None:
        """A case's public view from kiosk.core.cases, or None when case lookup is not available here.

        Refusals (not found, wrong check digits) propagate as HallError so the kiosk can say them."""
        result = self.cases.lookup(case_no, check)
        return dict(result) if result is not None else None
