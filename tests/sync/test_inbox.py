"""Central → hall: valid updates applied once through Hall commands; anything malformed lands in dead_letters."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import catalog, contract
from sync.inbox import Inbox

HALL = "hall-a"


def catalog_msg(version: int = 1, mid: str | None = None, **kw: Any) -> dict[str, Any]:
    item = {"code": "510104-SB-001", "business": "social", "name": "城乡居民养老保险参保登记", "version": version,
            "conditions": ["年满16周岁", "非国家机关工作人员"],
            "materials": [{"name": "居民身份证", "copies": 1, "original": True}],
            "legal_days": 20, "promised_days": 1, "fees": [], "basis": ["《中华人民共和国社会保险法》第二十条"]}
    msg = {"v": 1, "message_id": mid or uuid.uuid4().hex, "hall_id": HALL, "at_utc": "2026-11-24T01:00:00Z",
           "items": [item], "removed": []}
    msg.update(kw)
    return msg


def dead(hall: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in hall.store.conn().execute("SELECT * FROM dead_letters ORDER BY id")]


def test_catalogue_applied_once_and_never_rolled_back(make_hall: Any) -> None:
    hall = make_hall(HALL)
    inbox = Inbox(hall)
    m = catalog_msg(version=2)
    assert inbox.handle(contract.catalog_topic(HALL), json.dumps(m).encode())
    seq = hall.store.last_seq()
    assert hall.store.events_after(seq - 1)[0].kind == contract.CATALOG_UPDATED
    # the same message again (a retained replay or a redelivery): nothing changes, no new event
    assert inbox.handle(contract.catalog_topic(HALL), json.dumps(m).encode())
    assert hall.store.last_seq() == seq
    # an older version arriving late never replaces the newer item
    old = catalog_msg(version=1)
    old["items"][0]["name"] = "旧名称"
    assert inbox.handle(contract.catalog_topic(HALL), json.dumps(old).encode())
    guide = catalog.catalog_for(hall, "social")
    assert guide is not None and guide["name"] == "城乡居民养老保险参保登记" and guide["version"] == 2
    assert guide["materials"][0]["name"] == "居民身份证"
    assert catalog.catalog_for(hall, "tax") is None
    rm = catalog_msg(items=[], removed=["510104-SB-001"])
    assert inbox.handle(contract.catalog_topic(HALL), json.dumps(rm).encode())
    assert catalog.catalog_for(hall, "social") is None
    assert dead(hall) == []


def test_case_update_goes_through_the_cases_api(make_hall: Any) -> None:
    hall = make_hall(HALL)
    inbox = Inbox(hall)
    mid = uuid.uuid4().hex
    m = {"v": 1, "message_id": mid, "hall_id": HALL, "case_no": "SB2026112400001", "status": "accepted",
         "at_utc": "2026-11-24T01:00:00Z", "case_type": 2, "promise_days": 5, "legal_days": 20,
         "item_name": "城乡居民养老保险参保登记"}
    topic = contract.case_topic(HALL, "SB2026112400001")
    assert inbox.handle(topic, json.dumps(m).encode()), dead(hall)
    kinds = [e.kind for e in hall.store.events_after(0, 100)]
    assert "case.status_changed" in kinds
    seq = hall.store.last_seq()
    assert inbox.handle(topic, json.dumps(m).encode())  # applied once
    assert hall.store.last_seq() == seq
    # a payload the cases module refuses (no case type for an unknown case) is kept, not dropped
    bad = dict(m, message_id=uuid.uuid4().hex, case_no="NEW1")
    del bad["case_type"]
    assert not inbox.handle(contract.case_topic(HALL, "NEW1"), json.dumps(bad).encode())
    assert "case_type" in dead(hall)[-1]["error"]


def test_unauthorised_and_malformed_are_dead_lettered(make_hall: Any) -> None:
    hall = make_hall(HALL)
    inbox = Inbox(hall)
    good = catalog_msg()
    cases = [
        (contract.catalog_topic("hall-b"), json.dumps(good).encode(), "delivered to hall"),
        (contract.catalog_topic(HALL), json.dumps(dict(good, hall_id="hall-b")).encode(), "delivered to hall"),
        (contract.catalog_topic(HALL), b"{not json", "bad catalogue"),
        (contract.catalog_topic(HALL), json.dumps(dict(good, v=9)).encode(), "version 9"),
        (contract.catalog_topic(HALL), b"[" * (contract.MAX_INBOUND_BYTES + 10), "too big"),
        (contract.case_topic(HALL, "C2"), json.dumps({"v": 1, "message_id": "m-12345678", "hall_id": HALL,
                                                       "case_no": "C3", "status": "done",
                                                       "at_utc": "2026-11-24T01:00:00Z"}).encode(), "does not match"),
        ("central/hall-a/unknown", b"{}", "not a central"),
    ]
    assert inbox.handle(contract.case_topic(HALL, "C9"), b"")  # a cleared retained message: ignored, not dead
    assert dead(hall) == []
    for topic, payload, error in cases:
        assert not inbox.handle(topic, payload)
        assert error in dead(hall)[-1]["error"], (topic, dead(hall)[-1]["error"])
    assert len(dead(hall)) == len(cases)
    assert hall.store.last_seq() == 0  # nothing applied


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@st.composite
def mutated_catalogue(draw: Any) -> bytes:
    """A valid catalogue update with one field replaced by arbitrary JSON."""
    msg = catalog_msg()
    key = draw(st.sampled_from(["v", "message_id", "hall_id", "at_utc", "items", "removed"]))
    msg[key] = draw(json_values)
    return json.dumps(msg).encode()


payloads = st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), mutated_catalogue())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, kind=st.sampled_from(["catalog", "case/C1"]))
def test_fuzzed_payloads_never_crash(make_hall: Any, tmp_path: Path, payload: bytes, kind: str) -> None:
    hall = make_hall(HALL, path=tmp_path / f"{uuid.uuid4().hex}.db")
    inbox = Inbox(hall)
    ok = inbox.handle(f"central/{HALL}/{kind}", payload)
    letters = dead(hall)
    if ok:  # only a well-formed message is applied, and it leaves an event (empty = a cleared retained message)
        assert letters == [] and (payload == b"" or hall.store.last_seq() >= 1)
    else:
        assert len(letters) == 1 and letters[0]["source"] == "sync.inbox" and letters[0]["error"]
        assert hall.store.last_seq() == 0


def test_catalog_for_prefers_the_business_guide(make_hall: Any) -> None:
    hall = make_hall(HALL)
    m = catalog_msg()
    second = dict(m["items"][0], code="510104-SB-002", name="城乡居民养老保险待遇申领")
    m["items"].append(second)
    assert Inbox(hall).handle(contract.catalog_topic(HALL), json.dumps(m).encode())
    guide = catalog.catalog_for(hall, "social")
    assert guide is not None and guide["code"] == "510104-SB-001"  # first by code without a guide option
    biz = hall.config.business("social")
    assert biz is not None
    biz.guide = "510104-SB-002"
    guide = catalog.catalog_for(hall, "social")
    assert guide is not None and guide["name"] == "城乡居民养老保险待遇申领"
    # every item reachable on the kiosk, the guide item first
    assert [i["code"] for i in catalog.catalog_items(hall, "social")] == ["510104-SB-002", "510104-SB-001"]


CLEAR_ID, CLEAR_PHONE, CLEAR_NAME = "11010519491231002X", "13812345678", "张小三"


def _leaks(text: str) -> list[str]:
    return [s for s in (CLEAR_ID, CLEAR_ID[:17], CLEAR_PHONE, CLEAR_NAME) if s in text]


def test_refused_messages_are_kept_without_personal_data(make_hall: Any, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    hall = make_hall(HALL)

    def broken(hall: Any, topic: str, key: str | None, payload: bytes) -> str:
        raise RuntimeError(f"cannot use {payload.decode()}")  # a handler bug quoting the payload in its error

    inbox = Inbox(hall)
    case = {"v": 1, "message_id": uuid.uuid4().hex, "hall_id": HALL, "case_no": "NEW1", "status": "accepted",
            "at_utc": "2026-11-24T01:00:00Z", "applicant_name": CLEAR_NAME, "applicant_id": CLEAR_ID,
            "applicant_phone": CLEAR_PHONE, "item_name": "城乡居民养老保险参保登记"}  # no case_type: refused
    text = json.dumps(case, ensure_ascii=False)
    refused = [
        (contract.case_topic(HALL, "NEW1"), text.encode()),
        (contract.case_topic(HALL, "NEW1"), json.dumps(dict(case, hall_id="hall-b")).encode()),  # \\u-escaped
        (contract.case_topic(HALL, "NEW1"), text.encode()[:-30]),  # cut short: not JSON, scrubbed as text
        (contract.case_topic(HALL, "NEW1"), text.encode("gb18030")),  # not UTF-8
        (contract.case_topic(HALL, "NEW1"), b"[" * 100_000 + text.encode()),  # too deep to parse
        # free text: a name has no shape to find it by, the ID and the phone do
        (contract.catalog_topic(HALL), f"联系人 身份证{CLEAR_ID} 手机{CLEAR_PHONE}".encode()),
    ]
    for topic, payload in refused:
        assert not inbox.handle(topic, payload)
    inbox.handlers["case"] = broken
    assert not inbox.handle(contract.case_topic(HALL, "NEW1"), text.encode())
    letters = dead(hall)
    assert len(letters) == len(refused) + 1
    for row in letters:
        assert _leaks(json.dumps(row, ensure_ascii=False)) == [], row
    kept = json.loads(letters[0]["payload"])  # still useful: the fields are there, masked
    assert (kept["applicant_name"], kept["applicant_id"], kept["applicant_phone"]) == (
        "张*三", "1101**********002X", "138****5678")
    assert kept["item_name"] == "城乡居民养老保险参保登记" and "case_type" in letters[0]["error"]
    assert "1101**********002X" in letters[2]["payload"] and "138****5678" in letters[5]["payload"]
    assert letters[-1]["error"].startswith("internal error: RuntimeError") and "张*三" in letters[-1]["error"]
    assert _leaks(caplog.text) == [] and _leaks(inbox.status()["inbox_error"]) == []
    assert any(r.levelname == "ERROR" and "Traceback" in (r.exc_text or "") for r in caplog.records)


def test_a_store_fault_keeps_the_message_unacknowledged_until_it_is_stored(make_hall: Any) -> None:
    """A full disk is not the message's fault: no dead letter (which could not be written either), no ack."""
    import threading

    from kiosk.core.errors import StoreFull
    from sync.link import InMessage

    hall = make_hall(HALL)
    fails = [2]
    applied: list[bytes] = []

    def flaky(_hall: Any, _topic: str, _key: str | None, payload: bytes) -> str:
        if fails[0] > 0:
            fails[0] -= 1
            raise StoreFull(path="/var/lib/hall/hall.db")
        applied.append(payload)
        return "stored"

    acked = threading.Event()
    inbox = Inbox(hall, ack=lambda _m: acked.set(), handlers={"catalog": flaky})
    inbox.start()
    try:
        inbox.submit(InMessage(contract.catalog_topic(HALL), b'{"x": 1}', 1, False, 7, 0))
        assert acked.wait(10)
        assert applied == [b'{"x": 1}'] and fails == [0]
        assert dead(hall) == [] and inbox.rejected == 0
        assert "存储空间不足" in inbox.last_error
    finally:
        inbox.stop()

    # stopped while the store is still faulty: the message stays unacknowledged for the broker to deliver again
    fails[0] = 1_000_000
    acked.clear()
    inbox = Inbox(hall, ack=lambda _m: acked.set(), handlers={"catalog": flaky})
    inbox.start()
    inbox.submit(InMessage(contract.catalog_topic(HALL), b'{"x": 2}', 1, False, 8, 0))
    while fails[0] == 1_000_000:
        threading.Event().wait(0.01)
    inbox.stop()
    assert not acked.is_set() and dead(hall) == []
