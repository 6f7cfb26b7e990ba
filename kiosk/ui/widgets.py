"""Small shared widgets: the on-screen keypad, a painted rating face, and a scrolling notice line."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

from kiosk.core.rating import Level

DIGITS = "123456789"
# 电子监察 cards: the word and a sign say the card, the colour (a theme pair) only repeats it — never colour alone.
# Both signs are in the CJK face: ⛔ would come from a symbols font whose taller line breaks two-line list rows.
CARD_TEXT = {"yellow": "黄牌 ⚠", "red": "红牌 ⊘", "none": "正常"}
CARD_PAIR = {"yellow": "warn", "red": "danger", "none": "ticket"}


def tag(widget: QWidget, role: str) -> QWidget:
    """Give a widget a stylesheet role (QPushButton[role="business"] …)."""
    widget.setProperty("role", role)
    return widget


class Keypad(QWidget):
    """A touch keypad: digits, optional extra keys (X for ID numbers), backspace, clear and confirm."""

    typed = Signal(str)
    backspace = Signal()
    cleared = Signal()
    confirmed = Signal()

    def __init__(self, extra: str = "", labels: dict[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setSpacing(12)
        self.keys: dict[str, QPushButton] = {}
        rows = [DIGITS[0:3], DIGITS[3:6], DIGITS[6:9], (extra[:1] or "") + "0"]
        for r, row in enumerate(rows):
            for c, ch in enumerate(row if len(row) == 3 else (["", *row] if len(row) == 1 else list(row))):
                if not ch:
                    continue
                b = self._key(ch, "key")
                b.clicked.connect(lambda _=False, k=ch: self.typed.emit(k))
                self.grid.addWidget(b, r, c)
        self.back = self._key("", "key_fn")
        self.back.clicked.connect(self.backspace.emit)
        self.clear = self._key("", "key_fn")
        self.clear.clicked.connect(self.cleared.emit)
        self.ok = self._key("", "primary")
        self.ok.clicked.connect(self.confirmed.emit)
        self.grid.addWidget(self.back, 0, 3)
        self.grid.addWidget(self.clear, 1, 3)
        self.grid.addWidget(self.ok, 2, 3, 2, 1)
        self.set_labels(labels or {"delete": "退格", "clear": "清空", "confirm": "确定"})

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

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)  # the button frame from the stylesheet
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        fm_h = QFontMetrics(self.font()).height()
        size = max(20.0, min(w * 0.78, h - fm_h * 2.4 - 36))
        top = max(12.0, (h - size - fm_h * 2.4 - 12) / 2)  # face and words centred together
        cx, cy = w / 2, top + size / 2
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
        p.drawText(QRectF(0, cy + size / 2 + 8, w, h - (cy + size / 2 + 8)), Qt.AlignmentFlag.AlignHCenter
                   | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, self.words)
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
