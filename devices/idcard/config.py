"""[devices.NAME] with kind = "idcard": every option of a GA 467 ID card reader, declared once
(docs/devices-idcard.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from devices.config import DeviceSection, check_url
from devices.idcard import sim

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SIM_OPTIONS = sim.URL_OPTIONS  # sim://NAME?…: the simulator's own list, so the two cannot drift apart
DEFAULT_BAUD = 115200  # what SAM modules ship with; `?baud=` in the URL for the rest


class IdCardSection(DeviceSection, kw_only=True):
    """A resident ID card reader (身份证阅读器, GA 467 SAM module) at a kiosk."""

    kind: Literal["idcard"] = "idcard"
    url: Annotated[str, Meta(description=(
        "`serial:///dev/serial/by-id/…` (115200 baud unless `?baud=`), `tcp://host:port` (a serial server) or "
        "`sim://name?card=demo&faults=unreadable`"))]
    poll_interval: Annotated[float, Meta(ge=0.05, le=5, description=(
        "seconds between two 找卡 (find card) requests while no card is on the reader"))] = 0.3
    reply_timeout: Annotated[float, Meta(ge=0.05, le=5, description=(
        "seconds to wait for the reader's answer (a read adds the time its 1.3 KB take at the line's baud)"))] = 0.5
    retries: Annotated[int, Meta(ge=0, le=5, description=(
        "further tries of find → select → read before the citizen is asked to place the card again"))] = 2
    miss_limit: Annotated[int, Meta(ge=1, le=100, description=(
        "unanswered requests in a row before the reader counts as offline"))] = 3

    def check(self, hall: HallConfig | None) -> None:
        check_url(self.url, ("serial", "tcp", "sim"), sim=SIM_OPTIONS)
