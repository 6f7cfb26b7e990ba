"""Live ticket pages: the Hall's events enter the web server's asyncio loop through one doorway
(`loop.call_soon_threadsafe`), and each open page (a Server-Sent Events stream) gets its ticket's view again when
it changed.  Events that arrive together are handled in one pass: one read of each touched queue, one render per
ticket and language, and a stream only ever holds the latest view (a slow phone skips views, never piles them)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from kiosk.core import events as ev
from kiosk.core.errors import HallError
from kiosk.core.events import Event
from kiosk.core.phone import estimate_wait_s, service_time
from kiosk.web.pages import ticket_status
from kiosk.web.settings import WebSettings
from kiosk.web.views import TicketView, ticket_view

log = logging.getLogger(__name__)

TIMES_TTL_S = 30.0  # today's service times are re-read at most this often (a finished service also marks them)
_WINDOW_KINDS = frozenset({ev.WINDOW_PAUSED, ev.WINDOW_RESUMED, ev.WINDOW_SIGNED_IN, ev.WINDOW_SIGNED_OUT})


class Stream:
    """One open page: holds only the latest message for it, and wakes its response when one arrives."""

    __slots__ = ("lang", "last", "pending", "ticket_id", "wake")

    def __init__(self, ticket_id: str, lang: str) -> None:
        self.ticket_id, self.lang = ticket_id, lang
        self.pending: str | None = None
        self.last = ""
        self.wake = asyncio.Event()

    def push(self, message: str) -> None:
        if message != self.last:
            self.last = self.pending = message
            self.wake.set()

    async def next(self, timeout: float) -> str | None:
        """The next message, or None after `timeout` seconds of nothing (the caller sends a keep-alive)."""
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
            return None
        self.wake.clear()
        message, self.pending = self.pending, None
        return message


class Hub:
    """Keeps every open ticket page up to date.  All methods but `_from_hall` run on the loop's thread."""

    def __init__(self, hall: Any, settings: WebSettings) -> None:
        self.hall = hall
        self.settings = settings
        self.streams: dict[str, set[Stream]] = {}
        self.count = 0
        self._tickets: dict[str, dict[str, Any]] = {}  # the latest ticket dict of each watched ticket
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._dirty_business: set[str] = set()
        self._dirty_ticket: set[str] = set()
        self._reload = False  # the day closed: every watched ticket is read again
        self._scheduled = False
        self._times: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._open: dict[str, int] | None = None  # open windows per business, until a window event
        self.pushed = 0
        self.on_flush: Callable[[], None] | None = None  # tests and the bench: after each pass

    # --- the doorway --------------------------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._unsubscribe = self.hall.subscribe(self._from_hall)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for streams in self.streams.values():
            for s in streams:
                s.push("")  # wakes the response, which ends on an empty message
        self._loop = None

    def _from_hall(self, e: Event) -> None:
        """In the committing thread, with the hall's lock held: hand over and return."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._post, e)
            except RuntimeError:  # the loop closed between the check and the call: the server is stopping
                pass

    def _post(self, e: Event) -> None:
        p = e.payload
        t = p.get("ticket")
        if isinstance(t, dict):
            self._dirty_business.add(t["business"])
            if t["id"] in self.streams:
                self._tickets[t["id"]] = t
                self._dirty_ticket.add(t["id"])
        if e.kind in _WINDOW_KINDS or e.kind == ev.DAY_CLOSED:
            self._open = None
            self._dirty_business.update(self.hall.config.window_businesses(p["window"]) if "window" in p
                                        else [b.code for b in self.hall.config.businesses])
        if e.kind == ev.SERVICE_FINISHED:
            self._times = (0.0, [])
        if e.kind == ev.DAY_CLOSED:
            self._reload = True
            self._times = (0.0, [])
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._flush)  # after the events already queued: they share this pass

    # --- streams --------------------------------------------------------------------------------------------------
    def open(self, ticket_id: str, lang: str) -> Stream | None:
        """A stream for a ticket page, or None past `max_streams` (the page then polls)."""
        if self.count >= self.settings.max_streams:
            return None
        s = Stream(ticket_id, lang)
        self.streams.setdefault(ticket_id, set()).add(s)
        self.count += 1
        return s

    def close(self, s: Stream) -> None:
        streams = self.streams.get(s.ticket_id)
        if streams is not None and s in streams:
            streams.discard(s)
            self.count -= 1
            if not streams:
                del self.streams[s.ticket_id]
                self._tickets.pop(s.ticket_id, None)

    # --- views ----------------------------------------------------------------------------------------------------
    def view(self, ticket_id: str) -> TicketView:
        """The ticket's view now, read from the hall (a page's first render, a new stream, a poll)."""
        t = self.hall.ticket(ticket_id)  # TicketNotFound for a ticket the store does not hold
        if ticket_id in self.streams:
            self._tickets[ticket_id] = t
        ahead = self.hall.ahead_of(ticket_id) if t["status"] == "waiting" else None
        return self._view(t, ahead)

    def message(self, v: TicketView, lang: str) -> str:
        """The SSE message for a view: the status block in the page's language, its state and alert."""
        data = json.dumps({"html": ticket_status(v, lang), "state": v.state, "alert": v.alert}, ensure_ascii=False)
        return f"event: view\ndata: {data}\n\n"

    def _view(self, t: dict[str, Any], ahead: int | None) -> TicketView:
        wait = None
        if ahead is not None:
            b = self.hall.config.business(t["business"])
            default = self.settings.service_minutes * 60
            wait = estimate_wait_s(ahead, service_time(self._service_times(), t["business"], default),
                                   self._open_windows().get(t["business"], 0)) if b else None
        return ticket_view(t, today=self.hall.today(), ahead=ahead, wait_s=wait,
                           alert_ahead=self.settings.alert_ahead)

    def _service_times(self) -> list[dict[str, Any]]:
        at, rows = self._times
        now = time.monotonic()
        if not at or now - at > TIMES_TTL_S:
            rows = self.hall.times(by="business")
            self._times = (now, rows)
        return rows

    def _open_windows(self) -> dict[str, int]:
        """Per business, the windows that serve it and are not paused."""
        if self._open is None:
            counts: dict[str, int] = {}
            for w in self.hall.windows():
                if w["state"] != "paused":
                    for code in w["businesses"]:
                        counts[code] = counts.get(code, 0) + 1
            self._open = counts
        return self._open

    # --- one pass -------------------------------------------------------------------------------------------------
    def _flush(self) -> None:
        self._scheduled = False
        try:
            self._refresh()
        except HallError as exc:  # a store fault: the pages keep their last view and the next event tries again
            log.warning("phone pages: could not refresh: %s", exc.message)
        if self.on_flush is not None:
            self.on_flush()

    def _refresh(self) -> None:
        if self._reload:
            self._reload = False
            for tid in list(self.streams):
                self._tickets[tid] = self.hall.ticket(tid)
                self._dirty_ticket.add(tid)
        businesses, self._dirty_business = self._dirty_business, set()
        touched, self._dirty_ticket = self._dirty_ticket, set()
        by_business: dict[str, list[str]] = {}
        for tid in self.streams:
            t = self._tickets.get(tid)
            if t is None:
                t = self._tickets[tid] = self.hall.ticket(tid)
            if t["business"] in businesses:
                by_business.setdefault(t["business"], []).append(tid)
        done: set[str] = set()
        for code, tids in by_business.items():
            positions = self._positions(code)
            for tid in tids:
                t = self._tickets[tid]
                self._send(tid, t, positions.get(tid) if t["status"] == "waiting" else None)
                done.add(tid)
        for tid in touched - done:
            t = self._tickets.get(tid)
            if t is not None and tid in self.streams:
                self._send(tid, t, self.hall.ahead_of(tid) if t["status"] == "waiting" else None)

    def _positions(self, business: str) -> dict[str, int]:
        """Ahead of each waiting ticket of a business, from one read of its queue in call order.  A ticket sent to
        one window waits in that window's own queue: asked for on its own (there are few)."""
        out: dict[str, int] = {}
        n = 0
        for t in self.hall.waiting(business=business):
            if t["target_window"] is None:
                out[t["id"]] = n
                n += 1
            elif t["id"] in self.streams:
                out[t["id"]] = self.hall.ahead_of(t["id"])
            if t["id"] in self.streams:
                self._tickets[t["id"]] = t
        return out

    def _send(self, tid: str, t: dict[str, Any], ahead: int | None) -> None:
        v = self._view(t, ahead)
        rendered: dict[str, str] = {}
        for s in self.streams.get(tid, ()):
            if s.lang not in rendered:
                rendered[s.lang] = self.message(v, s.lang)
            s.push(rendered[s.lang])
            self.pushed += 1
