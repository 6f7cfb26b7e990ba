"""What every Hall command module shares: the command's transaction (Tx, with its operator), its Result, and the
ticket status vocabulary."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kiosk.core import context as C
from kiosk.core import queue as Q
from kiosk.core.events import Event
from kiosk.store import Store

if TYPE_CHECKING:
    from kiosk.core.hall import Hall


T = TypeVar("T")
Clock = Callable[[], datetime]

OPEN_STATUSES = ("waiting", "called", "serving", "held")
STATUS_LABELS = {
    "waiting": "等候中", "called": "已叫号", "serving": "办理中", "held": "挂起", "done": "已办结",
    "no_show": "过号", "voided": "已作废", "expired": "已过期",
}
# Queue order inside a business: transferred-in first ("goes to the front there"), then the green channel
# (依法优先), then appointments whose time has come, then walk-ins — and appointments checked in early, until their
# time (kiosk/core/appointments.py); first come first served within a rank (docs/events.md "Queue order").
RANK = {"transfer": 0, "green": 1, "appointment": 2, "normal": 3}
RATEABLE = ("serving", "done")  # 一次一评 rates a service given: never a ticket only called (or gone, or held)
# issuing's two writes, spelled once (not formatted again for every ticket)
_NEXT_NUMBER = (
    "INSERT INTO counters(business, local_date, last_seq) VALUES (?, ?, 1) ON CONFLICT(business, local_date) "
    f"DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq, {', '.join(Q.RANK_COLUMNS)}")
# call-next's writes, spelled once (bench/bench_core.py times them bare, as the command's floor): the current ticket
# closed as 办结, the next one called, the window's row
_FINISH_TICKET = "UPDATE tickets SET status = 'done', finished_at = ? WHERE id = ?"
_CALL_TICKET = ("UPDATE tickets SET status = 'called', window = ?, clerk_id = ?, called_at = ?, "
                "first_called_at = COALESCE(first_called_at, ?), recalls = 0, target_window = NULL WHERE id = ?")
_CALL_WINDOW = ("UPDATE windows SET current_ticket = ?, last_ticket = COALESCE(?, last_ticket), state = 'calling', "
                "since = ? WHERE number = ?")
_INSERT_TICKET = (
    "INSERT INTO tickets(id, number, business, prefix, seq, local_date, priority, rank, queue_pos, status, "
    "id_hash, id_masked, appointment_code, issued_at, recalls, transfers, printed, due_at) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ({Q.NEXT_QUEUE_POS}), 'waiting', ?, ?, ?, ?, 0, 0, 0, ?) RETURNING queue_pos")


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """What a command changed: its main value and the events it appended (Anki's OpChanges)."""

    value: T
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: dict[str, Any]
    ahead: int


class Tx:
    """The open write transaction of one command: the connection, 'now', who runs it from where (the command
    context, kiosk/core/context.py), and the events appended so far."""

    def __init__(self, hall: Hall, conn: sqlite3.Connection, now: datetime, operator: C.Operator = C.SYSTEM) -> None:
        self.hall, self.conn, self.now = hall, conn, now
        self.at = now.isoformat()
        self.local = now.astimezone(hall.tz)
        self.today = hall.business_date(self.local)
        self.events: list[Event] = []
        self.act(operator)

    def act(self, operator: C.Operator) -> None:
        """From here on the events are `operator`'s (the rollover and sweeps before a command are the system's)."""
        self.operator = operator
        self.actor, self.terminal = operator.actor, operator.terminal

    def by_clerk(self, clerk_id: str | None) -> None:
        """A window command: done by the clerk signed in there, unless the context already names a person."""
        if clerk_id and not self.operator.is_person:
            self.actor = f"staff:{clerk_id}"

    def emit(self, kind: str, payload: dict[str, Any]) -> Event:
        e = Store.append_event(self.conn, kind, payload, self.at, self.today, self.actor, self.terminal)
        self.events.append(e)
        return e

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
        return row

    def exec(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)

def _device_actor(name: str) -> str:
    """A device's report is the device's own doing."""
    return C.device(name).actor


def _qs(items: tuple[Any, ...] | list[Any]) -> str:
    return ",".join("?" * len(items)) or "NULL"


def _secs(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 1)


def _weekday_names(days: frozenset[int]) -> str:
    return "、".join("周" + "一二三四五六日"[d - 1] for d in sorted(days))

