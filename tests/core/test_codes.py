"""Table tests for what a scanned code means (kiosk/core/codes.py): ticket QRs built from the printers' `qr_url`,
appointment and case forms, staff badges, bare codes, and what is refused."""
from __future__ import annotations

import pytest

from kiosk.core.codes import Kind, Scanned, classify, staff_number, ticket_patterns

TID = "0f3a9c1e2b7d4e5f8a6b1c2d3e4f5a6b"
# the demo hall's printer template (kiosk/demo_hall.toml) and one that names the ticket by number
PATTERNS = ticket_patterns(["https://zwfw.example.gov.cn/q/{hall_id}/{ticket_id}",
                            "https://hall.example.gov.cn/t?n={number}&h={hall_id}", ""])


@pytest.mark.parametrize(("code", "expect"), [
    (f"https://zwfw.example.gov.cn/q/510104/{TID}", Scanned(Kind.TICKET, TID, "510104")),
    (f"  https://zwfw.example.gov.cn/q/510104/{TID}\r\n", Scanned(Kind.TICKET, TID, "510104")),
    ("https://hall.example.gov.cn/t?n=A012&h=510104", Scanned(Kind.TICKET, "A012", "510104", by_number=True)),
    ("appointment:YY1001", Scanned(Kind.APPOINTMENT, "YY1001")),
    ("YY:806512", Scanned(Kind.APPOINTMENT, "806512")),
    ("https://zwfw.example.gov.cn/yy/checkin?yyh=806512&from=app", Scanned(Kind.APPOINTMENT, "806512")),
    ("case:SB20261124000123", Scanned(Kind.CASE, "SB20261124000123")),
    ("BJ:W-0001", Scanned(Kind.CASE, "W-0001")),
    ("https://zwfw.example.gov.cn/bj/query?bjbh=11510104MB0000000X2026", Scanned(Kind.CASE,
                                                                                "11510104MB0000000X2026")),
    ("staff:c01", Scanned(Kind.STAFF, "c01")),
    ("GH:0158", Scanned(Kind.STAFF, "0158")),
    ("YY1001", Scanned(Kind.CODE, "YY1001")),
    ("806512", Scanned(Kind.CODE, "806512")),
    ("DEMO20261124001", Scanned(Kind.CODE, "DEMO20261124001")),
    # refused: another site's URL, a ticket URL with a malformed id, junk, too short, too long
    ("https://example.com/?q=1", Scanned(Kind.UNKNOWN)),
    ("https://zwfw.example.gov.cn/q/510104/not-a-ticket", Scanned(Kind.UNKNOWN)),
    ("hello world", Scanned(Kind.UNKNOWN)),
    ("A1", Scanned(Kind.UNKNOWN)),
    ("case:", Scanned(Kind.UNKNOWN)),
    ("case:" + "9" * 51, Scanned(Kind.UNKNOWN)),
    ("x" * 5000, Scanned(Kind.UNKNOWN)),
    ("", Scanned(Kind.UNKNOWN)),
])
def test_classify(code: str, expect: Scanned) -> None:
    assert classify(code, PATTERNS) == expect


def test_without_ticket_patterns_a_ticket_url_is_not_guessed() -> None:
    assert classify(f"https://zwfw.example.gov.cn/q/510104/{TID}").kind == Kind.UNKNOWN


@pytest.mark.parametrize(("code", "staff"), [
    ("staff:c01", "c01"), ("c01", "c01"), ("0012345678", "0012345678"), ("YY1001", "YY1001"),
    ("case:SB2026", None), ("https://example.com/x", None), ("a b", None), ("x" * 21, None),
])
def test_staff_number_from_a_badge_or_a_card_number(code: str, staff: str | None) -> None:
    assert staff_number(classify(code, PATTERNS), code) == staff
