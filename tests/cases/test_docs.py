"""docs/cases.md and the code check each other: every [cases] option, event kind and refusal key is documented."""
from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kiosk.core import cases as C
from kiosk.core.errors import HallError

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("option", [f.name for f in msgspec.structs.fields(C.CaseSettings)])
def test_every_option_is_documented(option: str) -> None:
    assert f"{option} =" in DOC


@pytest.mark.parametrize("kind", [v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)
                                  and (v.startswith("case.") or v.startswith("rectification."))])
def test_every_event_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in DOC


@pytest.mark.parametrize("err", [v for v in vars(C).values() if isinstance(v, type) and issubclass(v, HallError)
                                 and v is not HallError and v.__module__ == C.__name__])
def test_every_refusal_key_is_documented(err: type[HallError]) -> None:
    assert f"`{err.key}`" in DOC


@pytest.mark.parametrize("status", list(C.STATUS_LABELS.values()))
def test_every_status_is_documented(status: str) -> None:
    assert status in DOC
