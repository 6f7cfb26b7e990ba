"""The systemd units parse, run real `hall` subcommands, carry the hardening, and pass systemd-analyze verify."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.packaging.contract import (
    BACKUP_DIR,
    CACHE_DIR,
    CENTRAL_DB,
    CONFIG,
    DB,
    PACKAGING,
    SCREEN_ROLES,
    STATE_DIR,
    TIMER_SOURCES,
    UNIT_SOURCES,
    VOICE_DIR,
)
from tests.packaging.unitfile import Unit, UnitSyntaxError, hall_call, load_unit, parse_unit

UNITS = {name: load_unit(path) for name, path in UNIT_SOURCES.items()}
TIMERS = {name: load_unit(path) for name, path in TIMER_SOURCES.items()}
DAEMONS = ("hall-server.service", "hall-central.service")
HARDENED = ("hall-server.service", "hall-central.service", "hall-voice-clips.service", "hall-backup.service")


def test_every_unit_file_in_the_tree_is_listed_in_the_contract() -> None:
    on_disk = {p.name for p in PACKAGING.rglob("*.service") if "mosquitto" not in p.parts}
    assert on_disk == set(UNIT_SOURCES)
    assert {p.name for p in PACKAGING.rglob("*.timer")} == set(TIMER_SOURCES)


@pytest.mark.parametrize("name", sorted(UNIT_SOURCES))
def test_unit_has_only_known_sections_and_a_description(name: str) -> None:
    unit = UNITS[name]
    assert set(unit.sections) <= {"Unit", "Service", "Install"}
    assert unit.get("Unit", "Description")
    assert len(unit.all("Service", "ExecStart")) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ExecStart=/bin/true\n", "outside a section"),
        ("[Service\nType=simple\n", "bad section header"),
        ("[Service]\nthis is not an assignment\n", "not a key=value"),
        ("[Service]\nExecStart=/bin/true \\\n", "continuation"),
    ],
)
def test_reader_rejects_what_systemd_would_not_load(text: str, message: str) -> None:
    with pytest.raises(UnitSyntaxError, match=message):
        parse_unit(text, "bad.service")


def test_reader_joins_continuations_and_keeps_repeated_keys() -> None:
    unit = parse_unit("[Service]\nExecStart=/bin/echo a \\\n  b\nDeviceAllow=x rw\nDeviceAllow=y rw\n", "t.service")
    assert unit.get("Service", "ExecStart") == "/bin/echo a b"
    assert unit.all("Service", "DeviceAllow") == ["x rw", "y rw"]


def test_server_runs_the_single_writer_role_with_the_hall_config() -> None:
    call = hall_call(UNITS["hall-server.service"].get("Service", "ExecStart") or "")
    assert (call.subcommand, call.role, call.options) == ("run", "server", {"--config": CONFIG, "--db": DB})
    assert DB.startswith(STATE_DIR + "/")


def test_voice_clips_render_into_the_cache_dir_before_the_server() -> None:
    clips = UNITS["hall-voice-clips.service"]
    call = hall_call(clips.get("Service", "ExecStart") or "")
    assert call.subcommand == "voice-clips"
    assert call.options == {"--dir": VOICE_DIR}
    assert clips.get("Service", "Type") == "oneshot"
    assert clips.get("Service", "RemainAfterExit") == "yes"
    assert VOICE_DIR.startswith(CACHE_DIR + "/")
    server = UNITS["hall-server.service"]
    # Wants, not Requires: a failed render costs the voice, never the hall.
    assert "hall-voice-clips.service" in server.words("Unit", "Wants")
    assert "hall-voice-clips.service" in server.words("Unit", "After")
    assert "hall-voice-clips.service" not in server.words("Unit", "Requires")
    # The announcer's default clip dir is $XDG_CACHE_HOME/hall/voice: both units must agree on it.
    for unit in (clips, server):
        env = dict(w.split("=", 1) for w in unit.words("Service", "Environment"))
        assert env["XDG_CACHE_HOME"] + "/hall/voice" == VOICE_DIR


def test_central_takes_site_options_from_its_environment_file() -> None:
    central = UNITS["hall-central.service"]
    call = hall_call(central.get("Service", "ExecStart") or "")
    assert (call.subcommand, call.positionals, call.options) == ("central", ("run",), {"--db": CENTRAL_DB})
    assert central.get("Service", "StateDirectory") == CENTRAL_DB.split("/")[3]
    # The collector's loop stops cleanly on KeyboardInterrupt only.
    assert central.get("Service", "KillSignal") == "SIGINT"
    assert central.get("Service", "EnvironmentFile") == "-/etc/default/hall-central"
    assert "$HALL_CENTRAL_OPTS" in (central.get("Service", "ExecStart") or "")


def test_backup_copies_the_servers_store_nightly_and_keeps_n() -> None:
    service, timer = UNITS["hall-backup.service"], TIMERS["hall-backup.timer"]
    call = hall_call(service.get("Service", "ExecStart") or "")
    assert call.subcommand == "backup"
    assert (call.options["--db"], call.options["--dir"]) == (DB, BACKUP_DIR)
    assert int(call.options["--keep"]) >= 7, "a week of nights at least"
    assert service.get("Service", "Type") == "oneshot"
    assert service.get("Service", "User") == "hall", "the store's owner: SQLite writes its -shm even to read"
    assert set(service.words("Service", "ReadWritePaths")) == {STATE_DIR, BACKUP_DIR}
    assert service.get("Service", "UMask") == "0077", "a copy holds personal data and the ID-hash key"
    # a screen PC (no store) skips the night instead of failing it
    assert service.get("Unit", "ConditionPathExists") == DB
    assert "Install" not in service.sections, "started by its timer only"
    assert timer.get("Timer", "Unit") == "hall-backup.service"
    assert timer.get("Timer", "Persistent") == "true", "a night the PC was off is made up at the next boot"
    assert timer.get("Timer", "OnCalendar")
    assert timer.get("Install", "WantedBy") == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_backup_runs_once_a_night() -> None:
    spec = TIMERS["hall-backup.timer"].get("Timer", "OnCalendar") or ""
    proc = subprocess.run(["systemd-analyze", "calendar", "--iterations=2", spec], capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    nexts = re.findall(r"(?:Next elapse|Iter\. #2): \w+ (\S+ \S+)", proc.stdout)
    assert len(nexts) == 2, proc.stdout
    first, second = (datetime.fromisoformat(n) for n in nexts)
    assert second - first == timedelta(days=1)


@pytest.mark.parametrize("role", SCREEN_ROLES)
def test_screen_template_runs_each_screen_role_inside_cage(role: str) -> None:
    screen = UNITS["hall-screen@.service"]
    exec_start = screen.get("Service", "ExecStart") or ""
    assert exec_start.startswith("/usr/bin/cage ")
    # Everything after `--` is the application; cage options stay before it.
    assert exec_start.index(" -- ") < exec_start.index("/opt/hall-edge")
    assert " -s " not in exec_start.split(" -- ")[0] + " ", "VT switching would let a keyboard leave the kiosk"
    call = hall_call(exec_start, instance=role)
    assert (call.subcommand, call.role, call.options) == ("run", role, {"--config": CONFIG})
    # Per-PC options (a caller's --window) come from /etc/default/hall-screen.
    assert screen.get("Service", "EnvironmentFile") == "-/etc/default/hall-screen"
    assert exec_start.endswith(" $HALL_SCREEN_OPTS")


def test_screen_session_owns_tty1_with_a_logind_session() -> None:
    screen = UNITS["hall-screen@.service"]
    assert screen.get("Service", "TTYPath") == "/dev/tty1"
    assert "getty@tty1.service" in screen.words("Unit", "Conflicts")
    assert screen.get("Service", "User") == "hall-kiosk"
    pam = screen.get("Service", "PAMName")
    assert pam == "hall-screen"
    pam_text = (PACKAGING / "kiosk-session" / "hall-screen.pam").read_text(encoding="utf-8")
    assert re.search(r"^session\s+required\s+pam_systemd\.so", pam_text, re.M)
    assert re.search(r"^auth\s+required\s+pam_deny\.so", pam_text, re.M), "no password login through this stack"
    env = " ".join(screen.all("Service", "Environment"))
    assert "QT_QPA_PLATFORM=wayland" in env
    assert "HALL_HIDE_CURSOR=1" in env
    assert screen.get("Install", "WantedBy") == "graphical.target"


@pytest.mark.parametrize("name", [*DAEMONS, "hall-screen@.service"])
def test_long_running_units_restart_forever(name: str) -> None:
    unit = UNITS[name]
    assert unit.get("Service", "Type") == "simple"
    assert unit.get("Service", "Restart") == "always"
    assert unit.get("Service", "RestartSec") == "2"
    assert unit.get("Unit", "StartLimitIntervalSec") == "0"


@pytest.mark.parametrize("name", HARDENED)
def test_hardening_keys_present(name: str) -> None:
    unit = UNITS[name]
    required = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
        "User": "hall",
    }
    assert {k: unit.get("Service", k) for k in required} == required
    assert unit.get("Service", "MemoryMax"), "a runaway process must not take the PC with it"
    assert unit.get("Service", "ReadWritePaths")


def test_server_can_reach_its_devices_and_only_those() -> None:
    server = UNITS["hall-server.service"]
    assert set(server.words("Service", "SupplementaryGroups")) == {"dialout", "lp", "audio"}
    assert server.get("Service", "PrivateDevices") is None, "PrivateDevices would hide /dev/serial/by-id"
    assert server.get("Service", "DevicePolicy") == "closed"
    allowed = {rule.split()[0] for rule in server.all("Service", "DeviceAllow")}
    # USB-serial adapters, CDC-ACM boards, on-board UARTs, usblp printers, libusb printers, the speaker.
    assert {"char-ttyUSB", "char-ttyACM", "char-ttyS", "char-usb", "char-usb_device", "char-alsa"} <= allowed
    assert server.get("Service", "StateDirectory") == "hall"
    assert server.get("Service", "CacheDirectory") == "hall"
    assert set(server.words("Service", "ReadWritePaths")) >= {STATE_DIR, CACHE_DIR}
    assert server.get("Install", "WantedBy") == "multi-user.target"
    # kiosk.cli exits 2 on a ConfigError: a restart loop cannot fix a config file.
    assert server.get("Service", "RestartPreventExitStatus") == "2"


def _analyzable_copy(src: Unit, path: Path, dest: Path) -> None:
    """The unit as shipped, but with ExecStart's program pointed at a stub: verify checks that it exists."""
    program = (src.get("Service", "ExecStart") or "").split()[0]
    dest.write_text(path.read_text(encoding="utf-8").replace(f"ExecStart={program}", "ExecStart=/bin/true"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    names: list[str] = []
    for name, path in UNIT_SOURCES.items():
        if name.endswith("@.service"):
            for role in SCREEN_ROLES:
                instance = name.replace("@", f"@{role}")
                _analyzable_copy(UNITS[name], path, tmp_path / instance)
                names.append(instance)
        else:
            _analyzable_copy(UNITS[name], path, tmp_path / name)
            names.append(name)
    for name, path in TIMER_SOURCES.items():  # verify checks the service each timer starts is there too
        (tmp_path / name).write_bytes(path.read_bytes())
        names.append(name)
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in names)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    # Warnings about our files (unknown keys, bad values) go to stderr with rc 0: treat them as failures.
    ours = [line for line in proc.stderr.splitlines() if any(n in line for n in names)]
    assert proc.returncode == 0 and not ours, proc.stderr
