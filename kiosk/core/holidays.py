"""The province's holiday calendar (节假日安排) at the hall: a published version applied once through a Hall command,
kept in the store, put back into the hall's WorkCalendar at start-up, and whether the coming days have official
holiday data (the dashboard warns when they do not)."""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

import msgspec

from kiosk.core.calendar import Published
from kiosk.core.errors import HallError

CALENDAR_APPLIED = "calendar.applied"  # {version, previous, years, holidays, workdays, message_id}
META_KEY = "calendar_published"  # the version in use, as JSON (PublishedCalendar)
HORIZON_DAYS = 60  # the dashboard warns when a day this close has no official data


class InvalidCalendar(HallError):
    key = "calendar_invalid"
    template = "节假日安排不正确：{problem}"


class PublishedDay(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    name: Annotated[str, msgspec.Meta(max_length=40)] = ""


class PublishedCalendar(msgspec.Struct, frozen=True, kw_only=True):
    """What the province publishes for some years: the days off (holidays) and the make-up working days."""

    version: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    years: Annotated[list[Annotated[int, msgspec.Meta(ge=2004, le=2200)]], msgspec.Meta(min_length=1, max_length=10)]
    holidays: list[PublishedDay] = msgspec.field(default_factory=list)
    workdays: list[PublishedDay] = msgspec.field(default_factory=list)

    def to_calendar(self) -> Published:
        try:
            return Published(self.version, self.years, {d.date: d.name for d in self.holidays},
                             {d.date: d.name for d in self.workdays})
        except ValueError as exc:
            raise InvalidCalendar(problem=str(exc)) from None


def apply(hall: Any, cal: PublishedCalendar, *, message_id: str, idem_key: str | None = None) -> dict[str, Any]:
    """Use a published calendar if it is newer than the one in use (a late or replayed message never rolls it back);
    returns {applied, version}.  The deadlines move at the next Cases pass (its fingerprint changed)."""
    published = cal.to_calendar()  # refused before anything is written

    def body(tx: Any) -> dict[str, Any]:
        row = tx.one("SELECT value FROM meta WHERE key = ?", META_KEY)
        current = json.loads(row[0])["version"] if row is not None else None
        if current is not None and current >= cal.version:
            return {"applied": False, "version": current}
        tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", META_KEY,
                msgspec.json.encode(cal).decode())
        tx.emit(CALENDAR_APPLIED, {"version": cal.version, "previous": current, "years": sorted(cal.years),
                                   "holidays": len(cal.holidays), "workdays": len(cal.workdays),
                                   "message_id": message_id})
        return {"applied": True, "version": cal.version}

    res = hall.run("calendar_apply", idem_key, body)
    if res.value is not None and res.value["applied"]:
        hall.calendar.set_published(published)
    return dict(res.value) if res.value is not None else {"applied": False, "version": in_use(hall)}


def stored(hall: Any) -> PublishedCalendar | None:
    text = hall.store.meta_get(META_KEY)
    return msgspec.json.decode(text, type=PublishedCalendar) if text else None


def in_use(hall: Any) -> int | None:
    """The version of the published calendar the hall counts working days with (None: none received)."""
    pub = hall.calendar.published
    return pub.version if pub is not None else None


def restore(hall: Any) -> None:
    """At start-up: the published calendar kept in the store goes back into the hall's WorkCalendar."""
    cal = stored(hall)
    if cal is not None and in_use(hall) != cal.version:
        hall.calendar.set_published(cal.to_calendar())


def status(hall: Any, today: date | None = None, days: int = HORIZON_DAYS) -> dict[str, Any]:
    """For the dashboard: the published version in use and, when a day of the next `days` has no official holiday
    data, a warning saying from when and what to do."""
    today = today or hall.clock().astimezone(hall.config.tz).date()
    cal = hall.calendar
    gap = cal.official_gap(today, days)
    horizon = today + timedelta(days=days - 1)
    out: dict[str, Any] = {
        "version": in_use(hall), "official_years": sorted(y for y in cal.official_years()
                                                          if today.year <= y <= horizon.year),
        "gap_from": gap.isoformat() if gap is not None else None, "warning": None,
    }
    if gap is not None:
        out["warning"] = (f"{gap.year} 年节假日安排尚无官方数据：自 {gap.isoformat()} 起只按周一至周五计算工作日，"
                          f"办件和整改时限可能有误。请省中心发布 {gap.year} 年日历（hall central calendar publish），"
                          f"或在 [calendar] overrides 文件中补充并写明“{gap.year} complete”。")
    return out
