"""The unit command lines run for real: the server starts and stops as systemd stops it; clip dirs agree."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from devices.voice import clips
from tests.packaging.contract import REPO, UNIT_SOURCES, VOICE_DIR
from tests.packaging.unitfile import hall_call, load_unit

SERVER = load_unit(UNIT_SOURCES["hall-server.service"])
CENTRAL = load_unit(UNIT_SOURCES["hall-central.service"])
SHIPPED_CONFIG = REPO / "kiosk" / "demo_hall.toml"  # what build-deb.sh puts in /etc/hall/hall.toml (plus comments)


def _unit_env(unit_name: str) -> dict[str, str]:
    unit = load_unit(UNIT_SOURCES[unit_name])
    return dict(word.split("=", 1) for word in unit.words("Service", "Environment"))


def test_announcer_default_clip_dir_is_where_the_clip_unit_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", _unit_env("hall-server.service")["XDG_CACHE_HOME"])
    assert clips.default_dir() == Path(VOICE_DIR)
    clip_call = hall_call(load_unit(UNIT_SOURCES["hall-voice-clips.service"]).get("Service", "ExecStart") or "")
    assert Path(clip_call.options["--dir"]) == clips.default_dir()


Started = tuple[subprocess.Popen[str], list[str], threading.Event]


def _start(argv: list[str], env: dict[str, str], ready: str, times: int = 1) -> Started:
    """Start `hall ...`, collect its stderr (the journal); the event fires once `times` lines contain `ready`."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", *argv], cwd=REPO, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines: list[str] = []
    seen = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if sum(ready in seen_line for seen_line in lines) >= times:
                seen.set()

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines, seen


def _stop_as_systemd_would(proc: subprocess.Popen[str], unit_name: str) -> int:
    """KillSignal= (default SIGTERM), then up to TimeoutStopSec= for the process to exit by itself."""
    unit = load_unit(UNIT_SOURCES[unit_name])
    try:
        proc.send_signal(signal.Signals[unit.get("Service", "KillSignal") or "SIGTERM"])
        return proc.wait(timeout=float(unit.get("Service", "TimeoutStopSec") or 90))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _with_paths(argv: tuple[str, ...], replace: dict[str, str]) -> list[str]:
    return [replace.get(a, a) for a in argv]


def test_server_command_line_serves_and_stops_cleanly_on_the_units_kill_signal(tmp_path: Path) -> None:
    call = hall_call(SERVER.get("Service", "ExecStart") or "")
    db = tmp_path / "hall.db"
    argv = _with_paths(call.argv, {call.options["--config"]: str(SHIPPED_CONFIG), call.options["--db"]: str(db)})
    env = {**os.environ, **_unit_env("hall-server.service"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc, lines, serving = _start(argv, env, ready=f"serving from {db}")
    ok = serving.wait(30)
    # A clean stop is exit 0, not death by signal: the store is closed and the outbox stopped.
    assert _stop_as_systemd_would(proc, "hall-server.service") == 0, "".join(lines)
    assert ok, "".join(lines)
    assert db.exists()


def test_central_command_line_stops_cleanly_on_the_units_kill_signal(tmp_path: Path) -> None:
    call = hall_call(CENTRAL.get("Service", "ExecStart") or "")
    db = tmp_path / "central.db"
    # No broker: port 1 on loopback refuses at once, and the collector keeps retrying until stopped.
    argv = [*_with_paths(call.argv, {call.options["--db"]: str(db)}), "--host", "127.0.0.1", "--port", "1"]
    # Wait for the link's second attempt: by then the collector is up and in its main loop (a signal during
    # start-up is a different matter, reported to sync).
    proc, lines, retrying = _start(argv, {**os.environ, **_unit_env("hall-central.service")},
                                   ready="link connecting", times=2)
    ok = retrying.wait(30)
    # The collector shuts its link down on KeyboardInterrupt; plain SIGTERM would kill it mid-write.
    assert _stop_as_systemd_would(proc, "hall-central.service") == 0, "".join(lines)
    assert ok, "".join(lines)


def test_server_exits_2_on_a_bad_config_so_the_unit_does_not_restart_it(tmp_path: Path) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text(SHIPPED_CONFIG.read_text(encoding="utf-8").replace("[rules]", "[rules]\nbogus_option = 1"))
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "server", "--config", str(bad), "--db",
                           str(tmp_path / "hall.db")], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == int(SERVER.get("Service", "RestartPreventExitStatus") or -1)
    assert "bogus_option" in proc.stderr
