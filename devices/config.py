"""What every [devices.NAME] table shares: `kind`, `host`, and a device URL checked at load (scheme, host and
port, baud, the simulator's options), so a bad URL is a config error at start-up, never a traceback later."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

import msgspec
from msgspec import Meta

from devices.base import DeviceUrl, parse_url
from kiosk.core.sections import OptionError, Section


def integer(text: str) -> int:
    """A query value that must be an integer (decimal or 0x…)."""
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError("must be an integer") from None


def number(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise ValueError("must be a number of at least 0")
    return value


def on_off(text: str) -> bool:
    if text not in ("on", "off", "0", "1"):
        raise ValueError("must be on, off, 0 or 1")
    return text in ("on", "1")


# URL query options each transport takes (the simulator's come from its kind); a typo is refused, not ignored.
SERIAL_OPTIONS: Mapping[str, Callable[[str], object]] = {"baud": integer}
BAUD_RANGE = (1200, 921600)


class DeviceSection(Section, kw_only=True):
    """A [devices.NAME] table.  Each kind declares its own options on top of these."""

    kind: Annotated[str, Meta(description="the device kind: printer, led, evaluator, voice, idcard or scanner")]
    host: Annotated[str, Meta(description=(
        "the client id of the LAN screen PC that drives it (a kiosk's own printer); empty: `hall run server` "
        "drives it"))] = ""


def own_options(struct: type[DeviceSection]) -> tuple[str, ...]:
    """The options a kind documents itself: all but `host`, which every kind shares (docs/config.md)."""
    return tuple(f.name for f in msgspec.structs.fields(struct) if f.name != "host")


def check_url(text: str, schemes: tuple[str, ...], *, sim: Mapping[str, Callable[[str], object]] | None = None,
              bauds: tuple[int, ...] | None = None, option: str = "url") -> DeviceUrl:
    """Parse a device URL for a kind that speaks `schemes`; raise OptionError saying what is wrong with it.

    `sim` maps each sim:// query option to a parser that raises ValueError on a bad value; `bauds` limits serial."""
    try:
        url = parse_url(text)
    except ValueError as exc:
        raise OptionError(option, f"is not valid: {exc}") from None
    if url.scheme not in schemes:
        raise OptionError(option, f"is not valid: {url.scheme}:// cannot reach this device; it must be "
                                  f"{', '.join(s + '://' for s in schemes[:-1])} or {schemes[-1]}://")
    known: Mapping[str, Callable[[str], object]] = {
        "serial": SERIAL_OPTIONS, "sim": sim or {}}.get(url.scheme, {})
    for key, value in url.opts.items():
        parse = known.get(key)
        if parse is None:
            allowed = ", ".join(known) or "none"
            raise OptionError(option, f"is not valid: {url.scheme}:// takes no option {key!r} (options: {allowed})")
        try:
            parse(value)
        except ValueError as exc:
            raise OptionError(option, f"is not valid: {key}={value!r}: {exc}") from None
    if url.scheme == "serial":
        baud = url.opts.get("baud")
        if baud is not None:
            n = int(baud)
            if bauds is not None and n not in bauds:
                raise OptionError(option, f"is not valid: baud must be {' or '.join(map(str, bauds))} "
                                          f"for this device (got {n})")
            if not BAUD_RANGE[0] <= n <= BAUD_RANGE[1]:
                raise OptionError(option, f"is not valid: baud must be from {BAUD_RANGE[0]} to {BAUD_RANGE[1]} "
                                          f"(got {n})")
    return url
