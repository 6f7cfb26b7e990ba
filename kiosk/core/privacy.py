"""Privacy on public surfaces: ID numbers are validated, hashed with a key, and only ever shown masked."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any

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
    if len(p) == 13 and p.startswith("86"):
        p = p[2:]  # +86 138…: the country code is not part of the number
    return p[:3] + "****" + p[-4:] if len(p) >= 11 else "*" * len(p)


def id_hash(key: bytes, id_number: str) -> str:
    """Keyed hash for the one-open-ticket rule: equal IDs match, yet the clear number is never stored."""
    return hmac.new(key, normalize_id(id_number).encode(), hashlib.sha256).hexdigest()


# --- personal data in what is kept for diagnosis (dead letters, logs) ---------------------------------------------
# A refused message or an error text is kept for staff to look at, never with a clear ID number, phone or name in
# it: fields are masked by name, and any ID or mobile number left anywhere is masked by its shape.  The shapes stop
# only at digits, so an ID glued to letters ("身份证510104…", "sfz510104…") is still caught.
_ID_IN_TEXT = re.compile(
    r"(?<!\d)(?:\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx]"  # GB 11643 (18), as typed with or without separators
    r"|\d{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![\dXx])"  # first-generation 15-digit ID
)
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d[ -]?\d{4}[ -]?\d{4})(?!\d)")
_ID_KEYS = frozenset({
    "id_number", "idnumber", "id_no", "idno", "id_card", "idcard", "applicant_id", "citizen_id", "cert_no",
    "certno", "sfzh", "zjhm", "身份证", "身份证号", "身份证号码", "证件号", "证件号码",
})
_PHONE_KEYS = frozenset({
    "phone", "mobile", "tel", "telephone", "applicant_phone", "contact_phone", "sjhm", "lxdh", "手机", "手机号",
    "手机号码", "电话", "联系电话",
})
_NAME_KEYS = frozenset({
    "applicant_name", "citizen_name", "person_name", "contact_name", "holder_name", "xm", "sqrxm", "姓名",
    "申请人姓名",
})
# inside one of these, plain "name", "id" and "number" are the person's
_PERSON_KEYS = frozenset({"applicant", "citizen", "person", "contact", "holder", "申请人", "办事人"})
_MAX_DEPTH = 64  # deeper JSON is scrubbed as text rather than walked (no recursion limit to trip over)
# key: value or key=value in text; a key starts after a delimiter and values are bounded, so a hostile payload
# (a long run of digits, an unclosed string) cannot make the scan slow
_PAIR = re.compile(
    r"""(?<![^\s{}\[\],;&(])(["']?)([^\s"'{}\[\],:=&;]{1,40})\1\s*[:=]\s*"""
    r"""("(?:[^"\\\n]|\\.){0,256}(?:"|\Z)|'[^'\n]{0,256}(?:'|\Z)|[^\s,;&}\]"']{1,256})"""  # a cut-off value too
)


def _field_kind(key: str, person: bool) -> str | None:
    k = key.strip().lower().replace("-", "_")
    if k in _ID_KEYS or k.endswith(("id_number", "idnumber", "id_card", "idcard")):
        return "id"
    if person and k in ("id", "number"):
        return "id"
    if k in _PHONE_KEYS or k.endswith(("_phone", "_mobile", "_tel")):
        return "phone"
    if k in _NAME_KEYS or (person and k == "name"):
        return "name"
    return None


def _mask(kind: str, value: str) -> str:
    if kind == "id":
        return mask_id(value)
    if kind == "phone":
        if "*" in value and sum(c.isdigit() for c in value) <= 7:
            return value  # already masked (138****5678): masking again would only lose the digits kept
        return mask_phone(value)
    return mask_name(value)


def scrub_text(text: str) -> str:
    """Free text (an error, a log line, a message that is not JSON) with personal fields masked by name
    (`applicant_name: 张*三`) and any ID or mobile number masked by shape (5101**********1234, 138****5678)."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), _scrub_pairs(text))
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(1)), text)


def _scrub_pairs(text: str) -> str:
    """`"applicant_name": "张小三"`, `phone=138…` in text that is not JSON (cut short, broken, form-encoded)."""

    def one(m: re.Match[str]) -> str:
        kind = _field_kind(m.group(2), False)
        if kind is None:
            return m.group(0)
        v = m.group(3)
        q = v[0] if v[:1] in ("'", '"') else ""
        closed = q != "" and len(v) >= 2 and v.endswith(q)
        inner = v[1:-1] if closed else v[len(q):]
        return m.group(0)[: m.start(3) - m.start(0)] + q + _mask(kind, inner) + (q if closed else "")

    return _PAIR.sub(one, text)


class _TooDeep(Exception):
    pass


def _walk(v: Any, kind: str | None, person: bool, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if isinstance(v, dict):
        inner = person or (kind == "person")
        out: dict[str, Any] = {}
        for k, x in v.items():
            key = scrub_text(str(k))
            sub = _field_kind(key, inner) or ("person" if key.strip().lower() in _PERSON_KEYS else None)
            out[key] = _walk(x, sub, inner, depth + 1)
        return out
    if isinstance(v, list):
        return [_walk(x, kind, person, depth + 1) for x in v]
    if v is None or isinstance(v, bool):
        return v
    if kind in ("id", "phone", "name", "person"):
        return _mask("name" if kind == "person" else kind, str(v))  # "applicant": "张小三" is a name
    s = v if isinstance(v, str) else str(v)
    clean = scrub_text(s)
    return clean if clean != s or isinstance(v, str) else v  # a number shaped like an ID becomes masked text


def _as_text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")  # what a Chinese vendor system may send instead of UTF-8
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def scrub_payload(raw: bytes | str) -> str:
    """A message fit to keep for diagnosis: JSON is walked (personal fields masked by name, IDs and mobile
    numbers by shape) and written back; anything else (not JSON, cut short, too deep) is scrubbed as text."""
    text = _as_text(raw)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return scrub_text(text)
    try:
        return json.dumps(_walk(doc, None, False, 0), ensure_ascii=False, separators=(",", ":"))
    except (_TooDeep, RecursionError, ValueError):
        return scrub_text(text)


class ScrubLogFilter(logging.Filter):
    """Masks ID and mobile numbers in a record (message, arguments and traceback) before any handler sees it.
    Attach it to a logger whose messages may quote what a citizen or a central system sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # exc_info goes: a handler formatting it again would print the clear exception message
            record.exc_text, record.exc_info = scrub_text(record.exc_text), None
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True
