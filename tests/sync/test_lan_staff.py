"""A LAN caller signs in with a staff number and PIN and signs out; refusals arrive typed; a kiosk cannot sign in."""
from __future__ import annotations

import pytest

from kiosk.core import staff as S
from sync.lan import LanRefused
from tests.sync.test_lan import Lan, broker, hall, lan  # noqa: F401  (its hall, broker and LAN fixtures)


def test_caller_signs_in_with_pin_over_the_lan(lan: Lan) -> None:  # noqa: F811
    S.add(lan.hall, "1001", "王芳", "clerk", "246810", card="B77")
    S.set_roster(lan.hall, "1001", [1])
    lan.server(clients={"caller1": "caller", "kiosk1": "kiosk"})
    caller, kiosk = lan.remote("caller1"), lan.remote("kiosk1")
    assert caller.has_staff_accounts() is True
    with pytest.raises(S.WrongPin) as e:
        caller.sign_in_staff(1, "1001", "000000")
    assert e.value.params["tries_left"] == 4
    with pytest.raises(S.PinRequired):
        caller.sign_in(1, "c01", "测试员")
    with pytest.raises(LanRefused):
        kiosk.sign_in_staff(1, "1001", "246810")
    caller.sign_in_staff(1, "B77", "246810")
    assert lan.hall.window(1)["clerk_id"] == "1001"
    caller.sign_out(1)
    assert lan.hall.window(1)["clerk_id"] is None


def test_the_dashboard_manages_accounts_and_nobody_else(lan: Lan, caplog: pytest.LogCaptureFixture  # noqa: F811
                                                        ) -> None:
    caplog.set_level("DEBUG")
    lan.server(clients={"dash1": "dashboard", "caller1": "caller", "board1": "board"})
    dash, caller, board = lan.remote("dash1"), lan.remote("caller1"), lan.remote("board1")
    dash.staff.add("a1", "李管理", "admin", "111111")  # the hall's first account may come from anywhere ...
    dash.staff.verify("a1", "111111")  # ... from then on staff management needs an admin signed in
    r = dash.staff.add("1001", "王芳", "clerk", "246810", card="B77")
    assert r.value["staff_no"] == "1001" and [e.kind for e in r.events] == [S.STAFF_ADDED]
    assert dash.staff.set_roster("1001", [2], ["tax"]).value["windows"] == [2]
    with pytest.raises(S.BadPin):
        dash.staff.reset_pin("1001", "12")
    dash.staff.reset_pin("1001", "135790")
    caller.sign_in_staff(2, "1001", "135790")
    m = next(x for x in dash.staff.members() if x["staff_no"] == "1001")
    assert m["name"] == "王芳" and m["businesses"] == ["tax"] and "pin_hash" not in m
    for who in (caller, board):
        with pytest.raises(LanRefused):
            who.staff.members()
        with pytest.raises(LanRefused):
            who.staff.add("1002", "李雷", "admin", "111111")
    assert dash.staff.disable("1001").value["active"] is False
    assert lan.hall.window(2)["clerk_id"] is None
    assert "246810" not in caplog.text and "135790" not in caplog.text
