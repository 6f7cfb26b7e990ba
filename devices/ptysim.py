"""A simulated serial device on the far end of a real pty, reached through a stable symlink like /dev/serial/by-id/….

The ID card reader and scanner simulators sit on it; the driver opens the link with pyserial exactly as it opens
hardware.  `unplug()` closes the pty and removes the link (the host sees I/O errors, then the port is gone);
`plug()` makes a new pty behind the same link, as a USB-serial adapter re-enumerating under its by-id name.
"""
from __future__ import annotations

import contextlib
import logging
import os
import select
import tempfile
import threading
import tty

log = logging.getLogger(__name__)


class PtySim:
    """Subclasses answer in `_received(data) -> bytes` and may push bytes of their own with `send()`."""

    def __init__(self, name: str, *, link_dir: str | None = None, prefix: str = "ttySim") -> None:
        self.name = name
        self._dir = link_dir or tempfile.mkdtemp(prefix=f"{prefix}-")
        self.path = os.path.join(self._dir, f"{prefix}-{name}")
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._gen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> PtySim:
        self.plug()
        self._thread = threading.Thread(target=self._run, name=f"sim:{self.path}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self.unplug()

    def plug(self) -> None:
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo or line discipline before the driver opens it
            tty.setraw(master)
            self._master, self._slave = master, slave
            self._gen += 1
            tmp = self.path + ".new"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self.path)
            self._plugged()

    def unplug(self) -> None:
        with self._lock:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._unplugged()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    # --- for subclasses -------------------------------------------------------------------------------
    def _received(self, data: bytes) -> bytes:
        """Bytes the host sent; returns the reply to write back (b"" for none).  Called with the lock held."""
        return b""

    def _plugged(self) -> None:
        """A new pty is behind the link (called with the lock held)."""

    def _unplugged(self) -> None:
        """The pty is gone (called with the lock held)."""

    def _tick(self) -> None:
        """Called about every 20 ms from the simulator's thread (timed behaviour: a scan due now)."""

    def _timeout(self) -> float:
        """How long the loop may wait for the host's bytes before the next `_tick` (a subclass with something due
        sooner says so)."""
        return 0.02

    def send(self, data: bytes) -> bool:
        """Write bytes towards the host now; False when unplugged."""
        with self._lock:
            if self._master is None:
                return False
            try:
                os.write(self._master, data)
            except OSError:
                return False
            return True

    # --- the loop -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                fd, gen = self._master, self._gen
            if fd is None:
                self._stop.wait(0.02)
                self._tick()
                continue
            try:
                ready, _, _ = select.select([fd], [], [], self._timeout())
            except (OSError, ValueError):
                continue
            self._tick()
            if not ready:
                continue
            with self._lock:
                if gen != self._gen or self._master is None:
                    continue
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    self._stop.wait(0.02)  # the driver closed its end; wait for it to reopen
                    continue
                try:
                    reply = self._received(data)
                except Exception:  # a simulator bug must not end the thread (the test would hang, not fail)
                    log.exception("%s: simulator failed on %s", self.name, data[:32].hex(" "))
                    continue
                if reply:
                    with contextlib.suppress(OSError):
                        os.write(fd, reply)
