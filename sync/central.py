"""The reference central collector (`hall central`): shared-subscription intake, dedup by (hall id, seq), gaps,
figures per hall and region, and case/catalogue publishing to halls.  SQLite for a demo, PostgreSQL for real.

Intake is exactly-once in effect: each PUBLISH is acknowledged (manual PUBACK) only after its batch committed,
and a redelivered or duplicated event hits the (hall_id, seq) primary key and is counted as a duplicate only.
A message that cannot be stored goes alone to the `rejected` table, with the reason, and is acknowledged too: one
bad message never holds back the valid ones batched with it.
"""
from __future__ import annotations

import argparse
import json
import logging
import queue
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec

from kiosk.core.privacy import scrub_payload, scrub_text
from sync import contract, rollup
from sync.contract import ContractError
from sync.link import InMessage, Link
from sync.settings import SyncSettings, parse_settings

log = logging.getLogger(__name__)

# Portable SQL (SQLite ≥ 3.24 and PostgreSQL ≥ 9.5): ON CONFLICT, excluded, window functions, CASE.
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS hall_events (hall_id TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, "
    "kind TEXT NOT NULL, region TEXT NOT NULL, at_utc TEXT NOT NULL, local_date TEXT NOT NULL, "
    "wait_s DOUBLE PRECISION, level TEXT, payload TEXT NOT NULL, received_at TEXT NOT NULL, "
    "arrival BIGINT NOT NULL, actor TEXT, terminal TEXT, PRIMARY KEY (hall_id, seq))",
    "CREATE INDEX IF NOT EXISTS hall_events_kind ON hall_events(kind, local_date)",
    "CREATE TABLE IF NOT EXISTS halls (hall_id TEXT PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL, "
    "state TEXT NOT NULL, state_at TEXT, max_seq BIGINT NOT NULL, events BIGINT NOT NULL, "
    "duplicates BIGINT NOT NULL, hall_seq BIGINT)",
    "CREATE TABLE IF NOT EXISTS rejected (topic TEXT NOT NULL, payload TEXT NOT NULL, error TEXT NOT NULL, "
    "at_utc TEXT NOT NULL)",
]

# columns added to a table after it first shipped: a collector's existing database gains them at start-up
# (NULL in the rows stored before; absent from a hall's message too: see docs/sync-contract.md, "actor")
ADDED_COLUMNS = (("hall_events", "actor", "TEXT"), ("hall_events", "terminal", "TEXT"), ("halls", "hall_seq", "BIGINT"))

GOOD_LEVELS = ("very_satisfied", "satisfied", "basic")
LEVELS = (*GOOD_LEVELS, "dissatisfied", "very_dissatisfied")
REJECTED_PAYLOAD_BYTES = 65536  # what the rejected table keeps of a payload
BATCH_TX_BYTES = 1 << 20  # payload bytes the collector stores in one transaction, at most (about 2,000 events)


class CentralDB:
    """One connection (SQLite file or PostgreSQL URL) behind a lock; SQL is written with '?' placeholders."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_pg = url.startswith(("postgresql://", "postgres://"))
        self._lock = threading.RLock()
        # Errors that say the database, not the message, is at fault (connection, lock, disk): the batch is kept
        # and tried again.  Any other error while storing a message is that message's fault.
        self.unavailable: tuple[type[Exception], ...]
        if self.is_pg:
            import psycopg

            self._conn: Any = psycopg.connect(url, autocommit=True)
            self.unavailable = (psycopg.OperationalError, psycopg.InterfaceError)
        else:
            path = url.removeprefix("sqlite:///")
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self.unavailable = (sqlite3.OperationalError,)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self.tx() as cur:
            for stmt in (*SCHEMA, *rollup.SCHEMA):
                cur.execute(stmt)
            for table, column, kind in ADDED_COLUMNS:
                if self.is_pg:  # IF NOT EXISTS: collectors of one group starting together do not collide
                    cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
                elif column not in self._sqlite_columns(cur, table):
                    cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @staticmethod
    def _sqlite_columns(cur: _Cursor, table: str) -> set[str]:
        cur.execute(f"SELECT name FROM pragma_table_info('{table}')")
        return {str(r[0]) for r in cur.fetchall()}

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_pg else sql

    def _connection(self) -> Any:
        """The connection, made again when PostgreSQL dropped it (a restart, a failover, an idle timeout): without
        this the collector would retry its batch forever on a dead connection."""
        if self.is_pg and (self._conn.closed or self._conn.broken):
            import psycopg

            log.warning("central: the PostgreSQL connection was lost; connecting again")
            self._conn = psycopg.connect(self.url, autocommit=True)  # OperationalError: still unavailable
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[Any]:
        with self._lock:
            cur = self._connection().cursor()
            cur.execute("BEGIN")
            try:
                yield _Cursor(cur, self._sql)
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except self.unavailable:
                    pass  # the connection is gone, and the transaction with it: the first error is the one to raise
                raise
            else:
                cur.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cur = self._connection().cursor()
            cur.execute(self._sql(sql), tuple(args))
            return [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Cursor:
    def __init__(self, cur: Any, fix: Any) -> None:
        self._cur, self._fix = cur, fix

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        self._cur.execute(self._fix(sql), tuple(args))
        return int(self._cur.rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(self._fix(sql), [tuple(r) for r in rows])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._cur.fetchall()]


class CentralStore:
    """What the collector keeps: events once per (hall, seq), hall presence, rejected messages, figures."""

    def __init__(self, db: CentralDB) -> None:
        self.db = db
        self._arrival = time.time_ns()

    def store_batch(self, items: list[tuple[str, bytes]]) -> dict[str, int]:
        """Store one batch of (topic, payload) in one transaction.  Returns counts: new, duplicate, rejected, state.

        A message the contract refuses is rejected on its own.  Should the database still refuse one that passed
        (a constraint we did not foresee), the batch is stored again with a savepoint around each message, so
        only that one is rejected.  A database that is unavailable raises: nothing is stored, nothing acked."""
        try:
            return self._store_batch(items, isolate=False)
        except self.db.unavailable:
            raise
        except Exception as e:
            log.warning("central: the database refused a batch of %d (%s: %s); storing them one by one",
                        len(items), type(e).__name__, e)
            return self._store_batch(items, isolate=True)

    def _store_batch(self, items: list[tuple[str, bytes]], *, isolate: bool) -> dict[str, int]:
        counts = {"new": 0, "duplicate": 0, "rejected": 0, "state": 0}
        now = datetime.now(UTC).isoformat()
        per_hall: dict[str, list[Any]] = {}  # hall → [new, dup, max_seq, region]
        self._days = rollup.DayTotals()  # what the batch's new events add to their halls' days
        with self.db.tx() as cur:
            for topic, payload, inner, error in _units(items):
                if error is None:
                    error = (self._try_isolated if isolate else self._try)(cur, topic, payload, inner, now, per_hall,
                                                                           counts)
                if error is None:
                    continue
                counts["rejected"] += 1
                # a refused message may carry a citizen's ID number, name or phone: keep it masked, as the hall does
                topic, error = scrub_text(topic[:1000]), scrub_text(error)
                log.warning("central: rejected %s: %s", topic[:200], error[:500])
                cur.execute("INSERT INTO rejected(topic, payload, error, at_utc) VALUES (?, ?, ?, ?)",
                            (_text(topic), _text(scrub_payload(payload[:REJECTED_PAYLOAD_BYTES])), _text(error), now))
            for hall_id, (new, dup, max_seq, region) in per_hall.items():
                cur.execute(
                    "INSERT INTO halls(hall_id, region, name, state, state_at, max_seq, events, duplicates) "
                    "VALUES (?, ?, '', 'unknown', NULL, ?, ?, ?) ON CONFLICT (hall_id) DO UPDATE SET "
                    "max_seq = CASE WHEN excluded.max_seq > halls.max_seq THEN excluded.max_seq "
                    "ELSE halls.max_seq END, events = halls.events + excluded.events, "
                    "duplicates = halls.duplicates + excluded.duplicates, region = excluded.region",
                    (hall_id, region, max_seq, new, dup),
                )
            self._days.write(cur)
        for hall_id, (new, _dup, _max, _r) in per_hall.items():
            if new:
                self._check_gap(hall_id)
        return counts

    def _try(self, cur: _Cursor, topic: str, payload: bytes, inner: bool, now: str, per_hall: dict[str, list[Any]],
             counts: dict[str, int]) -> str | None:
        """Store one message (or one event of a batch); return why the contract refuses it, or None."""
        try:
            self._store_one(cur, topic, payload, inner, now, per_hall, counts)
        except ContractError as e:
            return str(e)
        return None

    def _try_isolated(self, cur: _Cursor, topic: str, payload: bytes, inner: bool, now: str,
                      per_hall: dict[str, list[Any]], counts: dict[str, int]) -> str | None:
        """_try inside a savepoint, so that a statement the database refuses undoes only this message (or event)."""
        cur.execute("SAVEPOINT one_message")
        try:
            error = self._try(cur, topic, payload, inner, now, per_hall, counts)
        except self.db.unavailable:
            raise
        except Exception as e:
            cur.execute("ROLLBACK TO SAVEPOINT one_message")
            error = f"the database refused it: {type(e).__name__}: {e}"
        cur.execute("RELEASE SAVEPOINT one_message")
        return error

    def _store_one(self, cur: _Cursor, topic: str, payload: bytes, inner: bool, now: str,
                   per_hall: dict[str, list[Any]], counts: dict[str, int]) -> None:
        hall_id, what, kind = contract.parse_hall_topic(topic)
        if what == "state":
            p = contract.decode_presence(payload)
            if p.hall_id != hall_id:
                raise ContractError(f"presence of {p.hall_id!r} on {hall_id!r}'s topic")
            cur.execute(
                "INSERT INTO halls(hall_id, region, name, state, state_at, max_seq, events, duplicates, hall_seq) "
                "VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?) ON CONFLICT (hall_id) DO UPDATE SET state = excluded.state, "
                "state_at = excluded.state_at, "
                "name = CASE WHEN excluded.name = '' THEN halls.name ELSE excluded.name END, "
                # the will and older halls say no seq: the last one said stands
                "hall_seq = CASE WHEN excluded.hall_seq IS NULL THEN halls.hall_seq ELSE excluded.hall_seq END",
                (hall_id, p.region, p.name, p.state, now, p.last_seq),
            )
            counts["state"] += 1
            return
        m, fig, det = contract.decode_event_parts(payload)
        if m.hall_id != hall_id or (not inner and m.kind != kind):  # a batch's events may be of any kind
            raise ContractError(f"event {m.hall_id}/{m.kind} published on {topic!r}")
        self._arrival += 1
        n = cur.execute(
            "INSERT INTO hall_events(hall_id, seq, id, kind, region, at_utc, local_date, wait_s, level, payload, "
            "received_at, arrival, actor, terminal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (hall_id, seq) DO NOTHING",
            (m.hall_id, m.seq, m.id, m.kind, m.region, m.at_utc.isoformat(), m.local_date, fig.wait_s, fig.level,
             _json(m.payload), now, self._arrival, m.actor, m.terminal),
        )
        if n == 1:  # only a new event adds to the figures and records (a duplicate was counted the first time)
            rollup.store_details(cur, m, fig, det)
            self._days.add(m, fig, det)
        h = per_hall.setdefault(hall_id, [0, 0, 0, m.region])
        if n == 1:
            h[0] += 1
            counts["new"] += 1
        else:
            h[1] += 1
            counts["duplicate"] += 1
        h[2] = max(h[2], m.seq)

    def _check_gap(self, hall_id: str) -> None:
        row = self.db.query("SELECT max_seq, events FROM halls WHERE hall_id = ?", (hall_id,))
        if row and row[0][0] != row[0][1]:
            missing = row[0][0] - row[0][1] - self._settled_absent(hall_id)
            if missing > 0:
                # not yet an error (a reordered delivery fills it a moment later); `gaps()` reports what remains
                log.info("central: hall %s has %d missing events below #%d", hall_id, missing, row[0][0])

    # --- queries --------------------------------------------------------------------------------------------
    def settled(self, hall_id: str) -> list[tuple[int, int]]:
        """Seq ranges the hall will never send (merged, in order): each store.restored event names the seqs a
        `hall restore` skipped.  Read from the stored events themselves (checked at intake), so nothing else has to
        be kept in step with them."""
        rows = self.db.query("SELECT payload FROM hall_events WHERE kind = ? AND hall_id = ?",
                             (contract.STORE_RESTORED, hall_id))
        ranges: list[tuple[int, int]] = []
        for (text,) in rows:
            try:  # a collector from before the kind stored it unchecked: a bad one settles nothing
                p = json.loads(text)
                lo, hi = int(p["skipped_from"]), int(p["skipped_to"])
            except (ValueError, TypeError, KeyError):
                continue
            if lo <= hi:
                ranges.append((lo, hi))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def _settled_absent(self, hall_id: str) -> int:
        """How many settled seqs central does not hold (those it holds were real events and stay)."""
        absent = 0
        for lo, hi in self.settled(hall_id):
            held = self.db.query("SELECT COUNT(*) FROM hall_events WHERE hall_id = ? AND seq BETWEEN ? AND ?",
                                 (hall_id, lo, hi))
            absent += hi - lo + 1 - int(held[0][0])
        return absent

    def gaps(self, hall_id: str | None = None) -> dict[str, list[tuple[int, int]]]:
        """Missing seq ranges per hall (first, last): below the highest seq seen, and past it up to the newest seq
        the hall said it had when it came online (its presence's `last_seq`: the tail of a drain the broker lost
        is found without waiting for the hall's next event); seqs a restore settled are not missing."""
        where, args = ("WHERE hall_id = ?", (hall_id,)) if hall_id else ("", ())
        out: dict[str, list[tuple[int, int]]] = {}
        for h, max_seq, hall_seq in self.db.query(f"SELECT hall_id, max_seq, hall_seq FROM halls {where} ORDER BY 1",
                                                  args):
            ranges: list[tuple[int, int]] = []
            first = self.db.query("SELECT MIN(seq) FROM hall_events WHERE hall_id = ?", (h,))
            if first and first[0][0] is not None and first[0][0] > 1:
                ranges.append((1, int(first[0][0]) - 1))
            rows = self.db.query(
                "SELECT seq + 1, next_seq - 1 FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next_seq "
                "FROM hall_events WHERE hall_id = ?) t WHERE next_seq > seq + 1 ORDER BY 1", (h,))
            ranges += [(int(a), int(b)) for a, b in rows]
            if hall_seq is not None and int(hall_seq) > int(max_seq):
                ranges.append((int(max_seq) + 1, int(hall_seq)))
            if ranges:
                ranges = _without(ranges, self.settled(h))
            if ranges:
                out[h] = ranges
        return out

    def seqs(self, hall_id: str, *, by_arrival: bool = False) -> list[int]:
        order = "arrival" if by_arrival else "seq"
        return [int(r[0]) for r in
                self.db.query(f"SELECT seq FROM hall_events WHERE hall_id = ? ORDER BY {order}", (hall_id,))]

    def halls(self) -> list[dict[str, Any]]:
        """Each hall: presence, the highest seq and the count of events held, duplicates; `hall_seq` the newest
        seq the hall said it had when it last came online (None: not said), and `behind` how many of those
        central has yet to receive past its highest (0 once it holds them; gaps below are `gaps()`'s)."""
        cols = ("hall_id", "region", "name", "state", "state_at", "max_seq", "events", "duplicates", "hall_seq")
        out = []
        for r in self.db.query(f"SELECT {', '.join(cols)} FROM halls ORDER BY hall_id"):
            h = dict(zip(cols, r, strict=True))
            h["behind"] = max(0, int(h["hall_seq"]) - int(h["max_seq"])) if h["hall_seq"] is not None else None
            out.append(h)
        return out

    def figures(self, by: str = "hall", day_from: str | None = None, day_to: str | None = None
                ) -> list[dict[str, Any]]:
        """Tickets, average wait, 好差评 distribution and satisfaction rate per hall or per region.
        Satisfaction rate = (非常满意 + 满意 + 基本满意) / ratings given (unrated services are not counted)."""
        if by not in ("hall", "region"):
            raise ValueError("by must be 'hall' or 'region'")
        key = "hall_id" if by == "hall" else "region"
        where, args = "1 = 1", []
        if day_from:
            where += " AND local_date >= ?"
            args.append(day_from)
        if day_to:
            where += " AND local_date <= ?"
            args.append(day_to)
        level_cols = ", ".join(f"SUM(CASE WHEN level = '{lv}' THEN 1 ELSE 0 END)" for lv in LEVELS)
        rows = self.db.query(
            f"SELECT {key}, SUM(CASE WHEN kind = 'ticket.issued' THEN 1 ELSE 0 END), "
            f"AVG(CASE WHEN kind = 'service.finished' THEN wait_s END), {level_cols} "
            f"FROM hall_events WHERE {where} GROUP BY {key} ORDER BY {key}", args)
        out = []
        for r in rows:
            dist = {lv: int(n or 0) for lv, n in zip(LEVELS, r[3:], strict=True)}
            rated = sum(dist.values())
            good = sum(dist[lv] for lv in GOOD_LEVELS)
            out.append({by: r[0], "tickets": int(r[1] or 0),
                        "avg_wait_s": round(float(r[2]), 1) if r[2] is not None else None,
                        "ratings": dist, "rated": rated,
                        "satisfaction_rate": round(good / rated, 4) if rated else None})
        return out


def _json(value: Any) -> str:
    """Compact UTF-8 JSON text (msgspec: several times faster than json.dumps, which a drain pays per event)."""
    return _encode(value).decode("utf-8")


_encode = msgspec.json.Encoder().encode


def _units(items: list[tuple[str, bytes]]) -> Iterator[tuple[str, bytes, bool, str | None]]:
    """Each message as what is stored or rejected on its own: (topic, payload, inside a batch?, refusal or None).
    A batch (contract 2) gives one unit per event, so one bad event is rejected alone and each event is deduplicated
    by (hall_id, seq) like a single one — a repeat within the same batch as well."""
    for topic, payload in items:
        try:
            hall_id, what, _ = contract.parse_hall_topic(topic)
            if what != "batch":
                yield topic, payload, False, None
                continue
            owner, events = contract.decode_batch(payload)
            if owner != hall_id:
                raise ContractError(f"batch of {owner!r} published on {topic!r}")
        except ContractError as e:
            yield topic, payload, False, str(e)
            continue
        for raw in events:
            yield topic, raw, True, None


def _without(ranges: list[tuple[int, int]], settled: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` minus `settled` (both sorted (first, last) ranges)."""
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for s_lo, s_hi in settled:
            if s_hi < lo or s_lo > hi:
                continue
            if s_lo > lo:
                out.append((lo, s_lo - 1))
            lo = s_hi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return out


def _text(value: str | bytes) -> str:
    """Any topic, payload or error as text both databases take: bytes that are not UTF-8 and NUL (PostgreSQL
    text refuses it) are written as backslash escapes."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class Collector:
    """Subscribes to every hall's events through a shared subscription and stores them once."""

    def __init__(self, settings: SyncSettings, store: CentralStore, *, group: str | None = "collectors",
                 client_id: str | None = None, batch: int = 500, receive_maximum: int = 1000,
                 repair_after: float = 2.0, repair_every: float = 10.0) -> None:
        self.store = store
        self.batch = batch
        # A gap still open after repair_after seconds is asked for again (ResendRequest); reordering fills most
        # gaps sooner.  repair_every limits how often the same range is asked for.
        self.repair_after = repair_after
        self.repair_every = repair_every
        self._gap_seen: dict[tuple[str, int, int], float] = {}
        self._gap_asked: dict[tuple[str, int, int], float] = {}
        # a hall whose only missing seqs are settled ones (a restore's), at (max_seq, events) when last looked at:
        # its max_seq stays above its events for good, and a scan of its log every half second would be waste
        self._settled_at: dict[str, tuple[int, int, int | None]] = {}
        self.resend_requests = 0
        self._stop = threading.Event()
        self._repairer: threading.Thread | None = None
        self.counts = {"new": 0, "duplicate": 0, "rejected": 0, "state": 0}
        self._q: queue.Queue[InMessage | None] = queue.Queue()
        self.link = Link(
            settings, client_id=client_id or f"central-{uuid.uuid4().hex[:8]}", name="central",
            subscriptions=_filters(group),
            on_message=self._q.put, receive_maximum=receive_maximum,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="central-writer", daemon=True)
        self._thread.start()
        self._repairer = threading.Thread(target=self._repair_loop, name="central-repair", daemon=True)
        self._repairer.start()
        self.link.start()

    def stop(self) -> None:
        self._stop.set()
        if self._repairer is not None:
            self._repairer.join(5)
            self._repairer = None
        self.link.stop()
        self._q.put(None)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            msgs = [first]
            size = len(first.payload)
            # a transaction of at most `batch` messages or BATCH_TX_BYTES (event batches carry up to 100 events each)
            while len(msgs) < self.batch and size < BATCH_TX_BYTES:
                try:
                    m = self._q.get_nowait()
                except queue.Empty:
                    break
                if m is None:
                    self._q.put(None)
                    break
                msgs.append(m)
                size += len(m.payload)
            c = self._store(msgs)
            if c is None:  # stopping: not acknowledged, the broker redelivers them on the next session
                return
            for k, v in c.items():
                self.counts[k] += v
            for m in msgs:  # PUBACK only now: the batch is committed
                self.link.ack(m)

    def _store(self, msgs: list[InMessage]) -> dict[str, int] | None:
        """Store a batch, trying again while the database is unavailable (the store rejects bad messages itself).
        Giving up would leave the batch unacknowledged, and the broker sends nothing more once Receive Maximum
        messages are: the collector would stall until it reconnects."""
        delay = 0.1
        while True:
            try:
                return self.store.store_batch([(m.topic, m.payload) for m in msgs])
            except Exception:
                log.exception("central: storing a batch of %d failed; trying again in %.1f s", len(msgs), delay)
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, 5.0)

    # --- gap repair ---------------------------------------------------------------------------------------------
    def _repair_loop(self) -> None:
        while not self._stop.wait(min(0.5, self.repair_after / 2)):
            try:
                self.repair_gaps()
            except Exception:
                log.exception("central: gap repair failed")

    def repair_gaps(self, now: float | None = None) -> int:
        """Ask halls to publish again the ranges that have stayed missing; returns requests sent."""
        now = time.monotonic() if now is None else now
        # a hole below the highest seq held, or a tail the hall said it has (its presence's last_seq)
        halls = self.store.db.query("SELECT hall_id, max_seq, events, hall_seq FROM halls WHERE max_seq > events "
                                    "OR hall_seq > max_seq")
        open_now: set[tuple[str, int, int]] = set()
        sent = 0
        for hall_id, max_seq, events, hall_seq in halls:
            if self._settled_at.get(hall_id) == (max_seq, events, hall_seq):
                continue  # a restored hall's skipped seqs, nothing else, and nothing new since: no scan again
            gaps = self.store.gaps(hall_id).get(hall_id, [])
            if gaps:
                self._settled_at.pop(hall_id, None)
            else:
                self._settled_at[hall_id] = (max_seq, events, hall_seq)
            for lo, hi in gaps:
                key = (hall_id, lo, hi)
                open_now.add(key)
                first = self._gap_seen.setdefault(key, now)
                asked = self._gap_asked.get(key)
                if now - first < self.repair_after or (asked is not None and now - asked < self.repair_every):
                    continue
                msg = contract.ResendRequest(v=contract.SCHEMA_VERSION, message_id=uuid.uuid4().hex,
                                             hall_id=hall_id, from_seq=lo, to_seq=hi)
                if self.link.publish(contract.resend_topic(hall_id), contract.encode(msg), qos=contract.QOS) is None:
                    return sent
                log.warning("central: hall %s events #%d..#%d missing; asked for them again", hall_id, lo, hi)
                self._gap_asked[key] = now
                self.resend_requests += 1
                sent += 1
        for key in set(self._gap_seen) - open_now:  # filled
            self._gap_seen.pop(key, None)
            self._gap_asked.pop(key, None)
        return sent

    # --- central → hall ---------------------------------------------------------------------------------------
    def publish_case_update(self, hall_id: str, case_no: str, status: str, **fields: Any) -> str:
        msg = contract.CaseUpdate(v=contract.SCHEMA_VERSION, message_id=uuid.uuid4().hex, hall_id=hall_id,
                                  case_no=case_no, status=status, at_utc=datetime.now(UTC), **fields)  # type: ignore[arg-type]
        self._publish(contract.case_topic(hall_id, case_no), contract.encode(msg))
        return msg.message_id

    def publish_catalog(self, hall_id: str, items: list[contract.CatalogItem], removed: list[str] | None = None
                        ) -> str:
        msg = contract.CatalogUpdate(v=contract.SCHEMA_VERSION, message_id=uuid.uuid4().hex, hall_id=hall_id,
                                     at_utc=datetime.now(UTC), items=items, removed=removed or [])
        self._publish(contract.catalog_topic(hall_id), contract.encode(msg))
        return msg.message_id

    def _publish(self, topic: str, payload: bytes) -> None:
        if self.link.publish(topic, payload, qos=contract.QOS, retain=True) is None:
            raise ConnectionError("the collector is not connected to the broker")


def _filters(group: str | None) -> list[tuple[str, int]]:
    """Shared subscriptions spread the halls' events over collectors.  group=None: one collector with plain
    subscriptions — mosquitto 2.0 does not restore shared subscriptions from its persistence file after a restart
    (plain ones it does), so a single collector on a single mosquitto loses nothing that way; with shared
    subscriptions such a loss is repaired by ResendRequest, later and out of order.  Presence is always a plain
    subscription (contract.ALL_STATES_FILTER): retained messages reach no shared one."""
    events = contract.ALL_EVENTS_FILTER if group is None else contract.COLLECTOR_EVENT_FILTER.format(group=group)
    return [(events, contract.QOS), (contract.ALL_STATES_FILTER, contract.QOS)]


# --- the command line -------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hall central",
                                description="中心端参考采集器：接收各大厅事件，去重、统计、下发办件状态")
    sub = p.add_subparsers(dest="cmd", required=True)

    def broker(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=0)
        sp.add_argument("--username", default="")
        sp.add_argument("--password", default="")
        sp.add_argument("--tls", action="store_true")
        sp.add_argument("--ca-file", default="")
        sp.add_argument("--cert-file", default="")
        sp.add_argument("--key-file", default="")
        sp.add_argument("--client-id", default="")

    run = sub.add_parser("run", help="collect events until interrupted")
    broker(run)
    run.add_argument("--db", default="central.db", help="SQLite path or postgresql:// URL")
    run.add_argument("--group", default="collectors", help="shared subscription group ('' = plain subscription)")
    rep = sub.add_parser("report", help="print figures and gaps")
    rep.add_argument("--db", default="central.db")
    rep.add_argument("--by", choices=("hall", "region"), default="hall")
    rep.add_argument("--from", dest="day_from", default=None, help="first local day, YYYY-MM-DD")
    rep.add_argument("--to", dest="day_to", default=None, help="last local day, YYYY-MM-DD")
    rep.add_argument("--level", choices=tuple(rollup.LEVELS), default="hall",
                     help="roll up by 行政区划 prefix: province, city, county, township, or one row per hall")
    case = sub.add_parser("case", help="publish a case status update to a hall")
    broker(case)
    case.add_argument("hall_id")
    case.add_argument("case_no")
    case.add_argument("status", choices=sorted(contract.CASE_STATUS))
    case.add_argument("--case-type", type=int, choices=(1, 2, 9), default=None,
                      help="1 即办件, 2 承诺件 (needs --promise-days or --promised-at), 9 其他")
    case.add_argument("--promise-days", type=int, default=None, help="承诺办结时限, working days")
    case.add_argument("--legal-days", type=int, default=None, help="法定办结时限, working days")
    for opt, what in (("--promised-at", "承诺办结时间"), ("--accepted-at", "受理时间"), ("--received-at", "收件时间"),
                      ("--finished-at", "办结时间")):
        case.add_argument(opt, default=None, help=f"{what}, RFC 3339 (2026-11-24T09:00:00+08:00)")
    for opt in ("--item-name", "--impl-code", "--basic-code", "--accept-unit", "--acceptor", "--department",
                "--clerk", "--ticket-id"):
        case.add_argument(opt, default=None)
    case.add_argument("--window", type=int, default=None)
    case.add_argument("--version", type=int, default=None, help="central revision: an older one is ignored")
    case.add_argument("--reason", default=None)
    rat = sub.add_parser("ratings", help="export the halls' 好差评 evaluation records")
    rat.add_argument("--db", default="central.db")
    rat.add_argument("--from", dest="day_from", default=None, help="first local day, YYYY-MM-DD")
    rat.add_argument("--to", dest="day_to", default=None, help="last local day, YYYY-MM-DD")
    rat.add_argument("--format", choices=("json", "xlsx"), default="json")
    rat.add_argument("--form", choices=("gb39046", "provincial"), default="gb39046",
                     help="GB/T 39046 §6.6 (满意度 1 = 非常满意) or the provincial upload (satisfaction reversed, pf)")
    rat.add_argument("--out", default=None, help="file to write (required for xlsx; json goes to stdout without)")
    rat.add_argument("--tz", default="Asia/Shanghai", help="time zone of the provincial appraiseTime")
    cal = sub.add_parser("calendar", help="publish the province's holiday calendar to halls")
    broker(cal)
    cal.add_argument("action", choices=("publish",))
    cal.add_argument("file", help="calendar file: YYYY-MM-DD closed|open [name] lines and YYYY complete")
    cal.add_argument("--version", type=int, default=None, help="default: the time now, YYYYMMDDHHMMSS")
    cal.add_argument("--hall", action="append", default=[], help="a hall id (repeat); default: every hall in --db")
    cal.add_argument("--db", default="central.db")
    cat = sub.add_parser("catalog", help="publish a service catalogue (办事指南, businesses) to halls")
    broker(cat)
    cat.add_argument("action", choices=("publish",))
    cat.add_argument("file", help="JSON: {items: [...], removed: [...], businesses: [...]}")
    cat.add_argument("--hall", action="append", required=True, help="a hall id (repeat)")
    return p


def _settings(a: argparse.Namespace) -> SyncSettings:
    raw = {k: getattr(a, k) for k in ("host", "port", "username", "password", "tls", "ca_file", "cert_file",
                                      "key_file", "client_id") if getattr(a, k) not in ("", 0, False)}
    return parse_settings(raw, name="central")


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if a.cmd == "report":
        store = CentralStore(CentralDB(a.db))
        try:
            rows = rollup.report(store.db, a.level, a.day_from, a.day_to)
        except ValueError as e:
            print(f"参数错误：{e}", file=sys.stderr)
            return 2
        print(json.dumps({"halls": store.halls(), "figures": store.figures(a.by), "gaps": store.gaps(),
                          "report": {"level": a.level, "from": a.day_from, "to": a.day_to, "rows": rows}},
                         ensure_ascii=False, indent=2))
        return 0
    if a.cmd == "ratings":
        return _ratings(a)
    settings = _settings(a)
    if a.cmd in ("calendar", "catalog", "case"):
        return _publish(a, settings)
    store = CentralStore(CentralDB(a.db))
    collector = Collector(settings, store, group=a.group or None, client_id=a.client_id or None)
    collector.start()
    try:
        while True:
            time.sleep(10)
            log.info("central: %s, link %s", collector.counts, collector.link.state)
    except KeyboardInterrupt:
        pass
    finally:
        collector.stop()
    return 0


def _ratings(a: argparse.Namespace) -> int:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    store = CentralStore(CentralDB(a.db))
    try:
        records = rollup.evaluation_records(store.db, a.day_from, a.day_to)
        text = rollup.write_ratings(records, a.form, a.format, Path(a.out) if a.out else None, ZoneInfo(a.tz))
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    finally:
        store.db.close()
    if text is not None:
        print(text)
    else:
        print(f"{len(records)} 条评价记录 → {a.out}", file=sys.stderr)
    return 0


_CASE_EXTRA = ("promise_days", "legal_days", "promised_at", "accepted_at", "received_at", "finished_at",
               "item_name", "impl_code", "basic_code", "accept_unit", "acceptor", "department", "clerk", "ticket_id",
               "window", "version")


def _publish(a: argparse.Namespace, settings: SyncSettings) -> int:
    """calendar publish, catalog publish, and a case update with its promise and legal days: checked, then sent and
    acknowledged; prints one message id per hall."""
    from pathlib import Path

    from sync import publish

    try:
        if a.cmd == "case":
            msgs: list[Any] = [publish.case_update(a.hall_id, a.case_no, a.status, {
                k: getattr(a, k) for k in ("case_type", *_CASE_EXTRA, "reason")})]
            topics = [contract.case_topic(a.hall_id, a.case_no)]
        elif a.cmd == "catalog":
            msgs = [publish.catalog_update(Path(a.file), h) for h in a.hall]
            topics = [contract.catalog_topic(h) for h in a.hall]
        else:
            halls = a.hall or [h["hall_id"] for h in CentralStore(CentralDB(a.db)).halls()]
            if not halls:
                raise publish.PublishError("no hall to send it to: give --hall, or --db of a collector that knows some")
            version = a.version or int(datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
            msgs = [publish.calendar_update(Path(a.file), h, version) for h in halls]
            topics = [contract.calendar_topic(h) for h in halls]
    except (publish.PublishError, ContractError) as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    error = publish.send(settings, [(t, contract.encode(m)) for t, m in zip(topics, msgs, strict=True)],
                         client_id=a.client_id)
    if error:
        print(error, file=sys.stderr)
        return 1
    for m in msgs:
        print(m.message_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
