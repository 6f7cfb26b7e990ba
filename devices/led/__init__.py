"""LED boards (Onbon BX-5K/6K): window boards and the hall board; `from_config` builds a driver from hall TOML."""
from devices.led.driver import LedBoard, doctor, from_config

__all__ = ["LedBoard", "doctor", "from_config"]
