"""Evaluator keypads on a noisy RS-485 line: spoiled replies are rejected, and no press is lost or counted twice."""
from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devices.base import HealthState, TransportError, parse_url
from devices.evaluator import from_config, keymaps, proto
from devices.evaluator import sim as simmod
from devices.evaluator.driver import EvaluatorBus, KeypadConfig
from devices.evaluator.proto import Cmd
from devices.evaluator.sim import NOISE_KINDS, EvaluatorBusSim
from kiosk.core import events as k
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from tests.devices.common import wait_for

REPLIES = [
    (Cmd.ACK, bytes([Cmd.PROMPT])), (Cmd.ACK, bytes([Cmd.CLEAR])),
    *((Cmd.KEY, bytes([code])) for code in range(6)), (Cmd.STATUS, b"\x00"), (Cmd.STATUS, b"\x01"),
]


@pytest.mark.parametrize("checksum", proto.CHECKSUMS)
def test_every_spoiled_reply_is_rejected_by_the_decoder(checksum: str, tmp_path: Path) -> None:
    sim = EvaluatorBusSim([1], checksum_kind=checksum, link_dir=str(tmp_path), noise=0.5, seed=1)
    for addr in range(proto.MIN_ADDR, proto.MAX_ADDR + 1):
        for cmd, data in REPLIES:
            for _ in range(20):
                dec = proto.Decoder(checksum_kind=checksum, accept=proto.KEYPAD_CMDS)
                assert dec.feed(sim._noisy(proto.encode(addr, cmd, data, checksum))) == []
                dec.expire()  # the line goes quiet after a cut-off frame (half-duplex: nothing follows it)
                assert dec.errors, (addr, cmd, data)
    assert all(sim.noised[kind] > 500 for kind in NOISE_KINDS), sim.noised


def test_noise_and_seed_url_options() -> None:
    try:
        sim = simmod.open_bus("ev-noise-opts", [1], opts={"noise": "0.3", "seed": "7"})
        assert (sim.noise, sim.noised) == (0.3, dict.fromkeys(NOISE_KINDS, 0))
    finally:
        simmod.SIMS.pop("ev-noise-opts").stop()


@pytest.mark.parametrize(("opts", "message"), [
    ({"noise": "loud"}, "bad option noise='loud'"),
    ({"noise": "1"}, "must be a fraction"),
    ({"seed": "x"}, "bad option seed='x'"),
    ({"auto_after": "-1"}, "at least 0"),
    ({"nosie": "0.3"}, "no option 'nosie' (options: auto_key, auto_after, noise, seed)"),
])
def test_a_bad_sim_option_is_refused_naming_it(opts: dict[str, str], message: str) -> None:
    with pytest.raises(TransportError, match=re.escape(message)):
        simmod.open_bus("ev-bad", [1], opts=opts)
    assert "ev-bad" not in simmod.SIMS


def test_the_config_check_reads_the_sim_options(hall: Hall) -> None:
    section = {"kind": "evaluator", "url": "sim://ev-cfg?noise=0.3&seed=7", "keypads": {"1": 1}}
    assert from_config("ev-cfg", section, hall.config).url.opts == {"noise": "0.3", "seed": "7"}
    with pytest.raises(ConfigError, match=r"noise='2'.*must be a fraction") as exc:
        from_config("ev-cfg", {**section, "url": "sim://ev-cfg?noise=2"}, hall.config)
    assert (exc.value.option, exc.value.section) == ("url", "devices.ev-cfg")


def test_a_bad_sim_option_leaves_the_bus_offline_saying_why() -> None:
    """Start-up config checks refuse it first; should one get through, the driver's thread must not die of it."""
    bus = EvaluatorBus("evaluator1", parse_url("sim://ev-bad-noise?noise=loud"),
                       [KeypadConfig(1, 1, keymaps.get(keymaps.DEFAULT_MODEL))])
    bus.start()
    try:
        wait_for(lambda: "bad option noise" in bus.health.reason)
        assert bus.health.state == HealthState.OFFLINE
        assert bus._thread is not None and bus._thread.is_alive()
    finally:
        bus.stop()
    assert "ev-bad-noise" not in simmod.SIMS


class CountingHall:
    """The real Hall, counting each rate call the driver makes (a press handed over twice shows here)."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.rates: Counter[str] = Counter()

    def rate(self, ticket_id: str, level: Level, **kw: Any) -> Any:
        self.rates[ticket_id] += 1
        return self.hall.rate(ticket_id, level, **kw)

    def mark_unrated(self, ticket_id: str) -> Any:
        return self.hall.mark_unrated(ticket_id)


PRESSES = 100


def test_100_presses_on_a_line_spoiling_30_percent_of_replies(hall: Hall, tmp_path: Path) -> None:
    """Half the presses land 0-20 ms after the light (while the PROMPT's ACK may be the reply the line spoilt),
    the rest within 0.3 s; every one must be recorded once, at the level pressed."""
    rng = random.Random(20261124)
    sim = EvaluatorBusSim([1, 2], link_dir=str(tmp_path), noise=0.3, seed=rng.randrange(1 << 30)).start()
    sink = CountingHall(hall)
    seen: list[Event] = []
    hall.subscribe(seen.append)
    bus = from_config("evaluator1", {
        "kind": "evaluator", "url": f"serial://{sim.path}", "timeout": 5, "poll_interval": 0.02,
        "keypads": {"1": 2, "2": 1},  # keypad 1 at window 2 (tax, no daily cap); keypad 2 shares the line
    }, hall.config, hall=sink)
    hall.subscribe(bus.handle_event, set(bus.event_kinds))
    bus.start()
    km = keymaps.get(keymaps.DEFAULT_MODEL)
    pressed: dict[str, Level] = {}
    try:
        wait_for(lambda: all(h.state == HealthState.OK for h in bus.keypad_health()))
        for i in range(PRESSES):
            tid = hall.issue_ticket("tax").value.ticket["id"]
            assert hall.call_next(2).value["id"] == tid
            hall.finish_service(2)
            code = rng.choice(sorted(km.codes))
            outcome = km.outcome(code)
            assert isinstance(outcome, Level)
            pressed[tid] = outcome
            sim.press_after_prompt(1, code, rng.uniform(0, 0.02) if i % 2 == 0 else rng.uniform(0.02, 0.3))
            hall.request_rating(2)
            # settled either way: recorded, or unrated when the press was lost (the prompt timed out)
            wait_for(lambda t=tid: any(
                (e.kind == k.RATING_RECORDED and e.payload["rating"]["ticket_id"] == t)
                or (e.kind == k.RATING_UNRATED and e.payload["ticket"]["id"] == t) for e in seen), timeout=15)
    finally:
        bus.stop()
        sim.stop()
    recorded = Counter(e.payload["rating"]["ticket_id"] for e in seen if e.kind == k.RATING_RECORDED)
    levels = {e.payload["rating"]["ticket_id"]: e.payload["rating"]["level"]
              for e in seen if e.kind == k.RATING_RECORDED}
    lost = [t for t in pressed if not recorded[t]]
    twice = [t for t in pressed if recorded[t] > 1 or sink.rates[t] > 1]
    wrong = [t for t in pressed if t in levels and levels[t] != pressed[t].value]
    counts = {"lost": len(lost), "twice": len(twice), "wrong_level": len(wrong)}
    assert counts == {"lost": 0, "twice": 0, "wrong_level": 0}, (counts, sim.noised, bus.counter_values())
    assert sum(sim.noised.values()) > PRESSES  # the line really was noisy
    assert sim.keypad(1).wiped_unseen == 0
