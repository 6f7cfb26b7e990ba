"""The province's platform and the hall's slots: the contract and its documentation check each other; bookings and
cancellations on central/{hall}/appointment are applied once and always answered by an event; the retained
hall/{hall}/slots follows every booking — through the inbox, and end to end through a real mosquitto."""
from __future__ import annotations

import json
import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk.core import appointments as A
from kiosk.core import events as ev
from sync import contract
from sync.inbox import Inbox
from sync.link import ONLINE
from sync.service import HallSync
from sync.slots import SlotsPublisher, slots_message
from tests.conftest import make_id
from tests.sync.conftest import wait_for

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sync-contract.md").read_text(encoding="utf-8")
HALL = "hall-a"


def examples() -> dict[str, Any]:
    return {n: json.loads(b) for n, b in re.findall(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", DOC, re.S)}


# --- the contract and its documentation ---------------------------------------------------------------------------
@pytest.mark.parametrize("topic", [contract.APPOINTMENT_TOPIC, contract.SLOTS_TOPIC])
def test_the_topics_are_documented(topic: str) -> None:
    assert f"`{topic}`" in DOC


@pytest.mark.parametrize("field", [
    (s.__name__, f.name) for s in (contract.AppointmentRequest, contract.SlotsMsg, contract.SlotsBusiness,
                                   contract.SlotsDay, contract.SlotFree) for f in msgspec.structs.fields(s)])
def test_every_field_is_documented(field: tuple[str, str]) -> None:
    assert f"`{field[1]}`" in DOC or f'"{field[1]}"' in DOC, f"{field[0]}.{field[1]} is not in docs/sync-contract.md"


def test_the_examples_decode() -> None:
    ex = examples()
    book = contract.decode_appointment(json.dumps(ex["appointment"]).encode())
    assert book.action == "book" and book.slot_start == "09:00" and str(book.date) == "2026-11-25"
    assert contract.decode_appointment(json.dumps(ex["appointment_cancel"]).encode()).action == "cancel"
    slots = contract.decode_slots(json.dumps(ex["slots"]).encode())
    assert [s.free for s in slots.businesses[0].days[0].slots] == [3, 0]
    answer = contract.decode_event(json.dumps(ex["appointment_refused"]).encode())
    assert answer.payload["key"] == "slot_full"


@pytest.mark.parametrize(("change", "error"), [
    ({"slot_start": None}, "needs business, date and slot_start"),
    ({"slot_start": "9:00"}, "bad appointment payload"),
    ({"code": "a b"}, "bad appointment payload"),
    ({"action": "move"}, "bad appointment payload"),
    ({"v": 2}, "version 2 not supported"),
])
def test_a_request_the_contract_refuses(change: dict[str, Any], error: str) -> None:
    msg = {**examples()["appointment"], **change}
    with pytest.raises(contract.ContractError, match=error):
        contract.decode_appointment(json.dumps({k: v for k, v in msg.items() if v is not None}).encode())


# --- the inbox --------------------------------------------------------------------------------------------------------
def request(mid: str, action: str = "book", **kw: Any) -> bytes:
    msg = {"v": 1, "message_id": mid, "hall_id": HALL, "at_utc": "2026-11-24T01:00:00Z", "action": action,
           "code": kw.pop("code", "TF-" + mid)}
    if action == "book":
        msg.update(business="social", date="2026-11-25", slot_start="10:00")
    msg.update(kw)
    return json.dumps(msg).encode()


def answers(hall: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, e.payload) for e in hall.store.events_after(0, 10000) if e.kind.startswith("appointment.")]


def test_bookings_are_applied_once_and_answered(make_hall: Any) -> None:
    hall = make_hall(HALL)
    hall.config.business("social").slot_capacity = 1
    inbox = Inbox(hall)
    topic = contract.appointment_topic(HALL)
    me = make_id(21)
    assert inbox.handle(topic, request("yy-00000001", code="TF0001", id_number=me, name="张小三"))
    assert inbox.handle(topic, request("yy-00000001", code="TF0001", id_number=me, name="张小三"))  # redelivered
    assert inbox.handle(topic, request("yy-00000002", code="TF0002"))  # the place is taken
    assert inbox.handle(topic, request("yy-00000003", "cancel", code="TF0001"))
    got = answers(hall)
    assert [(k, p["message_id"]) for k, p in got] == [
        (ev.APPOINTMENT_BOOKED, "yy-00000001"), (ev.APPOINTMENT_REFUSED, "yy-00000002"),
        (ev.APPOINTMENT_CANCELLED, "yy-00000003")]
    assert got[0][1]["appointment"]["name_masked"] == "张*三" and got[1][1]["key"] == "slot_full"
    row = hall.store.conn().execute("SELECT * FROM appointments WHERE code = 'TF0001'").fetchone()
    assert me not in [str(v) for v in tuple(row)] and row["source"] == "central"
    assert row["message_id"] == "yy-00000001" and row["status"] == "cancelled"
    assert inbox.rejected == 0 and inbox.applied == 4


def test_a_request_breaking_the_contract_is_a_dead_letter_without_the_id(make_hall: Any) -> None:
    hall = make_hall(HALL)
    inbox = Inbox(hall)
    me = make_id(22)
    assert not inbox.handle(contract.appointment_topic(HALL), request("yy-00000009", slot_start="25:00",
                                                                      id_number=me))
    kept = hall.store.conn().execute("SELECT payload, error FROM dead_letters").fetchone()
    assert me not in kept["payload"] and "bad appointment payload" in kept["error"]
    assert answers(hall) == []


# --- the retained slots ---------------------------------------------------------------------------------------------
class FakeLink:
    def __init__(self) -> None:
        self.online = True
        self.sent: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int | None:
        if not self.online:
            return None
        with self.lock:
            self.sent.append((topic, payload, retain))
            return len(self.sent)


def free_at(data: bytes, business: str, day: str, start: str) -> int:
    msg = contract.decode_slots(data)
    b = next(b for b in msg.businesses if b.business == business)
    return next(s.free for d in b.days if str(d.date) == day for s in d.slots if s.start == start)


def test_the_slots_follow_every_booking(make_hall: Any) -> None:
    hall = make_hall(HALL)
    link = FakeLink()
    pub = SlotsPublisher(hall, link, settle_s=0.01)
    pub.start()
    try:
        wait_for(lambda: link.sent, what="published at start")
        topic, data, retain = link.sent[-1]
        assert topic == "hall/hall-a/slots" and retain
        assert free_at(data, "social", "2026-11-25", "10:00") == 4
        n = len(link.sent)
        code = A.book(hall, "social", date(2026, 11, 25), "10:00", source="kiosk").value["code"]
        wait_for(lambda: len(link.sent) > n, what="published after the booking")
        assert free_at(link.sent[-1][1], "social", "2026-11-25", "10:00") == 3
        link.online = False
        A.cancel(hall, code)
        n = len(link.sent)
        pub.on_state("online", 2)  # still offline: nothing goes out, nothing is lost
        link.online = True
        pub.on_state("online", 3)
        wait_for(lambda: len(link.sent) > n, what="published at the reconnect")
        assert free_at(link.sent[-1][1], "social", "2026-11-25", "10:00") == 4
    finally:
        pub.stop()
    assert pub.status() == {"slots_published": len(link.sent), "slots_error": ""}


def test_a_business_without_appointments_is_not_published(make_hall: Any) -> None:
    hall = make_hall(HALL)
    hall.config.business("tax").appointments = False
    assert [b.business for b in slots_message(hall).businesses] == ["social"]


# --- end to end, through a real broker -------------------------------------------------------------------------------
def test_the_platform_books_through_the_broker(broker: Any, make_hall: Any) -> None:
    hall = make_hall(HALL)
    sync = HallSync(hall, broker.settings())
    seen: dict[str, list[bytes]] = {}
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, m: Any) -> None:
        with lock:
            seen.setdefault(m.topic, []).append(m.payload)

    platform = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="province-booking",
                           protocol=MQTTProtocolVersion.MQTTv5)
    platform.on_message = on_message
    platform.connect("127.0.0.1", broker.port)
    platform.subscribe([("hall/+/slots", 1), ("hall/+/event/#", 1)])
    platform.loop_start()
    sync.start()
    try:
        wait_for(lambda: sync.link.state == ONLINE and "hall/hall-a/slots" in seen, what="slots published")
        assert free_at(seen["hall/hall-a/slots"][-1], "social", "2026-11-25", "10:00") == 4
        platform.publish("central/hall-a/appointment", request("yy-00000101", code="TF0101"), qos=1)
        platform.publish("central/hall-a/appointment", request("yy-00000101", code="TF0101"), qos=1)  # again

        def answered() -> list[contract.EventMsg]:
            with lock:
                msgs = [m for t, ps in seen.items() if t.startswith("hall/hall-a/event") for p in ps
                        for m in contract.events_in(t, p)]
            return [m for m in msgs if m.kind.startswith("appointment.")]

        got = wait_for(answered, what="the answer event")
        assert got[0].kind == ev.APPOINTMENT_BOOKED and got[0].payload["message_id"] == "yy-00000101"
        wait_for(lambda: free_at(seen["hall/hall-a/slots"][-1], "social", "2026-11-25", "10:00") == 3,
                 what="the slots after the booking")
        sync.inbox.join()
        assert len([m for m in answered() if m.kind == ev.APPOINTMENT_BOOKED]) == 1  # applied once
        assert sync.status()["slots_published"] >= 2
    finally:
        platform.loop_stop()
        platform.disconnect()
        sync.stop()
