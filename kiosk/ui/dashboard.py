"""The manager dashboard: queues, windows and clerks, today's counts and times, 好差评, devices, sync link."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QPieSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.events import Event
from kiosk.core.rating import LABELS, ORDER
from kiosk.ui.client import HallClient
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import FACE_COLOURS, tag

log = logging.getLogger(__name__)

STATE_TEXT = {"idle": "○ 空闲", "calling": "◎ 叫号中", "serving": "● 办理中", "paused": "‖ 暂停"}
HEALTH_TEXT = {"ok": "✔ 正常", "degraded": "▲ 异常", "offline": "✖ 离线"}
SYNC_TEXT = {"up": "✔ 已连接", "connected": "✔ 已连接", "online": "✔ 已连接", "down": "✖ 断开",
             "offline": "✖ 断开", "connecting": "… 连接中", "disconnected": "✖ 断开"}


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
        self.periodic = QTimer(self)
        self.periodic.timeout.connect(self.refresh)
        self.periodic.start(int(refresh_s * 1000))
        client.events.connect(self.on_event)
        self.refresh()

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
        for w in widgets:
            v.addWidget(w, 1)
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
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 12, 12, 12)
        root.setSpacing(10)
        top = QHBoxLayout()
        top.addWidget(tag(QLabel(f"{self.client.config.name} · 管理看板"), "title"), 1)
        self.updated = tag(QLabel(), "muted")
        top.addWidget(self.updated)
        root.addLayout(top)

        kpi = QHBoxLayout()
        self.kpis: dict[str, QLabel] = {}
        for key, label in (("issued", "今日取号"), ("done", "已办结"), ("waiting", "等候中"), ("no_show", "过号"),
                           ("avg_wait", "平均等候"), ("avg_service", "平均办理"), ("satisfaction", "满意率"),
                           ("bad", "差评"), ("sync", "同步链路")):
            f = tag(QFrame(), "kpi")
            v = QVBoxLayout(f)
            v.setContentsMargins(8, 6, 8, 6)
            v.addWidget(tag(QLabel(label), "kpilabel"))
            value = tag(QLabel("—"), "kpivalue")
            v.addWidget(value)
            self.kpis[key] = value
            kpi.addWidget(f)
        root.addLayout(kpi)

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
        grid.addWidget(self._box("排队", self._pair(self.queue_view, self.queue_table)), 0, 0)

        self.window_table = self._table(["窗口", "状态", "工作人员", "当前号码", "今日办结", "平均办理", "业务"])
        for col in range(6):  # the business list takes what is left
            self.window_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        grid.addWidget(self._box("窗口与工作人员", self.window_table), 0, 1)

        self.rating_chart = QChart()
        self.rating_chart.setTitle("好差评分布（今日）")
        self.rating_chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self._chart_look(self.rating_chart)
        self.rating_view = QChartView(self.rating_chart)
        self.rating_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.rating_view.setMinimumHeight(260)
        self.rating_note = tag(QLabel(), "muted")
        self.bad_table = self._table(["号码", "窗口", "评价", "原因", "留言"])
        for col in (0, 1, 2):  # short columns fit their text; the reason and the words get the room
            self.bad_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.rating_view, 1)
        lv.addWidget(self.rating_note)
        grid.addWidget(self._box("好差评（差评及原因）", self._pair(left, self.bad_table)), 1, 0)

        self.device_table = self._table(["设备", "类型", "状态", "原因", "时间"])
        self.sync_label = tag(QLabel(), "body")
        self.sync_label.setWordWrap(True)
        grid.addWidget(self._box("设备与同步", self.device_table, self.sync_label), 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        root.addLayout(grid, 1)

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
            QFrame[role="box"] {{ {pair('ticket')} border: 1px solid #C5CBD3; border-radius: 8px; }}
            QFrame[role="box"] QLabel[role="muted"] {{ color: {P['muted'].fg}; background: transparent; }}
            QLabel[role="boxtitle"] {{ color: {P['ticket'].fg}; background: transparent; font-size: {dp(self, 20)}px;
                font-weight: bold; }}
            QFrame[role="kpi"] {{ {pair('header')} border-radius: 8px; }}
            QLabel[role="kpilabel"] {{ {pair('header')} }}
            QLabel[role="kpivalue"] {{ {pair('header')} font-size: {dp(self, 28)}px; font-weight: bold; }}
            QTableWidget {{ color: {P['page'].fg}; background-color: #FFFFFF; gridline-color: #D5DAE0; }}
            QHeaderView::section {{ {pair('action')} font-weight: bold; border: 0; padding: 4px; }}
        """)

    # --- data -----------------------------------------------------------------------------------------------------
    def on_event(self, e: Event) -> None:
        self.soon.start()

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
        self.device_table.setRowCount(len(devices))
        tz = self.client.config.tz
        for r, d in enumerate(devices):
            try:
                since = datetime.fromisoformat(str(d.get("since"))).astimezone(tz).strftime("%H:%M:%S")
            except ValueError:
                since = ""
            self._row(self.device_table, r, [d["name"], d.get("kind", ""), HEALTH_TEXT.get(d["state"], d["state"]),
                                             d.get("reason") or "", since])

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

    @staticmethod
    def _row(table: QTableWidget, r: int, values: list[str]) -> None:
        for c, v in enumerate(values):
            item = QTableWidgetItem(v)
            item.setToolTip(v)  # a cell cut short still shows its whole text on hover
            table.setItem(r, c, item)
