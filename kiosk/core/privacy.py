"""Privacy on public surfaces: ID numbers are validated, hashed with a key, and only ever shown masked."""
from __future__ import annotations

import hashlib
import hmac
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$")


def normalize_id(id_number: str) -> str:
    return id_number.strip().replace(" ", "").upper()


def check_digit(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a GB 11643 citizen ID."""
    return _CHECK[sum(int(d) * w for d, w in zip(body17, _WEIGHTS, strict=True)) % 11]


def valid_id(id_number: str) -> bool:
    """GB 11643 citizen ID: 18 characters, the last one the check character of the first 17."""
    s = normalize_id(id_number)
    return bool(_ID18.match(s)) and check_digit(s[:17]) == s[17]


def mask_id(id_number: str) -> str:
    """5101**********1234: the first four and last four, never more."""
    s = normalize_id(id_number)
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def mask_name(name: str) -> str:
    """张*三 for three characters, 张* for two, 欧**明 for four: first and last kept only past two."""
    n = name.strip()
    if len(n) <= 1:
        return n
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_phone(phone: str) -> str:
    p = re.sub(r"\D", "", phone)
    return p[:3] + "****" + p[-4:] if len(p) >= 11 else "*" * len(p)


def id_hash(key: bytes, id_number: str) -> str:
    """Keyed hash for the one-open-ticket rule: equal IDs match, yet the clear number is never stored."""
    return hmac.new(key, normalize_id(id_number).encode(), hashlib.sha256).hexdigest()
