"""The serial scanner driver against the scanner simulator on a real pty: codes in, malformed messages counted and
shown as a fault, cut-off codes dropped, unplug and reopen."""
from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.base import HealthState
from devices.reads import Read, ScanRead
from devices.scanner import from_config
from devices.scanner import sim as simmod
from devices.scanner.driver import ScannerPort
from devices.scanner.proto import Framing
from devices.scanner.sim import ScannerSim
from kiosk.core.errors import ConfigError
from tests.devices import common

wait_for = functools.partial(common.wait_for, timeout=3.0)
FRAMING = Framing(prefix=b"\x02", suffix=b"\x03\r", aim=True)
APPOINTMENT_QR = "appointment:YY1001"


class Scans:
    def __init__(self) -> None:
        self.items: list[Read] = []
        self._lock = threading.Lock()

    def __call__(self, item: Read) -> None:
        with self._lock:
            self.items.append(item)

    def codes(self) -> list[str]:
        return [r.code for r in list(self.items) if isinstance(r, ScanRead)]


@pytest.fixture
def scanner(tmp_path: Any) -> Iterator[ScannerSim]:
    s = ScannerSim("t", FRAMING, link_dir=str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def make_port(scanner: ScannerSim) -> Iterator[Callable[..., tuple[ScannerPort, Scans]]]:
    started: list[ScannerPort] = []

    def make(**opts: Any) -> tuple[ScannerPort, Scans]:
        section = {"kind": "scanner", "url": f"serial://{scanner.path}?baud=9600", "prefix": "\x02",
                   "suffix": "\x03\r", "aim": True, "gap": 0.1, **opts}
        port = from_config("sc1", section, None)
        scans = Scans()
        port.on_read(scans)
        port.start()
        started.append(port)
        wait_for(lambda: port.health.state == HealthState.OK)
        return port, scans

    yield make
    for p in started:
        p.stop()


def test_scans_arrive_as_codes_with_their_symbology(make_port: Callable[..., tuple[ScannerPort, Scans]],
                                                    scanner: ScannerSim, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port, scans = make_port()
    scanner.scan(APPOINTMENT_QR)
    scanner.scan("SB20261124000123", "]C0")
    wait_for(lambda: len(scans.codes()) == 2)
    assert scans.codes() == [APPOINTMENT_QR, "SB20261124000123"]
    first = scans.items[0]
    assert isinstance(first, ScanRead) and (first.device, first.symbology) == ("sc1", "]Q1")
    assert APPOINTMENT_QR not in caplog.text  # a code is never logged in clear
    assert port.status()["counters"]["scans"] == 2


def test_a_code_cut_off_mid_way_is_dropped_and_the_next_one_reads(
        make_port: Callable[..., tuple[ScannerPort, Scans]], scanner: ScannerSim) -> None:
    port, scans = make_port()
    scanner.cut(APPOINTMENT_QR)
    wait_for(lambda: port.status()["counters"]["cut_off"] == 1)
    scanner.scan("YY2002")
    wait_for(lambda: scans.codes() == ["YY2002"])


def test_a_scanner_set_to_another_framing_shows_a_fault_then_recovers(
        make_port: Callable[..., tuple[ScannerPort, Scans]], scanner: ScannerSim) -> None:
    port, scans = make_port()
    other = Framing(prefix=b"\x02", suffix=b"\x03\r")  # AIM identifiers switched off on the scanner
    for _ in range(3):
        scanner.scan_as("YY1001", other)
    wait_for(lambda: port.health.state == HealthState.DEGRADED)
    assert "设置与配置不符" in port.health.reason
    assert scans.codes() == []
    scanner.scan("YY1001")
    wait_for(lambda: scans.codes() == ["YY1001"])
    assert port.health.state == HealthState.OK


def test_a_scanner_with_another_suffix_shows_the_same_fault(make_port: Callable[..., tuple[ScannerPort, Scans]],
                                                            scanner: ScannerSim) -> None:
    port, scans = make_port()
    other = Framing()  # factory default: no STX/ETX, no AIM, CR only — never the configured ETX CR
    for _ in range(3):
        n = port.status()["counters"]["cut_off"]
        scanner.scan_as("YY1001", other)
        wait_for(lambda n=n: port.status()["counters"]["cut_off"] == n + 1)
    wait_for(lambda: port.health.state == HealthState.DEGRADED)
    assert scans.codes() == []


def test_line_noise_is_counted_and_ignored(make_port: Callable[..., tuple[ScannerPort, Scans]],
                                          scanner: ScannerSim) -> None:
    port, scans = make_port()
    scanner.send(b"\xff\x00\x55")
    scanner.scan("YY1001")
    wait_for(lambda: scans.codes() == ["YY1001"])
    assert port.status()["counters"]["garbage"] == 3


def test_unplug_goes_offline_and_reopens(make_port: Callable[..., tuple[ScannerPort, Scans]],
                                         scanner: ScannerSim) -> None:
    port, scans = make_port()
    common.check_unplug_goes_offline_and_reopens(port, scanner)
    scanner.scan("YY1001")
    wait_for(lambda: scans.codes() == ["YY1001"])


def test_sim_url_scans_a_code_once() -> None:
    port = from_config("scsim", {"kind": "scanner", "url": "sim://scanner-test-url?scan=YY3003&scan_after=0.3"},
                       None)
    scans = Scans()
    port.on_read(scans)
    port.start()
    try:
        wait_for(lambda: scans.codes() == ["YY3003"])
    finally:
        port.stop()
        simmod.forget("scanner-test-url")


class _Win:
    def __init__(self, n: int) -> None:
        self.number = n


class _HallConfig:
    windows = (_Win(1), _Win(2))


@pytest.mark.parametrize(("section", "option", "message"), [
    ({"url": "file:///tmp/x"}, "url", "must be serial://, tcp:// or sim://"),
    ({"url": "sim://x?scan_after=-1"}, "url", "must be a number of seconds"),
    ({"url": "sim://x?beep=1"}, "url", "takes no option 'beep'"),
    ({"suffix": ""}, "suffix", "option 'suffix'"),
    ({"prefix": "前"}, "prefix", "must be ASCII"),
    ({"prefix": "#\r"}, "prefix", "must not contain the suffix"),
    ({"encoding": "big5"}, "encoding", "one of 'gb18030', 'utf-8'"),
    ({"window": 7}, "window", "is 7, which is not a window of this hall"),
    ({"gap": 0}, "gap", "option 'gap'"),
])
def test_config_errors_name_option_and_section(section: dict[str, Any], option: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_config("sc9", {"kind": "scanner", "url": "sim://x", **section}, _HallConfig())
    assert message in str(exc.value)
    assert exc.value.option == option and exc.value.section == "devices.sc9"


def test_every_option_is_documented() -> None:
    from pathlib import Path

    from devices.scanner.driver import OPTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "devices-scanner.md").read_text(encoding="utf-8")
    for opt in OPTIONS:
        assert f"`{opt}`" in doc, opt
