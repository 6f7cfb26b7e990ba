"""The kiosk's strings: kiosk/strings.py's plain tables (shared with the phone pages) with Qt's layout direction."""
from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk import strings
from kiosk.strings import STRINGS, error_text, tr

__all__ = ["LANGUAGES", "STRINGS", "direction", "error_text", "tr"]

# Languages offered on the kiosk: code → (name written in that language, layout direction).
LANGUAGES: dict[str, tuple[str, Qt.LayoutDirection]] = {
    code: (name, Qt.LayoutDirection.RightToLeft if rtl else Qt.LayoutDirection.LeftToRight)
    for code, (name, rtl) in strings.LANGUAGES.items()
}


def direction(lang: str) -> Qt.LayoutDirection:
    return LANGUAGES.get(lang, LANGUAGES["zh"])[1]
