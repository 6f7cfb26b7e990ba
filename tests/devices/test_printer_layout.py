"""Ticket layout, checked by feeding the bytes to the simulated printer and reading back what it printed."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from devices.printer import layout, proto
from devices.printer.layout import Profile, QrCode, Text, TicketOptions
from devices.printer.sim import SimPrinter, SimTicket, example_payload


def printed(payload: dict, opts: TicketOptions | None = None, profile: Profile | None = None,
            **sim_opts: str) -> tuple[SimPrinter, SimTicket]:
    p = SimPrinter("layout-test", sim_opts)
    p.feed(layout.ticket_bytes(payload, opts or TicketOptions(), profile or Profile()))
    assert len(p.tickets) == 1
    return p, p.tickets[0]


def _ink_centre(img: Image.Image) -> float:
    box = img.getbbox()
    assert box is not None
    return (box[0] + box[2]) / 2


def test_ticket_says_what_a_citizen_needs() -> None:
    p, t = printed(example_payload("A023"))
    lines = t.lines()
    assert lines[0] == "锦江区政务服务中心"
    assert "户籍业务" in lines
    assert "A023" in lines
    assert "您前面还有 12 人等候" in lines
    assert "请留意叫号，过号需重新取号" in lines  # full-width comma survives
    assert "取号时间：2026-11-23 09:31" in lines  # 01:31 UTC is 09:31 Beijing time
    assert t.cut == "partial"
    assert p.unknown == 0 and p.overflows == 0


def test_number_is_large_and_bold_and_chinese_is_enlarged_too() -> None:
    _, t = printed(example_payload("A023"))
    by_text = {it.text: it for it in t.text_items()}
    number = by_text["A023"].segments[0]
    assert (number.width, number.height, number.bold) == (4, 4, True)
    business = by_text["户籍业务"].segments[0]
    assert (business.width, business.height) == (2, 2)  # GS !, so the Chinese is enlarged, not only ASCII
    assert by_text["A023"].align is proto.Align.CENTER


def test_size_and_bold_do_not_leak_into_the_next_line() -> None:
    _, t = printed(example_payload())
    last = t.text_items()[-1].segments[0]
    assert (last.width, last.height, last.bold) == (1, 1, False)


def test_printer_that_needs_fs_ampersand() -> None:
    """A printer starting in single-byte mode prints GB18030 as mojibake unless FS & is sent."""
    _, good = printed(example_payload(), chinese="off")
    assert "户籍业务" in good.lines()
    _, bad = printed(example_payload(), profile=Profile(chinese_mode=False), chinese="off")
    assert "户籍业务" not in bad.lines()


def test_priority_appointment_and_masked_id() -> None:
    payload = example_payload("G005", priority="green", id_masked="5101**********1234", appointment_code="Y12345")
    _, t = printed(payload)
    lines = t.lines()
    assert "【绿色通道】" in lines
    assert "预约号：Y12345" in lines
    assert "证件号：5101**********1234" in lines


def test_an_unmasked_id_is_never_printed() -> None:
    _, t = printed(example_payload(id_masked="510104198001011234"))
    assert not any("510104198001011234" in line for line in t.lines())


def test_qr_native_raster_and_off() -> None:
    opts = TicketOptions(qr_url="https://q.example.cn/{hall_id}/{ticket_id}/{number}", hall_id="510104")
    _, native = printed(example_payload("A023"), opts)
    assert "[qr https://q.example.cn/510104/t-20261123-a023/A023]" in native.lines()
    assert "扫码查看排队进度" in native.lines()
    _, drawn = printed(example_payload("A023"), opts, Profile(qr="raster"))
    assert not any(line.startswith("[qr") for line in drawn.lines())
    qr_band = next(it.image for it in drawn.items if it.kind == "raster")
    assert qr_band is not None and _ink_centre(qr_band) == pytest.approx(288, abs=8)  # centred on 576 dots
    _, off = printed(example_payload("A023"), opts, Profile(qr="off"))
    assert not any(line.startswith(("[qr", "[raster")) for line in off.lines())


@pytest.mark.parametrize(
    "line",
    ["ལྷ་ས་གྲོང་ཁྱེར་གཞུང་ཞབས་ཞུ་ལྟེ་བ།", "ھۆكۈمەت مۇلازىمەت مەركىزى", "ꆈꌠ", "㐀字"],
)
def test_lines_the_printer_font_lacks_are_drawn(line: str) -> None:
    _, t = printed(example_payload(), TicketOptions(header=(line,)))
    lines = t.lines()
    assert lines[0] == "锦江区政务服务中心"
    assert lines[1].startswith("[raster ")  # the minority-script line, drawn
    assert "户籍业务" in lines  # everything else stays text: cheap on a 9600-baud line
    raster_items = [it for it in t.items if it.kind == "raster"]
    assert len(raster_items) == 1
    img = raster_items[0].image
    assert img is not None
    assert sum(img.histogram()[1:]) > 50  # glyphs were drawn, not an empty band
    assert img.width < 576  # the blank right-hand side is not sent
    assert _ink_centre(img) == pytest.approx(288, abs=16)  # but the line is still centred on the paper


def test_this_machine_shapes_tibetan_and_uyghur() -> None:
    """Fails where Pillow lacks raqm / FriBiDi (libfribidi0): there Tibetan stacks would be drawn side by side."""
    assert layout.complex_text_problem() is None
    f = layout.font("tibetan", 48)
    box = f.getbbox("སྒྲ")  # sa with ga and ra stacked below it: one column when shaped
    assert box[2] - box[0] <= f.getlength("སྒྲ") + 2
    u = layout.font("arabic", 48)
    joined = u.getlength("مەركىزى")
    assert joined < sum(u.getlength(ch) for ch in "مەركىزى") - 4  # joined forms, not isolated letters


def test_without_complex_text_support_a_tibetan_ticket_fails_visibly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout.features, "check", lambda name: False)
    with pytest.raises(layout.ComplexTextUnavailable, match="libfribidi0"):
        layout.draw_text("ལྷ་ས་གྲོང་ཁྱེར།", 576)
    with pytest.raises(layout.ComplexTextUnavailable):
        layout.ticket_bytes(example_payload(), TicketOptions(header=("ھۆكۈمەت مۇلازىمەت مەركىزى",)), Profile())
    assert layout.draw_text("锦江区政务服务中心 ꆈꌠ", 576).getbbox() is not None  # no shaping needed: still drawn


def test_raster_mode_sends_no_text() -> None:
    p, t = printed(example_payload(), profile=Profile(mode="raster"))
    assert all(line.startswith("[raster ") for line in t.lines())
    total_rows = sum(it.image.height for it in t.items if it.kind == "raster")  # type: ignore[union-attr]
    assert total_rows > 300
    # a full-width dot row is 72 bytes (57 KB for an 800-row ticket); each block is cut after its own ink
    assert 10 * total_rows < p.received < 72 * total_rows


def test_every_ticket_starts_clean_and_ends_with_the_cut() -> None:
    data = layout.ticket_bytes(example_payload(), TicketOptions(), Profile())
    cmds, tail = proto.tokenize(data)
    assert tail == b""
    assert [c.name for c in cmds[:2]] == ["ESC @", "FS &"]
    assert cmds[-1].name == "GS V"


@pytest.mark.parametrize("cut", [proto.Cut.FULL, proto.Cut.NONE])
def test_cut_option(cut: proto.Cut) -> None:
    p = SimPrinter("cut-test")
    p.feed(layout.ticket_bytes(example_payload(), TicketOptions(), Profile(cut=cut)))
    assert [t.cut for t in p.tickets] == (["full"] if cut is proto.Cut.FULL else [])


def test_fit_picks_the_largest_scale_that_fits() -> None:
    assert layout.fit("户籍业务", 2, 48) == [Text("户籍业务", scale=2)]
    long = "成都市武侯区政务服务中心便民服务大厅"  # 18 characters: too wide at double size
    assert layout.fit(long, 2, 48) == [Text(long, scale=1)]
    very_long = "某某" * 30
    parts = layout.fit(very_long, 2, 48)
    assert "".join(p.text for p in parts) == very_long
    assert all(proto.display_width(p.text) <= 48 and p.scale == 1 for p in parts)


def test_compose_blocks_for_qr() -> None:
    blocks = layout.compose(example_payload("A001"), TicketOptions(qr_url="https://x.cn/{number}"))
    assert QrCode("https://x.cn/A001") in blocks


@given(
    hall=st.text(alphabet="政务服务中心锦江区县乡镇便民大厅ABC12 ", min_size=1, max_size=40),
    business=st.text(alphabet="户籍社保医保不动产登记税务公积金出入境（）", min_size=1, max_size=40),
    ahead=st.integers(0, 100000),
)
@settings(max_examples=40, deadline=None)
def test_no_text_line_is_wider_than_the_paper(hall: str, business: str, ahead: int) -> None:
    """A line the printer has to wrap splits the big number or the name mid-cell."""
    payload = example_payload(business_name=business)
    payload["hall_name"], payload["ahead"] = hall, ahead
    p, _ = printed(payload)
    assert p.overflows == 0


def test_bad_timestamp_is_printed_as_given() -> None:
    _, t = printed(example_payload(issued_at="not-a-time"))
    assert "取号时间：not-a-time" in t.lines()
