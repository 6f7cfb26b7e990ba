"""packaging/README.md and the kiosk-session README name every unit, role, conffile and build option."""
from __future__ import annotations

import re

import pytest

from tests.packaging.contract import PACKAGING, SCREEN_ROLES, TIMER_SOURCES, UNIT_SOURCES

README = (PACKAGING / "README.md").read_text(encoding="utf-8")
SESSION_README = (PACKAGING / "kiosk-session" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("unit", sorted({**UNIT_SOURCES, **TIMER_SOURCES}))
def test_every_unit_is_documented(unit: str) -> None:
    assert unit in README


@pytest.mark.parametrize("role", SCREEN_ROLES)
def test_every_screen_role_has_its_machine(role: str) -> None:
    assert f"hall-screen@{role}.service" in README


def test_every_build_option_is_documented() -> None:
    usage = (PACKAGING / "build-deb.sh").read_text()
    options = set(re.findall(r"^\s+(--[a-z-]+)\)", usage, re.M))
    assert options == {"--no-deps", "--out", "--python", "--revision"}
    for option in options:
        assert option in README


def test_every_shipped_etc_file_is_documented() -> None:
    for path in ("/etc/hall/hall.toml", "/etc/default/hall-screen", "/etc/default/hall-central",
                 "/etc/pam.d/hall-screen", "/etc/mosquitto/conf.d/hall-edge.conf.example",
                 "/lib/udev/rules.d/60-hall-edge.rules"):
        assert path in README


def test_session_readme_explains_the_choice_and_the_kiosk_concerns() -> None:
    for topic in ("cage", "PAMName", "getty", "Blanking", "Cursor", "Restart=always", "hall-kiosk"):
        assert topic in SESSION_README
