"""build-deb.sh builds an installable .deb offline: control fields, conffiles, units, scripts, config, wheel."""
from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.core.config import loads
from tests.packaging.contract import CONFIG, HALL_BIN, PACKAGING, REPO, TIMER_SOURCES, UNIT_DIR_IN_DEB, UNIT_SOURCES

BUILD = PACKAGING / "build-deb.sh"
# pip may use local file:// indexes and find-links, never the network: the index URL points at a closed port.
OFFLINE_ENV = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"}


@dataclass
class Built:
    deb: Path
    info: str
    control: dict[str, str]
    contents: str
    root: Path  # dpkg-deb -x
    meta: Path  # dpkg-deb -e (DEBIAN/)


def _control_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _run_build(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OFFLINE_ENV}
    return subprocess.run(
        ["bash", str(BUILD), "--no-deps", "--python", sys.executable, "--out", str(out), *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    out = tmp_path_factory.mktemp("dist")
    proc = _run_build(out)  # the venv's own setuptools (./run installs it): no network for the build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deb = Path(proc.stdout.strip().splitlines()[-1])
    root, meta = out / "root", out / "meta"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(meta)], check=True)
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True).stdout
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    control = _control_fields((meta / "control").read_text(encoding="utf-8"))
    yield Built(deb, info, control, contents, root, meta)


def _version() -> str:
    return re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)  # type: ignore[union-attr]


def test_file_name_and_control_fields(built: Built) -> None:
    version = _version()
    assert built.deb.name == f"hall-edge_{version}-1_all.deb"
    c = built.control
    assert (c["Package"], c["Version"], c["Architecture"]) == ("hall-edge", f"{version}-1", "all")
    depends = {d.split()[0] for d in c["Depends"].split(",")}
    for pkg in ("python3", "python3-venv", "adduser", "mosquitto", "espeak-ng", "fonts-noto-cjk", "fonts-noto-core",
                "fonts-noto-extra", "libegl1", "libxkbcommon0", "libfribidi0"):
        assert pkg in depends
    assert "python3 (>= 3.11)" in c["Depends"]
    assert "cage" in c["Recommends"]
    assert int(c["Installed-Size"]) > 0
    assert "@" not in "".join(v for k, v in c.items() if k != "Maintainer"), "a template placeholder was left"
    assert "Package: hall-edge" in built.info


def test_every_etc_file_is_a_conffile(built: Built) -> None:
    conffiles = (built.meta / "conffiles").read_text().split()
    shipped_etc = sorted("/" + str(p.relative_to(built.root)) for p in (built.root / "etc").rglob("*") if p.is_file())
    assert conffiles == shipped_etc
    assert CONFIG in conffiles
    assert {"/etc/default/hall-central", "/etc/default/hall-screen", "/etc/pam.d/hall-screen"} <= set(conffiles)


def test_shipped_config_is_a_valid_hall_config_with_a_header(built: Built) -> None:
    text = (built.root / CONFIG.lstrip("/")).read_text(encoding="utf-8")
    assert text.startswith("# /etc/hall/hall.toml")
    assert text.endswith((REPO / "kiosk" / "demo_hall.toml").read_text(encoding="utf-8"))
    cfg = loads(text, CONFIG)
    assert cfg.hall_id and cfg.windows


def test_units_are_shipped_unchanged(built: Built) -> None:
    for name, src in {**UNIT_SOURCES, **TIMER_SOURCES}.items():
        shipped = built.root / UNIT_DIR_IN_DEB.lstrip("/") / name
        assert shipped.read_bytes() == src.read_bytes(), name
        assert stat.S_IMODE(shipped.stat().st_mode) == 0o644
    # As dpkg-deb --contents lists them: mode, owner and path of every unit and the conffile.
    for path in [f"{UNIT_DIR_IN_DEB}/{name}" for name in {**UNIT_SOURCES, **TIMER_SOURCES}] + [CONFIG]:
        assert re.search(rf"^-rw-r--r-- root/root\s+\d+ \S+ \S+ \.{re.escape(path)}$", built.contents, re.M), path


def test_maintainer_scripts_are_executable_shell_with_the_version_filled_in(built: Built) -> None:
    for script in ("postinst", "prerm", "postrm"):
        path = built.meta / script
        assert stat.S_IMODE(path.stat().st_mode) == 0o755, script
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n") and "\nset -e\n" in text, script
        assert "@" not in re.sub(r"'hall-screen@\*\.service'|hall-screen@", "", text), f"placeholder left in {script}"
        # dpkg-deb --info marks executable control members with '*'.
        assert re.search(rf"^\s+\d+ bytes,\s+\d+ lines\s+\*\s+{script}\b", built.info, re.M), script
    assert f'VERSION="{_version()}"' in (built.meta / "postinst").read_text()


def test_ownership_is_root_and_the_cli_is_on_path(built: Built) -> None:
    with tarfile.open(fileobj=_data_tar(built.deb)) as tar:
        members = tar.getmembers()
    assert all(m.uname == "root" and m.gname == "root" for m in members)
    assert not [m.name for m in members if "__pycache__" in m.name or m.name.endswith(".pyc")]
    link = next(m for m in members if m.name == "./usr/bin/hall")
    assert link.issym() and link.linkname == HALL_BIN
    assert "./usr/share/doc/hall-edge/copyright" in {m.name for m in members}


def _data_tar(deb: Path) -> io.BytesIO:
    """data.tar from the .deb (an ar archive), decompressed by dpkg-deb itself."""
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True)
    return io.BytesIO(proc.stdout)


def test_udev_rule_gives_usb_printers_to_the_servers_group(built: Built) -> None:
    rule = (built.root / "lib/udev/rules.d/60-hall-edge.rules").read_text()
    active = [line for line in rule.splitlines() if line and not line.startswith("#")]
    assert active == [
        'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:0701*", GROUP="lp", MODE="0660"'
    ]
    server = (built.root / UNIT_DIR_IN_DEB.lstrip("/") / "hall-server.service").read_text()
    assert re.search(r"^SupplementaryGroups=.*\blp\b", server, re.M)


def test_wheel_declares_the_hall_console_script(built: Built) -> None:
    wheels = sorted((built.root / "opt/hall-edge/wheels").glob("hall_edge-*.whl"))
    assert [w.name for w in wheels] == [f"hall_edge-{_version()}-py3-none-any.whl"]
    assert (built.root / "opt/hall-edge/wheels/NO-DEPS").exists(), "a --no-deps build must say so to postinst"
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert re.search(r"^hall\s*=\s*kiosk\.cli:main$", whl.read(entry_points).decode(), re.M)
    for package in ("kiosk/cli.py", "devices/base.py", "kiosk/demo_hall.toml"):
        assert package in names


def test_mosquitto_example_is_shipped_disabled_when_sync_provides_it(built: Built) -> None:
    conf_d = built.root / "etc/mosquitto/conf.d"
    sources = [PACKAGING / "mosquitto" / n for n in ("hall.conf", "hall-broker.conf")]
    source = next((p for p in sources if p.exists()), None)
    if source is None:
        assert not conf_d.exists()
        return
    # mosquitto's include_dir loads *.conf only: the example must not switch itself on.
    assert [p.name for p in conf_d.iterdir()] == ["hall-edge.conf.example"]
    assert (conf_d / "hall-edge.conf.example").read_bytes() == source.read_bytes()
    examples = built.root / "usr/share/doc/hall-edge/examples/mosquitto"
    assert {p.name for p in examples.iterdir()} == {
        p.name for p in (PACKAGING / "mosquitto").iterdir() if p.is_file() and p.suffix != ".py"
    }


def test_venv_from_the_shipped_wheel_provides_the_unit_binary(built: Built, tmp_path: Path) -> None:
    """What postinst does, offline: a venv from the wheelhouse gets bin/hall (deps skipped: --no-deps build)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-index",
         "--no-deps", "--find-links", str(built.root / "opt/hall-edge/wheels"), f"hall-edge=={_version()}"],
        check=True, timeout=60, env={**os.environ, **OFFLINE_ENV},
    )
    script = (venv / "bin" / "hall").read_text()
    assert script.startswith(f"#!{venv}/bin/python")
    assert "from kiosk.cli import main" in script


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed (apt install lintian)")
def test_lintian_finds_no_errors_or_warnings_beyond_the_man_page(built: Built) -> None:
    proc = subprocess.run(["lintian", "--tag-display-limit", "0", str(built.deb)],
                          capture_output=True, text=True, timeout=120, check=False)
    tags = [line for line in proc.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    # `hall` has --help for every subcommand; a man page is not written yet.
    assert tags in ([], ["W: hall-edge: no-manual-page [usr/bin/hall]"]), proc.stdout


def test_single_line_relationship_fields(built: Built) -> None:
    """dpkg reads folded Depends:, but lintian and some tools do not: keep relationship fields on one line."""
    for field in ("Depends", "Recommends", "Suggests"):
        assert "\n" not in built.control[field]


def test_build_refuses_unknown_options(tmp_path: Path) -> None:
    proc = _run_build(tmp_path, "--frobnicate")
    assert proc.returncode != 0
    assert "unknown option '--frobnicate'" in proc.stderr
    assert not list(tmp_path.glob("*.deb"))
