"""docs/cases.md and the code check each other: every [cases] option, event kind and refusal key is documented."""
from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kiosk.core import cases as C
from kiosk.core import holidays as H
from kiosk.core import rectify as R
from kiosk.core.errors import HallError

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("option", [f.name for f in msgspec.structs.fields(C.CaseSettings)])
def test_every_option_is_documented(option: str) -> None:
    assert f"{option} =" in DOC


@pytest.mark.parametrize("kind", [v for m in (C, R, H) for k, v in vars(m).items() if k.isupper()
                                  and isinstance(v, str) and v.split(".")[0] in ("case", "rectification",
                                                                                 "calendar", "evaluation")
                                  and "." in v])
def test_every_event_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in DOC


@pytest.mark.parametrize("err", [v for m in (C, R, H) for v in vars(m).values() if isinstance(v, type)
                                 and issubclass(v, HallError) and v is not HallError
                                 and v.__module__ in (C.__name__, R.__name__, H.__name__)])
def test_every_refusal_key_is_documented(err: type[HallError]) -> None:
    assert f"`{err.key}`" in DOC


@pytest.mark.parametrize("status", list(C.STATUS_LABELS.values()))
def test_every_status_is_documented(status: str) -> None:
    assert status in DOC


@pytest.mark.parametrize("label", [*R.STAGES.values(), *R.STEPS.values(), *R.OUTCOMES.values()])
def test_every_rectification_stage_step_and_outcome_is_documented(label: str) -> None:
    assert label in DOC
