"""好差评 evaluator keypads on an RS-485 bus: frames (proto), vendor key maps, bus driver and pty simulator."""
from devices.evaluator.driver import EvaluatorBus, from_config

__all__ = ["EvaluatorBus", "from_config"]
