"""Window commands need a clerk signed in, and 呼叫 never closes a ticket that was only called as 办结."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.core import errors as E
from kiosk.core.config import HallConfig
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import FakeClock

COMMANDS: list[tuple[str, Callable[[Hall], Any]]] = [
    ("call next", lambda h: h.call_next(1)),
    ("call a number", lambda h: h.call_ticket(1, "A001")),
    ("recall", lambda h: h.recall(1)),
    ("no-show", lambda h: h.no_show(1)),
    ("start", lambda h: h.start_service(1)),
    ("finish", lambda h: h.finish_service(1)),
    ("transfer", lambda h: h.transfer(1, to_window=2)),
    ("hold", lambda h: h.hold(1)),
    ("resume a held ticket", lambda h: h.resume_ticket(1, "A001")),
    ("pause", lambda h: h.pause(1, "会议")),
    ("resume the window", lambda h: h.resume_window(1)),
    ("ask for a rating", lambda h: h.request_rating(1)),
]


@pytest.fixture
def empty_desk(config: HallConfig, store: Store, clock: FakeClock) -> Hall:
    """A hall where window 1 had a clerk who called A001 and signed out after serving; nobody is there now."""
    hall = Hall(config, store, clock=clock)
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    hall.sign_in(1, "c01", "王芳")
    hall.call_next(1)
    hall.start_service(1)
    hall.finish_service(1)
    hall.sign_out(1)
    return hall


@pytest.mark.parametrize("name,command", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_a_window_command_at_an_empty_desk_is_refused_and_changes_nothing(
        empty_desk: Hall, name: str, command: Callable[[Hall], Any]) -> None:
    before = empty_desk.store.last_seq()
    with pytest.raises(E.NoClerkSignedIn) as exc:
        command(empty_desk)
    assert exc.value.key == "no_clerk_signed_in"
    assert exc.value.message == "1号窗口没有工作人员签到，请先签到"
    assert empty_desk.store.last_seq() == before
    assert empty_desk.find_ticket("A002")["status"] == "waiting"


def test_signing_in_opens_the_window_and_the_call_names_the_clerk(empty_desk: Hall) -> None:
    empty_desk.sign_in(1, "c07", "李娜")
    r = empty_desk.call_next(1)
    assert r.value["number"] == "A002" and r.events[-1].payload["clerk"] == "李娜"


@pytest.mark.parametrize("call", [lambda h: h.call_next(1), lambda h: h.call_ticket(1, "A002")],
                         ids=["call next", "call a number"])
def test_calling_on_while_the_current_ticket_is_only_called_is_refused(hall: Hall, call) -> None:
    for _ in range(2):
        hall.issue_ticket("social")
    hall.call_next(1)
    before = hall.store.last_seq()
    with pytest.raises(E.CalledNotStarted) as exc:
        call(hall)
    assert exc.value.message == "A001 已叫号、尚未开始办理：请先选择“过号”或“开始办理”"
    assert hall.store.last_seq() == before
    assert hall.find_ticket("A001")["status"] == "called" and hall.counts()["_total"].get("done", 0) == 0


def test_after_no_show_or_start_the_next_call_goes_ahead(hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    hall.call_next(1)
    hall.no_show(1)  # nobody came: 过号, not 办结
    assert hall.call_next(1).value["number"] == "A002"
    hall.start_service(1)
    assert hall.call_next(1).value["number"] == "A003"  # served: this call closes A002 as 办结
    counts = hall.counts()["_total"]
    assert (counts["no_show"], counts["done"]) == (1, 1)
