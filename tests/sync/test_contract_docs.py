"""docs/sync-contract.md and sync/contract.py check each other for what the province's view added: every
central → hall topic, every field of the calendar, catalogue business, evaluation record and 整改 item, and the
documented examples decode."""
from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from sync import contract

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sync-contract.md").read_text(encoding="utf-8")


def examples() -> dict[str, object]:
    return {n: json.loads(b) for n, b in re.findall(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", DOC, re.S)}


@pytest.mark.parametrize("topic", [contract.CASE_TOPIC, contract.CATALOG_TOPIC, contract.RESEND_TOPIC,
                                   contract.CALENDAR_TOPIC])
def test_every_central_topic_is_documented(topic: str) -> None:
    assert f"`{topic}`" in DOC


@pytest.mark.parametrize("field", [
    (s.__name__, f.name) for s in (contract.CalendarUpdate, contract.CalendarDay, contract.CatalogBusiness,
                                   contract.CatalogUpdate, contract.EvaluationRecord, contract.RectificationItem)
    for f in msgspec.structs.fields(s)])
def test_every_new_field_is_documented(field: tuple[str, str]) -> None:
    assert f"`{field[1]}`" in DOC or f'"{field[1]}"' in DOC, f"{field[0]}.{field[1]} is not in docs/sync-contract.md"


def test_the_new_examples_decode() -> None:
    ex = examples()
    cal = contract.decode_calendar(json.dumps(ex["calendar"]).encode())
    assert cal.years == [2027] and cal.holidays[0].name == "元旦"
    cat = contract.decode_catalog(json.dumps(ex["catalog"]).encode())
    assert [b.state for b in cat.businesses] == ["open", "closed"]
    ev = contract.decode_event(json.dumps(ex["evaluation"]).encode())
    rec = contract.event_details(ev).evaluation
    assert rec is not None and rec.satisfaction == 1 and rec.rated_at == "20261124T103107"
    step = contract.decode_event(json.dumps(ex["rectification_step"]).encode())
    item = contract.event_details(step).rectification
    assert item is not None and item.stage == "rectify"


@pytest.mark.parametrize(("kind", "payload", "error"), [
    ("evaluation.recorded", {"record": {"id": "r1"}}, "bad evaluation.recorded payload"),
    ("rectification.step", {"item": {"id": "x", "stage": "done"}}, "bad rectification.step payload"),
    ("case.status_changed", {"to": "done", "case": {"on_time": "yes"}}, "bad case.status_changed payload"),
    ("calendar.applied", {"version": 0}, "bad calendar.applied payload"),
])
def test_events_that_break_the_records_are_refused(kind: str, payload: dict, error: str) -> None:
    ev = {"v": 1, "hall_id": "h1", "region": "510104000", "seq": 1, "id": "e1", "kind": kind,
          "at_utc": "2026-11-24T01:00:00Z", "local_time": "2026-11-24T09:00:00+08:00", "local_date": "2026-11-24",
          "payload": payload}
    with pytest.raises(contract.ContractError, match=error):
        contract.decode_event(json.dumps(ev).encode())


@pytest.mark.parametrize(("region", "ok"), [("510104000", True), ("510104001002", True), ("5101040010", False),
                                            ("51010400", False)])
def test_region_codes_of_9_and_12_digits(region: str, ok: bool) -> None:
    ev = {"v": 1, "hall_id": "h1", "region": region, "seq": 1, "id": "e1", "kind": "ticket.issued",
          "at_utc": "2026-11-24T01:00:00Z", "local_time": "2026-11-24T09:00:00+08:00", "local_date": "2026-11-24",
          "payload": {}}
    if ok:
        assert contract.decode_event(json.dumps(ev).encode()).region == region
    else:
        with pytest.raises(contract.ContractError):
            contract.decode_event(json.dumps(ev).encode())
