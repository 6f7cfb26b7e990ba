"""What each LED area should show, as a pure function of hall events: window boards and the hall board."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.calls import current_calls
from kiosk.core import events as ek
from kiosk.core.events import Event

LINE_PX = 16  # the 16-dot fonts (O000/E000, doc §11.1) every BX board ships with


@dataclass(frozen=True, slots=True)
class AreaContent:
    """The text one area should show now; flash_s > 0 asks for the attention effect that long, then steady."""

    area: int
    text: str
    flash_s: float = 0.0
    scroll: bool = False  # a one-line notice that runs right to left


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


def text_width(text: str) -> int:
    """Width in half-width cells: ASCII takes one 8-dot cell, a Chinese character two."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def columns(rect: Rect) -> int:
    """How many half-width cells one 16-dot line of an area holds."""
    return rect.width // 8


def capacity(rect: Rect) -> int:
    """How many half-width cells fit in an area with 16-dot fonts and automatic wrapping."""
    return (rect.width // 8) * max(1, rect.height // LINE_PX)


def _window_of(payload: Mapping[str, Any], key: str = "window") -> int | None:
    w = payload.get(key)
    if isinstance(w, int):
        return w
    if isinstance(w, str) and w.isdigit():
        return int(w)
    return None


def _number(payload: Mapping[str, Any]) -> str:
    ticket = payload.get("ticket") or {}
    return str(ticket.get("number") or "")


class WindowBoard:
    """One window's board, area 0: the number being served (flashes on a call), 暂停服务, or a welcome line."""

    AREA = 0
    PAUSED = "暂停服务"

    def __init__(
        self,
        window: int,
        *,
        welcome: str = "欢迎光临",
        flash_s: float = 3.0,
        width: int = 128,
        height: int = 32,
        call_text: str = "{number} 请到{window}号窗口",
    ) -> None:
        self.window = window
        self.welcome = welcome
        self.flash_s = flash_s
        self.rect = Rect(0, 0, width, height)
        self.call_text = call_text
        self.current: str | None = None  # ticket number being called or served here
        self.paused = False
        self.pause_reason = ""
        self.signed_out = False

    def layout(self) -> dict[int, Rect]:
        return {self.AREA: self.rect}

    def text(self) -> str:
        if self.paused or self.signed_out:
            reason = " ".join(self.pause_reason.split()) if self.paused else ""
            # the reason is shown only when it fits; 暂停服务 alone still tells the citizen what matters
            cols, rows = self.rect.width // 8, max(1, self.rect.height // LINE_PX)
            if reason and rows > 1 and text_width(reason) <= (rows - 1) * cols:
                return f"{self.PAUSED}\n{reason}"
            if reason and rows == 1 and text_width(f"{self.PAUSED} {reason}") <= cols:
                return f"{self.PAUSED} {reason}"
            return self.PAUSED
        if self.current:
            return self.call_line()
        return self.welcome

    def call_line(self) -> str:
        """The call, on one line when it can be: "A012 请到3号窗口" (15 cells) fits 128 px, but with a two-digit
        window it is 17 cells and would wrap "口" alone onto the next line, so the space goes first
        ("A012请到10号窗口", 16 cells: letters and digits stand apart from the Han text without it).  Still too
        long (window 100 and up) on a two-line board: the number on one line, where to go on the next."""
        text = self.call_text.format(number=self.current, window=self.window)
        cols = columns(self.rect)
        tight = text.replace(" ", "")
        for candidate in (text, tight):
            if text_width(candidate) <= cols:
                return candidate
        head, sep, tail = text.partition(" ")
        if sep and self.rect.height >= 2 * LINE_PX and max(text_width(head), text_width(tail)) <= cols:
            return f"{head}\n{tail}"
        return tight  # the controller wraps it; nothing shorter says the same

    def initial(self) -> list[AreaContent]:
        return [AreaContent(self.AREA, self.text())]

    def apply(self, ev: Event) -> list[AreaContent]:
        """The areas that change because of `ev` (empty when the event does not concern this window)."""
        p = ev.payload or {}
        kind = ev.kind
        if kind == ek.TICKET_TRANSFERRED:
            if _window_of(p, "from_window") != self.window:
                return []
            return self._show(current=None)
        if kind == ek.DAY_CLOSED:
            return self._show(current=None)
        if _window_of(p) != self.window:
            return []
        if kind in (ek.TICKET_CALLED, ek.TICKET_RECALLED):
            number = _number(p)
            if not number:
                return []
            self.current = number
            return [AreaContent(self.AREA, self.text(), 0.0 if self.paused else self.flash_s)]
        if kind in (ek.SERVICE_STARTED, ek.TICKET_RESUMED):
            number = _number(p)
            return self._show(current=number or self.current)
        if kind in (ek.SERVICE_FINISHED, ek.TICKET_NO_SHOW, ek.TICKET_HELD):
            return self._show(current=None) if _number(p) in ("", self.current) else []
        if kind == ek.WINDOW_PAUSED:
            self.paused, self.pause_reason = True, str(p.get("reason") or "")
            return [AreaContent(self.AREA, self.text())]
        if kind == ek.WINDOW_RESUMED:
            self.paused, self.pause_reason = False, ""
            return [AreaContent(self.AREA, self.text())]
        if kind == ek.WINDOW_SIGNED_OUT:
            self.signed_out = True
            return [AreaContent(self.AREA, self.text())]
        if kind == ek.WINDOW_SIGNED_IN:
            self.signed_out = False
            return [AreaContent(self.AREA, self.text())]
        return []

    def _show(self, *, current: str | None) -> list[AreaContent]:
        before = self.text()
        self.current = current
        after = self.text()
        return [] if after == before else [AreaContent(self.AREA, after)]


@dataclass
class _Waiting:
    prefix: str
    name: str
    waiting: int


# A number that left its window leaves the hall board at once (过号, transferred, held, served, voided, expired), and
# a paused window shows no number: the same rule as the Qt board (kiosk/calls.py)
_GONE_BY_NUMBER = frozenset({ek.SERVICE_FINISHED, ek.TICKET_NO_SHOW, ek.TICKET_HELD, ek.TICKET_VOIDED,
                             ek.TICKET_EXPIRED, ek.TICKET_TRANSFERRED})
_GONE_BY_WINDOW = frozenset({ek.WINDOW_PAUSED})
# events after which only the hall knows what a window holds now (a held ticket resumed, a window back in service)
TRUTH_KINDS = frozenset({ek.TICKET_CALLED, ek.TICKET_RECALLED, ek.SERVICE_STARTED, ek.TICKET_RESUMED,
                         ek.WINDOW_RESUMED, ek.DAY_CLOSED}) | _GONE_BY_NUMBER | _GONE_BY_WINDOW


class HallBoard:
    """The hall board: area 0 the numbers at their windows now ("A001 → 3号窗口", the latest call first), area 1
    waiting counts, and optionally area 2, a scrolling notice line (`notice` not None).

    Only what is true now: each event moves the calls at once (a call goes to the top, a number that left its window
    goes), and `set_calls` with the hall's windows replaces them with the store's truth (kiosk/calls.py, shared with
    the Qt board and the headless board), which wins."""

    CALLS, WAITING, NOTICE = 0, 1, 2

    def __init__(
        self,
        *,
        lines: int = 3,
        width: int = 256,
        flash_s: float = 0.0,
        title: str = "等候",
        notice: str | None = None,
    ) -> None:
        self.lines = max(1, lines)
        self.width = width
        self.flash_s = flash_s
        self.title = title
        self.notice = notice
        self.calls: list[tuple[str, int]] = []  # every window's current number, newest call first
        self.call_seq: dict[str, int] = {}  # each number's latest call heard, to order calls within one clock tick
        self.waiting: dict[str, _Waiting] = {}

    def layout(self) -> dict[int, Rect]:
        out = {
            self.CALLS: Rect(0, 0, self.width, self.lines * LINE_PX),
            self.WAITING: Rect(0, self.lines * LINE_PX, self.width, LINE_PX),
        }
        if self.notice is not None:
            out[self.NOTICE] = Rect(0, (self.lines + 1) * LINE_PX, self.width, LINE_PX)
        return out

    def set_notice(self, text: str) -> list[AreaContent]:
        if self.notice is None or text == self.notice:
            return []
        self.notice = text
        return [AreaContent(self.NOTICE, text.replace("\n", " "), scroll=True)]

    def calls_text(self) -> str:
        return "\n".join(f"{num} → {win}号窗口" for num, win in self.calls[:self.lines]) or "欢迎光临"

    def set_calls(self, windows: list[dict[str, Any]]) -> list[AreaContent]:
        """Replace the calls with the hall's truth (`Hall.windows()` rows): what the store says wins."""
        before = self.calls_text()
        self.calls = [(str(c["number"]), int(c["window"])) for c in current_calls(windows, self.call_seq)]
        after = self.calls_text()
        return [] if after == before else [AreaContent(self.CALLS, after)]

    def _calls_from(self, ev: Event) -> list[AreaContent]:
        p = ev.payload or {}
        before = self.calls_text()
        if ev.kind in (ek.TICKET_CALLED, ek.TICKET_RECALLED):
            number, window = _number(p), _window_of(p)
            if not number or window is None:
                return []
            self.call_seq[number] = ev.seq
            # a window holds one ticket and a ticket is at one window: whatever either showed before goes
            self.calls = [(number, window), *((n, w) for n, w in self.calls if n != number and w != window)]
            return [AreaContent(self.CALLS, self.calls_text(), self.flash_s)]
        if ev.kind in _GONE_BY_NUMBER:
            number = _number(p)
            self.calls = [(n, w) for n, w in self.calls if n != number]
        elif ev.kind in _GONE_BY_WINDOW:
            window = _window_of(p)
            self.calls = [(n, w) for n, w in self.calls if w != window]
        elif ev.kind == ek.DAY_CLOSED:
            self.calls.clear()
            self.call_seq.clear()  # numbers start again each day
        after = self.calls_text()
        return [] if after == before else [AreaContent(self.CALLS, after)]

    def waiting_text(self) -> str:
        rows = [w for w in self.waiting.values() if w.waiting > 0]
        if not rows:
            return f"{self.title} 0人"
        limit = capacity(self.layout()[self.WAITING])
        named = f"{self.title} " + " ".join(f"{w.name}{w.waiting}人" for w in rows)
        if text_width(named) <= limit:
            return named
        # too long for one line with business names: the ticket prefixes are what citizens hold anyway
        return f"{self.title} " + " ".join(f"{w.prefix or w.name}:{w.waiting}" for w in rows)

    def initial(self) -> list[AreaContent]:
        out = [AreaContent(self.CALLS, self.calls_text()), AreaContent(self.WAITING, self.waiting_text())]
        if self.notice is not None:
            out.append(AreaContent(self.NOTICE, self.notice.replace("\n", " "), scroll=True))
        return out

    def set_waiting(self, counts: Iterable[Mapping[str, Any]]) -> list[AreaContent]:
        """Replace the counts with the hall's truth (`Hall.waiting_counts()` rows)."""
        before = self.waiting_text()
        self.waiting = {
            str(c.get("business")): _Waiting(str(c.get("prefix") or ""), str(c.get("name") or ""), int(c["waiting"]))
            for c in counts
        }
        after = self.waiting_text()
        return [] if after == before else [AreaContent(self.WAITING, after)]

    def apply(self, ev: Event) -> list[AreaContent]:
        p = ev.payload or {}
        if ev.kind == ek.NOTICE_CHANGED:
            return self.set_notice(str(p.get("notice") or ""))
        out = self._calls_from(ev)
        ticket = p.get("ticket") or {}
        before = self.waiting_text()
        # Estimates between refreshes from the hall: issued carries how many are ahead, a first call takes one off
        if ev.kind == ek.TICKET_ISSUED and ticket.get("business"):
            w = self._row(ticket)
            w.waiting = int(p.get("ahead") or 0) + 1
        elif ev.kind == ek.TICKET_CALLED and ticket.get("business"):
            w = self._row(ticket)
            w.waiting = max(0, w.waiting - 1)
        elif ev.kind == ek.TICKET_TRANSFERRED and p.get("to_business"):
            code = str(p["to_business"])
            w = self.waiting.setdefault(code, _Waiting("", code, 0))
            w.waiting += 1
        elif ev.kind == ek.DAY_CLOSED:
            self.waiting.clear()
        after = self.waiting_text()
        if after != before:
            out.append(AreaContent(self.WAITING, after))
        return out

    def _row(self, ticket: Mapping[str, Any]) -> _Waiting:
        code = str(ticket["business"])
        w = self.waiting.get(code)
        if w is None:
            w = self.waiting[code] = _Waiting(
                str(ticket.get("prefix") or ""), str(ticket.get("business_name") or code), 0
            )
        return w
