"""`hall audit` (kiosk/core/audit.py): who did what, from which terminal, over a date range — read from the event
log through the primary key only."""
from __future__ import annotations

import csv
import math
import random
import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core import audit as A
from kiosk.core import context as C
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import SMALL_CONFIG, FakeClock

ROOT = Path(__file__).resolve().parents[2]
DAY1, DAY2 = date(2026, 11, 24), date(2026, 11, 25)


def two_days(hall: Hall, clock: FakeClock) -> None:
    """Day 1: 13 social tickets, A001 served at window 1, A012 left waiting.  Day 2: 13 again (numbers restart);
    the manager voids that day's A012 from the dashboard."""
    with C.acting(C.Operator("citizen", "kiosk")):
        for _ in range(13):
            hall.issue_ticket("social")
    with C.acting(C.Operator("system", "caller-1")):
        hall.call_next(1)
        hall.start_service(1)
        hall.finish_service(1)
    with C.acting(C.Operator("system", "caller-2")):
        hall.pause(2, "午休")
    clock.advance(days=1)
    with C.acting(C.Operator("citizen", "kiosk")):  # the first command of the day rolls day 1 over (the system's)
        for _ in range(13):
            hall.issue_ticket("social")
    with C.acting(C.staff("m01", "dashboard", "manager")):
        hall.void("A012", "打印失败，群众已离开")


# --- who voided A012? ---------------------------------------------------------------------------------------------
def test_who_voided_a012(hall: Hall, clock: FakeClock) -> None:
    two_days(hall, clock)
    rows = A.audit(hall.store, DAY2, DAY2, config=hall.config, ticket="a012", kinds=["ticket.voided"])
    assert [(r.kind_label, r.actor, r.actor_label, r.terminal, r.terminal_label, r.ticket) for r in rows] == [
        ("作废", "staff:m01", "工号 m01", "dashboard", "管理看板", "A012")]
    assert rows[0].detail == "原因：打印失败，群众已离开"
    assert rows[0].at == "2026-11-25 09:00:00" and rows[0].local_date == "2026-11-25"  # the hall's time, not UTC
    # the whole story of day 2's A012: taken at the kiosk, voided at the dashboard
    story = A.audit(hall.store, DAY2, DAY2, config=hall.config, ticket="A012")
    assert [(r.kind, r.actor_label) for r in story] == [("ticket.issued", "群众"), ("ticket.voided", "工号 m01")]


def test_a_ticket_number_is_one_days_and_the_rollover_that_expired_it(hall: Hall, clock: FakeClock) -> None:
    two_days(hall, clock)
    day1 = A.audit(hall.store, DAY1, DAY1, config=hall.config, ticket="A012")
    assert [r.kind for r in day1] == ["ticket.issued"] and day1[0].local_date == "2026-11-24"
    both = A.audit(hall.store, DAY1, DAY2, config=hall.config, ticket="A012")
    assert [(r.local_date, r.kind, r.actor) for r in both] == [
        ("2026-11-24", "ticket.issued", "citizen"),
        ("2026-11-25", "day.closed", "system"),  # day 1's A012 was still waiting at midnight
        ("2026-11-25", "ticket.issued", "citizen"),
        ("2026-11-25", "ticket.voided", "staff:m01"),
    ]
    assert "2026-11-24 → 2026-11-25" in both[1].detail
    # A001 was served on day 1: the rollover did not expire it, so only day 2's events name it on day 2
    assert [r.kind for r in A.audit(hall.store, DAY2, DAY2, config=hall.config, ticket="A001")] == ["ticket.issued"]
    assert A.audit(hall.store, DAY1, DAY2, config=hall.config, ticket="Z999") == []


# --- filters --------------------------------------------------------------------------------------------------------
def test_by_staff_is_who_did_it(hall: Hall, clock: FakeClock) -> None:
    two_days(hall, clock)
    m01 = A.audit(hall.store, DAY1, DAY2, config=hall.config, staff="m01")
    assert [r.kind for r in m01] == ["ticket.voided"]
    assert A.audit(hall.store, DAY1, DAY2, config=hall.config, staff="staff:m01") == m01  # the actor as shown
    c01 = A.audit(hall.store, DAY1, DAY2, config=hall.config, staff="c01")
    # the fixture signed c01 in on day 1; the caller screen's commands are the clerk's, at caller-1
    assert [(r.kind, r.terminal) for r in c01] == [
        ("window.signed_in", ""), ("ticket.called", "caller-1"), ("service.started", "caller-1"),
        ("service.finished", "caller-1")]
    assert all(r.window == 1 and r.actor_label == "工号 c01" for r in c01)
    assert A.audit(hall.store, DAY2, DAY2, config=hall.config, staff="c01") == []


def test_by_kind_exact_or_family(hall: Hall, clock: FakeClock) -> None:
    two_days(hall, clock)
    window = A.audit(hall.store, DAY1, DAY2, config=hall.config, kinds=["window"])
    assert {r.kind for r in window} == {"window.signed_in", "window.paused"}
    assert [r.detail for r in window if r.kind == "window.paused"] == ["原因：午休"]
    mixed = A.audit(hall.store, DAY1, DAY2, config=hall.config, kinds=["service", "ticket.voided", "DAY"])
    assert [r.kind for r in mixed] == ["service.started", "service.finished", "day.closed", "ticket.voided"]
    # "ticket" is a family, not a prefix of any string: no "tickets.x", and service.* is its own family
    issued = A.audit(hall.store, DAY1, DAY1, config=hall.config, kinds=["ticket"])
    assert {r.kind for r in issued} == {"ticket.issued", "ticket.called"}
    assert len(A.audit(hall.store, DAY1, DAY2, config=hall.config, kinds=["ticket.issued"], limit=5)) == 5
    with pytest.raises(ValueError, match="没有这类事件：foo"):
        A.audit(hall.store, DAY1, DAY2, config=hall.config, kinds=["foo"])
    with pytest.raises(ValueError, match="没有这类事件"):
        A.parse_kinds(["tickets.voided"])
    with pytest.raises(ValueError, match="日期范围不正确"):
        A.audit(hall.store, DAY2, DAY1, config=hall.config)


def test_a_date_range_holds_only_its_days(hall: Hall, clock: FakeClock) -> None:
    """Tax is open every day: five days of tickets, some of them on a weekend; each range is exactly its days."""
    for n in range(5):
        with C.acting(C.Operator("citizen", "phone")):
            for _ in range(n + 1):
                hall.issue_ticket("tax")
        clock.advance(days=1)
    conn = hall.store.conn()
    for a in range(5):
        for b in range(a, 5):
            d1, d2 = DAY1 + timedelta(days=a), DAY1 + timedelta(days=b)
            rows = A.audit(hall.store, d1, d2, config=hall.config)
            want = [r[0] for r in conn.execute("SELECT seq FROM events WHERE local_date BETWEEN ? AND ? ORDER BY seq",
                                               (d1.isoformat(), d2.isoformat()))]
            assert [r.seq for r in rows] == want and want
    assert A.audit(hall.store, DAY1 - timedelta(days=30), DAY1 - timedelta(days=1), config=hall.config) == []
    assert A.audit(hall.store, DAY1 + timedelta(days=30), DAY1 + timedelta(days=31), config=hall.config) == []


# --- the seq range: a binary search through the primary key -----------------------------------------------------
def many_days(store: Store, days: int = 60, seed: int = 3) -> int:
    """A log of `days` business days with 0–250 events each (some days none), the first ones from before the audit
    (actor ''), written straight to the store in one transaction."""
    rnd = random.Random(seed)
    with store.write() as c:
        for d in range(days):
            day = (DAY1 + timedelta(days=d)).isoformat()
            for i in range(rnd.choice([0, 1, 7, 40, 250])):
                at = f"{day}T{1 + i % 9:02d}:00:00+00:00"
                actor = "" if d < 5 else rnd.choice(["citizen", "staff:0012", "device:printer-1", "system"])
                Store.append_event(c, rnd.choice(["ticket.issued", "ticket.called", "ticket.voided"]),
                                   {"ticket": {"number": f"A{i + 1:03d}"}}, at, day, actor, "kiosk")
    return store.last_seq()


def brute(conn: sqlite3.Connection, d1: date, d2: date) -> tuple[int | None, int | None]:
    row = conn.execute("SELECT MIN(seq), MAX(seq) FROM events WHERE local_date BETWEEN ? AND ?",
                       (d1.isoformat(), d2.isoformat())).fetchone()
    return row[0], row[1]


def test_seq_bounds_equal_a_full_scan_with_few_probes(store: Store) -> None:
    n = many_days(store)
    assert n > 2000
    conn = store.conn()
    bound = 2 * (math.ceil(math.log2(n)) + 2)  # two binary searches over 1..n
    rnd = random.Random(5)
    pairs = [(DAY1 - timedelta(days=3), DAY1 - timedelta(days=1)), (DAY1 + timedelta(days=70), DAY1 + timedelta(
        days=80)), (DAY1 - timedelta(days=1), DAY1 + timedelta(days=100))]
    pairs += [(DAY1 + timedelta(days=a), DAY1 + timedelta(days=a + rnd.randrange(0, 10)))
              for a in (rnd.randrange(-2, 62) for _ in range(150))]
    for d1, d2 in pairs:
        span = A.seq_range(conn, d1, d2)
        assert (span.first, span.last) == brute(conn, d1, d2), (d1, d2)
        assert span.probes <= bound


def test_the_audit_reads_only_its_seq_range(store: Store, config) -> None:
    many_days(store)
    conn = store.conn()
    d1, d2 = DAY1 + timedelta(days=20), DAY1 + timedelta(days=40)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        rows = A.audit(store, d1, d2, config=config, staff="0012", kinds=["ticket"], ticket="A001")
    finally:
        conn.set_trace_callback(None)
    first, last = brute(conn, d1, d2)
    want = [r[0] for r in conn.execute(
        "SELECT seq FROM events WHERE local_date BETWEEN ? AND ? AND actor = 'staff:0012' AND "
        "json_extract(payload, '$.ticket.number') = 'A001' ORDER BY seq", (d1.isoformat(), d2.isoformat()))]
    assert [r.seq for r in rows] == want and want
    assert all(first <= r.seq <= last for r in rows)  # type: ignore[operator]
    # every statement it ran went down the primary key: none scanned the log
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects
    for s in selects:
        plan = " / ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + s))
        assert "SCAN" not in plan, (s, plan)
        assert "events" in plan


def test_events_before_the_audit_say_not_recorded(store: Store, config) -> None:
    many_days(store)
    rows = A.audit(store, DAY1, DAY1 + timedelta(days=4), config=config, limit=3)
    assert rows and all(r.actor == "" and r.actor_label == "未记录" for r in rows)
    assert len(rows) == 3


# --- labels -------------------------------------------------------------------------------------------------------
def recorded_kinds() -> set[str]:
    """Every event kind constant the hall and sync define (UPPER_CASE = "family.kind" strings)."""
    from kiosk import backup
    from kiosk.core import appointments, cases, evaluation, events, holidays, rectify, retention, staff
    from sync import catalog, contract, inbox, outbox

    found = set()
    for mod in (events, staff, cases, rectify, evaluation, holidays, retention, appointments, backup, contract,
                catalog, inbox, outbox):
        for name, v in vars(mod).items():
            if name.isupper() and isinstance(v, str) and re.fullmatch(r"[a-z]+\.[a-z_]+", v):
                found.add(v)
    found.discard("sync.acked_seq")  # a meta key, not an event
    return found


def test_every_recorded_kind_has_a_chinese_label() -> None:
    kinds = recorded_kinds()
    assert {"ticket.voided", "staff.added", "case.linked", "rectification.step", "catalog.updated",
            "retention.purged", "calendar.applied", "evaluation.recorded"} <= kinds
    missing = kinds - set(A.KIND_LABELS)
    assert not missing, missing
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in A.KIND_LABELS.values())


@pytest.mark.parametrize(("actor", "label"), [
    ("staff:0012", "工号 0012"), ("citizen", "群众"), ("device:printer-1", "设备 printer-1"), ("central", "省平台"),
    ("console", "管理终端(命令行)"), ("system", "系统"), ("anonymous", "未登录人员"), ("", "未记录")])
def test_actor_labels(actor: str, label: str) -> None:
    assert A.actor_label(actor) == label
    assert actor == "" or actor.partition(":")[0] in C.ACTOR_KINDS


def test_every_actor_kind_is_said_in_chinese() -> None:
    for kind in C.ACTOR_KINDS:
        said = A.actor_label(f"{kind}:x" if kind in ("staff", "device") else kind)
        assert re.search(r"[\u4e00-\u9fff]", said), kind


@pytest.mark.parametrize(("terminal", "label"), [
    ("kiosk", "取号机"), ("caller-3", "3号窗口叫号器"), ("evaluator-2", "2号窗口评价器"), ("dashboard", "管理看板"),
    ("lan:kiosk2", "局域网 kiosk2"), ("phone", "手机"), ("cli", "命令行"), ("sync", "省平台同步"),
    ("device:led-1", "设备 led-1"), ("", "-"), ("odd", "odd")])
def test_terminal_labels(terminal: str, label: str) -> None:
    assert A.terminal_label(terminal) == label


def test_an_unknown_kind_is_shown_as_it_is(store: Store, config) -> None:
    with store.write() as c:
        Store.append_event(c, "future.thing", {"reason": "x"}, "2026-11-24T01:00:00+00:00", "2026-11-24", "system")
    [row] = A.audit(store, DAY1, DAY1, config=config)
    assert (row.kind_label, row.detail, row.actor_label) == ("future.thing", "原因：x", "系统")


# --- exports ------------------------------------------------------------------------------------------------------
def test_csv_and_xlsx_have_chinese_headers_and_typed_cells(hall: Hall, clock: FakeClock, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    two_days(hall, clock)
    rows = A.audit(hall.store, DAY1, DAY2, config=hall.config, kinds=["ticket.voided", "window"])
    A.write_csv(tmp_path / "a.csv", rows)
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    got = list(csv.reader((tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert got[0] == A.HEADERS and got[0][:4] == ["序号", "时间", "日期", "事件"]
    voided = next(r for r in got[1:] if r[4] == "ticket.voided")
    assert voided[1:4] == ["2026-11-25 09:00:00", "2026-11-25", "作废"]
    assert voided[5:11] == ["工号 m01", "staff:m01", "管理看板", "dashboard", "A012", ""]
    assert voided[11] == "原因：打印失败，群众已离开"

    A.write_xlsx(tmp_path / "a.xlsx", rows)
    ws = load_workbook(tmp_path / "a.xlsx").active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert list(values[0]) == A.HEADERS
    paused = next(v for v in values[1:] if v[4] == "window.paused")
    assert isinstance(paused[0], int) and paused[0] == rows[[r.kind for r in rows].index("window.paused")].seq
    assert paused[10] == 2 and isinstance(paused[10], int)  # the window stays a number
    assert paused[1] == datetime(2026, 11, 24, 9, 0)  # a date-time cell in the hall's time
    assert (paused[3], paused[5], paused[11]) == ("窗口暂停", "工号 c02", "原因：午休")


# --- the CLI ------------------------------------------------------------------------------------------------------
@pytest.fixture
def hall_file(tmp_path: Path) -> str:
    f = tmp_path / "hall.toml"
    f.write_text(SMALL_CONFIG, encoding="utf-8")
    return str(f)


def _width(text: str) -> int:
    return A._width(text)


def test_cli_table(hall: Hall, clock: FakeClock, hall_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    two_days(hall, clock)
    db = hall.store.path
    assert main(["audit", "--config", hall_file, "--db", db, "--from", "2026-11-25", "--ticket", "A012"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "测试政务服务中心 2026-11-25 操作记录（票号 A012）：2 条"
    assert lines[1].split() == ["时间", "事件", "操作人", "终端", "票号", "窗口", "说明"]
    assert "作废" in lines[3] and "工号 m01" in lines[3] and "管理看板" in lines[3] and "原因：打印失败" in lines[3]
    # aligned: each column starts at the same display column in every line (a Chinese character is two wide)
    for head, cell in (("操作人", "工号 m01"), ("票号", "A012"), ("说明", "原因：")):
        assert _width(lines[1][:lines[1].index(head)]) == _width(lines[3][:lines[3].index(cell)])
    assert main(["audit", "--config", hall_file, "--db", db, "--from", "2026-11-24", "--to", "2026-11-25",
                 "--staff", "m01", "--kind", "ticket", "--kind", "window"]) == 0
    out = capsys.readouterr().out
    assert "（工号 m01，事件 ticket、window）：1 条" in out and out.count("\n") == 3
    assert main(["audit", "--config", hall_file, "--db", db, "--from", "2026-11-20", "--staff", "nobody"]) == 0
    assert "没有符合条件的记录" in capsys.readouterr().out


def test_cli_exports(hall: Hall, clock: FakeClock, hall_file: str, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    two_days(hall, clock)
    db = hall.store.path
    out = tmp_path / "out" / "audit.xlsx"  # the format from the suffix
    assert main(["audit", "--config", hall_file, "--db", db, "--from", "2026-11-24", "--to", "2026-11-25",
                 "--kind", "ticket.voided", "--out", str(out)]) == 0
    assert f"：1 条 → {out}" in capsys.readouterr().out
    values = list(load_workbook(out).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert values[0][0] == "测试政务服务中心 2026-11-24 至 2026-11-25 操作记录（事件 ticket.voided）"
    assert list(values[1]) == A.HEADERS and values[2][9] == "A012" and isinstance(values[2][0], int)
    f = tmp_path / "audit.txt"
    assert main(["audit", "--config", hall_file, "--db", db, "--from", "2026-11-25", "--format", "csv",
                 "--out", str(f)]) == 0
    got = list(csv.reader(f.read_text(encoding="utf-8-sig").splitlines()))
    assert got[0] == A.HEADERS and len(got) == 1 + len(A.audit(hall.store, DAY2, DAY2, config=hall.config))


@pytest.mark.parametrize(("extra", "said"), [
    (["--from", "2026-11-25", "--to", "2026-11-24"], "日期范围不正确"),
    (["--from", "2026-11-31"], "日期不正确"),
    (["--from", "24/11/2026"], "日期不正确"),
    (["--from", "2026-11-24", "--kind", "tickets"], "没有这类事件：tickets"),
    (["--from", "2026-11-24", "--format", "csv"], "需要 --out"),
    (["--from", "2026-11-24", "--out", "x.pdf"], "请用 --format table、csv 或 xlsx"),
    (["--from", "2026-11-24", "--ticket", "A" * 20], "票号不正确"),
])
def test_cli_bad_input_exits_2(hall: Hall, hall_file: str, extra: list[str], said: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", hall_file, "--db", hall.store.path, *extra]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_cli_unreadable_store_exits_2(tmp_path: Path, hall_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    assert main(["audit", "--config", hall_file, "--db", str(missing), "--from", "2026-11-24"]) == 2
    assert "数据库文件不存在" in capsys.readouterr().err
    assert not missing.exists()  # an audit never creates a store
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 300)
    assert main(["audit", "--config", hall_file, "--db", str(junk), "--from", "2026-11-24"]) == 2
    err = capsys.readouterr().err
    assert "数据库错误" in err and "不是数据库文件" in err and "Traceback" not in err


# --- docs ---------------------------------------------------------------------------------------------------------
def test_docs_say_it() -> None:
    from kiosk.cli import build_parser

    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._subparsers._group_actions)  # type: ignore[union-attr]
    for opt in sub.choices["audit"]._option_string_actions:  # type: ignore[union-attr]
        if opt.startswith("--") and opt != "--help":
            assert f"`{opt}" in cli_doc, f"hall audit {opt} is not in docs/cli.md"
    events_doc = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    who = events_doc[events_doc.index("## Who and where"):]
    for kind in C.ACTOR_KINDS:
        assert f"`{kind}" in who
    contract_doc = (ROOT / "docs" / "sync-contract.md").read_text(encoding="utf-8")
    for section in ("## Hall → central: events", "### Events, heartbeat and gaps"):
        part = contract_doc[contract_doc.index(section):][:6000]
        assert "`actor`" in part and "`terminal`" in part, section
