"""The evaluator bus wired to a real Hall: 评价 at a window → keypad prompt → key press → a recorded rating."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.evaluator import from_config
from devices.evaluator.driver import EvaluatorBus
from devices.evaluator.sim import EvaluatorBusSim
from kiosk.core import events as k
from kiosk.core.events import Event
from kiosk.core.hall import Hall
from tests.conftest import staff
from tests.devices.common import wait_for


@pytest.fixture
def wired(hall: Hall, tmp_path: Path) -> Iterator[tuple[EvaluatorBus, EvaluatorBusSim, list[Event]]]:
    sim = EvaluatorBusSim([1, 2], link_dir=str(tmp_path)).start()
    seen: list[Event] = []
    hall.subscribe(seen.append)
    bus = from_config("evaluator1", {
        "kind": "evaluator", "url": f"serial://{sim.path}", "timeout": 0.5, "poll_interval": 0.02,
        "keypads": [{"address": 1, "window": 1, "model": "key5-gb"}, {"address": 2, "window": 2, "model": "key4"}],
    }, hall.config, hall=hall)
    hall.subscribe(bus.handle_event, set(bus.event_kinds))
    bus.on_health(lambda h: hall.report_device_health(h.device, h.kind, str(h.state), h.reason))
    bus.start()
    wait_for(lambda: all(h.state == "ok" for h in bus.keypad_health()))
    yield bus, sim, seen
    bus.stop()
    sim.stop()


def serve(hall: Hall, window: int) -> str:
    tid = hall.issue_ticket("social").value.ticket["id"]
    called = hall.call_next(window).value
    assert called["id"] == tid
    hall.finish_service(window)
    return tid


def test_key_press_records_a_rating_in_the_hall(hall: Hall, wired: tuple[EvaluatorBus, EvaluatorBusSim,
                                                                          list[Event]]) -> None:
    bus, sim, seen = wired
    tid = serve(hall, 1)
    hall.request_rating(1)
    wait_for(lambda: sim.keypad(1).prompting)
    sim.press(1, 4)  # key5-gb: 4 = 不满意, a 差评 without a reason
    wait_for(lambda: any(e.kind == k.RATING_RECORDED for e in seen))
    rating = next(e for e in seen if e.kind == k.RATING_RECORDED).payload["rating"]
    assert rating["ticket_id"] == tid
    assert (rating["level"], rating["channel"], rating["window"]) == ("dissatisfied", "evaluator", 1)
    assert rating["reason_pending"]  # the clerk's screen completes the reason
    wait_for(lambda: not sim.keypad(1).prompting)
    # 一次一评: pressing again changes nothing in the hall
    sim.press(1, 1)
    wait_for(lambda: bus.counter_values()["ignored_presses"] == 1)
    assert sum(e.kind == k.RATING_RECORDED for e in seen) == 1


def test_timeout_marks_the_service_unrated(hall: Hall, wired: tuple[EvaluatorBus, EvaluatorBusSim,
                                                                     list[Event]]) -> None:
    bus, sim, seen = wired
    tid = serve(hall, 2)
    hall.request_rating(2)
    wait_for(lambda: sim.keypad(2).prompting)
    wait_for(lambda: any(e.kind == k.RATING_UNRATED for e in seen))
    unrated = next(e for e in seen if e.kind == k.RATING_UNRATED).payload
    assert (unrated["ticket"]["id"], unrated["window"]) == (tid, 2)
    wait_for(lambda: not sim.keypad(2).prompting)
    assert bus.counter_values()["unrated"] == 1


def test_keypad_health_reaches_the_hall(hall: Hall, wired: tuple[EvaluatorBus, EvaluatorBusSim,
                                                                  list[Event]]) -> None:
    bus, sim, seen = wired
    sim.silence(2)
    wait_for(lambda: any(e.kind == k.DEVICE_HEALTH and e.payload.get("device") == "evaluator1/2"
                         and e.payload.get("state") == "offline" for e in seen))
    assert bus.health.state == "ok"


def test_supervisor_wires_keypads_and_voice_to_the_hall(config: Any, clock: Any, tmp_path: Path) -> None:
    """The whole path as `hall server` runs it: config → Supervisor → events → keypad + voice → hall."""
    import msgspec

    from devices.evaluator import sim as simmod
    from devices.supervisor import Supervisor
    from kiosk.store import Store

    out = tmp_path / "voice-out"
    config = msgspec.structs.replace(config, devices={
        "evaluator1": {"kind": "evaluator", "url": "sim://ev-supervised", "model": "key4",
                       "keypads": {"1": 1, "2": 2}, "poll_interval": 0.02},
        "voice": {"kind": "voice", "sink": f"file://{out}", "clips_dir": str(tmp_path / "clips")},
    })
    store = Store(tmp_path / "hall.db")
    hall = staff(Hall(config, store, clock=clock))
    seen: list[Event] = []
    hall.subscribe(seen.append)
    sup = Supervisor.from_config(hall)
    sup.start()
    try:
        tid = serve(hall, 2)
        wait_for(lambda: len(list(out.glob("*.wav"))) == 1, timeout=10)  # first start renders the clips
        hall.request_rating(2)
        keypads = simmod.SIMS["ev-supervised"]
        wait_for(lambda: keypads.keypad(2).prompting)
        keypads.press(2, 4)  # key4: 4 = 非常满意
        wait_for(lambda: any(e.kind == k.RATING_RECORDED for e in seen))
        rating = next(e for e in seen if e.kind == k.RATING_RECORDED).payload["rating"]
        assert (rating["ticket_id"], rating["level"], rating["channel"]) == (tid, "very_satisfied", "evaluator")
        states = {e.payload["device"]: e.payload["state"] for e in seen if e.kind == k.DEVICE_HEALTH}
        assert states == {"evaluator1": "ok", "evaluator1/1": "ok", "evaluator1/2": "ok", "voice": "ok"}
    finally:
        sup.stop()
        simmod.SIMS.pop("ev-supervised").stop()
        store.close()
