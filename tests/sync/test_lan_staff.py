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
