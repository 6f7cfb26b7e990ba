"""GA 467 SAM frames of a resident ID card reader (居民身份证阅读机具): pure encode/decode, the resyncing stream
decoder, status words and the 256-byte text block.  docs/devices-idcard.md has the layouts and their sources.

Host → SAM (GA 467 §业务终端接口; the bytes as the BearPi ZKT IDReader.c and HslCommunication SAMSerial.cs build
them)::

    AA AA AA 96 69 | LEN (2, big-endian) | CMD | PARA | data | CHK

SAM → host::

    AA AA AA 96 69 | LEN (2, big-endian) | SW1 SW2 SW3 | data | CHK

``LEN`` counts every byte after itself, CHK included; ``CHK`` is the XOR of every byte from LEN up to the byte
before it.  SW3 is the status (0x90 done, 0x9F card found, 0x80 no card …, `Status`).  A 30 01 read answers with
``text length (2, BE) | photo length (2, BE) | text (256) | photo (1024)``; the photo is a WLT image that this
module never decodes: `read_text` returns the text block only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum

from kiosk.core.privacy import mask_id, mask_name, valid_id

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER = len(PREAMBLE) + 2  # preamble + LEN
MIN_LEN = 4  # SW1 SW2 SW3 CHK
MAX_LEN = 4096  # a text+photo+fingerprint read (30 10) is ~2.3 KB; anything longer is noise that looked like LEN
TEXT_SIZE = 256
PHOTO_SIZE = 1024


class ProtoError(ValueError):
    """A frame or a text block that does not follow GA 467 / GA/T 490; the message says what is wrong (never the
    ID number or the name)."""


class Command(tuple[int, int]):
    """(CMD, PARA) of a host request."""


FIND = Command((0x20, 0x01))  # 寻找居民身份证: 9F found, 80 none
SELECT = Command((0x20, 0x02))  # 选取居民身份证: 90 done, 81 failed
READ = Command((0x30, 0x01))  # 读机读文字信息和相片信息: 90 + text + photo, 41 failed
SAM_STATUS = Command((0x11, 0xFF))  # SAM_A 状态检测: 90 when the security module is fine
NAMES = {FIND: "find", SELECT: "select", READ: "read", SAM_STATUS: "sam status"}


class Status(IntEnum):
    """SW3 values (GA 467; wording as the vendors' SDK notes give it)."""

    OK = 0x90
    NO_CONTENT = 0x91
    FOUND = 0x9F
    RX_CHECKSUM = 0x10
    RX_LENGTH = 0x11
    RX_COMMAND = 0x21
    NOT_ALLOWED = 0x23
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_SAM = 0x31
    SAM_AUTH_CARD = 0x32
    VERIFY_FAILED = 0x33
    CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST = 0x60
    SAM_UNAUTHORIZED = 0x66
    NOT_FOUND = 0x80
    SELECT_FAILED = 0x81


STATUS_TEXT: dict[int, str] = {
    Status.OK: "操作成功", Status.NO_CONTENT: "证/卡中此项无内容", Status.FOUND: "寻找证/卡成功",
    Status.RX_CHECKSUM: "接收数据校验和错", Status.RX_LENGTH: "接收数据长度错", Status.RX_COMMAND: "接收数据命令错",
    Status.NOT_ALLOWED: "越权操作", Status.UNKNOWN_ERROR: "无法识别的错误", Status.CARD_AUTH_SAM: "证/卡认证 SAM 失败",
    Status.SAM_AUTH_CARD: "SAM 认证证/卡失败", Status.VERIFY_FAILED: "信息验证错误",
    Status.CARD_TYPE: "无法识别的卡类型", Status.READ_FAILED: "读证/卡操作失败", Status.RANDOM_FAILED: "取随机数失败",
    Status.SAM_SELF_TEST: "SAM 自检失败", Status.SAM_UNAUTHORIZED: "SAM 未经授权", Status.NOT_FOUND: "寻找证/卡失败",
    Status.SELECT_FAILED: "选取证/卡失败",
}
# statuses that say the reader itself (its security module) is broken, not the card in front of it
SAM_FAULTS = frozenset({Status.SAM_SELF_TEST, Status.SAM_UNAUTHORIZED, Status.RX_CHECKSUM, Status.RX_LENGTH,
                        Status.RX_COMMAND})


def status_text(sw3: int) -> str:
    return STATUS_TEXT.get(sw3, f"未知状态 0x{sw3:02X}")


def checksum(body: bytes) -> int:
    c = 0
    for b in body:
        c ^= b
    return c


def _frame(body: bytes) -> bytes:
    """LEN, body and CHK after the preamble; LEN counts body + CHK."""
    n = len(body) + 1
    if not MIN_LEN - 1 <= n <= MAX_LEN:
        raise ValueError(f"frame body of {len(body)} bytes cannot be sent")
    framed = n.to_bytes(2, "big") + body
    return PREAMBLE + framed + bytes([checksum(framed)])


def command(cmd: Command, data: bytes = b"") -> bytes:
    """A host request: FIND → AA AA AA 96 69 00 03 20 01 22."""
    return _frame(bytes(cmd) + data)


def reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader's answer (the simulator and the tests build them here)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True, slots=True)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = field(default=b"", repr=False)  # a read's data holds the card: never printed

    @property
    def status(self) -> int:
        return self.sw3

    @property
    def ok(self) -> bool:
        return self.sw3 == Status.OK

    def describe(self) -> str:
        return f"{self.sw1:02X} {self.sw2:02X} {self.sw3:02X} {status_text(self.sw3)}"


@dataclass(frozen=True, slots=True)
class Request:
    """A host request as the simulator sees it."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def command(self) -> Command:
        return Command((self.cmd, self.para))


@dataclass
class Decoder:
    """Turns a byte stream into frames, resyncing on the next preamble after garbage, a cut-off frame or a bad CHK.

    ``host=True`` decodes the reader's replies (SW1 SW2 SW3 first), ``host=False`` the host's requests (a
    simulator).  The buffer is cleared of every frame it returns, so a card's bytes do not linger in it.
    """

    host: bool = True
    garbage: int = 0  # bytes thrown away outside any frame
    bad_checksum: int = 0
    bad_frame: int = 0  # a LEN out of range, or a frame cut off by silence
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def errors(self) -> int:
        return self.garbage + self.bad_checksum + self.bad_frame

    def counters(self) -> dict[str, int]:
        return {"frames": self.frames, "garbage": self.garbage, "bad_checksum": self.bad_checksum,
                "bad_frame": self.bad_frame}

    def expire(self) -> int:
        """Drop a partial frame that will never be completed (the line went quiet); returns bytes dropped."""
        n = len(self._buf)
        if n:
            self.bad_frame += 1
            self._wipe()
        return n

    def _wipe(self) -> None:
        self._buf[:] = bytes(len(self._buf))  # overwrite before letting go: a cut-off read held card bytes
        self._buf.clear()

    def feed(self, data: bytes) -> list[Reply | Request]:
        self._buf += data
        out: list[Reply | Request] = []
        buf = self._buf
        while buf:
            start = buf.find(PREAMBLE)
            if start < 0:
                # keep a tail that may be the start of a preamble split across reads
                keep = next((k for k in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1)
                             if PREAMBLE.startswith(bytes(buf[-k:]))), 0)
                self.garbage += len(buf) - keep
                del buf[:len(buf) - keep]
                break
            if start:
                self.garbage += start
                del buf[:start]
            if len(buf) < HEADER:
                break
            n = int.from_bytes(buf[len(PREAMBLE):HEADER], "big")
            if not MIN_LEN - (0 if self.host else 1) <= n <= MAX_LEN:
                self.bad_frame += 1  # not a frame after all: look for the next preamble past this one
                del buf[:1]
                continue
            total = HEADER + n
            if len(buf) < total:
                break
            framed = bytes(buf[len(PREAMBLE):total - 1])
            chk = buf[total - 1]
            buf[:total] = bytes(total)
            del buf[:total]
            if checksum(framed) != chk:
                self.bad_checksum += 1
                continue
            body = framed[2:]
            self.frames += 1
            if self.host:
                out.append(Reply(body[0], body[1], body[2], body[3:]))
            else:
                out.append(Request(body[0], body[1], body[2:]))
        return out


def decode(frame: bytes, host: bool = True) -> Reply | Request:
    """Exactly one complete frame; raises ProtoError saying what is wrong."""
    dec = Decoder(host=host)
    frames = dec.feed(frame)
    if len(frames) != 1 or dec.pending or dec.errors:
        raise ProtoError(f"not exactly one valid frame ({dec.counters()}, {dec.pending} bytes left)")
    return frames[0]


def read_text(r: Reply) -> bytes:
    """The 256-byte text block of a successful 30 01 read; the photo after it is skipped, never copied."""
    if not r.ok:
        raise ProtoError(f"read failed: {r.describe()}")
    d = r.data
    if len(d) < 4:
        raise ProtoError(f"read reply carries {len(d)} bytes, not the two lengths")
    text_len, photo_len = int.from_bytes(d[0:2], "big"), int.from_bytes(d[2:4], "big")
    if text_len != TEXT_SIZE:
        raise ProtoError(f"text block is {text_len} bytes, not {TEXT_SIZE}")
    if len(d) != 4 + text_len + photo_len:
        raise ProtoError(f"read reply is {len(d)} bytes; its lengths say {4 + text_len + photo_len}")
    return d[4:4 + text_len]


# --- the text block (GA/T 490: 256 bytes of UCS-2LE, each field padded with spaces) -----------------------------
FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 30), ("sex", 2), ("nation", 4), ("birth", 16), ("address", 70), ("id_number", 36), ("issuer", 30),
    ("valid_from", 16), ("valid_to", 16), ("reserved", 36),
)
assert sum(n for _, n in FIELDS) == TEXT_SIZE
LONG_TERM = "长期"  # GA/T 2000.16: a card valid for life says 长期 where the end date would be
SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}  # GB/T 2261.1
NATIONS: dict[str, str] = {f"{i:02d}": n for i, n in enumerate((
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
    "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"),
    start=1)} | {"97": "其他", "98": "外国血统中国籍人士"}  # GB/T 3304
# the card type: one character at byte 248 (the foreign permanent resident card's table puts its "I" there, and the
# 港澳台居民居住证 its "J"); a resident ID card leaves it blank
RESIDENT, RESIDENCE_PERMIT, FOREIGN_PERMANENT = "", "J", "I"
CARD_TYPE_AT = 248
_DATE = re.compile(r"\d{8}")


@dataclass(frozen=True, slots=True, repr=False)
class CardText:
    """Every text field of the card.  It stays inside the driver: only the ID, the masked name and the validity
    leave it (devices/reads.py IdCardRead).  Its repr masks the person."""

    name: str
    sex: str  # 男 / 女 / 未知 / 未说明
    nation: str  # 汉 …; "" on a 港澳台居民居住证
    birth: date
    address: str
    id_number: str
    issuer: str
    valid_from: date
    valid_to: date | None  # None: 长期
    card_type: str = RESIDENT

    def __repr__(self) -> str:
        return f"CardText({mask_name(self.name)}, {mask_id(self.id_number)}, {self.card_type or 'resident'})"


def _date(text: str, what: str) -> date:
    if not _DATE.fullmatch(text):
        raise ProtoError(f"{what} is not a date YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ProtoError(f"{what} is not a calendar date") from None


def split_text(block: bytes) -> dict[str, str]:
    """The fields of a text block as strings, padding stripped."""
    if len(block) != TEXT_SIZE:
        raise ProtoError(f"text block is {len(block)} bytes, not {TEXT_SIZE}")
    out: dict[str, str] = {}
    pos = 0
    for name, size in FIELDS:
        try:
            out[name] = block[pos:pos + size].decode("utf-16-le").rstrip(" \x00")
        except UnicodeDecodeError:
            raise ProtoError(f"field {name} is not UCS-2 text") from None
        pos += size
    return out


def parse_text(block: bytes) -> CardText:
    """The 256-byte text block of a resident ID card or a 港澳台居民居住证; ProtoError for anything else."""
    f = split_text(block)
    card_type = block[CARD_TYPE_AT:CARD_TYPE_AT + 2].decode("utf-16-le").strip(" \x00")
    if card_type == FOREIGN_PERMANENT:
        raise ProtoError("a foreign permanent resident card (card type I) has another layout")
    if card_type not in (RESIDENT, RESIDENCE_PERMIT):
        raise ProtoError(f"unknown card type {card_type!r}")
    if not f["name"].strip():
        raise ProtoError("the name is empty")
    sex = SEXES.get(f["sex"])
    if sex is None:
        raise ProtoError("sex code is not a GB/T 2261.1 code")
    nation = NATIONS.get(f["nation"], "")
    if not nation and (card_type == RESIDENT or f["nation"].strip()):
        raise ProtoError("nation code is not a GB/T 3304 code")
    id_number = f["id_number"].strip().upper()
    if not valid_id(id_number):
        raise ProtoError("the ID number fails its GB 11643 check")
    valid_to = None if f["valid_to"].strip() == LONG_TERM else _date(f["valid_to"], "valid_to")
    return CardText(
        name=f["name"].strip(), sex=sex, nation=nation, birth=_date(f["birth"], "birth"),
        address=f["address"].strip(), id_number=id_number, issuer=f["issuer"].strip(),
        valid_from=_date(f["valid_from"], "valid_from"), valid_to=valid_to, card_type=card_type,
    )


def field_bytes(text: str, size: int) -> bytes:
    """One field as the card stores it: UCS-2LE, padded with spaces to `size` bytes."""
    raw = text.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{text!r} does not fit {size} bytes")
    return raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def encode_text(card: CardText, *, sex_code: str | None = None, nation_code: str | None = None) -> bytes:
    """The text block a card of these fields carries (the simulator's cards and the tests)."""
    sex = sex_code if sex_code is not None else next(k for k, v in SEXES.items() if v == card.sex)
    nation = nation_code if nation_code is not None else next(
        (k for k, v in NATIONS.items() if v == card.nation), "")
    at = (CARD_TYPE_AT - (TEXT_SIZE - 36)) // 2  # the card type's place inside the reserved field
    reserved = " " * at + card.card_type if card.card_type else ""
    values = {
        "name": card.name, "sex": sex, "nation": nation, "birth": card.birth.strftime("%Y%m%d"),
        "address": card.address, "id_number": card.id_number, "issuer": card.issuer,
        "valid_from": card.valid_from.strftime("%Y%m%d"),
        "valid_to": card.valid_to.strftime("%Y%m%d") if card.valid_to else LONG_TERM, "reserved": reserved,
    }
    return b"".join(field_bytes(values[name], size) for name, size in FIELDS)


def read_data(text_block: bytes, photo: bytes) -> bytes:
    """The data of a 30 01 reply: both lengths, the text block, the photo."""
    return len(text_block).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text_block + photo
