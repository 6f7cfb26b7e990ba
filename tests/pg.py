"""A throwaway PostgreSQL server from Debian's binaries, for the tests (tests/sync/conftest.py) and the central
bench (bench/bench_central.py): `./run setup` installs the server; nothing here needs a running one."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NoPostgres(RuntimeError):
    """The server cannot be started here (no binaries; root without runuser): the message says why."""


def binaries() -> Path | None:
    for v in ("17", "16", "15"):
        p = Path(f"/usr/lib/postgresql/{v}/bin")
        if (p / "initdb").exists() and (p / "pg_ctl").exists():
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(base: Path, *, options: str = "") -> Iterator[str]:
    """Start a server with its data under `base` (as the postgres user when we are root: initdb refuses root) on a
    free loopback port, yield its URL, stop it.  `options`: more `-c name=value` settings."""
    bins = binaries()
    if bins is None:
        raise NoPostgres("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (./run setup)")
    data, port = base / "data", free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise NoPostgres("running as root without runuser: cannot start PostgreSQL as a non-root user")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        os.chmod(base, 0o755)
        for parent in base.parents:  # postgres must be able to reach its data directory
            if str(parent).startswith("/tmp/") and parent != Path("/tmp"):
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
    subprocess.run([*prefix, str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
                    "UTF8", "--no-locale"], check=True, capture_output=True)
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 {options}".strip()
    subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
