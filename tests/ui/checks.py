"""Checks shared by the screen tests: every rendered text of a widget tree, and what is cut off on screen."""
from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtPrintSupport import QPrintPreviewWidget
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QListWidget, QTableWidget, QTabWidget, QWidget

W = TypeVar("W", bound=QWidget)


def shown(qtbot: Any, widget: W, width: int, height: int) -> W:
    """A screen as a test drives it: owned by qtbot, at the size it runs at, on screen."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def rendered_texts(widget: QWidget) -> str:
    """Every text a person can see or hover in a widget tree: labels, buttons, fields, tabs, list rows and cells."""
    out = [w.text() for cls in (QLabel, QAbstractButton, QLineEdit) for w in widget.findChildren(cls)]
    for tabs in widget.findChildren(QTabWidget):
        out += [tabs.tabText(i) for i in range(tabs.count())]
    for lst in widget.findChildren(QListWidget):
        out += [lst.item(i).text() + lst.item(i).toolTip() for i in range(lst.count())]
    for t in widget.findChildren(QTableWidget):
        out += [t.item(r, c).text() + t.item(r, c).toolTip() for r in range(t.rowCount())
                for c in range(t.columnCount()) if t.item(r, c)]
    return "\n".join(out)


def cut_off(widget: QWidget) -> list[str]:
    """What is shown cut short in the visible part of `widget`: single-line labels wider than their box, table
    headers or cells wider than their column, table rows below the bottom of their table, widgets outside the
    window.  An empty list means everything can be read without scrolling or hovering."""
    problems: list[str] = []
    root = widget.window()
    for lab in widget.findChildren(QLabel):
        if not lab.isVisible() or lab.wordWrap() or not lab.text():
            continue
        fm = QFontMetrics(lab.font())
        need = max(fm.horizontalAdvance(line) for line in lab.text().split("\n"))
        if need > lab.contentsRect().width() + 1:
            problems.append(f"label {lab.text()!r}: {need}px text in {lab.contentsRect().width()}px")
        bottom_right = lab.mapTo(root, lab.rect().bottomRight())
        if bottom_right.x() > root.width() or bottom_right.y() > root.height():
            problems.append(f"label {lab.text()!r} lies outside the window")
    for t in widget.findChildren(QTableWidget):
        if not t.isVisible():
            continue
        header = t.horizontalHeader()
        hfm = QFontMetrics(header.font())
        for c in range(t.columnCount()):
            head = t.horizontalHeaderItem(c).text() if t.horizontalHeaderItem(c) else ""
            if hfm.horizontalAdvance(head) + 6 > t.columnWidth(c):
                problems.append(f"header {head!r}: column {c} is {t.columnWidth(c)}px")
        fm = QFontMetrics(t.font())
        for r in range(t.rowCount()):
            for c in range(t.columnCount()):
                item = t.item(r, c)
                if item is not None and fm.horizontalAdvance(item.text()) + 6 > t.columnWidth(c):  # Qt pads 3+3 px
                    problems.append(f"cell {item.text()!r} (row {r}): column {c} is {t.columnWidth(c)}px")
            if t.rowViewportPosition(r) + t.rowHeight(r) > t.viewport().height():
                problems.append(f"{t.objectName() or 'table'} row {r} is below the bottom of the table")
        if t.horizontalScrollBar().isVisible():
            problems.append(f"{t.objectName() or 'table'} scrolls sideways")
    return problems


def preview_pages(qtbot: Any, page: Any, monkeypatch: Any) -> list[int]:
    """Press a report page's 打印 and return the page count of each print preview it opened (drawn, not shown)."""
    pages: list[int] = []

    def preview(dialog: QWidget) -> None:
        widget = dialog.findChild(QPrintPreviewWidget)
        widget.updatePreview()
        pages.append(widget.pageCount())

    monkeypatch.setattr(page, "exec_dialog", preview)
    qtbot.mouseClick(page.print_button, Qt.MouseButton.LeftButton)
    return pages
