"""Resident ID card readers (GA 467 SAM protocol): frames (proto), reader driver and pty simulator."""
from devices.idcard.driver import IdCardReader, from_config

__all__ = ["IdCardReader", "from_config"]
