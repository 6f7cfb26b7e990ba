"""Onbon BX-5K/6K frames: pure encode/decode of PHY0/PHY1 frames, dynamic-area commands and controller answers.

Everything here follows the public protocol doc (onbonlab/onbonlab.github.io, onbon-docs/docs/zh/k/potocol.md,
"BK-5K/6K通讯协议用户版本" v1.4); section numbers in comments refer to it.  No I/O: bytes in, dataclasses out.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

# §3: frame = 8 × 0xA5 | header 14 B | data N B | CRC16 2 B | 0x5A, header..CRC escaped (§3.3)
PREAMBLE_BYTE = 0xA5
PREAMBLE = bytes([PREAMBLE_BYTE]) * 8
END_BYTE = 0x5A
HEADER_LEN = 14
BARCODE_LEN = 16

# §4 header defaults
BROADCAST = 0xFFFF  # broadcast 1: the controller never answers
BROADCAST_REPLY = 0xFFFE  # broadcast 2: the controller answers, with 0xFFFE as its address
SRC_PC = 0x8000  # PC client addresses run 0x8000..0xDFFF
DEVICE_WILDCARD = 0xFE
PROTOCOL_VERSION = 0x02
CHECK_CRC16, CHECK_SUM, CHECK_NONE = 0, 1, 2

# §5.1.1 Response byte of a request
RESPONSE_REQUIRED = 0x01
RESPONSE_NONE = 0x02

# command groups / commands used here (§7, §8.2.1, §8.7, §8.16)
GROUP_ACK = 0xA0
CMD_ACK, CMD_NACK = 0x00, 0x01
GROUP_SYS = 0xA2
CMD_PING = 0x00
GROUP_DISPLAY = 0xA3
CMD_DYNAMIC = 0x06
CMD_CLEAR = 0x10

# §6 CmdError values
ERRORS: dict[int, str] = {
    0: "ERR_NO",
    1: "ERR_OUTOFGROUP",
    2: "ERR_NOCMD",
    3: "ERR_BUSY",
    4: "ERR_MEMORYVOLUME",
    5: "ERR_CHECKSUM",
    6: "ERR_FILENOTEXIST",
    7: "ERR_FLASH",
    8: "ERR_FILE_DOWNLOAD",
    9: "ERR_FILE_NAME",
    10: "ERR_FILE_TYPE",
    11: "ERR_FILE_CRC16",
    12: "ERR_FONT_NOT_EXIST",
    13: "ERR_FIRMWARE_TYPE",
    14: "ERR_DATE_TIME_FORMAT",
    15: "ERR_FILE_EXIST",
    16: "ERR_FILE_BLOCK_NUM",
}
ERR_NO, ERR_OUTOFGROUP, ERR_NOCMD, ERR_BUSY, ERR_MEMORYVOLUME, ERR_CHECKSUM = 0, 1, 2, 3, 4, 5

# §9.1 DisplayMode (the effect of a text area)
EFFECT_STATIC = 0x01
EFFECT_TYPE_OUT = 0x02  # 快速打出: text re-appears character by character, used as the "flash" on a call
EFFECT_LEFT, EFFECT_RIGHT, EFFECT_UP, EFFECT_DOWN = 0x03, 0x04, 0x05, 0x06
# §9.1 RunMode
RUN_LOOP, RUN_HOLD_LAST, RUN_LOOP_TIMEOUT = 0, 1, 2
# §9.1 SingleLine / NewLine
MULTI_LINE, SINGLE_LINE = 0x02, 0x01
MANUAL_WRAP, AUTO_WRAP = 0x01, 0x02

# §11.1: "\n" (backslash, n) is the line break inside area text; "\F…", "\C…" etc. are other escapes
LINE_BREAK = b"\\n"

MAX_DATA_LEN = 1024  # §5.1.3: the controller's receive buffer; bigger needs multi-packet (files only)
MAX_AREA_TEXT = 1024  # §8.2.1: one dynamic area holds at most 1024 bytes on a 6K (512 on a 5K)
MAX_FRAME_BYTES = 8 + 2 * (HEADER_LEN + BARCODE_LEN + MAX_DATA_LEN + 2) + 1  # worst case, all bytes escaped


class FrameError(ValueError):
    """A frame that cannot be accepted: bad escape, short, wrong length or checksum."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # stable key the decoder counts by: escape | short | length | crc | ...
        super().__init__(message)


# --- CRC (appendix "CRC校验算法": X^16+X^15+X^2+1, reflected 0xA001, init 0 = CRC-16/ARC) ------------------------
def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _make_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC exactly as the appendix's table-driven C code; "123456789" → 0xBB3D."""
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def sum16(data: bytes) -> int:
    """§4 CheckMode 1: byte sum, lowest two bytes kept."""
    return sum(data) & 0xFFFF


# --- §3.3 escaping -------------------------------------------------------------------------------------------
_ESCAPES = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
_UNESCAPES = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        esc = _ESCAPES.get(b)
        if esc is None:
            out.append(b)
        else:
            out += esc
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Undo §3.3; an 0xA6/0x5B not followed by 01/02, or raw 0xA5/0x5A inside, is a broken frame."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b in (0xA6, 0x5B):
            if i + 1 >= n:
                raise FrameError("escape", f"dangling escape byte 0x{b:02X} at end of frame")
            orig = _UNESCAPES.get((b, data[i + 1]))
            if orig is None:
                raise FrameError("escape", f"bad escape 0x{b:02X} 0x{data[i + 1]:02X}")
            out.append(orig)
            i += 2
            continue
        if b in (0xA5, 0x5A):
            raise FrameError("escape", f"unescaped 0x{b:02X} inside frame")
        out.append(b)
        i += 1
    return bytes(out)


# --- §4 header, PHY1 packet ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Frame:
    """One PHY1 packet: the 14-byte header fields (§4) and the data field (§5)."""

    dst: int
    src: int
    data: bytes
    device_type: int = DEVICE_WILDCARD
    version: int = PROTOCOL_VERSION
    check_mode: int = CHECK_CRC16
    display_mode: int = 0  # §4 DisplayMode: 0 normal, 1 dynamic areas take priority over programs
    barcode: bytes | None = None  # §4 BarCode, only sent when BarCode Option bit0 is 1 (set-IP on 6K)


def _checksum(mode: int, packet: bytes) -> int:
    if mode == CHECK_SUM:
        return sum16(packet)
    if mode == CHECK_NONE:
        return 0
    return crc16(packet)


def encode_packet(frame: Frame) -> bytes:
    """PHY1: header + data + checksum (not yet escaped)."""
    if len(frame.data) > 0xFFFF:
        raise ValueError("data field longer than 65535 bytes")
    barcode_opt = 1 if frame.barcode is not None else 0
    header = struct.pack("<HH3sB", frame.dst, frame.src, b"\0\0\0", barcode_opt)
    if frame.barcode is not None:
        if len(frame.barcode) != BARCODE_LEN:
            raise ValueError("barcode must be 16 bytes")
        header += frame.barcode
    header += struct.pack(
        "<BBBBH", frame.check_mode, frame.display_mode, frame.device_type, frame.version, len(frame.data)
    )
    packet = header + frame.data
    return packet + struct.pack("<H", _checksum(frame.check_mode, packet))


def encode_frame(frame: Frame) -> bytes:
    """PHY0: preamble + escaped PHY1 packet + end byte; the checksum is over the bytes before escaping (§3.3)."""
    return PREAMBLE + escape(encode_packet(frame)) + bytes([END_BYTE])


def decode_packet(packet: bytes) -> Frame:
    """Parse an unescaped PHY1 packet; raises FrameError on a short packet, wrong DataLen or checksum."""
    if len(packet) < HEADER_LEN + 2:
        raise FrameError("short", f"packet of {len(packet)} bytes is shorter than header + checksum")
    dst, src, _reserved, barcode_opt = struct.unpack_from("<HH3sB", packet, 0)
    off = 8
    barcode = None
    if barcode_opt & 1:
        if len(packet) < HEADER_LEN + BARCODE_LEN + 2:
            raise FrameError("short", "packet too short for its barcode")
        barcode = bytes(packet[off : off + BARCODE_LEN])
        off += BARCODE_LEN
    check_mode, display_mode, device_type, version, data_len = struct.unpack_from("<BBBBH", packet, off)
    off += 6
    if len(packet) != off + data_len + 2:
        raise FrameError("length", f"DataLen says {data_len} bytes, packet carries {len(packet) - off - 2}")
    body = packet[:-2]
    (got,) = struct.unpack_from("<H", packet, len(packet) - 2)
    if check_mode not in (CHECK_CRC16, CHECK_SUM, CHECK_NONE):
        raise FrameError("check_mode", f"unknown CheckMode {check_mode}")
    if check_mode != CHECK_NONE:
        want = _checksum(check_mode, body)
        if got != want:
            raise FrameError("crc", f"checksum 0x{got:04X} != computed 0x{want:04X}")
    return Frame(
        dst=dst,
        src=src,
        data=bytes(packet[off : off + data_len]),
        device_type=device_type,
        version=version,
        check_mode=check_mode,
        display_mode=display_mode,
        barcode=barcode,
    )


def decode_frame(raw: bytes) -> Frame:
    """Decode one complete PHY0 frame (any number of 0xA5, escaped packet, 0x5A)."""
    i = 0
    while i < len(raw) and raw[i] == PREAMBLE_BYTE:
        i += 1
    if i == 0:
        raise FrameError("preamble", "frame does not start with 0xA5")
    if not raw.endswith(bytes([END_BYTE])) or len(raw) <= i + 1:
        raise FrameError("end", "frame does not end with 0x5A")
    return decode_packet(unescape(raw[i:-1]))


# --- §5 data field: requests and answers ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """§5.1.1: CmdGroup, Cmd, Response (01 must answer / 02 need not), 2 reserved, data."""

    group: int
    cmd: int
    body: bytes = b""
    response: int = RESPONSE_REQUIRED
    reserved: bytes = b"\0\0"  # A3 06 puts ProcessMode in the first of these two bytes (§8.2.1)

    def encode(self) -> bytes:
        return bytes([self.group, self.cmd, self.response]) + self.reserved[:2].ljust(2, b"\0") + self.body


def decode_request(data: bytes) -> Request:
    if len(data) < 5:
        raise FrameError("short", f"request data of {len(data)} bytes (needs 5)")
    return Request(data[0], data[1], bytes(data[5:]), data[2], bytes(data[3:5]))


@dataclass(frozen=True, slots=True)
class Reply:
    """§5.1.2: CmdGroup, Cmd, CmdError, 2 reserved, data.  ACK is A0 00, NACK is A0 01 (§7)."""

    group: int
    cmd: int
    error: int = ERR_NO
    body: bytes = b""

    @property
    def is_ack(self) -> bool:
        return self.group == GROUP_ACK and self.cmd == CMD_ACK and self.error == ERR_NO

    @property
    def is_nack(self) -> bool:
        return (self.group == GROUP_ACK and self.cmd == CMD_NACK) or self.error != ERR_NO

    @property
    def error_name(self) -> str:
        return ERRORS.get(self.error, f"ERR_{self.error}")

    def encode(self) -> bytes:
        return bytes([self.group, self.cmd, self.error, 0, 0]) + self.body


def decode_reply(data: bytes) -> Reply:
    if len(data) < 5:
        raise FrameError("short", f"answer data of {len(data)} bytes (needs 5)")
    return Reply(data[0], data[1], data[2], bytes(data[5:]))


def ack() -> Reply:
    return Reply(GROUP_ACK, CMD_ACK, ERR_NO)


def nack(error: int) -> Reply:
    return Reply(GROUP_ACK, CMD_NACK, error)


def reply_frame(request: Frame, reply: Reply, own_address: int) -> Frame:
    """The controller's answer: addressed back to the sender; src is 0xFFFE when asked on broadcast 2 (§4)."""
    src = BROADCAST_REPLY if request.dst == BROADCAST_REPLY else (request.dst if request.dst >= 0x8000 else own_address)
    return Frame(dst=request.src, src=src, data=reply.encode(), device_type=request.device_type)


def ping() -> Request:
    """§8.7 PING: answered by ACK; also how baud auto-detection probes (§8.8)."""
    return Request(GROUP_SYS, CMD_PING)


# --- §9.1 area data, §8.2.1 dynamic-area command -------------------------------------------------------------
PIXEL_UNIT = 0x8000  # §9.1 AreaX/AreaWidth: top bit of the high byte set = pixels, clear = bytes of 8 pixels


@dataclass(frozen=True, slots=True)
class Area:
    """One dynamic text area (§9.1).  x/width are in pixels here; the encoder sets the pixel-unit bit."""

    area_id: int
    text: bytes  # already GB2312 with §11 escapes ("\\n" line break)
    x: int = 0
    y: int = 0
    width: int = 128
    height: int = 32
    line_spacing: int = 0
    run_mode: int = RUN_HOLD_LAST
    timeout: int = 0  # seconds; only used by RUN_LOOP_TIMEOUT
    align: int = 0  # bits1..0: 0 left, 1 right, 2 centre; bits3..2: 0 top, 1 bottom, 2 middle
    single_line: int = MULTI_LINE
    new_line: int = AUTO_WRAP
    effect: int = EFFECT_STATIC
    exit_mode: int = 0
    speed: int = 0  # 0 fastest .. 0x18 slowest
    stay: int = 10  # in 0.5 s steps

    def encode(self) -> bytes:
        # SoundMode 0 means the sound bytes are not sent; ExtendParaLen 0 means no extension bytes (§9.1)
        head = struct.pack(
            "<BHHHHBBBHBB",
            0x00,  # AreaType
            _xunit(self.x),
            self.y,
            _xunit(self.width),
            self.height,
            self.area_id,
            self.line_spacing,
            self.run_mode,
            self.timeout,
            0,  # SoundMode: no voice
            0,  # ExtendParaLen
        )
        tail = struct.pack(
            "<BBBBBBBI",
            self.align,
            self.single_line,
            self.new_line,
            self.effect,
            self.exit_mode,
            self.speed,
            self.stay,
            len(self.text),
        )
        return head + tail + self.text


def _xunit(v: int) -> int:
    if not 0 <= v < 0x8000:
        raise ValueError(f"coordinate {v} out of range")
    return v | PIXEL_UNIT


def _from_xunit(v: int) -> int:
    return v & 0x7FFF if v & PIXEL_UNIT else (v & 0x7FFF) * 8


def decode_area(data: bytes) -> Area:
    """Parse one §9.1 area record (as carried in A3 06); sound and extension fields are skipped."""
    try:
        (area_type, x, y, w, h, area_id, spacing, run_mode, timeout, sound_mode) = struct.unpack_from(
            "<BHHHHBBBHB", data, 0
        )
        off = 15
        if sound_mode:
            off += 3  # SoundPerson/Repeat, SoundVolume, SoundSpeed
            if sound_mode == 2:
                (slen,) = struct.unpack_from("<I", data, off)
                off += 4 + slen
        ext_len = data[off]
        off += 1 + ext_len
        align, single, newline, effect, exit_mode, speed, stay, text_len = struct.unpack_from(
            "<BBBBBBBI", data, off
        )
        off += 11
    except (struct.error, IndexError) as exc:
        raise FrameError("area", f"area record truncated: {exc}") from exc
    if area_type != 0:
        raise FrameError("area", f"unknown AreaType {area_type}")
    if off + text_len != len(data):
        raise FrameError("area", f"area text length {text_len} does not match record ({len(data) - off} bytes)")
    return Area(
        area_id=area_id,
        text=bytes(data[off:]),
        x=_from_xunit(x),
        y=y,
        width=_from_xunit(w),
        height=h,
        line_spacing=spacing,
        run_mode=run_mode,
        timeout=timeout,
        align=align,
        single_line=single,
        new_line=newline,
        effect=effect,
        exit_mode=exit_mode,
        speed=speed,
        stay=stay,
    )


@dataclass(frozen=True, slots=True)
class DynamicUpdate:
    """§8.2.1 A3 06: delete some areas, then (re)define and fill others; RAM only, may be sent without limit."""

    areas: tuple[Area, ...] = ()
    delete_ids: tuple[int, ...] = ()  # (0xFF,) alone deletes all dynamic areas
    process_mode: int = 0  # 1: clear and initialise the areas on receipt
    response: int = RESPONSE_REQUIRED

    def request(self) -> Request:
        body = bytearray()
        if self.delete_ids == (0xFF,):
            body.append(0xFF)
        else:
            body.append(len(self.delete_ids))
            body += bytes(self.delete_ids)
        body.append(len(self.areas))
        for area in self.areas:
            rec = area.encode()
            body += struct.pack("<H", len(rec)) + rec
        return Request(GROUP_DISPLAY, CMD_DYNAMIC, bytes(body), self.response, bytes([self.process_mode, 0]))

    def encode(self) -> bytes:
        return self.request().encode()


def decode_dynamic(req: Request) -> DynamicUpdate:
    """Parse an A3 06 request (from decode_request) back into areas; raises FrameError when malformed."""
    body = req.body
    try:
        i = 0
        del_n = body[i]
        i += 1
        if del_n == 0xFF:
            delete_ids: tuple[int, ...] = (0xFF,)
        else:
            delete_ids = tuple(body[i : i + del_n])
            if len(delete_ids) != del_n:
                raise FrameError("area", "delete list truncated")
            i += del_n
        n = body[i]
        i += 1
        areas = []
        for _ in range(n):
            (alen,) = struct.unpack_from("<H", body, i)
            i += 2
            rec = body[i : i + alen]
            if len(rec) != alen:
                raise FrameError("area", "area record truncated")
            areas.append(decode_area(rec))
            i += alen
    except (IndexError, struct.error) as exc:
        raise FrameError("area", f"dynamic-area command truncated: {exc}") from exc
    if i != len(body):
        raise FrameError("area", f"{len(body) - i} stray bytes after the last area")
    return DynamicUpdate(tuple(areas), delete_ids, req.reserved[0], req.response)


def dynamic_frame(dst: int, update: DynamicUpdate, src: int = SRC_PC) -> bytes:
    """Ready-to-send bytes of an A3 06 command to one board."""
    return encode_frame(Frame(dst=dst, src=src, data=update.encode()))


# --- text ----------------------------------------------------------------------------------------------------
REPLACEMENT = "？"  # full-width question mark: in GB2312, and visibly not what was meant


def encode_text(text: str) -> tuple[bytes, list[str]]:
    """GB2312 bytes for an area, lines joined with the §11.1 "\\n" escape.

    Characters outside GB2312 become "？" and are returned so the caller can log them; a lone backslash would start
    a §11.1 escape (\\F font, \\C colour), so user text gets the full-width "＼" instead.
    """
    out = bytearray()
    bad: list[str] = []
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if n:
            out += LINE_BREAK
        for ch in line.replace("\\", "＼"):
            try:
                out += ch.encode("gb2312")
            except UnicodeEncodeError:
                bad.append(ch)
                out += REPLACEMENT.encode("gb2312")
    return bytes(out), bad


def clip_text(data: bytes, limit: int = MAX_AREA_TEXT) -> bytes:
    """At most `limit` bytes of encode_text output, never cutting a two-byte GB2312 character in half."""
    if len(data) <= limit:
        return data
    i = 0
    while i < len(data):
        step = 2 if data[i] >= 0x80 else 1
        if i + step > limit:
            break
        i += step
    return data[:i]


def decode_text(data: bytes) -> str:
    """The inverse of encode_text for display checks (sim, tests): "\\n" back to a newline."""
    return "\n".join(part.decode("gb2312", errors="replace") for part in data.split(LINE_BREAK))


def wire_seconds(nbytes: int, baud: int = 9600) -> float:
    """8N1: ten bits per byte on the wire (§2.2)."""
    return nbytes * 10 / baud


# --- streaming decoder ---------------------------------------------------------------------------------------
@dataclass
class DecoderStats:
    frames: int = 0
    garbage_bytes: int = 0  # bytes outside any frame
    bad: dict[str, int] = field(default_factory=dict)  # reason → count (crc, escape, length, partial, overflow…)

    @property
    def bad_total(self) -> int:
        return sum(self.bad.values())


class FrameDecoder:
    """Feeds on any byte chunks, returns whole decoded frames; never raises.

    §3 item 1: any 0xA5 starts a frame and the first non-0xA5 byte is the first byte of the packet, so a raw 0xA5
    in the middle of a packet means the sender restarted (the partial one is counted and dropped).  0x5A ends a
    frame.  Bytes before any 0xA5 are garbage.  Frames longer than any legal frame are dropped as overflow.
    """

    def __init__(self, max_len: int = MAX_FRAME_BYTES) -> None:
        self.stats = DecoderStats()
        self.errors: list[str] = []  # the last few reasons, newest last, for health messages
        self._rejected: list[tuple[str, bytes]] = []  # (reason, unescaped packet) for a controller's NACK
        self._buf = bytearray()
        self._state = 0  # 0 hunting, 1 in preamble, 2 in packet, 3 overflowing (skip to the end byte)
        self._max = max_len

    def _bad(self, reason: str, message: str) -> None:
        self.stats.bad[reason] = self.stats.bad.get(reason, 0) + 1
        self.errors.append(message)
        del self.errors[:-8]

    def feed(self, chunk: bytes) -> list[Frame]:
        out: list[Frame] = []
        for b in chunk:
            if b == PREAMBLE_BYTE:
                if self._state == 2:
                    self._bad("partial", "frame cut off by a new preamble")
                self._buf.clear()
                self._state = 1
            elif self._state == 0:
                self.stats.garbage_bytes += 1
            elif self._state == 3:
                if b == END_BYTE:
                    self._state = 0
            elif b == END_BYTE:
                if self._state == 1:
                    self._bad("short", "empty frame")
                else:
                    packet = b""
                    try:
                        packet = unescape(bytes(self._buf))
                        out.append(decode_packet(packet))
                        self.stats.frames += 1
                    except FrameError as exc:
                        self._bad(exc.reason, str(exc))
                        if packet:
                            self._rejected.append((exc.reason, packet))
                            del self._rejected[:-8]
                self._buf.clear()
                self._state = 0
            else:
                self._state = 2
                self._buf.append(b)
                if len(self._buf) > self._max:
                    self._bad("overflow", f"frame longer than {self._max} bytes")
                    self._buf.clear()
                    self._state = 3
        return out

    @property
    def in_frame(self) -> bool:
        """A frame has begun (preamble seen) and not yet ended."""
        return self._state != 0

    def take_rejected(self) -> list[tuple[str, bytes]]:
        """Packets that unescaped but failed a check since the last call (a controller NACKs a bad CRC)."""
        out, self._rejected = self._rejected, []
        return out

    def reset(self) -> None:
        """Forget a half-received frame (after reopening the link)."""
        self._buf.clear()
        self._state = 0
