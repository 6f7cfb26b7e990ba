"""What the citizen's phone may reach: unguessable tokens (a ticket's, the door poster's, an appointment's), the
estimated wait, and the appointment read the phone pages use (booking and cancelling: kiosk/core/appointments.py).
Pure: no web, no clock.

Tokens are keyed hashes, never stored: the hall's secret key (the one behind the ID hash) is first narrowed to a
key of their own, so a token says nothing about an ID hash and the other way round.  A ticket's token carries the
ticket id (to find the row) followed by its MAC (to prove the hall made it); a poster's is the MAC of the local
date, so yesterday's photo of the door poster no longer takes numbers."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Any

from kiosk.core import appointments

if TYPE_CHECKING:
    from kiosk.core.hall import Hall

_CONTEXT = b"hall-edge phone pages v1"
_MAC_CHARS = 16  # 12 bytes, 96 bits, in base64url: out of reach of guessing over a hall's Wi-Fi
_TICKET_ID = re.compile(r"[0-9a-f]{32}")
_CODE = re.compile(r"[A-Za-z0-9_-]{4,50}")  # an appointment code (kiosk/core/codes.py CODE_RE)
PHONE_TERMINAL = "phone"  # the `terminal` of a ticket taken on a phone: no printer prints it
DEFAULT_SERVICE_S = 300.0  # a service time to assume before today's figures say (docs/web.md "Estimated wait")
MIN_SERVED_FOR_AVERAGE = 3  # fewer services than this: the average says more about luck than about the desk


class Tokens:
    """Makes and checks the phone pages' tokens from the hall's secret key."""

    def __init__(self, hall_key: bytes) -> None:
        self._key = hmac.new(hall_key, _CONTEXT, hashlib.sha256).digest()
        # HMAC-SHA256 (RFC 2104) with its two keyed hash states made once and copied per token — hmac.new's bytes,
        # without its key setup and wrapper objects for every ticket issued (tests/core/test_phone_tokens.py)
        block = self._key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(k ^ 0x36 for k in block))
        self._outer = hashlib.sha256(bytes(k ^ 0x5C for k in block))

    def _mac(self, kind: str, value: str) -> str:
        inner = self._inner.copy()
        inner.update(f"{kind}:{value}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        digest = outer.digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()  # 12 bytes: 16 characters, no padding

    def ticket(self, ticket_id: str) -> str:
        """The token printed in the ticket's QR: `/t/<token>`."""
        return ticket_id + self._mac("ticket", ticket_id)

    def ticket_id(self, token: str) -> str | None:
        """The ticket a token names, or None for a token the hall did not make."""
        tid, mac = token[:-_MAC_CHARS], token[-_MAC_CHARS:]
        if not _TICKET_ID.fullmatch(tid) or not hmac.compare_digest(mac, self._mac("ticket", tid)):
            return None
        return tid

    def poster(self, day: str) -> str:
        """The door poster's token for a local date (YYYY-MM-DD): `/q/<token>`."""
        return self._mac("poster", day)

    def poster_ok(self, token: str, day: str) -> bool:
        return len(token) == _MAC_CHARS and hmac.compare_digest(token, self.poster(day))

    def appointment(self, code: str) -> str:
        """The token of an appointment's own page (view, cancel): `/a/<token>`."""
        return self._mac("appointment", code) + code

    def appointment_code(self, token: str) -> str | None:
        mac, code = token[:_MAC_CHARS], token[_MAC_CHARS:]
        if not _CODE.fullmatch(code) or not hmac.compare_digest(mac, self._mac("appointment", code)):
            return None
        return code


def estimate_wait_s(ahead: int, avg_service_s: float, open_windows: int) -> float | None:
    """Seconds until the ticket is called: the people ahead plus half a service (the one at a window now) over the
    windows open for its business.  None when no window is open for it: no honest estimate exists."""
    if open_windows <= 0:
        return None
    return (ahead + 0.5) * avg_service_s / open_windows


def service_time(rows: list[dict[str, Any]], business: str, default: float = DEFAULT_SERVICE_S) -> float:
    """The average service time to plan with, from `Hall.times(by="business")`: the business's own when it has served
    enough today, else the hall's, else `default`."""
    own = next((r for r in rows if r.get("business") == business), None)
    if own and own["served"] >= MIN_SERVED_FOR_AVERAGE and own["avg_service_s"]:
        return float(own["avg_service_s"])
    served = sum(int(r["served"]) for r in rows if r["avg_service_s"])
    if served >= MIN_SERVED_FOR_AVERAGE:
        return sum(float(r["avg_service_s"]) * int(r["served"]) for r in rows if r["avg_service_s"]) / served
    return default


# --- appointments, as the phone sees them ---------------------------------------------------------------------------
def appointment(hall: Hall, code: str) -> dict[str, Any] | None:
    """An appointment without its personal fields (no ID hash, no masked ID or name): what its page may show."""
    return appointments.get(hall, code)
