"""A simulated serial-mode scanner on a real pty: scans codes with the framing it was "configured" to, and makes
the faults a hall meets — a message cut off mid-way, line noise, a scanner set to another prefix or encoding, the
USB cable pulled and plugged back.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from devices.base import seconds, sim_options
from devices.ptysim import PtySim
from devices.scanner import proto
from devices.scanner.proto import Framing


class ScannerSim(PtySim):
    """`scan(code)` sends one message; a scanner never answers the host, so the host's bytes are ignored."""

    def __init__(self, name: str = "scanner", framing: Framing | None = None, *, link_dir: str | None = None,
                 scan: str | None = None, scan_after: float = 0.5) -> None:
        super().__init__(name, link_dir=link_dir, prefix="ttyScan")
        self.framing = framing or Framing()
        self.sent = 0
        self._due: tuple[float, str] | None = (time.monotonic() + scan_after, scan) if scan else None

    def scan(self, code: str, symbology: str = "]Q1") -> bool:
        ok = self.send(proto.encode(code, self.framing, symbology))
        self.sent += ok
        return ok

    def cut(self, code: str) -> None:
        """The first half of a message and nothing more, as when the cable is jerked mid-scan."""
        raw = proto.encode(code, self.framing)
        self.send(raw[:max(1, len(raw) // 2)])

    def scan_as(self, code: str, framing: Framing, symbology: str = "]Q1") -> None:
        """A message framed as another scanner set differently would send it (wrong prefix, AIM, encoding)."""
        self.send(proto.encode(code, framing, symbology))

    def _tick(self) -> None:
        due = self._due
        if due is not None and time.monotonic() >= due[0] and self.plugged:
            self._due = None
            self.scan(due[1])


SIMS: dict[str, ScannerSim] = {}
_SIMS_LOCK = threading.Lock()


def _code(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


# sim://NAME?… options and their parsers (a bad value raises ValueError): the one list the config check reads too
URL_OPTIONS: Mapping[str, Callable[[str], object]] = {
    "scan": _code,  # a code scanned once, `scan_after` seconds after the simulator starts (demo, hall doctor)
    "scan_after": seconds,
}


def open_scanner(name: str, framing: Framing, opts: Mapping[str, str] | None = None) -> ScannerSim:
    """The running simulator for ``sim://<name>``, started on first use; a bad option raises TransportError (the
    scanner then shows offline with the reason instead of its thread dying)."""
    values = sim_options(name, opts, URL_OPTIONS)
    with _SIMS_LOCK:
        sim = SIMS.get(name)
        if sim is None:
            sim = ScannerSim(name, framing, **values)
            sim.start()
            SIMS[name] = sim
        return sim


def forget(name: str) -> None:
    with _SIMS_LOCK:
        sim = SIMS.pop(name, None)
    if sim is not None:
        sim.stop()
