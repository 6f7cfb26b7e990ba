"""The layout audit every screen passes at each panel size, language and mode: every text fits its box (never
clipped, never elided to "…"), no two visible siblings overlap, every character has a glyph in the font Qt actually
resolved (fallbacks included), every touch target is at least 9 mm on the panel, and no Han text on a screen in
another language unless it is data that has no translation.

Each check walks a widget tree and returns readable problems; an empty list is a pass.  `audit` runs them all."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PySide6.QtCharts import QChartView
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextLayout
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QTabBar,
    QTableWidget,
    QWidget,
)

from kiosk.ui.theme import Panel

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
ELLIPSES = ("…", "...")
# bidi isolates and marks lay out as nothing; they are there to keep numbers left to right inside Uyghur
INVISIBLE = set("\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d")


@dataclass(frozen=True)
class Shown:
    """One piece of text a person sees: where, what, in which font, and in which box it must fit."""

    widget: QWidget
    text: str
    font: QFont
    box: QRect | None  # None: the text is not measured against a box here (a scrolling marquee, a table cell)
    wrap: bool = False


def _visible(w: QWidget) -> bool:
    return w.isVisible() and w.width() > 0 and w.height() > 0


def _name(w: QWidget) -> str:
    cls = type(w).__name__
    return f"{cls}#{w.objectName()}" if w.objectName() else cls


def _button_box(b: QPushButton) -> QRect:
    """The rectangle a push button lays its text in: inside the stylesheet's border and padding."""
    opt = QStyleOptionButton()
    opt.initFrom(b)
    opt.text = b.text()
    return b.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, b)


def shown_texts(root: QWidget) -> Iterator[Shown]:
    """Every text on screen under `root`, each with the box it must fit (labels, buttons, fields, tabs, combo
    boxes, painted face buttons, marquees, table headers and cells, chart labels)."""
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        if not _visible(w):
            continue
        if hasattr(w, "text_rect") and hasattr(w, "words"):  # painted by hand (FaceButton): its own text box
            yield Shown(w, str(w.words), w.font(), w.text_rect(), wrap=True)
        elif isinstance(w, QLabel):
            if w.text() and w.pixmap().isNull():
                yield Shown(w, w.text(), w.font(), w.contentsRect(), wrap=w.wordWrap())
        elif isinstance(w, QPushButton):
            text = QPushButton.text(w)  # what Qt paints (a WrapButton's text() is the unbroken text)
            if text:
                yield Shown(w, text, w.font(), _button_box(w))
        elif isinstance(w, QAbstractButton):
            if w.text():
                yield Shown(w, w.text(), w.font(), w.contentsRect())
        elif isinstance(w, QLineEdit):
            text = w.text() or w.placeholderText()
            if text:
                # QLineEdit keeps 2 px each side of its text inside the frame and padding
                yield Shown(w, text, w.font(), w.contentsRect().adjusted(2, 0, -2, 0))
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                yield Shown(w, w.tabText(i), w.font(), w.tabRect(i).adjusted(8, 0, -8, 0))
        elif isinstance(w, QComboBox):
            box = w.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, _combo_option(w),
                                           QStyle.SubControl.SC_ComboBoxEditField, w)
            yield Shown(w, w.currentText(), w.font(), box)
        elif type(w).__name__ == "Marquee":  # scrolls sideways on purpose; its height must still hold the line
            text = str(w.text())  # type: ignore[attr-defined]
            if text:
                yield Shown(w, text, w.font(), QRect(0, 0, 10**6, w.height()))
        elif isinstance(w, QTableWidget):
            header = w.horizontalHeader()
            for c in range(w.columnCount()):
                item = w.horizontalHeaderItem(c)
                if item is not None and item.text() and not w.isColumnHidden(c):
                    yield Shown(header, item.text(), header.font(),
                                QRect(0, 0, w.columnWidth(c) - 8, header.height()))  # padding 4 + 4 (qss)
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    item = w.item(r, c)
                    if item is not None and item.text():
                        yield Shown(w, item.text(), item.font() if item.font() != QFont() else w.font(),
                                    QRect(0, 0, w.columnWidth(c) - 6, w.rowHeight(r)))  # Qt pads 3 + 3 px
        elif isinstance(w, QChartView):
            for item in w.scene().items():
                if not item.isVisible():
                    continue
                if isinstance(item, QGraphicsTextItem):
                    text = item.toPlainText()
                elif isinstance(item, QGraphicsSimpleTextItem):
                    text = item.text()
                else:
                    continue
                if text:
                    yield Shown(w, text, item.font(), None)


def _combo_option(c: QComboBox) -> QStyleOptionComboBox:
    opt = QStyleOptionComboBox()
    opt.initFrom(c)
    opt.currentText = c.currentText()
    opt.editable = c.isEditable()
    return opt


def needed(text: str, font: QFont, width: int | None = None) -> tuple[int, int]:
    """The size a text needs in this font, with Qt's per-character fallback (a Tibetan line is twice as tall as a
    Chinese one at the same pixel size); wrapped at `width` when given, as a word-wrapped label wraps it."""
    fm = QFontMetrics(font)
    if width is None:
        size = fm.size(int(Qt.TextFlag.TextShowMnemonic), text)
        return size.width(), size.height()
    r = fm.boundingRect(QRect(0, 0, max(1, width), 10**6), int(Qt.TextFlag.TextWordWrap), text)
    return r.width(), r.height()


def clipped(root: QWidget) -> list[str]:
    """Texts whose needed size is larger than their box, and texts shown elided ("…" a person cannot expand)."""
    problems = []
    for s in shown_texts(root):
        if any(e in s.text for e in ELLIPSES) and s.box is None:
            problems.append(f"{_name(s.widget)}: {s.text!r} is elided")
        if s.box is None:
            continue
        w, h = needed(s.text, s.font, s.box.width() if s.wrap else None)
        if w > s.box.width() + 1 or h > s.box.height() + 1:
            problems.append(f"{_name(s.widget)}: {s.text!r} needs {w}×{h} px, has {s.box.width()}×{s.box.height()}")
    for t in root.findChildren(QTableWidget):
        if not _visible(t):
            continue
        for r in range(t.rowCount()):
            if t.rowViewportPosition(r) + t.rowHeight(r) > t.viewport().height():
                problems.append(f"{_name(t)} row {r} is below the bottom of the table")
                break
        if t.horizontalScrollBar().isVisible():
            problems.append(f"{_name(t)} scrolls sideways")
    return problems


def _scroll_content(w: QWidget) -> bool:
    """A widget scrolled inside a scroll area (its size is the content's, not the screen's)."""
    p = w.parentWidget()
    return p is not None and isinstance(p.parentWidget(), QAbstractScrollArea) and p is p.parentWidget().viewport()


def overlaps(root: QWidget) -> list[str]:
    """Visible siblings whose rectangles intersect, and visible children that stick out of their parent."""
    problems = []
    for parent in [root, *root.findChildren(QWidget)]:
        if not _visible(parent):
            continue
        kids = [c for c in parent.children() if isinstance(c, QWidget) and not c.isWindow() and _visible(c)]
        inside = parent.rect()
        for i, a in enumerate(kids):
            if not _scroll_content(a) and not inside.contains(a.geometry()):
                problems.append(f"{_name(a)} ({_rect(a.geometry())}) sticks out of {_name(parent)} "
                                f"({inside.width()}×{inside.height()})")
            for b in kids[i + 1:]:
                if a.geometry().intersects(b.geometry()):
                    problems.append(f"{_name(a)} {_label(a)} ({_rect(a.geometry())}) overlaps {_name(b)} {_label(b)} "
                                    f"({_rect(b.geometry())}) in {_name(parent)}")
    return problems


def _rect(r: QRect) -> str:
    return f"{r.x()},{r.y()} {r.width()}×{r.height()}"


def _label(w: QWidget) -> str:
    text = getattr(w, "text", None)
    return repr(text()[:20]) if callable(text) and isinstance(text(), str) and text() else ""


def missing_glyphs(root: QWidget) -> list[str]:
    """Characters drawn as a box: no font in the widget's family list, nor Qt's fallback, has a glyph for them.
    Laid out exactly as Qt draws them (QTextLayout's glyph runs name the real font per run; glyph 0 is .notdef)."""
    problems = []
    for s in shown_texts(root):
        for line in s.text.split("\n"):
            if not line.strip():
                continue
            layout = QTextLayout(line, s.font)
            layout.beginLayout()
            layout.createLine().setLineWidth(10**6)
            layout.endLayout()
            for run in layout.glyphRuns():
                if 0 in list(run.glyphIndexes()):
                    chars = "".join(sorted({ch for ch in line if ch not in INVISIBLE and not ch.isspace()
                                            and not run.rawFont().supportsCharacter(ord(ch))}))
                    problems.append(f"{_name(s.widget)}: {line!r} has no glyph for {chars!r} in "
                                    f"{run.rawFont().familyName()!r}")
    return problems


def small_targets(root: QWidget, panel: Panel) -> list[str]:
    """Touch targets smaller than the panel's 9 mm (buttons, fields, combo boxes, tabs) on a touch panel."""
    if not panel.touch:
        return []
    least = panel.min_target_px
    problems = []
    for w in root.findChildren(QWidget):
        if not _visible(w) or not w.isEnabled():
            continue
        if isinstance(w, (QAbstractButton, QComboBox)) or (isinstance(w, QLineEdit) and not w.isReadOnly()):
            if w.width() < least or w.height() < least:
                problems.append(f"{_name(w)} {_label(w)} is {w.width()}×{w.height()} px, under {least} px "
                                f"(9 mm at {panel.dpi:.0f} dpi)")
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                r = w.tabRect(i)
                if r.width() < least or r.height() < least:
                    problems.append(f"tab {w.tabText(i)!r} is {r.width()}×{r.height()} px, under {least} px")
    return problems


def _declared(w: QWidget | None) -> str | None:
    """The language a widget (or its parent) says it is written in: the Chinese line of a bilingual board."""
    while w is not None:
        lang = w.property("lang")
        if isinstance(lang, str) and lang:
            return lang
        w = w.parentWidget()
    return None


def han_leaks(root: QWidget, lang: str, allowed: Iterable[str] = ()) -> list[str]:
    """Han characters on a screen in another language, outside the `allowed` data (a hall's own name, the 中文
    button, a catalogue text the province sends only in Chinese).  Every label with a translation must use it.
    A widget that declares its own language (property `lang`: a bilingual board's Chinese line) is held to that."""
    allow = sorted({a for a in allowed if a}, key=len, reverse=True)
    problems = []
    for s in shown_texts(root):
        if (_declared(s.widget) or lang) == "zh":
            continue
        rest = s.text
        for a in allow:
            rest = rest.replace(a, "")
        if HAN.search(rest):
            problems.append(f"{_name(s.widget)}: {s.text!r} is Chinese on a {lang} screen")
    return problems


def audit(root: QWidget, panel: Panel, lang: str = "zh", allowed: Iterable[str] = ()) -> list[str]:
    """Every check, for one screen as it stands."""
    problems = []
    if (root.width(), root.height()) != panel.size:
        problems.append(f"{_name(root)} is {root.width()}×{root.height()}, not the panel's {panel.size}: "
                        "its content does not fit")
    return (problems + clipped(root) + overlaps(root) + missing_glyphs(root) + small_targets(root, panel)
            + han_leaks(root, lang, allowed))
