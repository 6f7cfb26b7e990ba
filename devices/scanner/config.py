"""[devices.NAME] with kind = "scanner": every option of a serial-mode code scanner, declared once
(docs/devices-scanner.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from devices.config import DeviceSection, check_url
from devices.scanner import proto, sim
from kiosk.core.sections import OptionError

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SIM_OPTIONS = sim.URL_OPTIONS  # sim://NAME?…: the simulator's own list


class ScannerSection(DeviceSection, kw_only=True):
    """A bar code / QR scanner in serial mode (RS-232 or USB-COM): at the kiosk, or a caller's badge scanner."""

    kind: Literal["scanner"] = "scanner"
    url: Annotated[str, Meta(description=(
        "`serial:///dev/serial/by-id/…?baud=9600`, `tcp://host:port` (a serial server) or "
        "`sim://name?scan=…`"))]
    window: Annotated[int, Meta(ge=0, le=9999, description=(
        "0: the kiosk's scanner; N: the badge scanner of window N's caller (staff sign-in)"))] = 0
    prefix: Annotated[str, Meta(max_length=15, description=(
        "the prefix (preamble) the scanner is set to send before each code, as a TOML string"))] = ""
    suffix: Annotated[str, Meta(min_length=1, max_length=15, description=(
        "the suffix that ends each code (`\"\\r\"`, `\"\\r\\n\"`, `\"\\t\"` …), as the scanner is set"))] = "\r"
    aim: Annotated[bool, Meta(description=(
        "the scanner sends AIM identifiers (`]Q1`, `]C0` …) after the prefix"))] = False
    encoding: Annotated[Literal["utf-8", "gb18030"], Meta(description=(
        "how the scanner sends non-ASCII content (many Chinese models: GB18030 unless set to UTF-8)"))] = "utf-8"
    max_length: Annotated[int, Meta(ge=16, le=8192, description="bytes of one code at most")] = 2048
    gap: Annotated[float, Meta(ge=0.02, le=5, description=(
        "seconds of silence after which an unfinished code is dropped as cut off"))] = 0.3

    def framing(self) -> proto.Framing:
        try:
            return proto.Framing.from_text(self.prefix, self.suffix, aim=self.aim, encoding=self.encoding,
                                           max_length=self.max_length)
        except proto.FramingError as exc:
            option = "suffix" if "suffix" in str(exc) and "prefix" not in str(exc) else "prefix"
            raise OptionError(option, f"is not valid: {exc}") from None

    def check(self, hall: HallConfig | None) -> None:
        check_url(self.url, ("serial", "tcp", "sim"), sim=SIM_OPTIONS)
        self.framing()
        if self.window:
            known = [getattr(w, "number", None) for w in getattr(hall, "windows", None) or []]
            if known and self.window not in known:
                raise OptionError("window", f"is {self.window}, which is not a window of this hall")
