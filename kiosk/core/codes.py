"""What a scanned code means: a ticket's QR (its status), an appointment (check-in), a case number (case lookup), a
staff badge (sign-in), or a bare code the kiosk must ask the hall about.  Pure: the screens call `classify`.

Accepted forms (docs/devices-scanner.md, "What a code means"):
- the URL printed on a ticket: a printer's `qr_url` template with {ticket_id}, {number}, {hall_id} or the phone
  page's {public_base_url} and {token} (the ticket id, then its MAC: kiosk/core/phone.py) filled in;
- ``appointment:CODE`` / ``YY:CODE``, or a URL with ``appointment=`` / ``yyh=`` (预约号) in its query;
- ``case:NO`` / ``BJ:NO``, or a URL with ``case_no=`` / ``bjbh=`` (办件编号) in its query;
- ``staff:NO`` / ``GH:NO`` (工号) on a staff badge;
- a bare code of letters, digits, ``-`` and ``_`` (4 to 50 characters): an appointment code or a case number — the
  kiosk tries check-in first, then case lookup.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

CODE_RE = re.compile(r"[A-Za-z0-9_-]{4,50}")  # GB/T 39046: a 办件编号 has up to 50 characters
TICKET_ID_RE = r"[0-9a-f]{32}"
NUMBER_RE = r"[A-Z][0-9]{3,4}"
PREFIXES = {"appointment": "appointment", "yy": "appointment", "case": "case", "bj": "case", "staff": "staff",
            "gh": "staff"}
QUERY_KEYS = {"appointment": "appointment", "yyh": "appointment", "case_no": "case", "bjbh": "case"}
MAX_CODE = 4096  # longer than any code a hall prints: refused before any parsing


class Kind(StrEnum):
    TICKET = "ticket"
    APPOINTMENT = "appointment"
    CASE = "case"
    STAFF = "staff"
    CODE = "code"  # bare: an appointment code or a case number
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Scanned:
    kind: Kind
    value: str = ""  # the appointment code, case number, staff number, ticket id or ticket number
    hall_id: str = ""  # a ticket QR's hall, when its URL says
    by_number: bool = False  # a ticket QR that names the ticket by number, not by id


def ticket_pattern(template: str) -> re.Pattern[str]:
    """A printer's `qr_url` (devices/printer/config.py) as a pattern that finds the ticket in a scanned URL."""
    out, pos = [], 0
    for m in re.finditer(r"\{(ticket_id|number|hall_id|token|public_base_url)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append({"ticket_id": f"(?P<ticket_id>{TICKET_ID_RE})", "number": f"(?P<number>{NUMBER_RE})",
                    "hall_id": r"(?P<hall_id>[^/?#&]+)", "token": f"(?P<ticket_id>{TICKET_ID_RE})[A-Za-z0-9_-]{{16}}",
                    "public_base_url": r"https?://[^\s?#]+?"}[m.group(1)])
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def ticket_patterns(templates: Iterable[str]) -> list[re.Pattern[str]]:
    return [ticket_pattern(t) for t in dict.fromkeys(templates)
            if t and ("{ticket_id}" in t or "{number}" in t or "{token}" in t)]


def classify(code: str, tickets: Iterable[re.Pattern[str]] = ()) -> Scanned:
    """The meaning of one scanned code; `tickets` are the hall's ticket QR patterns (`ticket_patterns`)."""
    text = code.strip().strip("\x00")
    if not text or len(text) > MAX_CODE:
        return Scanned(Kind.UNKNOWN)
    for p in tickets:
        m = p.fullmatch(text)
        if m:
            groups = m.groupdict()
            if groups.get("ticket_id"):
                return Scanned(Kind.TICKET, groups["ticket_id"], groups.get("hall_id") or "")
            return Scanned(Kind.TICKET, groups["number"], groups.get("hall_id") or "", by_number=True)
    head, sep, rest = text.partition(":")
    kind = PREFIXES.get(head.strip().lower()) if sep and "//" not in rest[:2] else None
    if kind is not None:
        value = rest.strip()
        return Scanned(Kind(kind), value) if CODE_RE.fullmatch(value) or (
            kind == "staff" and re.fullmatch(r"[A-Za-z0-9_-]{1,20}", value)) else Scanned(Kind.UNKNOWN)
    if "://" in text:
        query = parse_qs(urlsplit(text).query)
        for key, kind_name in QUERY_KEYS.items():
            values = query.get(key)
            if values and CODE_RE.fullmatch(values[-1]):
                return Scanned(Kind(kind_name), values[-1])
        return Scanned(Kind.UNKNOWN)
    if CODE_RE.fullmatch(text):
        return Scanned(Kind.CODE, text)
    return Scanned(Kind.UNKNOWN)


def staff_number(scanned: Scanned, code: str) -> str | None:
    """The staff number a caller takes from a scan: a badge's ``staff:`` code, or any bare code (a staff card read
    by a keyboard-wedge card reader types the card's number)."""
    if scanned.kind == Kind.STAFF:
        return scanned.value
    text = code.strip()
    if scanned.kind in (Kind.CODE, Kind.UNKNOWN) and re.fullmatch(r"[A-Za-z0-9_-]{1,20}", text):
        return text
    return None
