"""The manager dashboard: queues, windows and clerks, today's counts and times, 好差评, devices, sync link; a
second page for 电子监察 (yellow/red cases, case figures, 差评 rectification); and 报表 (kiosk/ui/report_page.py)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QPieSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.errors import StoreFault
from kiosk.core.events import Event
from kiosk.core.figures import month_range
from kiosk.core.rating import LABELS, ORDER
from kiosk.device_text import by_attention, kind_text, reason_detail, reason_text, state_text
from kiosk.ui.client import HallClient
from kiosk.ui.rectify import RectificationPanel
from kiosk.ui.report_page import ReportPage
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import CARD_PAIR, CARD_TEXT, FACE_COLOURS, tag

log = logging.getLogger(__name__)

STATE_TEXT = {"idle": "○ 空闲", "calling": "◎ 叫号中", "serving": "● 办理中", "paused": "‖ 暂停"}
SYNC_TEXT = {"up": "✔ 已连接", "connected": "✔ 已连接", "online": "✔ 已连接", "down": "✖ 断开",
             "offline": "✖ 断开", "connecting": "… 连接中", "disconnected": "✖ 断开"}


CARD_LIMIT = 100  # never the whole backlog on the UI thread: the worst first, and the count says how many more
FIGURE_GROUPS = [("按部门", "department"), ("按窗口", "window"), ("按经办人", "clerk")]
SUPERVISION_PREFIXES = ("case.", "rectification.", "rating.", "calendar.")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def last_day(due_at: str | None, tz: Any) -> str:
    """The last day of a deadline: a due moment of midnight belongs to the day before (as cases.py says it)."""
    if not due_at:
        return "—"
    try:
        d = datetime.fromisoformat(due_at)
    except ValueError:
        return str(due_at)
    return (d.astimezone(tz) - timedelta(microseconds=1)).date().isoformat()


def due_text(case: dict[str, Any]) -> str:
    """A case's last day, saying when it is the law's limit (a 法定时限 without a promise has its own cards)."""
    day = case.get("due_day") or "—"
    return f"{day}（法定时限）" if case.get("deadline_basis") == "legal" else day


class SyncStatus(Protocol):
    def status(self) -> dict[str, Any]: ...


def minutes(seconds: float | None) -> str:
    if not seconds:
        return "—"
    return f"{seconds / 60:.1f} 分钟"


class DashboardScreen(QWidget):
    def __init__(self, client: HallClient, *, sync: SyncStatus | None = None, refresh_s: float = 5.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.sync = sync
        self.setObjectName("dashboard")
        self.setWindowTitle(f"{client.config.name} · 管理看板")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._build()
        self._style()
        self.soon = QTimer(self)  # events come in bursts: one redraw per burst
        self.soon.setSingleShot(True)
        self.soon.setInterval(300)
        self.soon.timeout.connect(self.refresh)
        self.soon_supervision = QTimer(self)
        self.soon_supervision.setSingleShot(True)
        self.soon_supervision.setInterval(300)
        self.soon_supervision.timeout.connect(self.refresh_supervision)
        self.periodic = QTimer(self)
        self.periodic.timeout.connect(self.refresh)
        self.periodic.timeout.connect(self.refresh_supervision)
        self.tabs.currentChanged.connect(lambda _i: self.refresh_supervision())
        self.periodic.start(int(refresh_s * 1000))
        client.events.connect(self.on_event)
        client.store_fault.connect(self.on_store_fault)
        client.quiet.connect(self.on_quiet)
        self.on_store_fault(client.fault)
        self.refresh()
        self.refresh_supervision()

    # --- layout -------------------------------------------------------------------------------------------------
    def _table(self, headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        return t

    def _box(self, title: str, *widgets: QWidget) -> QFrame:
        f = tag(QFrame(), "box")
        v = QVBoxLayout(f)
        v.setContentsMargins(10, 8, 10, 8)
        v.addWidget(tag(QLabel(title), "boxtitle"))
        for w in widgets:  # tables and charts share the height; a caption or a row of controls keeps its own
            v.addWidget(w, 0 if isinstance(w, QLabel) or w.property("head") else 1)
        return f

    @staticmethod
    def _pair(a: QWidget, b: QWidget) -> QWidget:
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(a, 1)
        h.addWidget(b, 1)
        return w

    @staticmethod
    def _chart_look(chart: QChart) -> None:
        chart.setBackgroundRoundness(0)
        chart.setMargins(QMargins(4, 4, 4, 4))
        font = chart.titleFont()
        font.setPixelSize(16)
        font.setBold(True)
        chart.setTitleFont(font)

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(8)
        top = QHBoxLayout()
        top.addWidget(tag(QLabel(f"{self.client.config.name} · 管理看板"), "title"), 1)
        self.updated = tag(QLabel(), "muted")
        top.addWidget(self.updated)
        outer.addLayout(top)
        # no official holiday data for a day of the next 60: deadlines there are a Mon–Fri guess (kiosk/core/holidays)
        self.calendar_note = tag(QLabel(), "alert")
        self.calendar_note.setObjectName("calendar_note")
        self.calendar_note.setWordWrap(True)
        self.calendar_note.hide()
        outer.addWidget(self.calendar_note)
        # two pages, so each keeps the room it needs at 1920×1080: the day's operation, and 电子监察
        self.tabs = QTabWidget()
        self.overview = QWidget()
        self.supervision = QWidget()
        self.tabs.addTab(self.overview, "运行概况")
        self.tabs.addTab(self.supervision, "电子监察")
        self.report_page = ReportPage(self.client)  # 报表: the reports of `hall report`, made and printed here
        self.tabs.addTab(self.report_page, "报表")
        outer.addWidget(self.tabs, 1)
        self._build_supervision()
        root = QVBoxLayout(self.overview)
        root.setContentsMargins(4, 8, 4, 4)
        root.setSpacing(10)

        self.kpis: dict[str, QLabel] = {}
        root.addLayout(self._kpi_row(self.kpis, (
            ("issued", "今日取号"), ("done", "已办结"), ("waiting", "等候中"), ("no_show", "过号"),
            ("avg_wait", "平均等候"), ("avg_service", "平均办理"), ("satisfaction", "满意率"), ("bad", "差评"),
            ("sync", "同步链路"))))

        grid = QGridLayout()
        grid.setSpacing(10)
        self.queue_chart = QChart()
        self.queue_chart.setTitle("各业务等候人数")
        self.queue_chart.legend().hide()
        self._chart_look(self.queue_chart)
        self.queue_view = QChartView(self.queue_chart)
        self.queue_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.queue_view.setMinimumHeight(260)
        self.queue_table = self._table(["业务", "等候", "最长等候", "今日取号", "平均等候", "平均办理"])
        self._fit_columns(self.queue_table, keep=5)  # a business's name and state are read whole
        self.queue_box = self._box("排队", self._pair(self.queue_view, self.queue_table))
        grid.addWidget(self.queue_box, 0, 0)

        self.window_table = self._table(["窗口", "状态", "工作人员", "当前号码", "今日办结", "平均办理", "业务"])
        for col in range(6):  # the business list takes what is left
            self.window_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.window_box = self._box("窗口与工作人员", self.window_table)
        grid.addWidget(self.window_box, 0, 1)

        self.rating_chart = QChart()
        self.rating_chart.setTitle("好差评分布（今日）")
        self.rating_chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self._chart_look(self.rating_chart)
        self.rating_view = QChartView(self.rating_chart)
        self.rating_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.rating_view.setMinimumHeight(260)
        self.rating_note = tag(QLabel(), "muted")
        self.bad_table = self._table(["号码", "窗口", "评价", "原因", "留言"])
        self._fit_columns(self.bad_table, keep=4)  # the reason is read whole; the citizen's words get the rest
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.rating_view, 1)
        lv.addWidget(self.rating_note)
        self.rating_box = self._box("好差评（差评及原因）", self._pair(left, self.bad_table))
        grid.addWidget(self.rating_box, 1, 0)

        self.device_table = self._table(["设备", "类型", "状态", "原因", "时间"])
        self.sync_label = tag(QLabel(), "body")
        self.sync_label.setWordWrap(True)
        # the hall's own database is part of its health: a fault shows here until a command is saved again
        self.store_label = tag(QLabel(), "alert")
        self.store_label.setWordWrap(True)
        self.store_label.hide()
        self.device_box = self._box("设备与同步", self.device_table, self.sync_label, self.store_label)
        grid.addWidget(self.device_box, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        root.addLayout(grid, 1)
        self.overview_grid = grid
        self._arrange(compact=True)  # until the first resize says the screen is big: a window never grows past it

    # --- arrangement: a 1920×1080 monitor shows two pages of four boxes; a 1366×768 laptop one box a page ------------
    COMPACT_BELOW = (1600, 900)  # narrower or lower than this: one box a page, so every column and label fits

    _compact: bool | None = None
    _supervision_pages: tuple[QWidget, ...] = ()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        compact = self.width() < self.COMPACT_BELOW[0] or self.height() < self.COMPACT_BELOW[1]
        if compact != self._compact:
            self._arrange(compact)

    def _page(self, *boxes: QWidget) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(4, 8, 4, 4)
        for box in boxes:
            v.addWidget(box, 1)
        return page

    def _arrange(self, compact: bool) -> None:
        """Wide: 运行概况 with its four boxes in a grid, 电子监察 with its three.  Compact: the first box of each under
        its key figures, every other box on a page of its own (tables keep whole columns, charts whole labels)."""
        self._compact = compact
        current = self.tabs.currentWidget()
        dropped = []
        for i in reversed(range(self.tabs.count())):
            if self.tabs.widget(i) not in (self.overview, self.supervision, self.report_page):
                dropped.append(self.tabs.widget(i))
                self.tabs.removeTab(i)
        grids = ((self.overview_grid, ((self.queue_box, 0, 0, 1, 1), (self.window_box, 0, 1, 1, 1),
                                       (self.rating_box, 1, 0, 1, 1), (self.device_box, 1, 1, 1, 1))),
                 (self.supervision_grid, ((self.cards_box, 0, 0, 2, 1), (self.figures_box, 0, 1, 1, 1),
                                          (self.rect_box, 1, 1, 1, 1))))
        for grid, places in grids:
            for box, *_ in places:
                grid.removeWidget(box)
            for box, r, c, rs, cs in places if not compact else places[:1]:
                grid.addWidget(box, r, c, rs, cs)
            for col in (0, 1):
                grid.setColumnStretch(col, (3 if col == 0 else 2) if not compact and grid is self.overview_grid
                                      else (1 if not compact or col == 0 else 0))
        for page in dropped:  # their boxes are back in the grids
            page.deleteLater()
        self._supervision_pages = ()
        if compact:
            after = self.tabs.indexOf(self.overview) + 1
            for title, box in (("窗口与工作人员", self.window_box), ("好差评", self.rating_box),
                               ("设备与同步", self.device_box)):
                self.tabs.insertTab(after, self._page(box), title)
                after += 1
            figures, rect = self._page(self.figures_box), self._page(self.rect_box)
            self.tabs.addTab(figures, "办件统计")
            self.tabs.addTab(rect, "差评整改")
            self._supervision_pages = (figures, rect)
        self.tabs.tabBar().moveTab(self.tabs.indexOf(self.report_page), self.tabs.count() - 1)  # 报表 stays last
        index = self.tabs.indexOf(current)
        self.tabs.setCurrentIndex(index if index >= 0 else 0)

    @staticmethod
    def _kpi_row(into: dict[str, QLabel], tiles: tuple[tuple[str, str], ...]) -> QHBoxLayout:
        row = QHBoxLayout()
        for key, label in tiles:
            f = tag(QFrame(), "kpi")
            v = QVBoxLayout(f)
            v.setContentsMargins(8, 6, 8, 6)
            v.addWidget(tag(QLabel(label), "kpilabel"))
            value = tag(QLabel("—"), "kpivalue")
            v.addWidget(value)
            into[key] = value
            row.addWidget(f)
        return row

    def _build_supervision(self) -> None:
        root = QVBoxLayout(self.supervision)
        root.setContentsMargins(4, 8, 4, 4)
        root.setSpacing(10)
        self.sup_kpis: dict[str, QLabel] = {}
        root.addLayout(self._kpi_row(self.sup_kpis, (
            ("red", "红牌办件 ⊘"), ("yellow", "黄牌办件 ⚠"), ("rectify_open", "待整改差评"),
            ("rectify_red", "整改超期 ⊘"), ("rectify_yellow", "整改预警 ⚠"), ("on_time_month", "本月按时办结率"),
            ("satisfaction_month", "本月办件满意率"))))
        grid = QGridLayout()
        grid.setSpacing(10)
        self.cards_table = self._table(["监察", "办件编号", "事项名称", "申请人", "状态", "窗口", "经办人",
                                        "办结期限", "剩余工作日"])
        self.cards_table.setObjectName("cards_table")
        self._fit_columns(self.cards_table, keep=2)  # the item name takes what is left
        self.cards_note = tag(QLabel(), "muted")
        self.cards_box = self._box("黄牌/红牌办件（红牌在前，按期限）", self.cards_table, self.cards_note)
        grid.addWidget(self.cards_box, 0, 0, 2, 1)
        self.figures_by = QComboBox()
        for label, key in FIGURE_GROUPS:
            self.figures_by.addItem(label, key)
        self.figures_by.currentIndexChanged.connect(lambda _i: self.refresh_supervision())
        self.figures_table = self._table(["范围", "分组", "办结", "按时办结率", "提前办结率", "现场办结率",
                                          "平均用时（工作日）", "满意率"])
        self.figures_table.setObjectName("figures_table")
        self._fit_columns(self.figures_table, keep=1)
        head = QWidget()
        head.setProperty("head", True)
        hh = QHBoxLayout(head)
        hh.setContentsMargins(0, 0, 0, 0)
        hh.addWidget(tag(QLabel("分组"), "body"))
        hh.addWidget(self.figures_by)
        hh.addStretch(1)
        self.figures_box = self._box("办件统计（今日 / 本月，已办结）", head, self.figures_table)
        grid.addWidget(self.figures_box, 0, 1)
        self.rect_table = self._table(["监察", "号码", "窗口", "评价", "原因", "办件编号", "整改期限", "阶段"])
        self.rect_table.setObjectName("rect_table")
        self._fit_columns(self.rect_table, keep=4)  # the reason takes what is left
        # a row opens its detail: every step taken and the form for the next (kiosk/ui/rectify.py)
        self.rect_table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.rect_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.rect_table.itemSelectionChanged.connect(self._rect_selected)
        self.rect_ids: list[str] = []
        self.rect_panel = RectificationPanel(self.client)
        self.rect_panel.changed.connect(self.refresh_supervision)
        self.rect_box = self._box("差评整改（未办结，点选查看与处理）", self.rect_table, self.rect_panel)
        grid.addWidget(self.rect_box, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        root.addLayout(grid, 1)
        self.supervision_grid = grid

    @staticmethod
    def _fit_columns(table: QTableWidget, keep: int) -> None:
        """Every column fits its text; column `keep` stretches over what is left."""
        for col in range(table.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if col == keep else QHeaderView.ResizeMode.ResizeToContents
            table.horizontalHeader().setSectionResizeMode(col, mode)

    def _style(self) -> None:
        P = PAIRS

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        self.setStyleSheet(f"""
            #dashboard {{ {pair('page')} }}
            QWidget {{ font-size: {dp(self, 16)}px; }}
            QLabel[role="title"] {{ color: {P['page'].fg}; font-size: {dp(self, 26)}px; font-weight: bold; }}
            QLabel[role="muted"] {{ {pair('muted')} }}
            QLabel[role="body"] {{ color: {P['page'].fg}; }}
            QLabel[role="alert"] {{ {pair('error')} border: 2px solid {P['error'].fg}; border-radius: 6px; padding: 6px;
                font-weight: bold; }}
            QFrame[role="box"] {{ {pair('ticket')} border: 1px solid #C5CBD3; border-radius: 8px; }}
            QFrame[role="box"] QLabel[role="muted"] {{ color: {P['muted'].fg}; background: transparent; }}
            QLabel[role="boxtitle"] {{ color: {P['ticket'].fg}; background: transparent; font-size: {dp(self, 20)}px;
                font-weight: bold; }}
            QFrame[role="kpi"] {{ {pair('header')} border-radius: 8px; }}
            QLabel[role="kpilabel"] {{ {pair('header')} }}
            QLabel[role="kpivalue"] {{ {pair('header')} font-size: {dp(self, 28)}px; font-weight: bold; }}
            QTableWidget {{ color: {P['page'].fg}; background-color: #FFFFFF; gridline-color: #D5DAE0; }}
            QHeaderView::section {{ {pair('action')} font-weight: bold; border: 0; padding: 4px; }}
            QTabBar::tab {{ {pair('action')} font-size: {dp(self, 18)}px; font-weight: bold; padding: 8px 24px;
                border: 1px solid #C5CBD3; border-bottom: 0; }}
            QTabBar::tab:selected {{ {pair('header')} }}
            QTabWidget::pane {{ border: 0; }}
        """)

    # --- data -----------------------------------------------------------------------------------------------------
    def on_event(self, e: Event) -> None:
        self.soon.start()
        if e.kind.startswith(SUPERVISION_PREFIXES):
            self.soon_supervision.start()

    def refresh(self) -> None:
        try:
            counts = self.client.waiting_counts()
            windows = self.client.windows()
            today = self.client.counts()
            times = {t["business"]: t for t in self.client.times(by="business")}
            per_window = {t["window"]: t for t in self.client.times(by="window")}
            summary = self.client.rating_summary()
            bad = self.client.bad_ratings()
            devices = self.client.devices()
        except Exception as exc:
            log.exception("dashboard refresh failed")
            self.updated.setText(f"⚠ 数据读取失败：{exc}")
            return
        self._kpis(today, counts, times, summary)
        self._queue(counts, today, times)
        self._windows(windows, per_window)
        self._ratings(summary, bad)
        self._devices(devices)
        self._sync()
        self.updated.setText("更新于 " + self.client.now().astimezone(self.client.config.tz).strftime("%H:%M:%S"))

    def _kpis(self, today: dict[str, Any], counts: list[dict[str, Any]], times: dict[str, Any],
              summary: dict[str, Any]) -> None:
        total = today.get("_total", {})
        served = sum(t["served"] for t in times.values())

        def avg(key: str) -> float:
            return sum(t[key] * t["served"] for t in times.values()) / served if served else 0.0

        rate = summary.get("satisfaction_rate")
        self.kpis["issued"].setText(str(total.get("issued", 0)))
        self.kpis["done"].setText(str(total.get("done", 0)))
        self.kpis["waiting"].setText(str(sum(c["waiting"] for c in counts)))
        self.kpis["no_show"].setText(str(total.get("no_show", 0)))
        self.kpis["avg_wait"].setText(minutes(avg("avg_wait_s")))
        self.kpis["avg_service"].setText(minutes(avg("avg_service_s")))
        self.kpis["satisfaction"].setText(f"{rate * 100:.1f}%" if rate is not None else "—")
        pending = summary.get("reason_pending", 0)
        self.kpis["bad"].setText(f"{summary.get('bad', 0)}" + (f"（{pending} 待补原因）" if pending else ""))

    def _queue(self, counts: list[dict[str, Any]], today: dict[str, Any], times: dict[str, Any]) -> None:
        self.queue_chart.removeAllSeries()
        for ax in self.queue_chart.axes():
            self.queue_chart.removeAxis(ax)
        bars = QBarSet("等候")
        bars.setColor(QColor(PAIRS["business"].bg))
        names = []
        for c in reversed(counts):  # horizontal bars are drawn bottom-up; keep the config order top-down
            bars.append(c["waiting"])
            names.append(c["name"])
        series = QHorizontalBarSeries()  # names on the left read better than squeezed Chinese captions
        series.append(bars)
        series.setLabelsVisible(True)
        self.queue_chart.addSeries(series)
        ax_x = QBarCategoryAxis()
        ax_x.append(names)
        ax_y = QValueAxis()
        top = max([c["waiting"] for c in counts] + [4]) + 1
        step = max(1, -(-top // 5))  # whole-number ticks, at most six of them
        ax_y.setRange(0, step * 5 if top > 5 else top)
        ax_y.setTickCount(6 if top > 5 else top + 1)
        ax_y.setLabelFormat("%d")
        self.queue_chart.addAxis(ax_x, Qt.AlignmentFlag.AlignLeft)
        self.queue_chart.addAxis(ax_y, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(ax_x)
        series.attachAxis(ax_y)
        self.queue_table.setRowCount(len(counts))
        for r, c in enumerate(counts):
            t = times.get(c["business"], {})
            state = "暂停取号" if c.get("closed") else ""
            self._row(self.queue_table, r, [
                f"{c['name']} {state}".strip(), str(c["waiting"]), minutes(c["longest_wait_s"]),
                str(today.get(c["business"], {}).get("issued", 0)), minutes(t.get("avg_wait_s")),
                minutes(t.get("avg_service_s"))])

    def _windows(self, windows: list[dict[str, Any]], per_window: dict[int, dict[str, Any]]) -> None:
        self.window_table.setRowCount(len(windows))
        names = {b.code: b.name for b in self.client.config.businesses}
        for r, w in enumerate(windows):
            state = STATE_TEXT.get(w["state"], w["state"])
            if w["state"] == "paused" and w.get("pause_reason"):
                state += f"（{w['pause_reason']}）"
            biz = "综合" if w.get("combined") else "、".join(names.get(b, b) for b in w["businesses"])
            t = per_window.get(w["number"], {})
            self._row(self.window_table, r, [w["name"], state, w.get("clerk_name") or "未签到",
                                             w["current"]["number"] if w.get("current") else "—",
                                             str(t.get("served", 0)), minutes(t.get("avg_service_s")), biz])

    def _ratings(self, summary: dict[str, Any], bad: list[dict[str, Any]]) -> None:
        self.rating_chart.removeAllSeries()
        pie = QPieSeries()
        dist = summary.get("distribution", {})
        for lv in ORDER:
            n = int(dist.get(lv.value, 0))
            sl = pie.append(f"{LABELS[lv]} {n}", n)
            sl.setColor(QColor(FACE_COLOURS[lv]))
            sl.setLabelVisible(False)  # the legend carries the words and counts
        if summary.get("rated", 0) == 0:
            pie.append("暂无评价", 1).setColor(QColor("#C5CBD3"))
        self.rating_chart.addSeries(pie)
        note = f"已评价 {summary.get('rated', 0)} 次，未评价 {summary.get('unrated', 0)} 次"
        if summary.get("policy_days"):
            counted = summary.get("unrated_counted_as_satisfied", 0)
            note += f"（超过 {summary['policy_days']} 天未评价按满意计：{counted}）"
        self.rating_note.setText(note)
        self.bad_table.setRowCount(len(bad))
        for r, b in enumerate(bad):
            reason = b.get("reason") or "（待补充原因）"
            self._row(self.bad_table, r, [b["number"], f"{b['window']}号窗口", b["level_label"], reason,
                                          b.get("text") or ""])

    def _devices(self, devices: list[dict[str, Any]]) -> None:
        devices = by_attention(devices)  # what needs a person first, said in Chinese
        self.device_table.setRowCount(len(devices))
        tz = self.client.config.tz
        for r, d in enumerate(devices):
            try:
                since = datetime.fromisoformat(str(d.get("since"))).astimezone(tz).strftime("%H:%M:%S")
            except ValueError:
                since = ""
            self._row(self.device_table, r, [d["name"], kind_text(str(d.get("kind", ""))),
                                             state_text(str(d["state"])), reason_text(d.get("reason")), since])
            self.device_table.item(r, 3).setToolTip(reason_detail(d.get("reason")))

    def on_store_fault(self, fault: StoreFault | None) -> None:
        self._fault_text = f"⚠ {fault.message}" if fault is not None else ""
        self._show_alert()

    def on_quiet(self, why: str | None) -> None:
        """The store or the hall server stopped answering: the figures shown may be old."""
        self._quiet_text = f"⚠ {why}：看板上的数据可能不是最新的" if why else ""
        self._show_alert()

    _fault_text = ""
    _quiet_text = ""

    def _show_alert(self) -> None:
        text = "\n".join(t for t in (self._fault_text, self._quiet_text) if t)
        self.store_label.setVisible(bool(text))
        self.store_label.setText(text)

    def _sync(self) -> None:
        if self.sync is None:
            self.kpis["sync"].setText("未配置")
            self.sync_label.setText("同步链路：未配置（大厅独立运行，数据保存在本地）")
            return
        try:
            st = self.sync.status()
        except Exception as exc:
            log.exception("sync status failed")
            st = {"state": "unknown", "reason": str(exc)}
        state = str(st.get("state", "unknown"))
        backlog = st.get("backlog", 0)
        self.kpis["sync"].setText(SYNC_TEXT.get(state, state))
        extra = "；".join(f"{k}={v}" for k, v in st.items() if k not in ("state", "backlog"))
        self.sync_label.setText(f"同步链路：{SYNC_TEXT.get(state, state)}，待上传 {backlog} 条" +
                                (f"\n{extra}" if extra else ""))

    # --- 电子监察 ---------------------------------------------------------------------------------------------------
    def refresh_supervision(self) -> None:
        """Counts (for the tab's title) always; the lists and the month's figures only while the page is shown."""
        try:
            counts = self.client.cases.card_counts()
        except Exception as exc:
            log.exception("card counts failed")
            self.cards_note.setText(f"⚠ 电子监察数据读取失败：{exc}")
            return
        self._calendar_warning()
        alarm = counts["red"] + counts["yellow"]
        self.tabs.setTabText(self.tabs.indexOf(self.supervision),
                             f"电子监察（红牌 {counts['red']} · 黄牌 {counts['yellow']}）" if alarm else "电子监察")
        if self.tabs.currentWidget() in (self.supervision, *self._supervision_pages):
            self._refresh_supervision_page(counts)

    def _refresh_supervision_page(self, counts: dict[str, int]) -> None:
        tz = self.client.config.tz
        today = self.client.now().astimezone(tz).date()
        by = str(self.figures_by.currentData() or "department")
        try:
            cases = self.client.cases
            cards = cases.cards(limit=CARD_LIMIT)
            m_from, m_to = month_range(today.year, today.month)
            figures = [("今日", row) for row in cases.figures(by, today, today)]
            figures += [("本月", row) for row in cases.figures(by, m_from, m_to)]
            month = cases.figures("hall", m_from, m_to)
            rects = cases.rectifications(open_only=True)
        except Exception as exc:
            log.exception("supervision refresh failed")
            self.cards_note.setText(f"⚠ 电子监察数据读取失败：{exc}")
            return
        hall = month[0] if month else {}
        k = self.sup_kpis
        k["red"].setText(str(counts["red"]))
        k["yellow"].setText(str(counts["yellow"]))
        k["rectify_open"].setText(str(len(rects)))
        k["rectify_red"].setText(str(counts["rectify_red"]))
        k["rectify_yellow"].setText(str(counts["rectify_yellow"]))
        k["on_time_month"].setText(percent(hall.get("on_time_rate")))
        k["satisfaction_month"].setText(percent(hall.get("satisfaction_rate")))
        self._cards(cards, counts)
        self._figures(figures, by)
        self._rectifications(rects, tz)


    def _card_cell(self, table: QTableWidget, r: int, card: str) -> None:
        item = QTableWidgetItem(CARD_TEXT.get(card, card))
        pair = PAIRS[CARD_PAIR.get(card, "ticket")]
        item.setForeground(QBrush(QColor(pair.fg)))
        item.setBackground(QBrush(QColor(pair.bg)))
        table.setItem(r, 0, item)

    def _window_name(self, number: Any) -> str:
        if number is None:
            return "—"
        w = self.client.config.window(int(number)) if isinstance(number, int) else None
        return str(w.name) if w is not None else f"{number}号窗口"

    def _cards(self, cards: list[dict[str, Any]], counts: dict[str, int]) -> None:
        self.cards_table.setRowCount(len(cards))
        for r, c in enumerate(cards):
            left = c.get("working_days_left")
            self._row(self.cards_table, r, ["", c["case_no"], c.get("item_name") or "", c.get("applicant") or "—",
                                            c["status_label"], self._window_name(c.get("window")),
                                            c.get("clerk") or "—", due_text(c),
                                            "—" if left is None else f"{left:g}"])
            self._card_cell(self.cards_table, r, c["card"])
        total = counts["red"] + counts["yellow"]
        if not total:
            self.cards_note.setText("没有预警或超期的办件")
        elif total > len(cards):
            self.cards_note.setText(f"共 {total} 件，显示最紧急的 {len(cards)} 件")
        else:
            self.cards_note.setText(f"共 {total} 件")

    def _figures(self, figures: list[tuple[str, dict[str, Any]]], by: str) -> None:
        self.figures_table.setRowCount(len(figures))
        for r, (span, f) in enumerate(figures):
            key = f.get(by)
            group = self._window_name(key) if by == "window" else (str(key) if key else "未填写")
            avg = f.get("avg_working_days")
            self._row(self.figures_table, r, [
                span, group, str(f.get("done", 0)), percent(f.get("on_time_rate")), percent(f.get("early_rate")),
                percent(f.get("on_spot_rate")), "—" if avg is None else f"{avg:.2f}",
                percent(f.get("satisfaction_rate"))])

    def _rectifications(self, rects: list[dict[str, Any]], tz: Any) -> None:
        chosen = self.rect_panel.item["id"] if self.rect_panel.item else None
        self.rect_ids = [it["id"] for it in rects]
        self.rect_table.blockSignals(True)  # redrawing the rows is not the manager choosing one
        self.rect_table.setRowCount(len(rects))
        for r, it in enumerate(rects):
            self._row(self.rect_table, r, ["", it.get("number") or "—", self._window_name(it.get("window")),
                                           it.get("level_label") or "", it.get("reason") or "（待补充原因）",
                                           it.get("case_no") or "未关联", last_day(it.get("due_at"), tz),
                                           it.get("stage_label") or ""])
            self._card_cell(self.rect_table, r, it.get("card") or "none")
        if chosen in self.rect_ids:
            self.rect_table.selectRow(self.rect_ids.index(chosen))
        self.rect_table.blockSignals(False)
        if chosen is not None:
            self.rect_panel.show_item(chosen)  # its steps may have moved on, or it was closed

    def _rect_selected(self) -> None:
        rows = {i.row() for i in self.rect_table.selectedIndexes()}
        self.rect_panel.show_item(self.rect_ids[min(rows)] if rows and min(rows) < len(self.rect_ids) else None)

    def _calendar_warning(self) -> None:
        try:
            warning = self.client.cases.calendar_status().get("warning")
        except Exception:
            log.exception("calendar status failed")
            return
        self.calendar_note.setText(f"⚠ {warning}" if warning else "")
        self.calendar_note.setVisible(bool(warning))

    @staticmethod
    def _row(table: QTableWidget, r: int, values: list[str]) -> None:
        for c, v in enumerate(values):
            item = QTableWidgetItem(v)
            item.setToolTip(v)  # a cell cut short still shows its whole text on hover
            table.setItem(r, c, item)
