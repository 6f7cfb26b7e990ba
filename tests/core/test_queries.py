"""The queue's reads: each hot query runs on an index holding only what it reads (EXPLAIN QUERY PLAN, never a full
SCAN of tickets, events, ratings or counters), and the summaries they read agree with the tickets themselves."""
from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import queue as Q
from kiosk.core.hall import Hall
from tests.conftest import FakeClock, make_id

BIG_TABLES = ("tickets", "events", "ratings", "counters", "cases", "command_log")
FULL_SCAN = re.compile(rf"^SCAN ({'|'.join(BIG_TABLES)})\b")


@contextmanager
def traced(hall: Hall) -> Iterator[list[str]]:
    """Every statement the hall's connection runs meanwhile, with its bound values written in."""
    seen: list[str] = []
    conn = hall.store.conn()
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def plans(hall: Hall, statements: list[str]) -> dict[str, list[str]]:
    """statement → its plan lines, for the reads and writes (not BEGIN/COMMIT, nor a trigger's own lines)."""
    conn = hall.store.conn()
    out = {}
    for sql in statements:
        if not re.match(r"\s*(SELECT|UPDATE|INSERT|DELETE|WITH)\b", sql, re.I):
            continue
        out[sql] = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return out


def sign_in_all(hall: Hall) -> Hall:
    """A clerk at every window (window commands need one)."""
    for w in hall.config.windows:
        hall.sign_in(w.number, f"c{w.number:02d}", f"测试员{w.number}")
    return hall


def serve_and_call(hall: Hall, window: int) -> dict[str, Any]:
    """呼叫 at a window whose citizen came: the current ticket (if only called) is started first."""
    cur = hall.window(window)["current"]
    if cur is not None and cur["status"] == "called":
        hall.start_service(window)
    return hall.call_next(window).value


def busy_hall(hall: Hall, clock: FakeClock) -> None:
    """A day with every kind of queue entry: walk-ins, green channel, IDs, a transfer to a business and one to a
    window, a held ticket, calls and recalls."""
    sign_in_all(hall)
    for i in range(12):
        hall.issue_ticket("tax", priority="green" if i % 5 == 0 else "normal")
        hall.issue_ticket("social", id_number=make_id(i) if i % 3 == 0 else None)
        clock.advance(seconds=30)
    hall.call_next(1)
    hall.recall(1)
    hall.transfer(1, to_business="tax")
    hall.call_next(2)
    hall.transfer(2, to_window=9)
    hall.call_next(2)
    hall.hold(2)
    hall.call_next(2)
    hall.start_service(2)
    hall.call_next(1)


HOT: list[tuple[str, Callable[[Hall], Any]]] = [
    ("issue", lambda h: h.issue_ticket("tax")),
    ("issue with an ID", lambda h: h.issue_ticket("social", id_number=make_id(901))),
    ("green issue", lambda h: h.issue_ticket("tax", priority="green")),
    ("call next", lambda h: h.call_next(2)),
    ("call next, combined window", lambda h: h.call_next(9)),
    ("recall", lambda h: h.recall(1)),
    ("start and call a number", lambda h: (h.start_service(1),
                                           h.call_ticket(1, h.waiting(business="social")[-1]["number"]))),
    ("waiting counts", lambda h: h.waiting_counts()),
    ("recent calls", lambda h: h.recent_calls(8)),
    ("ahead of", lambda h: [h.ahead_of(t["id"]) for t in h.waiting()]),
    ("window's queue", lambda h: h.waiting(window=9)),
    ("business queue", lambda h: h.waiting(business="tax")),
    ("held", lambda h: h.held(2)),
    ("find a number", lambda h: h.find_ticket("a001")),
    ("windows", lambda h: h.windows()),
    ("one window", lambda h: h.window(2)),
    ("events after (outbox, LAN)", lambda h: h.events_after(5, 100)),
    ("counts", lambda h: h.counts()),
    ("rating summary", lambda h: (h.rating_summary(), h.bad_ratings())),
]


@pytest.mark.parametrize("name,op", HOT, ids=[n for n, _ in HOT])
def test_hot_queries_use_indexes(hall: Hall, clock: FakeClock, name: str, op: Callable[[Hall], Any]) -> None:
    busy_hall(hall, clock)
    with traced(hall) as statements:
        op(hall)
    found = plans(hall, statements)
    assert found, f"{name}: no statement traced"
    scans = {sql: [p for p in lines if FULL_SCAN.match(p)] for sql, lines in found.items()}
    assert not {sql: s for sql, s in scans.items() if s}, f"{name} reads a whole table"


def test_the_heartbeat_tick_reads_nothing_while_the_day_is_open(hall: Hall, clock: FakeClock) -> None:
    """Every screen ticks every few seconds and the server every second: once the day is known open, no SQL."""
    busy_hall(hall, clock)
    with traced(hall) as statements:
        assert hall.tick() == []
        hall.issue_ticket("tax")
    assert not [s for s in statements if "business_date" in s]


def test_the_day_rollover_uses_indexes(hall: Hall, clock: FakeClock) -> None:
    busy_hall(hall, clock)
    clock.set_local(2026, 11, 25, 8, 0)
    with traced(hall) as statements:
        events = hall.tick()
    assert [e.kind for e in events] == [ev.DAY_CLOSED]
    found = plans(hall, statements)
    # the previous day's tickets are read once as a safety net (by their date's index range), nothing older
    assert all(not FULL_SCAN.match(p) for lines in found.values() for p in lines), found
    assert any("UPDATE tickets SET status = 'expired'" in sql for sql in found)


def test_partial_indexes_are_what_the_queries_name() -> None:
    """A partial index serves only a query repeating its WHERE terms: the terms kiosk.core.queue spells must be
    the ones the migration declares."""
    from kiosk.store import Store

    conn = Store(":memory:").conn()
    declared = {r[0]: r[1] for r in conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' "
                                                  "AND sql LIKE '%WHERE%'")}
    assert Q.WAITING in declared["tickets_waiting"]
    assert Q.HELD in declared["tickets_held"]
    assert Q.CALLS in declared["events_calls"]


# --- the summaries agree with the tickets --------------------------------------------------------------------
def brute_counts(hall: Hall) -> dict[str, tuple[int, str]]:
    rows = hall.store.conn().execute(
        "SELECT business, COUNT(*), MIN(issued_at) FROM tickets WHERE status = 'waiting' AND local_date = ? "
        "GROUP BY business", (hall.today(),)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def brute_ahead(hall: Hall, t: dict[str, Any]) -> int:
    """'Ahead' by its definition: the waiting tickets call-next takes first in this ticket's own queue."""
    row = hall.store.conn().execute("SELECT * FROM tickets WHERE id = ?", (t["id"],)).fetchone()
    same = "target_window = ?" if row["target_window"] else "business = ? AND target_window IS NULL"
    key = row["target_window"] or row["business"]
    return int(hall.store.conn().execute(
        f"SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND local_date = ? AND {same} "
        "AND (rank < ? OR (rank = ? AND queue_pos < ?))",
        (row["local_date"], key, row["rank"], row["rank"], row["queue_pos"])).fetchone()[0])


def brute_recent(hall: Hall, limit: int) -> list[tuple[str, int]]:
    """The board's latest calls by reading the whole log: newest first, one line per ticket."""
    seen: set[str] = set()
    out = []
    for r in hall.store.conn().execute(
            "SELECT payload FROM events WHERE kind IN ('ticket.called', 'ticket.recalled') AND local_date = ? "
            "ORDER BY seq DESC", (hall.today(),)):
        p = json.loads(r[0])
        if p["ticket"]["id"] not in seen:
            seen.add(p["ticket"]["id"])
            out.append((p["ticket"]["number"], p["window"]))
    return out[:limit]


def random_day(hall: Hall, clock: FakeClock, rnd: random.Random, steps: int) -> Iterator[None]:
    """Random commands from every window, including transfers, holds, voids and the clock moving on."""
    businesses = ["social", "tax", "housing"]
    for i in range(steps):
        action = rnd.random()
        try:
            if action < 0.4:
                b = rnd.choice(businesses)
                hall.issue_ticket(b, priority="green" if b != "housing" and rnd.random() < 0.2 else "normal",
                                  id_number=make_id(i) if b == "housing" else None)
            elif action < 0.6:
                serve_and_call(hall, rnd.choice([1, 2, 3, 9]))
            elif action < 0.68:
                w = rnd.choice([1, 2, 3, 9])
                if rnd.random() < 0.5:
                    hall.transfer(w, to_business=rnd.choice(businesses))
                else:
                    hall.transfer(w, to_window=rnd.choice([2, 9]))
            elif action < 0.74:
                hall.hold(rnd.choice([1, 2, 3, 9]))
            elif action < 0.8:
                waiting = hall.waiting()
                if waiting:
                    hall.void(rnd.choice(waiting)["number"], "test")
            elif action < 0.9:
                hall.recall(rnd.choice([1, 2, 3, 9]))
            else:
                hall.finish_service(rnd.choice([1, 2, 3, 9]))
        except E.HallError:
            pass
        clock.advance(seconds=rnd.randint(1, 90))
        yield


def test_waiting_counts_and_ahead_agree_with_the_tickets(hall: Hall, clock: FakeClock) -> None:
    sign_in_all(hall)
    rnd = random.Random(7)
    for step, _ in enumerate(random_day(hall, clock, rnd, 400)):
        counts = {c["business"]: c for c in hall.waiting_counts()}
        brute = brute_counts(hall)
        now = clock()
        for code, c in counts.items():
            n, oldest = brute.get(code, (0, None))
            assert c["waiting"] == n, (step, code)
            expect = round((now - datetime.fromisoformat(oldest)).total_seconds(), 1) if oldest else 0
            assert c["longest_wait_s"] == expect, (step, code)
        if step % 20 == 0:
            for t in hall.waiting():
                assert hall.ahead_of(t["id"]) == brute_ahead(hall, t), (step, t["number"])
    assert sum(c["waiting"] for c in hall.waiting_counts()) > 0  # the day ended with a queue to compare


def test_issue_says_how_many_are_ahead_as_the_queue_does(hall: Hall, clock: FakeClock) -> None:
    sign_in_all(hall)
    rnd = random.Random(11)
    for _ in random_day(hall, clock, rnd, 150):
        pass
    for prio in ("normal", "green", "normal"):
        r = hall.issue_ticket("tax", priority=prio)
        assert r.value.ahead == brute_ahead(hall, r.value.ticket) == r.events[-1].payload["ahead"]


def test_recent_calls_match_the_log(hall: Hall, clock: FakeClock) -> None:
    sign_in_all(hall)
    for _ in range(30):
        hall.issue_ticket("tax")
    for i in range(20):
        serve_and_call(hall, 2 if i % 2 else 9)
        for _ in range(3 if i < 5 else 0):  # recalls repeat a ticket: more log lines than board lines
            hall.recall(2 if i % 2 else 9)
        clock.advance(seconds=20)
    for limit in (1, 3, 8, 25):
        got = [(c["number"], c["window"]) for c in hall.recent_calls(limit)]
        assert got == brute_recent(hall, limit)
    clock.set_local(2026, 11, 25, 9, 0)
    assert hall.recent_calls(8) == []  # a new day starts with an empty board


def test_a_call_carries_the_ticket_as_stored(hall: Hall, clock: FakeClock) -> None:
    """call-next builds the called and the finished ticket from the rows it updated instead of reading them
    again: what it announces must be what the store holds."""
    sign_in_all(hall)
    for _ in range(3):
        hall.issue_ticket("tax")
    first = hall.call_next(2)
    hall.start_service(2)
    clock.advance(minutes=4)
    second = hall.call_next(2)
    called = next(e for e in second.events if e.kind == ev.TICKET_CALLED).payload["ticket"]
    finished = next(e for e in second.events if e.kind == ev.SERVICE_FINISHED).payload["ticket"]
    assert called == hall.ticket(called["id"]) == second.value
    assert finished == hall.ticket(first.value["id"])
    assert finished["status"] == "done" and called["status"] == "called"


def test_one_window_is_read_alone(hall: Hall, clock: FakeClock) -> None:
    """A caller's refresh reads its own window, not every window's row and ticket."""
    busy_hall(hall, clock)
    with traced(hall) as statements:
        one = hall.window(2)
    assert one == next(w for w in hall.windows() if w["number"] == 2)
    assert len([s for s in statements if s.startswith("SELECT")]) <= 2


def test_find_ticket_by_number(hall: Hall) -> None:
    t = hall.issue_ticket("tax").value.ticket
    assert hall.find_ticket(t["number"].lower())["id"] == t["id"]
    assert hall.find_ticket(" c001 ")["id"] == t["id"]
    for bad in ("", "C", "CX1", "C999", "Z001"):
        assert hall.find_ticket(bad) is None


def test_migration_fills_the_counts_of_an_existing_store(tmp_path: Any, config: Any, clock: FakeClock) -> None:
    """A store written before the waiting counts existed gets them from its tickets when it is opened."""
    from kiosk.store import MIGRATIONS, Store

    s = Store(tmp_path / "h.db")
    hall = sign_in_all(Hall(config, s, clock=clock))
    for _ in range(4):
        hall.issue_ticket("tax")
    hall.issue_ticket("tax", priority="green")
    hall.call_next(2)
    conn = s.conn()
    conn.execute("UPDATE counters SET waiting_normal = 0, waiting_green = 0")  # as before 040: no counts
    conn.execute("DELETE FROM _migrations WHERE name = '040_queue_summary'")
    for trig in ("tickets_waiting_insert", "tickets_waiting_delete", "tickets_waiting_update"):
        conn.execute(f"DROP TRIGGER {trig}")
    for idx in ("tickets_waiting", "tickets_targeted", "tickets_held", "tickets_idhash", "events_calls",
                "ratings_day"):
        conn.execute(f"DROP INDEX {idx}")
    conn.execute("CREATE INDEX tickets_idhash ON tickets(id_hash, business, status)")
    for col in ("waiting_transfer", "waiting_appointment", "waiting_green", "waiting_normal", "waiting_window"):
        conn.execute(f"ALTER TABLE counters DROP COLUMN {col}")
    s.close()
    reopened = Store(tmp_path / "h.db")
    assert "040_queue_summary" in reopened.migrations() and len(reopened.migrations()) == len(MIGRATIONS)
    hall = Hall(config, reopened, clock=clock)
    assert {c["business"]: c["waiting"] for c in hall.waiting_counts()}["tax"] == 4
    reopened.close()


def test_expired_numbers_round_trip() -> None:
    rows = [{"status": "waiting", "prefix": "A", "seq": s} for s in (3, 1, 2, 7, 9, 8, 12)]
    rows += [{"status": "held", "prefix": "C", "seq": 5}]
    packed = Q.expired_numbers(rows)
    assert packed == {"held": {"C": "5"}, "waiting": {"A": "1-3,7-9,12"}}
    assert Q.expand_ranges(packed["waiting"]["A"]) == [1, 2, 3, 7, 8, 9, 12]
    assert Q.number_ranges([]) == "" and Q.expand_ranges("") == []
    for bad in ("0", "3-1", "a", "1-", "-2"):
        with pytest.raises(ValueError):
            Q.expand_ranges(bad)


def test_a_trace_sees_bound_values() -> None:
    """The plan test relies on the trace giving statements with their values written in."""
    c = sqlite3.connect(":memory:")
    seen: list[str] = []
    c.set_trace_callback(seen.append)
    c.execute("SELECT ?", ("x'y",))
    assert seen == ["SELECT 'x''y'"]
