"""80 mm ESC/POS ticket printer: `from_config` builds the driver for a [devices.<name>] table of kind "printer"."""
from devices.printer.driver import PrinterConfig, PrinterDriver, PrintResult, from_config, parse_config

__all__ = ["PrintResult", "PrinterConfig", "PrinterDriver", "from_config", "parse_config"]
