"""Simulated RS-485 bus of evaluator keypads on a real pty, speaking the frames of proto.py.

The driver opens it like real hardware: through a stable symlink (as /dev/serial/by-id/… is) that points at the
pty's slave end.  Faults are scripted: garbage, cut-off frames, bad checksums, frames from unknown addresses, a
keypad going silent, the whole adapter being unplugged (pty closed, symlink gone) and plugged back, and a noisy
line that spoils a seeded fraction of the keypads' replies.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from devices.base import seconds, sim_options
from devices.evaluator import proto
from devices.evaluator.proto import Cmd
from devices.ptysim import PtySim

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
    reported: bool = False  # the pending key went out in an intact KEY reply
    wiped_unseen: int = 0  # presses erased by PROMPT/CLEAR before any intact KEY reply carried them: lost presses
    armed: tuple[int, float] | None = None  # (key, delay): press that key this long after the next PROMPT
    press_due: tuple[int, float] | None = None  # (key, monotonic time) of the armed press


NOISE_KINDS = ("flip", "checksum", "truncate")


class EvaluatorBusSim(PtySim):
    """Several keypads on one bus, on a pty behind a link named ttyRS485-NAME (devices/ptysim.py).
    ``auto_key``/``auto_after``: press that key by itself after a prompt (demo).

    ``noise``: the fraction of replies spoiled on the line (a flipped byte, a wrong checksum or a cut-off frame,
    each caught by proto's checks), drawn from ``random.Random(seed)`` so a failing run can be replayed.
    """

    def __init__(
        self,
        addresses: list[int] | tuple[int, ...],
        *,
        checksum_kind: str = "xor",
        link_dir: str | None = None,
        name: str = "evaluator",
        auto_key: int | None = None,
        auto_after: float = 3.0,
        noise: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= noise < 1.0:
            raise ValueError(f"noise must be a fraction in [0, 1), not {noise}")
        super().__init__(name, link_dir=link_dir, prefix="ttyRS485")
        self.keypads = {a: SimKeypad(a) for a in addresses}
        self.checksum_kind = checksum_kind
        self.auto_key, self.auto_after = auto_key, auto_after
        self._outbox = bytearray()  # fault bytes sent before the next reply
        self._corrupt = 0  # how many of the next replies get a wrong checksum
        self.noise = noise
        self._rng = random.Random(seed)
        self.noised: dict[str, int] = dict.fromkeys(NOISE_KINDS, 0)  # replies spoiled by the noisy line, by kind
        self._decoder = proto.Decoder(checksum_kind=checksum_kind, accept=proto.HOST_CMDS)
        self.received: deque[proto.Frame] = deque(maxlen=1000)  # the host's recent frames, for tests

    def start(self) -> EvaluatorBusSim:
        super().start()
        return self

    def _unplugged(self) -> None:
        self._decoder.expire()  # a frame cut off by the unplug is not finished by the next adapter's bytes

    # --- the script ---------------------------------------------------------------------------------
    def press(self, addr: int, key: int) -> None:
        with self._lock:
            kp = self.keypads[addr]
            kp.pending_key, kp.reported = key, False

    def press_after_prompt(self, addr: int, key: int, delay: float) -> None:
        """Press ``key`` ``delay`` seconds after the next PROMPT lights this keypad (timed here, on the keypad's
        side, so a press can land in the few ms between the light and the host's next frame)."""
        with self._lock:
            self.keypads[addr].armed = (key, delay)

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
    def _forget_key(self, kp: SimKeypad) -> None:
        if kp.pending_key is not None and not kp.reported:
            kp.wiped_unseen += 1
        kp.pending_key, kp.reported = None, False

    def _reply(self, kp: SimKeypad, frame: proto.Frame) -> bytes:
        if frame.cmd == Cmd.PROMPT:
            self._forget_key(kp)
            kp.prompting = True
            kp.prompts += 1
            kp.last_timeout = frame.data[0] if frame.data else 0
            kp.prompted_at = time.monotonic()
            if kp.armed is not None:
                key, delay = kp.armed
                kp.armed, kp.press_due = None, (key, kp.prompted_at + delay)
            return proto.encode(kp.addr, Cmd.ACK, bytes([Cmd.PROMPT]), self.checksum_kind)
        if frame.cmd == Cmd.CLEAR:
            self._forget_key(kp)
            kp.prompting = False
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

    def _noisy(self, frame: bytes) -> bytes:
        """Spoil one reply so that proto's checks reject it: a byte flipped under the checksum (never the length
        byte, whose flip could re-frame the bytes), a wrong checksum, or the frame cut off."""
        kind = self._rng.choice(NOISE_KINDS)
        self.noised[kind] += 1
        b = bytearray(frame)
        if kind == "truncate":
            return bytes(b[:self._rng.randrange(1, len(b))])
        # addr, cmd, data or chk: one flip under an XOR or sum checksum always shows
        pos = len(b) - 2 if kind == "checksum" else self._rng.choice([1, 2, *range(proto.HEADER, len(b) - 1)])
        b[pos] ^= self._rng.randrange(1, 256)
        return bytes(b)

    def _received(self, data: bytes) -> bytes:
        """The host's bytes: each frame to a keypad that answers gets its reply (after any injected garbage)."""
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
            elif self.noise and self._rng.random() < self.noise:
                reply = self._noisy(reply)
            elif frame.cmd == Cmd.POLL and kp.pending_key is not None:
                kp.reported = True
            out += self._outbox + reply
            self._outbox.clear()
        return bytes(out)

    def _tick(self) -> None:
        self._auto_press()

    def _timeout(self) -> float:
        return self._wait()

    def _wait(self) -> float:
        """How long the loop may sleep in select: until the next armed press is due, at most 50 ms."""
        now = time.monotonic()
        with self._lock:
            dues = [kp.press_due[1] for kp in self.keypads.values() if kp.press_due is not None]
        return max(0.0, min([0.05, *(due - now for due in dues)]))

    def _auto_press(self) -> None:
        now = time.monotonic()
        with self._lock:
            for kp in self.keypads.values():
                if kp.press_due is not None and now >= kp.press_due[1]:
                    kp.pending_key, kp.reported = kp.press_due[0], False
                    kp.press_due = None
                elif (self.auto_key is not None and kp.prompting and kp.pending_key is None
                      and now - kp.prompted_at >= self.auto_after):
                    kp.pending_key, kp.reported = self.auto_key, False


# Buses opened through sim:// URLs, by name, so a demo or a test can reach the keypads behind a driver.
SIMS: dict[str, EvaluatorBusSim] = {}
_SIMS_LOCK = threading.Lock()


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError("must be a fraction from 0 up to (not including) 1")
    return value


# sim://NAME?… options and their parsers (a bad value raises ValueError): the one list the config check reads too
URL_OPTIONS: Mapping[str, Callable[[str], object]] = {
    "auto_key": int,  # press this key by itself …
    "auto_after": seconds,  # … this many seconds after each prompt (the demo)
    "noise": _fraction,  # the fraction of replies the line spoils
    "seed": int,  # of the noise, so a run can be replayed
}


def open_bus(name: str, addresses: list[int], *, checksum_kind: str = "xor", opts: dict[str, str] | None = None,
             ) -> EvaluatorBusSim:
    """The running simulator for ``sim://<name>``, started on first use.

    URL options: `URL_OPTIONS`.  A bad one raises TransportError naming it: this runs on the driver's thread,
    where the bus then shows offline with that reason instead of the thread dying (the config check at start-up
    refuses it before that).
    """
    values = sim_options(name, opts, URL_OPTIONS)
    with _SIMS_LOCK:
        sim = SIMS.get(name)
        if sim is None:
            # the option names are EvaluatorBusSim's keyword arguments
            sim = EvaluatorBusSim(addresses, checksum_kind=checksum_kind, name=name, **values)
            SIMS[name] = sim.start()
        return sim
