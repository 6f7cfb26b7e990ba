"""The dashboard's 报表 page: a date range, a grouping and a format; 生成 writes the same report as `hall report`
(PDF, XLSX or CSV) where the manager chooses, 打印 shows it in a print preview for the default printer, and the
figures appear in a table meanwhile.  The page speaks its dashboard's language (`set_language`); the report files
stay in Chinese, the language of the hall's records."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QStandardPaths, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.errors import HallError
from kiosk.core.report import BY_CHOICES, BY_LABELS, Report, report_for
from kiosk.core.report_files import BY_KEY, display, write
from kiosk.ui.i18n import error_text, tr
from kiosk.ui.widgets import tag

log = logging.getLogger(__name__)

FORMAT_LABELS = {"pdf": "PDF", "xlsx": "Excel", "csv": "CSV"}
# what the page's table shows of each group: the file has every column
PREVIEW = [BY_KEY[k] for k in ("issued", "served", "no_show", "transferred", "wait_mean", "wait_p90", "service_mean",
                               "pause", "idle", "satisfaction_rate", "bad", "on_time_rate", "case_satisfaction_rate")]


class ReportUnavailable(HallError):
    key = "report_unavailable"
    template = "这台电脑上没有大厅数据库：请在大厅服务器上生成报表（hall report）"


def make_report(client: Any, day_from: date, day_to: date, by: str) -> Report:
    """The report from the client's hall: read from its store here, or computed by the hall server for a LAN
    dashboard (sync/lan.py RemoteHall.report); a client with neither says where reports are made."""
    hall = client.hall
    store = getattr(hall, "store", None)
    if store is not None:
        with store.faults():  # a locked or unreadable store is said like every store fault, not raised as sqlite3's
            return report_for(hall, day_from, day_to, by)
    remote = getattr(hall, "report", None)
    if remote is None:
        raise ReportUnavailable()
    try:
        report: Report = remote(day_from, day_to, by)
    except HallError as exc:
        if exc.key == "lan_method_not_allowed":  # a hall server older than report.build, or one that denies it here
            raise ReportUnavailable() from exc
        raise
    return report


class ReportPage(QWidget):
    generated = Signal(object)  # the Path just written

    def __init__(self, client: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.lang = "zh"
        self.setObjectName("report_page")
        self.last: Report | None = None
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 8, 4, 4)
        root.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(8)
        today = self._today()
        self.date_from, self.date_to = self._date(today), self._date(today)
        self.by = QComboBox()
        for key in BY_CHOICES:
            self.by.addItem(tr("zh", f"report_by_{key}"), key)
        self.fmt = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.fmt.addItem(label, key)
        self.make_button = QPushButton("生成")
        self.make_button.setObjectName("report_make")
        self.print_button = QPushButton("打印")
        self.print_button.setObjectName("report_print")
        self.labels = {key: tag(QLabel(tr("zh", key)), "body")
                       for key in ("report_date", "report_to", "report_group", "report_format")}
        for widget in (self.labels["report_date"], self.date_from, self.labels["report_to"], self.date_to,
                       self.labels["report_group"], self.by, self.labels["report_format"], self.fmt,
                       self.make_button, self.print_button):
            if isinstance(widget, (QPushButton, QComboBox, QDateEdit)):
                widget.setMinimumHeight(40)
            row.addWidget(widget)
        row.addStretch(1)
        root.addLayout(row)
        self.status = tag(QLabel("选择日期和分组，按「生成」保存报表文件，按「打印」预览后打印"), "muted")
        self.status.setObjectName("report_status")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        # why 生成 and 打印 are grey: reports wait for a manager to sign in (a hall with accounts)
        self.lock_note = tag(QLabel(), "alert")
        self.lock_note.setObjectName("report_lock_note")
        self.lock_note.hide()
        root.addWidget(self.lock_note)
        self.allowed = True
        self.note = tag(QLabel(), "muted")  # the unrated policy and the units of the figures shown
        self.note.setObjectName("report_note")
        self.note.setWordWrap(True)
        self.note.hide()
        root.addWidget(self.note)
        self.table = QTableWidget(0, len(PREVIEW) + 1)
        self.table.setObjectName("report_table")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        root.addWidget(self.table, 1)
        self.make_button.clicked.connect(lambda: self.generate())
        self.print_button.clicked.connect(self.print_report)
        self.by.currentIndexChanged.connect(lambda _i: self._headers())
        self._headers()

    def set_allowed(self, allowed: bool, reason_key: str = "need_manager") -> None:
        """生成 and 打印 only for a signed-in manager (or admin) once the hall has accounts; the reason shown."""
        self.allowed = allowed
        self._reason_key = reason_key
        for b in (self.make_button, self.print_button):
            b.setEnabled(allowed)
            b.setToolTip("" if allowed else tr(self.lang, reason_key))
        self.lock_note.setText("" if allowed else f"⚠ {tr(self.lang, reason_key)}")
        self.lock_note.setVisible(not allowed)

    _reason_key = "need_manager"

    # --- inputs -----------------------------------------------------------------------------------------------
    def _today(self) -> date:
        return self.client.now().astimezone(self.client.config.tz).date()  # type: ignore[no-any-return]

    @staticmethod
    def _date(day: date) -> QDateEdit:
        d = QDateEdit(QDate(day.year, day.month, day.day))
        d.setCalendarPopup(True)
        d.setDisplayFormat("yyyy-MM-dd")
        return d

    def set_range(self, day_from: date, day_to: date) -> None:
        self.date_from.setDate(QDate(day_from.year, day_from.month, day_from.day))
        self.date_to.setDate(QDate(day_to.year, day_to.month, day_to.day))

    def set_choice(self, by: str, fmt: str) -> None:
        self.by.setCurrentIndex(self.by.findData(by))
        self.fmt.setCurrentIndex(self.fmt.findData(fmt))

    def _range(self) -> tuple[date, date]:
        a, b = self.date_from.date(), self.date_to.date()
        return date(a.year(), a.month(), a.day()), date(b.year(), b.month(), b.day())

    def set_language(self, lang: str) -> None:
        """The page's words in `lang` (what a generated report says stays as its file says it)."""
        self.lang = lang
        for key, label in self.labels.items():
            label.setText(tr(lang, key))
        for i in range(self.by.count()):
            self.by.setItemText(i, tr(lang, f"report_by_{self.by.itemData(i)}"))
        self.make_button.setText(tr(lang, "report_make"))
        self.print_button.setText(tr(lang, "report_print"))
        if not self.allowed:
            self.set_allowed(False, self._reason_key)
        if self.last is None and not self.status.property("said"):
            self.status.setText(tr(lang, "report_hint"))
        self._headers()

    def _headers(self) -> None:
        if self.lang == "zh":
            self.table.setHorizontalHeaderLabels([BY_LABELS[str(self.by.currentData())]] +
                                                 [c.short for c in PREVIEW])
            return
        by = str(self.by.currentData())
        self.table.setHorizontalHeaderLabels([tr(self.lang, f"col_{by}")] +
                                             [tr(self.lang, f"rcol_{c.key}") for c in PREVIEW])

    # --- actions ------------------------------------------------------------------------------------------------
    def build(self) -> Report | None:
        """The report for the chosen dates and grouping, shown in the table; None (and why, on the page) if not."""
        if not self.allowed:  # a report is a query: no command for the hall to refuse, so here (a LAN server also)
            self._say(tr(self.lang, self._reason_key), alert=True)
            return None
        day_from, day_to = self._range()
        if day_to < day_from:
            self._say(f"结束日期 {day_to} 早于开始日期 {day_from}" if self.lang == "zh" else
                      tr(self.lang, "report_end_before", to=day_to, from_=day_from), alert=True)
            return None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = make_report(self.client, day_from, day_to, str(self.by.currentData()))
        except HallError as exc:  # a store fault, the server's refusal (a manager's, a year at most), no store here
            self._say(error_text(self.lang, exc), alert=True)
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.last = report
        self._show(report)
        return report

    def generate(self, path: Path | None = None) -> Path | None:
        """生成: build the report and write it in the chosen format at `path` (asked for when not given)."""
        report = self.build()
        if report is None:
            return None
        fmt = str(self.fmt.currentData())
        if path is None:
            path = self.choose_path(self._suggested(report, fmt), fmt)
            if path is None:
                return None
        try:
            if fmt == "pdf":
                from kiosk.ui.report_pdf import write_pdf

                write_pdf(report, path)
            else:
                write(report, path, fmt)
        except OSError as exc:  # a full or read-only disk, a folder gone: said, the page stays usable
            self._say(f"无法保存 {path}：{exc.strerror or exc}" if self.lang == "zh" else
                      tr(self.lang, "report_cannot_save", path=path, error=exc.strerror or exc), alert=True)
            return None
        self._say(f"已生成 {report.title}（{report.span}，按{report.by_label}）：{path}" if self.lang == "zh" else
                  tr(self.lang, "report_saved", path=path))
        self.generated.emit(path)
        return path

    def _suggested(self, report: Report, fmt: str) -> Path:
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        return Path(docs) / f"{report.hall_name}运行报表_{report.span.replace(' 至 ', '_')}_按{report.by_label}.{fmt}"

    def choose_path(self, suggested: Path, fmt: str) -> Path | None:
        """Where to save: the system's save dialog, opened at the suggested name."""
        name, _ = QFileDialog.getSaveFileName(self, "保存报表", str(suggested), f"{FORMAT_LABELS[fmt]} (*.{fmt})")
        return Path(name) if name else None

    def print_report(self) -> None:
        """打印: the report in a print preview for the system's default printer (the PDF's very pages)."""
        report = self.build()
        if report is None:
            return
        from kiosk.ui.report_pdf import print_preview

        printer = print_preview(report, self, self.exec_dialog)
        if not printer:
            self._say(tr(self.lang, "report_no_printer"))

    def exec_dialog(self, dialog: QWidget) -> object:
        return dialog.exec()  # type: ignore[attr-defined]

    # --- showing ------------------------------------------------------------------------------------------------
    def _say(self, text: str, *, alert: bool = False) -> None:
        self.status.setProperty("said", True)  # no longer the hint: a language change leaves it as said
        tag(self.status, "alert" if alert else "muted")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.status.setText(text)

    def _show(self, report: Report) -> None:
        self._headers()
        rows = [*report.rows, report.total]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row.label] + [display(c, row) for c in PREVIEW]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.total:
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                self.table.setItem(r, c, item)
        by = tr(self.lang, f"report_by_{report.by}")
        self._say(f"{report.title}（{report.span}，按{report.by_label}）" if self.lang == "zh" else
                  tr(self.lang, "report_shown", span=report.span, by=by))
        self.note.setText(f"{report.policy_note}；{tr(self.lang, 'report_units')}")
        self.note.show()
