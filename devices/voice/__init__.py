"""Offline voice announcer: espeak-ng clips rendered once, stitched per call, played in order."""
from __future__ import annotations

from typing import Any

__all__ = ["Announcer", "from_config"]


def __getattr__(name: str) -> Any:
    # lazy, so `python -m devices.voice.clips` (the install step) does not import the announcer first
    if name in __all__:
        from devices.voice import announcer

        return getattr(announcer, name)
    raise AttributeError(name)
