"""Working days: Chinese public holidays and make-up days (chinese-calendar) plus the hall's own overrides."""
from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    """`is_working_day` answers from, in order: the hall's overrides, chinese-calendar, then Mon–Fri.

    chinese-calendar only knows the years the State Council has published; outside them we fall back to
    Mon–Fri and say so once in the log, because a wrong holiday must be fixable by an override file.
    """

    def __init__(self, closed: set[date] | None = None, open_days: set[date] | None = None) -> None:
        self.closed = set(closed or ())  # local closures (e.g. a typhoon day)
        self.open_days = set(open_days or ())  # extra working days
        self._warned: set[int] = set()

    @classmethod
    def from_file(cls, path: str | Path) -> WorkCalendar:
        """Override file: one entry a line, `2026-10-09 closed` or `2026-10-10 open`; # comments."""
        closed: set[date] = set()
        open_days: set[date] = set()
        for no, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            try:
                day = date.fromisoformat(parts[0])
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}:{no}: expected 'YYYY-MM-DD closed|open', got {raw!r}") from exc
            what = parts[1] if len(parts) > 1 else ""
            if what == "closed":
                closed.add(day)
            elif what == "open":
                open_days.add(day)
            else:
                raise ValueError(f"{path}:{no}: expected 'closed' or 'open' after the date, got {what!r}")
        return cls(closed, open_days)

    def is_working_day(self, day: date) -> bool:
        if day in self.closed:
            return False
        if day in self.open_days:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("chinese-calendar has no data for %d: using Mon–Fri; add overrides", day.year)
            return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself not counted)."""
        d, left = start, days
        while left > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        if end <= start:
            return 0
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=i)))
