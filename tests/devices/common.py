"""Checks every device kind must pass (Home Assistant's help_test_* habit), run against real drivers."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from devices.base import HealthState
from devices.supervisor import Supervisor, build_drivers
from kiosk.core import events as ev
from kiosk.core.hall import Hall


def wait_until(pred: Callable[[], object], timeout: float = 3.0) -> bool:
    """Poll a condition (devices run on their own threads); True as soon as it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return bool(pred())


def wait_for(cond: Callable[[], object], timeout: float = 3.0) -> None:
    if not wait_until(cond, timeout):
        raise AssertionError(f"condition not met within {timeout} s")


def health_events(hall: Hall, device: str) -> list[dict[str, Any]]:
    return [e.payload for e in hall.events_after(0) if e.kind == ev.DEVICE_HEALTH and e.payload["device"] == device]


def check_dead_device_never_blocks_the_hall(hall: Hall, name: str, section: dict[str, Any]) -> None:
    """A device whose port is not there: the hall issues, calls, rates as usual; the device says offline."""
    hall.config.devices[name] = section
    sup = Supervisor(hall, build_drivers(hall.config))
    sup.start()
    try:
        for _ in range(40):  # more work than any device queue holds: submit() must drop, never wait
            t = hall.issue_ticket("tax").value.ticket
        hall.call_next(2)
        hall.recall(2)
        hall.finish_service(2)
        hall.request_rating(2)
        assert hall.ticket(t["id"])["status"] == "waiting"
        wait_for(lambda: any(h["state"] == "offline" for h in health_events(hall, name)), 5.0)
        off = next(h for h in health_events(hall, name) if h["state"] == "offline")
        assert off["reason"], "an offline device must say why"
        assert sup.status()[0]["state"] == "offline"
    finally:
        sup.stop()


class Pluggable(Protocol):
    def unplug(self) -> None: ...
    def plug(self) -> None: ...


def check_unplug_goes_offline_and_reopens(driver: Any, port: Pluggable, *, within: float = 2.0) -> None:
    """Unplug → offline with a reason → plugged back → ok within `within` s, by the same stable path and without a
    restart (DESIGN.md: devices fail without taking the hall down)."""
    wait_for(lambda: driver.health.state == HealthState.OK, 5.0)
    port.unplug()
    wait_for(lambda: driver.health.state == HealthState.OFFLINE, 5.0)
    assert driver.health.reason, "an offline device must say why"
    time.sleep(0.3)
    port.plug()
    wait_for(lambda: driver.health.state == HealthState.OK, within)
