"""What an input device (ID card reader, code scanner) hands out: typed reads, refusals, and their listeners.

Only these records leave an input driver.  An ID card read carries the ID number (the hall hashes it at once), the
masked name and the validity; nothing else of the card.  Their repr masks the ID, so a stray log line or a failing
assertion never prints it.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from kiosk.core.privacy import mask_id, scrub_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, repr=False)
class IdCardRead:
    """A resident ID card (or 港澳台居民居住证) read by a GA 467 reader and found valid today."""

    device: str
    id_number: str
    name_masked: str
    valid_from: date
    valid_to: date | None  # None: 长期 (long-term card)

    @property
    def last4(self) -> str:
        """What a case lookup asks for: the ID's last four characters."""
        return self.id_number[-4:]

    def __repr__(self) -> str:
        until = self.valid_to.isoformat() if self.valid_to else "长期"
        return f"IdCardRead({self.device}, {mask_id(self.id_number)}, {self.name_masked}, valid to {until})"


@dataclass(frozen=True, slots=True, repr=False)
class ScanRead:
    """One decoded bar code or QR code, from a serial scanner or a keyboard-wedge scanner."""

    device: str
    code: str
    symbology: str = ""  # the AIM identifier (e.g. "]Q1" for QR) when the scanner sends one

    def __repr__(self) -> str:
        return f"ScanRead({self.device}, {scrub_text(self.code)!r}{', ' + self.symbology if self.symbology else ''})"


@dataclass(frozen=True, slots=True)
class ReadRefused:
    """A read that came to nothing the screen can use, with a stable key and the words to say (中文)."""

    device: str
    kind: str  # the device kind: "idcard" | "scanner"
    key: str  # expired | not_yet_valid | unreadable | unsupported_card
    reason: str  # said on screen as it is when the screen has no translation for `key`
    until: date | None = None  # the expiry date of an expired card


Read = IdCardRead | ScanRead | ReadRefused
ReadListener = Callable[[Read], None]


class ReadFanout:
    """The listeners of one input driver.  They run on the driver's thread and must only hand the read on (a
    queued Qt signal in a screen); one that raises is logged and the others still get the read."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._listeners: list[ReadListener] = []
        self._lock = threading.Lock()

    def add(self, fn: ReadListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(fn)

        def remove() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return remove

    def emit(self, item: Read) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(item)
            except Exception:
                log.exception("%s: read listener failed on %r", self.device, item)
