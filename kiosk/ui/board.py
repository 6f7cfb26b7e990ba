"""The hall board (综合屏, a 1920×1080 TV): the numbers called now and where to go, waiting per business, paused
windows, notice, clock; stale when the hall stops answering."""
from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from kiosk.calls import current_calls
from kiosk.core import events as ev
from kiosk.core.events import Event
from kiosk.ui.client import HallClient
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


class BoardScreen(QWidget):
    """Redraws on hall events.  When it hears nothing (no event, no heartbeat) for `stale_after_s`, it hides the
    numbers and says the link is down: a stale board sends citizens to the wrong window."""

    def __init__(self, client: HallClient, *, highlight_s: float = 6.0, stale_after_s: float = 20.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
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
        client.events.connect(self.on_event)
        client.heartbeat.connect(self.heard)
        client.quiet.connect(self.on_quiet)
        self.refresh()

    # --- layout -----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
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
        head = QGridLayout()
        for c, text in enumerate(("号码", "窗口", "业务")):
            head.addWidget(tag(QLabel(text), "colhead"), 0, c)
        calls.addLayout(head)
        self.rows: list[tuple[QFrame, QLabel, QLabel, QLabel]] = []
        for _ in range(ROWS):
            f = tag(QFrame(), "row")
            g = QGridLayout(f)
            g.setContentsMargins(12, 2, 12, 2)
            n, w, b = tag(QLabel(), "num"), tag(QLabel(), "win"), tag(QLabel(), "biz")
            g.addWidget(n, 0, 0)
            g.addWidget(w, 0, 1)
            g.addWidget(b, 0, 2)
            for col in range(3):
                g.setColumnStretch(col, (3, 4, 4)[col])
                head.setColumnStretch(col, (3, 4, 4)[col])
            calls.addWidget(f)
            self.rows.append((f, n, w, b))
        calls.addStretch(1)
        ll.addLayout(calls, 2)

        side = QVBoxLayout()
        side.setSpacing(6)
        side.addWidget(tag(QLabel("等候人数"), "colhead"))
        self.count_labels: dict[str, QLabel] = {}
        for b in self.client.config.businesses:
            lab = tag(QLabel(), "count")
            self.count_labels[b.code] = lab
            side.addWidget(lab)
        side.addSpacing(16)
        self.paused_title = tag(QLabel("暂停服务的窗口"), "colhead")
        self.paused_label = tag(QLabel(), "count")
        self.paused_label.setWordWrap(True)
        side.addWidget(self.paused_title)
        side.addWidget(self.paused_label)
        side.addStretch(1)
        ll.addLayout(side, 1)
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

        def size(normal: float) -> int:  # a 32" TV at 1366×768 is read from as far: the same text, 0.7 times
            return dp(self, normal * (0.7 if c else 1.0))

        self.setStyleSheet(f"""
            #board {{ {pair('board')} }}
            QWidget {{ font-size: {size(40)}px; }}
            QFrame[role="header"], QLabel[role="header"] {{ {pair('header')} font-size: {size(48)}px;
                font-weight: bold; }}
            QLabel[role="colhead"] {{ {pair('board_accent')} font-size: {size(36)}px; }}
            QFrame[role="row"] {{ {pair('board')} border-bottom: 1px solid #3A4756; }}
            QFrame[role="row"][fresh="true"] {{ {pair('board_new')} border-radius: 8px; }}
            QLabel[role="num"] {{ background: transparent; font-size: {size(60)}px;
                font-weight: bold; }}
            QLabel[role="win"], QLabel[role="biz"] {{ background: transparent; font-size: {size(48)}px; }}
            QFrame[role="row"] QLabel {{ color: {P['board'].fg}; }}
            QFrame[role="row"][fresh="true"] QLabel {{ color: {P['board_new'].fg}; }}
            QLabel[role="new"] {{ {pair('board_new')} border-radius: 12px; font-size: {size(64)}px;
                font-weight: bold; padding: {size(10)}px; }}
            QLabel[role="count"] {{ {pair('board')} font-size: {size(40)}px; }}
            QLabel[role="stale"] {{ {pair('board_stale')} font-size: {size(56)}px; font-weight: bold;
                padding: {size(40)}px; }}
            QWidget[role="notice"] {{ {pair('board_accent')} font-size: {size(40)}px; }}
        """)
        self.notice.setFixedHeight(size(72))
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
            self._go_stale(why)

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
            self.notice.setText(str(e.payload.get("notice", "")))
        if e.kind == ev.DAY_CLOSED:
            self.call_seq.clear()  # numbers start again each day

    def refresh(self) -> None:
        try:
            self.notice.setText(self.client.notice())
        except Exception:
            log.exception("board refresh failed")
            return
        self._refresh_calls()
        self._refresh_side()
        self._every_second()

    def _show_call(self, p: dict[str, Any]) -> None:
        """Draw a call from its event, without a query: the number goes to the top, and whatever its window or the
        number showed before leaves (a window holds one ticket).  The windows re-read CONFIRM_MS later confirm it."""
        t = p["ticket"]
        row = {"number": str(t["number"]), "window": p["window"], "window_name": p.get("window_name") or "",
               "business_name": t.get("business_name", ""), "status": "called", "called_at": t.get("called_at") or ""}
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
        for c in counts:
            lab = self.count_labels.get(c["business"])
            if lab is not None:
                lab.setText(f"{c['name']}  暂停取号" if c.get("closed") else f"{c['name']}  {c['waiting']} 人")
        self._show_paused(windows)

    def _show_paused(self, windows: list[dict[str, Any]]) -> None:
        paused = [f"{w['name']}（{w['pause_reason']}）" if w.get("pause_reason") else w["name"]
                  for w in windows if w["state"] == "paused"]
        self.paused_title.setVisible(bool(paused))
        self.paused_label.setVisible(bool(paused))
        self.paused_label.setText("\n".join(paused))

    def _fresh(self) -> bool:
        return self.newest is not None and time.monotonic() - self.newest_at < self.highlight_s

    def _render_calls(self) -> None:
        fresh = self._fresh()
        for i, (frame, n, w, b) in enumerate(self.rows):
            c = self.calls[i] if i < len(self.calls) else None
            where = (c["window_name"] or f"{c['window']}号窗口") if c else ""
            n.setText(c["number"] if c else "")
            # a called number is sent to its window; one being served is said so, in words (never colour alone)
            called = bool(c) and c["status"] == "called"
            w.setText(("→ " + where if called else where) if c else "")
            b.setText((c["business_name"] if called else SERVING) if c else "")
            on = bool(c) and fresh and c["number"] == self.newest and c["status"] == "called"
            if frame.property("fresh") != on:
                frame.setProperty("fresh", on)
                for x in (frame, n, w, b):
                    x.style().unpolish(x)
                    x.style().polish(x)
        head = next((c for c in self.calls if c["status"] == "called"), None)
        if head is None:
            self.new_banner.setText(WELCOME)
            return
        marker = "▶ " if fresh and head["number"] == self.newest else ""
        where = head["window_name"] or f"{head['window']}号窗口"
        self.new_banner.setText(f"{marker}请 {head['number']} 号到 {where} 办理")

    def _go_stale(self, why: str) -> None:
        self.stale = True
        self.stale_label.setText(f"⚠ {why}\n叫号信息暂停显示\n请留意窗口叫号，或到服务台咨询")
        self.body.setCurrentIndex(1)

    def _every_second(self) -> None:
        now = self.client.now().astimezone(self.client.config.tz)
        self.clock.setText(now.strftime("%Y-%m-%d  %H:%M:%S"))
        silent = time.monotonic() - self.last_heard
        if not self.stale and silent > self.stale_after_s:
            self._go_stale(f"综合屏与叫号系统的连接已中断（{int(silent)} 秒无消息）")
        if any(f.property("fresh") for f, *_ in self.rows) and not self._fresh():
            self._render_calls()
