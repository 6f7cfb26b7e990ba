"""How the hall board keeps up with a busy hall: a call is drawn from its event before any store read, the windows
are read once afterwards to confirm it, and waiting counts are read at most once per SIDE_MS however many tickets."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from kiosk.core.hall import Hall
from kiosk.ui import board as board_module
from kiosk.ui.board import BoardScreen
from tests.ui.checks import shown


def rows(b: BoardScreen) -> list[tuple[str, str]]:
    return [(n.text(), w.text()) for _f, n, w, _b in b.rows if n.text()]


class Reads:
    """Counts the board's store reads through its client."""

    def __init__(self, client: Any, monkeypatch: Any) -> None:
        self.windows = self.counts = 0
        windows, counts = client.windows, client.waiting_counts

        def read_windows() -> Any:
            self.windows += 1
            return windows()

        def read_counts() -> Any:
            self.counts += 1
            return counts()

        monkeypatch.setattr(client, "windows", read_windows)
        monkeypatch.setattr(client, "waiting_counts", read_counts)


def test_a_call_is_drawn_from_its_event_then_confirmed(qtbot, client, hall: Hall, monkeypatch) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    b = shown(qtbot, BoardScreen(client), 1920, 1080)
    hall.call_next(2)
    qtbot.waitUntil(lambda: rows(b) == [("A001", "→ 2号窗口")])
    qtbot.waitUntil(lambda: not b.soon.isActive() and not b.side_soon.isActive())
    reads = Reads(client, monkeypatch)
    hall.call_next(1)
    QApplication.sendPostedEvents()  # the queued event reaches the board; no timer has run yet
    assert rows(b) == [("A002", "→ 1号窗口"), ("A001", "→ 2号窗口")]
    assert "请 A002 号到 1号窗口 办理" in b.new_banner.text()
    assert reads.windows == 0 and reads.counts == 0  # drawn from the event, nothing read on the painting thread
    qtbot.waitUntil(lambda: reads.windows >= 1)  # then the windows confirm it
    assert rows(b) == [("A002", "→ 1号窗口"), ("A001", "→ 2号窗口")]
    hall.start_service(1)
    hall.call_next(1)  # window 1 finished A002 and called A003: A002 leaves with the call, before any read
    QApplication.sendPostedEvents()
    assert rows(b) == [("A003", "→ 1号窗口"), ("A001", "→ 2号窗口")]


def test_what_the_store_says_wins_over_the_event(qtbot, client, hall: Hall, monkeypatch) -> None:
    """The confirming read is the truth: a number the event put up that its window no longer holds goes."""
    for _ in range(2):
        hall.issue_ticket("social")
    b = shown(qtbot, BoardScreen(client), 1920, 1080)
    windows = client.windows
    monkeypatch.setattr(client, "windows", lambda: [dict(w, current=None) for w in windows()])  # nothing called
    hall.call_next(1)
    QApplication.sendPostedEvents()
    assert rows(b) == [("A001", "→ 1号窗口")]
    qtbot.waitUntil(lambda: rows(b) == [] and b.new_banner.text() == board_module.WELCOME)


def test_waiting_counts_are_read_once_per_side_interval(qtbot, client, hall: Hall, monkeypatch) -> None:
    b = shown(qtbot, BoardScreen(client), 1920, 1080)
    qtbot.waitUntil(lambda: not b.side_soon.isActive())
    reads = Reads(client, monkeypatch)
    for _ in range(30):
        hall.issue_ticket("tax")
    QApplication.sendPostedEvents()
    assert reads.counts == 0 and b.side_soon.isActive()
    qtbot.waitUntil(lambda: b.count_labels["tax"].text() == "税务  30 人")
    assert reads.counts == 1  # thirty tickets, one read
