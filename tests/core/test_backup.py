"""`hall backup` while the hall runs and `hall restore` into a stopped hall: the restored hall starts with the backup's
state and next seq; a restore onto an open store (this process, another hall process, a plain SQLite connection), a
damaged backup and one from a newer version are refused with exit 2 and nothing replaced; --dir keeps N copies."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.backup import UNREAD_LOG_MARGIN
from kiosk.cli import main
from kiosk.core.cases import Cases
from kiosk.core.config import HallConfig
from kiosk.core.errors import DailyCapReached
from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.store import Store
from tests.conftest import FakeClock, make_id, staff

ROOT = Path(__file__).resolve().parents[2]
# the tables whose rows are the hall's state (everything but SQLite's own and the migrations' bookkeeping)
STATE = ("tickets", "counters", "windows", "business_state", "appointments", "ratings", "cases", "case_stops",
         "rectifications", "rectification_steps", "command_log", "devices", "dead_letters", "meta", "events")


def dump(db: Path | str, tables: tuple[str, ...] = STATE) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(db)) as conn:
        return {t: list(map(tuple, conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid'))) for t in tables}


def busy_day(hall: Hall, clock: FakeClock) -> None:
    """Tickets (one with an ID), calls, a service, ratings (one 差评 with its rectification), a case with its
    clock stopped and one concluded, a paused window."""
    cases = Cases(hall)
    a = hall.issue_ticket("tax", id_number=make_id(1)).value.ticket
    hall.issue_ticket("social")
    hall.issue_ticket("social", priority="green")
    hall.call_next(2)
    hall.start_service(2)
    clock.advance(minutes=4)
    hall.finish_service(2)
    hall.rate(hall.find_ticket("A002")["id"], Level.VERY_DISSATISFIED, reason="等候时间长")
    hall.call_next(9)
    hall.start_service(9)
    clock.advance(minutes=6)
    hall.finish_service(9)
    hall.rate(a["id"], Level.SATISFIED, text="办得快")
    hall.call_next(1)
    hall.pause(3, "午休")
    cases.register({"case_no": "SB-001", "case_type": 2, "promise_days": 5, "status": "受理", "item_name": "社保转移",
                    "applicant_name": "欧阳明华", "applicant_id": make_id(2), "applicant_phone": "13800138000"})
    cases.transition("SB-001", "补齐补正")
    cases.register({"case_no": "SB-002", "case_type": 1, "status": "受理", "item_name": "社保查询"})
    cases.transition("SB-002", "办结")
    cases.evaluate_cards()  # evaluation records, the 差评's rectification item


@pytest.fixture
def running(config: HallConfig, tmp_path: Path) -> tuple[Hall, FakeClock]:
    clock = FakeClock()
    return staff(Hall(config, Store(tmp_path / "live" / "hall.db"), clock=clock)), clock


def test_backup_while_issuing_restores_to_the_same_state_and_next_seq(running: tuple[Hall, FakeClock],
                                                                      config: HallConfig, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    hall, clock = running
    busy_day(hall, clock)
    before = dump(hall.store.path)
    stop, issued, errors = threading.Event(), [], []

    def issue() -> None:  # the hall keeps working through the backup, in its own connection
        try:
            while not stop.is_set():
                issued.append(hall.issue_ticket("tax").value.ticket["id"])
        except DailyCapReached:
            pass
        except Exception as exc:  # reported below: a dead writer must fail the test, not hide
            errors.append(exc)

    writer = threading.Thread(target=issue)
    writer.start()
    try:
        while len(issued) < 20 and writer.is_alive():  # a backup taken while tickets are being issued
            threading.Event().wait(0.01)
        out = tmp_path / "backups" / "hall.db"
        assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    finally:
        stop.set()
        writer.join()
    assert not errors, errors
    said = capsys.readouterr().out
    assert said.startswith(f"备份完成：{out}（") and "事件序号至" in said
    copy = dump(out)
    last = max(e[0] for e in copy["events"])
    assert f"事件序号至 {last}，" in said
    # one commit's store: the events gap-free, each ticket.issued with its row and no row without its event
    assert [e[0] for e in copy["events"]] == list(range(1, last + 1))
    source = dump(hall.store.path)
    assert copy["events"] == [e for e in source["events"] if e[0] <= last]
    issued_ids = {e[1] for e in copy["events"] if e[2] == "ticket.issued"}
    assert len(copy["tickets"]) == len(issued_ids) > len(before["tickets"])
    assert set(copy["tickets"]) <= set(source["tickets"])  # issuing never changes another ticket's row
    for t in ("windows", "ratings", "cases", "case_stops", "rectifications", "appointments", "business_state"):
        assert copy[t] == before[t], t
    with closing(sqlite3.connect(out)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "one file, no -wal beside it"
    assert not list(out.parent.glob(".*tmp*")) and not Path(f"{out}-wal").exists()
    assert out.stat().st_mode & 0o077 == 0, "a copy holds the ID-hash key: its owner's alone"

    # restore into a fresh path: the hall starts with the copy's state and goes on at its next seq
    fresh = tmp_path / "restored" / "hall.db"
    assert main(["restore", str(out), "--db", str(fresh)]) == 0
    said = capsys.readouterr().out
    assert f"下一个事件序号 {last + 1}" in said
    assert dump(fresh) == copy
    restored = Hall(config, Store(fresh), clock=clock)
    try:
        assert restored.store.last_seq() + 1 == last + 1
        assert restored.windows() == hall.windows()  # the writer only issued: windows as they were
        taxes = [t for t in copy["tickets"] if t[2] == "tax"]
        nxt = restored.issue_ticket("tax")
        assert nxt.events[0].seq == last + 1
        assert nxt.value.ticket["number"] == f"C{len(taxes) + 1:03d}"  # the day's numbers go on from the copy's
        assert restored.call_next(2).value["number"] == "C002"  # the queue as it was: C001 was served before
    finally:
        restored.store.close()


def test_a_quiet_hall_restores_exactly(running: tuple[Hall, FakeClock], config: HallConfig, tmp_path: Path) -> None:
    hall, clock = running
    busy_day(hall, clock)
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    hall.store.close()
    fresh = tmp_path / "fresh.db"
    assert main(["restore", str(out), "--db", str(fresh)]) == 0
    assert dump(fresh) == dump(hall.store.path)
    again = Hall(config, Store(fresh), clock=clock)
    try:
        assert again.windows() == hall.windows() and again.waiting() == hall.waiting()
        assert again.store.last_seq() == hall.store.last_seq()
    finally:
        again.store.close()


def test_restore_replaces_a_stopped_store_and_keeps_the_old_one(running: tuple[Hall, FakeClock], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    hall, _clock = running
    hall.issue_ticket("tax")
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    for _ in range(5):
        hall.issue_ticket("tax")
    db = Path(hall.store.path)
    later = dump(db)
    hall.store.close()
    capsys.readouterr()
    assert main(["restore", str(out), "--db", str(db)]) == 0
    said = capsys.readouterr()
    kept = next(db.parent.glob("hall.db.before-restore-*"))
    assert f"原数据库保留在 {kept}" in said.out
    assert dump(kept) == later
    restored, backed = dump(db), dump(out)
    assert restored["events"][:-1] == backed["events"]  # and after them the restore's own event (below)
    assert restored["events"][-1][0] == later["events"][-1][0] + 1
    assert {t: rows for t, rows in restored.items() if t != "events"} == \
        {t: rows for t, rows in backed.items() if t != "events"}
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    assert "注意" not in said.err  # never synced: nothing central could be missing


def events_of(db: Path | str) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


def test_restore_never_gives_a_seq_again(running: tuple[Hall, FakeClock], config: HallConfig, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Back up, go on (the outbox may have sent it all), restore, go on: no seq the replaced store used is given
    to another event, and store.restored names the skipped seqs."""
    hall, clock = running
    busy_day(hall, clock)
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    backed = hall.store.last_seq()
    for _ in range(7):
        hall.issue_ticket("tax")
    with hall.store.write() as c:  # as sync/outbox.py records central's PUBACKs: central holds them all
        hall.store.meta_set(c, "sync.acked_seq", str(hall.store.last_seq() - 2))
    used = hall.store.last_seq()
    old_ids = {e["id"] for e in events_of(hall.store.path)}
    hall.store.close()
    capsys.readouterr()

    assert main(["restore", str(out), "--db", hall.store.path]) == 0
    said = capsys.readouterr()
    assert f"序号 {backed + 1}–{used} 不再使用" in said.out and f"（序号 {used + 1}）" in said.out
    assert f"下一个事件序号 {used + 2}" in said.out
    # the last two were not acknowledged: they stay in the kept store only, and the hall person is told so
    assert f"序号 {used - 1}–{used} 的事件未确认送达省中心" in said.err
    evs = events_of(hall.store.path)
    mark = evs[-1]
    assert [e["seq"] for e in evs] == [*range(1, backed + 1), used + 1]
    assert (mark["kind"], mark["actor"], mark["terminal"]) == ("store.restored", "console", "cli")
    payload = json.loads(mark["payload"])
    assert payload["backup_last_seq"] == backed and payload["backup"] == "b.db"
    assert (payload["skipped_from"], payload["skipped_to"]) == (backed + 1, used)
    with closing(sqlite3.connect(hall.store.path)) as conn:  # the backup's progress: its tail is sent again
        assert conn.execute("SELECT value FROM meta WHERE key = 'sync.acked_seq'").fetchone() is None

    again = Hall(config, Store(hall.store.path), clock=clock)
    try:
        fresh = [again.issue_ticket("tax").events[0] for _ in range(3)]
        assert [e.seq for e in fresh] == [used + 2, used + 3, used + 4]
        assert all(e.seq > used for e in fresh) and not {e.id for e in fresh} & old_ids
    finally:
        again.store.close()


def test_a_restore_of_a_restored_store_skips_past_its_marker_too(running: tuple[Hall, FakeClock],
                                                                 config: HallConfig, tmp_path: Path) -> None:
    hall, clock = running
    hall.issue_ticket("tax")
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    for _ in range(3):
        hall.issue_ticket("tax")
    hall.store.close()
    assert main(["restore", str(out), "--db", hall.store.path]) == 0
    second = Hall(config, Store(hall.store.path), clock=clock)
    second.issue_ticket("tax")
    used = second.store.last_seq()
    second.store.close()
    assert main(["restore", str(out), "--db", hall.store.path]) == 0
    marks = [e for e in events_of(hall.store.path) if e["kind"] == "store.restored"]
    assert [e["seq"] for e in marks] == [used + 1]  # the backup never had the first marker; it is above it
    assert json.loads(marks[0]["payload"])["skipped_to"] == used


def test_an_unreadable_replaced_store_sets_seqs_aside_past_the_acked_seq(running: tuple[Hall, FakeClock],
                                                                       config: HallConfig, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The event log is what a damaged store loses.  Central may hold events past the acknowledgement the store
    wrote down (in flight, acknowledged in its last moments), so the restore sets UNREAD_LOG_MARGIN seqs aside past
    it: a new event never takes a seq central already holds, and nothing is made up about which events were lost."""
    hall, clock = running
    hall.issue_ticket("tax")
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    backed = hall.store.last_seq()
    for _ in range(6):
        hall.issue_ticket("tax")
    with hall.store.write() as c:
        hall.store.meta_set(c, "sync.acked_seq", str(hall.store.last_seq() - 1))
    acked = hall.store.last_seq() - 1  # and central already holds the last one too, unacknowledged here
    hall.store.close()
    with closing(sqlite3.connect(hall.store.path, isolation_level=None)) as conn:
        conn.execute("ALTER TABLE events RENAME TO events_lost")  # its log unreadable, its meta not
    capsys.readouterr()
    assert main(["restore", str(out), "--db", hall.store.path]) == 0
    said = capsys.readouterr()
    used = acked + UNREAD_LOG_MARGIN
    assert f"序号 {backed + 1}–{used} 不再使用" in said.out
    assert "省中心已确认的序号之后预留 10,000,000 个序号" in said.err
    evs = events_of(hall.store.path)
    assert evs[-1]["seq"] == used + 1 and evs[-1]["kind"] == "store.restored"
    assert (json.loads(evs[-1]["payload"])["skipped_from"], json.loads(evs[-1]["payload"])["skipped_to"]) == \
        (backed + 1, used)
    assert "未确认送达" not in said.err  # the unsent tail cannot be named without the log: nothing made up
    again = Hall(config, Store(hall.store.path), clock=clock)
    assert again.issue_ticket("tax").events[0].seq == used + 2  # far past anything central may hold
    again.store.close()

    # nothing readable at all: the seqs past the backup's own are set aside the same way, and said so
    hall2 = Hall(config, Store(tmp_path / "two" / "hall.db"), clock=clock)
    hall2.issue_ticket("tax")
    hall2.store.close()
    Path(hall2.store.path).write_bytes(b"not a database at all" * 100)
    capsys.readouterr()
    assert main(["restore", str(out), "--db", hall2.store.path]) == 0
    said = capsys.readouterr()
    assert "备份之后预留 10,000,000 个序号" in said.err
    assert [e["seq"] for e in events_of(hall2.store.path)] == [*range(1, backed + 1), backed + UNREAD_LOG_MARGIN + 1]


def test_restoring_onto_no_store_adds_nothing(running: tuple[Hall, FakeClock], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    hall, clock = running
    busy_day(hall, clock)
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    fresh = tmp_path / "new-pc" / "hall.db"
    fresh.parent.mkdir()
    capsys.readouterr()
    assert main(["restore", str(out), "--db", str(fresh)]) == 0
    said = capsys.readouterr()
    assert dump(fresh) == dump(out)
    assert "不再使用" not in said.out and not said.err
    assert not any(e["kind"] == "store.restored" for e in events_of(fresh))


def test_restore_is_refused_while_this_process_has_the_store_open(running: tuple[Hall, FakeClock], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    hall, _clock = running
    out = tmp_path / "b.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(out)]) == 0
    hall.issue_ticket("tax")
    live = dump(hall.store.path)
    capsys.readouterr()
    assert main(["restore", str(out), "--db", hall.store.path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"数据库正在使用中：{hall.store.path} 正由hall 程序") and "systemctl stop hall-server" in err
    assert dump(hall.store.path) == live
    assert not list(Path(hall.store.path).parent.glob("*before-restore*"))
    hall.issue_ticket("tax")  # the open hall never noticed


_HOLD_STORE = """
import sys, time
from kiosk.store import Store
s = Store(sys.argv[1])
s.conn().execute("SELECT COUNT(*) FROM events").fetchone()
print("open", flush=True)
sys.stdin.readline()
"""
_HOLD_SQLITE = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT COUNT(*) FROM events").fetchone()
print("open", flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize(("holder", "who"), [(_HOLD_STORE, "hall 程序"), (_HOLD_SQLITE, "另一个程序")],
                         ids=["hall-process", "sqlite3-connection"])
def test_restore_is_refused_while_another_process_has_the_store_open(holder: str, who: str, tmp_path: Path,
                                                                     config: HallConfig,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hall.db"
    hall = Hall(config, Store(db), clock=FakeClock())
    hall.issue_ticket("tax")
    out = tmp_path / "b.db"
    assert main(["backup", "--db", str(db), "--out", str(out)]) == 0
    hall.issue_ticket("tax")
    hall.store.close()
    live = dump(db)
    proc = subprocess.Popen([sys.executable, "-c", holder, str(db)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        capsys.readouterr()
        assert main(["restore", str(out), "--db", str(db)]) == 2
        assert capsys.readouterr().err.startswith(f"数据库正在使用中：{db} 正由{who}")
        assert dump(db) == live
    finally:
        proc.communicate("\n", timeout=30)
    assert main(["restore", str(out), "--db", str(db)]) == 0  # once it has closed the store
    restored, backed = dump(db), dump(out)
    assert restored["events"][-1][2] == "store.restored"  # the replaced store had gone one event further
    restored["events"].pop()
    assert restored == backed


def test_a_damaged_or_newer_backup_is_refused_and_nothing_replaced(running: tuple[Hall, FakeClock],
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    hall, clock = running
    busy_day(hall, clock)
    good = tmp_path / "good.db"
    assert main(["backup", "--db", hall.store.path, "--out", str(good)]) == 0
    hall.store.close()
    live = dump(hall.store.path)

    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(newer, isolation_level=None)) as conn:
        conn.execute("INSERT INTO _migrations VALUES ('999_from_the_future', datetime('now'))")
    damaged = tmp_path / "damaged.db"
    raw = bytearray(good.read_bytes())
    page = 4096
    raw[page * 3: page * 3 + 200] = b"\xff" * 200  # a b-tree page's header and cells overwritten
    damaged.write_bytes(bytes(raw))
    stranger = tmp_path / "stranger.db"
    with closing(sqlite3.connect(stranger)) as conn:
        conn.execute("CREATE TABLE t (x)")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)

    for path, said in ((newer, "来自更新版本的程序（数据库迁移 999_from_the_future）"),
                       (damaged, "已损坏"), (stranger, "不是大厅数据库"), (junk, "无法读取"),
                       (tmp_path / "missing.db", "备份文件不存在")):
        capsys.readouterr()
        assert main(["restore", str(path), "--db", hall.store.path]) == 2, path
        err = capsys.readouterr().err
        assert said in err, err
        assert dump(hall.store.path) == live
        assert sorted(p.name for p in Path(hall.store.path).parent.iterdir()) == ["hall.db", "hall.db.lock"]


def test_backup_of_a_missing_or_foreign_store_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "--db", str(tmp_path / "nope.db"), "--out", str(tmp_path / "b.db")]) == 2
    assert "数据库不存在" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists(), "a missing store is never created by a backup"
    with closing(sqlite3.connect(tmp_path / "other.db")) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert main(["backup", "--db", str(tmp_path / "other.db"), "--out", str(tmp_path / "b.db")]) == 2
    assert "不是大厅数据库" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_dir_keeps_the_newest_n_copies_and_nothing_else_is_deleted(running: tuple[Hall, FakeClock],
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    hall, _clock = running
    folder = tmp_path / "nightly"
    folder.mkdir()
    others = ["hall-20260101-023000.db.keep-me", "notes.txt", "hall-2026-01-01.db", "before-upgrade.db"]
    for name in others:
        (folder / name).write_text("x")
    nights = iter(datetime(2026, 11, 1, 2, 30) + timedelta(days=i) for i in range(10))

    class Nightly(datetime):
        """The timer's nights: 02:30 local time on the 1st, 2nd, … (naive: `hall backup` reads the PC's zone)."""

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return next(nights)

    monkeypatch.setattr("kiosk.cli.datetime", Nightly)
    for _ in range(5):
        hall.issue_ticket("tax")
        assert main(["backup", "--db", hall.store.path, "--dir", str(folder), "--keep", "3"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[-1].endswith("；删除较早的备份 1 份，保留最近 3 份")
    ours = sorted(p.name for p in folder.iterdir() if p.name not in others)
    assert ours == [f"hall-202611{d:02d}-023000.db" for d in (3, 4, 5)]
    assert all((folder / name).exists() for name in others)
    newest = dump(folder / ours[-1])
    assert newest["events"] == dump(hall.store.path)["events"]
    assert main(["backup", "--db", hall.store.path, "--dir", str(folder), "--keep", "0"]) == 2


def test_a_hall_starting_during_a_restore_waits_and_opens_the_restored_store(tmp_path: Path,
                                                                           config: HallConfig) -> None:
    from kiosk.storelock import exclusive

    db = tmp_path / "hall.db"
    Store(db).close()
    opened: list[Store] = []
    with exclusive(db):  # as `hall restore` holds it while the new file goes in
        starting = threading.Thread(target=lambda: opened.append(Store(db)))
        starting.start()
        starting.join(0.3)
        assert starting.is_alive() and not opened, "a store being replaced is not opened meanwhile"
    starting.join(30)
    assert len(opened) == 1
    opened[0].close()
