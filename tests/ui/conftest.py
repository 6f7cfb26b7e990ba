"""Qt fixtures for the screens: a HallClient over the real test Hall, fonts installed, screenshots saved."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.hall import Hall
from kiosk.ui.client import HallClient
from kiosk.ui.compat import guard_singleton_refcounts
from kiosk.ui.fonts import setup_fonts

SCREENS_DIR = Path(__file__).resolve().parents[2] / "docs" / "screens"


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    guard_singleton_refcounts()  # PySide6 6.12.0 on Python 3.11 would otherwise abort the run at exit
    setup_fonts(qapp)


@pytest.fixture
def client(hall: Hall, qtbot: object) -> Iterator[HallClient]:
    c = HallClient(hall, heartbeat_s=0)
    yield c
    c.close()


@pytest.fixture
def demo_client(demo_hall: Hall, qtbot: object) -> Iterator[HallClient]:
    c = HallClient(demo_hall, heartbeat_s=0)
    yield c
    c.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[QWidget, str], QImage]:
    return lambda widget, name: _shoot(widget, name, tmp_path)


def _shoot(widget: QWidget, name: str, tmp_path: Path) -> QImage:
    """Grab a screen to PNG (under tmp_path; also into docs/screens when HALL_UPDATE_SCREENS=1)."""
    QApplication.processEvents()
    pix = widget.grab()
    assert not pix.isNull()
    assert pix.save(str(tmp_path / f"{name}.png"))
    if os.environ.get("HALL_UPDATE_SCREENS") == "1":
        SCREENS_DIR.mkdir(parents=True, exist_ok=True)
        assert pix.save(str(SCREENS_DIR / f"{name}.png"))
    img = pix.toImage()
    # a real screen, not a blank grab: several distinct colours across a coarse sample
    colours = {img.pixel(x, y) for x in range(0, img.width(), 37) for y in range(0, img.height(), 37)}
    assert len(colours) >= 3, f"{name} grabbed as a blank image"
    return img
