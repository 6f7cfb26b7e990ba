"""Colours, sizes in dp and the contrast rule (WCAG ≥ 4.5:1) shared by every screen."""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, hypot

from PySide6.QtWidgets import QWidget

# 适老化 (MIIT 2021): largest font ≥ 30 dp, targets ≥ 60×60 dp in elder mode (≥ 44 otherwise), contrast ≥ 4.5:1.
ELDER_MIN_FONT_DP = 30
ELDER_MIN_TARGET_DP = 60
NORMAL_MIN_TARGET_DP = 44
MIN_CONTRAST = 4.5


def dp(widget: QWidget | None, value: float) -> int:
    """Device-independent points → logical pixels at the widget's screen DPI (96 dpi = 1:1)."""
    dpi = widget.logicalDpiY() if widget is not None else 96
    return round(value * dpi / 96.0)


def px_to_dp(widget: QWidget, px: float) -> float:
    return px * 96.0 / widget.logicalDpiY()


def _channel(c: float) -> float:
    c /= 255.0
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class Pair:
    fg: str
    bg: str


# Every foreground/background pair a screen uses is named here so one test can check them all.
PAIRS: dict[str, Pair] = {
    "page": Pair("#1A1A1A", "#F3F5F8"),
    "header": Pair("#FFFFFF", "#0B3D91"),
    "business": Pair("#FFFFFF", "#0B57A4"),
    "business_closed": Pair("#3A3A3A", "#DADDE2"),
    "action": Pair("#0B3D91", "#FFFFFF"),
    "primary": Pair("#FFFFFF", "#1B6E20"),
    "danger": Pair("#FFFFFF", "#A4161A"),
    "error": Pair("#7A1010", "#FDECEA"),
    "ok": Pair("#0F4D14", "#E6F4E7"),
    "warn": Pair("#5A3B00", "#FFF1C2"),
    "ticket": Pair("#0B3D91", "#FFFFFF"),
    "board": Pair("#FFFFFF", "#0E1621"),
    "board_accent": Pair("#FFD54F", "#0E1621"),
    "board_new": Pair("#0E1621", "#FFD54F"),
    "board_stale": Pair("#FFFFFF", "#8E1B1B"),
    "muted": Pair("#4A4F57", "#F3F5F8"),
}


# Noto Serif Tibetan's stacked letters need about twice the line height of Chinese at the same pixel size: a staff
# screen built for Chinese sets its Tibetan words this much smaller so that its rows still hold them (targets keep
# their size).  The board, read from across the hall, has its own (kiosk/ui/board.py TALL).
SCRIPT_SCALE: dict[str, float] = {"bo": 0.8}


def text_scale(lang: str) -> float:
    return SCRIPT_SCALE.get(lang, 1.0)


def qss_pair(name: str) -> str:
    p = PAIRS[name]
    return f"color: {p.fg}; background-color: {p.bg};"


# --- the panels each role runs on -----------------------------------------------------------------------------------
TOUCH_MM = 9.0  # the least a finger hits reliably (ISO 9241-9's 9.6 mm key pitch; Android's 48 dp ≈ 9 mm)


@dataclass(frozen=True)
class Panel:
    """A screen a role runs on, as its stated size: pixels, diagonal, and whether people touch it.

    The diagonal is the smallest panel sold for that role at that resolution, because the smaller panel has the
    higher DPI and so needs the most pixels for 9 mm: a layout that holds there holds on the bigger ones."""

    role: str
    size: tuple[int, int]
    diagonal_in: float
    touch: bool
    why: str

    @property
    def dpi(self) -> float:
        return hypot(*self.size) / self.diagonal_in

    @property
    def min_target_px(self) -> int:
        return ceil(TOUCH_MM / 25.4 * self.dpi)

    @property
    def label(self) -> str:
        return f"{self.size[0]}x{self.size[1]}"


PANELS: tuple[Panel, ...] = (
    Panel("kiosk", (1080, 1920), 21.5, True, "portrait floor kiosk (取号机); 21.5\" ≈ 102 dpi → 9 mm ≈ 37 px "
          "(32\" and 43\" kiosks have fewer dpi)"),
    Panel("kiosk", (1920, 1080), 21.5, True, "landscape desk kiosk, the same 21.5\" panel turned"),
    Panel("evaluator", (800, 480), 7.0, True, "7\" evaluator tablet at the window ≈ 133 dpi → 9 mm ≈ 48 px"),
    Panel("evaluator", (1280, 800), 10.1, True, "10.1\" evaluator tablet ≈ 149 dpi → 9 mm ≈ 53 px"),
    Panel("caller", (1366, 768), 15.6, True, "the clerk's 15.6\" touch all-in-one or laptop ≈ 100 dpi → 36 px"),
    Panel("caller", (1920, 1080), 21.5, True, "the clerk's 21.5\" touch monitor ≈ 102 dpi → 37 px"),
    Panel("board", (1920, 1080), 55.0, False, "the hall board: a 55\" TV on the wall; nobody touches it"),
    Panel("board", (1366, 768), 32.0, False, "a 32\" TV over a row of windows; nobody touches it"),
    Panel("dashboard", (1366, 768), 14.0, False, "the manager's 14\" laptop ≈ 112 dpi, used with a mouse"),
    Panel("dashboard", (1920, 1080), 23.8, False, "the manager's 23.8\" monitor ≈ 93 dpi, used with a mouse"),
)


def panels(role: str) -> list[Panel]:
    return [p for p in PANELS if p.role == role]
