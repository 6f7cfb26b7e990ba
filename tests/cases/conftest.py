"""Fixtures for case tests: a Cases module on the shared test hall, and payload helpers."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.cases import Cases
from kiosk.core.hall import Hall
from kiosk.store import Store

APPLICANT_ID = "11010519491231002X"  # GB 11643 example number (valid check digit)
APPLICANT_NAME = "张小三"
APPLICANT_PHONE = "13812345678"


def payload(case_no: str = "SB2026112400001", **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "case_no": case_no, "basic_code": "000117001000", "impl_code": "11510104MB1234567X4000117001000",
        "item_name": "城乡居民养老保险参保登记", "accept_unit": "锦江区社保局", "acceptor": "李四",
        "case_type": 2, "legal_days": 20, "promise_days": 5, "applicant_name": APPLICANT_NAME,
        "applicant_id": APPLICANT_ID, "applicant_phone": APPLICANT_PHONE, "department": "社保局", "window": 1,
        "clerk": "王五",
    }
    p.update(kw)
    return p


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Durability is tested by the core; here fsync would only make the many small cases slow."""
    s = Store(tmp_path / "cases.db", synchronous="OFF")
    yield s
    s.close()


@pytest.fixture
def cases(hall: Hall) -> Cases:
    return Cases(hall)
