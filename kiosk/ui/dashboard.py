"""The manager dashboard: queues, windows and clerks, today's counts and times, 好差评, devices, sync link; a
second page for 电子监察 (yellow/red cases, case figures, 差评 rectification); 人员 (kiosk/ui/staff_page.py); and
报表 (kiosk/ui/report_page.py).
In the screen's language (`hall run dashboard --lang`); the hall's own data (names, catalogue items, departments, a
typed reason) stays as it is."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QPieSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import context as C
from kiosk.core.errors import HallError, StoreFault
from kiosk.core.events import Event
from kiosk.core.figures import month_range
from kiosk.core.rating import ORDER
from kiosk.device_text import by_attention, kind_text, reason_detail, reason_text, state_text
from kiosk.screen_text import (
    business_name,
    card_sign,
    case_status,
    level_text,
    minutes_text,
    preset,
    stage_text,
    window_label,
    window_state,
)
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, direction, error_text, tr
from kiosk.ui.rectify import RectificationPanel
from kiosk.ui.report_page import ReportPage
from kiosk.ui.staff_page import StaffPage
from kiosk.ui.theme import PAIRS, dp, text_scale
from kiosk.ui.widgets import CARD_PAIR, FACE_COLOURS, tag

log = logging.getLogger(__name__)

STATE_MARK = {"idle": "○", "calling": "◎", "serving": "●", "paused": "‖"}  # a window's state never by colour alone
SYNC_KEYS = {"up": "sync_up", "connected": "sync_up", "online": "sync_up", "down": "sync_down",
             "offline": "sync_down", "connecting": "sync_connecting", "disconnected": "sync_down"}


CARD_LIMIT = 100  # never the whole backlog on the UI thread: the worst first, and the count says how many more
FIGURE_GROUPS = [("by_department", "department"), ("by_window", "window"), ("by_clerk", "clerk")]
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


def due_text(case: dict[str, Any], lang: str = "zh") -> str:
    """A case's last day, saying when it is the law's limit (a 法定时限 without a promise has its own cards)."""
    day = case.get("due_day") or "—"
    return f"{day}{tr(lang, 'legal_limit')}" if case.get("deadline_basis") == "legal" else day


class SyncStatus(Protocol):
    def status(self) -> dict[str, Any]: ...


def minutes(seconds: float | None, lang: str = "zh") -> str:
    return minutes_text(seconds, lang)


class DashboardScreen(QWidget):
    def __init__(self, client: HallClient, *, sync: SyncStatus | None = None, refresh_s: float = 5.0,
                 lang: str = "zh", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.sync = sync
        self.lang = lang if lang in LANGUAGES else "zh"
        # who is at this dashboard: nobody (anonymous, at the screen's terminal) until a person signs in with a PIN
        terminal = client.operator.terminal or "dashboard"
        self._nobody = C.anonymous(terminal)
        if not client.operator.is_person:
            client.operator = self._nobody
        self.person: dict[str, Any] | None = None  # the signed-in account (StaffMember.to_dict()), if any
        self.accounts = False  # the hall has staff accounts: the roles hold
        # every fixed word as its string-table key, said again by retranslate()
        self._headers: dict[QTableWidget, list[str]] = {}
        self._titles: list[tuple[QLabel, str]] = []
        self._tab_keys: dict[QWidget, str] = {}
        self.setObjectName("dashboard")
        self.setWindowTitle(f"{client.config.name} · 管理看板")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setLayoutDirection(direction(self.lang))  # lang= as set_language(): Uyghur right to left
        self._build()
        self._style()
        self.retranslate()
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
        """A table whose column headers are these string-table keys."""
        t = QTableWidget(0, len(headers))
        self._headers[t] = headers
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        return t

    def _title(self, key: str, role: str) -> QLabel:
        lab = tag(QLabel(), role)
        self._titles.append((lab, key))
        return lab

    def _box(self, title: str, *widgets: QWidget) -> QFrame:
        f = tag(QFrame(), "box")
        v = QVBoxLayout(f)
        v.setContentsMargins(10, 8, 10, 8)
        v.addWidget(self._title(title, "boxtitle"))
        for w in widgets:  # tables and charts share the height; a caption or a row of controls keeps its own
            v.addWidget(w, 0 if isinstance(w, QLabel) or w.property("head") else 1)
        return f

    @staticmethod
    def _pair(a: QWidget, b: QWidget, stretch: tuple[int, int] = (1, 1)) -> QWidget:
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(a, stretch[0])
        h.addWidget(b, stretch[1])
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
        self.title = tag(QLabel(), "title")
        top.addWidget(self.title, 1)
        self.updated = tag(QLabel(), "muted")
        top.addWidget(self.updated)
        outer.addLayout(top)
        outer.addWidget(self._build_signin())
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
        self.report_page = ReportPage(self.client)  # 报表: the reports of `hall report`, made and printed here
        self.staff_page = StaffPage(self.client)  # 人员: the staff accounts, read when its tab is opened
        for page, key in ((self.overview, "dash_overview"), (self.supervision, "dash_supervision"),
                          (self.staff_page, "staff_tab"), (self.report_page, "report_tab")):
            self.tabs.addTab(page, tr(self.lang, key))
            self._tab_keys[page] = key
        outer.addWidget(self.tabs, 1)
        self.tabs.currentChanged.connect(self._tab_opened)
        self._build_supervision()
        root = QVBoxLayout(self.overview)
        root.setContentsMargins(4, 8, 4, 4)
        root.setSpacing(10)

        self.kpis: dict[str, QLabel] = {}
        root.addLayout(self._kpi_row(self.kpis, (
            ("issued", "kpi_issued"), ("done", "kpi_done"), ("waiting", "kpi_waiting"), ("no_show", "kpi_no_show"),
            ("avg_wait", "kpi_avg_wait"), ("avg_service", "kpi_avg_service"), ("satisfaction", "kpi_satisfaction"),
            ("bad", "kpi_bad"), ("sync", "kpi_sync"))))

        grid = QGridLayout()
        grid.setSpacing(10)
        self.queue_chart = QChart()
        self.queue_chart.legend().hide()
        self._chart_look(self.queue_chart)
        # the chart's two axes live as long as it does: an axis removed and replaced on each redraw stayed drawn
        # under the new one (the last language's names showing through)
        self.queue_x, self.queue_y = QBarCategoryAxis(), QValueAxis()
        self.queue_x.setTruncateLabels(False)  # never "…": a name too long for the axis is said by its letter
        self.queue_y.setLabelFormat("%d")
        self.queue_chart.addAxis(self.queue_x, Qt.AlignmentFlag.AlignLeft)
        self.queue_chart.addAxis(self.queue_y, Qt.AlignmentFlag.AlignBottom)
        self.queue_view = QChartView(self.queue_chart)
        self.queue_view.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # bars grow rightwards in every language
        self.queue_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.queue_view.setMinimumHeight(260)
        self.queue_table = self._table(["col_business", "col_waiting", "col_longest", "col_issued", "col_avg_wait",
                                        "col_avg_service"])
        self._fit_columns(self.queue_table, keep=5)  # a business's name and state are read whole
        # the table's columns are read whole in every language: it takes the larger part
        self.queue_box = self._box("queue_box", self._pair(self.queue_view, self.queue_table, (2, 3)))
        grid.addWidget(self.queue_box, 0, 0)

        self.window_table = self._table(["col_window", "col_state", "col_clerk", "col_current", "col_done_today",
                                         "col_avg_service", "col_business"])
        for col in range(6):  # the business list takes what is left
            self.window_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.window_box = self._box("window_box", self.window_table)
        grid.addWidget(self.window_box, 0, 1)

        self.rating_chart = QChart()
        self.rating_chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self._chart_look(self.rating_chart)
        self.rating_view = QChartView(self.rating_chart)
        self.rating_view.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.rating_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.rating_view.setMinimumHeight(260)
        self.rating_note = tag(QLabel(), "muted")
        self.bad_table = self._table(["col_number", "col_window", "col_level", "col_reason", "col_comment"])
        self._fit_columns(self.bad_table, keep=4)  # the reason is read whole; the citizen's words get the rest
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.rating_view, 1)
        lv.addWidget(self.rating_note)
        self.rating_box = self._box("rating_box", self._pair(left, self.bad_table))
        grid.addWidget(self.rating_box, 1, 0)

        self.device_table = self._table(["col_device", "col_kind", "col_state", "col_reason", "col_time"])
        self.sync_label = tag(QLabel(), "body")
        self.sync_label.setWordWrap(True)
        # the hall's own database is part of its health: a fault shows here until a command is saved again
        self.store_label = tag(QLabel(), "alert")
        self.store_label.setWordWrap(True)
        self.store_label.hide()
        self.device_box = self._box("device_box", self.device_table, self.sync_label, self.store_label)
        grid.addWidget(self.device_box, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        root.addLayout(grid, 1)
        self.overview_grid = grid
        self._arrange(compact=True)  # until the first resize says the screen is big: a window never grows past it

    def _build_signin(self) -> QWidget:
        """工号 + 6-digit PIN, 登录 / 退出, and who is signed in: shown only in a hall with staff accounts."""
        bar = tag(QFrame(), "signin")
        bar.setObjectName("signin_bar")
        h = QHBoxLayout(bar)
        h.setContentsMargins(10, 4, 10, 4)
        h.setSpacing(8)
        self.signin_who = tag(QLabel(), "body")
        self.signin_who.setObjectName("signin_who")
        self.signin_who.setWordWrap(True)
        self.signin_no = QLineEdit()
        self.signin_no.setObjectName("signin_no")
        self.signin_no.setMaxLength(32)
        self.signin_pin = QLineEdit()
        self.signin_pin.setObjectName("signin_pin")
        self.signin_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.signin_pin.setMaxLength(6)
        self.signin_button = QPushButton()
        self.signin_button.setObjectName("signin_button")
        self.signout_button = QPushButton()
        self.signout_button.setObjectName("signout_button")
        self.signin_error = tag(QLabel(), "signin_error")
        self.signin_error.setObjectName("signin_error")
        self.signin_error.setWordWrap(True)
        for w in (self.signin_no, self.signin_pin):
            w.setFixedWidth(150)
        h.addWidget(self.signin_who, 1)
        h.addWidget(self.signin_error, 1)
        for w in (self.signin_no, self.signin_pin, self.signin_button, self.signout_button):
            h.addWidget(w)
        self.signin_button.clicked.connect(lambda: self.sign_in())
        self.signin_pin.returnPressed.connect(lambda: self.sign_in())
        self.signout_button.clicked.connect(self.sign_out)
        self.signin_bar = bar
        bar.hide()
        return bar

    # --- who is at the dashboard ----------------------------------------------------------------------------------
    def sign_in(self, staff_no: str | None = None, pin: str | None = None) -> bool:
        """登录: the PIN checked by the hall (staff.verify: the window sign-in's lock-out and refusals); from then on
        the dashboard's commands are this person's, with their role.  The PIN field is cleared whatever happens."""
        no = (staff_no if staff_no is not None else self.signin_no.text()).strip()
        typed = pin if pin is not None else self.signin_pin.text()
        self.signin_pin.clear()
        try:
            member: dict[str, Any] = self.client.staff.verify(no, typed)
        except HallError as exc:
            self.signin_error.setText(f"✖ {error_text(self.lang, exc)}")
            return False
        self.person = member
        self.client.operator = C.staff(member["staff_no"], self._nobody.terminal, member["role"])
        self.signin_error.setText("")
        self.signin_no.clear()
        self._show_person()
        return True

    def sign_out(self) -> None:
        """退出: back to nobody; a LAN dashboard drops its server session too."""
        try:
            self.client.staff.end_session()
        except (HallError, AttributeError):
            log.exception("ending the staff session failed")
        self.person = None
        self.client.operator = self._nobody
        self.signin_error.setText("")
        self._show_person()

    def _check_accounts(self) -> None:
        try:
            accounts = bool(self.client.has_staff_accounts())
        except Exception:
            log.exception("has_staff_accounts failed")
            return
        if accounts != self.accounts:
            self.accounts = accounts
            self._show_person()

    def _show_person(self) -> None:
        """The bar and what the pages let the one at the dashboard do (the hall checks every command again)."""
        person, signed = self.person, self.person is not None
        self.signin_bar.setVisible(self.accounts or signed)
        for w in (self.signin_no, self.signin_pin, self.signin_button):
            w.setVisible(not signed)
        self.signout_button.setVisible(signed)
        if person is not None:
            self.signin_who.setText(self.t("dash_signed_in", role=self.t(f"role_{person['role']}"),
                                           name=person.get("name", ""), staff_no=person["staff_no"]))
        else:
            self.signin_who.setText(self.t("dash_nobody"))
        role = person["role"] if person is not None else None
        manage = not self.accounts or role in ("manager", "admin")
        admin = not self.accounts or role == "admin"
        self.report_page.set_allowed(manage, "need_manager")
        self.staff_page.set_allowed(admin, "need_admin")

    # --- arrangement: a 1920×1080 monitor shows two pages of four boxes; a 1366×768 laptop one box a page ------------
    COMPACT_BELOW = (1600, 900)  # narrower or lower than this: one box a page, so every column and label fits
    # Uyghur's words are about twice as long as Chinese, Tibetan's lines twice as tall: one box a page at any size
    ONE_BOX_LANGUAGES = frozenset({"ug", "bo"})

    _compact: bool | None = None
    _supervision_pages: tuple[QWidget, ...] = ()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rearrange()

    def _rearrange(self) -> None:
        compact = (self.width() < self.COMPACT_BELOW[0] or self.height() < self.COMPACT_BELOW[1]
                   or self.lang in self.ONE_BOX_LANGUAGES)
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
            if self.tabs.widget(i) not in (self.overview, self.supervision, self.staff_page, self.report_page):
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
            self._tab_keys.pop(page, None)
            page.deleteLater()
        self._supervision_pages = ()
        if compact:
            after = self.tabs.indexOf(self.overview) + 1
            for key, box in (("window_box", self.window_box), ("tab_ratings", self.rating_box),
                             ("device_box", self.device_box)):
                page = self._page(box)
                self._tab_keys[page] = key
                self.tabs.insertTab(after, page, tr(self.lang, key))
                after += 1
            figures, rect = self._page(self.figures_box), self._page(self.rect_box)
            self._tab_keys.update({figures: "tab_figures", rect: "tab_rectify"})
            self.tabs.addTab(figures, tr(self.lang, "tab_figures"))
            self.tabs.addTab(rect, tr(self.lang, "tab_rectify"))
            self._supervision_pages = (figures, rect)
        self.tabs.tabBar().moveTab(self.tabs.indexOf(self.report_page), self.tabs.count() - 1)  # 报表 stays last
        self.tabs.tabBar().moveTab(self.tabs.indexOf(self.staff_page), self.tabs.count() - 2)  # 人员 before it
        index = self.tabs.indexOf(current)
        self.tabs.setCurrentIndex(index if index >= 0 else 0)

    def _tab_opened(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.staff_page:  # 人员: the accounts as they are now
            self.staff_page.refresh()

    def _kpi_row(self, into: dict[str, QLabel], tiles: tuple[tuple[str, str], ...]) -> QHBoxLayout:
        row = QHBoxLayout()
        for key, label in tiles:
            f = tag(QFrame(), "kpi")
            v = QVBoxLayout(f)
            v.setContentsMargins(8, 6, 8, 6)
            v.addWidget(self._title(label, "kpilabel"))
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
            ("red", "kpi_red"), ("yellow", "kpi_yellow"), ("rectify_open", "kpi_rectify_open"),
            ("rectify_red", "kpi_rectify_red"), ("rectify_yellow", "kpi_rectify_yellow"),
            ("on_time_month", "kpi_on_time_month"), ("satisfaction_month", "kpi_satisfaction_month"))))
        grid = QGridLayout()
        grid.setSpacing(10)
        self.cards_table = self._table(["col_card", "col_case_no", "col_item", "col_applicant", "col_state",
                                        "col_window", "col_handler", "col_due", "col_days_left"])
        self.cards_table.setObjectName("cards_table")
        self._fit_columns(self.cards_table, keep=2)  # the item name takes what is left
        self.cards_note = tag(QLabel(), "muted")
        self.cards_box = self._box("cards_box", self.cards_table, self.cards_note)
        grid.addWidget(self.cards_box, 0, 0, 2, 1)
        self.figures_by = QComboBox()
        for label, key in FIGURE_GROUPS:
            self.figures_by.addItem(tr(self.lang, label), key)
        self.figures_by.currentIndexChanged.connect(lambda _i: self.refresh_supervision())
        self.figures_table = self._table(["col_span", "col_group", "col_done", "col_on_time", "col_early",
                                          "col_on_spot", "col_avg_days", "col_satisfaction"])
        self.figures_table.setObjectName("figures_table")
        self._fit_columns(self.figures_table, keep=1)
        head = QWidget()
        head.setProperty("head", True)
        hh = QHBoxLayout(head)
        hh.setContentsMargins(0, 0, 0, 0)
        hh.addWidget(self._title("group_label", "body"))
        hh.addWidget(self.figures_by)
        hh.addStretch(1)
        self.figures_box = self._box("figures_box", head, self.figures_table)
        grid.addWidget(self.figures_box, 0, 1)
        self.rect_table = self._table(["col_card", "col_number", "col_window", "col_level", "col_reason",
                                       "col_case_no", "col_rect_due", "col_stage"])
        self.rect_table.setObjectName("rect_table")
        self._fit_columns(self.rect_table, keep=4)  # the reason takes what is left
        # a row opens its detail: every step taken and the form for the next (kiosk/ui/rectify.py)
        self.rect_table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.rect_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.rect_table.itemSelectionChanged.connect(self._rect_selected)
        self.rect_ids: list[str] = []
        self.rect_panel = RectificationPanel(self.client)
        self.rect_panel.changed.connect(self.refresh_supervision)
        self.rect_box = self._box("rect_box", self.rect_table, self.rect_panel)
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

        def text(px: float) -> int:  # Tibetan words smaller: its lines are twice as tall (theme.text_scale)
            return dp(self, px * self._scale())

        self._text_px = text(16)

        # tabs padded 14px a side: nine compact tabs in Uyghur fit 1366 px without scroll buttons
        self.setStyleSheet(f"""
            #dashboard {{ {pair('page')} }}
            QWidget {{ font-size: {text(16)}px; }}
            QLabel[role="title"] {{ color: {P['page'].fg}; font-size: {text(26)}px; font-weight: bold; }}
            QLabel[role="muted"] {{ {pair('muted')} }}
            QLabel[role="body"] {{ color: {P['page'].fg}; }}
            QLabel[role="alert"] {{ {pair('error')} border: 2px solid {P['error'].fg}; border-radius: 6px; padding: 6px;
                font-weight: bold; }}
            QFrame[role="box"] {{ {pair('ticket')} border: 1px solid #C5CBD3; border-radius: 8px; }}
            QFrame[role="box"] QLabel[role="muted"] {{ color: {P['muted'].fg}; background: transparent; }}
            QLabel[role="boxtitle"] {{ color: {P['ticket'].fg}; background: transparent; font-size: {text(20)}px;
                font-weight: bold; }}
            QFrame[role="kpi"] {{ {pair('header')} border-radius: 8px; }}
            QFrame[role="signin"] {{ {pair('ticket')} border: 1px solid #C5CBD3; border-radius: 8px; }}
            QFrame[role="signin"] QLabel {{ background: transparent; }}
            QLabel[role="signin_error"] {{ color: {P['error'].fg}; font-weight: bold; }}
            QLabel[role="kpilabel"] {{ {pair('header')} }}
            QLabel[role="kpivalue"] {{ {pair('header')} font-size: {text(28)}px; font-weight: bold; }}
            QTableWidget {{ color: {P['page'].fg}; background-color: #FFFFFF; gridline-color: #D5DAE0; }}
            QHeaderView::section {{ {pair('action')} font-weight: bold; border: 0; padding: 4px; }}
            QTabBar::tab {{ {pair('action')} font-size: {text(18)}px; font-weight: bold; padding: 8px 14px;
                border: 1px solid #C5CBD3; border-bottom: 0; }}
            QTabBar::tab:selected {{ {pair('header')} }}
            QTabWidget::pane {{ border: 0; }}
        """)

    # --- language -------------------------------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    def set_language(self, lang: str) -> None:
        """Every word in `lang`, the figures read again (the hall's own data stays as it is)."""
        scale = self._scale()
        self.lang = lang if lang in LANGUAGES else "zh"
        self.setLayoutDirection(direction(self.lang))
        if self._scale() != scale:
            self._style()
        if self._compact is not None:
            self._rearrange()
        self.retranslate()
        self.refresh()
        self.refresh_supervision()

    def _scale(self) -> float:
        """The staff screens' script scale (theme.text_scale), a little less for Tibetan here: a 1366×768 laptop
        still shows every row of the day's cards at once."""
        return 0.75 if self.lang == "bo" else text_scale(self.lang)

    def _line_height(self) -> int:
        """How tall a line of the screen's language is in its tables (Qt's per-script fallback included)."""
        font = QFont(self.font())
        font.setPixelSize(self._text_px)
        return QFontMetrics(font).size(0, self.t("col_state") + self.t("dash_title")).height()

    def retranslate(self) -> None:
        self.title.setText(f"{self.client.config.name} · {self.t('dash_title')}")
        row = self._line_height() + 2  # a Tibetan row is taller than a Chinese one
        for table, keys in self._headers.items():
            table.setHorizontalHeaderLabels([self.t(k) for k in keys])
            table.verticalHeader().setDefaultSectionSize(max(30, row))
        for lab, key in self._titles:
            lab.setText(self.t(key))
        for page, key in self._tab_keys.items():
            i = self.tabs.indexOf(page)
            if i >= 0 and page is not self.supervision:  # its title carries its counts: refresh_supervision
                self.tabs.setTabText(i, self.t(key))
        self.queue_chart.setTitle(self.t("queue_chart"))
        self.rating_chart.setTitle(self.t("rating_chart"))
        for i, (label, _key) in enumerate(FIGURE_GROUPS):
            self.figures_by.setItemText(i, self.t(label))
        self.figures_by.setMinimumHeight(row + 8)  # its frame and arrow around a line of the language
        self.rect_panel.set_language(self.lang)
        self.report_page.set_language(self.lang)
        self.staff_page.set_language(self.lang)
        self.signin_no.setPlaceholderText(self.t("caller_staff_id"))
        self.signin_pin.setPlaceholderText(self.t("caller_staff_pin"))
        self.signin_button.setText(self.t("dash_sign_in"))
        self.signout_button.setText(self.t("dash_sign_out"))
        for w in (self.signin_no, self.signin_pin, self.signin_button, self.signout_button):
            w.setMinimumHeight(row + 12)
        self._show_person()
        self._show_alert()

    # --- data -----------------------------------------------------------------------------------------------------
    def on_event(self, e: Event) -> None:
        self.soon.start()
        if e.kind.startswith(SUPERVISION_PREFIXES):
            self.soon_supervision.start()

    def refresh(self) -> None:
        self._check_accounts()  # an account added at `hall staff` turns the roles on here too
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
            self.updated.setText(self.t("read_failed", error=exc))
            return
        self._kpis(today, counts, times, summary)
        self._queue(counts, today, times)
        self._windows(windows, per_window)
        self._ratings(summary, bad)
        self._devices(devices)
        self._sync()
        now = self.client.now().astimezone(self.client.config.tz).strftime("%H:%M:%S")
        self.updated.setText(self.t("updated_at", time=now))

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
        self.kpis["avg_wait"].setText(minutes(avg("avg_wait_s"), self.lang))
        self.kpis["avg_service"].setText(minutes(avg("avg_service_s"), self.lang))
        self.kpis["satisfaction"].setText(f"{rate * 100:.1f}%" if rate is not None else "—")
        pending = summary.get("reason_pending", 0)
        self.kpis["bad"].setText(f"{summary.get('bad', 0)}" + (self.t("kpi_bad_pending", n=pending) if pending else ""))

    def _queue(self, counts: list[dict[str, Any]], today: dict[str, Any], times: dict[str, Any]) -> None:
        self.queue_chart.removeAllSeries()
        bars = QBarSet(self.t("col_waiting"))
        bars.setColor(QColor(PAIRS["business"].bg))
        names = []
        cfg = self.client.config
        # the axis gives its labels about a third of the chart: when a name is longer than that (Uyghur, Tibetan)
        # every bar is said by its ticket letter, which the table beside spells out ("A 社保医保")
        room = max(120, self.queue_view.width() // 3)
        fm = QFontMetrics(self.queue_x.labelsFont())
        for c in reversed(counts):  # horizontal bars are drawn bottom-up; keep the config order top-down
            bars.append(c["waiting"])
            names.append(business_name(cfg, c["business"], self.lang, c["name"]))
        lettered = any(fm.horizontalAdvance(n) > room for n in names)
        if lettered:
            names = [self._prefix(c["business"]) for c in reversed(counts)]
        series = QHorizontalBarSeries()  # names on the left read better than squeezed Chinese captions
        series.append(bars)
        series.setLabelsVisible(True)
        self.queue_chart.addSeries(series)
        ax_x, ax_y = self.queue_x, self.queue_y
        ax_x.clear()
        ax_x.append(names)
        top = max([c["waiting"] for c in counts] + [4]) + 1
        step = max(1, -(-top // 5))  # whole-number ticks, at most six of them
        ax_y.setRange(0, step * 5 if top > 5 else top)
        ax_y.setTickCount(6 if top > 5 else top + 1)
        series.attachAxis(ax_x)
        series.attachAxis(ax_y)
        self.queue_table.setRowCount(len(counts))
        for r, c in enumerate(counts):
            t = times.get(c["business"], {})
            state = self.t("board_closed") if c.get("closed") else ""
            name = business_name(cfg, c["business"], self.lang, c["name"])
            name = f"{self._prefix(c['business'])} {name}" if lettered else name  # the chart's letters spelt out
            self._row(self.queue_table, r, [
                f"{name} {state}".strip(), str(c["waiting"]), minutes(c["longest_wait_s"], self.lang),
                str(today.get(c["business"], {}).get("issued", 0)), minutes(t.get("avg_wait_s"), self.lang),
                minutes(t.get("avg_service_s"), self.lang)])

    def _prefix(self, code: str) -> str:
        b = self.client.config.business(code)
        return b.prefix if b is not None else code

    def _windows(self, windows: list[dict[str, Any]], per_window: dict[int, dict[str, Any]]) -> None:
        self.window_table.setRowCount(len(windows))
        cfg, lang = self.client.config, self.lang
        for r, w in enumerate(windows):
            said = self.t("wstate_paused_short") if w["state"] == "paused" else window_state(w["state"], lang)
            state = f"{STATE_MARK.get(w['state'], '')} {said}".strip()
            if w["state"] == "paused" and w.get("pause_reason"):
                reason = preset(w["pause_reason"], lang)  # a preset reason translated, a typed one as typed
                state += f"（{reason}）" if lang == "zh" else f" ({reason})"
            sep = "、" if lang == "zh" else " · "  # a Tibetan name ends in its own shad
            biz = self.t("combined") if w.get("combined") else sep.join(business_name(cfg, b, lang)
                                                                        for b in w["businesses"])
            t = per_window.get(w["number"], {})
            self._row(self.window_table, r, [window_label(cfg, w["number"], lang), state,
                                             w.get("clerk_name") or self.t("unsigned"),
                                             w["current"]["number"] if w.get("current") else "—",
                                             str(t.get("served", 0)), minutes(t.get("avg_service_s"), lang), biz])

    def _ratings(self, summary: dict[str, Any], bad: list[dict[str, Any]]) -> None:
        self.rating_chart.removeAllSeries()
        pie = QPieSeries()
        dist = summary.get("distribution", {})
        for lv in ORDER:
            n = int(dist.get(lv.value, 0))
            sl = pie.append(f"{level_text(lv, self.lang)} {n}", n)
            sl.setColor(QColor(FACE_COLOURS[lv]))
            sl.setLabelVisible(False)  # the legend carries the words and counts
        if summary.get("rated", 0) == 0:
            pie.append(self.t("no_ratings"), 1).setColor(QColor("#C5CBD3"))
        self.rating_chart.addSeries(pie)
        note = self.t("rating_note", rated=summary.get("rated", 0), unrated=summary.get("unrated", 0))
        if summary.get("policy_days"):
            counted = summary.get("unrated_counted_as_satisfied", 0)
            note += self.t("rating_policy", days=summary["policy_days"], n=counted)
        self.rating_note.setText(note)
        self.bad_table.setRowCount(len(bad))
        for r, b in enumerate(bad):
            reason = preset(b.get("reason"), self.lang) or self.t("reason_pending")
            self._row(self.bad_table, r, [b["number"], window_label(self.client.config, b["window"], self.lang),
                                          level_text(b.get("level"), self.lang), reason, b.get("text") or ""])

    def _devices(self, devices: list[dict[str, Any]]) -> None:
        devices = by_attention(devices)  # what needs a person first, said in the screen's language
        self.device_table.setRowCount(len(devices))
        tz, lang = self.client.config.tz, self.lang
        for r, d in enumerate(devices):
            try:
                since = datetime.fromisoformat(str(d.get("since"))).astimezone(tz).strftime("%H:%M:%S")
            except ValueError:
                since = ""
            self._row(self.device_table, r, [d["name"], kind_text(str(d.get("kind", "")), lang),
                                             state_text(str(d["state"]), lang), reason_text(d.get("reason"), lang),
                                             since])
            self.device_table.item(r, 3).setToolTip(reason_detail(d.get("reason"), lang))

    def on_store_fault(self, fault: StoreFault | None) -> None:
        self._fault = fault
        self._show_alert()

    def on_quiet(self, why: str | None) -> None:
        """The store or the hall server stopped answering: the figures shown may be old."""
        self._quiet = why
        self._show_alert()

    _fault: StoreFault | None = None
    _quiet: str | None = None
    _text_px = 16

    def _show_alert(self) -> None:
        fault = f"⚠ {error_text(self.lang, self._fault)}" if self._fault is not None else ""
        # the system's own words exist in Chinese: a Chinese reader gets them, every reader what they mean here
        quiet = "⚠ " + (f"{self._quiet}：" if self.lang == "zh" else "") + self.t("dash_maybe_old") \
            if self._quiet else ""
        text = "\n".join(t for t in (fault, quiet) if t)
        self.store_label.setVisible(bool(text))
        self.store_label.setText(text)

    def _sync(self) -> None:
        if self.sync is None:
            self.kpis["sync"].setText(self.t("sync_off"))
            self.sync_label.setText(self.t("sync_off_note"))
            return
        try:
            st = self.sync.status()
        except Exception as exc:
            log.exception("sync status failed")
            st = {"state": "unknown", "reason": str(exc)}
        state = str(st.get("state", "unknown"))
        backlog = st.get("backlog", 0)
        said = self.t(SYNC_KEYS[state]) if state in SYNC_KEYS else state
        self.kpis["sync"].setText(said)
        extra = "；".join(f"{k}={v}" for k, v in st.items() if k not in ("state", "backlog"))
        self.sync_label.setText(self.t("sync_note", state=said, n=backlog) + (f"\n{extra}" if extra else ""))

    # --- 电子监察 ---------------------------------------------------------------------------------------------------
    def refresh_supervision(self) -> None:
        """Counts (for the tab's title) always; the lists and the month's figures only while the page is shown."""
        try:
            counts = self.client.cases.card_counts()
        except Exception as exc:
            log.exception("card counts failed")
            self.cards_note.setText(self.t("supervision_failed", error=exc))
            return
        self._calendar_warning()
        alarm = counts["red"] + counts["yellow"]
        self.tabs.setTabText(self.tabs.indexOf(self.supervision),
                             self.t("dash_supervision_n", red=counts["red"], yellow=counts["yellow"]) if alarm
                             else self.t("dash_supervision"))
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
            figures = [(self.t("span_today"), row) for row in cases.figures(by, today, today)]
            figures += [(self.t("span_month"), row) for row in cases.figures(by, m_from, m_to)]
            month = cases.figures("hall", m_from, m_to)
            rects = cases.rectifications(open_only=True)
        except Exception as exc:
            log.exception("supervision refresh failed")
            self.cards_note.setText(self.t("supervision_failed", error=exc))
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
        item = QTableWidgetItem(card_sign(card, self.lang))
        pair = PAIRS[CARD_PAIR.get(card, "ticket")]
        item.setForeground(QBrush(QColor(pair.fg)))
        item.setBackground(QBrush(QColor(pair.bg)))
        table.setItem(r, 0, item)

    def _window_name(self, number: Any) -> str:
        return window_label(self.client.config, number, self.lang)

    def _cards(self, cards: list[dict[str, Any]], counts: dict[str, int]) -> None:
        self.cards_table.setRowCount(len(cards))
        for r, c in enumerate(cards):
            left = c.get("working_days_left")
            self._row(self.cards_table, r, ["", c["case_no"], c.get("item_name") or "", c.get("applicant") or "—",
                                            case_status(c["status"], self.lang, c["status_label"]),
                                            self._window_name(c.get("window")), c.get("clerk") or "—",
                                            due_text(c, self.lang), "—" if left is None else f"{left:g}"])
            self._card_cell(self.cards_table, r, c["card"])
        total = counts["red"] + counts["yellow"]
        if not total:
            self.cards_note.setText(self.t("cards_none"))
        elif total > len(cards):
            self.cards_note.setText(self.t("cards_some", total=total, n=len(cards)))
        else:
            self.cards_note.setText(self.t("cards_all", n=total))

    def _figures(self, figures: list[tuple[str, dict[str, Any]]], by: str) -> None:
        self.figures_table.setRowCount(len(figures))
        for r, (span, f) in enumerate(figures):
            key = f.get(by)
            group = self._window_name(key) if by == "window" else (str(key) if key else self.t("not_filled"))
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
                                           level_text(it.get("level"), self.lang),
                                           preset(it.get("reason"), self.lang) or self.t("reason_pending"),
                                           it.get("case_no") or self.t("unlinked"), last_day(it.get("due_at"), tz),
                                           stage_text(it.get("stage"), self.lang, it.get("stage_label") or "")])
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
            status = self.client.cases.calendar_status()
        except Exception:
            log.exception("calendar status failed")
            return
        warning, gap = status.get("warning"), status.get("gap_from")
        if warning and gap:  # said from its date in any language (kiosk/core/holidays.py words it in Chinese)
            warning = self.t("calendar_gap", year=str(gap)[:4], date=gap)
        self.calendar_note.setText(f"⚠ {warning}" if warning else "")
        self.calendar_note.setVisible(bool(warning))

    @staticmethod
    def _row(table: QTableWidget, r: int, values: list[str]) -> None:
        for c, v in enumerate(values):
            item = QTableWidgetItem(v)
            item.setToolTip(v)  # a cell cut short still shows its whole text on hover
            table.setItem(r, c, item)
