"""Guards against a PySide6 6.12.0 defect on Python 3.11: every call of a void Qt method drops a reference to None."""
from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject

log = logging.getLogger(__name__)

# On Python < 3.12 None, True and False are ordinary refcounted objects (PEP 683 made them immortal in 3.12).
# PySide6 6.12.0 returns Py_None from void methods without taking a reference, so each setText()/update()/resize()
# costs None one reference; a kiosk or board redrawing every second reaches zero within hours and the interpreter
# aborts ("none_dealloc: deallocating None").  Until the dependency is fixed (PySide6 != 6.12.0, or Python 3.12),
# we measure the leak at start-up and, only if it is there, give the singletons a reference count they cannot
# exhaust.  They are never freed in any case, so this changes nothing else.
_HEADROOM = 1 << 40
_applied = False


def void_call_leaks_none() -> bool:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(50):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 25


def guard_singleton_refcounts() -> bool:
    """Apply the guard if this PySide6 leaks; returns True when it was needed (logged once as a warning)."""
    global _applied
    if _applied or sys.version_info >= (3, 12):
        return _applied
    if not void_call_leaks_none():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM
    _applied = True
    import PySide6

    log.warning("PySide6 %s drops references to None on void calls (Python %s): guard applied; "
                "upgrade PySide6 or use Python >= 3.12", PySide6.__version__, sys.version.split()[0])
    return True
