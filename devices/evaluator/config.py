"""[devices.NAME] with kind = "evaluator": every option of an RS-485 评价器 bus, declared once
(docs/devices-evaluator.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from devices.config import DeviceSection, check_url
from devices.evaluator import keymaps, proto, sim
from kiosk.core.sections import OptionError, Section

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SIM_OPTIONS = sim.URL_OPTIONS  # sim://NAME?…: the simulator's own list, so the two cannot drift apart
WindowNo = Annotated[int, Meta(ge=1, le=9999)]


class KeypadRow(Section, kw_only=True):
    """One keypad in the list form of `keypads`."""

    address: Annotated[int, Meta(ge=proto.MIN_ADDR, le=proto.MAX_ADDR, description="the keypad's bus address")]
    window: Annotated[int, Meta(ge=1, le=9999, description="the window it rates")]
    model: Annotated[str, Meta(description="its key map, if not the bus's `model`")] = ""


class EvaluatorSection(DeviceSection, kw_only=True):
    """Rating keypads (评价器) on one RS-485 bus."""

    kind: Literal["evaluator"] = "evaluator"
    url: Annotated[str, Meta(description=(
        "`serial:///dev/serial/by-id/…?baud=9600`, `tcp://host:port` (a serial server) or "
        "`sim://name?auto_key=1&auto_after=4`"))]
    model: Annotated[str, Meta(description=(
        "the keypads' key map: " + ", ".join(f"`{m}`" for m in keymaps.MODELS)))] = keymaps.DEFAULT_MODEL
    keypads: Annotated[dict[str, WindowNo] | list[KeypadRow], Meta(description=(
        "`{ \"<address>\" = <window>, … }`, or a list of tables `{ address, window, model }`"),
        extra={"expect": "a table {\"<address>\" = <window>} or a list of tables {address, window, model}"})]
    timeout: Annotated[float, Meta(gt=0, le=3600, description=(
        "seconds a prompt stays lit before the rating is given up as unrated"))] = 60.0
    prompt_on_finish: Annotated[bool, Meta(description=(
        "light the keypad when the service finishes, not only when the clerk asks"))] = False
    checksum: Annotated[Literal["xor", "sum"], Meta(description="the frame checksum the keypads use")] = "xor"
    poll_interval: Annotated[float, Meta(gt=0, le=5, description="seconds between polls of each keypad")] = 0.1
    reply_timeout: Annotated[float, Meta(gt=0, le=5, description="seconds to wait for a keypad's reply")] = 0.15

    def rows(self) -> list[tuple[int, int, str]]:
        """(address, window, model) per keypad, in either form (table keys were checked to be addresses)."""
        if isinstance(self.keypads, dict):
            return [(int(a), w, self.model) for a, w in self.keypads.items()]
        return [(r.address, r.window, r.model or self.model) for r in self.keypads]

    def check(self, hall: HallConfig | None) -> None:
        check_url(self.url, ("serial", "tcp", "sim"), sim=SIM_OPTIONS)
        _model(self.model, ("model",))
        if not self.keypads:
            raise OptionError("keypads", "lists no keypad")
        if isinstance(self.keypads, dict):
            for addr in self.keypads:
                if not addr.strip().isdigit() or not proto.MIN_ADDR <= int(addr) <= proto.MAX_ADDR:
                    raise OptionError("keypads", f"has address {addr!r}; addresses are between {proto.MIN_ADDR} "
                                                 f"and {proto.MAX_ADDR}")
        else:
            for i, row in enumerate(self.keypads):
                if row.model:
                    _model(row.model, ("keypads", i, "model"))
        known = {w.number for w in getattr(hall, "windows", None) or []}
        addresses: set[int] = set()
        windows: set[int] = set()
        for addr, window, _m in self.rows():
            if known and window not in known:
                raise OptionError("keypads", f"has keypad {addr} for window {window}, which the hall does not have")
            if addr in addresses:
                raise OptionError("keypads", f"is not valid: address {addr} is listed twice")
            if window in windows:
                raise OptionError("keypads", f"is not valid: window {window} has two keypads")
            addresses.add(addr)
            windows.add(window)


def _model(name: str, path: tuple[str | int, ...]) -> None:
    try:
        keymaps.get(name)
    except keymaps.KeyMapError as exc:
        raise OptionError(path, f"is not valid: {exc}") from None
