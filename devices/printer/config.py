"""[devices.NAME] with kind = "printer": every option of a ticket printer, declared once (docs/tickets/README.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from msgspec import Meta

from devices.config import DeviceSection, check_url, integer, on_off
from devices.printer import layout, proto
from kiosk.core.sections import OptionError

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

Lines = Annotated[str | list[str], Meta(extra={"expect": "a string (lines split at newlines) or a list of strings"})]


def _faults(text: str) -> object:
    from devices.printer.sim import parse_faults  # the simulator's own parser: one grammar for faults

    return parse_faults(text)


# sim://NAME?… options (devices/printer/sim.py SimPrinter)
SIM_OPTIONS = {"width": integer, "chinese": on_off, "garbage": on_off, "baud": integer, "faults": _faults}


class PrinterSection(DeviceSection, kw_only=True):
    """A ticket printer (ESC/POS)."""

    kind: Literal["printer"] = "printer"
    url: Annotated[str, Meta(description=(
        "`serial:///dev/serial/by-id/…?baud=115200`, `tcp://10.0.0.7:9100`, `file:///dev/usb/lp0`, "
        "`sim://printer1?faults=paper_out@3`"))]
    mode: Annotated[Literal["text", "raster"], Meta(description=(
        "`\"text\"`: printer fonts, raster only for lines they lack; `\"raster\"`: the whole ticket drawn"))] = "text"
    encoding: Annotated[Literal["gb18030", "gbk"], Meta(description="the printer's Chinese code page")] = "gb18030"
    chinese_mode: Annotated[bool, Meta(description=(
        "send `FS &` after `ESC @` (printers that start in single-byte mode need it)"))] = True
    qr: Annotated[Literal["native", "raster", "off"], Meta(description=(
        "`\"native\"` (`GS ( k`), `\"raster\"` (drawn, for printers without QR), `\"off\"`"))] = "native"
    qr_url: Annotated[str, Meta(description=(
        "URL for the QR code; may use `{ticket_id}`, `{number}`, `{hall_id}`, and `{token}` and `{public_base_url}` "
        "for the phone page (`\"{public_base_url}/t/{token}\"`, docs/web.md); empty: no QR code"))] = ""
    qr_caption: Annotated[str, Meta(description="line under the QR code")] = "扫码查看排队进度"
    qr_module: Annotated[int, Meta(ge=1, le=16, description="QR module size in dots")] = 6
    cut: Annotated[Literal["partial", "full", "none"], Meta(description="the cut after each ticket")] = "partial"
    feed_lines: Annotated[int, Meta(ge=0, le=20, description="lines fed before the cut")] = 4
    width_dots: Annotated[int, Meta(ge=384, le=832, multiple_of=8, description=(
        "printable width (576 = 80 mm, 384 = 58 mm)"))] = proto.DOTS_80MM
    header: Annotated[Lines, Meta(description=(
        "extra lines under the hall name (string with newlines, or a list), e.g. its Tibetan name"))] = \
        msgspec.field(default_factory=list)
    notice: Annotated[Lines, Meta(description="the notice lines")] = \
        msgspec.field(default_factory=lambda: list(layout.DEFAULT_NOTICE))
    status: Annotated[Literal["auto", "on", "off"], Meta(description=(
        "ask `DLE EOT` before and after each ticket; `\"auto\"`: off for `file://`"))] = "auto"
    status_timeout: Annotated[float, Meta(ge=0.05, le=10, description="seconds to wait for a status reply")] = 1.0
    poll_s: Annotated[float, Meta(ge=0.1, le=600, description=(
        "seconds between status polls while idle (health on the board)"))] = 5.0
    max_wait_s: Annotated[float, Meta(ge=1, le=3600, description=(
        "a ticket not printed by then is reported failed and never printed later"))] = 10.0
    terminal: Annotated[str, Meta(description=(
        "print only `ticket.issued` events whose payload `terminal` is this (one printer per kiosk)"))] = ""
    queue_size: Annotated[int, Meta(ge=1, le=1000, description=(
        "tickets waiting; beyond it the newest is reported failed at once"))] = 32

    def check(self, hall: HallConfig | None) -> None:
        check_url(self.url, ("serial", "tcp", "file", "sim"), sim=SIM_OPTIONS)
        if self.qr_url:
            if not self.qr_url.isascii():
                raise OptionError("qr_url", "must be ASCII (percent-encode other characters)")
            try:
                self.qr_url.format(ticket_id="t", number="A001", hall_id="h", token="k", public_base_url="u")
            except (KeyError, IndexError, ValueError) as exc:
                raise OptionError("qr_url", "may use only {ticket_id}, {number}, {hall_id}, {token} and "
                                  f"{{public_base_url}} ({exc})") from exc
            web = getattr(hall, "web", None)
            if "{public_base_url}" in self.qr_url and hall is not None and not (
                    web and web.get("enabled", True) and web.get("public_base_url")):
                raise OptionError("qr_url", "uses {public_base_url}: it needs [web] with public_base_url")


def lines(value: str | list[str]) -> tuple[str, ...]:
    return tuple(value.splitlines()) if isinstance(value, str) else tuple(value)
