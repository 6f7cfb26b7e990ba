"""The `hall` command: run a role, the demo, a simulated day, device diagnostics, exports, the central collector."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.core import context
from kiosk.core.config import HallConfig
from kiosk.core.errors import ConfigError, StoreFault
from kiosk.core.hall import Hall
from kiosk.core.privacy import ScrubLogFilter
from kiosk.store import Store, StoreError
from kiosk.strings import LANGUAGES

DEMO_CONFIG = Path(__file__).with_name("demo_hall.toml")
DEFAULT_DB = Path(os.environ.get("HALL_DB", "var/hall.db"))
DEMO_DB = "var/demo.db"  # `hall demo` and `hall simulate` start these afresh each run (unless --db is given)
SIMULATE_DB = Path("var/simulate.db")
ROLES = ("server", "kiosk", "caller", "board", "dashboard", "evaluator")

# Every subcommand with its one-line help; tests check each is documented in docs/cli.md.
COMMANDS = {
    "demo": "start the whole hall on this machine with simulated devices (screens if a display exists)",
    "simulate": "run a simulated hall day headless and print the board and the day's figures",
    "run": "run one role: " + ", ".join(ROLES),
    "doctor": "list configured devices with their state; print a test ticket; send a test frame; read a card or scan",
    "check-config": "validate a hall configuration file and say what is wrong, with the line",
    "export": "export tickets and ratings for a date range to CSV or XLSX",
    "report": "the hall's figures for a date range by business, window, clerk or day, as PDF, XLSX or CSV",
    "central": "run the central collector (the province side) that stores every hall's events",
    "voice-clips": "render the offline voice clips with espeak-ng (done at install)",
    "web-poster": "today's 扫码取号 door poster: its URL, and its QR code as PNG, SVG or PDF",
    "appointments": "the service desk's appointments: list a day's, show free slots, book, cancel",
    "backup": "copy the store while the hall runs, checked; --dir DIR --keep N keeps the last N nightly copies",
    "restore": "replace a stopped hall's store with a backup, checked first; refused while the store is open",
    "purge": "clear personal data older than [retention] personal_days (the server does it nightly); --dry-run counts",
    "staff": "staff accounts: add, list, disable, reset a PIN, set the roster (the windows and businesses served)",
    "audit": "who did what, from which terminal: the event record of a date range, by staff, ticket or kind",
}


def fresh_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def open_hall(config: HallConfig, db: Path, clock: Any = wall_clock) -> Hall:
    return Hall(config, Store(db), clock=clock)  # its calendar: the config's, with [calendar] overrides


def _config(path: str | Path | None) -> HallConfig:
    """Every command reads the hall file here, through the one schema (kiosk/schema.py)."""
    from kiosk.schema import load

    return load(path or DEMO_CONFIG)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") not in (None, "", "xcb", "wayland"))


# ----------------------------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    from kiosk.simulate import DaySimulator, SimClock, board_text, figures_text, local_start, refusal_name

    cfg = _config(args.config)
    db = Path(args.db) if args.db else SIMULATE_DB
    if not args.db:  # the default file is a fresh day each run, not one more database in var/
        fresh_db(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    probe_clock = SimClock(wall_clock())
    hall = open_hall(cfg, db, probe_clock)
    start = local_start(hall)
    probe_clock.t = start
    sim = DaySimulator(hall, probe_clock, seed=args.seed, arrivals_per_hour=args.arrivals)
    print(f"模拟 {cfg.name} 的一天（{start.astimezone(cfg.tz):%Y-%m-%d}），数据库 {db}")
    sim.run_until(start + timedelta(hours=args.hours), dt=10.0, on_tick=lambda: print(board_text(hall), "\n"))
    print(board_text(hall))
    print()
    print(figures_text(hall))
    if sim.stats.refused:
        print("拒绝取号: " + "，".join(f"{refusal_name(k)} {v} 次" for k, v in sim.stats.refused.items()))
    n, last = hall.store.conn().execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events").fetchone()
    print(f"事件 {last} 条，" + ("序号连续" if n == last else f"序号有 {last - n} 处缺口"))
    if getattr(args, "showcase", False) and hall.config.devices:
        _device_showcase(hall, db.parent)
    return 0


def _device_showcase(hall: Hall, out_dir: Path) -> None:
    """After the headless day: the next morning with the simulated devices attached, to show what they do."""
    import time

    from devices.supervisor import Supervisor, build_drivers
    from kiosk.core.rating import Level
    from kiosk.device_text import by_attention, kind_text, reason_text, state_text
    from kiosk.simulate import local_start

    cfg = hall.config
    for section in cfg.devices.values():  # no loudspeaker in a headless run: announcements go to WAV files
        if section.get("kind") == "voice":
            section["sink"] = f"file://{(out_dir / 'voice').resolve()}"
    sup = Supervisor(hall, build_drivers(cfg))
    sup.start()
    hall.clock.t = local_start(hall, hall.now() + timedelta(days=1))  # type: ignore[attr-defined]
    time.sleep(1.0)
    issued = [hall.issue_ticket(b).value.ticket for b in ("social", "social", "housing")[:2]]
    hall.call_next(1)
    hall.start_service(1)
    hall.finish_service(1)
    hall.request_rating(1)
    hall.call_next(3) if hall.waiting(window=3) else None
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not hall.store.conn().execute(
            "SELECT 1 FROM ratings WHERE ticket_id = ?", (issued[0]["id"],)).fetchone():
        time.sleep(0.2)
    print("\n== 模拟设备 ==")
    for st in by_attention([{**st, "name": st["device"]} for st in sup.status()]):
        print(f"  {st['device']:<12} {kind_text(st['kind'])}  {state_text(st['state'])}  "
              f"{reason_text(st.get('reason'))}".rstrip())
    for name, d in sup.drivers.items():
        if hasattr(d, "shown"):
            print(f"  {name} 显示: " + " | ".join(t for t in d.shown().values() if t))
    try:
        from devices.printer import sim as printer_sim

        tickets = printer_sim.device("printer1").tickets
        if tickets:
            png = out_dir / "demo-ticket.png"
            tickets[-1].image().save(png)
            print(f"  打印机 printer1 已出票 {len(tickets)} 张，最后一张: {png}")
    except (ImportError, OSError) as exc:
        print(f"  打印机模拟不可用: {exc}")
    rated = hall.store.conn().execute("SELECT level FROM ratings WHERE ticket_id = ?", (issued[0]["id"],)).fetchone()
    print(f"  评价器: {issued[0]['number']} → {Level(rated[0]).label if rated and rated[0] else '未评价'}")
    wavs = sorted((out_dir / "voice").glob("*.wav")) if (out_dir / "voice").exists() else []
    print(f"  语音播报: {len(wavs)} 段 → {out_dir / 'voice'}")
    sup.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    if args.headless or not _has_display():
        if not args.headless:
            print("没有显示器（DISPLAY 未设置）：运行无界面的模拟营业日。"
                  "有显示器时会打开取号机、叫号器、评价器、大屏和管理看板。")
        args.showcase = True
        logging.getLogger().setLevel(logging.WARNING)  # the printed board and figures are the output, in Chinese
        return cmd_simulate(args)
    try:
        from kiosk.ui.app import run_demo
    except ImportError as exc:
        print(f"界面模块不可用（{exc}）：运行无界面的模拟营业日。")
        return cmd_simulate(args)
    # the default demo database starts empty each run; a --db given is used as it is
    return int(run_demo(args.config or str(DEMO_CONFIG), args.db or DEMO_DB, speed=args.speed, scale=args.scale,
                        clean=not args.db) or 0)


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _config(args.config)
    db = Path(args.db or DEFAULT_DB)
    if args.role == "server":
        return _run_server(cfg, db)
    if args.lang and args.lang not in cfg.hall.languages:  # a screen speaks only what the hall offers
        print(f"配置错误: --lang {args.lang} is not one of [hall] languages ({', '.join(cfg.hall.languages)})",
              file=sys.stderr)
        return 2
    from kiosk.ui.app import run_role

    return int(run_role(args.role, args.config or str(DEMO_CONFIG), str(db), window=args.window, lan=args.lan,
                        fullscreen=args.fullscreen, lang=args.lang) or 0)


def start_server_parts(hall: Hall) -> list[Any]:
    """Devices, the sync link, the LAN server and the phone pages around the Hall, for `hall run server`; returns
    their stops.  Everything is built (and its config checked, naming the section) before anything starts."""
    from devices.supervisor import Supervisor
    from kiosk.web.server import WebServer
    from sync.lan import LanServer
    from sync.service import HallSync

    parts: list[Any] = [Supervisor.from_config(hall), HallSync.from_config(hall),
                        LanServer.from_section(hall, hall.config.lan),  # None: no [sync] / no [lan] / no [web]
                        WebServer.from_section(hall, hall.config.web)]
    stoppers: list[Any] = []
    for part in parts:
        if part is not None:
            part.start()
            stoppers.append(part.stop)
    return stoppers


def _run_server(cfg: HallConfig, db: Path) -> int:
    """The hall core with its devices and the sync link: one process, the single writer."""
    hall = open_hall(cfg, db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stoppers = start_server_parts(hall)
    from kiosk.core.cases import Cases

    cases = Cases(hall)
    from kiosk.core.retention import Retention

    retention = Retention(hall)  # personal data past [retention] personal_days: at start, then after each midnight
    wake = threading.Event()
    stoppers.append(cases.attach(wake.set))  # a 差评 opens its rectification item within a second
    logging.info("hall %s serving from %s", cfg.hall_id, db)
    next_pass = 0.0
    fault = ""
    purge_fault = ""
    while not stop.wait(1.0):
        try:
            hall.tick()
            fault = ""
        except StoreFault as exc:  # the midnight rollover could not be saved: said once, retried every second
            if exc.message != fault:
                logging.error("%s", exc.message)
            fault = exc.message
        now = time.monotonic()
        if wake.is_set() or now >= next_pass:  # 黄牌/红牌 change on time even if nothing touches the case
            wake.clear()
            next_pass = now + 60.0
            try:
                cases.evaluate_cards()
            except Exception:  # a bad case row must not stop the hall; it is logged with its trace
                logging.exception("cases: evaluate pass failed")
        try:
            purged = retention.step()
            purge_fault = ""
            if purged is not None and any(purged.counts.values()):
                logging.info("retention: cleared personal data before %s: %s", purged.before, purged.counts)
        except StoreFault as exc:  # retried next second, like the rollover; said once
            if exc.message != purge_fault:
                logging.error("%s", exc.message)
            purge_fault = exc.message
        except Exception:  # a purge that fails must not stop the hall: logged with its trace, tried again tomorrow
            logging.exception("retention: purge failed")
            retention.postpone()
    for s in reversed(stoppers):
        s()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from devices.supervisor import doctor

    cfg = _config(args.config)
    return doctor(cfg, test_print=args.test_print, test_frame=args.test_frame, test_read=args.test_read,
                  read_wait=args.read_wait)


def cmd_check_config(args: argparse.Namespace) -> int:
    from kiosk.core.config import language_gaps

    cfg = _config(args.file)  # the very load `hall run server` and every screen do
    print(f"{args.file}: 配置有效 — {cfg.name}（{cfg.hall_id}），{len(cfg.businesses)} 项业务，"
          f"{len(cfg.windows)} 个窗口，{len(cfg.devices)} 台设备")
    gaps = language_gaps(cfg)  # valid, but a citizen would read Chinese on a screen in their language
    for gap in gaps:
        print(f"警告：{gap}")
    if gaps:
        print(f"{len(gaps)} 处未翻译：这些文字在对应语言的屏幕上显示为中文")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from kiosk.core.export import ratings_sheet, tickets_sheet, write_sheet_csv, write_sheets_xlsx

    span = _day_span(args.date_from, args.date_to)
    if span is None:
        return 2
    d1, d2 = span
    cfg = _config(args.config)
    conn = Store(Path(args.db or DEFAULT_DB)).conn()
    tickets = tickets_sheet(conn, cfg, d1.isoformat(), d2.isoformat())
    ratings = ratings_sheet(conn, cfg, d1.isoformat(), d2.isoformat())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "xlsx":
        write_sheets_xlsx(out, [tickets, ratings])
    else:
        write_sheet_csv(out, tickets)
        write_sheet_csv(out.with_name(out.stem + "-ratings.csv"), ratings)
    print(f"{cfg.name}: {len(tickets.rows)} 张票、{len(ratings.rows)} 条评价 → {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The report a manager prints or sends (kiosk/core/report.py): figures, not rows."""
    from kiosk.core.report import build_report
    from kiosk.core.report_files import FORMATS, write

    span = _day_span(args.date_from, args.date_to)
    if span is None:
        return 2
    d1, d2 = span
    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        print(f"请用 --format pdf、xlsx 或 csv（或以 .pdf、.xlsx、.csv 结尾的 --out），不是 {fmt or out.name!r}",
              file=sys.stderr)
        return 2
    cfg = _config(args.config)
    store = Store(Path(args.db or DEFAULT_DB))
    try:
        report = build_report(store.conn(), cfg, d1, d2, args.by, wall_clock())
    finally:
        store.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        try:
            from kiosk.ui.report_pdf import write_pdf
        except ImportError as exc:  # the PDF is drawn with Qt (PySide6, installed with the screens)
            print(f"无法生成 PDF（{exc}）：请用 --format xlsx 或 csv", file=sys.stderr)
            return 2
        write_pdf(report, out)
    else:
        write(report, out, fmt)
    t = report.total
    rate = "—" if t.satisfaction_rate is None else f"{t.satisfaction_rate * 100:.1f}%"
    print(f"{report.title} {report.span}（按{report.by_label}，{len(report.rows)} 行）：取号 {t.issued}，"
          f"办结 {t.served}，满意率 {rate} → {out}")
    return 0


def _day_span(date_from: str, date_to: str | None) -> tuple[date, date] | None:
    """--from/--to as dates (--to defaults to --from), or None once the mistake is said in Chinese (`hall export`,
    `hall report`, `hall audit`)."""
    try:
        d1 = date.fromisoformat(date_from)
        d2 = date.fromisoformat(date_to) if date_to else d1
    except ValueError as exc:
        print(f"日期不正确（应为 YYYY-MM-DD）：{exc}", file=sys.stderr)
        return None
    if d2 < d1:
        print(f"日期范围不正确：--to {d2} 早于 --from {d1}", file=sys.stderr)
        return None
    return d1, d2


AUDIT_FORMATS = ("table", "csv", "xlsx")


def cmd_audit(args: argparse.Namespace) -> int:
    """The event record read back (kiosk/core/audit.py): who voided A012, what clerk 0012 did on Monday."""
    from kiosk.core import audit as A

    span = _day_span(args.date_from, args.date_to)
    if span is None:
        return 2
    d1, d2 = span
    out = Path(args.out) if args.out else None
    fmt = args.format or (out.suffix.lower().lstrip(".") if out else "table")
    if fmt not in AUDIT_FORMATS:
        print(f"请用 --format table、csv 或 xlsx（或以 .csv、.xlsx 结尾的 --out），不是 {fmt!r}", file=sys.stderr)
        return 2
    if fmt != "table" and out is None:
        print(f"--format {fmt} 需要 --out 文件", file=sys.stderr)
        return 2
    try:
        A.parse_kinds(args.kind)
        ticket = A.ticket_number(args.ticket) if args.ticket else None
    except ValueError as exc:
        print(f"参数不正确：{exc}", file=sys.stderr)
        return 2
    cfg = _config(args.config)
    db = Path(args.db or DEFAULT_DB)
    if not db.is_file():  # an audit reads a store; it never creates an empty one
        print(f"数据库错误: 数据库文件不存在：{db}", file=sys.stderr)
        return 2
    store = Store(db)
    try:
        with store.faults():
            rows = A.audit(store, d1, d2, config=cfg, staff=args.staff, ticket=ticket, kinds=args.kind)
    finally:
        store.close()
    said = [f"工号 {args.staff}" if args.staff else "", f"票号 {ticket}" if ticket else "",
            f"事件 {'、'.join(args.kind)}" if args.kind else ""]
    head = f"{cfg.name} {d1}" + (f" 至 {d2}" if d2 != d1 else "") + " 操作记录" + \
        (f"（{'，'.join(s for s in said if s)}）" if any(said) else "") + f"：{len(rows)} 条"
    if fmt == "table":
        text = A.table_text(rows) if rows else "没有符合条件的记录"
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
            print(f"{head} → {out}")
        else:
            print(head)
            print(text)
        return 0
    assert out is not None
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        A.write_xlsx(out, rows, title=head.rsplit("：", 1)[0])
    else:
        A.write_csv(out, rows)
    print(f"{head} → {out}")
    return 0


def cmd_central(args: argparse.Namespace) -> int:
    from sync.central import main as central_main

    return int(central_main(args.rest) or 0)


def cmd_voice_clips(args: argparse.Namespace) -> int:
    from devices.voice.clips import ensure_clips

    made = ensure_clips(Path(args.dir))
    print(f"voice clips ready in {args.dir} ({made} rendered)")
    return 0


def cmd_web_poster(args: argparse.Namespace) -> int:
    import segno

    cfg = _config(args.config)
    if not cfg.web:
        raise ConfigError(f"{cfg.source}: section [web] is needed for the door poster", section="web")
    from kiosk.web.settings import parse_web_settings

    settings = parse_web_settings(cfg.web)
    hall = open_hall(cfg, Path(args.db or DEFAULT_DB))  # the store holds the key the tokens are made with
    day = hall.today()
    url = f"{settings.base_url}/q/{hall.tokens.poster(day)}"
    if args.out:
        segno.make(url, error="m").save(args.out, scale=args.scale, border=4)
    print(f"{cfg.name} 扫码取号 {day}: {url}" + (f" → {args.out}" if args.out else ""))
    return 0


APPOINTMENT_STATUS = {"booked": "已预约", "checked_in": "已签到", "cancelled": "已取消", "no_show": "爽约"}
APPOINTMENT_SOURCE = {"kiosk": "自助终端", "phone": "手机", "central": "省平台", "desk": "服务台"}


def cmd_appointments(args: argparse.Namespace) -> int:
    """The service desk's view and commands (kiosk/core/appointments.py), on the hall's store like the server."""
    from kiosk.core import appointments as A
    from kiosk.core.errors import HallError

    cfg = _config(args.config)
    hall = open_hall(cfg, Path(args.db or DEFAULT_DB))
    try:
        if args.action == "list":
            day = date.fromisoformat(args.date) if args.date else None
            rows = A.listing(hall, day, args.business, args.status)
            print(f"{cfg.name} {(day or date.fromisoformat(hall.today())).isoformat()} 预约 {len(rows)} 个")
            for r in rows:
                b = cfg.business(r["business"])
                print(f"{r['slot_start']}-{r['slot_end']}  {b.name if b else r['business']}  {r['code']}  "
                      f"{APPOINTMENT_STATUS.get(r['status'], r['status'])}"
                      f"{'  ' + r['number'] if r['number'] else ''}  {r['id_masked'] or '-'}  "
                      f"{r['name_masked'] or '-'}  {APPOINTMENT_SOURCE.get(r['source'] or '', r['source'] or '-')}")
        elif args.action == "slots":
            b = cfg.business(args.business)
            if b is None:
                print(f"没有这项业务：{args.business}", file=sys.stderr)
                return 2
            for day, slots in A.offer(hall, b):
                cells = "  ".join(f"{s.start}({s.free}/{s.capacity})" if s.free else f"{s.start}(满)" for s in slots)
                print(f"{day.isoformat()}  {cells}")
        elif args.action == "book":
            id_number = _read_id(args.id_number)
            r = A.book(hall, args.business, date.fromisoformat(args.date), args.slot, id_number=id_number,
                       name=args.name, source="desk")
            a = r.value
            print(f"已预约 {a['code']}：{cfg.business(a['business']).name} {a['date']} "  # type: ignore[union-attr]
                  f"{a['slot_start']}-{a['slot_end']}")
        else:
            a = A.cancel(hall, args.code, source="desk").value
            print(f"已取消 {a['code']}：{a['date']} {a['slot_start']}-{a['slot_end']}")
    except ValueError as exc:
        print(f"参数不正确：{exc}", file=sys.stderr)
        return 2
    except HallError as exc:  # refused: said as the kiosk says it; nothing changed
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        hall.store.close()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from kiosk.backup import BackupError, backup, backup_to_dir

    db = Path(args.db or DEFAULT_DB)
    try:
        if args.out:
            copy = backup(db, Path(args.out))
            print(f"备份完成：{copy.text()}")
        else:
            copy, gone = backup_to_dir(db, Path(args.dir), args.keep, datetime.now().astimezone())
            print(f"备份完成：{copy.text()}" + (f"；删除较早的备份 {len(gone)} 份，保留最近 {args.keep} 份"
                                              if gone else ""))
    except BackupError as exc:
        print(exc.message, file=sys.stderr)
        return exc.code
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from kiosk.backup import UNREAD_LOG_MARGIN, BackupError, restore

    def _span(first: int, last: int) -> str:
        return str(first) if first == last else f"{first}–{last}"

    db = Path(args.db or DEFAULT_DB)
    try:
        done = restore(Path(args.file), db, datetime.now().astimezone())
    except BackupError as exc:
        print(exc.message, file=sys.stderr)
        return exc.code
    print(f"已恢复：{done.copy.text()}")
    if done.kept is not None:
        print(f"原数据库保留在 {done.kept}（确认无误后可删除）")
    if done.skipped is not None:
        # central keeps one event per (hall, seq): the restored hall numbers on after every seq already used
        first, last = done.skipped
        print(f"被替换的数据库已用到事件序号 {last}，备份只到 {first - 1}：序号 {_span(first, last)} 不再使用，"
              f"已记录“数据库已恢复”事件（序号 {last + 1}），省中心据此不再等待这些序号")
    if done.unsent is not None:
        first, last = done.unsent
        print(f"注意：被替换的数据库中序号 {_span(first, last)} 的事件未确认送达省中心，恢复后不会再发送，"
              f"它们只保存在 {done.kept} 中", file=sys.stderr)
    if done.replaced is not None and done.replaced.last_seq is None:
        since = "省中心已确认的序号" if done.replaced.acked is not None else "备份"
        print(f"注意：无法读取被替换的数据库的事件日志，不知道它用到的最大序号：已在{since}之后预留 "
              f"{UNREAD_LOG_MARGIN:,} 个序号不再使用，恢复后的新事件不会与省中心已收到的事件重号", file=sys.stderr)
    print(f"下一个事件序号 {done.next_seq}；现在可以启动：systemctl start hall-server")
    return 0


PURGE_LABELS = {"tickets": "号票", "appointments": "预约", "cases": "办件", "ratings": "评价留言",
                "dead_letters": "死信（删除）", "events": "事件"}


def cmd_purge(args: argparse.Namespace) -> int:
    from kiosk.core import retention

    cfg = _config(args.config)
    hall = open_hall(cfg, Path(args.db or DEFAULT_DB))
    try:
        p = retention.preview(hall) if args.dry_run else retention.purge(hall)
    finally:
        hall.store.close()
    said = "，".join(f"{PURGE_LABELS[k]} {n}" for k, n in p.counts.items())
    verb, note = ("将清除", "（试运行，未改动）") if args.dry_run else ("已清除", "")
    print(f"个人信息保留 {cfg.retention.personal_days} 天：{verb} {p.before} 之前的 {said}{note}")
    return 0


def _read_pin(value: str | None) -> str:
    """A PIN never comes from the command line: asked twice without echo, or `--pin -` reads one line of stdin."""
    if value == "-" or not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    import getpass

    pin = getpass.getpass("密码（6 位数字）：").strip()
    if getpass.getpass("再输入一次：").strip() != pin:
        raise ValueError("两次输入的密码不一致")
    return pin


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.replace("，", ",").split(",") if x.strip()]


def _codes(text: str) -> list[str]:
    return [x.strip() for x in text.replace("，", ",").split(",") if x.strip()]


def cmd_staff(args: argparse.Namespace) -> int:
    """Staff accounts (kiosk/core/staff.py), on the hall's store like the server."""
    from kiosk.core import staff as S
    from kiosk.core.errors import HallError

    cfg = _config(args.config)
    hall = open_hall(cfg, Path(args.db or DEFAULT_DB))
    try:
        if args.action == "list":
            rows = S.members(hall)
            print(f"{cfg.name} 工作人员 {len(rows)} 人")
            for m in rows:
                state = "在用" if m.active else "已停用"
                if m.locked_until and m.locked_until > hall.now().isoformat():
                    state += f"（锁定至 {datetime.fromisoformat(m.locked_until).astimezone(hall.tz):%H:%M}）"
                windows = "、".join(f"{n}号" for n in m.windows) or "-"
                print(f"{m.staff_no}  {m.name}  {m.role_label}  {state}  窗口 {windows}  "
                      f"业务 {'、'.join(m.businesses) or '全部'}  工作证 {'已登记' if m.card else '-'}")
        elif args.action == "add":
            m = S.add(hall, args.staff_no, args.name, args.role, _read_pin(args.pin), card=args.card).value
            print(f"已添加 {m.staff_no} {m.name}（{m.role_label}）")
        elif args.action == "disable":
            m = S.disable(hall, args.staff_no).value
            print(f"已停用 {m.staff_no} {m.name}")
        elif args.action == "reset-pin":
            m = S.reset_pin(hall, args.staff_no, _read_pin(args.pin)).value
            print(f"已重置 {m.staff_no} {m.name} 的密码")
        else:
            m = S.set_roster(hall, args.staff_no, _ints(args.windows), _codes(args.businesses)).value
            print(f"{m.staff_no} {m.name} 排班窗口：{'、'.join(f'{n}号' for n in m.windows) or '无'}；"
                  f"业务：{'、'.join(m.businesses) or '窗口办理的全部业务'}")
    except ValueError as exc:
        print(f"参数不正确：{exc}", file=sys.stderr)
        return 2
    except HallError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        hall.store.close()
    return 0


def _read_id(value: str | None) -> str | None:
    """`--id-number -` reads it from the terminal without echo (or one line of stdin): never in the shell history."""
    if value != "-":
        return value
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("身份证号：").strip() or None
    return sys.stdin.readline().strip() or None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hall", description="政务服务大厅边缘系统 — hall edge")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])

    for name in ("demo", "simulate"):
        s = add(name)
        s.add_argument("--config", help="hall TOML (default: the demo hall)")
        s.add_argument("--db", help="SQLite store path")
        s.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second (screens)")
        s.add_argument("--hours", type=float, default=9.0, help="length of the simulated day (headless)")
        s.add_argument("--seed", type=int, default=7)
        s.add_argument("--arrivals", type=float, default=55.0, help="citizens arriving per hour")
        s.add_argument("--headless", action="store_true", help="no screens: print the board and figures")
        if name == "demo":
            s.add_argument("--scale", type=float, help="how large the screens are drawn (default 0.5: all five at "
                                                       "their real sizes fit one 1920×1080 monitor)")
    s = add("run")
    s.add_argument("role", choices=ROLES)
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--window", type=int, default=1, help="window number (caller, evaluator)")
    s.add_argument("--lan", help="screens: a LAN client file (hall_id, client_id, [lan]) to use `hall run server` "
                                 "on another PC through the hall broker instead of a local store")
    s.add_argument("--fullscreen", action="store_true", help="screens: fill the display (kiosk session)")
    s.add_argument("--lang", choices=list(LANGUAGES),
                   help="screens: the caller's and dashboard's language, the evaluator's own (a citizen may choose "
                        "another), the board's beside Chinese; one of [hall] languages (default: Chinese; the board "
                        "turns through all of them)")
    s = add("doctor")
    s.add_argument("--config")
    s.add_argument("--test-print", action="store_true")
    s.add_argument("--test-frame", action="store_true")
    s.add_argument("--test-read", action="store_true",
                   help="wait for one ID card on each reader and one scan on each scanner, and show it (masked)")
    s.add_argument("--read-wait", type=float, default=30.0, help="seconds --test-read waits (default 30)")
    s = add("check-config")
    s.add_argument("file")
    s = add("export")
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    s.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default: same day)")
    s.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    s.add_argument("--out", required=True)
    s = add("report")
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD (the hall's local date)")
    s.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default: same day)")
    s.add_argument("--by", choices=("business", "window", "clerk", "day"), default="business",
                   help="one row per business (default), window, clerk or day, and the hall's total")
    s.add_argument("--format", choices=("pdf", "xlsx", "csv"), help="default: from the --out suffix")
    s.add_argument("--out", required=True, help="report.pdf, report.xlsx or report.csv")
    s = add("central")
    s.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the collector")
    s = add("web-poster")
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--out", help="poster.png, poster.svg or poster.pdf (the QR code); without it only the URL")
    s.add_argument("--scale", type=int, default=12, help="pixels (PNG) or points (PDF) per QR module")
    s = add("appointments")
    acts = s.add_subparsers(dest="action", required=True)
    for name, text in (("list", "a day's appointments by slot (default today)"),
                       ("slots", "a business's bookable days and slots with the free places"),
                       ("book", "book a slot at the service desk"), ("cancel", "cancel a booking not yet used")):
        a = acts.add_parser(name, help=text, description=text)
        a.add_argument("--config")
        a.add_argument("--db")
        if name == "list":
            a.add_argument("--date", help="YYYY-MM-DD (default today)")
            a.add_argument("--business", help="a business code")
            a.add_argument("--status", choices=tuple(APPOINTMENT_STATUS))
        elif name == "slots":
            a.add_argument("business")
        elif name == "book":
            a.add_argument("business")
            a.add_argument("date", help="YYYY-MM-DD")
            a.add_argument("slot", help="the slot's start, HH:MM")
            a.add_argument("--id-number", help="the citizen's ID number; - asks for it without echo")
            a.add_argument("--name", help="the citizen's name (kept masked)")
        else:
            a.add_argument("code")
    s = add("backup")
    s.add_argument("--db", help="the store (default var/hall.db or $HALL_DB)")
    where = s.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="the backup file to write")
    where.add_argument("--dir", help="a directory for dated copies hall-YYYYMMDD-HHMMSS.db (the nightly timer)")
    s.add_argument("--keep", type=int, default=14, help="with --dir: how many copies to keep (default 14)")
    s = add("restore")
    s.add_argument("file", help="a backup made by hall backup")
    s.add_argument("--db", help="the store to replace (default var/hall.db or $HALL_DB)")
    s = add("purge")
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--dry-run", action="store_true", help="only count what would be cleared")
    s = add("staff")
    acts = s.add_subparsers(dest="action", required=True)
    for name, text in (("list", "every account, its role, state, lock and roster"),
                       ("add", "a new account; the PIN is asked without echo (or --pin - reads stdin)"),
                       ("disable", "stop an account (signs it out of its window)"),
                       ("reset-pin", "a new PIN; clears the wrong tries and any lock"),
                       ("roster", "the windows (and businesses) a clerk may serve")):
        a = acts.add_parser(name, help=text, description=text)
        a.add_argument("--config")
        a.add_argument("--db")
        if name != "list":
            a.add_argument("staff_no", help="the staff number (工号)")
        if name == "add":
            a.add_argument("name")
            a.add_argument("--role", choices=("clerk", "manager", "admin"), default="clerk")
            a.add_argument("--card", help="the badge's code (a scan at the caller names the account)")
        if name in ("add", "reset-pin"):
            a.add_argument("--pin", choices=("-",), help="- reads the PIN from one line of stdin")
        if name == "roster":
            a.add_argument("--windows", required=True, help="window numbers, e.g. 1,2 (empty: none)")
            a.add_argument("--businesses", default="", help="business codes, e.g. social,tax (default: all)")
    s = add("audit")
    s.add_argument("--config")
    s.add_argument("--db")
    s.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD (the hall's local date)")
    s.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default: same day)")
    s.add_argument("--staff", help="a staff number (工号): the events that person did")
    s.add_argument("--ticket", help="a ticket number, e.g. A012: the events that name it in the date range")
    s.add_argument("--kind", action="append", help="an event kind (ticket.voided) or family (ticket, staff, window"
                                                   "…); repeatable")
    s.add_argument("--format", choices=AUDIT_FORMATS, help="table (default, to the screen), csv or xlsx (need --out)")
    s.add_argument("--out", help="the file to write (audit.csv, audit.xlsx)")
    s = add("voice-clips")
    s.add_argument("--dir", default=os.path.expanduser("~/.cache/hall/voice"))
    return p


HANDLERS = {
    "demo": cmd_demo, "simulate": cmd_simulate, "run": cmd_run, "doctor": cmd_doctor,
    "check-config": cmd_check_config, "export": cmd_export, "report": cmd_report, "central": cmd_central,
    "voice-clips": cmd_voice_clips,
    "web-poster": cmd_web_poster, "appointments": cmd_appointments, "backup": cmd_backup, "restore": cmd_restore,
    "purge": cmd_purge, "staff": cmd_staff, "audit": cmd_audit,
}


# The long-running commands log what they do; one-shot commands only their warnings.
_CHATTY = frozenset({"run", "demo", "central"})


def setup_logging(level: int) -> None:
    """One log format for every command, and ID and mobile numbers masked in every line whichever module logged
    it: a handler's filter sees the records of all loggers (a logger's own filter only its own records)."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubLogFilter) for f in handler.filters):
            handler.addFilter(ScrubLogFilter())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(logging.INFO if args.cmd in _CHATTY else logging.WARNING)
    try:
        if args.cmd in ("run", "demo", "simulate", "central"):  # they name their own operators (or run no hall)
            return HANDLERS[args.cmd](args)
        with context.acting(context.CONSOLE):  # `hall void`, `hall staff add`…: the hall PC's administrator
            return HANDLERS[args.cmd](args)
    except ConfigError as exc:
        print(f"配置错误: {exc}", file=sys.stderr)
        return 2
    except (StoreFault, StoreError) as exc:  # opening the store: disk full, read-only, locked, missing, too new
        print(f"数据库错误: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
