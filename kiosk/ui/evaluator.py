"""The window tablet evaluator (好差评): five faces with words; the first tap records the level; a 差评 then asks for
its reasons (and an optional comment typed on the on-screen keyboard), which attach to the rating already recorded;
thanks; a prompt left unanswered is recorded as unrated."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import events as ev
from kiosk.core.errors import HallError
from kiosk.core.events import Event
from kiosk.core.rating import ORDER, Level
from kiosk.ui.client import HallClient
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import FaceButton, tag

log = logging.getLogger(__name__)

IDLE, FACES, REASON, COMMENT, THANKS = range(5)
BAD_REASONS = ["办事效率低、等候时间长", "服务态度不好", "办事流程繁琐", "需要多次跑腿", "材料要求说不清楚",
               "政策解释不清楚", "其他"]
# one tap for what people most often add to a 差评 (the keyboard is there for anything else)
PHRASES = ["希望缩短等候时间", "希望一次告知所需材料", "希望工作人员耐心解释"]
COMPACT_HEIGHT = 600  # a 7–8 inch tablet (800×480): smaller type so that each page fits without overlap


class EvaluatorScreen(QWidget):
    """Shows the faces when the window's clerk presses 评价; records exactly one rating or marks it unrated.

    A 差评 in progress (its level recorded, its reason being chosen) is never wiped: another request waits until
    the citizen is done, and the citizen's own rating event does not end the page."""

    def __init__(self, client: HallClient, window: int, *, timeout_s: float = 60.0, thanks_s: float = 5.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window_no = window
        self.ticket: dict[str, Any] | None = None  # the service being rated
        self.level: Level | None = None
        self.rating: dict[str, Any] | None = None  # the 差评 recorded, while its reason is being chosen
        self.waiting: dict[str, Any] | None = None  # a request that came in during a 差评, asked next
        self.compact: bool | None = None
        cfg = client.config.window(window)
        if cfg is None:
            raise ValueError(f"no window {window} in the hall configuration")
        self.window_name = cfg.name
        self.setObjectName("evaluator")
        self.setWindowTitle(f"{cfg.name} · 服务评价")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.timeout = QTimer(self)
        self.timeout.setSingleShot(True)
        self.timeout.setInterval(int(timeout_s * 1000))
        self.timeout.timeout.connect(self.on_timeout)
        self.thanks_timer = QTimer(self)
        self.thanks_timer.setSingleShot(True)
        self.thanks_timer.setInterval(int(thanks_s * 1000))
        self.thanks_timer.timeout.connect(self._after_thanks)
        self._build()
        self._style()
        client.events.connect(self.on_event)
        client.quiet.connect(self.on_quiet)
        self.show_idle()

    # --- layout -------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 12, 24, 12)
        root.setSpacing(8)
        self.header = tag(QLabel(), "header")
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        root.addWidget(self.header)
        self.quiet_label = tag(QLabel(), "error")
        self.quiet_label.setWordWrap(True)
        self.quiet_label.hide()
        root.addWidget(self.quiet_label)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)

        idle = QWidget()
        il = QVBoxLayout(idle)
        self.idle_label = tag(QLabel(), "big")
        self.idle_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle_label.setWordWrap(True)
        il.addWidget(self.idle_label)
        self.stack.addWidget(idle)

        faces = QWidget()
        fl = QVBoxLayout(faces)
        fl.setContentsMargins(0, 0, 0, 0)
        self.prompt = tag(QLabel(), "big")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setWordWrap(True)
        fl.addWidget(self.prompt)
        row = QHBoxLayout()
        row.setSpacing(12)
        self.faces: dict[Level, FaceButton] = {}
        for lv in ORDER:
            b = FaceButton(lv, lv.label)
            b.setMinimumSize(120, 150)  # five across an 800 px tablet
            b.clicked.connect(lambda _=False, level=lv: self.choose(level))
            self.faces[lv] = b
            row.addWidget(b)
        fl.addLayout(row, 1)
        self.stack.addWidget(faces)

        self.stack.addWidget(self._build_reason())
        self.stack.addWidget(self._build_comment())

        thanks = QWidget()
        tl = QVBoxLayout(thanks)
        self.thanks_label = tag(QLabel(), "big")
        self.thanks_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks_label.setWordWrap(True)
        tl.addWidget(self.thanks_label)
        self.stack.addWidget(thanks)
        self.stack.currentChanged.connect(self._page_changed)

    def _build_reason(self) -> QWidget:
        page = QWidget()
        rl = QVBoxLayout(page)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(8)
        self.reason_prompt = tag(QLabel(), "prompt")
        self.reason_prompt.setWordWrap(True)
        rl.addWidget(self.reason_prompt)
        # the reasons scroll when the tablet is small; the buttons below never do
        self.reason_scroll = QScrollArea()
        self.reason_scroll.setWidgetResizable(True)
        self.reason_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.reason_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("reasons")
        self.reason_grid = QGridLayout(inner)
        self.reason_grid.setContentsMargins(0, 0, 8, 0)
        self.reason_grid.setSpacing(10)
        self.reason_buttons: list[QPushButton] = []
        self.reason_group = QButtonGroup(self)
        self.reason_group.setExclusive(False)
        for i, text in enumerate(BAD_REASONS):
            b = tag(QPushButton(text), "reason")
            b.setCheckable(True)
            b.setProperty("reason", text)
            b.clicked.connect(lambda _=False: self.timeout.start())
            # a tick as well as the fill colour: the choice must not be shown by colour alone
            b.toggled.connect(lambda on, b=b: b.setText(("✔ " if on else "") + b.property("reason")))
            self.reason_group.addButton(b)
            self.reason_buttons.append(b)
            self.reason_grid.addWidget(b, i // 2, i % 2)
        self.reason_grid.setRowStretch(len(BAD_REASONS) // 2 + 1, 1)
        self.reason_scroll.setWidget(inner)
        rl.addWidget(self.reason_scroll, 1)
        self.reason_error = tag(QLabel(), "error")
        self.reason_error.hide()
        rl.addWidget(self.reason_error)
        bar = QHBoxLayout()
        bar.setSpacing(10)
        self.back = tag(QPushButton("‹ 返回（不填原因）"), "action")
        self.back.setToolTip("您的评价已经记录；不填原因也可以")
        self.back.clicked.connect(self.leave_reason)
        self.comment_button = tag(QPushButton("✎ 写留言（选填）"), "action")
        self.comment_button.clicked.connect(self.open_comment)
        self.submit = tag(QPushButton("提交原因"), "primary")
        self.submit.clicked.connect(self.submit_reason)
        bar.addWidget(self.back, 2)
        bar.addWidget(self.comment_button, 3)
        bar.addWidget(self.submit, 2)
        rl.addLayout(bar)
        return page

    def _build_comment(self) -> QWidget:
        page = QWidget()
        cl = QVBoxLayout(page)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(8)
        self.reason_text = tag(QLineEdit(), "entry")
        self.reason_text.setPlaceholderText("还想说的话（选填），可用拼音输入")
        self.reason_text.setMaxLength(200)
        self.reason_text.textChanged.connect(lambda _t: self.timeout.start())
        pal = self.reason_text.palette()
        pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(PAIRS["muted"].fg))  # default grey is too faint
        self.reason_text.setPalette(pal)
        cl.addWidget(self.reason_text)
        phrases = QHBoxLayout()
        phrases.setSpacing(8)
        self.phrase_buttons: list[QPushButton] = []
        for text in PHRASES:
            b = tag(QPushButton(text), "phrase")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the field keeps the focus (and the keyboard its target)
            b.clicked.connect(lambda _=False, t=text: self.add_phrase(t))
            self.phrase_buttons.append(b)
            phrases.addWidget(b)
        cl.addLayout(phrases)
        self.keyboard = TouchKeyboard()
        cl.addWidget(self.keyboard)
        cl.addStretch(1)
        bar = QHBoxLayout()
        self.comment_back = tag(QPushButton("‹ 返回选择原因"), "action")
        self.comment_back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.comment_back.clicked.connect(self.close_comment)
        self.comment_done = tag(QPushButton("写好了"), "primary")
        self.comment_done.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.comment_done.clicked.connect(self.close_comment)
        bar.addWidget(self.comment_back, 1)
        bar.addWidget(self.comment_done, 1)
        cl.addLayout(bar)
        return page

    def resizeEvent(self, event: QResizeEvent) -> None:
        compact = event.size().height() < COMPACT_HEIGHT
        if compact != self.compact:
            self.compact = compact
            self._style()
            self._page_changed(self.stack.currentIndex())
        super().resizeEvent(event)

    def _style(self) -> None:
        P = PAIRS
        c = bool(self.compact)

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        def size(normal: float, compact: float) -> int:
            return dp(self, compact if c else normal)

        self.setStyleSheet(f"""
            #evaluator {{ {pair('page')} }}
            QWidget {{ font-size: {size(30, 24)}px; }}
            QWidget#reasons, QScrollArea {{ background: transparent; }}
            QLabel[role="header"] {{ {pair('header')} border-radius: 10px; padding: {size(10, 4)}px;
                font-size: {size(32, 24)}px; }}
            QLabel[role="big"] {{ color: {P['page'].fg}; font-size: {size(40, 32)}px; font-weight: bold; }}
            QLabel[role="prompt"] {{ color: {P['page'].fg}; font-size: {size(32, 26)}px; font-weight: bold; }}
            QPushButton[role="face"] {{ {pair('ticket')} border: 3px solid #8C96A3; border-radius: 16px;
                font-size: {size(32, 26)}px; font-weight: bold; }}
            QPushButton[role="reason"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {size(72, 56)}px; padding: 4px 12px; }}
            QPushButton[role="reason"]:checked {{ {pair('header')} }}
            QPushButton[role="phrase"] {{ {pair('action')} border: 2px solid {P['action'].fg}; border-radius: 10px;
                min-height: {size(56, 44)}px; padding: 2px 8px; font-size: {size(24, 20)}px; }}
            QPushButton[role="action"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {size(72, 56)}px; padding: 0 10px; font-weight: bold; }}
            QPushButton[role="primary"] {{ {pair('primary')} border-radius: 12px; min-height: {size(72, 56)}px;
                padding: 0 10px; font-weight: bold; }}
            QLineEdit[role="entry"] {{ {pair('ticket')} border: 3px solid #0B3D91; border-radius: 12px;
                min-height: {size(64, 48)}px; padding: 0 12px; }}
            QLabel[role="error"] {{ {pair('error')} border-radius: 8px; padding: 6px; }}
        """)

    # --- flow -------------------------------------------------------------------------------------------------
    def _window_line(self) -> str:
        try:
            clerk = self.client.window(self.window_no).get("clerk_name")
        except Exception:
            clerk = None
        return f"{self.window_name}" + (f"  ·  工作人员 {clerk}" if clerk else "")

    def _page_changed(self, index: int) -> None:
        # the comment page needs its height for the keyboard, and a small tablet's reason page for the reasons;
        # the window and its clerk are on every other page
        self.header.setVisible(not (index == COMMENT or (index == REASON and bool(self.compact))))
        if index == COMMENT:
            self.reason_text.setFocus()

    def in_bad_rating(self) -> bool:
        """A 差评 recorded whose reason the citizen is choosing now."""
        return self.rating is not None and self.stack.currentIndex() in (REASON, COMMENT)

    def show_idle(self) -> None:
        self.header.setText(self._window_line())
        self.idle_label.setText("欢迎您！\n办理完成后，请为我们的服务评价")
        self.stack.setCurrentIndex(IDLE)

    def on_quiet(self, why: str | None) -> None:
        self.quiet_label.setText(f"⚠ 评价器暂时连不上大厅系统：{why}" if why else "")
        self.quiet_label.setVisible(bool(why))

    def on_event(self, e: Event) -> None:
        if e.kind == ev.RATING_REQUESTED and e.payload.get("window") == self.window_no:
            self.ask(e.payload["ticket"])
        elif e.kind in (ev.RATING_RECORDED, ev.RATING_UNRATED, ev.RATING_REASON_COMPLETED):
            self._rated_elsewhere(e)
        elif e.kind in (ev.WINDOW_SIGNED_IN, ev.WINDOW_SIGNED_OUT) and e.payload.get("window") == self.window_no:
            self.header.setText(self._window_line())

    def _rated_elsewhere(self, e: Event) -> None:
        r = e.payload.get("rating") or {}
        tid = r.get("ticket_id") or e.payload.get("ticket", {}).get("id")
        if self.rating is not None and r.get("id") == self.rating["id"]:
            if e.kind == ev.RATING_REASON_COMPLETED and self.in_bad_rating():  # given on another channel
                self._thank(f"感谢您的评价！\n{r.get('level_label', '')}，原因已提交")
            return  # our own rating: the citizen is still choosing its reason
        if self.waiting is not None and tid == self.waiting["id"]:
            self.waiting = None  # the next request was answered elsewhere (the keypad) meanwhile
            return
        if self.ticket is None or tid != self.ticket["id"] or self.in_bad_rating():
            return
        # rated (or timed out) on another channel, e.g. the window's keypad evaluator: stop asking
        self.timeout.stop()
        self.ticket = None
        if e.kind == ev.RATING_RECORDED:
            self._thank(f"感谢您的评价！\n{r.get('level_label', '')}")
        else:
            self.show_idle()

    def ask(self, ticket: dict[str, Any]) -> None:
        if self.in_bad_rating():
            if self.ticket is None or ticket["id"] != self.ticket["id"]:
                self.waiting = ticket  # the citizen is still giving the 差评's reason: this one comes next
            return
        if self.ticket is not None and self.ticket["id"] != ticket["id"] and self.stack.currentIndex() == FACES:
            self._unrated()  # a new request replaces an unanswered one: the old one is recorded as unrated
        self.ticket = ticket
        self.level = None
        self.rating = None
        self.thanks_timer.stop()
        self.header.setText(self._window_line())
        self.prompt.setText(f"{ticket['number']} 号，请您对本次服务作出评价")
        self.stack.setCurrentIndex(FACES)
        self.timeout.start()

    def choose(self, level: Level) -> None:
        """The first tap records the level; a 差评 then asks for its reason, which attaches to this rating."""
        if self.ticket is None or self.stack.currentIndex() != FACES:
            return
        self.level = level
        self.timeout.stop()
        rating = self._rate(level)
        if rating is None:
            return
        if not level.is_bad:
            self._thank(f"感谢您的评价！\n{level.label}")
            return
        self.rating = rating
        for b in self.reason_buttons:
            b.setChecked(False)
        self.reason_text.clear()
        self.reason_error.hide()
        self.comment_button.setText("✎ 写留言（选填）")
        self.reason_prompt.setText(f"已记录：{level.label}。请告诉我们哪里做得不好（可多选）")
        self.reason_scroll.verticalScrollBar().setValue(0)
        self.stack.setCurrentIndex(REASON)
        self.timeout.start()

    def _rate(self, level: Level) -> dict[str, Any] | None:
        assert self.ticket is not None
        try:
            result = self.client.rate(self.ticket["id"], level, idem_key=uuid.uuid4().hex)
        except HallError as exc:
            self.ticket = None
            self._thank(exc.message)
            return None
        except Exception:
            log.exception("rating failed at window %s", self.window_no)
            self.ticket = None
            self._thank("评价暂时没有保存成功，请告诉工作人员")
            return None
        return dict(result.value)

    def selected_reasons(self) -> list[str]:
        return [str(b.property("reason")) for b in self.reason_buttons if b.isChecked()]

    def add_phrase(self, text: str) -> None:
        now = self.reason_text.text().strip()
        self.reason_text.setText(f"{now}；{text}" if now else text)
        self.reason_text.setFocus()

    def open_comment(self) -> None:
        self.stack.setCurrentIndex(COMMENT)
        self.timeout.start()

    def close_comment(self) -> None:
        text = self.reason_text.text().strip()
        self.comment_button.setText(f"✎ 留言：{text}" if text else "✎ 写留言（选填）")
        self.stack.setCurrentIndex(REASON)
        self.timeout.start()

    def submit_reason(self) -> None:
        reasons = self.selected_reasons()
        if not reasons:
            self.reason_error.setText("⚠ 请至少选择一个原因；不填原因请按“返回”")
            self.reason_error.show()
            self.timeout.start()
            return
        self._complete(reasons)

    def _complete(self, reasons: list[str]) -> None:
        assert self.rating is not None
        rating = self.rating
        try:
            self.client.complete_rating_reason(rating["id"], "；".join(reasons),
                                               self.reason_text.text().strip() or None)
        except HallError as exc:
            self._thank(exc.message)
            return
        except Exception:
            log.exception("reason failed at window %s", self.window_no)
            self._thank("原因暂时没有保存成功，请告诉工作人员；您的评价已经记录")
            return
        self._thank(f"感谢您的评价！\n{rating.get('level_label', '')}，原因已提交，我们会认真改进")

    def leave_reason(self) -> None:
        """‹ 返回: the level stays recorded; the hall follows up the 差评 without a reason (reason_pending)."""
        if self.rating is None:
            return
        self._thank(f"感谢您的评价！\n{self.rating.get('level_label', '')}，已记录")

    def _thank(self, text: str) -> None:
        self.timeout.stop()
        self.ticket = None
        self.rating = None
        self.thanks_label.setText(text)
        self.stack.setCurrentIndex(THANKS)
        self.thanks_timer.start()

    def _after_thanks(self) -> None:
        nxt, self.waiting = self.waiting, None
        if nxt is not None:
            self.ask(nxt)
        else:
            self.show_idle()

    def on_timeout(self) -> None:
        if self.in_bad_rating():
            reasons = self.selected_reasons()
            if reasons:  # chosen but not sent: the citizen's choice counts
                self._complete(reasons)
            else:
                self.leave_reason()
            return
        if self.ticket is None:
            return
        self._unrated()
        self.show_idle()

    def _unrated(self) -> None:
        if self.ticket is None:
            return
        try:
            self.client.mark_unrated(self.ticket["id"])
        except Exception:
            log.exception("mark_unrated failed at window %s", self.window_no)
        self.ticket = None
