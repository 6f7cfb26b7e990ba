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
        ({"host": "h", "port": "1883"}, "'port' in section \\[sync\\] must be a int"),
        ({"host": "h", "max_inflight": 0}, "'max_inflight'.*between"),
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
    from dataclasses import fields

    from sync.settings import SyncSettings

    text = DOC.read_text(encoding="utf-8")
    for f in fields(SyncSettings):
        assert f"`{f.name}`" in text, f"[sync] option {f.name} is not documented in {DOC.name}"
    from sync.central import _parser

    subs = next(a for a in _parser()._actions if a.dest == "cmd").choices
    assert subs
    for cmd in subs:
        assert f"hall central {cmd}" in text, f"`hall central {cmd}` is not documented"
