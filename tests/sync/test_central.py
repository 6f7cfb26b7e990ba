"""The collector: dedup by (hall, seq) against duplicates and reordering, gaps, figures — on SQLite and PostgreSQL;
and central → hall publishing through the broker (applied once, even when the retained message is replayed)."""
from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk.core.events import Event
from sync import catalog, contract
from sync.central import CentralDB, CentralStore
from sync.link import ONLINE
from sync.service import HallSync
from tests.sync.conftest import drive, wait_for
from tests.sync.test_outage import start_collector

TZ = ZoneInfo("Asia/Shanghai")


def envelope(hall: str, seq: int, kind: str = "ticket.issued", payload: dict[str, Any] | None = None,
             region: str = "510104000") -> tuple[str, bytes]:
    ev = Event(seq, uuid.uuid4().hex, kind, "2026-11-24T01:00:00+00:00", "2026-11-24", payload or {})
    return contract.event_topic(hall, kind), contract.encode(contract.event_message(ev, hall, region, TZ))


def test_duplicates_and_reordering_are_harmless(central_store: CentralStore) -> None:
    msgs = [envelope("h1", s) for s in range(1, 201)] + [envelope("h2", s) for s in range(1, 51)]
    rng = random.Random(3)
    delivered = msgs + rng.sample(msgs, 80)  # redeliveries
    rng.shuffle(delivered)
    held_back = [m for m in delivered if m[0].startswith("hall/h1/") and b'"seq":77,' in m[1]]
    first = [m for m in delivered if m not in held_back]
    counts = central_store.store_batch(first[:100])
    counts2 = central_store.store_batch(first[100:])
    assert central_store.gaps() == {"h1": [(77, 77)]}  # noticed and reported while missing
    central_store.store_batch(held_back)
    assert central_store.gaps() == {}
    assert central_store.seqs("h1") == list(range(1, 201))
    assert central_store.seqs("h2") == list(range(1, 51))
    halls = {h["hall_id"]: h for h in central_store.halls()}
    assert halls["h1"]["events"] == 200 and halls["h2"]["events"] == 50
    assert counts["new"] + counts2["new"] == 249  # every distinct event once, except the one held back
    assert sum(h["duplicates"] for h in halls.values()) == 80  # each redelivery counted as a duplicate only


def test_rejects_mismatched_topic_and_garbage(central_store: CentralStore) -> None:
    topic, payload = envelope("h1", 1)
    counts = central_store.store_batch([
        ("hall/h2/event/ticket.issued", payload),  # hall h2 publishing h1's event
        (topic, b"\xff\xfe garbage"),
        ("hall/h1/state", b'{"v":1,"hall_id":"h1","state":"maybe"}'),
        (topic, payload),
    ])
    assert counts == {"new": 1, "duplicate": 0, "rejected": 3, "state": 0}
    assert len(central_store.db.query("SELECT error FROM rejected")) == 3


def test_figures_per_hall_and_region(central_store: CentralStore) -> None:
    msgs = []
    levels = ["very_satisfied", "satisfied", "basic", "dissatisfied"]
    for hall, region in (("h1", "510104000"), ("h2", "510104000"), ("h3", "510105000")):
        seq = 0
        for i in range(4):
            for kind, payload in (("ticket.issued", {}), ("service.finished", {"wait_s": 60.0 * (i + 1)}),
                                  ("rating.recorded", {"rating": {"level": levels[i]}})):
                seq += 1
                msgs.append(envelope(hall, seq, kind, payload, region))
    central_store.store_batch(msgs)
    by_hall = {f["hall"]: f for f in central_store.figures("hall")}
    assert by_hall["h1"]["tickets"] == 4 and by_hall["h1"]["avg_wait_s"] == 150.0
    assert by_hall["h1"]["ratings"]["dissatisfied"] == 1 and by_hall["h1"]["satisfaction_rate"] == 0.75
    by_region = {f["region"]: f for f in central_store.figures("region")}
    assert by_region["510104000"]["tickets"] == 8 and by_region["510104000"]["rated"] == 8
    assert by_region["510105000"]["ratings"]["very_satisfied"] == 1


def test_hall_events_and_presence_reach_postgres(broker: Any, make_hall: Any, pg_store: CentralStore) -> None:
    from sync.central import Collector

    store = pg_store
    collector = Collector(broker.settings(), store, client_id="central-pg")
    collector.start()
    hall = make_hall("hall-pg")
    sync = HallSync(hall, broker.settings())
    try:
        wait_for(lambda: collector.link.state == ONLINE, what="collector online")
        sync.start()
        drive(hall, 300)
        last = hall.store.last_seq()
        wait_for(lambda: store.seqs("hall-pg") == list(range(1, last + 1)), timeout=30, what="all events in PG")
        wait_for(lambda: store.halls()[0]["state"] == "online", what="presence online")
        sync.link.stop(graceful=False)
    finally:
        sync.stop()
        collector.stop()


def test_central_updates_reach_the_hall_once(broker: Any, make_hall: Any, tmp_path: Path) -> None:
    collector = start_collector(broker, tmp_path)
    hall = make_hall("hall-a")
    item = contract.CatalogItem(code="510104-SB-001", business="social", name="城乡居民养老保险参保登记", version=3,
                                materials=[contract.Material(name="居民身份证", original=True)], promised_days=1)
    # published before the hall connects: retained, so it arrives when the hall comes up
    collector.publish_catalog("hall-a", [item])
    collector.publish_case_update("hall-a", "SB2026112400001", "accepted", case_type=2, promise_days=5,
                                  legal_days=20, item_name="城乡居民养老保险参保登记")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        wait_for(lambda: catalog.catalog_for(hall, "social") is not None, what="catalogue applied")
        wait_for(lambda: any(e.kind == "case.status_changed" for e in hall.store.events_after(0, 10000)),
                 what="case applied")
        # the hall's own event about it travels back to the collector
        wait_for(lambda: collector.store.db.query(
            "SELECT COUNT(*) FROM hall_events WHERE kind = 'catalog.updated'")[0][0] == 1, what="event returned")
        applied = sync.inbox.applied
        seq = hall.store.last_seq()
        # reconnect: the retained messages are delivered again and change nothing
        sync.stop()
        sync = HallSync(hall, broker.settings())
        sync.start()
        wait_for(lambda: sync.inbox.applied >= 2, what="retained replay handled")
        sync.inbox.join()
        assert hall.store.last_seq() == seq
        assert applied == 2 and sync.status()["rejected"] == 0
    finally:
        sync.stop()
        collector.stop()


def test_malformed_over_the_broker_lands_in_dead_letters(broker: Any, make_hall: Any) -> None:
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue", protocol=MQTTProtocolVersion.MQTTv5)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        for payload in (b"\x00\x01", b'{"v":1}', b"[]" * 10):
            c.publish("central/hall-a/catalog", payload, qos=1).wait_for_publish(5)
        c.publish("central/hall-a/case/C1", b"{}", qos=1).wait_for_publish(5)
        c.loop_stop()
        c.disconnect()
        wait_for(lambda: sync.inbox.rejected == 4, what="four rejections")
        n = hall.store.conn().execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        assert n == 4 and sync.link.state == ONLINE
        drive(hall, 10)  # the hall is unaffected
        wait_for(lambda: sync.status()["backlog"] == 0, what="still publishing")
    finally:
        sync.stop()


def test_lost_events_are_asked_for_again(broker: Any, make_hall: Any, tmp_path: Path) -> None:
    """Events the broker acknowledged but lost: the collector's gap repair gets them published again."""
    collector = start_collector(broker, tmp_path, repair_after=0.2)
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        drive(hall, 60)
        wait_for(lambda: collector.store.seqs("hall-a") == list(range(1, 61)), what="all stored")
        with collector.store.db.tx() as cur:  # as if the broker had dropped #10..#20 on the way
            cur.execute("DELETE FROM hall_events WHERE hall_id = 'hall-a' AND seq BETWEEN 10 AND 20")
            cur.execute("UPDATE halls SET events = events - 11 WHERE hall_id = 'hall-a'")
        assert collector.store.gaps() == {"hall-a": [(10, 20)]}
        wait_for(lambda: collector.store.gaps() == {}, what="gap repaired")
        assert collector.store.seqs("hall-a") == list(range(1, 61))
        assert collector.resend_requests >= 1 and sync.status()["republished"] >= 11
        assert sync.status()["acked_seq"] == 60  # the hall's own progress did not move back
        # a resend for another hall or a nonsense range is a dead letter, not a crash
        sync.inbox.handle(contract.resend_topic("hall-a"),
                          b'{"v":1,"message_id":"rs-00000001","hall_id":"hall-a","from_seq":9,"to_seq":3}')
        assert "empty" in sync.inbox.last_error
    finally:
        sync.stop()
        collector.stop()


def test_central_case_command_reaches_the_hall(broker: Any, make_hall: Any, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    from sync import central

    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        rc = central.main(["case", "hall-a", "CASE-CLI-1", "accepted", "--case-type", "1", "--port",
                           str(broker.port)])
        assert rc == 0
        message_id = capsys.readouterr().out.strip().splitlines()[-1]
        wait_for(lambda: sync.inbox.applied == 1, what="case applied")
        row = hall.store.conn().execute("SELECT key FROM command_log WHERE key LIKE ?", (f"%{message_id}",)
                                        ).fetchone()
        assert row is not None  # applied under the message id: a redelivery changes nothing
    finally:
        sync.stop()


def test_duplicated_and_reordered_through_the_broker(broker: Any, tmp_path: Path) -> None:
    collector = start_collector(broker, tmp_path, repair_after=60)  # no repair: the redeliveries fill the holes
    msgs = [envelope("h9", s) for s in range(1, 301)]
    rng = random.Random(11)
    delivered = msgs + rng.sample(msgs, 100)
    rng.shuffle(delivered)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="replayer", protocol=MQTTProtocolVersion.MQTTv5)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        infos = [c.publish(t, p, qos=1) for t, p in delivered]
        for info in infos:
            info.wait_for_publish(10)
        wait_for(lambda: collector.counts["new"] + collector.counts["duplicate"] == 400, what="all delivered")
        assert collector.store.seqs("h9") == list(range(1, 301))
        assert collector.counts == {"new": 300, "duplicate": 100, "rejected": 0, "state": 0}
        assert collector.store.gaps() == {}
    finally:
        c.loop_stop()
        c.disconnect()
        collector.stop()


def _bad_event(hall: str, **fields: Any) -> tuple[str, bytes]:
    """A hall event with some fields replaced (json, not the contract's encoder: it may break the contract)."""
    topic, payload = envelope(hall, 1, "service.finished", {"wait_s": 12.0})
    ev = json.loads(payload)
    ev.update(fields)
    return topic, json.dumps(ev).encode()


def test_one_bad_message_never_holds_back_its_batch(central_store: CentralStore) -> None:
    """Each payload that once rolled back a whole batch (and stayed unacknowledged) is now rejected alone."""
    topic, _ = envelope("bad", 1, "service.finished")
    deep = b'{"v":1,"payload":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    bad = [
        _bad_event("bad", seq=2**63),  # past SQLite INTEGER / PostgreSQL BIGINT
        _bad_event("bad", payload={"wait_s": 10**400}),  # float() of it overflows
        _bad_event("bad", payload={"wait_s": 2**62}),  # a BIGINT, but no wait
        (topic, deep),  # RecursionError in the decoder
        _bad_event("bad", id="e\x00"),  # PostgreSQL text refuses NUL
        _bad_event("bad", kind="rating.recorded", payload={"rating": {"level": "a\x00"}}),
        (topic, b'{"v":1,"hall_id":"bad","seq":"\x00\xff\xfe'),  # truncated, not UTF-8, a raw NUL
        (topic, b"x" * (contract.MAX_INBOUND_BYTES + 1)),
        ("hall/bad/state", b'{"v":1,"hall_id":"bad","state":"online","name":"a\\u0000b"}'),
    ]
    good = [envelope("h1", s, "service.finished", {"wait_s": float(s), "note": "含\x00NUL"}) for s in range(1, 11)]
    batch = [m for pair in zip(good, bad, strict=False) for m in pair] + good[len(bad):]
    counts = central_store.store_batch(batch)
    assert counts == {"new": 10, "duplicate": 0, "rejected": len(bad), "state": 0}
    assert central_store.seqs("h1") == list(range(1, 11))
    assert [h["hall_id"] for h in central_store.halls()] == ["h1"]
    rows = central_store.db.query("SELECT topic, payload, error FROM rejected")
    errors = [r[2] for r in rows]
    for fragment in ("<= 9223372036854775807 - at `$.seq`", "<= 9223372036854775807 - at `$.payload",
                     "service.finished payload: Expected `float` <=", "nested too deeply", "at `$.id`",
                     "rating.recorded payload", "malformed", "too big", "at `$.name`"):
        assert sum(fragment in e for e in errors) == 1, (fragment, errors)
    raw = next(r[1] for r in rows if "malformed" in r[2])
    assert raw == '{"v":1,"hall_id":"bad","seq":"\\x00\\xff\\xfe'  # kept as text both databases take
    assert central_store.figures()[0]["avg_wait_s"] == 5.5


def test_a_row_the_database_refuses_is_rejected_alone(central_store: CentralStore) -> None:
    """A constraint the contract does not know of (here a CHECK or trigger refusing one id): the batch is stored
    again message by message, and only that one is rejected."""
    if central_store.db.is_pg:
        ddl = "ALTER TABLE hall_events ADD CONSTRAINT no_poison CHECK (id <> 'poison')"
    else:
        ddl = ("CREATE TRIGGER no_poison BEFORE INSERT ON hall_events WHEN NEW.id = 'poison' "
               "BEGIN SELECT RAISE(ABORT, 'poison refused'); END")
    with central_store.db.tx() as cur:
        cur.execute(ddl)
    msgs = [envelope("h1", s) for s in range(1, 6)]
    ev = json.loads(msgs[2][1])
    ev["id"] = "poison"
    msgs[2] = (msgs[2][0], json.dumps(ev).encode())
    msgs.append(("hall/h1/event/ticket.issued", b"not json"))
    counts = central_store.store_batch(msgs)
    assert counts == {"new": 4, "duplicate": 0, "rejected": 2, "state": 0}
    assert central_store.seqs("h1") == [1, 2, 4, 5]
    errors = sorted(r[0] for r in central_store.db.query("SELECT error FROM rejected"))
    assert "malformed" in errors[0] and errors[1].startswith("the database refused it: ")
    assert central_store.halls()[0]["events"] == 4


def test_collector_keeps_its_batch_while_the_database_is_unavailable(broker: Any, tmp_path: Path) -> None:
    """The events table vanishes (as a database that is down would refuse every write): nothing is acknowledged
    or dropped; once it is back, the same batch is stored and acknowledged."""
    collector = start_collector(broker, tmp_path, repair_after=60)
    db_path = str(tmp_path / "central.db")
    other = sqlite3.connect(db_path)
    other.execute("DROP TABLE hall_events")
    other.close()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hall-x", protocol=MQTTProtocolVersion.MQTTv5)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        for t, p in [envelope("h7", s) for s in range(1, 21)]:
            c.publish(t, p, qos=1).wait_for_publish(5)
        time.sleep(1.0)  # several attempts fail meanwhile
        assert collector.counts["new"] == 0
        CentralDB(db_path).close()  # the table is back
        wait_for(lambda: collector.counts["new"] == 20, what="the kept batch stored")
        assert collector.store.seqs("h7") == list(range(1, 21)) and collector.counts["rejected"] == 0
    finally:
        c.loop_stop()
        c.disconnect()
        collector.stop()


def test_a_rejected_message_keeps_no_clear_personal_data(central_store: CentralStore) -> None:
    topic, _ = envelope("h9", 1, "ticket.issued")
    clear = {"applicant_id": "11010519491231002X", "applicant_name": "张小三", "phone": "13812345678"}
    body = json.dumps({"v": 1, "seq": "not a number", **clear}, ensure_ascii=False).encode()
    counts = central_store.store_batch([(topic, body), (topic, b"id 11010519491231002X tel 13812345678 \xff")])
    assert counts["rejected"] == 2
    kept = " ".join(" ".join(r) for r in central_store.db.query("SELECT topic, payload, error FROM rejected"))
    for value in ("11010519491231002X", "张小三", "13812345678"):
        assert value not in kept
    assert "1101**********002X" in kept and "138****5678" in kept  # masked, still useful for diagnosis


def test_the_collector_connects_again_after_postgresql_drops_it(postgres_url: str) -> None:
    import psycopg

    db = CentralDB(postgres_url)
    store = CentralStore(db)
    try:
        assert store.store_batch([envelope("pg-drop", 1)])["new"] == 1
        pid = db.query("SELECT pg_backend_pid()")[0][0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a server restart would
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(db.unavailable):  # this batch stays unacknowledged, to be tried again
            store.store_batch([envelope("pg-drop", 2)])
        assert store.store_batch([envelope("pg-drop", 2)])["new"] == 1
        assert store.seqs("pg-drop") == [1, 2]
    finally:
        db.close()


def test_who_and_where_are_stored(central_store: CentralStore) -> None:
    """Each event's actor and terminal are kept with it (NULL for a hall that did not send them)."""
    def said(seq: int, actor: str, terminal: str) -> tuple[str, bytes]:
        ev = Event(seq, uuid.uuid4().hex, "ticket.voided", "2026-11-24T01:00:00+00:00", "2026-11-24",
                   {"reason": "重复取号"}, actor, terminal)
        return contract.event_topic("h1", ev.kind), contract.encode(contract.event_message(ev, "h1", "510104000", TZ))

    counts = central_store.store_batch([said(1, "staff:0007", "dashboard"), said(2, "citizen", "kiosk"),
                                        envelope("h1", 3)])
    assert counts["new"] == 3 and counts["rejected"] == 0
    assert central_store.db.query("SELECT seq, actor, terminal FROM hall_events ORDER BY seq") == [
        (1, "staff:0007", "dashboard"), (2, "citizen", "kiosk"), (3, None, None)]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_collector_from_before_gains_the_columns(engine: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    """A database made before actor/terminal were stored keeps its events and takes the new ones with both."""
    old = ("CREATE TABLE hall_events (hall_id TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, "
           "kind TEXT NOT NULL, region TEXT NOT NULL, at_utc TEXT NOT NULL, local_date TEXT NOT NULL, "
           "wait_s DOUBLE PRECISION, level TEXT, payload TEXT NOT NULL, received_at TEXT NOT NULL, "
           "arrival BIGINT NOT NULL, PRIMARY KEY (hall_id, seq))")
    row = ("h0", 1, "e1", "ticket.issued", "510104000", "2026-11-24T01:00:00+00:00", "2026-11-24", None, None, "{}",
           "2026-11-24T01:00:01+00:00", 1)
    if engine == "sqlite":
        url = str(tmp_path / "central.db")
        with sqlite3.connect(url) as conn:
            conn.execute(old)
            conn.execute(f"INSERT INTO hall_events VALUES ({', '.join('?' * len(row))})", row)
    else:
        url = request.getfixturevalue("postgres_url")
        db = CentralDB(url)
        with db.tx() as cur:
            for t in ("hall_events", "halls", "rejected"):
                cur.execute(f"DROP TABLE IF EXISTS {t}")
            cur.execute(old)
            cur.execute(f"INSERT INTO hall_events VALUES ({', '.join('?' * len(row))})", row)
        db.close()
    db = CentralDB(url)
    try:
        store = CentralStore(db)
        ev = Event(1, uuid.uuid4().hex, "ticket.voided", "2026-11-24T01:00:00+00:00", "2026-11-24", {},
                   "staff:0007", "dashboard")
        assert store.store_batch([(contract.event_topic("h1", ev.kind),
                                   contract.encode(contract.event_message(ev, "h1", "510104000", TZ)))])["new"] == 1
        assert db.query("SELECT hall_id, seq, actor, terminal FROM hall_events ORDER BY hall_id") == [
            ("h0", 1, None, None), ("h1", 1, "staff:0007", "dashboard")]
        CentralDB(url).close()  # started again: the columns are there, nothing is added twice
    finally:
        db.close()


def presence(hall: str, state: str, last_seq: int | None) -> tuple[str, bytes]:
    msg = contract.PresenceMsg(hall_id=hall, state=state, last_seq=last_seq,  # type: ignore[arg-type]
                               at_utc=datetime.now(UTC) if state == "online" else None)
    return contract.state_topic(hall), contract.encode(msg)


def test_the_presence_watermark_finds_a_lost_tail(central_store: CentralStore) -> None:
    """A hall coming online says its newest seq: what central lacks past its own highest is a gap too, found
    without waiting for the hall's next event (the tail of a drain the broker lost); the will keeps it."""
    store = central_store
    store.store_batch([presence("h1", "online", 10), *(envelope("h1", s) for s in range(1, 7))])
    assert store.gaps() == {"h1": [(7, 10)]}
    h = store.halls()[0]
    assert (h["hall_seq"], h["max_seq"], h["behind"]) == (10, 6, 4)
    store.store_batch([presence("h1", "offline", None)])  # the will says no seq: the last one said stands
    assert store.halls()[0]["hall_seq"] == 10 and store.gaps() == {"h1": [(7, 10)]}
    store.store_batch([envelope("h1", s) for s in range(7, 12)])
    assert store.gaps() == {} and store.halls()[0]["behind"] == 0
    store.store_batch([presence("h2", "online", None)])  # a hall from before the watermark: nothing assumed
    assert store.halls()[1]["hall_seq"] is None and store.halls()[1]["behind"] is None and "h2" not in store.gaps()
    with pytest.raises(contract.ContractError):
        contract.decode_presence(b'{"v": 1, "hall_id": "h1", "state": "online", "last_seq": -1}')


def test_a_lost_tail_is_asked_for_again(broker: Any, make_hall: Any, tmp_path: Path) -> None:
    """Events the broker lost at the end of a drain, with no later event to reveal them: the hall's presence
    said how far it had got, so the collector's gap repair gets them published again."""
    collector = start_collector(broker, tmp_path, repair_after=0.2)
    hall = make_hall("hall-a")
    drive(hall, 60)  # the backlog of an outage, there before the hall comes online
    last = hall.store.last_seq()
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        wait_for(lambda: collector.store.seqs("hall-a") == list(range(1, last + 1)), what="all stored")
        wait_for(lambda: collector.store.halls()[0]["hall_seq"] == last, what="the watermark")
        with collector.store.db.tx() as cur:  # as if the broker had dropped the drain's last ten
            cur.execute("DELETE FROM hall_events WHERE hall_id = 'hall-a' AND seq > ?", (last - 10,))
            cur.execute("UPDATE halls SET max_seq = ?, events = ? WHERE hall_id = 'hall-a'", (last - 10, last - 10))
        assert collector.store.gaps() == {"hall-a": [(last - 9, last)]}
        wait_for(lambda: collector.store.gaps() == {}, what="tail repaired")
        assert collector.store.seqs("hall-a") == list(range(1, last + 1))
        assert collector.resend_requests >= 1 and sync.status()["republished"] >= 10
    finally:
        sync.stop()
        collector.stop()


def test_a_collector_started_later_learns_presence_and_what_it_missed(broker: Any, make_hall: Any,
                                                                      tmp_path: Path) -> None:
    """The hall came online and sent its events while no collector was there (the broker dropped them). A collector
    of a shared group started later still gets the hall's retained presence — on its plain subscription — and with
    the watermark in it asks for every event it never received."""
    hall = make_hall("hall-a")
    drive(hall, 20)
    last = hall.store.last_seq()
    sync = HallSync(hall, broker.settings())
    sync.start()
    collector = None
    try:
        wait_for(lambda: sync.status()["backlog"] == 0, what="sent to nobody, acknowledged by the broker")
        collector = start_collector(broker, tmp_path, group="collectors", repair_after=0.2)
        wait_for(lambda: collector is not None and collector.store.halls()
                 and collector.store.halls()[0]["hall_seq"] == last, what="the retained presence")
        assert collector.store.halls()[0]["state"] == "online"
        wait_for(lambda: collector is not None and collector.store.seqs("hall-a") == list(range(1, last + 1)),
                 timeout=20, what="every event asked for again")
        assert collector.store.gaps() == {} and collector.resend_requests >= 1
    finally:
        sync.stop()
        if collector is not None:
            collector.stop()
