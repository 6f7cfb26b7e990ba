"""Typed refusals with a stable key and a Chinese message a kiosk can show (translations key off `key`)."""
from __future__ import annotations

from typing import Any, ClassVar


class HallError(Exception):
    """A command the hall refuses.  Nothing was changed: the transaction rolled back."""

    key: ClassVar[str] = "hall_error"
    template: ClassVar[str] = "操作未能完成"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError):
            return self.template


def _err(name: str, key: str, template: str) -> type[HallError]:
    return type(name, (HallError,), {"key": key, "template": template, "__doc__": template})


UnknownBusiness = _err("UnknownBusiness", "unknown_business", "没有这项业务：{business}")
BusinessClosed = _err("BusinessClosed", "business_closed", "{name}暂停取号：{message}")
# Every window that serves the business is paused: a ticket would wait with nobody to call it.
NoOpenWindow = type("NoOpenWindow", (BusinessClosed,), {
    "key": "no_open_window", "template": "{name}暂停取号：办理窗口都已暂停服务{why}",
    "__doc__": "Every window serving the business is paused ({reasons}: their reasons, for the screens)."})
OutsideTicketHours = _err("OutsideTicketHours", "outside_ticket_hours", "{name}的取号时间为 {hours}，现在不能取号")
# A day the business does not open.  Both are OutsideTicketHours, so a screen that catches that catches these.
NotWorkingDay = type("NotWorkingDay", (OutsideTicketHours,), {
    "key": "not_working_day", "template": "{day}是{reason}，不是工作日，{name}不办理",
    "__doc__": "A public holiday, the hall's own closure or a rest day the business does not list."})
NotBusinessDay = type("NotBusinessDay", (OutsideTicketHours,), {
    "key": "not_business_day", "template": "{name}只在{days}办理，{day}不办理",
    "__doc__": "A working day whose weekday the business does not list."})
OutsideCheckInHours = _err(
    "OutsideCheckInHours", "outside_checkin_hours", "{name}的预约签到时间为 {hours}，现在不能签到"
)
DailyCapReached = _err("DailyCapReached", "daily_cap_reached", "{name}今日号码已取完（{cap} 个），请改日再来")
# said on the kiosk (which also reads the card) and on a phone (which cannot): the number is what is needed
IdRequired = _err("IdRequired", "id_required", "办理{name}需要身份证号码")
InvalidIdNumber = _err("InvalidIdNumber", "invalid_id_number", "身份证号码不正确，请核对")
DuplicateOpenTicket = _err(
    "DuplicateOpenTicket", "duplicate_open_ticket", "您已取过{name}的号（{number}），请等候叫号"
)
AppointmentNotFound = _err("AppointmentNotFound", "appointment_not_found", "没有找到这个预约，请核对预约号")
AppointmentNotToday = _err("AppointmentNotToday", "appointment_not_today", "这个预约是 {date} 的，不是今天")
AppointmentUsed = _err("AppointmentUsed", "appointment_used", "这个预约已经签到过了，号码是 {number}")
AppointmentExpired = _err(
    "AppointmentExpired", "appointment_expired", "预约时段（至 {until}）已过，请取普通号"
)
AppointmentsNotOffered = _err("AppointmentsNotOffered", "appointments_not_offered", "{name}不提供预约，请取普通号")
AppointmentCodeUsed = _err(
    "AppointmentCodeUsed", "appointment_code_used", "预约号 {code} 已经签到使用过（{number}），不能再次预约"
)
# Booking (kiosk/core/appointments.py): the slot grid, its capacity, the horizon and the per-ID limit
SlotNotOffered = _err("SlotNotOffered", "slot_not_offered", "{name}在 {date} 没有 {slot} 这个预约时段，请重新选择")
SlotFull = _err("SlotFull", "slot_full", "{name} {date} {slot} 的预约已满，请选择其他时段")
BookingTooFar = _err("BookingTooFar", "booking_too_far", "{name}只能预约最近 {days} 个办理日（至 {last}）")
TooManyAppointments = _err(
    "TooManyAppointments", "too_many_appointments", "该身份证已有 {n} 个{name}的预约尚未使用，请先签到或取消"
)
UnknownWindow = _err("UnknownWindow", "unknown_window", "没有 {window} 号窗口")
WindowPaused = _err("WindowPaused", "window_paused", "{window}号窗口已暂停服务，请先恢复")
WindowNotPaused = _err("WindowNotPaused", "window_not_paused", "{window}号窗口没有暂停")
WindowBusy = _err("WindowBusy", "window_busy", "{window}号窗口正在办理 {number}，请先完成")
QueueEmpty = _err("QueueEmpty", "queue_empty", "当前没有等候的号码")
NoCurrentTicket = _err("NoCurrentTicket", "no_current_ticket", "{window}号窗口当前没有号码")
RecallLimit = _err("RecallLimit", "recall_limit", "{number} 已重呼 {cap} 次，不能再重呼")
TicketNotFound = _err("TicketNotFound", "ticket_not_found", "没有找到号码 {ticket}")
TicketNotWaiting = _err("TicketNotWaiting", "ticket_not_waiting", "{number} 当前状态为{status}，不能这样操作")
WindowDoesNotServe = _err("WindowDoesNotServe", "window_does_not_serve", "{window_name}不办理{name}")
NoWindowServes = _err("NoWindowServes", "no_window_serves", "没有窗口办理{name}")
TransferredElsewhere = _err(
    "TransferredElsewhere", "transferred_elsewhere", "{number} 已转到{window_name}，请由该窗口呼叫"
)
NotServedHere = _err("NotServedHere", "not_served_here", "{number} 不在 {window} 号窗口")
RatingExists = _err("RatingExists", "rating_exists", "{number} 这次服务已经评价过了")
RatingNotFound = _err("RatingNotFound", "rating_not_found", "没有找到这条评价")
ReasonRequired = _err("ReasonRequired", "reason_required", "差评需要选择原因")
ReasonNotNeeded = _err("ReasonNotNeeded", "reason_not_needed", "只有差评（不满意、非常不满意）需要填写原因")
ReasonAlreadyGiven = _err("ReasonAlreadyGiven", "reason_already_given", "这条差评已经填写过原因：{reason}")
NotRateable = _err("NotRateable", "not_rateable", "{number} 当前为{status}，开始办理后才能评价")
NoClerkSignedIn = _err("NoClerkSignedIn", "no_clerk_signed_in", "{window_name}没有工作人员签到，请先签到")
CalledNotStarted = _err(
    "CalledNotStarted", "called_not_started", "{number} 已叫号、尚未开始办理：请先选择“过号”或“开始办理”"
)


class ConfigError(ValueError):
    """A bad configuration value: names the option, the section and, where known, the line."""

    def __init__(self, message: str, *, option: str = "", section: str = "", line: int | None = None) -> None:
        self.option, self.section, self.line = option, section, line
        where = f" (line {line})" if line else ""
        super().__init__(f"{message}{where}")


GreenChannelUnavailable = _err("GreenChannelUnavailable", "green_channel_unavailable", "{name}没有开通绿色通道")


class StoreFault(HallError):
    """The hall's database cannot take the write: a person must fix the disk, the mount or the other program.
    Each says the path and what to do; the command was not done (nothing acknowledged is lost)."""

    key: ClassVar[str] = "store_fault"
    template: ClassVar[str] = "数据库出错：{path}。请联系运维人员"


class StoreFull(StoreFault):
    key: ClassVar[str] = "store_full"
    template: ClassVar[str] = (
        "存储空间不足：{path} 所在磁盘已满，本次操作未完成。请清理该磁盘（旧的模拟数据库、日志、备份）后重试；"
        "之前已出的号和已完成的操作都已保存"
    )


class StoreReadOnly(StoreFault):
    key: ClassVar[str] = "store_readonly"
    template: ClassVar[str] = (
        "数据库只读：{path} 不能写入，本次操作未完成。请检查该文件及所在目录是否可写、磁盘是否被挂载为只读，"
        "修复后重试"
    )


class StoreLocked(StoreFault):
    key: ClassVar[str] = "store_locked"
    template: ClassVar[str] = (
        "数据库被占用：{path} 被其他程序锁定，本次操作未完成。请确认没有第二个大厅服务、备份或数据库工具"
        "正在写它，然后重试"
    )


class StoreUnavailable(StoreFault):
    key: ClassVar[str] = "store_unavailable"
    template: ClassVar[str] = (
        "数据库无法使用：{path}（{reason}），本次操作未完成。请检查路径是否存在、磁盘是否已挂载、文件是否完好，"
        "必要时从备份恢复"
    )
