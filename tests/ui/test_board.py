"""The hall board against a real Hall: calls appear with their window, the newest is highlighted, staleness is said."""
from __future__ import annotations

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
    client = HallClient(hall, heartbeat_s=0)
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
    client = HallClient(hall, heartbeat_s=0.1)
    try:
        b = make(qtbot, client, stale_after_s=0.5)
        qtbot.wait(1500)
        assert not b.stale
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
    b.last_heard -= 45  # as if the hall had been silent for 45 s
    b._every_second()
    assert b.stale
    shoot(b, "board_stale")
