"""One schema for the hall TOML: each section is a Struct declared by the package that owns it; this module turns
a TOML table into its Struct and every failure into a ConfigError naming the file, section, option and line."""
from __future__ import annotations

import pathlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec
from msgspec import inspect as mi

from kiosk.core.errors import ConfigError

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

Path = tuple[str | int, ...]  # ('devices', 'ev1', 'keypads', 0, 'window')


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A TOML table.  Field types and msgspec.Meta bounds are the schema, Meta(description=…) documents the option
    (docs/config.md is generated from it), `check` holds the rules a type cannot say.

    Meta(extra={"expect": "…"}) replaces the generated "must be …" text where the type alone reads badly."""

    DERIVED: ClassVar[frozenset[str]] = frozenset()  # fields filled in at load: never written in the file
    MOVED: ClassVar[Mapping[str, str]] = {}  # an option that moved → where to, said when the old name is refused

    def check(self, hall: HallConfig | None) -> None:
        """Rules across options or against the rest of the hall (None when there is no hall); raise OptionError."""


class OptionError(ValueError):
    """Raised by `Section.check`: the option (a path inside the section) and what must be true of it."""

    def __init__(self, option: str | Sequence[str | int], message: str) -> None:
        self.path: Path = (option,) if isinstance(option, str) else tuple(option)
        super().__init__(message)


@dataclass(frozen=True)
class Schema:
    """The sections the core cannot name itself (they belong to devices/ and sync/); kiosk.schema assembles it."""

    sections: Mapping[str, type[Section]] = field(default_factory=dict)  # top-level table → its Struct
    devices: Mapping[str, type[Section]] = field(default_factory=dict)  # [devices.NAME] kind → its Struct


# --- where an option is written ----------------------------------------------------------------------------------
class Locator:
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

    def line_of(self, path: Path) -> int | None:
        """The line of the key at `path`; for a missing key, the header of its table."""
        parts = list(path)
        # the longest table first: [devices.ev1] + keypads for ('devices', 'ev1', 'keypads', 0, 'window')
        for cut in range(len(parts) - 1, -1, -1):
            found = self._try(parts[:cut], parts[cut:], want_key=True)
            if found:
                return found
        for cut in range(len(parts), 0, -1):
            found = self._try(parts[:cut], [], want_key=False)
            if found:
                return found
        return None

    def _try(self, head: list[str | int], rest: list[str | int], *, want_key: bool) -> int | None:
        index = None
        if head and isinstance(head[-1], int):
            index, head = head[-1], head[:-1]
        if any(isinstance(p, int) for p in head):
            return None
        key = next((p for p in rest if isinstance(p, str)), None) if want_key else None
        if want_key and key is None:
            return None
        if not head and (index is not None or not want_key):
            return None
        return self.find(".".join(str(p) for p in head), index, key)


@dataclass(frozen=True)
class Where:
    """The file a table came from, for messages: its name and the text's line finder."""

    source: str = ""
    locator: Locator | None = None


def label(path: Path) -> str:
    """('devices', 'ev1', 'keypads', 0) → 'devices.ev1.keypads[0]'."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def fail(path: Path, text: str, where: Where | None = None, *, form: str = "value") -> ConfigError:
    """The one message shape: option 'x' in section [s] <text> / is not valid in / is required in (line n)."""
    trimmed = list(path)
    while trimmed and isinstance(trimmed[-1], int):
        trimmed.pop()
    option = str(trimmed[-1]) if trimmed else ""
    section = label(tuple(trimmed[:-1]))
    place = f"in section [{section}]" if section else "at the top level"
    if form == "unknown":
        msg = f"option '{option}' is not valid {place}{text}"
    elif form == "required":
        msg = f"option '{option}' is required {place}"
    else:
        msg = f"option '{option}' {place} {text}"
    where = where or Where()
    line = where.locator.line_of(path) if where.locator else None
    return ConfigError(f"{where.source}: {msg}" if where.source else msg, option=option, section=section, line=line)


# --- reading a file ----------------------------------------------------------------------------------------------
def read_text(path: str | PathLike[str], what: str = "config") -> str:
    """A TOML file's text; unreadable or not UTF-8 is a ConfigError (a BOM from Windows Notepad is fine)."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8", line=line) from exc


def parse_toml(text: str, source: str) -> tuple[dict[str, Any], Where]:
    """The parsed tables and where they came from (for line numbers in later errors)."""
    try:
        return tomllib.loads(text), Where(source, Locator(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc


# --- reading a table ---------------------------------------------------------------------------------------------
S = TypeVar("S", bound=Section)


def convert(struct: type[S], table: Any, path: Path, where: Where | None = None) -> S:
    """The table as its Struct, types and bounds checked (not yet `check`ed)."""
    if not isinstance(table, dict):
        raise fail(path, f"must be a table (got {_show(table)})", where)
    derived = sorted(set(table) & struct.DERIVED)
    if derived:
        raise fail((*path, derived[0]), "", where, form="unknown")
    try:
        return msgspec.convert(table, struct)
    except msgspec.ValidationError as exc:
        raise _explain(struct, table, path, str(exc), where) from None


def run_check(section: Section, path: Path, hall: HallConfig | None, where: Where | None = None) -> None:
    try:
        section.check(hall)
    except OptionError as exc:
        raise fail((*path, *exc.path), str(exc), where) from None


def read_section(struct: type[S], table: Any, section: str | Path, *, hall: HallConfig | None = None,
                 where: Where | None = None) -> S:
    """Read one table (`section` as written: 'sync', 'devices.led1' or a path) through its Struct and its check."""
    path: Path = tuple(section.split(".")) if isinstance(section, str) else section
    out = convert(struct, table, path, where)
    run_check(out, path, hall, where)
    return out


_AT = re.compile(r" - at `\$([^`]*)`$")
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\[\.\.\.\]")


def _explain(struct: type[Section], table: dict[str, Any], path: Path, msg: str, where: Where | None) -> ConfigError:
    rel: list[str | int] = []
    m = _AT.search(msg)
    if m:
        for t in _TOKEN.finditer(m.group(1)):
            if t.group(0) == "[...]":
                break  # a bad value inside a table of names: name the table option
            rel.append(t.group(1) if t.group(1) is not None else int(t.group(2)))
    text = msg[: m.start()] if m else msg
    unknown = re.match(r"Object contains unknown field `([^`]+)`", text)
    if unknown:
        owner = _struct_at(struct, rel)
        hint = (owner.MOVED.get(unknown.group(1)) if owner else None) or ""
        return fail((*path, *rel, unknown.group(1)), f" ({hint})" if hint else "", where, form="unknown")
    missing = re.match(r"Object missing required field `([^`]+)`", text)
    if missing:
        return fail((*path, *rel, missing.group(1)), "", where, form="required")
    while rel and isinstance(rel[-1], int):  # an item of a list: say what the whole option must be
        rel.pop()
    node = _type_at(mi.type_info(struct), rel)
    value = _value_at(table, rel)
    if node is None:
        return fail((*path, *rel), f"is not valid: {text} (got {_show(value)})", where)
    return fail((*path, *rel), f"must be {expectation(node)} (got {_show(value)})", where)


def _struct_at(struct: type[Section], rel: list[str | int]) -> type[Section] | None:
    node = _type_at(mi.type_info(struct), rel)
    while node is not None and not isinstance(node, mi.StructType):
        node = node.item_type if isinstance(node, mi.ListType) else (
            next((t for t in node.types if isinstance(t, mi.StructType | mi.ListType)), None)
            if isinstance(node, mi.UnionType) else None)
    if isinstance(node, mi.StructType) and issubclass(node.cls, Section):
        return node.cls
    return None


def _type_at(node: mi.Type, rel: list[str | int]) -> mi.Type | None:
    """The declared type at a path; a Metadata wrapper is kept on the last step (its `extra` may say "expect")."""
    cur: mi.Type | None = node
    for step in rel:
        cur = _step(cur, step)
        if cur is None:
            return None
    return cur


def _step(node: mi.Type | None, step: str | int) -> mi.Type | None:
    while isinstance(node, mi.Metadata):
        node = node.type
    if isinstance(node, mi.UnionType):
        return next((t for t in (_step(m, step) for m in node.types) if t is not None), None)
    if isinstance(node, mi.StructType) and isinstance(step, str):
        return next((f.type for f in node.fields if f.name == step), None)
    if isinstance(node, mi.ListType) and isinstance(step, int):
        return node.item_type
    if isinstance(node, mi.DictType) and isinstance(step, str):
        return node.value_type
    return None


def _value_at(table: Any, rel: list[str | int]) -> Any:
    cur = table
    for step in rel:
        try:
            cur = cur[step]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


# --- "must be …" from the declared type --------------------------------------------------------------------------
def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _bounds(t: mi.IntType | mi.FloatType) -> str:
    lo, lo_incl = (t.ge, True) if t.ge is not None else (t.gt, False)
    hi, hi_incl = (t.le, True) if t.le is not None else (t.lt, False)
    if lo is not None and hi is not None:
        if lo_incl and hi_incl:
            return f" from {_num(lo)} to {_num(hi)}"
        return f" {'from' if lo_incl else 'above'} {_num(lo)} and {'up to' if hi_incl else 'below'} {_num(hi)}"
    if lo is not None:
        return f" of at least {_num(lo)}" if lo_incl else f" above {_num(lo)}"
    if hi is not None:
        return f" of at most {_num(hi)}" if hi_incl else f" below {_num(hi)}"
    return ""


def expectation(node: mi.Type) -> str:
    """What a value of this declared type must be, in words: 'an integer from 0 to 20', 'one of 'on', 'off''."""
    if isinstance(node, mi.Metadata):
        expect = (node.extra or {}).get("expect")
        return str(expect) if expect else expectation(node.type)
    if isinstance(node, mi.BoolType):
        return "true or false"
    if isinstance(node, mi.IntType):
        return "an integer" + _bounds(node) + (f", a multiple of {node.multiple_of}" if node.multiple_of else "")
    if isinstance(node, mi.FloatType):
        if node.gt == 0 and node.ge is None and node.le is None and node.lt is None:
            return "a positive number"
        return "a number" + _bounds(node)
    if isinstance(node, mi.StrType):
        if node.pattern:
            return f"a string matching {node.pattern}"
        return "a non-empty string" if node.min_length else "a string"
    if isinstance(node, mi.LiteralType):
        values = [repr(v) for v in node.values]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if isinstance(node, mi.ListType):
        return "a list of " + _plural(node.item_type) + (" (at least one)" if node.min_length else "")
    if isinstance(node, mi.DictType):
        return "a table of names = " + _plural(node.value_type)
    if isinstance(node, mi.StructType):
        return "a table"
    if isinstance(node, mi.UnionType):
        return " or ".join(expectation(t) for t in node.types if not isinstance(t, mi.NoneType))
    if isinstance(node, mi.DateType):
        return "a date (YYYY-MM-DD)"
    return "a valid value"


def _plural(node: mi.Type) -> str:
    while isinstance(node, mi.Metadata):
        node = node.type
    if isinstance(node, mi.StrType):
        return "strings"
    if isinstance(node, mi.IntType):
        return "integers" + _bounds(node)
    if isinstance(node, mi.FloatType):
        return "numbers" + _bounds(node)
    if isinstance(node, mi.StructType):
        return "tables"
    if isinstance(node, mi.DateType):
        return "dates"
    return "values that are " + expectation(node)
