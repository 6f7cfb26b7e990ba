"""The 差评 整改 screens: the managers' detail panel on the dashboard (the item, every step taken, and the form for
its next step: 核实, 整改, 回访, 申诉复核), and a clerk's own items on the caller with 申诉.  Each action is one
Cases command; a refusal is said (in Chinese where the string table has no words for it) and changes nothing.
Both speak their screen's language (`set_language`)."""
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
from kiosk.screen_text import card_sign, level_text, outcome_text, preset, stage_text, step_text, window_label
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import error_text, tr
from kiosk.ui.widgets import tag

log = logging.getLogger(__name__)

# per stage: the step the manager takes, its yes/no question with its two answers, the text's label and the extra
# field's label (None: no such field), as keys of the string table
FORMS: dict[str, tuple[str, str, tuple[str, str] | None, str, str | None]] = {
    "verify": ("step_verify", "rect_verify_q", ("ans_true", "ans_false"), "rect_verify_text", "rect_verify_extra"),
    "rectify": ("step_rectify", "", None, "rect_rectify_text", "rect_rectify_extra"),
    "revisit": ("step_revisit", "rect_revisit_q", ("ans_satisfied", "ans_unsatisfied"), "rect_revisit_text", None),
    "appeal": ("step_decide", "rect_appeal_q", ("ans_upheld", "ans_not_upheld"), "rect_appeal_text", None),
}
NOT_REACHED = "not_reached"


def say(exc: Exception, lang: str = "zh") -> str:
    return error_text(lang, exc) if isinstance(exc, HallError) else tr(lang, "op_failed", error=exc)


def step_line(s: dict[str, Any], lang: str = "zh") -> str:
    """One step as the detail panel lists it: when, who, what, and what it recorded (the text typed as typed)."""
    def yes_no(v: Any, yes: str, no: str) -> str | None:
        return {True: tr(lang, yes), False: tr(lang, no)}.get(v)

    facts = [(k, v) for k, v in (
        ("fact_conclusion", yes_no(s.get("valid"), "ans_true", "ans_false") if "valid" in s else None),
        ("fact_note", s.get("note") or s.get("result")), ("fact_evidence", s.get("evidence")),
        ("fact_action", s.get("action")), ("fact_responsible", s.get("responsible")), ("fact_reason", s.get("reason")),
        ("fact_citizen", yes_no(s.get("satisfied"), "level_satisfied", "level_dissatisfied") if s.get("contacted")
         else (tr(lang, NOT_REACHED) if s.get("contacted") is False else None)),
        ("fact_review", yes_no(s.get("upheld"), "val_upheld", "val_not_upheld") if "upheld" in s else None),
    ) if v]
    colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
    step = step_text(s.get("step"), lang, s["label"])
    stage = stage_text(s.get("stage"), lang, s["stage_label"])
    by = f"（{s['by']}）" if lang == "zh" else f" ({s['by']})"
    return f"{str(s.get('at', ''))[:16].replace('T', ' ')}  {step}{by} → {stage}  " + \
        sep.join(f"{tr(lang, k)}{colon}{v}" for k, v in facts)


class RectificationPanel(QFrame):
    """The dashboard's detail of one 整改 item.  `changed` fires after a step was taken."""

    changed = Signal()

    def __init__(self, client: HallClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.lang = "zh"
        self.item: dict[str, Any] | None = None
        tag(self, "box")
        v = QVBoxLayout(self)
        v.setContentsMargins(10, 8, 10, 8)
        self.title = tag(QLabel(tr("zh", "rect_choose")), "boxtitle")
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
        self.submit = tag(QPushButton(), "action")
        self.submit.clicked.connect(self.take_step)
        for r, (label, widget) in enumerate(((self.choice_label, self.choice), (self.text_label, self.text),
                                             (self.extra_label, self.extra))):
            g.addWidget(label, r, 0)
            g.addWidget(widget, r, 1)
        row = QHBoxLayout()
        self.by_label = tag(QLabel(), "body")
        row.addWidget(self.by_label)
        row.addWidget(self.by, 1)
        row.addWidget(self.submit)
        g.addLayout(row, 3, 0, 1, 2)
        v.addWidget(self.form)
        self.status = tag(QLabel(), "muted")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        self.form.hide()
        self.hide()
        self.set_language("zh")

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.by.setPlaceholderText(tr(lang, "rect_by"))
        self.by_label.setText(tr(lang, "rect_by"))
        if self.item is None:
            self.title.setText(tr(lang, "rect_choose"))
        else:
            self.show_item(self.item["id"])

    def show_item(self, item_id: str | None) -> None:
        if not item_id:  # nothing chosen: the panel gives its room back to the list
            self.item = None
            self.title.setText(tr(self.lang, "rect_choose"))
            self.facts.clear()
            self.steps.clear()
            self.form.hide()
            self.hide()
            return
        try:
            it = self.client.cases.rectification(item_id)
        except Exception as exc:
            log.exception("rectification detail failed")
            self.status.setText(say(exc, self.lang))
            return
        same = self.item is not None and self.item["id"] == it["id"]
        self.item = it
        self.show()
        lang = self.lang
        outcome = outcome_text(it.get("outcome"), lang, it.get("outcome_label") or "")
        self.title.setText(tr(lang, "rect_title", number=it.get("number") or "—",
                              stage=stage_text(it["stage"], lang, it["stage_label"]))
                           + ((f"（{outcome}）" if lang == "zh" else f" ({outcome})") if outcome else ""))
        window = window_label(self.client.config, it.get("window"), lang) if it.get("window") else "—"
        self.facts.setText(tr(lang, "rect_facts", level=level_text(it.get("level"), lang),
                              reason=preset(it.get("reason"), lang) or tr(lang, "reason_pending"), window=window,
                              clerk=it.get("clerk_id") or tr(lang, "unsigned"),
                              case=it.get("case_no") or tr(lang, "unlinked"), due=str(it["due_at"])[:10],
                              card=card_sign(it["card"], lang) if it["card"] != "none" else ""))
        self.steps.clear()
        for s in it.get("steps", []):
            self.steps.addItem(QListWidgetItem(step_line(s, lang)))
        form = FORMS.get(it["stage"])
        if form is None:
            self.form.hide()
            return
        step, question, answers, text_label, extra_label = form
        self.choice_label.setText(tr(lang, question) if question else "")
        picked = self.choice.currentIndex() if same else 0
        self.choice.clear()
        if answers is not None:
            keys = list(answers) + ([NOT_REACHED] if it["stage"] == "revisit" else [])
            self.choice.addItems([tr(lang, k) for k in keys])
            self.choice.setCurrentIndex(max(0, picked))
        self.choice_label.setVisible(answers is not None)
        self.choice.setVisible(answers is not None)
        self.text_label.setText(tr(lang, text_label))
        self.extra_label.setText(tr(lang, extra_label) if extra_label else "")
        self.extra_label.setVisible(extra_label is not None)
        self.extra.setVisible(extra_label is not None)
        if not same:
            self.text.clear()
            self.extra.clear()
        self.submit.setText(tr(lang, "rect_submit", step=tr(lang, step)))
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
            self.status.setText(f"⚠ {say(exc, self.lang)}")
            return
        done = getattr(res, "value", None) or {}
        stage = stage_text(done.get("stage"), self.lang, done.get("stage_label", ""))
        self.status.setText(tr(self.lang, "rect_submitted", stage=stage))
        self.show_item(iid)
        self.changed.emit()


class MyRectifications(QFrame):
    """A clerk's own open 差评 items on the caller (the window's signed-in 工号), and 申诉 on the selected one."""

    def __init__(self, client: HallClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.lang = "zh"
        self.clerk_id: str | None = None
        self.items: list[dict[str, Any]] = []
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.title = tag(QLabel(tr("zh", "my_rect")), "body")
        self.list = QListWidget()
        self.list.setObjectName("my_rectifications")
        self.list.setMaximumHeight(90)
        self.reason = QLineEdit()
        self.appeal_button = tag(QPushButton(), "action")
        self.appeal_button.clicked.connect(self.appeal)
        self.status = tag(QLabel(), "body")
        side = QVBoxLayout()
        side.addWidget(self.reason)
        side.addWidget(self.appeal_button)
        side.addWidget(self.status)
        h.addWidget(self.title)
        h.addWidget(self.list, 3)
        h.addLayout(side, 2)
        self.set_language("zh")

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.reason.setPlaceholderText(tr(lang, "appeal_reason"))
        self.appeal_button.setText(tr(lang, "step_appeal"))
        self.appeal_button.setToolTip(tr(lang, "appeal_tip"))
        self._show()

    def set_clerk(self, clerk_id: str | None) -> None:
        if clerk_id != self.clerk_id:
            self.clerk_id = clerk_id
            self.refresh()

    def refresh(self) -> None:
        if not self.clerk_id:
            self.items = []
        else:
            try:
                self.items = self.client.cases.my_rectifications(self.clerk_id)
            except Exception as exc:
                log.exception("own rectifications failed")
                self.status.setText(say(exc, self.lang))
                return
        self._show()

    def _show(self) -> None:
        lang = self.lang
        self.list.clear()
        if not self.clerk_id:
            self.title.setText(tr(lang, "my_rect_unsigned"))
            return
        self.title.setText(tr(lang, "my_rect_n", n=len(self.items)))
        for it in self.items:
            card = card_sign(it["card"], lang) if it["card"] != "none" else ""
            row = QListWidgetItem(f"{card} {it.get('number') or '—'} {level_text(it.get('level'), lang)} · "
                                  f"{stage_text(it['stage'], lang, it['stage_label'])} · "
                                  f"{tr(lang, 'caller_due', day=str(it['due_at'])[:10])} · "
                                  f"{preset(it.get('reason'), lang) or tr(lang, 'reason_pending')}")
            row.setData(Qt.ItemDataRole.UserRole, it["id"])
            self.list.addItem(row)

    def appeal(self) -> None:
        row = self.list.currentItem()
        if row is None or not self.clerk_id:
            self.status.setText(tr(self.lang, "appeal_choose"))
            return
        try:
            self.client.cases.appeal_rectification(row.data(Qt.ItemDataRole.UserRole), reason=self.reason.text(),
                                                   by=self.clerk_id)
        except Exception as exc:
            self.status.setText(f"⚠ {say(exc, self.lang)}")
            return
        self.status.setText(tr(self.lang, "appeal_sent"))
        self.reason.clear()
        self.refresh()
