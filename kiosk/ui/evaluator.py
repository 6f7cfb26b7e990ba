"""The window tablet evaluator (好差评): five faces with words, a reason for a bad rating, thanks, timeout."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import events as ev
from kiosk.core.errors import HallError
from kiosk.core.events import Event
from kiosk.core.rating import ORDER, Level
from kiosk.ui.client import HallClient
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import FaceButton, tag

log = logging.getLogger(__name__)

IDLE, FACES, REASON, THANKS = range(4)
BAD_REASONS = ["办事效率低、等候时间长", "服务态度不好", "办事流程繁琐", "需要多次跑腿", "材料要求说不清楚",
               "政策解释不清楚", "其他"]


class EvaluatorScreen(QWidget):
    """Shows the faces when the window's clerk presses 评价; records exactly one rating or marks it unrated."""

    def __init__(self, client: HallClient, window: int, *, timeout_s: float = 60.0, thanks_s: float = 5.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window_no = window
        self.ticket: dict[str, Any] | None = None
        self.level: Level | None = None
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
        self.thanks_timer.timeout.connect(lambda: self.stack.setCurrentIndex(IDLE))
        self._build()
        self._style()
        client.events.connect(self.on_event)
        self.show_idle()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 16, 24, 16)
        self.header = tag(QLabel(), "header")
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        root.addWidget(self.header)
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
        self.prompt = tag(QLabel(), "big")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setWordWrap(True)
        fl.addWidget(self.prompt)
        row = QHBoxLayout()
        row.setSpacing(16)
        self.faces: dict[Level, FaceButton] = {}
        for lv in ORDER:
            b = FaceButton(lv, lv.label)
            b.clicked.connect(lambda _=False, level=lv: self.choose(level))
            self.faces[lv] = b
            row.addWidget(b)
        fl.addLayout(row, 1)
        self.stack.addWidget(faces)

        reason = QWidget()
        rl = QVBoxLayout(reason)
        self.reason_prompt = tag(QLabel("请告诉我们哪里做得不好（可多选）"), "big")
        self.reason_prompt.setWordWrap(True)
        rl.addWidget(self.reason_prompt)
        grid = QGridLayout()
        grid.setSpacing(12)
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
            grid.addWidget(b, i // 2, i % 2)
        rl.addLayout(grid)
        self.reason_text = tag(QLineEdit(), "entry")
        self.reason_text.setPlaceholderText("还想说的话（选填）")
        self.reason_text.setMaxLength(200)
        pal = self.reason_text.palette()
        pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(PAIRS["muted"].fg))  # default grey is too faint
        self.reason_text.setPalette(pal)
        rl.addWidget(self.reason_text)
        self.reason_error = tag(QLabel(), "error")
        self.reason_error.hide()
        rl.addWidget(self.reason_error)
        self.submit = tag(QPushButton("提交评价"), "primary")
        self.submit.clicked.connect(self.submit_reason)
        rl.addWidget(self.submit)
        self.stack.addWidget(reason)

        thanks = QWidget()
        tl = QVBoxLayout(thanks)
        self.thanks_label = tag(QLabel(), "big")
        self.thanks_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks_label.setWordWrap(True)
        tl.addWidget(self.thanks_label)
        self.stack.addWidget(thanks)

    def _style(self) -> None:
        P = PAIRS

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        self.setStyleSheet(f"""
            #evaluator {{ {pair('page')} }}
            QWidget {{ font-size: {dp(self, 30)}px; }}
            QLabel[role="header"] {{ {pair('header')} border-radius: 10px; padding: 10px;
                font-size: {dp(self, 32)}px; }}
            QLabel[role="big"] {{ color: {P['page'].fg}; font-size: {dp(self, 40)}px; font-weight: bold; }}
            QPushButton[role="face"] {{ {pair('ticket')} border: 3px solid #8C96A3; border-radius: 16px;
                font-size: {dp(self, 32)}px; font-weight: bold; }}
            QPushButton[role="reason"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {dp(self, 72)}px; padding: 4px 12px; }}
            QPushButton[role="reason"]:checked {{ {pair('header')} }}
            QPushButton[role="primary"] {{ {pair('primary')} border-radius: 12px; min-height: {dp(self, 80)}px;
                font-weight: bold; }}
            QLineEdit[role="entry"] {{ {pair('ticket')} border: 3px solid #0B3D91; border-radius: 12px;
                min-height: {dp(self, 72)}px; padding: 0 12px; }}
            QLabel[role="error"] {{ {pair('error')} border-radius: 8px; padding: 8px; }}
        """)

    # --- flow -------------------------------------------------------------------------------------------------
    def _window_line(self) -> str:
        try:
            clerk = self.client.window(self.window_no).get("clerk_name")
        except Exception:
            clerk = None
        return f"{self.window_name}" + (f"  ·  工作人员 {clerk}" if clerk else "")

    def show_idle(self) -> None:
        self.header.setText(self._window_line())
        self.idle_label.setText("欢迎您！\n办理完成后，请为我们的服务评价")
        self.stack.setCurrentIndex(IDLE)

    def on_event(self, e: Event) -> None:
        if e.kind == ev.RATING_REQUESTED and e.payload.get("window") == self.window_no:
            self.ask(e.payload["ticket"])
        elif e.kind in (ev.RATING_RECORDED, ev.RATING_UNRATED) and self.ticket is not None:
            # rated (or timed out) on another channel, e.g. the window's keypad evaluator: stop asking
            tid = e.payload.get("rating", {}).get("ticket_id") or e.payload.get("ticket", {}).get("id")
            if tid == self.ticket["id"]:
                self.timeout.stop()
                self.ticket = None
                if e.kind == ev.RATING_RECORDED:
                    self.thanks_label.setText(f"感谢您的评价！\n{e.payload['rating'].get('level_label', '')}")
                    self.stack.setCurrentIndex(THANKS)
                    self.thanks_timer.start()
                else:
                    self.show_idle()
        elif e.kind in (ev.WINDOW_SIGNED_IN, ev.WINDOW_SIGNED_OUT) and e.payload.get("window") == self.window_no:
            self.header.setText(self._window_line())

    def ask(self, ticket: dict[str, Any]) -> None:
        if self.ticket is not None and self.ticket["id"] != ticket["id"] and self.stack.currentIndex() == FACES:
            self._unrated()  # a new request replaces an unanswered one: the old one is recorded as unrated
        self.ticket = ticket
        self.level = None
        self.thanks_timer.stop()
        self.header.setText(self._window_line())
        self.prompt.setText(f"{ticket['number']} 号，请您对本次服务作出评价")
        self.stack.setCurrentIndex(FACES)
        self.timeout.start()

    def choose(self, level: Level) -> None:
        if self.ticket is None:
            return
        self.level = level
        if level.is_bad:
            for b in self.reason_buttons:
                b.setChecked(False)
            self.reason_text.clear()
            self.reason_error.hide()
            self.stack.setCurrentIndex(REASON)
            self.timeout.start()
            return
        self._record(level, None, None)

    def selected_reasons(self) -> list[str]:
        return [str(b.property("reason")) for b in self.reason_buttons if b.isChecked()]

    def submit_reason(self) -> None:
        reasons = self.selected_reasons()
        if not reasons:
            self.reason_error.setText("⚠ 请至少选择一个原因")
            self.reason_error.show()
            return
        assert self.level is not None
        self._record(self.level, "；".join(reasons), self.reason_text.text().strip() or None)

    def _record(self, level: Level, reason: str | None, text: str | None) -> None:
        assert self.ticket is not None
        self.timeout.stop()
        try:
            self.client.rate(self.ticket["id"], level, reason=reason, text=text, idem_key=uuid.uuid4().hex)
        except HallError as exc:
            self.thanks_label.setText(exc.message)
        except Exception:
            log.exception("rating failed at window %s", self.window_no)
            self.thanks_label.setText("评价暂时没有保存成功，请告诉工作人员")
        else:
            self.thanks_label.setText(f"感谢您的评价！\n{level.label}")
        self.ticket = None
        self.stack.setCurrentIndex(THANKS)
        self.thanks_timer.start()

    def on_timeout(self) -> None:
        if self.ticket is None:
            return
        if self.stack.currentIndex() == REASON and self.level is not None:
            # a bad face was chosen but no reason given: keep the level; the hall marks the reason pending
            self._record(self.level, None, self.reason_text.text().strip() or None)
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
