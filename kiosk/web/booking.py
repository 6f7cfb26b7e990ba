"""What a phone may book: the days each business opens in the next `book_days`, cut into `slot_minutes` slots within
its ticket hours.  The one place the phone asks "which slots are there" — slot capacity and fair order plug in here
(`offer`), the pages and the booking route stay as they are."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.core import phone
from kiosk.web.settings import WebSettings

LOOK_AHEAD_DAYS = 30  # calendar days searched for `book_days` days the business opens (a long holiday fits)


def slots_of(hours: list[tuple[time, time]], minutes: int, *, after: time | None = None) -> list[str]:
    """"HH:MM-HH:MM" slots that fit whole inside the ticket hours (and start after `after`, for today)."""
    out = []
    step = timedelta(minutes=minutes)
    for start, end in hours:
        at = datetime.combine(date.min, start)
        stop = datetime.combine(date.min, end)
        while at + step <= stop:
            if after is None or at.time() > after:
                out.append(f"{at:%H:%M}-{at + step:%H:%M}")
            at += step
    return out


def offer(hall: Any, settings: WebSettings, business: Any) -> list[tuple[date, list[str]]]:
    """The bookable days of a business (today included while slots remain) with their slots."""
    now = hall.now().astimezone(hall.config.tz)
    out: list[tuple[date, list[str]]] = []
    for i in range(LOOK_AHEAD_DAYS):
        day = now.date() + timedelta(days=i)
        if not phone.business_opens(hall, business, day):
            continue
        slots = slots_of(business.intervals(), settings.slot_minutes, after=now.time() if i == 0 else None)
        if slots:
            out.append((day, slots))
        if len(out) >= settings.book_days:
            break
    return out


def new_code(hall: Any) -> str:
    """An 8-digit appointment code the kiosk's keypad takes, not used before (booking a used code would move
    that booking)."""
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if not phone.code_taken(hall, code):
            return code
