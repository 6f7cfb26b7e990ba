"""Simulated RS-485 bus of evaluator keypads on a real pty, speaking the frames of proto.py.

The driver opens it like real hardware: through a stable symlink (as /dev/serial/by-id/… is) that points at the
pty's slave end.  Faults are scripted: garbage, cut-off frames, bad checksums, frames from unknown addresses, a
keypad going silent, and the whole adapter being unplugged (pty closed, symlink gone) and plugged back.
"""
from __future__ import annotations

import contextlib
import logging
import os
import select
import tempfile
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass

from devices.evaluator import proto
from devices.evaluator.proto import Cmd

log = logging.getLogger(__name__)


@dataclass
class SimKeypad:
    addr: int
    prompting: bool = False
    pending_key: int | None = None
    silent: bool = False  # stops answering, like a keypad whose cable fell out
    prompts: int = 0
    clears: int = 0
    polls: int = 0
    last_timeout: int = 0
    prompted_at: float = 0.0


class EvaluatorBusSim:
    """Several keypads on one bus.  ``auto_key``/``auto_after``: press that key by itself after a prompt (demo)."""

    def __init__(
        self,
        addresses: list[int] | tuple[int, ...],
        *,
        checksum_kind: str = "xor",
        link_dir: str | None = None,
        name: str = "evaluator",
        auto_key: int | None = None,
        auto_after: float = 3.0,
    ) -> None:
        self.keypads = {a: SimKeypad(a) for a in addresses}
        self.checksum_kind = checksum_kind
        self._dir = link_dir or tempfile.mkdtemp(prefix="evaluator-sim-")
        self.path = os.path.join(self._dir, f"ttyRS485-{name}")
        self.auto_key, self.auto_after = auto_key, auto_after
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._gen = 0
        self._outbox = bytearray()  # fault bytes sent before the next reply
        self._corrupt = 0  # how many of the next replies get a wrong checksum
        self._decoder = proto.Decoder(checksum_kind=checksum_kind, accept=proto.HOST_CMDS)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received: deque[proto.Frame] = deque(maxlen=1000)  # the host's recent frames, for tests

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> EvaluatorBusSim:
        self.plug()
        self._thread = threading.Thread(target=self._run, name=f"evaluator-sim:{self.path}", daemon=True)
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

    def unplug(self) -> None:
        with self._lock:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._decoder.expire()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    # --- the script ---------------------------------------------------------------------------------
    def press(self, addr: int, key: int) -> None:
        with self._lock:
            self.keypads[addr].pending_key = key

    def silence(self, addr: int, silent: bool = True) -> None:
        with self._lock:
            self.keypads[addr].silent = silent

    def inject(self, data: bytes) -> None:
        """Raw bytes (garbage) on the line just before the next reply."""
        with self._lock:
            self._outbox += data

    def send_partial(self, addr: int, key: int = 1) -> None:
        """A KEY reply cut off after its length byte, as when a keypad browns out mid-frame."""
        self.inject(proto.encode(addr, Cmd.KEY, bytes([key]), self.checksum_kind)[:4])

    def send_from(self, addr: int, cmd: int = Cmd.KEY, data: bytes = b"\x01") -> None:
        """A well-formed frame from any address (one the host does not know, say)."""
        self.inject(proto.encode(addr, cmd, data, self.checksum_kind))

    def corrupt_next(self, n: int = 1) -> None:
        with self._lock:
            self._corrupt += n

    def keypad(self, addr: int) -> SimKeypad:
        return self.keypads[addr]

    # --- the keypads' side --------------------------------------------------------------------------
    def _reply(self, kp: SimKeypad, frame: proto.Frame) -> bytes:
        if frame.cmd == Cmd.PROMPT:
            kp.prompting, kp.pending_key = True, None
            kp.prompts += 1
            kp.last_timeout = frame.data[0] if frame.data else 0
            kp.prompted_at = time.monotonic()
            return proto.encode(kp.addr, Cmd.ACK, bytes([Cmd.PROMPT]), self.checksum_kind)
        if frame.cmd == Cmd.CLEAR:
            kp.prompting, kp.pending_key = False, None
            kp.clears += 1
            return proto.encode(kp.addr, Cmd.ACK, bytes([Cmd.CLEAR]), self.checksum_kind)
        kp.polls += 1
        if kp.pending_key is not None:
            return proto.encode(kp.addr, Cmd.KEY, bytes([kp.pending_key]), self.checksum_kind)
        return proto.encode(kp.addr, Cmd.STATUS, bytes([1 if kp.prompting else 0]), self.checksum_kind)

    def _corrupted(self, frame: bytes) -> bytes:
        b = bytearray(frame)
        b[-2] ^= 0x5A
        return bytes(b)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                fd, gen = self._master, self._gen
            if fd is None:
                self._stop.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
            except (OSError, ValueError):
                continue
            self._auto_press()
            if not ready:
                continue
            with self._lock:
                if gen != self._gen or self._master is None:
                    continue
                try:
                    data = os.read(fd, 256)
                except OSError:
                    # the driver closed its end; wait for it to reopen
                    self._stop.wait(0.02)
                    continue
                out = bytearray()
                for frame in self._decoder.feed(data):
                    self.received.append(frame)
                    kp = self.keypads.get(frame.addr)
                    if kp is None or kp.silent:
                        continue
                    reply = self._reply(kp, frame)
                    if self._corrupt:
                        self._corrupt -= 1
                        reply = self._corrupted(reply)
                    out += self._outbox + reply
                    self._outbox.clear()
                if out:
                    with contextlib.suppress(OSError):
                        os.write(fd, bytes(out))

    def _auto_press(self) -> None:
        if self.auto_key is None:
            return
        now = time.monotonic()
        with self._lock:
            for kp in self.keypads.values():
                if kp.prompting and kp.pending_key is None and now - kp.prompted_at >= self.auto_after:
                    kp.pending_key = self.auto_key


# Buses opened through sim:// URLs, by name, so a demo or a test can reach the keypads behind a driver.
SIMS: dict[str, EvaluatorBusSim] = {}
_SIMS_LOCK = threading.Lock()


def open_bus(name: str, addresses: list[int], *, checksum_kind: str = "xor", opts: dict[str, str] | None = None,
             ) -> EvaluatorBusSim:
    """The running simulator for ``sim://<name>``, started on first use."""
    opts = opts or {}
    with _SIMS_LOCK:
        sim = SIMS.get(name)
        if sim is None:
            auto = opts.get("auto_key")
            sim = EvaluatorBusSim(
                addresses, checksum_kind=checksum_kind, name=name,
                auto_key=int(auto) if auto is not None else None,
                auto_after=float(opts.get("auto_after", "3")),
            ).start()
            SIMS[name] = sim
        return sim
