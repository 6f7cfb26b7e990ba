"""Today's measured service times per business, kept as services finish, and the wait a new ticket faces.  The
formula itself is kiosk/core/phone.py's, so the kiosk button, the printed ticket and the phone page agree
(docs/events.md, "Estimated wait").  Pure: no clock, no store."""
from __future__ import annotations

import threading
from typing import Any

from kiosk.core.phone import DEFAULT_SERVICE_S, MIN_SERVED_FOR_AVERAGE, estimate_wait_s, service_time

__all__ = ["DEFAULT_SERVICE_S", "ServiceTimes", "estimate_wait_s", "new_ticket_wait_s", "wait_minutes"]


def wait_minutes(wait_s: float) -> int:
    """Whole minutes to say: never 0 (a citizen reads "约 0 分钟" as "go now"), as the phone page rounds it."""
    return max(1, round(wait_s / 60))


class ServiceTimes:
    """Per local day and business: services finished and their summed length, as Hall.times(by="business") would
    count them, without reading the day's tickets on every ticket taken.  Seeded once from the store at start-up
    (a restart mid-day keeps the morning's figures); a new day starts empty."""

    def __init__(self, day: str, rows: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()  # services finish in the committing thread, tickets are issued in others
        self._day = day
        self._sums: dict[str, list[float]] = {
            str(r["business"]): [float(r["served"]), float(r["avg_service_s"]) * float(r["served"])]
            for r in rows if r.get("avg_service_s")}

    def finished(self, day: str, business: str, service_s: float) -> None:
        with self._lock:
            if day != self._day:
                self._day, self._sums = day, {}
            s = self._sums.setdefault(business, [0.0, 0.0])
            s[0] += 1
            s[1] += max(0.0, service_s)

    def rows(self, day: str) -> list[dict[str, Any]]:
        """Today's rows in Hall.times(by="business")'s shape, for phone.service_time."""
        with self._lock:
            if day != self._day:
                return []
            return [{"business": b, "served": int(n), "avg_service_s": total / n if n else 0.0}
                    for b, (n, total) in self._sums.items()]


    def average(self, day: str, business: str, default: float = DEFAULT_SERVICE_S) -> float:
        """phone.service_time(self.rows(day), business, default) without building the rows: every ticket issued
        asks it."""
        with self._lock:
            if day != self._day:
                return default
            own = self._sums.get(business)
            if own is not None and own[0] >= MIN_SERVED_FOR_AVERAGE and own[1]:
                return own[1] / own[0]
            done = [(n, total / n) for n, total in self._sums.values() if n and total]
        served = sum(int(n) for n, _avg in done)
        if served >= MIN_SERVED_FOR_AVERAGE:
            return sum(avg * int(n) for n, avg in done) / served
        return default


def new_ticket_wait_s(rows: list[dict[str, Any]], business: str, ahead: int, open_windows: int) -> float | None:
    """The estimated wait of a ticket with `ahead` people before it; None when no open window serves it."""
    return estimate_wait_s(ahead, service_time(rows, business, DEFAULT_SERVICE_S), open_windows)
