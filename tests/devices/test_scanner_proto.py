"""Table tests for serial-mode scanner framing: prefix, AIM identifier, data, suffix; and the decoder's refusals.

Where the framing comes from (docs/devices-scanner.md links them):
  [HH3220]  Handheld 3220 User Guide p. 3-24 "Serial Interface Control": STX, preamble, prefix, symbol ID, data,
            suffix, postamble, ETX, record suffix (None, CR, LF, CRLF, TAB, SPACE, EOT, one user character)
  [SP1800]  Intermec ScanPlus 1800 Installation Manual p. 54: [preamble] [symbology id] <data> [postamble]; AIM
            identifiers such as ]A0 for Code 39
  [ESEEK]   e-Seek M310 manual, "Prefix / Suffix Setup": PREFIX=, SUFFIX=, SUFFCR=1 adds CR; the AIM ID is added at
            the end of the prefix
  [LXE]     LXE Bluetooth Ring Scanner Guide, "Transmit AIM Code ID Character": ]cm = flag ], code character, modifier
"""
from __future__ import annotations

import pytest

from devices.scanner import proto
from devices.scanner.proto import Decoder, Framing, FramingError, Scan

QR = "https://zwfw.example.gov.cn/q/510104/0f3a9c1e2b7d4e5f8a6b1c2d3e4f5a6b"


@pytest.mark.parametrize(("case", "framing", "symbology", "wire"), [
    ("factory default: data + CR [HH3220 record suffix CR]", Framing(), "]Q1", b"YY1001\r"),
    ("CR LF suffix [HH3220 CRLF]", Framing(suffix=b"\r\n"), "]Q1", b"YY1001\r\n"),
    ("TAB suffix [HH3220 TAB]", Framing(suffix=b"\t"), "]Q1", b"YY1001\t"),
    ("STX ... ETX CR [HH3220 STX/ETX + record suffix]", Framing(prefix=b"\x02", suffix=b"\x03\r"), "]Q1",
     b"\x02YY1001\x03\r"),
    ("prefix then AIM ID [ESEEK: AIM ID at the end of the prefix; LXE ]cm]", Framing(prefix=b"#", aim=True), "]C0",
     b"#]C0YY1001\r"),
    ("AIM ID without prefix [SP1800 [symbology id] <data>]", Framing(aim=True), "]Q1", b"]Q1YY1001\r"),
])
def test_encode_and_decode_round_trip(case: str, framing: Framing, symbology: str, wire: bytes) -> None:
    assert proto.encode("YY1001", framing, symbology) == wire, case
    dec = Decoder(framing)
    assert dec.feed(wire) == [Scan("YY1001", symbology if framing.aim else "")], case
    assert dec.pending == 0


def test_chinese_content_in_either_encoding() -> None:
    for enc in proto.ENCODINGS:
        f = Framing(encoding=enc)
        assert Decoder(f).feed(proto.encode("办件SB2026", f)) == [Scan("办件SB2026")]


@pytest.mark.parametrize(("case", "framing", "chunks", "codes", "counts"), [
    ("two codes in one read", Framing(), [b"A1\rB2\r"], ["A1", "B2"], {}),
    ("one code split across reads", Framing(), [b"https://zw", b"fw\r"], ["https://zwfw"], {}),
    ("CR LF into a CR-configured host: the LF is not a code", Framing(), [b"A1\r\nB2\r\n"], ["A1", "B2"], {}),
    ("a bare suffix (trigger, no read)", Framing(), [b"\r"], [], {"empty": 1}),
    ("another prefix than configured", Framing(prefix=b"#"), [b"*A1\r", b"#B2\r"], ["B2"], {"bad_prefix": 1}),
    ("noise before the prefix is garbage", Framing(prefix=b"#"), [b"\xff#A1\r"], ["A1"], {"garbage": 1}),
    ("a cut-off message before a full one (prefix resyncs)", Framing(prefix=b"#"), [b"#YY10#B2\r"], ["B2"],
     {"garbage": 5}),
    ("AIM configured, none sent", Framing(aim=True), [b"A1\r", b"]Q1B2\r"], ["B2"], {"bad_aim": 1}),
    ("not UTF-8 (a GB18030 scanner on a UTF-8 config)", Framing(), ["办件\r".encode("gb18030"), b"B2\r"], ["B2"],
     {"bad_encoding": 1}),
    ("longer than max_length, then a good one", Framing(max_length=16), [b"x" * 40, b"x" * 40 + b"\rB2\r"], ["B2"],
     {"overflow": 1}),
])
def test_decoder(case: str, framing: Framing, chunks: list[bytes], codes: list[str], counts: dict[str, int]) -> None:
    dec = Decoder(framing)
    got: list[str] = []
    for c in chunks:
        got += [s.code for s in dec.feed(c)]
    assert got == codes, case
    expected = {"scans": len(codes), "garbage": 0, "bad_prefix": 0, "bad_aim": 0, "bad_encoding": 0, "overflow": 0,
                "cut_off": 0, "empty": 0, **counts}
    assert dec.counters() == expected, case


def test_a_cut_off_code_is_dropped_when_the_line_goes_quiet() -> None:
    dec = Decoder(Framing())
    assert dec.feed(QR.encode()[:20]) == []
    assert dec.expire() == 20
    assert dec.feed(b"B2\r") == [Scan("B2")]
    assert dec.counters()["cut_off"] == 1


@pytest.mark.parametrize(("prefix", "suffix", "message"), [
    ("", "", "suffix must not be empty"),
    ("前", "\r", "prefix must be ASCII"),
    ("#\r", "\r", "must not contain the suffix"),
])
def test_framings_a_scanner_cannot_have(prefix: str, suffix: str, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        Framing.from_text(prefix, suffix)
