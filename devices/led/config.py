"""[devices.NAME] with kind = "led": every option of an Onbon BX LED board, declared once (docs/devices-led.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from devices.config import DeviceSection, check_url, integer
from kiosk.core.sections import OptionError

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SIM_OPTIONS = {"address": integer}  # sim://NAME?address=… (devices/led/sim.py open_sim)
BAUDS = (9600, 57600)  # the BX controllers' two rates


class LedSection(DeviceSection, kw_only=True):
    """An LED board over a BX-5/BX-6 controller: one window's, or the hall's."""

    kind: Literal["led"] = "led"
    url: Annotated[str, Meta(description=(
        "`serial:///dev/serial/by-id/…?baud=9600` (or 57600), `tcp://host:5005` (BX-6K Ethernet) or `sim://name`"))]
    role: Annotated[Literal["window", "hall"], Meta(description=(
        "`\"window\"`: one window's board (needs `window`); `\"hall\"`: the hall's call board"))] = "window"
    # None: not given (TOML has no null), so a role can refuse the other role's options
    window: Annotated[int, Meta(ge=1, le=9999, description="the window a window board shows")] | None = None
    address: Annotated[int, Meta(ge=0, le=0xFFFF, description=(
        "controller address; 0xFFFF broadcasts and is never answered, 0x8000 suits TCP"))] = 1
    welcome: Annotated[str, Meta(min_length=1, description=(
        "the idle line of a window board (default 欢迎光临)"))] | None = None
    min_interval: Annotated[float, Meta(ge=0.01, le=60, description=(
        "seconds between frames (1.0: the controller's ≥1 s dynamic-area refresh)"))] = 1.0
    flash_seconds: Annotated[float, Meta(ge=0, le=30, description="attention effect after a call, seconds")] = 3.0
    width: Annotated[int, Meta(ge=16, le=4096, description=(
        "pixels (default: window 128, hall 256)"))] | None = None
    height: Annotated[int, Meta(ge=16, le=1024, description=(
        "pixels (default: window 32; hall 16 per call line plus the waiting line)"))] | None = None
    lines: Annotated[int, Meta(ge=1, le=16, description="call lines of a hall board (default 3)")] | None = None
    reply_timeout: Annotated[float, Meta(ge=0.05, le=10, description="seconds to wait for the controller")] = 0.5
    keepalive: Annotated[float, Meta(ge=0, le=3600, description=(
        "idle PING period, seconds (0 = off); after a missed reply the next PING goes within 1 s"))] = 20.0
    notice: Annotated[bool, Meta(description=(
        "a hall board adds the hall's scrolling notice as a last 16-px line"))] | None = None

    def check(self, hall: HallConfig | None) -> None:
        check_url(self.url, ("serial", "tcp", "sim"), sim=SIM_OPTIONS, bauds=BAUDS)
        if self.role == "window":
            if self.window is None:
                raise OptionError("window", "is required when role = \"window\"")
            known = [getattr(w, "number", None) for w in getattr(hall, "windows", None) or []]
            if known and self.window not in known:
                raise OptionError("window", f"is {self.window}, which is not a window of this hall")
            for option in ("lines", "notice"):
                if getattr(self, option) is not None:
                    raise OptionError(option, "is only valid with role = \"hall\"")
        else:
            for option in ("window", "welcome"):
                if getattr(self, option) is not None:
                    raise OptionError(option, "is only valid with role = \"window\"")
        if self.welcome is not None and not self.welcome.strip():
            raise OptionError("welcome", "must be a non-empty text")
