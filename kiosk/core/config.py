"""The hall's TOML configuration: typed, validated at load, errors naming the key, the section and the line."""
from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from kiosk.core.errors import ConfigError


class HallSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str
    region: str  # 行政区划, 9 digits
    timezone: str = "Asia/Shanghai"
    secret: str = ""  # key for ID-number hashes; generated and kept in the store when empty
    notice: str = ""  # the hall board's scrolling notice


class Rules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    recall_cap: int = 5
    idle_timeout: int = 90  # seconds before a kiosk screen returns home
    id_required: bool = False
    appointment_grace_minutes: int = 30  # late check-in still accepted this long after the slot ends
    unrated_as_satisfied_days: int = 0  # 0 = off; some regions count an unrated service as 满意 after N days


class Business(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    prefix: str
    name: str
    hours: list[str] = msgspec.field(default_factory=lambda: ["08:30-12:00", "13:30-17:30"])
    days: Literal["workdays", "all"] | list[int] = "workdays"  # list: ISO weekdays 1=Mon … 7=Sun
    daily_cap: int = 200
    green_channel: bool = True
    appointments: bool = True
    id_required: bool = False
    guide: str = ""  # catalogue item id of its 办事指南

    def intervals(self) -> list[tuple[time, time]]:
        return [_parse_interval(h) for h in self.hours]


class Window(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    number: int
    name: str = ""
    businesses: list[str] = msgspec.field(default_factory=list)  # in order of preference
    combined: bool = False  # 综合窗口: takes any business

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.number}号窗口"


class HallConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    hall: HallSection
    rules: Rules = msgspec.field(default_factory=Rules)
    businesses: list[Business]
    windows: list[Window]
    # Sections owned by other packages, validated there (devices/, sync/, kiosk/ui) with the same error style.
    devices: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    sync: dict[str, Any] = msgspec.field(default_factory=dict)
    lan: dict[str, Any] = msgspec.field(default_factory=dict)  # the hall broker for LAN screens (sync/lan.py)
    ui: dict[str, Any] = msgspec.field(default_factory=dict)
    cases: dict[str, Any] = msgspec.field(default_factory=dict)
    source: str = ""  # where it was loaded from, for messages

    # convenience views -------------------------------------------------------------------------------
    @property
    def hall_id(self) -> str:
        return self.hall.id

    @property
    def name(self) -> str:
        return self.hall.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.hall.timezone)

    def business(self, code: str) -> Business | None:
        return next((b for b in self.businesses if b.code == code), None)

    def window(self, number: int) -> Window | None:
        return next((w for w in self.windows if w.number == number), None)

    def window_businesses(self, number: int) -> list[str]:
        w = self.window(number)
        if w is None:
            return []
        return [b.code for b in self.businesses] if w.combined else list(w.businesses)


_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_ID_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the hall id goes into MQTT topics


def _parse_interval(text: str) -> tuple[time, time]:
    m = _INTERVAL.match(text.strip())
    if not m:
        raise ValueError(f"ticket hours {text!r} must look like 08:30-12:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (0 <= h1 < 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"ticket hours {text!r} are not valid times")
    start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"ticket hours {text!r} end before they start")
    return start, end


class _Locator:
    """Finds the line of a key in TOML text, so an error can name it (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def find(self, table: str, index: int | None, key: str | None) -> int | None:
        seen = -1
        in_table = table == ""
        for no, raw in enumerate(self.lines, 1):
            m = self._HEADER.match(raw)
            if m:
                name = m.group(2).replace('"', "").replace("'", "")
                if name == table and (index is None or m.group(1) == "[["):
                    seen += 1
                    in_table = index is None or seen == index
                    if in_table and key is None:
                        return no
                else:
                    in_table = False
                continue
            if in_table and key and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", raw):
                return no
        return None

    def for_path(self, path: list[str | int]) -> int | None:
        """path like ['businesses', 0, 'daily_cap'] or ['devices', 'led1', 'baud']."""
        strs = [p for p in path if isinstance(p, str)]
        idx = next((p for p in path if isinstance(p, int)), None)
        if not strs:
            return None
        # try the longest table prefix first: devices.led1 + baud, then hall + id …
        for cut in range(len(strs) - 1, 0, -1):
            line = self.find(".".join(strs[:cut]), idx, strs[cut])
            if line:
                return line
        return self.find(strs[0], idx, None)


_PATH_ITEM = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"?'?([^\]\"']+)\"?'?\]")


def _split_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for m in _PATH_ITEM.finditer(path.removeprefix("$")):
        if m.group(1):
            out.append(m.group(1))
        elif m.group(2):
            out.append(int(m.group(2)))
        else:
            out.append(m.group(3))
    return out


def _section_name(path: list[str | int]) -> str:
    strs = [str(p) for p in path if isinstance(p, str)]
    return ".".join(strs[:-1]) if len(strs) > 1 else (strs[0] if strs else "")


def loads(text: str, source: str = "<config>") -> HallConfig:
    loc = _Locator(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        cfg = msgspec.convert(raw, type=HallConfig)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        path_text = msg.rsplit(" - at ", 1)[1].strip("`") if " - at " in msg else "$"
        path = _split_path(path_text)
        m = re.search(r"unknown field `([^`]+)`", msg)
        if m:
            path.append(m.group(1))
            section = ".".join(str(p) for p in path[:-1] if isinstance(p, str)) or "top level"
            raise ConfigError(
                f"{source}: option '{m.group(1)}' is not valid in section [{section}]",
                option=m.group(1), section=section, line=loc.for_path(path),
            ) from exc
        m = re.search(r"missing required field `([^`]+)`", msg)
        if m:
            path.append(m.group(1))
            section = _section_name(path) or "top level"
            raise ConfigError(
                f"{source}: option '{m.group(1)}' is required in section [{section}]",
                option=m.group(1), section=section, line=loc.for_path(path[:-1]) if len(path) > 1 else None,
            ) from exc
        option = str(path[-1]) if path else ""
        raise ConfigError(
            f"{source}: option '{option}' in section [{_section_name(path)}]: {msg.split(' - at ')[0]}",
            option=option, section=_section_name(path), line=loc.for_path(path),
        ) from exc
    cfg.source = source
    _check(cfg, loc, source)
    return cfg


def load(path: str | Path) -> HallConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc}") from exc
    return loads(text, str(p))


def _check(cfg: HallConfig, loc: _Locator, source: str) -> None:
    def fail(msg: str, path: list[str | int]) -> ConfigError:
        option, section = str(path[-1]), _section_name(path)
        if not msg.startswith("option"):
            msg = f"option '{option}' in section [{section}]: {msg}"
        return ConfigError(f"{source}: {msg}", option=option, section=section, line=loc.for_path(path))

    h = cfg.hall
    if not _ID_SAFE.match(h.id):
        raise fail(f"option 'id' in section [hall] must be letters, digits, - or _ (got {h.id!r})", ["hall", "id"])
    if not re.fullmatch(r"\d{9}", h.region):
        raise fail(f"option 'region' in section [hall] must be a 9-digit 行政区划 code (got {h.region!r})",
                   ["hall", "region"])
    try:
        ZoneInfo(h.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fail(f"option 'timezone' in section [hall]: unknown time zone {h.timezone!r}",
                   ["hall", "timezone"]) from exc
    r = cfg.rules
    for name, value, lo, hi in (("recall_cap", r.recall_cap, 0, 20), ("idle_timeout", r.idle_timeout, 10, 3600),
                                ("appointment_grace_minutes", r.appointment_grace_minutes, 0, 240),
                                ("unrated_as_satisfied_days", r.unrated_as_satisfied_days, 0, 365)):
        if not lo <= value <= hi:
            raise fail(f"option '{name}' in section [rules] must be between {lo} and {hi} (got {value})",
                       ["rules", name])
    if not cfg.businesses:
        raise ConfigError(f"{source}: at least one [[businesses]] is required", section="businesses")
    codes: set[str] = set()
    prefixes: set[str] = set()
    for i, b in enumerate(cfg.businesses):
        if b.code in codes:
            raise fail(f"business code {b.code!r} appears twice", ["businesses", i, "code"])
        codes.add(b.code)
        if not re.fullmatch(r"[A-Z]", b.prefix):
            raise fail(f"option 'prefix' in [[businesses]] {b.code!r} must be one capital letter A-Z",
                       ["businesses", i, "prefix"])
        if b.prefix in prefixes:
            raise fail(f"prefix {b.prefix!r} of business {b.code!r} is already used", ["businesses", i, "prefix"])
        prefixes.add(b.prefix)
        if not 1 <= b.daily_cap <= 999:  # numbers have three digits: A001 … A999
            raise fail(f"option 'daily_cap' of business {b.code!r} must be 1..999", ["businesses", i, "daily_cap"])
        try:
            b.intervals()
        except ValueError as exc:
            raise fail(f"option 'hours' of business {b.code!r}: {exc}", ["businesses", i, "hours"]) from exc
        if isinstance(b.days, list) and not all(1 <= d <= 7 for d in b.days):
            raise fail(f"option 'days' of business {b.code!r}: weekdays are 1 (Mon) … 7 (Sun)",
                       ["businesses", i, "days"])
    numbers: set[int] = set()
    for i, w in enumerate(cfg.windows):
        if w.number in numbers or w.number <= 0:
            raise fail(f"window number {w.number} is duplicated or not positive", ["windows", i, "number"])
        numbers.add(w.number)
        for code in w.businesses:
            if code not in codes:
                raise fail(f"window {w.number} serves unknown business {code!r}", ["windows", i, "businesses"])
        if not w.businesses and not w.combined:
            raise fail(f"window {w.number} serves no business (list businesses or set combined = true)",
                       ["windows", i, "businesses"])
    for name, section in cfg.devices.items():
        if not isinstance(section, dict) or "kind" not in section:
            raise fail(f"section [devices.{name}] needs option 'kind'", ["devices", name, "kind"])
