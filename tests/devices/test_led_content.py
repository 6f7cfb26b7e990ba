"""What LED areas show for hall events: window boards and the hall board, as table tests of the pure models."""
from __future__ import annotations

from typing import Any

import pytest

from devices.led.content import AreaContent, HallBoard, Rect, WindowBoard, capacity, columns, text_width
from kiosk.core import events as ek
from kiosk.core.events import Event

_seq = iter(range(1, 1_000_000))


def ev(kind: str, **payload: Any) -> Event:
    n = next(_seq)
    return Event(n, f"e{n}", kind, "2026-11-23T02:00:00+00:00", "2026-11-23", payload)


def ticket(number: str, business: str = "social", prefix: str = "A", name: str = "社保") -> dict[str, Any]:
    return {"id": f"t-{number}", "number": number, "business": business, "business_name": name, "prefix": prefix}


def called(number: str, window: int, **kw: Any) -> Event:
    return ev(ek.TICKET_CALLED, ticket=ticket(number, **kw), window=window, window_name=f"{window}号窗口", recall=0)


W = 3  # the board under test sits over window 3


@pytest.mark.parametrize(
    ("events", "text", "flash"),
    [
        ([], "欢迎光临", None),
        ([called("A001", W)], "A001 请到3号窗口", 3.0),
        ([called("A001", 5)], "欢迎光临", None),  # another window's call changes nothing here
        ([called("A001", W), called("A002", W)], "A002 请到3号窗口", 3.0),
        (
            [called("A001", W), ev(ek.TICKET_RECALLED, ticket=ticket("A001"), window=W, recall=1)],
            "A001 请到3号窗口",
            3.0,
        ),
        ([called("A001", W), ev(ek.SERVICE_STARTED, ticket=ticket("A001"), window=W)], "A001 请到3号窗口", None),
        ([called("A001", W), ev(ek.SERVICE_FINISHED, ticket=ticket("A001"), window=W)], "欢迎光临", 0.0),
        ([called("A001", W), ev(ek.TICKET_NO_SHOW, ticket=ticket("A001"), window=W)], "欢迎光临", 0.0),
        ([called("A001", W), ev(ek.TICKET_HELD, ticket=ticket("A001"), window=W)], "欢迎光临", 0.0),
        (
            [called("A001", W), ev(ek.TICKET_TRANSFERRED, ticket=ticket("A001"), from_window=W, to_window=5)],
            "欢迎光临",
            0.0,
        ),
        ([ev(ek.WINDOW_PAUSED, window=W, reason="")], "暂停服务", 0.0),
        ([ev(ek.WINDOW_PAUSED, window=W, reason="午休")], "暂停服务\n午休", 0.0),
        (
            [ev(ek.WINDOW_PAUSED, window=W, reason="窗口系统升级维护中请到综合窗口办理业务谢谢配合理解")],
            "暂停服务",  # the reason does not fit on a 128×32 board: 暂停服务 alone
            0.0,
        ),
        ([ev(ek.WINDOW_PAUSED, window=5, reason="")], "欢迎光临", None),
        ([ev(ek.WINDOW_PAUSED, window=W, reason=""), ev(ek.WINDOW_RESUMED, window=W)], "欢迎光临", 0.0),
        (
            [called("A001", W), ev(ek.WINDOW_PAUSED, window=W, reason=""), ev(ek.WINDOW_RESUMED, window=W)],
            "A001 请到3号窗口",  # paused mid-service: back to the ticket being served, no flash
            0.0,
        ),
        ([ev(ek.WINDOW_SIGNED_OUT, window=W, clerk_id="c1", clerk_name="张")], "暂停服务", 0.0),
        (
            [ev(ek.WINDOW_SIGNED_OUT, window=W, clerk_id="c1"), ev(ek.WINDOW_SIGNED_IN, window=W, clerk_id="c2")],
            "欢迎光临",
            0.0,
        ),
        ([called("A001", W), ev(ek.DAY_CLOSED, date="2026-11-23", expired=3)], "欢迎光临", 0.0),
        ([called("", W)], "欢迎光临", None),  # a call without a number is ignored, not shown as blank
        ([ev(ek.TICKET_CALLED, window=W)], "欢迎光临", None),
        ([ev(ek.TICKET_CALLED, ticket=ticket("A009"), window="3")], "A009 请到3号窗口", 3.0),
        ([ev(ek.RATING_REQUESTED, ticket=ticket("A001"), window=W)], "欢迎光临", None),
    ],
    ids=[
        "initial", "call", "other-window", "next-call", "recall-flashes", "service-started", "finished",
        "no-show", "held", "transferred-away", "paused", "paused-reason", "reason-too-long", "other-paused",
        "resumed", "resume-to-ticket", "signed-out", "signed-in-again", "day-closed", "no-number", "no-ticket",
        "window-as-text", "irrelevant",
    ],
)
def test_window_board(events: list[Event], text: str, flash: float | None) -> None:
    board = WindowBoard(W, welcome="欢迎光临", flash_s=3.0)
    last: list[AreaContent] = []
    for e in events:
        last = board.apply(e)
    assert board.text() == text
    if flash is None:
        assert last == []  # the last event changed nothing: no frame for it
    else:
        assert last == [AreaContent(0, text, flash)]


@pytest.mark.parametrize(
    ("width", "height", "reason", "text"),
    [
        (128, 32, "午休", "暂停服务\n午休"),
        (128, 32, "系统升级请稍候", "暂停服务\n系统升级请稍候"),  # 14 cells: fits the second line
        (128, 32, "系统升级请稍候再来", "暂停服务"),  # 18 cells: would need a third line
        (128, 48, "系统升级请稍候再来", "暂停服务\n系统升级请稍候再来"),
        (128, 16, "午休", "暂停服务 午休"),  # one-line board: on the same line
        (64, 16, "午休", "暂停服务"),
        (128, 32, "  午休\n中 ", "暂停服务\n午休 中"),
    ],
)
def test_window_board_pause_reason_fits(width: int, height: int, reason: str, text: str) -> None:
    board = WindowBoard(W, width=width, height=height)
    board.apply(ev(ek.WINDOW_PAUSED, window=W, reason=reason))
    assert board.text() == text


@pytest.mark.parametrize(
    ("window", "width", "height", "text"),
    [
        (3, 128, 32, "A012 请到3号窗口"),  # 15 cells: the space stays
        (10, 128, 32, "A012请到10号窗口"),  # 17 cells with the space: it goes, 16 cells = 128 px exactly
        (10, 128, 16, "A012请到10号窗口"),  # a one-line board too
        (10, 160, 32, "A012 请到10号窗口"),  # a wider board keeps the space
        (100, 128, 32, "A012\n请到100号窗口"),  # 17 cells even without it: number above, where to go below
    ],
)
def test_window_board_call_fits_the_board(window: int, width: int, height: int, text: str) -> None:
    board = WindowBoard(window, width=width, height=height)
    (change,) = board.apply(called("A012", window))
    assert change.text == text
    assert all(text_width(line) <= columns(board.rect) for line in text.split("\n"))
    assert text.count("\n") < height // 16


def test_window_board_call_that_cannot_fit_stays_whole() -> None:
    board = WindowBoard(100, width=128, height=16)  # one line, 17 cells at the tightest: the controller wraps
    (change,) = board.apply(called("A012", 100))
    assert change.text == "A012请到100号窗口"


def test_window_board_call_while_paused_does_not_flash() -> None:
    board = WindowBoard(W)
    board.apply(ev(ek.WINDOW_PAUSED, window=W, reason=""))
    assert board.apply(called("A001", W)) == [AreaContent(0, "暂停服务", 0.0)]


def test_window_board_custom_texts() -> None:
    board = WindowBoard(7, welcome="民政窗口 欢迎您", call_text="请{number}号", flash_s=2.0)
    assert board.initial() == [AreaContent(0, "民政窗口 欢迎您")]
    assert board.apply(called("B012", 7)) == [AreaContent(0, "请B012号", 2.0)]


@pytest.mark.parametrize(
    ("text", "width"),
    [("A001", 4), ("暂停服务", 8), ("A001 → 3号窗口", 4 + 1 + 2 + 1 + 1 + 2 * 3), ("", 0)],
)
def test_text_width(text: str, width: int) -> None:
    assert text_width(text) == width


@pytest.mark.parametrize(("rect", "cells"), [(Rect(0, 0, 128, 32), 32), (Rect(0, 0, 64, 16), 8), (Rect(0, 0, 8, 8), 1)])
def test_capacity(rect: Rect, cells: int) -> None:
    assert capacity(rect) == cells


# --- hall board -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("events", "calls"),
    [
        ([], "欢迎光临"),
        ([called("A001", 3)], "A001 → 3号窗口"),
        ([called("A001", 3), called("B001", 5)], "B001 → 5号窗口\nA001 → 3号窗口"),
        (
            [called("A001", 3), called("B001", 5), called("A002", 1), called("C001", 2)],
            "C001 → 2号窗口\nA002 → 1号窗口\nB001 → 5号窗口",  # three lines: the oldest falls off
        ),
        (
            [called("A001", 3), called("B001", 5), ev(ek.TICKET_RECALLED, ticket=ticket("A001"), window=3)],
            "A001 → 3号窗口\nB001 → 5号窗口",  # a recall moves the call back to the top, not twice
        ),
        ([called("A001", 3), ev(ek.DAY_CLOSED, date="2026-11-23", expired=0)], "欢迎光临"),
        # only what is true now: a number that left its window leaves the board, the other calls stay
        ([called("A001", 3), called("B001", 5), ev(ek.TICKET_NO_SHOW, ticket=ticket("A001"), window=3)],
         "B001 → 5号窗口"),
        ([called("A001", 3), called("B001", 5),
          ev(ek.TICKET_TRANSFERRED, ticket=ticket("A001"), from_window=3, to_business="tax", to_window=None)],
         "B001 → 5号窗口"),
        ([called("A001", 3), called("B001", 5), ev(ek.SERVICE_FINISHED, ticket=ticket("A001"), window=3)],
         "B001 → 5号窗口"),
        ([called("A001", 3), called("B001", 5), ev(ek.TICKET_HELD, ticket=ticket("A001"), window=3)],
         "B001 → 5号窗口"),
        ([called("A001", 3), ev(ek.TICKET_VOIDED, ticket=ticket("A001"), window=3, reason="")], "欢迎光临"),
        ([called("A001", 3), ev(ek.SERVICE_FINISHED, ticket=ticket("A001"), window=3),
          ev(ek.WINDOW_PAUSED, window=3, reason="午休")], "欢迎光临"),
        ([called("A001", 3), ev(ek.WINDOW_PAUSED, window=3, reason="午休")], "欢迎光临"),
        ([called("A001", 3), ev(ek.SERVICE_STARTED, ticket=ticket("A001"), window=3)], "A001 → 3号窗口"),
        ([called("A001", 3), called("A002", 3)], "A002 → 3号窗口"),  # a window holds one ticket
        ([called("A001", 3), called("A001", 5)], "A001 → 5号窗口"),  # a ticket is at one window
        (
            [called("A001", 3), called("B001", 5), called("A002", 1), called("C001", 2),
             ev(ek.TICKET_NO_SHOW, ticket=ticket("C001"), window=2)],
            "A002 → 1号窗口\nB001 → 5号窗口\nA001 → 3号窗口",  # the line that fell off comes back: still true
        ),
    ],
    ids=["initial", "one", "two", "three-lines", "recall-to-top", "day-closed", "no-show", "transferred",
         "finished", "held", "voided", "finished-then-paused", "paused", "serving-stays", "next-at-same-window",
         "same-number-elsewhere", "fallen-off-returns"],
)
def test_hall_board_calls(events: list[Event], calls: str) -> None:
    board = HallBoard(lines=3)
    for e in events:
        board.apply(e)
    assert board.calls_text() == calls


def window(number: int, current: str | None = None, *, status: str = "called", state: str = "calling",
           called_at: str = "2026-11-23T02:00:00+00:00") -> dict[str, Any]:
    cur = {"number": current, "status": status, "business_name": "社保", "called_at": called_at} if current else None
    return {"number": number, "name": f"{number}号窗口", "state": state if current else "idle", "current": cur}


def test_hall_board_set_calls_is_the_hall_truth() -> None:
    """The hall's windows replace what the events said (kiosk/calls.py): a number resumed from 挂起 appears, one the
    events missed leaves, a paused window shows nothing, and the latest call comes first."""
    board = HallBoard(lines=3)
    board.apply(called("A001", 3))
    board.apply(called("B001", 5))
    out = board.set_calls([window(1, "A002", status="serving", state="serving", called_at="2026-11-23T01:50:00+00:00"),
                           window(3), window(5, "B001", called_at="2026-11-23T02:01:00+00:00"),
                           window(6, "C001", state="paused")])
    assert out == [AreaContent(HallBoard.CALLS, "B001 → 5号窗口\nA002 → 1号窗口")]
    assert board.set_calls([window(1, "A002", status="serving", state="serving",
                                   called_at="2026-11-23T01:50:00+00:00"),
                            window(5, "B001", called_at="2026-11-23T02:01:00+00:00")]) == []  # unchanged: no frame
    assert board.set_calls([window(1), window(5)]) == [AreaContent(HallBoard.CALLS, "欢迎光临")]


def test_hall_board_calls_within_one_clock_tick_keep_the_event_order() -> None:
    board = HallBoard(lines=3)
    board.apply(called("A001", 3))
    board.apply(called("B001", 5))  # the same called_at: the later event is the later call
    board.set_calls([window(3, "A001"), window(5, "B001")])
    assert board.calls_text() == "B001 → 5号窗口\nA001 → 3号窗口"


def test_hall_board_waiting_from_events() -> None:
    board = HallBoard(lines=3, width=256)
    assert board.waiting_text() == "等候 0人"
    out = board.apply(ev(ek.TICKET_ISSUED, ticket=ticket("A003"), ahead=2, hall_name="h"))
    assert out == [AreaContent(HallBoard.WAITING, "等候 社保3人")]
    board.apply(ev(ek.TICKET_ISSUED, ticket=ticket("B001", "housing", "B", "不动产"), ahead=0))
    out = board.apply(called("A001", 2))
    assert [c.area for c in out] == [HallBoard.CALLS, HallBoard.WAITING]
    assert board.waiting_text() == "等候 社保2人 不动产1人"


@pytest.mark.parametrize(
    ("width", "counts", "text"),
    [
        (256, [], "等候 0人"),
        (256, [{"business": "s", "prefix": "A", "name": "社保", "waiting": 4}], "等候 社保4人"),
        (
            256,
            [
                {"business": "s", "prefix": "A", "name": "社保", "waiting": 4},
                {"business": "h", "prefix": "B", "name": "不动产", "waiting": 0},
                {"business": "t", "prefix": "C", "name": "税务", "waiting": 12},
            ],
            "等候 社保4人 税务12人",
        ),
        (
            128,  # 16 cells: names do not fit, prefixes do
            [
                {"business": "s", "prefix": "A", "name": "社保", "waiting": 4},
                {"business": "t", "prefix": "C", "name": "税务", "waiting": 12},
            ],
            "等候 A:4 C:12",
        ),
    ],
    ids=["none", "one", "skip-zero", "narrow-uses-prefixes"],
)
def test_hall_board_set_waiting(width: int, counts: list[dict[str, Any]], text: str) -> None:
    board = HallBoard(width=width)
    board.set_waiting(counts)
    assert board.waiting_text() == text


def test_hall_board_set_waiting_unchanged_is_no_update() -> None:
    board = HallBoard()
    rows = [{"business": "s", "prefix": "A", "name": "社保", "waiting": 1}]
    assert board.set_waiting(rows) == [AreaContent(HallBoard.WAITING, "等候 社保1人")]
    assert board.set_waiting(rows) == []


def test_hall_board_layout_stacks_areas() -> None:
    board = HallBoard(lines=3, width=192)
    assert board.layout() == {0: Rect(0, 0, 192, 48), 1: Rect(0, 48, 192, 16)}


def test_hall_board_notice_line() -> None:
    board = HallBoard(lines=2, width=192, notice="请携带身份证原件")
    assert board.layout()[HallBoard.NOTICE] == Rect(0, 48, 192, 16)
    assert board.initial()[-1] == AreaContent(HallBoard.NOTICE, "请携带身份证原件", scroll=True)
    assert board.apply(ev(ek.NOTICE_CHANGED, notice="今日下午\n16:00停止取号")) == [
        AreaContent(HallBoard.NOTICE, "今日下午 16:00停止取号", scroll=True)  # one running line, no breaks
    ]
    assert board.apply(ev(ek.NOTICE_CHANGED, notice="今日下午\n16:00停止取号")) == []
    assert HallBoard().apply(ev(ek.NOTICE_CHANGED, notice="x")) == []  # no notice line configured
