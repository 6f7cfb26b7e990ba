"""Serial-mode bar code and QR scanners: the message framing a scanner's configuration codes set, pure decode.

A scanner in serial mode (RS-232, or USB-COM / CDC) sends each decoded code as one message::

    [prefix] [AIM identifier "]cm"] data [suffix]

The prefix (preamble) and the suffix (record suffix, CR by default on most models) are whatever the scanner was
set to by scanning its configuration codes; the AIM identifier (``]`` + code character + modifier, ``]Q1`` for a QR
code, ``]C0`` for Code 128) is sent when enabled.  The hall's config names the same prefix, suffix and AIM
setting (docs/devices-scanner.md, with the vendor manuals it comes from).  The suffix delimits a message; a message
cut off by a pulled cable is dropped when the line stays quiet (`Decoder.expire`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

ENCODINGS = ("utf-8", "gb18030")  # Chinese scanners send GBK/GB18030 for Chinese QR content unless set to UTF-8
AIM_FLAG = b"]"


class FramingError(ValueError):
    """A framing the scanner cannot have been set to (an empty suffix, a prefix that is not ASCII)."""


@dataclass(frozen=True, slots=True)
class Framing:
    prefix: bytes = b""
    suffix: bytes = b"\r"
    aim: bool = False
    encoding: str = "utf-8"
    max_length: int = 2048  # bytes of data; a QR code holds at most ~2.9 KB, a hall's codes far less

    def __post_init__(self) -> None:
        if not self.suffix:
            raise FramingError("the suffix must not be empty: it is what ends a message")
        if self.encoding not in ENCODINGS:
            raise FramingError(f"encoding must be one of {', '.join(ENCODINGS)}")
        if self.prefix and self.suffix in self.prefix:
            raise FramingError("the prefix must not contain the suffix")

    @classmethod
    def from_text(cls, prefix: str = "", suffix: str = "\r", **kw: object) -> Framing:
        """From config strings (TOML escapes already applied: "\\r" is a carriage return); ASCII only."""
        for name, text in (("prefix", prefix), ("suffix", suffix)):
            if not text.isascii():
                raise FramingError(f"the {name} must be ASCII (a scanner's prefix and suffix are)")
        return cls(prefix.encode("ascii"), suffix.encode("ascii"), **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Scan:
    code: str
    symbology: str = ""  # "]Q1" when the scanner sends AIM identifiers


def encode(code: str, framing: Framing, symbology: str = "]Q1") -> bytes:
    """The bytes a scanner set to `framing` sends for `code` (the simulator and the tests)."""
    aim = symbology.encode("ascii") if framing.aim else b""
    return framing.prefix + aim + code.encode(framing.encoding) + framing.suffix


@dataclass
class Decoder:
    """Splits the byte stream at the suffix and checks each message against the framing; counts what it drops."""

    framing: Framing
    scans: int = 0
    garbage: int = 0  # bytes before the prefix (the tail of a cut-off message, line noise)
    bad_prefix: int = 0  # a message without the configured prefix: the scanner is set differently
    bad_aim: int = 0  # AIM identifiers configured, the message has none
    bad_encoding: int = 0
    overflow: int = 0  # longer than max_length without a suffix
    cut_off: int = 0  # bytes left without a suffix when the line went quiet
    empty: int = 0  # a suffix alone (a scanner sending CR LF to a CR-configured host, a trigger with no read)
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _skipping: bool = False  # inside an over-long message: drop up to its suffix

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def malformed(self) -> int:
        return self.bad_prefix + self.bad_aim + self.bad_encoding + self.overflow

    def counters(self) -> dict[str, int]:
        return {"scans": self.scans, "garbage": self.garbage, "bad_prefix": self.bad_prefix,
                "bad_aim": self.bad_aim, "bad_encoding": self.bad_encoding, "overflow": self.overflow,
                "cut_off": self.cut_off, "empty": self.empty}

    def expire(self) -> int:
        """Drop a message that will never be completed (no suffix came); returns bytes dropped."""
        n = len(self._buf)
        if n:
            self.cut_off += 1
            self._buf.clear()
        self._skipping = False
        return n

    def feed(self, data: bytes) -> list[Scan]:
        f = self.framing
        self._buf += data
        out: list[Scan] = []
        buf = self._buf
        limit = len(f.prefix) + 3 + f.max_length
        while True:
            end = buf.find(f.suffix)
            if end < 0:
                if len(buf) > limit:
                    if not self._skipping:
                        self.overflow += 1
                    self._skipping = True
                    del buf[:-len(f.suffix) or None]  # keep what may be the start of the suffix
                break
            msg = bytes(buf[:end])
            del buf[:end + len(f.suffix)]
            if self._skipping:
                self._skipping = False
                continue
            scan = self._message(msg)
            if scan is not None:
                out.append(scan)
        return out

    def _message(self, msg: bytes) -> Scan | None:
        f = self.framing
        if set(f.suffix) <= {0x0D, 0x0A}:
            msg = msg.lstrip(b"\r\n")  # CR LF from a scanner set to send both, to a host that expects CR alone
        if f.prefix:
            at = msg.rfind(f.prefix)
            if at < 0:
                if msg:
                    self.bad_prefix += 1
                else:
                    self.empty += 1
                return None
            self.garbage += at
            msg = msg[at + len(f.prefix):]
        symbology = ""
        if f.aim:
            if len(msg) < 3 or msg[:1] != AIM_FLAG:
                self.bad_aim += 1
                return None
            symbology, msg = msg[:3].decode("ascii", "replace"), msg[3:]
        if not msg:
            self.empty += 1
            return None
        if len(msg) > f.max_length:
            self.overflow += 1
            return None
        try:
            code = msg.decode(f.encoding)
        except UnicodeDecodeError:
            self.bad_encoding += 1
            return None
        self.scans += 1
        return Scan(code, symbology)
