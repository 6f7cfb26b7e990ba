"""The report as a printable A4 document: a title block with the hall's name and the dates, the key figures, two
tables (queue and windows; ratings and cases) and three charts (waiting by hour, 满意率 by window, the wait
distribution), drawn offscreen with QPainter and QtCharts onto a QPdfWriter — or a QPrinter, page for page."""
from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCharts import (
    QAbstractSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QRawFont,
)
from PySide6.QtWidgets import QApplication, QGraphicsScene, QWidget

from kiosk.core.report import Report, ReportRow, report_notes
from kiosk.core.report_files import QUEUE_TABLE, RATING_TABLE, Column, display, unit_note
from kiosk.ui.fonts import FAMILIES
from kiosk.ui.theme import PAIRS

INK = QColor("#1A1A1A")
MUTED = QColor("#555B63")
RULE = QColor("#B8C0CA")
HEAD_BG = QColor(PAIRS["header"].bg)
TOTAL_BG = QColor("#E8EEF7")
BAR = QColor(PAIRS["business"].bg)
LINE = QColor(PAIRS["danger"].bg)
GOOD = QColor(PAIRS["primary"].bg)
MARGIN_MM = 12.0
# Latin and digits from Noto Sans, Han from Noto Sans CJK: digits Qt shapes with the CJK face inside a Chinese run
# ("等候P90") reach the PDF's text layer without their characters, so a search or a copy of the page would lose them
PDF_FAMILIES = ["Noto Sans", *FAMILIES]
ROW_MM = 6.6


def ensure_app() -> QApplication:
    """The Qt application the drawing needs (QtCharts are graphics widgets); offscreen when there is no display,
    so `hall report --format pdf` runs on a headless server."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QApplication(["hall-report"])


def font(pt: float, *, bold: bool = False) -> QFont:
    f = QFont()
    f.setFamilies(PDF_FAMILIES)  # the PDF embeds a subset of each face
    f.setPointSizeF(pt)
    f.setBold(bold)
    return f


def write_pdf(report: Report, path: str | Path) -> Path:
    """The report as an A4 landscape PDF at `path`."""
    ensure_app()
    p = Path(path)
    writer = QPdfWriter(str(p))
    writer.setTitle(f"{report.title} {report.span}")
    writer.setCreator("hall edge")
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                     QMarginsF(0, 0, 0, 0)))
    paint_report(report, writer)  # the painter's end() writes the whole file
    fix_text_layer(p)
    return p


# A ToUnicode CMap's destination codes: in a bfchar line `<src> <dst>`, in a bfrange line `<lo> <hi> <dst>` (one
# glyph only when lo == hi) or `<lo> <hi> [<dst> …]`
_CMAP = re.compile(rb"begincmap.*?endcmap", re.S)
_CODE = re.compile(rb"<([0-9A-Fa-f]{4})>")
_RADICALS = range(0x2E80, 0x2FE0)  # CJK Radicals Supplement, Kangxi Radicals
_UNIFIED = range(0x4E00, 0xA000)  # CJK Unified Ideographs


@functools.cache
def radical_ideographs() -> dict[int, int]:
    """Radical code point → the unified ideograph the report's CJK face draws with the same glyph (⻓ → 长).

    Noto Sans CJK maps both code points of such a pair to one glyph, and QPdfWriter's ToUnicode names the glyph by
    the lower one, the radical: the page prints 长 but a PDF viewer's search and copy give ⻓, which NFKC does not
    fold back (the Kangxi radicals it does: they are taken from it)."""
    ensure_app()
    raw = QRawFont.fromFont(_cjk_font())
    ideographs = "".join(map(chr, _UNIFIED))
    by_glyph: dict[int, int] = {}
    for ch, glyph in zip(ideographs, raw.glyphIndexesForString(ideographs), strict=True):
        if glyph:
            by_glyph.setdefault(glyph, ord(ch))
    out: dict[int, int] = {}
    for r in _RADICALS:
        folded = unicodedata.normalize("NFKC", chr(r))
        if len(folded) == 1 and ord(folded) in _UNIFIED:
            out[r] = ord(folded)
            continue
        glyph = raw.glyphIndexesForString(chr(r))
        if glyph and glyph[0] in by_glyph:
            out[r] = by_glyph[glyph[0]]
    return out


def _cjk_font() -> QFont:
    f = QFont(FAMILIES[0])  # the face the report's Han comes from (PDF_FAMILIES: after Noto Sans, which has none)
    f.setPointSizeF(12)
    return f


def fix_text_layer(path: str | Path) -> int:
    """Give the PDF's text layer the ideographs its pages show where QPdfWriter's ToUnicode names a radical
    (radical_ideographs).  Each code is replaced by one of the same length inside the uncompressed CMap streams
    QPdfWriter writes, so no offset in the file moves.  Returns how many codes were replaced."""
    p = Path(path)
    data = p.read_bytes()
    table = radical_ideographs()
    count = 0

    def dst(m: re.Match[bytes]) -> bytes:
        nonlocal count
        code = int(m[1], 16)
        if code not in table:
            return m[0]
        count += 1
        return b"<%04X>" % table[code]

    def cmap(block: re.Match[bytes]) -> bytes:
        lines = []
        for line in block[0].split(b"\n"):
            codes = _CODE.findall(line)
            if b"[" in line:  # <lo> <hi> [<dst> …]: the codes after the bracket
                head, _, tail = line.partition(b"[")
                line = head + b"[" + _CODE.sub(dst, tail)
            elif len(codes) == 2 or (len(codes) == 3 and codes[0] == codes[1]):  # bfchar, or a one-glyph bfrange
                cut = line.rfind(b"<")
                line = line[:cut] + _CODE.sub(dst, line[cut:])
            lines.append(line)
        return b"\n".join(lines)

    fixed = _CMAP.sub(cmap, data)  # four hex digits for four (every unified ideograph is below U+A000)
    if count:
        p.write_bytes(fixed)
    return count


def paint_report(report: Report, device: QPagedPaintDevice) -> int:
    """Draw every page on `device` (a QPdfWriter, or the QPrinter of a print preview); returns the pages drawn."""
    painter = QPainter(device)
    try:
        pages = _Pages(report, device, painter)
        pages.title_block()
        pages.key_figures()
        pages.table("排队与窗口", QUEUE_TABLE)
        pages.table("评价与办件", RATING_TABLE)
        pages.notes()
        pages.charts()
        pages.footer()
        return pages.page
    finally:
        painter.end()


class _Pages:
    """A cursor down the pages: mm in, device pixels out; a new page (with its footer) when the next block does
    not fit."""

    def __init__(self, report: Report, device: QPagedPaintDevice, painter: QPainter) -> None:
        self.r, self.device, self.p = report, device, painter
        self.px = device.logicalDpiX() / 25.4  # device pixels per mm
        self.w = device.width() / self.px  # the paintable area in mm (a printer's is inside its margins)
        self.h = device.height() / self.px
        self.left, self.right = MARGIN_MM, self.w - MARGIN_MM
        self.top, self.bottom = MARGIN_MM, self.h - MARGIN_MM - 6  # the footer's line below
        self.y = self.top
        self.page = 1
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

    # --- geometry ------------------------------------------------------------------------------------------
    def rect(self, x: float, y: float, w: float, h: float) -> QRectF:
        return QRectF(x * self.px, y * self.px, w * self.px, h * self.px)

    def text(self, x: float, y: float, w: float, h: float, s: str, f: QFont, colour: QColor = INK,
             align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
             flags: int = 0) -> None:
        self.p.setFont(f)
        self.p.setPen(colour)
        box = self.rect(x, y, w, h)
        if not flags:  # one line: cut with … rather than run into the next cell
            s = QFontMetricsF(f, self.device).elidedText(s, Qt.TextElideMode.ElideRight, box.width())
        self.p.drawText(box, int(align) | flags, s)

    def room(self, mm: float) -> None:
        if self.y + mm > self.bottom:
            self.new_page()

    def new_page(self) -> None:
        self.footer()
        self.device.newPage()
        self.page += 1
        self.y = self.top

    def footer(self) -> None:
        y = self.h - MARGIN_MM - 4
        self.p.setPen(QPen(RULE, 0.2 * self.px))
        self.p.drawLine(QPointF(self.left * self.px, y * self.px), QPointF(self.right * self.px, y * self.px))
        f = font(7.5)
        self.text(self.left, y + 0.5, 200, 4, f"{self.r.title} · {self.r.span} · 按{self.r.by_label}", f, MUTED)
        self.text(self.right - 40, y + 0.5, 40, 4, f"第 {self.page} 页", f, MUTED, Qt.AlignmentFlag.AlignRight)

    # --- blocks ----------------------------------------------------------------------------------------------
    def title_block(self) -> None:
        r = self.r
        self.text(self.left, self.y, self.right - self.left, 11, r.title, font(20, bold=True))
        self.y += 11
        self.text(self.left, self.y, self.right - self.left, 6,
                  f"统计日期 {r.span}　·　按{r.by_label}分组　·　生成于 {r.generated_at:%Y-%m-%d %H:%M}　·　"
                  f"大厅编号 {r.hall_id}", font(10), MUTED)
        self.y += 7
        self.p.setPen(QPen(HEAD_BG, 0.6 * self.px))
        self.p.drawLine(QPointF(self.left * self.px, self.y * self.px), QPointF(self.right * self.px, self.y * self.px))
        self.y += 3

    def key_figures(self) -> None:
        t = self.r.total
        by = {c.key: c for c in (*QUEUE_TABLE, *RATING_TABLE)}

        def d(key: str) -> str:
            return display(by[key], t)

        tiles = [("取号", d("issued")), ("办结", d("served")), ("过号", d("no_show")), ("转出", d("transferred")),
                 ("平均等候", f"{d('wait_mean')}（P90 {d('wait_p90')}）"),
                 ("平均办理", f"{d('service_mean')}（P90 {d('service_p90')}）"),
                 ("满意率", d("satisfaction_rate")), ("按时办结率", d("on_time_rate")),
                 ("差评 / 整改", f"{t.bad} / {t.rectify_opened}"), ("暂停 / 空闲", f"{d('pause')} / {d('idle')}")]
        widths = [14, 14, 14, 14, 36, 36, 20, 22, 22, 28]
        scale = (self.right - self.left - 2 * (len(tiles) - 1)) / sum(widths)
        x = self.left
        for (label, value), w in zip(tiles, widths, strict=True):
            w *= scale
            self.p.fillRect(self.rect(x, self.y, w, 14), QColor("#F3F5F8"))
            self.text(x + 1.5, self.y + 1, w - 3, 5, label, font(8), MUTED)
            self.text(x + 1.5, self.y + 6, w - 3, 7, value, font(11.5, bold=True))
            x += w + 2
        self.y += 15
        self.text(self.left, self.y, self.right - self.left, 5,
                  f"等候、办理为 分:秒，暂停、空闲为 时:分；{self.r.policy_note}", font(8), MUTED)
        self.y += 7

    def table(self, title: str, columns: Sequence[Column]) -> None:
        rows = [*self.r.rows, self.r.total]
        head_mm = 10.0
        whole = 8 + head_mm + ROW_MM * len(rows)
        if whole <= self.bottom - self.top:
            self.room(whole)  # a table that fits a page is not split over two
        else:
            self.room(8 + head_mm + ROW_MM * 3)  # a title never ends a page alone
        self.text(self.left, self.y, 100, 7, title, font(12, bold=True))
        self.y += 8
        first = 46.0
        each = (self.right - self.left - first) / len(columns)
        self._head(columns, first, each, head_mm)
        for i, row in enumerate(rows):
            if self.y + ROW_MM > self.bottom:
                self.new_page()
                self.text(self.left, self.y, 150, 6, f"{title}（续）", font(10, bold=True))
                self.y += 7
                self._head(columns, first, each, head_mm)
            self._row(row, columns, first, each, shade=i % 2 == 1)
        self.y += 6

    def _head(self, columns: Sequence[Column], first: float, each: float, h: float) -> None:
        self.p.fillRect(self.rect(self.left, self.y, self.right - self.left, h), HEAD_BG)
        white = QColor(PAIRS["header"].fg)
        center = Qt.AlignmentFlag.AlignCenter
        self.text(self.left + 1.5, self.y, first - 3, h, self.r.by_label, font(9, bold=True), white)
        x = self.left + first
        for c in columns:
            unit = unit_note(c)
            label = f"{c.short}\n（{unit}）" if unit else c.short
            self.text(x, self.y, each, h, label, font(8.5, bold=True), white, center, int(Qt.TextFlag.TextWordWrap))
            x += each
        self.y += h

    def _row(self, row: ReportRow, columns: Sequence[Column], first: float, each: float, *, shade: bool) -> None:
        if row.total or shade:
            self.p.fillRect(self.rect(self.left, self.y, self.right - self.left, ROW_MM),
                            TOTAL_BG if row.total else QColor("#F7F8FA"))
        f = font(9, bold=row.total)
        self.text(self.left + 1.5, self.y, first - 3, ROW_MM, row.label, f)
        x = self.left + first
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for c in columns:
            self.text(x, self.y, each - 2, ROW_MM, display(c, row), f, INK, right)
            x += each
        self.y += ROW_MM
        self.p.setPen(QPen(RULE, 0.15 * self.px))
        self.p.drawLine(QPointF(self.left * self.px, self.y * self.px), QPointF(self.right * self.px, self.y * self.px))

    def charts(self) -> None:
        """Three charts on a page of their own: waiting by hour and the distribution above, 满意率 by window below."""
        self.new_page()
        self.text(self.left, self.y, 150, 7, "图表", font(12, bold=True))
        self.y += 8
        gap = 6.0
        half = (self.right - self.left - gap) / 2
        top_h = (self.bottom - self.y - gap) * 0.52
        self._chart(hour_chart(self.r), self.left, self.y, half, top_h, "没有已办结的号票")
        self._chart(distribution_chart(self.r), self.left + half + gap, self.y, half, top_h, "没有已办结的号票")
        self.y += top_h + gap
        low_h = self.bottom - self.y
        self._chart(satisfaction_chart(self.r), self.left, self.y, self.right - self.left, low_h, "没有窗口评价")
        self.y = self.bottom

    def _chart(self, chart: Chart | None, x: float, y: float, w: float, h: float, empty: str) -> None:
        self.p.setPen(QPen(RULE, 0.2 * self.px))
        self.p.drawRect(self.rect(x, y, w, h))
        if chart is None:
            self.text(x, y, w, h, empty, font(10), MUTED, Qt.AlignmentFlag.AlignCenter)
            return
        render_chart(chart, self.p, self.rect(x + 1, y + 1, w - 2, h - 2), self.px)

    def notes(self) -> None:
        """What each figure counts, under the tables (or on a page of their own when they do not fit there)."""
        f = font(8.5)
        fm = QFontMetricsF(f, self.device)
        width = self.right - self.left - 4
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) | int(Qt.TextFlag.TextWordWrap)
        heights = [fm.boundingRect(QRectF(0, 0, width * self.px, 1e6), flags, line).height() / self.px + 1.2
                   for line in report_notes(self.r.policy_days)]
        self.room(8 + sum(heights))
        self.text(self.left, self.y, 150, 7, "指标说明", font(11, bold=True))
        self.y += 8
        for line, h in zip(report_notes(self.r.policy_days), heights, strict=True):
            self.text(self.left, self.y, 4, h, "·", f, INK, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.text(self.left + 4, self.y, width, h, line, f, INK, Qt.AlignmentFlag.AlignLeft, int(
                Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignTop))
            self.y += h


# --- charts --------------------------------------------------------------------------------------------------------
CHART_PX_PER_MM = 7.5  # a chart is laid out in its own pixels at this scale, so every chart's type is one size


def _look(chart: QChart, title: str) -> QChart:
    chart.setTitle(title)
    chart.setTitleFont(_px_font(26, bold=True))
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setBackgroundRoundness(0)
    chart.legend().setFont(_px_font(20))
    return chart


def _px_font(px: int, *, bold: bool = False) -> QFont:
    f = QFont()
    f.setFamilies(PDF_FAMILIES)
    f.setPixelSize(px)
    f.setBold(bold)
    return f


def _axes(chart: QChart, series: Sequence[object], categories: list[str], top: float, fmt: str,
          title: str, ticks: int | None = None) -> None:
    """Categories along the bottom, values up the left from 0 to `top` (rounded to nice numbers unless `ticks`)."""
    ax = QBarCategoryAxis()
    ax.append(categories)
    ax.setLabelsFont(_px_font(18))
    ay = QValueAxis()
    ay.setRange(0, top)
    ay.setLabelFormat(fmt)
    ay.setTitleText(title)
    ay.setTitleFont(_px_font(18))
    ay.setLabelsFont(_px_font(18))
    if ticks:
        ay.setTickCount(ticks)
    else:
        ay.applyNiceNumbers()
    chart.addAxis(ax, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(ay, Qt.AlignmentFlag.AlignLeft)
    for s in series:
        s.attachAxis(ax)  # type: ignore[attr-defined]
        s.attachAxis(ay)  # type: ignore[attr-defined]


@dataclass
class Chart:
    """A chart and the value labels drawn over its bars: (category index, value, text) of `series`.  The painter
    draws them, because QtCharts lays bar labels out only once a view has shown the chart, never offscreen."""

    chart: QChart
    series: QAbstractSeries | None = None
    labels: list[tuple[int, float, str]] = field(default_factory=list)
    inside: bool = False  # labels just inside the bar's top (white), else just above it


def hour_chart(report: Report) -> Chart | None:
    """Mean wait (bars) and its p90 (line) by the hour the ticket was taken, in minutes."""
    hours = [h for h in report.hours if h.wait.n]
    if not hours:
        return None
    chart = _look(QChart(), "各时段等候时间（按取号时间，分钟）")
    mean = QBarSet("平均等候")
    mean.setColor(BAR)
    p90 = QLineSeries()
    p90.setName("P90 等候")
    p90.setPen(QPen(LINE, 4))
    p90.setPointsVisible(True)
    for i, h in enumerate(hours):
        mean.append((h.wait.mean_s or 0) / 60)
        p90.append(i, (h.wait.p90_s or 0) / 60)
    bars = QBarSeries()
    bars.append(mean)
    chart.addSeries(bars)
    chart.addSeries(p90)
    top = max((h.wait.p90_s or 0) / 60 for h in hours) * 1.15 + 1
    _axes(chart, [bars, p90], [f"{h.hour}时" for h in hours], top, "%.0f", "分钟")
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    return Chart(chart)


def distribution_chart(report: Report) -> Chart | None:
    """How many served citizens waited 0–5, 5–10 … minutes, each bar with its count."""
    if not report.wait_bins:
        return None
    chart = _look(QChart(), "等候时长分布（已办结的号，人数）")
    counts = QBarSet("人数")
    counts.setColor(BAR)
    for b in report.wait_bins:
        counts.append(b.count)
    bars = QBarSeries()
    bars.append(counts)
    chart.addSeries(bars)
    top = max(b.count for b in report.wait_bins) * 1.15 + 1
    _axes(chart, [bars], [b.label for b in report.wait_bins], top, "%d", "人数")
    ax = chart.axes(Qt.Orientation.Horizontal)[0]
    ax.setTitleText("等候（分钟）")
    ax.setTitleFont(_px_font(18))
    chart.legend().hide()
    return Chart(chart, bars, [(i, b.count, str(b.count)) for i, b in enumerate(report.wait_bins) if b.count])


def satisfaction_chart(report: Report) -> Chart | None:
    """满意率 of queue ratings per window, each bar with its rate and count (windows without a rating left out)."""
    rated = [w for w in report.windows if w.satisfaction_rate is not None]
    if not rated:
        return None
    chart = _look(QChart(), "各窗口满意率（窗口评价，括号内为评价数）")
    rate = QBarSet("满意率")
    rate.setColor(GOOD)
    values = [(w.satisfaction_rate or 0) * 100 for w in rated]
    for v in values:
        rate.append(v)
    bars = QBarSeries()
    bars.append(rate)
    chart.addSeries(bars)
    _axes(chart, [bars], [w.label for w in rated], 100, "%d", "%", ticks=6)
    chart.legend().hide()
    return Chart(chart, bars, [(i, v, f"{v:.1f}%（{w.rated + w.unrated_counted}）")
                               for i, (v, w) in enumerate(zip(values, rated, strict=True))], inside=True)


def render_chart(c: Chart, painter: QPainter, target: QRectF, px_per_mm: float) -> None:
    """Lay the chart out in its own pixels (CHART_PX_PER_MM of the box; its fonts are sized for that) and draw it,
    as vectors, into `target` (device pixels, `px_per_mm` of them a mm), then its value labels."""
    w = target.width() / px_per_mm * CHART_PX_PER_MM
    h = target.height() / px_per_mm * CHART_PX_PER_MM
    scene = QGraphicsScene()
    scene.addItem(c.chart)
    c.chart.setGeometry(QRectF(0, 0, w, h))
    scene.setSceneRect(QRectF(0, 0, w, h))
    QApplication.processEvents()  # the chart lays its axes out on the next turn of the event loop
    scene.render(painter, target, QRectF(0, 0, w, h))
    k = target.width() / w
    f = _px_font(18, bold=True)
    f.setPixelSize(max(1, round(18 * k)))
    painter.setFont(f)
    line = QFontMetricsF(f, painter.device()).height()
    for i, value, text in c.labels:
        top = c.chart.mapToPosition(QPointF(i, value), c.series)
        x, y = target.x() + top.x() * k, target.y() + top.y() * k
        inside = c.inside and target.y() + c.chart.plotArea().bottom() * k - y > 2 * line
        painter.setPen(QColor("#FFFFFF") if inside else INK)
        box = QRectF(x - 60 * k, y + 2 * k if inside else y - line - 2 * k, 120 * k, line)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
    scene.removeItem(c.chart)
    c.chart.deleteLater()


# --- looking at it, and printing --------------------------------------------------------------------------------
def render_pages(pdf: str | Path, out: str | Path, width_px: int = 1754) -> list[Path]:
    """Each page of a PDF as PNG (`out`-1.png, -2.png …) with QtPdf: what a person would see on paper."""
    from PySide6.QtPdf import QPdfDocument

    ensure_app()
    doc = QPdfDocument()
    doc.load(str(pdf))
    paths = []
    base = Path(out)
    for i in range(doc.pageCount()):
        size = doc.pagePointSize(i)
        img = doc.render(i, QSize(width_px, round(width_px * size.height() / size.width())))
        framed = QImage(img.size(), QImage.Format.Format_RGB32)
        framed.fill(QColor("#FFFFFF"))  # QtPdf renders transparent where the page has no ink
        p = QPainter(framed)
        p.drawImage(0, 0, img)
        p.end()
        path = base.with_name(f"{base.stem}-{i + 1}.png")
        framed.save(str(path))
        paths.append(path)
    doc.close()
    return paths


def print_preview(report: Report, parent: QWidget | None = None,
                  exec_dialog: Callable[[QWidget], object] | None = None) -> str:
    """The report in a print preview for the system's default printer, A4 landscape; printing from it sends the
    same pages as the PDF.  Returns the printer's name ("" when none is set up)."""
    from PySide6.QtPrintSupport import QPrinter, QPrinterInfo, QPrintPreviewDialog

    info = QPrinterInfo.defaultPrinter()
    printer = QPrinter(info, QPrinter.PrinterMode.HighResolution) if not info.isNull() else \
        QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                      QMarginsF(0, 0, 0, 0)))
    printer.setDocName(f"{report.title} {report.span}")
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setWindowTitle(f"打印预览 · {report.title} {report.span}")
    dialog.paintRequested.connect(lambda device: paint_report(report, device))
    (exec_dialog or (lambda d: d.exec()))(dialog)  # type: ignore[attr-defined]
    return "" if info.isNull() else info.printerName()
