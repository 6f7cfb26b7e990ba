"""The citizen kiosk (取号机): take a ticket, appointment check-in and booking, 办事指南, case lookup — by keypad,
ID card or scanned code; elder mode and languages."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from devices.reads import IdCardRead, Read, ReadRefused, ScanRead
from kiosk.citizen import business_lines, business_name, case_text, guide_text, ticket_status_text, value
from kiosk.core import events as ev
from kiosk.core.codes import Kind, Scanned, classify, ticket_patterns
from kiosk.core.errors import AppointmentNotFound, DailyCapReached, HallError, SlotFull, StoreFault, TicketNotFound
from kiosk.core.estimate import new_ticket_wait_s, wait_minutes
from kiosk.core.events import Event
from kiosk.core.privacy import valid_id
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, direction, error_text, tr
from kiosk.ui.inputs import DeviceInputs, WedgeScanner
from kiosk.ui.menu import CATALOG_UPDATED, CatalogMenu, GuideItems
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import Keypad, LabelButton, WrapButton, tag

log = logging.getLogger(__name__)

HOME, ID_ENTRY, RESULT, CHECK_IN, GUIDE, CASE, BOOK = range(7)
PRINTED_HOME_S = 20  # a printed ticket: back home soon, the next citizen is waiting
# what changes a business button: its queue, its state, its windows (paused: 暂停取号), its estimate (a service done)
REFRESH_KINDS = {ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_NO_SHOW, ev.TICKET_TRANSFERRED, ev.TICKET_VOIDED,
                 ev.TICKET_EXPIRED, ev.BUSINESS_CLOSED, ev.BUSINESS_OPENED, ev.DAY_CLOSED, ev.WINDOW_PAUSED,
                 ev.WINDOW_RESUMED, ev.SERVICE_FINISHED, ev.NOTICE_CHANGED, CATALOG_UPDATED}
BOOKING_KINDS = {ev.APPOINTMENT_BOOKED, ev.APPOINTMENT_CANCELLED, ev.DAY_CLOSED}
LTR = Qt.LayoutDirection.LeftToRight
INPUT_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress}
# what a ReadRefused's key is called in STRINGS (devices/reads.py)
REFUSAL_KEYS = {"expired": "id_expired", "not_yet_valid": "id_not_yet_valid", "unreadable": "id_unreadable",
                "unsupported_card": "id_unsupported"}


class Printer(Protocol):
    def can_print(self) -> tuple[bool, str]: ...


def printer_ready(printer: Any) -> tuple[bool, str] | None:
    """(ok, reason) from a printer object, or None when the kiosk has no printer at all."""
    if printer is None:
        return None
    try:
        ok, reason = printer.can_print()
    except Exception as exc:  # a broken driver must not stop the citizen getting a number
        log.exception("printer.can_print() failed")
        return False, str(exc) or "打印机无应答"
    return bool(ok), str(reason or "")


class Sizes:
    """Pixel sizes for normal and elder mode (适老化: every text ≥ 30 dp, every target ≥ 60 dp)."""

    def __init__(self, widget: QWidget, elder: bool) -> None:
        self.body = dp(widget, 32 if elder else 24)
        self.small = dp(widget, 30 if elder else 20)
        self.title = dp(widget, 44 if elder else 34)
        self.business = dp(widget, 46 if elder else 36)
        self.count = dp(widget, 34 if elder else 24)
        self.number = dp(widget, 170 if elder else 150)
        self.button_h = dp(widget, 110 if elder else 72)
        self.key = dp(widget, 100 if elder else 72)
        self.business_h = dp(widget, 160 if elder else 130)


class KioskScreen(QWidget):
    """The kiosk.  Every refusal from the hall is said on screen in the chosen language, never a crash."""

    def __init__(self, client: HallClient, *, printer: Any = None, idle_timeout_s: float | None = None,
                 inputs: DeviceInputs | None = None, key_clock: Callable[[], float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.printer = printer
        # ID cards and scans, from the kiosk's readers and from a keyboard-wedge scanner, through one doorway
        self.inputs = inputs if inputs is not None else DeviceInputs(parent=self)
        self.lang = "zh"
        self.elder = False
        self.pending_business: str | None = None
        self.green = False  # 绿色通道 chosen for the next ticket
        self.current_ticket: dict[str, Any] | None = None
        self.pending_booking: tuple[str, str, str] | None = None  # (business, day, slot start) waiting for an ID
        self.current_booking: dict[str, Any] | None = None  # the booking just made, shown on the result page
        self._book_code: str | None = None  # the business, day and slots on the booking page
        self._book_day: str | None = None
        self._book_days: list[dict[str, Any]] = []
        self.print_state = ""  # "", printing, printed, failed, screen
        self._counts: dict[str, dict[str, Any]] = {}  # the last waiting_counts, by business
        self.setObjectName("kiosk")
        self.setWindowTitle(f"{client.config.name} · 自助取号")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(int((idle_timeout_s or client.config.rules.idle_timeout) * 1000))
        self.idle.timeout.connect(self.on_idle)
        self.result_timer = QTimer(self)
        self.result_timer.setSingleShot(True)
        self.result_timer.timeout.connect(self.go_home)
        self.refresh_timer = QTimer(self)  # coalesce bursts of events into one redraw
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(50)  # soon enough that a call made at a window shows at once
        self.refresh_timer.timeout.connect(self.refresh_counts)
        self.book_timer = QTimer(self)  # the booking page's free places, redrawn once per burst of bookings
        self.book_timer.setSingleShot(True)
        self.book_timer.setInterval(150)
        self.book_timer.timeout.connect(self._load_book_days)
        self.clock_timer = QTimer(self)
        self.clock_timer.timeout.connect(self._update_clock)
        self.clock_timer.start(1000)

        self._orient_boxes: list[QBoxLayout] = []
        self.menu = CatalogMenu(self)  # the catalogue's names and offers (kiosk/ui/menu.py)
        self._build()
        self._landscape: bool | None = None
        self._tickets = ticket_patterns(str(s.get("qr_url") or "") for s in (client.config.devices or {}).values()
                                        if s.get("kind") == "printer")
        self.inputs.read.connect(self.on_read)
        self.wedge = WedgeScanner(self, self.inputs, clock=key_clock or time.monotonic)
        self.client.events.connect(self.on_event)
        self.client.store_fault.connect(self.on_store_fault)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.retranslate()
        self.apply_style()
        self.show_page(HOME)
        self.refresh_counts()
        self.on_store_fault(self.client.fault)

    # ================================================================================================
    # layout
    # ================================================================================================
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        # header: hall name, clock, languages, elder mode
        # header: hall name and clock; languages and elder mode beside them (landscape) or below (portrait)
        self.header = tag(QFrame(), "header")
        self.header_grid = QGridLayout(self.header)
        self.header_grid.setContentsMargins(24, 10, 24, 10)
        self.hall_label = tag(QLabel(self.client.config.name), "header_title")
        self.clock_label = tag(QLabel(), "header_text")
        self.clock_label.setLayoutDirection(LTR)  # a date and a time, never reordered by a right-to-left language
        self.lang_bar = QWidget()
        hl = QHBoxLayout(self.lang_bar)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addStretch(1)
        self.lang_buttons: dict[str, QPushButton] = {}
        for code in self.client.config.hall.languages:  # the hall's own choice, in its order
            b = tag(QPushButton(LANGUAGES[code][0]), "lang")
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, c=code: self.set_language(c))
            self.lang_buttons[code] = b
            hl.addWidget(b)
        self.elder_button = tag(QPushButton(), "lang")
        self.elder_button.setCheckable(True)
        self.elder_button.clicked.connect(lambda: self.set_elder(not self.elder))
        hl.addWidget(self.elder_button)
        self.header_grid.addWidget(self.hall_label, 0, 0)
        self.header_grid.addWidget(self.clock_label, 0, 1)
        self.header_grid.setColumnStretch(0, 1)
        root.addWidget(self.header)

        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(32, 24, 32, 16)
        bl.setSpacing(16)
        # a store fault stays on screen across pages and citizens until a command is saved again
        self.fault_banner = tag(QLabel(), "error")
        self.fault_banner.setWordWrap(True)
        self.fault_banner.hide()
        bl.addWidget(self.fault_banner)
        # a refusal or a hint is said inside the page, where that page has room for it (beside the businesses, in
        # the form column beside a keypad), never by pushing the page past the bottom of the screen
        self.message = tag(QLabel(), "error")
        self.message.setWordWrap(True)
        self.message.hide()
        self._message_slots: dict[int, tuple[QBoxLayout, QWidget]] = {}
        self.stack = QStackedWidget()
        self.stack.addWidget(self._home_page())
        self.stack.addWidget(self._id_page())
        self.stack.addWidget(self._result_page())
        self.stack.addWidget(self._check_in_page())
        self.stack.addWidget(self._guide_page())
        self.stack.addWidget(self._case_page())
        self.stack.addWidget(self._book_page())
        bl.addWidget(self.stack, 1)
        root.addWidget(body, 1)

        footer = tag(QFrame(), "footer")
        fl = QHBoxLayout(footer)
        fl.setContentsMargins(32, 10, 32, 10)
        self.home_button = tag(QPushButton(), "action")
        self.home_button.clicked.connect(self.go_home)
        self.help_label = tag(QLabel(), "muted")
        self.help_label.setWordWrap(True)
        fl.addWidget(self.home_button)
        fl.addWidget(self.help_label, 1)
        root.addWidget(footer)

    def _home_page(self) -> QWidget:
        """The businesses under the title; 绿色通道 and the other services below them (portrait) or in a column beside
        them (landscape).  The businesses scroll when a hall has more than the screen holds at elder size."""
        page = QWidget()
        self.home_box = QBoxLayout(QBoxLayout.Direction.TopToBottom, page)
        self.home_box.setContentsMargins(0, 0, 0, 0)
        self.home_box.setSpacing(18)
        main = QVBoxLayout()
        main.setSpacing(14)
        self.home_title = tag(QLabel(), "title")
        self.home_title.setWordWrap(True)
        main.addWidget(self.home_title)
        self._message_slots[HOME] = (main, self.home_title)
        self.notice_label = tag(QLabel(), "muted")  # the hall's notice, in the citizen's language where given
        self.notice_label.setWordWrap(True)
        self.notice_label.hide()
        main.addWidget(self.notice_label)
        grid_host = QWidget()
        self.business_grid = QGridLayout(grid_host)
        self.business_grid.setContentsMargins(0, 0, 0, 0)
        self.business_grid.setSpacing(18)
        for col in (0, 1):
            self.business_grid.setColumnStretch(col, 1)
        self.business_buttons: dict[str, LabelButton] = {}
        for b in self.client.config.businesses:
            btn = tag(LabelButton(), "business")
            btn.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            btn.clicked.connect(lambda _=False, code=b.code: self.choose_business(code))
            self.business_buttons[b.code] = btn
        self.business_scroll = QScrollArea()
        self.business_scroll.setWidgetResizable(True)
        self.business_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.business_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.business_scroll.setWidget(grid_host)
        QScroller.grabGesture(self.business_scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        main.addWidget(self.business_scroll, 1)
        side = QVBoxLayout()
        side.setSpacing(14)
        # 绿色通道: a mode the citizen turns on before choosing the business (elderly, disabled, military)
        self.green_button = tag(WrapButton(), "green")
        self.green_button.setCheckable(True)
        self.green_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.green_button.clicked.connect(lambda: self.set_green(self.green_button.isChecked()))
        self.green_note = tag(QLabel(), "warn")  # over the businesses it asks the citizen to choose
        self.green_note.setWordWrap(True)
        self.green_note.hide()
        main.insertWidget(2, self.green_note)
        side.addWidget(self.green_button)
        self.action_box = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.action_box.setSpacing(14)
        self.appointment_button = tag(WrapButton(), "action")
        self.appointment_button.clicked.connect(lambda: self.show_page(CHECK_IN))
        self.guide_button = tag(WrapButton(), "action")
        self.guide_button.clicked.connect(lambda: self.show_guide(None))
        self.case_button = tag(WrapButton(), "action")
        self.case_button.clicked.connect(lambda: self.show_page(CASE))
        for b in (self.appointment_button, self.guide_button, self.case_button):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.action_box.addWidget(b)
        side.addLayout(self.action_box)

        self.home_box.addLayout(main, 1)
        self.home_box.addLayout(side, 0)
        return page

    def _layout_businesses(self) -> None:
        landscape = self.width() > self.height()
        if landscape == self._landscape:
            return
        self._landscape = landscape
        self.header_grid.removeWidget(self.lang_bar)
        if landscape:
            self.header_grid.addWidget(self.lang_bar, 0, 2)
        else:
            self.header_grid.addWidget(self.lang_bar, 1, 0, 1, 2)
        across, down = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom
        for box in self._orient_boxes:
            box.setDirection(across if landscape else down)
        # landscape: the other services in a column beside the businesses, a third of the width
        self.home_box.setDirection(across if landscape else down)
        self.home_box.setStretch(0, 2 if landscape else 1)
        self.home_box.setStretch(1, 1 if landscape else 0)
        self.action_box.setDirection(down if landscape else across)

        for btn in self.guide_buttons.values():
            self.guide_grid.removeWidget(btn)
        cols = 3 if landscape else 2
        for i, btn in enumerate(self.guide_buttons.values()):
            self.guide_grid.addWidget(btn, i // cols, i % cols)
        self.menu.relayout()  # two columns: a long name keeps its width; what the catalogue hides leaves no gap

    def _split(self, page: QWidget) -> tuple[QVBoxLayout, QBoxLayout]:
        """A page whose form column and keypad stack in portrait and sit side by side in landscape."""
        box = QBoxLayout(QBoxLayout.Direction.TopToBottom, page)
        box.setSpacing(24)
        form = QVBoxLayout()
        form.setSpacing(14)
        box.addLayout(form)
        self._orient_boxes.append(box)
        return form, box

    def _entry_page(self, index: int, extra: str) -> tuple[QWidget, QLabel, QLabel, QLineEdit, Keypad]:
        page = QWidget()
        form, box = self._split(page)
        title = tag(QLabel(), "title")
        title.setWordWrap(True)
        hint = tag(QLabel(), "muted")
        hint.setWordWrap(True)
        field = tag(QLineEdit(), "entry")
        field.setAlignment(Qt.AlignmentFlag.AlignCenter)
        field.setLayoutDirection(LTR)  # numbers and codes read left to right in every language
        pad = Keypad(extra)
        pad.typed.connect(lambda k: field.insert(k))
        pad.backspace.connect(field.backspace)
        pad.cleared.connect(field.clear)
        form.addWidget(title)
        form.addWidget(hint)
        form.addWidget(field)
        form.addStretch(1)
        box.addWidget(pad, 1)
        self._message_slots[index] = (form, field)
        return page, title, hint, field, pad

    def _id_page(self) -> QWidget:
        page, self.id_title, self.id_hint, self.id_field, self.id_pad = self._entry_page(ID_ENTRY, "X")
        self.id_field.setMaxLength(18)
        self.id_pad.confirmed.connect(self.submit_id)
        self.id_field.returnPressed.connect(self.submit_id)
        return page

    def _check_in_page(self) -> QWidget:
        """预约签到 by the code typed (or an ID number: the X key), an ID card on the reader, or a scanned QR; and the
        way to book when the citizen has no appointment."""
        page, self.code_title, self.code_hint, self.code_field, self.code_pad = self._entry_page(CHECK_IN, "X")
        self.code_field.setMaxLength(20)
        self.code_pad.confirmed.connect(self.submit_code)
        self.code_field.returnPressed.connect(self.submit_code)
        form = self._message_slots[CHECK_IN][0]
        self.book_button = tag(WrapButton(), "action")
        self.book_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.book_button.clicked.connect(lambda: self.show_book(None))
        form.addWidget(self.book_button)
        return page

    def _book_page(self) -> QWidget:
        """预约办理: the business, then a day of its horizon, then a slot with a free place; an ID is asked on the ID
        page where the business or the rules need one.  Opened from the check-in page, and on the business when
        today's numbers are all taken."""
        page = QWidget()
        v = QVBoxLayout(page)
        v.setSpacing(14)
        self.book_title = tag(QLabel(), "title")
        self.book_title.setWordWrap(True)
        self.book_hint = tag(QLabel(), "muted")
        self.book_hint.setWordWrap(True)
        v.addWidget(self.book_title)
        v.addWidget(self.book_hint)
        self._message_slots[BOOK] = (v, self.book_hint)
        # the businesses above the days and slots (portrait) or beside them (landscape); both scroll, so a long
        # Tibetan name at elder size or a day of short slots never pushes the page past the screen
        box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        box.setSpacing(18)
        self._orient_boxes.append(box)
        businesses = QWidget()
        self.book_business_grid = QGridLayout(businesses)
        self.book_business_grid.setContentsMargins(0, 0, 0, 0)
        self.book_business_grid.setSpacing(12)
        self.book_business_buttons: dict[str, QPushButton] = {}
        for i, b in enumerate(b for b in self.client.config.businesses if b.appointments):
            btn = tag(WrapButton(), "action")
            btn.setCheckable(True)
            btn.clicked.connect(lambda _=False, code=b.code: self.choose_book_business(code))
            self.book_business_buttons[b.code] = btn
            self.book_business_grid.addWidget(btn, i // 2, i % 2)  # two across, as on the home page
        right = QVBoxLayout()
        right.setSpacing(12)
        self.book_day_grid = QGridLayout()
        self.book_day_grid.setSpacing(12)
        right.addLayout(self.book_day_grid)
        slots = QWidget()
        self.book_slot_grid = QGridLayout(slots)
        self.book_slot_grid.setContentsMargins(0, 0, 0, 0)
        self.book_slot_grid.setSpacing(12)
        right.addWidget(_scrolling(slots), 1)
        box.addWidget(_scrolling(businesses), 1)
        box.addLayout(right, 2)
        v.addLayout(box, 1)
        self.book_day_buttons: dict[str, QPushButton] = {}
        self.book_slot_buttons: dict[str, QPushButton] = {}
        return page

    def _result_page(self) -> QWidget:
        """The ticket on screen: the number (and whose) above what to expect (portrait), or beside it (landscape)."""
        page = tag(QFrame(), "ticket")
        box = QBoxLayout(QBoxLayout.Direction.TopToBottom, page)
        box.setSpacing(24)
        self._orient_boxes.append(box)
        number, status = QVBoxLayout(), QVBoxLayout()
        number.setSpacing(12)
        status.setSpacing(12)
        self.result_caption = tag(QLabel(), "ticket_caption")
        self.result_caption.setWordWrap(True)
        self.result_number = tag(QLabel(), "ticket_number")
        self.result_number.setLayoutDirection(LTR)
        self.result_ahead = tag(QLabel(), "ticket_caption")
        self.result_ahead.setWordWrap(True)
        self.result_wait = tag(QLabel(), "ticket_caption")  # 预计等候约 N 分钟, as the printed ticket says it
        self.result_wait.setWordWrap(True)
        self.result_print = tag(QLabel(), "ok")
        self.result_print.setWordWrap(True)
        number.addStretch(1)
        for w in (self.result_caption, self.result_number):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            number.addWidget(w)
        number.addStretch(1)
        status.addStretch(1)
        for w in (self.result_ahead, self.result_wait, self.result_print):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            status.addWidget(w)
        status.addStretch(1)
        self.done_button = tag(QPushButton(), "primary")
        self.done_button.clicked.connect(self.go_home)
        status.addWidget(self.done_button)
        box.addLayout(number, 1)
        box.addLayout(status, 1)
        self._message_slots[RESULT] = (status, self.result_print)
        return page

    def _guide_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setSpacing(18)
        self.guide_grid = QGridLayout()
        self.guide_grid.setSpacing(12)
        self.guide_buttons: dict[str, QPushButton] = {}
        for b in self.client.config.businesses:
            btn = tag(WrapButton(b.name), "action")
            btn.setCheckable(True)
            btn.clicked.connect(lambda _=False, code=b.code: self.show_guide(code))
            self.guide_buttons[b.code] = btn
        v.addLayout(self.guide_grid)
        self.guide_items = GuideItems()  # every item of the business, when it has several
        self.guide_items.currentRowChanged.connect(lambda _row: self._show_guide_item())
        v.addWidget(self.guide_items)
        self.guide_anchor = QWidget()  # nothing to see: where a message goes on this page
        self.guide_anchor.setFixedHeight(0)
        v.addWidget(self.guide_anchor)
        self._message_slots[GUIDE] = (v, self.guide_anchor)
        self.guide_text = tag(QLabel(), "panel")
        self.guide_text.setWordWrap(True)
        self.guide_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeading)
        self.guide_text.setTextFormat(Qt.TextFormat.PlainText)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.guide_text)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        v.addWidget(scroll, 1)
        return page

    def _case_page(self) -> QWidget:
        page = QWidget()
        form, box = self._split(page)
        self.case_title = tag(QLabel(), "title")
        self.case_no_label = tag(QLabel(), "body")
        self.case_no_label.setWordWrap(True)
        self.case_title.setWordWrap(True)
        self.case_field = tag(QLineEdit(), "entry")
        self.case_field.setMaxLength(50)  # GB/T 39046: up to 50 letters, digits, - and _
        self.check_label = tag(QLabel(), "body")
        self.check_label.setWordWrap(True)
        self.check_field = tag(QLineEdit(), "entry")
        self.check_field.setMaxLength(4)
        for f in (self.case_field, self.check_field):
            f.setLayoutDirection(LTR)
        self.case_pad = Keypad("X", letters=True)  # case numbers with letters (SB2026…, 51-…) can be typed
        self.case_pad.typed.connect(lambda k: self._case_target().insert(k))
        self.case_pad.backspace.connect(lambda: self._case_target().backspace())
        self.case_pad.cleared.connect(lambda: self._case_target().clear())
        self.case_pad.confirmed.connect(self.submit_case)
        self.case_result = tag(QLabel(), "panel")
        self.case_result.setWordWrap(True)
        self.case_result.setTextFormat(Qt.TextFormat.PlainText)
        self.case_result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeading)
        self.case_result.hide()
        result = QScrollArea()  # a long result scrolls rather than being cut at elder size
        result.setWidgetResizable(True)
        result.setFrameShape(QFrame.Shape.NoFrame)
        result.setWidget(self.case_result)
        QScroller.grabGesture(result.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        self._case_into = self.case_field
        for w in (self.case_title, self.case_no_label, self.case_field, self.check_label, self.check_field):
            form.addWidget(w)
        form.addStretch(1)
        self._message_slots[CASE] = (form, self.check_field)
        # the keypad, or the answer where the keypad was: tapping a field brings the keypad back
        self.case_slot = QStackedWidget()
        self.case_slot.addWidget(self.case_pad)
        self.case_slot.addWidget(result)
        box.addWidget(self.case_slot, 1)
        return page

    def _case_target(self) -> QLineEdit:
        return self._case_into

    def set_case_target(self, field: QLineEdit) -> None:
        """The keypad never takes focus: it types into whichever field the citizen tapped last."""
        self._case_into = field
        field.setFocus()
        self.case_slot.setCurrentIndex(0)

    # ================================================================================================
    # style, language, elder mode
    # ================================================================================================
    def apply_style(self) -> None:
        s = Sizes(self, self.elder)
        P = PAIRS

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        radius = dp(self, 14)
        self.setStyleSheet(f"""
            #kiosk {{ {pair('page')} }}
            QWidget {{ font-size: {s.body}px; }}
            QFrame[role="header"] {{ {pair('header')} }}
            QLabel[role="header_title"] {{ {pair('header')} font-size: {s.title}px; font-weight: bold; }}
            QLabel[role="header_text"] {{ {pair('header')} font-size: {s.body}px; }}
            QPushButton[role="lang"] {{ {pair('header')} border: 2px solid #FFFFFF; border-radius: {radius}px;
                padding: 4px 16px; min-height: {s.button_h * 0.8:.0f}px; min-width: {s.button_h:.0f}px;
                font-size: {s.small}px; }}
            QPushButton[role="lang"]:checked {{ {pair('action')} font-weight: bold; }}
            QLabel[role="title"] {{ color: {P['page'].fg}; font-size: {s.title}px; font-weight: bold; }}
            QLabel[role="body"] {{ color: {P['page'].fg}; }}
            QLabel[role="muted"] {{ {pair('muted')} font-size: {s.small}px; }}
            QFrame[role="footer"] {{ {pair('page')} border-top: 2px solid #C5CBD3; }}
            QPushButton[role="business"] {{ {pair('business')} border-radius: {radius}px; border: 3px solid #08407A;
                font-size: {s.business}px; font-weight: bold; min-height: {s.business_h}px; padding: 8px; }}
            QPushButton[role="business"][closed="true"] {{ {pair('business_closed')} border: 3px dashed #6B7078;
                font-size: {s.count}px; font-weight: normal; }}
            QPushButton[role="business"] QLabel {{ color: {P['business'].fg}; background: transparent; }}
            QPushButton[role="business"] QLabel[role="button_title"] {{ font-size: {s.business}px;
                font-weight: bold; }}
            QPushButton[role="business"] QLabel[role="button_detail"] {{ font-size: {s.count}px; }}
            QPushButton[role="business"][closed="true"] QLabel {{ color: {P['business_closed'].fg}; }}
            QPushButton[role="action"] {{ {pair('action')} border: 3px solid {P['action'].fg};
                border-radius: {radius}px; min-height: {s.button_h}px; padding: 4px 20px; font-weight: bold; }}
            QPushButton[role="action"]:checked {{ {pair('header')} }}
            QPushButton[role="green"] {{ {pair('ok')} border: 3px solid {P['ok'].fg}; border-radius: {radius}px;
                min-height: {s.button_h}px; padding: 6px 20px; font-weight: bold; }}
            QPushButton[role="green"]:checked {{ {pair('primary')} border: 3px solid #0F4D14; }}
            QPushButton[role="primary"] {{ {pair('primary')} border-radius: {radius}px; border: 3px solid #0F4D14;
                min-height: {s.button_h}px; padding: 4px 20px; font-weight: bold; }}
            QPushButton[role="key"] {{ {pair('action')} border: 2px solid #8C96A3; border-radius: {radius}px;
                font-size: {s.title}px; min-height: {s.key}px; min-width: {s.key}px; }}
            QPushButton[role="key_fn"] {{ {pair('action')} border: 2px solid #8C96A3; border-radius: {radius}px;
                min-height: {s.key}px; min-width: {s.key * 1.6:.0f}px; }}
            QLineEdit[role="entry"] {{ {pair('ticket')} border: 3px solid #0B3D91; border-radius: {radius}px;
                font-size: {s.title}px; min-height: {s.button_h}px; padding: 0 12px; }}
            QLabel[role="error"] {{ {pair('error')} border: 3px solid #7A1010; border-radius: {radius}px;
                padding: 12px 18px; font-weight: bold; }}
            QLabel[role="ok"] {{ {pair('ok')} border-radius: {radius}px; padding: 12px; }}
            QLabel[role="warn"] {{ {pair('warn')} border: 3px solid #5A3B00; border-radius: {radius}px;
                padding: 12px; font-weight: bold; }}
            QLabel[role="panel"] {{ {pair('ticket')} border-radius: {radius}px; padding: 18px; }}
            QFrame[role="ticket"] {{ {pair('ticket')} border-radius: {radius}px; }}
            QLabel[role="ticket_caption"] {{ {pair('ticket')} font-size: {s.title}px; }}
            QLabel[role="ticket_number"] {{ {pair('ticket')} font-size: {s.number}px; font-weight: bold; }}
            QScrollArea, QScrollArea > QWidget > QWidget {{ background: transparent; }}
            QScrollBar:vertical {{ background: #DADDE2; width: {dp(self, 28)}px; border-radius: {dp(self, 8)}px; }}
            QScrollBar::handle:vertical {{ background: #0B3D91; min-height: {dp(self, 60)}px;
                border-radius: {dp(self, 8)}px; }}
            QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
        """)

    def set_elder(self, on: bool) -> None:
        self.elder = on
        self.elder_button.setChecked(on)
        self.retranslate()
        self.apply_style()

    def set_language(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "zh"
        self.setLayoutDirection(direction(self.lang))
        self.retranslate()

    def t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    def retranslate(self) -> None:
        for code, b in self.lang_buttons.items():
            b.setChecked(code == self.lang)
        self.elder_button.setText(self.t("elder_off" if self.elder else "elder_on"))
        self.home_title.setText(self.t("take_ticket"))
        self.appointment_button.setText(self.t("appointment"))
        self.guide_button.setText(self.t("guide"))
        self.case_button.setText(self.t("case_lookup"))
        mark = "☑" if self.green else "☐"  # the chosen state is said by the box and the words, not the colour
        self.green_button.setText(f"{mark} {self.t('green_channel')}\n{self.t('green_who')}")
        self.green_note.setText(self.t("green_note"))
        self.home_button.setText(self.t("home"))
        self.help_label.setText(self.t("help_desk") + "  ·  " + self.t("idle_home"))
        reader = "idcard" in self.inputs.kinds
        swipe = self.t("swipe_card") if reader else ""
        self.id_title.setText(self.t("enter_id"))
        self.id_hint.setText(self.t("id_hint") + (f"\n{swipe}" if swipe else ""))
        self.code_title.setText(self.t("enter_code"))
        self.book_button.setText(self.t("book"))
        self.book_title.setText(self.t("book"))
        self.book_hint.setText(self.t("book_hint"))
        for code, btn in self.book_business_buttons.items():
            btn.setText(business_name(self.client.config, code, self.lang))
        self._fill_book_days()
        self.code_hint.setText(swipe)
        self.code_hint.setVisible(reader)
        labels = {k: self.t(k) for k in ("delete", "clear", "confirm")}
        self.id_pad.set_labels(labels)
        self.code_pad.set_labels(labels)
        self.case_pad.set_labels({**labels, "confirm": self.t("lookup")})
        self.case_title.setText(self.t("case_lookup"))
        self.case_no_label.setText(self.t("case_no"))
        self.check_label.setText(self.t("check4"))
        self.done_button.setText(self.t("done"))
        for code, btn in self.guide_buttons.items():
            btn.setText(business_name(self.client.config, code, self.lang))
        self._show_notice()
        self.refresh_counts()
        if self.current_ticket is not None:
            self._render_result()
        elif self.current_booking is not None:
            self._render_booking()
        if self.stack.currentIndex() == GUIDE and self._guide_code:
            self.show_guide(self._guide_code)
        self._update_clock()

    _guide_code: str | None = None

    def _update_clock(self) -> None:
        now: datetime = self.client.now().astimezone(self.client.config.tz)
        self.clock_label.setText(now.strftime("%Y-%m-%d %H:%M"))

    def _show_notice(self) -> None:
        """The hall's notice: the configured translation while the notice is the configured one; a notice changed
        at run time exists only as typed (in Chinese)."""
        try:
            current = self.client.notice()
        except Exception:
            log.exception("notice failed")
            current = ""
        hall = self.client.config.hall
        text = hall.notices.get(self.lang, current) if current == hall.notice else current
        self.notice_label.setText(f"{self.t('note')}: {text}" if text else "")
        self.notice_label.setVisible(bool(text))

    # ================================================================================================
    # navigation and idle timeout
    # ================================================================================================
    def _place_message(self, index: int) -> None:
        layout, after = self._message_slots[index]
        if layout.indexOf(self.message) >= 0:
            return
        for other, _ in self._message_slots.values():
            other.removeWidget(self.message)
        layout.insertWidget(layout.indexOf(after) + 1, self.message)

    def show_page(self, index: int) -> None:
        self.clear_message()
        self._place_message(index)
        self.stack.setCurrentIndex(index)
        self.home_button.setVisible(index != HOME)
        if index == CHECK_IN:
            self.code_field.clear()
            self.code_field.setFocus()
        elif index == ID_ENTRY:
            self.id_field.clear()
            self.id_field.setFocus()
        elif index == CASE:
            self.case_field.clear()
            self.check_field.clear()
            self.case_result.hide()
            self.set_case_target(self.case_field)
        self.touch()

    def set_green(self, on: bool) -> None:
        """绿色通道 on/off for the next ticket: businesses without it say so and cannot be chosen meanwhile."""
        self.green = on
        self.green_button.setChecked(on)
        self.green_note.setVisible(on)
        self.retranslate()

    def go_home(self) -> None:
        self.result_timer.stop()
        self.pending_business = None
        if self.green:
            self.set_green(False)  # the next citizen starts from an ordinary ticket
        self.current_ticket = None
        self.current_booking = None
        self.pending_booking = None
        self.print_state = ""
        self.id_field.clear()  # an ID number never lingers on screen for the next citizen
        self.show_page(HOME)
        self.refresh_counts()

    def on_idle(self) -> None:
        """Nobody touched the kiosk for idle_timeout: back to the start, as the next citizen expects it."""
        self.go_home()
        if self.lang != "zh":
            self.set_language("zh")
        if self.elder:
            self.set_elder(False)

    def touch(self) -> None:
        self.idle.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS and isinstance(obj, QWidget) and (obj is self or self.isAncestorOf(obj)):
            self.touch()
            if obj is self.case_field or obj is self.check_field:
                self._case_into = obj
                self.case_slot.setCurrentIndex(0)
        return False

    def closeEvent(self, event: Any) -> None:
        # the readers outlive the screen: stop taking their reads and the keyboard before Qt deletes the widgets
        self.inputs.close()
        self.wedge.close()
        super().closeEvent(event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._layout_businesses()

    # ================================================================================================
    # messages
    # ================================================================================================
    def say(self, text: str, role: str = "error") -> None:
        prefix = "⚠ " if role == "error" else ""
        self.message.setText(prefix + text)
        tag(self.message, role)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()

    def clear_message(self) -> None:
        self.message.hide()
        self.message.setText("")

    def _ask(self, what: str, call: Callable[[], Any], *, unavailable: str = "hall_unreachable",
             let: tuple[type[HallError], ...] = ()) -> tuple[bool, Any]:
        """(True, value) of one call to the hall, or (False, None) once its refusal (or, for a failure, the
        `unavailable` text) is said: every kiosk action asks through here.  `let`: refusals the caller handles."""
        try:
            return True, call()
        except let:
            raise
        except HallError as exc:
            self.say_error(exc)
        except Exception:
            log.exception("%s failed", what)
            self.say(self.t(unavailable))
        return False, None

    def say_error(self, exc: Exception) -> None:
        if isinstance(exc, StoreFault):  # said by the banner, which outlives this page
            self.on_store_fault(exc)
            return
        params = getattr(exc, "params", None)
        if isinstance(params, dict) and "name" in params:  # the core names a business in Chinese: say its name here
            b = next((b for b in self.client.config.businesses if b.name == params["name"]), None)
            if b is not None:
                exc.params = {**params, "name": b.name_in(self.lang)}
        self.say(error_text(self.lang, exc))

    def on_store_fault(self, fault: StoreFault | None) -> None:
        """The store cannot save (disk full, read-only, locked): say so, with the path and what to do, until a
        command is saved again; staff at the service desk read it, citizens see that taking a number fails."""
        if fault is None:
            self.fault_banner.hide()
            self.fault_banner.setText("")
            return
        self.fault_banner.setText("⚠ " + error_text(self.lang, fault))
        self.fault_banner.show()

    # ================================================================================================
    # home
    # ================================================================================================
    def refresh_counts(self) -> None:
        try:
            rows = self.client.waiting_counts()
        except Exception:
            log.exception("waiting_counts failed")
            self.say(self.t("hall_unreachable"))
            return
        self._counts = {c["business"]: c for c in rows}
        self.menu.apply()
        for code, btn in self.business_buttons.items():
            c, b = self._counts.get(code), self.menu.business(code)
            if c is None or b is None:
                continue
            text, closed, enabled = business_lines(c, b, self.lang, green=self.green)
            btn.setText(text)
            btn.setEnabled(enabled)
            if btn.property("closed") != closed:  # drawn dashed and grey, and said in words
                btn.setProperty("closed", closed)
                btn.restyle()

    def on_event(self, e: Event) -> None:
        if e.kind in REFRESH_KINDS:
            self.refresh_timer.start()
        if e.kind in BOOKING_KINDS and self.stack.currentIndex() == BOOK:
            self.book_timer.start()  # another kiosk, a phone or the province took or freed a place
        if e.kind == ev.NOTICE_CHANGED:
            self._show_notice()
        if (e.kind == ev.TICKET_ISSUED and self.current_ticket is not None
                and e.payload.get("ticket", {}).get("id") == self.current_ticket["id"]):
            self.current_wait = e.payload.get("wait_s")  # the estimate the printed ticket carries
            self._render_result()
            return
        if self.current_ticket is None or e.kind not in (ev.PRINT_DONE, ev.PRINT_FAILED):
            return
        if e.payload.get("ticket", {}).get("id") != self.current_ticket["id"]:
            return
        if e.kind == ev.PRINT_DONE:
            self.print_state = "printed"
            self.result_timer.start(PRINTED_HOME_S * 1000)
        else:
            self.print_state = "failed"
            self.print_reason = str(e.payload.get("reason") or "")
            self.result_timer.start(self.idle.interval())
        self._render_result()

    # ================================================================================================
    # taking a ticket
    # ================================================================================================
    def _has_green(self, code: str) -> bool:
        b = self.client.config.business(code)
        return bool(b is not None and getattr(b, "green_channel", False))

    def choose_business(self, code: str) -> None:
        self.touch()
        b = self.client.config.business(code)
        if b is None:
            return
        if self.green and not b.green_channel:
            self.say(self.t("green_channel_unavailable", name=b.name_in(self.lang)))
            return
        row = self._counts.get(code, {})
        if row.get("windows") and not row.get("open_windows") and not row.get("closed"):
            # every window for it is paused: say so now, before asking for an ID it could not use
            reasons = "、".join(row.get("pause_reasons") or [])
            self.say(self.t("no_open_window", name=b.name_in(self.lang), why=f"（{reasons}）" if reasons else ""))
            return
        if b.id_required or self.client.config.rules.id_required:
            self.pending_business = code
            self.show_page(ID_ENTRY)
            return
        self.issue(code)

    def submit_id(self) -> None:
        number = self.id_field.text().strip().upper()
        if self.pending_booking is not None:
            self.book(id_number=number)
            return
        if self.pending_business is None:
            self.go_home()
            return
        self.issue(self.pending_business, id_number=number)

    def submit_code(self) -> None:
        code = self.code_field.text().strip().upper()
        if not code:
            self.say(self.t("enter_code"), "warn")
            return
        if valid_id(code):  # an ID number typed on the check-in keypad: the booking made with it (else a code)
            self.code_field.clear()  # an ID number never lingers on screen
            self.check_in(id_number=code, or_code=code)
            return
        self.check_in(code=code)

    def check_in(self, *, code: str | None = None, id_number: str | None = None, or_code: str | None = None) -> bool:
        """预约签到 by appointment code or by an ID number (the card on the reader, or typed); `or_code`: tried as a
        code when no booking has that ID.  True when a ticket came of it."""
        ready = printer_ready(self.printer)
        def check_in() -> Any:
            try:
                return self.client.check_in(code=code, id_number=id_number, idem_key=uuid.uuid4().hex)
            except AppointmentNotFound:
                if not or_code:
                    raise
                return self.client.check_in(code=or_code, idem_key=uuid.uuid4().hex)

        ok, result = self._ask("check-in", check_in)
        if ok:
            self._issued(result.value, ready)
        return ok

    def issue(self, code: str, id_number: str | None = None) -> None:
        ready = printer_ready(self.printer)  # asked first, so the answer is honest for this very ticket
        try:
            ok, result = self._ask("issue_ticket", lambda: self.client.issue_ticket(
                code, id_number=id_number or None, idem_key=uuid.uuid4().hex,
                priority="green" if self.green else "normal"), let=(DailyCapReached,))
        except DailyCapReached as exc:
            b = self.client.config.business(code)
            if b is not None and b.appointments:  # today's numbers are gone: a later slot instead
                self.show_book(code, note=self.t("book_cap", name=b.name_in(self.lang)))
            else:
                self.say_error(exc)
            return
        if ok:
            self._issued(result.value, ready)

    def _issued(self, issued: Any, ready: tuple[bool, str] | None) -> None:
        self.id_field.clear()
        self.pending_business = None
        self.current_ticket = dict(issued.ticket)
        self.current_ahead = int(issued.ahead)
        self.current_wait = None  # until the ticket.issued event brings the estimate the ticket was printed with
        if ready is None:
            self.print_state, self.print_reason = "screen", ""
        elif not ready[0]:
            self.print_state, self.print_reason = "failed", ready[1]
        elif self.print_state != "printed":
            self.print_state, self.print_reason = "printing", ""
        self.show_page(RESULT)
        self._render_result()
        hold = PRINTED_HOME_S if self.print_state == "printing" else self.idle.interval() / 1000
        self.result_timer.start(int(hold * 1000))

    print_reason = ""
    current_ahead = 0
    current_wait: float | None = None

    def _render_result(self) -> None:
        t = self.current_ticket
        if t is None:
            return
        green = f" · {self.t('green_channel')}" if t.get("priority") == "green" else ""
        name = business_name(self.client.config, str(t.get("business", "")), self.lang)
        self.result_caption.setText(f"{self.t('your_number')} · {name}{green}")
        self.result_number.setText(t["number"])
        waiting = self.print_state != "status" or t.get("status") == "waiting"
        self.result_ahead.setText(self.t("ahead_n", n=self.current_ahead) if waiting else "")
        wait = self.current_wait if waiting else None
        lines = [self.t("wait_about", m=wait_minutes(wait))] if wait is not None else []
        due = t.get("due_at") if t.get("status") == "waiting" and t.get("priority") == "appointment" else None
        if due and datetime.fromisoformat(due) > self.client.now():  # checked in early: when it goes ahead
            local = datetime.fromisoformat(due).astimezone(self.client.config.tz)
            lines.append(self.t("appt_due", time=value(self.lang, f"{local:%H:%M}")))
        self.result_wait.setText("\n".join(lines))
        self.result_wait.setVisible(bool(lines))
        if self.print_state == "status":  # a scanned ticket QR: where that ticket stands now
            text, role = ticket_status_text(t, self.lang), "ok"
        elif self.print_state == "printing":
            text, role = self.t("printing"), "ok"
        elif self.print_state == "printed":
            text, role = "✔ " + self.t("take_slip"), "ok"
        elif self.print_state == "failed":  # the printer's reason is for staff, in Chinese: said on a Chinese screen
            reason = f"（{self.print_reason}）" if self.print_reason and self.lang == "zh" else ""
            text, role = f"⚠ {self.t('no_print')}{reason}\n{self.t('note_number')}", "warn"
        else:  # no printer on this kiosk: the screen is the ticket
            text, role = self.t("note_number"), "warn"
        self.result_print.setText(text)
        tag(self.result_print, role)
        self.result_print.style().unpolish(self.result_print)
        self.result_print.style().polish(self.result_print)

    # ================================================================================================
    # 预约办理: booking a slot (kiosk/core/appointments.py decides which and whether)
    # ================================================================================================
    def show_book(self, code: str | None, note: str = "") -> None:
        """The booking page on a business (the first that takes bookings when none is given)."""
        self.show_page(BOOK)
        codes = list(self.book_business_buttons)
        if not codes:
            self.say(self.t("book_none"), "warn")
            return
        self.choose_book_business(code if code in codes else codes[0])
        if note:
            self.say(note, "warn")

    def choose_book_business(self, code: str) -> None:
        self.touch()
        self._book_code, self._book_day = code, None
        for c, btn in self.book_business_buttons.items():
            btn.setChecked(c == code)
        self.clear_message()
        self._load_book_days()

    def _load_book_days(self) -> None:
        if self._book_code is None:
            return
        code = self._book_code
        ok, days = self._ask("appointment offer", lambda: self.client.appointment_offer(code))
        self._book_days = days if ok else []
        days = [d["date"] for d in self._book_days if any(s["free"] for s in d["slots"])]
        if self._book_day not in days:
            self._book_day = days[0] if days else None
        if not days:
            self.say(self.t("book_none"), "warn")
        self._fill_book_days()

    def _fill_book_days(self) -> None:
        """The day buttons and the chosen day's slots, in the kiosk's language: a full slot is said, not hidden."""
        _clear(self.book_day_grid, self.book_day_buttons)
        for i, d in enumerate(self._book_days):
            day = date.fromisoformat(d["date"])
            free = any(s["free"] for s in d["slots"])
            btn = tag(WrapButton(f"{value(self.lang, f'{day:%m-%d}')}\n{self.t(f'weekday_{day.isoweekday()}')}"),
                      "action")
            btn.setCheckable(True)
            btn.setChecked(d["date"] == self._book_day)
            btn.setEnabled(free)
            btn.clicked.connect(lambda _=False, key=d["date"]: self.choose_book_day(key))
            self.book_day_buttons[d["date"]] = btn
            self.book_day_grid.addWidget(btn, i // 4, i % 4)
        _clear(self.book_slot_grid, self.book_slot_buttons)
        chosen = next((d for d in self._book_days if d["date"] == self._book_day), None)
        for i, slot in enumerate(chosen["slots"] if chosen else []):
            left = self.t("book_free", n=slot["free"]) if slot["free"] else self.t("book_full")
            btn = tag(WrapButton(f"{value(self.lang, slot['start'] + '-' + slot['end'])}\n{left}"), "action")
            btn.setEnabled(slot["free"] > 0)
            btn.clicked.connect(lambda _=False, start=slot["start"]: self.choose_slot(start))
            self.book_slot_buttons[slot["start"]] = btn
            self.book_slot_grid.addWidget(btn, i // 3, i % 3)

    def choose_book_day(self, day: str) -> None:
        self.touch()
        self._book_day = day
        self._fill_book_days()

    def choose_slot(self, start: str) -> None:
        """A slot touched: booked at once, or after the ID where one is needed (a card on the reader, or typed)."""
        self.touch()
        if self._book_code is None or self._book_day is None:
            return
        self.pending_booking = (self._book_code, self._book_day, start)
        b = self.client.config.business(self._book_code)
        rules = self.client.config.rules
        if b is not None and (b.id_required or rules.id_required or rules.appointment_id_required):
            self.show_page(ID_ENTRY)
            return
        self.book()

    def book(self, id_number: str | None = None) -> None:
        if self.pending_booking is None:
            return
        code, day, start = self.pending_booking
        try:
            ok, result = self._ask("booking", lambda: self.client.book_appointment(
                code, day, start, id_number=id_number or None, source="kiosk", idem_key=uuid.uuid4().hex),
                let=(SlotFull,))
        except SlotFull as exc:  # another kiosk or a phone took the last place meanwhile
            self.pending_booking = None
            self.show_book(code)
            self.say_error(exc)
            return
        if not ok:
            return
        self.id_field.clear()
        self.pending_booking = None
        self.current_ticket = None
        self.current_booking = dict(result.value)
        self.show_page(RESULT)
        self._render_booking()
        self.result_timer.start(self.idle.interval())

    def _render_booking(self) -> None:
        a = self.current_booking
        if a is None:
            return
        day = date.fromisoformat(a["date"])
        name = business_name(self.client.config, str(a["business"]), self.lang)
        self.result_caption.setText(f"{self.t('booked_caption')} · {name}")
        self.result_number.setText(a["code"])
        self.result_ahead.setText(f"{value(self.lang, a['date'])} {self.t(f'weekday_{day.isoweekday()}')} "
                                  f"{value(self.lang, a['slot_start'] + '-' + a['slot_end'])}")
        self.result_wait.hide()
        self.result_print.setText(self.t("booked_note", m=self.client.config.rules.appointment_early_minutes))
        tag(self.result_print, "warn")
        self.result_print.style().unpolish(self.result_print)
        self.result_print.style().polish(self.result_print)

    # ================================================================================================
    # 办事指南 and case lookup
    # ================================================================================================
    def show_guide(self, code: str | None) -> None:
        if self.stack.currentIndex() != GUIDE:
            self.show_page(GUIDE)
        businesses = self.client.config.businesses
        code = code or next((b.code for b in businesses if self.menu.shown(b.code)), businesses[0].code)
        self._guide_code = code
        for c, b in self.guide_buttons.items():
            b.setChecked(c == code)
        self.guide_items.fill(self.client.catalog_items(code))
        self.guide_text.setText(self.guide_for(code))
        self.touch()

    def guide_for(self, code: str) -> str:
        b = self.menu.business(code)
        if b is None:
            return ""
        chosen = self.guide_items.current()  # the item touched in the list, when the list is this business's
        item = chosen if chosen is not None and chosen.get("business") == code else self.client.catalog_item(code)
        return guide_text(b, item, self.lang)

    def _show_guide_item(self) -> None:
        if self._guide_code:
            self.guide_text.setText(self.guide_for(self._guide_code))
            self.touch()

    def submit_case(self) -> None:
        case_no = self.case_field.text().strip()
        check = self.check_field.text().strip().upper()
        if not case_no:
            self.set_case_target(self.case_field)
            self.say(self.t("case_no"), "warn")
            return
        if len(check) != 4:
            self.set_case_target(self.check_field)
            self.say(self.t("check4"), "warn")
            return
        ok, info = self._ask("case lookup", lambda: self.client.case_lookup(case_no, check),
                             unavailable="lookup_unavailable")
        if not ok:
            return
        if info is None:
            self.say(self.t("lookup_unavailable"), "warn")
            return
        self.clear_message()
        self.case_result.setText(case_text(info, self.lang))
        self.case_result.show()
        self.case_slot.setCurrentIndex(1)

    def show_case(self, case_no: str) -> None:
        """Case lookup with the number filled in (scanned), asking for the ID's last 4 or a card on the reader."""
        self.show_page(CASE)
        self.case_field.setText(case_no)
        self.set_case_target(self.check_field)
        self.say(self.t("check4") + ("，" + self.t("swipe_card") if "idcard" in self.inputs.kinds else ""), "warn")

    # ================================================================================================
    # ID cards and scans (one doorway: self.inputs.read, in the Qt thread)
    # ================================================================================================
    def on_read(self, item: Read) -> None:
        self.touch()
        if isinstance(item, IdCardRead):
            self.on_id_card(item)
        elif isinstance(item, ScanRead):
            self.on_scan(item.code)
        elif isinstance(item, ReadRefused):
            key = REFUSAL_KEYS.get(item.key)
            date = item.until.isoformat() if item.until else ""
            self.say(self.t(key, date=date) if key else item.reason)

    def on_id_card(self, card: IdCardRead) -> None:
        """The ID wherever the kiosk asks for one: a ticket (green channel too), a check-in, a case lookup's last 4.
        The number goes straight to the hall and is never shown."""
        page = self.stack.currentIndex()
        if page == ID_ENTRY and self.pending_booking is not None:
            self.book(id_number=card.id_number)
        elif page == ID_ENTRY and self.pending_business is not None:
            self.issue(self.pending_business, id_number=card.id_number)
        elif page == CHECK_IN:
            self.check_in(id_number=card.id_number)
        elif page == CASE:
            self.check_field.setText(card.last4)
            if self.case_field.text().strip():
                self.submit_case()
            else:
                self.set_case_target(self.case_field)
                self.say(self.t("case_no"), "warn")
        else:
            self.say(self.t("choose_first"), "warn")

    def on_scan(self, code: str) -> None:
        """A scanned code, routed by what it is whatever page or field has focus."""
        s = classify(code, self._tickets)
        if s.kind == Kind.APPOINTMENT:
            self.check_in(code=s.value)
        elif s.kind == Kind.CASE:
            self.show_case(s.value)
        elif s.kind == Kind.TICKET:
            self.show_ticket_status(s)
        elif s.kind == Kind.CODE:  # bare: an appointment code, else a case number
            try:
                ok, result = self._ask("check-in", lambda: self.client.check_in(
                    code=s.value, idem_key=uuid.uuid4().hex), let=(AppointmentNotFound,))
            except AppointmentNotFound:
                self.show_case(s.value)
                return
            if ok:
                self._issued(result.value, printer_ready(self.printer))
        elif s.kind == Kind.STAFF:
            self.say(self.t("staff_badge"), "warn")
        else:
            self.say(self.t("scan_unknown"), "warn")

    def show_ticket_status(self, s: Scanned) -> None:
        if s.hall_id and s.hall_id != str(self.client.config.hall_id):
            self.say(self.t("ticket_other_hall"), "warn")
            return
        def status() -> tuple[dict[str, Any], int]:
            ticket = self.client.find_ticket(s.value) if s.by_number else self.client.ticket(s.value)
            if ticket is None:
                raise TicketNotFound(ticket=s.value)
            return ticket, self.client.ahead_of(ticket["id"]) if ticket.get("status") == "waiting" else 0

        try:
            ok, found = self._ask("ticket status", status, let=(TicketNotFound,))
        except TicketNotFound:
            self.say(self.t("ticket_unknown"), "warn")
            return
        if not ok:
            return
        ticket, ahead = found
        self.current_ticket, self.current_ahead = dict(ticket), int(ahead)
        self.current_wait = self._estimate(ticket, int(ahead)) if ticket.get("status") == "waiting" else None
        self.print_state, self.print_reason = "status", ""
        self.show_page(RESULT)
        self._render_result()
        self.result_timer.start(self.idle.interval())

    def _estimate(self, ticket: dict[str, Any], ahead: int) -> float | None:
        """A scanned ticket's wait now, by the estimator the printed ticket used (kiosk/core/estimate.py)."""
        row = self._counts.get(str(ticket.get("business")), {})
        try:
            times = self.client.times(by="business")
        except Exception:
            log.exception("times failed")
            return None
        return new_ticket_wait_s(times, str(ticket.get("business")), ahead, int(row.get("open_windows") or 0))


def _scrolling(content: QWidget) -> QScrollArea:
    """`content` in a touch-scrolled area as wide as the page: it may be taller than the room it gets."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
    return scroll


def _clear(grid: QGridLayout, buttons: dict[str, QPushButton]) -> None:
    """Take the buttons a page made for its last content out of its grid."""
    for btn in buttons.values():
        grid.removeWidget(btn)
        btn.deleteLater()
    buttons.clear()
