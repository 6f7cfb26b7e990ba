"""Table tests for the GA 467 SAM frames, the resyncing decoder and the GA/T 490 text block.

Where each layout comes from (docs/devices-idcard.md lists them with links):
  [BEARPI] Yangyuanxin/BearPi 10.ZKT_BearPi/ZKT_SDK/IDReader.c, .h — command table and the 10-byte request frame
  [HSL]    HslCommunication SAMSerial.cs (Profinet/IDCard) — PackToSAMCommand, CheckADSCommandAndSum, SearchCard 9F,
           SelectCard 90, ExtractIdentityCard (status at byte 9, text at 14, photo at 270), status words and texts
  [CHEN]   chenhaifeng2016/FaceRecognitionTest IDCardReader/src/IDReader.h — the 256-byte text struct, then 1024 photo
  [NFC]    wiki.nfc.im 智能卡手册「二代居民身份证」 — GA/T 490 text file: sizes, GB/T 2261.1 / GB/T 3304 / GB 11643
  [DX]     chinasem.cn/article/392748 东信 SAM 协议解析 — find → select → read; UCS-2 little-endian, padded with 20 00
  [NODE]   waitingsong/node-idcard-reader README — the end date is a date or 长期
  [AFZ]    afzhan.com/st170652/news_212938 — 外国人永久居留身份证 text table: card type "I" after 248 bytes
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from devices.idcard import proto, sim
from devices.idcard.proto import FIND, READ, SAM_STATUS, SELECT, Decoder, ProtoError, Reply, Request, Status

DEMO = sim.CARDS["demo"]


@pytest.mark.parametrize(("cmd", "wire", "source"), [
    (FIND, "aa aa aa 96 69 00 03 20 01 22", "[BEARPI] CMD_FIND_ID_CARD 20 01, CHK = 00^03^20^01"),
    (SELECT, "aa aa aa 96 69 00 03 20 02 21", "[BEARPI] CMD_SELECT_ID_CARD 20 02; [HSL] SelectCard"),
    (READ, "aa aa aa 96 69 00 03 30 01 32", "[BEARPI] CMD_READ_INFO 30 01; [HSL] ReadCard"),
    (SAM_STATUS, "aa aa aa 96 69 00 03 11 ff ed", "[BEARPI] CMD_READ_SAM_A_STATUS 11 FF"),
])
def test_request_frames(cmd: proto.Command, wire: str, source: str) -> None:
    raw = proto.command(cmd)
    assert raw.hex(" ") == wire, source
    assert proto.decode(raw, host=False) == Request(cmd[0], cmd[1])


@pytest.mark.parametrize(("wire", "sw3", "data_len", "source"), [
    # LEN counts SW1 SW2 SW3 and CHK (+ data); CHK is the XOR from LEN on [HSL CheckADSCommandAndSum]
    ("aa aa aa 96 69 00 04 00 00 80 84", Status.NOT_FOUND, 0, "[HSL] SAMStatus80 寻找证/卡失败"),
    ("aa aa aa 96 69 00 08 00 00 9f 00 00 00 00 97", Status.FOUND, 4, "[HSL] SearchCard expects 9F"),
    ("aa aa aa 96 69 00 0c 00 00 90 00 00 00 00 00 00 00 00 9c", Status.OK, 8, "[HSL] SelectCard expects 90"),
    ("aa aa aa 96 69 00 04 00 00 41 45", Status.READ_FAILED, 0, "[HSL] SAMStatus41 读证/卡操作失败"),
])
def test_reply_frames(wire: str, sw3: int, data_len: int, source: str) -> None:
    r = proto.decode(bytes.fromhex(wire))
    assert isinstance(r, Reply)
    assert (r.sw1, r.sw2, r.sw3, len(r.data)) == (0, 0, sw3, data_len), source
    assert proto.reply(sw3, bytes(data_len)).hex(" ") == wire


def test_read_reply_layout() -> None:
    """[HSL] ExtractIdentityCard: SW3 at byte 9, the two lengths at 10 and 12, text at 14, photo at 270;
    [CHEN] the buffer: 1 + 2 + (2+2+2+256+1024) + … — LEN 0x0508 = 3 + 4 + 256 + 1024 + 1."""
    raw = proto.reply(Status.OK, proto.read_data(proto.encode_text(DEMO), sim.PHOTO))
    assert len(raw) == 1295
    assert raw[:14].hex(" ") == "aa aa aa 96 69 05 08 00 00 90 01 00 04 00"
    assert raw[14:270] == proto.encode_text(DEMO)
    assert raw[270:1294] == sim.PHOTO
    r = proto.decode(raw)
    assert isinstance(r, Reply)
    block = proto.read_text(r)
    assert block == raw[14:270]
    assert sim.PHOTO_MARKER not in block  # the photo is skipped, never copied out


@pytest.mark.parametrize(("sw3", "text"), [
    # [HSL] StringResources SAMStatus90 … SAMStatus81
    (0x90, "操作成功"), (0x91, "证/卡中此项无内容"), (0x9F, "寻找证/卡成功"), (0x10, "接收数据校验和错"),
    (0x11, "接收数据长度错"), (0x21, "接收数据命令错"), (0x23, "越权操作"), (0x24, "无法识别的错误"),
    (0x31, "证/卡认证 SAM 失败"), (0x32, "SAM 认证证/卡失败"), (0x33, "信息验证错误"), (0x40, "无法识别的卡类型"),
    (0x41, "读证/卡操作失败"), (0x47, "取随机数失败"), (0x60, "SAM 自检失败"), (0x66, "SAM 未经授权"),
    (0x80, "寻找证/卡失败"), (0x81, "选取证/卡失败"), (0x55, "未知状态 0x55"),
])
def test_status_words(sw3: int, text: str) -> None:
    assert proto.status_text(sw3) == text


def test_text_block_field_sizes_follow_ga_t_490() -> None:
    """[NFC] [CHEN]: name 30, sex 2, nation 4, birth 16, address 70, ID 36, issuer 30, from 16, to 16, reserved 36."""
    assert proto.FIELDS == (("name", 30), ("sex", 2), ("nation", 4), ("birth", 16), ("address", 70),
                            ("id_number", 36), ("issuer", 30), ("valid_from", 16), ("valid_to", 16),
                            ("reserved", 36))


def _block(**fields: str) -> bytes:
    """A text block from raw field strings (UCS-2LE, space padded [DX]), starting from the demo card's."""
    base = proto.split_text(proto.encode_text(DEMO))
    base.update(fields)
    return b"".join(proto.field_bytes(base[n], size) for n, size in proto.FIELDS)


@pytest.mark.parametrize(("case", "block", "expect"), [
    ("resident card [NFC]", proto.encode_text(DEMO),
     {"name": "欧阳明华", "sex": "男", "nation": "汉", "birth": date(1978, 3, 15), "valid_to": date(2040, 5, 1)}),
    ("long-term validity 长期 [NODE]", proto.encode_text(sim.CARDS["longterm"]),
     {"valid_to": None, "nation": "彝", "sex": "女"}),
    ("sex 9 未说明, nation 97 其他 [NFC: GB/T 2261.1, GB/T 3304]", _block(sex="9", nation="97"),
     {"sex": "未说明", "nation": "其他"}),
    ("ID ends in lower-case x", _block(id_number="11010519491231002x"), {"id_number": "11010519491231002X"}),
    ("港澳台居民居住证: card type J, no nation", proto.encode_text(sim.CARDS["permit"]),
     {"card_type": "J", "nation": ""}),
    ("padding with NUL instead of spaces", proto.encode_text(DEMO).replace(b" \x00", b"\x00\x00"),
     {"address": DEMO.address}),
])
def test_parse_text(case: str, block: bytes, expect: dict[str, object]) -> None:
    card = proto.parse_text(block)
    for key, value in expect.items():
        assert getattr(card, key) == value, case


@pytest.mark.parametrize(("case", "block", "message"), [
    ("short block", proto.encode_text(DEMO)[:255], "text block is 255 bytes"),
    ("not UCS-2 (a lone surrogate)", proto.encode_text(DEMO)[:2] + b"\x00\xd8" + proto.encode_text(DEMO)[4:],
     "not UCS-2"),
    ("empty name", _block(name=""), "name is empty"),
    ("sex code 3", _block(sex="3"), "sex code"),
    ("nation 57 does not exist", _block(nation="57"), "nation code"),
    ("ID check digit wrong", _block(id_number="110105194912310021"), "GB 11643"),
    ("birth 19780230", _block(birth="19780230"), "birth is not a calendar date"),
    ("valid_to text", _block(valid_to="2040O501"), "valid_to is not a date"),
    ("foreign permanent resident card [AFZ]", proto.encode_text(replace(DEMO, card_type="I")), "card type I"),
    ("unknown card type", proto.encode_text(replace(DEMO, card_type="Z")), "unknown card type"),
])
def test_parse_text_refuses(case: str, block: bytes, message: str) -> None:
    with pytest.raises(ProtoError, match=message) as exc:
        proto.parse_text(block)
    assert DEMO.id_number not in str(exc.value) and DEMO.name not in str(exc.value), case


def test_card_text_repr_masks_the_person() -> None:
    text = repr(DEMO) + str(DEMO)
    assert DEMO.id_number not in text and DEMO.name not in text
    assert "欧**华" in text and "5101**********3012" in text


@pytest.mark.parametrize(("data", "message"), [
    (b"", "not the two lengths"),
    (proto.read_data(bytes(255), sim.PHOTO), "text block is 255 bytes"),
    (proto.read_data(proto.encode_text(DEMO), sim.PHOTO)[:-1], "its lengths say 1284"),
])
def test_read_text_refuses_bad_read_replies(data: bytes, message: str) -> None:
    with pytest.raises(ProtoError, match=message):
        proto.read_text(Reply(0, 0, Status.OK, data))
    with pytest.raises(ProtoError, match="读证/卡操作失败"):
        proto.read_text(Reply(0, 0, Status.READ_FAILED))


NONE = proto.reply(Status.NOT_FOUND)
FOUND = proto.reply(Status.FOUND, bytes(4))
BAD = NONE[:-1] + bytes([NONE[-1] ^ 0xFF])


@pytest.mark.parametrize(("case", "chunks", "sw3s", "counts"), [
    ("clean", [NONE + FOUND], [0x80, 0x9F], {}),
    ("noise before a frame", [b"\x00\xff\x96\x69" + FOUND], [0x9F], {"garbage": 4}),
    ("one byte at a time", [bytes([b]) for b in FOUND], [0x9F], {}),
    ("preamble split across reads", [FOUND[:3], FOUND[3:]], [0x9F], {}),
    ("bad checksum, then a good frame", [BAD + FOUND], [0x9F], {"bad_checksum": 1}),
    ("LEN too small: a false start skipped", [b"\xaa\xaa\xaa\x96\x69\x00\x01" + FOUND], [0x9F],
     {"bad_frame": 1, "garbage": 6}),
    ("LEN beyond any frame", [b"\xaa\xaa\xaa\x96\x69\xff\xff" + NONE], [0x80], {"bad_frame": 1, "garbage": 6}),
])
def test_decoder_resyncs(case: str, chunks: list[bytes], sw3s: list[int], counts: dict[str, int]) -> None:
    dec = Decoder()
    got: list[int] = []
    for c in chunks:
        got += [r.sw3 for r in dec.feed(c) if isinstance(r, Reply)]
    assert got == sw3s, case
    assert dec.pending == 0
    expected = {"garbage": 0, "bad_checksum": 0, "bad_frame": 0, **counts}
    assert {k: v for k, v in dec.counters().items() if k != "frames"} == expected, case


def test_a_cut_off_read_is_dropped_when_the_line_goes_quiet() -> None:
    dec = Decoder()
    full = proto.reply(Status.OK, proto.read_data(proto.encode_text(DEMO), sim.PHOTO))
    assert dec.feed(full[:700]) == []
    assert dec.expire() == 700
    assert dec.counters()["bad_frame"] == 1 and dec.pending == 0
    assert [r.sw3 for r in dec.feed(NONE) if isinstance(r, Reply)] == [0x80]


def test_decode_says_what_is_wrong() -> None:
    with pytest.raises(ProtoError, match="not exactly one valid frame"):
        proto.decode(BAD)
    with pytest.raises(ProtoError):
        proto.decode(NONE + NONE)
