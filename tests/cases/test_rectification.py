"""差评 follow-up: a bad rating opens exactly one rectification item with a working-day deadline, it goes
yellow/red like a case, and is worked through 核实 → 整改 → 回访 (or a 申诉 and its 复核) to closed — every step, and
every refusal; plus the [cases] config validation."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.core import rectify as C
from kiosk.core.cases import Cases, CaseSettings
from kiosk.core.config import loads
from kiosk.core.errors import ConfigError
from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.core.sections import read_section
from tests.cases.conftest import payload
from tests.conftest import SMALL_CONFIG

TZ = ZoneInfo("Asia/Shanghai")


def rated(hall: Hall, level: str, reason: str | None = "等候时间长") -> dict:
    t = hall.issue_ticket("tax").value.ticket  # tax: open every day, so the clock can be anywhere
    if not hall.window(2).get("clerk_id"):
        hall.sign_in(2, "S023", "王五")
    hall.call_next(2)
    hall.finish_service(2)
    return hall.rate(t["id"], level, reason=reason if Level(level).is_bad else None).value  # reasons: 差评 only


def test_bad_rating_opens_exactly_one_item(hall: Hall, cases: Cases) -> None:
    r = rated(hall, "very_dissatisfied")
    rated(hall, "satisfied")  # a good rating opens nothing
    evs = cases.evaluate_cards()
    assert [e.kind for e in evs if e.kind.startswith("rectification")] == [C.RECTIFICATION_OPENED]
    assert cases.evaluate_cards() == []
    assert cases.open_rectification(r["id"]).events == []  # already open: nothing new
    items = cases.rectifications()
    assert len(items) == 1 and items[0]["rating_id"] == r["id"] and items[0]["level_label"] == "非常不满意"
    assert items[0]["days"] == 5 and items[0]["due_at"].startswith("2026-12-02T00:00")  # Tue + 5 working days
    assert items[0]["window"] == 2 and items[0]["reason"] == "等候时间长"


def test_opened_via_command_then_not_again_by_the_scan(hall: Hall, cases: Cases) -> None:
    r = rated(hall, "dissatisfied", reason=None)  # reason pending: still a 差评
    first = cases.open_rectification(r["id"])
    assert [e.kind for e in first.events] == [C.RECTIFICATION_OPENED]
    replay = cases.open_rectification(r["id"])
    assert [e.id for e in replay.events] == [e.id for e in first.events]  # idem_key rectify:{rating_id}
    cases.evaluate_cards()
    assert len(cases.rectifications()) == 1


def test_attach_wakes_the_pass_on_every_rating(hall: Hall, cases: Cases) -> None:
    woken: list[int] = []
    unsubscribe = cases.attach(lambda: woken.append(1))
    rated(hall, "satisfied")  # a good rating: its evaluation record goes up
    assert woken == [1]
    rated(hall, "very_dissatisfied")  # a 差评: its item opens too
    assert woken == [1, 1]
    cases.evaluate_cards()  # what the woken timer runs
    assert len(cases.rectifications()) == 1
    unsubscribe()
    rated(hall, "dissatisfied")
    assert woken == [1, 1]


def test_reason_given_later_reaches_the_item(hall: Hall, cases: Cases) -> None:
    r = rated(hall, "dissatisfied", reason=None)
    cases.evaluate_cards()
    assert cases.rectifications()[0]["reason"] is None
    hall.complete_rating_reason(r["id"], "办事指南与要求不一致")
    cases.evaluate_cards()
    assert cases.rectifications()[0]["reason"] == "办事指南与要求不一致"


def test_opened_after_a_restart(config, store, clock) -> None:
    """The rating was committed but the process died before any pass: the next pass opens it."""
    hall = Hall(config, store, clock=clock)
    rated(hall, "very_dissatisfied")
    cases = Cases(Hall(config, store, clock=clock))
    cases.evaluate_cards()
    assert len(cases.rectifications()) == 1


def test_item_goes_yellow_then_red_and_the_card_clears_at_closing(hall: Hall, cases: Cases, clock) -> None:
    rated(hall, "very_dissatisfied")
    cases.evaluate_cards()
    item = cases.rectifications()[0]
    seen = []
    until = datetime(2026, 12, 3, 9, tzinfo=TZ)
    while clock.t < until:
        clock.advance(hours=1)
        seen += [(clock.t, e.payload["to"]) for e in cases.evaluate_cards() if e.kind == C.RECTIFICATION_CARD_CHANGED]
    assert seen == [(datetime(2026, 12, 1, 0, tzinfo=TZ).astimezone(UTC), "yellow"),
                    (datetime(2026, 12, 2, 0, tzinfo=TZ).astimezone(UTC), "red")]
    assert cases.card_counts()["rectify_red"] == 1
    cases.verify_rectification(item["id"], valid=True, note="属实：高峰期仅开一个窗口", by="M001")
    cases.rectify(item["id"], action="增开周末窗口，约谈窗口人员", responsible="S023", by="M001")
    done = cases.revisit(item["id"], contacted=True, result="电话回访，群众表示认可", satisfied=True, by="M002")
    assert done.value["stage"] == "closed" and done.value["closed_on_time"] is False
    assert [e.kind for e in done.events] == [C.RECTIFICATION_CARD_CHANGED, C.RECTIFICATION_STEP,
                                             C.RECTIFICATION_CLOSED]
    assert done.events[0].payload["to"] == "none" and cases.card_counts()["rectify_red"] == 0
    assert cases.rectifications() == [] and len(cases.rectifications(open_only=False)) == 1


def open_item(hall: Hall, cases: Cases) -> dict:
    hall.sign_in(2, "S023", "王五")
    rated(hall, "very_dissatisfied")
    cases.evaluate_cards()
    item = cases.rectifications()[0]
    assert item["stage"] == "verify" and item["stage_label"] == "待核实" and item["clerk_id"] == "S023"
    return item


def test_full_loop_verify_rectify_revisit(hall: Hall, cases: Cases, clock) -> None:
    item = open_item(hall, cases)
    r = cases.verify_rectification(item["id"], valid=True, note="调阅监控，属实", by="M001")
    assert r.value["stage"] == "rectify" and r.value["valid"] is True
    (step,) = [e for e in r.events if e.kind == C.RECTIFICATION_STEP]
    assert step.payload["step"] == "verify" and step.payload["by"] == "M001" and step.payload["label"] == "核实"
    assert step.payload["detail"] == {"valid": True, "note": "调阅监控，属实", "evidence": ""}
    clock.advance(days=1)
    r = cases.rectify(item["id"], action="窗口人员业务培训", responsible="S023", by="M001")
    assert r.value["stage"] == "revisit" and r.value["responsible"] == "S023"
    r = cases.revisit(item["id"], contacted=True, result="群众满意整改结果", satisfied=True, by="M002")
    v = r.value
    assert v["stage"] == "closed" and v["status"] == "closed" and v["outcome"] == "rectified"
    assert v["outcome_label"] == "已整改并回访" and v["satisfied"] is True and v["contacted"] is True
    assert v["closed_on_time"] is True
    detail = cases.rectification(item["id"])
    assert [(s["step"], s["by"], s["stage"]) for s in detail["steps"]] == [
        ("verify", "M001", "rectify"), ("rectify", "M001", "revisit"), ("revisit", "M002", "closed")]
    assert detail["steps"][2]["satisfied"] is True and detail["steps"][1]["action"] == "窗口人员业务培训"


def test_verify_invalid_closes_with_reason_and_evidence(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    with pytest.raises(C.FieldRequired, match="证据"):
        cases.verify_rectification(item["id"], valid=False, note="群众误评", by="M001")
    r = cases.verify_rectification(item["id"], valid=False, note="群众误按评价键", evidence="监控 2026-11-24 09:12",
                                   by="M001")
    assert r.value["stage"] == "closed" and r.value["outcome"] == "invalid" and r.value["valid"] is False
    assert [e.kind for e in r.events][-2:] == [C.RECTIFICATION_STEP, C.RECTIFICATION_CLOSED]


def test_revisit_not_contacted_closes_and_records_it(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    cases.verify_rectification(item["id"], valid=True, note="属实", by="M001")
    cases.rectify(item["id"], action="调整叫号顺序", responsible="S023", by="M001")
    with pytest.raises(C.NotContacted):
        cases.revisit(item["id"], contacted=False, result="三次电话未接通", satisfied=False, by="M002")
    r = cases.revisit(item["id"], contacted=False, result="三次电话未接通", by="M002")
    assert r.value["contacted"] is False and r.value["satisfied"] is None and r.value["stage"] == "closed"


def test_personal_numbers_in_a_step_are_masked(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    cases.verify_rectification(item["id"], valid=True, note="群众 13812345678（身份证 11010519491231002X）来电",
                               by="M001")
    (step,) = cases.rectification(item["id"])["steps"]
    assert "13812345678" not in step["note"] and "11010519491231002X" not in step["note"]
    assert "138****5678" in step["note"]
    rows = hall.store.conn().execute("SELECT detail FROM rectification_steps").fetchall()
    payloads = hall.store.conn().execute("SELECT payload FROM events WHERE kind = 'rectification.step'").fetchall()
    assert all("13812345678" not in r[0] for r in rows + payloads)


def test_revisit_dissatisfied_is_recorded(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    cases.verify_rectification(item["id"], valid=True, note="属实", by="M001")
    cases.rectify(item["id"], action="调整叫号顺序", responsible="S023", by="M001")
    r = cases.revisit(item["id"], contacted=True, result="群众仍不满意等候时间", satisfied=False, by="M002")
    assert r.value["satisfied"] is False and r.value["outcome"] == "rectified"


def test_appeal_upheld_closes(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    r = cases.appeal_rectification(item["id"], reason="群众要求办理不符合条件的业务", by="S023")
    assert r.value["stage"] == "appeal" and r.value["appeal_from"] == "verify" and r.value["appeal_by"] == "S023"
    with pytest.raises(C.SelfDecision):
        cases.decide_appeal(item["id"], upheld=True, note="自己复核", by="S023")
    r = cases.decide_appeal(item["id"], upheld=True, note="经复核，申诉成立", by="M001")
    assert r.value["stage"] == "closed" and r.value["outcome"] == "appeal_upheld"


def test_appeal_rejected_goes_back_and_only_once(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    cases.verify_rectification(item["id"], valid=True, note="属实", by="M001")
    cases.appeal_rectification(item["id"], reason="当日系统故障", by="S023")
    with pytest.raises(C.WrongStage, match=r"申诉复核中.*整改"):
        cases.rectify(item["id"], action="培训", responsible="S023", by="M001")
    r = cases.decide_appeal(item["id"], upheld=False, note="系统当日正常", by="M001")
    assert r.value["stage"] == "rectify"  # back to where the appeal was made
    with pytest.raises(C.AppealUsed):
        cases.appeal_rectification(item["id"], reason="再次申诉", by="S023")
    cases.rectify(item["id"], action="培训", responsible="S023", by="M001")
    with pytest.raises(C.WrongStage):  # the rectification is reported: too late to appeal
        cases.appeal_rectification(item["id"], reason="x", by="S023")


def test_only_the_clerk_concerned_may_appeal(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    with pytest.raises(C.NotOwnItem, match="S023"):
        cases.appeal_rectification(item["id"], reason="不是我", by="S099")
    assert cases.my_rectifications("S023")[0]["id"] == item["id"] and cases.my_rectifications("S099") == []


@pytest.mark.parametrize(("call", "error"), [
    (lambda c, i: c.verify_rectification(i, valid="yes", note="属实", by="M001"), "FieldRequired"),
    (lambda c, i: c.verify_rectification(i, valid=True, note="  ", by="M001"), "FieldRequired"),
    (lambda c, i: c.verify_rectification(i, valid=True, note="长" * 501, by="M001"), "FieldTooLong"),
    (lambda c, i: c.verify_rectification(i, valid=True, note="属实", by=""), "OperatorRequired"),
    (lambda c, i: c.verify_rectification(i, valid=True, note="属实", by="M 001"), "OperatorRequired"),
    (lambda c, i: c.rectify(i, action="培训", responsible="S023", by="M001"), "WrongStage"),
    (lambda c, i: c.revisit(i, contacted=True, result="好", satisfied=True, by="M001"), "WrongStage"),
    (lambda c, i: c.decide_appeal(i, upheld=True, note="成立", by="M001"), "WrongStage"),
    (lambda c, i: c.verify_rectification("nope", valid=True, note="属实", by="M001"), "RectificationNotFound"),
    (lambda c, i: c.rectification("nope"), "RectificationNotFound"),
])
def test_refusals_change_nothing(hall: Hall, cases: Cases, call, error: str) -> None:
    item = open_item(hall, cases)
    before = hall.store.last_seq()
    with pytest.raises(getattr(C, error)):
        call(cases, item["id"])
    assert hall.store.last_seq() == before and cases.rectification(item["id"])["stage"] == "verify"


def test_rectify_and_revisit_refusals(hall: Hall, cases: Cases) -> None:
    item = open_item(hall, cases)
    cases.verify_rectification(item["id"], valid=True, note="属实", by="M001")
    with pytest.raises(C.OperatorRequired, match="整改责任人"):
        cases.rectify(item["id"], action="培训", responsible="", by="M001")
    with pytest.raises(C.FieldRequired, match="整改措施"):
        cases.rectify(item["id"], action="", responsible="S023", by="M001")
    cases.rectify(item["id"], action="培训", responsible="S023", by="M001")
    with pytest.raises(C.FieldRequired, match="群众是否满意"):
        cases.revisit(item["id"], contacted=True, result="已回访", by="M002")
    with pytest.raises(C.FieldRequired, match="回访情况"):
        cases.revisit(item["id"], contacted=True, result="", satisfied=True, by="M002")
    cases.revisit(item["id"], contacted=True, result="已回访", satisfied=True, by="M002")
    with pytest.raises(C.RectificationClosed):
        cases.verify_rectification(item["id"], valid=True, note="再核实", by="M001")


def test_item_carries_the_linked_case(hall: Hall, cases: Cases) -> None:
    cases.register(payload("R1"))
    t = hall.issue_ticket("tax").value.ticket
    hall.call_next(2)
    cases.link_ticket("R1", t["id"])
    hall.finish_service(2)
    hall.rate(t["id"], "very_dissatisfied", reason="材料要求不清")
    cases.evaluate_cards()
    assert cases.rectifications()[0]["case_no"] == "R1"


@pytest.mark.parametrize("days", [5, 7, 15])
def test_region_deadline_from_config(store, clock, days: int) -> None:
    cfg = loads(SMALL_CONFIG + f"\n[cases]\nrectify_days = {days}\nyellow_margin_days = 0.5\n", "t.toml")
    hall = Hall(cfg, store, clock=clock)
    cases = Cases(hall)
    assert cases.settings.rectify_days == days and cases.settings.yellow_margin_days == 0.5
    rated(hall, "very_dissatisfied")
    cases.evaluate_cards()
    due = datetime.fromisoformat(cases.rectifications()[0]["due_at"])
    expected = hall.calendar.add_working_days(datetime(2026, 11, 24).date(), days) + timedelta(days=1)
    assert due.astimezone(TZ).date() == expected


@pytest.mark.parametrize(("section", "option"), [
    ({"rectify_days": 10}, "rectify_days"), ({"rectify_days": "5"}, "rectify_days"),
    ({"yellow_margin_days": -1}, "yellow_margin_days"), ({"yellow_margin_days": True}, "yellow_margin_days"),
    ({"lookup_max_failures": 0}, "lookup_max_failures"), ({"lookup_max_failures": 2.5}, "lookup_max_failures"),
    ({"lookup_window_minutes": 99999}, "lookup_window_minutes"), ({"keep_full_name": "yes"}, "keep_full_name"),
    ({"rectfy_days": 5}, "rectfy_days"),
])
def test_bad_cases_config_names_option_and_section(section: dict, option: str) -> None:
    with pytest.raises(ConfigError) as exc:
        read_section(CaseSettings, section, "cases")
    assert exc.value.option == option and exc.value.section == "cases"
    assert f"'{option}'" in str(exc.value) and "[cases]" in str(exc.value)


def test_config_error_at_load() -> None:
    with pytest.raises(ConfigError, match=r"option 'rectify_days' in section \[cases\] must be one of 5, 7, 15 "
                       r"\(got 3\) \(line \d+\)"):
        loads(SMALL_CONFIG + "\n[cases]\nrectify_days = 3\n", "t.toml")


def test_the_signed_in_person_takes_the_step_without_naming_themselves(hall: Hall, cases: Cases) -> None:
    from kiosk.core import context

    item = open_item(hall, cases)
    with context.acting(context.staff("M001", "dashboard", "manager")):
        r = cases.verify_rectification(item["id"], valid=True, note="调阅监控，属实")  # no `by`: the context says
        (step,) = [e for e in r.events if e.kind == C.RECTIFICATION_STEP]
        assert step.payload["by"] == "M001" and (step.actor, step.terminal) == ("staff:M001", "dashboard")
        with pytest.raises(C.NotSignedInAs) as exc:  # never in someone else's name
            cases.rectify(item["id"], action="培训", responsible="S023", by="M002")
        assert exc.value.message == "已登录的是工号 M001，不能以工号 M002 的名义填写经办人"
        cases.rectify(item["id"], action="培训", responsible="S023", by="M001")  # naming oneself is fine
    assert cases.rectification(item["id"])["stage"] == "revisit"
    with pytest.raises(C.OperatorRequired):  # nobody signed in and nobody named
        cases.revisit(item["id"], contacted=False, result="电话无人接听")
