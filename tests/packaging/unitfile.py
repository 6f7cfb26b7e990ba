"""A small systemd unit-file reader for tests: sections, repeated keys, continuation lines, ExecStart words."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.packaging.contract import ANY, HALL_BIN, SUBCOMMANDS


class UnitSyntaxError(ValueError):
    """A line systemd would reject or silently ignore."""


@dataclass
class Unit:
    name: str
    sections: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def get(self, section: str, key: str) -> str | None:
        values = self.sections.get(section, {}).get(key)
        return values[-1] if values else None

    def all(self, section: str, key: str) -> list[str]:
        return self.sections.get(section, {}).get(key, [])

    def words(self, section: str, key: str) -> list[str]:
        """Space-separated list settings (Wants=, After=, SupplementaryGroups=) over every occurrence."""
        return [w for v in self.all(section, key) for w in v.split()]


def parse_unit(text: str, name: str) -> Unit:
    unit = Unit(name)
    current: str | None = None
    pending = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise UnitSyntaxError(f"{name}:{lineno}: bad section header {line!r}")
            current = line[1:-1]
            unit.sections.setdefault(current, {})
            continue
        if current is None:
            raise UnitSyntaxError(f"{name}:{lineno}: assignment outside a section")
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or " " in key.strip():
            raise UnitSyntaxError(f"{name}:{lineno}: not a key=value line: {line!r}")
        unit.sections[current].setdefault(key.strip(), []).append(value.strip())
    if pending:
        raise UnitSyntaxError(f"{name}: file ends inside a continuation line")
    return unit


def load_unit(path: Path) -> Unit:
    return parse_unit(path.read_text(encoding="utf-8"), path.name)


@dataclass(frozen=True)
class HallCall:
    subcommand: str
    positionals: tuple[str, ...]
    options: dict[str, str]
    argv: tuple[str, ...]  # the words after `hall`, environment variables dropped

    @property
    def role(self) -> str | None:
        return self.positionals[0] if self.subcommand == "run" else None


def hall_call(exec_start: str, instance: str | None = None) -> HallCall:
    """The `hall ...` invocation inside an ExecStart= (directly or after `cage ... --`), checked against the contract.

    `%i` is replaced by `instance` first, as systemd would for a template instance; `$VAR` words (from an
    EnvironmentFile) are dropped.
    """
    words = shlex.split(exec_start.replace("%i", instance) if instance else exec_start)
    if HALL_BIN not in words:
        raise ValueError(f"ExecStart does not run {HALL_BIN}: {exec_start!r}")
    args = [w for w in words[words.index(HALL_BIN) + 1 :] if not w.startswith("$")]
    if not args or args[0] not in SUBCOMMANDS:
        raise ValueError(f"unknown hall subcommand in {exec_start!r} (known: {sorted(SUBCOMMANDS)})")
    sub, rest = args[0], args[1:]
    allowed_positionals, allowed_options = SUBCOMMANDS[sub]
    positionals: list[str] = []
    for choices in allowed_positionals:
        if not rest or (choices != ANY and rest[0] not in choices):
            raise ValueError(f"`hall {sub}` needs one of {choices} here: {exec_start!r}")
        positionals.append(rest.pop(0))
    options: dict[str, str] = {}
    while rest:
        opt = rest.pop(0)
        if opt not in allowed_options or not rest:
            raise ValueError(f"option {opt!r} is not in the contract for `hall {sub}`: {exec_start!r}")
        options[opt] = rest.pop(0)
    return HallCall(sub, tuple(positionals), options, tuple(args))
