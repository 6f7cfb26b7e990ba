"""The hall TOML's one schema: the core's sections plus [sync], [lan] and every device kind, assembled once.

`hall check-config`, `hall run server`, every screen role and the demo load the file through `load` here, so they
can never disagree about it; docs/config.md's option tables are generated from the same Structs (`reference`)."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from msgspec import inspect as mi

from devices.config import DeviceSection
from devices.evaluator.config import KeypadRow
from devices.supervisor import SECTIONS as DEVICE_SECTIONS
from kiosk.core import config as core
from kiosk.core.config import HallConfig
from kiosk.core.sections import Schema, Section, expectation
from kiosk.web.settings import WebSettings
from sync.settings import LanSettings, SyncSettings

SCHEMA = Schema(sections={"sync": SyncSettings, "lan": LanSettings, "web": WebSettings}, devices=DEVICE_SECTIONS)


def load(path: str | Path) -> HallConfig:
    """The hall file, every section checked; ConfigError names the file, section, option and line."""
    return core.load(path, SCHEMA)


def loads(text: str, source: str = "<config>", *, base_dir: Path | None = None) -> HallConfig:
    return core.loads(text, source, SCHEMA, base_dir=base_dir)


# --- every option, for the reference and the tests ---------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """One documented table: how it is written, its Struct and which of its fields it documents."""

    title: str  # "[hall]", "[devices.NAME] kind = \"printer\""
    struct: type[Section]
    fields: tuple[str, ...]
    intro: str = ""


def _own(struct: type[Section], base: type[Section] | None = None) -> tuple[str, ...]:
    inherited = {f.name for f in msgspec.structs.fields(base)} if base else set()
    return tuple(f.name for f in msgspec.structs.fields(struct)
                 if f.name not in inherited and f.name not in struct.DERIVED)


def tables() -> list[Table]:
    """Every table of the hall file, in the order docs/config.md lists them."""
    out = [Table("[hall]", core.HallSection, _own(core.HallSection)),
           Table("[rules]", core.Rules, _own(core.Rules)),
           Table("[[businesses]]", core.Business, _own(core.Business)),
           Table("[[windows]]", core.Window, _own(core.Window)),
           Table("[calendar]", core.CalendarSection, _own(core.CalendarSection)),
           Table("[cases]", core.CaseSettings, _own(core.CaseSettings), "See docs/cases.md."),
           Table("[retention]", core.RetentionSection, _own(core.RetentionSection),
                 "Personal data after the day it was taken (packaging/README.md \"Retention of personal data\")."),
           Table("[sync]", SyncSettings, _own(SyncSettings),
                 "The link to the province (docs/sync-contract.md). No [sync], or `enabled = false`: an island hall."),
           Table("[lan]", LanSettings, _own(LanSettings, SyncSettings),
                 "The hall broker that LAN screens use: every option of [sync], plus `[lan.clients]` "
                 "(docs/sync-contract.md \"LAN clients\")."),
           Table("[web]", WebSettings, _own(WebSettings),
                 "The citizen's phone pages (docs/web.md), served by `hall run server`. No [web], or "
                 "`enabled = false`: no phone pages, and no printer's `qr_url` may use `{public_base_url}`."),
           Table("[devices.NAME]", DeviceSection, _own(DeviceSection),
                 "One table per device; `kind` picks the options below (docs/devices.md).")]
    for kind, struct in DEVICE_SECTIONS.items():
        doc = "tickets/README.md" if kind == "printer" else f"devices-{kind}.md"
        out.append(Table(f"[devices.NAME] kind = \"{kind}\"", struct, _own(struct, DeviceSection),
                         f"{(struct.__doc__ or '').strip()} See docs/{doc}."))
    out.append(Table("[devices.NAME] keypads = [ {…} ]", KeypadRow, _own(KeypadRow),
                     "The list form of an evaluator's `keypads`, one table per keypad."))
    return out


def field_info(struct: type[Section], name: str) -> mi.Field:
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    return next(f for f in info.fields if f.name == name)


def description(node: mi.Type) -> str:
    if isinstance(node, mi.Metadata):
        return str((node.extra_json_schema or {}).get("description") or description(node.type))
    if isinstance(node, mi.UnionType):
        return next((d for d in map(description, node.types) if d), "")
    return ""


def _toml(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if value else '""'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def default_text(f: mi.Field) -> str:
    if f.required:
        return "required"
    value = f.default_factory() if f.default_factory is not msgspec.NODEFAULT else f.default
    return _toml(value)


def reference() -> str:
    """docs/config.md's generated part: one table per section, from the Structs' types, bounds and descriptions."""
    parts: list[str] = []
    for t in tables():
        parts.append(f"### {t.title}\n")
        if t.intro:
            parts.append(f"{t.intro}\n")
        parts.append("| option | value | default | meaning |\n|---|---|---|---|")
        for name in t.fields:
            f = field_info(t.struct, name)
            cell = " ".join(description(f.type).split()).replace("|", "\\|")
            parts.append(f"| `{name}` | {expectation(f.type).replace('|', chr(92) + '|')} | "
                         f"`{default_text(f)}` | {cell} |")
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":  # python -m kiosk.schema > the generated part of docs/config.md
    sys.stdout.write(reference())
