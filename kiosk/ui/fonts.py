"""Font setup: Noto Sans CJK SC first, then Noto Serif Tibetan, Noto Naskh Arabic and Noto Sans Yi so Qt falls back
per script."""
from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

# Order matters: Qt walks this list per character, so Han, Latin and digits come from the CJK face, Tibetan from
# the Tibetan face, Uyghur (Arabic script, needs shaping) from Naskh and Yi syllables from Noto Sans Yi.  Generic
# fallbacks keep a missing face from turning into tofu.
FAMILIES = ["Noto Sans CJK SC", "Noto Serif Tibetan", "Noto Naskh Arabic", "Noto Sans Yi", "Noto Sans", "sans-serif"]
SCRIPT_FACES = FAMILIES[:4]  # one face per script the screens speak: each must be installed


def missing_families() -> list[str]:
    have = set(QFontDatabase.families())
    return [f for f in SCRIPT_FACES if f not in have]


def ui_font(px: int, *, bold: bool = False) -> QFont:
    f = QFont()
    f.setFamilies(FAMILIES)
    f.setPixelSize(px)
    f.setBold(bold)
    f.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return f


def setup_fonts(app: QApplication, base_px: int = 20) -> list[str]:
    """Install the per-script family list as the application font; returns the faces that are not installed."""
    missing = missing_families()
    for fam in missing:
        log.warning("font %r is not installed: text in its script may show as boxes (apt: fonts-noto-*)", fam)
    app.setFont(ui_font(base_px))
    return missing
