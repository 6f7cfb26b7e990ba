"""Contract, settings and provincial adapter: topics, schemas and versions, config errors, code maps both ways."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from kiosk.core.rating import GB39046_CODE, PROVINCIAL_CODE, Channel, Level
from sync import contract, provincial
from sync.contract import ContractError
from sync.settings import parse_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "sync-contract.md"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("topic", "parsed"), [
    ("central/h1/case/2026-0001", ("h1", "case", "2026-0001")),
    ("central/h1/catalog", ("h1", "catalog", None)),
])
def test_inbound_topics(topic: str, parsed: tuple[str, str, str | None]) -> None:
    assert contract.parse_inbound_topic(topic) == parsed


@pytest.mark.parametrize("topic", [
    "central/h1", "central/h1/case", "central/h1/case/a/b", "central/h 1/catalog", "hall/h1/catalog",
    "central/h1/case/+", "central/h1/other", "",
])
def test_bad_inbound_topics(topic: str) -> None:
    with pytest.raises(ContractError):
        contract.parse_inbound_topic(topic)


def test_hall_topics() -> None:
    assert contract.event_topic("h1", "ticket.issued") == "hall/h1/event/ticket.issued"
    assert contract.parse_hall_topic("hall/h1/event/ticket.issued") == ("h1", "event", "ticket.issued")
    assert contract.parse_hall_topic("hall/h1/state") == ("h1", "state", None)
    with pytest.raises(ContractError):
        contract.event_topic("h/1", "x")
    with pytest.raises(ContractError):
        contract.case_topic("h1", "a/b")


def test_event_envelope_round_trip() -> None:
    ev = Event(7, "e" * 32, "ticket.issued", "2026-11-24T01:00:00+00:00", "2026-11-24", {"ahead": 3})
    msg = contract.event_message(ev, "h1", "510104000", TZ)
    back = contract.decode_event(contract.encode(msg))
    assert back == msg
    assert back.local_time.isoformat() == "2026-11-24T09:00:00+08:00"
    assert back.v == contract.SCHEMA_VERSION


def test_unknown_version_and_oversize_are_refused() -> None:
    case = {"v": 2, "message_id": "m-00000001", "hall_id": "h1", "case_no": "C1", "status": "done",
            "at_utc": "2026-11-24T01:00:00Z"}
    with pytest.raises(ContractError, match="version 2 not supported"):
        contract.decode_case(json.dumps(case).encode())
    case["v"] = 1
    assert contract.decode_case(json.dumps(case).encode()).status == "done"
    with pytest.raises(ContractError, match="too big"):
        contract.decode_case(b" " * (contract.MAX_INBOUND_BYTES + 1))


def _doc_examples() -> dict[str, dict[str, object]]:
    text = DOC.read_text(encoding="utf-8")
    out = {}
    for name, body in re.findall(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", text, re.S):
        out[name] = json.loads(body)
    return out


def test_documented_examples_follow_the_contract() -> None:
    """docs/sync-contract.md and the schemas check each other: every example decodes."""
    ex = _doc_examples()
    assert {"event", "presence_online", "presence_offline", "case", "catalog", "resend", "provincial_rating"} <= set(ex)
    contract.decode_resend(json.dumps(ex["resend"]).encode())
    contract.decode_event(json.dumps(ex["event"]).encode())
    contract.decode_presence(json.dumps(ex["presence_online"]).encode())
    contract.decode_presence(json.dumps(ex["presence_offline"]).encode())
    contract.decode_case(json.dumps(ex["case"]).encode())
    contract.decode_catalog(json.dumps(ex["catalog"]).encode())
    msgspec.convert(ex["provincial_rating"], contract.ProvincialRating)
    text = DOC.read_text(encoding="utf-8")
    for status, label in contract.CASE_STATUS.items():
        assert f"`{status}`" in text and label in text
    for t in (contract.EVENT_TOPIC, contract.STATE_TOPIC, contract.CASE_TOPIC, contract.CATALOG_TOPIC,
              contract.RESEND_TOPIC, contract.COLLECTOR_EVENT_FILTER.format(group="collectors")):
        assert t in text


# --- settings -----------------------------------------------------------------------------------------------
def test_settings_defaults_and_errors(tmp_path: Path) -> None:
    s = parse_settings({"host": "mqtt.example.gov.cn", "tls": True})
    assert s.broker_port == 8883 and s.max_inflight == 100
    with pytest.raises(ConfigError, match=r"option 'hots' is not valid in section \[sync\]") as e:
        parse_settings({"hots": "x"})
    assert e.value.option == "hots" and e.value.section == "sync"
    bad = [
        ({}, "'host' is required"),
        ({"host": "h", "port": "1883"}, "'port' in section \\[sync\\] must be an integer"),
        ({"host": "h", "max_inflight": 0}, "'max_inflight'.*from 1 to 1000"),
        ({"host": "h", "keepalive": True}, "'keepalive'"),
        ({"host": "h", "ca_file": str(tmp_path / "none.pem"), "tls": True}, "no such file"),
        ({"host": "h", "cert_file": __file__}, "go together"),
        ({"host": "h", "password": "x"}, "needs 'username'"),
        ({"host": "h", "protocol": "4"}, "'protocol'"),
    ]
    for section, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            parse_settings(section)


# --- provincial adapter -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("level", "gb", "prov"), [
    (Level.VERY_SATISFIED, 1, 5), (Level.SATISFIED, 2, 4), (Level.BASIC, 3, 3),
    (Level.DISSATISFIED, 4, 2), (Level.VERY_DISSATISFIED, 5, 1),
])
def test_satisfaction_codes_are_reversed(level: Level, gb: int, prov: int) -> None:
    assert GB39046_CODE[level] == gb and PROVINCIAL_CODE[level] == prov
    rating = {"id": "r1", "ticket_id": "t" * 32, "level": level.value, "channel": "evaluator",
              "rated_at": "2026-11-24T01:02:03+00:00", "reason": "态度差" if level.is_bad else None, "text": None}
    rec = provincial.to_provincial(rating, region="510104000", tz=TZ)
    assert rec.satisfaction == prov and rec.pf == 4 and rec.appraiseTime == "2026-11-24 09:02:03"
    back = provincial.from_provincial_record(rec, tz=TZ)
    assert back["level"] == level.value and back["gb39046_code"] == gb
    assert datetime.fromisoformat(back["rated_at"]) == datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(("channel", "pf"), [
    (Channel.PC, 1), (Channel.MOBILE, 2), (Channel.QR, 3), (Channel.EVALUATOR, 4), (Channel.TERMINAL, 5),
    (Channel.SMS, 6), (Channel.DEFAULT, 7),
])
def test_channel_codes_round_trip(channel: Channel, pf: int) -> None:
    rating = {"ticket_id": "t1", "case_no": "CASE-1", "level": "satisfied", "channel": channel.value,
              "rated_at": "2026-11-24T01:00:00+00:00"}
    rec = provincial.to_provincial(rating, region="510104000", tz=TZ)
    assert rec.pf == pf and rec.projectNo == "CASE-1"
    rec2 = msgspec.json.decode(msgspec.json.encode(rec), type=contract.ProvincialRating)
    assert provincial.from_provincial_record(rec2, tz=TZ)["channel"] == channel.value


def test_bad_provincial_codes() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"projectNo": "x", "areaCode": "510104000", "pf": 8, "satisfaction": 1,
                         "appraiseTime": "2026-11-24 09:00:00"}, contract.ProvincialRating)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"projectNo": "x", "areaCode": "510104000", "pf": 1, "satisfaction": 0,
                         "appraiseTime": "2026-11-24 09:00:00"}, contract.ProvincialRating)


def test_every_sync_option_is_documented() -> None:
    import msgspec

    from sync.settings import SyncSettings

    text = DOC.read_text(encoding="utf-8")
    for f in msgspec.structs.fields(SyncSettings):
        assert f"`{f.name}`" in text, f"[sync] option {f.name} is not documented in {DOC.name}"
    from sync.central import _parser

    subs = next(a for a in _parser()._actions if a.dest == "cmd").choices
    assert subs
    for cmd in subs:
        assert f"hall central {cmd}" in text, f"`hall central {cmd}` is not documented"


# --- bounds: what a database or a parser could not take is refused by the contract ---------------------------
def _event(**fields: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "v": 1, "hall_id": "h1", "region": "510104000", "seq": 1, "id": "e1", "kind": "service.finished",
        "at_utc": "2026-11-24T01:00:00+00:00", "local_time": "2026-11-24T09:00:00+08:00",
        "local_date": "2026-11-24", "payload": {"wait_s": 30.5},
    }
    ev.update(fields)
    return ev


def _raw_event(payload_json: bytes) -> bytes:
    """An event whose payload is given as raw JSON text (for what json.dumps will not write)."""
    return json.dumps(_event(payload={})).encode().replace(b'"payload": {}', b'"payload": ' + payload_json)


@pytest.mark.parametrize(("data", "error"), [
    (json.dumps(_event(seq=2**63)).encode(), r"<= 9223372036854775807 - at `\$.seq`"),
    (json.dumps(_event(seq=0)).encode(), r">= 1 - at `\$.seq`"),
    (json.dumps(_event(v=10**30)).encode(), r"<= 9999 - at `\$.v`"),
    (json.dumps(_event(payload={"n": 2**63})).encode(), r"<= 9223372036854775807 - at `\$.payload"),
    (json.dumps(_event(payload={"n": -(2**63) - 1})).encode(), r">= -9223372036854775808"),
    (json.dumps(_event(payload={"wait_s": 10**400})).encode(), r"<= 9223372036854775807"),  # no float holds it
    (json.dumps(_event(payload={"wait_s": contract.MAX_WAIT_S + 1})).encode(), r"service.finished payload.*<="),
    (json.dumps(_event(payload={"wait_s": -1})).encode(), r"service.finished payload.*>= 0"),
    (json.dumps(_event(payload={"wait_s": True})).encode(), r"service.finished payload"),
    (json.dumps(_event(payload={"x": 1e16})).encode(), r"<= 1000000000000000"),
    (_raw_event(b'{"wait_s": 1e999}'), "Number out of range"),
    (_raw_event(b'{"wait_s": NaN}'), "malformed"),
    (_raw_event(b'{"wait_s": -Infinity}'), "malformed"),
    (_raw_event(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), r"nested too deeply \(100002 levels > 32\)"),
    (_raw_event(b'{"x": ' + b"[" * 8 + b"]" * 8 + b"}"), r"got `array`"),  # payload nesting 9 > 8
    (json.dumps(_event(id="e\x001")).encode(), r"at `\$.id`"),  # PostgreSQL text refuses NUL
    (json.dumps(_event(local_date="2026-11-24\n")).encode(), r"at `\$.local_date`"),
    (json.dumps(_event(region="510104000\n")).encode(), r"at `\$.region`"),
    (json.dumps(_event(region="५१०१०४०००")).encode(), r"at `\$.region`"),  # \d would take Devanagari digits
    (json.dumps(_event(kind="rating.recorded", payload={"rating": {"level": "great\x00"}})).encode(),
     r"rating.recorded payload: Invalid enum value"),
    (json.dumps(_event(payload=[1])).encode(), r"Expected `object`, got `array` - at `\$.payload`"),
    (json.dumps(_event()).encode()[:-9], "truncated"),
    (json.dumps(_event(hall_id="h1")).encode().replace(b'"h1"', b'"h\xff1"'), "UTF-8"),
])
def test_events_out_of_bounds_are_refused(data: bytes, error: str) -> None:
    with pytest.raises(ContractError, match=error):
        contract.decode_event(data)


def test_bounds_themselves_are_accepted() -> None:
    inner: object = 1
    for _ in range(contract.MAX_PAYLOAD_NESTING - 1):
        inner = [inner]
    m = contract.decode_event(json.dumps(_event(
        seq=contract.BIGINT_MAX,
        payload={"wait_s": contract.MAX_WAIT_S, "lo": contract.BIGINT_MIN, "f": -contract.MAX_FLOAT,
                 "nul": "a\x00b", "deep": inner, "emoji": "😀"})).encode())
    assert m.seq == 2**63 - 1 and m.payload["lo"] == -(2**63) and m.payload["nul"] == "a\x00b"
    assert contract.event_figures(m) == contract.Figures(wait_s=float(contract.MAX_WAIT_S))
    rated = contract.decode_event(json.dumps(_event(kind="rating.recorded", payload={"rating": {"level": "basic"}})
                                             ).encode())
    assert contract.event_figures(rated) == contract.Figures(level="basic")


@pytest.mark.parametrize(("decode", "fields"), [
    (contract.decode_presence, b'"v": 1, "hall_id": "h1", "state": "online"'),
    (contract.decode_resend, b'"v": 1, "message_id": "m-00000001", "hall_id": "h1", "from_seq": 1, "to_seq": 2'),
    (contract.decode_lan_request, b'"v": 1, "id": "r1"'),
])
def test_deep_nesting_is_refused_by_every_decoder(decode: object, fields: bytes) -> None:
    """An unknown field is skipped, but msgspec still recurses through it: RecursionError, not a refusal, today."""
    deep = b"{" + fields + b', "junk": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(ContractError, match="nested too deeply"):
        decode(deep)  # type: ignore[operator]
    decode(b"{" + fields + b', "junk": [[[]]]}')  # type: ignore[operator]


@pytest.mark.parametrize(("text", "depth"), [
    (b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": [2]}]}', 4), (b'{"a": "[[[[{{{{"}', 1),
    (b'{"a": "\\"[[[[", "b": [[]]}', 3), (b"[" * 40, 40), (b'["]]]]"]]]', 1),
])
def test_nesting_depth_without_parsing(text: bytes, depth: int) -> None:
    assert contract.nesting(text) == depth


def test_presence_name_and_region_are_storable() -> None:
    ok = contract.decode_presence(b'{"v": 1, "hall_id": "h1", "state": "online", "region": "", "name": "x"}')
    assert ok.region == ""
    for bad in (b'"name": "a\\u0000b"', b'"region": "51010400"', b'"name": "' + b"x" * 201 + b'"'):
        with pytest.raises(ContractError):
            contract.decode_presence(b'{"v": 1, "hall_id": "h1", "state": "online", ' + bad + b"}")


def _numbers(t: msgspec.inspect.Type, where: str, seen: set[int]) -> list[tuple[str, msgspec.inspect.Type]]:
    mi = msgspec.inspect
    if id(t) in seen:
        return []
    seen.add(id(t))
    if isinstance(t, mi.IntType | mi.FloatType):
        return [(where, t)]
    if isinstance(t, mi.StructType):
        return [n for f in t.fields for n in _numbers(f.type, f"{where}.{f.name}", seen)]
    if isinstance(t, mi.UnionType):
        return [n for u in t.types for n in _numbers(u, where, seen)]
    if isinstance(t, mi.ListType | mi.DictType):
        inner = t.item_type if isinstance(t, mi.ListType) else t.value_type
        return _numbers(inner, f"{where}[]", seen)
    return []


def test_every_numeric_field_has_bounds() -> None:
    """Every int and float any contract schema decodes has a lower and an upper bound, and an int's fit a BIGINT."""
    structs = [v for v in vars(contract).values()
               if isinstance(v, type) and issubclass(v, msgspec.Struct) and v.__module__ == contract.__name__]
    assert contract.EventMsg in structs and contract.LanHeartbeat in structs
    found = 0
    for s in structs:
        for where, t in _numbers(msgspec.inspect.type_info(s), s.__name__, set()):
            found += 1
            lo = t.ge if t.ge is not None else t.gt
            hi = t.le if t.le is not None else t.lt
            assert lo is not None and hi is not None, f"{where} has no bounds"
            if isinstance(t, msgspec.inspect.IntType):
                assert lo >= contract.BIGINT_MIN and hi <= contract.BIGINT_MAX, where
            else:
                assert abs(lo) <= contract.MAX_FLOAT * 10 and abs(hi) <= contract.MAX_FLOAT * 10, where
    assert found >= 15


def test_rating_levels_are_the_halls() -> None:
    from kiosk.core.rating import Level
    from sync.central import LEVELS

    assert set(LEVELS) == {lv.value for lv in Level}
