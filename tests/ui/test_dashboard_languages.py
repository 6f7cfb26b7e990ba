"""The manager's dashboard in a bilingual hall's languages (`hall run dashboard --lang`): its words from the string
table, the hall's records said in the language (a preset 差评 reason, a device's own words), its data as it is."""
from __future__ import annotations

from PySide6.QtWidgets import QTableWidget

from kiosk.core.hall import Hall
from kiosk.strings import STRINGS, isolate
from kiosk.ui.dashboard import DashboardScreen
from tests.ui.checks import shown


def headers(t: QTableWidget) -> list[str]:
    return [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]


def column(t: QTableWidget, c: int) -> list[str]:
    return [t.item(r, c).text() for r in range(t.rowCount()) if t.item(r, c)]


def test_a_uyghur_dashboard(qtbot, client, hall: Hall) -> None:
    hall.sign_in(1, "c01", "王晓明")
    hall.issue_ticket("social")
    hall.call_next(1)
    hall.start_service(1)
    t = hall.finish_service(1).value
    hall.rate(t["id"], "very_dissatisfied", reason="办事流程繁琐", text="材料要交三次")
    hall.report_device_health("printer1", "printer", "degraded", "打印机缺纸")
    d = shown(qtbot, DashboardScreen(client, lang="ug"), 1920, 1080)
    qtbot.waitUntil(lambda: d.bad_table.rowCount() == 1)
    assert headers(d.bad_table) == [STRINGS[k]["ug"] for k in ("col_number", "col_window", "col_level", "col_reason",
                                                                 "col_comment")]
    assert column(d.bad_table, 2) == [STRINGS["level_very_dissatisfied"]["ug"]]
    assert column(d.bad_table, 3) == [STRINGS["reason_process"]["ug"]]  # the province's words, said in Uyghur
    assert column(d.bad_table, 4) == ["材料要交三次"]  # the citizen's own words, as typed
    assert STRINGS["dev_printer_paper_out"]["ug"] in column(d.device_table, 3)
    assert d.kpis["sync"].text() == STRINGS["sync_off"]["ug"]
    assert d.tabs.tabText(0) == STRINGS["dash_overview"]["ug"]
    assert d.tabs.count() > 3  # Uyghur: one box a page, even on a 1920×1080 monitor
    assert column(d.window_table, 0)[0] == STRINGS["window_n"]["ug"].format(n=isolate(1))


def test_set_language_back_to_chinese(qtbot, client, hall: Hall) -> None:
    d = shown(qtbot, DashboardScreen(client, lang="bo"), 1920, 1080)
    assert d.tabs.count() > 3
    d.set_language("zh")
    assert d.tabs.count() == 4  # 运行概况, 电子监察, 人员, 报表: four boxes a page again
    assert d.tabs.tabText(0) == "运行概况" and d.title.text().endswith("管理看板")
    assert headers(d.queue_table)[0] == "业务" and d.report_page.make_button.text() == "生成"
