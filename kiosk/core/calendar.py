"""Working days: Chinese public holidays and make-up days (chinese-calendar) plus the hall's own overrides."""
from __future__ import annotations

import bisect
import hashlib
import logging
import math
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

import chinese_calendar

log = logging.getLogger(__name__)

# The years whose holidays the State Council has published and chinese-calendar ships (it refuses the others).
_PUBLISHED_YEARS = frozenset(d.year for d in chinese_calendar.holidays)

_CC_HOLIDAYS: dict[date, object] = dict(getattr(chinese_calendar, "holidays", {}))
_CC_WORKDAYS: dict[date, object] = dict(getattr(chinese_calendar, "workdays", {}))
_CC_FIRST = min((d.year for d in _CC_HOLIDAYS), default=9999)
_CC_LAST = max((d.year for d in _CC_HOLIDAYS), default=0)


class CalendarFile:
    """A calendar file as read: days closed and open (each with an optional name, e.g. 元旦) and the years it
    declares complete (every public holiday and make-up day of that year is in it: official data)."""

    __slots__ = ("closed", "complete", "open_days")

    def __init__(self) -> None:
        self.closed: dict[date, str] = {}
        self.open_days: dict[date, str] = {}
        self.complete: set[int] = set()


def parse_calendar(text: str, source: str) -> CalendarFile:
    """One entry a line, # comments: `2027-01-01 closed 元旦` (a day off, the name optional), `2027-02-07 open 春节调休`
    (a working day), `2027 complete` (this file lists every holiday and make-up day of 2027).  The hall's
    [calendar] overrides file and the province's published calendar (`hall central calendar publish`) both use it.
    A bad line raises ValueError naming `source` and the line."""
    out = CalendarFile()
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if re.fullmatch(r"\d{4}", parts[0]):
            if len(parts) != 2 or parts[1] != "complete" or not 2004 <= int(parts[0]) <= 2200:
                raise ValueError(f"{source}:{no}: expected 'YYYY complete' (2004–2200), got {raw.strip()!r}")
            out.complete.add(int(parts[0]))
            continue
        try:
            day = date.fromisoformat(parts[0])
        except ValueError as exc:
            raise ValueError(f"{source}:{no}: expected 'YYYY-MM-DD closed|open [name]', got {raw.strip()!r}") from exc
        what = parts[1] if len(parts) >= 2 else ""
        if what not in ("closed", "open"):
            raise ValueError(f"{source}:{no}: expected 'closed' or 'open' after the date, got {raw.strip()!r}")
        if day < EPOCH:
            raise ValueError(f"{source}:{no}: {day.isoformat()} is before {EPOCH.isoformat()}, where time starts")
        name = parts[2].strip() if len(parts) == 3 else ""
        if len(name) > 40:
            raise ValueError(f"{source}:{no}: the name of {day.isoformat()} is longer than 40 characters")
        (out.closed if what == "closed" else out.open_days)[day] = name
        if day in out.closed and day in out.open_days:  # which one wins would depend on the order: say so instead
            raise ValueError(f"{source}:{no}: {day.isoformat()} is listed both closed and open")
    return out


def parse_overrides(text: str, source: str) -> tuple[set[date], set[date]]:
    """The days closed and open of a calendar file (see `parse_calendar`)."""
    f = parse_calendar(text, source)
    return set(f.closed), set(f.open_days)


# Working-time positions count from here; chinese-calendar's data starts in 2004 too.
EPOCH = date(2004, 1, 1)


class Published:
    """The province's holiday calendar for some years (节假日安排, published from central): within `years` a day is a
    working day when listed in `workdays`, a day off when listed in `holidays`, else Monday to Friday."""

    __slots__ = ("holidays", "version", "workdays", "years")

    def __init__(self, version: int, years: Iterable[int], holidays: Mapping[date, str],
                 workdays: Mapping[date, str]) -> None:
        self.version = version
        self.years = frozenset(years)
        self.holidays = dict(holidays)
        self.workdays = dict(workdays)
        outside = sorted(d for d in (*self.holidays, *self.workdays) if d.year not in self.years)
        if outside:
            raise ValueError(f"{outside[0].isoformat()} is outside the years the calendar covers "
                             f"({', '.join(map(str, sorted(self.years)))})")
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and as a working day")

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5


class WorkCalendar:
    """`is_working_day` answers from, in order: the hall's overrides, the province's published calendar (for the
    years it covers), chinese-calendar, then Mon–Fri.

    chinese-calendar only knows the years the State Council had published when it was released; outside them and
    the published calendar we fall back to Mon–Fri and say so once in the log (and `official_gap` tells the
    dashboard), because a wrong holiday must be fixable by an override file or a published calendar.
    """

    def __init__(self, closed: set[date] | None = None, open_days: set[date] | None = None, *,
                 names: Mapping[date, str] | None = None, complete: Iterable[int] = ()) -> None:
        self.closed = set(closed or ())  # local closures (e.g. a typhoon day)
        self.open_days = set(open_days or ())  # extra working days
        self.names = dict(names or {})  # the override file's names of its days (元旦, 台风停工)
        self.complete = frozenset(complete)  # years the override file lists in full ("2027 complete")
        self.published: Published | None = None
        self._warned: set[int] = set()
        # The tables only grow, under this lock, so two threads (a screen's query and the scheduler pass) never
        # append the same day twice.  Readers take no lock: each reads one snapshot (`self._t`) and only the prefix
        # it has seen grown; a midnight table is replaced whole, never appended to in place, and `cum` is grown
        # first, so a reader that finds midnight i+1 also finds cum[i+1].
        self._grow = threading.RLock()
        self.invalidate()

    @classmethod
    def from_file(cls, path: str | Path) -> WorkCalendar:
        """A calendar file (see `parse_calendar`); the hall reads it through [calendar] overrides at config load."""
        f = parse_calendar(Path(path).read_text(encoding="utf-8"), str(path))
        return cls(set(f.closed), set(f.open_days), names={**f.closed, **f.open_days}, complete=f.complete)

    def set_override(self, day: date, is_open: bool) -> None:
        """Declare a local closure (is_open=False) or an extra working day, e.g. from the hall's admin screen."""
        (self.open_days if is_open else self.closed).add(day)
        (self.closed if is_open else self.open_days).discard(day)
        self.invalidate()

    def set_published(self, published: Published | None) -> None:
        """Use the province's calendar (replacing the one before); the working-time tables are rebuilt."""
        self.published = published
        self.invalidate()

    def fingerprint(self) -> str:
        """Changes when the overrides, the published calendar (or chinese-calendar's data) change: stored deadlines
        must then be redone."""
        fp = self._fp
        if fp is None:
            parts = [f"c{d.isoformat()}" for d in sorted(self.closed)]
            parts += [f"o{d.isoformat()}" for d in sorted(self.open_days)]
            pub = self.published
            if pub is not None:
                days = [f"h{d.isoformat()}" for d in sorted(pub.holidays)]
                days += [f"w{d.isoformat()}" for d in sorted(pub.workdays)]
                digest = hashlib.sha256(",".join(days).encode()).hexdigest()[:16]
                parts.append(f"p{pub.version}:{','.join(map(str, sorted(pub.years)))}:{digest}")
            fp = self._fp = f"{getattr(chinese_calendar, '__version__', '?')}|{','.join(parts)}"
        return fp

    def official_years(self) -> frozenset[int]:
        """Years whose holidays come from an official source: chinese-calendar's data, the published calendar, or
        the override file declaring the year complete."""
        pub = self.published.years if self.published is not None else frozenset()
        return _PUBLISHED_YEARS | pub | self.complete

    def official_gap(self, start: date, days: int = 60) -> date | None:
        """The first day in [start, start + days) of a year without official holiday data (its working days are
        only Monday to Friday, a guess), or None."""
        official = self.official_years()
        last = start + timedelta(days=max(0, days - 1))
        for year in range(start.year, last.year + 1):
            if year not in official:
                return max(start, date(year, 1, 1))
        return None

    def is_working_day(self, day: date) -> bool:
        if day in self.closed:
            return False
        if day in self.open_days:
            return True
        pub = self.published
        if pub is not None and day.year in pub.years:
            return pub.is_working_day(day)
        if day.year in _PUBLISHED_YEARS:
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self._warned and day.year not in self.complete:
            self._warned.add(day.year)
            log.warning("no official holiday data for %d: using Mon–Fri; publish the year's calendar from central "
                        "or add it to the [calendar] overrides file", day.year)
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        """The Chinese name of the public holiday whose break `day` falls in (国庆节), weekend days of the break
        included; None on any other day (a working day, an ordinary weekend, a year without official data)."""
        if day in self.open_days:
            return None
        if day in self.closed:
            return self.names.get(day) or None
        pub = self.published
        if pub is not None and day.year in pub.years:
            return pub.holidays.get(day) or None
        if day.year not in _PUBLISHED_YEARS:
            return None
        off, name = chinese_calendar.get_holiday_detail(day)
        if not off or name is None:
            return None
        try:
            return str(chinese_calendar.Holiday(name).chinese)
        except ValueError:  # a name a newer chinese-calendar added: its English name beats saying nothing
            return str(name)

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

    # ------------------------------------------------------------------------------------------------
    # Working time: a position on a line where each working day is one unit (spread over its 24 hours) and
    # non-working days take no room.  Deadlines, clock stops (补齐补正, 挂起) and "working days used" are plain
    # arithmetic on positions; the tables below make each conversion O(1) (a bisect for the way back).
    # ------------------------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget the working-time tables (call after changing `closed` / `open_days` by hand)."""
        with self._grow:
            self._fp: str | None = None
            self._t = _Tables()

    def _extend_to(self, offset: int, t: _Tables | None = None) -> _Tables:
        """The tables (a snapshot: `invalidate` swaps in new ones) with `cum` covering day `offset`."""
        if offset < 0:
            raise ValueError(f"working time is counted from {EPOCH.isoformat()}; got a day before it")
        t = t or self._t
        if len(t.cum) <= offset + 1:
            with self._grow:
                self._grow_to(t, offset)
        return t

    def _grow_to(self, t: _Tables, offset: int) -> None:
        cum, wdays = t.cum, t.wdays
        # bulk path: read chinese-calendar's tables directly (same rule as its is_workday, ~20x faster)
        holidays, workdays = _CC_HOLIDAYS, _CC_WORKDAYS
        closed, open_days = self.closed, self.open_days
        pub = self.published
        pub_years = pub.years if pub is not None else frozenset()
        day = EPOCH + timedelta(days=len(cum) - 1)
        one = timedelta(days=1)
        while len(cum) <= offset + 1:
            if day in closed:
                work = False
            elif day in open_days:
                work = True
            elif pub is not None and day.year in pub_years:
                work = pub.is_working_day(day)
            elif _CC_FIRST <= day.year <= _CC_LAST:
                work = day in workdays or (day not in holidays and day.weekday() < 5)
            else:
                work = self.is_working_day(day)
            # wdays before cum: a reader that finds cum[i] also finds the working days it counts
            if work:
                wdays.append(len(cum) - 1)
                cum.append(cum[-1] + 1)
            else:
                cum.append(cum[-1])
            day += one

    def working_index(self, day: date) -> int:
        """Working days before `day` (since EPOCH): consecutive working days get consecutive indexes."""
        off = (day - EPOCH).days
        return self._extend_to(off).cum[off]

    def position(self, moment: datetime, tz: tzinfo | None = None) -> float:
        """Where `moment` lies in working time (its local date taken in `tz`, or its own zone)."""
        zone = tz or moment.tzinfo
        if zone is None:
            raise ValueError("position() needs an aware datetime or a zone")
        return self.position_ts(moment.timestamp(), zone)

    def moment_at(self, pos: float, tz: tzinfo) -> datetime:
        """The first moment whose position reaches `pos` (a whole number is the end of a working day, not the
        start of the next one after a weekend)."""
        return datetime.fromtimestamp(self.moment_ts(pos, tz), tz)

    def working_time_between(self, a: datetime, b: datetime, tz: tzinfo | None = None) -> float:
        """Working days (fractional) elapsed from a to b; negative if b is before a."""
        return self.position(b, tz) - self.position(a, tz)

    def end_of_day_position(self, moment: datetime, tz: tzinfo | None = None) -> int:
        """Position of the end of `moment`'s local day if it is a working day, else of the last one before it:
        the start of a working-day limit (the day of acceptance itself is not counted)."""
        local = moment.astimezone(tz) if tz is not None else moment
        return self.working_index(local.date() + timedelta(days=1))

    def working_day_of(self, pos: float) -> date | None:
        """The working day a position falls in (None before the first one)."""
        k = math.floor(pos)
        if k < 0:
            return None
        t = self._t
        while len(t.wdays) <= k:
            self._extend_to(len(t.cum) + 31, t)
        return EPOCH + timedelta(days=t.wdays[k])

    # --- the same on POSIX timestamps: no datetime objects in the scheduler's inner loops ----------------------
    def _midnights(self, t: _Tables, tz: tzinfo, upto: int) -> list[float]:
        """mids[i] = timestamp of local midnight starting day EPOCH+i, for i ≤ upto + 1 (DST-safe: each day's
        length is the gap to the next midnight)."""
        key = str(tz)
        mids = t.mids.get(key, [])
        if len(mids) > upto + 1:
            return mids
        with self._grow:
            mids = t.mids.get(key, [])
            if len(mids) <= upto + 1:
                start, stop = len(mids), upto + 2 + 366
                self._extend_to(stop, t)  # before the midnights are published (see __init__)
                day = EPOCH + timedelta(days=start)
                more = []
                for _ in range(start, stop):
                    more.append(datetime.combine(day, time(), tz).timestamp())
                    day += timedelta(days=1)
                mids = mids + more
                t.mids[key] = mids
        return mids

    def _day_of_ts(self, ts: float, tz: tzinfo) -> tuple[_Tables, list[float], int]:
        """The tables, the midnight table covering ts in zone tz, and the index of ts's day in it."""
        t = self._t
        mids = t.mids.get(str(tz))
        if not mids or ts >= mids[-1] or ts < mids[0]:
            off = (datetime.fromtimestamp(ts, tz).date() - EPOCH).days
            if off < 0:
                raise ValueError(f"working time is counted from {EPOCH.isoformat()}; got a moment before it")
            mids = self._midnights(t, tz, off)
        return t, mids, bisect.bisect_right(mids, ts) - 1

    def position_ts(self, ts: float, tz: tzinfo) -> float:
        """position() of a POSIX timestamp in zone tz."""
        t, mids, i = self._day_of_ts(ts, tz)
        base = t.cum[i]
        if t.cum[i + 1] == base:
            return float(base)
        return base + (ts - mids[i]) / (mids[i + 1] - mids[i])

    def moment_ts(self, pos: float, tz: tzinfo) -> float:
        """moment_at() as a POSIX timestamp."""
        k = math.floor(pos)
        frac = pos - k
        t = self._t
        while len(t.wdays) <= k:
            self._extend_to(len(t.cum) + 31, t)
        if frac < 1e-9:
            if k <= 0:
                return self._midnights(t, tz, 0)[0]
            off = t.wdays[k - 1] + 1
            return self._midnights(t, tz, off)[off]
        off = t.wdays[k]
        mids = self._midnights(t, tz, off)
        return mids[off] + frac * (mids[off + 1] - mids[off])

    def end_of_day_position_ts(self, ts: float, tz: tzinfo) -> int:
        """end_of_day_position() of a POSIX timestamp."""
        t, _, i = self._day_of_ts(ts, tz)
        return t.cum[i + 1]


class _Tables:
    """One generation of the working-time tables; `invalidate` replaces the whole object."""

    __slots__ = ("cum", "mids", "wdays")

    def __init__(self) -> None:
        self.cum: list[int] = [0]  # cum[i] = working days in [EPOCH, EPOCH + i days)
        self.wdays: list[int] = []  # day offsets (from EPOCH) of the working days, in order
        self.mids: dict[str, list[float]] = {}  # per zone: POSIX time of each day's local midnight
