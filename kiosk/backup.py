"""`hall backup` and `hall restore`: a checked copy of the store taken while the hall runs (SQLite's online backup),
kept N nights in a directory, and a restore that refuses an open store, a damaged copy and one from a newer version."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.store import MIGRATIONS, Store
from kiosk.storelock import StoreInUse, exclusive, lock_path

# what `--dir` names its copies (local time, so a hall person finds last night's), and all rotation ever deletes
BACKUP_NAME = re.compile(r"^hall-\d{8}-\d{6}\.db\Z")


class BackupError(Exception):
    """Refused or failed, said for the hall person (Chinese); nothing was replaced."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True, slots=True)
class Copy:
    """A checked copy of a store: what it holds and how far its event log goes."""

    path: Path
    size: int
    last_seq: int
    tickets: int
    migration: str  # the store's schema version: its last migration

    def text(self) -> str:
        return (f"{self.path}（{self.size / 1_048_576:.1f} MB，事件序号至 {self.last_seq}，号票 {self.tickets} 张，"
                f"数据库版本 {self.migration}）")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_file(path: Path) -> None:
    """An empty file only its owner can read: a copy holds the ID-hash key and personal data like the store."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600))


def check(conn: sqlite3.Connection, path: Path) -> Copy:
    """The copy is whole (PRAGMA integrity_check) and a hall store this version can open (no newer migration)."""
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            raise BackupError(f"{path} 不是大厅数据库（没有 _migrations 表）") from exc
        raise BackupError(f"{path} 无法读取（{exc}）：文件已损坏或不是数据库") from exc
    if problems != ["ok"]:
        raise BackupError(f"{path} 已损坏（integrity_check：{'；'.join(problems)}）")
    newer = sorted(set(names) - {name for name, _ in MIGRATIONS})
    if newer:
        raise BackupError(f"{path} 来自更新版本的程序（数据库迁移 {', '.join(newer)}），"
                          "本版本无法使用：请先升级 hall-edge")
    last_seq, = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    tickets, = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
    return Copy(path, path.stat().st_size, int(last_seq), int(tickets), names[-1] if names else "")


def backup(db: Path, out: Path) -> Copy:
    """Copy the store to `out` while the hall keeps running; `out` appears only once the copy is checked.

    One backup step inside one read transaction: in WAL mode a reader never blocks the writer, so the hall keeps
    issuing and calling meanwhile, and the copy is the store as of one commit.  A copy in several steps would start
    over at every write of the running hall (sqlite3_backup_step restarts when another connection writes) and might
    never finish in a busy hall."""
    if not db.is_file():
        raise BackupError(f"数据库不存在：{db}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        try:  # mode=rw: never create an empty store where the real one is missing
            src = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30.0)
        except sqlite3.Error as exc:
            raise BackupError(f"无法打开数据库 {db}：{exc}") from exc
        with closing(src):
            try:
                src.execute("SELECT name FROM _migrations LIMIT 1")
            except sqlite3.DatabaseError as exc:
                raise BackupError(f"{db} 不是大厅数据库（{exc}）") from exc
            _private_file(tmp)
            with closing(sqlite3.connect(tmp)) as dst:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                copy = check(dst, tmp)
        _fsync(tmp)
        os.replace(tmp, out)
        _fsync(out.parent)
    except BackupError:
        tmp.unlink(missing_ok=True)
        raise
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"备份失败：{exc}") from exc
    return Copy(out, copy.size, copy.last_seq, copy.tickets, copy.migration)


def backup_to_dir(db: Path, folder: Path, keep: int, now: datetime) -> tuple[Copy, list[Path]]:
    """Tonight's copy as `hall-YYYYMMDD-HHMMSS.db` in `folder`, then the oldest deleted until `keep` are left; only
    files named like that are ever deleted, and only after the new copy is checked."""
    if keep < 1:
        raise BackupError(f"--keep 至少为 1（现为 {keep}）")
    copy = backup(db, folder / f"hall-{now:%Y%m%d-%H%M%S}.db")
    ours = sorted(p for p in folder.iterdir() if BACKUP_NAME.match(p.name) and p.is_file())
    gone = ours[:-keep]
    for p in gone:
        p.unlink(missing_ok=True)
    return copy, gone


# sync/outbox.py's progress in the meta table (kiosk may not import sync): the last seq central acknowledged
ACKED_KEY = "sync.acked_seq"
# the event a restore appends when the replaced store had gone further than the backup (sync/contract.py checks it)
STORE_RESTORED = "store.restored"


# Seqs a restore sets aside past the highest one known to be used when the replaced store's event log cannot be
# read (a damaged log is why one restores).  Central may hold events past the acknowledgement the store wrote down:
# those in flight, those acknowledged in its last moments, a backlog sent while its writes failed — never more than
# the hall's whole log.  Ten million is years of a busy hall's events, and a skipped range costs one event and one
# settled range at central, whatever its length.
UNREAD_LOG_MARGIN = 10_000_000


@dataclass(frozen=True, slots=True)
class Replaced:
    """How far the store a restore replaced had got: its highest seq, and how far central had acknowledged."""

    last_seq: int | None  # None: unreadable (then the acked seq stands in for it)
    acked: int | None  # None: unreadable or never synced

    def used(self, backup_last: int) -> int:
        """The highest seq it may have given an event (and central may hold).  Without its log: past the last one
        known (its acknowledged seq, else the backup's own) by UNREAD_LOG_MARGIN."""
        if self.last_seq is not None:
            return max(self.last_seq, self.acked or 0)
        return max(self.acked or 0, backup_last) + UNREAD_LOG_MARGIN


@dataclass(frozen=True, slots=True)
class Restored:
    copy: Copy  # the restored store, as it is now (with the store.restored event when one was added)
    kept: Path | None  # where the store it replaced now is
    backup_last_seq: int  # the backup's own last seq
    replaced: Replaced | None  # None: there was no store to replace
    skipped: tuple[int, int] | None  # seqs never to be used again, marked by the store.restored event after them

    @property
    def next_seq(self) -> int:
        return self.copy.last_seq + 1

    @property
    def unsent(self) -> tuple[int, int] | None:
        """The replaced store's events central had not acknowledged: they stay in the kept file only.  None when it
        never synced (no acked seq: a hall without [sync] has nothing to warn about)."""
        r = self.replaced
        if r is None or r.last_seq is None or r.acked is None:
            return None
        first = max(r.acked or 0, self.backup_last_seq) + 1
        return (first, r.last_seq) if r.last_seq >= first else None


def _replaced(db: Path) -> Replaced:
    """Read the store about to be replaced, each figure on its own: a damaged store is why one restores, and its
    meta may still be readable where its event log is not (or the other way round)."""
    last: int | None = None
    acked: int | None = None
    try:  # mode=rw: opening merges its -wal, so what is read (and then kept) is the whole store
        conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=5.0)
    except sqlite3.Error:
        return Replaced(None, None)
    with closing(conn):
        with suppress(sqlite3.Error, TypeError, ValueError):
            last = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
        with suppress(sqlite3.Error, TypeError, ValueError):
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (ACKED_KEY,)).fetchone()
            acked = int(row[0]) if row else None
    return Replaced(last, acked)


def _mark_skipped(conn: sqlite3.Connection, src: Path, backup_last: int, used: int, now: datetime) -> None:
    """Append store.restored at seq used + 1 so that the restored hall numbers on after every seq the replaced
    store used: central keeps one event per (hall, seq), and a new event under a seq it holds would be dropped.
    Its payload names the skipped range, which the outbox steps over and central settles.  The acked seq stays
    the backup's (capped at its last event): the backup's unacknowledged tail is sent again and central drops those
    as the duplicates they are."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    local = now.astimezone()
    row: dict[str, object] = {
        "seq": used + 1, "id": Store.new_id(), "kind": STORE_RESTORED,
        "at_utc": local.astimezone(UTC).isoformat(), "local_date": local.date().isoformat(),
        "payload": json.dumps({"backup_last_seq": backup_last, "skipped_from": backup_last + 1, "skipped_to": used,
                               "backup": src.name[:255], "restored_at": local.isoformat()},
                              ensure_ascii=False, separators=(",", ":")),
        # a backup from before the audit migration has no such columns (the hall adds them, '' for old events)
        "actor": "console", "terminal": "cli",
    }
    row = {k: v for k, v in row.items() if k in cols}
    with conn:
        conn.execute(f"INSERT INTO events({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     tuple(row.values()))
        row_acked = conn.execute("SELECT value FROM meta WHERE key = ?", (ACKED_KEY,)).fetchone()
        try:
            acked = int(row_acked[0]) if row_acked else 0
        except ValueError:
            acked = -1
        if not 0 <= acked <= backup_last:  # garbage, or past its own log: the outbox would skip the new events
            fixed = 0 if acked < 0 else backup_last  # garbage: send it all again, central drops what it has
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (ACKED_KEY, str(fixed)))


def _owner_like(path: Path, like: Path) -> None:
    """Root restores for the `hall` user: the restored files get the owner and group of what they replace."""
    if os.geteuid() != 0:
        return
    st = like.stat()
    os.chown(path, st.st_uid, st.st_gid)


def restore(src: Path, db: Path, now: datetime) -> Restored:
    """Replace the store at `db` with the backup `src`, checked first; the store it replaces is kept beside it as
    `<db>.before-restore-YYYYMMDD-HHMMSS` (with its -wal), never deleted.

    Refused (StoreInUse → BackupError) while any process has the store open: every Store holds `<db>.lock` shared
    and any SQLite connection holds the -shm file's lock.  Held exclusive until the new file is in place, so a hall
    starting meanwhile waits and then opens the restored store."""
    if not src.is_file():
        raise BackupError(f"备份文件不存在：{src}")
    if Path(f"{src}-wal").exists() and Path(f"{src}-wal").stat().st_size:
        raise BackupError(f"{src} 旁有未合并的 {src.name}-wal：这是正在使用的数据库，不是 hall backup 生成的备份")
    if src.resolve() == db.resolve():
        raise BackupError(f"备份文件就是数据库本身：{db}")
    tmp = db.with_name(f".{db.name}.restoring")
    kept: Path | None = None
    replaced: Replaced | None = None
    skipped: tuple[int, int] | None = None
    try:
        with exclusive(db):
            _private_file(tmp)
            shutil.copyfile(src, tmp)
            with closing(sqlite3.connect(tmp)) as conn:
                copy = check(conn, src)
                # read under the lock, before anything moves: nothing writes to it meanwhile
                replaced = _replaced(db) if db.exists() else None  # also merges its -wal: the kept file is whole
                used = replaced.used(copy.last_seq) if replaced is not None else None
                if used is not None and used > copy.last_seq:
                    _mark_skipped(conn, src, copy.last_seq, used, now)
                    skipped = (copy.last_seq + 1, used)
                conn.execute("PRAGMA journal_mode=DELETE")  # the hall turns WAL on again when it opens it
            owner = db if db.exists() else db.parent
            _owner_like(tmp, owner)
            _owner_like(lock_path(db), owner)
            if db.exists():
                os.chmod(tmp, db.stat().st_mode & 0o777)
            _fsync(tmp)
            if db.exists():
                kept = db.with_name(f"{db.name}.before-restore-{now:%Y%m%d-%H%M%S}")
                os.replace(db, kept)
                if Path(f"{db}-wal").exists():  # its last commits, not yet checkpointed: part of the kept store
                    os.replace(f"{db}-wal", f"{kept}-wal")
            # a -wal left beside a store belongs to that store: SQLite would replay it into the restored one
            for stale in (Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
                stale.unlink(missing_ok=True)
            os.replace(tmp, db)
            _fsync(db.parent)
    except StoreInUse as exc:
        how = ("hall 程序（hall-server、屏幕或其他 hall 命令）" if exc.how == "hall"
               else "另一个程序（如 sqlite3）")
        raise BackupError(f"数据库正在使用中：{db} 正由{how}打开。请先停止它（systemctl stop hall-server，"
                          f"并关闭本机用这个数据库的屏幕），再恢复") from exc
    except (OSError, sqlite3.Error) as exc:
        moved = f"原数据库已移到 {kept}" if kept is not None and not db.exists() else "数据库未改动"
        raise BackupError(f"恢复失败（{moved}）：{exc}") from exc
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
    last = skipped[1] + 1 if skipped is not None else copy.last_seq
    return Restored(Copy(db, db.stat().st_size, last, copy.tickets, copy.migration), kept, copy.last_seq, replaced,
                    skipped)
