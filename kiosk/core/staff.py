"""Staff accounts (工号, name, role, badge), their PINs (scrypt only), lock-out after wrong PINs, the roster (which
windows and businesses a clerk may serve) and signing in at a window with a PIN.  Pure: commands run through
`Hall.run`, time comes from the hall's clock.

Accounts are optional: a hall with no account at all signs clerks in by name as before (`Hall.sign_in`); as soon
as one account exists every window sign-in needs a staff number and its PIN (`sign_in_staff`)."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from kiosk.core import context as C
from kiosk.core.errors import HallError, _err

if TYPE_CHECKING:
    from kiosk.core.hall import Hall, Result, Tx

# --- event kinds (never a PIN, a salt or a hash in any of them) -----------------------------------------------------
STAFF_ADDED = "staff.added"  # {staff_no, name, role, card}
STAFF_DISABLED = "staff.disabled"  # {staff_no, signed_out_window}
STAFF_PIN_RESET = "staff.pin_reset"  # {staff_no}
STAFF_ROSTER_SET = "staff.roster_set"  # {staff_no, windows, businesses}
STAFF_SIGNIN_REFUSED = "staff.signin_refused"  # {staff_no, window, reason, tries_left?, locked_until?}
# a person signed in at a terminal (the dashboard, a LAN screen) rather than at a window: no window row changes
STAFF_SIGNED_IN_TERMINAL = "staff.signed_in_terminal"  # {staff_no, role}

Role = Literal["clerk", "manager", "admin"]
ROLES: dict[str, str] = {"clerk": "窗口人员", "manager": "负责人", "admin": "系统管理员"}
# Who may sign in at a window: a clerk on the roster, a manager anywhere (A/B角 cover); an admin runs the system only.
WINDOW_ROLES = frozenset({"clerk", "manager"})
MAX_FAILURES = 5  # wrong PINs in a row before the account locks
LOCK_MINUTES = 15  # how long a lock lasts
PIN_DIGITS = 6
# scrypt: N=2**14, r=8, p=1 — 16 MiB of memory per try (128·r·N bytes) and tens of ms, a 16-byte random salt per
# account, a 32-byte key.  A stolen hall.db costs an attacker that much per guess of a 6-digit PIN.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2 ** 14, 8, 1, 32, 16
_STAFF_NO = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_PIN = re.compile(r"^[0-9]{6}\Z")

# --- refusals -----------------------------------------------------------------------------------------------------
BadStaffNo = _err("BadStaffNo", "staff_bad_number", "工号只能由字母、数字、- 或 _ 组成，最多 32 位")
BadStaffName = _err("BadStaffName", "staff_bad_name", "请填写姓名（最多 20 字）")
BadRole = _err("BadRole", "staff_bad_role", "角色只能是 窗口人员(clerk)、负责人(manager) 或 系统管理员(admin)")
BadPin = _err("BadPin", "staff_bad_pin", "密码须为 6 位数字")
StaffExists = _err("StaffExists", "staff_exists", "工号 {staff_no} 已经存在")
CardInUse = _err("CardInUse", "staff_card_in_use", "这张工作证已登记给工号 {staff_no}")
StaffNotFound = _err("StaffNotFound", "staff_not_found", "没有工号 {staff_no}")
UnknownRosterWindow = _err("UnknownRosterWindow", "staff_unknown_window", "没有 {window} 号窗口")
UnknownRosterBusiness = _err("UnknownRosterBusiness", "staff_unknown_business", "没有这项业务：{business}")
WrongPin = _err("WrongPin", "staff_wrong_pin", "工号或密码不正确，还可以再试 {tries_left} 次")
StaffLocked = _err("StaffLocked", "staff_locked", "密码错误次数过多，账号已锁定至 {until}")
StaffDisabled = _err("StaffDisabled", "staff_disabled", "工号 {staff_no} 已停用，请联系负责人")
NotOnRoster = _err("NotOnRoster", "staff_not_on_roster", "工号 {staff_no} 未排班在{window_name}")
AlreadySignedIn = _err("AlreadySignedIn", "staff_already_signed_in",
                       "工号 {staff_no} 已在{window_name}签到，请先在那里签退")
RoleNotAllowed = _err("RoleNotAllowed", "staff_role_not_allowed", "{role}不能在窗口签到")
PinRequired = _err("PinRequired", "staff_pin_required", "本大厅已启用工号账号，请输入工号和密码签到")
ManagerRequired = _err("ManagerRequired", "staff_manager_required", "需要负责人登录后才能{action}")
AdminRequired = _err("AdminRequired", "staff_admin_required", "需要系统管理员登录后才能{action}")
RoleTooLow = _err("RoleTooLow", "staff_role_too_low", "{role} {staff_no} 无权{action}，需要{needed}登录")

# --- who may run which command (only in a hall with accounts: without one every screen works as before) ----------
# command name (as given to Hall.run) → what it does, said in a refusal.  Anything not named here is open to the
# screens' own allow-lists (a citizen issues tickets, a window's clerk calls them).
MANAGER_COMMANDS: dict[str, str] = {
    "void": "作废号票", "close_business": "暂停业务取号", "open_business": "恢复业务取号", "set_notice": "发布大厅公告",
    # 整改 (kiosk/core/rectify.py): naming who answers for the 整改 and deciding a clerk's 申诉 are a manager's
    "rectification_rectify": "指派整改", "rectification_decide": "复核申诉",
}
ADMIN_COMMANDS: dict[str, str] = {
    "staff_add": "添加人员账号", "staff_disable": "停用人员账号", "staff_reset_pin": "重置人员密码",
    "staff_roster": "设置排班", "purge_personal": "清除个人信息", "calendar_apply": "更新节假日日历",
}
MANAGER_ROLES = frozenset({"manager", "admin"})
ADMIN_ROLES = frozenset({"admin"})
# Never asked: the hall PC's administrator at `hall ...`, the province through sync.  ("system" is exempt only
# with no terminal: the hall's own sweeps and in-process code, never a screen.)
EXEMPT_ACTORS = frozenset({"console", "central"})


@dataclass(frozen=True, slots=True)
class StaffMember:
    """An account as screens and the CLI see it: no PIN, salt or hash."""

    staff_no: str
    name: str
    role: str
    active: bool
    card: str | None
    windows: tuple[int, ...]
    businesses: tuple[str, ...]
    failures: int
    locked_until: str | None  # UTC ISO, while a lock is (or was last) set

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def to_dict(self) -> dict[str, Any]:
        return {"staff_no": self.staff_no, "name": self.name, "role": self.role, "role_label": self.role_label,
                "active": self.active, "card": self.card, "windows": list(self.windows),
                "businesses": list(self.businesses), "failures": self.failures, "locked_until": self.locked_until}


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN,
                          maxmem=64 * 1024 * 1024)


def _check_pin(pin: Any) -> str:
    if not isinstance(pin, str) or not _PIN.match(pin):
        raise BadPin()
    return pin


def _check_no(staff_no: Any) -> str:
    s = staff_no.strip() if isinstance(staff_no, str) else ""
    if not _STAFF_NO.match(s):
        raise BadStaffNo()
    return s


def _member(r: sqlite3.Row) -> StaffMember:
    return StaffMember(r["staff_no"], r["name"], r["role"], bool(r["active"]), r["card"],
                       tuple(json.loads(r["roster_windows"])), tuple(json.loads(r["roster_businesses"])),
                       int(r["failures"]), r["locked_until"])


def any_accounts(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM staff LIMIT 1").fetchone() is not None


def _row(tx: Tx, staff_no: str) -> sqlite3.Row:
    r = tx.one("SELECT * FROM staff WHERE staff_no = ?", staff_no)
    if r is None:
        raise StaffNotFound(staff_no=staff_no)
    return r


def _local(hall: Hall, at_utc: str) -> str:
    return datetime.fromisoformat(at_utc).astimezone(hall.tz).strftime("%H:%M")


# --- management commands --------------------------------------------------------------------------------------------
def add(hall: Hall, staff_no: str, name: str, role: str, pin: str, *, card: str | None = None
        ) -> Result[StaffMember]:
    """A new account (active, empty roster).  StaffExists, CardInUse, BadStaffNo/Name, BadRole, BadPin."""
    no = _check_no(staff_no)
    nm = name.strip() if isinstance(name, str) else ""
    if not nm or len(nm) > 20:
        raise BadStaffName()
    if role not in ROLES:
        raise BadRole()
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hash_pin(_check_pin(pin), salt)  # outside the hall's lock: tens of ms
    badge = card.strip() if card and card.strip() else None

    def body(tx: Tx) -> StaffMember:
        if tx.one("SELECT 1 FROM staff WHERE staff_no = ?", no):
            raise StaffExists(staff_no=no)
        if badge:
            other = tx.one("SELECT staff_no FROM staff WHERE card = ?", badge)
            if other:
                raise CardInUse(staff_no=other[0])
        tx.exec("INSERT INTO staff(staff_no, name, role, active, card, pin_salt, pin_hash, failures, locked_until, "
                "roster_windows, roster_businesses, created_at) VALUES (?, ?, ?, 1, ?, ?, ?, 0, NULL, '[]', '[]', ?)",
                no, nm, role, badge, salt, digest, tx.at)
        tx.emit(STAFF_ADDED, {"staff_no": no, "name": nm, "role": role, "card": bool(badge)})
        return _member(_row(tx, no))

    return hall.run("staff_add", None, body)


def disable(hall: Hall, staff_no: str) -> Result[StaffMember]:
    """Stops the account; signs it out of its window when no citizen is being served there (else WindowBusy)."""
    def body(tx: Tx) -> StaffMember:
        r = _row(tx, staff_no)
        w = tx.one("SELECT number FROM windows WHERE clerk_id = ?", r["staff_no"])
        if w is not None:
            hall._sign_out(tx, int(w[0]), reason="disabled")
        tx.exec("UPDATE staff SET active = 0 WHERE staff_no = ?", r["staff_no"])
        tx.emit(STAFF_DISABLED, {"staff_no": r["staff_no"], "signed_out_window": int(w[0]) if w else None})
        return _member(_row(tx, r["staff_no"]))

    return hall.run("staff_disable", None, body)


def reset_pin(hall: Hall, staff_no: str, pin: str) -> Result[StaffMember]:
    """A new PIN; clears the failures and any lock."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hash_pin(_check_pin(pin), salt)

    def body(tx: Tx) -> StaffMember:
        r = _row(tx, staff_no)
        tx.exec("UPDATE staff SET pin_salt = ?, pin_hash = ?, failures = 0, locked_until = NULL WHERE staff_no = ?",
                salt, digest, r["staff_no"])
        tx.emit(STAFF_PIN_RESET, {"staff_no": r["staff_no"]})
        return _member(_row(tx, r["staff_no"]))

    return hall.run("staff_reset_pin", None, body)


def set_roster(hall: Hall, staff_no: str, windows: Iterable[int], businesses: Iterable[str] = ()
               ) -> Result[StaffMember]:
    """The windows a clerk may sign in at and the businesses they serve (empty: any the window serves)."""
    ws = sorted(set(windows))
    bs = sorted(set(businesses))
    for n in ws:
        if n not in hall._windows:
            raise UnknownRosterWindow(window=n)
    for b in bs:
        if b not in hall._businesses:
            raise UnknownRosterBusiness(business=b)

    def body(tx: Tx) -> StaffMember:
        r = _row(tx, staff_no)
        tx.exec("UPDATE staff SET roster_windows = ?, roster_businesses = ? WHERE staff_no = ?",
                json.dumps(ws), json.dumps(bs, ensure_ascii=False), r["staff_no"])
        tx.emit(STAFF_ROSTER_SET, {"staff_no": r["staff_no"], "windows": ws, "businesses": bs})
        return _member(_row(tx, r["staff_no"]))

    return hall.run("staff_roster", None, body)


# --- signing in -----------------------------------------------------------------------------------------------------
def _find(conn: sqlite3.Connection, who: str) -> sqlite3.Row | None:
    """A staff number, else a badge code (a scan fills the staff number field with the card's code)."""
    r: sqlite3.Row | None = conn.execute("SELECT * FROM staff WHERE staff_no = ?", (who,)).fetchone()
    if r is None and who:
        r = conn.execute("SELECT * FROM staff WHERE card = ?", (who,)).fetchone()
    return r


def _prehash(hall: Hall, who: str, pin: Any) -> tuple[bytes, bytes] | None:
    """scrypt outside the hall's lock; inside, the hash is used only if the salt is still the one hashed with."""
    found = _find(hall.store.conn(), who)
    return (found["pin_salt"], hash_pin(pin, found["pin_salt"])) if found is not None and isinstance(pin, str) \
        else None


def _refuser(tx: Tx, r: sqlite3.Row | None, who: str, window: int | None) -> Callable[..., HallError]:
    """refuse(err, reason, **extra): records the refused sign-in (staff.signin_refused, never the PIN) and returns
    `err` for the command to return (its recorded failure committed with it)."""
    def refuse(err: HallError, reason: str, **extra: Any) -> HallError:
        tx.emit(STAFF_SIGNIN_REFUSED, {"staff_no": r["staff_no"] if r is not None else who[:32], "window": window,
                                       "reason": reason, **extra})
        return err

    return refuse


def _credentials(hall: Hall, tx: Tx, r: sqlite3.Row | None, pin: Any, pre: tuple[bytes, bytes] | None,
                 refuse: Any) -> HallError | None:
    """The checks a window sign-in and a terminal sign-in share, in order: unknown (said as a wrong PIN, so nobody
    learns which numbers exist), disabled, locked, wrong PIN (a failure is recorded and kept; the MAX_FAILURES-th
    locks the account for LOCK_MINUTES).  None when the PIN is right (the failures are cleared)."""
    if r is None:
        return refuse(WrongPin(tries_left=MAX_FAILURES), "unknown")
    no = r["staff_no"]
    if not r["active"]:
        return refuse(StaffDisabled(staff_no=no), "disabled")
    if r["locked_until"] and r["locked_until"] > tx.at:
        return refuse(StaffLocked(until=_local(hall, r["locked_until"])), "locked", locked_until=r["locked_until"])
    salt = r["pin_salt"]
    digest = pre[1] if pre is not None and pre[0] == salt else (hash_pin(pin, salt) if isinstance(pin, str) else b"")
    if not hmac.compare_digest(digest, r["pin_hash"]):
        failures = int(r["failures"]) + 1
        if failures >= MAX_FAILURES:
            until = (tx.now + timedelta(minutes=LOCK_MINUTES)).isoformat()
            tx.exec("UPDATE staff SET failures = 0, locked_until = ? WHERE staff_no = ?", until, no)
            return refuse(StaffLocked(until=_local(hall, until)), "locked", locked_until=until)
        tx.exec("UPDATE staff SET failures = ? WHERE staff_no = ?", failures, no)
        return refuse(WrongPin(tries_left=MAX_FAILURES - failures), "wrong_pin", tries_left=MAX_FAILURES - failures)
    tx.exec("UPDATE staff SET failures = 0, locked_until = NULL WHERE staff_no = ?", no)
    return None


def sign_in(hall: Hall, window: int, who: str, pin: str) -> Result[None]:
    """签到 with a staff number (or badge code) and PIN.  Refusals, in the order checked: StaffNotFound (said as a
    wrong PIN, so nobody learns which numbers exist), StaffDisabled, StaffLocked, WrongPin (a failure is recorded and
    kept; the MAX_FAILURES-th locks the account for LOCK_MINUTES), RoleNotAllowed, NotOnRoster, AlreadySignedIn.
    Each refusal is recorded as a staff.signin_refused event (never with the PIN) and the refusal raised."""
    who = who.strip() if isinstance(who, str) else ""
    wcfg = hall._window_cfg(window)
    pre = _prehash(hall, who, pin)

    def body(tx: Tx) -> HallError | None:
        r = _find(tx.conn, who)
        refuse = _refuser(tx, r, who, window)
        bad = _credentials(hall, tx, r, pin, pre, refuse)
        if bad is not None or r is None:
            return bad
        no = r["staff_no"]
        if r["role"] not in WINDOW_ROLES:
            return refuse(RoleNotAllowed(role=ROLES[r["role"]]), "role")
        if r["role"] == "clerk":
            bs = set(json.loads(r["roster_businesses"]))
            if window not in json.loads(r["roster_windows"]) or (bs and not bs & set(hall._serves[window])):
                return refuse(NotOnRoster(staff_no=no, window_name=wcfg.name), "roster")
        other = tx.one("SELECT number FROM windows WHERE clerk_id = ? AND number != ?", no, window)
        if other is not None:
            return refuse(AlreadySignedIn(staff_no=no, window_name=hall._window_cfg(int(other[0])).name),
                          "elsewhere", at_window=int(other[0]))
        hall._sign_in(tx, window, no, r["name"])
        return None

    res = hall.run("sign_in_staff", None, body)
    if res.value is not None:  # the refusal and its recorded failure are committed: a restart keeps the count
        raise res.value
    return res  # type: ignore[return-value]


def verify(hall: Hall, who: str, pin: str) -> StaffMember:
    """登录 at a terminal (the dashboard, a LAN screen): the staff number (or badge code) and PIN checked with the
    same lock-out and refusals as a window sign-in (StaffNotFound said as WrongPin, StaffDisabled, StaffLocked,
    WrongPin), recorded as staff.signed_in_terminal or staff.signin_refused (window: null).  The account, for the
    screen to act as (`context.staff(no, terminal, role)`); no window changes."""
    who = who.strip() if isinstance(who, str) else ""
    pre = _prehash(hall, who, pin)

    def body(tx: Tx) -> HallError | StaffMember:
        r = _find(tx.conn, who)
        refuse = _refuser(tx, r, who, None)
        bad = _credentials(hall, tx, r, pin, pre, refuse)
        if bad is not None or r is None:
            return bad or WrongPin(tries_left=MAX_FAILURES)
        tx.act(C.staff(r["staff_no"], tx.terminal, r["role"]))  # the sign-in is the person's own doing
        tx.emit(STAFF_SIGNED_IN_TERMINAL, {"staff_no": r["staff_no"], "role": r["role"]})
        return _member(_row(tx, r["staff_no"]))

    res = hall.run("staff_verify", None, body)
    if isinstance(res.value, HallError):  # committed first: the failure counts survive a restart
        raise res.value
    return res.value


def authorize(tx: Tx, command: str) -> None:
    """Refuse `command` (the name given to `Hall.run`) when the command context's operator may not run it.

    Every command passes here, inside its transaction, before its body runs: a command outside the guarded sets
    (issuing, calling — the hot paths) costs two dict lookups and no SQL.  A guarded one is checked only in a hall
    with accounts; there it needs a signed-in person whose account is still active and whose role is enough.
    No cache of "has accounts": guarded commands are rare, and the CLI or a restore may change the answer."""
    action = MANAGER_COMMANDS.get(command)
    roles = MANAGER_ROLES
    if action is None:
        action = ADMIN_COMMANDS.get(command)
        if action is None:
            return
        roles = ADMIN_ROLES
    op = tx.operator
    if op.actor in EXEMPT_ACTORS or (op.actor == "system" and not op.terminal):
        return
    if not any_accounts(tx.conn):
        return  # no accounts: every screen works as before
    needed = ManagerRequired if roles is MANAGER_ROLES else AdminRequired
    no = op.staff_no
    if no is None:  # anonymous, a citizen, a device, a screen's own "system": nobody has signed in
        raise needed(action=action)
    r = tx.one("SELECT role, active FROM staff WHERE staff_no = ?", no)
    if r is None:  # a clerk id from before accounts existed: not an account
        raise needed(action=action)
    if not r["active"]:
        raise StaffDisabled(staff_no=no)
    if r["role"] not in roles:  # the account's role now, not the one it signed in with
        raise RoleTooLow(role=ROLES.get(r["role"], r["role"]), staff_no=no, action=action,
                         needed=ROLES["manager"] if roles is MANAGER_ROLES else ROLES["admin"])


NotOwnWindow = _err("NotOwnWindow", "staff_not_own_window",
                    "{role} {staff_no} 只能操作自己签到的窗口，{window_name}须由负责人处理")


def authorize_window(tx: Tx, window_name: str, clerk_id: str | None) -> None:
    """pause / resume_window of one window (called by the hall's window commands, which know the window): a
    signed-in person acts only at the window they are signed in at, unless their account is a manager's or an
    admin's.  A caller screen's own operator (not a person) is that window's clerk, as for every window command."""
    op = tx.operator
    no = op.staff_no
    if no is None or no == clerk_id:
        return
    if not any_accounts(tx.conn):
        return
    r = tx.one("SELECT role, active FROM staff WHERE staff_no = ?", no)
    if r is not None and not r["active"]:
        raise StaffDisabled(staff_no=no)
    if r is None or r["role"] not in MANAGER_ROLES:
        raise NotOwnWindow(role=ROLES.get(r["role"], r["role"]) if r is not None else "", staff_no=no,
                           window_name=window_name)


def active_role(conn: sqlite3.Connection, staff_no: str) -> str | None:
    """The role of an active account (a LAN session is honoured only while its account is), else None."""
    r = conn.execute("SELECT role, active FROM staff WHERE staff_no = ?", (staff_no,)).fetchone()
    return str(r["role"]) if r is not None and r["active"] else None


def sign_out_all(hall: Hall, tx: Tx) -> None:
    """The day's end: every account still signed in at a window is signed out, one window.signed_out each."""
    for w in tx.conn.execute("SELECT w.number FROM windows w JOIN staff s ON s.staff_no = w.clerk_id").fetchall():
        hall._sign_out(tx, int(w[0]), reason="day_end")


# --- queries --------------------------------------------------------------------------------------------------------
def members(hall: Hall) -> list[StaffMember]:
    return [_member(r) for r in hall.store.conn().execute("SELECT * FROM staff ORDER BY staff_no")]


def member(hall: Hall, staff_no: str) -> StaffMember:
    r = hall.store.conn().execute("SELECT * FROM staff WHERE staff_no = ?", (staff_no,)).fetchone()
    if r is None:
        raise StaffNotFound(staff_no=staff_no)
    return _member(r)


class Staff:
    """The accounts as the dashboard's 人员 page and a LAN server see them (`remote.staff.add(...)`): plain dicts
    (what the LAN carries), never a PIN, salt or hash.  Stateless: a view of the hall."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall

    def members(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in members(self.hall)]

    def add(self, staff_no: str, name: str, role: str, pin: str, card: str | None = None
            ) -> Result[dict[str, Any]]:
        return _as_dict(add(self.hall, staff_no, name, role, pin, card=card))

    def disable(self, staff_no: str) -> Result[dict[str, Any]]:
        return _as_dict(disable(self.hall, staff_no))

    def reset_pin(self, staff_no: str, pin: str) -> Result[dict[str, Any]]:
        return _as_dict(reset_pin(self.hall, staff_no, pin))

    def set_roster(self, staff_no: str, windows: list[int], businesses: list[str] | None = None
                   ) -> Result[dict[str, Any]]:
        return _as_dict(set_roster(self.hall, staff_no, windows, businesses or []))

    def verify(self, staff_no: str, pin: str) -> dict[str, Any]:
        """登录 at this screen: the account (as a dict) when the PIN is right, else its refusal."""
        return verify(self.hall, staff_no, pin).to_dict()

    def end_session(self) -> None:
        """退出 at this screen: nothing to forget in process (the screen's operator is the whole sign-in); a LAN
        client's RemoteStaff drops its server session here."""


def _as_dict(r: Result[StaffMember]) -> Result[dict[str, Any]]:
    from kiosk.core.hall import Result

    return Result(r.value.to_dict(), r.events)
