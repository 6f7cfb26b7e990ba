"""LED boards wired to a real Hall: its events drive the boards and board health comes back as events."""
from __future__ import annotations

from pathlib import Path

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
