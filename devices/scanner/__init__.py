"""Serial-mode code scanners: message framing (proto), port driver and pty simulator."""
from devices.scanner.driver import ScannerPort, from_config

__all__ = ["ScannerPort", "from_config"]
