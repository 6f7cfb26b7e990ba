"""The hall board (综合屏, a 1920×1080 TV): the numbers called now and where to go, waiting per business, paused
windows, notice, clock; stale when the hall stops answering.  In the hall's languages: the call is said in two at
once (the language shown now and Chinese, or Chinese and a minority language), the other words turn through them."""
from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.calls import current_calls
from kiosk.core import events as ev
from kiosk.core.events import Event
from kiosk.screen_text import business_name, notice_in, preset, window_label
from kiosk.strings import rtl
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, direction, tr
from kiosk.ui.theme import PAIRS, dp
from kiosk.ui.widgets import Marquee, tag

log = logging.getLogger(__name__)

ROWS = 7
CALL_KINDS = {ev.TICKET_CALLED, ev.TICKET_RECALLED}
# Everything that changes which ticket a window has called: the board re-reads the windows at once, so a number that
# went away (过号, transferred, held, served, voided, expired at midnight) or a window that paused never stays up
# (a call itself is drawn from its event first: CONFIRM_MS).
TRUTH_KINDS = CALL_KINDS | {ev.TICKET_NO_SHOW, ev.TICKET_TRANSFERRED, ev.TICKET_HELD, ev.TICKET_RESUMED,
                            ev.TICKET_VOIDED, ev.TICKET_EXPIRED, ev.SERVICE_STARTED, ev.SERVICE_FINISHED,
                            ev.WINDOW_PAUSED, ev.WINDOW_RESUMED, ev.DAY_CLOSED}
COUNT_KINDS = {ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_NO_SHOW, ev.TICKET_TRANSFERRED, ev.TICKET_VOIDED,
               ev.TICKET_EXPIRED, ev.BUSINESS_CLOSED, ev.BUSINESS_OPENED, ev.DAY_CLOSED, ev.WINDOW_PAUSED,
               ev.WINDOW_RESUMED}
# A call is drawn from its event at once; the windows are re-read this much later to confirm it (the paint goes
# first).  Waiting counts are re-read at most once per SIDE_MS: a hall issuing 20 tickets a second would otherwise
# have the board query the store 40 times a second on the thread that paints.
CONFIRM_MS = 100
SIDE_MS = 250
WELCOME = "欢迎光临"
SERVING = "正在办理"
COMPACT_HEIGHT = 900  # a 32" TV at 1366×768 over a row of windows
TURN_S = 10.0  # each language's words stay this long: a citizen looking up finds theirs within one turn
TALL = 0.75  # Tibetan's words, against the same text in Chinese (see _style)


def board_languages(langs: list[str]) -> list[str]:
    """A board's languages in their order, Chinese among them (the call's second line beside a minority language)."""
    out = [x for x in dict.fromkeys(langs) if x in LANGUAGES]
    return [*out, "zh"] if "zh" not in out else out


class BoardScreen(QWidget):
    """Redraws on hall events.  When it hears nothing (no event, no heartbeat) for `stale_after_s`, it hides the
    numbers and says the link is down: a stale board sends citizens to the wrong window."""

    def __init__(self, client: HallClient, *, highlight_s: float = 6.0, stale_after_s: float = 20.0,
                 languages: list[str] | None = None, turn_s: float = TURN_S, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        # the board's languages (`hall run board --lang`, else the hall's), and the one its words are in now
        self.langs = board_languages(languages or client.config.hall.languages)
        self.lang = self.langs[0]
        self.other = next((x for x in self.langs if x != "zh"), None)  # the call's second line beside Chinese
        self._stale_why: tuple[str, dict[str, Any]] = ("", {})
        self._counts: list[dict[str, Any]] = []  # what the board last read, to say again in the next language
        self._paused: list[dict[str, Any]] = []
        self._notice = ""
        self.highlight_s = highlight_s
        self.stale_after_s = stale_after_s
        self.stale = False
        self.last_heard = time.monotonic()
        self.calls: list[dict[str, Any]] = []
        self.newest_at = 0.0
        self.compact = True  # until the first resize says the screen is tall: never forced taller than the TV
        self.newest: str | None = None  # the number of the latest call or recall, highlighted for a few seconds
        self.call_seq: dict[str, int] = {}
        self.setObjectName("board")
        self.setWindowTitle(f"{client.config.name} · 综合屏")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._build()
        self._style()
        self.second = QTimer(self)
        self.second.timeout.connect(self._every_second)
        self.second.start(1000)
        self.soon = QTimer(self)  # a burst of events (a catch-up from the store) re-reads the windows once
        self.soon.setSingleShot(True)
        self.soon.setInterval(0)
        self.soon.timeout.connect(self._refresh_calls)
        self.side_soon = QTimer(self)
        self.side_soon.setSingleShot(True)
        self.side_soon.setInterval(SIDE_MS)
        self.side_soon.timeout.connect(self._refresh_side)
        self.turn = QTimer(self)  # the words' turn to the next of the board's languages
        self.turn.setInterval(int(turn_s * 1000))
        self.turn.timeout.connect(self.next_language)
        client.events.connect(self.on_event)
        client.heartbeat.connect(self.heard)
        client.quiet.connect(self.on_quiet)
        self.set_language(self.lang)
        self.refresh()

    # --- layout -----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        # the board is the TV's size, never more: a wrapped name is measured at the width it has, not at the
        # narrowest the layout could give it (which would ask a taller window than any TV)
        root.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        header = tag(QFrame(), "header")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(32, 12, 32, 12)
        self.title = tag(QLabel(self.client.config.name), "header")
        self.clock = tag(QLabel(), "header")
        hl.addWidget(self.title, 1)
        hl.addWidget(self.clock)
        root.addWidget(header)

        self.body = QStackedWidget()
        live = QWidget()
        self.live_box = ll = QHBoxLayout(live)
        ll.setSpacing(32)
        self.calls_box = calls = QVBoxLayout()
        self.new_banner = tag(QLabel(), "new")
        self.new_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        calls.addWidget(self.new_banner)
        # the same call in a second language, at once: Chinese beside a minority language, or the other way round
        self.new_banner2 = tag(QLabel(), "new2")
        self.new_banner2.setAlignment(Qt.AlignmentFlag.AlignCenter)
        calls.addWidget(self.new_banner2)
        head = QGridLayout()
        self.col_heads = [tag(QLabel(), "colhead") for _ in range(3)]
        for c, lab in enumerate(self.col_heads):
            head.addWidget(lab, 0, c)
        calls.addLayout(head)
        self.rows: list[tuple[QFrame, QLabel, QLabel, QLabel]] = []
        for _ in range(ROWS):
            f = tag(QFrame(), "row")
            g = QGridLayout(f)
            g.setContentsMargins(12, 2, 12, 2)
            n, w, b = tag(QLabel(), "num"), tag(QLabel(), "win"), tag(QLabel(), "biz")
            b.setWordWrap(True)  # a long business name (Uyghur, Tibetan) takes two lines, never a wider board
            g.addWidget(n, 0, 0)
            g.addWidget(w, 0, 1)
            g.addWidget(b, 0, 2)
            for col in range(3):
                g.setColumnStretch(col, (2, 3, 5)[col])
                head.setColumnStretch(col, (2, 3, 5)[col])
            calls.addWidget(f)
            self.rows.append((f, n, w, b))
        calls.addStretch(1)
        ll.addLayout(calls, 3)

        side = QVBoxLayout()
        side.setSpacing(6)
        self.waiting_title = tag(QLabel(), "colhead")
        side.addWidget(self.waiting_title)
        self.count_labels: dict[str, QLabel] = {}
        for b in self.client.config.businesses:
            lab = tag(QLabel(), "count")
            lab.setWordWrap(True)
            self.count_labels[b.code] = lab
            side.addWidget(lab)
        side.addSpacing(16)
        self.paused_title = tag(QLabel(), "colhead")
        self.paused_label = tag(QLabel(), "count")
        self.paused_label.setWordWrap(True)
        side.addWidget(self.paused_title)
        side.addWidget(self.paused_label)
        side.addStretch(1)
        ll.addLayout(side, 2)  # room for a business's name and count on one line in Uyghur and Tibetan
        self.body.addWidget(live)

        self.stale_label = tag(QLabel(), "stale")
        self.stale_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stale_label.setWordWrap(True)
        self.body.addWidget(self.stale_label)
        root.addWidget(self.body, 1)

        self.notice = Marquee()
        tag(self.notice, "notice")
        root.addWidget(self.notice)

    def resizeEvent(self, event: QResizeEvent) -> None:
        compact = event.size().height() < COMPACT_HEIGHT
        if compact != self.compact:
            self.compact = compact
            self._style()
        super().resizeEvent(event)

    def _style(self) -> None:
        P = PAIRS
        c = self.compact

        def pair(name: str) -> str:
            return f"color: {P[name].fg}; background-color: {P[name].bg};"

        def size(normal: float, lang: str | None = None) -> int:
            # a 32" TV at 1366×768 is read from as far: the same text, 0.7 times; Tibetan words at TALL, since its
            # stacked letters need twice the line height of Chinese at the same size
            tall = TALL if (lang or self.lang) == "bo" else 1.0
            return dp(self, normal * (0.7 if c else 1.0) * tall)

        second = self._partner() or "zh"

        self.setStyleSheet(f"""
            #board {{ {pair('board')} }}
            QWidget {{ font-size: {size(40)}px; }}
            QFrame[role="header"], QLabel[role="header"] {{ {pair('header')} font-size: {size(48, "zh")}px;
                font-weight: bold; }}
            QLabel[role="colhead"] {{ {pair('board_accent')} font-size: {size(36)}px; }}
            QFrame[role="row"] {{ {pair('board')} border-bottom: 1px solid #3A4756; }}
            QFrame[role="row"][fresh="true"] {{ {pair('board_new')} border-radius: 8px; }}
            QLabel[role="num"] {{ background: transparent; font-size: {size(60, "zh")}px;
                font-weight: bold; }}
            QLabel[role="win"], QLabel[role="biz"] {{ background: transparent; font-size: {size(48)}px; }}
            QFrame[role="row"] QLabel {{ color: {P['board'].fg}; }}
            QFrame[role="row"][fresh="true"] QLabel {{ color: {P['board_new'].fg}; }}
            QLabel[role="new"] {{ {pair('board_new')} border-radius: 12px; font-size: {size(64)}px;
                font-weight: bold; padding: {size(10)}px; }}
            QLabel[role="new2"] {{ {pair('board_new')} border-radius: 12px; font-size: {size(40, second)}px;
                font-weight: bold; padding: {size(4)}px; }}
            QLabel[role="count"] {{ {pair('board')} font-size: {size(40)}px; }}
            QLabel[role="stale"] {{ {pair('board_stale')} font-size: {size(56)}px; font-weight: bold;
                padding: {size(40)}px; }}
            QWidget[role="notice"] {{ {pair('board_accent')} font-size: {size(40)}px; }}
        """)
        self._notice_h = size(72, "zh")
        self.notice.setFixedHeight(self._notice_h)
        self.live_box.setContentsMargins(32, 8 if c else 20, 32, 4 if c else 12)
        self.calls_box.setSpacing(2 if c else 8)

    # --- data ---------------------------------------------------------------------------------------------------
    def heard(self) -> None:
        self.last_heard = time.monotonic()
        if self.stale:
            self.stale = False
            self.body.setCurrentIndex(0)
            self.refresh()

    def on_quiet(self, why: str | None) -> None:
        """The store or the server stopped answering: say so at once rather than show numbers that may be old."""
        if why:
            self._go_stale("", text=why)

    def on_event(self, e: Event) -> None:
        self.heard()
        if e.kind in CALL_KINDS:
            self.newest = str(e.payload["ticket"]["number"])
            self.newest_at = time.monotonic()
            self.call_seq[self.newest] = e.seq
            self._show_call(e.payload)
            if not self.soon.isActive():
                self.soon.start(CONFIRM_MS)
        elif e.kind in TRUTH_KINDS:
            self.soon.start(0)  # a number that left its window must leave the board now
        if e.kind in COUNT_KINDS and not self.side_soon.isActive():
            self.side_soon.start()
        if e.kind == ev.NOTICE_CHANGED:
            self._notice = str(e.payload.get("notice", ""))
            self._show_notice()
        if e.kind == ev.DAY_CLOSED:
            self.call_seq.clear()  # numbers start again each day

    def refresh(self) -> None:
        try:
            self._notice = self.client.notice()
        except Exception:
            log.exception("board refresh failed")
            return
        self._show_notice()
        self._refresh_calls()
        self._refresh_side()
        self._every_second()

    def _show_call(self, p: dict[str, Any]) -> None:
        """Draw a call from its event, without a query: the number goes to the top, and whatever its window or the
        number showed before leaves (a window holds one ticket).  The windows re-read CONFIRM_MS later confirm it."""
        t = p["ticket"]
        row = {"number": str(t["number"]), "window": p["window"], "window_name": p.get("window_name") or "",
               "business": t.get("business", ""), "business_name": t.get("business_name", ""), "status": "called",
               "called_at": t.get("called_at") or ""}
        rest = [c for c in self.calls if c["window"] != row["window"] and c["number"] != row["number"]]
        self.calls = [row, *rest][:ROWS]
        self._render_calls()

    def _refresh_calls(self) -> None:
        try:
            windows = self.client.windows()
            self.calls = current_calls(windows, self.call_seq)[:ROWS]
        except Exception:
            log.exception("board calls failed")
            return
        self._render_calls()
        self._show_paused(windows)

    def _refresh_side(self) -> None:
        try:
            counts = self.client.waiting_counts()
            windows = self.client.windows()
        except Exception:
            log.exception("board counts failed")
            return
        self._counts = counts
        self._show_counts()
        self._show_paused(windows)

    def _show_counts(self) -> None:
        for c in self._counts:
            lab = self.count_labels.get(c["business"])
            if lab is not None:
                name = business_name(self.client.config, c["business"], self.lang, c["name"])
                said = self.t("board_closed") if c.get("closed") else self.t("board_people", n=c["waiting"])
                lab.setText(f"{name}  {said}")

    def _show_paused(self, windows: list[dict[str, Any]] | None = None) -> None:
        if windows is not None:
            self._paused = [w for w in windows if w["state"] == "paused"]
        lines = []
        for w in self._paused:
            where = window_label(self.client.config, w["number"], self.lang)
            reason = preset(w.get("pause_reason"), self.lang)  # a preset reason translated, a typed one as typed
            lines.append((f"{where}（{reason}）" if self.lang == "zh" else f"{where} ({reason})") if reason else where)
        self.paused_title.setVisible(bool(lines))
        self.paused_label.setVisible(bool(lines))
        self.paused_label.setText("\n".join(lines))

    def _show_notice(self) -> None:
        text = notice_in(self.client.config, self._notice, self.lang)
        self.notice.setText(text)
        # a Tibetan line is twice as tall as a Chinese one: the strip grows to hold it
        need = QFontMetrics(self.notice.font()).size(0, text or " ").height() + 8
        self.notice.setFixedHeight(max(self._notice_h, need))

    def _fresh(self) -> bool:
        return self.newest is not None and time.monotonic() - self.newest_at < self.highlight_s

    def _render_calls(self) -> None:
        fresh = self._fresh()
        cfg = self.client.config
        arrow = "←" if rtl(self.lang) else "→"  # towards the window, in the direction the row is read
        for i, (frame, n, w, b) in enumerate(self.rows):
            c = self.calls[i] if i < len(self.calls) else None
            where = window_label(cfg, c["window"], self.lang) if c else ""
            n.setText(c["number"] if c else "")
            # a called number is sent to its window; one being served is said so, in words (never colour alone)
            called = bool(c) and c["status"] == "called"
            w.setText((f"{arrow} {where}" if called else where) if c else "")
            name = business_name(cfg, c.get("business", ""), self.lang, c["business_name"]) if c else ""
            b.setText((name if called else self.t("board_serving")) if c else "")
            frame.setVisible(c is not None)  # an empty row keeps no room: a tall language needs it
            on = bool(c) and fresh and c["number"] == self.newest and c["status"] == "called"
            if frame.property("fresh") != on:
                frame.setProperty("fresh", on)
                for x in (frame, n, w, b):
                    x.style().unpolish(x)
                    x.style().polish(x)
        head = next((c for c in self.calls if c["status"] == "called"), None)
        marker = ("◀ " if rtl(self.lang) else "▶ ") if head is not None and fresh and head["number"] == self.newest \
            else ""  # pointing into the line, whichever way it is read
        second = self._partner()
        self.new_banner.setText(marker + self._call_line(head, self.lang))
        self.new_banner2.setText(self._call_line(head, second) if second else "")
        self.new_banner2.setProperty("lang", second)  # the Chinese line of a bilingual board is Chinese on purpose
        self.new_banner2.setVisible(bool(second))

    def _call_line(self, head: dict[str, Any] | None, lang: str) -> str:
        if head is None:
            return tr(lang, "board_welcome")
        w = window_label(self.client.config, head["window"], "zh")
        if w == f"{head['window']}号窗口":  # the default name: said in each language with the number
            return tr(lang, "board_call_n", number=head["number"], n=head["window"])
        return tr(lang, "board_call_named", number=head["number"], name=w)

    def _partner(self) -> str | None:
        """The call's second language: Chinese beside a minority language, a minority language beside Chinese."""
        if len(self.langs) < 2:
            return None
        return "zh" if self.lang != "zh" else self.other

    def _go_stale(self, key: str, *, text: str = "", **params: Any) -> None:
        """Stale: why (a table key and its values, or the system's own words in Chinese) and what to do instead."""
        self.stale = True
        self._stale_why = (key, {"text": text, **params})
        self._show_stale()
        self.body.setCurrentIndex(1)

    def _show_stale(self) -> None:
        key, params = self._stale_why
        if key:
            why = self.t(key, **{k: v for k, v in params.items() if k != "text"})
        else:  # the system's own words exist only in Chinese
            why = str(params.get("text", "")) if self.lang == "zh" else ""
        self.stale_label.setText("\n".join(x for x in (f"⚠ {why}" if why else "", self.t("board_stale")) if x))

    # --- language ----------------------------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    def set_languages(self, langs: list[str]) -> None:
        """The board's languages, in the order their words take turns (Chinese among them, for the call's line)."""
        self.langs = board_languages(langs)
        self.other = next((x for x in self.langs if x != "zh"), None)
        self.set_language(self.langs[0])

    def set_language(self, lang: str) -> None:
        """Show the words in `lang` now; the turns go on from it."""
        if lang not in LANGUAGES:
            lang = "zh"
        if lang not in self.langs:
            self.langs.insert(0, lang)
        sized = (self.lang == "bo", self._partner() == "bo")  # Tibetan's words are sized apart (TALL)
        self.lang = lang
        if lang != "zh":
            self.other = lang
        self.setLayoutDirection(direction(lang))
        if sized != (self.lang == "bo", self._partner() == "bo"):
            self._style()
        self.retranslate()
        if len(self.langs) > 1:
            self.turn.start()
        else:
            self.turn.stop()

    def next_language(self) -> None:
        self.set_language(self.langs[(self.langs.index(self.lang) + 1) % len(self.langs)])

    def retranslate(self) -> None:
        """Every word again, from what the board last read (no store read: the turn is the painting thread's)."""
        for lab, key in zip(self.col_heads, ("board_number", "board_window", "board_business"), strict=True):
            lab.setText(self.t(key))
        self.waiting_title.setText(self.t("board_waiting"))
        self.paused_title.setText(self.t("board_paused"))
        self.new_banner.setProperty("lang", self.lang)
        self._render_calls()
        self._show_counts()
        self._show_paused()
        self._show_notice()
        if self.stale:
            self._show_stale()

    def _every_second(self) -> None:
        now = self.client.now().astimezone(self.client.config.tz)
        self.clock.setText(now.strftime("%Y-%m-%d  %H:%M:%S"))
        silent = time.monotonic() - self.last_heard
        if not self.stale and silent > self.stale_after_s:
            self._go_stale("board_link_lost", n=int(silent))
        if any(f.property("fresh") for f, *_ in self.rows) and not self._fresh():
            self._render_calls()
