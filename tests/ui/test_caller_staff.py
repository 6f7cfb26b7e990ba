"""The caller's sign-in with a staff account: 工号 (or a badge scan) and PIN, 签退, and the refusals said."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from devices.reads import ScanRead
from kiosk.core import staff as S
from kiosk.core.hall import Hall
from kiosk.ui.caller import CallerScreen
from tests.ui.checks import shown


def test_sign_in_with_pin_badge_and_sign_out(qtbot, client, hall: Hall) -> None:
    S.add(hall, "1001", "王芳", "clerk", "246810", card="B77")
    S.set_roster(hall, "1001", [2])
    c = shown(qtbot, CallerScreen(client, 2), 1280, 800)
    assert c.clerk_pin.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(c.sign_out_button, Qt.MouseButton.LeftButton)
    assert hall.window(2)["clerk_id"] is None and "已签退" in c.status.text()
    c.clerk_id.setText("1001")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert "请填写工号和密码" in c.status.text()
    c.clerk_pin.setText("000000")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert "还可以再试 4 次" in c.status.text() and c.clerk_pin.text() == ""
    c.clerk_id.clear()
    c.inputs.post(ScanRead(device="sc1", code="B77"))  # a badge fills the staff number and asks for the PIN
    qtbot.waitUntil(lambda: c.clerk_id.text() == "B77")
    assert "请输入密码" in c.status.text() and hall.window(2)["clerk_id"] is None
    c.clerk_pin.setText("246810")
    qtbot.keyClick(c.clerk_pin, Qt.Key.Key_Return)
    assert hall.window(2)["clerk_id"] == "1001" and "王芳 已签到" in c.status.text()
    assert "王芳" in c.clerk_label.text()


def test_refusals_are_shown(qtbot, client, hall: Hall) -> None:
    S.add(hall, "1001", "王芳", "clerk", "246810")
    c = shown(qtbot, CallerScreen(client, 2), 1280, 800)
    c.clerk_id.setText("1001")
    c.clerk_pin.setText("246810")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert "未排班" in c.status.text()
    c.clerk_id.setText("c02")
    c.clerk_name.setText("刘芳")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)  # no PIN: by name, refused once accounts exist
    assert "请输入工号和密码" in c.status.text()
