"""Evaluator keypad frames on an RS-485 multi-drop bus: pure encode/decode and a resyncing stream decoder.

There is no public standard for 好差评 keypads (vendors ship DLLs), so this is *our* default frame format; a
vendor keypad that speaks something else gets its own proto module behind the same driver.

Frame (every field one byte, no escaping — the length byte and the ETX check delimit a frame)::

    STX 0x02 | addr | cmd | len | data[len] | chk | ETX 0x03

- ``addr`` is the keypad's DIP-switch address, 1..32, in both directions (the host has no address: RS-485
  here is half-duplex master/slave, a keypad only ever answers the frame addressed to it).
- ``len`` is 0..MAX_DATA.
- ``chk`` covers addr, cmd, len and data: XOR of the bytes (default) or their sum mod 256 (``checksum="sum"``,
  a variant seen on some keypads; the bus is configured for one or the other).

Commands host → keypad:

====== ======== ======================================================================================
0x01   PROMPT   light 请评价; data = [timeout s, 0..255] so the keypad can turn its light off on its own
0x02   CLEAR    light off, forget any key press not yet reported
0x03   POLL     "anything for me?" — sent round-robin; the keypad answers KEY or STATUS
====== ======== ======================================================================================

Replies keypad → host:

====== ======== ======================================================================================
0x81   ACK      data = [the command acknowledged] (answers PROMPT and CLEAR)
0x82   KEY      data = [key code]; repeated on every POLL until the host sends CLEAR or PROMPT, so a reply
                lost to a bad checksum is not a lost rating
0x83   STATUS   data = [state: 0 idle, 1 prompting]
====== ======== ======================================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

STX = 0x02
ETX = 0x03
MAX_DATA = 16
MIN_ADDR, MAX_ADDR = 1, 32
HEADER = 4  # STX addr cmd len
OVERHEAD = HEADER + 2  # + chk ETX


class Cmd(IntEnum):
    PROMPT = 0x01
    CLEAR = 0x02
    POLL = 0x03
    ACK = 0x81
    KEY = 0x82
    STATUS = 0x83


HOST_CMDS = frozenset({Cmd.PROMPT, Cmd.CLEAR, Cmd.POLL})
KEYPAD_CMDS = frozenset({Cmd.ACK, Cmd.KEY, Cmd.STATUS})
CHECKSUMS = ("xor", "sum")


@dataclass(frozen=True, slots=True)
class Frame:
    addr: int
    cmd: int
    data: bytes = b""


def checksum(body: bytes, kind: str = "xor") -> int:
    """Checksum over addr, cmd, len and data."""
    if kind == "xor":
        c = 0
        for b in body:
            c ^= b
        return c
    if kind == "sum":
        return sum(body) & 0xFF
    raise ValueError(f"unknown checksum {kind!r} (xor, sum)")


def encode(addr: int, cmd: int, data: bytes = b"", checksum_kind: str = "xor") -> bytes:
    if not MIN_ADDR <= addr <= MAX_ADDR:
        raise ValueError(f"keypad address {addr} out of range {MIN_ADDR}..{MAX_ADDR}")
    if len(data) > MAX_DATA:
        raise ValueError(f"frame data too long: {len(data)} > {MAX_DATA}")
    body = bytes([addr, cmd & 0xFF, len(data)]) + data
    return bytes([STX]) + body + bytes([checksum(body, checksum_kind), ETX])


def prompt(addr: int, timeout_s: float, checksum_kind: str = "xor") -> bytes:
    secs = max(1, min(255, int(-(-timeout_s // 1))))  # ceil, kept in one byte
    return encode(addr, Cmd.PROMPT, bytes([secs]), checksum_kind)


def clear(addr: int, checksum_kind: str = "xor") -> bytes:
    return encode(addr, Cmd.CLEAR, b"", checksum_kind)


def poll(addr: int, checksum_kind: str = "xor") -> bytes:
    return encode(addr, Cmd.POLL, b"", checksum_kind)


def answers(request: int, reply: Frame) -> bool:
    """Whether ``reply`` is a keypad's answer to a frame with command ``request``: ACK naming it for PROMPT and
    CLEAR, KEY or STATUS with their data byte for POLL.  Anything else is a late answer to an earlier frame."""
    if request == Cmd.POLL:
        return reply.cmd in (Cmd.KEY, Cmd.STATUS) and len(reply.data) == 1
    return reply.cmd == Cmd.ACK and reply.data == bytes([request])


def decode(frame: bytes, checksum_kind: str = "xor") -> Frame:
    """Decode exactly one complete frame; raises ValueError saying what is wrong."""
    dec = Decoder(checksum_kind=checksum_kind)
    frames = dec.feed(frame)
    if len(frames) != 1 or dec.pending or dec.errors:
        raise ValueError(f"not exactly one valid frame: {frame.hex(' ')} ({dec.counters()})")
    return frames[0]


@dataclass
class Decoder:
    """Turns a byte stream into frames, resyncing on the next STX after garbage, a cut-off frame or a bad checksum.

    ``addresses``: when given, frames from any other address are counted (``unknown_address``) and dropped.
    ``accept``: the commands this side expects (keypad replies on the host, host commands in a simulator);
    others are counted as ``unknown_cmd``.
    """

    checksum_kind: str = "xor"
    addresses: frozenset[int] | None = None
    accept: frozenset[int] | None = None
    garbage: int = 0  # bytes thrown away outside any frame
    bad_checksum: int = 0
    bad_frame: int = 0  # a frame start whose length or ETX did not fit: a cut-off frame or noise
    unknown_address: int = 0
    unknown_cmd: int = 0
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def errors(self) -> int:
        return self.garbage + self.bad_checksum + self.bad_frame + self.unknown_address + self.unknown_cmd

    def counters(self) -> dict[str, int]:
        return {
            "frames": self.frames,
            "garbage": self.garbage,
            "bad_checksum": self.bad_checksum,
            "bad_frame": self.bad_frame,
            "unknown_address": self.unknown_address,
            "unknown_cmd": self.unknown_cmd,
        }

    def expire(self) -> int:
        """Drop a partial frame that will never be completed (the line went quiet); returns bytes dropped."""
        n = len(self._buf)
        if n:
            self.bad_frame += 1
            self._buf.clear()
        return n

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while buf:
            start = buf.find(STX)
            if start < 0:
                self.garbage += len(buf)
                buf.clear()
                break
            if start:
                self.garbage += start
                del buf[:start]
            if len(buf) < HEADER:
                break
            n = buf[3]
            if n > MAX_DATA or not MIN_ADDR <= buf[1] <= MAX_ADDR:
                # not a frame start after all: skip this STX and look for the next one
                self.bad_frame += 1
                del buf[:1]
                continue
            total = OVERHEAD + n
            if len(buf) < total:
                break
            if buf[total - 1] != ETX:
                # a cut-off frame followed by the next one: resync inside it
                self.bad_frame += 1
                del buf[:1]
                continue
            body = bytes(buf[1:HEADER + n])
            chk = buf[HEADER + n]
            del buf[:total]
            if checksum(body, self.checksum_kind) != chk:
                self.bad_checksum += 1
                continue
            addr, cmd, data = body[0], body[1], body[3:]
            if self.addresses is not None and addr not in self.addresses:
                self.unknown_address += 1
                continue
            if self.accept is not None and cmd not in self.accept:
                self.unknown_cmd += 1
                continue
            self.frames += 1
            out.append(Frame(addr, cmd, data))
        return out
