"""One driver per serial-mode scanner: reads messages off the port and hands each decoded code to the screen that
owns the scanner (the kiosk, or a caller for a staff badge) as a ScanRead.

A scanner only talks; it never answers, so its health is its port: offline when unplugged (reopened by its stable
path when it comes back), degraded when its messages keep arriving in another framing than the config says (the
scanner was set with other configuration codes), ok again at the next good scan.  A code is never logged in clear.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from devices.base import DeviceUrl, DeviceWorker, HealthState, SerialTransport, Transport, open_transport, parse_url
from devices.config import own_options
from devices.reads import ReadFanout, ReadListener, ScanRead
from devices.scanner import proto
from devices.scanner.config import ScannerSection
from devices.scanner.proto import Framing
from kiosk.core.sections import read_section

CHUNK = 256
MALFORMED_LIMIT = 3  # messages in another framing, in a row, before the scanner shows degraded
MISCONFIGURED = "扫码枪的前缀/后缀/编码设置与配置不符，请按说明书重新设置扫码枪"


class ScannerPort(DeviceWorker):
    kind = "scanner"
    idle_interval = 0.01

    def __init__(self, name: str, url: DeviceUrl, framing: Framing, *, window: int = 0, gap: float = 0.3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, queue_size=4, max_backoff=1.0)
        self.url = url
        self.framing = framing
        self.window = window  # 0: the kiosk's; N: window N's caller
        self.gap = gap
        self._clock = clock
        self._reads = ReadFanout(name)
        self.decoder = proto.Decoder(framing)
        self._last_rx = 0.0
        self._malformed_run = 0

    # --- public -------------------------------------------------------------------------------------
    def on_read(self, fn: ReadListener) -> Callable[[], None]:
        """Call `fn` (on this driver's thread) with each ScanRead; returns the way to stop."""
        return self._reads.add(fn)

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = dict(self.health.status())
        st["counters"] = {**self.decoder.counters(), "dropped_jobs": self.dropped}
        return st

    # --- worker -------------------------------------------------------------------------------------
    def _open(self) -> Transport:
        if self.url.scheme == "sim":
            from devices.scanner import sim

            scanner = sim.open_scanner(self.url.path, self.framing, self.url.opts)
            return SerialTransport(scanner.path, 9600, timeout=0.02)
        if self.url.scheme == "serial":
            return SerialTransport(self.url.path, int(self.url.opts.get("baud", 9600)), timeout=0.02)
        return open_transport(self.url)

    def _handle(self, job: Any, transport: Transport) -> None:
        return None  # a scanner takes no jobs: everything comes from its side

    def _idle(self, transport: Transport) -> None:
        dec = self.decoder
        data = transport.read(CHUNK)
        now = self._clock()
        if not data:
            if dec.pending and now - self._last_rx >= self.gap:
                n = dec.expire()
                self.log.info("%s: a code cut off after %d bytes was dropped", self.name, n)
                self._malformed(1)  # a suffix set differently on the scanner looks like this, every time
            return
        self._last_rx = now
        bad = dec.malformed
        scans = dec.feed(data)
        if dec.malformed > bad:
            self.log.warning("%s: a message not in the configured framing was dropped (%s)", self.name,
                             dec.counters())
            self._malformed(dec.malformed - bad)
        for scan in scans:
            self._malformed_run = 0
            self._set_health(HealthState.OK)
            self.log.info("%s: scanned %d characters %s", self.name, len(scan.code), scan.symbology)
            self._reads.emit(ScanRead(self.name, scan.code, scan.symbology))


    def _malformed(self, n: int) -> None:
        self._malformed_run += n
        if self._malformed_run >= MALFORMED_LIMIT:
            self._set_health(HealthState.DEGRADED, MISCONFIGURED)


# --- config ---------------------------------------------------------------------------------------------
OPTIONS = frozenset(own_options(ScannerSection))


def from_config(name: str, section: dict[str, Any], hall_config: Any) -> ScannerPort:
    """The scanner driver for ``[devices.<name>]``, read through ScannerSection (devices/scanner/config.py)."""
    c = read_section(ScannerSection, section, ("devices", name), hall=hall_config)
    return ScannerPort(name, parse_url(c.url), c.framing(), window=c.window, gap=c.gap)
