"""All the hall's devices: built from [devices.*] config, wired to the Hall's events, health reported as events."""
from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devices.config import DeviceSection
from devices.evaluator.config import EvaluatorSection
from devices.idcard.config import IdCardSection
from devices.led.config import LedSection
from devices.printer.config import PrinterSection
from devices.reads import IdCardRead, Read, ReadRefused, ScanRead
from devices.scanner.config import ScannerSection
from devices.voice.config import VoiceSection
from kiosk.core.config import HallConfig
from kiosk.core.errors import ConfigError
from kiosk.core.privacy import mask_id, scrub_text
from kiosk.core.sections import fail

log = logging.getLogger(__name__)

# kind → the Struct of its [devices.NAME] table (kiosk.schema checks every table with it at load) …
SECTIONS: dict[str, type[DeviceSection]] = {
    "printer": PrinterSection, "led": LedSection, "evaluator": EvaluatorSection, "voice": VoiceSection,
    "idcard": IdCardSection, "scanner": ScannerSection,
}
# … and the module with `from_config(name, section, hall_config)`, which reads it through the same Struct
KINDS: dict[str, str] = {
    "printer": "devices.printer.driver",
    "led": "devices.led.driver",
    "evaluator": "devices.evaluator.driver",
    "voice": "devices.voice.announcer",
    "idcard": "devices.idcard.driver",
    "scanner": "devices.scanner.driver",
}
# Kinds whose reads belong to a screen (an ID card at the kiosk, a badge at a caller): the screen's process drives
# them (kiosk/ui/app.py), never the hall server, where a read would have nobody to go to.
INPUT_KINDS = frozenset({"idcard", "scanner"})


def device_sections(config: HallConfig, host: str | None = None) -> dict[str, dict[str, Any]]:
    """The [devices.*] this process drives: a section with `host = "<client id>"` belongs to that LAN screen PC
    (a kiosk's own printer); the hall server drives every section without a `host`."""
    return {n: s for n, s in config.devices.items() if (s.get("host") or None) == host}


def build_drivers(config: HallConfig, sections: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The drivers for `sections` (default: the server's), not started.  A bad section fails here, by name."""
    drivers: dict[str, Any] = {}
    for name, section in (device_sections(config) if sections is None else sections).items():
        kind = section.get("kind")
        module = KINDS.get(str(kind))
        if module is None:  # a table that did not come through kiosk.schema's load (the demo's own sections)
            raise fail(("devices", name, "kind"), f"must be one of {', '.join(map(repr, KINDS))} (got {kind!r})")
        drivers[name] = importlib.import_module(module).from_config(name, dict(section), config)
    return drivers


class Supervisor:
    """Starts and stops the drivers and is the only place that connects them to the Hall."""

    def __init__(self, hall: Any, drivers: dict[str, Any]) -> None:
        self.hall = hall
        self.drivers = drivers
        self._unsubs: list[Callable[[], None]] = []

    @classmethod
    def from_config(cls, hall: Any) -> Supervisor:
        """The hall server's devices: every section without a `host`, input devices left to their screens."""
        sections = {n: s for n, s in device_sections(hall.config).items() if s.get("kind") not in INPUT_KINDS}
        return cls(hall, build_drivers(hall.config, sections))

    def start(self) -> None:
        for name, d in self.drivers.items():
            self._wire(name, d)
            d.start()

    def _wire(self, name: str, d: Any) -> None:
        hall = self.hall
        if hasattr(d, "bind"):  # evaluator: key presses become hall.rate / hall.mark_unrated
            d.bind(hall)
        if hasattr(d, "follow_clock"):  # ID card reader: a card's expiry is judged on the hall's local date
            d.follow_clock(hall.now, hall.config.tz)
        if hasattr(d, "on_result"):  # printer: every ticket ends printed or failed, as an event
            d.on_result(lambda r, n=name: _report_print(hall, n, r))
        if hasattr(d, "attach"):
            self._unsubs.append(d.attach(hall))
            return
        d.on_health(lambda h: hall.report_device_health(h.device, h.kind, str(h.state), h.reason))
        if hasattr(d, "handle_event"):  # an input device (ID card reader, scanner) follows no hall event
            kinds = getattr(d, "event_kinds", None) or None
            self._unsubs.append(hall.subscribe(d.handle_event, set(kinds) if kinds else None))

    def stop(self) -> None:
        for u in self._unsubs:
            u()
        self._unsubs.clear()
        for d in self.drivers.values():
            d.stop()

    def status(self) -> list[dict[str, Any]]:
        return [d.status() for d in self.drivers.values()]

    def inputs(self) -> list[Any]:
        """The input devices (ID card readers, scanners): a screen takes their reads through `on_read`."""
        return [d for d in self.drivers.values() if hasattr(d, "on_read")]

    def printer(self) -> Any | None:
        """The first ticket printer, for a kiosk that asks 'can I print now?'."""
        return next((d for d in self.drivers.values() if getattr(d, "kind", "") == "printer"), None)


def _report_print(hall: Any, device: str, result: Any) -> None:
    if not result.ticket_id:
        return
    try:
        hall.report_print(result.ticket_id, ok=result.ok, device=device, reason=result.reason)
    except Exception:  # a print result for a ticket this store does not know (test print) is only logged
        log.warning("%s: print result for unknown ticket %s", device, result.number)


def _test_payload(config: HallConfig) -> dict[str, Any]:
    now = datetime.now(UTC)
    b = config.businesses[0]
    ticket = {"id": f"test-{uuid.uuid4().hex[:8]}", "number": f"{b.prefix}000", "business": b.code,
              "business_name": b.name + "（测试）", "prefix": b.prefix, "priority": "normal", "status": "waiting",
              "issued_at": now.isoformat(), "local_date": now.astimezone(config.tz).date().isoformat(),
              "id_masked": None, "appointment_code": None, "window": None, "recalls": 0}
    return {"ticket": ticket, "ahead": 0, "hall_name": config.name}


def read_line(device: str, read: Read | None, waited: float) -> str:
    """One `hall doctor --test-read` line: what an input device read, never the ID or a code in clear."""
    if isinstance(read, IdCardRead):
        until = read.valid_to.isoformat() if read.valid_to else "长期"
        return f"测试读卡 {device}: {mask_id(read.id_number)} {read.name_masked} 有效期至 {until}"
    if isinstance(read, ScanRead):
        kind = f" {read.symbology}" if read.symbology else ""
        return f"测试扫码 {device}: {scrub_text(read.code)}（{len(read.code)} 个字符{kind}）"
    if isinstance(read, ReadRefused):
        return f"测试读取 {device}: 读到了，但不能使用 — {read.reason}"
    return f"测试读取 {device}: {waited:g} 秒内没有读到（请放一张身份证或扫一个码）"


def doctor(config: HallConfig, *, test_print: bool = False, test_frame: bool = False, test_read: bool = False,
           read_wait: float = 30.0, settle: float = 2.5, out: Callable[[str], None] = print) -> int:
    """`hall doctor`: open every device, wait for it to settle, print its state; optionally exercise it.
    `test_read` waits up to `read_wait` s for one card or scan on each input device (no read: exit 1 at least)."""
    try:
        drivers = build_drivers(config)
    except ConfigError as exc:
        out(f"配置错误: {exc}")
        return 2
    if not drivers:
        out("没有配置设备（[devices.*]）")
        return 0
    if test_frame:  # each LED board's own check: PING, then a test line, before the drivers take the ports
        for name, section in config.devices.items():
            if section.get("kind") == "led":
                from devices.led.driver import doctor as led_doctor

                _ok, lines = led_doctor(name, section, config, test_frame=True)
                for line in lines:
                    out(line)
    results: list[Any] = []
    reads: dict[str, Read] = {}
    for name, d in drivers.items():
        if hasattr(d, "on_result"):
            d.on_result(results.append)
        if hasattr(d, "on_read"):  # the first read of each input device (before start: a card may lie there)
            d.on_read(lambda r, n=name: reads.setdefault(n, r))
        d.start()
    time.sleep(settle)
    payload = _test_payload(config)
    if test_print:
        for d in drivers.values():
            if hasattr(d, "print_ticket"):
                d.print_ticket(payload)
    if test_print:
        time.sleep(settle)
    inputs = [n for n, d in drivers.items() if hasattr(d, "on_read")]
    if test_read and inputs:
        out(f"请在 {read_wait:g} 秒内在每台读卡器上放一张身份证、在每台扫码枪上扫一个码")
        deadline = time.monotonic() + read_wait
        while time.monotonic() < deadline and any(n not in reads for n in inputs):
            time.sleep(0.1)
    worst = 0
    out(f"{'设备':<14}{'类型':<10}{'状态':<10}原因")
    for name, d in drivers.items():
        st = d.status()
        state = str(st.get("state", "?"))
        worst = max(worst, {"ok": 0, "degraded": 1}.get(state, 2))
        out(f"{name:<16}{st.get('kind', ''):<12}{state:<12}{st.get('reason', '')}")
        for kp in st.get("keypads", []):
            out(f"  评价器 地址{kp['address']} 窗口{kp['window']}: {kp['state']} {kp.get('reason', '')}")
    for r in results:
        out(f"测试打印 {r.number}: {'成功' if r.ok else '失败 — ' + r.reason}")
    if test_read:
        for name in inputs:
            out(read_line(name, reads.get(name), read_wait))
            if name not in reads:
                worst = max(worst, 1)
    for d in drivers.values():
        d.stop()
    return worst
