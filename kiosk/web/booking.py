"""What a phone may book: the business's own slots (kiosk/core/appointments.py — length, capacity, horizon, days and
hours, the working-day calendar), the ones with a free place.  The one place the phone asks "which slots are there"
(`offer`); the pages and the booking route stay as they are."""
from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.core import appointments
from kiosk.web.settings import WebSettings


def offer(hall: Any, settings: WebSettings, business: Any) -> list[tuple[date, list[str]]]:
    """The bookable days of a business (today included while slots remain) with their slots that have a free place,
    as "HH:MM-HH:MM"; a day whose slots are all taken is left out."""
    out = []
    for day, slots in appointments.offer(hall, business):
        free = [f"{s.start}-{s.end}" for s in slots if s.free > 0]
        if free:
            out.append((day, free))
    return out
