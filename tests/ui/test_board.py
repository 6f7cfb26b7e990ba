"""The hall board against a real Hall: calls appear with their window, the newest is highlighted, a number that is
no longer called there leaves at once, staleness is said."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.core.errors import StoreUnavailable
from kiosk.core.hall import Hall
from kiosk.ui.board import BoardScreen
from kiosk.ui.client import HallClient
from tests.ui.checks import shown


def make(qtbot, client, **kw) -> BoardScreen:
    return shown(qtbot, BoardScreen(client, **kw), 1920, 1080)


def rows(b: BoardScreen) -> list[tuple[str, str]]:
    return [(n.text(), w.text()) for _f, n, w, _b in b.rows if n.text()]


def test_calls_show_number_and_window_newest_highlighted(qtbot, client, hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    b = make(qtbot, client, highlight_s=0.4)
    hall.call_next(1)
    hall.call_next(2)
    qtbot.waitUntil(lambda: rows(b)[:2] == [("A002", "→ 2号窗口"), ("A001", "→ 1号窗口")])
    assert b.rows[0][0].property("fresh") is True and b.rows[1][0].property("fresh") is not True
    assert b.new_banner.text().startswith("▶ ") and "A002" in b.new_banner.text()  # a marker, not colour alone
    qtbot.waitUntil(lambda: b.rows[0][0].property("fresh") is False, timeout=3000)
    assert not b.new_banner.text().startswith("▶")
    hall.recall(1)
    qtbot.waitUntil(lambda: rows(b)[0] == ("A001", "→ 1号窗口"))
    assert [r[0] for r in rows(b)].count("A001") == 1


def test_waiting_counts_pauses_and_notice(qtbot, client, hall: Hall) -> None:
    b = make(qtbot, client)
    hall.issue_ticket("tax")
    hall.issue_ticket("tax")
    hall.pause(3, "会议")
    hall.set_notice("今日下午系统升级")
    qtbot.waitUntil(lambda: b.count_labels["tax"].text() == "税务  2 人")
    qtbot.waitUntil(lambda: "3号窗口（会议）" in b.paused_label.text())
    assert b.paused_label.isVisible()
    assert b.notice.text() == "今日下午系统升级"


def test_goes_stale_without_events_or_heartbeat(qtbot, hall: Hall) -> None:
    client = HallClient(hall, heartbeat_s=0, follow_s=0)  # neither the tick nor the store's log: nothing heard
    try:
        hall.issue_ticket("social")
        hall.call_next(1)
        b = make(qtbot, client, stale_after_s=0.5)
        assert b.body.currentIndex() == 0 and rows(b)
        qtbot.waitUntil(lambda: b.stale, timeout=4000)
        assert b.body.currentIndex() == 1 and b.stale_label.isVisible()
        assert "连接已中断" in b.stale_label.text()
        assert not b.rows[0][1].isVisible()  # the stale numbers are not on screen
        hall.issue_ticket("social")  # the hall speaks again
        qtbot.waitUntil(lambda: not b.stale)
        assert b.rows[0][1].isVisible() and rows(b)[0][0] == "A001"
    finally:
        client.close()


def test_heartbeat_keeps_a_quiet_board_live(qtbot, hall: Hall) -> None:
    client = HallClient(hall, heartbeat_s=0.1, follow_s=0)
    try:
        b = make(qtbot, client, stale_after_s=0.5)
        qtbot.wait(1500)
        assert not b.stale
    finally:
        client.close()


# --- only what is true now -----------------------------------------------------------------------------------
def _finish_and_pause(h: Hall) -> None:
    h.start_service(1)
    h.finish_service(1)
    h.pause(1, "午休")


GONE: list[tuple[str, Callable[[Hall], Any]]] = [
    ("过号", lambda h: h.no_show(1)),
    ("转移到业务", lambda h: h.transfer(1, to_business="tax")),
    ("转移到窗口", lambda h: h.transfer(1, to_window=2)),
    ("挂起", lambda h: h.hold(1)),
    ("作废", lambda h: h.void("A002", "重复取号")),
    ("办结", lambda h: (h.start_service(1), h.finish_service(1))),
    ("办结后暂停窗口", _finish_and_pause),
    ("下一位", lambda h: (h.start_service(1), h.call_next(1))),
]


@pytest.mark.parametrize("what,change", GONE, ids=[w for w, _ in GONE])
def test_a_number_no_longer_called_there_leaves_the_headline_and_the_list(
        qtbot, client, hall: Hall, what: str, change: Callable[[Hall], Any]) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    b = make(qtbot, client)
    hall.call_next(2)  # A001 → 2号窗口
    hall.call_next(1)  # A002 → 1号窗口, the newest call: the headline
    qtbot.waitUntil(lambda: rows(b) == [("A002", "→ 1号窗口"), ("A001", "→ 2号窗口")])
    assert "请 A002 号到 1号窗口 办理" in b.new_banner.text()
    change(hall)
    qtbot.waitUntil(lambda: "A002" not in [r[0] for r in rows(b)])
    assert "A002" not in b.new_banner.text()
    if what == "下一位":  # window 1 served A002 and called A003: the new call is the headline
        assert rows(b) == [("A003", "→ 1号窗口"), ("A001", "→ 2号窗口")]
        assert "请 A003 号到 1号窗口 办理" in b.new_banner.text()
        return
    if what == "转移到窗口":  # sent to window 2, where A001 is still called: it waits there, not on the board
        assert hall.find_ticket("A002")["status"] == "waiting"
    assert rows(b) == [("A001", "→ 2号窗口")]
    assert b.new_banner.text().endswith("请 A001 号到 2号窗口 办理")  # the call still true is now the headline
    if what == "办结后暂停窗口":
        assert "1号窗口（午休）" in b.paused_label.text()


def test_a_served_number_says_so_and_the_headline_moves_on(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    b = make(qtbot, client)
    hall.call_next(1)
    qtbot.waitUntil(lambda: rows(b) == [("A001", "→ 1号窗口")])
    assert "请 A001 号到 1号窗口 办理" in b.new_banner.text()
    hall.start_service(1)  # the citizen is at the window: nobody needs sending there any more
    qtbot.waitUntil(lambda: rows(b) == [("A001", "1号窗口")])
    assert b.rows[0][3].text() == "正在办理"
    assert b.new_banner.text() == "欢迎光临"
    hall.finish_service(1)
    qtbot.waitUntil(lambda: rows(b) == [])


def test_the_day_rollover_clears_the_board(qtbot, client, hall: Hall, clock) -> None:
    hall.issue_ticket("tax")
    b = make(qtbot, client)
    hall.call_next(2)
    qtbot.waitUntil(lambda: rows(b) == [("C001", "→ 2号窗口")])
    clock.set_local(2026, 11, 25, 0, 1)
    hall.tick()  # midnight: yesterday's open numbers expire
    qtbot.waitUntil(lambda: rows(b) == [] and b.new_banner.text() == "欢迎光临")


def test_a_store_that_cannot_be_read_is_said_at_once(qtbot, hall: Hall, store, monkeypatch) -> None:
    client = HallClient(hall, heartbeat_s=0, follow_s=0.02)
    try:
        hall.issue_ticket("social")
        hall.call_next(1)
        b = make(qtbot, client)
        qtbot.waitUntil(lambda: rows(b) == [("A001", "→ 1号窗口")])

        def unreadable(*_a: Any, **_k: Any) -> Any:
            raise StoreUnavailable(path=store.path, reason="磁盘已卸载")

        monkeypatch.setattr(store, "events_after", unreadable)  # the disk under the store went away
        qtbot.waitUntil(lambda: b.stale)
        assert "无法读取大厅数据库" in b.stale_label.text() and "磁盘已卸载" in b.stale_label.text()
        assert not b.rows[0][1].isVisible()
        monkeypatch.undo()  # back: the board follows the store again
        qtbot.waitUntil(lambda: not b.stale)
        assert rows(b) == [("A001", "→ 1号窗口")]
    finally:
        client.close()


def test_screenshot(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    for code in ("social", "social", "tax", "housing", "market", "residence", "fund", "social", "tax"):
        demo_hall.issue_ticket(code, id_number="11010519491231002X" if code == "housing" else None)
    for w in (1, 2, 4, 5, 6, 7, 8):
        demo_hall.call_next(w)
    demo_hall.pause(3, "业务培训")
    b = make(qtbot, demo_client)
    qtbot.waitUntil(lambda: len(rows(b)) == 7)
    demo_hall.issue_ticket("social")
    shoot(b, "board")
    demo_client.stop_heartbeat()  # nothing heard from here on: not the tick, not the store's log
    b.last_heard -= 45  # as if the hall had been silent for 45 s
    b._every_second()
    assert b.stale
    img = shoot(b, "board_stale")
    assert b.stale and img.pixelColor(img.width() // 2, img.height() // 2).name().upper() == "#8E1B1B"


def test_screenshot_1366x768(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    from tests.ui.checks import cut_off

    for code in ("social", "social", "tax", "market", "residence", "fund", "social"):
        demo_hall.issue_ticket(code)
    for w in (1, 2, 5, 6, 7):
        demo_hall.call_next(w)
    demo_hall.start_service(5)
    b = shown(qtbot, BoardScreen(demo_client), 1366, 768)
    qtbot.waitUntil(lambda: len(rows(b)) == 5)
    qtbot.wait(50)
    assert b.height() == 768  # a 32" TV: nothing forced the board taller than the screen
    assert cut_off(b) == []
    shoot(b, "board_1366x768")
