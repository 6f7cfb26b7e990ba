"""LED boards wired to a real Hall: its events drive the boards and board health comes back as events."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from devices.base import HealthState
from devices.led import proto
from devices.led.driver import from_config
from devices.led.sim import LedSim, PtyLink, get_sim
from kiosk.core import events as ek
from kiosk.core.events import Event
from kiosk.core.hall import Hall
from tests.devices.common import wait_until

FAST = {"min_interval": 0.05, "flash_seconds": 0.2, "reply_timeout": 0.2, "keepalive": 0.2}


def test_hall_drives_window_and_hall_boards(hall: Hall, tmp_path: Path) -> None:
    sim = LedSim()
    link = PtyLink(sim, str(tmp_path / "ttyLED1"))
    window_board = from_config("led1", {"kind": "led", "window": 1, "url": link.url, **FAST}, hall.config)
    hall_board = from_config(
        "hallled", {"kind": "led", "role": "hall", "url": "sim://it-hall", "notice": True, **FAST}, hall.config
    )
    health: list[Event] = []
    hall.subscribe(health.append, {ek.DEVICE_HEALTH})
    unsubs = [window_board.attach(hall), hall_board.attach(hall)]
    window_board.start()
    hall_board.start()
    board_sim = get_sim("it-hall")
    try:
        for _ in range(3):
            hall.issue_ticket("social")
        assert board_sim.wait_for(lambda s: s.area_text(1) == "等候 社保3人")
        first = hall.call_next(1).value["number"]
        assert sim.wait_for(lambda s: s.area_text(0) == f"{first} 请到1号窗口")
        assert board_sim.wait_for(
            lambda s: s.area_text(0) == f"{first} → 1号窗口" and s.area_text(1) == "等候 社保2人"
        )
        hall.set_notice("今天16:00停止取号")
        notice = board_sim.area(2) if board_sim.wait_for(lambda s: s.area_text(2) == "今天16:00停止取号") else None
        assert notice is not None and notice.effect == proto.EFFECT_LEFT and notice.y == 64
        hall.start_service(1)
        second = hall.call_next(1).value["number"]  # finishes the first and calls the next in one commit
        assert sim.wait_for(lambda s: s.area_text(0) == f"{second} 请到1号窗口")
        hall.finish_service(1)
        hall.pause(1, "午休")
        assert sim.wait_for(lambda s: s.area_text(0) == "暂停服务\n午休")
        assert wait_until(
            lambda: any(e.payload["device"] == "led1" and e.payload["state"] == "ok" for e in health)
        )
        link.unplug()
        assert wait_until(lambda: window_board.health.state == HealthState.OFFLINE)
        assert wait_until(
            lambda: any(e.payload["device"] == "led1" and e.payload["state"] == "offline" for e in health)
        )
        hall.resume_window(1)
        link.replug()
        assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临", 2.5)
    finally:
        for u in unsubs:
            u()
        window_board.stop()
        hall_board.stop()
        link.unplug()


# --- the hall board says only what is true now (the same rule as the Qt board: kiosk/calls.py) ------------------
def _gone_after(hall: Hall, action: Callable[[Hall], Any], sim_name: str) -> None:
    """Window 1 and window 2 each call a number; `action` takes window 1's away: the board keeps only window 2's."""
    board = from_config("hallled", {"kind": "led", "role": "hall", "url": f"sim://{sim_name}", **FAST}, hall.config)
    unsub = board.attach(hall)
    board.start()
    sim = get_sim(sim_name)
    try:
        for _ in range(2):
            hall.issue_ticket("social")
        first = hall.call_next(1).value["number"]
        second = hall.call_next(2).value["number"]
        assert sim.wait_for(lambda s: s.area_text(0) == f"{second} → 2号窗口\n{first} → 1号窗口")
        action(hall)
        assert sim.wait_for(lambda s: s.area_text(0) == f"{second} → 2号窗口")
        assert board.shown()[0] == f"{second} → 2号窗口"
    finally:
        unsub()
        board.stop()


def test_hall_board_drops_a_no_show(hall: Hall) -> None:
    _gone_after(hall, lambda h: h.no_show(1), "truth-no-show")


def test_hall_board_drops_a_transferred_number(hall: Hall) -> None:
    _gone_after(hall, lambda h: h.transfer(1, to_business="tax"), "truth-transfer")


def test_hall_board_drops_a_finished_number(hall: Hall) -> None:
    _gone_after(hall, lambda h: (h.start_service(1), h.finish_service(1)), "truth-finish")


def test_hall_board_shows_nothing_for_a_paused_window(hall: Hall) -> None:
    _gone_after(hall, lambda h: (h.start_service(1), h.finish_service(1), h.pause(1, "午休")), "truth-pause")


def test_hall_board_drops_a_held_number_and_shows_it_again_when_resumed(hall: Hall) -> None:
    """挂起 takes the number away; 恢复 brings it back, from the hall's windows (the event alone does not say where)."""
    board = from_config("hallled", {"kind": "led", "role": "hall", "url": "sim://truth-held", **FAST}, hall.config)
    unsub = board.attach(hall)
    board.start()
    sim = get_sim("truth-held")
    try:
        hall.issue_ticket("social")
        first = hall.call_next(1).value["number"]
        hall.start_service(1)
        assert sim.wait_for(lambda s: s.area_text(0) == f"{first} → 1号窗口")
        hall.hold(1)
        assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")
        hall.resume_ticket(1, first)
        assert sim.wait_for(lambda s: s.area_text(0) == f"{first} → 1号窗口")
    finally:
        unsub()
        board.stop()


def test_hall_board_started_mid_day_shows_the_calls_standing_now(hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    first = hall.call_next(1).value["number"]
    gone = hall.call_next(2).value["number"]
    hall.no_show(2)
    board = from_config("hallled", {"kind": "led", "role": "hall", "url": "sim://truth-start", **FAST}, hall.config)
    unsub = board.attach(hall)
    board.start()
    try:
        assert get_sim("truth-start").wait_for(lambda s: s.area_text(0) == f"{first} → 1号窗口")
        assert gone not in board.shown()[0]
    finally:
        unsub()
        board.stop()
