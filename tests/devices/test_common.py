"""The shared device checks, once per device kind."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.core.hall import Hall
from tests.devices.common import check_dead_device_never_blocks_the_hall

GONE = "serial:///dev/serial/by-id/usb-hall-test-not-plugged-in"


@pytest.mark.parametrize(("name", "section"), [
    ("printer1", {"kind": "printer", "url": GONE}),
    ("led-w2", {"kind": "led", "role": "window", "window": 2, "url": GONE}),
    ("led-hall", {"kind": "led", "role": "hall", "url": "tcp://127.0.0.1:9"}),  # nothing listens on port 9
    ("evaluator1", {"kind": "evaluator", "url": GONE, "keypads": {"1": 2}}),
    ("idcard1", {"kind": "idcard", "url": GONE}),
    ("scanner1", {"kind": "scanner", "url": GONE}),
])
def test_dead_device_never_blocks_the_hall(hall: Hall, name: str, section: dict[str, Any]) -> None:
    check_dead_device_never_blocks_the_hall(hall, name, section)


def test_voice_without_a_player_is_offline_not_blocking(hall: Hall, tmp_path: Path) -> None:
    check_dead_device_never_blocks_the_hall(
        hall, "voice", {"kind": "voice", "sink": "system", "player": ["/nonexistent/player"],
                        "clips_dir": str(tmp_path / "clips")})
