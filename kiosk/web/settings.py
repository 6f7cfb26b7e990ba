"""The hall TOML's [web] table: where the phone pages listen, the address printed in QR codes, and their limits."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from msgspec import Meta

from kiosk.core.sections import OptionError, Section, read_section

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SECTION = "web"
_BASE_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/-]*)?$")


class WebSettings(Section, frozen=True, kw_only=True):
    """[web]: the citizen's phone pages (docs/web.md), served by `hall run server` on the hall's own network."""

    # slots are the business's now: the kiosk, the phone, the province and the service desk book the same ones
    MOVED: ClassVar[Mapping[str, str]] = {
        "book_days": "the booking horizon is [[businesses]] book_days now, per business",
        "slot_minutes": "the slot length is [[businesses]] slot_minutes now, per business"}

    public_base_url: Annotated[str, Meta(min_length=1, description=(
        "the address phones open, as printed in every QR code: `http://192.168.20.2:8080` (the hall Wi-Fi side of "
        "the server; no trailing slash). Tickets print `{public_base_url}/t/<token>`"),
        extra={"expect": "an http:// or https:// URL"})]
    bind: Annotated[str, Meta(min_length=1, description=(
        "the address to listen on (`0.0.0.0`: every interface; better the hall Wi-Fi's own address)"))] = "0.0.0.0"
    port: Annotated[int, Meta(ge=1, le=65535, description=(
        "the port to listen on (below 1024 needs a capability the unit does not give; see packaging/README.md)"))] \
        = 8080
    cert_file: Annotated[str, Meta(description="TLS certificate (PEM) for https; empty: plain http")] = ""
    key_file: Annotated[str, Meta(description="the certificate's key (PEM)")] = ""
    alert_ahead: Annotated[int, Meta(ge=0, le=50, description=(
        "the page alerts (sound, vibration) when this many people or fewer are ahead; 0: only when called"))] = 3
    service_minutes: Annotated[float, Meta(ge=0.5, le=240, description=(
        "the service time assumed for the estimated wait until three services were timed today"))] = 5.0
    take_per_phone: Annotated[int, Meta(ge=1, le=50, description=(
        "扫码取号: tickets one phone may take per hour (its cookie)"))] = 3
    take_per_address: Annotated[int, Meta(ge=1, le=10000, description=(
        "扫码取号 and booking: requests one network address may make per hour (phones behind one NAT share it)"))] \
        = 60
    max_streams: Annotated[int, Meta(ge=1, le=100000, description=(
        "live ticket pages connected at once; past it a page polls instead"))] = 5000
    enabled: Annotated[bool, Meta(description="false keeps the table but serves no pages")] = True

    @property
    def tls(self) -> bool:
        return bool(self.cert_file)

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/")

    def check(self, hall: HallConfig | None) -> None:
        if not _BASE_URL.match(self.public_base_url):
            raise OptionError("public_base_url", f"must be an http:// or https:// URL of letters, digits and "
                              f"'.-/:' (got {self.public_base_url!r})")
        for option in ("cert_file", "key_file"):
            path = getattr(self, option)
            if path and not Path(path).is_file():
                raise OptionError(option, f"names no such file: {path!r}")
        if bool(self.cert_file) != bool(self.key_file):
            raise OptionError("key_file" if self.cert_file else "cert_file",
                              "is missing: 'cert_file' and 'key_file' go together")


def parse_web_settings(section: dict[str, Any]) -> WebSettings:
    """[web] through its Struct; errors name the option and the line."""
    return read_section(WebSettings, section, SECTION)
