"""The phone pages' tokens are HMAC-SHA256 (RFC 2104) under the hall's narrowed key, byte for byte as hmac.new makes
them: kiosk/core/phone.py keeps the keyed hash states instead of keying hmac.new for every ticket issued."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from kiosk.core.phone import _CONTEXT, Tokens


@pytest.mark.parametrize("hall_key", [b"", b"k" * 32, b"x" * 64, b"long key " * 20])
@pytest.mark.parametrize("kind,value", [("ticket", "0" * 32), ("poster", "2026-11-24"), ("appointment", "AB12-x"),
                                        ("ticket", "身份证")])
def test_a_mac_is_hmac_sha256(hall_key: bytes, kind: str, value: str) -> None:
    key = hmac.new(hall_key, _CONTEXT, hashlib.sha256).digest()
    expected = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()[:12]
    assert Tokens(hall_key)._mac(kind, value) == base64.urlsafe_b64encode(expected).decode()


def test_tokens_round_trip() -> None:
    tokens = Tokens(b"hall secret")
    tid = "0190f3a2b4c67d8e9f00112233445566"
    token = tokens.ticket(tid)
    assert tokens.ticket_id(token) == tid
    assert tokens.ticket_id(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # a changed MAC is refused
    assert Tokens(b"another hall").ticket_id(tokens.ticket(tid)) is None
