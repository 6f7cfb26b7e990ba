"""Table tests for evaluator keypad frames, the resyncing decoder and the vendor key maps."""
from __future__ import annotations

import re

import pytest

from devices.evaluator import keymaps, proto
from devices.evaluator.keymaps import UNRATED, KeyMap, KeyMapError
from devices.evaluator.proto import Cmd, Decoder, Frame
from kiosk.core.rating import Level


@pytest.mark.parametrize(
    ("addr", "cmd", "data", "kind", "wire"),
    [
        # poll keypad 1: chk = 01 ^ 03 ^ 00 = 02
        (1, Cmd.POLL, b"", "xor", "02 01 03 00 02 03"),
        # prompt keypad 5 for 60 s: chk = 05 ^ 01 ^ 01 ^ 3c = 39
        (5, Cmd.PROMPT, b"\x3c", "xor", "02 05 01 01 3c 39 03"),
        # the same prompt on a sum-checksum bus: 05 + 01 + 01 + 3c = 43
        (5, Cmd.PROMPT, b"\x3c", "sum", "02 05 01 01 3c 43 03"),
        # keypad 32 reports key 4: chk = 20 ^ 82 ^ 01 ^ 04 = a7
        (32, Cmd.KEY, b"\x04", "xor", "02 20 82 01 04 a7 03"),
        # data bytes equal to STX/ETX need no escaping: the length delimits the frame
        (2, Cmd.ACK, b"\x02", "xor", "02 02 81 01 02 80 03"),
    ],
)
def test_encode_and_decode_round_trip(addr: int, cmd: int, data: bytes, kind: str, wire: str) -> None:
    raw = proto.encode(addr, cmd, data, kind)
    assert raw.hex(" ") == wire
    assert proto.decode(raw, kind) == Frame(addr, cmd, data)


@pytest.mark.parametrize(
    ("timeout", "byte"),
    [(60, 60), (0.2, 1), (1.5, 2), (1000, 255)],  # ceil to whole seconds, at least 1, kept in one byte
)
def test_prompt_timeout_byte(timeout: float, byte: int) -> None:
    assert proto.decode(proto.prompt(3, timeout)).data == bytes([byte])


@pytest.mark.parametrize(
    ("addr", "data"), [(0, b""), (33, b""), (1, bytes(17))],
)
def test_encode_rejects_what_the_bus_cannot_carry(addr: int, data: bytes) -> None:
    with pytest.raises(ValueError):
        proto.encode(addr, Cmd.POLL, data)


KEY1 = proto.encode(1, Cmd.KEY, b"\x01")
KEY2 = proto.encode(2, Cmd.KEY, b"\x02")
BAD_CHK = KEY1[:-2] + bytes([KEY1[-2] ^ 0xFF]) + KEY1[-1:]


@pytest.mark.parametrize(
    ("case", "stream", "frames", "counts"),
    [
        ("clean", KEY1 + KEY2, [(1, 1), (2, 2)], {}),
        ("line noise before a frame", b"\xff\x00\x55" + KEY1, [(1, 1)], {"garbage": 3}),
        ("noise between frames", KEY1 + b"\x13\x37" + KEY2, [(1, 1), (2, 2)], {"garbage": 2}),
        ("bad checksum dropped, next frame kept", BAD_CHK + KEY2, [(2, 2)], {"bad_checksum": 1}),
        # a keypad browned out after its length byte; the next frame starts inside the "data"
        ("cut-off frame then a good one", KEY1[:4] + KEY2, [(2, 2)], {"bad_frame": 1, "garbage": 3}),
        ("STX inside garbage with an impossible length", b"\x02\x01\x82\xf0" + KEY2, [(2, 2)],
         {"bad_frame": 1, "garbage": 3}),
        ("STX followed by address 0", b"\x02\x00" + KEY2, [(2, 2)], {"bad_frame": 1, "garbage": 1}),
        ("frame from an address not on this bus", proto.encode(9, Cmd.KEY, b"\x01") + KEY1, [(1, 1)],
         {"unknown_address": 1}),
        ("host command echoed back (no echo cancel on the adapter)", proto.poll(1) + KEY1, [(1, 1)],
         {"unknown_cmd": 1}),
        ("only garbage", b"hello world", [], {"garbage": 11}),
    ],
)
def test_stream_decoder_resyncs(case: str, stream: bytes, frames: list[tuple[int, int]],
                                counts: dict[str, int]) -> None:
    dec = Decoder(addresses=frozenset({1, 2}), accept=proto.KEYPAD_CMDS)
    got = dec.feed(stream)
    assert [(f.addr, f.data[0]) for f in got] == frames, case
    expected = {"garbage": 0, "bad_checksum": 0, "bad_frame": 0, "unknown_address": 0, "unknown_cmd": 0}
    expected.update(counts)
    c = dec.counters()
    assert {k: c[k] for k in expected} == expected, case
    assert dec.pending == 0


def test_decoder_byte_by_byte_equals_whole() -> None:
    stream = b"\x00" + KEY1 + BAD_CHK + KEY2[:3] + KEY1 + b"\xfe" + KEY2
    whole = Decoder().feed(stream)
    dec = Decoder()
    bytewise = [f for b in stream for f in dec.feed(bytes([b]))]
    assert whole == bytewise
    assert [f.addr for f in bytewise] == [1, 1, 2]


def test_partial_frame_waits_then_expires() -> None:
    dec = Decoder()
    assert dec.feed(KEY1[:5]) == []
    assert dec.pending == 5
    assert dec.expire() == 5
    assert dec.counters()["bad_frame"] == 1
    assert dec.feed(KEY2) == [Frame(2, Cmd.KEY, b"\x02")]


def test_sum_bus_rejects_xor_frames() -> None:
    dec = Decoder(checksum_kind="sum")
    assert dec.feed(proto.encode(1, Cmd.KEY, b"\x05", "xor")) == []
    assert dec.bad_checksum == 1


@pytest.mark.parametrize(
    ("request_cmd", "reply", "expected"),
    [
        (Cmd.PROMPT, Frame(1, Cmd.ACK, bytes([Cmd.PROMPT])), True),
        (Cmd.PROMPT, Frame(1, Cmd.ACK, bytes([Cmd.CLEAR])), False),  # a late ACK of the CLEAR before
        (Cmd.PROMPT, Frame(1, Cmd.STATUS, b"\x00"), False),  # a late answer to a POLL
        (Cmd.CLEAR, Frame(1, Cmd.ACK, bytes([Cmd.CLEAR])), True),
        (Cmd.CLEAR, Frame(1, Cmd.KEY, b"\x02"), False),
        (Cmd.POLL, Frame(1, Cmd.KEY, b"\x02"), True),
        (Cmd.POLL, Frame(1, Cmd.STATUS, b"\x01"), True),
        (Cmd.POLL, Frame(1, Cmd.STATUS, b""), False),  # no state byte: nothing to act on
        (Cmd.POLL, Frame(1, Cmd.ACK, bytes([Cmd.PROMPT])), False),  # the PROMPT's ACK, arriving late
    ],
)
def test_answers_matches_a_reply_to_the_frame_it_answers(request_cmd: int, reply: Frame, expected: bool) -> None:
    assert proto.answers(request_cmd, reply) is expected


# --- key maps ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "code", "outcome"),
    [
        # the field 4-key keypad of DOMAIN.md §3: 0 unrated, 1 满意, 2 一般, 3 不满意, 4 非常满意
        ("key4", 0, UNRATED),
        ("key4", 1, Level.SATISFIED),
        ("key4", 2, Level.BASIC),
        ("key4", 3, Level.DISSATISFIED),
        ("key4", 4, Level.VERY_SATISFIED),
        # GB/T 39046 A.8 order
        ("key5-gb", 1, Level.VERY_SATISFIED),
        ("key5-gb", 2, Level.SATISFIED),
        ("key5-gb", 3, Level.BASIC),
        ("key5-gb", 4, Level.DISSATISFIED),
        ("key5-gb", 5, Level.VERY_DISSATISFIED),
        # provincial-upload order, the other way round
        ("key5-rev", 1, Level.VERY_DISSATISFIED),
        ("key5-rev", 2, Level.DISSATISFIED),
        ("key5-rev", 3, Level.BASIC),
        ("key5-rev", 4, Level.SATISFIED),
        ("key5-rev", 5, Level.VERY_SATISFIED),
    ],
)
def test_every_key_of_every_model_maps_as_declared(model: str, code: int, outcome: object) -> None:
    assert keymaps.get(model).outcome(code) is outcome


def test_the_table_above_covers_every_model_and_code() -> None:
    declared = {(m.model, c) for m in keymaps.MODELS.values() for c in m.codes}
    tested = {(row[0], row[1]) for row in _rows(test_every_key_of_every_model_maps_as_declared)}
    assert declared == tested


def _rows(fn: object) -> list[tuple[object, ...]]:
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    return [tuple(r) for r in marks[0].args[1]]


@pytest.mark.parametrize(
    ("codes", "keys", "message"),
    [
        ({0, 1, 2}, {1: Level.SATISFIED, 2: Level.BASIC}, "does not map key code(s) [0]"),
        ({1}, {1: Level.SATISFIED, 7: Level.BASIC}, "cannot send"),
        ({1}, {1: "satisfied"}, "not a Level or UNRATED"),
    ],
)
def test_incomplete_or_wrong_key_map_fails_at_load(codes: set[int], keys: dict, message: str) -> None:
    with pytest.raises(KeyMapError, match=re.escape(message)):
        KeyMap("bad", "broken", frozenset(codes), keys)


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyMapError, match="key4"):
        keymaps.get("acme-9")


def test_code_outside_the_model_is_none() -> None:
    assert keymaps.get("key4").outcome(5) is None
