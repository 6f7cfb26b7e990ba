"""Small shared widgets: a button whose text wraps, the on-screen keypad (digits, and letters for case numbers), a
painted rating face, and a scrolling notice line."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.rating import Level

DIGITS = "123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"  # a case number is letters, digits, - and _ (kiosk.core.cases)
# 电子监察 cards: the word and a sign say the card, the colour (a theme pair) only repeats it — never colour alone.
# Both signs are in the CJK face: ⛔ would come from a symbols font whose taller line breaks two-line list rows.
CARD_TEXT = {"yellow": "黄牌 ⚠", "red": "红牌 ⊘", "none": "正常"}
CARD_PAIR = {"yellow": "warn", "red": "danger", "none": "ticket"}


def tag(widget: QWidget, role: str) -> QWidget:
    """Give a widget a stylesheet role (QPushButton[role="business"] …)."""
    widget.setProperty("role", role)
    return widget


def wrap_text(text: str, font: QFont, width: int) -> str:
    """`text` with line breaks where Qt would wrap it at `width` px (Unicode line breaking: spaces, between Han
    characters, after a Tibetan tsheg), each paragraph on its own."""
    if width <= 0:
        return text
    out: list[str] = []
    for para in text.split("\n"):
        layout = QTextLayout(para, font)
        layout.beginLayout()
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            out.append(para[line.textStart():line.textStart() + line.textLength()].rstrip())
        layout.endLayout()
        if not para:
            out.append("")
    return "\n".join(out)


class WrapButton(QPushButton):
    """A push button whose text wraps to its own width, so a business name in Uyghur at elder size takes two lines
    instead of running past the edges.  The text is broken into lines where it is set and on every resize; the
    button's size hint, its painting and the layout audit then read the same lines.  text() is the unbroken text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._text = text
        self.setAccessibleName(text.replace("\n", " "))
        self._rewrap()

    def text(self) -> str:
        return self._text

    def _box(self) -> QRect:
        opt = QStyleOptionButton()
        opt.initFrom(self)
        return self.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, self)

    def _rewrap(self) -> None:
        # a hidden button (another page of a stack) has no width of its own yet: wrapping it at Qt's default width
        # would ask a height its page never needs (and a stack asks its tallest page's height)
        wrapped = wrap_text(self._text, self.font(), self._box().width() if self.isVisible() else 0)
        if wrapped != QPushButton.text(self):
            QPushButton.setText(self, wrapped)
            self.updateGeometry()
        # never shorter than its lines: a stylesheet's min-height is set as the widget's minimum size, which a
        # layout takes over any hint, so the lines' height is set the same way
        if self.minimumHeight() != self.sizeHint().height():
            self.setMinimumHeight(self.sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.sizeHint().height())  # as narrow as the layout needs: the text wraps

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rewrap()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._rewrap()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._rewrap()


class LabelButton(QPushButton):
    """A push button that shows a title and a detail as two word-wrapped labels (a business: its name large, the
    people waiting and the estimated wait smaller).  The labels let every tap through to the button; the layout's
    height for the button's width is the button's, so a two-line Tibetan name gets its room.  setText("title\n…")
    puts the first line in the title and the rest in the detail; text() gives them back joined."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.detail = QLabel()
        box = QVBoxLayout(self)
        box.setSpacing(4)
        box.addStretch(1)
        for lab, role in ((self.title, "button_title"), (self.detail, "button_detail")):
            tag(lab, role)
            lab.setWordWrap(True)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            box.addWidget(lab)
        box.addStretch(1)
        self.setText(text)

    def setText(self, text: str) -> None:
        title, _, detail = text.partition("\n")
        self.title.setText(title)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.setAccessibleName(text.replace("\n", " "))

    def text(self) -> str:
        return "\n".join(t for t in (self.title.text(), self.detail.text()) if t)

    def restyle(self) -> None:
        """Re-read the stylesheet after a property of the button changed (its labels follow it)."""
        for w in (self, self.title, self.detail):
            w.style().unpolish(w)
            w.style().polish(w)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:  # the stylesheet's padding and border stay clear of the labels
            box = self._content()
            self.layout().setContentsMargins(box.left(), box.top(), self.width() - box.right() - 1,
                                             self.height() - box.bottom() - 1)

    def _content(self) -> QRect:
        opt = QStyleOptionButton()
        opt.initFrom(self)
        return self.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, self)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.layout().minimumSize().height())

    def sizeHint(self) -> QSize:
        return self.layout().sizeHint().expandedTo(super().sizeHint())


class Keypad(QWidget):
    """A touch keypad: digits, optional extra keys (X for ID numbers), letters on a second page (case numbers),
    backspace, clear and confirm.  Always laid out left to right: a keypad reads 1-2-3 in Uyghur too."""

    typed = Signal(str)
    backspace = Signal()
    cleared = Signal()
    confirmed = Signal()

    def __init__(self, extra: str = "", labels: dict[str, str] | None = None, parent: QWidget | None = None, *,
                 letters: bool = False) -> None:
        super().__init__(parent)
        self.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.keys: dict[str, QPushButton] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        self.pages = QStackedWidget()
        row.addWidget(self.pages, 3)
        digits = QWidget()
        self.grid = QGridLayout(digits)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(12)
        last = [extra[:1] or "", "0", ""] if not letters else ["ABC", "0", extra[:1] or ""]
        for r, keys in enumerate([list(DIGITS[0:3]), list(DIGITS[3:6]), list(DIGITS[6:9]), last]):
            for c, ch in enumerate(keys):
                if ch:
                    self.grid.addWidget(self._typing(ch), r, c)
        self.pages.addWidget(digits)
        if letters:
            page = QWidget()
            grid = QGridLayout(page)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(12)
            for i, ch in enumerate([*LETTERS, "123"]):
                grid.addWidget(self._typing(ch), i // 6, i % 6)
            self.pages.addWidget(page)
        side = QVBoxLayout()
        side.setSpacing(12)
        self.back = self._key("", "key_fn")
        self.back.clicked.connect(self.backspace.emit)
        self.clear = self._key("", "key_fn")
        self.clear.clicked.connect(self.cleared.emit)
        self.ok = self._key("", "primary")
        self.ok.clicked.connect(self.confirmed.emit)
        side.addWidget(self.back, 1)
        side.addWidget(self.clear, 1)
        side.addWidget(self.ok, 2)
        row.addLayout(side, 1)
        self.set_labels(labels or {"delete": "退格", "clear": "清空", "confirm": "确定"})

    def _typing(self, ch: str) -> QPushButton:
        b = self._key(ch, "key")
        if ch in ("ABC", "123"):  # switch between the digits and the letters
            b.clicked.connect(lambda _=False, page=int(ch == "ABC"): self.pages.setCurrentIndex(page))
        else:
            b.clicked.connect(lambda _=False, k=ch: self.typed.emit(k))
        return b

    def show_digits(self) -> None:
        self.pages.setCurrentIndex(0)

    def _key(self, text: str, role: str) -> QPushButton:
        b = QPushButton(text)
        tag(b, role)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the text field focused while tapping
        self.keys[text or role + str(len(self.keys))] = b
        return b

    def set_labels(self, labels: dict[str, str]) -> None:
        self.back.setText(labels["delete"])
        self.clear.setText(labels["clear"])
        self.ok.setText(labels["confirm"])


# Face colours carry meaning only together with the face shape and the words beneath (never colour alone).
FACE_COLOURS: dict[Level, str] = {
    Level.VERY_SATISFIED: "#1B6E20",
    Level.SATISFIED: "#2E7D32",
    Level.BASIC: "#8D6E00",
    Level.DISSATISFIED: "#B5470B",
    Level.VERY_DISSATISFIED: "#A4161A",
}
# Mouth curvature per level: +1 broad smile … -1 deep frown.
SMILE: dict[Level, float] = {
    Level.VERY_SATISFIED: 1.0, Level.SATISFIED: 0.55, Level.BASIC: 0.0,
    Level.DISSATISFIED: -0.55, Level.VERY_DISSATISFIED: -1.0,
}


class FaceButton(QPushButton):
    """One 好差评 level: a face drawn with QPainter and its words underneath, as one large button."""

    def __init__(self, level: Level, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = level
        self.words = text
        self.setAccessibleName(text)
        self.setMinimumSize(160, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        tag(self, "face")

    def _face(self) -> tuple[float, float, float]:
        """(centre x, centre y, diameter) of the face: face and two lines of words centred together."""
        w, h = self.width(), self.height()
        fm_h = QFontMetrics(self.font()).size(0, self.words or " ").height() / max(1, self.words.count("\n") + 1)
        size = max(20.0, min(w * 0.78, h - fm_h * 2.4 - 36))
        top = max(12.0, (h - size - fm_h * 2.4 - 12) / 2)
        return w / 2, top + size / 2, size

    def text_rect(self) -> QRect:
        """Where the words are drawn (the layout audit measures them against it)."""
        _cx, cy, size = self._face()
        y = int(cy + size / 2 + 8)
        return QRect(0, y, self.width(), self.height() - y)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)  # the button frame from the stylesheet
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cx, cy, size = self._face()
        colour = QColor(FACE_COLOURS[self.level])
        p.setPen(QPen(colour.darker(130), max(3.0, size / 30)))
        p.setBrush(colour)
        p.drawEllipse(QPointF(cx, cy), size / 2, size / 2)
        # eyes
        p.setBrush(QColor("#FFFFFF"))
        p.setPen(Qt.PenStyle.NoPen)
        eye = size / 11
        for dx in (-size / 5.5, size / 5.5):
            p.drawEllipse(QPointF(cx + dx, cy - size / 8), eye, eye)
        # mouth: a quadratic curve, bending up for a smile and down for a frown
        curve = SMILE[self.level]
        mouth_w = size / 2.4
        y0 = cy + size / 5.5 - curve * size / 14
        path = QPainterPath(QPointF(cx - mouth_w / 2, y0))
        path.quadTo(QPointF(cx, y0 + curve * size / 5), QPointF(cx + mouth_w / 2, y0))
        p.setPen(QPen(QColor("#FFFFFF"), max(4.0, size / 16), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        # words, always present
        p.setPen(self.palette().buttonText().color())
        p.setFont(self.font())
        p.drawText(QRectF(self.text_rect()), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                   | Qt.TextFlag.TextWordWrap, self.words)
        p.end()


class Marquee(QWidget):
    """A notice that scrolls right to left (or is simply centred when it fits)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._offset = 0.0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._step)
        self.timer.start(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self._offset = 0.0
            self.update()

    def setFont(self, font: QFont) -> None:
        super().setFont(font)
        self.setFixedHeight(int(QFontMetrics(font).height() * 1.4))

    def _step(self) -> None:
        width = QFontMetrics(self.font()).horizontalAdvance(self._text)
        if width <= self.width():
            return
        self._offset = (self._offset + 3) % (width + self.width() // 2)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        p.setPen(self.palette().windowText().color())
        p.setFont(self.font())
        fm = QFontMetrics(self.font())
        width = fm.horizontalAdvance(self._text)
        y = (self.height() + fm.ascent() - fm.descent()) / 2
        if width <= self.width():
            p.drawText(QPointF((self.width() - width) / 2, y), self._text)
        else:
            gap = self.width() // 2
            x = -self._offset
            while x < self.width():
                p.drawText(QPointF(x, y), self._text)
                x += width + gap
        p.end()
