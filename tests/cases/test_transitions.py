"""Every status transition and every refusal of the case flow; central updates and their idempotency."""
from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.core import cases as C
from kiosk.core.cases import Cases
from kiosk.core.errors import TicketNotFound
from kiosk.core.hall import Hall
from tests.cases.conftest import payload


def kinds(result) -> list[str]:
    return [e.kind for e in result.events]


def make_in(cases: Cases, status: str, case_no: str = "K1") -> None:
    """Drive a fresh case to `status` through legal moves only."""
    cases.register(payload(case_no))
    path = {
        "received": [], "correction": ["correction"], "accepted": ["accepted"], "not_accepted": ["not_accepted"],
        "in_progress": ["accepted", "in_progress"], "suspended": ["accepted", "in_progress", "suspended"],
        "done": ["accepted", "done"], "withdrawn": ["accepted", "withdrawn"], "voided": ["voided"],
    }[status]
    for s in path:
        cases.transition(case_no, s)


ALL = list(C.STATUS_LABELS)


@pytest.mark.parametrize("src", ALL)
def test_every_transition_allowed_or_refused(hall: Hall, cases: Cases, src: str) -> None:
    for i, dst in enumerate(ALL):
        case_no = f"K{i}"
        make_in(cases, src, case_no)
        before = cases.case(case_no)
        seq = hall.store.last_seq()
        allowed = dst in C.TRANSITIONS[src]
        if src == "correction":  # correction before acceptance goes back to intake decisions only
            allowed = dst in ("received", "accepted", "not_accepted", "withdrawn", "voided")
        if allowed:
            r = cases.transition(case_no, dst, reason="测试")
            assert r.value["status"] == dst and r.value["status_label"] == C.STATUS_LABELS[dst]
            e = next(e for e in r.events if e.kind == C.CASE_STATUS_CHANGED)
            assert e.payload["from"] == src and e.payload["to"] == dst
        else:
            with pytest.raises(C.IllegalTransition) as exc:
                cases.transition(case_no, dst)
            assert exc.value.key == "case_illegal_transition"
            assert C.STATUS_LABELS[src] in exc.value.message and C.STATUS_LABELS[dst] in exc.value.message
            assert cases.case(case_no) == before and hall.store.last_seq() == seq  # nothing changed


def test_correction_after_acceptance_returns_to_in_progress_only(cases: Cases) -> None:
    make_in(cases, "in_progress")
    cases.transition("K1", "correction")
    for bad in ("received", "accepted", "not_accepted"):
        with pytest.raises(C.IllegalTransition):
            cases.transition("K1", bad)
    assert cases.transition("K1", "in_progress").value["status"] == "in_progress"


def test_chinese_status_labels_are_accepted(cases: Cases) -> None:
    cases.register(payload("K2"))
    assert cases.transition("K2", "受理").value["status"] == "accepted"
    with pytest.raises(C.InvalidCase):
        cases.transition("K2", "已批准")


def test_unknown_case(cases: Cases) -> None:
    with pytest.raises(C.CaseNotFound) as exc:
        cases.transition("NOPE", "accepted")
    assert "NOPE" in exc.value.message
    with pytest.raises(C.CaseNotFound):
        cases.case("NOPE")


@pytest.mark.parametrize(("field", "value"), [
    ("case_no", ""), ("case_no", "X" * 51), ("case_no", "有中文"), ("case_no", None),
    ("case_type", 3), ("case_type", "1"), ("case_type", True),
    ("promise_days", -1), ("promise_days", 1.5), ("legal_days", "20"), ("promise_days", 30),
    ("window", "3"), ("applicant_id", "12"), ("accepted_at", "yesterday"), ("status", "approved"),
    ("version", -1), ("item_name", 5),
])
def test_central_update_validation(hall: Hall, cases: Cases, field: str, value: object) -> None:
    seq = hall.store.last_seq()
    with pytest.raises(C.InvalidCase) as exc:
        cases.apply_central_update(payload(**{field: value}), "msg-bad")
    assert field in exc.value.message and exc.value.key == "case_invalid"
    assert hall.store.last_seq() == seq


def test_promise_case_needs_a_limit(cases: Cases) -> None:
    with pytest.raises(C.InvalidCase):
        cases.register(payload("K3", promise_days=None, legal_days=None))
    p = payload("K3", promise_days=None, promised_at="2026-12-01T17:30:00+08:00")
    assert cases.register(p).value["promised_at"] == "2026-12-01 17:30"


def test_missing_case_type_and_message_id(cases: Cases) -> None:
    p = payload("K4")
    del p["case_type"]
    with pytest.raises(C.InvalidCase):
        cases.register(p)
    with pytest.raises(C.InvalidCase):
        cases.apply_central_update(payload("K4"), "")
    with pytest.raises(C.InvalidCase):
        cases.apply_central_update(["not", "a", "dict"], "m")  # type: ignore[arg-type]


def test_central_update_is_idempotent_by_message_id(hall: Hall, cases: Cases) -> None:
    first = cases.apply_central_update(payload("K5", status="受理"), "msg-1")
    seq = hall.store.last_seq()
    again = cases.apply_central_update(payload("K5", status="受理"), "msg-1")
    assert hall.store.last_seq() == seq
    assert again.value == first.value and [e.id for e in again.events] == [e.id for e in first.events]
    assert hall.store.conn().execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 1


def test_central_update_moves_status_and_refuses_illegal(cases: Cases) -> None:
    cases.apply_central_update(payload("K6", version=1), "m1")
    r = cases.apply_central_update({"case_no": "K6", "status": "受理", "version": 2}, "m2")
    assert r.value["status"] == "accepted"
    r = cases.apply_central_update({"case_no": "K6", "status": "办结", "version": 3}, "m3")
    assert r.value["status"] == "done"
    with pytest.raises(C.IllegalTransition):
        cases.apply_central_update({"case_no": "K6", "status": "在办", "version": 4}, "m4")


def test_repeated_content_under_a_new_message_id_appends_nothing(hall: Hall, cases: Cases) -> None:
    cases.apply_central_update(payload("K13", status="受理"), "m1")
    seq = hall.store.last_seq()
    r = cases.apply_central_update(payload("K13", status="受理"), "m2")
    assert r.events == [] and hall.store.last_seq() == seq and r.value["status"] == "accepted"


def test_stale_version_changes_nothing(hall: Hall, cases: Cases) -> None:
    cases.apply_central_update(payload("K7", version=5, department="社保局"), "m1")
    seq = hall.store.last_seq()
    r = cases.apply_central_update({"case_no": "K7", "department": "医保局", "version": 4}, "m2")
    assert r.value["department"] == "社保局" and hall.store.last_seq() == seq


def test_central_fields_update_and_created_in_later_state(cases: Cases) -> None:
    r = cases.apply_central_update(payload("K8", status="在办", accepted_at="2026-11-20T10:00:00+08:00"), "m1")
    assert r.value["status"] == "in_progress" and r.value["accepted_at"] == "2026-11-20 10:00"
    ev = next(e for e in r.events if e.kind == C.CASE_STATUS_CHANGED)
    assert ev.payload["from"] is None
    r = cases.apply_central_update({"case_no": "K8", "department": "医保局", "window": 2}, "m2")
    assert (r.value["department"], r.value["window"]) == ("医保局", 2)


def test_central_promise_change_updates_promised_at(cases: Cases) -> None:
    cases.apply_central_update(payload("K12", status="受理", promise_days=5, version=1), "m1")  # Tue → next Tue
    assert cases.case("K12")["promised_at"] == "2026-12-02 00:00"
    r = cases.apply_central_update({"case_no": "K12", "promise_days": 2, "version": 2}, "m2")
    assert r.value["promised_at"] == "2026-11-27 00:00" and r.value["due_at"] == "2026-11-27 00:00"


def test_naive_central_times_are_hall_local(cases: Cases) -> None:
    r = cases.apply_central_update(payload("K9", status="受理", accepted_at="2026-11-24T10:30:00"), "m1")
    assert r.value["accepted_at"] == "2026-11-24 10:30"


def test_terminal_states_record_finish(hall: Hall, cases: Cases, clock) -> None:
    make_in(cases, "in_progress", "K10")
    clock.advance(hours=2)
    r = cases.transition("K10", "done")
    assert r.value["finished_at"] == "2026-11-24 11:00"
    c = cases.case("K10")
    assert c["on_time"] is True and c["early"] is True and c["used_days"] == pytest.approx(2 / 24, abs=1e-3)


def test_link_ticket_fills_rating_case_no(hall: Hall, cases: Cases) -> None:
    cases.register(payload("L1", window=None))
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)
    hall.finish_service(1)
    rating = hall.rate(t["id"], "satisfied").value
    r = cases.link_ticket("L1", t["id"])
    assert kinds(r) == [C.CASE_LINKED] and r.value["window"] == 1
    assert hall.rating(rating["id"])["case_no"] == "L1"
    assert kinds(cases.link_ticket("L1", t["id"])) == []  # linking again changes nothing
    cases.register(payload("L2"))
    with pytest.raises(C.TicketAlreadyLinked):
        cases.link_ticket("L2", t["id"])
    with pytest.raises(TicketNotFound):
        cases.link_ticket("L2", "no-such-ticket")
    with pytest.raises(C.CaseNotFound):
        cases.link_ticket("L9", t["id"])


def test_rating_after_link_gets_case_no_in_evaluate_pass(hall: Hall, cases: Cases) -> None:
    cases.register(payload("L3"))
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)
    cases.link_ticket("L3", t["id"])
    hall.finish_service(1)
    rating = hall.rate(t["id"], "very_satisfied").value
    assert hall.rating(rating["id"])["case_no"] is None
    cases.evaluate_cards()
    assert hall.rating(rating["id"])["case_no"] == "L3"


def test_status_at_from_central(cases: Cases) -> None:
    cases.apply_central_update(payload("K11"), "m1")
    at = datetime.fromisoformat("2026-11-24T08:45:00+08:00")
    r = cases.apply_central_update({"case_no": "K11", "status": "受理", "status_at": at.isoformat()}, "m2")
    assert r.value["accepted_at"] == "2026-11-24 08:45"
