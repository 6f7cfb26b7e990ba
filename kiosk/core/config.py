"""The hall's TOML configuration: the core's sections and the one loader every role uses (with kiosk.schema's
sections for devices and sync); errors name the file, the section, the option and the line."""
from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta

from kiosk.core.calendar import WorkCalendar, parse_calendar
from kiosk.core.cases import CaseSettings
from kiosk.core.errors import ConfigError
from kiosk.core.sections import (
    OptionError,
    Schema,
    Section,
    Where,
    convert,
    fail,
    parse_toml,
    read_text,
    run_check,
)
from kiosk.strings import LANGUAGES

__all__ = ["Business", "CalendarSection", "CaseSettings", "ConfigError", "HallConfig", "HallSection",
           "RetentionSection", "Rules", "Schema", "Window", "load", "loads"]


class HallSection(Section, kw_only=True):
    """[hall]: who this hall is."""

    id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$", description=(
        "the hall's id: letters, digits, `-`, `_` (it is part of MQTT topics)"),
        extra={"expect": "1 to 64 letters, digits, - or _"})]
    name: Annotated[str, Meta(min_length=1, description="the hall's name, printed on tickets and shown on screens")]
    region: Annotated[str, Meta(pattern=r"^\d{9}(\d{3})?\Z", description=(
        "行政区划 code: 9 digits (county + township: a county hall `510104000`, a street centre `510104001`) or 12 "
        "(+ village: a village's service room); central rolls halls up by its prefix"),
        extra={"expect": "a 9- or 12-digit 行政区划 code"})]
    timezone: Annotated[str, Meta(description=(
        "IANA zone for the hall's local day: numbers restart at local midnight"),
        extra={"expect": "an IANA time zone name"})] = "Asia/Shanghai"
    secret: Annotated[str, Meta(description=(
        "key for the keyed hash of ID numbers; generated and kept in the store when empty"))] = ""
    notice: Annotated[str, Meta(description="the hall board's scrolling notice (can be changed at run time)")] = ""
    notices: Annotated[dict[str, str], Meta(description=(
        "`notice` in the other languages, by language code: `{ bo = \"…\", ug = \"…\", ii = \"…\" }`; the kiosk "
        "shows the one of the citizen's language while the notice is the configured one"),
        extra={"expect": "a table of language code = text"})] = \
        msgspec.field(default_factory=dict)
    languages: Annotated[list[str], Meta(description=(
        "the hall's languages, in order: `zh` 中文, `bo` Tibetan, `ug` Uyghur (right to left), `ii` Yi; `zh` is "
        "always among them. The kiosk offers them on its buttons and the evaluator tablet on its language page (in "
        "this order); the hall board says each call in two of them at once and turns its other words through all "
        "of them, 10 s each (`hall run board --lang` keeps it to one beside Chinese); the caller and the dashboard "
        "speak the one `hall run … --lang` names. `hall check-config` warns of a business name, guide title or "
        "notice missing in one of them"), extra={"expect": "a list of language codes (zh, bo, ug, ii)"})] = \
        msgspec.field(default_factory=lambda: list(LANGUAGES))

    def check(self, hall: HallConfig | None) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise OptionError("timezone", f"is an unknown time zone {self.timezone!r}") from exc
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise OptionError("languages", f"names unknown language {lang!r} (known: {', '.join(LANGUAGES)})")
        if "zh" not in self.languages:
            raise OptionError("languages", "must include \"zh\": every text falls back to Chinese")
        _check_translations(self.notices, "notices", zh=False)


class Rules(Section, kw_only=True):
    """[rules]: the queue's rules."""

    recall_cap: Annotated[int, Meta(ge=0, le=20, description=(
        "how many times a clerk may recall (重呼) one ticket"))] = 5
    idle_timeout: Annotated[int, Meta(ge=10, le=3600, description=(
        "seconds before a kiosk screen returns home"))] = 90
    id_required: Annotated[bool, Meta(description="every business needs an ID number to take a ticket")] = False
    appointment_grace_minutes: Annotated[int, Meta(ge=0, le=240, description=(
        "a late appointment still checks in this long after its slot ends"))] = 30
    checkin_grace_minutes: Annotated[int, Meta(ge=0, le=120, description=(
        "预约 check-in is open from this long before a business's ticket hours begin to this long after they "
        "end (each interval; the slot's own grace still applies)"))] = 30
    appointment_early_minutes: Annotated[int, Meta(ge=0, le=240, description=(
        "an appointment checked in longer than this before its slot starts waits in the walk-in order until then, "
        "and goes ahead of walk-ins from then on (docs/events.md \"Queue order\")"))] = 15
    appointment_late: Annotated[Literal["walk-in", "refuse"], Meta(description=(
        "a check-in later than `appointment_grace_minutes` after the slot ends: `\"walk-in\"` takes a ticket in the "
        "walk-in order, `\"refuse\"` refuses it (预约时段已过，请取普通号)"))] = "walk-in"
    appointments_per_id: Annotated[int, Meta(ge=1, le=20, description=(
        "open (booked, not yet used) appointments one ID number may hold per business"))] = 1
    appointment_id_required: Annotated[bool, Meta(description=(
        "every booking needs an ID number, so `appointments_per_id` binds every booking (else only those given "
        "one; a business's `id_required` asks for it too)"))] = False
    unrated_as_satisfied_days: Annotated[int, Meta(ge=0, le=365, description=(
        "some regions count an unrated service as 满意 after N days; 0 = off. Figures always show such ratings "
        "on their own line"))] = 0


Weekday = Annotated[int, Meta(ge=1, le=7)]


class Business(Section, kw_only=True):
    """[[businesses]]: one per business the kiosk offers."""

    code: Annotated[str, Meta(min_length=1, description="stable id of the business (matches the catalogue)")]
    prefix: Annotated[str, Meta(pattern=r"^[A-Z]$", description=(
        "one capital letter: ticket numbers are prefix + 3-digit daily sequence (`A001`)"),
        extra={"expect": "one capital letter A-Z"})]
    name: Annotated[str, Meta(min_length=1, description="the name on the kiosk button and the ticket")]
    hours: Annotated[list[str], Meta(description="ticket hours, e.g. `[\"08:30-12:00\", \"13:30-17:30\"]`")] = \
        msgspec.field(default_factory=lambda: ["08:30-12:00", "13:30-17:30"])
    days: Annotated[Literal["workdays", "all"] | list[Weekday], Meta(description=(
        "the weekdays it opens, as ISO numbers (`[1, 2, 3, 4, 5, 6]`, 1 = Monday; `\"workdays\"` = Monday to "
        "Friday): never on a public holiday or the hall's closure, always on a 调休 make-up working day. "
        "`\"all\"`: every day, holidays and closures included"))] = "workdays"
    daily_cap: Annotated[int, Meta(ge=1, le=999, description="tickets per day (numbers have three digits)")] = 200
    green_channel: Annotated[bool, Meta(description="绿色通道 offered (elderly, disabled, military)")] = True
    appointments: Annotated[bool, Meta(description="预约 booking and check-in offered")] = True
    slot_minutes: Annotated[int, Meta(ge=10, le=240, description=(
        "the length of an appointment slot; slots are cut from `booking_hours`"))] = 30
    slot_capacity: Annotated[int, Meta(ge=1, le=999, description=(
        "appointments per slot, from the kiosk, the phone, the province's platform and the service desk together"))] \
        = 4
    book_days: Annotated[int, Meta(ge=1, le=60, description=(
        "the booking horizon: the next N days the business takes bookings (today included while slots remain); "
        "holidays and days it does not open are not counted"))] = 5
    booking_hours: Annotated[list[str], Meta(description=(
        "the hours slots are cut from, e.g. `[\"09:00-11:30\"]`; empty: the ticket `hours`"))] = \
        msgspec.field(default_factory=list)
    booking_days: Annotated[Literal["same"] | list[Weekday], Meta(description=(
        "the ISO weekdays it takes bookings for (`[2, 4]`); `\"same\"`: every day it opens. Either way only days "
        "it opens (`days` and the working-day calendar)"))] = "same"
    id_required: Annotated[bool, Meta(description=(
        "an ID number is needed; one open ticket per ID per business"))] = False
    guide: Annotated[str, Meta(description="catalogue item id of the business's 办事指南")] = ""
    menu: Annotated[Literal["always", "catalog", "fixed"], Meta(description=(
        "what the central catalogue may do to it on the kiosk's menu, without a restart: `\"always\"` shown, the "
        "catalogue may rename or close it; `\"catalog\"` shown only while the catalogue lists it (it adds the "
        "business); `\"fixed\"` as this file says, whatever the catalogue sends"))] = "always"
    names: Annotated[dict[str, str], Meta(description=(
        "`name` in the other languages, by language code: `{ bo = \"…\", ug = \"…\", ii = \"…\" }`; a language "
        "without one shows `name`"), extra={"expect": "a table of language code = text"})] = \
        msgspec.field(default_factory=dict)
    guide_titles: Annotated[dict[str, str], Meta(description=(
        "the title of its 办事指南 page by language code, `zh` included; a language without one shows the name"),
        extra={"expect": "a table of language code = text"})] = \
        msgspec.field(default_factory=dict)

    def name_in(self, lang: str) -> str:
        """The name a screen in `lang` shows: its translation, else the Chinese name."""
        return self.names.get(lang) or self.name

    def guide_title_in(self, lang: str) -> str:
        """Its 办事指南 page's title in `lang`: the guide title, else the name, in that language where given."""
        return self.guide_titles.get(lang) or self.name_in(lang)

    def intervals(self) -> list[tuple[time, time]]:
        return [_parse_interval(h) for h in self.hours]

    def booking_intervals(self) -> list[tuple[time, time]]:
        """The hours appointment slots are cut from: `booking_hours`, else the ticket hours."""
        return [_parse_interval(h) for h in self.booking_hours] if self.booking_hours else self.intervals()

    def weekdays(self) -> frozenset[int]:
        """The ISO weekdays of its week ("all": every day, the calendar aside — see the Hall's day rule)."""
        if self.days == "workdays":
            return frozenset(range(1, 6))
        if self.days == "all":
            return frozenset(range(1, 8))
        return frozenset(self.days)

    def check(self, hall: HallConfig | None) -> None:
        if not self.hours:
            raise OptionError("hours", "lists no ticket hours")
        if isinstance(self.days, list) and not self.days:
            raise OptionError("days", "lists no weekdays: the business would never open")
        try:
            self.intervals()
        except ValueError as exc:
            raise OptionError("hours", str(exc)) from exc
        try:
            self.booking_intervals()
        except ValueError as exc:
            raise OptionError("booking_hours", str(exc)) from exc
        if isinstance(self.booking_days, list) and not self.booking_days:
            raise OptionError("booking_days", "lists no weekdays: say \"same\" or list the days, or set "
                              "appointments = false")
        _check_translations(self.names, "names", zh=False)
        _check_translations(self.guide_titles, "guide_titles", zh=True)


def _check_translations(table: dict[str, str], option: str, *, zh: bool) -> None:
    for lang, text in table.items():
        if lang not in LANGUAGES or (lang == "zh" and not zh):
            known = [c for c in LANGUAGES if zh or c != "zh"]
            raise OptionError(option, f"names {lang!r}, which is not a language code here (one of {', '.join(known)})")
        if not text.strip():
            raise OptionError(option, f"has an empty text for {lang!r}")


class Window(Section, kw_only=True):
    """[[windows]]: one per service window."""

    number: Annotated[int, Meta(ge=1, le=9999, description=(
        "the window number called out (\"请A001号到3号窗口办理\")"))]
    name: Annotated[str, Meta(description="shown on boards (default \"N号窗口\")")] = ""
    businesses: Annotated[list[str], Meta(description="the businesses it serves, in order of preference")] = \
        msgspec.field(default_factory=list)
    combined: Annotated[bool, Meta(description="综合窗口: takes any business, first come first served")] = False

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.number}号窗口"

    def check(self, hall: HallConfig | None) -> None:
        codes = [b.code for b in hall.businesses] if hall is not None else None
        for code in self.businesses:
            if codes is not None and code not in codes:
                raise OptionError("businesses", f"names unknown business {code!r}")
        if not self.businesses and not self.combined:
            raise OptionError("businesses", "is empty: list businesses or set combined = true")


class CalendarSection(Section, kw_only=True):
    """[calendar]: the hall's working days."""

    DERIVED: ClassVar[frozenset[str]] = frozenset({"closed", "open_days", "names", "complete"})

    overrides: Annotated[str, Meta(description=(
        "a file of the hall's own closures and extra working days, one `YYYY-MM-DD closed [name]` or "
        "`YYYY-MM-DD open [name]` a line, and `YYYY complete` for a year it lists in full (official data, no "
        "warning); # comments; relative to this file's directory. Read at load by the server and every screen"))] = ""
    closed: list[date] = msgspec.field(default_factory=list)  # from `overrides`, at load
    open_days: list[date] = msgspec.field(default_factory=list)
    names: dict[str, str] = msgspec.field(default_factory=dict)  # ISO day → its name in the file (元旦)
    complete: list[int] = msgspec.field(default_factory=list)  # years the file declares complete


class RetentionSection(Section, kw_only=True):
    """[retention]: how long the hall keeps personal data (kiosk/core/retention.py)."""

    personal_days: Annotated[int, Meta(ge=30, le=3650, description=(
        "days the hall keeps personal data: ID hashes and masked ID numbers (tickets, appointments), masked names "
        "(appointments, cases), the applicant's name and check digests of concluded cases, citizens' rating "
        "comments, the same fields in the event log, and refused messages (dead letters). Older ones are cleared "
        "each night by `hall run server` (and `hall purge`); counts, times and ratings stay, so figures and exports "
        "do not change. At least 30: the booking rules look back that far by ID"))] = 180


class HallConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    hall: HallSection
    rules: Rules = msgspec.field(default_factory=Rules)
    businesses: list[Business]
    windows: list[Window]
    cases: CaseSettings = msgspec.field(default_factory=CaseSettings)
    calendar: CalendarSection = msgspec.field(default_factory=CalendarSection)
    retention: RetentionSection = msgspec.field(default_factory=RetentionSection)
    # Tables whose Structs live in devices/ and sync/ (the core cannot import them): kept as written, checked at
    # load through the Schema that kiosk.schema assembles, and read by their owners through the same Structs.
    devices: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    sync: dict[str, Any] = msgspec.field(default_factory=dict)
    lan: dict[str, Any] = msgspec.field(default_factory=dict)  # the hall broker for LAN screens (sync/lan.py)
    web: dict[str, Any] = msgspec.field(default_factory=dict)  # the citizen's phone pages (kiosk/web/settings.py)
    source: str = ""  # where it was loaded from, for messages (never read from the file)

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

    def work_calendar(self) -> WorkCalendar:
        """Chinese working days with this hall's [calendar] overrides: what the Hall and every screen count."""
        c = self.calendar
        return WorkCalendar(set(c.closed), set(c.open_days), complete=c.complete,
                            names={date.fromisoformat(d): n for d, n in c.names.items()})


_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _parse_interval(text: str) -> tuple[time, time]:
    m = _INTERVAL.match(text.strip())
    if not m:
        raise ValueError(f"has {text!r}; ticket hours look like 08:30-12:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (0 <= h1 < 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"has {text!r}, which are not valid times")
    start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"has {text!r}, which ends before it starts")
    return start, end


# --- loading -----------------------------------------------------------------------------------------------------
CORE_SECTIONS: dict[str, type[Section]] = {
    "hall": HallSection, "rules": Rules, "cases": CaseSettings, "calendar": CalendarSection,
    "retention": RetentionSection,
}
CORE_ARRAYS: dict[str, type[Section]] = {"businesses": Business, "windows": Window}
# top-level tables read through Schema.sections; [devices.*] through .devices
OWNED_ELSEWHERE = ("sync", "lan", "web")


def load(path: str | Path, schema: Schema | None = None) -> HallConfig:
    """Read and check a hall file.  Roles load through kiosk.schema.load, which passes the whole schema."""
    p = Path(path)
    return loads(read_text(p), str(p), schema, base_dir=p.parent)


def loads(text: str, source: str = "<config>", schema: Schema | None = None, *,
          base_dir: Path | None = None) -> HallConfig:
    """Check every section: the core's here, the others' through `schema` (without one they are kept unread: the
    core's own tests).  [calendar] overrides is read relative to `base_dir` (default: the working directory)."""
    raw, where = parse_toml(text, source)
    schema = schema or Schema()
    for key in raw:
        if key not in CORE_SECTIONS and key not in CORE_ARRAYS and key not in (*OWNED_ELSEWHERE, "devices"):
            raise fail((key,), "", where, form="unknown")
    if "hall" not in raw:
        raise ConfigError(f"{source}: section [hall] is required", section="hall")
    parts: dict[str, Any] = {name: convert(struct, raw[name], (name,), where)
                             for name, struct in CORE_SECTIONS.items() if name in raw}
    for name, struct in CORE_ARRAYS.items():
        items = raw.get(name)
        if not items:
            raise ConfigError(f"{source}: at least one [[{name}]] is required", section=name)
        if not isinstance(items, list):
            raise fail((name,), f"must be a list of tables ([[{name}]]) (got {items!r})", where)
        parts[name] = [convert(struct, item, (name, i), where) for i, item in enumerate(items)]
    for name in OWNED_ELSEWHERE:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise fail((name,), f"must be a table (got {table!r})", where)
        parts[name] = table
    parts["devices"] = _device_tables(raw.get("devices", {}), where)
    cfg = HallConfig(**parts, source=source)
    owned: list[tuple[tuple[str | int, ...], Section]] = [
        ((name,), convert(struct, getattr(cfg, name), (name,), where))
        for name, struct in schema.sections.items() if name in OWNED_ELSEWHERE and raw.get(name)]
    for name, table in cfg.devices.items():
        kind = table["kind"]
        struct = schema.devices.get(kind) if isinstance(kind, str) else None
        if schema.devices and struct is None:
            raise fail(("devices", name, "kind"), f"must be one of {', '.join(map(repr, schema.devices))} "
                       f"(got {kind!r})", where)
        if struct is not None:
            owned.append((("devices", name), convert(struct, table, ("devices", name), where)))
    _check(cfg, owned, where, base_dir or Path.cwd())
    return cfg


def _device_tables(devices: Any, where: Where) -> dict[str, dict[str, Any]]:
    if not isinstance(devices, dict):
        raise fail(("devices",), f"must be tables [devices.NAME] (got {devices!r})", where)
    for name, table in devices.items():
        if not isinstance(table, dict):
            raise fail(("devices", name), f"must be a table [devices.{name}] (got {table!r})", where)
        if "kind" not in table:
            raise fail(("devices", name, "kind"), "", where, form="required")
    return devices


def _check(cfg: HallConfig, owned: list[tuple[tuple[str | int, ...], Section]], where: Where, base: Path) -> None:
    """Every section's own rules, then the rules across sections; the first failure is raised."""
    sections: list[tuple[tuple[str | int, ...], Section]] = [
        (("hall",), cfg.hall), (("rules",), cfg.rules),
        *((("businesses", i), b) for i, b in enumerate(cfg.businesses)),
        *((("windows", i), w) for i, w in enumerate(cfg.windows)),
        (("cases",), cfg.cases), (("calendar",), cfg.calendar), (("retention",), cfg.retention), *owned,
    ]
    for path, section in sections:
        run_check(section, path, cfg, where)
    seen: dict[tuple[str, Any], int] = {}
    for i, b in enumerate(cfg.businesses):
        for option, value in (("code", b.code), ("prefix", b.prefix)):
            if (option, value) in seen:
                raise fail(("businesses", i, option), f"{value!r} is already used by [[businesses]] "
                           f"#{seen[option, value] + 1}", where)
            seen[option, value] = i
    for i, w in enumerate(cfg.windows):
        if ("number", w.number) in seen:
            raise fail(("windows", i, "number"), f"{w.number} is already used by [[windows]] "
                       f"#{seen['number', w.number] + 1}", where)
        seen["number", w.number] = i
    if cfg.calendar.overrides:
        _read_overrides(cfg.calendar, base, where)


def _read_overrides(cal: CalendarSection, base: Path, where: Where) -> None:
    path = Path(cal.overrides)
    path = path if path.is_absolute() else base / path
    option = ("calendar", "overrides")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise fail(option, f"cannot be read: {path}: {exc.strerror or exc}", where) from exc
    except UnicodeDecodeError as exc:
        raise fail(option, f"is not UTF-8 text: {path} (byte {exc.start})", where) from exc
    try:
        f = parse_calendar(text, str(path))
    except ValueError as exc:
        raise fail(option, f"has a bad line: {exc}", where) from exc
    cal.closed, cal.open_days, cal.complete = sorted(f.closed), sorted(f.open_days), sorted(f.complete)
    cal.names = {d.isoformat(): n for d, n in sorted({**f.closed, **f.open_days}.items()) if n}


def language_gaps(cfg: HallConfig) -> list[str]:
    """What a screen in one of the hall's languages would show in Chinese because the file has no translation:
    `hall check-config` says each, so a hall sees them before a citizen does."""
    gaps: list[str] = []
    for lang in cfg.hall.languages:
        if lang == "zh":
            continue
        said = f"{LANGUAGES[lang][0]} ({lang})"
        for i, b in enumerate(cfg.businesses, 1):
            if lang not in b.names:
                gaps.append(f"[[businesses]] #{i} {b.code!r}: no name in {said} — names.{lang}; "
                            f"the kiosk shows {b.name!r}")
            if b.guide_titles and lang not in b.guide_titles:
                gaps.append(f"[[businesses]] #{i} {b.code!r}: no guide title in {said} — guide_titles.{lang}")
        if cfg.hall.notice and lang not in cfg.hall.notices:
            gaps.append(f"[hall]: no notice in {said} — notices.{lang}; the kiosk shows {cfg.hall.notice!r}")
    return gaps
