"""The one list of `hall` commands and paths the packaging relies on; the CLI must provide exactly these."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"

# The venv postinst builds and the console script pyproject declares (hall = kiosk.cli:main).
HALL_BIN = "/opt/hall-edge/venv/bin/hall"
CONFIG = "/etc/hall/hall.toml"
STATE_DIR = "/var/lib/hall"
CACHE_DIR = "/var/cache/hall"
VOICE_DIR = "/var/cache/hall/voice"
DB = "/var/lib/hall/hall.db"
CENTRAL_DB = "/var/lib/hall-central/central.db"
BACKUP_DIR = "/var/backups/hall"  # made by postinst; the nightly copies

# Roles of `hall run <role>`: the server is the single writer; the rest are screens (LAN clients).
SERVER_ROLE = "server"
SCREEN_ROLES = ("kiosk", "caller", "board", "dashboard", "evaluator")
ROLES = (SERVER_ROLE, *SCREEN_ROLES)

# subcommand -> (the positional words it takes, each a tuple of allowed values or ANY; the options a unit or
# maintainer script may pass, each taking one value). Mirrors kiosk/cli.py and sync/central.py; tests check both.
ANY = ("<any>",)
SUBCOMMANDS: dict[str, tuple[tuple[tuple[str, ...], ...], frozenset[str]]] = {
    "run": ((ROLES,), frozenset({"--config", "--db", "--window"})),
    "central": ((("run",),), frozenset({"--db"})),  # site options come from $HALL_CENTRAL_OPTS
    "voice-clips": ((), frozenset({"--dir"})),
    "check-config": ((ANY,), frozenset()),  # postinst
    "doctor": ((), frozenset({"--config"})),  # README
    "backup": ((), frozenset({"--db", "--dir", "--keep"})),  # hall-backup.service
}

# Where each unit lives in the tree and in the package.
UNIT_SOURCES = {
    "hall-server.service": PACKAGING / "systemd" / "hall-server.service",
    "hall-central.service": PACKAGING / "systemd" / "hall-central.service",
    "hall-voice-clips.service": PACKAGING / "systemd" / "hall-voice-clips.service",
    "hall-backup.service": PACKAGING / "systemd" / "hall-backup.service",
    "hall-screen@.service": PACKAGING / "kiosk-session" / "hall-screen@.service",
}
# Timers, each with the service it starts.
TIMER_SOURCES = {
    "hall-backup.timer": PACKAGING / "systemd" / "hall-backup.timer",
}
UNIT_DIR_IN_DEB = "/lib/systemd/system"
