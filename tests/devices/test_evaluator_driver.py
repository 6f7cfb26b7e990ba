"""The evaluator bus driver against the keypad simulator on a real pty: prompts, presses, timeouts, faults, unplug."""
from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.base import Health, HealthState
from devices.evaluator import from_config, keymaps, proto
from devices.evaluator.driver import EvaluatorBus
from devices.evaluator.sim import EvaluatorBusSim
from kiosk.core import events as k
from kiosk.core.errors import ConfigError, RatingExists
from kiosk.core.events import Event
from kiosk.core.rating import Channel, Level
from tests.devices import common

_seq = itertools.count(1)


def ev(kind: str, payload: dict[str, Any]) -> Event:
    n = next(_seq)
    return Event(n, f"e{n}", kind, "2026-11-24T01:00:00+00:00", "2026-11-24", payload)


def requested(window: int, ticket_id: str, number: str = "A001") -> Event:
    return ev(k.RATING_REQUESTED, {"ticket": {"id": ticket_id, "number": number}, "window": window,
                                   "window_name": f"{window}号窗口", "clerk": "张*"})


wait_for = functools.partial(common.wait_for, timeout=2.0)


class FakeHall:
    """Records rate/mark_unrated calls; `fail` holds exceptions to raise on the next rate calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail: list[Exception] = []

    def rate(self, ticket_id: str, level: Level, **kw: Any) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.calls.append(("rate", ticket_id, level, kw))

    def mark_unrated(self, ticket_id: str) -> None:
        self.calls.append(("unrated", ticket_id))


# keypad 1 → window 1 (key5-gb), keypad 2 → window 2 (key4), keypad 7 → window 3 (key5-rev)
KEYPADS = [
    {"address": 1, "window": 1},
    {"address": 2, "window": 2, "model": "key4"},
    {"address": 7, "window": 3, "model": "key5-rev"},
]


@pytest.fixture
def sim(tmp_path: Any) -> Iterator[EvaluatorBusSim]:
    s = EvaluatorBusSim([1, 2, 7], link_dir=str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def fake() -> FakeHall:
    return FakeHall()


@pytest.fixture
def make_bus(sim: EvaluatorBusSim, fake: FakeHall) -> Iterator[Callable[..., EvaluatorBus]]:
    started: list[EvaluatorBus] = []

    def make(**opts: Any) -> EvaluatorBus:
        section = {"kind": "evaluator", "url": f"serial://{sim.path}?baud=9600", "model": "key5-gb",
                   "keypads": KEYPADS, "timeout": 5, "poll_interval": 0.02, **opts}
        bus = from_config("ev1", section, None, hall=fake)
        bus.start()
        started.append(bus)
        wait_for(lambda: all(h.state == HealthState.OK for h in bus.keypad_health()))
        return bus

    yield make
    for b in started:
        b.stop()


def test_prompt_then_press_rates_the_ticket_once(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim,
                                                 fake: FakeHall) -> None:
    bus = make_bus(timeout=30)
    bus.handle_event(requested(1, "t-1", "A001"))
    wait_for(lambda: sim.keypad(1).prompting)
    assert sim.keypad(1).last_timeout == 30  # the keypad's own light timeout travels in the PROMPT frame
    assert not sim.keypad(2).prompting and not sim.keypad(7).prompting
    sim.press(1, 2)
    wait_for(lambda: fake.calls)
    assert fake.calls == [("rate", "t-1", Level.SATISFIED,
                           {"channel": Channel.EVALUATOR, "idem_key": "evaluator:ev1:t-1"})]
    wait_for(lambda: not sim.keypad(1).prompting)
    # 一次一评: a second press after the rating is ignored and counted, never a second rate call
    sim.press(1, 5)
    wait_for(lambda: bus.counter_values()["ignored_presses"] == 1)
    # and the same ticket is not prompted again
    bus.handle_event(requested(1, "t-1", "A001"))
    time.sleep(0.2)
    assert sim.keypad(1).prompts == 1
    assert len(fake.calls) == 1


def prompt_and_press(bus: EvaluatorBus, sim: EvaluatorBusSim, fake: FakeHall, window: int, addr: int, tid: str,
                     code: int) -> tuple[Any, ...]:
    """One full service: prompt the window's keypad, press a key, wait for the hall call and the CLEAR."""
    prompts, before = sim.keypad(addr).prompts, len(fake.calls)
    bus.handle_event(requested(window, tid))
    wait_for(lambda: sim.keypad(addr).prompts == prompts + 1 and sim.keypad(addr).prompting)
    sim.press(addr, code)
    wait_for(lambda: len(fake.calls) == before + 1)
    wait_for(lambda: not sim.keypad(addr).prompting)
    return fake.calls[-1]


@pytest.mark.parametrize("model", sorted(keymaps.MODELS))
def test_every_key_of_each_model_reaches_the_hall_as_declared(model: str, make_bus: Callable[..., EvaluatorBus],
                                                              sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus(keypads={"1": 1}, model=model)
    km = keymaps.get(model)
    for code in sorted(km.codes):
        tid = f"{model}-{code}"
        call = prompt_and_press(bus, sim, fake, 1, 1, tid, code)
        outcome = km.outcome(code)
        if outcome is keymaps.UNRATED:
            assert call == ("unrated", tid)
        else:
            assert call == ("rate", tid, outcome, {"channel": Channel.EVALUATOR, "idem_key": f"evaluator:ev1:{tid}"})


def test_per_keypad_models_on_one_bus(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim,
                                      fake: FakeHall) -> None:
    bus = make_bus()
    # key code 1 means three different things on the three keypads of this bus
    assert prompt_and_press(bus, sim, fake, 1, 1, "a", 1)[2] == Level.VERY_SATISFIED
    assert prompt_and_press(bus, sim, fake, 2, 2, "b", 1)[2] == Level.SATISFIED
    assert prompt_and_press(bus, sim, fake, 3, 7, "c", 1)[2] == Level.VERY_DISSATISFIED


def test_no_press_within_timeout_marks_unrated_and_clears(make_bus: Callable[..., EvaluatorBus],
                                                          sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus(timeout=0.3)
    bus.handle_event(requested(2, "t-slow"))
    wait_for(lambda: sim.keypad(2).prompting)
    wait_for(lambda: fake.calls == [("unrated", "t-slow")])
    wait_for(lambda: not sim.keypad(2).prompting)
    # a press after the timeout is too late: ignored, not a rating
    sim.press(2, 4)
    wait_for(lambda: bus.counter_values()["ignored_presses"] == 1)
    assert fake.calls == [("unrated", "t-slow")]


def test_next_ticket_at_the_window_times_out_the_open_prompt(make_bus: Callable[..., EvaluatorBus],
                                                             sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus()
    bus.handle_event(requested(1, "first"))
    wait_for(lambda: sim.keypad(1).prompting)
    bus.handle_event(requested(1, "second"))
    wait_for(lambda: sim.keypad(1).prompts == 2)
    sim.press(1, 1)
    wait_for(lambda: len(fake.calls) == 2)
    assert fake.calls[0] == ("unrated", "first")
    assert fake.calls[1][:3] == ("rate", "second", Level.VERY_SATISFIED)


def test_rated_elsewhere_clears_the_keypad_without_a_call(make_bus: Callable[..., EvaluatorBus],
                                                          sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus(timeout=0.5)
    bus.handle_event(requested(3, "t-qr"))
    wait_for(lambda: sim.keypad(7).prompting)
    bus.handle_event(ev(k.RATING_RECORDED, {"rating": {"id": "r1", "ticket_id": "t-qr", "window": 3,
                                                       "level": "satisfied", "channel": "qr"}}))
    wait_for(lambda: not sim.keypad(7).prompting)
    time.sleep(0.7)  # past the prompt timeout: nothing may be marked unrated
    assert fake.calls == []


def test_prompt_on_finish_option(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim) -> None:
    finished = ev(k.SERVICE_FINISHED, {"ticket": {"id": "t-f", "number": "A009"}, "window": 1, "window_name": "",
                                       "clerk": None, "wait_s": 10, "service_s": 60})
    off = make_bus()
    off.handle_event(finished)
    time.sleep(0.2)
    assert sim.keypad(1).prompts == 0
    off.stop()
    on = make_bus(prompt_on_finish=True)
    on.handle_event(finished)
    wait_for(lambda: sim.keypad(1).prompting)


def test_refusal_is_caught_and_the_bus_keeps_working(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim,
                                                     fake: FakeHall) -> None:
    bus = make_bus()
    fake.fail = [RatingExists(number="A001")]
    bus.handle_event(requested(1, "t-dup"))
    wait_for(lambda: sim.keypad(1).prompting)
    sim.press(1, 1)
    wait_for(lambda: bus.counter_values()["refused"] == 1)
    wait_for(lambda: not sim.keypad(1).prompting)
    assert prompt_and_press(bus, sim, fake, 1, 1, "t-next", 2)[:2] == ("rate", "t-next")


def test_transient_hall_failure_is_retried_from_the_keypad(make_bus: Callable[..., EvaluatorBus],
                                                           sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus()
    fake.fail = [RuntimeError("database is locked")]
    call = prompt_and_press(bus, sim, fake, 1, 1, "t-retry", 3)
    assert call[:3] == ("rate", "t-retry", Level.BASIC)
    assert bus.counter_values()["hall_failures"] == 1


@pytest.mark.parametrize(
    ("fault", "counter"),
    [
        (lambda s: s.inject(b"\xff\x00garbage\x55"), "garbage"),
        (lambda s: s.send_partial(1, 5), "bad_frame"),
        (lambda s: s.corrupt_next(1), "bad_checksum"),
        (lambda s: s.send_from(20, proto.Cmd.KEY, b"\x05"), "unknown_address"),
    ],
    ids=["garbage", "partial", "bad-checksum", "unknown-address"],
)
def test_line_faults_are_counted_and_ignored(fault: Callable[[EvaluatorBusSim], None], counter: str,
                                             make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim,
                                             fake: FakeHall) -> None:
    bus = make_bus()
    before = bus.counter_values()[counter]
    fault(sim)
    wait_for(lambda: bus.counter_values()[counter] > before)
    # no key came out of the noise, and the reader is alive: a real prompt and press still rate
    assert fake.calls == []
    assert prompt_and_press(bus, sim, fake, 1, 1, "t-after", 1)[:3] == ("rate", "t-after", Level.VERY_SATISFIED)
    assert bus.health.state == HealthState.OK


def test_bad_checksum_on_a_key_reply_loses_no_rating(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim,
                                                     fake: FakeHall) -> None:
    bus = make_bus()
    bus.handle_event(requested(1, "t-noisy"))
    wait_for(lambda: sim.keypad(1).prompting)
    sim.corrupt_next(2)
    sim.press(1, 4)
    wait_for(lambda: fake.calls)
    assert fake.calls[0][:3] == ("rate", "t-noisy", Level.DISSATISFIED)
    assert bus.counter_values()["bad_checksum"] >= 2


def test_silent_keypad_goes_offline_while_the_bus_stays_ok(make_bus: Callable[..., EvaluatorBus],
                                                           sim: EvaluatorBusSim) -> None:
    bus = make_bus()
    bus.offline_poll = 0.2  # look for the keypad's return more often than in production
    seen: list[Health] = []
    bus.on_health(seen.append)
    sim.silence(2)
    wait_for(lambda: bus.keypads[2].state == HealthState.OFFLINE)
    assert bus.health.state == HealthState.OK
    assert bus.keypads[1].state == HealthState.OK
    assert any(h.device == "ev1/2" and h.state == HealthState.OFFLINE and "2号窗口" in h.reason for h in seen)
    sim.silence(2, False)
    wait_for(lambda: bus.keypads[2].state == HealthState.OK)
    st = bus.status()
    assert [kp["state"] for kp in st["keypads"]] == ["ok", "ok", "ok"]


def test_no_keypad_answering_degrades_the_bus(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim) -> None:
    bus = make_bus()
    bus.offline_poll = 0.2
    for a in (1, 2, 7):
        sim.silence(a)
    wait_for(lambda: bus.health.state == HealthState.DEGRADED, timeout=4)
    for a in (1, 2, 7):
        sim.silence(a, False)
    wait_for(lambda: bus.health.state == HealthState.OK, timeout=4)


def test_unplug_goes_offline_and_back_within_two_seconds_keeping_the_prompt(
        make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim, fake: FakeHall) -> None:
    bus = make_bus(timeout=30)
    bus.handle_event(requested(1, "t-unplug"))
    wait_for(lambda: sim.keypad(1).prompting)
    sim.unplug()
    wait_for(lambda: bus.health.state == HealthState.OFFLINE)
    time.sleep(0.5)
    sim.plug()
    wait_for(lambda: bus.health.state == HealthState.OK, timeout=2.0)
    sim.press(1, 2)
    wait_for(lambda: fake.calls)
    assert fake.calls == [("rate", "t-unplug", Level.SATISFIED,
                           {"channel": Channel.EVALUATOR, "idem_key": "evaluator:ev1:t-unplug"})]


def test_events_for_other_windows_are_ignored(make_bus: Callable[..., EvaluatorBus], sim: EvaluatorBusSim) -> None:
    bus = make_bus(keypads={"1": 1})
    bus.handle_event(requested(9, "t-other"))
    bus.handle_event(ev(k.TICKET_CALLED, {"ticket": {"id": "x"}, "window": 1}))
    time.sleep(0.2)
    assert sim.keypad(1).prompts == 0
    assert bus.event_kinds >= {k.RATING_REQUESTED, k.SERVICE_FINISHED, k.RATING_RECORDED, k.RATING_UNRATED}


# --- config ---------------------------------------------------------------------------------------------
class _Win:
    def __init__(self, n: int) -> None:
        self.number, self.name = n, f"{n}号窗口"


class _HallConfig:
    windows = (_Win(1), _Win(2), _Win(3))


@pytest.mark.parametrize(
    ("section", "option", "message"),
    [
        ({"baud": 9600}, "baud", "option 'baud' is not valid in section [devices.ev9]"),
        ({"url": "ftp://x"}, "url", "unknown device URL scheme"),
        ({"url": "file:///tmp/x"}, "url", "must be serial://, tcp:// or sim://"),
        ({"url": "serial:///dev/ttyUSB0?baud=fast"}, "url", "must be an integer"),
        ({"model": "acme-9"}, "model", "unknown keypad model 'acme-9'"),
        ({"keypads": {"0": 1}}, "keypads", "between 1 and 32"),
        ({"keypads": {"33": 1}}, "keypads", "between 1 and 32"),
        ({"keypads": {"1": 7}}, "keypads", "window 7, which the hall does not have"),
        ({"keypads": {"1": 1, "2": 1}}, "keypads", "window 1 has two keypads"),
        ({"keypads": {}}, "keypads", "lists no keypad"),
        ({"keypads": "1=1"}, "keypads", "must be a table"),
        ({"keypads": [{"address": 1, "window": 1, "colour": "red"}]}, "colour",
         "option 'colour' is not valid in section [devices.ev9.keypads[0]]"),
        ({"keypads": [{"address": 1}]}, "window", "option 'window' is required"),
        ({"keypads": [{"address": 1, "window": 1, "model": "nope"}]}, "model", "unknown keypad model"),
        ({"timeout": 0}, "timeout", "option 'timeout'"),
        ({"timeout": "60"}, "timeout", "must be a number"),
        ({"prompt_on_finish": "yes"}, "prompt_on_finish", "true or false"),
        ({"checksum": "crc"}, "checksum", "one of 'sum', 'xor'"),
        ({"kind": "led"}, "kind", "must be 'evaluator'"),
    ],
)
def test_config_errors_name_option_and_section(section: dict[str, Any], option: str, message: str) -> None:
    full = {"kind": "evaluator", "url": "sim://ev9", "keypads": {"1": 1}, **section}
    with pytest.raises(ConfigError) as exc:
        from_config("ev9", full, _HallConfig())
    assert message in str(exc.value)
    assert exc.value.option == option
    assert exc.value.section.startswith("devices.ev9")


def test_config_both_keypad_forms() -> None:
    a = from_config("ev9", {"kind": "evaluator", "url": "sim://ev9", "model": "key4", "keypads": {"3": 2, "4": 1}},
                    _HallConfig())
    assert {(kp.address, kp.cfg.window, kp.cfg.keymap.model) for kp in a.keypads.values()} == {
        (3, 2, "key4"), (4, 1, "key4")}
    b = from_config("ev9", {"kind": "evaluator", "url": "serial:///dev/serial/by-id/usb-485?baud=19200",
                            "keypads": [{"address": 5, "window": 3, "model": "key5-rev"}, {"address": 6, "window": 1}],
                            "timeout": 45, "prompt_on_finish": True, "checksum": "sum"}, _HallConfig())
    assert {(kp.address, kp.cfg.keymap.model) for kp in b.keypads.values()} == {(5, "key5-rev"), (6, "key5-gb")}
    assert (b.timeout, b.prompt_on_finish, b.checksum, b.url.opts["baud"]) == (45.0, True, "sum", "19200")


def test_sim_url_runs_the_demo_bus(fake: FakeHall) -> None:
    from devices.evaluator import sim as simmod

    bus = from_config("evdemo", {"kind": "evaluator", "url": "sim://evdemo-test?auto_key=2&auto_after=0.1",
                                 "keypads": {"4": 2}, "model": "key4", "checksum": "sum", "poll_interval": 0.02},
                      _HallConfig(), hall=fake)
    bus.start()
    try:
        bus.handle_event(requested(2, "t-demo"))
        wait_for(lambda: fake.calls)
        assert fake.calls[0][:3] == ("rate", "t-demo", Level.BASIC)
    finally:
        bus.stop()
        simmod.SIMS.pop("evdemo-test").stop()


def test_every_option_is_documented() -> None:
    from pathlib import Path

    from devices.evaluator.driver import KEYPAD_OPTIONS, OPTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "devices-evaluator.md").read_text()
    for opt in OPTIONS | KEYPAD_OPTIONS:
        assert f"{opt} =" in doc or f"{opt} = " in doc, opt
    for model in keymaps.MODELS:
        assert f"`{model}`" in doc, model
