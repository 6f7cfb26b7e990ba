"""The on-screen keyboard of a touch screen: Qt Virtual Keyboard (pinyin → 汉字, and English letters and digits)
embedded in a widget, for the evaluator's comment.  It needs the virtual keyboard as the process's input method,
chosen before the QApplication exists (`use_touch_keyboard`)."""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, QByteArray, QMetaObject, Qt, QUrl
from PySide6.QtGui import QResizeEvent
from PySide6.QtQml import QQmlComponent
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QSizePolicy, QWidget

IM_MODULE = "qtvirtualkeyboard"
# The keyboard draws into this widget; the panel is ours, so Qt must not open its own top-level keyboard window.
QML = b"""
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Item {
    id: root
    property real panelHeight: panel.height
    InputPanel {
        id: panel
        width: root.width
        anchors.bottom: root.bottom
        Component.onCompleted: {
            VirtualKeyboardSettings.activeLocales = ["zh_CN", "en_US"]
            VirtualKeyboardSettings.locale = "zh_CN"
        }
    }
    function ready() { return InputContext.locale !== "" }
    function press(key, text) { InputContext.inputEngine.virtualKeyClick(key, text, 0) }
    function candidates() {
        var m = InputContext.inputEngine.wordCandidateListModel
        var out = []
        for (var i = 0; i < m.count; i++) out.push(m.dataAt(i))
        return out
    }
    function choose(i) { InputContext.inputEngine.wordCandidateListModel.selectItem(i) }
}
"""
# Qt Virtual Keyboard's default style is drawn for 2560 × 800: the panel is as tall as its width asks
DESIGN_RATIO = 800 / 2560


def use_touch_keyboard() -> None:
    """Make Qt Virtual Keyboard the input method of this process; call before the QApplication is made.  A typed
    key of a hardware keyboard still reaches the field as before."""
    os.environ.setdefault("QT_IM_MODULE", IM_MODULE)
    os.environ["QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"] = "1"


def requested() -> bool:
    return os.environ.get("QT_IM_MODULE") == IM_MODULE


class TouchKeyboard(QQuickWidget):
    """The keyboard panel.  `available` is False when the process's input method is not the virtual keyboard (then
    nothing is loaded and the widget stays hidden)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.available = False
        self.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a tap on a key must leave the focus in the text field
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.heightForWidth(800))
        if not requested():
            self.hide()
            return
        url = QUrl.fromLocalFile(os.path.join(os.path.dirname(os.path.abspath(__file__)), "keyboard.qml"))
        component = QQmlComponent(self.engine())
        component.setData(QByteArray(QML), url)  # compiled here, from the string: no file to ship
        item = component.create()
        if item is None:
            self.hide()
            return
        self.setContent(url, component, item)
        self.available = bool(self._call("ready"))
        self.setVisible(self.available)

    def heightForWidth(self, width: int) -> int:
        return round(width * DESIGN_RATIO) + 2

    def resizeEvent(self, event: QResizeEvent) -> None:
        # as tall as the keyboard draws at this width: the layout gives the width, the keyboard asks the height
        want = self.heightForWidth(event.size().width())
        if want != self.height():
            self.setFixedHeight(want)
        super().resizeEvent(event)

    def _call(self, name: str, *args: Any) -> Any:
        root = self.rootObject()
        if root is None:
            return None
        return QMetaObject.invokeMethod(root, name, Q_RETURN_ARG("QVariant"),
                                        *[Q_ARG("QVariant", a) for a in args])

    def panel_height(self) -> float:
        root = self.rootObject()
        return float(root.property("panelHeight")) if root is not None else 0.0

    # a key as the panel's own key would send it (tests and scripted help): Qt.Key and its text
    def press(self, key: Qt.Key, text: str) -> None:
        self._call("press", int(key.value), text)

    def candidates(self) -> list[str]:
        found = self._call("candidates")
        found = found.toVariant() if hasattr(found, "toVariant") else found  # a JS array comes back as a QJSValue
        return [str(c) for c in (found or [])]

    def choose(self, index: int) -> None:
        self._call("choose", index)
