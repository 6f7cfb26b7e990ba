"""The 差评 整改 screens: the managers' detail panel on the dashboard (the item, every step taken, and the form for
its next step: 核实, 整改, 回访, 申诉复核), and a clerk's own items on the caller with 申诉.  Each action is one
Cases command; a refusal is said in its Chinese message and changes nothing."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.errors import HallError
from kiosk.ui.client import HallClient
from kiosk.ui.widgets import CARD_TEXT, tag

log = logging.getLogger(__name__)

# per stage: the step the manager takes, its yes/no question with its two answers, the text's label and the extra
# field's label (None: no such field)
FORMS: dict[str, tuple[str, str, tuple[str, str] | None, str, str | None]] = {
    "verify": ("核实", "核实结论", ("属实", "不属实"), "核实情况 / 不属实的理由", "证据（不属实时必填）"),
    "rectify": ("整改", "", None, "整改措施", "整改责任人工号"),
    "revisit": ("回访", "回访结果", ("已联系，群众满意", "已联系，群众不满意"), "回访情况", None),
    "appeal": ("申诉复核", "复核结论", ("申诉成立", "申诉不成立"), "复核意见", None),
}
NOT_REACHED = "未联系上群众"


def say(exc: Exception) -> str:
    return exc.message if isinstance(exc, HallError) else f"操作失败：{exc}"


def step_line(s: dict[str, Any]) -> str:
    """One step as the detail panel lists it: when, who, what, and what it recorded."""
    facts = [f"{k}：{v}" for k, v in (
        ("结论", {True: "属实", False: "不属实"}.get(s.get("valid")) if "valid" in s else None),
        ("情况", s.get("note") or s.get("result")), ("证据", s.get("evidence")), ("措施", s.get("action")),
        ("责任人", s.get("responsible")), ("理由", s.get("reason")),
        ("群众", {True: "满意", False: "不满意"}.get(s.get("satisfied")) if s.get("contacted") else
         (NOT_REACHED if s.get("contacted") is False else None)),
        ("复核", {True: "成立", False: "不成立"}.get(s.get("upheld")) if "upheld" in s else None),
    ) if v]
    return f"{str(s.get('at', ''))[:16].replace('T', ' ')}  {s['label']}（{s['by']}）→ {s['stage_label']}  " + \
        "；".join(facts)


class RectificationPanel(QFrame):
    """The dashboard's detail of one 整改 item.  `changed` fires after a step was taken."""

    changed = Signal()

    def __init__(self, client: HallClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.item: dict[str, Any] | None = None
        tag(self, "box")
        v = QVBoxLayout(self)
        v.setContentsMargins(10, 8, 10, 8)
        self.title = tag(QLabel("选择一条差评查看详情"), "boxtitle")
        self.facts = tag(QLabel(), "body")
        self.facts.setWordWrap(True)
        self.steps = QListWidget()
        self.steps.setObjectName("rect_steps")
        v.addWidget(self.title)
        v.addWidget(self.facts)
        v.addWidget(self.steps, 1)
        self.form = QWidget()
        g = QGridLayout(self.form)
        g.setContentsMargins(0, 0, 0, 0)
        self.choice_label = tag(QLabel(), "body")
        self.choice = QComboBox()
        self.text_label = tag(QLabel(), "body")
        self.text = QLineEdit()
        self.extra_label = tag(QLabel(), "body")
        self.extra = QLineEdit()
        self.by = QLineEdit()
        self.by.setPlaceholderText("经办人工号")
        self.submit = tag(QPushButton(), "action")
        self.submit.clicked.connect(self.take_step)
        for r, (label, widget) in enumerate(((self.choice_label, self.choice), (self.text_label, self.text),
                                             (self.extra_label, self.extra))):
            g.addWidget(label, r, 0)
            g.addWidget(widget, r, 1)
        row = QHBoxLayout()
        row.addWidget(tag(QLabel("经办人工号"), "body"))
        row.addWidget(self.by, 1)
        row.addWidget(self.submit)
        g.addLayout(row, 3, 0, 1, 2)
        v.addWidget(self.form)
        self.status = tag(QLabel(), "muted")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        self.form.hide()
        self.hide()

    def show_item(self, item_id: str | None) -> None:
        if not item_id:  # nothing chosen: the panel gives its room back to the list
            self.item = None
            self.facts.clear()
            self.steps.clear()
            self.form.hide()
            self.hide()
            return
        try:
            it = self.client.cases.rectification(item_id)
        except Exception as exc:
            log.exception("rectification detail failed")
            self.status.setText(say(exc))
            return
        same = self.item is not None and self.item["id"] == it["id"]
        self.item = it
        self.show()
        self.title.setText(f"差评整改 · {it.get('number') or '—'} · {it['stage_label']}"
                           + (f"（{it['outcome_label']}）" if it.get("outcome_label") else ""))
        self.facts.setText(
            f"{it['level_label']}  原因：{it.get('reason') or '（待补充）'}  窗口：{it.get('window') or '—'}  "
            f"工作人员：{it.get('clerk_id') or '未签到'}  办件：{it.get('case_no') or '未关联'}  "
            f"期限：{str(it['due_at'])[:10]}  {CARD_TEXT.get(it['card'], '')}")
        self.steps.clear()
        for s in it.get("steps", []):
            self.steps.addItem(QListWidgetItem(step_line(s)))
        form = FORMS.get(it["stage"])
        if form is None:
            self.form.hide()
            return
        step, question, answers, text_label, extra_label = form
        self.choice_label.setText(question)
        self.choice.clear()
        if answers is not None:
            self.choice.addItems(list(answers) + ([NOT_REACHED] if it["stage"] == "revisit" else []))
        self.choice_label.setVisible(answers is not None)
        self.choice.setVisible(answers is not None)
        self.text_label.setText(text_label)
        self.extra_label.setText(extra_label or "")
        self.extra_label.setVisible(extra_label is not None)
        self.extra.setVisible(extra_label is not None)
        if not same:
            self.text.clear()
            self.extra.clear()
        self.submit.setText(f"提交{step}")
        self.form.show()

    def take_step(self) -> None:
        it = self.item
        if it is None:
            return
        cases, iid, by = self.client.cases, it["id"], self.by.text().strip()
        text, extra, pick = self.text.text(), self.extra.text(), self.choice.currentIndex()
        actions: dict[str, Callable[[], Any]] = {
            "verify": lambda: cases.verify_rectification(iid, valid=pick == 0, note=text, evidence=extra, by=by),
            "rectify": lambda: cases.rectify(iid, action=text, responsible=extra.strip(), by=by),
            "revisit": lambda: cases.revisit(iid, contacted=pick != 2, result=text,
                                             satisfied=None if pick == 2 else pick == 0, by=by),
            "appeal": lambda: cases.decide_appeal(iid, upheld=pick == 0, note=text, by=by),
        }
        try:
            res = actions[it["stage"]]()
        except Exception as exc:  # a refusal says why; nothing changed
            self.status.setText(f"⚠ {say(exc)}")
            return
        done = getattr(res, "value", None) or {}
        self.status.setText(f"已提交：{done.get('stage_label', '')}")
        self.show_item(iid)
        self.changed.emit()


class MyRectifications(QFrame):
    """A clerk's own open 差评 items on the caller (the window's signed-in 工号), and 申诉 on the selected one."""

    def __init__(self, client: HallClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.clerk_id: str | None = None
        self.items: list[dict[str, Any]] = []
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.title = tag(QLabel("我的差评整改"), "body")
        self.list = QListWidget()
        self.list.setObjectName("my_rectifications")
        self.list.setMaximumHeight(90)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("申诉理由")
        self.appeal_button = tag(QPushButton("申诉"), "action")
        self.appeal_button.setToolTip("对选中的差评提出申诉，由负责人复核（每条一次）")
        self.appeal_button.clicked.connect(self.appeal)
        self.status = tag(QLabel(), "body")
        side = QVBoxLayout()
        side.addWidget(self.reason)
        side.addWidget(self.appeal_button)
        side.addWidget(self.status)
        h.addWidget(self.title)
        h.addWidget(self.list, 3)
        h.addLayout(side, 2)

    def set_clerk(self, clerk_id: str | None) -> None:
        if clerk_id != self.clerk_id:
            self.clerk_id = clerk_id
            self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        if not self.clerk_id:
            self.items = []
            self.title.setText("我的差评整改（未签到）")
            return
        try:
            self.items = self.client.cases.my_rectifications(self.clerk_id)
        except Exception as exc:
            log.exception("own rectifications failed")
            self.status.setText(say(exc))
            return
        self.title.setText(f"我的差评整改（{len(self.items)}）")
        for it in self.items:
            row = QListWidgetItem(f"{CARD_TEXT.get(it['card'], '')} {it.get('number') or '—'} {it['level_label']} · "
                                  f"{it['stage_label']} · 期限 {str(it['due_at'])[:10]} · "
                                  f"{it.get('reason') or '（待补充原因）'}")
            row.setData(Qt.ItemDataRole.UserRole, it["id"])
            self.list.addItem(row)

    def appeal(self) -> None:
        row = self.list.currentItem()
        if row is None or not self.clerk_id:
            self.status.setText("请先选择一条差评")
            return
        try:
            self.client.cases.appeal_rectification(row.data(Qt.ItemDataRole.UserRole), reason=self.reason.text(),
                                                   by=self.clerk_id)
        except Exception as exc:
            self.status.setText(f"⚠ {say(exc)}")
            return
        self.status.setText("已提交申诉，等待复核")
        self.reason.clear()
        self.refresh()
