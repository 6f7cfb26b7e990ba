#!/usr/bin/env bash
# Builds dist/hall-edge_<version>-<rev>_<arch>.deb with dpkg-deb: wheels for an offline venv, units, conffiles.
#
# Usage: packaging/build-deb.sh [--no-deps] [--out DIR] [--python PY] [--revision N]
#   default    our wheel + every dependency wheel (pip fetches them now, so the hall needs no network later).
#              Binary wheels (PySide6, Pillow, msgspec, psycopg) make the package architecture-specific.
#   --no-deps  only our wheel (Architecture: all); postinst then installs dependencies from the index.
#              For CI and development, not for a hall.
#   --python   the interpreter that builds (default: the project's .venv when there is one, else python3).
#              Our wheel is built with its setuptools (no build isolation, so no network for the build step);
#              when it has no pip or no setuptools >= 77, a throwaway build venv is made and gets them.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT="$ROOT/dist"
PY=""
REVISION=1
WITH_DEPS=1

die() { echo "build-deb: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --no-deps) WITH_DEPS=0 ;;
        --out) OUT=${2:?--out needs a directory}; shift ;;
        --python) PY=${2:?--python needs an interpreter}; shift ;;
        --revision) REVISION=${2:?--revision needs a number}; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$PY must be Python >= 3.11 (tomllib)"

VERSION=$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$ROOT/pyproject.toml")
DEB_VERSION="$VERSION-$REVISION"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/src"
PKG="$WORK/pkg"
WHEELS="$PKG/opt/hall-edge/wheels"
umask 022
mkdir -p "$SRC" "$WHEELS" "$OUT"

# Build from a clean copy so setuptools' build/ and egg-info never land in the shared tree.
SOURCES=(pyproject.toml kiosk devices sync)
for f in README.md LICENSE; do
    if [ -e "$ROOT/$f" ]; then SOURCES+=("$f"); fi
done
(cd "$ROOT" && tar --exclude='__pycache__' --exclude='*.pyc' -cf - "${SOURCES[@]}") | tar -xf - -C "$SRC"

# A Debian python3 has no pip, and an old venv may have setuptools < 77 (no SPDX license strings).
if ! "$PY" -c 'import importlib.metadata as m, sys, pip; sys.exit(int(m.version("setuptools").split(".")[0]) < 77)' \
        2>/dev/null; then
    echo "build-deb: $PY has no pip or no setuptools >= 77; making a build venv with them"
    "$PY" -m venv "$WORK/build-venv" || die "cannot make a venv with $PY (apt-get install python3-venv)"
    "$WORK/build-venv/bin/python" -m pip install --disable-pip-version-check --quiet "setuptools>=77" \
        || die "cannot install setuptools>=77 into the build venv (no package index?)"
    PY="$WORK/build-venv/bin/python"
fi
PIP=("$PY" -m pip --disable-pip-version-check)
if [ "$WITH_DEPS" = 1 ]; then
    echo "build-deb: building hall-edge $VERSION and fetching its dependency wheels"
    "${PIP[@]}" wheel --quiet --no-build-isolation --wheel-dir "$WHEELS" "$SRC"
else
    echo "build-deb: building hall-edge $VERSION without dependency wheels (--no-deps)"
    "${PIP[@]}" wheel --quiet --no-build-isolation --no-deps --wheel-dir "$WHEELS" "$SRC"
    printf 'Built with --no-deps: postinst installs the dependencies from the package index.\n' > "$WHEELS/NO-DEPS"
fi
ls "$WHEELS"/hall_edge-"$VERSION"-*.whl >/dev/null 2>&1 || die "pip built no hall_edge-$VERSION wheel"

# Architecture and Python bounds follow from the wheels actually shipped.
read -r ARCH PYTHON_UPPER < <("$PY" - "$WHEELS" <<'EOF'
import pathlib
import subprocess
import sys

tags = [w.name[:-4].split("-")[-3:] for w in pathlib.Path(sys.argv[1]).glob("*.whl")]
binary = any(plat != "any" for _py, _abi, plat in tags)
arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
# cp311-cp311 wheels load only in CPython 3.11; abi3 and py3-none wheels do not pin the minor version.
minors = {py for py, abi, _plat in tags if py.startswith("cp3") and abi not in ("abi3", "none")}
upper = f", python3 (<< 3.{int(min(minors)[3:]) + 1})" if minors else ""
print(arch if binary else "all", upper or "-")
EOF
)
[ "$PYTHON_UPPER" = "-" ] && PYTHON_UPPER=""

# Files.
install -d "$PKG/lib/systemd/system" "$PKG/etc/hall" "$PKG/etc/default" "$PKG/etc/pam.d" "$PKG/usr/bin" \
    "$PKG/usr/share/doc/hall-edge" "$PKG/DEBIAN"
install -m 0644 "$HERE"/systemd/hall-server.service "$HERE"/systemd/hall-central.service \
    "$HERE"/systemd/hall-voice-clips.service "$HERE"/systemd/hall-backup.service "$HERE"/systemd/hall-backup.timer \
    "$HERE"/kiosk-session/hall-screen@.service "$PKG/lib/systemd/system/"
cat "$HERE/debian/hall.toml.header" "$ROOT/kiosk/demo_hall.toml" > "$PKG/etc/hall/hall.toml"
install -m 0644 "$HERE/debian/hall-central.default" "$PKG/etc/default/hall-central"
install -m 0644 "$HERE/debian/hall-screen.default" "$PKG/etc/default/hall-screen"
install -m 0644 "$HERE/kiosk-session/hall-screen.pam" "$PKG/etc/pam.d/hall-screen"
ln -s /opt/hall-edge/venv/bin/hall "$PKG/usr/bin/hall"
install -m 0644 "$HERE/README.md" "$PKG/usr/share/doc/hall-edge/README.md"
install -m 0644 "$HERE/kiosk-session/README.md" "$PKG/usr/share/doc/hall-edge/kiosk-session.md"
install -m 0644 "$HERE/debian/copyright" "$PKG/usr/share/doc/hall-edge/copyright"
install -D -m 0644 "$HERE/debian/lintian-overrides" "$PKG/usr/share/lintian/overrides/hall-edge"
install -D -m 0644 "$HERE/udev/60-hall-edge.rules" "$PKG/lib/udev/rules.d/60-hall-edge.rules"

# The hall broker config belongs to the sync engineer (packaging/mosquitto/); ship it as a disabled example when
# it exists. mosquitto only includes conf.d/*.conf, so hall-edge.conf.example stays off until the admin copies
# it to hall-edge.conf (it needs certificates, a password file and an ACL first).
MOSQ="$HERE/mosquitto"
MOSQ_CONF=""
for candidate in "$MOSQ/hall.conf" "$MOSQ/hall-broker.conf"; do
    if [ -f "$candidate" ]; then MOSQ_CONF=$candidate; break; fi
done
if [ -n "$MOSQ_CONF" ]; then
    install -d "$PKG/etc/mosquitto/conf.d" "$PKG/usr/share/doc/hall-edge/examples/mosquitto"
    install -m 0644 "$MOSQ_CONF" "$PKG/etc/mosquitto/conf.d/hall-edge.conf.example"
    find "$MOSQ" -maxdepth 1 -type f ! -name '*.py' -exec install -m 0644 {} \
        "$PKG/usr/share/doc/hall-edge/examples/mosquitto/" \;
else
    echo "build-deb: note: no broker config in $MOSQ; the package ships no broker example"
fi

if ! STAMP=$(cd "$ROOT" && git log -1 --format=%ct 2>/dev/null); then STAMP=$(date +%s); fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$STAMP}
{
    echo "hall-edge ($DEB_VERSION) unstable; urgency=medium"
    echo
    echo "  * Release $VERSION, built by packaging/build-deb.sh."
    echo
    echo " -- hall edge maintainers <maintainers@hall-edge.invalid>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$PKG/usr/share/doc/hall-edge/changelog.Debian.gz"

# Control data.
(cd "$PKG" && find etc -type f | sed 's|^|/|' | sort) > "$PKG/DEBIAN/conffiles"
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@INSTALLED_SIZE@|$INSTALLED_SIZE|" \
    -e "s|@PYTHON_UPPER@|$PYTHON_UPPER|" \
    -e "s|@MAINTAINER@|${DEB_MAINTAINER:-hall edge maintainers <maintainers@hall-edge.invalid>}|" \
    "$HERE/debian/control.in" > "$PKG/DEBIAN/control"
for script in postinst prerm postrm; do
    sed "s|@UPSTREAM_VERSION@|$VERSION|" "$HERE/debian/$script" > "$PKG/DEBIAN/$script"
    chmod 0755 "$PKG/DEBIAN/$script"
done
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles"
find "$PKG" -type d -exec chmod 0755 {} +

DEB="$OUT/hall-edge_${DEB_VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
