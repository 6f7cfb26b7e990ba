"""LED board driver against the simulated BX controller over a real pty and a real loopback socket."""
from __future__ import annotations

import itertools
import os
import random
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.base import Health, HealthState, SerialTransport, TcpTransport, Transport
from devices.led import proto
from devices.led.driver import LedBoard, doctor, from_config
from devices.led.schedule import LATE_ANSWER, NO_ANSWER
from devices.led.sim import LedSim, PtyLink, TcpLink, get_sim, unplug_sim
from kiosk.core import events as ek
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from tests.devices.common import wait_until

_seq = iter(range(1, 1_000_000))


def ev(kind: str, **payload: Any) -> Event:
    n = next(_seq)
    return Event(n, f"e{n}", kind, "2026-11-23T02:00:00+00:00", "2026-11-23", payload)


def called(number: str, window: int = 3) -> Event:
    t = {"id": f"t-{number}", "number": number, "business": "social", "business_name": "社保", "prefix": "A"}
    return ev(ek.TICKET_CALLED, ticket=t, window=window, window_name=f"{window}号窗口", recall=0)




Link = PtyLink | TcpLink
FAST = {"min_interval": 0.05, "flash_seconds": 0.2, "reply_timeout": 0.2, "keepalive": 0.2}


@pytest.fixture(params=["pty", "tcp"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., tuple[LedSim, Link, LedBoard]]]:
    """Builds sim + link + started board (from config) for each transport; tears all of it down."""
    made: list[tuple[Link, LedBoard]] = []

    def make(**options: Any) -> tuple[LedSim, Link, LedBoard]:
        sim = LedSim(address=int(options.get("address", 1)) if options.get("address") != 0xFFFF else 1)
        link: Link = PtyLink(sim, str(tmp_path / "ttyLED3")) if request.param == "pty" else TcpLink(sim)
        section = {"kind": "led", "role": "window", "window": 3, "url": link.url, **FAST, **options}
        board = from_config("led3", section, None)
        board.start()
        made.append((link, board))
        return sim, link, board

    yield make
    for link, board in made:
        board.stop()
        link.unplug()


def test_call_flashes_then_steady(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig()
    assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")
    board.handle_event(called("A001"))
    assert sim.wait_for(lambda s: s.area_text(0) == "A001 请到3号窗口")
    flash = sim.area(0)
    assert flash is not None and flash.effect == proto.EFFECT_TYPE_OUT and flash.run_mode == proto.RUN_LOOP
    # the steady frame follows by itself once the flash time is over
    assert sim.wait_for(lambda s: (a := s.area(0)) is not None and a.effect == proto.EFFECT_STATIC)
    steady = sim.area(0)
    assert steady is not None and proto.decode_text(steady.text) == "A001 请到3号窗口"
    assert steady.run_mode == proto.RUN_HOLD_LAST
    assert board.health.state == HealthState.OK
    assert sim.bad_frames == 0 and sim.nacks_sent == 0


def test_pause_shows_paused(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig()
    board.handle_event(ev(ek.WINDOW_PAUSED, window=3, window_name="3号窗口", reason="午休"))
    assert sim.wait_for(lambda s: s.area_text(0) == "暂停服务\n午休")
    board.handle_event(ev(ek.WINDOW_RESUMED, window=3, window_name="3号窗口"))
    assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")


def test_burst_of_calls_is_rate_limited_and_ends_on_the_last(
    rig: Callable[..., tuple[LedSim, Link, LedBoard]],
) -> None:
    sim, _, board = rig(min_interval=1.0, flash_seconds=0.3, keepalive=0)
    assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")
    for i in range(1, 21):
        board.handle_event(called(f"A{i:03d}"))
    assert sim.wait_for(
        lambda s: s.area_text(0) == "A020 请到3号窗口" and s.area(0).effect == proto.EFFECT_STATIC,  # type: ignore[union-attr]
        timeout=5.0,
    )
    # welcome, the coalesced flash of A020, its steady frame: never one frame per call
    assert len(sim.update_times()) <= 4
    sent = list(board.send_times)  # when each frame finished writing: what the limiter spaces
    assert len(sent) <= 4
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert all(g >= 0.99 for g in gaps), gaps  # ≤ 1 frame/s
    assert board.dropped == 0


def test_unplug_goes_offline_and_replug_resends_latest(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, link, board = rig()
    board.handle_event(called("A001"))
    assert sim.wait_for(lambda s: s.area_text(0) == "A001 请到3号窗口")
    link.unplug()
    board.handle_event(called("A002"))  # arrives while the cable is out: must not be lost
    assert wait_until(lambda: board.health.state == HealthState.OFFLINE, 3.0)
    assert board.health.reason
    sim.power_cycle()  # the controller lost its RAM areas meanwhile
    link.replug()
    assert wait_until(lambda: board.health.state == HealthState.OK, 2.0)
    assert sim.wait_for(lambda s: s.area_text(0) == "A002 请到3号窗口", 2.0)


def test_silent_controller_goes_offline_and_comes_back(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig()
    assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")
    sim.silent = True
    assert wait_until(lambda: board.health.state == HealthState.OFFLINE, 3.0)
    assert "无应答" in board.health.reason
    board.handle_event(ev(ek.WINDOW_PAUSED, window=3, reason=""))
    sim.power_cycle()
    sim.silent = False
    assert wait_until(lambda: board.health.state == HealthState.OK, 3.0)
    assert sim.wait_for(lambda s: s.area_text(0) == "暂停服务", 2.0)


def test_garbage_from_controller_never_crashes(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, link, board = rig()
    assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临")
    rnd = random.Random(7)
    bad_ack = proto.encode_frame(proto.Frame(dst=0x8000, src=1, data=proto.ack().encode()))
    bad_ack = bad_ack[:-3] + bytes([bad_ack[-3] ^ 0xFF]) + bad_ack[-2:]
    for i in range(10):
        link.inject(bytes(rnd.randrange(256) for _ in range(50)) + bad_ack + b"\xa5\xa5\x01\x02")
        board.handle_event(called(f"B{i:03d}"))
        time.sleep(0.02)
    assert sim.wait_for(lambda s: s.area_text(0) == "B009 请到3号窗口", 3.0)
    assert board._thread is not None and board._thread.is_alive()
    stats = board.stats()
    assert stats["bad_replies"] > 0 and stats["garbage_bytes"] > 0
    assert wait_until(lambda: board.health.state == HealthState.OK, 3.0)


def test_controller_refusal_degrades(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig(welcome="欢" * 300)  # 600 bytes of text: more than a 5K's area holds (§8.2.1)
    sim.area_limit = 512
    assert wait_until(lambda: board.health.state == HealthState.DEGRADED, 3.0)
    assert "ERR_MEMORYVOLUME" in board.health.reason
    board.handle_event(called("A001"))
    assert sim.wait_for(lambda s: s.area_text(0) == "A001 请到3号窗口")
    assert wait_until(lambda: board.health.state == HealthState.OK, 3.0)


def test_text_outside_gb2312_degrades_visibly(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig(welcome="བཀྲ་ཤིས་欢迎")
    assert sim.wait_for(lambda s: (s.area_text(0) or "").endswith("欢迎"))
    assert sim.area_text(0) == "？" * 8 + "欢迎"  # each Tibetan code point became a visible ？
    assert board.unencodable >= 8 and board.health.state == HealthState.OK


def test_overlong_text_is_cut_not_lost(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig(welcome="A" + "欢" * 2000)
    assert sim.wait_for(lambda s: (s.area_text(0) or "").startswith("A欢"))
    assert sim.area_text(0) == "A" + "欢" * 511  # 1023 bytes: the next character would not fit whole
    assert board.health.state == HealthState.OK


def test_broadcast_address_needs_no_answer(rig: Callable[..., tuple[LedSim, Link, LedBoard]]) -> None:
    sim, _, board = rig(address=0xFFFF)
    board.handle_event(called("A007"))
    assert sim.wait_for(lambda s: s.area_text(0) == "A007 请到3号窗口")
    assert board.health.state == HealthState.OK and board.acks == 0


def test_other_address_is_ignored(tmp_path: Path) -> None:
    sim = LedSim(address=2)  # a second board on the same RS-485 line
    link = PtyLink(sim, str(tmp_path / "tty"))
    board = LedBoard("led3", link.url, window=3, address=1, min_interval=0.05, reply_timeout=0.1, keepalive=0.1)
    board.start()
    try:
        assert wait_until(lambda: "无应答" in board.health.reason, 3.0)
        assert board.health.state == HealthState.OFFLINE
        assert sim.area_text(0) is None and sim.ignored > 0
    finally:
        board.stop()
        link.unplug()


# --- timing on a clock the test moves -------------------------------------------------------------------------
class Clock:
    """Time that moves only when the test (or a FakeLine's empty read) says so."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t = round(self.t + dt, 6)


class FakeLine:
    """A line to an in-process controller on fake time: a read that finds nothing lets its timeout pass."""

    def __init__(self, sim: LedSim, clock: Clock) -> None:
        self.sim = sim
        self.clock = clock
        self.rx = bytearray()
        self.sent: list[tuple[float, str]] = []  # (when, "PING" or the text of the area)

    def write(self, data: bytes) -> int:
        for f in proto.FrameDecoder().feed(data):
            req = proto.decode_request(f.data)
            if req.group == proto.GROUP_SYS:
                self.sent.append((self.clock(), "PING"))
            else:
                (area,) = proto.decode_dynamic(req).areas
                self.sent.append((self.clock(), proto.decode_text(area.text)))
        self.rx += self.sim.feed(data, self.clock())
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self.rx:
            self.clock.advance(0.05)
            return b""
        out = bytes(self.rx[:size])
        del self.rx[:size]
        return out

    def close(self) -> None:
        return None


class LineBoard(LedBoard):
    """A window board at the default config, on a FakeLine, turned by hand instead of by its thread."""

    def __init__(self, line: FakeLine) -> None:
        super().__init__("led3", "sim://fake-line", window=3, clock=line.clock)
        self.line = line
        self.changes: list[tuple[HealthState, str]] = []
        self.on_health(lambda h: self.changes.append((h.state, h.reason)))

    def _connect(self) -> Transport:
        return self.line

    def turn(self, seconds: float = 0.05) -> None:
        """What the I/O loop does for `seconds` of fake time, 50 ms per idle wait."""
        end = round(self.line.clock() + seconds, 6)
        while self.line.clock() < end:
            transport = self._ensure_open()
            assert transport is not None
            self._pump(transport)
            self.line.clock.advance(0.05)


def test_call_right_after_a_ping_is_sent_at_once_on_fake_time() -> None:
    line = FakeLine(LedSim(), Clock())
    board = LineBoard(line)
    board.turn(30.0)  # one keepalive (20 s) of idle line
    assert line.sent[0] == (0.0, "欢迎光临") and line.sent[-1][1] == "PING"
    t_ping = line.sent[-1][0]
    board.line.clock.t = t_ping  # the call arrives the moment the PING's answer is in
    board.handle_event(called("A012", 3))
    board._pump(line)
    assert line.sent[-1] == (t_ping, "A012 请到3号窗口")


def test_silent_controller_changes_health_once_per_state_on_fake_time() -> None:
    sim = LedSim()
    line = FakeLine(sim, Clock())
    board = LineBoard(line)
    board.turn(5.0)
    sim.silent = True
    board.turn(120.0)  # two minutes of silence: a probe about every 1.5 s (1 s apart + 0.5 s waiting for it)
    probes = [t for t, _ in line.sent if 5.0 <= t < 125.0]
    assert 60 <= len(probes) <= 121
    assert board.stats()["missed_replies"] == len(probes)  # the count lives in stats(), not in the reason
    sim.power_cycle()
    sim.silent = False
    board.turn(3.0)
    assert board.changes == [
        (HealthState.OK, ""),  # opened
        (HealthState.DEGRADED, LATE_ANSWER),
        (HealthState.OFFLINE, NO_ANSWER),
        (HealthState.OK, ""),  # answered again: the reason is gone
    ]
    assert sim.area_text(0) == "欢迎光临"  # its RAM was lost: the probe that got answered carried the area again


def test_refused_text_stays_degraded_through_answered_pings_on_fake_time() -> None:
    sim = LedSim(area_limit=8)
    line = FakeLine(sim, Clock())
    board = LineBoard(line)
    board.handle_event(ev(ek.WINDOW_PAUSED, window=3, reason="系统升级"))  # 暂停服务\n系统升级: 17 bytes > 8
    board.turn(70.0)
    assert [what for _, what in line.sent].count("PING") >= 3  # the controller answers its PINGs meanwhile
    assert board.changes == [(HealthState.OK, ""), (HealthState.DEGRADED, "控制器拒绝：ERR_MEMORYVOLUME")]
    board.handle_event(ev(ek.WINDOW_RESUMED, window=3))
    board.turn(1.0)
    assert sim.area_text(0) == "欢迎光临"
    assert board.changes[-1] == (HealthState.OK, "")


@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_ping_never_takes_a_calls_slot(kind: str, tmp_path: Path) -> None:
    """Over a real pty or socket with the default config, time held still after a PING: the call still goes out,
    and a burst that follows it waits for the next slot as one frame ending on the newest call."""
    clock = Clock()
    sim = LedSim()
    link: Link = PtyLink(sim, str(tmp_path / "tty")) if kind == "pty" else TcpLink(sim)
    board = LedBoard("led3", link.url, window=3, clock=clock)
    health: list[Health] = []
    board.on_health(health.append)

    def settled() -> bool:
        # every frame the controller got has been answered and booked at the clock's time: safe to move it
        return board.acks == len(sim.received)

    board.start()
    try:
        assert sim.wait_for(lambda s: s.area_text(0) == "欢迎光临") and wait_until(settled)
        clock.t = 30.0  # idle long enough (keepalive 20 s): a PING goes, then time stands still
        assert sim.wait_for(lambda s: any(not r.areas for r in s.received))
        board.handle_event(called("A001", 3))
        assert sim.wait_for(lambda s: s.area_text(0) == "A001 请到3号窗口")
        for i in range(2, 21):
            board.handle_event(called(f"A{i:03d}", 3))
        assert board.shown() == {0: "A020 请到3号窗口"} and wait_until(settled)
        clock.t = 31.0  # the next slot
        assert sim.wait_for(lambda s: s.area_text(0) == "A020 请到3号窗口") and wait_until(settled)
        assert len(sim.update_times()) == 3  # welcome, A001 at once, A002..A020 as one frame
        clock.t = 34.0
        assert sim.wait_for(lambda s: (a := s.area(0)) is not None and a.effect == proto.EFFECT_STATIC)
        assert [h.state for h in health] == [HealthState.OK]
    finally:
        clock.t = 1e9  # whatever the thread waits for on this clock is over
        board.stop()
        link.unplug()


# --- frames sent to the simulator by hand ----------------------------------------------------------------
def _raw_link(link: Link) -> SerialTransport | TcpTransport:
    if isinstance(link, PtyLink):
        return SerialTransport(link.path, 9600, timeout=0.05)
    return TcpTransport("127.0.0.1", link.port)


def _read_frames(t: SerialTransport | TcpTransport, n: int, timeout: float = 2.0) -> list[proto.Frame]:
    dec = proto.FrameDecoder()
    out: list[proto.Frame] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out += dec.feed(t.read(256))
    return out


@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_sim_rejects_malformed_frames(kind: str, tmp_path: Path) -> None:
    sim = LedSim(address=1)
    link: Link = PtyLink(sim, str(tmp_path / "tty")) if kind == "pty" else TcpLink(sim)
    t = _raw_link(link)
    try:
        good = proto.dynamic_frame(1, proto.DynamicUpdate((proto.Area(0, "好".encode("gb2312")),)))
        bad_crc = good[:-3] + bytes([good[-3] ^ 1]) + good[-2:]
        bad_escape = good[:30] + b"\xa6\x07" + good[30:]
        bad_body = proto.encode_frame(proto.Frame(dst=1, src=0x8000, data=b"\xa3\x06\x01\x00\x00\x00\x02\x01"))
        unknown = proto.encode_frame(proto.Frame(dst=1, src=0x8000, data=b"\xb7\x01\x01\x00\x00"))
        t.write(b"noise" + bad_crc + bad_escape + bad_body + unknown)
        replies = [proto.decode_reply(f.data) for f in _read_frames(t, 3)]
        assert [(r.cmd, r.error_name) for r in replies] == [
            (proto.CMD_NACK, "ERR_CHECKSUM"),
            (proto.CMD_NACK, "ERR_NOCMD"),
            (proto.CMD_NACK, "ERR_OUTOFGROUP"),
        ]
        assert sim.bad_reasons == {"crc": 1, "escape": 1} and sim.bad_requests == 1 and sim.bad_frames == 3
        assert sim.area_text(0) is None  # nothing malformed reached the display
        t.write(good)
        (ack,) = _read_frames(t, 1)
        assert proto.decode_reply(ack.data).is_ack and ack.dst == 0x8000
        assert sim.area_text(0) == "好"
    finally:
        t.close()
        link.unplug()


def test_tcp_link_drops_clients_on_unplug() -> None:
    sim = LedSim()
    link = TcpLink(sim)
    port = link.port
    c = socket.create_connection(("127.0.0.1", port), timeout=1)
    link.unplug()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    c.close()
    link.replug()
    assert link.port == port
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    link.unplug()


def test_pty_path_is_stable_across_replug(tmp_path: Path) -> None:
    link = PtyLink(LedSim(), str(tmp_path / "tty"))
    first = os.readlink(link.path)
    link.unplug()
    assert not os.path.exists(link.path)
    link.replug()
    assert os.path.exists(link.path) and os.readlink(link.path).startswith("/dev/pts/")
    assert first.startswith("/dev/pts/")
    link.unplug()


# --- in-process sim:// --------------------------------------------------------------------------------------
def test_sim_url_in_process() -> None:
    board = from_config("hallboard", {"kind": "led", "role": "hall", "url": "sim://t-hall", **FAST}, None)
    sim = get_sim("t-hall")
    board.start()
    try:
        board.handle_event(called("A001", 3))
        board.handle_event(called("B002", 5))
        board.set_waiting([{"business": "s", "prefix": "A", "name": "社保", "waiting": 4}])
        assert sim.wait_for(
            lambda s: s.area_text(0) == "B002 → 5号窗口\nA001 → 3号窗口" and s.area_text(1) == "等候 社保4人"
        )
        unplug_sim("t-hall")
        assert wait_until(lambda: board.health.state == HealthState.OFFLINE, 3.0)
        board.handle_event(called("C003", 1))
        unplug_sim("t-hall", plugged=True)
        assert sim.wait_for(lambda s: (s.area_text(0) or "").startswith("C003 → 1号窗口"), 3.0)
        assert board.health.state == HealthState.OK
    finally:
        board.stop()
        unplug_sim("t-hall", plugged=True)


def test_handle_event_never_blocks_on_a_dead_board(tmp_path: Path) -> None:
    board = LedBoard("dead", f"serial://{tmp_path}/nothing-here", window=3, min_interval=0.05)
    board.start()
    try:
        assert wait_until(lambda: board.health.state == HealthState.OFFLINE and "cannot open" in board.health.reason)
        for i in range(500):
            board.handle_event(called(f"A{i:03d}"))
        # coalesced into state, not queued: nothing was dropped and the latest truth is kept
        assert board.dropped == 0
        assert board.shown() == {0: "A499 请到3号窗口"}
    finally:
        board.stop()


# --- config ---------------------------------------------------------------------------------------------------
class _Win:
    def __init__(self, number: int) -> None:
        self.number = number


class _HallCfg:
    def __init__(self) -> None:
        self.name = "测试中心"
        self.windows = [_Win(1), _Win(3)]


@pytest.mark.parametrize(
    ("section", "option", "fragment"),
    [
        ({"url": "sim://x", "window": 3, "baud": 9600}, "baud", "option 'baud' is not valid in section [devices.led3]"),
        ({"url": "sim://x"}, "window", "is required when role = \"window\""),
        ({"url": "sim://x", "window": 7}, "window", "not a window of this hall"),
        ({"url": "sim://x", "window": "3"}, "window", "must be an integer"),
        ({"url": "sim://x", "window": True}, "window", "must be an integer"),
        ({"window": 3}, "url", "option 'url' is required"),
        ({"url": "ftp://x", "window": 3}, "url", "not valid"),
        ({"url": "file:///tmp/x", "window": 3}, "url", "cannot reach"),
        ({"url": "serial:///dev/ttyS0?baud=115200", "window": 3}, "url", "9600"),
        ({"url": "sim://x", "window": 3, "role": "ceiling"}, "role", "must be"),
        ({"url": "sim://x", "window": 3, "kind": "printer"}, "kind", "must be"),
        ({"url": "sim://x", "window": 3, "address": 70000}, "address", "from 0 to 65535"),
        ({"url": "sim://x", "window": 3, "min_interval": 0}, "min_interval", "from 0.01 to 60"),
        ({"url": "sim://x", "window": 3, "min_interval": "fast"}, "min_interval", "must be a number"),
        ({"url": "sim://x", "window": 3, "flash_seconds": -1}, "flash_seconds", "from 0 to 30"),
        ({"url": "sim://x", "window": 3, "welcome": ""}, "welcome", "non-empty"),
        ({"url": "sim://x", "window": 3, "lines": 2}, "lines", "only valid with role = \"hall\""),
        ({"url": "sim://x", "role": "hall", "window": 3}, "window", "only valid with role = \"window\""),
        ({"url": "sim://x", "window": 3, "notice": True}, "notice", "only valid with role = \"hall\""),
        ({"url": "sim://x", "role": "hall", "notice": "yes"}, "notice", "true or false"),
        ({"url": "sim://x", "window": 3, "width": 4}, "width", "from 16"),
    ],
)
def test_config_errors_name_option_and_section(section: dict[str, Any], option: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_config("led3", {"kind": "led", **section}, _HallCfg())
    assert exc.value.option == option and exc.value.section == "devices.led3"
    assert fragment in str(exc.value) and "[devices.led3]" in str(exc.value)


def test_config_defaults_and_values() -> None:
    b = from_config("led1", {"kind": "led", "url": "serial:///dev/ttyUSB0?baud=57600", "window": 1}, _HallCfg())
    assert (b.role, b.address, b.min_interval, b.baud, b.keepalive) == ("window", 1, 1.0, 57600, 20.0)
    assert b.shown() == {0: "欢迎光临"}
    h = from_config(
        "big", {"kind": "led", "url": "tcp://127.0.0.1:5005", "role": "hall", "address": 0x8000, "height": 80}, None
    )
    assert (h.role, h.address) == ("hall", 0x8000)
    assert set(h.layout) == {0, 1} and h.layout[0].height == 64  # 80 px: four call lines + the waiting line


# --- doctor -----------------------------------------------------------------------------------------------
def test_doctor_pings_and_shows_a_test_line(tmp_path: Path) -> None:
    sim = LedSim()
    link = PtyLink(sim, str(tmp_path / "tty"))
    try:
        ok, lines = doctor("led3", {"kind": "led", "window": 3, "url": link.url}, None, test_frame=True)
        assert ok, lines
        assert "PING: ACK" in lines[1] and "test frame: ACK" in lines[2]
        assert sim.area_text(0) == "设备测试 led3"
        sim.silent = True
        ok, lines = doctor("led3", {"kind": "led", "window": 3, "url": link.url, "reply_timeout": 0.1}, None)
        assert not ok and "控制器无应答" in lines[-1]
    finally:
        link.unplug()
    ok, lines = doctor("led3", {"kind": "led", "window": 3, "url": f"serial://{tmp_path}/gone"}, None)
    assert not ok and "cannot open" in lines[-1]


def test_hall_board_asks_the_hall_once_per_frame_slot() -> None:
    board = from_config(
        "hb-q", {"kind": "led", "role": "hall", "url": "sim://t-hall-q", **FAST, "min_interval": 0.5}, None
    )
    sim = get_sim("t-hall-q")
    asked: list[int] = []

    def waiting_counts() -> list[dict[str, Any]]:
        asked.append(1)
        return [{"business": "s", "prefix": "A", "name": "社保", "waiting": 50}]

    board.waiting_source = waiting_counts
    board.start()
    try:
        assert sim.wait_for(lambda s: s.area_text(1) == "等候 社保50人")  # asked on opening
        before = len(asked)
        t = {"id": "t", "number": "A001", "business": "s", "business_name": "社保", "prefix": "A"}
        for i in range(50):
            board.handle_event(ev(ek.TICKET_ISSUED, ticket=t, ahead=i + 100, hall_name="h"))
        assert wait_until(lambda: len(asked) > before and board.shown()[1] == "等候 社保50人")
        assert sim.wait_for(lambda s: s.area_text(1) == "等候 社保50人")
        assert len(asked) - before <= 3  # 50 events, a frame slot or two: not 50 queries
    finally:
        board.stop()
