"""Hall events: the record every screen, device and the sync outbox reads, and the in-process bus."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Every event kind the hall core appends.  Payload fields per kind are documented in docs/events.md;
# a ticket-carrying event always has the full ticket dict under "ticket" so consumers never query the store.
TICKET_ISSUED = "ticket.issued"
APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_CANCELLED = "appointment.cancelled"
APPOINTMENT_REFUSED = "appointment.refused"  # the province's booking or cancellation, refused (its answer)
APPOINTMENT_DUE = "appointment.due"  # an appointment checked in early: its time has come, ahead of walk-ins now
APPOINTMENT_NO_SHOW = "appointment.no_show"  # 爽约: nobody checked in by the slot's end + grace (or the day's end)
TICKET_CALLED = "ticket.called"
TICKET_RECALLED = "ticket.recalled"
TICKET_NO_SHOW = "ticket.no_show"
SERVICE_STARTED = "service.started"
SERVICE_FINISHED = "service.finished"
TICKET_TRANSFERRED = "ticket.transferred"
TICKET_HELD = "ticket.held"
TICKET_RESUMED = "ticket.resumed"
TICKET_VOIDED = "ticket.voided"
TICKET_EXPIRED = "ticket.expired"
DAY_CLOSED = "day.closed"
WINDOW_PAUSED = "window.paused"
WINDOW_RESUMED = "window.resumed"
WINDOW_SIGNED_IN = "window.signed_in"
WINDOW_SIGNED_OUT = "window.signed_out"
BUSINESS_CLOSED = "business.closed"
BUSINESS_OPENED = "business.opened"
RATING_REQUESTED = "rating.requested"
RATING_RECORDED = "rating.recorded"
RATING_REASON_COMPLETED = "rating.reason_completed"
RATING_UNRATED = "rating.unrated"
DEVICE_HEALTH = "device.health"
PRINT_FAILED = "print.failed"
PRINT_DONE = "print.done"
NOTICE_CHANGED = "notice.changed"


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change.  `seq` is gap-free per hall; `id` is stable across restarts and sync."""

    seq: int
    id: str
    kind: str
    at_utc: str  # ISO-8601 UTC, e.g. 2026-11-23T02:31:07.123456+00:00
    local_date: str  # the hall's local date, YYYY-MM-DD
    payload: dict[str, Any] = field(default_factory=dict)
    # who did it and from which terminal (kiosk/core/context.py); "" on events recorded before the audit existed
    actor: str = ""
    terminal: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "kind": self.kind,
            "at_utc": self.at_utc,
            "local_date": self.local_date,
            "payload": self.payload,
            "actor": self.actor,
            "terminal": self.terminal,
        }


Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers committed events, in seq order, to subscribers in the committing thread.

    Subscribers must return quickly (hand the event to their own thread or a queued Qt signal): the bus is
    called while the hall's write lock is held so that every subscriber sees events in sequence order.
    A subscriber that raises is logged and skipped; it never undoes a committed command.
    """

    def __init__(self) -> None:
        self._subs: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber, kinds: set[str] | frozenset[str] | None = None) -> Callable[[], None]:
        entry = (fn, frozenset(kinds) if kinds else None)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def publish(self, events: list[Event]) -> None:
        with self._lock:
            subs = list(self._subs)
        for ev in events:
            for fn, kinds in subs:
                if kinds is not None and ev.kind not in kinds:
                    continue
                try:
                    fn(ev)
                except Exception:
                    log.exception("event subscriber %r failed on %s #%d", fn, ev.kind, ev.seq)
