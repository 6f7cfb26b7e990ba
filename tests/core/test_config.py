"""Configuration: clear errors naming the option, the section and the line; docs list every option."""
from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from kiosk.core.config import Business, HallSection, Rules, Window, load, loads
from kiosk.core.errors import ConfigError
from tests.conftest import DEMO_CONFIG, SMALL_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def test_demo_config_loads() -> None:
    cfg = load(DEMO_CONFIG)
    assert cfg.hall_id == "510104-demo" and len(cfg.windows) == 8
    assert cfg.window_businesses(8) == [b.code for b in cfg.businesses]


@pytest.mark.parametrize(("edit", "option", "section"), [
    (("recall_cap = 3", "recal_cap = 3"), "recal_cap", "rules"),
    (('region = "510104000"', 'region = "5101"'), "region", "hall"),
    (("daily_cap = 5\n", "daily_cap = 5000\n"), "daily_cap", "businesses"),
    (("daily_cap = 50", 'daily_cap = "many"'), "daily_cap", "businesses"),
    (('prefix = "B"', 'prefix = "A"'), "prefix", "businesses"),
    (('hours = ["00:00-24:00"]', 'hours = ["9-17"]'), "hours", "businesses"),
    (('businesses = ["housing"]', 'businesses = ["nope"]'), "businesses", "windows"),
    (('name = "测试政务服务中心"\n', ""), "name", "hall"),
])
def test_errors_name_option_section_and_line(edit: tuple[str, str], option: str, section: str) -> None:
    text = SMALL_CONFIG.replace(*edit)
    with pytest.raises(ConfigError) as exc:
        loads(text, "hall.toml")
    err = exc.value
    assert err.option == option and err.section.split(".")[0] == section, str(err)
    assert option in str(err)
    if edit[1]:  # the error points at the very line that was edited
        lines = text.splitlines()
        assert err.line is not None and edit[1].strip() == lines[err.line - 1].strip(), str(err)


def test_bad_toml_and_bad_timezone() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        loads("[hall\n")
    with pytest.raises(ConfigError, match="unknown time zone"):
        loads(SMALL_CONFIG.replace('region = "510104000"', 'region = "510104000"\ntimezone = "Mars/Olympus"'))


def test_device_section_needs_kind() -> None:
    with pytest.raises(ConfigError, match="needs option 'kind'"):
        loads(SMALL_CONFIG + '\n[devices.led1]\nurl = "sim://led1"\n')


def test_every_option_is_documented() -> None:
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for struct in (HallSection, Rules, Business, Window):
        for f in msgspec.structs.fields(struct):
            assert re.search(rf"`{f.name}`", doc), f"option {f.name} of {struct.__name__} is not in docs/config.md"


def test_every_cli_command_is_documented() -> None:
    from kiosk.cli import COMMANDS, ROLES

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"`hall {name}" in doc, f"hall {name} is not in docs/cli.md"
    for role in ROLES:
        assert f"`{role}" in doc
