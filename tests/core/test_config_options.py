"""One schema: for every documented option a bad value (out of range, wrong type, bad choice, a rule broken) and an
unknown option beside it are refused by `hall check-config` and by `hall run server` alike — exit 2, one message
naming the file, the section, the option and the line — and never reach a traceback (exit 1)."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import inspect as mi

from kiosk.cli import ROLES, main
from kiosk.schema import field_info, reference, tables
from sync.settings import SyncSettings

ROOT = Path(__file__).resolve().parents[2]

# A valid hall using every table; each case changes one value in it.
BASE: dict[str, Any] = {
    "hall": {"id": "opt-hall", "name": "选项测试中心", "region": "510104000"},
    "rules": {"recall_cap": 3},
    "businesses": [{"code": "social", "prefix": "A", "name": "社保"},
                   {"code": "tax", "prefix": "C", "name": "税务", "days": "all"}],
    "windows": [{"number": 1, "businesses": ["social"]}, {"number": 2, "combined": True}],
    "calendar": {"overrides": "holidays.txt"},
    "cases": {"rectify_days": 7},
    "retention": {"personal_days": 180},
    "sync": {"host": "127.0.0.1", "enabled": False},
    "lan": {"host": "127.0.0.1", "enabled": False, "clients": {"kiosk1": "kiosk"}},
    "web": {"public_base_url": "http://192.168.20.2:8080", "enabled": False},
    "devices": {
        "p1": {"kind": "printer", "url": "sim://opt-p1"},
        "led1": {"kind": "led", "url": "sim://opt-led1", "window": 1},
        "ev1": {"kind": "evaluator", "url": "sim://opt-ev1", "keypads": {"1": 1}},
        "ev2": {"kind": "evaluator", "url": "sim://opt-ev2", "keypads": [{"address": 2, "window": 2}]},
        "v1": {"kind": "voice", "sink": "file:///tmp/hall-opt-voice"},
        "id1": {"kind": "idcard", "url": "sim://opt-id1"},
        "sc1": {"kind": "scanner", "url": "sim://opt-sc1"},
    },
}
# Where each documented table sits in BASE, and the section its errors name.
WHERE: dict[str, tuple[tuple[str | int, ...], str]] = {
    "[hall]": (("hall",), "hall"),
    "[rules]": (("rules",), "rules"),
    "[[businesses]]": (("businesses", 0), "businesses[0]"),
    "[[windows]]": (("windows", 0), "windows[0]"),
    "[calendar]": (("calendar",), "calendar"),
    "[cases]": (("cases",), "cases"),
    "[retention]": (("retention",), "retention"),
    "[sync]": (("sync",), "sync"),
    "[lan]": (("lan",), "lan"),
    "[web]": (("web",), "web"),
    "[devices.NAME]": (("devices", "p1"), "devices.p1"),
    '[devices.NAME] kind = "printer"': (("devices", "p1"), "devices.p1"),
    '[devices.NAME] kind = "led"': (("devices", "led1"), "devices.led1"),
    '[devices.NAME] kind = "evaluator"': (("devices", "ev1"), "devices.ev1"),
    '[devices.NAME] kind = "voice"': (("devices", "v1"), "devices.v1"),
    '[devices.NAME] kind = "idcard"': (("devices", "id1"), "devices.id1"),
    '[devices.NAME] kind = "scanner"': (("devices", "sc1"), "devices.sc1"),
    "[devices.NAME] keypads = [ {…} ]": (("devices", "ev2", "keypads", 0), "devices.ev2.keypads[0]"),
}
# Values of the right type that break a rule only the section's check knows.
RULES: dict[tuple[str, str], list[Any]] = {
    ("[hall]", "timezone"): ["Mars/Olympus"],
    ("[hall]", "languages"): [["zh", "fr"], ["bo", "ug"]],  # an unknown code; no 中文 to fall back to
    ("[hall]", "notices"): [{"fr": "avis"}, {"zh": "公告"}, {"bo": " "}],
    ("[[businesses]]", "names"): [{"fr": "sécu"}, {"zh": "社保"}, {"ug": ""}],
    ("[[businesses]]", "guide_titles"): [{"fr": "guide"}, {"ii": " "}],
    ("[[businesses]]", "hours"): [["9-17"], ["12:00-08:00"], []],
    ("[[businesses]]", "days"): [[]],
    ("[[windows]]", "businesses"): [["nope"], []],
    ("[calendar]", "overrides"): ["missing.txt", "bad-holidays.txt"],
    ("[sync]", "ca_file"): ["missing.pem"],
    ("[sync]", "password"): ["secret"],  # without a username
    ("[sync]", "backoff_min"): [50.0],  # above backoff_max
    ("[lan]", "clients"): [{"kiosk1": "root"}, {"bad id!": "kiosk"}],
    ("[web]", "public_base_url"): ["ftp://hall", "http://大厅", "192.168.20.2:8080"],
    ("[web]", "cert_file"): ["missing.pem"],
    ("[web]", "key_file"): ["missing.pem"],
    ('[devices.NAME] kind = "printer"', "url"): [
        "ftp://x", "serial:///dev/ttyUSB0?baud=fast", "tcp://host:99999", "sim://p?faults=fire@1", "sim://p?bogus=1"],
    ('[devices.NAME] kind = "printer"', "qr_url"): ["https://x/{ticket}", "https://x/排队",
                                                    "{public_base_url}/t/{token}"],  # [web] is not enabled
    ('[devices.NAME] kind = "led"', "url"): ["file:///tmp/x", "serial:///dev/ttyS0?baud=115200", "tcp://h"],
    ('[devices.NAME] kind = "led"', "window"): [7],
    ('[devices.NAME] kind = "evaluator"', "url"): ["sim://e?auto_key=x"],
    ('[devices.NAME] kind = "evaluator"', "model"): ["acme-9"],
    ('[devices.NAME] kind = "evaluator"', "keypads"): [{"0": 1}, {"1": 7}, {}],
    ("[devices.NAME] keypads = [ {…} ]", "model"): ["acme-9"],
    ('[devices.NAME] kind = "voice"', "sink"): ["hdmi"],
    ('[devices.NAME] kind = "voice"', "player"): ["vlc"],
    ('[devices.NAME] kind = "voice"', "template"): ["请{number}号"],
    ('[devices.NAME] kind = "idcard"', "url"): ["file:///tmp/x", "sim://i?card=nobody", "sim://i?faults=fire"],
    ('[devices.NAME] kind = "scanner"', "url"): ["file:///tmp/x", "sim://s?scan_after=x", "sim://s?beep=1"],
    ('[devices.NAME] kind = "scanner"', "prefix"): ["前缀", "#\r"],
    ('[devices.NAME] kind = "scanner"', "window"): [7],
}


def out_of_type(node: mi.Type) -> list[Any]:
    """Bad values from the declared type alone: past each bound first, then a value of the wrong type."""
    while isinstance(node, mi.Metadata):
        node = node.type
    if isinstance(node, mi.UnionType):
        members = [t for t in node.types if not isinstance(t, mi.NoneType)]
        return out_of_type(members[0]) if len(members) == 1 else [3.5]
    if isinstance(node, mi.IntType | mi.FloatType):
        step = 1 if isinstance(node, mi.IntType) else 0.5
        bounds = [node.le + step] if node.le is not None else []
        bounds += [node.ge - step] if node.ge is not None else ([node.gt] if node.gt is not None else [])
        if isinstance(node, mi.IntType) and node.multiple_of:
            bounds.append((node.ge or 0) + 1)
        return [*bounds, "x"]
    if isinstance(node, mi.BoolType):
        return ["yes"]
    if isinstance(node, mi.StrType):
        return ["!" if node.pattern else "", 5] if node.pattern or node.min_length else [5]
    if isinstance(node, mi.LiteralType):
        return ["no-such-choice" if isinstance(node.values[0], str) else 999]
    return [5]  # lists and tables


def cases() -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for t in tables():
        # [lan] documents only what it adds to [sync]; its inherited options are refused in [lan] too
        names = (*msgspec.structs.fields(SyncSettings), *t.fields) if t.title == "[lan]" else t.fields
        for name in (n if isinstance(n, str) else n.name for n in names):
            rules = RULES.get((t.title, name), RULES.get(("[sync]", name), []) if t.title == "[lan]" else [])
            for value in [*out_of_type(field_info(t.struct, name).type), *rules]:
                out.append((t.title, name, value))
        out.append((t.title, f"{t.fields[0]}_typo", 1))  # an unknown option beside the real ones
    return out


CASES = cases()


def test_every_table_has_a_place_and_every_rule_an_option() -> None:
    assert {t.title for t in tables()} == set(WHERE)
    documented = {(t.title, n) for t in tables() for n in t.fields}
    assert set(RULES) <= documented
    assert documented <= {(title, name) for title, name, _ in CASES}


# --- a small TOML writer (tomllib only reads) --------------------------------------------------------------------
def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def to_toml(d: dict[str, Any]) -> str:
    lines: list[str] = []

    def table(header: str, body: dict[str, Any], subtables: tuple[str, ...] = ()) -> None:
        lines.append(header)
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in body.items()
                     if not (k in subtables and isinstance(v, dict)))
        for k in subtables:
            if isinstance(body.get(k), dict):
                table(f"[{header.strip('[]')}.{k}]", body[k])
        lines.append("")

    for name, body in d.items():
        if isinstance(body, list):
            for item in body:
                table(f"[[{name}]]", item)
        elif name == "devices":
            for dev, section in body.items():
                table(f"[devices.{dev}]", section)
        else:
            table(f"[{name}]", body, ("clients",))
    return "\n".join(lines)


def write_hall(tmp: Path, d: dict[str, Any]) -> Path:
    (tmp / "holidays.txt").write_text("2026-10-09 closed  # typhoon\n2026-10-10 open\n", encoding="utf-8")
    (tmp / "bad-holidays.txt").write_text("2026-10-09 shut\n", encoding="utf-8")
    path = tmp / "hall.toml"
    path.write_text(to_toml(d), encoding="utf-8")
    return path


def with_value(title: str, option: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    node: Any = d
    for step in WHERE[title][0]:
        node = node[step]
    node[option] = value
    return d


def refusals(path: Path, db: Path, capsys: pytest.CaptureFixture[str], role: str = "server") -> tuple[str, str]:
    """check-config's and `hall run ROLE`'s message, both asserted to exit 2 before anything is started."""
    assert main(["check-config", str(path)]) == 2
    checked = capsys.readouterr().err
    assert main(["run", role, "--config", str(path), "--db", str(db)]) == 2
    served = capsys.readouterr().err
    assert not db.exists()  # refused while loading: no store, no device, no link was opened
    return checked, served


def test_the_base_hall_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(write_hall(tmp_path, BASE))]) == 0
    assert "配置有效" in capsys.readouterr().out


@pytest.mark.parametrize(("title", "option", "value"), CASES, ids=[f"{t} {o}={v!r}" for t, o, v in CASES])
def test_check_config_and_run_server_refuse_alike(title: str, option: str, value: Any, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write_hall(tmp_path, with_value(title, option, value))
    checked, served = refusals(path, tmp_path / "hall.db", capsys)
    assert checked == served
    section = WHERE[title][1]
    shown = section if not (title == "[lan]" and isinstance(value, dict)) else "lan.clients"
    msg = checked.strip()
    assert msg.startswith(f"配置错误: {path}: option '"), msg
    assert f"[{shown}]" in msg, msg
    named = re.search(r"option '([^']+)'", msg)
    assert named is not None and named.group(1) == (next(iter(value)) if shown == "lan.clients" else option), msg
    line = re.search(r"\(line (\d+)\)$", msg)
    assert line is not None, msg
    text = path.read_text(encoding="utf-8").splitlines()[int(line.group(1)) - 1]
    assert named.group(1) in text, (msg, text)


def test_every_role_refuses_as_check_config_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_hall(tmp_path, with_value('[devices.NAME] kind = "led"', "url", "serial:///dev/ttyS0?baud=1"))
    for role in ROLES:
        checked, served = refusals(path, tmp_path / f"{role}.db", capsys, role)
        assert checked == served and "option 'url' in section [devices.led1]" in checked


def test_docs_list_every_option_as_the_schema_declares_it() -> None:
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert reference() in doc, "docs/config.md is out of date: python -m kiosk.schema prints its tables"
    for t in tables():
        for name in t.fields:
            assert f"| `{name}` |" in doc


# --- the exit code itself, through a real process ----------------------------------------------------------------
def _hall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)


@pytest.mark.parametrize("broken", ["not-utf8", "missing-overrides", "bad-device-url", "missing-file"])
def test_a_process_exits_2_with_the_message_never_a_traceback(broken: str, tmp_path: Path) -> None:
    path = write_hall(tmp_path, BASE)
    if broken == "not-utf8":
        path.write_bytes(path.read_bytes().replace("选项测试中心".encode(), "选项测试中心".encode("gb18030")))
    elif broken == "missing-overrides":
        (tmp_path / "holidays.txt").unlink()
    elif broken == "bad-device-url":
        path = write_hall(tmp_path, with_value('[devices.NAME] kind = "printer"', "url", "tcp://printer:port"))
    else:
        path = tmp_path / "nowhere.toml"
    checked = _hall("check-config", str(path))
    served = _hall("run", "server", "--config", str(path), "--db", str(tmp_path / "hall.db"))
    for p in (checked, served):
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert checked.stderr == served.stderr and checked.stderr.startswith("配置错误: ")
    assert not (tmp_path / "hall.db").exists()


def test_a_screen_with_a_bad_lan_client_file_exits_2(tmp_path: Path) -> None:
    client = tmp_path / "client.toml"
    client.write_bytes('hall_id = "大厅"\nclient_id = "board1"\n'.encode("gb18030"))
    p = _hall("run", "board", "--lan", str(client), "--db", str(tmp_path / "hall.db"))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith(f"配置错误: {client}: not UTF-8 text")
