"""Offline voice announcer: espeak-ng clips rendered once, stitched per call, played in order."""
from devices.voice.announcer import Announcer, from_config

__all__ = ["Announcer", "from_config"]
