"""`hall run ROLE --lang`: each screen built as the command builds it speaks the language asked, and a language the
hall does not offer is refused before any window opens."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.ui.app import build_role
from kiosk.ui.client import HallClient


def test_each_screen_takes_its_language(qtbot, client: HallClient) -> None:
    caller = build_role("caller", client, window=1, lang="ug")
    evaluator = build_role("evaluator", client, window=1, lang="bo")
    board = build_role("board", client, lang="ii")
    dashboard = build_role("dashboard", client, lang="ug")
    for screen in (caller, evaluator, board, dashboard):
        qtbot.addWidget(screen)
    assert caller.lang == "ug" and evaluator.home_lang == "bo" and dashboard.lang == "ug"  # type: ignore[attr-defined]
    assert board.langs == ["ii", "zh"]  # type: ignore[attr-defined]


def test_without_a_language_the_staff_screens_speak_chinese_and_the_board_all_the_halls(qtbot, client) -> None:
    board = build_role("board", client)
    caller = build_role("caller", client, window=1)
    for screen in (board, caller):
        qtbot.addWidget(screen)
    assert caller.lang == "zh"  # type: ignore[attr-defined]
    assert board.langs == client.config.hall.languages  # type: ignore[attr-defined]


def test_a_language_the_hall_does_not_offer_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import SMALL_CONFIG

    path = tmp_path / "hall.toml"
    path.write_text(SMALL_CONFIG.replace('region = "510104000"', 'region = "510104000"\nlanguages = ["zh", "bo"]'),
                    encoding="utf-8")
    assert main(["run", "board", "--config", str(path), "--db", str(tmp_path / "h.db"), "--lang", "ug"]) == 2
    assert "--lang ug" in capsys.readouterr().err
