"""The hall board in a bilingual hall: a call said in two languages at once, the other words turning through the
board's languages, what the hall keeps in Chinese said as it is, nothing stale in any language."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from kiosk.strings import STRINGS, isolate
from kiosk.ui.board import BoardScreen
from kiosk.ui.client import HallClient
from tests.conftest import FakeClock
from tests.ui.checks import shown

HALL = """
[hall]
id = "bilingual"
name = "喀什市政务服务中心"
region = "653101000"
notice = "请保管好随身物品"
notices = { ug = "نەرسە-كېرەكلىرىڭىزنى ئاسراڭ" }
languages = ["ug", "zh"]

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
names = { ug = "ئىجتىمائىي سۇغۇرتا" }

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
names = { ug = "باج" }

[[windows]]
number = 1
businesses = ["social"]

[[windows]]
number = 2
name = "综合窗口"
businesses = ["social", "tax"]
"""


@pytest.fixture
def ug_hall(tmp_path: Path, clock: FakeClock) -> Iterator[Hall]:
    store = Store(tmp_path / "ug.db")
    hall = Hall(loads(HALL), store, clock=clock)
    for w in (1, 2):
        hall.sign_in(w, f"c{w}", f"职员{w}")
    yield hall
    store.close()


@pytest.fixture
def ug_client(ug_hall: Hall, qtbot: Any) -> Iterator[HallClient]:
    c = HallClient(ug_hall, heartbeat_s=0)
    yield c
    c.close()


def ug(key: str, **params: Any) -> str:
    return STRINGS[key]["ug"].format(**{k: isolate(v) for k, v in params.items()})


def test_a_call_is_said_in_both_languages_and_the_words_take_turns(qtbot, ug_client, ug_hall: Hall) -> None:
    ug_hall.issue_ticket("social")
    ug_hall.issue_ticket("tax")
    b = shown(qtbot, BoardScreen(ug_client), 1920, 1080)
    assert b.langs == ["ug", "zh"] and b.lang == "ug"  # the hall's order: Uyghur first
    ug_hall.call_next(1)
    qtbot.waitUntil(lambda: "A001" in b.new_banner.text())
    assert b.new_banner.text().endswith(ug("board_call_n", number="A001", n=1))
    assert b.new_banner2.text() == "请 A001 号到 1号窗口 办理" and b.new_banner2.property("lang") == "zh"
    assert [h.text() for h in b.col_heads] == [STRINGS[k]["ug"] for k in ("board_number", "board_window",
                                                                         "board_business")]
    assert b.rows[0][3].text() == "ئىجتىمائىي سۇغۇرتا" and b.notice.text() == "نەرسە-كېرەكلىرىڭىزنى ئاسراڭ"
    b.next_language()  # the turn: Chinese words, the call now in Chinese first and Uyghur under it
    assert b.lang == "zh" and b.rows[0][3].text() == "社保" and b.notice.text() == "请保管好随身物品"
    assert "请 A001 号到 1号窗口 办理" in b.new_banner.text()
    assert b.new_banner2.text() == ug("board_call_n", number="A001", n=1)


def test_the_words_turn_by_themselves(qtbot, ug_client) -> None:
    b = shown(qtbot, BoardScreen(ug_client, turn_s=0.1), 1366, 768)
    seen = {b.lang}
    qtbot.waitUntil(lambda: seen.add(b.lang) or seen == {"ug", "zh"}, timeout=2000)


def test_a_window_with_its_own_name_and_a_typed_pause_reason_stay_as_the_hall_wrote_them(qtbot, ug_client,
                                                                                          ug_hall: Hall) -> None:
    ug_hall.issue_ticket("tax")
    b = shown(qtbot, BoardScreen(ug_client), 1920, 1080)
    ug_hall.call_next(2)
    qtbot.waitUntil(lambda: "C001" in b.new_banner.text())
    assert b.new_banner.text().endswith(ug("board_call_named", number="C001", name="综合窗口"))
    ug_hall.finish_service(2)
    ug_hall.pause(2, "午休")
    ug_hall.pause(1, "去档案室调档")
    qtbot.waitUntil(lambda: b.paused_label.isVisible() and "\n" in b.paused_label.text())
    assert f"{STRINGS['window_n']['ug'].format(n=isolate(1))} (去档案室调档)" in b.paused_label.text()
    assert f"综合窗口 ({STRINGS['pause_lunch']['ug']})" in b.paused_label.text()  # a preset reason: translated
    assert b.new_banner.text() == STRINGS["board_welcome"]["ug"]


def test_stale_is_said_in_the_language_shown(qtbot, ug_client) -> None:
    b = shown(qtbot, BoardScreen(ug_client), 1920, 1080)
    b.last_heard -= 45
    b._every_second()
    assert b.stale and STRINGS["board_stale"]["ug"] in b.stale_label.text()
    assert "\u2068" in b.stale_label.text() and "连接" not in b.stale_label.text()
    b.next_language()
    assert "综合屏与叫号系统的连接已中断" in b.stale_label.text() and "叫号信息暂停显示" in b.stale_label.text()


def test_a_chinese_only_board_has_one_line_and_no_turns(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    b = shown(qtbot, BoardScreen(client, languages=["zh"]), 1920, 1080)
    hall.call_next(1)
    qtbot.waitUntil(lambda: "A001" in b.new_banner.text())
    assert not b.new_banner2.isVisible() and not b.turn.isActive()


def test_the_boards_own_languages(qtbot, client) -> None:
    """`hall run board --lang ii` in a hall of four languages: Yi and Chinese only."""
    b = shown(qtbot, BoardScreen(client, languages=["ii"]), 1920, 1080)
    assert b.langs == ["ii", "zh"] and b.lang == "ii" and b.new_banner2.property("lang") == "zh"
