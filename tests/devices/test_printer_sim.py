"""The simulated printer behaves like the real ones the driver must cope with."""
from __future__ import annotations

import pytest

from devices.base import TransportError, parse_url
from devices.printer import layout, proto
from devices.printer.layout import Profile, TicketOptions
from devices.printer.sim import SimLink, SimPrinter, example_payload, parse_faults, render_examples

TICKET = layout.ticket_bytes(example_payload("A001"), TicketOptions(), Profile())


def test_a_stopped_printer_keeps_the_bytes_and_prints_them_late() -> None:
    """Why the driver never sends to a stopped printer: the ticket would come out after the paper is changed."""
    p = SimPrinter("late")
    p.set_paper("out")
    p.feed(TICKET)
    assert p.tickets == [] and p.held_bytes == len(TICKET)
    p.set_paper("ok")
    assert p.held_bytes == 0
    assert "A001" in p.tickets[0].lines()


def test_status_is_answered_even_while_stopped() -> None:
    p = SimPrinter("stopped")
    p.set_cover(True)
    p.feed(proto.status_request(2) + proto.status_request(4))
    replies = p.take(2, 0.1)
    st = proto.parse_status(replies[0], replies[1])
    assert st.cover_open and not st.paper_out


@pytest.mark.parametrize(
    ("paper", "n4"),
    [("ok", 0x12), ("near_end", 0x1E), ("out", 0x7E)],
)
def test_paper_sensor_bytes(paper: str, n4: int) -> None:
    p = SimPrinter("paper")
    p.set_paper(paper)
    assert p.status_byte(4) == n4 and proto.is_status_byte(p.status_byte(2))


def test_faults_after_cuts() -> None:
    p = SimPrinter("faults", {"faults": "near_end@1,paper_out@2"})
    p.feed(TICKET)
    assert p.paper == "near_end"
    p.feed(TICKET)
    assert p.paper == "out"
    p.feed(TICKET)
    assert len(p.tickets) == 2


@pytest.mark.parametrize("spec", ["paper_out", "jam@2", "paper_out@x"])
def test_bad_fault_spec(spec: str) -> None:
    with pytest.raises(ValueError, match="sim fault"):
        parse_faults(spec)


def test_unplugged_link_raises_transport_error() -> None:
    p = SimPrinter("link")
    link = SimLink(p)
    p.unplug()
    with pytest.raises(TransportError):
        link.write(b"x")
    with pytest.raises(TransportError):
        SimLink(p)
    p.plug()
    assert SimLink(p).write(b"\x1b@") == 2


def test_open_by_url_keeps_the_device() -> None:
    from devices.printer import sim

    url = parse_url("sim://by-url?chinese=off")
    try:
        a, b = sim.open_sim(url), sim.open_sim(url)
        assert a.printer is b.printer and a.printer.chinese_default is False
    finally:
        sim.forget("by-url")


def test_garbage_bytes_do_not_stop_the_printer() -> None:
    p = SimPrinter("garbage")
    p.feed(b"\x1b\xfe\x1d\xfe\xff\x00\x1b@" + TICKET)
    assert p.unknown == 2
    assert "A001" in p.tickets[0].lines()


def test_rendered_examples(tmp_path) -> None:
    paths = render_examples(tmp_path)
    assert len(paths) == 6
    from PIL import Image

    for path in paths:
        img = Image.open(path)
        assert img.width == 576 and img.height > 400
