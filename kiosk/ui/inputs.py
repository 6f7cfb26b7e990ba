"""The one doorway from input devices into a screen: ID card reads and scans arrive as one queued Qt signal in the
screen's thread, whether a driver's thread or a keyboard-wedge scanner produced them (docs/threads.md).

`WedgeScanner` tells a USB keyboard-wedge scanner from a person typing: a burst of keys each within `max_gap` of the
last, at least `min_chars` long, ending in Enter, is a scan (docs/devices-scanner.md).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from devices.reads import Read, ScanRead

log = logging.getLogger(__name__)

WEDGE_DEVICE = "keyboard"
MAX_GAP_S = 0.05  # wedge scanners type a character every 1–20 ms; people take 100–300 ms a key
MIN_CHARS = 4
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
TYPING_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier


class DeviceInputs(QObject):
    """Reads from the input drivers given (their `on_read`), re-emitted as `read` in this object's thread.

    The drivers' listeners only emit `_incoming`, whose queued connection hops to the Qt thread: a screen's slot
    never runs on a device thread.  `post()` is the same doorway for reads made in the Qt thread (the wedge)."""

    read = Signal(object)  # IdCardRead | ScanRead | ReadRefused, in the Qt thread
    _incoming = Signal(object)

    def __init__(self, drivers: Iterable[Any] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._incoming.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._detach: list[Callable[[], None]] = []
        self.kinds: set[str] = set()  # the kinds attached ("idcard", "scanner"): a screen says what it can take
        for d in drivers:
            self.attach(d)

    def attach(self, driver: Any) -> None:
        self._detach.append(driver.on_read(self._incoming.emit))
        self.kinds.add(str(getattr(driver, "kind", "")))

    def post(self, item: Read) -> None:
        self._incoming.emit(item)

    def close(self) -> None:
        """Stop taking reads (the screen is closing; the drivers may outlive it)."""
        for stop in self._detach:
            stop()
        self._detach.clear()

    def _deliver(self, item: Read) -> None:
        self.read.emit(item)


class WedgeScanner(QObject):
    """An application event filter watching the key presses that go to `window` (its focused field, or the window
    itself).  A scan's Enter is swallowed and the field gets back what it held before the burst; the code is
    posted to `inputs` as a ScanRead from device "keyboard".  `clock` is injected so tests time keys exactly."""

    def __init__(self, window: QWidget, inputs: DeviceInputs, *, clock: Callable[[], float] = time.monotonic,
                 max_gap: float = MAX_GAP_S, min_chars: int = MIN_CHARS) -> None:
        super().__init__(window)
        self.window = window
        self.inputs = inputs
        self.clock = clock
        self.max_gap = max_gap
        self.min_chars = min_chars
        self.scans = 0
        self._burst: list[str] = []
        self._last = float("-inf")
        self._field: QLineEdit | None = None  # the field the burst typed into, and its text before it
        self._before = ""
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def close(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _target(self) -> QWidget:
        return self.window.focusWidget() or self.window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        try:
            target = self._target()
        except RuntimeError:  # the window is gone (C++ side deleted); nothing to watch
            return False
        # only the first delivery, to the focused widget: an ignored key travels on to its parents
        if obj is not target:
            return False
        now = self.clock()
        gap = now - self._last
        if event.key() in ENTER_KEYS:
            is_scan = bool(self._burst) and gap <= self.max_gap and len(self._burst) >= self.min_chars
            code = "".join(self._burst)
            self._reset()
            if not is_scan:
                return False
            self._restore()
            self.scans += 1
            self.inputs.post(ScanRead(WEDGE_DEVICE, code))
            return True
        text = event.text()
        if not text or not text.isprintable() or event.modifiers() & ~TYPING_MODIFIERS:
            self._reset()
            return False
        if gap > self.max_gap or not self._burst:
            self._burst = []
            self._field = target if isinstance(target, QLineEdit) else None
            self._before = self._field.text() if self._field is not None else ""
        self._burst.append(text)
        self._last = now
        return False

    def _reset(self) -> None:
        self._burst = []
        self._last = float("-inf")

    def _restore(self) -> None:
        field, self._field = self._field, None
        if field is None:
            return
        try:
            field.setText(self._before)
        except RuntimeError:  # the field went with its page
            pass
