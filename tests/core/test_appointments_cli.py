"""`hall appointments list|slots|book|cancel` for the service desk, on a store like the server's."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli import main
from tests.conftest import SMALL_CONFIG, make_id


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    cfg = tmp_path / "hall.toml"
    cfg.write_text(SMALL_CONFIG, encoding="utf-8")
    return str(cfg), str(tmp_path / "hall.db")


def test_book_list_and_cancel(files: tuple[str, str], capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, db = files
    common = ["--config", cfg, "--db", db]
    # 税务 opens every day around the clock: tomorrow's 10:00 is bookable whenever the test runs
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)).isoformat()
    assert main(["appointments", "slots", "tax", *common]) == 0
    assert f"{tomorrow}  " in capsys.readouterr().out
    me = make_id(17)
    monkeypatch.setattr("sys.stdin", io.StringIO(me + "\n"))  # --id-number -: read, never echoed nor in history
    assert main(["appointments", "book", "tax", tomorrow, "10:00", "--id-number", "-", "--name", "王小明",
                 *common]) == 0
    out = capsys.readouterr().out
    code = out.split("已预约 ")[1].split("：")[0]
    assert f"税务 {tomorrow} 10:00-10:30" in out and me not in out
    assert main(["appointments", "book", "tax", tomorrow, "10:00", "--id-number", me, *common]) == 1
    assert "尚未使用" in capsys.readouterr().err  # one open booking per ID per business
    assert main(["appointments", "list", "--date", tomorrow, *common]) == 0
    listing = capsys.readouterr().out
    assert code in listing and "已预约" in listing and "王*明" in listing and me[-4:] in listing
    assert me not in listing and "服务台" in listing
    assert main(["appointments", "cancel", code, *common]) == 0
    assert "已取消" in capsys.readouterr().out
    assert main(["appointments", "cancel", code, *common]) == 1
    assert "没有找到这个预约" in capsys.readouterr().err
    assert main(["appointments", "list", "--date", tomorrow, "--status", "cancelled", *common]) == 0
    assert code in capsys.readouterr().out


def test_refusals_and_bad_arguments(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = files
    common = ["--config", cfg, "--db", db]
    far = (date.today() + timedelta(days=40)).isoformat()
    assert main(["appointments", "book", "tax", far, "10:00", *common]) == 1
    assert "只能预约最近 5 个办理日" in capsys.readouterr().err
    assert main(["appointments", "book", "tax", "tomorrow", "10:00", *common]) == 2
    assert "参数不正确" in capsys.readouterr().err
    assert main(["appointments", "slots", "nope", *common]) == 2
