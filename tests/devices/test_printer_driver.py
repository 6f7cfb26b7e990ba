"""The printer driver against its simulator over sim://, a real pty, loopback TCP and a spool file."""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.base import Health, HealthState
from devices.printer import PrinterDriver, PrintResult, from_config, parse_config, proto
from devices.printer import sim as printer_sim
from devices.printer.sim import PtyPrinter, SimPrinter, TcpPrinter, example_payload
from kiosk.core import events as ev
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from tests.devices import common

_seq = itertools.count(1)


def issued(number: str = "A001", **ticket: Any) -> Event:
    payload = example_payload(number, id=f"t-{number}", **ticket)
    return Event(next(_seq), f"e{number}", ev.TICKET_ISSUED, "2026-11-23T01:31:07+00:00", "2026-11-23", payload)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    return common.wait_until(cond, timeout)


class Rig:
    """A started driver plus what it reported."""

    def __init__(self, driver: PrinterDriver, printer: SimPrinter | None) -> None:
        self.driver, self.printer = driver, printer
        self.results: list[PrintResult] = []
        self.health: list[Health] = []
        driver.on_result(self.results.append)
        driver.on_health(self.health.append)

    def result(self, ticket_id: str, timeout: float = 5.0) -> PrintResult:
        assert wait_until(lambda: any(r.ticket_id == ticket_id for r in self.results), timeout), self.results
        return next(r for r in self.results if r.ticket_id == ticket_id)

    def state(self, state: HealthState, reason: str | None = None, timeout: float = 5.0) -> None:
        h = self.driver.health
        ok = wait_until(lambda: self.driver.health.state is state and reason in (None, self.driver.health.reason),
                        timeout)
        assert ok, (h, self.health)


@pytest.fixture
def rig(request: pytest.FixtureRequest) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []
    names: list[str] = []

    def make(query: str = "", **options: Any) -> Rig:
        name = f"p{next(_seq)}-{request.node.name[:20]}"
        names.append(name)
        section = {"kind": "printer", "url": f"sim://{name}{'?' + query if query else ''}", "poll_s": 0.1,
                   "status_timeout": 0.3, "max_wait_s": 2} | options
        driver = from_config(name, section)
        r = Rig(driver, printer_sim.device(name, dict(p.split("=", 1) for p in query.split("&") if p)))
        made.append(r)
        driver.start()
        return r

    yield make
    for r in made:
        r.driver.stop()
    for n in names:
        printer_sim.forget(n)


# --- config ----------------------------------------------------------------------------------------------------
def test_unknown_option_names_option_and_section() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config("printer1", {"kind": "printer", "url": "sim://x", "baud": 9600})
    assert str(exc.value) == "option 'baud' is not valid in section [devices.printer1]"
    assert (exc.value.option, exc.value.section) == ("baud", "devices.printer1")


@pytest.mark.parametrize(
    ("section", "option"),
    [
        ({}, "url"),
        ({"url": "lpt://x"}, "url"),
        ({"url": 5}, "url"),
        ({"url": "sim://x", "mode": "pdf"}, "mode"),
        ({"url": "sim://x", "encoding": "utf-8"}, "encoding"),
        ({"url": "sim://x", "width_dots": 577}, "width_dots"),
        ({"url": "sim://x", "width_dots": 100}, "width_dots"),
        ({"url": "sim://x", "feed_lines": True}, "feed_lines"),
        ({"url": "sim://x", "chinese_mode": "yes"}, "chinese_mode"),
        ({"url": "sim://x", "qr_url": "https://x/{ticket}"}, "qr_url"),
        ({"url": "sim://x", "qr_url": "https://x/排队/{number}"}, "qr_url"),
        ({"url": "sim://x", "notice": [1, 2]}, "notice"),
        ({"url": "sim://x", "max_wait_s": 0}, "max_wait_s"),
        ({"url": "sim://x", "cut": "half"}, "cut"),
        ({"url": "sim://x", "status": "maybe"}, "status"),
    ],
)
def test_bad_values_are_refused_at_load(section: dict, option: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config("p", {"kind": "printer", **section})
    assert exc.value.option == option and "[devices.p]" in str(exc.value)


def test_config_values_and_hall_config(config: Any) -> None:
    cfg = parse_config("p", {"kind": "printer", "url": "file:///tmp/spool.bin", "notice": "第一行\n第二行",
                             "qr_url": "https://x.cn/{hall_id}/{number}", "cut": "full", "mode": "raster"}, config)
    assert cfg.status is False  # a spool file never answers DLE EOT
    assert cfg.ticket.notice == ("第一行", "第二行")
    assert cfg.ticket.hall_id == "test-hall" and cfg.ticket.timezone == "Asia/Shanghai"
    assert cfg.profile.cut is proto.Cut.FULL and cfg.profile.mode == "raster"
    assert parse_config("p", {"url": "tcp://10.0.0.9:9100"}).status is True


# --- printing --------------------------------------------------------------------------------------------------
def test_prints_issued_tickets_and_ignores_other_events(rig: Callable[..., Rig]) -> None:
    r = rig()
    r.state(HealthState.OK)
    called = Event(next(_seq), "c", ev.TICKET_CALLED, "2026-11-23T01:40:00+00:00", "2026-11-23",
                   {"ticket": {"id": "t-A001", "number": "A001"}, "window": 3})
    r.driver.handle_event(called)
    r.driver.handle_event(issued("A001"))
    res = r.result("t-A001")
    assert res.ok and res.reason == "" and res.number == "A001"
    assert r.printer is not None and len(r.printer.tickets) == 1
    assert "A001" in r.printer.tickets[0].lines()
    assert r.driver.status()["printed"] == "1"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("paper", "打印机缺纸"), ("cover", "打印机上盖打开")],
)
def test_attention_fault_fails_at_once_and_never_prints_late(rig: Callable[..., Rig], fault: str,
                                                             reason: str) -> None:
    r = rig()
    p = r.printer
    assert p is not None
    r.driver.handle_event(issued("A001"))
    assert r.result("t-A001").ok
    if fault == "paper":
        p.set_paper("out")
    else:
        p.set_cover(True)
    r.state(HealthState.OFFLINE, reason)
    r.driver.handle_event(issued("A002"))
    res = r.result("t-A002", timeout=1.5)  # well inside max_wait_s: the kiosk learns at once
    assert not res.ok and res.reason == reason
    assert p.held_bytes == 0  # nothing sent to a stopped printer ...
    if fault == "paper":
        p.set_paper("ok")
    else:
        p.set_cover(False)
    r.state(HealthState.OK)
    assert len(p.tickets) == 1  # ... so no stale A002 comes out for the next person
    r.driver.handle_event(issued("A003"))
    assert r.result("t-A003").ok
    assert [t.lines()[2] for t in p.tickets] == ["户籍业务", "户籍业务"]
    assert "A003" in p.tickets[1].lines()


def test_paper_running_out_during_a_ticket_is_reported(rig: Callable[..., Rig]) -> None:
    r = rig("faults=paper_out@1")
    r.driver.handle_event(issued("A001"))
    res = r.result("t-A001")
    assert not res.ok and res.reason == "打印机缺纸，票可能没有打全"  # the kiosk shows the number on screen


def test_near_end_is_degraded_and_still_prints(rig: Callable[..., Rig]) -> None:
    r = rig("faults=near_end@1")
    r.driver.handle_event(issued("A001"))
    assert r.result("t-A001").ok
    r.state(HealthState.DEGRADED, "打印纸将用完")
    r.driver.handle_event(issued("A002"))
    assert r.result("t-A002").ok


def test_silent_printer_is_offline_not_paper_ok(rig: Callable[..., Rig]) -> None:
    r = rig(max_wait_s=1)
    p = r.printer
    assert p is not None
    r.state(HealthState.OK)
    p.silent = True  # powered off at the end of a serial cable: writes vanish, nothing answers
    r.state(HealthState.OFFLINE, "打印机无应答")
    r.driver.handle_event(issued("A001"))
    res = r.result("t-A001", timeout=4)
    assert not res.ok and res.reason.startswith("打印机无应答")
    assert p.tickets == []
    p.silent = False
    r.state(HealthState.OK)


def test_noise_before_status_replies_is_skipped(rig: Callable[..., Rig]) -> None:
    r = rig("garbage=1")
    r.driver.handle_event(issued("A001"))
    assert r.result("t-A001").ok
    assert r.driver.noise_bytes > 0


def test_unplug_and_replug_within_max_wait_prints(rig: Callable[..., Rig]) -> None:
    r = rig(max_wait_s=5)
    p = r.printer
    assert p is not None
    r.state(HealthState.OK)
    p.unplug()
    r.state(HealthState.OFFLINE)
    r.driver.handle_event(issued("A001"))
    time.sleep(0.3)
    assert r.results == []  # held for a while, not failed at once: the link may come back
    p.plug()
    assert r.result("t-A001").ok
    r.state(HealthState.OK)
    assert len(p.tickets) == 1


def test_unplugged_too_long_fails_the_ticket(rig: Callable[..., Rig]) -> None:
    r = rig(max_wait_s=1)
    p = r.printer
    assert p is not None
    r.state(HealthState.OK)
    p.unplug()
    r.state(HealthState.OFFLINE)
    r.driver.handle_event(issued("A001"))
    res = r.result("t-A001", timeout=4)
    assert not res.ok and "1 秒内未能打印" in res.reason
    p.plug()
    r.state(HealthState.OK)
    assert p.tickets == []  # never printed late


def test_malformed_payload_costs_one_ticket_not_the_thread(rig: Callable[..., Rig]) -> None:
    r = rig()
    r.driver.print_ticket({"ticket": {"id": "broken"}})  # no number
    res = r.result("broken")
    assert not res.ok and res.reason.startswith("票面生成失败")
    r.driver.handle_event(issued("A002"))
    assert r.result("t-A002").ok


def test_slow_printer_never_blocks_the_hall_and_overflow_is_reported(rig: Callable[..., Rig]) -> None:
    r = rig("baud=9600", queue_size=2, max_wait_s=60)  # ~0.4 s of wire time per text ticket
    r.state(HealthState.OK)
    for i in range(8):
        r.driver.handle_event(issued(f"B{i:03d}"))
    assert len([x for x in r.results if x.ok]) == 0  # the calls returned before any ticket printed
    assert r.driver.dropped >= 5
    assert wait_until(lambda: len(r.results) == 8, 10), r.results  # every ticket gets exactly one result
    failed = [x for x in r.results if not x.ok]
    assert len(failed) == r.driver.dropped and all(x.reason == "打印队列已满" for x in failed)
    assert len({x.ticket_id for x in r.results}) == 8


def test_stop_reports_waiting_tickets(rig: Callable[..., Rig]) -> None:
    r = rig(max_wait_s=60)
    p = r.printer
    assert p is not None
    r.state(HealthState.OK)
    p.unplug()
    r.state(HealthState.OFFLINE)
    r.driver.handle_event(issued("A001"))
    r.driver.stop()
    assert [(x.ticket_id, x.ok, x.reason) for x in r.results] == [("t-A001", False, "打印服务已停止")]


def test_can_print_answers_from_last_known_state(rig: Callable[..., Rig]) -> None:
    r = rig()
    p = r.printer
    assert p is not None
    r.state(HealthState.OK)
    assert r.driver.can_print() == (True, "")
    p.set_paper("out")
    r.state(HealthState.OFFLINE)
    assert r.driver.can_print() == (False, "打印机缺纸")


def test_a_redelivered_event_prints_once(rig: Callable[..., Rig]) -> None:
    r = rig()
    e = issued("A001")
    r.driver.handle_event(e)
    r.driver.handle_event(e)  # at-least-once delivery to a LAN kiosk
    r.driver.handle_event(issued("A002"))
    assert r.result("t-A002").ok
    assert [x.ticket_id for x in r.results] == ["t-A001", "t-A002"]
    assert r.printer is not None and len(r.printer.tickets) == 2


def test_terminal_filter(rig: Callable[..., Rig]) -> None:
    r = rig(terminal="kiosk-1")
    for number, terminal in (("A001", "kiosk-2"), ("A002", "kiosk-1")):
        payload = example_payload(number, id=f"t-{number}") | {"terminal": terminal}
        r.driver.handle_event(Event(next(_seq), number, ev.TICKET_ISSUED, "", "", payload))
    assert r.result("t-A002").ok
    assert [x.ticket_id for x in r.results] == ["t-A002"]  # A001 came from another kiosk


# --- real transports -------------------------------------------------------------------------------------------
def _driver(url: str, **options: Any) -> tuple[PrinterDriver, list[PrintResult]]:
    d = from_config("real", {"kind": "printer", "url": url, "poll_s": 0.1, "status_timeout": 0.5,
                             "max_wait_s": 5} | options)
    results: list[PrintResult] = []
    d.on_result(results.append)
    d.start()
    return d, results


def test_serial_pty_print_unplug_and_reopen_by_stable_path(tmp_path: Path) -> None:
    printer = SimPrinter("pty")
    link = tmp_path / "usb-Printer_80mm-if00"
    pty = PtyPrinter(link, printer)
    d, results = _driver(f"serial://{link}?baud=115200")
    try:
        d.print_ticket(example_payload("A001", id="t1"))
        assert wait_until(lambda: len(results) == 1) and results[0].ok
        assert "A001" in printer.tickets[0].lines()
        pty.unplug()
        assert wait_until(lambda: d.health.state is HealthState.OFFLINE)
        pty.plug()  # a new pty behind the same by-id style link
        assert wait_until(lambda: d.health.state is HealthState.OK)
        d.print_ticket(example_payload("A002", id="t2"))
        assert wait_until(lambda: len(results) == 2) and results[1].ok
        assert "A002" in printer.tickets[1].lines()
    finally:
        d.stop()
        pty.close()


def test_tcp_network_printer() -> None:
    printer = SimPrinter("tcp")
    server = TcpPrinter(printer)
    d, results = _driver(f"tcp://127.0.0.1:{server.port}")
    try:
        d.print_ticket(example_payload("C009", id="t9"))
        assert wait_until(lambda: len(results) == 1) and results[0].ok
        assert "C009" in printer.tickets[0].lines()
        assert printer.status_requests >= 4  # asked before and after the ticket
    finally:
        d.stop()
        server.close()


def test_spool_file_without_status(tmp_path: Path) -> None:
    spool = tmp_path / "spool.bin"
    d, results = _driver(f"file://{spool}")
    try:
        d.print_ticket(example_payload("A005", id="t5"))
        assert wait_until(lambda: len(results) == 1) and results[0].ok
    finally:
        d.stop()
    replay = SimPrinter("replay")
    replay.feed(spool.read_bytes())
    assert "A005" in replay.tickets[0].lines()
    assert replay.status_requests == 0


# --- with a real Hall ------------------------------------------------------------------------------------------
def test_wired_to_a_hall_by_the_supervisor(hall: Any) -> None:
    from devices.supervisor import Supervisor

    name = "kiosk-printer"
    d = from_config(name, {"kind": "printer", "url": f"sim://{name}", "poll_s": 0.1, "status_timeout": 0.3},
                    hall.config)
    seen: list[Event] = []
    hall.subscribe(seen.append)
    sup = Supervisor(hall, {name: d})
    sup.start()
    try:
        assert sup.printer() is d
        assert wait_until(lambda: any(e.kind == ev.DEVICE_HEALTH and e.payload["state"] == "ok" for e in seen))
        t = hall.issue_ticket("tax").value.ticket
        assert wait_until(lambda: any(e.kind == ev.PRINT_DONE for e in seen))
        done = [e for e in seen if e.kind == ev.PRINT_DONE]
        assert done[0].payload["ticket"]["id"] == t["id"] and done[0].payload["device"] == name
        sim_printer = printer_sim.device(name)
        assert t["number"] in sim_printer.tickets[0].lines()
        assert "测试政务服务中心" in sim_printer.tickets[0].lines()
        sim_printer.set_paper("out")
        assert wait_until(lambda: any(e.kind == ev.DEVICE_HEALTH and e.payload["reason"] == "打印机缺纸"
                                      for e in seen))
        assert d.can_print() == (False, "打印机缺纸")
        t2 = hall.issue_ticket("tax").value.ticket
        assert wait_until(lambda: any(e.kind == ev.PRINT_FAILED for e in seen))
        failed = [e for e in seen if e.kind == ev.PRINT_FAILED]
        assert failed[0].payload["ticket"]["id"] == t2["id"] and failed[0].payload["reason"] == "打印机缺纸"
        time.sleep(0.3)
        assert len([e for e in seen if e.kind in (ev.PRINT_DONE, ev.PRINT_FAILED)]) == 2  # one result per ticket
        assert len(sim_printer.tickets) == 1
    finally:
        sup.stop()
        printer_sim.forget(name)


def test_every_option_is_documented() -> None:
    from devices.printer.driver import OPTIONS

    docs = Path(__file__).resolve().parents[2] / "docs" / "tickets"
    readme = (docs / "README.md").read_text("utf-8")
    assert [o for o in OPTIONS if f"| `{o}` |" not in readme] == []
    for png in ("text-gb18030", "green-qr", "tibetan-bilingual", "uyghur-bilingual", "yi-bilingual", "full-raster"):
        assert f"`{png}.png`" in readme and (docs / f"{png}.png").exists()
