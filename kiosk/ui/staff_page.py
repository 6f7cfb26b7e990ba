"""The dashboard's 人员 page: the staff accounts (kiosk/core/staff.py) listed, added, disabled, their PINs reset and
their roster set — through the client's `staff` (in process, or the LAN server's for a dashboard on another PC).
A PIN is typed into a masked field and cleared after each try; the page never shows one."""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.errors import HallError
from kiosk.core.staff import ROLES
from kiosk.ui.i18n import error_text, tr
from kiosk.ui.widgets import tag

log = logging.getLogger(__name__)

COLUMNS = ("caller_staff_id", "caller_staff_name", "staff_role", "col_state", "col_window", "col_business",
           "staff_card")


def _pin_field() -> QLineEdit:
    f = QLineEdit()
    f.setEchoMode(QLineEdit.EchoMode.Password)
    f.setMaxLength(6)
    return f


class StaffPage(QWidget):
    def __init__(self, client: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.lang = "zh"
        self.setObjectName("staff_page")
        self.rows: list[dict[str, Any]] = []
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 8, 4, 4)
        root.setSpacing(8)
        add = QHBoxLayout()
        self.new_no, self.new_name, self.new_pin, self.new_card = QLineEdit(), QLineEdit(), _pin_field(), QLineEdit()
        self.new_role = QComboBox()
        for role in ROLES:
            self.new_role.addItem(tr("zh", f"role_{role}"), role)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(self.add)
        for w in (self.new_no, self.new_name, self.new_role, self.new_pin, self.new_card, self.add_button):
            add.addWidget(w)
        root.addLayout(add)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("staff_table")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        root.addWidget(self.table, 1)
        acts = QHBoxLayout()
        self.disable_button = QPushButton()
        self.disable_button.clicked.connect(self.disable)
        self.reset_pin = _pin_field()
        self.reset_button = QPushButton()
        self.reset_button.clicked.connect(self.reset)
        self.windows, self.businesses = QLineEdit(), QLineEdit()
        self.roster_button = QPushButton()
        self.roster_button.clicked.connect(self.roster)
        for w in (self.disable_button, self.reset_pin, self.reset_button, self.windows, self.businesses,
                  self.roster_button):
            acts.addWidget(w)
        root.addLayout(acts)
        # why the buttons are grey: staff management waits for an admin to sign in (a hall with accounts)
        self.lock_note = tag(QLabel(), "alert")
        self.lock_note.setObjectName("staff_lock_note")
        self.lock_note.hide()
        root.addWidget(self.lock_note)
        self.status = tag(QLabel(), "muted")
        self.status.setObjectName("staff_status")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        self.table.itemSelectionChanged.connect(self._selected)
        self.allowed = True
        self.set_language("zh")

    def set_allowed(self, allowed: bool, reason_key: str = "need_admin") -> None:
        """Adding, disabling, resetting and rostering only for whoever may (the hall refuses the rest anyway);
        the list stays readable.  The reason is shown, not just greyed out."""
        self.allowed = allowed
        self._reason_key = reason_key
        for b in (self.add_button, self.disable_button, self.reset_button, self.roster_button):
            b.setEnabled(allowed)
            b.setToolTip("" if allowed else self._t(reason_key))
        self.lock_note.setText("" if allowed else f"⚠ {self._t(reason_key)}")
        self.lock_note.setVisible(not allowed)

    _reason_key = "need_admin"

    def set_language(self, lang: str) -> None:
        self.lang = lang
        t = self._t
        self.new_no.setPlaceholderText(t("caller_staff_id"))
        self.new_name.setPlaceholderText(t("caller_staff_name"))
        self.new_pin.setPlaceholderText(t("caller_staff_pin"))
        self.new_card.setPlaceholderText(t("staff_card"))
        for i, role in enumerate(ROLES):
            self.new_role.setItemText(i, t(f"role_{role}"))
        self.add_button.setText(t("staff_add"))
        self.disable_button.setText(t("staff_disable"))
        self.reset_pin.setPlaceholderText(t("caller_staff_pin"))
        self.reset_button.setText(t("staff_reset_pin"))
        self.windows.setPlaceholderText(t("staff_windows_hint"))
        self.businesses.setPlaceholderText(t("staff_businesses_hint"))
        self.roster_button.setText(t("staff_roster"))
        if not getattr(self, "allowed", True):
            self.set_allowed(False, self._reason_key)
        self.table.setHorizontalHeaderLabels([t(k) for k in COLUMNS])
        # a line of this language and the frame around it: Tibetan's lines are about twice as tall as Chinese's
        line = QFontMetrics(self.font()).size(0, t("caller_staff_id") + t("staff_role")).height()
        for kind in (QLineEdit, QComboBox, QPushButton):
            for w in self.findChildren(kind):
                w.setMinimumHeight(max(40, line + 16))
        self.table.verticalHeader().setDefaultSectionSize(line + 12)
        self.table.horizontalHeader().setMinimumHeight(line + 12)
        self._fill()

    def _t(self, key: str, **params: Any) -> str:
        return tr(self.lang, key, **params)

    # --- reading --------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        try:
            self.rows = self.client.staff.members()
        except HallError as exc:
            self._say(error_text(self.lang, exc), ok=False)
            return
        self._fill()

    def _fill(self) -> None:
        t = self._t
        self.table.setRowCount(len(self.rows))
        for i, m in enumerate(self.rows):
            cells = (m["staff_no"], m["name"], t(f"role_{m['role']}"),
                     t("staff_active") if m["active"] else t("staff_inactive"),
                     ", ".join(str(n) for n in m["windows"]) or "—",
                     ", ".join(m["businesses"]) or t("staff_all"), "✓" if m["card"] else "—")
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))

    def _current(self) -> dict[str, Any] | None:
        i = self.table.currentRow()
        if 0 <= i < len(self.rows) and self.table.selectionModel().hasSelection():
            return self.rows[i]
        self._say(self._t("staff_select_first"), ok=False)
        return None

    def _selected(self) -> None:
        i = self.table.currentRow()
        if 0 <= i < len(self.rows):
            m = self.rows[i]
            self.windows.setText(",".join(str(n) for n in m["windows"]))
            self.businesses.setText(",".join(m["businesses"]))

    # --- commands -------------------------------------------------------------------------------------------
    def _run(self, fn: Any, *args: Any, **kw: Any) -> None:
        try:
            r = fn(*args, **kw)
        except HallError as exc:
            self._say(error_text(self.lang, exc), ok=False)
            return
        self._say(self._t("staff_saved", staff_no=r.value["staff_no"]), ok=True)
        self.refresh()

    def _say(self, text: str, *, ok: bool) -> None:
        self.status.setText(("✔ " if ok else "✖ ") + text)

    def add(self) -> None:
        pin = self.new_pin.text().strip()
        self.new_pin.clear()
        self._run(self.client.staff.add, self.new_no.text().strip(), self.new_name.text().strip(),
                  str(self.new_role.currentData()), pin, self.new_card.text().strip() or None)

    def disable(self) -> None:
        m = self._current()
        if m is not None:
            self._run(self.client.staff.disable, m["staff_no"])

    def reset(self) -> None:
        pin = self.reset_pin.text().strip()
        self.reset_pin.clear()
        m = self._current()
        if m is not None:
            self._run(self.client.staff.reset_pin, m["staff_no"], pin)

    def roster(self) -> None:
        m = self._current()
        if m is None:
            return
        try:
            windows = [int(x) for x in self.windows.text().replace("，", ",").split(",") if x.strip()]
        except ValueError:
            self._say(self._t("staff_windows_hint"), ok=False)
            return
        businesses = [x.strip() for x in self.businesses.text().replace("，", ",").split(",") if x.strip()]
        self._run(self.client.staff.set_roster, m["staff_no"], windows, businesses)
