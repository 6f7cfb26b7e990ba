"""Table tests for the ESC/POS byte layer: status replies per printer, text encoding rules, the tokenizer."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import HealthState
from devices.printer import proto
from devices.printer.proto import Align, Command, Cut


# --- status bytes: one row per reply seen or specified ---------------------------------------------------------
@pytest.mark.parametrize(
    ("offline", "paper", "error", "state", "reason"),
    [
        (0x12, 0x12, None, HealthState.OK, ""),  # Epson ESC/POS reference: idle, paper present
        (0x12, 0x1E, None, HealthState.DEGRADED, "打印纸将用完"),  # both near-end bits (Epson)
        (0x12, 0x16, None, HealthState.DEGRADED, "打印纸将用完"),  # clone setting only bit 2 of the near-end pair
        (0x32, 0x7E, None, HealthState.OFFLINE, "打印机缺纸"),  # paper end: stopped (n=2 bit 5) + sensor bits 5-6
        (0x12, 0x72, None, HealthState.OFFLINE, "打印机缺纸"),  # sensor says out, printer not stopped yet
        (0x12, 0x32, None, HealthState.OFFLINE, "打印机缺纸"),  # clone setting only bit 5 of the paper-end pair
        (0x16, 0x12, None, HealthState.OFFLINE, "打印机上盖打开"),  # cover open (n=2 bit 2)
        (0x36, 0x7E, None, HealthState.OFFLINE, "打印机上盖打开"),  # cover open wins: it is what to fix first
        (0x52, 0x12, 0x1A, HealthState.OFFLINE, "打印机切刀故障"),  # error flagged, n=3 bit 3 autocutter
        (0x52, 0x12, 0x32, HealthState.OFFLINE, "打印机故障"),  # error flagged, n=3 bit 5 unrecoverable
        (0x52, 0x12, None, HealthState.OFFLINE, "打印机故障"),  # error flagged, n=3 not read
    ],
)
def test_status_classification(offline: int, paper: int, error: int | None, state: HealthState, reason: str) -> None:
    st_ = proto.parse_status(offline, paper, error)
    assert st_.classify() == (state, reason)
    assert st_.needs_attention == (state is HealthState.OFFLINE)


@pytest.mark.parametrize(
    ("byte", "ok"),
    [(0x12, True), (0x7E, True), (0x16, True), (0x00, False), (0xFF, False), (0x13, False), (0x92, False),
     (0x02, False), (0x10, False)],
)  # fmt: skip
def test_status_byte_fixed_bits(byte: int, ok: bool) -> None:
    assert proto.is_status_byte(byte) is ok


def test_status_request_bytes() -> None:
    assert proto.status_request(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError):
        proto.status_request(5)


# --- text ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ch", "gb18030", "gbk"),
    [
        ("A", True, True),
        ("中", True, True),
        ("，", True, True),  # full-width comma: python-escpos 3.1 sends '?' when no Han character is in the string
        ("：", True, True),
        ("【", True, True),
        ("ཀ", False, False),  # Tibetan: four bytes in GB18030, not in printer fonts
        ("ئ", False, False),  # Uyghur (Arabic script)
        ("ꆈ", False, False),  # Yi
        ("ᠮ", False, False),  # Mongolian
        ("㐀", False, False),  # CJK extension A: four bytes in GB18030, missing from most printer fonts
        ("😀", False, False),
        ("\x1b", False, False),  # a control character in a name would become a command
        ("\n", False, False),
    ],
)
def test_printable_char(ch: str, gb18030: bool, gbk: bool) -> None:
    assert proto.printable_char(ch, "gb18030") is gb18030
    assert proto.printable_char(ch, "gbk") is gbk


def test_full_width_punctuation_alone_is_encoded_not_questioned() -> None:
    assert proto.encode_text("，：（）") == "，：（）".encode("gb18030")
    assert b"?" not in proto.encode_text("，：（）")


def test_encode_text_refuses_what_the_font_lacks() -> None:
    with pytest.raises(ValueError, match="raster"):
        proto.encode_text("不动产 ས་ཆ")


@pytest.mark.parametrize(("text", "cells"), [("A001", 4), ("户籍", 4), ("您前面还有 3 人", 15), ("，", 2)])
def test_display_width(text: str, cells: int) -> None:
    assert proto.display_width(text) == cells


# --- builders --------------------------------------------------------------------------------------------------
def test_size_uses_gs_bang_which_enlarges_chinese() -> None:
    assert proto.size(1, 1) == b"\x1d!\x00"
    assert proto.size(4, 4) == b"\x1d!\x33"
    assert proto.size(2, 1) == b"\x1d!\x10"
    with pytest.raises(ValueError):
        proto.size(9, 1)


@pytest.mark.parametrize(
    ("mode", "feed", "expected"),
    [(Cut.PARTIAL, 0, b"\x1dVB\x00"), (Cut.FULL, 10, b"\x1dVA\x0a"), (Cut.NONE, 5, b"")],
)
def test_cut_mode_is_what_was_asked(mode: Cut, feed: int, expected: bytes) -> None:
    assert proto.cut(mode, feed) == expected


def test_align_bytes() -> None:
    assert [proto.align(a) for a in Align] == [b"\x1ba\x00", b"\x1ba\x01", b"\x1ba\x02"]


def test_qr_store_and_print() -> None:
    cmds, tail = proto.tokenize(proto.qr("https://x.cn/t/1", module=5, ec="Q"))
    assert tail == b""
    assert [c.name for c in cmds] == ["GS ( k"] * 5
    assert [c.args[1] for c in cmds] == [65, 67, 69, 80, 81]
    assert cmds[1].data == b"\x05" and cmds[2].data == b"\x32"
    assert cmds[3].data == b"0https://x.cn/t/1"


def test_raster_bands() -> None:
    bits = bytes(range(256)) * 3  # 8 bytes wide x 96 rows
    data = proto.raster(bits, 8, 96, band_rows=40)
    cmds, tail = proto.tokenize(data)
    assert tail == b""
    assert [c.name for c in cmds] == ["GS v 0"] * 3
    assert [c.args[3] for c in cmds] == [40, 40, 16]
    assert b"".join(c.data for c in cmds) == bits
    with pytest.raises(ValueError):
        proto.raster(b"\x00" * 7, 8, 1)


# --- tokenizer -------------------------------------------------------------------------------------------------
SAMPLE = (
    proto.INIT + proto.CHINESE_ON + proto.align(Align.CENTER) + proto.size(2, 2) + proto.encode_text("户籍业务")
    + b"\n" + proto.raster(b"\xff" * 16, 2, 8) + proto.qr("https://a.cn/1") + proto.status_request(2)
    + proto.feed(3) + proto.cut(Cut.PARTIAL)
)  # fmt: skip


def test_tokenize_sample() -> None:
    cmds, tail = proto.tokenize(SAMPLE)
    assert tail == b""
    names = [c.name for c in cmds]
    assert names[:5] == ["ESC @", "FS &", "ESC a", "GS !", "text"]
    assert cmds[4] == Command("text", data="户籍业务".encode("gb18030"))
    assert names[5:] == ["LF", "GS v 0", *["GS ( k"] * 5, "DLE EOT", "ESC d", "GS V"]


@given(st.lists(st.integers(0, len(SAMPLE)), max_size=6))
@settings(max_examples=200, deadline=None)
def test_tokenize_any_split_gives_the_same_commands(cuts: list[int]) -> None:
    """Bytes arrive in arbitrary chunks from a serial port; commands must come out the same."""
    whole, _ = proto.tokenize(SAMPLE)
    got: list[Command] = []
    tail = b""
    edges = [0, *sorted(cuts), len(SAMPLE)]
    for a, b in itertools.pairwise(edges):
        cmds, tail = proto.tokenize(tail + SAMPLE[a:b])
        got += cmds
    assert tail == b""
    merged: list[Command] = []
    for c in got:  # a text run split by a chunk edge comes out as two runs: join them to compare
        if merged and c.name == "text" and merged[-1].name == "text":
            merged[-1] = Command("text", data=merged[-1].data + c.data)
        else:
            merged.append(c)
    assert merged == whole


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_tokenize_never_raises_and_never_loses_bytes(data: bytes) -> None:
    cmds, tail = proto.tokenize(data)
    assert len(tail) <= len(data)
    assert all(isinstance(c, Command) for c in cmds)


def test_unknown_escape_is_skipped_not_fatal() -> None:
    cmds, tail = proto.tokenize(b"\x1b\xeeAB\n")
    assert tail == b""
    assert [c.name for c in cmds] == ["unknown", "text", "LF"]
    assert cmds[1].data == b"AB"
