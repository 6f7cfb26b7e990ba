"""The clerk's caller (窗口叫号): window state, current ticket, call/recall/no-show/transfer/hold/pause/rate/finish,
the citizen's rating as it arrives, this window's 电子监察 cards and linking the served ticket to its case (一事一评).
Nothing is done at a window nobody has signed in to, and 呼叫 on a number only called asks 过号 or 开始办理.
In the screen's language (`hall run caller --lang`): a bilingual hall's clerks may run it in Tibetan, Uyghur or Yi."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from devices.reads import IdCardRead, Read, ReadRefused, ScanRead
from kiosk.core import events as ev
from kiosk.core.codes import Kind, classify, staff_number
from kiosk.core.errors import CalledNotStarted, HallError, StoreFault
from kiosk.core.events import Event
from kiosk.screen_text import (
    PAUSE_REASONS,
    business_name,
    card_sign,
    case_status,
    level_text,
    preset,
    priority,
    ticket_status,
    value,
    window_label,
    window_state,
)
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, STRINGS, direction, error_text, tr
from kiosk.ui.inputs import DeviceInputs, WedgeScanner
from kiosk.ui.rectify import MyRectifications
from kiosk.ui.theme import PAIRS, dp, text_scale
from kiosk.ui.widgets import CARD_PAIR, tag

log = logging.getLogger(__name__)

STATE_MARK = {"idle": "○", "calling": "◎", "serving": "●", "paused": "‖"}  # state never by colour alone
CARD_LIMIT = 50  # a window's list; the query is bounded so a backlog never stalls the UI thread
CASE_KINDS_PREFIX = ("case.",)
CARDS_REREAD_S = 60
COMPACT_HEIGHT = 900  # a 1366×768 all-in-one: smaller type and spacing so that everything fits
# what a ReadRefused's key is called in the string table (devices/reads.py)
REFUSAL_KEYS = {"expired": "id_expired", "not_yet_valid": "id_not_yet_valid", "unreadable": "id_unreadable",
                "unsupported_card": "id_unsupported"}
RATING_KINDS = (ev.RATING_REQUESTED, ev.RATING_RECORDED, ev.RATING_REASON_COMPLETED, ev.RATING_UNRATED)

# (key, shortcut); the label is the string table's act_<key>
ACTIONS: list[tuple[str, str]] = [
    ("call", "F1"),
    ("recall", "F2"),
    ("no_show", "F3"),
    ("start", "F4"),
    ("transfer", "F5"),
    ("hold", "F6"),
    ("pause", "F7"),
    ("rate", "F8"),
    ("finish", "F9"),
    ("call_selected", "F10"),
    ("resume_held", "F11"),
]


class CallerScreen(QWidget):
    """One window's caller.  Every refusal lands in the status line; nothing a clerk presses can crash it."""

    def __init__(self, client: HallClient, window: int, *, inputs: DeviceInputs | None = None,
                 key_clock: Callable[[], float] | None = None, lang: str = "zh",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window_no = window
        self.lang = lang if lang in LANGUAGES else "zh"
        self.state: dict[str, Any] = {}
        self.cards: list[dict[str, Any]] = []  # this window's yellow/red cases as last shown
        self.compact = True  # until the first resize says the screen is tall: a window never starts taller than it
        self.pending_call: str | None = None  # 呼叫 waiting on 过号/开始办理: "" = call next, else a number
        self.rating_for: str | None = None  # the ticket whose rating this caller shows
        cfg = client.config.window(window)
        if cfg is None:
            raise ValueError(f"no window {window} in the hall configuration")
        self.setObjectName("caller")
        self.setWindowTitle(f"{cfg.name} · 叫号")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.buttons: dict[str, QPushButton] = {}
        self._keys: dict[Qt.Key, Callable[[], None]] = {}
        self._build()
        self._style()
        self.set_language(self.lang)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(40)  # one redraw per burst of events, soon enough to feel at once
        self.refresh_timer.timeout.connect(self.refresh)
        self.cards_timer = QTimer(self)  # a pass may change many cards at once: one redraw per burst
        self.cards_timer.setSingleShot(True)
        self.cards_timer.setInterval(100)
        self.cards_timer.timeout.connect(self.refresh_cards)
        # cards also change in other processes (the hall server's evaluate pass), whose events do not reach this
        # process's bus: look again every minute; the query is bounded and cheap
        self.cards_periodic = QTimer(self)
        self.cards_periodic.timeout.connect(self.refresh_cards)
        self.cards_periodic.start(CARDS_REREAD_S * 1000)
        client.events.connect(self.on_event)
        client.store_fault.connect(self.on_store_fault)
        client.quiet.connect(self.on_quiet)
        self.on_store_fault(client.fault)
        # a staff badge or card, from this window's scanner or a keyboard-wedge reader, through one doorway
        self.inputs = inputs if inputs is not None else DeviceInputs(parent=self)
        self.inputs.read.connect(self.on_read)
        self.wedge = WedgeScanner(self, self.inputs, clock=key_clock or time.monotonic)
        self.refresh()
        self.refresh_cards()

    # --- layout -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 16, 16, 16)
        root.setSpacing(12)
        # a store fault stays above everything until a command is saved again (the status line shows the last one)
        self.fault_banner = tag(QLabel(), "status_error")
        self.fault_banner.setWordWrap(True)
        self.fault_banner.hide()
        root.addWidget(self.fault_banner)
        top = tag(QFrame(), "panel")
        tl = QGridLayout(top)
        self.name_label = tag(QLabel(), "title")
        self.clerk_label = tag(QLabel(), "body")
        self.clerk_label.setWordWrap(True)
        self.state_label = tag(QLabel(), "state")
        self.current_label = tag(QLabel("—"), "number")
        self.current_info = tag(QLabel(), "body")
        self.current_info.setWordWrap(True)
        tl.addWidget(self.name_label, 0, 0)
        tl.addWidget(self.state_label, 0, 1, alignment=Qt.AlignmentFlag.AlignRight)
        tl.addWidget(self.clerk_label, 1, 0)
        # the citizen's rating, as the evaluator or keypad records it (never only "asked"), beside the clerk
        self.rating_label = tag(QLabel(), "rating")
        self.rating_label.setWordWrap(True)
        self.rating_label.hide()
        tl.addWidget(self.rating_label, 1, 1)
        tl.addWidget(self.current_label, 2, 0)
        # 关联办件 beside the ticket it links (the current one, else the one just served): 一事一评
        side = QVBoxLayout()
        side.addWidget(self.current_info)
        link = QHBoxLayout()
        self.link_target = tag(QLabel(), "body")
        self.case_input = QLineEdit()
        self.case_input.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # a case number reads left to right
        self.case_input.returnPressed.connect(self.link_case)
        self.link_button = tag(QPushButton(), "action")
        self.link_button.clicked.connect(self.link_case)
        link.addWidget(self.link_target)
        link.addWidget(self.case_input, 1)
        link.addWidget(self.link_button)
        side.addLayout(link)
        tl.addLayout(side, 2, 1)
        tl.setColumnStretch(1, 1)
        root.addWidget(top)

        # 呼叫 on a number only called: did the citizen come?  Never closed as 办结 without service.
        self.choice = tag(QFrame(), "choice")
        cl = QHBoxLayout(self.choice)
        cl.setContentsMargins(8, 4, 8, 4)
        self.choice_label = tag(QLabel(), "choice")
        self.choice_label.setWordWrap(True)
        cl.addWidget(self.choice_label, 1)
        self.choice_no_show = tag(QPushButton(), "action")
        self.choice_no_show.clicked.connect(self.no_show)
        self.choice_start = tag(QPushButton(), "primary")
        self.choice_start.clicked.connect(self.start)
        self.choice_cancel = tag(QPushButton(), "action")
        self.choice_cancel.clicked.connect(self.cancel_choice)
        for b in (self.choice_no_show, self.choice_start, self.choice_cancel):
            cl.addWidget(b)
        self.choice.hide()
        root.addWidget(self.choice)

        grid = QGridLayout()
        grid.setSpacing(8)
        handlers: dict[str, Callable[[], None]] = {
            "call": self.call_next, "recall": self.recall, "no_show": self.no_show, "start": self.start,
            "transfer": self.transfer, "hold": self.hold, "pause": self.toggle_pause, "rate": self.request_rating,
            "finish": self.finish, "call_selected": self.call_selected, "resume_held": self.resume_held,
        }
        for i, (key, keyseq) in enumerate(ACTIONS):
            b = tag(QPushButton(), "primary" if key == "call" else "action")
            b.clicked.connect(handlers[key])
            self.buttons[key] = b
            grid.addWidget(b, i // 6, i % 6)
            self._keys[QKeySequence(keyseq)[0].key()] = handlers[key]
        root.addLayout(grid)

        opts = QHBoxLayout()
        self.clerk_id = QLineEdit()
        self.clerk_id.setMaximumWidth(dp(self, 140))
        self.clerk_name = QLineEdit()
        self.clerk_name.setMaximumWidth(dp(self, 140))
        # the PIN of a staff account (kiosk/core/staff.py): never echoed, cleared after each try; the name is for
        # a hall without accounts
        self.clerk_pin = QLineEdit()
        self.clerk_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.clerk_pin.setMaxLength(6)
        self.clerk_pin.setMaximumWidth(dp(self, 80))
        self.clerk_pin.returnPressed.connect(self.sign_in)
        self.sign_in_button = tag(QPushButton(), "action")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_out_button = tag(QPushButton(), "action")
        self.sign_out_button.clicked.connect(self.sign_out)
        opts.addWidget(self.clerk_id)
        opts.addWidget(self.clerk_pin)
        opts.addWidget(self.clerk_name)
        opts.addWidget(self.sign_in_button)
        opts.addWidget(self.sign_out_button)
        # the preset reasons in the screen's language; the hall keeps the Chinese (the LED boards say it)
        self.pause_reason = QComboBox()
        self.pause_reason.setEditable(True)
        for stored in PAUSE_REASONS.values():
            self.pause_reason.addItem(stored, stored)
        self.transfer_target = QComboBox()
        for b in self.client.config.businesses:
            self.transfer_target.addItem(b.name, f"business:{b.code}")
        for w in self.client.config.windows:
            if w.number != self.window_no:
                self.transfer_target.addItem(w.name, f"window:{w.number}")
        self.pause_title = tag(QLabel(), "body")
        self.transfer_title = tag(QLabel(), "body")
        opts.addWidget(self.pause_title)
        opts.addWidget(self.pause_reason, 1)
        opts.addWidget(self.transfer_title)
        opts.addWidget(self.transfer_target, 2)
        root.addLayout(opts)

        # waiting and held lists on the left, this window's 电子监察 cards on the right
        lists = QGridLayout()
        lists.setHorizontalSpacing(12)
        self.waiting_title = tag(QLabel(), "body")
        self.waiting_list = QListWidget()
        self.waiting_list.itemDoubleClicked.connect(lambda _i: self.call_selected())
        self.held_title = tag(QLabel(), "body")
        self.held_list = QListWidget()
        self.held_list.itemDoubleClicked.connect(lambda _i: self.resume_held())
        self.cards_title = tag(QLabel(), "body")
        self.cards_list = QListWidget()
        self.cards_list.setObjectName("cards")
        self.cards_list.setTextElideMode(Qt.TextElideMode.ElideRight)  # only a long item name (2nd line) shortens
        self.cards_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_list.setSpacing(2)
        lists.addWidget(self.waiting_title, 0, 0)
        lists.addWidget(self.held_title, 0, 1)
        lists.addWidget(self.cards_title, 0, 2)
        lists.addWidget(self.waiting_list, 1, 0)
        lists.addWidget(self.held_list, 1, 1)
        lists.addWidget(self.cards_list, 1, 2)
        lists.setColumnStretch(0, 3)
        lists.setColumnStretch(1, 2)
        lists.setColumnStretch(2, 5)
        lists.setRowStretch(1, 1)
        root.addLayout(lists, 1)
        self.my_rect = MyRectifications(self.client)  # the signed-in clerk's own 差评 and their 申诉
        root.addWidget(self.my_rect)

        self.status = tag(QLabel(), "status_ok")
        self.status.setWordWrap(True)
        root.addWidget(self.status)

    def resizeEvent(self, event: QResizeEvent) -> None:
        compact = event.size().height() < COMPACT_HEIGHT
        if compact != self.compact:
            self.compact = compact
            self._style()
        super().resizeEvent(event)

    def _style(self) -> None:
        P = PAIRS
        c = bool(self.compact)

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        def size(normal: float, compact: float) -> int:
            return dp(self, compact if c else normal)

        def text(normal: float, compact: float) -> int:
            return dp(self, (compact if c else normal) * text_scale(self.lang))

        margin = 8 if c else 16
        self.layout().setContentsMargins(margin, margin, margin, margin)
        self.layout().setSpacing(6 if c else 12)
        self.setStyleSheet(f"""
            #caller {{ {pair('page')} }}
            QWidget {{ font-size: {text(20, 18)}px; }}
            QFrame[role="panel"] {{ {pair('ticket')} border-radius: 10px; }}
            QLabel[role="title"] {{ {pair('ticket')} font-size: {text(30, 24)}px; font-weight: bold; }}
            QLabel[role="body"] {{ color: {P['page'].fg}; background: transparent; }}
            QLabel[role="body"][unsigned="true"] {{ {pair('warn')} border-radius: 6px; padding: 4px 8px;
                font-weight: bold; }}
            QLabel[role="number"] {{ {pair('ticket')} font-size: {size(84, 60)}px; font-weight: bold; }}
            QLabel[role="state"] {{ {pair('header')} border-radius: 8px; padding: 6px 14px;
                font-size: {text(26, 22)}px; font-weight: bold; }}
            QLabel[role="state"][paused="true"] {{ {pair('danger')} }}
            QPushButton[role="action"] {{ {pair('action')} border: 2px solid {P['action'].fg}; border-radius: 8px;
                min-height: {size(64, 48)}px; min-width: {dp(self, 96)}px; font-weight: bold; }}
            QPushButton[role="primary"] {{ {pair('primary')} border: 2px solid #0F4D14; border-radius: 8px;
                min-height: {size(64, 48)}px; min-width: {dp(self, 96)}px; font-weight: bold; }}
            QPushButton:disabled {{ color: #5F6670; background-color: #E4E7EB; border-color: #A0A7B0; }}
            QLineEdit, QComboBox {{ min-height: {max(dp(self, 40), self._line_height(text(20, 18)) + 4)}px; }}
            QListWidget {{ {pair('ticket')} font-size: {text(22, 19)}px; }}
            QListWidget::item:selected {{ {pair('header')} }}
            QListWidget#cards {{ font-size: {text(20, 20)}px; }}
            QLabel[role="status_ok"] {{ {pair('ok')} padding: 8px; border-radius: 6px; }}
            QLabel[role="rating"] {{ {pair('ok')} padding: 4px 8px; border-radius: 6px; font-weight: bold; }}
            QLabel[role="rating"][bad="true"] {{ {pair('error')} }}
            QFrame[role="choice"], QLabel[role="choice"] {{ {pair('warn')} border-radius: 8px; font-weight: bold; }}
            QLabel[role="status_error"] {{ {pair('error')} padding: 8px; border-radius: 6px; font-weight: bold; }}
        """)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F1…F11 from anywhere in the caller (a list or combo box passes function keys up to here)."""
        if event.key() == Qt.Key.Key_Escape and self.choice.isVisible():
            self.cancel_choice()
            event.accept()
            return
        handler = self._keys.get(Qt.Key(event.key()))
        if handler is None or event.isAutoRepeat():
            super().keyPressEvent(event)
            return
        handler()
        event.accept()

    # --- language -------------------------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    def set_language(self, lang: str) -> None:
        """Every word of the caller in `lang` (names and reasons the hall has only in Chinese stay so)."""
        scale = text_scale(self.lang)
        self.lang = lang if lang in LANGUAGES else "zh"
        self.setLayoutDirection(direction(self.lang))
        if text_scale(self.lang) != scale:
            self._style()
        self.my_rect.set_language(self.lang)
        self.retranslate()

    def retranslate(self) -> None:
        cfg = self.client.config
        self.name_label.setText(window_label(cfg, self.window_no, self.lang))
        self.case_input.setPlaceholderText(self.t("case_no"))
        self.link_button.setText(self.t("caller_link"))
        self.link_button.setToolTip(self.t("caller_link_tip"))
        self.choice_start.setText(self._key_label(self.t("caller_choice_start"), "F4"))
        self.choice_cancel.setText(self._key_label(self.t("caller_cancel"), "Esc"))
        for key, keyseq in ACTIONS:
            label = self.t(f"act_{key}")
            self.buttons[key].setText(self._key_label(label, keyseq))
            self.buttons[key].setToolTip(f"{label} ({keyseq})")
        self.clerk_id.setPlaceholderText(self.t("caller_staff_id"))
        self.clerk_name.setPlaceholderText(self.t("caller_staff_name"))
        self.sign_in_button.setText(self.t("caller_sign_in"))
        self.clerk_pin.setPlaceholderText(self.t("caller_staff_pin"))
        self.sign_out_button.setText(self.t("caller_sign_out"))
        self.pause_title.setText(self.t("caller_pause_reason"))
        self.transfer_title.setText(self.t("caller_transfer_to"))
        typed = self.pause_reason.currentText() if self.pause_reason.currentIndex() < 0 else None
        for i in range(self.pause_reason.count()):
            self.pause_reason.setItemText(i, preset(self.pause_reason.itemData(i), self.lang))
        if typed is not None:
            self.pause_reason.setEditText(typed)
        for i in range(self.transfer_target.count()):
            kind, _, target = str(self.transfer_target.itemData(i)).partition(":")
            name = (business_name(cfg, target, self.lang) if kind == "business"
                    else window_label(cfg, int(target), self.lang))
            self.transfer_target.setItemText(
                i, self.t("caller_to_business" if kind == "business" else "caller_to_window", name=name))
        if self._ready:
            self.show_ok(self.t("caller_ready"))
            self._ready = True  # nothing said since: still the ready line, in the new language
        self._show_banner()
        if self.state:
            self.refresh()
            self.refresh_cards()

    _ready = True

    def _line_height(self, px: int) -> int:
        """How tall a line of this language is at `px` (Qt's per-script fallback: Tibetan's twice Chinese's)."""
        font = QFont(self.font())
        font.setPixelSize(px)
        return QFontMetrics(font).size(0, self.t("caller_staff_id")).height()

    def _key_label(self, label: str, key: str) -> str:
        """A button's words and its key: under them in Chinese, beside them in the other languages (a Tibetan
        line is twice as tall, and two of them do not fit a 1366×768 caller)."""
        return f"{label}\n{key}" if self.lang == "zh" else f"{label}  {key}"

    # --- state ----------------------------------------------------------------------------------------------
    def on_event(self, e: Event) -> None:
        if e.kind.startswith("rectification."):
            self.my_rect.refresh()
            return
        if e.kind.startswith(CASE_KINDS_PREFIX):
            if self._concerns_cards(e):
                self.cards_timer.start()
            return
        if e.kind in RATING_KINDS:
            self._rating_event(e)
        self.refresh_timer.start()

    def _rating_event(self, e: Event) -> None:
        """Say what the citizen at this window did with the rating request: asked, rated (with the level, and for a
        差评 whether its reason is in), or not rated in time."""
        p = e.payload
        r = p.get("rating") if isinstance(p.get("rating"), dict) else None
        t = p.get("ticket") if isinstance(p.get("ticket"), dict) else {}
        if (r["window"] if r else p.get("window")) != self.window_no:
            return
        number = str(r["number"] if r else t.get("number", ""))
        tid = str(r["ticket_id"] if r else t.get("id", ""))
        if e.kind == ev.RATING_REQUESTED:
            self.rating_for = tid
            self._show_rating(self.t("caller_rating_asked", number=number), bad=False)
            return
        if tid != self.rating_for and e.kind != ev.RATING_RECORDED:
            return  # a late reason or timeout for a ticket this caller no longer shows
        self.rating_for = tid
        if e.kind == ev.RATING_UNRATED:
            self._show_rating(self.t("caller_rating_unrated", number=number), bad=False)
            return
        assert r is not None
        bad = r.get("level") in ("dissatisfied", "very_dissatisfied")
        level = level_text(r.get("level"), self.lang)
        text = f"{'✖' if bad else '✔'} {self.t('caller_rated', number=number, level=level)}"
        if bad:
            reason = preset(r.get("reason"), self.lang)
            text += self.t("caller_rated_reason", reason=reason) if reason else self.t("caller_reason_pending")
        self._show_rating(text, bad=bad)

    def _show_rating(self, text: str, *, bad: bool) -> None:
        self.rating_label.setText(text)
        self.rating_label.show()
        if self.rating_label.property("bad") != bad:
            self.rating_label.setProperty("bad", bad)
            self.rating_label.style().unpolish(self.rating_label)
            self.rating_label.style().polish(self.rating_label)

    def _concerns_cards(self, e: Event) -> bool:
        """A case event for this window, or for a case this window now lists (it may have moved away)."""
        p = e.payload
        case = p.get("case") if isinstance(p.get("case"), dict) else p
        window = case.get("window") if isinstance(case, dict) else None
        case_no = case.get("case_no") if isinstance(case, dict) else None
        if window is None and case_no is None:
            return True  # a kind this screen does not know the shape of: look again rather than miss it
        return window == self.window_no or any(c["case_no"] == case_no for c in self.cards)

    def refresh(self) -> None:
        try:
            w = self.client.window(self.window_no)
            waiting = self.client.waiting(self.window_no)
            held = self.client.held(self.window_no)
        except Exception as exc:
            log.exception("caller refresh failed")
            self.show_error(self.t("caller_read_failed", error=exc))
            return
        self.state = w
        st = w["state"]
        paused = st == "paused"
        text = f"{STATE_MARK.get(st, '')} {window_state(st, self.lang)}"
        if paused and w.get("pause_reason"):
            reason = preset(w["pause_reason"], self.lang)
            text += f"（{reason}）" if self.lang == "zh" else f" ({reason})"
        self.state_label.setText(text)
        if self.state_label.property("paused") != paused:
            self.state_label.setProperty("paused", paused)
            self.state_label.style().unpolish(self.state_label)
            self.state_label.style().polish(self.state_label)
        signed = bool(w.get("clerk_id"))
        self.clerk_label.setText(self.t("caller_clerk", name=w["clerk_name"]) if signed else
                                 self.t("caller_unsigned"))
        if self.clerk_label.property("unsigned") != (not signed):
            self.clerk_label.setProperty("unsigned", not signed)
            self.clerk_label.style().unpolish(self.clerk_label)
            self.clerk_label.style().polish(self.clerk_label)
        self.my_rect.set_clerk(w.get("clerk_id"))
        cur = w.get("current")
        if cur:
            self.current_label.setText(cur["number"])
            prio = priority(cur.get("priority"), self.lang)
            name = business_name(self.client.config, cur.get("business", ""), self.lang, cur["business_name"])
            info = f"{name}  {ticket_status(cur['status'], self.lang, cur['status_label'])}"
            self.current_info.setText(info + (f"  [{prio}]" if prio else ""))
        else:
            self.current_label.setText("—")
            self.current_info.setText(self.t("caller_no_ticket"))
        left = w.get("recalls_left")
        recall = self.t("caller_recall_left", n=left) if left is not None else self.t("act_recall")
        self.buttons["recall"].setText(self._key_label(recall, "F2"))
        self.buttons["pause"].setText(self._key_label(self.t("caller_resume" if paused else "act_pause"), "F7"))
        has_cur = cur is not None
        called = has_cur and cur["status"] == "called"
        serving = has_cur and cur["status"] == "serving"
        enabled = {
            "call": not paused and bool(waiting), "recall": called and (left or 0) > 0, "no_show": called,
            "start": called, "transfer": has_cur, "hold": has_cur, "pause": not has_cur or paused,
            "rate": serving or (not has_cur and bool(w.get("last_ticket"))), "finish": serving,
            "call_selected": not paused and bool(waiting), "resume_held": not paused and bool(held) and not has_cur,
        }
        for key, on in enabled.items():
            self.buttons[key].setEnabled(on and signed)  # the hall refuses every window command at an empty desk
        if self.choice.isVisible() and not called:
            self._close_choice()  # answered elsewhere (a keypad, another caller): the question is moot
        target = self.ticket_to_link()
        self.link_target.setText(self.t("caller_link_target", number=target[1]) if target
                                 else self.t("caller_nothing_to_link"))
        self.link_button.setEnabled(target is not None)
        self._fill(self.waiting_list, waiting)
        self._fill(self.held_list, held)
        self.waiting_title.setText(self.t("caller_waiting_n", n=len(waiting)))
        self.held_title.setText(self.t("caller_held_n", n=len(held)))

    def refresh_cards(self) -> None:
        """This window's yellow and red cases, red first, from the 办件 module (bounded query)."""
        try:
            cards = self.client.cases.cards(window=self.window_no, limit=CARD_LIMIT)
        except Exception as exc:
            log.exception("cards query failed at window %s", self.window_no)
            self.show_error(self.t("caller_cards_failed", error=exc))
            return
        self.cards = cards
        self.cards_list.clear()
        for c in cards:
            card = c["card"]
            left = c.get("working_days_left")
            left_text = self.t("days_left", n=f"{left:g}") if left is not None and left > 0 else ""
            status = case_status(c["status"], self.lang, c["status_label"])
            # what a clerk acts on comes first (a narrow caller shortens the end of the line)
            item = QListWidgetItem(
                f"{card_sign(card, self.lang)}  {value(self.lang, c['case_no'])}  "
                f"{self.t('caller_due', day=(c.get('due_day') or '—')[5:])}  "
                f"{status}  {c.get('applicant') or '—'}\n{c.get('item_name') or ''}")
            item.setToolTip(self.t("caller_card_tip", card=card_sign(card, self.lang), case_no=c["case_no"],
                                   item=c.get("item_name") or "", day=c.get("due_day") or "—", left=left_text))
            item.setData(Qt.ItemDataRole.UserRole, c["case_no"])
            pair = PAIRS[CARD_PAIR.get(card, "ticket")]
            item.setForeground(QBrush(QColor(pair.fg)))
            item.setBackground(QBrush(QColor(pair.bg)))
            self.cards_list.addItem(item)
        n_red = sum(1 for c in cards if c["card"] == "red")
        n_yellow = sum(1 for c in cards if c["card"] == "yellow")
        more = self.t("caller_cards_more", n=CARD_LIMIT) if len(cards) >= CARD_LIMIT else ""
        self.cards_title.setText(self.t("caller_cards_counts", red=n_red, yellow=n_yellow, more=more) if cards
                                 else self.t("caller_cards_none"))

    def ticket_to_link(self) -> tuple[str, str] | None:
        """(ticket id, number) that 关联办件 would link: the current ticket, else the one just served."""
        cur = self.state.get("current")
        if cur:
            return cur["id"], cur["number"]
        last = self.state.get("last_ticket")
        if not last:
            return None
        try:
            t = self.client.ticket(last)
        except Exception:
            log.exception("last ticket %s unreadable", last)
            return None
        return last, str(t.get("number") or last)

    def link_case(self) -> None:
        case_no = self.case_input.text().strip()
        if not case_no:
            self.show_error(self.t("caller_enter_case"))
            return
        target = self.ticket_to_link()
        if target is None:
            self.show_error(self.t("caller_no_link_target"))
            return
        tid, number = target
        if self._do("caller_link", lambda: self.client.cases.link_ticket(case_no, tid),
                    lambda c: self.t("caller_linked", number=number, case_no=c["case_no"])) is not None:
            self.case_input.clear()

    def _fill(self, lst: QListWidget, tickets: list[dict[str, Any]]) -> None:
        selected = lst.currentItem().data(Qt.ItemDataRole.UserRole) if lst.currentItem() else None
        lst.clear()
        for t in tickets:
            prio = priority("transfer" if t.get("target_window") else t.get("priority"), self.lang)
            name = business_name(self.client.config, t.get("business", ""), self.lang, t["business_name"])
            item = QListWidgetItem(f"{t['number']}  {name}" + (f"  [{prio}]" if prio else ""))
            item.setData(Qt.ItemDataRole.UserRole, t["number"])
            lst.addItem(item)
            if t["number"] == selected:
                lst.setCurrentItem(item)

    def show_ok(self, text: str) -> None:
        self._ready = False
        self.status.setText("✔ " + text)
        self._status_role("status_ok")

    def show_error(self, text: str) -> None:
        self._ready = False
        self.status.setText("⚠ " + text)
        self._status_role("status_error")

    def on_store_fault(self, fault: StoreFault | None) -> None:
        self._fault = fault
        self._show_banner()

    def on_quiet(self, why: str | None) -> None:
        """The store or the hall server stopped answering: what this caller shows may be old, and presses may fail."""
        self._quiet = why
        self._show_banner()

    _fault: StoreFault | None = None
    _quiet: str | None = None

    def _show_banner(self) -> None:
        fault = f"⚠ {error_text(self.lang, self._fault)}" if self._fault is not None else ""
        # the system's own words exist in Chinese: a Chinese reader gets them, every reader what it means here
        quiet = "⚠ " + (f"{self._quiet}：" if self.lang == "zh" else "") + self.t("caller_maybe_old") \
            if self._quiet else ""
        text = "\n".join(t for t in (fault, quiet) if t)
        self.fault_banner.setVisible(bool(text))
        self.fault_banner.setText(text)

    def _status_role(self, role: str) -> None:
        tag(self.status, role)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _do(self, what: str, fn: Callable[[], Any], done: Callable[[Any], str]) -> Any:
        """Run one hall command (`what`: its name's key): a refusal goes to the status line, anything else is
        logged and said."""
        try:
            result = fn()
        except HallError as exc:
            self.show_error(error_text(self.lang, exc))
            return None
        except Exception as exc:
            log.exception("%s failed at window %s", what, self.window_no)
            self.show_error(self.t("caller_failed", what=self.t(what), error=exc))
            return None
        self.show_ok(done(result.value))
        self.refresh()
        return result

    # --- actions --------------------------------------------------------------------------------------------
    def call_next(self) -> None:
        self._call("")

    def _call(self, number: str) -> None:
        """呼叫 (number "") or 呼叫选中: first ask about a current number only called — 呼叫 would close it as 办结."""
        cur = self.state.get("current")
        if cur and cur["status"] == "called":
            self._offer_choice(cur["number"], number)
            return
        if number:
            fn = lambda: self.client.call_ticket(self.window_no, number)  # noqa: E731
        else:
            fn = lambda: self.client.call_next(self.window_no)  # noqa: E731
        try:
            result = fn()
        except CalledNotStarted as exc:  # this caller's view was behind: ask now
            self.refresh()
            self._offer_choice(str(exc.params.get("number", "")), number)
            return
        except HallError as exc:
            self.show_error(error_text(self.lang, exc))
            return
        except Exception as exc:
            log.exception("呼叫 failed at window %s", self.window_no)
            self.show_error(self.t("caller_failed", what=self.t("act_call"), error=exc))
            return
        self.show_ok(self.t("caller_called", number=result.value["number"]))
        self.refresh()

    def _offer_choice(self, current: str, then: str | None) -> None:
        """Ask 过号 or 开始办理 for `current`; `then`: what to call after 过号 ("" the next, a number, None nothing)."""
        self.pending_call = then
        after = ("" if then is None else self.t("caller_after_next") if then == ""
                 else self.t("caller_after_number", number=then))
        self.choice_label.setText(self.t("caller_choice", number=current))
        self.choice_no_show.setText(self._key_label(self.t("caller_choice_no_show", after=after), "F3"))
        self.choice.show()
        self.choice_start.setFocus()
        self.show_error(self.t("caller_not_started", number=current))

    def _close_choice(self) -> None:
        self.pending_call = None
        self.choice.hide()

    def cancel_choice(self) -> None:
        self._close_choice()
        self.show_ok(self.t("caller_cancelled"))

    def recall(self) -> None:
        self._do("act_recall", lambda: self.client.recall(self.window_no),
                 lambda t: self.t("caller_recalled", number=t["number"]))

    def no_show(self) -> None:
        then = self.pending_call
        if self._do("act_no_show", lambda: self.client.no_show(self.window_no),
                    lambda t: self.t("caller_no_showed", number=t["number"])) is None:
            return
        self._close_choice()
        if then is not None:
            self._call(then)  # the clerk had pressed 呼叫: go on to the next number

    def start(self) -> None:
        if self._do("act_start", lambda: self.client.start_service(self.window_no),
                    lambda t: self.t("caller_started", number=t["number"])) is not None:
            self._close_choice()

    def finish(self) -> None:
        cur = self.state.get("current")
        if cur and cur["status"] == "called":  # F9 works even while the button is grey: never 办结 unserved
            self._offer_choice(cur["number"], None)
            return
        self._do("act_finish", lambda: self.client.finish_service(self.window_no),
                 lambda t: self.t("caller_finished", number=t["number"]))

    def hold(self) -> None:
        self._do("act_hold", lambda: self.client.hold(self.window_no),
                 lambda t: self.t("caller_held", number=t["number"]))

    def request_rating(self) -> None:
        self._do("act_rate", lambda: self.client.request_rating(self.window_no),
                 lambda t: self.t("caller_rating_sent", number=t["number"]))

    def transfer(self) -> None:
        data = self.transfer_target.currentData()
        if not data:
            self.show_error(self.t("caller_choose_target"))
            return
        kind, _, target = str(data).partition(":")
        kw: dict[str, Any] = {"to_business": target} if kind == "business" else {"to_window": int(target)}
        self._do("act_transfer", lambda: self.client.transfer(self.window_no, **kw),
                 lambda t: self.t("caller_transferred", number=t["number"],
                                  target=self.transfer_target.currentText()))

    def toggle_pause(self) -> None:
        if self.state.get("state") == "paused":
            self._do("caller_resume", lambda: self.client.resume_window(self.window_no),
                     lambda _v: self.t("caller_resumed"))
            return
        reason = self._pause_reason()
        self._do("act_pause", lambda: self.client.pause(self.window_no, reason),
                 lambda _v: self.t("caller_paused", reason=preset(reason, self.lang)))

    def _pause_reason(self) -> str:
        """What the hall records: a preset reason in Chinese (the boards say it), a typed one as typed."""
        i, text = self.pause_reason.currentIndex(), self.pause_reason.currentText().strip()
        if i >= 0 and text == self.pause_reason.itemText(i):
            return str(self.pause_reason.itemData(i))
        return text or STRINGS["wstate_paused"]["zh"]

    def sign_in(self) -> None:
        """With a PIN: the staff account (工号 or badge code); without: by name, for a hall with no accounts (one
        that has them refuses it and says to give the PIN)."""
        clerk_id, name = self.clerk_id.text().strip(), self.clerk_name.text().strip()
        pin = self.clerk_pin.text().strip()
        self.clerk_pin.clear()  # never kept on the screen, whatever the answer
        if clerk_id and pin:
            self._do("caller_sign_in", lambda: self.client.sign_in_staff(self.window_no, clerk_id, pin),
                     lambda _v: self.t("caller_signed_in",
                                       name=self.client.window(self.window_no).get("clerk_name") or clerk_id))
            return
        if not clerk_id or not name:
            self.show_error(self.t("caller_fill_pin" if self._staff_accounts() else "caller_fill_sign_in"))
            return
        self._do("caller_sign_in", lambda: self.client.sign_in(self.window_no, clerk_id, name),
                 lambda _v: self.t("caller_signed_in", name=name))

    def sign_out(self) -> None:
        name = self.state.get("clerk_name") or self.clerk_id.text().strip()
        self._do("caller_sign_out", lambda: self.client.sign_out(self.window_no),
                 lambda _v: self.t("caller_signed_out", name=name))

    def closeEvent(self, event: Any) -> None:
        # the readers outlive the screen: stop taking their reads and the keyboard before Qt deletes the widgets
        self.inputs.close()
        self.wedge.close()
        super().closeEvent(event)

    def on_read(self, item: Read) -> None:
        """A staff badge signs in (its staff number; the name is typed once); a case code fills 关联办件."""
        if isinstance(item, ReadRefused):
            key = REFUSAL_KEYS.get(item.key)
            self.show_error(self.t(key, date=item.until) if key else item.reason)
            return
        if isinstance(item, IdCardRead):
            self.show_error(self.t("caller_id_card"))
            return
        if not isinstance(item, ScanRead):
            return
        s = classify(item.code)
        if s.kind == Kind.CASE:
            self.case_input.setText(s.value)
            self.case_input.setFocus()
            self.show_ok(self.t("caller_case_read", case_no=s.value))
            return
        staff = staff_number(s, item.code)
        if staff is None:
            self.show_error(self.t("caller_badge_unknown"))
            return
        self.clerk_id.setText(staff)
        accounts = self._staff_accounts()
        if self.clerk_pin.text().strip() or (self.clerk_name.text().strip() and not accounts):
            self.sign_in()
        elif accounts:  # a badge names the account; its PIN is still asked
            self.clerk_pin.setFocus()
            self.show_ok(self.t("caller_staff_read_pin", staff=staff))
        else:
            self.clerk_name.setFocus()
            self.show_ok(self.t("caller_staff_read", staff=staff))

    def _staff_accounts(self) -> bool:
        try:
            return self.client.has_staff_accounts()
        except HallError:  # the server out of reach: ask for the PIN, the safe side
            return True

    def call_selected(self) -> None:
        item = self.waiting_list.currentItem()
        if item is None:
            self.show_error(self.t("caller_select_first"))
            return
        self._call(str(item.data(Qt.ItemDataRole.UserRole)))

    def resume_held(self) -> None:
        item = self.held_list.currentItem() or (self.held_list.item(0) if self.held_list.count() else None)
        if item is None:
            self.show_error(self.t("caller_no_held"))
            return
        number = item.data(Qt.ItemDataRole.UserRole)
        self._do("act_resume_held", lambda: self.client.resume_ticket(self.window_no, number),
                 lambda t: self.t("caller_resumed_ticket", number=t["number"]))
