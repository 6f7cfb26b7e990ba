"""Roles (kiosk/core/staff.py authorize): in a hall with accounts a manager's command needs a signed-in manager or
admin, an admin's command an admin; nobody signed in, a clerk, a disabled account are refused in Chinese.  The CLI,
the province and the hall's own code are never asked; a hall without accounts works as before; issuing and calling
cost no extra SQL."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kiosk.core import context as C
from kiosk.core import staff as S
from kiosk.core.errors import HallError
from kiosk.core.hall import Hall
from tests.conftest import FakeClock

PIN = "246810"
DASH = "dashboard"


def accounts(hall: Hall) -> Hall:
    """A clerk (c1, window 1), a manager (m1) and an admin (a1), added at the console."""
    with C.acting(C.CONSOLE):
        for no, role in (("c1", "clerk"), ("m1", "manager"), ("a1", "admin")):
            S.add(hall, no, "测试", role, PIN)
        S.set_roster(hall, "c1", [1])
    return hall


def at_dash(no: str, role: str) -> C.Operator:
    return C.staff(no, DASH, role)


def waiting_ticket(hall: Hall) -> str:
    with C.acting(C.Operator("citizen", "kiosk")):
        return str(hall.issue_ticket("tax").value.ticket["number"])


# --- the guarded sets -----------------------------------------------------------------------------------------------
MANAGER_CALLS: list[tuple[str, Callable[[Hall], Any]]] = [
    ("void", lambda h: h.void(waiting_ticket(h), "测试")),
    ("close_business", lambda h: h.close_business("tax", "系统维护")),
    ("open_business", lambda h: h.open_business("tax")),
    ("set_notice", lambda h: h.set_notice("今日下午停电")),
    ("rectification_rectify", lambda h: h.run("rectification_rectify", None, lambda tx: None)),
    ("rectification_decide", lambda h: h.run("rectification_decide", None, lambda tx: None)),
]
ADMIN_CALLS: list[tuple[str, Callable[[Hall], Any]]] = [
    ("staff_add", lambda h: S.add(h, "n9", "新人", "clerk", PIN)),
    ("staff_disable", lambda h: S.disable(h, "c1")),
    ("staff_reset_pin", lambda h: S.reset_pin(h, "c1", "135790")),
    ("staff_roster", lambda h: S.set_roster(h, "c1", [1, 2])),
    ("purge_personal", lambda h: h.run("purge_personal", None, lambda tx: None)),
    ("calendar_apply", lambda h: h.run("calendar_apply", None, lambda tx: None)),
]


def test_the_guarded_sets_name_every_call_tested_here() -> None:
    assert {n for n, _ in MANAGER_CALLS} == set(S.MANAGER_COMMANDS)
    assert {n for n, _ in ADMIN_CALLS} == set(S.ADMIN_COMMANDS)
    assert not set(S.MANAGER_COMMANDS) & set(S.ADMIN_COMMANDS)


@pytest.mark.parametrize(("name", "call"), MANAGER_CALLS, ids=[n for n, _ in MANAGER_CALLS])
@pytest.mark.parametrize("op", [C.anonymous(DASH), C.Operator("citizen", "kiosk"), C.Operator("system", "screen"),
                                C.device("printer-1")], ids=["anonymous", "citizen", "screen", "device"])
def test_a_manager_command_needs_someone_signed_in(hall: Hall, name: str, call: Callable[[Hall], Any],
                                                   op: C.Operator) -> None:
    accounts(hall)
    with C.acting(op), pytest.raises(S.ManagerRequired) as err:
        call(hall)
    assert str(err.value.message) == f"需要负责人登录后才能{S.MANAGER_COMMANDS[name]}"
    assert err.value.key == "staff_manager_required"


@pytest.mark.parametrize(("name", "call"), ADMIN_CALLS, ids=[n for n, _ in ADMIN_CALLS])
def test_an_admin_command_needs_an_admin_signed_in(hall: Hall, name: str, call: Callable[[Hall], Any]) -> None:
    accounts(hall)
    with C.acting(C.anonymous(DASH)), pytest.raises(S.AdminRequired) as err:
        call(hall)
    assert err.value.message == f"需要系统管理员登录后才能{S.ADMIN_COMMANDS[name]}"
    for no, role in (("c1", "clerk"), ("m1", "manager")):
        with C.acting(at_dash(no, role)), pytest.raises(S.RoleTooLow) as low:
            call(hall)
        assert low.value.message == f"{S.ROLES[role]} {no} 无权{S.ADMIN_COMMANDS[name]}，需要系统管理员登录"
    with C.acting(at_dash("a1", "admin")):
        call(hall)  # the admin may


def test_a_clerk_cannot_void_and_the_refusal_says_why(hall: Hall) -> None:
    accounts(hall)
    number = waiting_ticket(hall)
    with C.acting(C.staff("c1", "caller-1", "clerk")), pytest.raises(S.RoleTooLow) as err:
        hall.void(number)
    assert err.value.message == "窗口人员 c1 无权作废号票，需要负责人登录"
    assert hall.find_ticket(number)["status"] == "waiting"


def test_the_role_is_the_accounts_not_the_one_claimed(hall: Hall) -> None:
    """A context that says "manager" for a clerk's account gets the clerk's rights."""
    accounts(hall)
    with C.acting(C.staff("c1", DASH, "manager")), pytest.raises(S.RoleTooLow):
        hall.set_notice("我说我是负责人")


def test_an_account_disabled_since_signing_in_is_refused(hall: Hall) -> None:
    accounts(hall)
    with C.acting(C.CONSOLE):
        S.disable(hall, "m1")
    with C.acting(at_dash("m1", "manager")), pytest.raises(S.StaffDisabled) as err:
        hall.set_notice("停用后")
    assert err.value.message == "工号 m1 已停用，请联系负责人"


def test_a_staff_actor_without_an_account_is_nobody(hall: Hall) -> None:
    """c01 signed in by name before accounts existed: not an account, so not a manager."""
    accounts(hall)
    with C.acting(at_dash("c01", "manager")), pytest.raises(S.ManagerRequired):
        hall.set_notice("无账号")


# --- allowed --------------------------------------------------------------------------------------------------------
def test_a_manager_voids_and_the_event_names_them(hall: Hall) -> None:
    accounts(hall)
    number = waiting_ticket(hall)
    with C.acting(at_dash("m1", "manager")):
        r = hall.void(number, "打印失败")
    assert [(e.kind, e.actor, e.terminal) for e in r.events] == [("ticket.voided", "staff:m1", DASH)]
    with C.acting(at_dash("a1", "admin")):  # an admin may do a manager's work too
        hall.close_business("tax", "系统维护")
        hall.open_business("tax")


@pytest.mark.parametrize("op", [C.CONSOLE, C.CENTRAL, C.SYSTEM, None], ids=["console", "central", "system", "none"])
def test_the_console_the_province_and_the_hall_itself_are_never_asked(hall: Hall, op: C.Operator | None) -> None:
    accounts(hall)

    @contextmanager
    def ctx() -> Iterator[None]:
        if op is None:
            yield
        else:
            with C.acting(op):
                yield

    with ctx():
        r = S.add(hall, "n1", "新人", "clerk", PIN)
        hall.set_notice("通知")
        hall.void(waiting_ticket(hall))
    assert r.events[0].actor == (op or C.SYSTEM).actor


def test_a_hall_without_accounts_works_as_before(hall: Hall) -> None:
    with C.acting(C.anonymous(DASH)):
        hall.set_notice("通知")
        hall.void(waiting_ticket(hall))
        S.add(hall, "a1", "管理员", "admin", PIN)  # the first account may come from any screen
    with C.acting(C.anonymous(DASH)), pytest.raises(S.AdminRequired):
        S.add(hall, "a2", "管理员", "admin", PIN)  # from then on the roles hold


def test_window_commands_and_issuing_stay_open(hall: Hall) -> None:
    """A caller screen before its clerk signs in over PIN: the window's commands are the window's clerk's."""
    accounts(hall)
    waiting_ticket(hall)
    with C.acting(C.anonymous("caller-2")):
        r = hall.call_next(2)
    assert r.events[0].actor == "staff:c02"


# --- cost -----------------------------------------------------------------------------------------------------------
def staff_sql(seen: list[str]) -> list[str]:
    return [s for s in seen if "FROM staff" in s or "JOIN staff" in s]


@contextmanager
def statements(hall: Hall) -> Iterator[list[str]]:
    seen: list[str] = []
    conn: sqlite3.Connection = hall.store.conn()
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def test_issuing_and_calling_ask_nothing_about_staff(hall: Hall) -> None:
    accounts(hall)
    waiting_ticket(hall)  # the day's rollover and sweeps are done
    with statements(hall) as seen, C.acting(C.Operator("citizen", "kiosk")):
        hall.issue_ticket("tax")
    assert seen and not staff_sql(seen)
    with statements(hall) as seen, C.acting(C.anonymous("caller-2")):
        hall.call_next(2)
    assert seen and not staff_sql(seen)


def test_a_guarded_command_from_the_console_asks_nothing_either(hall: Hall) -> None:
    accounts(hall)
    with statements(hall) as seen, C.acting(C.CONSOLE):
        hall.set_notice("x")
    assert not staff_sql(seen)


# --- verify: signing in at a terminal -------------------------------------------------------------------------------
def test_verify_returns_the_account_and_records_it(hall: Hall) -> None:
    accounts(hall)
    with C.acting(C.anonymous(DASH)):
        m = S.verify(hall, " m1 ", PIN)
    assert (m.staff_no, m.role) == ("m1", "manager")
    e = hall.events_after(hall.store.last_seq() - 1)[0]
    assert (e.kind, e.payload, e.actor, e.terminal) == (S.STAFF_SIGNED_IN_TERMINAL, {"staff_no": "m1",
                                                                                       "role": "manager"},
                                                        "staff:m1", DASH)
    assert PIN not in str(e.payload)
    assert S.Staff(hall).verify("a1", PIN)["role"] == "admin"  # the facade the dashboard and the LAN use


def test_verify_refuses_a_wrong_pin_then_locks(hall: Hall, clock: FakeClock) -> None:
    accounts(hall)
    for left in range(S.MAX_FAILURES - 1, 0, -1):
        with pytest.raises(S.WrongPin) as err:
            S.verify(hall, "m1", "000000")
        assert err.value.message == f"工号或密码不正确，还可以再试 {left} 次"
    with pytest.raises(S.StaffLocked) as locked:
        S.verify(hall, "m1", "000000")
    assert locked.value.message.startswith("密码错误次数过多，账号已锁定至 ")
    with pytest.raises(S.StaffLocked):
        S.verify(hall, "m1", PIN)  # the right PIN does not open a lock
    refused = [e.payload for e in hall.events_after(0) if e.kind == S.STAFF_SIGNIN_REFUSED]
    assert refused[-1]["window"] is None and refused[-1]["reason"] == "locked"
    clock.advance(minutes=S.LOCK_MINUTES + 1)
    assert S.verify(hall, "m1", PIN).staff_no == "m1"


def test_verify_shares_the_failure_count_with_window_sign_in(hall: Hall) -> None:
    """Four wrong PINs at a window and one at the dashboard lock the account: one count, wherever it is typed."""
    accounts(hall)
    hall.sign_out(1)
    for _ in range(S.MAX_FAILURES - 1):
        with pytest.raises(S.WrongPin):
            hall.sign_in_staff(1, "c1", "000000")
    with pytest.raises(S.StaffLocked):
        S.verify(hall, "c1", "000000")


@pytest.mark.parametrize(("who", "err", "message"), [
    ("nobody", S.WrongPin, "工号或密码不正确，还可以再试 5 次"),  # an unknown number is said as a wrong PIN
    ("m1", S.StaffDisabled, "工号 m1 已停用，请联系负责人"),
])
def test_verify_refuses_unknown_and_disabled(hall: Hall, who: str, err: type[HallError], message: str) -> None:
    accounts(hall)
    with C.acting(C.CONSOLE):
        S.disable(hall, "m1")
    with pytest.raises(err) as e:
        S.verify(hall, who, PIN)
    assert e.value.message == message


# --- the messages themselves ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("err", "params", "text"), [
    (S.ManagerRequired, {"action": "作废号票"}, "需要负责人登录后才能作废号票"),
    (S.AdminRequired, {"action": "添加人员账号"}, "需要系统管理员登录后才能添加人员账号"),
    (S.RoleTooLow, {"role": "窗口人员", "staff_no": "c1", "action": "发布大厅公告", "needed": "负责人"},
     "窗口人员 c1 无权发布大厅公告，需要负责人登录"),
])
def test_the_refusals_speak_chinese(err: type[HallError], params: dict[str, str], text: str) -> None:
    assert err(**params).message == text


def test_the_anonymous_actor_is_a_known_kind() -> None:
    assert "anonymous" in C.ACTOR_KINDS
    op = C.anonymous("lan:dash-1")
    assert (op.actor, op.terminal, op.is_person, op.staff_no) == ("anonymous", "lan:dash-1", False, None)


# --- one's own window (for pause / resume_window; the hall's window commands call it) ------------------------------
def _pause_check(hall: Hall, window: int) -> Any:
    clerk = hall.window(window)["clerk_id"]
    return hall.run("pause_check", None, lambda tx: S.authorize_window(tx, f"{window}号窗口", clerk))


def test_a_clerk_acts_only_at_their_own_window(hall: Hall) -> None:
    accounts(hall)
    hall.sign_out(1)
    hall.sign_in_staff(1, "c1", PIN)
    with C.acting(C.staff("c1", "caller-1", "clerk")):
        _pause_check(hall, 1)
        with pytest.raises(S.NotOwnWindow) as err:
            _pause_check(hall, 2)
    assert err.value.message == "窗口人员 c1 只能操作自己签到的窗口，2号窗口须由负责人处理"
    with C.acting(at_dash("m1", "manager")):
        _pause_check(hall, 2)  # a manager covers any window
    with C.acting(C.anonymous("caller-2")):
        _pause_check(hall, 2)  # the caller's own screen: its window's clerk


def test_window_commands_by_a_person_signed_in_elsewhere_need_a_manager(hall: Hall) -> None:
    """The hall's own window commands (pause, resume, call…) run the check: a clerk signed in at window 1 cannot
    pause window 2 from anywhere; a manager at the dashboard can, and the event names the manager."""
    accounts(hall)
    hall.sign_out(1)
    hall.sign_in_staff(1, "c1", PIN)
    with C.acting(C.staff("c1", "lan:caller-1", "clerk")):
        with pytest.raises(S.NotOwnWindow):
            hall.pause(2, "午休")
        with pytest.raises(S.NotOwnWindow):
            hall.call_next(2)
        hall.pause(1, "午休")  # their own window
    assert hall.window(2)["state"] != "paused"
    with C.acting(at_dash("m1", "manager")):
        res = hall.pause(2, "培训")
    assert [(e.kind, e.actor) for e in res.events] == [("window.paused", "staff:m1")]
    with C.acting(C.anonymous("caller-2")):  # the window's own caller screen: its signed-in clerk
        res = hall.resume_window(2)
    assert [(e.kind, e.actor, e.terminal) for e in res.events] == [("window.resumed", "staff:c02", "caller-2")]
