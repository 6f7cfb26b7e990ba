"""Appointments (预约): each business's bookable slots (length, capacity, horizon, days and hours), booking and
cancelling from the kiosk, the phone, the province's platform and the service desk, where a checked-in appointment
stands in the queue, and no-shows.  Pure: commands run through `Hall.run`, time comes from the hall's clock.

The fair order (docs/events.md "Queue order") lives in three places that agree: `placement` decides the ticket a
check-in gets (early: the walk-in rank with `due_at`; on time: the appointment rank; late: the walk-in order or a
refusal), `housekeep` — run at the start of every command, so no command ever sees a stale order — moves each early
ticket to the appointment rank once its time has come and records bookings nobody came for as no-shows, and the
queue key stays (rank, queue_pos), so call-next remains one indexed read."""
from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import queue as Q
from kiosk.core.privacy import id_hash, mask_id, mask_name, valid_id

if TYPE_CHECKING:
    from kiosk.core.config import Business
    from kiosk.core.hall import Hall, Result, Tx

Source = Literal["kiosk", "phone", "central", "desk"]
SOURCES: tuple[str, ...] = ("kiosk", "phone", "central", "desk")
OPEN = ("booked", "checked_in")  # bookings that hold a place in their slot
LOOK_AHEAD_DAYS = 90  # calendar days searched for a business's `book_days` booking days (a long holiday fits)
REPROBE_S = 15.0  # the heartbeat looks at the store this often even when nothing is known to be due (other processes)
CODE_DIGITS = 8  # what the kiosk's keypad and the phone page give out: digits only, easy to read out

# One statement at the start of every command: when the next early appointment gains priority (UTC) and which
# booking ends first — each one step of a partial index that holds only those rows (kiosk/store.py 070).
_PROBE = ("SELECT (SELECT MIN(due_at) FROM tickets WHERE status = 'waiting' AND rank = 3 AND due_at IS NOT NULL), "
          "(SELECT date || ' ' || MIN(slot_end) FROM appointments WHERE status = 'booked' AND date = "
          "(SELECT MIN(date) FROM appointments WHERE status = 'booked'))")
_WALK_IN_RANK = 3  # kiosk.core.hall.RANK["normal"]: where an early appointment waits until its time
_DUE_RANK = 2  # kiosk.core.hall.RANK["appointment"] (tests/core/test_appointments.py checks both)


@dataclass(frozen=True, slots=True)
class Slot:
    start: str  # "HH:MM", local
    end: str
    capacity: int
    taken: int = 0

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "capacity": self.capacity, "free": self.free}


@dataclass(slots=True)
class Clockwork:
    """What this process knows of the next time-driven change: an early appointment's turn, a booking's no-show.
    Each command reads the store anyway (another process may have checked someone in); the heartbeat `tick()`
    reads it only when something is due or every REPROBE_S, so a quiet hall costs no SQL per second."""

    next: datetime | None = None
    probed: datetime | None = None
    moved: list[str] = field(default_factory=list)  # for tests and the log: tickets moved up by the last pass


# --- the slot grid -------------------------------------------------------------------------------------------------
def slot_grid(b: Business) -> list[tuple[str, str]]:
    """("HH:MM", "HH:MM") slots of `slot_minutes` that fit whole inside the business's booking hours."""
    out = []
    step = timedelta(minutes=b.slot_minutes)
    for start, end in b.booking_intervals():
        at, stop = datetime.combine(date.min, start), datetime.combine(date.min, end)
        while at + step <= stop:
            out.append((f"{at:%H:%M}", f"{at + step:%H:%M}"))
            at += step
    return out


def takes_bookings(hall: Hall, b: Business, day: date) -> bool:
    """A day the business opens (its `days`, the working-day calendar: docs/events.md "Business days") and one of
    its `booking_days`."""
    if b.booking_days != "same" and day.isoweekday() not in b.booking_days:
        return False
    try:
        hall._check_day(b, day, day.isoformat())
    except E.OutsideTicketHours:
        return False
    return True


def booking_days(hall: Hall, b: Business, now: datetime) -> list[date]:
    """The horizon: the next `book_days` days the business takes bookings for, today included while a slot of it
    is still to start."""
    local = now.astimezone(hall.config.tz)
    later = [s for s, _ in slot_grid(b) if s > f"{local:%H:%M}"]
    out: list[date] = []
    for i in range(LOOK_AHEAD_DAYS):
        day = local.date() + timedelta(days=i)
        if (i > 0 or later) and takes_bookings(hall, b, day):
            out.append(day)
            if len(out) >= b.book_days:
                break
    return out


def _taken(conn: sqlite3.Connection, business: str, day: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT slot_start, COUNT(*) FROM appointments WHERE business = ? AND date = ? AND slot_start IS NOT NULL "
        "AND status IN ('booked', 'checked_in') GROUP BY slot_start", (business, day)).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def day_slots(hall: Hall, b: Business, day: date, now: datetime, conn: sqlite3.Connection | None = None
              ) -> list[Slot]:
    """The slots of one day with the places taken; today's only those still to start."""
    local = now.astimezone(hall.config.tz)
    taken = _taken(conn or hall.store.conn(), b.code, day.isoformat())
    after = f"{local:%H:%M}" if day == local.date() else ""
    return [Slot(s, e, b.slot_capacity, taken.get(s, 0)) for s, e in slot_grid(b) if s > after]


def offer(hall: Hall, b: Business) -> list[tuple[date, list[Slot]]]:
    """Every bookable day of the horizon with its slots (full ones too, so a screen can say 已满)."""
    if not b.appointments:
        return []
    now = hall.now()
    conn = hall.store.conn()
    return [(day, day_slots(hall, b, day, now, conn)) for day in booking_days(hall, b, now)]


# --- booking ---------------------------------------------------------------------------------------------------------
def new_code(conn: sqlite3.Connection) -> str:
    """An 8-digit code not used before (booking a used code would move that booking)."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if conn.execute("SELECT 1 FROM appointments WHERE code = ?", (code,)).fetchone() is None:
            return code


def _business(hall: Hall, code: str) -> Business:
    b = hall.config.business(code)
    if b is None:
        raise E.UnknownBusiness(business=code)
    if not b.appointments:
        raise E.AppointmentsNotOffered(name=b.name)
    return b


def _check_grid(tx: Tx, b: Business, day: date, slot_start: str) -> str:
    """The slot's end, when `slot_start` is a slot of the horizon still to start; else the refusal saying why."""
    hall = tx.hall
    hall._check_day(b, day, day.isoformat())  # a holiday or a day it does not open says so by name
    days = booking_days(hall, b, tx.now)
    if day not in days:
        if days and day > days[-1]:
            raise E.BookingTooFar(name=b.name, days=b.book_days, last=days[-1].isoformat())
        raise E.SlotNotOffered(name=b.name, date=day.isoformat(), slot=slot_start)
    end = dict(slot_grid(b)).get(slot_start)
    if end is None or (day == tx.local.date() and slot_start <= f"{tx.local:%H:%M}"):
        raise E.SlotNotOffered(name=b.name, date=day.isoformat(), slot=slot_start)
    return end


def record(tx: Tx, b: Business, day: date, slot_start: str, slot_end: str, *, code: str | None,
           id_number: str | None, name: str | None, source: str, message_id: str | None = None) -> dict[str, Any]:
    """Write one booking after the rules every booking obeys, whoever makes it: the business opens that day, the
    ID (when given) is valid and holds fewer than `appointments_per_id` open bookings here, the slot has a free
    place — counted inside this transaction, so two kiosks and the province cannot both take the last one.  A code
    already booked is moved (its own place does not count against it); a used one is refused."""
    hall = tx.hall
    hall._check_day(b, day, day.isoformat())
    if id_number and not valid_id(id_number):
        raise E.InvalidIdNumber()
    h = id_hash(hall._key, id_number) if id_number else None
    code = code or new_code(tx.conn)
    old = tx.one("SELECT status, ticket_id FROM appointments WHERE code = ?", code)
    if old is not None and old["status"] != "booked":  # a booked code may be moved; a used one stays used
        t = tx.one("SELECT number FROM tickets WHERE id = ?", old["ticket_id"])
        raise E.AppointmentCodeUsed(code=code, number=t["number"] if t else "")
    if h is not None:
        limit = hall.config.rules.appointments_per_id
        held = tx.one("SELECT COUNT(*) FROM appointments WHERE id_hash = ? AND business = ? AND status = 'booked' "
                      "AND code != ?", h, b.code, code)
        if held is not None and held[0] >= limit:
            raise E.TooManyAppointments(name=b.name, n=held[0])
    taken = tx.one("SELECT COUNT(*) FROM appointments WHERE business = ? AND date = ? AND slot_start = ? "
                   "AND status IN ('booked', 'checked_in') AND code != ?", b.code, day.isoformat(), slot_start, code)
    if taken is not None and taken[0] >= b.slot_capacity:
        raise E.SlotFull(name=b.name, date=day.isoformat(), slot=slot_start)
    masked_name = mask_name(name) if name else None
    tx.exec("INSERT OR REPLACE INTO appointments(code, business, date, slot_start, slot_end, id_hash, id_masked, "
            "name_masked, status, ticket_id, booked_at, source, message_id, closed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', NULL, ?, ?, ?, NULL)",
            code, b.code, day.isoformat(), slot_start, slot_end, h, mask_id(id_number) if id_number else None,
            masked_name, tx.at, source, message_id)
    appt = {"code": code, "business": b.code, "date": day.isoformat(), "slot_start": slot_start,
            "slot_end": slot_end, "name_masked": masked_name, "source": source}
    payload: dict[str, Any] = {"appointment": appt}
    if message_id:
        payload["message_id"] = message_id
    tx.emit(ev.APPOINTMENT_BOOKED, payload)
    return appt


def _book(tx: Tx, business: str, day: date, slot_start: str, *, code: str | None, id_number: str | None,
          name: str | None, source: str, message_id: str | None = None) -> dict[str, Any]:
    hall = tx.hall
    b = _business(hall, business)
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    slot_start = _hhmm(slot_start)
    end = _check_grid(tx, b, day, slot_start)
    if not id_number and (hall.config.rules.appointment_id_required or b.id_required or hall.config.rules.id_required):
        raise E.IdRequired(name=b.name)
    return record(tx, b, day, slot_start, end, code=code, id_number=id_number, name=name, source=source,
                  message_id=message_id)


def book(hall: Hall, business: str, day: date, slot_start: str, *, id_number: str | None = None,
         name: str | None = None, code: str | None = None, source: str = "desk", idem_key: str | None = None
         ) -> Result[dict[str, Any]]:
    """Book a slot of the business's grid within its horizon.  Refusals: UnknownBusiness, AppointmentsNotOffered,
    NotWorkingDay/NotBusinessDay, SlotNotOffered, BookingTooFar, IdRequired, InvalidIdNumber, TooManyAppointments,
    SlotFull, AppointmentCodeUsed.  Emits appointment.booked."""
    return _answer(hall.run("book_appointment", idem_key, lambda tx: _book(
        tx, business, day, slot_start, code=code, id_number=id_number, name=name, source=source)))


def _answer(r: Result[Any]) -> Result[Any]:
    """A retried idem_key gives back the first command's events, not its value: the value is in them."""
    if r.value is None and r.events:
        p = r.events[0].payload
        return replace(r, value=p.get("appointment", p) if r.events[0].kind != ev.APPOINTMENT_REFUSED else p)
    return r


def _cancel(tx: Tx, code: str, *, source: str, message_id: str | None = None) -> dict[str, Any]:
    a = tx.one("SELECT * FROM appointments WHERE code = ?", code.strip())
    if a is None or a["status"] == "cancelled":
        raise E.AppointmentNotFound()
    if a["status"] != "booked":
        t = tx.one("SELECT number FROM tickets WHERE id = ?", a["ticket_id"])
        raise E.AppointmentUsed(number=t["number"] if t else "")
    tx.exec("UPDATE appointments SET status = 'cancelled', closed_at = ? WHERE code = ?", tx.at, a["code"])
    appt = {"code": a["code"], "business": a["business"], "date": a["date"], "slot_start": a["slot_start"],
            "slot_end": a["slot_end"], "source": source}
    payload: dict[str, Any] = {"appointment": appt}
    if message_id:
        payload["message_id"] = message_id
    tx.emit(ev.APPOINTMENT_CANCELLED, payload)
    return appt


def cancel(hall: Hall, code: str, *, source: str = "desk", idem_key: str | None = None) -> Result[dict[str, Any]]:
    """Cancel a booking not yet used: its place is free again.  A checked-in one keeps its ticket (AppointmentUsed);
    a cancelled or unknown one is AppointmentNotFound.  Emits appointment.cancelled."""
    return _answer(hall.run("cancel_appointment", idem_key, lambda tx: _cancel(tx, code, source=source)))


def apply_central(hall: Hall, *, message_id: str, action: str, code: str, business: str | None = None,
                  day: date | None = None, slot_start: str | None = None, id_number: str | None = None,
                  name: str | None = None, idem_key: str) -> Result[dict[str, Any]]:
    """A booking or cancellation from the province's platform, applied once per message id and always answered
    by one event carrying that id: appointment.booked, appointment.cancelled, or appointment.refused with the
    refusal's key and message (the slot filled up at the hall meanwhile, …).  Redelivered: the first answer."""

    def body(tx: Tx) -> dict[str, Any]:
        try:
            if action == "cancel":
                return _cancel(tx, code, source="central", message_id=message_id)
            if business is None or day is None or slot_start is None:
                raise ValueError("a booking needs business, date and slot_start")
            return _book(tx, business, day, slot_start, code=code, id_number=id_number, name=name,
                         source="central", message_id=message_id)
        except E.HallError as exc:
            # every check comes before the first write, so nothing of the refused booking is in the transaction
            refusal = {"message_id": message_id, "action": action, "code": code, "key": exc.key,
                       "message": exc.message}
            tx.emit(ev.APPOINTMENT_REFUSED, refusal)
            return refusal

    return _answer(hall.run("central_appointment", idem_key, body))


# --- check-in ---------------------------------------------------------------------------------------------------------
def placement(tx: Tx, a: sqlite3.Row) -> tuple[str, str | None]:
    """(priority, due_at) of the ticket booking `a` checks in to now, or the refusal (docs/events.md "Queue order"):
    - early, before slot start − appointment_early_minutes: "appointment" in the walk-in rank until `due_at` (UTC),
      then `housekeep` moves it ahead of walk-ins;
    - from then until slot end + appointment_grace_minutes: "appointment", ahead of walk-ins at once;
    - later (or a booking already recorded as a no-show): a walk-in ticket ("normal"), or AppointmentExpired when
      [rules] appointment_late = "refuse"."""
    rules = tx.hall.config.rules
    start = _at(tx, a["date"], a["slot_start"])
    end = _at(tx, a["date"], a["slot_end"])
    due = start - timedelta(minutes=rules.appointment_early_minutes)
    if a["status"] == "booked" and tx.local < due:
        return "appointment", due.astimezone(UTC).isoformat()
    if a["status"] == "booked" and tx.local <= end + timedelta(minutes=rules.appointment_grace_minutes):
        return "appointment", None
    if rules.appointment_late == "refuse":
        raise E.AppointmentExpired(until=a["slot_end"])
    return "normal", None


def _at(tx: Tx, day: str, hm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), _time(hm), tx.local.tzinfo)


def _time(hm: str) -> time:
    h, m = hm.split(":")[:2]
    return time(23, 59, 59) if int(h) >= 24 else time(int(h), int(m))


def _hhmm(text: str) -> str:
    """"9:00" → "09:00": slots compare as text."""
    try:
        return f"{_time(text.strip()):%H:%M}"
    except ValueError:
        return text.strip()


# --- time-driven changes ------------------------------------------------------------------------------------------
def housekeep(tx: Tx) -> None:
    """At the start of every command, after the day rollover: early appointments whose time has come go ahead of
    walk-ins (appointment.due), bookings past their slot's grace become no-shows (appointment.no_show)."""
    hall = tx.hall
    due, ends = _probe(tx.conn)
    now_utc = tx.now.astimezone(UTC)
    if due is not None and datetime.fromisoformat(due) <= now_utc:
        _promote(tx, now_utc)
        due = _probe(tx.conn)[0]
    grace = timedelta(minutes=hall.config.rules.appointment_grace_minutes)
    if ends is not None and _no_show_at(hall, ends) <= tx.now:  # also any booking of an earlier day
        _sweep(tx, grace)
        ends = _probe(tx.conn)[1]
    _note(hall, due, ends, tx.now)


def pending(hall: Hall, now: datetime) -> bool:
    """Whether the heartbeat should run a command for `housekeep`: something is due.  Known from the last command;
    every REPROBE_S the store is read again (a plain read, no write transaction), as another process may have
    checked someone in early or taken a booking meanwhile."""
    clock: Clockwork = hall.appointment_clock
    if clock.probed is None or (now - clock.probed).total_seconds() >= REPROBE_S:
        with hall.store.faults():
            _note(hall, *_probe(hall.store.conn()), now)
    return clock.next is not None and now >= clock.next


def _probe(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """(the earliest due_at of an early ticket still waiting, "YYYY-MM-DD HH:MM" of the booking ending first)."""
    row = conn.execute(_PROBE).fetchone()
    return (row[0], row[1]) if row is not None else (None, None)


def _note(hall: Hall, due: str | None, ends: str | None, now: datetime) -> None:
    times = [datetime.fromisoformat(due)] if due else []
    if ends:
        times.append(_no_show_at(hall, ends))
    clock: Clockwork = hall.appointment_clock
    clock.next = min(times) if times else None
    clock.probed = now


def _no_show_at(hall: Hall, ends: str) -> datetime:
    """When a booking ending at `ends` ("YYYY-MM-DD HH:MM") becomes a no-show: its slot's end + grace, or the day
    rollover after its day, whichever comes first."""
    day, _, hm = ends.partition(" ")
    tz = hall.config.tz
    grace = timedelta(minutes=hall.config.rules.appointment_grace_minutes)
    midnight = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time.min, tz)
    return min(datetime.combine(date.fromisoformat(day), _time(hm), tz) + grace + timedelta(seconds=1), midnight)


def _promote(tx: Tx, now_utc: datetime) -> None:
    rows = tx.conn.execute(
        "SELECT * FROM tickets WHERE status = 'waiting' AND rank = 3 AND due_at IS NOT NULL AND due_at <= ? "
        "ORDER BY due_at, queue_pos", (now_utc.isoformat(),)).fetchall()
    moved = []
    for t in rows:
        # its place among the appointments is the moment its time came: the seq of the event saying so
        pos = tx.one(f"UPDATE tickets SET rank = {_DUE_RANK}, queue_pos = ({Q.NEXT_QUEUE_POS}) WHERE id = ? "
                     "RETURNING queue_pos", t["id"])
        ticket = tx.hall._row_ticket(t)
        tx.emit(ev.APPOINTMENT_DUE, {"ticket": ticket, "due_at": t["due_at"],
                                     "ahead": Q.ahead(tx.conn, {**dict(t), "rank": _DUE_RANK,
                                                                "queue_pos": pos[0] if pos else 0})})
        moved.append(t["number"])
    tx.hall.appointment_clock.moved = moved


def _sweep(tx: Tx, grace: timedelta) -> None:
    limit = tx.local - grace - timedelta(seconds=1)
    cutoff = (tx.today, "00:00") if limit.date().isoformat() < tx.today else (tx.today, f"{limit:%H:%M:%S}")
    rows = tx.conn.execute("SELECT * FROM appointments WHERE status = 'booked' AND (date, slot_end) < (?, ?) "
                           "ORDER BY date, slot_end", cutoff).fetchall()
    for a in rows:
        tx.exec("UPDATE appointments SET status = 'no_show', closed_at = ? WHERE code = ?", tx.at, a["code"])
        tx.emit(ev.APPOINTMENT_NO_SHOW, {"appointment": {
            "code": a["code"], "business": a["business"], "date": a["date"], "slot_start": a["slot_start"],
            "slot_end": a["slot_end"], "source": a["source"]}})


# --- reads --------------------------------------------------------------------------------------------------------
_PUBLIC = ("code", "business", "date", "slot_start", "slot_end", "status", "ticket_id", "source", "booked_at",
           "closed_at")


def get(hall: Hall, code: str) -> dict[str, Any] | None:
    """One booking without its personal fields (no ID hash, no masked ID or name): what a phone page may show."""
    row = hall.store.conn().execute(f"SELECT {', '.join(_PUBLIC)} FROM appointments WHERE code = ?",
                                    (code.strip(),)).fetchone()
    return dict(row) if row is not None else None


def listing(hall: Hall, day: date | None = None, business: str | None = None, status: str | None = None
            ) -> list[dict[str, Any]]:
    """The service desk's list of a day (default today): by slot, with the masked ID and name, the ticket number of
    a checked-in one."""
    sql = ("SELECT a.*, t.number AS number FROM appointments a LEFT JOIN tickets t ON t.id = a.ticket_id "
           "WHERE a.date = ?")
    args: list[Any] = [(day or date.fromisoformat(hall.today())).isoformat()]
    if business:
        sql += " AND a.business = ?"
        args.append(business)
    if status:
        sql += " AND a.status = ?"
        args.append(status)
    rows = hall.store.conn().execute(sql + " ORDER BY a.business, a.slot_start, a.booked_at", args).fetchall()
    keep = (*_PUBLIC, "id_masked", "name_masked", "number")
    return [{k: r[k] for k in keep} for r in rows]


class Appointments:
    """The calls screens, the LAN, the CLI and the phone pages make (`appointments.<name>` on the LAN): plain
    arguments in, plain values out, so a LAN client checks and sends them like any Hall call."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall

    def offer(self, business: str) -> list[dict[str, Any]]:
        """[{date, slots: [{start, end, capacity, free}]}] of the horizon; [] when it takes no bookings."""
        b = self.hall.config.business(business)
        if b is None:
            raise E.UnknownBusiness(business=business)
        return [{"date": d.isoformat(), "slots": [s.to_dict() for s in slots]} for d, slots in offer(self.hall, b)]

    # Returns are Result(value, events): annotated Any, as kiosk.core.hall (which imports this module) cannot be
    # imported here at run time, and the LAN checks arguments by the annotations it can resolve.
    def book(self, business: str, day: str, slot_start: str, *, id_number: str | None = None,
             name: str | None = None, source: str = "kiosk", idem_key: str | None = None) -> Any:
        return book(self.hall, business, _day(day), slot_start, id_number=id_number, name=name, source=source,
                    idem_key=idem_key)

    def cancel(self, code: str, *, source: str = "kiosk", idem_key: str | None = None) -> Any:
        return cancel(self.hall, code, source=source, idem_key=idem_key)

    def get(self, code: str) -> dict[str, Any] | None:
        return get(self.hall, code)

    def listing(self, day: str | None = None, business: str | None = None, status: str | None = None
                ) -> list[dict[str, Any]]:
        return listing(self.hall, _day(day) if day else None, business, status)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"a date is YYYY-MM-DD, not {text[:20]!r}") from None
