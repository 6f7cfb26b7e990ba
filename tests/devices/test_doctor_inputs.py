"""`hall doctor --test-read`: both input kinds listed with their state, one card or scan read from each and shown
masked, a device that read nothing within the wait said and counted in the exit code."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.idcard import sim as idcard_sim
from devices.idcard.sim import CARDS
from devices.scanner import sim as scanner_sim
from devices.supervisor import Supervisor, doctor
from kiosk.cli import main
from kiosk.core.hall import Hall
from kiosk.schema import loads
from tests.conftest import SMALL_CONFIG

DEVICES = """
[devices.id1]
kind = "idcard"
url = "sim://doctor-id1?card=demo"

[devices.id2]
kind = "idcard"
url = "sim://doctor-id2"

[devices.sc1]
kind = "scanner"
url = "sim://doctor-sc1?scan=YY1001&scan_after=0.3"
"""


@pytest.fixture(autouse=True)
def _forget_sims() -> Iterator[None]:
    yield
    for name in ("doctor-id1", "doctor-id2"):
        idcard_sim.forget(name)
    scanner_sim.forget("doctor-sc1")


def test_doctor_lists_both_kinds_and_reads_one_card_or_scan_each() -> None:
    lines: list[str] = []
    code = doctor(loads(SMALL_CONFIG + DEVICES, "doctor.toml"), test_read=True, read_wait=3.0, settle=0.5,
                  out=lines.append)
    text = "\n".join(lines)
    assert code == 1, text  # id2 had no card within the wait
    card = CARDS["demo"]
    assert f"测试读卡 id1: {card.id_number[:4]}**********{card.id_number[-4:]} 欧**华 有效期至 2040-05-01" in text
    assert "测试扫码 sc1: YY1001（6 个字符）" in text
    assert "测试读取 id2: 3 秒内没有读到" in text
    assert card.id_number not in text and card.name not in text
    table = [line.split() for line in lines if line.startswith(("id1", "id2", "sc1"))]
    assert [(row[0], row[1], row[2]) for row in table] == [("id1", "idcard", "ok"), ("id2", "idcard", "ok"),
                                                           ("sc1", "scanner", "ok")]


def test_doctor_without_test_read_only_lists_the_state() -> None:
    lines: list[str] = []
    assert doctor(loads(SMALL_CONFIG + DEVICES, "doctor.toml"), settle=0.5, out=lines.append) == 0
    assert not any(line.startswith("测试") for line in lines)


def test_the_cli_takes_test_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(SMALL_CONFIG + DEVICES.replace("[devices.id2]\nkind = \"idcard\"\nurl = \"sim://doctor-id2\"\n",
                                                   ""), encoding="utf-8")
    assert main(["doctor", "--config", str(path), "--test-read", "--read-wait", "5"]) == 0
    out = capsys.readouterr().out
    assert "测试读卡 id1:" in out and "测试扫码 sc1:" in out


def test_the_hall_server_leaves_input_devices_to_their_screens(hall: Hall) -> None:
    """A card read on the server would have no screen to go to: `hall run server` drives the rest only."""
    hall.config.devices.update({
        "p1": {"kind": "printer", "url": "sim://server-p1"},
        "id1": {"kind": "idcard", "url": "sim://server-id1"},
        "sc1": {"kind": "scanner", "url": "sim://server-sc1"},
    })
    sup = Supervisor.from_config(hall)
    assert set(sup.drivers) == {"p1"}
    assert sup.inputs() == []
