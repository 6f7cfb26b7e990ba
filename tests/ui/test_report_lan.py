"""The 报表 page on a LAN dashboard (HallClient over RemoteHall): the hall server computes the report, the page fills
its table and writes the same files as on the hall's own PC; a manager signs in first once the hall has accounts;
an older server, without report.build, is said, not raised."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kiosk.core.report import report_for
from kiosk.core.report_files import write_csv
from kiosk.ui.client import HallClient
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.report_page import ReportPage, ReportUnavailable, make_report
from sync.lan import RemoteHall
from tests.sync.conftest import broker_factory  # noqa: F401  (the sync tests' own mosquitto)
from tests.sync.test_lan import Lan, broker, hall, lan  # noqa: F401  (its hall, broker and LAN fixtures)
from tests.sync.test_lan_report import DAY1, DAY2, PIN, accounts, drive
from tests.ui.checks import preview_pages, shown


@pytest.fixture
def lan_client(lan: Lan, qtbot: object) -> Iterator[tuple[HallClient, RemoteHall]]:  # noqa: F811
    drive(lan)
    lan.server(clients={"dash1": "dashboard"})
    remote = lan.remote("dash1")
    c = HallClient(remote, heartbeat_s=0)
    yield c, remote
    c.close()


def test_the_page_fills_its_table_from_the_hall_server(qtbot, lan: Lan, lan_client: tuple[HallClient, RemoteHall],  # noqa: F811
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _remote = lan_client
    page = shown(qtbot, ReportPage(client), 1366, 700)
    page.set_range(DAY1, DAY2)
    page.set_choice("window", "csv")
    assert page.generate(tmp_path / "lan.csv") == tmp_path / "lan.csv"
    assert page.table.rowCount() == 3  # two windows and the hall
    assert [page.table.item(r, 0).text() for r in range(3)] == ["1号窗口", "2号窗口", "全厅合计"]
    total = [page.table.item(2, c).text() for c in range(page.table.columnCount())]
    assert total[:5] == ["全厅合计", "5", "4", "1", "1"]
    assert "已生成" in page.status.text() and page.status.property("role") != "alert"
    want = write_csv(report_for(lan.hall, DAY1, DAY2, "window"), tmp_path / "hall.csv")
    assert (tmp_path / "lan.csv").read_bytes() == want.read_bytes()  # the hall's own file, byte for byte
    page.set_choice("day", "pdf")
    assert page.generate(tmp_path / "lan.pdf") and (tmp_path / "lan.pdf").stat().st_size > 0
    assert [page.table.item(r, 0).text() for r in range(page.table.rowCount())] == [
        "2026-11-24 周二", "2026-11-25 周三", "全厅合计"]
    pages = preview_pages(qtbot, page, monkeypatch)
    assert pages and pages[0] >= 1


def test_a_lan_dashboard_makes_reports_once_a_manager_signs_in(qtbot, lan: Lan,  # noqa: F811
                                                               lan_client: tuple[HallClient, RemoteHall],
                                                               tmp_path: Path) -> None:
    client, remote = lan_client
    accounts(lan)
    d = shown(qtbot, DashboardScreen(client), 1366, 768)
    d._check_accounts()
    page = d.report_page
    d.tabs.setCurrentWidget(page)
    assert not page.make_button.isEnabled() and page.lock_note.isVisible()  # greyed until a manager signs in
    page.allowed = True  # were the page's lock bypassed, the hall server still refuses
    page.set_range(DAY1, DAY2)
    page.set_choice("business", "csv")
    assert page.generate(tmp_path / "x.csv") is None and not (tmp_path / "x.csv").exists()
    assert page.status.text() == "需要负责人登录后才能生成报表" and page.status.property("role") == "alert"
    assert d.sign_in("m1", PIN) and remote.session
    assert page.make_button.isEnabled()
    assert page.generate(tmp_path / "m.csv") == tmp_path / "m.csv"
    assert page.table.rowCount() == 2 and page.table.item(1, 0).text() == "全厅合计"


def test_an_older_server_says_where_reports_are_made(qtbot, lan: Lan, tmp_path: Path) -> None:  # noqa: F811
    lan.server(clients={"dash1": "caller"})  # as a server without report.build answers: not allowed
    remote = lan.remote("dash1")
    client = HallClient(remote, heartbeat_s=0)
    try:
        with pytest.raises(ReportUnavailable):
            make_report(client, date(2026, 11, 24), date(2026, 11, 24), "business")
        page = shown(qtbot, ReportPage(client), 1366, 700)
        assert page.generate(tmp_path / "r.pdf") is None and not (tmp_path / "r.pdf").exists()
        assert "hall report" in page.status.text() and page.status.property("role") == "alert"
    finally:
        client.close()
