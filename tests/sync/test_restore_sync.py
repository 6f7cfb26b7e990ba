"""`hall restore` end to end: the restored hall numbers on after every seq the replaced store used, its outbox steps
over the skipped seqs, and central settles them (store.restored) — every event of both lives once, no gap asked for."""
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.backup import UNREAD_LOG_MARGIN, backup, restore
from kiosk.core.events import Event
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync import contract
from sync.central import CentralDB, CentralStore
from sync.link import ONLINE
from sync.outbox import AckWindow
from sync.service import HallSync
from tests.sync.conftest import Clock, drive, hall_config, wait_for
from tests.sync.test_outage import start_collector

TZ = ZoneInfo("Asia/Shanghai")


def envelope(hall: str, seq: int, kind: str = "ticket.issued", payload: dict[str, Any] | None = None
             ) -> tuple[str, bytes]:
    ev = Event(seq, uuid.uuid4().hex, kind, "2026-11-24T01:00:00+00:00", "2026-11-24", payload or {})
    return contract.event_topic(hall, kind), contract.encode(contract.event_message(ev, hall, "510104000", TZ))


def restored(seq: int, lo: int, hi: int, backup_last: int | None = None) -> tuple[str, bytes]:
    return envelope("h1", seq, contract.STORE_RESTORED, {
        "backup_last_seq": lo - 1 if backup_last is None else backup_last, "skipped_from": lo, "skipped_to": hi,
        "backup": "hall-20261124-023000.db", "restored_at": "2026-11-24T10:00:00+08:00"})


# --- the hall's outbox ------------------------------------------------------------------------------------------
def test_the_ack_window_steps_over_skipped_seqs() -> None:
    w = AckWindow(3)
    w.sent(4)
    w.sent(5)
    assert not w.skip(5)  # the next event is the expected one: nothing skipped
    assert not w.skip(1_000_006)  # 6..1,000,005 never exist; #4 and #5 still unacknowledged
    assert w.next == 1_000_006 and w.outstanding == 2  # skipped seqs take no room in the window
    w.sent(1_000_006)
    assert w.ack(4) and w.acked == 4
    assert w.ack(5) and w.acked == 1_000_005  # over #5 and the whole skipped run at once
    assert w.ack(1_000_006) and w.acked == 1_000_006 and w.outstanding == 0
    w2 = AckWindow(0)
    assert w2.skip(10) and w2.acked == 9  # nothing in flight before it: acknowledged at once
    w2.sent(10)
    w2.rewind()
    assert w2.next == 10 and w2.outstanding == 0


# --- the contract and central -------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    {"backup_last_seq": 4, "skipped_from": 5, "skipped_to": 4},  # from > to
    {"backup_last_seq": 4, "skipped_from": 5, "skipped_to": 20},  # up to the event's own seq
    {"backup_last_seq": 6, "skipped_from": 5, "skipped_to": 9},  # inside the backup
    {"backup_last_seq": 4, "skipped_from": "5", "skipped_to": 9},
    {"backup_last_seq": 4, "skipped_from": 5.0, "skipped_to": 9},
    {"backup_last_seq": 4, "skipped_to": 9},
    {"backup_last_seq": 4, "skipped_from": 0, "skipped_to": 9},
    {"backup_last_seq": 4, "skipped_from": 5, "skipped_to": 2 ** 63},
])
def test_a_bad_store_restored_is_rejected_alone(payload: dict[str, Any], tmp_path: Path) -> None:
    store = CentralStore(CentralDB(str(tmp_path / "central.db")))
    try:
        counts = store.store_batch([envelope("h1", s) for s in range(1, 5)] + [
            envelope("h1", 20, contract.STORE_RESTORED, payload), envelope("h1", 21)])
        assert counts["new"] == 5 and counts["rejected"] == 1
        error, = store.db.query("SELECT error FROM rejected")[0]
        assert contract.STORE_RESTORED in error or "payload" in error
        assert store.gaps() == {"h1": [(5, 20)]}  # settles nothing: still asked for
    finally:
        store.db.close()


def test_central_settles_the_skipped_seqs_and_keeps_what_it_holds(central_store: CentralStore) -> None:
    store = central_store
    store.store_batch([envelope("h1", s) for s in range(1, 13) if s != 3])  # the first life: 1..12, #3 late
    store.store_batch([restored(16, 9, 15), envelope("h1", 17)])  # restored from a backup at #8
    assert store.settled("h1") == [(9, 15)]
    assert store.gaps() == {"h1": [(3, 3)]}  # 13..15 never came, never will: not missing; #3 still is
    assert store.seqs("h1") == [1, 2, *range(4, 13), 16, 17]  # 9..12 of the first life stay
    store.store_batch([restored(18, 5, 17)])  # restored again, from an older backup
    store.store_batch([envelope("h1", 3)])
    assert store.settled("h1") == [(5, 17)] and store.gaps() == {}
    store.store_batch([restored(18, 5, 17)])  # a redelivery changes nothing
    assert store.halls()[0]["duplicates"] == 1 and store.gaps() == {}


# --- end to end ----------------------------------------------------------------------------------------------------
def ids_by_seq(db: Path | str) -> dict[int, str]:
    with closing(sqlite3.connect(db)) as conn:
        return {int(s): str(i) for s, i in conn.execute("SELECT seq, id FROM events")}


@pytest.mark.parametrize("log", ["readable", "lost"])
def test_a_restored_hall_loses_nothing_and_counts_nothing_twice(log: str, broker: Any, tmp_path: Path) -> None:
    """Events sent, the store restored from an earlier backup, the hall started again, new events: central ends
    with every event of both lives once, no seq conflict dropped one, and no gap is asked for.  `lost`: the replaced
    store's event log cannot be read, and central holds events past the acknowledgement it wrote down (the last
    PUBACKs never reached its meta): the restore sets seqs aside past that, and still nothing collides."""
    collector = start_collector(broker, tmp_path, group=None, repair_after=0.2, repair_every=0.2)
    db = tmp_path / "hall" / "hall.db"
    db.parent.mkdir()
    store = Store(db, synchronous="NORMAL")
    hall = Hall(hall_config("hall-a"), store, clock=Clock())
    sync = HallSync(hall, broker.settings())
    sync.start()
    later: Hall | None = None
    later_sync: HallSync | None = None
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        drive(hall, 40)
        wait_for(lambda: sync.status()["backlog"] == 0, what="first events acknowledged")
        copy = backup(db, tmp_path / "backups" / "hall-1.db")
        drive(hall, 60)  # the first life goes on after the backup, and central gets it all
        wait_for(lambda: sync.status()["backlog"] == 0, what="the first life acknowledged")
        used = hall.store.last_seq()
        first_life = ids_by_seq(db)
        sync.stop()
        store.close()
        if log == "lost":
            with closing(sqlite3.connect(db, isolation_level=None)) as conn:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'sync.acked_seq'", (str(used - 10),))
                conn.execute("ALTER TABLE events RENAME TO events_lost")  # its log unreadable, its meta not
            used = used - 10 + UNREAD_LOG_MARGIN  # central holds up to the old `used`: far below this

        done = restore(copy.path, db, datetime.now(UTC))
        assert done.skipped == (copy.last_seq + 1, used)
        clock = Clock()
        clock.t = hall.clock.t + timedelta(minutes=5)  # type: ignore[attr-defined]
        later = Hall(hall_config("hall-a"), Store(db, synchronous="NORMAL"), clock=clock)
        assert later.store.last_seq() == used + 1  # the store.restored event
        later_sync = HallSync(later, broker.settings())
        later_sync.start()
        wait_for(lambda: later_sync is not None and later_sync.link.state == ONLINE, what="restored hall online")
        drive(later, 50)
        last = later.store.last_seq()
        wait_for(lambda: later_sync is not None and later_sync.status()["backlog"] == 0, what="second life acked")
        second_life = ids_by_seq(db)
        assert min(s for s in second_life if s > copy.last_seq) == used + 1

        everything = {**first_life, **second_life}  # by seq: both lives, the second after every seq of the first
        assert len(everything) == len(first_life) + len(second_life) - copy.last_seq
        assert all(first_life[s] == second_life[s] for s in range(1, copy.last_seq + 1))  # the backup's: the same
        wait_for(lambda: collector.store.halls() and collector.store.halls()[0]["events"] == len(everything),
                 timeout=15, what="central has both lives")
        held = dict(collector.store.db.query("SELECT seq, id FROM hall_events WHERE hall_id = 'hall-a'"))
        assert held == everything  # every event of both lives, under its own seq, once
        assert collector.store.db.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM hall_events")[0] == \
            (len(everything), len(everything))
        assert collector.store.halls()[0]["max_seq"] == last
        assert collector.counts["rejected"] == 0
        assert collector.store.settled("hall-a") == [(copy.last_seq + 1, used)]

        # the gap is settled: never reported, never asked for, however long the collector looks
        time.sleep(1.0)
        assert collector.store.gaps() == {}
        assert collector.resend_requests == 0 and collector.repair_gaps(time.monotonic() + 60) == 0
        assert int(later.store.meta_get("sync.acked_seq") or 0) == last  # the outbox got past the skipped run

        # central asks for a range across the skipped seqs: the hall sends what it has, once, and stops
        out = later_sync.outbox
        before = out.republished
        assert out.resend(1, last) == last
        wait_for(lambda: out.republished - before == len(second_life) and not out._repairs, what="resend done")
        assert out.resend(copy.last_seq + 1, used) == used - copy.last_seq  # only seqs it never had
        wait_for(lambda: not out._repairs, what="an empty resend done")
        time.sleep(0.3)
        assert out.republished - before == len(second_life) and not out._repair_mids and not out.last_error
        wait_for(lambda: collector.store.halls()[0]["duplicates"] >= len(second_life), what="duplicates counted")
        assert dict(collector.store.db.query("SELECT seq, id FROM hall_events WHERE hall_id = 'hall-a'")) == held
        assert collector.store.gaps() == {}
        kinds = [json.loads(p) for (p,) in collector.store.db.query(
            "SELECT payload FROM hall_events WHERE kind = 'store.restored'")]
        assert [(k["skipped_from"], k["skipped_to"]) for k in kinds] == [(copy.last_seq + 1, used)]
    finally:
        if later_sync is not None:
            later_sync.stop()
        sync.stop()
        if later is not None:
            later.store.close()
        store.close()
        collector.stop()
