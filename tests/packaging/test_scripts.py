"""Maintainer scripts and build script: syntax, shellcheck, policy arguments, and remove vs purge in a temp root."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.contract import PACKAGING

MAINTAINER = {name: PACKAGING / "debian" / name for name in ("postinst", "prerm", "postrm")}
SHELL_SCRIPTS = [*MAINTAINER.values(), PACKAGING / "build-deb.sh"]

# The arguments Debian policy (ch. 6) passes each script; every one must be handled, anything else refused.
POLICY_ARGS = {
    "postinst": ("configure", "abort-upgrade", "abort-remove", "abort-deconfigure"),
    "prerm": ("remove", "upgrade", "deconfigure", "failed-upgrade"),
    "postrm": ("remove", "purge", "upgrade", "failed-upgrade", "abort-install", "abort-upgrade", "disappear"),
}
STUBS = ("deb-systemd-helper", "deb-systemd-invoke", "dpkg-statoverride", "systemctl", "adduser")


@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(path: Path) -> None:
    shell = "bash" if path.suffix == ".sh" else "sh"  # maintainer scripts are POSIX sh (dash on Debian)
    assert path.read_text().startswith("#!/bin/sh\n" if shell == "sh" else "#!/usr/bin/env bash\n")
    proc = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
@pytest.mark.parametrize("path", MAINTAINER.values(), ids=lambda p: p.name)
def test_maintainer_scripts_parse_under_dash(path: Path) -> None:
    proc = subprocess.run(["dash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt install shellcheck)")
@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(path: Path) -> None:
    proc = subprocess.run(["shellcheck", "-x", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("name", sorted(MAINTAINER))
def test_every_policy_argument_has_a_case_arm(name: str) -> None:
    arms = set()
    for pattern in re.findall(r"^\s+([a-z|-]+)\)\s*$", MAINTAINER[name].read_text(), re.M):
        arms.update(pattern.split("|"))
    assert set(POLICY_ARGS[name]) <= arms


def _sandbox(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A temp root for DPKG_ROOT and stub helpers that log their calls instead of touching this machine."""
    root, bin_dir, log = tmp_path / "root", tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for stub in STUBS:
        (bin_dir / stub).write_text(f'#!/bin/sh\necho "{stub} $*" >> "{log}"\nexit 0\n')
        (bin_dir / stub).chmod(0o755)
    for d in ("var/lib/hall", "var/cache/hall/voice", "var/lib/hall-kiosk", "opt/hall-edge/venv/bin", "etc/hall"):
        (root / d).mkdir(parents=True)
    (root / "var/lib/hall/hall.db").write_bytes(b"SQLite format 3\x00")
    (root / "opt/hall-edge/venv/bin/hall").write_text("#!/bin/sh\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DPKG_ROOT": str(root)}
    return root, env, log


def _run(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert env.get("DPKG_ROOT"), "never run a maintainer script against the real root"
    return subprocess.run(["sh", str(MAINTAINER[name]), *args], capture_output=True, text=True, env=env,
                          timeout=30, check=False)


@pytest.mark.parametrize("name", sorted(MAINTAINER))
def test_unknown_argument_is_refused_without_side_effects(name: str, tmp_path: Path) -> None:
    root, env, log = _sandbox(tmp_path)
    proc = _run(name, env, "frobnicate")
    assert proc.returncode == 1
    assert f"{name} called with unknown argument 'frobnicate'" in proc.stderr
    assert not log.exists()
    assert (root / "var/lib/hall/hall.db").exists()


def test_remove_keeps_the_hall_data_and_drops_the_venv(tmp_path: Path) -> None:
    root, env, log = _sandbox(tmp_path)
    assert _run("prerm", env, "remove").returncode == 0
    assert not (root / "opt/hall-edge/venv").exists(), "pip's files are ours to delete"
    assert _run("postrm", env, "remove").returncode == 0
    assert (root / "var/lib/hall/hall.db").exists()
    assert (root / "var/cache/hall/voice").is_dir()
    assert "deb-systemd-helper mask hall-server.service hall-central.service" in log.read_text()
    # No running systemd in the temp root: nothing may be stopped or reloaded.
    assert "systemctl" not in log.read_text() and "deb-systemd-invoke" not in log.read_text()


def test_upgrade_keeps_the_venv_for_postinst_to_rebuild(tmp_path: Path) -> None:
    root, env, _log = _sandbox(tmp_path)
    assert _run("prerm", env, "upgrade").returncode == 0
    assert _run("postrm", env, "upgrade").returncode == 0
    assert (root / "opt/hall-edge/venv/bin/hall").exists()
    assert (root / "var/lib/hall/hall.db").exists()


def test_purge_removes_data_caches_and_overrides(tmp_path: Path) -> None:
    root, env, log = _sandbox(tmp_path)
    assert _run("postrm", env, "purge").returncode == 0
    for gone in ("var/lib/hall", "var/cache/hall", "var/lib/hall-kiosk", "etc/hall"):
        assert not (root / gone).exists(), gone
    calls = log.read_text()
    assert "deb-systemd-helper purge hall-server.service hall-central.service" in calls
    assert "dpkg-statoverride --remove /etc/hall/hall.toml" in calls


def test_purge_leaves_an_admins_own_files_in_etc_hall(tmp_path: Path) -> None:
    root, env, _log = _sandbox(tmp_path)
    (root / "etc/hall/ca.pem").write_text("admin's certificate")
    assert _run("postrm", env, "purge").returncode == 0
    assert (root / "etc/hall/ca.pem").exists()
    assert not (root / "var/lib/hall").exists()


def test_no_script_touches_the_real_root_paths_without_the_prefix() -> None:
    """prerm/postrm delete things: every absolute data path must carry $ROOT, or a test run would hit this machine."""
    for name in ("prerm", "postrm"):
        for line in MAINTAINER[name].read_text().splitlines():
            if re.search(r"\b(rm|rmdir)\b", line) and not line.lstrip().startswith("#"):
                assert re.findall(r'(?<!\$ROOT)(?<!")/(?:var|opt|etc|run)/', line) == [], f"{name}: {line}"


def test_postinst_builds_the_venv_on_debians_python() -> None:
    """Root's PATH may start with pyenv or /usr/local: that python3 must not become the venv's base."""
    text = MAINTAINER["postinst"].read_text()
    assert "PYTHON=/usr/bin/python3" in text
    assert re.search(r'^\s+"\$PYTHON" -m venv "\$VENV"$', text, re.M)
    assert not re.search(r"^\s+python3 ", text, re.M)


def test_build_script_is_executable() -> None:
    assert os.access(PACKAGING / "build-deb.sh", os.X_OK)


def test_postinst_enables_the_backup_timer_and_makes_its_directory() -> None:
    """Enabled like the server (an admin's disable respected) and started: a timer only waits for the night."""
    text = MAINTAINER["postinst"].read_text()
    assert re.search(r"^\s+install -d -o hall -g hall -m 0750 /var/backups/hall$", text, re.M)
    assert "deb-systemd-helper --quiet was-enabled hall-backup.timer" in text
    assert re.search(r"^\s+deb-systemd-invoke start hall-backup.timer\b", text, re.M)
    assert "hall-backup.timer" in MAINTAINER["prerm"].read_text()


def test_remove_masks_and_purge_forgets_the_backup_timer_but_keeps_the_backups(tmp_path: Path) -> None:
    root, env, log = _sandbox(tmp_path)
    (root / "var/backups/hall").mkdir(parents=True)
    (root / "var/backups/hall/hall-20261124-023000.db").write_bytes(b"SQLite format 3\x00")
    assert _run("postrm", env, "remove").returncode == 0
    assert _run("postrm", env, "purge").returncode == 0
    calls = log.read_text()
    assert re.search(r"deb-systemd-helper mask .*hall-backup\.timer", calls)
    assert re.search(r"deb-systemd-helper purge .*hall-backup\.timer", calls)
    assert (root / "var/backups/hall/hall-20261124-023000.db").exists()
