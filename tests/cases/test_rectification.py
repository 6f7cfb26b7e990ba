"""差评 follow-up: a bad rating opens exactly one rectification item with a working-day deadline, it goes
yellow/red like a case, and is closed with the response; plus the [cases] config validation."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.core import cases as C
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


def test_attach_wakes_the_pass_on_a_bad_rating_only(hall: Hall, cases: Cases) -> None:
    woken: list[int] = []
    unsubscribe = cases.attach(lambda: woken.append(1))
    rated(hall, "satisfied")
    assert woken == []
    rated(hall, "very_dissatisfied")
    assert woken == [1]
    cases.evaluate_cards()  # what the woken timer runs
    assert len(cases.rectifications()) == 1
    unsubscribe()
    rated(hall, "dissatisfied")
    assert woken == [1]


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


def test_item_goes_yellow_then_red_and_closes(hall: Hall, cases: Cases, clock) -> None:
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
    with pytest.raises(C.ResponseRequired):
        cases.close_rectification(item["id"], "  ")
    done = cases.close_rectification(item["id"], "已约谈窗口人员，增设周末窗口，已电话回访群众")
    assert done.value["status"] == "closed" and done.value["closed_on_time"] is False
    assert [e.kind for e in done.events] == [C.RECTIFICATION_CARD_CHANGED, C.RECTIFICATION_CLOSED]
    assert cases.rectifications() == [] and len(cases.rectifications(open_only=False)) == 1
    with pytest.raises(C.RectificationClosed):
        cases.close_rectification(item["id"], "再次答复")
    with pytest.raises(C.RectificationNotFound):
        cases.close_rectification("nope", "答复")


def test_closed_on_time(hall: Hall, cases: Cases, clock) -> None:
    rated(hall, "dissatisfied")
    cases.evaluate_cards()
    clock.advance(days=1)
    done = cases.close_rectification(cases.rectifications()[0]["id"], "已整改")
    assert done.value["closed_on_time"] is True


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
