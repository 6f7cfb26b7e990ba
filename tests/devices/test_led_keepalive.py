"""Keepalive PINGs are rare while the controller answers (a call that lands in a PING's round trip waits for it) and
come every second once a reply is missing, so a silent controller is still found out within seconds of a probe."""
from __future__ import annotations

from devices.base import HealthState
from devices.led.content import AreaContent
from devices.led.schedule import RECHECK_S, AreaScheduler
from devices.led.sim import LedSim
from tests.devices.test_led_driver import Clock, FakeLine, LineBoard

WELCOME = AreaContent(0, "欢迎光临")


def test_pings_every_keepalive_while_answered_and_every_recheck_in_doubt() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0, keepalive=20.0)
    b = s.take(0.0)
    assert b is not None and not b.is_ping
    s.sent(b, 0.0)
    assert s.take(19.9) is None
    ping = s.take(20.0)
    assert ping is not None and ping.is_ping
    s.sent(ping, 20.0)
    s.doubt = True  # its answer did not come
    assert s.take(20.0 + RECHECK_S - 0.01) is None
    again = s.take(20.0 + RECHECK_S)
    assert again is not None and again.is_ping
    s.sent(again, 21.0)
    s.doubt = False  # answered: back to the long period
    assert s.take(21.0 + RECHECK_S) is None and s.take(41.0) is not None


def test_a_controller_that_falls_silent_while_idle_is_offline_soon_after_the_next_ping() -> None:
    sim = LedSim()
    line = FakeLine(sim, Clock())
    board = LineBoard(line)
    when: list[tuple[float, HealthState]] = []
    board.on_health(lambda h: when.append((line.clock(), h.state)))
    assert board.keepalive == 20.0  # the default
    board.turn(5.0)
    sim.silent = True  # powered off with the cable in, on an idle board
    board.turn(40.0)
    pings = [t for t, what in line.sent if what == "PING"]
    assert pings[0] >= 20.0  # nothing but the welcome frame went for a keepalive's worth of idle line
    states = [s for _, s in when]
    assert states[-2:] == [HealthState.DEGRADED, HealthState.OFFLINE]
    degraded, offline = when[-2][0], when[-1][0]
    assert degraded <= pings[0] + 1.0  # the PING's reply_timeout (0.5 s) and its wire time
    assert offline - degraded <= RECHECK_S + 1.0  # the second probe came a second later, not a keepalive later
    sim.silent = False
    board.turn(3.0)
    assert when[-1][1] == HealthState.OK
