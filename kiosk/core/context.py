"""The command context: who runs a hall command and from which terminal, so that no command takes them as arguments
and every event records both (docs/events.md "Who and where").

A screen, the LAN server, the phone pages, the sync inbox and the CLI each set their operator around the commands
they run (`acting`); a ContextVar carries it into `Hall.run`, whose transaction stamps every event it appends.  A
window command is done by the clerk signed in at that window: the hall fills the actor in from the window row
unless a person (a manager covering from the dashboard) is already named.  With no context a command is the
system's own (the midnight rollover, an appointment's no-show sweep, a test)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# Actors: "staff:<工号>" (a person: a clerk at a window, a manager at the dashboard; in a hall without accounts the
# clerk id given at sign-in), "citizen" (the kiosk, the evaluator, the phone), "device:<name>" (a device's own
# report), "central" (the province, through sync), "console" (the hall PC's administrator at `hall ...`),
# "system" (the hall itself: rollover, sweeps), "anonymous" (someone at a staff terminal — the dashboard, a caller, a
# LAN screen — who has not signed in: a window command is still the window's clerk's, a manager's command is refused).
ACTOR_KINDS = ("staff", "citizen", "device", "central", "console", "system", "anonymous")
# a hall without accounts signs clerks in by any id (even a name): anything printable, no spaces
_NAME = r"[^\s\x00-\x1f\x7f]{1,64}"
_ACTOR = re.compile(rf"^(staff:{_NAME}|device:{_NAME}|citizen|central|console|system|anonymous)\Z")
_TERMINAL = re.compile(r"^[^\s\x00-\x1f\x7f]{0,80}\Z")  # printable, no spaces: a device's terminal is its name


@dataclass(frozen=True, slots=True)
class Operator:
    """Who (`actor`) and where (`terminal`: "kiosk", "caller-3", "dashboard", "lan:<client>", "phone", "cli",
    "sync"; "" when unknown).  `role`: the staff account's role when the actor is a signed-in account."""

    actor: str = "system"
    terminal: str = ""
    role: str | None = None

    def __post_init__(self) -> None:
        if not _ACTOR.match(self.actor):
            raise ValueError(f"actor must be one of {', '.join(ACTOR_KINDS)} (staff:<no>, device:<name>), "
                             f"not {self.actor!r}")
        if not _TERMINAL.match(self.terminal):
            raise ValueError(f"terminal must be up to 80 printable characters without spaces, not {self.terminal!r}")

    @property
    def staff_no(self) -> str | None:
        return self.actor.removeprefix("staff:") if self.actor.startswith("staff:") else None

    @property
    def is_person(self) -> bool:
        return self.actor.startswith("staff:")

    def at(self, terminal: str) -> Operator:
        return Operator(self.actor, terminal, self.role)


SYSTEM = Operator("system")
CONSOLE = Operator("console", "cli", "admin")  # `hall ...` on the hall PC: whoever may run it administers the hall
CENTRAL = Operator("central", "sync")


def anonymous(terminal: str) -> Operator:
    """Nobody signed in at `terminal` (a staff screen before its sign-in, or after its sign-out)."""
    return Operator("anonymous", terminal)

_current: ContextVar[Operator | None] = ContextVar("hall_operator", default=None)


def current() -> Operator | None:
    """The operator set by the innermost `acting` in this thread (or task); None: nobody said."""
    return _current.get()


@contextmanager
def acting(op: Operator) -> Iterator[Operator]:
    """Run the commands inside as `op` (nested: the innermost wins; other threads are not affected)."""
    token = _current.set(op)
    try:
        yield op
    finally:
        _current.reset(token)


def staff(staff_no: str, terminal: str = "", role: str | None = None) -> Operator:
    return Operator(f"staff:{staff_no}", terminal, role)


def device(name: str) -> Operator:
    """A device acting on its own.  [devices."NAME"] may be any TOML key: recorded without its spaces, at most 64."""
    compact = "".join(name.split())[:64] or "?"
    return Operator(f"device:{compact}", f"device:{compact}")


def terminal_of(role: str, window: int | None = None) -> str:
    """The terminal name a screen of `role` uses ("caller-3"; the kiosk and the board: just the role)."""
    return f"{role}-{window}" if window is not None and role in ("caller", "evaluator") else role
