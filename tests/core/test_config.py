"""Configuration: clear errors naming the option, the section and the line; docs list every option."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from kiosk.core.config import HallConfig, load, loads
from kiosk.core.errors import ConfigError
from kiosk.core.hall import Hall
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
    assert err.option == option and re.split(r"[.\[]", err.section)[0] == section, str(err)
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
    with pytest.raises(ConfigError, match=r"option 'kind' is required in section \[devices.led1\]"):
        loads(SMALL_CONFIG + '\n[devices.led1]\nurl = "sim://led1"\n')


@pytest.mark.parametrize(("extra", "message"), [
    ("\n[ui]\ntheme = 1\n", "option 'ui' is not valid at the top level"),
    ('\nsource = "x"\n', "option 'source' is not valid at the top level"),  # filled in at load, never read
    ("\n[calendar]\nclosed = [2026-10-09]\n", "option 'closed' is not valid in section [calendar]"),
    ('\n[cases]\ncalendar_overrides = "h.txt"\n',
     "option 'calendar_overrides' is not valid in section [cases] (holiday overrides are [calendar] overrides now)"),
])
def test_what_the_file_may_not_say(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        loads(extra.lstrip("\n") + SMALL_CONFIG if extra.startswith("\nsource") else SMALL_CONFIG + extra)
    assert message in str(exc.value) and exc.value.line is not None


def test_duplicates_name_the_second_one() -> None:
    for edit, section in (('prefix = "B"', "businesses[1]"), ("number = 3", "windows[2]")):
        text = SMALL_CONFIG.replace(edit, 'prefix = "A"' if "prefix" in edit else "number = 2")
        with pytest.raises(ConfigError, match="is already used by") as exc:
            loads(text)
        assert exc.value.section == section


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(SMALL_CONFIG.encode("gb18030"))
    with pytest.raises(ConfigError, match="not UTF-8 text") as exc:
        load(gbk)
    assert exc.value.line == 4  # the hall's name, the first non-ASCII line
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "nowhere.toml")
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + SMALL_CONFIG.encode())
    assert load(bom).hall_id == "test-hall"  # Windows Notepad's UTF-8


def test_calendar_overrides_reach_the_hall(tmp_path: Path, store: Any, clock: Any) -> None:
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "h.txt").write_text("# local days\n2026-11-25 closed  # typhoon\n2026-11-28 open\n",
                                             encoding="utf-8")
    path = tmp_path / "hall.toml"
    path.write_text(SMALL_CONFIG + '\n[calendar]\noverrides = "days/h.txt"\n', encoding="utf-8")
    cfg = load(path)  # relative to the file, not to the working directory
    assert (cfg.calendar.closed, cfg.calendar.open_days) == ([date(2026, 11, 25)], [date(2026, 11, 28)])
    hall = Hall(cfg, store, clock=clock)
    assert not hall.calendar.is_working_day(date(2026, 11, 25)) and hall.calendar.is_working_day(date(2026, 11, 28))
    # a LAN screen gets the config from the server: the days travel with it
    remote = msgspec.convert(msgspec.to_builtins(cfg), HallConfig)
    assert not remote.work_calendar().is_working_day(date(2026, 11, 25))


@pytest.mark.parametrize(("content", "message"), [
    (None, "option 'overrides' in section [calendar] cannot be read"),
    ("2026-11-25 shut\n", "h.txt:1: expected 'closed' or 'open'"),
    ("2026-11-25 closed\n2026-11-25 open\n", "h.txt:2: 2026-11-25 is listed both closed and open"),
])
def test_bad_overrides_file(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "h.txt").write_text(content, encoding="utf-8")
    path = tmp_path / "hall.toml"
    path.write_text(SMALL_CONFIG + '\n[calendar]\noverrides = "h.txt"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load(path)
    assert message in str(exc.value) and exc.value.section == "calendar"
    assert exc.value.line == len(path.read_text(encoding="utf-8").splitlines())


def test_literals_agree_with_the_code_that_uses_them() -> None:
    from devices.evaluator import proto as ev_proto
    from devices.evaluator.config import EvaluatorSection
    from devices.printer import proto as pr_proto
    from devices.printer.config import PrinterSection
    from sync.lan import ROLE_METHODS
    from sync.settings import LAN_ROLES

    def choices(struct: type, name: str) -> set[Any]:
        t = next(f.type for f in msgspec.structs.fields(struct) if f.name == name)
        return set(get_args(get_args(t)[0]))  # Annotated[Literal[...], Meta]

    assert choices(PrinterSection, "encoding") == set(pr_proto.ENCODINGS)
    assert choices(PrinterSection, "cut") == {c.value for c in pr_proto.Cut}
    assert choices(EvaluatorSection, "checksum") == set(ev_proto.CHECKSUMS)
    assert set(LAN_ROLES) == set(ROLE_METHODS)


def test_every_cli_command_is_documented() -> None:
    from kiosk.cli import COMMANDS, ROLES

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"`hall {name}" in doc, f"hall {name} is not in docs/cli.md"
    for role in ROLES:
        assert f"`{role}" in doc


@pytest.mark.parametrize(("text", "option", "section", "line"), [
    ('hall_id = "h"\nclient_id = "kiosk 1"\n[lan]\nhost = "h"\n', "client_id", "", 2),
    ('hall_id = "h"\nclient_id = "k1"\n[lan]\nhost = "h"\nport = 99999\n', "port", "lan", 5),
    ('hall_id = "h"\nclient_id = "k1"\nwindow = 3\n[lan]\nhost = "h"\n', "window", "", 3),
    ('hall_id = "h"\nclient_id = "k1"\n[lan]\nhost = "h"\npassword = "p"\n', "password", "lan", 5),
])
def test_lan_client_file_through_its_schema(tmp_path: Path, text: str, option: str, section: str, line: int) -> None:
    from sync.settings import read_client_file

    f = tmp_path / "client.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        read_client_file(str(f))
    assert (exc.value.option, exc.value.section, exc.value.line) == (option, section, line), str(exc.value)
    assert str(exc.value).startswith(f"{f}: option '{option}'")
    f.write_bytes('hall_id = "大厅"\n'.encode("gb18030"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_client_file(str(f))
