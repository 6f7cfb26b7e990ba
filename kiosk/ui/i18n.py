"""The kiosk's fixed strings in 中文, Tibetan and Uyghur, keyed by stable keys (HallError.key included)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

# Languages offered on the kiosk: code → (name written in that language, layout direction).
LANGUAGES: dict[str, tuple[str, Qt.LayoutDirection]] = {
    "zh": ("中文", Qt.LayoutDirection.LeftToRight),
    "bo": ("བོད་ཡིག", Qt.LayoutDirection.LeftToRight),
    "ug": ("ئۇيغۇرچە", Qt.LayoutDirection.RightToLeft),
}

# The Tibetan and Uyghur strings were written by hand from dictionaries and existing bilingual signage; they MUST be
# reviewed by native speakers before a hall uses them.  A missing entry falls back to 中文, never to a key.
STRINGS: dict[str, dict[str, str]] = {
    "take_ticket": {"zh": "请选择要办理的业务", "bo": "སྒྲུབ་དགོས་པའི་ལས་དོན་འདེམས་རོགས།",
                    "ug": "بېجىرمەكچى بولغان ئىشنى تاللاڭ"},
    "waiting_n": {"zh": "等候 {n} 人", "bo": "སྒུག་མཁན་མི་ {n}", "ug": "{n} كىشى ساقلاۋاتىدۇ"},
    "closed": {"zh": "暂停取号", "bo": "གནས་སྐབས་ཨང་ལེན་མཚམས་འཇོག", "ug": "نومۇر بېرىش ۋاقىتلىق توختىتىلدى"},
    "home": {"zh": "返回首页", "bo": "གཙོ་ངོས་སུ་ལོག", "ug": "باش بەتكە قايتىش"},
    "back": {"zh": "返回", "bo": "ཕྱིར་ལོག", "ug": "قايتىش"},
    "appointment": {"zh": "预约签到", "bo": "སྔོན་འཆར་ཐོ་འགོད།", "ug": "ئالدىن ئېلىنغان نۆۋەتنى تىزىملىتىش"},
    "guide": {"zh": "办事指南", "bo": "ལས་དོན་ལམ་སྟོན།", "ug": "ئىش بېجىرىش يېتەكچىسى"},
    "case_lookup": {"zh": "办件查询", "bo": "ལས་དོན་འཚོལ་ཞིབ།", "ug": "ئىش ئەھۋالىنى سۈرۈشتۈرۈش"},
    "elder_on": {"zh": "大字模式", "bo": "ཡིག་ཆེན་རྣམ་པ།", "ug": "چوڭ خەت ھالىتى"},
    "elder_off": {"zh": "标准模式", "bo": "ཚད་ལྡན་རྣམ་པ།", "ug": "نورمال ھالەت"},
    "help_desk": {"zh": "如需帮助，请到服务台", "bo": "རོགས་རམ་དགོས་ན་ཞབས་ཞུའི་སྒར་དུ་ཕེབས་རོགས།",
                  "ug": "ياردەم كېرەك بولسا مۇلازىمەت سۇپىسىغا بېرىڭ"},
    "your_number": {"zh": "您的号码", "bo": "ཁྱེད་ཀྱི་ཨང་གྲངས།", "ug": "نومۇرىڭىز"},
    "ahead_n": {"zh": "您前面还有 {n} 人", "bo": "ཁྱེད་ཀྱི་མདུན་དུ་མི་ {n} ཡོད།",
                "ug": "ئالدىڭىزدا يەنە {n} كىشى بار"},
    "take_slip": {"zh": "请取走号票，留意叫号", "bo": "ཨང་ཤོག་ལེན་རོགས། ཨང་འབོད་ལ་དོ་སྣང་གནང་རོགས།",
                  "ug": "نومۇر قەغىزىنى ئېلىڭ، چاقىرىشقا دىققەت قىلىڭ"},
    "printing": {"zh": "正在打印号票…", "bo": "ཨང་ཤོག་པར་འདེབས་བཞིན་པ།", "ug": "نومۇر قەغىزى بېسىلىۋاتىدۇ…"},
    "no_print": {"zh": "打印机暂时不能出票", "bo": "པར་འདེབས་འཕྲུལ་འཁོར་གྱིས་གནས་སྐབས་ཨང་ཤོག་འདོན་མི་ཐུབ།",
                 "ug": "پرىنتېر ۋاقىتلىق نومۇر قەغىزى باسالمايدۇ"},
    "note_number": {"zh": "请记下您的号码，或用手机拍照", "bo": "ཁྱེད་ཀྱི་ཨང་གྲངས་ཟིན་བྲིས་སམ་པར་ལེན་གནང་རོགས།",
                    "ug": "نومۇرىڭىزنى يېزىۋېلىڭ ياكى تېلېفوندا رەسىمگە تارتىۋېلىڭ"},
    "done": {"zh": "完成", "bo": "ལེགས་གྲུབ།", "ug": "تامام"},
    "enter_id": {"zh": "请输入身份证号码", "bo": "ཐོབ་ཐང་ལག་ཁྱེར་གྱི་ཨང་གྲངས་འཇུག་རོགས།",
                 "ug": "كىملىك نومۇرىڭىزنى كىرگۈزۈڭ"},
    "id_hint": {"zh": "本业务需要身份证号码；号码只用于核验，不会显示或打印", "bo": "ལས་དོན་འདིར་ཐོབ་ཐང་ལག་ཁྱེར་ཨང་གྲངས་དགོས།",
                "ug": "بۇ ئىش ئۈچۈن كىملىك نومۇرى كېرەك؛ پەقەت دەلىللەشكە ئىشلىتىلىدۇ"},
    "enter_code": {"zh": "请输入预约号", "bo": "སྔོན་འཆར་ཨང་གྲངས་འཇུག་རོགས།", "ug": "ئالدىن ئېلىش نومۇرىنى كىرگۈزۈڭ"},
    "confirm": {"zh": "确定", "bo": "གཏན་འཁེལ།", "ug": "جەزملەش"},
    "delete": {"zh": "退格", "bo": "སུབ་པ།", "ug": "ئۆچۈرۈش"},
    "clear": {"zh": "清空", "bo": "ཡོངས་སུབ།", "ug": "تازىلاش"},
    "hours": {"zh": "取号时间", "bo": "ཨང་ལེན་དུས་ཚོད།", "ug": "نومۇر ئېلىش ۋاقتى"},
    "ask_desk": {"zh": "本业务的详细办事指南请咨询服务台", "bo": "ལས་དོན་འདིའི་ཞིབ་ཕྲའི་ལམ་སྟོན་ཞབས་ཞུའི་སྒར་ལ་འདྲི་རོགས།",
                 "ug": "بۇ ئىشنىڭ تەپسىلىي يېتەكچىسىنى مۇلازىمەت سۇپىسىدىن سوراڭ"},
    "conditions": {"zh": "办理条件", "bo": "སྒྲུབ་པའི་ཆ་རྐྱེན།", "ug": "بېجىرىش شەرتى"},
    "materials": {"zh": "所需材料", "bo": "དགོས་པའི་ཡིག་ཆ།", "ug": "كېرەكلىك ماتېرىياللار"},
    "time_limit": {"zh": "办理时限", "bo": "སྒྲུབ་པའི་དུས་ཚད།", "ug": "بېجىرىش مۇددىتى"},
    "fees": {"zh": "收费标准", "bo": "གླ་ཚད།", "ug": "ھەق ئېلىش ئۆلچىمى"},
    "basis": {"zh": "设定依据", "bo": "གཞི་རྩ།", "ug": "ئاساس"},
    "case_no": {"zh": "办件编号", "bo": "ལས་དོན་ཨང་རྟགས།", "ug": "ئىش نومۇرى"},
    "check4": {"zh": "申请人证件号后4位", "bo": "ཞུ་མཁན་གྱི་ལག་ཁྱེར་ཨང་གྲངས་མཐའ་མའི་གྲངས་ཀ་ ༤",
               "ug": "ئىلتىماسچى كىملىك نومۇرىنىڭ ئاخىرقى 4 خانىسى"},
    "lookup": {"zh": "查询", "bo": "འཚོལ་ཞིབ།", "ug": "سۈرۈشتۈرۈش"},
    "lookup_unavailable": {"zh": "办件查询暂不可用，请到服务台查询", "bo": "ལས་དོན་འཚོལ་ཞིབ་གནས་སྐབས་བེད་སྤྱོད་བྱེད་མི་ཐུབ།",
                           "ug": "ئىش سۈرۈشتۈرۈش ۋاقىتلىق ئىشلىمەيدۇ، مۇلازىمەت سۇپىسىدىن سوراڭ"},
    "case_status": {"zh": "办理状态", "bo": "སྒྲུབ་སྟངས།", "ug": "بېجىرىلىش ھالىتى"},
    "deadline": {"zh": "承诺办结时间", "bo": "མཇུག་སྒྲིལ་དུས་ཚད།", "ug": "تاماملاش ۋەدە ۋاقتى"},
    "applicant": {"zh": "申请人", "bo": "ཞུ་མཁན།", "ug": "ئىلتىماسچى"},
    "not_found": {"zh": "没有查到这个办件，请核对编号", "bo": "ལས་དོན་འདི་རྙེད་མ་སོང་།",
                  "ug": "بۇ ئىش تېپىلمىدى، نومۇرنى تەكشۈرۈڭ"},
    "idle_home": {"zh": "长时间无操作将自动返回首页", "bo": "ཡུན་རིང་བཀོལ་སྤྱོད་མེད་ན་གཙོ་ངོས་སུ་རང་འགུལ་ལོག་ངེས།",
                  "ug": "ئۇزۇن ۋاقىت مەشغۇلات بولمىسا باش بەتكە ئاپتوماتىك قايتىدۇ"},
    # 绿色通道 (added with the green-channel button; Tibetan and Uyghur await native-speaker review like the rest)
    "green_channel": {"zh": "绿色通道", "bo": "ལམ་ཁ་ལྗང་ཁུ།", "ug": "يېشىل يول"},
    "green_who": {"zh": "老年人、残疾人优先，军人依法优先",
                  "bo": "རྒན་པ་དང་དབང་པོ་སྐྱོན་ཅན་སྔོན་འཁྲིད། དམག་མི་ཁྲིམས་ལྟར་སྔོན་འཁྲིད།",
                  "ug": "ياشانغانلار ۋە مېيىپلار ئالدىن، ھەربىيلەر قانۇن بويىچە ئالدىن"},
    "green_note": {"zh": "已选绿色通道：请选择业务。工作人员可能核验相关证件（如老年人证、残疾人证、军人证件）",
                   "bo": "ལམ་ཁ་ལྗང་ཁུ་བདམས་ཟིན། ལས་དོན་འདེམས་རོགས། ལས་བྱེད་པས་ལག་ཁྱེར་ཞིབ་བཤེར་བྱེད་སྲིད།",
                   "ug": "يېشىل يول تاللاندى: ئىشنى تاللاڭ. خادىملار مۇناسىۋەتلىك گۇۋاھنامىنى تەكشۈرۈشى مۇمكىن"},
    "green_unavailable": {"zh": "未开通绿色通道", "bo": "ལམ་ཁ་ལྗང་ཁུ་མེད།", "ug": "يېشىل يول ئېچىلمىغان"},
    "green_channel_unavailable": {"zh": "{name}没有开通绿色通道", "bo": "{name} ལ་ལམ་ཁ་ལྗང་ཁུ་མེད།",
                                  "ug": "{name} ئۈچۈن يېشىل يول ئېچىلمىغان"},
    # refusals from the hall core, keyed by HallError.key
    "business_closed": {"zh": "{name}暂停取号：{message}", "bo": "{name} གནས་སྐབས་ཨང་ལེན་མཚམས་འཇོག {message}",
                        "ug": "{name} نومۇر بېرىش ۋاقىتلىق توختىتىلدى: {message}"},
    "outside_ticket_hours": {"zh": "{name}的取号时间为 {hours}，现在不能取号",
                             "bo": "{name} ཨང་ལེན་དུས་ཚོད་ནི་ {hours} ཡིན། ད་ལྟ་ཨང་ལེན་མི་ཐུབ།",
                             "ug": "{name} نومۇر ئېلىش ۋاقتى {hours}، ھازىر نومۇر ئالغىلى بولمايدۇ"},
    # a day the business does not open: the Chinese names the holiday; the others say "not a working day"
    "not_working_day": {"zh": "{day}是{reason}，不是工作日，{name}不办理",
                        "bo": "ད་རིང་ལས་ཀའི་ཉིན་མོ་མིན། {name} ཨང་ལེན་མི་ཐུབ།",
                        "ug": "بۈگۈن خىزمەت كۈنى ئەمەس، {name} نومۇر ئالغىلى بولمايدۇ"},
    "not_business_day": {"zh": "{name}只在{days}办理，{day}不办理",
                         "bo": "{name} ད་རིང་སྒྲུབ་མི་ཐུབ། ཞབས་ཞུའི་སྒར་ལ་འདྲི་རོགས།",
                         "ug": "{name} بۈگۈن بېجىرىلمەيدۇ، مۇلازىمەت سۇپىسىدىن سوراڭ"},
    "outside_checkin_hours": {"zh": "{name}的预约签到时间为 {hours}，现在不能签到",
                              "bo": "{name} སྔོན་འཆར་ཐོ་འགོད་དུས་ཚོད་ནི་ {hours} ཡིན། ད་ལྟ་ཐོ་འགོད་མི་ཐུབ།",
                              "ug": "{name} ئالدىن ئېلىنغان نۆۋەتنى تىزىملىتىش ۋاقتى {hours}، "
                                    "ھازىر تىزىملاتقىلى بولمايدۇ"},
    "appointments_not_offered": {"zh": "{name}不提供预约，请取普通号",
                                 "bo": "{name} ལ་སྔོན་འཆར་མེད། ཨང་གྲངས་རྒྱུན་ལྡན་ལེན་རོགས།",
                                 "ug": "{name} ئۈچۈن ئالدىن ئېلىش يوق، ئادەتتىكى نومۇر ئېلىڭ"},
    "daily_cap_reached": {"zh": "{name}今日号码已取完（{cap} 个），请改日再来",
                          "bo": "{name} དེ་རིང་གི་ཨང་གྲངས་ཚར་སོང་། ཉིན་གཞན་ལ་ཕེབས་རོགས།",
                          "ug": "{name} بۈگۈنكى نومۇر تۈگىدى ({cap})، باشقا كۈنى كېلىڭ"},
    "id_required": {"zh": "办理{name}需要身份证号码", "bo": "{name} སྒྲུབ་པར་ཐོབ་ཐང་ལག་ཁྱེར་ཨང་གྲངས་དགོས།",
                    "ug": "{name} بېجىرىش ئۈچۈن كىملىك نومۇرى كېرەك"},
    "invalid_id_number": {"zh": "身份证号码不正确，请核对", "bo": "ཐོབ་ཐང་ལག་ཁྱེར་ཨང་གྲངས་ནོར་འདུག ཞིབ་བཤེར་གནང་རོགས།",
                          "ug": "كىملىك نومۇرى توغرا ئەمەس، تەكشۈرۈڭ"},
    "duplicate_open_ticket": {"zh": "您已取过{name}的号（{number}），请等候叫号",
                              "bo": "ཁྱེད་ཀྱིས་ {name} ཡི་ཨང་གྲངས་ ({number}) བླངས་ཟིན། སྒུག་རོགས།",
                              "ug": "سىز {name} نومۇرىنى ئېلىپ بولدىڭىز ({number})، چاقىرىشنى ساقلاڭ"},
    "appointment_not_found": {"zh": "没有找到这个预约，请核对预约号", "bo": "སྔོན་འཆར་འདི་རྙེད་མ་སོང་།",
                              "ug": "بۇ ئالدىن ئېلىش تېپىلمىدى، نومۇرنى تەكشۈرۈڭ"},
    "appointment_used": {"zh": "这个预约已经签到过了，号码是 {number}", "bo": "སྔོན་འཆར་འདི་ཐོ་འགོད་ཟིན། ཨང་གྲངས་ {number}",
                         "ug": "بۇ ئالدىن ئېلىش تىزىملىتىلىپ بولدى، نومۇرى {number}"},
    "appointment_not_today": {"zh": "这个预约是 {date} 的，不是今天", "bo": "སྔོན་འཆར་འདི་ {date} ཡི་ཡིན། དེ་རིང་མིན།",
                              "ug": "بۇ ئالدىن ئېلىش {date} كۈنىگە، بۈگۈن ئەمەس"},
    "appointment_expired": {"zh": "预约时段（至 {until}）已过，请取普通号", "bo": "སྔོན་འཆར་དུས་ཚོད་ ({until}) ཡོལ་སོང་།",
                            "ug": "ئالدىن ئېلىش ۋاقتى ({until}) ئۆتۈپ كەتتى، ئادەتتىكى نومۇر ئېلىڭ"},
    "note": {"zh": "温馨提示", "bo": "དྲན་སྐུལ།", "ug": "ئەسكەرتىش"},
    "case_not_found": {"zh": "没有找到办件 {case_no}", "bo": "ལས་དོན་ {case_no} རྙེད་མ་སོང་།",
                       "ug": "{case_no} نومۇرلۇق ئىش تېپىلمىدى"},
    "case_check_failed": {"zh": "办件编号或查询码不正确，还可以再试 {left} 次",
                          "bo": "ལས་དོན་ཨང་རྟགས་སམ་འཚོལ་ཨང་ནོར་འདུག ད་དུང་ཐེངས་ {left} ཚོད་ལྟ་ཐུབ།",
                          "ug": "ئىش نومۇرى ياكى سۈرۈشتۈرۈش نومۇرى خاتا، يەنە {left} قېتىم سىنىيالايسىز"},
    "case_lookup_locked": {"zh": "查询码错误次数过多，请于 {until} 后再试，或到服务台咨询",
                           "bo": "ནོར་འཁྲུལ་མང་དྲགས་སོང་། {until} རྗེས་སུ་ཚོད་ལྟ་གནང་རོགས།",
                           "ug": "خاتالىق بەك كۆپ بولدى، {until} دىن كېيىن قايتا سىناڭ"},
    "hall_unreachable": {"zh": "暂时连不上取号系统，请稍后再试或到服务台", "bo": "ཨང་ལེན་མ་ལག་དང་མཐུད་མི་ཐུབ།",
                         "ug": "نومۇر سىستېمىسىغا ئۇلىنالمىدى، سەل تۇرۇپ سىناڭ"},
}


def tr(lang: str, key: str, **params: Any) -> str:
    """The string for `key` in `lang` (falling back to 中文), with {placeholders} filled."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["zh"]
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return entry["zh"].format(**params) if params else entry["zh"]


def error_text(lang: str, exc: Exception) -> str:
    """A HallError said in the citizen's language: by its stable key, else its Chinese message."""
    key = getattr(exc, "key", "")
    params = getattr(exc, "params", {})
    if key in STRINGS:
        try:
            return tr(lang, key, **params)
        except (KeyError, IndexError):
            pass
    return str(getattr(exc, "message", "") or exc)


def direction(lang: str) -> Qt.LayoutDirection:
    return LANGUAGES.get(lang, LANGUAGES["zh"])[1]
