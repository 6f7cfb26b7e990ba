"""A LAN screen acts for the person signed in there, never beyond: the server answers a staff.verify with a session
token it signed for that client, and honours it only while it is its own, for that client, unexpired and its account
active.  Anything else — a forged token, another client's, an expired one, a disabled account — is the screen's
own anonymous operator, which a manager's command refuses."""
from __future__ import annotations

import time

import pytest

from kiosk.core import context as C
from kiosk.core import staff as S
from sync import contract
from sync.lan import LanRefused, LanServer
from tests.sync.test_lan import Lan, broker, hall, lan  # noqa: F401  (its hall, broker and LAN fixtures)

PIN = "246810"


def accounts(lan: Lan) -> None:  # noqa: F811
    with C.acting(C.CONSOLE):
        S.add(lan.hall, "m1", "张经理", "manager", PIN)
        S.add(lan.hall, "a1", "李管理", "admin", PIN)
        S.add(lan.hall, "c1", "王芳", "clerk", PIN)


def last(lan: Lan, kind: str) -> tuple[str, str]:  # noqa: F811
    e = [e for e in lan.hall.events_after(0) if e.kind == kind][-1]
    return e.actor, e.terminal


def test_a_signed_in_manager_acts_as_themselves(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("未登录")
    member = dash.staff.verify("m1", PIN)
    assert member["role"] == "manager" and "session" not in member and dash.session
    assert last(lan, S.STAFF_SIGNED_IN_TERMINAL) == ("staff:m1", "lan:dash1")
    dash.set_notice("下午停电")
    assert last(lan, "notice.changed") == ("staff:m1", "lan:dash1")
    with pytest.raises(S.RoleTooLow):  # a manager is not an admin, over the LAN too
        dash.staff.add("n1", "新人", "clerk", PIN)
    dash.staff.end_session()
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("退出后")


def test_wrong_pins_over_the_lan_count_and_lock(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    for _ in range(S.MAX_FAILURES - 1):
        with pytest.raises(S.WrongPin):
            dash.staff.verify("m1", "000000")
    with pytest.raises(S.StaffLocked) as e:
        dash.staff.verify("m1", "000000")
    assert e.value.message.startswith("密码错误次数过多")
    assert dash.session is None


def test_a_forged_token_is_nobody(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    server = lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    dash.staff.verify("c1", PIN)  # a clerk signs in ...
    _claims, _, sig = dash.session.rpartition(".")  # type: ignore[union-attr]
    claims = server.session_token("dash1", "m1", "manager").rpartition(".")[0]
    dash.session = f"{claims}.{sig}"  # ... and pastes a manager's claims under their own signature
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("伪造")
    dash.session = "bm90aGluZw.00"
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("伪造")
    other = LanServer(lan.hall, lan.broker.settings(client_id="other"))  # another server's key: not this one's
    dash.session = other.session_token("dash1", "m1", "manager")
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("伪造")


def test_another_clients_token_is_nobody(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    lan.server(clients={"dash1": "dashboard", "dash2": "dashboard"})
    dash1, dash2 = lan.remote("dash1"), lan.remote("dash2")
    dash1.staff.verify("m1", PIN)
    dash2.session = dash1.session  # copied off the first PC
    with pytest.raises(S.ManagerRequired):
        dash2.set_notice("别人的令牌")
    dash1.set_notice("本人")


def test_an_expired_token_is_nobody(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    server = lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    dash.session = server.session_token("dash1", "m1", "manager", expires=time.time() - 1)
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("过期")
    dash.session = server.session_token("dash1", "m1", "manager", expires=time.time() + 60)
    dash.set_notice("未过期")


def test_a_disabled_account_or_a_changed_role_ends_the_session(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    server = lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    dash.staff.verify("m1", PIN)
    with C.acting(C.CONSOLE):
        S.disable(lan.hall, "m1")
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("停用后")
    dash.session = server.session_token("dash1", "c1", "manager")  # signed, but c1's account is a clerk's
    with pytest.raises(S.ManagerRequired):
        dash.set_notice("角色不符")


def test_a_lan_caller_is_anonymous_until_someone_signs_in(lan: Lan) -> None:  # noqa: F811
    accounts(lan)
    lan.server(clients={"caller1": "caller", "kiosk1": "kiosk"})
    caller = lan.remote("caller1")
    assert lan.servers[0]._operator("caller1") == C.anonymous("lan:caller1")
    assert lan.servers[0]._operator("kiosk1") == C.Operator("citizen", "lan:kiosk1")
    caller.staff.verify("m1", PIN)  # a covering manager at the caller
    assert caller.session
    with pytest.raises(LanRefused):  # the caller's allow-list has no set_notice: a person never widens it
        caller.set_notice("负责人在窗口")


def test_the_request_carries_the_session_field() -> None:
    req = contract.decode_lan_request(b'{"v":1,"id":"r1","args":[],"kwargs":{},"session":"abc.def"}')
    assert req.session == "abc.def"
    assert contract.decode_lan_request(b'{"v":1,"id":"r1"}').session is None


def test_a_dashboard_acts_on_a_window_only_with_a_manager_signed_in(lan: Lan) -> None:  # noqa: F811
    """A caller's window commands are its window's clerk's; a dashboard is nobody's window: pausing one from there
    (or calling, or signing its clerk out) needs a signed-in manager, whom the event then names."""
    accounts(lan)
    lan.server(clients={"dash1": "dashboard", "call1": "caller"})
    dash, caller = lan.remote("dash1"), lan.remote("call1")
    with pytest.raises(S.ManagerRequired) as e:
        dash.pause(1, "午休")
    assert e.value.message == "需要负责人登录后才能操作窗口"
    with pytest.raises(S.ManagerRequired):
        dash.sign_out(1)
    caller.pause(1, "午休")  # the window's own caller: its signed-in clerk
    assert last(lan, "window.paused")[1] == "lan:call1"
    dash.staff.verify("m1", PIN)
    dash.resume_window(1)
    assert last(lan, "window.resumed") == ("staff:m1", "lan:dash1")
