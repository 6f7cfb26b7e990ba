"""Slot availability for the province's booking platform: every business that takes bookings, its horizon's days and
each slot's free places, retained on hall/{hall_id}/slots — published at (re)connect, soon after a booking changes
(appointment.booked / cancelled), at the day rollover and every few minutes (today's slots pass by the clock).

One thread of its own (docs/threads.md): the hall's bus only marks the message stale, so a command never waits for
the slots to be read; the thread reads them and hands the message to the link, which never blocks."""
from __future__ import annotations

import logging
import threading
from datetime import UTC
from typing import Any

from kiosk.core import appointments
from kiosk.core import events as ev
from kiosk.core.events import Event
from sync import contract

log = logging.getLogger(__name__)

CHANGES = {ev.APPOINTMENT_BOOKED, ev.APPOINTMENT_CANCELLED, ev.DAY_CLOSED, "calendar.applied"}
SETTLE_S = 1.0  # a burst of bookings (a kiosk queue, a central backlog) goes out as one message
REFRESH_S = 300.0  # today's slots that have started drop out even when nobody books


def slots_message(hall: Any) -> contract.SlotsMsg:
    """What the hall would publish now."""
    out = []
    for b in hall.config.businesses:
        if not b.appointments:
            continue
        days = [contract.SlotsDay(date=day, slots=[contract.SlotFree(start=s.start, end=s.end, capacity=s.capacity,
                                                                     free=s.free) for s in slots])
                for day, slots in appointments.offer(hall, b)]
        out.append(contract.SlotsBusiness(business=b.code, name=b.name, slot_minutes=b.slot_minutes, days=days))
    return contract.SlotsMsg(hall_id=hall.config.hall_id, at_utc=hall.now().astimezone(UTC), businesses=out)


class SlotsPublisher:
    """Keeps hall/{hall_id}/slots current.  `link`: anything with `publish(topic, payload, qos=, retain=)` returning
    a mid, or None while offline (then it is published again at the next connect)."""

    def __init__(self, hall: Any, link: Any, *, settle_s: float = SETTLE_S, refresh_s: float = REFRESH_S) -> None:
        self.hall = hall
        self.link = link
        self.topic = contract.slots_topic(hall.config.hall_id)
        self.settle_s, self.refresh_s = settle_s, refresh_s
        self.published = 0
        self.last_error = ""
        self._stale = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsub: Any = None

    def on_event(self, e: Event) -> None:
        if e.kind in CHANGES:
            self._stale.set()

    def on_state(self, state: str, gen: int) -> None:
        if state == "online":  # a retained message the broker lost, or one missed while offline
            self._stale.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._unsub = self.hall.subscribe(self.on_event, CHANGES)
        self._stale.set()
        self._thread = threading.Thread(target=self._run, name="sync-slots", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self._stop.set()
        self._stale.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def publish_now(self) -> bool:
        """Read and publish; True when the link took it."""
        try:
            data = contract.encode(slots_message(self.hall))
        except Exception as e:  # a store fault: tried again at the next change or refresh, the hall goes on
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("sync slots: cannot read the slots: %s", self.last_error)
            return False
        if self.link.publish(self.topic, data, qos=contract.QOS, retain=True) is None:
            return False
        self.published += 1
        self.last_error = ""
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._stale.wait(self.refresh_s):
                self._stale.set()  # the refresh: today's slots move on by the clock
                continue
            if self._stop.wait(self.settle_s):
                return
            self._stale.clear()
            if not self.publish_now():
                continue  # offline: on_state("online") marks it stale again

    def status(self) -> dict[str, Any]:
        return {"slots_published": self.published, "slots_error": self.last_error}
