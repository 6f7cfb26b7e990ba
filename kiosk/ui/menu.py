"""The kiosk's business menu as the central catalogue shapes it (sync.catalog.menu, within each business's `menu`
option: renamed, added, closed — without a restart), and the list that reaches every 办事指南 item of a business."""
from __future__ import annotations

from typing import Any

import msgspec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from kiosk.core.config import Business

CATALOG_UPDATED = "catalog.updated"  # sync's event: the kiosk reads the menu again


class CatalogMenu:
    """Hides the businesses the catalogue does not offer (and their guide buttons), lays the rest out without gaps,
    and gives each business the catalogue's name.  A menu that cannot be read leaves the TOML's as it is."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.rows: dict[str, dict[str, Any]] = {}

    def apply(self) -> None:
        s = self.screen
        self.rows = s.client.catalog_menu()
        if any(btn.isHidden() == self.shown(code) for code, btn in s.business_buttons.items()):
            self.relayout()
        for code, guide in s.guide_buttons.items():
            guide.setHidden(not self.shown(code))
            b = self.business(code)
            if b is not None:
                guide.setText(b.name_in(s.lang))

    def relayout(self) -> None:
        """The shown buttons in order, two columns (as the kiosk lays them), no gap where one was hidden.  Hidden
        after they are laid out: a widget the layout re-parents would otherwise show with its new parent."""
        s = self.screen
        grid = s.business_grid
        for btn in s.business_buttons.values():
            grid.removeWidget(btn)
        i = 0
        for code, btn in s.business_buttons.items():
            if self.shown(code):
                grid.addWidget(btn, i // 2, i % 2)
                btn.setHidden(False)
                i += 1
            else:
                btn.setParent(grid.parentWidget())
                btn.setHidden(True)

    def shown(self, code: str) -> bool:
        row = self.rows.get(code)
        return row is None or bool(row.get("shown"))

    def business(self, code: str) -> Business | None:
        """The business with the catalogue's (Chinese) name; its translations in the TOML stay."""
        b: Business | None = self.screen.client.config.business(code)
        row = self.rows.get(code)
        if b is None or row is None or not row.get("name") or row["name"] == b.name:
            return b
        return msgspec.structs.replace(b, name=str(row["name"]))


class GuideItems(QListWidget):
    """Every 办事指南 item of the business on screen, its `guide` item first; touching one shows it.  Hidden when a
    business has one item or none (the page shows that one, or says to ask at the desk)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guide_items")
        self.setMaximumHeight(160)
        self.items: list[dict[str, Any]] = []
        self.hide()

    def fill(self, items: list[dict[str, Any]]) -> None:
        self.blockSignals(True)
        self.clear()
        self.items = items
        for it in items:
            row = QListWidgetItem(str(it.get("name") or it.get("code") or ""))
            row.setData(Qt.ItemDataRole.UserRole, it.get("code"))
            self.addItem(row)
        if items:
            self.setCurrentRow(0)
        self.blockSignals(False)
        self.setVisible(len(items) > 1)

    def current(self) -> dict[str, Any] | None:
        row = self.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None
