"""A ticket as its phone page shows it: a small record built from the ticket dict every event carries, the people
ahead and the estimated wait.  Pure, so the page, the live updates and the tests agree on one reading."""
from __future__ import annotations

from typing import Any

import msgspec

# What the page says about a ticket; "moved" is a waiting ticket transferred to another queue.
STATES = ("waiting", "moved", "called", "serving", "held", "done", "no_show", "voided", "expired")


class TicketView(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    number: str
    business_name: str
    local_date: str
    ahead: int | None = None  # waiting and moved only
    wait_s: float | None = None  # None while no window is open for it
    window: int | None = None  # called, serving, held: where to go; moved: the window it was sent to
    recall: int = 0
    alert: str = ""  # "" | "near" | "call:<called_at>": the page rings once per distinct value


def ticket_view(t: dict[str, Any], *, today: str, ahead: int | None, wait_s: float | None,
                alert_ahead: int) -> TicketView:
    """`t`: the ticket dict of kiosk.core.hall (events carry it); `ahead`/`wait_s`: for a waiting ticket."""
    status = t["status"]
    base = {"number": t["number"], "business_name": t["business_name"], "local_date": t["local_date"]}
    if status == "expired" or t["local_date"] != today:
        return TicketView(state="expired", **base)
    if status == "waiting":
        moved = bool(t["target_window"] or t["called_at"])  # called once and waiting again: transferred
        near = ahead is not None and ahead <= alert_ahead
        return TicketView(state="moved" if moved else "waiting", ahead=ahead, wait_s=wait_s,
                          window=t["target_window"] if moved else None, alert="near" if near else "", **base)
    if status == "called":
        return TicketView(state="called", window=t["window"], recall=int(t["recalls"] or 0),
                          alert=f"call:{t['called_at']}:{t['recalls'] or 0}", **base)
    if status in ("serving", "held"):
        return TicketView(state=status, window=t["window"], **base)
    return TicketView(state=status if status in STATES else "done", **base)
