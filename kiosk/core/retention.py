"""Retention: personal data is kept `[retention] personal_days` days after its local date, then cleared — in the
tables and in the event log — while every count, time and rating the figures and exports read stays as it was."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from kiosk.core.cases import TERMINAL
from kiosk.core.evaluation import ANONYMOUS

if TYPE_CHECKING:
    import sqlite3

    from kiosk.core.hall import Hall, Tx

PURGED = "retention.purged"  # {before, personal_days, tickets, appointments, cases, ratings, dead_letters, events}
BATCH = 2000  # events read per transaction: a first purge of a year-old store never holds the hall for long

# Each table's personal columns, and which of its rows are old enough (`:cutoff`: the first local date kept).
# Cases only once concluded (办结, 不予受理, 退件, 作废): a running case still answers its applicant's lookup.
_TERMINAL = ", ".join(f"'{s}'" for s in sorted(TERMINAL))
TABLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("tickets", ("id_hash", "id_masked"), "local_date < :cutoff"),
    ("appointments", ("id_hash", "id_masked", "name_masked"), "date < :cutoff"),
    ("cases", ("applicant_name", "applicant_masked", "id_masked", "check_id", "check_phone"),
     f"status IN ({_TERMINAL}) AND finished_date < :cutoff"),
    ("ratings", ("text",), "local_date < :cutoff"),  # 文字评价: the citizen's own words may name them
)
COUNTED = ("tickets", "appointments", "cases", "ratings", "dead_letters", "events")

# Fields of event payloads that hold personal data (the ticket's id_masked, an appointment's name_masked, a case's
# applicant, an evaluation record's 评价人), cleared by name wherever they sit; a rating's comment in its `rating`.
_NULLED = frozenset({"id_hash", "id_masked", "name_masked", "applicant", "applicant_name", "applicant_masked",
                     "check_id", "check_phone"})
_PERSONAL_IN_TEXT = re.compile(r'"(?:id_hash|id_masked|name_masked|applicant|applicant_name|applicant_masked|'
                               r'check_id|check_phone|evaluator|text|comment)"\s*:\s*"')
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Purge:
    """What one purge cleared (or, dry run, would clear): rows per table, dead letters deleted, events rewritten."""

    before: str  # the first local date kept
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    done: bool = True  # False: events are left for the next step

    def add(self, other: Purge) -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.done = other.done


def cutoff(hall: Hall, now: datetime | None = None) -> str:
    """The first local date whose personal data is kept: today minus personal_days."""
    today = (now or hall.clock()).astimezone(hall.config.tz).date()
    return (today - timedelta(days=hall.config.retention.personal_days)).isoformat()


def _cutoff_utc(hall: Hall, before: str) -> str:
    """Local midnight starting `before`, as the UTC text dead letters are stamped with."""
    return datetime.combine(date.fromisoformat(before), time.min, hall.config.tz).astimezone(UTC).isoformat()


def scrub_event(payload: Any) -> tuple[Any, bool]:
    """An event payload without its personal fields, and whether any was there.  Shapes the sync contract checks
    stay valid: an evaluation record's 评价人 becomes 匿名 (it must be filled) and its comment empty text."""
    changed = False

    def walk(v: Any, parent: str = "") -> Any:
        nonlocal changed
        if isinstance(v, list):
            return [walk(x, parent) for x in v]
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for k, x in v.items():
            if k in _NULLED and x is not None:
                changed, x = True, None
            elif k == "evaluator" and isinstance(x, str) and x != ANONYMOUS:
                changed, x = True, ANONYMOUS
            elif parent == "rating" and k == "text" and x is not None:
                changed, x = True, None
            elif parent == "record" and k == "comment" and x:
                changed, x = True, ""
            else:
                x = walk(x, k)
            out[k] = x
        if parent == "record" and "comment" in v and out.get("text") != (out.get("reason") or ""):
            changed, out["text"] = True, out.get("reason") or ""  # 文字评价 was reason；comment
        return out

    new = walk(payload)
    return new, changed


@contextmanager
def _secure_delete(conn: sqlite3.Connection) -> Iterator[None]:
    """Cleared values are overwritten in the file too, not left in the free space of its pages."""
    old = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(old)}")


def _old_rows(cols: tuple[str, ...], where: str) -> str:
    return f"{where} AND ({' OR '.join(f'{c} IS NOT NULL' for c in cols)})"


def _events(conn: sqlite3.Connection, after: int, before: str, limit: int) -> tuple[list[tuple[int, str]], int, bool]:
    """Events after seq `after` dated before `before`, in seq order, up to `limit` read: the rewritten payloads
    (seq, payload), the last seq looked at, and whether the old events are all looked at."""
    rows = conn.execute("SELECT seq, local_date, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                        (after, limit)).fetchall()
    changed: list[tuple[int, str]] = []
    last = after
    for seq, day, payload in rows:
        if day >= before:  # the log is in date order: the rest is recent
            return changed, last, True
        last = seq
        if _PERSONAL_IN_TEXT.search(payload):
            new, did = scrub_event(json.loads(payload))
            if did:
                changed.append((seq, _encode(new).decode()))
    return changed, last, len(rows) < limit


def purge_step(hall: Hall, limit: int = BATCH, *, tables: bool = True) -> Purge:
    """One transaction (a Hall command): with `tables` (a purge's first step) the tables' old personal data at once,
    set-based, then up to `limit` events; a retention.purged event says what it cleared.  Repeat until `done`."""

    def body(tx: Tx) -> Purge:
        before = cutoff(hall, tx.now)
        p = Purge(before)
        row = tx.one("SELECT value FROM meta WHERE key = 'retention_events_seq'")
        with _secure_delete(tx.conn):
            if tables:
                for table, cols, where in TABLES:
                    cur = tx.conn.execute(f"UPDATE {table} SET {', '.join(f'{c} = NULL' for c in cols)} "
                                          f"WHERE {_old_rows(cols, where)}", {"cutoff": before})
                    p.counts[table] = cur.rowcount
                cur = tx.conn.execute("DELETE FROM dead_letters WHERE at_utc < ?", (_cutoff_utc(hall, before),))
                p.counts["dead_letters"] = cur.rowcount
            changed, last, p.done = _events(tx.conn, int(row[0]) if row else 0, before, limit)
            tx.conn.executemany("UPDATE events SET payload = ? WHERE seq = ?", [(t, s) for s, t in changed])
            p.counts["events"] = len(changed)
            tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('retention_events_seq', ?)", str(last))
        if any(p.counts.values()):
            tx.emit(PURGED, {"before": before, "personal_days": hall.config.retention.personal_days, **p.counts})
        return p

    return hall.run("purge_personal", None, body).value


def purge(hall: Hall, limit: int = BATCH) -> Purge:
    """Everything older than the cutoff, step by step; then a checkpoint that does not wait for readers, so the
    store's file (not only its WAL) holds the cleared pages."""
    total = purge_step(hall, limit)
    while not total.done:
        total.add(purge_step(hall, limit, tables=False))
    hall.store.conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
    return total


def preview(hall: Hall) -> Purge:
    """What purge would clear now (`hall purge --dry-run`): read only, nothing changes."""
    conn = hall.store.conn()
    before = cutoff(hall)
    p = Purge(before)
    for table, cols, where in TABLES:
        p.counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {_old_rows(cols, where)}",
                                       {"cutoff": before}).fetchone()[0]
    p.counts["dead_letters"] = conn.execute("SELECT COUNT(*) FROM dead_letters WHERE at_utc < ?",
                                            (_cutoff_utc(hall, before),)).fetchone()[0]
    row = conn.execute("SELECT value FROM meta WHERE key = 'retention_events_seq'").fetchone()
    after, done = int(row[0]) if row else 0, False
    while not done:
        changed, after, done = _events(conn, after, before, BATCH)
        p.counts["events"] += len(changed)
    return p


class Retention:
    """The server's nightly purge: due at start and after each local midnight, one step per call (the server loop
    calls it every second), so a first purge of a large store leaves the hall its commands in between."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self._done_day = ""
        self._total: Purge | None = None

    def step(self) -> Purge | None:
        """A finished purge's totals when one just finished, else None."""
        today = self.hall.today()
        if self._done_day == today:
            return None
        s = purge_step(self.hall, tables=self._total is None)
        if self._total is None:
            self._total = s
        else:
            self._total.add(s)
        if not s.done:
            return None
        self._done_day = today
        self.hall.store.conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        total, self._total = self._total, None
        return total

    def postpone(self) -> None:
        """After a failure that is not the disk's: not again before tomorrow (no log line every second)."""
        self._done_day, self._total = self.hall.today(), None
