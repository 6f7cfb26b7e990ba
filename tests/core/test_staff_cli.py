"""`hall staff add|list|disable|reset-pin|roster` on a store like the server's: the PIN from stdin, never echoed."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from kiosk.cli import DEMO_CONFIG, main, open_hall
from kiosk.schema import load


def test_staff_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--config", str(DEMO_CONFIG), "--db", str(tmp_path / "h.db")]
    monkeypatch.setattr("sys.stdin", io.StringIO("135790\n"))
    assert main(["staff", "add", "1001", "王芳", "--card", "B77", "--pin", "-", *common]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("135790\n"))
    assert main(["staff", "add", "1001", "李雷", "--pin", "-", *common]) == 1
    assert "工号 1001 已经存在" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["staff", "add", "1002", "李雷", "--pin", "-", *common]) == 1
    assert main(["staff", "roster", "1001", "--windows", "1,2", *common]) == 0
    assert main(["staff", "roster", "1001", "--windows", "x", *common]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("246810\n"))
    assert main(["staff", "reset-pin", "1001", "--pin", "-", *common]) == 0
    assert main(["staff", "list", *common]) == 0
    out = capsys.readouterr().out
    assert "1001  王芳  窗口人员  在用  窗口 1号、2号  业务 全部  工作证 已登记" in out
    assert "135790" not in out and "246810" not in out
    hall = open_hall(load(DEMO_CONFIG), tmp_path / "h.db")
    try:
        hall.sign_in_staff(1, "B77", "246810")
        assert hall.window(1)["clerk_id"] == "1001"
    finally:
        hall.store.close()
    assert main(["staff", "disable", "1001", *common]) == 0
    assert main(["staff", "list", *common]) == 0
    assert "已停用" in capsys.readouterr().out
    assert main(["staff", "disable", "9999", *common]) == 1
