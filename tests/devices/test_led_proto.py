"""Onbon BX-5K/6K frame codec: CRC, escaping, header, A3 06 areas, answers and the resyncing stream decoder.

Byte strings marked "doc §x example n" are copied from onbonlab/onbonlab.github.io onbon-docs/docs/zh/k/potocol.md.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.led import proto


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# doc §5.1.1 example 2 / §8.2.1 example 8: dynamic area 0, 128×32, static, "欢迎光临", to 0xFFFE
DOC_DYNAMIC = h(
    "a5 a5 a5 a5 a5 a5 a5 a5 fe ff 00 80 00 00 00 00 00 00 fe 02 2c 00 a3 06 01 00 00 00 01 23 00 00 00 80"
    " 00 00 80 80 20 00 00 00 00 0a 00 00 00 00 02 01 01 00 02 0a 08 00 00 00 bb b6 d3 ad b9 e2 c1 d9 3c 49 5a"
)
# doc §7.1 example 4 (note the doc's nine 0xA5: any run of 0xA5 is a preamble, §3 item 1)
DOC_ACK = h("A5 A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00 14 AC 5A")
# doc §7.2 example 5: NACK ERR_CHECKSUM
DOC_NACK = h("A5 A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 01 05 00 00 05 51 5A")
# doc §8.7 PING to address 1
DOC_PING = h("A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00 68 F8 5A")
# doc §8.5 format command to address 1
DOC_FORMAT = h("A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A1 00 01 00 00 2C F8 5A")


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"123456789", 0xBB3D),  # the CRC-16/ARC check value
        (b"", 0x0000),
        (b"\x00", 0x0000),
        (b"\xff", 0x4040),  # last entry of the doc's appendix table
        (b"\x01", 0xC0C1),  # second entry of the doc's appendix table
        (h("00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00"), 0xAC14),  # doc example 4 → "14 AC"
        (h("01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00"), 0xF868),  # doc PING → "68 F8"
    ],
)
def test_crc16_arc(data: bytes, crc: int) -> None:
    assert proto.crc16(data) == crc


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (b"\xa5", b"\xa6\x02"),
        (b"\xa6", b"\xa6\x01"),
        (b"\x5a", b"\x5b\x02"),
        (b"\x5b", b"\x5b\x01"),
        (b"\x00\xa5\xa5\x01", b"\x00\xa6\x02\xa6\x02\x01"),
        (b"\xa6\x02", b"\xa6\x01\x02"),  # an 0xA6 that looks like an escape is itself escaped
        (b"\x5b\x01\x5a", b"\x5b\x01\x01\x5b\x02"),
        (b"hello", b"hello"),
    ],
)
def test_escape_roundtrip(raw: bytes, escaped: bytes) -> None:
    assert proto.escape(raw) == escaped
    assert proto.unescape(escaped) == raw


@pytest.mark.parametrize(
    "bad",
    [b"\xa6", b"\x5b", b"\xa6\x03", b"\x5b\x00", b"\x01\xa5", b"\x5a\x01"],
    ids=["dangling-a6", "dangling-5b", "a6-03", "5b-00", "raw-a5", "raw-5a"],
)
def test_unescape_rejects(bad: bytes) -> None:
    with pytest.raises(proto.FrameError) as exc:
        proto.unescape(bad)
    assert exc.value.reason == "escape"


@given(st.binary(max_size=300))
def test_escape_roundtrip_any_bytes(data: bytes) -> None:
    esc = proto.escape(data)
    assert 0xA5 not in esc and 0x5A not in esc
    assert proto.unescape(esc) == data


@pytest.mark.parametrize(
    ("raw", "dst", "src", "data"),
    [
        (DOC_DYNAMIC, 0xFFFE, 0x8000, DOC_DYNAMIC[22:-3]),
        (DOC_ACK, 0x8000, 0xFFFE, h("A0 00 00 00 00")),
        (DOC_NACK, 0x8000, 0xFFFE, h("A0 01 05 00 00")),
        (DOC_PING, 0x0001, 0x8000, h("A2 00 01 00 00")),
        (DOC_FORMAT, 0x0001, 0x8000, h("A1 00 01 00 00")),
    ],
    ids=["dynamic", "ack", "nack", "ping", "format"],
)
def test_decode_doc_frames(raw: bytes, dst: int, src: int, data: bytes) -> None:
    f = proto.decode_frame(raw)
    assert (f.dst, f.src, f.data, f.device_type, f.version) == (dst, src, data, 0xFE, 2)
    # and encoding the decoded frame gives the doc's bytes back (with the standard 8-byte preamble)
    assert proto.encode_frame(f) == proto.PREAMBLE + raw.lstrip(b"\xa5")


def test_header_field_order() -> None:
    packet = proto.encode_packet(proto.Frame(dst=0x0102, src=0x8003, data=b"\xa2\x00\x01\x00\x00"))
    #                 dst     src    reserved  barcode check display type ver  len
    assert packet[:14] == h("02 01 03 80 00 00 00 00 00 00 fe 02 05 00")
    assert len(packet) == 14 + 5 + 2


def test_barcode_header_is_30_bytes() -> None:
    f = proto.Frame(dst=1, src=0x8000, data=b"\xa4\x05\x01\x00\x00", barcode=bytes(range(16)))
    packet = proto.encode_packet(f)
    assert packet[7] == 1 and len(packet) == 14 + 16 + 5 + 2
    assert proto.decode_packet(packet) == f


@pytest.mark.parametrize(("mode", "tail"), [(proto.CHECK_SUM, None), (proto.CHECK_NONE, b"\x12\x34")])
def test_other_check_modes(mode: int, tail: bytes | None) -> None:
    f = proto.Frame(dst=1, src=0x8000, data=b"\xa2\x00\x01\x00\x00", check_mode=mode)
    packet = proto.encode_packet(f)
    if tail is not None:
        packet = packet[:-2] + tail  # §4 CheckMode 2: the checksum bytes may be anything
    assert proto.decode_packet(packet) == f


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p[:-1] + bytes([p[-1] ^ 1]), "crc"),
        (lambda p: p[:20] + bytes([p[20] ^ 0x40]) + p[21:], "crc"),
        (lambda p: p[:12] + b"\x09\x00" + p[14:], "length"),
        (lambda p: p[:10], "short"),
        (lambda p: p[:8] + b"\x07" + p[9:], "check_mode"),
    ],
    ids=["crc-byte", "data-bit", "datalen", "short", "checkmode"],
)
def test_decode_packet_rejects(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    packet = proto.encode_packet(proto.Frame(dst=1, src=0x8000, data=b"\xa2\x00\x01\x00\x00"))
    with pytest.raises(proto.FrameError) as exc:
        proto.decode_packet(mutate(packet))
    assert exc.value.reason == reason


def test_dynamic_area_doc_layout() -> None:
    """doc §8.2.1 example 8 field by field, built from our dataclasses."""
    area = proto.Area(
        area_id=0, text="欢迎光临".encode("gb2312"), width=128, height=32, run_mode=proto.RUN_LOOP, timeout=10,
        new_line=proto.MANUAL_WRAP, effect=proto.EFFECT_STATIC, speed=2, stay=10,
    )
    frame = proto.encode_frame(
        proto.Frame(dst=0xFFFE, src=0x8000, data=proto.DynamicUpdate((area,)).encode())
    )
    assert frame == DOC_DYNAMIC
    req = proto.decode_request(proto.decode_frame(frame).data)
    assert (req.group, req.cmd, req.response) == (0xA3, 0x06, 0x01)
    upd = proto.decode_dynamic(req)
    assert upd.areas == (area,) and upd.delete_ids == () and upd.process_mode == 0


@pytest.mark.parametrize(
    "update",
    [
        proto.DynamicUpdate((proto.Area(1, b"A001", x=8, y=16, width=64, height=16),)),
        proto.DynamicUpdate((proto.Area(0, b"x"), proto.Area(1, b"\xa5\x5a\xa6\x5b")), delete_ids=(3, 4)),
        proto.DynamicUpdate((), delete_ids=(0xFF,), process_mode=1),
        proto.DynamicUpdate((proto.Area(2, b"", effect=proto.EFFECT_TYPE_OUT, stay=1),), response=2),
    ],
    ids=["one-area", "two-areas-escaped-text", "delete-all", "no-reply"],
)
def test_dynamic_roundtrip(update: proto.DynamicUpdate) -> None:
    raw = proto.dynamic_frame(7, update)
    f = proto.decode_frame(raw)
    assert f.dst == 7
    assert proto.decode_dynamic(proto.decode_request(f.data)) == update


def test_area_units_byte_based_x() -> None:
    """§9.1: AreaX/AreaWidth without the top bit count bytes of 8 pixels; we decode either."""
    rec = bytearray(proto.Area(0, b"ab", x=16, width=64).encode())
    rec[1:3] = (2).to_bytes(2, "little")  # x = 2 bytes = 16 px
    rec[5:7] = (8).to_bytes(2, "little")  # width = 8 bytes = 64 px
    a = proto.decode_area(bytes(rec))
    assert (a.x, a.width) == (16, 64)


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00", b"\x00\x01\x05\x00abc", b"\x02\x01", b"\x00\x01\x04\x00\x00\x00\x80\x00", b"\x00\x00junk"],
    ids=["empty", "no-area-count", "short-area", "short-delete-list", "truncated-area", "stray-bytes"],
)
def test_decode_dynamic_rejects(body: bytes) -> None:
    with pytest.raises(proto.FrameError):
        proto.decode_dynamic(proto.Request(0xA3, 0x06, body))


@pytest.mark.parametrize(
    ("data", "is_ack", "is_nack", "name"),
    [
        (h("A0 00 00 00 00"), True, False, "ERR_NO"),
        (h("A0 01 05 00 00"), False, True, "ERR_CHECKSUM"),
        (h("A0 01 03 00 00"), False, True, "ERR_BUSY"),
        (h("A1 02 00 00 00 01 0f"), False, False, "ERR_NO"),  # a status answer carrying data
        (h("A0 01 63 00 00"), False, True, "ERR_99"),
    ],
)
def test_replies(data: bytes, is_ack: bool, is_nack: bool, name: str) -> None:
    r = proto.decode_reply(data)
    assert (r.is_ack, r.is_nack, r.error_name) == (is_ack, is_nack, name)
    assert r.encode() == data


def test_controller_reply_addressing() -> None:
    """§4 / example 4: the answer goes back to the sender; asked on 0xFFFE it answers from 0xFFFE."""
    req = proto.Frame(dst=0xFFFE, src=0x8000, data=b"")
    assert proto.encode_frame(proto.reply_frame(req, proto.ack(), 1)) == proto.PREAMBLE + DOC_ACK[9:]
    to_one = proto.reply_frame(proto.Frame(dst=1, src=0x8001, data=b""), proto.ack(), 1)
    assert (to_one.dst, to_one.src) == (0x8001, 1)


@pytest.mark.parametrize(
    ("text", "data", "bad"),
    [
        ("欢迎光临", h("bb b6 d3 ad b9 e2 c1 d9"), []),
        ("A001 → 3号窗口", "A001 → 3号窗口".encode("gb2312"), []),
        ("暂停服务\n午休", "暂停服务".encode("gb2312") + b"\\n" + "午休".encode("gb2312"), []),
        ("請A001", "？A001".encode("gb2312"), ["請"]),  # traditional 請 is not in GB2312
        ("བཀྲ", "？？？".encode("gb2312"), ["བ", "ཀ", "ྲ"]),  # Tibetan: degrade visibly, never crash
        ("a\\Fb", "a＼Fb".encode("gb2312"), []),  # a backslash would start a §11.1 escape
        ("😀", "？".encode("gb2312"), ["😀"]),
    ],
    ids=["welcome", "arrow", "two-lines", "traditional", "tibetan", "backslash", "emoji"],
)
def test_encode_text(text: str, data: bytes, bad: list[str]) -> None:
    assert proto.encode_text(text) == (data, bad)


@pytest.mark.parametrize(
    ("data", "limit", "out"),
    [
        (b"abc", 10, b"abc"),
        (b"abcdef", 4, b"abcd"),
        ("欢迎光临".encode("gb2312"), 5, "欢迎".encode("gb2312")),  # never half a character
        (b"A" + "欢迎".encode("gb2312"), 4, b"A" + "欢".encode("gb2312")),
        (b"A" + "欢迎".encode("gb2312"), 5, b"A" + "欢迎".encode("gb2312")),
    ],
)
def test_clip_text(data: bytes, limit: int, out: bytes) -> None:
    assert proto.clip_text(data, limit) == out


def test_decode_text_lines() -> None:
    assert proto.decode_text(proto.encode_text("A001 → 3号窗口\nB002 → 5号窗口")[0]) == "A001 → 3号窗口\nB002 → 5号窗口"


# --- stream decoder -------------------------------------------------------------------------------------------
PING = proto.encode_frame(proto.Frame(dst=1, src=0x8000, data=proto.ping().encode()))


def _bad_crc(frame: bytes) -> bytes:
    return frame[:-3] + bytes([frame[-3] ^ 0x01]) + frame[-2:]


@pytest.mark.parametrize(
    ("stream", "frames", "bad", "garbage"),
    [
        (PING, 1, {}, 0),
        (DOC_ACK + DOC_NACK, 2, {}, 0),
        (b"\x00\x13\x37" + PING, 1, {}, 3),
        (PING[:15] + PING, 1, {"partial": 1}, 0),  # cut off mid-frame, then a whole one
        (_bad_crc(PING) + PING, 1, {"crc": 1}, 0),
        (PING[:-1] + b"\xa6\x09\x5a" + PING, 1, {"escape": 1}, 0),
        (b"\xa5\xa5\x5a" + PING, 1, {"short": 1}, 0),
        (PING + b"\x5a\x5a" + PING, 2, {}, 2),
        (bytes(40) + DOC_DYNAMIC + bytes(3), 1, {}, 43),
    ],
    ids=["one", "ack-nack", "garbage-first", "partial", "bad-crc", "bad-escape", "empty", "stray-ends", "padded"],
)
def test_decoder_resyncs(stream: bytes, frames: int, bad: dict[str, int], garbage: int) -> None:
    for chunking in (len(stream), 1, 7):
        dec = proto.FrameDecoder()
        got = []
        for i in range(0, len(stream), chunking):
            got += dec.feed(stream[i : i + chunking])
        assert len(got) == frames, chunking
        assert dec.stats.bad == bad
        assert dec.stats.garbage_bytes == garbage


def test_decoder_overflow_then_recovers() -> None:
    dec = proto.FrameDecoder(max_len=64)
    assert dec.feed(b"\xa5" + bytes(range(1, 90)) * 2 + b"\x5a") == []
    assert dec.stats.bad == {"overflow": 1}
    assert len(dec.feed(PING)) == 1


def test_decoder_reports_rejected_packets() -> None:
    dec = proto.FrameDecoder()
    dec.feed(_bad_crc(PING))
    rejected = dec.take_rejected()
    assert [r for r, _ in rejected] == ["crc"] and rejected[0][1][:2] == b"\x01\x00"
    assert dec.take_rejected() == []


@given(st.binary(max_size=400))
def test_decoder_never_raises_on_noise(noise: bytes) -> None:
    dec = proto.FrameDecoder()
    dec.feed(noise)
    # whatever came before, a clean frame after a fresh preamble decodes
    assert dec.feed(PING)[-1].data == proto.ping().encode()


def test_wire_time() -> None:
    assert proto.wire_seconds(60, 9600) == pytest.approx(0.0625)
    assert proto.wire_seconds(96, 57600) == pytest.approx(0.01667, rel=1e-3)
