"""The window tablet evaluator (好差评): five faces with words; the first tap records the level; a 差评 then asks for
its reasons (and an optional comment typed on the on-screen keyboard), which attach to the rating already recorded;
thanks; a prompt left unanswered is recorded as unrated.  In the hall's languages (the citizen taps one) and in elder
mode (大字模式, 适老化 sizes); both go back to the tablet's own after each citizen."""
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
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import events as ev
from kiosk.core.errors import HallError
from kiosk.core.events import Event
from kiosk.core.rating import ORDER, Level
from kiosk.screen_text import BAD_REASONS, level_text, window_label
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, direction, error_text, tr
from kiosk.ui.keyboard import TouchKeyboard
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import FaceButton, WrapButton, tag

log = logging.getLogger(__name__)

IDLE, FACES, REASON, COMMENT, THANKS, LANGUAGE = range(6)
# one tap for what people most often add to a 差评 (the keyboard is there for anything else), in the citizen's words
PHRASES = ["phrase_wait", "phrase_materials", "phrase_explain"]
COMPACT_HEIGHT = 600  # a 7–8 inch tablet (800×480): smaller type so that each page fits without overlap


def wrapping(role: str, text: str = "") -> WrapButton:
    """A button whose words wrap to its width (never pushing the page wider than the tablet) and whose height
    follows its lines (a Tibetan line is twice as tall as a Chinese one)."""
    b = WrapButton(text)
    b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    tag(b, role)
    return b


class EvaluatorScreen(QWidget):
    """Shows the faces when the window's clerk presses 评价; records exactly one rating or marks it unrated.

    A 差评 in progress (its level recorded, its reason being chosen) is never wiped: another request waits until
    the citizen is done, and the citizen's own rating event does not end the page."""

    def __init__(self, client: HallClient, window: int, *, timeout_s: float = 60.0, thanks_s: float = 5.0,
                 lang: str = "zh", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window_no = window
        # the tablet's own language (`hall run evaluator --lang`); a citizen may choose another for their turn
        self.home_lang = lang if lang in client.config.hall.languages else "zh"
        self.lang = self.home_lang
        self.elder = False
        self._thanks: tuple[str, dict[str, Any]] | None = None  # the thanks page's words, said again in a new language
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
        self.set_language(self.home_lang)
        self.show_idle()

    # --- layout -------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 12, 24, 12)
        root.setSpacing(8)
        # the window and its clerk; beside them the citizen's language (a page of the hall's languages) and 大字模式
        self.header_bar = tag(QFrame(), "header")
        hb = QHBoxLayout(self.header_bar)
        hb.setContentsMargins(8, 4, 8, 4)
        hb.setSpacing(8)
        self.header = tag(QLabel(), "header")
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.header.setWordWrap(True)
        hb.addWidget(self.header, 1)
        # short words, on one line each: the window's line wraps instead
        self.lang_button = tag(QPushButton(), "lang")
        self.lang_button.clicked.connect(self.open_languages)
        self.lang_button.setVisible(len(self.client.config.hall.languages) > 1)
        hb.addWidget(self.lang_button)
        self.elder_button = tag(QPushButton(), "lang")
        self.elder_button.setCheckable(True)
        self.elder_button.clicked.connect(lambda: self.choose_elder(not self.elder))
        hb.addWidget(self.elder_button)
        root.addWidget(self.header_bar)
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
            b = FaceButton(lv, level_text(lv, self.lang))
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
        self.stack.addWidget(self._build_languages())
        self.stack.currentChanged.connect(self._page_changed)

    def _build_languages(self) -> QWidget:
        """The hall's languages, each in its own script, as large as the tablet allows: one tap, then back."""
        page = QWidget()
        grid = QGridLayout(page)
        grid.setSpacing(16)
        self.lang_buttons: dict[str, QPushButton] = {}
        for i, code in enumerate(self.client.config.hall.languages):
            b = wrapping("language", LANGUAGES[code][0])
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, c=code: self.choose_language(c))
            self.lang_buttons[code] = b
            grid.addWidget(b, i // 2, i % 2)
        self._lang_return = IDLE
        return page

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
        for i, (key, stored) in enumerate(BAD_REASONS.items()):
            b = wrapping("reason")
            b.setCheckable(True)
            b.setProperty("reason", stored)  # what the hall records: the province's Chinese words
            b.setProperty("key", key)
            b.clicked.connect(lambda _=False: self.timeout.start())
            # a tick as well as the fill colour: the choice must not be shown by colour alone
            b.toggled.connect(lambda _on, b=b: self._reason_label(b))
            self.reason_group.addButton(b)
            self.reason_buttons.append(b)
            self.reason_grid.addWidget(b, i // 2, i % 2)
        self.reason_grid.setRowStretch(len(BAD_REASONS) // 2 + 1, 1)
        self.reason_scroll.setWidget(inner)
        rl.addWidget(self.reason_scroll, 1)
        self.reason_error = tag(QLabel(), "error")
        self.reason_error.setWordWrap(True)
        self.reason_error.hide()
        rl.addWidget(self.reason_error)
        bar = QHBoxLayout()
        bar.setSpacing(10)
        # the words wrap rather than push the page wider than the tablet (a Tibetan or elder-size label)
        self.back = wrapping("action")
        self.back.clicked.connect(self.leave_reason)
        self.comment_button = wrapping("action")
        self.comment_button.clicked.connect(self.open_comment)
        self.submit = wrapping("primary")
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
        self.reason_text.setMaxLength(200)
        self.reason_text.textChanged.connect(lambda _t: self.timeout.start())
        pal = self.reason_text.palette()
        pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(PAIRS["muted"].fg))  # default grey is too faint
        self.reason_text.setPalette(pal)
        cl.addWidget(self.reason_text)
        phrases = QHBoxLayout()
        phrases.setSpacing(8)
        self.phrase_buttons: list[QPushButton] = []
        for key in PHRASES:
            b = wrapping("phrase")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the field keeps the focus (and the keyboard its target)
            b.clicked.connect(lambda _=False, k=key: self.add_phrase(self.t(k)))
            self.phrase_buttons.append(b)
            phrases.addWidget(b)
        cl.addLayout(phrases)
        self.keyboard = TouchKeyboard()
        cl.addWidget(self.keyboard)
        cl.addStretch(1)
        bar = QHBoxLayout()
        self.comment_back = wrapping("action")
        self.comment_back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.comment_back.clicked.connect(self.close_comment)
        self.comment_done = wrapping("primary")
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
        elder = self.elder

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        def size(normal: float, compact: float, elder_normal: float, elder_compact: float) -> int:
            # 大字模式 (适老化): the largest text ≥ 30 dp, none under 18 dp, every target ≥ 60 dp; a 7" tablet in
            # Tibetan (whose lines are twice as tall) still has to hold a page
            if elder:
                return dp(self, elder_compact if c else elder_normal)
            return dp(self, compact if c else normal)

        target = dp(self, 60) if elder else dp(self, 48 if c else 56)
        tall = self.lang == "bo"  # Tibetan's stacked letters: a line twice as tall, so the faces' words stay smaller
        self.setStyleSheet(f"""
            #evaluator {{ {pair('page')} }}
            QWidget {{ font-size: {size(30, 24, 36, 28)}px; }}
            QWidget#reasons, QScrollArea {{ background: transparent; }}
            QFrame[role="header"] {{ {pair('header')} border-radius: 10px; }}
            QLabel[role="header"] {{ {pair('header')} padding: {size(6, 2, 6, 2)}px;
                font-size: {size(28, 20, 30, 22)}px; }}
            QPushButton[role="lang"] {{ {pair('header')} border: 2px solid #FFFFFF; border-radius: 8px;
                padding: 0 {size(10, 6, 10, 6)}px; min-height: {target}px; min-width: {target}px;
                font-size: {size(22, 18, 26, 20)}px; }}
            QPushButton[role="lang"]:checked {{ {pair('action')} font-weight: bold; }}
            QPushButton[role="language"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {max(target, size(96, 72, 110, 84))}px; font-size: {size(36, 30, 40, 34)}px; }}
            QPushButton[role="language"]:checked {{ {pair('header')} font-weight: bold; }}
            QLabel[role="big"] {{ color: {P['page'].fg}; font-size: {size(40, 30, 48, 34)}px; font-weight: bold; }}
            QLabel[role="prompt"] {{ color: {P['page'].fg}; font-size: {size(32, 24, 40, 30)}px;
                font-weight: bold; }}
            QPushButton[role="face"] {{ {pair('ticket')} border: 3px solid #8C96A3; border-radius: 16px;
                font-size: {size(32, 24, 36, 24 if tall else 28)}px; font-weight: bold; }}
            QPushButton[role="reason"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {max(target, size(72, 56, 80, 60))}px; padding: 4px 12px; }}
            QPushButton[role="reason"]:checked {{ {pair('header')} }}
            QPushButton[role="phrase"] {{ {pair('action')} border: 2px solid {P['action'].fg}; border-radius: 10px;
                min-height: {target}px; padding: 2px 8px; font-size: {size(24, 20, 28, 22)}px; }}
            QPushButton[role="action"] {{ {pair('action')} border: 3px solid {P['action'].fg}; border-radius: 12px;
                min-height: {max(target, size(72, 56, 80, 60))}px; padding: 0 10px; font-weight: bold; }}
            QPushButton[role="primary"] {{ {pair('primary')} border-radius: 12px;
                min-height: {max(target, size(72, 56, 80, 60))}px; padding: 0 10px; font-weight: bold; }}
            QLineEdit[role="entry"] {{ {pair('ticket')} border: 3px solid #0B3D91; border-radius: 12px;
                min-height: {max(target, size(64, 48, 72, 60))}px; padding: 0 12px; }}
            QLabel[role="error"] {{ {pair('error')} border-radius: 8px; padding: 6px; }}
        """)

    # --- language and elder mode ----------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    def set_language(self, lang: str) -> None:
        tall = self.lang == "bo"
        self.lang = lang if lang in LANGUAGES else "zh"
        self.setLayoutDirection(direction(self.lang))
        if tall != (self.lang == "bo"):
            self._style()
        self.retranslate()

    def set_elder(self, on: bool) -> None:
        self.elder = on
        self._style()
        self.retranslate()

    def open_languages(self) -> None:
        """The page of the hall's languages; the page the citizen was on comes back after the choice."""
        if self.stack.currentIndex() != LANGUAGE:
            self._lang_return = self.stack.currentIndex()
            self.stack.setCurrentIndex(LANGUAGE)
        if self.timeout.isActive():
            self.timeout.start()

    def choose_language(self, lang: str) -> None:
        """A citizen's tap: their language for their turn (a rating being asked waits on)."""
        self.set_language(lang)
        if self.stack.currentIndex() == LANGUAGE:
            self.stack.setCurrentIndex(self._lang_return)
        if self.timeout.isActive():
            self.timeout.start()

    def choose_elder(self, on: bool) -> None:
        self.set_elder(on)
        if self.timeout.isActive():
            self.timeout.start()

    def _end_turn(self) -> None:
        """The citizen is done: the next one starts in the tablet's own language, at the usual size."""
        if self.lang != self.home_lang:
            self.set_language(self.home_lang)
        if self.elder:
            self.set_elder(False)

    def retranslate(self) -> None:
        for code, b in self.lang_buttons.items():
            b.setChecked(code == self.lang)
        self.lang_button.setText(f"{LANGUAGES[self.lang][0]} ▾")
        self.elder_button.setChecked(self.elder)
        self.elder_button.setText(self.t("elder_off" if self.elder else "elder_on"))
        self.header.setText(self._window_line())
        self.idle_label.setText(self.t("eval_idle"))
        for lv, b in self.faces.items():
            b.words = level_text(lv, self.lang)
            b.setAccessibleName(b.words)
            b.update()
        for b in self.reason_buttons:
            self._reason_label(b)
        self.back.setText(self.t("eval_back"))
        self.back.setToolTip(self.t("eval_back_tip"))
        self.submit.setText(self.t("eval_submit"))
        self._comment_label()
        self.reason_text.setPlaceholderText(self.t("eval_comment_hint"))
        for key, b in zip(PHRASES, self.phrase_buttons, strict=True):
            b.setText(self.t(key))
        self.comment_back.setText(self.t("eval_comment_back"))
        self.comment_done.setText(self.t("eval_comment_done"))
        if self.ticket is not None:
            self.prompt.setText(self.t("eval_prompt", number=self.ticket["number"]))
        if self.level is not None:
            self.reason_prompt.setText(self.t("eval_reason_prompt", level=level_text(self.level, self.lang)))
        if not self.reason_error.isHidden():
            self.reason_error.setText(self.t("eval_reason_missing"))
        if self._thanks is not None:
            self.thanks_label.setText(self._thanks_text(*self._thanks))
        self.on_quiet(self._quiet)

    def _reason_label(self, b: QPushButton) -> None:
        b.setText(("✔ " if b.isChecked() else "") + self.t(str(b.property("key"))))

    def _comment_label(self) -> None:
        text = self.reason_text.text().strip()
        self.comment_button.setText(self.t("eval_comment_is", text=text) if text else self.t("eval_comment"))

    # --- flow -------------------------------------------------------------------------------------------------
    def _window_line(self) -> str:
        try:
            clerk = self.client.window(self.window_no).get("clerk_name")
        except Exception:
            clerk = None
        where = window_label(self.client.config, self.window_no, self.lang)
        return where + (f"  ·  {self.t('eval_clerk', name=clerk)}" if clerk else "")

    def _page_changed(self, index: int) -> None:
        # the comment page needs its height for the keyboard, and a small tablet's reason page for the reasons;
        # the window and its clerk are on every other page
        self.header_bar.setVisible(not (index == COMMENT or (index == REASON and bool(self.compact))))
        if index == COMMENT:
            self.reason_text.setFocus()

    def in_bad_rating(self) -> bool:
        """A 差评 recorded whose reason the citizen is choosing now."""
        return self.rating is not None and self._page() in (REASON, COMMENT)

    def _page(self) -> int:
        """The page the citizen is on: the one under the language page while it is open."""
        index = self.stack.currentIndex()
        return self._lang_return if index == LANGUAGE else index

    def show_idle(self) -> None:
        self._thanks = None
        self.header.setText(self._window_line())
        self.idle_label.setText(self.t("eval_idle"))
        self.stack.setCurrentIndex(IDLE)

    _quiet: str | None = None

    def on_quiet(self, why: str | None) -> None:
        self._quiet = why
        # the reason is the system's own words, in Chinese: said in full to a Chinese reader only
        text = f"⚠ {self.t('eval_quiet')}" + (f"：{why}" if self.lang == "zh" else "") if why else ""
        self.quiet_label.setText(text)
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
                self._thank("eval_thanks_reason", level=r.get("level"))
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
            self._thank("", level=r.get("level"))
        else:
            self._end_turn()
            self.show_idle()

    def ask(self, ticket: dict[str, Any]) -> None:
        if self.in_bad_rating():
            if self.ticket is None or ticket["id"] != self.ticket["id"]:
                self.waiting = ticket  # the citizen is still giving the 差评's reason: this one comes next
            return
        if self.ticket is not None and self.ticket["id"] != ticket["id"] and self._page() == FACES:
            self._unrated()  # a new request replaces an unanswered one: the old one is recorded as unrated
        self.ticket = ticket
        self.level = None
        self.rating = None
        self._thanks = None
        self.thanks_timer.stop()
        self.header.setText(self._window_line())
        self.prompt.setText(self.t("eval_prompt", number=ticket["number"]))
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
            self._thank("", level=level)
            return
        self.rating = rating
        for b in self.reason_buttons:
            b.setChecked(False)
        self.reason_text.clear()
        self.reason_error.hide()
        self.reason_prompt.show()
        self._comment_label()
        self.reason_prompt.setText(self.t("eval_reason_prompt", level=level_text(level, self.lang)))
        self.reason_scroll.verticalScrollBar().setValue(0)
        self.stack.setCurrentIndex(REASON)
        self.timeout.start()

    def _rate(self, level: Level) -> dict[str, Any] | None:
        assert self.ticket is not None
        try:
            result = self.client.rate(self.ticket["id"], level, idem_key=uuid.uuid4().hex)
        except HallError as exc:
            self.ticket = None
            self._say(error_text(self.lang, exc))
            return None
        except Exception:
            log.exception("rating failed at window %s", self.window_no)
            self.ticket = None
            self._thank("eval_rate_failed")
            return None
        return dict(result.value)

    def selected_reasons(self) -> list[str]:
        """The chosen reasons as the hall records them (Chinese, whatever the screen's language)."""
        return [str(b.property("reason")) for b in self.reason_buttons if b.isChecked()]

    def add_phrase(self, text: str) -> None:
        now = self.reason_text.text().strip()
        sep = "；" if self.lang == "zh" else tr(self.lang, "list_sep")
        self.reason_text.setText(f"{now}{sep}{text}" if now else text)
        self.reason_text.setFocus()

    def open_comment(self) -> None:
        self.stack.setCurrentIndex(COMMENT)
        self.timeout.start()

    def close_comment(self) -> None:
        self._comment_label()
        self.stack.setCurrentIndex(REASON)
        self.timeout.start()

    def submit_reason(self) -> None:
        reasons = self.selected_reasons()
        if not reasons:
            # the warning takes the prompt's place: it says what to do, and a small tablet keeps the reasons' room
            self.reason_error.setText(self.t("eval_reason_missing"))
            self.reason_error.show()
            self.reason_prompt.hide()
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
            self._say(error_text(self.lang, exc))
            return
        except Exception:
            log.exception("reason failed at window %s", self.window_no)
            self._thank("eval_reason_failed")
            return
        self._thank("eval_thanks_improve", level=rating.get("level"))

    def leave_reason(self) -> None:
        """‹ 返回: the level stays recorded; the hall follows up the 差评 without a reason (reason_pending)."""
        if self.rating is None:
            return
        self._thank("eval_thanks_recorded", level=self.rating.get("level"))

    def _thanks_text(self, key: str, params: dict[str, Any]) -> str:
        """感谢您的评价！ and what was recorded (key ""), or the line `key` says on its own (a failure, a refusal)."""
        if key == "!":
            return str(params["text"])
        if key in ("", "eval_thanks_reason", "eval_thanks_improve", "eval_thanks_recorded"):
            level = level_text(params.get("level") or "", self.lang)
            return f"{self.t('eval_thanks')}\n{self.t(key, level=level) if key else level}"
        return self.t(key)

    def _thank(self, key: str, **params: Any) -> None:
        self.timeout.stop()
        self.ticket = None
        self.rating = None
        self._thanks = (key, params)
        self.thanks_label.setText(self._thanks_text(key, params))
        self.stack.setCurrentIndex(THANKS)
        self.thanks_timer.start()

    def _say(self, text: str) -> None:
        """A refusal from the hall, in the citizen's language where the table has it, on the thanks page."""
        self._thank("!", text=text)

    def _after_thanks(self) -> None:
        nxt, self.waiting = self.waiting, None
        self._end_turn()
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
        self._end_turn()
        self.show_idle()

    def _unrated(self) -> None:
        if self.ticket is None:
            return
        try:
            self.client.mark_unrated(self.ticket["id"])
        except Exception:
            log.exception("mark_unrated failed at window %s", self.window_no)
        self.ticket = None
