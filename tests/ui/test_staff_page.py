"""The dashboard's 人员 page against a real Hall: add, list, roster, reset a PIN, disable; refusals said; each of the
hall's languages fits the dashboard's panels."""
from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from kiosk.core import context as C
from kiosk.core import staff as S
from kiosk.core.hall import Hall
from kiosk.ui.staff_page import StaffPage
from kiosk.ui.theme import panels
from tests.ui.checks import shown
from tests.ui.layout_audit import audit
from tests.ui.test_matrix import LANGS, data_texts, settle


def click(qtbot: Any, b: Any) -> None:
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)


def test_manage_accounts(qtbot: Any, client: Any, hall: Hall) -> None:
    S.add(hall, "A01", "李管理", "admin", "111111")  # once a hall has accounts, managing them is an admin's
    client.operator = C.staff("A01", "dashboard", "admin")  # as DashboardScreen.sign_in sets it
    p = shown(qtbot, StaffPage(client), 1366, 700)
    p.new_no.setText("1001")
    p.new_name.setText("王芳")
    p.new_pin.setText("246810")
    p.new_card.setText("B77")
    click(qtbot, p.add_button)
    assert "1001 已保存" in p.status.text() and p.new_pin.text() == ""
    assert p.table.rowCount() == 2 and p.table.item(0, 2).text() == "窗口人员"
    p.new_no.setText("1002")
    p.new_name.setText("李雷")
    p.new_pin.setText("12")
    click(qtbot, p.add_button)
    assert "密码须为 6 位数字" in p.status.text() and p.table.rowCount() == 2
    click(qtbot, p.disable_button)
    assert "请先选择" in p.status.text()
    p.table.selectRow(0)
    p.windows.setText("1,2")
    click(qtbot, p.roster_button)
    assert S.member(hall, "1001").windows == (1, 2) and p.table.item(0, 4).text() == "1, 2"
    p.reset_pin.setText("135790")
    p.table.selectRow(0)
    click(qtbot, p.reset_button)
    hall.sign_out(1)
    hall.sign_in_staff(1, "1001", "135790")
    hall.sign_out(1)
    p.table.selectRow(0)
    click(qtbot, p.disable_button)
    assert not S.member(hall, "1001").active and p.table.item(0, 3).text() == "已停用"


def test_a_manager_is_refused_staff_management_in_chinese(qtbot: Any, client: Any, hall: Hall) -> None:
    """The page's buttons are greyed by the dashboard (test_dashboard); the hall refuses all the same."""
    S.add(hall, "M01", "张经理", "manager", "246810")
    client.operator = C.staff("M01", "dashboard", "manager")
    p = shown(qtbot, StaffPage(client), 1366, 700)
    p.new_no.setText("1001")
    p.new_name.setText("王芳")
    p.new_pin.setText("246810")
    click(qtbot, p.add_button)
    assert "负责人 M01 无权添加人员账号，需要系统管理员登录" in p.status.text()
    p.set_allowed(False)
    assert not p.add_button.isEnabled() and p.lock_note.text() == "⚠ 请系统管理员登录"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("panel", panels("dashboard"), ids=lambda p: f"{p.size[0]}x{p.size[1]}")
def test_every_language_fits(qtbot: Any, client: Any, hall: Hall, lang: str, panel: Any) -> None:
    S.add(hall, "1001", "王芳", "clerk", "246810", card="B77")
    S.set_roster(hall, "1001", [1, 2], ["social"])
    S.add(hall, "M01", "张经理", "manager", "246810")
    p = shown(qtbot, StaffPage(client), *panel.size)
    p.set_language(lang)
    p.refresh()
    settle()
    assert audit(p, panel, lang, [*data_texts(), "王芳", "张经理"]) == []
