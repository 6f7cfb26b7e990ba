"""A store fault on the screens: the kiosk, the caller and the dashboard say it (path and what to do) and keep saying
it until a command is saved again — no exception dialog, no crash."""
from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt

from kiosk.core.errors import StoreReadOnly
from kiosk.core.hall import Hall
from kiosk.store import Store
from kiosk.ui.caller import CallerScreen
from kiosk.ui.client import HallClient
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.kiosk import CHECK_IN, HOME, RESULT, KioskScreen
from tests.ui.checks import rendered_texts, shown


def test_kiosk_and_dashboard_show_a_read_only_store_until_a_ticket_is_saved(
        qtbot, client: HallClient, hall: Hall, store: Store, shoot) -> None:
    k = shown(qtbot, KioskScreen(client), 1080, 1920)
    d = shown(qtbot, DashboardScreen(client, refresh_s=3600), 1600, 900)
    assert not k.fault_banner.isVisible() and not d.store_label.isVisible()
    store.conn().execute("PRAGMA query_only = 1")  # SQLite's own read-only: SQLITE_READONLY on the write
    qtbot.mouseClick(k.business_buttons["tax"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == HOME and hall.waiting() == []
    for label in (k.fault_banner, d.store_label):
        assert label.isVisible()
        assert "数据库只读" in label.text() and store.path in label.text() and "挂载为只读" in label.text()
    shoot(k, "kiosk_store_fault")
    k.show_page(CHECK_IN)  # another page, the next citizen: the fault is still said
    assert k.fault_banner.isVisible() and "数据库只读" in rendered_texts(k)
    k.go_home()
    # the next command opens the file afresh and is saved: the fault is over on every screen
    qtbot.mouseClick(k.business_buttons["tax"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == RESULT and k.result_number.text() == "C001"
    assert not k.fault_banner.isVisible() and not d.store_label.isVisible()


def test_caller_says_a_locked_store_and_clears_when_a_call_succeeds(qtbot, client: HallClient, hall: Hall,
                                                                    store: Store) -> None:
    hall.issue_ticket("tax")
    c = shown(qtbot, CallerScreen(client, 2), 1280, 800)
    store.conn().execute("PRAGMA busy_timeout = 100")
    other = sqlite3.connect(store.path, isolation_level=None)  # a backup tool holding the write lock
    other.execute("BEGIN IMMEDIATE")
    try:
        qtbot.mouseClick(c.buttons["call"], Qt.MouseButton.LeftButton)
        assert "数据库被占用" in c.status.text() and store.path in c.status.text()
        assert c.fault_banner.isVisible() and "其他程序" in c.fault_banner.text()
        assert hall.window(2)["current"] is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    qtbot.mouseClick(c.buttons["call"], Qt.MouseButton.LeftButton)
    assert "已呼叫 C001" in c.status.text() and not c.fault_banner.isVisible()


def test_a_fault_met_outside_the_screens_shows_at_the_next_heartbeat(qtbot, client: HallClient, hall: Hall,
                                                                     store: Store) -> None:
    d = shown(qtbot, DashboardScreen(client, refresh_s=3600), 1600, 900)
    store.conn().execute("PRAGMA query_only = 1")
    with pytest.raises(StoreReadOnly):
        hall.issue_ticket("tax")  # a device thread or the sync inbox, not a screen
    assert not d.store_label.isVisible()
    client._tick()
    assert d.store_label.isVisible() and "数据库只读" in d.store_label.text()
    hall.issue_ticket("tax")  # saved again (the read-only connection was reopened)
    client._tick()
    assert not d.store_label.isVisible()
