"""The `hall` command: a simulated day, config check, export."""
from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from kiosk.cli import main


def test_simulate_prints_board_and_figures(tmp_path: Path, capsys) -> None:
    db = tmp_path / "sim.db"
    assert main(["simulate", "--db", str(db), "--hours", "3", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "正在叫号" in out and "今日统计" in out and "好差评" in out and "序号连续" in out
    from kiosk.store import Store

    c = Store(db).conn()
    n, hi = c.execute("SELECT COUNT(*), MAX(seq) FROM events").fetchone()
    assert n == hi and n > 100
    day = c.execute("SELECT local_date FROM tickets LIMIT 1").fetchone()[0]
    issued = c.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]

    out_csv = tmp_path / "export" / "day.csv"
    assert main(["export", "--db", str(db), "--from", day, "--out", str(out_csv)]) == 0
    with out_csv.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["日期", "号码"] and len(rows) == issued + 1  # tests/core/test_export.py reads it all
    assert (tmp_path / "export" / "day-ratings.csv").exists()
    out_xlsx = tmp_path / "day.xlsx"
    assert main(["export", "--db", str(db), "--from", day, "--format", "xlsx", "--out", str(out_xlsx)]) == 0
    wb = load_workbook(out_xlsx)
    assert wb["号票"].max_row == issued + 1 and wb["评价"].max_row > 1


def test_check_config(tmp_path: Path, capsys) -> None:
    assert main(["check-config", "kiosk/demo_hall.toml"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(Path("kiosk/demo_hall.toml").read_text(encoding="utf-8").replace("recall_cap", "recal_cap"),
                   encoding="utf-8")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "option 'recal_cap' is not valid in section [rules]" in err and "line" in err


def test_demo_without_display_runs_headless(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert main(["demo", "--db", str(tmp_path / "d.db"), "--hours", "1"]) == 0
    assert "没有显示器" in capsys.readouterr().out


def test_the_headless_demo_speaks_chinese_and_reuses_its_database(tmp_path: Path, capsys, monkeypatch) -> None:
    import re

    monkeypatch.chdir(tmp_path)  # the default database and the showcase's files go under ./var
    for _ in range(2):
        assert main(["demo", "--headless", "--hours", "2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "== 模拟设备 ==" in out and "评价器:" in out
    # no raw keys or English states: a refusal, a level, a device kind or state is said in Chinese
    english = ("ok", "offline", "degraded", "printer", "evaluator", "led")  # states and kinds (not device names)
    words = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", out))
    words |= {w for w in english if re.search(rf"(?<![\w/-]){w}(?![\w-])", out)}
    assert not words, words
    assert sorted(p.name for p in (tmp_path / "var").glob("*.db")) == ["simulate.db"]  # not one more per run


def test_every_log_line_is_masked_whichever_module_logged_it() -> None:
    import io
    import logging

    from kiosk.cli import setup_logging

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        setup_logging(logging.WARNING)
        setup_logging(logging.WARNING)  # twice: still one filter
        assert sum(type(f).__name__ == "ScrubLogFilter" for f in handler.filters) == 1
        logging.getLogger("sync.link").warning("bad message from %s: %s", "11010519491231002X", "13812345678")
    finally:
        root.removeHandler(handler)
    line = buf.getvalue()
    assert "bad message from" in line
    assert "11010519491231002X" not in line and "13812345678" not in line
