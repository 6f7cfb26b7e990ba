"""The printed ticket says the estimated wait the kiosk shows (ticket.issued's wait_s), read back from the simulated
printer; a ticket with no estimate (no window open) prints no guess."""
from __future__ import annotations

from devices.printer import layout
from devices.printer.layout import Profile, TicketOptions
from devices.printer.sim import SimPrinter, example_payload


def lines(payload: dict) -> list[str]:
    p = SimPrinter("estimate-test", {})
    p.feed(layout.ticket_bytes(payload, TicketOptions(), Profile()))
    assert len(p.tickets) == 1 and p.unknown == 0
    return p.tickets[0].lines()


def test_the_estimate_is_printed_under_the_people_ahead() -> None:
    printed = lines({**example_payload("A023"), "wait_s": 1710.0})
    ahead = printed.index("您前面还有 12 人等候")
    assert printed[ahead + 1] == "预计等候约 28 分钟"


def test_no_estimate_no_line() -> None:
    for payload in (example_payload("A023"), {**example_payload("A023"), "wait_s": None}):
        assert not any("预计等候" in line for line in lines(payload))
