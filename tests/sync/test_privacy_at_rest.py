"""No clear personal data at rest: a hall day with cases, tickets taken with ID numbers (at the hall and over the
LAN), refused central messages and refused LAN requests leaves no clear ID number or mobile number in any table,
log line, published message or file of the store."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk import simulate
from kiosk.core import errors as E
from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.core.privacy import check_digit, scrub_payload, scrub_text
from kiosk.simulate import DaySimulator, SimClock
from kiosk.store import Store
from sync import contract
from sync.lan import LanBadRequest, LanServer, RemoteHall
from sync.service import HallSync
from tests.sync.conftest import Broker, wait_for

HALL_ID = "hall-a"
TOML = f"""
[hall]
id = "{HALL_ID}"
name = "测试政务服务中心"
region = "510104000"
secret = "test-id-hash-key"

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999

[[businesses]]
code = "housing"
prefix = "B"
name = "不动产登记"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999
id_required = true

[[windows]]
number = 1
businesses = ["social", "housing"]

[[windows]]
number = 2
businesses = ["social", "housing"]
"""


def citizen_id(body: str) -> str:
    return body + check_digit(body)


# fictitious citizens: checksum-valid IDs, mobile numbers, names no clerk of the simulator has
PEOPLE = [(citizen_id(f"5101041978{m:02d}15{n:03d}"), f"1{p}9{n:08d}", name)
          for m, n, p, name in ((3, 301, 3, "欧阳明华"), (7, 512, 5, "司马春燕"), (11, 733, 8, "诸葛建国"),
                                (12, 118, 9, "上官秀英"))]
# generic shapes (what a scan finds even for numbers this test did not choose); a letter or digit on either side
# means part of something else (a uuid, a hash, a timestamp)
ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE_SHAPE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


class Leaks:
    """Everything clear this test put in, and a scan for it (and for anything shaped like it)."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        for id_number, phone, name in PEOPLE:
            self.add(id_number, phone, name)

    def add(self, *values: str) -> None:
        for v in values:
            self.secrets.add(v)
            if len(v) == 18:
                self.secrets.add(v[:17])  # a check character dropped or changed still names the person

    def find(self, text: str) -> list[str]:
        found = [s for s in self.secrets if s in text]
        return found + ID_SHAPE.findall(text) + PHONE_SHAPE.findall(text)


def case_update(case_no: str, person: tuple[str, str, str], **kw: Any) -> dict[str, Any]:
    id_number, phone, name = person
    msg: dict[str, Any] = {
        "v": 1, "message_id": uuid.uuid4().hex, "hall_id": HALL_ID, "case_no": case_no, "status": "accepted",
        "at_utc": "2026-11-24T02:00:00Z", "case_type": 2, "promise_days": 5, "legal_days": 20,
        "item_name": "不动产转移登记", "applicant_name": name, "applicant_id": id_number, "applicant_phone": phone,
    }
    msg.update(kw)
    return msg


class Wire:
    """A raw MQTT client: publishes as central would and records what the hall sends out (its events and
    presence, and the LAN server's replies and events); not the LAN requests, which are the client's words."""

    def __init__(self, broker: Broker) -> None:
        self.got: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wire-{time.monotonic_ns()}",
                             protocol=MQTTProtocolVersion.MQTTv5)
        self.c.on_message = self._on_message
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *a: subscribed.set()
        self.c.connect("127.0.0.1", broker.port)
        self.c.loop_start()
        self.c.subscribe([(f"hall/{HALL_ID}/event/#", 1), (f"hall/{HALL_ID}/state", 1),
                          (f"hall/{HALL_ID}/lan/#", 1), (f"hall/{HALL_ID}/reply/#", 1)])
        assert subscribed.wait(5)

    def _on_message(self, c: Any, u: Any, m: Any) -> None:
        with self._lock:
            self.got.append((m.topic, bytes(m.payload)))

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def events(self) -> int:
        """Events the outbox published, one per message or several in a batch (contract 2)."""
        with self._lock:
            got = list(self.got)
        return sum(len(contract.events_in(t, p)) for t, p in got if t.split("/")[2:3] == ["event"])

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def test_a_hall_day_keeps_no_clear_id_number_or_phone(broker: Broker, tmp_path: Path, caplog: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    leaks = Leaks()
    real_random_id: Callable[[Any], str] = simulate.random_id_number
    simulated: list[str] = []

    def remembered_id(rng: Any) -> str:
        simulated.append(real_random_id(rng))
        leaks.add(simulated[-1])
        return simulated[-1]

    monkeypatch.setattr(simulate, "random_id_number", remembered_id)  # every simulated citizen's ID is scanned for
    clock = SimClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    hall = Hall(loads(TOML, "privacy.toml"), store, clock=clock)
    wire = Wire(broker)
    sync = HallSync(hall, broker.settings(client_id=f"hall-{HALL_ID}"))
    lan = LanServer(hall, broker.settings(client_id=f"hall-{HALL_ID}"), heartbeat_s=0.2)
    sync.start()
    lan.start()
    kiosk: RemoteHall | None = None
    try:
        wait_for(lambda: sync.status()["state"] == "online", what="hall online")
        kiosk = RemoteHall.from_settings(broker.settings(), HALL_ID, "kiosk1", rpc_timeout=2.0)

        # the day: citizens (ID numbers for 不动产登记), calls, services, ratings
        sim = DaySimulator(hall, clock, seed=11, arrivals_per_hour=150)
        sim.run_until(clock() + timedelta(hours=1), dt=30)
        assert sim.stats.issued > 50 and len(simulated) > 10

        # tickets with an ID number at the hall and from a LAN kiosk; a mistyped one refused
        p0, p1, p2, p3 = PEOPLE
        hall.issue_ticket("housing", id_number=p0[0])
        assert kiosk.issue_ticket("housing", id_number=p1[0]).value.ticket["number"].startswith("B")
        mistyped = p2[0][:17] + ("0" if p2[0][17] != "0" else "1")
        leaks.add(mistyped)
        with pytest.raises(E.InvalidIdNumber):
            kiosk.issue_ticket("housing", id_number=mistyped)
        # LAN requests the server refuses, each carrying a clear ID number
        for args, kwargs in ((("housing",), {"id_number": int(p3[0][:17] + "0")}),
                             (("housing",), {"id_number": p3[0], "bogus": p3[1]}),
                             (("housing", p3[0]), {}),
                             ((), {"id_number": p3[0]})):
            with pytest.raises(LanBadRequest):
                kiosk.call("issue_ticket", *args, **kwargs)

        # 办件 registered at the window and updated by central, with the applicant's name, ID and phone
        cases = Cases(hall)
        cases.register({**case_update("W-0001", p0), "status": "受理"})
        wire.publish(contract.case_topic(HALL_ID, "C-0001"),
                     json.dumps(case_update("C-0001", p1), ensure_ascii=False).encode())
        wire.publish(contract.case_topic(HALL_ID, "C-0001"),
                     json.dumps(case_update("C-0001", p1, status="done", at_utc="2026-11-24T03:00:00Z",
                                            finished_at="2026-11-24T03:00:00Z")).encode())

        # central messages the hall refuses, every one with personal data in it
        good = json.dumps(case_update("C-0002", p2), ensure_ascii=False)
        no_type = case_update("C-0003", p3)
        del no_type["case_type"]
        refused = [
            ("C-0003", json.dumps(no_type, ensure_ascii=False).encode()),  # the cases module refuses it
            ("C-0002", json.dumps(case_update("C-0002", p2, hall_id="hall-b")).encode()),  # another hall's
            ("C-0002", json.dumps(case_update("C-0002", p2, v=9), ensure_ascii=False).encode()),  # newer version
            ("C-0002", good.encode()[:-25]),  # cut short
            ("C-0002", good.encode("gb18030")),  # not UTF-8
            ("C-0002", b"[" * 60_000 + good.encode()),  # nested too deep to parse
            ("C-0002", json.dumps(case_update("C-0002", p2, applicant_id=int(p2[0][:17] + "1"))).encode()),
            ("C-0002", f"申请人 身份证号{p2[0]} 联系电话{p2[1]}".encode()),  # not JSON at all
            ("C-0004", json.dumps(case_update("C-0002", p2)).encode()),  # case number not the topic's
        ]
        for case_no, payload in refused:
            wire.publish(contract.case_topic(HALL_ID, case_no), payload)

        def settled() -> bool:
            st = sync.status()
            return st["rejected"] == len(refused) and st["applied"] == 2 and st["backlog"] == 0

        wait_for(settled, what=f"central messages handled and events published: {sync.status()}")
        assert hall.store.conn().execute("SELECT status FROM cases WHERE case_no = 'C-0001'").fetchone()[0] == "done"
        wait_for(lambda: lan.status()["last_seq"] == hall.store.last_seq(), what="LAN events published")
    finally:
        if kiosk is not None:
            kiosk.close()
        lan.stop()
        sync.stop()
        wire.close()

    found: dict[str, list[str]] = {}
    # every column of every row of every table
    conn = store.conn()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"tickets", "events", "cases", "dead_letters", "command_log"} <= set(tables)
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            for col, value in zip(row.keys(), tuple(row), strict=True):
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if hits := leaks.find(text):
                    found.setdefault(f"{table}.{col}", []).extend(hits)
    letters = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    assert letters == len(refused)
    # every log record, with its traceback
    for r in caplog.records:
        if hits := leaks.find(r.getMessage() + (r.exc_text or "")):
            found.setdefault(f"log {r.name}", []).extend(hits)
    if hits := leaks.find(caplog.text):
        found.setdefault("log text", []).extend(hits)
    # everything the hall published: the outbox's events, its presence, the LAN server's replies and events
    topics = {t.split("/")[2] for t, _ in wire.got}
    assert {"event", "state", "lan", "reply"} <= topics, topics
    assert wire.events() >= hall.store.last_seq()
    for topic, payload in wire.got:
        if hits := leaks.find(payload.decode("utf-8", "replace")):
            found.setdefault(f"published {topic}", []).extend(hits)
    # the store's files themselves (a row written and later changed could still sit in a free page)
    store.close()
    for path in tmp_path.glob("hall.db*"):
        raw = path.read_bytes()
        for s in leaks.secrets:
            if s.encode() in raw:
                found.setdefault(f"file {path.name}", []).append(s)
    assert found == {}, found


@pytest.mark.parametrize(("raw", "kept", "gone"), [
    # a JSON field named for what it holds is masked whatever its value looks like
    ('{"applicant_name": "欧阳明华", "applicant_id": "11010519491231002X", "applicant_phone": "028-86001234"}',
     ['"applicant_name":"欧**华"', '"1101**********002X"', '"028****1234"'], ["欧阳明华", "86001234"]),
    ('{"applicant": {"name": "张小三", "id": "110105194912310"}}', ['"name":"张*三"'], ["张小三", "194912"]),
    ('{"id_number": 110105194912310020, "mobile": 13812345678}', ['"1101**********0020"', '"138****5678"'],
     ["110105194912310020", "13812345678"]),
    ('{"身份证号码": "11010519491231002x", "联系电话": "+86 138 1234 5678"}', ["1101**********002X"],
     ["1949123", "1234 5678"]),
    # by shape, anywhere: values, keys, free text, glued to Chinese or letters
    ('{"note": "补正：身份证11010519491231002X，手机13812345678"}', ["身份证1101**********002X", "手机138****5678"],
     ["11010519491231002X", "13812345678"]),
    ('{"11010519491231002X": 1}', ['"1101**********002X":1'], ["11010519491231002X"]),
    ("sfz11010519491231002X tel:+8613812345678", ["sfz1101**********002X", "138****5678"],
     ["19491231002", "13812345678"]),
    # not JSON: cut short, form-encoded, a Python repr in an error message
    ('{"applicant_name": "欧阳明华", "applicant_id": "1101051949123', ['"欧**华"'], ["欧阳明华", "1949123"]),
    ("applicant_name=欧阳明华&applicant_phone=13812345678", ["applicant_name=欧**华", "138****5678"],
     ["欧阳明华", "13812345678"]),
    ("InvalidCase({'applicant_name': '欧阳明华'})", ["'欧**华'"], ["欧阳明华"]),
    # what is not personal stays as it was
    ('{"case_no": "SB2026112400001", "at_utc": "2026-11-24T01:00:00Z", "seq": 1732412345678, "name": "税务"}',
     ['"SB2026112400001"', "1732412345678", '"name":"税务"'], []),
])
def test_scrub_payload(raw: str, kept: list[str], gone: list[str]) -> None:
    for payload in (raw, raw.encode(), raw.encode("gb18030")):
        out = scrub_payload(payload)
        for k in kept:
            assert k in out, (payload, out)
        for g in gone:
            assert g not in out, (payload, out)
        assert scrub_payload(out) == out  # masked text is not masked again


def test_scrub_is_quick_on_hostile_input() -> None:
    for raw in (b"1" * 250_000, b'a:"' * 80_000, b"[" * 200_000, (b'{"applicant_name":"' + b"x" * 300) * 700):
        t0 = time.monotonic()
        scrub_payload(raw)
        assert time.monotonic() - t0 < 2.0, raw[:20]
    assert scrub_text("applicant_id: 11010519491231002X") == "applicant_id: 1101**********002X"
