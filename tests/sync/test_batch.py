"""Contract 2's event batch: several events per message while a backlog drains, each still stored exactly once."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk.store import Store
from sync import contract
from sync.central import CentralDB, CentralStore
from sync.contract import ContractError
from sync.link import Link
from sync.outbox import Outbox
from sync.service import HallSync
from tests.sync.conftest import drive, wait_for
from tests.sync.test_outage import start_collector

ROOT = Path(__file__).resolve().parents[2]


def event(hall: str, seq: int, kind: str = "ticket.issued", **payload: Any) -> dict[str, Any]:
    return {"v": 1, "hall_id": hall, "region": "510104000", "seq": seq, "id": f"e{seq}", "kind": kind,
            "at_utc": "2026-11-24T01:00:00Z", "local_time": "2026-11-24T09:00:00+08:00",
            "local_date": "2026-11-24", "payload": payload or {"ticket": {"number": f"C{seq:03d}"}}}


def batch(hall: str, *events: dict[str, Any]) -> tuple[str, bytes]:
    return contract.events_topic(hall), contract.encode_batch(hall, [json.dumps(e).encode() for e in events])


# --- the contract ---------------------------------------------------------------------------------------------
def test_a_batch_carries_v1_events_under_a_v2_envelope() -> None:
    topic, data = batch("h1", event("h1", 1), event("h1", 2, "rating.recorded", rating={"level": "satisfied"}))
    assert topic == "hall/h1/event"
    assert contract.parse_hall_topic(topic) == ("h1", "batch", None)
    doc = json.loads(data)
    assert doc["v"] == contract.BATCH_VERSION == 2 and doc["hall_id"] == "h1"
    assert [e["v"] for e in doc["events"]] == [1, 1]  # each element is a v1 event, as it would travel alone
    got = contract.events_in(topic, data)
    assert [(m.seq, m.kind) for m in got] == [(1, "ticket.issued"), (2, "rating.recorded")]
    single = contract.encode(msgspec.convert(event("h1", 3), contract.EventMsg))
    assert [m.seq for m in contract.events_in("hall/h1/event/ticket.issued", single)] == [3]


@pytest.mark.parametrize(("topic", "payload", "error"), [
    ("hall/h1/event", b'{"v": 1, "hall_id": "h1", "events": [{}]}', "schema version 1 not supported"),
    ("hall/h1/event", b'{"v": 3, "hall_id": "h1", "events": [{}]}', "schema version 3 not supported"),
    ("hall/h1/event", b'{"v": 2, "hall_id": "h1", "events": []}', "bad event batch payload"),
    ("hall/h1/event", b'{"v": 2, "hall_id": "h1"}', "bad event batch payload"),
    ("hall/h1/event", b"not json", "bad event batch payload"),
    ("hall/h1/event", json.dumps({"v": 2, "hall_id": "h1", "events": [event("h1", 1)] * 1001}).encode(),
     "bad event batch payload"),
    ("hall/h1/event", batch("h2", event("h2", 1))[1], "batch of 'h2' published on 'hall/h1/event'"),
    ("hall/h1/event", batch("h1", event("h2", 1))[1], "event h2/ticket.issued published on"),
    ("hall/h1/event/ticket.issued", batch("h1", event("h1", 1))[1], "bad event payload"),
    ("hall/h1/state", b"{}", "carries presence"),
    ("hall/h1/event", b'{"v": 2, "hall_id": "h1", "events": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
     "event batch payload nested too deeply"),
    ("hall/h1/event", b'{"v": 2, "hall_id": "h1", "events": [{"a": ' + b"[" * 40 + b"]" * 40 + b"}]}",
     "event payload nested too deeply"),
])
def test_what_a_receiver_refuses(topic: str, payload: bytes, error: str) -> None:
    with pytest.raises(ContractError, match=error):
        contract.events_in(topic, payload)


def test_the_documented_batch_decodes() -> None:
    doc = (ROOT / "docs" / "sync-contract.md").read_text(encoding="utf-8")
    assert f"`{contract.EVENTS_TOPIC}`" in doc
    body = re.search(r"<!-- example: event_batch -->\s*```json\n(.*?)```", doc, re.S)
    assert body is not None
    got = contract.events_in("hall/510104-demo/event", body.group(1).encode())
    assert [(m.seq, m.kind) for m in got] == [(1025, "ticket.issued"), (1026, "ticket.called")]


# --- the collector ----------------------------------------------------------------------------------------------
def test_collector_stores_each_event_of_a_batch_once(tmp_path: Path) -> None:
    store = CentralStore(CentralDB(str(tmp_path / "c.db")))
    rated = event("h1", 3, "rating.recorded", rating={"level": "dissatisfied"})
    got = store.store_batch([
        batch("h1", event("h1", 1), event("h1", 2), event("h1", 2), rated),  # seq 2 twice in one batch
        ("hall/h1/event/ticket.issued", json.dumps(event("h1", 1)).encode()),  # a single repeating the batch
        batch("h1", rated, event("h1", 4)),  # a batch overlapping the first (a republish after a reconnect)
    ])
    assert got == {"new": 4, "duplicate": 3, "rejected": 0, "state": 0}
    assert store.seqs("h1") == [1, 2, 3, 4]
    assert store.halls()[0]["events"] == 4 and store.halls()[0]["duplicates"] == 3
    fig = store.figures("hall")[0]
    assert fig["tickets"] == 3 and fig["rated"] == 1  # the repeated rating counted once
    # the same messages again (a redelivery of a whole transaction): nothing new
    assert store.store_batch([batch("h1", event("h1", 1), rated, event("h1", 4))])["new"] == 0
    assert store.halls()[0]["events"] == 4


def test_a_bad_event_in_a_batch_is_rejected_alone(tmp_path: Path) -> None:
    store = CentralStore(CentralDB(str(tmp_path / "c.db")))
    bad = event("h1", 2, "service.finished", wait_s=-5)  # the contract bounds wait_s
    other_hall = event("h9", 3)
    got = store.store_batch([batch("h1", event("h1", 1), bad, other_hall, event("h1", 4)),
                             ("hall/h1/event", b'{"v": 2, "hall_id": "h1", "events": "x"}')])
    assert got == {"new": 2, "duplicate": 0, "rejected": 3, "state": 0}
    assert store.seqs("h1") == [1, 4]
    rows = store.db.query("SELECT topic, payload, error FROM rejected ORDER BY rowid")
    assert [json.loads(p)["seq"] for _, p, _ in rows[:2]] == [2, 3]  # each refused event kept on its own
    assert "wait_s" in rows[0][2] and "h9" in rows[1][2]
    assert "bad event batch payload" in rows[2][2]


# --- the hall's outbox ----------------------------------------------------------------------------------------
def test_outbox_groups_events_by_count_and_size(make_hall: Any, broker: Any) -> None:
    hall = make_hall("hall-g")
    drive(hall, 250)
    out = Outbox(hall, Link(broker.settings(), client_id="unused"))
    last = hall.store.last_seq()
    assert out.window_size == 100 and out.batch_events == 25  # [sync] max_inflight events: four messages or more
    msgs = out._messages(0, last)
    assert msgs[0][0] == 1 and msgs[-1][1] == last
    for (first, end, topic, payload), nxt in zip(msgs, [*msgs[1:], None], strict=True):
        got = contract.events_in(topic, payload)
        assert [m.seq for m in got] == list(range(first, end + 1))  # in seq order, none left out
        assert len(got) <= out.batch_events and len(payload) <= contract.BATCH_BYTES
        if nxt is not None:
            assert nxt[0] == end + 1
            assert len(got) == out.batch_events  # a batch closes only when full (or BATCH_BYTES, below)
    assert sum(b - a + 1 for a, b, _, _ in out._messages(0, 30)) == 30  # at most `limit` events
    one = out._messages(last - 1, 100)  # an event ready alone goes as contract 1 has it, on its kind's topic
    assert [(a, b) for a, b, _, _ in one] == [(last, last)] and one[0][2].startswith("hall/hall-g/event/")
    assert out._messages(10, 100, upto=12)[0][:2] == (11, 12)  # a repair range stops where asked
    contract1 = Outbox(hall, Link(broker.settings(batches=False), client_id="unused"))  # [sync] batches = false
    assert contract1.batch_events == 1
    one_by_one = contract1._messages(0, 100)
    assert [(a, b) for a, b, _, _ in one_by_one] == [(s, s) for s in range(1, 101)]
    assert all(t.startswith("hall/hall-g/event/") and json.loads(p)["v"] == 1 for _, _, t, p in one_by_one)
    wide = Outbox(hall, Link(broker.settings(max_inflight=1000), client_id="unused"))
    assert wide.batch_events == contract.BATCH_EVENTS == 100
    # BATCH_BYTES bounds a batch whatever its count
    big = "长" * 2000
    with hall.store.write() as conn:
        for _ in range(40):
            Store.append_event(conn, "notice.changed", {"notice": big}, datetime.now(UTC).isoformat(), "2026-11-24")
    sized = wide._messages(hall.store.last_seq() - 40, 100)
    assert len(sized) > 1 and all(len(p) <= contract.BATCH_BYTES for _, _, _, p in sized)
    assert sum(b - a + 1 for a, b, _, _ in sized) == 40


# --- through real mosquitto -------------------------------------------------------------------------------------
class Wire:
    """Counts what the hall publishes: messages, batches, events."""

    def __init__(self, port: int, hall_id: str) -> None:
        self.messages = self.batches = self.events = 0
        self._lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wire-{time.monotonic_ns()}",
                             protocol=MQTTProtocolVersion.MQTTv5)
        self.c.on_message = self._on_message
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *a: subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(f"hall/{hall_id}/event/#", 1)
        assert subscribed.wait(5)

    def _on_message(self, c: Any, u: Any, m: Any) -> None:
        n = len(contract.events_in(m.topic, bytes(m.payload)))
        with self._lock:
            self.messages += 1
            self.batches += m.topic.count("/") == 2
            self.events += n

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.mark.parametrize("batches", [True, False])
def test_a_backlog_drains_in_batches_and_arrives_once(batches: bool, broker: Any, make_hall: Any,
                                                      tmp_path: Path) -> None:
    """`batches = false` ([sync], for a collector not yet reading contract 2): the same, one event per message."""
    collector = start_collector(broker, tmp_path)
    wire = Wire(broker.port, "hall-a")
    hall = make_hall("hall-a")
    drive(hall, 3000 if batches else 600)  # an outage's worth of events, queued before the link comes up
    sync = HallSync(hall, broker.settings(batches=batches))
    sync.start()
    try:
        last = hall.store.last_seq()
        wait_for(lambda: sync.status()["backlog"] == 0, timeout=60, what="backlog drained")
        wait_for(lambda: collector.store.halls() and collector.store.halls()[0]["events"] == last, timeout=30,
                 what="collector has everything")
        assert collector.store.seqs("hall-a") == list(range(1, last + 1))
        wait_for(lambda: wire.events >= last, what="the wire saw every event")
        if batches:
            assert wire.batches > 0 and wire.messages < last / 10  # many events per message
        else:
            assert wire.batches == 0 and wire.messages == wire.events  # contract 1 only: one event a message
        # afterwards an event ready alone goes as a contract 1 message on its kind's topic
        singles = wire.messages - wire.batches
        hall.set_notice("欢迎")
        wait_for(lambda: wire.messages - wire.batches == singles + 1, what="a single event")
        wait_for(lambda: collector.store.halls()[0]["events"] == last + 1, what="stored")
    finally:
        sync.stop()
        wire.close()
        collector.stop()


def _spawn_hall(db: Path, port: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "tests.sync.hall_child", str(db), str(port), "drain"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def _spawn_collector(db: Path, port: int) -> subprocess.Popen[bytes]:
    # a fixed client id and a persistent session: the broker redelivers what a killed collector had not acknowledged
    return subprocess.Popen([sys.executable, "-m", "sync.central", "run", "--db", str(db), "--port", str(port),
                             "--client-id", "central-k", "--group", ""], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_batches_survive_kills_of_hall_and_collector(broker: Any, tmp_path: Path) -> None:
    """A 60,000-event backlog drains in batches while the hall process and the collector process are SIGKILLed
    again and again: the hall republishes what was in flight, the broker redelivers what the collector had not
    acknowledged; the collector ends with every event once."""
    db, central_db = tmp_path / "hall-k.db", tmp_path / "central.db"
    store = Store(db, synchronous="NORMAL")
    payload = {"ticket": {"id": "x" * 32, "number": "C001", "business": "tax", "business_name": "税务",
                          "prefix": "C", "priority": "normal", "status": "waiting", "window": None}, "ahead": 3}
    with store.write() as conn:
        for _ in range(60_000):
            Store.append_event(conn, "ticket.issued", payload, datetime.now(UTC).isoformat(), "2026-11-24")
    last = store.last_seq()
    store.close()
    wire = Wire(broker.port, "hall-k")
    central = _spawn_collector(central_db, broker.port)
    rng = random.Random(11)
    hall: subprocess.Popen[str] | None = None
    try:
        wait_for(lambda: central_db.exists(), what="collector db")
        reader = CentralStore(CentralDB(str(central_db)))
        time.sleep(1.0)  # the collector subscribes before the first hall publishes

        def stored() -> int:
            rows = reader.db.query("SELECT events FROM halls WHERE hall_id = 'hall-k'")
            return int(rows[0][0]) if rows else 0

        for i in range(6):
            hall = _spawn_hall(db, broker.port)
            assert hall.stdout is not None and hall.stdout.readline().strip() == "online"
            time.sleep(rng.uniform(0.02, 0.12))
            if i % 2:  # kill the collector mid-batch, then start it again on its persistent session
                central.send_signal(signal.SIGKILL)
                central.wait()
                central = _spawn_collector(central_db, broker.port)
                time.sleep(rng.uniform(0.02, 0.2))
            hall.send_signal(signal.SIGKILL)
            hall.wait()
        before = stored()
        assert 0 < before < last  # the kills came mid-drain
        hall = _spawn_hall(db, broker.port)
        assert hall.stdout is not None
        out = hall.stdout.read()
        assert hall.wait(120) == 0, out
        assert out.split()[-1] == str(last)
        wait_for(stored, what="anything stored")
        wait_for(lambda: stored() == last, timeout=60, what=f"collector has all {last}")
        seqs = [int(r[0]) for r in reader.db.query("SELECT seq FROM hall_events WHERE hall_id = 'hall-k' "
                                                   "ORDER BY seq")]
        assert seqs == list(range(1, last + 1))  # none lost, each stored once
        halls = reader.db.query("SELECT events, duplicates FROM halls WHERE hall_id = 'hall-k'")
        assert halls[0][0] == last and halls[0][1] > 0  # republished and redelivered batches were ignored
        assert wire.batches > 0 and wire.events > last  # batches really carried them, some more than once
        assert reader.db.query("SELECT COUNT(*) FROM rejected")[0][0] == 0
        reader.db.close()
    finally:
        for p in (hall, central):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        wire.close()
