"""The clerk's caller (窗口叫号): window state, current ticket, call/recall/no-show/transfer/hold/pause/rate/finish,
the citizen's rating as it arrives, this window's 电子监察 cards and linking the served ticket to its case (一事一评).
Nothing is done at a window nobody has signed in to, and 呼叫 on a number only called asks 过号 or 开始办理."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QKeySequence, QResizeEvent
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
from kiosk.ui.client import HallClient
from kiosk.ui.inputs import DeviceInputs, WedgeScanner
from kiosk.ui.rectify import MyRectifications
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import CARD_PAIR, CARD_TEXT, tag

log = logging.getLogger(__name__)

STATE_TEXT = {"idle": "空闲", "calling": "叫号中", "serving": "办理中", "paused": "暂停服务"}
STATE_MARK = {"idle": "○", "calling": "◎", "serving": "●", "paused": "‖"}  # state never by colour alone
PRIORITY_TEXT = {"appointment": "预约", "green": "绿色通道", "normal": "", "transfer": "转入"}
PAUSE_REASONS = ["临时离开", "业务咨询", "系统故障", "会议", "午休"]
CARD_LIMIT = 50  # a window's list; the query is bounded so a backlog never stalls the UI thread
CASE_KINDS_PREFIX = ("case.",)
CARDS_REREAD_S = 60
COMPACT_HEIGHT = 900  # a 1366×768 all-in-one: smaller type and spacing so that everything fits
RATING_KINDS = (ev.RATING_REQUESTED, ev.RATING_RECORDED, ev.RATING_REASON_COMPLETED, ev.RATING_UNRATED)

# (key, label, shortcut)
ACTIONS: list[tuple[str, str, str]] = [
    ("call", "呼叫", "F1"),
    ("recall", "重呼", "F2"),
    ("no_show", "过号", "F3"),
    ("start", "开始办理", "F4"),
    ("transfer", "转移", "F5"),
    ("hold", "挂起", "F6"),
    ("pause", "暂停", "F7"),
    ("rate", "评价", "F8"),
    ("finish", "完成", "F9"),
    ("call_selected", "呼叫选中", "F10"),
    ("resume_held", "恢复挂起", "F11"),
]


class CallerScreen(QWidget):
    """One window's caller.  Every refusal lands in the status line; nothing a clerk presses can crash it."""

    def __init__(self, client: HallClient, window: int, *, inputs: DeviceInputs | None = None,
                 key_clock: Callable[[], float] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window_no = window
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
        self._build(cfg.name)
        self._style()
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
    def _build(self, name: str) -> None:
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
        self.name_label = tag(QLabel(name), "title")
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
        self.case_input.setPlaceholderText("办件编号")
        self.case_input.returnPressed.connect(self.link_case)
        self.link_button = tag(QPushButton("关联办件"), "action")
        self.link_button.setToolTip("把当前（或刚办完）的号码关联到这个办件，评价就算在这个办件上（一事一评）")
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
        self.choice_no_show = tag(QPushButton("没有来：过号\nF3"), "action")
        self.choice_no_show.clicked.connect(self.no_show)
        self.choice_start = tag(QPushButton("已到：开始办理\nF4"), "primary")
        self.choice_start.clicked.connect(self.start)
        self.choice_cancel = tag(QPushButton("取消\nEsc"), "action")
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
        for i, (key, label, keyseq) in enumerate(ACTIONS):
            b = tag(QPushButton(f"{label}\n{keyseq}"), "primary" if key == "call" else "action")
            b.setToolTip(f"{label}（{keyseq}）")
            b.clicked.connect(handlers[key])
            self.buttons[key] = b
            grid.addWidget(b, i // 6, i % 6)
            self._keys[QKeySequence(keyseq)[0].key()] = handlers[key]
        root.addLayout(grid)

        opts = QHBoxLayout()
        self.clerk_id = QLineEdit()
        self.clerk_id.setPlaceholderText("工号")
        self.clerk_id.setMaximumWidth(dp(self, 120))
        self.clerk_name = QLineEdit()
        self.clerk_name.setPlaceholderText("姓名")
        self.clerk_name.setMaximumWidth(dp(self, 140))
        self.sign_in_button = tag(QPushButton("签到"), "action")
        self.sign_in_button.clicked.connect(self.sign_in)
        opts.addWidget(self.clerk_id)
        opts.addWidget(self.clerk_name)
        opts.addWidget(self.sign_in_button)
        self.pause_reason = QComboBox()
        self.pause_reason.setEditable(True)
        self.pause_reason.addItems(PAUSE_REASONS)
        self.transfer_target = QComboBox()
        for b in self.client.config.businesses:
            self.transfer_target.addItem(f"转业务：{b.name}", f"business:{b.code}")
        for w in self.client.config.windows:
            if w.number != self.window_no:
                self.transfer_target.addItem(f"转窗口：{w.name}", f"window:{w.number}")
        opts.addWidget(tag(QLabel("暂停原因"), "body"))
        opts.addWidget(self.pause_reason, 1)
        opts.addWidget(tag(QLabel("转移到"), "body"))
        opts.addWidget(self.transfer_target, 2)
        root.addLayout(opts)

        # waiting and held lists on the left, this window's 电子监察 cards on the right
        lists = QGridLayout()
        lists.setHorizontalSpacing(12)
        self.waiting_title = tag(QLabel("等候"), "body")
        self.waiting_list = QListWidget()
        self.waiting_list.itemDoubleClicked.connect(lambda _i: self.call_selected())
        self.held_title = tag(QLabel("挂起"), "body")
        self.held_list = QListWidget()
        self.held_list.itemDoubleClicked.connect(lambda _i: self.resume_held())
        self.cards_title = tag(QLabel("电子监察"), "body")
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

        self.status = tag(QLabel("就绪"), "status_ok")
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

        margin = 8 if c else 16
        self.layout().setContentsMargins(margin, margin, margin, margin)
        self.layout().setSpacing(6 if c else 12)
        self.setStyleSheet(f"""
            #caller {{ {pair('page')} }}
            QWidget {{ font-size: {size(20, 18)}px; }}
            QFrame[role="panel"] {{ {pair('ticket')} border-radius: 10px; }}
            QLabel[role="title"] {{ {pair('ticket')} font-size: {size(30, 24)}px; font-weight: bold; }}
            QLabel[role="body"] {{ color: {P['page'].fg}; background: transparent; }}
            QLabel[role="body"][unsigned="true"] {{ {pair('warn')} border-radius: 6px; padding: 4px 8px;
                font-weight: bold; }}
            QLabel[role="number"] {{ {pair('ticket')} font-size: {size(84, 60)}px; font-weight: bold; }}
            QLabel[role="state"] {{ {pair('header')} border-radius: 8px; padding: 6px 14px;
                font-size: {size(26, 22)}px; font-weight: bold; }}
            QLabel[role="state"][paused="true"] {{ {pair('danger')} }}
            QPushButton[role="action"] {{ {pair('action')} border: 2px solid {P['action'].fg}; border-radius: 8px;
                min-height: {size(64, 48)}px; min-width: {dp(self, 96)}px; font-weight: bold; }}
            QPushButton[role="primary"] {{ {pair('primary')} border: 2px solid #0F4D14; border-radius: 8px;
                min-height: {size(64, 48)}px; min-width: {dp(self, 96)}px; font-weight: bold; }}
            QPushButton:disabled {{ color: #5F6670; background-color: #E4E7EB; border-color: #A0A7B0; }}
            QLineEdit, QComboBox {{ min-height: {dp(self, 40)}px; }}
            QListWidget {{ {pair('ticket')} font-size: {size(22, 19)}px; }}
            QListWidget::item:selected {{ {pair('header')} }}
            QListWidget#cards {{ font-size: {dp(self, 20)}px; }}
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
            self._show_rating(f"⌛ {number} 评价中：请群众在评价器上评价", bad=False)
            return
        if tid != self.rating_for and e.kind != ev.RATING_RECORDED:
            return  # a late reason or timeout for a ticket this caller no longer shows
        self.rating_for = tid
        if e.kind == ev.RATING_UNRATED:
            self._show_rating(f"○ {number} 未评价（评价超时）", bad=False)
            return
        assert r is not None
        bad = r.get("level") in ("dissatisfied", "very_dissatisfied")
        text = f"{'✖' if bad else '✔'} {number} 已评价：{r.get('level_label', '')}"
        if bad:
            text += f"，原因：{r['reason']}" if r.get("reason") else "，原因待群众填写"
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
            self.show_error(f"无法读取窗口状态：{exc}")
            return
        self.state = w
        st = w["state"]
        paused = st == "paused"
        text = f"{STATE_MARK.get(st, '')} {STATE_TEXT.get(st, st)}"
        if paused and w.get("pause_reason"):
            text += f"（{w['pause_reason']}）"
        self.state_label.setText(text)
        if self.state_label.property("paused") != paused:
            self.state_label.setProperty("paused", paused)
            self.state_label.style().unpolish(self.state_label)
            self.state_label.style().polish(self.state_label)
        signed = bool(w.get("clerk_id"))
        self.clerk_label.setText(f"工作人员：{w['clerk_name']}" if signed else
                                 "工作人员：未签到 —— 请先签到（下方填工号和姓名，或刷工作证）")
        if self.clerk_label.property("unsigned") != (not signed):
            self.clerk_label.setProperty("unsigned", not signed)
            self.clerk_label.style().unpolish(self.clerk_label)
            self.clerk_label.style().polish(self.clerk_label)
        self.my_rect.set_clerk(w.get("clerk_id"))
        cur = w.get("current")
        if cur:
            self.current_label.setText(cur["number"])
            prio = PRIORITY_TEXT.get(cur.get("priority", ""), "")
            info = f"{cur['business_name']}  {cur['status_label']}"
            self.current_info.setText(info + (f"  [{prio}]" if prio else ""))
        else:
            self.current_label.setText("—")
            self.current_info.setText("当前没有号码")
        left = w.get("recalls_left")
        self.buttons["recall"].setText(f"重呼（剩 {left} 次）\nF2" if left is not None else "重呼\nF2")
        self.buttons["pause"].setText("恢复服务\nF7" if paused else "暂停\nF7")
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
        self.link_target.setText(f"关联 {target[1]} 到" if target else "无号码可关联")
        self.link_button.setEnabled(target is not None)
        self._fill(self.waiting_list, waiting)
        self._fill(self.held_list, held)
        self.waiting_title.setText(f"等候 {len(waiting)} 人")
        self.held_title.setText(f"挂起 {len(held)}")

    def refresh_cards(self) -> None:
        """This window's yellow and red cases, red first, from the 办件 module (bounded query)."""
        try:
            cards = self.client.cases.cards(window=self.window_no, limit=CARD_LIMIT)
        except Exception as exc:
            log.exception("cards query failed at window %s", self.window_no)
            self.show_error(f"无法读取电子监察：{exc}")
            return
        self.cards = cards
        self.cards_list.clear()
        for c in cards:
            card = c["card"]
            left = c.get("working_days_left")
            left_text = f"，剩余 {left:g} 个工作日" if left is not None and left > 0 else ""
            # what a clerk acts on comes first (a narrow caller shortens the end of the line)
            item = QListWidgetItem(
                f"{CARD_TEXT.get(card, c['card_label'])}  {c['case_no']}  期限 {(c.get('due_day') or '—')[5:]}  "
                f"{c['status_label']}  {c.get('applicant') or '—'}\n{c.get('item_name') or ''}")
            item.setToolTip(f"{c['card_label']}：{c['case_no']} {c.get('item_name') or ''}，办结期限 "
                            f"{c.get('due_day') or '—'}（当日内办结）{left_text}")
            item.setData(Qt.ItemDataRole.UserRole, c["case_no"])
            pair = PAIRS[CARD_PAIR.get(card, "ticket")]
            item.setForeground(QBrush(QColor(pair.fg)))
            item.setBackground(QBrush(QColor(pair.bg)))
            self.cards_list.addItem(item)
        n_red = sum(1 for c in cards if c["card"] == "red")
        n_yellow = sum(1 for c in cards if c["card"] == "yellow")
        more = f"（显示前 {CARD_LIMIT} 件）" if len(cards) >= CARD_LIMIT else ""
        self.cards_title.setText(f"电子监察：红牌 ⊘ {n_red} · 黄牌 ⚠ {n_yellow}{more}" if cards
                                 else "电子监察：本窗口没有预警办件")

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
            self.show_error("请输入办件编号")
            return
        target = self.ticket_to_link()
        if target is None:
            self.show_error("没有可关联的号码：先呼叫或办完一个号")
            return
        tid, number = target
        if self._do("关联办件", lambda: self.client.cases.link_ticket(case_no, tid),
                    lambda c: f"{number} 已关联办件 {c['case_no']}，评价计入该办件") is not None:
            self.case_input.clear()

    @staticmethod
    def _fill(lst: QListWidget, tickets: list[dict[str, Any]]) -> None:
        selected = lst.currentItem().data(Qt.ItemDataRole.UserRole) if lst.currentItem() else None
        lst.clear()
        for t in tickets:
            prio = PRIORITY_TEXT.get(t.get("priority", ""), "")
            if t.get("target_window"):
                prio = "转入"
            item = QListWidgetItem(f"{t['number']}  {t['business_name']}" + (f"  [{prio}]" if prio else ""))
            item.setData(Qt.ItemDataRole.UserRole, t["number"])
            lst.addItem(item)
            if t["number"] == selected:
                lst.setCurrentItem(item)

    def show_ok(self, text: str) -> None:
        self.status.setText("✔ " + text)
        self._status_role("status_ok")

    def show_error(self, text: str) -> None:
        self.status.setText("⚠ " + text)
        self._status_role("status_error")

    def on_store_fault(self, fault: StoreFault | None) -> None:
        self._fault_text = f"⚠ {fault.message}" if fault is not None else ""
        self._show_banner()

    def on_quiet(self, why: str | None) -> None:
        """The store or the hall server stopped answering: what this caller shows may be old, and presses may fail."""
        self._quiet_text = f"⚠ {why}：窗口信息可能不是最新的" if why else ""
        self._show_banner()

    _fault_text = ""
    _quiet_text = ""

    def _show_banner(self) -> None:
        text = "\n".join(t for t in (self._fault_text, self._quiet_text) if t)
        self.fault_banner.setVisible(bool(text))
        self.fault_banner.setText(text)

    def _status_role(self, role: str) -> None:
        tag(self.status, role)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _do(self, what: str, fn: Callable[[], Any], done: Callable[[Any], str]) -> Any:
        """Run one hall command: a refusal goes to the status line, anything else is logged and said."""
        try:
            result = fn()
        except HallError as exc:
            self.show_error(exc.message)
            return None
        except Exception as exc:
            log.exception("%s failed at window %s", what, self.window_no)
            self.show_error(f"{what}失败：{exc}")
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
            self.show_error(exc.message)
            return
        except Exception as exc:
            log.exception("呼叫 failed at window %s", self.window_no)
            self.show_error(f"呼叫失败：{exc}")
            return
        self.show_ok(f"已呼叫 {result.value['number']}")
        self.refresh()

    def _offer_choice(self, current: str, then: str | None) -> None:
        """Ask 过号 or 开始办理 for `current`; `then`: what to call after 过号 ("" the next, a number, None nothing)."""
        self.pending_call = then
        after = "" if then is None else "，然后呼叫下一位" if then == "" else f"，然后呼叫 {then}"
        self.choice_label.setText(f"{current} 已叫号，还没有开始办理。群众来了吗？")
        self.choice_no_show.setText(f"没有来：过号{after}\nF3")
        self.choice.show()
        self.choice_start.setFocus()
        self.show_error(f"{current} 尚未开始办理：请选择“过号”或“开始办理”")

    def _close_choice(self) -> None:
        self.pending_call = None
        self.choice.hide()

    def cancel_choice(self) -> None:
        self._close_choice()
        self.show_ok("已取消，当前号码不变")

    def recall(self) -> None:
        self._do("重呼", lambda: self.client.recall(self.window_no), lambda t: f"已重呼 {t['number']}")

    def no_show(self) -> None:
        then = self.pending_call
        if self._do("过号", lambda: self.client.no_show(self.window_no), lambda t: f"{t['number']} 已过号") is None:
            return
        self._close_choice()
        if then is not None:
            self._call(then)  # the clerk had pressed 呼叫: go on to the next number

    def start(self) -> None:
        if self._do("开始办理", lambda: self.client.start_service(self.window_no),
                    lambda t: f"{t['number']} 开始办理") is not None:
            self._close_choice()

    def finish(self) -> None:
        cur = self.state.get("current")
        if cur and cur["status"] == "called":  # F9 works even while the button is grey: never 办结 unserved
            self._offer_choice(cur["number"], None)
            return
        self._do("完成", lambda: self.client.finish_service(self.window_no), lambda t: f"{t['number']} 办理完成")

    def hold(self) -> None:
        self._do("挂起", lambda: self.client.hold(self.window_no), lambda t: f"{t['number']} 已挂起")

    def request_rating(self) -> None:
        self._do("评价", lambda: self.client.request_rating(self.window_no),
                 lambda t: f"已发出 {t['number']} 的评价请求，评价结果会显示在上方")

    def transfer(self) -> None:
        data = self.transfer_target.currentData()
        if not data:
            self.show_error("请先选择转移到哪项业务或哪个窗口")
            return
        kind, _, target = str(data).partition(":")
        kw: dict[str, Any] = {"to_business": target} if kind == "business" else {"to_window": int(target)}
        self._do("转移", lambda: self.client.transfer(self.window_no, **kw),
                 lambda t: f"{t['number']} 已{self.transfer_target.currentText()}")

    def toggle_pause(self) -> None:
        if self.state.get("state") == "paused":
            self._do("恢复服务", lambda: self.client.resume_window(self.window_no), lambda _v: "已恢复服务")
            return
        reason = self.pause_reason.currentText().strip() or "暂停服务"
        self._do("暂停", lambda: self.client.pause(self.window_no, reason), lambda _v: f"已暂停：{reason}")

    def sign_in(self) -> None:
        clerk_id, name = self.clerk_id.text().strip(), self.clerk_name.text().strip()
        if not clerk_id or not name:
            self.show_error("请填写工号和姓名后签到")
            return
        self._do("签到", lambda: self.client.sign_in(self.window_no, clerk_id, name), lambda _v: f"{name} 已签到")

    def closeEvent(self, event: Any) -> None:
        # the readers outlive the screen: stop taking their reads and the keyboard before Qt deletes the widgets
        self.inputs.close()
        self.wedge.close()
        super().closeEvent(event)

    def on_read(self, item: Read) -> None:
        """A staff badge signs in (its staff number; the name is typed once); a case code fills 关联办件."""
        if isinstance(item, ReadRefused):
            self.show_error(item.reason)
            return
        if isinstance(item, IdCardRead):
            self.show_error("身份证不能用于签到，请刷工作证或扫工作证上的条码")
            return
        if not isinstance(item, ScanRead):
            return
        s = classify(item.code)
        if s.kind == Kind.CASE:
            self.case_input.setText(s.value)
            self.case_input.setFocus()
            self.show_ok(f"已读取办件编号 {s.value}，按“关联办件”关联当前号码")
            return
        staff = staff_number(s, item.code)
        if staff is None:
            self.show_error("无法识别的工作证或条码")
            return
        self.clerk_id.setText(staff)
        if self.clerk_name.text().strip():
            self.sign_in()
        else:
            self.clerk_name.setFocus()
            self.show_ok(f"已读取工号 {staff}，请填写姓名后签到")

    def call_selected(self) -> None:
        item = self.waiting_list.currentItem()
        if item is None:
            self.show_error("请先在等候列表中选中一个号码")
            return
        self._call(str(item.data(Qt.ItemDataRole.UserRole)))

    def resume_held(self) -> None:
        item = self.held_list.currentItem() or (self.held_list.item(0) if self.held_list.count() else None)
        if item is None:
            self.show_error("没有挂起的号码")
            return
        number = item.data(Qt.ItemDataRole.UserRole)
        self._do("恢复挂起", lambda: self.client.resume_ticket(self.window_no, number),
                 lambda t: f"{t['number']} 继续办理")
