"""ESC/POS bytes for 80 mm ticket printers: command builders, text encoding rules, status parsing, a tokenizer."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from devices.base import HealthState

ESC, GS, FS, DLE, EOT, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x0A

INIT = b"\x1b@"
CHINESE_ON = b"\x1c&"  # FS &: many Chinese printers start in single-byte mode and print GB18030 as mojibake without it
CHINESE_OFF = b"\x1c."
DOTS_80MM = 576
RASTER_BAND_ROWS = 128  # cheap clones overflow their receive buffer on one tall GS v 0; bands keep each command small


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


_ALIGN_CODE = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}


class Cut(StrEnum):
    PARTIAL = "partial"
    FULL = "full"
    NONE = "none"


# --- command builders ------------------------------------------------------------------------------------------
def align(a: Align) -> bytes:
    return bytes((ESC, ord("a"), _ALIGN_CODE[a]))


def size(width: int, height: int) -> bytes:
    """GS ! — enlarges Chinese as well as ASCII (ESC ! enlarges ASCII only on Epson-like printers)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} outside 1..8")
    return bytes((GS, ord("!"), ((width - 1) << 4) | (height - 1)))


def bold(on: bool) -> bytes:
    return bytes((ESC, ord("E"), 1 if on else 0))


def feed(lines: int) -> bytes:
    return bytes((ESC, ord("d"), max(0, min(255, lines))))


def cut(mode: Cut, feed_dots: int = 0) -> bytes:
    """GS V 65/66 n: feed n dots, then cut fully/partially.  Explicit, unlike python-escpos' cut(feed=False)."""
    if mode is Cut.NONE:
        return b""
    return bytes((GS, ord("V"), 65 if mode is Cut.FULL else 66, max(0, min(255, feed_dots))))


def status_request(n: int) -> bytes:
    """DLE EOT n: a real-time request, answered even while the printer is busy or stopped."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, not {n}")
    return bytes((DLE, EOT, n))


_QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}


def _gs_k(fn: int, body: bytes) -> bytes:
    n = len(body) + 2
    return bytes((GS, ord("("), ord("k"), n & 0xFF, n >> 8, 49, fn)) + body


def qr(data: str, module: int = 6, ec: str = "M") -> bytes:
    """Native QR (GS ( k, model 2): select model, module size, error level, store the data, print it."""
    raw = data.encode("ascii")  # URLs only: QR payloads for phones are ASCII, and printers differ on anything else
    if not 1 <= module <= 16:
        raise ValueError(f"QR module size {module} outside 1..16")
    if len(raw) > 7000:
        raise ValueError("QR data too long")
    return (
        _gs_k(65, bytes((50, 0)))
        + _gs_k(67, bytes((module,)))
        + _gs_k(69, bytes((_QR_EC[ec],)))
        + _gs_k(80, b"0" + raw)
        + _gs_k(81, b"0")
    )


def raster(bits: bytes, width_bytes: int, rows: int, band_rows: int = RASTER_BAND_ROWS) -> bytes:
    """GS v 0 raster image, 1 bit per dot, MSB left, 1 = black; sent in bands."""
    if width_bytes <= 0 or rows < 0 or len(bits) != width_bytes * rows:
        raise ValueError(f"raster of {len(bits)} bytes is not {width_bytes} x {rows}")
    out = bytearray()
    for top in range(0, rows, band_rows):
        h = min(band_rows, rows - top)
        out += bytes((GS, ord("v"), ord("0"), 0, width_bytes & 0xFF, width_bytes >> 8, h & 0xFF, h >> 8))
        out += bits[top * width_bytes : (top + h) * width_bytes]
    return bytes(out)


# --- text ------------------------------------------------------------------------------------------------------
ENCODINGS = ("gb18030", "gbk")


def printable_char(ch: str, encoding: str = "gb18030") -> bool:
    """Whether a printer's built-in fonts can draw `ch`: ASCII, or a one/two-byte code in GBK/GB18030.

    GB18030 can encode every code point, but printer fonts hold only the two-byte repertoire; Tibetan, Uyghur
    (Arabic script), Yi, Mongolian, CJK extensions and emoji take four bytes and must be drawn as raster.
    """
    if ch == "\n" or unicodedata.category(ch) in ("Cc", "Cf"):
        return False
    try:
        return len(ch.encode(encoding)) <= 2
    except UnicodeEncodeError:
        return False


def printable(text: str, encoding: str = "gb18030") -> bool:
    return all(printable_char(ch, encoding) for ch in text)


def encode_text(text: str, encoding: str = "gb18030") -> bytes:
    """Encode a line for Chinese mode, full-width punctuation included (python-escpos sends it as '?')."""
    bad = [ch for ch in text if not printable_char(ch, encoding)]
    if bad:
        raise ValueError(f"not printable as text in {encoding}: {''.join(bad)!r}; draw this line as raster")
    return text.encode(encoding)


def display_width(text: str) -> int:
    """Width in half-width cells (12 dots in font A): a Chinese character or full-width mark takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") and ord(ch) > 0x7F else 1 for ch in text)


# --- status ----------------------------------------------------------------------------------------------------
def is_status_byte(b: int) -> bool:
    """Every DLE EOT reply has bits 1 and 4 set and bits 0 and 7 clear; anything else is noise or ASB data."""
    return (b & 0x93) == 0x12


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What DLE EOT 2 (offline cause), 4 (paper sensor) and, when an error is flagged, 3 say."""

    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    stopped_paper_end: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False

    def classify(self) -> tuple[HealthState, str]:
        """Map sensors to a health state and a reason a hall manager can act on (Chinese, shown on the board)."""
        if self.cover_open:
            return HealthState.OFFLINE, "打印机上盖打开"
        if self.paper_out or self.stopped_paper_end:
            return HealthState.OFFLINE, "打印机缺纸"
        if self.cutter_error:
            return HealthState.OFFLINE, "打印机切刀故障"
        if self.unrecoverable or self.error:
            return HealthState.OFFLINE, "打印机故障"
        if self.paper_near_end:
            return HealthState.DEGRADED, "打印纸将用完"
        return HealthState.OK, ""

    @property
    def needs_attention(self) -> bool:
        """A fault a person must fix: printing now would only fill the printer's buffer with a stale ticket."""
        return self.classify()[0] is HealthState.OFFLINE


def parse_offline_cause(b: int) -> dict[str, bool]:
    """DLE EOT 2: bit 2 cover open, bit 5 printing stopped by paper end, bit 6 error occurred."""
    return {"cover_open": bool(b & 0x04), "stopped_paper_end": bool(b & 0x20), "error": bool(b & 0x40)}


def parse_paper_sensor(b: int) -> dict[str, bool]:
    """DLE EOT 4: bits 2-3 roll near end, bits 5-6 paper end.  Clones set one bit of a pair or both: either counts."""
    return {"paper_near_end": bool(b & 0x0C), "paper_out": bool(b & 0x60)}


def parse_error_cause(b: int) -> dict[str, bool]:
    """DLE EOT 3: bit 3 autocutter error, bit 5 unrecoverable error."""
    return {"cutter_error": bool(b & 0x08), "unrecoverable": bool(b & 0x20)}


def parse_status(offline: int, paper: int, error: int | None = None) -> PrinterStatus:
    flags = parse_offline_cause(offline) | parse_paper_sensor(paper)
    if error is not None:
        flags |= parse_error_cause(error)
    return PrinterStatus(**flags)


# --- tokenizer (the simulator and tests read our bytes back with it) ------------------------------------------
@dataclass(frozen=True, slots=True)
class Command:
    """One ESC/POS command or run of text.  `name` is e.g. "text", "ESC a", "GS v 0", "unknown"."""

    name: str
    args: bytes = b""
    data: bytes = b""


# Fixed-length commands: prefix byte + command byte -> number of parameter bytes.
_FIXED: dict[tuple[int, int], int] = {
    (ESC, ord("@")): 0, (ESC, ord("!")): 1, (ESC, ord("-")): 1, (ESC, ord("2")): 0, (ESC, ord("3")): 1,
    (ESC, ord("a")): 1, (ESC, ord("E")): 1, (ESC, ord("G")): 1, (ESC, ord("d")): 1, (ESC, ord("J")): 1,
    (ESC, ord("M")): 1, (ESC, ord("t")): 1, (ESC, ord("R")): 1, (ESC, ord("p")): 3, (ESC, ord("{")): 1,
    (ESC, ord("V")): 1, (ESC, ord("$")): 2, (ESC, ord(" ")): 1,
    (GS, ord("!")): 1, (GS, ord("B")): 1, (GS, ord("H")): 1, (GS, ord("h")): 1, (GS, ord("w")): 1,
    (GS, ord("f")): 1, (GS, ord("L")): 2, (GS, ord("W")): 2, (GS, ord("a")): 1, (GS, ord("r")): 1,
    (FS, ord("&")): 0, (FS, ord(".")): 0, (FS, ord("!")): 1, (FS, ord("-")): 1, (FS, ord("C")): 1,
    (DLE, EOT): 1, (DLE, 0x05): 1,
}  # fmt: skip

_NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}


def _cmd_name(prefix: int, c: int) -> str:
    if prefix == DLE and c == EOT:
        return "DLE EOT"
    return f"{_NAMES[prefix]} {chr(c) if 0x20 < c < 0x7F else f'{c:02X}'}"


def tokenize(buf: bytes) -> tuple[list[Command], bytes]:
    """Split a byte stream into commands; returns the commands and an incomplete tail to prepend next time.

    Never raises: an unknown escape becomes an "unknown" command of two bytes, so garbage can garble a line
    but cannot stall the reader.
    """
    out: list[Command] = []
    i, n = 0, len(buf)
    text_start = -1

    def flush_text(end: int) -> None:
        nonlocal text_start
        if text_start >= 0 and end > text_start:
            out.append(Command("text", data=buf[text_start:end]))
        text_start = -1

    while i < n:
        b = buf[i]
        if b not in _NAMES and b != LF:
            if text_start < 0:
                text_start = i
            i += 1
            continue
        if b == LF:
            flush_text(i)
            out.append(Command("LF"))
            i += 1
            continue
        if i + 1 >= n:
            break
        flush_text(i)
        c = buf[i + 1]
        key = (b, c)
        if key in _FIXED:
            end = i + 2 + _FIXED[key]
            if end > n:
                break
            out.append(Command(_cmd_name(b, c), args=buf[i + 2 : end]))
            i = end
            continue
        consumed = _variable(buf, i, out)
        if consumed == 0:
            break
        i += consumed
    else:
        flush_text(n)
        return out, b""
    flush_text(i)
    return out, buf[i:]


def _variable(buf: bytes, i: int, out: list[Command]) -> int:
    """Variable-length commands; returns bytes consumed, 0 if the command is not complete yet."""
    n = len(buf)
    b, c = buf[i], buf[i + 1]
    if b == GS and c in (ord("("), ord("v")) and i + 2 >= n:
        return 0  # the sub-command byte has not arrived yet
    if b == GS and c == ord("V"):
        if i + 2 >= n:
            return 0
        m = buf[i + 2]
        if m in (65, 66, 97, 98, 103, 104):
            if i + 3 >= n:
                return 0
            out.append(Command("GS V", args=buf[i + 2 : i + 4]))
            return 4
        out.append(Command("GS V", args=buf[i + 2 : i + 3]))
        return 3
    if b == GS and c == ord("(") and i + 2 < n and buf[i + 2] in (ord("k"), ord("L"), ord("E"), ord("A")):
        if i + 5 > n:
            return 0
        length = buf[i + 3] | (buf[i + 4] << 8)
        end = i + 5 + length
        if end > n:
            return 0
        out.append(Command(f"GS ( {chr(buf[i + 2])}", args=buf[i + 5 : i + 7], data=buf[i + 7 : end]))
        return end - i
    if b == GS and c == ord("v") and i + 2 < n and buf[i + 2] == ord("0"):
        if i + 8 > n:
            return 0
        wb = buf[i + 4] | (buf[i + 5] << 8)
        h = buf[i + 6] | (buf[i + 7] << 8)
        end = i + 8 + wb * h
        if end > n:
            return 0
        out.append(Command("GS v 0", args=buf[i + 3 : i + 8], data=buf[i + 8 : end]))
        return end - i
    if b == GS and c == ord("k"):
        if i + 2 >= n:
            return 0
        m = buf[i + 2]
        if m <= 6:
            nul = buf.find(b"\x00", i + 3)
            if nul < 0:
                return 0
            out.append(Command("GS k", args=bytes((m,)), data=buf[i + 3 : nul]))
            return nul + 1 - i
        if i + 3 >= n:
            return 0
        end = i + 4 + buf[i + 3]
        if end > n:
            return 0
        out.append(Command("GS k", args=bytes((m,)), data=buf[i + 4 : end]))
        return end - i
    out.append(Command("unknown", args=bytes((b, c))))
    return 2
