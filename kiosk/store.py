"""The embedded store: SQLite (WAL, durable) through sqlite-utils, schema migrations, one connection per thread."""
from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import msgspec
import sqlite_utils

from kiosk.core.errors import StoreFault, StoreFull, StoreLocked, StoreReadOnly, StoreUnavailable
from kiosk.core.events import Event
from kiosk.core.privacy import scrub_payload, scrub_text
from kiosk.storelock import SharedLock

log = logging.getLogger(__name__)


# UUID version 7 bits (RFC 9562): version 0b0111 at bits 76..79, variant 0b10 at bits 62..63
_V7_CLEAR = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1
_V7_SET = 0x7 << 76 | 0x2 << 62


class StoreError(RuntimeError):
    """The store cannot be used (newer schema than this program, unreadable file)."""


# SQLite primary result codes: Python gives the extended code (e.g. SQLITE_IOERR_WRITE), whose low byte is these.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_UNAVAILABLE_REASONS = {
    _IOERR: "磁盘读写错误", _CANTOPEN: "无法打开数据库文件", _CORRUPT: "数据库文件已损坏", _NOTADB: "不是数据库文件",
}
_LOW_SPACE_BYTES = 64 * 1024  # below this the disk counts as full: SQLite needs a few pages to commit anything


def store_fault(exc: BaseException, path: str) -> StoreFault | None:
    """The hall error for a fault a person must fix (disk full, read-only, locked, missing or broken file), or None
    for an error that is a bug (bad SQL, a constraint) and must surface as it is."""
    if isinstance(exc, StoreFault):
        return exc
    if isinstance(exc, OSError):  # creating the store's directory at start-up
        detail = f"{type(exc).__name__}: {exc}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFull(path=path, detail=detail)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreReadOnly(path=path, detail=detail)
        return StoreUnavailable(path=path, reason=f"无法创建所在目录：{exc.strerror or exc}", detail=detail)
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    primary = code & 0xFF
    detail = f"{getattr(exc, 'sqlite_errorname', primary)}: {exc}"
    if primary == _FULL:
        return StoreFull(path=path, detail=detail)
    if primary == _READONLY:
        return StoreReadOnly(path=path, detail=detail)
    if primary in (_BUSY, _LOCKED):
        return StoreLocked(path=path, detail=detail)
    if primary in (_CANTOPEN, _IOERR):
        # SQLite says "unable to open" or "disk I/O error" for a read-only mount, a full disk and a missing
        # directory alike: the file system tells which one the person has to fix
        return _filesystem_fault(path, detail) or StoreUnavailable(
            path=path, reason=_UNAVAILABLE_REASONS[primary], detail=detail)
    if primary in (_CORRUPT, _NOTADB):
        return StoreUnavailable(path=path, reason=_UNAVAILABLE_REASONS[primary], detail=detail)
    return None


def _filesystem_fault(path: str, detail: str) -> StoreFault | None:
    if path == ":memory:":
        return None
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        return StoreUnavailable(path=path, reason="所在目录不存在或磁盘未挂载", detail=detail)
    try:
        fs = os.statvfs(folder)
    except OSError:
        return None
    # os.access, unlike a permission-bit check, also says no for root on a read-only mount (EROFS)
    if fs.f_flag & os.ST_RDONLY or not os.access(folder, os.W_OK) or (
            target.exists() and not os.access(target, os.W_OK)):
        return StoreReadOnly(path=path, detail=detail)
    if fs.f_bavail * fs.f_frsize < _LOW_SPACE_BYTES:
        return StoreFull(path=path, detail=detail)
    return None


def _m001_core(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    # seq is INTEGER PRIMARY KEY without AUTOINCREMENT: the next rowid is max+1 inside the write
    # transaction, and a rolled-back command leaves no hole, so the sequence stays gap-free.
    db.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, "
        "at_utc TEXT NOT NULL, local_date TEXT NOT NULL, payload TEXT NOT NULL)"
    )
    db["tickets"].create(
        {
            "id": str, "number": str, "business": str, "prefix": str, "seq": int, "local_date": str,
            "priority": str, "rank": int, "queue_pos": int, "status": str, "id_hash": str, "id_masked": str,
            "appointment_code": str, "target_window": int, "window": int, "clerk_id": str, "held_window": int,
            "issued_at": str, "called_at": str, "first_called_at": str, "started_at": str, "finished_at": str,
            "recalls": int, "transfers": int, "printed": int,
        },
        pk="id",
        not_null={"number", "business", "local_date", "status", "rank", "queue_pos", "issued_at"},
        defaults={"recalls": 0, "transfers": 0},
    )
    # a number is unique per business per day: the store refuses a duplicate even if the code is wrong
    db.execute("CREATE UNIQUE INDEX tickets_number ON tickets(local_date, prefix, seq)")
    db.execute("CREATE INDEX tickets_queue ON tickets(status, local_date, business, rank, queue_pos)")
    db.execute("CREATE INDEX tickets_idhash ON tickets(id_hash, business, status)")
    db["counters"].create({"business": str, "local_date": str, "last_seq": int}, pk=("business", "local_date"))
    db["windows"].create(
        {"number": int, "state": str, "current_ticket": str, "last_ticket": str, "clerk_id": str,
         "clerk_name": str, "pause_reason": str, "since": str},
        pk="number",
    )
    db["business_state"].create({"code": str, "closed": int, "message": str}, pk="code")
    db["appointments"].create(
        {"code": str, "business": str, "date": str, "slot_start": str, "slot_end": str, "id_hash": str,
         "id_masked": str, "name_masked": str, "status": str, "ticket_id": str, "booked_at": str},
        pk="code",
    )
    db.execute("CREATE INDEX appointments_idhash ON appointments(id_hash, date)")
    db["ratings"].create(
        {"id": str, "ticket_id": str, "number": str, "business": str, "window": int, "clerk_id": str,
         "status": str, "level": str, "channel": str, "reason": str, "text": str, "reason_pending": int,
         "rated_at": str, "local_date": str, "case_no": str},
        pk="id",
    )
    db.execute("CREATE UNIQUE INDEX ratings_ticket ON ratings(ticket_id)")  # 一次一评: one per service
    db["command_log"].create(
        {"key": str, "command": str, "value_kind": str, "value_id": str, "first_seq": int, "last_seq": int},
        pk="key",
    )
    db["devices"].create({"name": str, "kind": str, "state": str, "reason": str, "since": str}, pk="name")
    db["dead_letters"].create(
        {"id": int, "source": str, "topic": str, "payload": str, "error": str, "at_utc": str}, pk="id"
    )


# --- owned by sync/ (sync engineer): the service catalogue (办事指南) received from the central platform. ----------
# Defined here because kiosk.store may not import sync; sync.catalog reads and writes these rows via Hall commands.
def _m010_sync(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE catalog_items (code TEXT PRIMARY KEY, business TEXT NOT NULL, name TEXT NOT NULL, "
        "version INTEGER NOT NULL, updated_at TEXT NOT NULL, message_id TEXT NOT NULL, doc TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX catalog_items_business ON catalog_items(business)")
# --- end of sync's migration ------------------------------------------------------------------------------------


# --- owned by kiosk/core/cases.py (cases engineer): 办件, their clock stops, 差评 rectification, lookup limiter. -----
def _m020_cases(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE cases (case_no TEXT PRIMARY KEY, basic_code TEXT, impl_code TEXT, item_name TEXT, "
        "accept_unit TEXT, acceptor TEXT, case_type INTEGER NOT NULL, legal_days INTEGER, promise_days INTEGER, "
        "applicant_name TEXT, applicant_masked TEXT, id_masked TEXT, check_id TEXT, check_phone TEXT, "
        "department TEXT, window INTEGER, clerk TEXT, ticket_id TEXT, status TEXT NOT NULL, prev_status TEXT, "
        "reason TEXT, received_at TEXT NOT NULL, accepted_at TEXT, promised_given TEXT, promised_at TEXT, "
        "finished_at TEXT, finished_date TEXT, stopped_days REAL NOT NULL DEFAULT 0, stop_started_at TEXT, "
        "due_pos REAL, due_at TEXT, due_ts REAL, yellow_ts REAL, next_ts REAL, card TEXT NOT NULL DEFAULT 'none', "
        "used_days REAL, on_time INTEGER, early INTEGER, on_spot INTEGER, version INTEGER NOT NULL DEFAULT 0, "
        "updated_at TEXT NOT NULL)"
    )
    # the scheduler pass reads only the rows whose next card change is due: an index range, not a table scan
    db.execute("CREATE INDEX cases_next ON cases(next_ts) WHERE next_ts IS NOT NULL")
    db.execute("CREATE INDEX cases_card ON cases(card, due_ts) WHERE card != 'none'")  # red list, by deadline
    db.execute("CREATE INDEX cases_finished ON cases(finished_date)")
    db.execute("CREATE UNIQUE INDEX cases_ticket ON cases(ticket_id) WHERE ticket_id IS NOT NULL")
    db.execute("CREATE TABLE case_stops (case_no TEXT NOT NULL, kind TEXT NOT NULL, started_at TEXT NOT NULL, "
               "ended_at TEXT)")
    db.execute("CREATE INDEX case_stops_case ON case_stops(case_no)")
    db.execute(
        "CREATE TABLE rectifications (id TEXT PRIMARY KEY, rating_id TEXT NOT NULL, ticket_id TEXT, case_no TEXT, "
        "number TEXT, window INTEGER, clerk_id TEXT, level TEXT NOT NULL, reason TEXT, status TEXT NOT NULL, "
        "opened_at TEXT NOT NULL, opened_date TEXT NOT NULL, days INTEGER NOT NULL, due_pos REAL NOT NULL, "
        "due_at TEXT NOT NULL, due_ts REAL NOT NULL, yellow_ts REAL NOT NULL, next_ts REAL, "
        "card TEXT NOT NULL DEFAULT 'none', response TEXT, closed_at TEXT, closed_on_time INTEGER)"
    )
    db.execute("CREATE UNIQUE INDEX rectifications_rating ON rectifications(rating_id)")  # exactly once per 差评
    db.execute("CREATE INDEX rectifications_next ON rectifications(next_ts) WHERE next_ts IS NOT NULL")
    db.execute("CREATE INDEX rectifications_status ON rectifications(status, due_ts)")
    # wrong lookup checks survive a restart, so rebooting the kiosk does not reset the limiter
    db.execute("CREATE TABLE case_lookup_fails (case_no TEXT NOT NULL, at_ts REAL NOT NULL)")
    db.execute("CREATE INDEX case_lookup_fails_case ON case_lookup_fails(case_no, at_ts)")
# --- end of cases' migration ------------------------------------------------------------------------------------


def _m030_queue_indexes(db: sqlite_utils.Database) -> None:
    # call-next takes the head of each business's queue and of the window's own transfers by index, and the
    # next queue position is MAX(queue_pos) by index: without these both scan every ticket of the day.
    db.execute("CREATE INDEX tickets_target ON tickets(status, target_window, rank, queue_pos)")
    db.execute("CREATE INDEX tickets_queue_pos ON tickets(queue_pos)")


# The waiting counts kept on each counters row (business, day), by queue and rank (kiosk.core.hall.RANK): a ticket
# in its business's queue counts under its rank, one sent to a window (target_window) under waiting_window.
WAITING_COLUMNS = ("waiting_transfer", "waiting_appointment", "waiting_green", "waiting_normal", "waiting_window")
_WAITING_OF = {  # the SQL saying whether a row (NEW or OLD) counts under that column
    "waiting_transfer": "{r}.target_window IS NULL AND {r}.rank = 0",
    "waiting_appointment": "{r}.target_window IS NULL AND {r}.rank = 2",
    "waiting_green": "{r}.target_window IS NULL AND {r}.rank = 1",
    "waiting_normal": "{r}.target_window IS NULL AND {r}.rank = 3",
    "waiting_window": "{r}.target_window IS NOT NULL",
}


def _m040_queue_summary(db: sqlite_utils.Database) -> None:
    """Queries a screen makes at start-up or per event cost what they return, and a command writes few pages.

    Each index below holds only the rows its queries read, so a ticket that is done, gone or expired is in none
    of them and a status change touches only the index its row leaves or enters: every page a command dirties is
    written and fsynced at its commit.  Partial indexes are used only by queries that repeat their WHERE terms
    (kiosk/core/hall.py does; tests/core/test_queries.py checks the plans)."""
    for name in ("tickets_queue", "tickets_target", "tickets_queue_pos", "tickets_idhash"):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    # every waiting ticket, by queue: the heads call-next takes, "ahead" counts, the day rollover's range
    db.execute("CREATE INDEX tickets_waiting ON tickets(local_date, business, target_window, rank, queue_pos) "
               "WHERE status = 'waiting'")
    # the few waiting tickets transferred to one window, by that window
    db.execute("CREATE INDEX tickets_targeted ON tickets(target_window, local_date, rank, queue_pos) "
               "WHERE status = 'waiting' AND target_window IS NOT NULL")
    # held tickets (a window's list, the day rollover); only hold and resume write it.  Called and serving tickets
    # need no index: each is its window's current ticket (kiosk/core/queue.py open_before)
    db.execute("CREATE INDEX tickets_held ON tickets(local_date, held_window) WHERE status = 'held'")
    # one open ticket per ID: only tickets taken with an ID number are in it
    db.execute("CREATE INDEX tickets_idhash ON tickets(id_hash, business, local_date) WHERE id_hash IS NOT NULL")
    # the hall board's latest calls: the day's calls and recalls, newest last, without reading the rest of the log
    db.execute("CREATE INDEX events_calls ON events(local_date, seq) "
               "WHERE kind IN ('ticket.called', 'ticket.recalled')")
    # the day's ratings (dashboard figures, 差评 list) without reading a year of them
    db.execute("CREATE INDEX ratings_day ON ratings(local_date, status, level)")
    # waiting counts per business and day, kept by triggers on the row the issue command writes anyway (its
    # daily number), so the kiosk, board, dashboard and LED board read one row per business, never the queue
    for col in WAITING_COLUMNS:
        db.execute(f"ALTER TABLE counters ADD COLUMN {col} INTEGER NOT NULL DEFAULT 0")
    upsert = _queue_triggers(db)
    cols = ", ".join(WAITING_COLUMNS)
    sums = ", ".join(f"SUM({_WAITING_OF[c].format(r='tickets')})" for c in WAITING_COLUMNS)
    db.execute(f"INSERT INTO counters(business, local_date, last_seq, {cols}) "
               f"SELECT business, local_date, 0, {sums} FROM tickets WHERE status = 'waiting' "
               f"GROUP BY business, local_date {upsert}")


def _queue_triggers(db: sqlite_utils.Database) -> str:
    """The triggers keeping the counters' waiting counts by rank (_WAITING_OF); returns the upsert clause."""
    cols = ", ".join(WAITING_COLUMNS)
    add = ", ".join(f"{c} = {c} + excluded.{c}" for c in WAITING_COLUMNS)
    new = ", ".join(_WAITING_OF[c].format(r="NEW") for c in WAITING_COLUMNS)
    less = ", ".join(f"{c} = {c} - ({_WAITING_OF[c].format(r='OLD')})" for c in WAITING_COLUMNS)
    upsert = f"ON CONFLICT(business, local_date) DO UPDATE SET {add}"
    db.execute(f"CREATE TRIGGER tickets_waiting_insert AFTER INSERT ON tickets WHEN NEW.status = 'waiting' BEGIN "
               f"INSERT INTO counters(business, local_date, last_seq, {cols}) "
               f"VALUES (NEW.business, NEW.local_date, 0, {new}) {upsert}; END")
    db.execute(f"CREATE TRIGGER tickets_waiting_delete AFTER DELETE ON tickets WHEN OLD.status = 'waiting' BEGIN "
               f"UPDATE counters SET {less} WHERE business = OLD.business AND local_date = OLD.local_date; END")
    db.execute(
        "CREATE TRIGGER tickets_waiting_update AFTER UPDATE OF status, business, local_date, rank, target_window "
        "ON tickets WHEN OLD.status = 'waiting' OR NEW.status = 'waiting' BEGIN "
        f"UPDATE counters SET {less} WHERE OLD.status = 'waiting' AND business = OLD.business "
        "AND local_date = OLD.local_date; "
        f"INSERT INTO counters(business, local_date, last_seq, {cols}) "
        f"SELECT NEW.business, NEW.local_date, 0, {new} WHERE NEW.status = 'waiting' {upsert}; END")
    return upsert


# --- owned by kiosk/core/rectify.py (cases engineer): the 差评 整改 loop (核实 → 整改 → 回访, 申诉 → 复核). ---------
def _m050_rectification_loop(db: sqlite_utils.Database) -> None:
    for col in ("stage TEXT NOT NULL DEFAULT 'verify'", "outcome TEXT", "valid INTEGER", "responsible TEXT",
                "contacted INTEGER", "satisfied INTEGER", "appeal_from TEXT", "appeal_by TEXT",
                "appeals INTEGER NOT NULL DEFAULT 0"):
        db.execute(f"ALTER TABLE rectifications ADD COLUMN {col}")
    # items closed with one reply before the loop existed keep that reply and say so
    db.execute("UPDATE rectifications SET stage = 'closed', outcome = 'responded' WHERE status = 'closed'")
    # every step, who took it and what they recorded: the detail view reads it without scanning the event log
    db.execute("CREATE TABLE rectification_steps (item_id TEXT NOT NULL, n INTEGER NOT NULL, step TEXT NOT NULL, "
               "stage TEXT NOT NULL, by_staff TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL, "
               "PRIMARY KEY (item_id, n))")
    db.execute("CREATE INDEX rectifications_clerk ON rectifications(clerk_id, status, due_ts)")  # a caller's own
# --- end of the rectification loop's migration --------------------------------------------------------------------


# --- owned by sync/catalog.py (cases engineer): the businesses as the catalogue names and opens them. ---------------
def _m060_catalog_businesses(db: sqlite_utils.Database) -> None:
    # closed_by_catalog: the catalogue closed it, so the catalogue may open it again (never one staff closed)
    db.execute("CREATE TABLE catalog_businesses (code TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, "
               "message TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL, message_id TEXT NOT NULL, "
               "closed_by_catalog INTEGER NOT NULL DEFAULT 0)")
# --- end of the catalogue businesses' migration -------------------------------------------------------------------


# --- owned by kiosk/core/appointments.py: slots, their capacity, the fair order and no-shows. ---------------------
def _m070_appointments(db: sqlite_utils.Database) -> None:
    """Bookable slots and the fair order (docs/events.md "Queue order").

    The green channel now ranks before due appointments: green 1, appointment 2 (they were 2 and 1).  The counters
    keep their columns by name, so only the triggers that map a rank to its column and the waiting tickets' ranks
    change, with the triggers off meanwhile so the counts are not moved twice."""
    for trig in ("tickets_waiting_insert", "tickets_waiting_delete", "tickets_waiting_update"):
        db.execute(f"DROP TRIGGER IF EXISTS {trig}")
    db.execute("UPDATE tickets SET rank = 3 - rank WHERE rank IN (1, 2) AND status = 'waiting'")
    _queue_triggers(db)
    # when an appointment checked in early gains its priority (UTC); NULL for every other ticket
    db.execute("ALTER TABLE tickets ADD COLUMN due_at TEXT")
    # the early ones still waiting for their time: a handful, read by every command (kiosk/core/appointments.py)
    db.execute("CREATE INDEX tickets_due ON tickets(due_at) WHERE status = 'waiting' AND rank = 3 "
               "AND due_at IS NOT NULL")
    for col in ("source TEXT", "message_id TEXT", "closed_at TEXT"):
        db.execute(f"ALTER TABLE appointments ADD COLUMN {col}")
    # a slot's capacity is counted inside the booking transaction: by index, whatever a year of bookings holds
    db.execute("CREATE INDEX appointments_slot ON appointments(business, date, slot_start, status)")
    # bookings not used yet, by when their slot ends: the no-show sweep and its next due time
    db.execute("CREATE INDEX appointments_open ON appointments(date, slot_end) WHERE status = 'booked'")
    db.execute("CREATE INDEX appointments_id_open ON appointments(id_hash, business) WHERE status = 'booked'")
# --- end of the appointments' migration ---------------------------------------------------------------------------


# --- owned by kiosk/core/report.py: the report's window events. ------------------------------------------------------
def _m080_window_events(db: sqlite_utils.Database) -> None:
    # a report starts with who was signed in at each window and whether it was paused (a clerk may stay signed in
    # for days): the last such events before the range, read backwards from an index of only those few events, not
    # by scanning the whole log back for a window nobody used
    db.execute("CREATE INDEX events_window ON events(seq) WHERE kind IN ('window.signed_in', 'window.signed_out', "
               "'window.paused', 'window.resumed')")
# --- end of the report's migration --------------------------------------------------------------------------------


# --- owned by kiosk/core/staff.py: staff accounts, PINs (scrypt only), lock-out, the roster. ----------------------
def _m090_staff(db: sqlite_utils.Database) -> None:
    # failures and locked_until are stored, so restarting the caller or the server never resets a lock-out;
    # pin_salt/pin_hash: hashlib.scrypt only (kiosk/core/staff.py states its parameters), never the PIN
    db.execute("CREATE TABLE staff (staff_no TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
               "active INTEGER NOT NULL DEFAULT 1, card TEXT UNIQUE, pin_salt BLOB NOT NULL, pin_hash BLOB NOT NULL, "
               "failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, roster_windows TEXT NOT NULL DEFAULT '[]', "
               "roster_businesses TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL)")
# --- end of the staff migration -----------------------------------------------------------------------------------


# Each schema change is one named migration, applied once, in order, inside one transaction.
# --- owned by kiosk/core/context.py and kiosk/core/audit.py: every event's actor and terminal. ------------------
def _m100_audit(db: sqlite_utils.Database) -> None:
    # columns, not payload fields: the payloads stay what consumers already read, and an audit filters on them.
    # Events from before this migration keep '' (who did them was not recorded).  No index: an index on the actor
    # would cost every command a page write for a question asked a few times a year (kiosk/core/audit.py finds a
    # date range's seqs through the primary key instead).
    db.execute("ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE events ADD COLUMN terminal TEXT NOT NULL DEFAULT ''")
# --- end of the audit's migration ---------------------------------------------------------------------------------


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("001_core", _m001_core),
    ("010_sync", _m010_sync),  # sync: catalogue table
    ("020_cases", _m020_cases),  # cases: 办件, rectification, lookup limiter
    ("030_queue_indexes", _m030_queue_indexes),
    ("040_queue_summary", _m040_queue_summary),
    ("050_rectification_loop", _m050_rectification_loop),  # cases: 整改 stages and steps
    ("060_catalog_businesses", _m060_catalog_businesses),  # sync: the catalogue's business names and states
    ("070_appointments", _m070_appointments),  # appointments: slots, green before due appointments, no-shows
    ("080_window_events", _m080_window_events),  # report: sign-in and pause events by seq
    ("090_staff", _m090_staff),  # staff: accounts, PIN hashes, lock-out, roster
    ("100_audit", _m100_audit),  # audit: who did each event, from which terminal
]


# WAL frames (pages) after which a commit copies the log back into the database file (SQLite's default is 1,000).  A
# command dirties the same few pages again and again (the counters row, the windows, the right edges of the ticket
# and event indexes): the longer the log between checkpoints, the more of those rewrites one checkpoint writes
# once — a fifth of the checkpoint's share of a command at 10,000, and fewer writes to a kiosk's flash.  The log
# stays under ~40 MiB, and a restart after a crash reads it back in well under a second.
WAL_AUTOCHECKPOINT = 10_000


# every event the hall appends, by this one statement (bench/bench_core.py times it bare, as the commands' floor)
INSERT_EVENT = ("INSERT INTO events(id, kind, at_utc, local_date, payload, actor, terminal) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)")


class Store:
    """Opens (and migrates) the hall database.  Every write runs in `with store.write() as conn:`."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout: float = 30.0) -> None:
        """Raises StoreFault (naming the path and what to do) when the store cannot be opened or migrated."""
        if synchronous not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL, EXTRA or OFF, not {synchronous!r}")
        self.path = str(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout  # seconds a write waits for another process's lock before StoreLocked
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._last_fault = ""  # logged once per fault, not once per refused command
        self._in_use = SharedLock(self.path)  # held while open: `hall restore` refuses an open store
        with self.faults(os_errors=True):
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._migrate()

    @contextmanager
    def faults(self, *, os_errors: bool = False) -> Iterator[None]:
        """Turns a store fault into its StoreFault; other errors pass unchanged.  `os_errors`: also the OSError of
        creating the store's directory (elsewhere an OSError is not the store's)."""
        caught = (sqlite3.Error, OSError) if os_errors else (sqlite3.Error,)
        try:
            yield
        except caught as exc:
            fault = store_fault(exc, self.path)
            if fault is None:
                raise
            if fault.key != self._last_fault:
                log.warning("store %s: %s (%s)", self.path, fault.key, fault.params.get("detail", ""))
            self._last_fault = fault.key
            raise fault from exc

    # --- connections --------------------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            self._in_use.hold()
            with self.faults():
                c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                    timeout=self.busy_timeout)
                try:
                    c.row_factory = sqlite3.Row
                    c.execute("PRAGMA journal_mode=WAL")
                    c.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
                    # FULL: a committed ticket survives power loss (the WAL is fsynced at every commit)
                    c.execute(f"PRAGMA synchronous={self.synchronous}")
                    c.execute("PRAGMA foreign_keys=ON")
                    c.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                except BaseException:
                    c.close()
                    raise
            self._local.conn = c
            with self._conns_lock:
                self._conns.append(c)
        return c

    def _forget_conn(self, c: sqlite3.Connection) -> None:
        """Drop this thread's connection, so the next use opens the file afresh: a connection SQLite opened
        read-only (or on a vanished file) stays that way even after the disk is fixed."""
        self._local.conn = None
        self._local.db = None
        with self._conns_lock:
            if c in self._conns:
                self._conns.remove(c)
        with suppress(sqlite3.Error):
            c.close()

    def db(self) -> sqlite_utils.Database:
        d: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if d is None:
            d = sqlite_utils.Database(self.conn())
            self._local.db = d
        return d

    def close(self) -> None:
        with self._conns_lock:
            for c in self._conns:
                with suppress(sqlite3.ProgrammingError):
                    c.close()
            self._conns.clear()
        self._local = threading.local()
        self._in_use.release()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction.  IMMEDIATE takes the write lock up front, so two processes or
        threads never both read 'the next ticket' before either writes it.

        A store fault anywhere in it (the lock, a write, the COMMIT) rolls it back and raises StoreFault: the
        write did not happen, so whoever asked for it must not be told it did."""
        c = self.conn()
        try:
            with self.faults():
                c.execute("BEGIN IMMEDIATE")
                try:
                    yield c
                    c.execute("COMMIT")
                    self._last_fault = ""
                except BaseException:
                    self._rollback(c)
                    raise
        except (StoreReadOnly, StoreUnavailable):
            self._forget_conn(c)
            raise

    def _rollback(self, c: sqlite3.Connection) -> None:
        # SQLite has already rolled back by itself after SQLITE_FULL and some I/O errors; a second ROLLBACK
        # would raise "no transaction is active" over the real error
        if not c.in_transaction:
            return
        try:
            c.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("store %s: rollback failed; reopening the connection", self.path)
            self._forget_conn(c)

    # --- schema -------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            done = {r[0] for r in c.execute("SELECT name FROM _migrations")}
            known = {name for name, _ in MIGRATIONS}
            unknown = done - known
            if unknown:
                raise StoreError(
                    f"{self.path} was written by a newer version (migrations {sorted(unknown)}); refusing to open"
                )
            db = sqlite_utils.Database(c)
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(db)
                    c.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
            c.execute("COMMIT")
        except BaseException:
            self._rollback(c)
            raise

    def migrations(self) -> list[str]:
        return [r[0] for r in self.conn().execute("SELECT name FROM _migrations ORDER BY rowid")]

    # --- meta ---------------------------------------------------------------------------------------
    def meta_get(self, key: str, default: str | None = None) -> str | None:
        with self.faults():
            row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def meta_set(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- the event log ------------------------------------------------------------------------------
    @staticmethod
    def new_id() -> str:
        """A unique id (UUID version 7, as 32 hex digits): the wall clock's milliseconds and a 12-bit fraction of
        the millisecond (RFC 9562 §6.2 method 3), then 62 random bits.  Ids made one after another sort one after
        another, so the unique index on them grows at its right edge: each commit writes the page the last one
        wrote, where a random uuid4 dirties (and, at the checkpoint, rewrites) a page anywhere in an index as big
        as the log.  Still unguessable, as ticket ids must be."""
        ms, ns = divmod(time.time_ns(), 1_000_000)
        v = ms << 80 | (ns * 4096 // 1_000_000) << 64 | int.from_bytes(os.urandom(8), "big")
        return f"{v & _V7_CLEAR | _V7_SET:032x}"

    @staticmethod
    def append_event(
        conn: sqlite3.Connection, kind: str, payload: dict[str, Any], at_utc: str, local_date: str,
        actor: str = "system", terminal: str = "",
    ) -> Event:
        eid = Store.new_id()
        cur = conn.execute(INSERT_EVENT, (eid, kind, at_utc, local_date, _encode(payload), actor, terminal))
        return Event(int(cur.lastrowid or 0), eid, kind, at_utc, local_date, payload, actor, terminal)

    def events_after(self, seq: int, limit: int = 1000, kinds: set[str] | None = None) -> list[Event]:
        sql = "SELECT seq, id, kind, at_utc, local_date, payload, actor, terminal FROM events WHERE seq > ?"
        args: list[Any] = [seq]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += sorted(kinds)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self.faults():  # the outbox and the LAN server read here: a fault must reach them typed
            return [_row_event(r) for r in self.conn().execute(sql, args)]

    def last_seq(self) -> int:
        with self.faults():
            row = self.conn().execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def add_dead_letter(self, source: str, topic: str, payload: bytes | str, error: str, at_utc: str) -> None:
        """Keep a refused message for staff, never with a clear ID number, phone or name in it (any writer)."""
        text = scrub_payload(payload)
        with self.write() as c:
            c.execute(
                "INSERT INTO dead_letters(source, topic, payload, error, at_utc) VALUES (?, ?, ?, ?, ?)",
                (source, scrub_text(topic), text, scrub_text(error), at_utc),
            )


def first_seq_from(conn: sqlite3.Connection, day: str, lo: int | None = None) -> tuple[int, int]:
    """The first seq whose local_date is `day` or later (past the log's last seq when none), and how many one-row
    reads found it: a binary search down the primary key, no index — the log's dates follow its seqs (the business
    date never goes back: docs/events.md "Day rollover").  Holes in the seqs (a restore skips the seqs the replaced
    store had used: store.restored) do no harm, each read lands on the next event that exists.  `lo`: a seq known
    to be at or below the answer (the start of a range already found)."""
    # each alone: SQLite reads MIN or MAX from an end of the rowid b-tree, but scans the table for both at once
    low = conn.execute("SELECT MIN(seq) FROM events").fetchone()[0]
    high = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    if low is None or high is None:
        return 1, 0
    lo, hi, found, probes = max(int(low), lo or 0), int(high), None, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        probes += 1
        at = conn.execute("SELECT seq, local_date FROM events WHERE seq >= ? ORDER BY seq LIMIT 1", (mid,)).fetchone()
        if at is None or at[0] > hi:
            hi = mid - 1  # nothing from mid to hi: look lower
        elif at[1] >= day:
            found, hi = int(at[0]), mid - 1
        else:
            lo = int(at[0]) + 1  # the events up to it are all earlier days
    return (found if found is not None else int(high) + 1), probes


_encode_json = msgspec.json.Encoder().encode


def _encode(payload: dict[str, Any]) -> str:
    """Compact UTF-8 JSON, as json.dumps(ensure_ascii=False, separators=(",", ":")) writes it (but for how an
    exponent is spelled), in a tenth of the time: every command encodes a payload or more inside its transaction."""
    return _encode_json(payload).decode()


def _row_event(r: sqlite3.Row) -> Event:
    return Event(r["seq"], r["id"], r["kind"], r["at_utc"], r["local_date"], json.loads(r["payload"]),
                 r["actor"], r["terminal"])
