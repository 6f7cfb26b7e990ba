"""Every on-site rating produces one GB/T 39046 §6.6 evaluation record in the event stream (evaluation.recorded):
办件编号 or the ticket, 评价渠道, 评价人 masked, 评价时间 YYYYMMDDThhmmss, 评价次数, 满意度代码 (A.8), 文字评价,
行政区划 — once per rating, again (revision 2) when a 差评's reason comes later."""
from __future__ import annotations

from kiosk.core.cases import Cases
from kiosk.core.evaluation import ANONYMOUS, EVALUATION_RECORDED
from kiosk.core.hall import Hall
from tests.cases.conftest import APPLICANT_ID, payload


def serve(hall: Hall, business: str = "tax", window: int = 2, id_number: str | None = None) -> dict:
    t = hall.issue_ticket(business, id_number=id_number).value.ticket
    hall.call_next(window)
    hall.finish_service(window)
    return t


def records(cases: Cases) -> list[dict]:
    return [e.payload["record"] for e in cases.evaluate_cards() if e.kind == EVALUATION_RECORDED]


def test_a_rating_gives_one_record_with_every_field(hall: Hall, cases: Cases) -> None:
    t = serve(hall)
    r = hall.rate(t["id"], "satisfied", text="服务热情").value
    (rec,) = records(cases)
    assert rec == {
        "id": r["id"], "revision": 1, "project_no": t["id"], "project_kind": "ticket", "channel": 4,
        "channel_label": "评价器", "evaluator": ANONYMOUS, "rated_at": "20261124T090000",
        "rated_at_utc": "2026-11-24T01:00:00+00:00", "count": 1,
        "satisfaction": 2, "level": "satisfied", "text": "服务热情", "reason": "", "comment": "服务热情",
        "region": "510104000", "number": t["number"], "window": 2,
    }
    assert records(cases) == []  # once: the pass's cursor has moved past it


def test_evaluator_is_masked_and_codes_follow_a8(hall: Hall, cases: Cases) -> None:
    t = serve(hall, "housing", 3, id_number=APPLICANT_ID)
    hall.rate(t["id"], "very_dissatisfied", reason="等候时间长", channel="terminal")
    (rec,) = records(cases)
    assert rec["evaluator"] == "1101**********002X" and APPLICANT_ID not in str(rec)
    assert rec["satisfaction"] == 5 and rec["channel"] == 5 and rec["text"] == "等候时间长"


def test_a_case_rating_names_the_case_and_counts(hall: Hall, cases: Cases, clock) -> None:
    cases.register(payload("E1"))
    for n in (1, 2):
        t = hall.issue_ticket("tax").value.ticket
        hall.call_next(2)
        if n == 1:
            cases.link_ticket("E1", t["id"])
        hall.finish_service(2)
        hall.rate(t["id"], "basic", case_no="E1" if n == 2 else None)
        clock.advance(minutes=5)
    first, second = records(cases)
    assert (first["project_no"], first["project_kind"], first["count"]) == ("E1", "case", 1)
    assert (second["project_no"], second["count"]) == ("E1", 2)
    assert first["evaluator"] == "张*三"  # the case's applicant, masked


def test_a_late_reason_sends_revision_two(hall: Hall, cases: Cases) -> None:
    t = serve(hall)
    r = hall.rate(t["id"], "dissatisfied").value  # reason pending
    (rec,) = records(cases)
    assert rec["revision"] == 1 and rec["reason"] == ""
    hall.complete_rating_reason(r["id"], "材料要求不清")
    (rec,) = records(cases)
    assert rec["revision"] == 2 and rec["id"] == r["id"] and rec["reason"] == "材料要求不清"


def test_unrated_services_give_no_record(hall: Hall, cases: Cases) -> None:
    t = serve(hall)
    hall.mark_unrated(t["id"])
    assert records(cases) == []
