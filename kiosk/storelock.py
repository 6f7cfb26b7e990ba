"""Whether a hall store is open: every Store holds `<db>.lock` shared; `hall restore` needs it exclusive, and also
asks SQLite's own shared-memory lock, which any connection to the store holds (a sqlite3 shell, an older hall)."""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

# SQLite's "dead man switch": every connection to a WAL database holds a read lock on this byte of `<db>-shm` for as
# long as it is open (src/os_unix.c: UNIX_SHM_DMS = UNIX_SHM_BASE + SQLITE_SHM_NLOCK = 120 + 8).
_SHM_DMS_BYTE = 128


class StoreInUse(Exception):
    """The store is open in some process: replacing it now would lose what that process writes next."""

    def __init__(self, db: str, how: str) -> None:
        super().__init__(f"{db}: {how}")
        self.db, self.how = db, how


def lock_path(db: str | Path) -> Path:
    return Path(f"{db}.lock")


def _open(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError:
        pass
    try:  # a read-only mount or another user's file: flock works on a read-only descriptor too
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


class SharedLock:
    """Held by each open Store.  flock, not SQLite's POSIX locks: a second descriptor in the same process conflicts
    too, so a restore in the process of an open Hall is refused as well, and the kernel drops it when the process
    dies, so a crashed server leaves nothing stale behind."""

    def __init__(self, db: str) -> None:
        self.db = db
        self._fd: int | None = None
        self._close: weakref.finalize[..., SharedLock] | None = None

    def hold(self) -> None:
        if self._fd is not None or self.db == ":memory:":
            return
        fd = _open(lock_path(self.db))
        if fd is None:  # no lock file can be made or read (a read-only directory): the store opens without it
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # only `hall restore` takes it exclusive, and only for the seconds the copy takes: start on the restored
            # store rather than on the one being replaced (a server restarted by systemd meanwhile waits here)
            log.warning("store %s is being restored (hall restore); waiting for it to finish", self.db)
            fcntl.flock(fd, fcntl.LOCK_SH)
        self._fd = fd
        self._close = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        if self._close is not None:
            self._close()
        self._fd = self._close = None


def _sqlite_holds(db: Path) -> bool:
    """A connection anywhere has the store open: its read lock on the DMS byte of `<db>-shm`.

    POSIX record locks belong to the process, and closing any descriptor of a file drops all of them: call this only
    while no connection of this process has the store open (exclusive() holds our flock first, which guarantees it)."""
    shm = Path(f"{db}-shm")
    try:
        fd = os.open(shm, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # SQLite deletes it when the last connection closes
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)  # drops the probe lock with it
    return False


@contextmanager
def exclusive(db: str | Path) -> Iterator[None]:
    """Held while a store is replaced: raises StoreInUse (saying which lock) when any process has it open."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreInUse(str(db), "hall") from None
        if _sqlite_holds(Path(db)):
            raise StoreInUse(str(db), "sqlite")
        yield
    finally:
        os.close(fd)
