"""The report on paper and on the dashboard: the PDF of a simulated hall day read back page by page (QtPdf renders
each page to PNG and gives its text), the print preview drawing the same pages, and the dashboard's 报表 page making
PDF, XLSX and CSV offscreen.  HALL_UPDATE_SCREENS=1 also writes page 1 to docs/screens/report_page1.png."""
from __future__ import annotations

import os
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintPreviewWidget
from PySide6.QtWidgets import QWidget

from kiosk.core.config import load
from kiosk.core.hall import Hall
from kiosk.core.report import Report, ReportRow, build_report
from kiosk.core.report_files import display
from kiosk.simulate import DaySimulator, SimClock, local_start
from kiosk.store import Store
from kiosk.ui.client import HallClient
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.report_page import ReportPage
from kiosk.ui.report_pdf import QUEUE_TABLE, print_preview, render_pages, write_pdf
from tests.conftest import DEMO_CONFIG, FakeClock
from tests.ui.checks import cut_off, preview_pages, shown
from tests.ui.conftest import SCREENS_DIR


@pytest.fixture(scope="module")
def sim_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hall, SimClock]]:
    """The demo hall's simulated day, with two windows paused for a meeting in the morning."""
    store = Store(tmp_path_factory.mktemp("sim") / "day.db", synchronous="OFF")
    clock = SimClock(FakeClock().t)
    hall = Hall(load(DEMO_CONFIG), store, clock=clock)
    start = local_start(hall)
    clock.t = start
    sim = DaySimulator(hall, clock, seed=7, arrivals_per_hour=55.0)
    sim.run_until(start + timedelta(hours=1.5))  # 08:30 → 10:00
    paused: list[int] = []
    while len(paused) < 2:  # the first two windows to fall free
        for w in hall.windows():
            if not w["current"] and w["state"] != "paused" and len(paused) < 2:
                hall.pause(w["number"], "会议")
                paused.append(w["number"])
        sim.step(10)
    sim.run_until(clock() + timedelta(minutes=30))
    for n in paused:
        hall.resume_window(n)
    sim.run_until(start + timedelta(hours=9))
    yield hall, clock
    store.close()


def day_report(hall: Hall, by: str) -> Report:
    day = date.fromisoformat(hall.today())
    return build_report(hall.store.conn(), hall.config, day, day, by, hall.clock())


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def page_text(doc: QPdfDocument, page: int) -> str:
    """The page's text layer, NFKC-folded (full-width forms and the like; the radicals QPdfWriter names for shared
    glyphs, ⼼ for 心 or ⻓ for 长, kiosk.ui.report_pdf.fix_text_layer has already put right)."""
    return nfkc(doc.getAllText(page).text())


def figures_line(row: ReportRow) -> str:
    """A row of the first table as the page prints it, figure after figure."""
    return " ".join(display(c, row) for c in QUEUE_TABLE)


def test_pdf_pages_read_back(sim_day: tuple[Hall, SimClock], tmp_path: Path, qapp: object) -> None:
    hall, _ = sim_day
    report = day_report(hall, "window")
    pdf = write_pdf(report, tmp_path / "day.pdf")
    doc = QPdfDocument()
    doc.load(str(pdf))
    assert doc.pageCount() == 3  # the two tables and the notes, then the charts
    first = page_text(doc, 0)
    t = report.total
    # the title block, the tables' words and the hall's figures as printed (text, so the CJK font is embedded)
    for said in ("锦江区政务服务中心 运行报表", f"统计日期 {report.span}", "排队与窗口", "全厅合计", "1号窗口",
                 "综合窗口", "等候P90", f"全厅合计 {figures_line(t)}",
                 f"{display(QUEUE_TABLE[4], t)}（P90 {display(QUEUE_TABLE[6], t)}）"):
        assert nfkc(said) in first, said
    assert all(figures_line(row) in first for row in report.rows)
    assert t.pause_s and "午休" not in first  # the pause counted, the reason is not a figure
    whole = " ".join(page_text(doc, i) for i in range(doc.pageCount()))
    for said in ("评价与办件", "满意率", "按时办结率", "指标说明", "最近秩法", "各时段等候时间",
                 "各窗口满意率（窗口评价，括号内为评价数）"):
        assert nfkc(said) in whole, said
    doc.close()
    pngs = render_pages(pdf, tmp_path / "page")
    assert [p.name for p in pngs] == ["page-1.png", "page-2.png", "page-3.png"]
    for png in pngs:
        img = QImage(str(png))
        assert img.width() == 1754 and abs(img.height() / img.width() - 210 / 297) < 0.01  # A4 landscape
        colours = {img.pixel(x, y) for x in range(0, img.width(), 41) for y in range(0, img.height(), 41)}
        assert len(colours) >= 4, f"{png.name} is nearly blank"
    charts = QImage(str(pngs[2]))
    bar = QColor("#0B57A4").rgb()  # the bars are drawn: their colour covers a good part of page 3
    assert sum(charts.pixel(x, y) == bar for x in range(0, charts.width(), 7) for y in range(0, charts.height(), 7)) \
        > 500
    if os.environ.get("HALL_UPDATE_SCREENS") == "1":
        shutil.copy(pngs[0], SCREENS_DIR / "report_page1.png")


@pytest.mark.parametrize("by", ["business", "clerk", "day"])
def test_every_grouping_draws(sim_day: tuple[Hall, SimClock], tmp_path: Path, by: str, qapp: object) -> None:
    hall, _ = sim_day
    report = day_report(hall, by)
    doc = QPdfDocument()
    doc.load(str(write_pdf(report, tmp_path / f"{by}.pdf")))
    text = page_text(doc, 0)
    assert f"按{report.by_label}分组" in text
    missing = [r.label for r in [*report.rows, report.total] if figures_line(r) not in text]
    assert not missing, missing
    doc.close()


def test_a_long_table_runs_over_pages(sim_day: tuple[Hall, SimClock], tmp_path: Path, qapp: object) -> None:
    """A month by day is 31 rows: the table goes on, headed again, on the next page; nothing falls off a page."""
    hall, _ = sim_day
    day = date.fromisoformat(hall.today())
    report = build_report(hall.store.conn(), hall.config, day, day, "day", hall.clock())
    many = replace(report, rows=[report.rows[0]] * 31)
    doc = QPdfDocument()
    doc.load(str(write_pdf(many, tmp_path / "long.pdf")))
    texts = [page_text(doc, i) for i in range(doc.pageCount())]
    assert doc.pageCount() >= 4 and nfkc("排队与窗口（续）") in "".join(texts)
    # every row, none lost at a page's end, and the total (one day's figures, so the same line)
    assert sum(t.count(figures_line(report.rows[0])) for t in texts) == 32
    doc.close()


def test_print_preview_draws_the_same_pages(sim_day: tuple[Hall, SimClock], qapp: object) -> None:
    hall, _ = sim_day
    report = day_report(hall, "window")
    drawn: list[int] = []

    def run(dialog: QWidget) -> None:  # the preview as shown, without waiting for a person to close it
        preview = dialog.findChild(QPrintPreviewWidget)
        preview.updatePreview()  # asks the report to paint its pages, as showing the dialog does
        drawn.append(preview.pageCount())

    print_preview(report, None, run)
    assert drawn == [3]


# --- the dashboard's 报表 page --------------------------------------------------------------------------------------
def test_report_page_makes_every_format(qtbot, client: HallClient, hall: Hall, clock: FakeClock,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    clock.advance(minutes=6)
    hall.call_next(1)
    hall.start_service(1)
    clock.advance(minutes=9)
    t = hall.finish_service(1).value
    hall.rate(t["id"], "satisfied")
    hall.call_next(1)
    hall.no_show(1)
    d = shown(qtbot, DashboardScreen(client), 1366, 768)  # the page as the manager sees it, in the dashboard
    d.tabs.setCurrentWidget(d.report_page)
    page = d.report_page
    page.set_range(date(2026, 11, 24), date(2026, 11, 24))
    asked: list[Path] = []
    for fmt in ("pdf", "xlsx", "csv"):
        page.set_choice("window", fmt)
        target = tmp_path / f"report.{fmt}"
        monkeypatch.setattr(page, "choose_path", lambda suggested, f, target=target: asked.append(suggested)
                            or target)
        with qtbot.waitSignal(page.generated) as sig:
            qtbot.mouseClick(page.make_button, Qt.MouseButton.LeftButton)
        assert sig.args == [target] and target.stat().st_size > 0
        assert asked[-1].suffix == f".{fmt}" and "按窗口" in asked[-1].name
    assert page.table.rowCount() == 5  # four windows and the hall
    cells = [page.table.item(0, c).text() for c in range(page.table.columnCount())]
    assert cells[:5] == ["1号窗口", "—", "1", "1", "0"]  # issued is the business's, not the window's
    total = [page.table.item(4, c).text() for c in range(page.table.columnCount())]
    assert total[:4] == ["全厅合计", "2", "1", "1"] and "100.0%" in total
    assert "已生成" in page.status.text() and str(tmp_path / "report.csv") in page.status.text()
    wb = load_workbook(tmp_path / "report.xlsx")
    assert wb["报表"]["A4"].value == "1号窗口"
    doc = QPdfDocument()
    doc.load(str(tmp_path / "report.pdf"))
    assert "测试政务服务中心 运行报表" in page_text(doc, 0)
    doc.close()
    assert not cut_off(page)


def test_report_page_refuses_a_backward_range(qtbot, client: HallClient, tmp_path: Path) -> None:
    page = shown(qtbot, ReportPage(client), 1366, 700)
    page.set_range(date(2026, 11, 25), date(2026, 11, 24))
    assert page.generate(tmp_path / "x.pdf") is None and not (tmp_path / "x.pdf").exists()
    assert "早于" in page.status.text() and page.status.property("role") == "alert"


def test_dashboard_has_the_report_tab_last(qtbot, client: HallClient) -> None:
    d = shown(qtbot, DashboardScreen(client), 1366, 768)  # compact: one box a page, 报表 still last
    titles = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    assert titles[-1] == "报表" and d.tabs.widget(d.tabs.count() - 1) is d.report_page
    d.resize(1920, 1080)
    qtbot.waitUntil(lambda: d.tabs.count() == 4)
    assert [d.tabs.tabText(i) for i in range(4)][::2] == ["运行概况", "人员"] and d.tabs.tabText(3) == "报表"


def test_radicals_in_the_text_layer(tmp_path: Path, qapp: object) -> None:
    """QPdfWriter's ToUnicode names a glyph Noto Sans CJK shares between an ideograph and a radical (长/⻓, 页/⻚,
    黄/⻩) by the radical: fix_text_layer gives a PDF viewer's search and copy the ideographs back, and the file stays
    one a reader opens."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter, QPdfWriter

    from kiosk.ui.report_pdf import fix_text_layer, font, radical_ideographs

    assert {0x2ED3: 0x957F, 0x2EDA: 0x9875, 0x2EE9: 0x9EC4}.items() <= radical_ideographs().items()
    text = "等候时长 第 1 页 黄强 龙门 马鸟"
    path = tmp_path / "t.pdf"
    writer = QPdfWriter(str(path))
    p = QPainter(writer)
    p.setFont(font(12))
    p.drawText(QRectF(0, 0, 4000, 400), text)
    p.end()
    before = path.read_bytes()
    assert fix_text_layer(path) >= 3
    after = path.read_bytes()
    assert len(after) == len(before) and after.endswith(before[-200:])  # offsets and trailer untouched
    doc = QPdfDocument()
    doc.load(str(path))
    assert text in page_text(doc, 0)
    assert fix_text_layer(path) == 0 and path.read_bytes() == after  # once fixed, nothing left to fix


def test_the_report_pdf_says_its_words_in_its_text_layer(sim_day: tuple[Hall, SimClock], tmp_path: Path,
                                                         qapp: object) -> None:
    """The whole report's PDF, read as a viewer's search and copy read it (no NFKC): not one radical stands in for
    an ideograph the page shows."""
    hall, _ = sim_day
    doc = QPdfDocument()
    doc.load(str(write_pdf(day_report(hall, "window"), tmp_path / "r.pdf")))
    words = "".join(doc.getAllText(i).text() for i in range(doc.pageCount()))
    assert "页" in words and "满意率" in words
    assert [c for c in words if 0x2E80 <= ord(c) < 0x2FE0] == []


def test_print_button_opens_the_preview(qtbot, client: HallClient, monkeypatch: pytest.MonkeyPatch) -> None:
    page = shown(qtbot, ReportPage(client), 1366, 700)
    pages = preview_pages(qtbot, page, monkeypatch)
    assert pages == [3] and page.table.rowCount() == 4  # by business (the default): three and the hall


def test_a_lan_dashboard_says_where_reports_are_made(qtbot, client: HallClient, tmp_path: Path) -> None:
    page = shown(qtbot, ReportPage(client), 1366, 700)
    page.client = SimpleNamespace(hall=SimpleNamespace(config=client.config), config=client.config, now=client.now)
    assert page.generate(tmp_path / "r.pdf") is None and not (tmp_path / "r.pdf").exists()
    assert "hall report" in page.status.text() and page.status.property("role") == "alert"
