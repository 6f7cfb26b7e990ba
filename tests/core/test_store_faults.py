"""Store faults (disk full, read-only, locked, missing or broken file) are a StoreFault naming the path and what
to do — exit 2 at start-up, a refused command in a running hall — never a raw sqlite3 error; nothing acked is lost."""
from __future__ import annotations

import errno
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core.config import HallConfig
from kiosk.core.errors import StoreFault, StoreFull, StoreLocked, StoreReadOnly, StoreUnavailable
from kiosk.core.hall import Hall
from kiosk.store import Store, store_fault
from tests.conftest import FakeClock, staff

MAX_PAGES = 1073741823  # SQLite's default max_page_count: "the disk has room again"


def _tickets(db: Path) -> list[sqlite3.Row]:
    """The tickets in the file, read by a fresh Store (WAL recovery, migrations check), as after a restart."""
    store = Store(db)
    try:
        return store.conn().execute("SELECT id, number FROM tickets ORDER BY queue_pos").fetchall()
    finally:
        store.close()


def _gap_free(db: Path) -> None:
    store = Store(db)
    try:
        seqs = [r[0] for r in store.conn().execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        store.close()
    assert seqs == list(range(1, len(seqs) + 1))


# --- running hall: a full store ------------------------------------------------------------------------------------
def test_full_store_mid_issue_loses_nothing_and_the_hall_continues(
        tmp_path: Path, config: HallConfig, clock: FakeClock) -> None:
    db = tmp_path / "hall.db"
    store = Store(db)
    hall = staff(Hall(config, store, clock=clock), 2)
    conn = store.conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 6}")  # a tiny disk: room for a few tickets only
    acked: dict[str, str] = {}  # idem key -> ticket id the kiosk was given
    refused: list[str] = []
    for i in range(60):
        key = f"kiosk-{i}"
        try:
            acked[key] = hall.issue_ticket("tax", idem_key=key).value.ticket["id"]
        except StoreFault as fault:
            assert isinstance(fault, StoreFull), fault
            assert str(db) in fault.message and "存储空间不足" in fault.message and "清理" in fault.message
            refused.append(key)
        if i % 3 == 2:
            try:
                if (hall.window(2)["current"] or {}).get("status") == "called":
                    hall.start_service(2)  # the citizen came: the next call closes it as served
                hall.call_next(2)
            except StoreFault:
                pass
    assert acked and refused, (len(acked), len(refused))  # the disk filled mid-way
    assert isinstance(hall.store_fault, StoreFull)

    rows = _tickets(db)  # every acknowledged ticket is in the file, once; nothing refused got in
    assert sorted(r["id"] for r in rows) == sorted(acked.values())
    assert len({r["number"] for r in rows}) == len(rows)
    _gap_free(db)

    conn.execute(f"PRAGMA max_page_count = {MAX_PAGES}")  # space freed: the same hall goes on
    retried = {key: hall.issue_ticket("tax", idem_key=key).value.ticket["id"] for key in refused[:5]}
    assert hall.store_fault is None
    again = {key: hall.issue_ticket("tax", idem_key=key).value.ticket["id"] for key in retried}
    assert again == retried  # a kiosk retrying a refused key gets one ticket, not two
    store.close()
    rows = _tickets(db)
    assert sorted(r["id"] for r in rows) == sorted([*acked.values(), *retried.values()])
    _gap_free(db)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real disk that fills up (ENOSPC), unmounted afterwards whatever the test did."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.mark.privileged
def test_real_full_disk_refuses_then_continues_when_space_is_freed(
        tiny_disk: Path, config: HallConfig, clock: FakeClock) -> None:
    db = tiny_disk / "hall.db"
    store = Store(db)
    hall = Hall(config, store, clock=clock)
    filler = tiny_disk / "old-backup.bin"
    free = shutil.disk_usage(tiny_disk).free
    filler.write_bytes(b"\0" * max(0, free - 400 * 1024))  # what a forgotten backup leaves of the disk
    acked: list[str] = []
    fault: StoreFault | None = None
    for i in range(300):
        try:
            acked.append(hall.issue_ticket("tax", idem_key=f"k{i}").value.ticket["id"])
        except StoreFault as exc:
            fault = exc
            break
    assert len(acked) > 1 and isinstance(fault, StoreFull) and str(db) in fault.message, (len(acked), fault)
    filler.unlink()
    acked.append(hall.issue_ticket("tax", idem_key="after").value.ticket["id"])
    assert hall.store_fault is None
    store.close()
    assert sorted(r["id"] for r in _tickets(db)) == sorted(acked)
    _gap_free(db)


# --- running hall: read-only, locked -------------------------------------------------------------------------------
def test_read_only_store_refuses_and_recovers_on_the_next_command(hall: Hall, store: Store) -> None:
    hall.issue_ticket("tax")
    store.conn().execute("PRAGMA query_only = 1")  # SQLite's own read-only: SQLITE_READONLY on every write
    with pytest.raises(StoreReadOnly) as info:
        hall.issue_ticket("tax")
    assert "数据库只读" in info.value.message and store.path in info.value.message
    assert info.value.key == "store_readonly"
    assert hall.store_fault is info.value
    assert len(hall.waiting()) == 1
    # the read-only connection was dropped: the next command opens the (now writable) file afresh
    assert hall.issue_ticket("tax").value.ticket["number"] == "C002"
    assert hall.store_fault is None


def test_locked_store_refuses_then_continues(tmp_path: Path, config: HallConfig, clock: FakeClock) -> None:
    db = tmp_path / "hall.db"
    store = Store(db, busy_timeout=0.2)
    hall = Hall(config, store, clock=clock)
    other = sqlite3.connect(db, isolation_level=None)  # a second program writing the same file
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLocked) as info:
            hall.issue_ticket("tax")
        assert "数据库被占用" in info.value.message and str(db) in info.value.message
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert hall.issue_ticket("tax").value.ticket["number"] == "C001"
    store.close()


# --- start-up ------------------------------------------------------------------------------------------------------
def _directory(tmp: Path) -> Path:
    (tmp / "hall.db").mkdir()
    return tmp / "hall.db"


def _not_a_database(tmp: Path) -> Path:
    (tmp / "hall.db").write_bytes(b"this is a spreadsheet, not a database" * 200)
    return tmp / "hall.db"


def _parent_is_a_file(tmp: Path) -> Path:
    (tmp / "var").write_text("")
    return tmp / "var" / "hall.db"


@pytest.mark.parametrize(("make", "cls", "says"), [
    (_directory, StoreUnavailable, "无法打开数据库文件"),
    (_not_a_database, StoreUnavailable, "不是数据库文件"),
    (_parent_is_a_file, StoreUnavailable, "无法创建所在目录"),
])
def test_start_up_faults_name_the_path(tmp_path: Path, make: Callable[[Path], Path], cls: type[StoreFault],
                                       says: str) -> None:
    db = make(tmp_path)
    with pytest.raises(cls) as info:
        Store(db)
    assert str(db) in info.value.message and says in info.value.message


def test_locked_at_start_up(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    Store(db).close()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreLocked):
            Store(db, busy_timeout=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(rw, ro): one directory and a read-only bind mount of it — a disk mounted read-only, which root cannot
    write either.  Unmounted afterwards whatever the test did."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here")
    done = subprocess.run(["mount", "--bind", str(rw), str(ro)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True, capture_output=True)
        yield rw, ro
    finally:
        if subprocess.run(["umount", str(ro)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(ro)], check=True)


@pytest.mark.privileged
def test_read_only_mount_at_start_up(read_only_mount: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rw, ro = read_only_mount
    Store(rw / "hall.db").close()
    with pytest.raises(StoreReadOnly) as info:
        Store(ro / "hall.db")  # SQLite says SQLITE_CANTOPEN (no -shm); the mount says why
    assert str(ro / "hall.db") in info.value.message
    with pytest.raises(StoreReadOnly):
        Store(ro / "new" / "hall.db")  # the directory cannot even be made (EROFS)
    assert main(["simulate", "--db", str(ro / "hall.db"), "--hours", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "数据库只读" in err and str(ro / "hall.db") in err


@pytest.mark.parametrize("argv", [
    ["simulate", "--hours", "0.1", "--db"],
    ["export", "--from", "2026-11-24", "--out", "/tmp/never-written.csv", "--db"],
])
def test_cli_exits_2_with_the_fault_on_stderr(tmp_path: Path, argv: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = _not_a_database(tmp_path)
    assert main([*argv, str(db)]) == 2
    captured = capsys.readouterr()
    assert "数据库无法使用" in captured.err and str(db) in captured.err and "备份" in captured.err
    assert "Traceback" not in captured.err


def test_cli_exits_2_on_a_store_from_a_newer_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hall.db"
    store = Store(db)
    with store.write() as c:
        c.execute("INSERT INTO _migrations VALUES ('999_future', datetime('now'))")
    store.close()
    assert main(["simulate", "--hours", "0.1", "--db", str(db)]) == 2
    assert "newer version" in capsys.readouterr().err


# --- classification ------------------------------------------------------------------------------------------------
def _sqlite_error(cls: type[sqlite3.Error], code: int, name: str) -> sqlite3.Error:
    exc = cls("from SQLite")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    return exc


# one row per result code SQLite documents (https://www.sqlite.org/rescode.html); Python gives the extended code
@pytest.mark.parametrize(("code", "name", "cls", "expected"), [
    (13, "SQLITE_FULL", sqlite3.OperationalError, StoreFull),
    (8, "SQLITE_READONLY", sqlite3.OperationalError, StoreReadOnly),
    (1032, "SQLITE_READONLY_DBMOVED", sqlite3.OperationalError, StoreReadOnly),
    (5, "SQLITE_BUSY", sqlite3.OperationalError, StoreLocked),
    (517, "SQLITE_BUSY_SNAPSHOT", sqlite3.OperationalError, StoreLocked),
    (6, "SQLITE_LOCKED", sqlite3.OperationalError, StoreLocked),
    (14, "SQLITE_CANTOPEN", sqlite3.OperationalError, StoreUnavailable),
    (778, "SQLITE_IOERR_WRITE", sqlite3.OperationalError, StoreUnavailable),
    (11, "SQLITE_CORRUPT", sqlite3.DatabaseError, StoreUnavailable),
    (26, "SQLITE_NOTADB", sqlite3.DatabaseError, StoreUnavailable),
    (1, "SQLITE_ERROR", sqlite3.OperationalError, None),  # a bug (no such table): surfaces as it is
    (2067, "SQLITE_CONSTRAINT_UNIQUE", sqlite3.IntegrityError, None),
])
def test_sqlite_codes(tmp_path: Path, code: int, name: str, cls: type[sqlite3.Error],
                      expected: type[StoreFault] | None) -> None:
    path = str(tmp_path / "hall.db")  # a writable directory with room: the file system adds nothing
    fault = store_fault(_sqlite_error(cls, code, name), path)
    if expected is None:
        assert fault is None
    else:
        assert type(fault) is expected and fault.params["path"] == path and name in fault.params["detail"]


@pytest.mark.parametrize(("err", "expected"), [
    (errno.ENOSPC, StoreFull),
    (errno.EROFS, StoreReadOnly),
    (errno.EACCES, StoreReadOnly),
    (errno.EEXIST, StoreUnavailable),
])
def test_os_errors(err: int, expected: type[StoreFault]) -> None:
    assert type(store_fault(OSError(err, "x"), "/srv/hall/hall.db")) is expected


def test_cantopen_in_a_missing_directory_says_so(tmp_path: Path) -> None:
    fault = store_fault(_sqlite_error(sqlite3.OperationalError, 14, "SQLITE_CANTOPEN"),
                        str(tmp_path / "unmounted" / "hall.db"))
    assert isinstance(fault, StoreUnavailable) and "目录不存在或磁盘未挂载" in fault.message


# --- readers of the store ------------------------------------------------------------------------------------------
def test_lan_reply_carries_the_fault(tmp_path: Path) -> None:
    import msgspec

    from sync import contract
    from sync.lan import RemoteHall, _error_bytes

    fault = StoreFull(path=str(tmp_path / "hall.db"), detail="SQLITE_FULL: database or disk is full")
    reply = msgspec.json.decode(_error_bytes("r1", fault), type=contract.LanReply)
    assert reply.error is not None and reply.error.key == "store_full"
    with pytest.raises(StoreFull) as info:  # the LAN screen gets the same class, key and message
        RemoteHall._value(reply)
    assert info.value.message == fault.message


def test_dead_letter_on_a_full_store_is_a_store_fault(store: Store) -> None:
    store.conn().execute(f"PRAGMA max_page_count = {store.conn().execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StoreFull):
        store.add_dead_letter("sync.inbox", "t", b"x" * 20000, "bad", "2026-11-24T01:00:00+00:00")
    assert store.last_seq() == 0  # reads still work on a full disk
