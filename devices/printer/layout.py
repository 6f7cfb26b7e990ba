"""What goes on a queue ticket, and how it becomes ESC/POS bytes: text where the printer font can, raster where not."""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont, features

from devices.printer import proto
from devices.printer.proto import Align, Cut
from kiosk.core.estimate import wait_minutes

log = logging.getLogger(__name__)

CELL = 12  # font A: 12 x 24 dots per half-width cell, a Chinese character is two cells
LINE = 24


# --- the document ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Text:
    text: str
    align: Align = Align.CENTER
    scale: int = 1  # GS ! width = height multiplier
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A dashed separator across the paper."""


@dataclass(frozen=True, slots=True)
class QrCode:
    data: str


@dataclass(frozen=True, slots=True)
class Gap:
    lines: int = 1


Block = Text | Rule | QrCode | Gap

PRIORITY_LABEL = {"green": "绿色通道", "appointment": "预约"}
DEFAULT_NOTICE = ("请留意叫号，过号需重新取号",)


@dataclass(frozen=True, slots=True)
class TicketOptions:
    """The hall's choices for what a ticket says; read from [devices.<name>] by the driver."""

    header: tuple[str, ...] = ()  # extra lines under the hall name, e.g. its Tibetan or Uyghur name
    notice: tuple[str, ...] = DEFAULT_NOTICE
    qr_url: str | None = None  # e.g. "{public_base_url}/t/{token}"; {ticket_id}, {number} and {hall_id} too
    public_base_url: str = ""  # [web] public_base_url: where the hall serves the phone pages
    qr_caption: str = "扫码查看排队进度"
    hall_id: str = ""
    timezone: str = "Asia/Shanghai"
    width_dots: int = proto.DOTS_80MM


def compose(payload: dict, opts: TicketOptions) -> list[Block]:
    """The ticket for a ticket.issued payload: hall, business, the number in large type, people ahead, notice."""
    t = payload["ticket"]
    cols = opts.width_dots // CELL
    blocks: list[Block] = []
    blocks += fit(str(payload.get("hall_name") or ""), 2, cols, bold=True)
    for line in opts.header:
        blocks += fit(line, 1, cols)
    blocks.append(Rule())
    business = str(t.get("business_name") or t.get("business") or "")
    blocks += fit(business, 2, cols)
    label = PRIORITY_LABEL.get(str(t.get("priority") or ""))
    if label:
        blocks.append(Text(f"【{label}】", bold=True))
    blocks.append(Gap())
    blocks += fit(str(t["number"]), 4, cols, bold=True)
    blocks.append(Gap())
    blocks += fit(f"您前面还有 {int(payload.get('ahead') or 0)} 人等候", 2, cols)
    if payload.get("wait_s") is not None:  # the kiosk's estimate (docs/events.md "Estimated wait"); none: no window
        blocks += fit(f"预计等候约 {wait_minutes(float(payload['wait_s']))} 分钟", 1, cols)
    if t.get("appointment_code"):
        blocks += fit(f"预约号：{t['appointment_code']}", 1, cols)
    masked = t.get("id_masked")
    if masked and "*" in str(masked):  # never print an unmasked ID number, whatever the caller sent
        blocks += fit(f"证件号：{masked}", 1, cols)
    blocks.append(Rule())
    for line in opts.notice:
        blocks += fit(line, 1, cols, align=Align.LEFT)
    token = str(payload.get("token") or "")
    if opts.qr_url and (token or "{token}" not in opts.qr_url):  # no token, no phone page to point at
        url = opts.qr_url.format(ticket_id=t.get("id", ""), number=t["number"], hall_id=opts.hall_id, token=token,
                                 public_base_url=opts.public_base_url)
        blocks += [Gap(), QrCode(url)]
        blocks += fit(opts.qr_caption, 1, cols)
    blocks.append(Gap())
    blocks += fit(f"取号时间：{local_time(str(t.get('issued_at') or ''), opts.timezone)}", 1, cols, align=Align.LEFT)
    return blocks


def local_time(iso_utc: str, tz: str) -> str:
    try:
        return datetime.fromisoformat(iso_utc).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso_utc  # print what we were given rather than lose the line


def fit(text: str, max_scale: int, cols: int, *, bold: bool = False, align: Align = Align.CENTER) -> list[Text]:
    """The largest scale up to max_scale at which the line fits the paper; wrapped at scale 1 if none does.

    A text line wider than the paper would be wrapped by the printer mid-character-cell, splitting a big number.
    Lines the printer cannot print as text are measured later, in dots, when they are drawn.
    """
    if not text:
        return []
    if not proto.printable(text):
        return [Text(text, align, max_scale, bold)]  # drawn later; draw_text shrinks the type to fit the paper
    w = proto.display_width(text)
    for s in range(max_scale, 0, -1):
        if w * s <= cols:
            return [Text(text, align, s, bold)]
    return [Text(part, align, 1, bold) for part in wrap(text, cols)]


def wrap(text: str, cols: int) -> list[str]:
    lines, cur, w = [], "", 0
    for ch in text:
        cw = proto.display_width(ch)
        if w + cw > cols:
            lines.append(cur)
            cur, w = "", 0
        cur += ch
        w += cw
    if cur:
        lines.append(cur)
    return lines


# --- fonts and drawing -----------------------------------------------------------------------------------------
_NOTO = "/usr/share/fonts/truetype/noto/"
_CJK = "/usr/share/fonts/opentype/noto/"
FONT_FILES: dict[str, tuple[tuple[str, int], ...]] = {
    "cjk": ((_CJK + "NotoSansCJK-Regular.ttc", 2), (_CJK + "NotoSerifCJK-Regular.ttc", 2)),
    "cjk-bold": ((_CJK + "NotoSansCJK-Bold.ttc", 2), (_CJK + "NotoSansCJK-Regular.ttc", 2)),
    "tibetan": ((_NOTO + "NotoSerifTibetan-Regular.ttf", 0), (_NOTO + "NotoSansTibetan-Regular.ttf", 0)),
    "arabic": ((_NOTO + "NotoNaskhArabic-Regular.ttf", 0), (_NOTO + "NotoSansArabic-Regular.ttf", 0)),
    "yi": ((_NOTO + "NotoSansYi-Regular.ttf", 0),),
    "mongolian": ((_NOTO + "NotoSansMongolian-Regular.ttf", 0),),
}


def script_of(ch: str) -> str | None:
    """The font a character needs; None for neutral characters (spaces, digits, punctuation) that join a run."""
    cp = ord(ch)
    if 0x0F00 <= cp <= 0x0FFF:
        return "tibetan"
    if 0x0600 <= cp <= 0x06FF or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF:
        return "arabic"
    if 0xA000 <= cp <= 0xA4CF:
        return "yi"
    if 0x1800 <= cp <= 0x18AF:
        return "mongolian"
    if ch.isspace() or ch.isdigit() or (cp < 0x80 and not ch.isalpha()):
        return None
    return "cjk"


def runs(text: str) -> list[tuple[str, str]]:
    """Split a line into (font key, text) runs so each script is drawn with a font that has its glyphs."""
    out: list[tuple[str, str]] = []
    for ch in text:
        key = script_of(ch)
        if out and (key is None or key == out[-1][0]):
            out[-1] = (out[-1][0], out[-1][1] + ch)
        else:
            out.append((key or "cjk", ch))
    return out

# Scripts whose glyphs must be shaped (Tibetan stacks, Arabic-script joining and right-to-left order, Mongolian
# joining): without Pillow's raqm layout (libraqm + the system's FriBiDi) they come out as wrong, unjoined glyphs.
COMPLEX_SCRIPTS = frozenset({"tibetan", "arabic", "mongolian"})


class ComplexTextUnavailable(ValueError):
    """Pillow cannot shape this script here: the ticket must fail visibly rather than print wrong text."""


def complex_text_problem() -> str | None:
    """Why complex scripts cannot be drawn correctly on this machine, or None when they can."""
    if not features.check("raqm"):
        return "Pillow 缺少 raqm 排版支持（安装 libfribidi0 / libraqm0），藏文、维吾尔文、蒙古文无法正确排版"
    if not features.check_feature("fribidi"):
        return "缺少 FriBiDi（安装 libfribidi0），藏文、维吾尔文、蒙古文无法正确排版"
    return None


@functools.lru_cache(maxsize=64)
def font(key: str, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for k in (key, "cjk"):
        for path, index in FONT_FILES.get(k, ()):
            if os.path.exists(path):
                if k != key:
                    log.warning("no %s font installed; drawing that text with %s (glyphs may be missing)", key, path)
                return ImageFont.truetype(path, px, index=index, layout_engine=_layout_engine())
    log.warning("no CJK font installed; using Pillow's built-in font")
    return ImageFont.load_default(px)


@functools.cache
def _layout_engine() -> ImageFont.Layout:
    return ImageFont.Layout.RAQM if complex_text_problem() is None else ImageFont.Layout.BASIC


def draw_text(text: str, width: int, *, scale: int = 1, bold: bool = False, align: Align = Align.CENTER) -> Image.Image:
    """One line drawn as an 'L' image, ink = 255, `width` dots wide; shrinks the type rather than overflow.

    Raises ComplexTextUnavailable for a Tibetan, Uyghur or Mongolian line when this machine cannot shape it."""
    if any(key in COMPLEX_SCRIPTS for key, _ in runs(text)) and (problem := complex_text_problem()):
        raise ComplexTextUnavailable(problem)
    px = LINE * scale
    while True:
        parts = [(key, s, font("cjk-bold" if bold and key == "cjk" else key, px)) for key, s in runs(text)]
        lengths = [f.getlength(s, direction="rtl" if key == "arabic" else None) for key, s, f in parts]
        if sum(lengths) <= width or px <= 12:
            break
        px = int(px * 0.85)
    if parts and parts[0][0] == "arabic":  # a right-to-left line lays its runs out from the right
        parts, lengths = parts[::-1], lengths[::-1]
    boxes = [f.getbbox(s, direction="rtl" if key == "arabic" else None) for key, s, f in parts] or [(0, 0, 0, px)]
    top = min(0, *(b[1] for b in boxes))
    height = max(px, *(b[3] for b in boxes)) - top + 2
    img = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(img)
    total = sum(lengths)
    x = {Align.LEFT: 0.0, Align.CENTER: (width - total) / 2, Align.RIGHT: width - total}[align]
    for (key, s, f), w in zip(parts, lengths, strict=True):
        d.text((max(0.0, x), -top), s, font=f, fill=255, direction="rtl" if key == "arabic" else None)
        x += w
    return img


def qr_image(data: str, module: int, width: int) -> Image.Image:
    """A QR code drawn as raster for printers without GS ( k, centred on the paper."""
    import segno

    matrix = segno.make(data, error="m", micro=False).matrix
    n = len(matrix)
    small = Image.new("L", (n + 8, n + 8), 0)  # 4-module quiet zone each side
    small.putdata([255 if 4 <= r < n + 4 and 4 <= c < n + 4 and matrix[r - 4][c - 4] else 0
                   for r in range(n + 8) for c in range(n + 8)])
    big = small.resize(((n + 8) * module, (n + 8) * module), Image.Resampling.NEAREST)
    img = Image.new("L", (width, big.height), 0)
    img.paste(big, (max(0, (width - big.width) // 2), 0))
    return img


def image_raster(img: Image.Image) -> bytes:
    """GS v 0 bytes for an 'L' image with ink = 255, cut after its rightmost ink and padded to whole bytes.

    The blank right-hand side is not sent: it is a third to a half of a centred line, and every byte costs
    wire time.  The left side stays, because not every clone applies ESC a alignment to raster images.
    """
    box = img.getbbox()
    w = max(8, ((box[2] if box else 0) + 7) // 8 * 8)
    if w != img.width:
        fitted = Image.new("L", (w, img.height), 0)
        fitted.paste(img, (0, 0))
        img = fitted
    bits = img.point(lambda v: 255 if v >= 128 else 0).convert("1").tobytes()
    return proto.raster(bits, w // 8, img.height)


# --- to bytes --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Profile:
    """How this printer wants its bytes; from [devices.<name>]."""

    mode: str = "text"  # "text": printer fonts, raster only for lines they lack; "raster": the whole ticket drawn
    encoding: str = "gb18030"
    chinese_mode: bool = True  # send FS & first
    qr: str = "native"  # "native" (GS ( k) | "raster" (drawn) | "off"
    qr_module: int = 6
    width_dots: int = proto.DOTS_80MM
    cut: Cut = Cut.PARTIAL
    feed_lines: int = 4


def encode(blocks: list[Block], profile: Profile) -> bytes:
    """ESC/POS for one ticket, starting from ESC @ so no state leaks from whatever printed before."""
    out = bytearray(proto.INIT)
    if profile.mode == "raster":
        for img in block_images(blocks, profile):  # one image per block: each is cut after its own ink
            out += image_raster(img)
    else:
        if profile.chinese_mode:
            out += proto.CHINESE_ON
        for b in blocks:
            out += _encode_block(b, profile)
    out += proto.align(Align.LEFT) + proto.feed(profile.feed_lines) + proto.cut(profile.cut)
    return bytes(out)


def _encode_block(b: Block, p: Profile) -> bytes:
    if isinstance(b, Gap):
        return proto.feed(b.lines)
    if isinstance(b, Rule):
        # a cell of margin each side, centred
        return proto.align(Align.CENTER) + b"-" * (p.width_dots // CELL - 2) + b"\n"
    if isinstance(b, QrCode):
        if p.qr == "off":
            return b""
        if p.qr == "raster":
            return proto.align(Align.LEFT) + image_raster(qr_image(b.data, p.qr_module, p.width_dots))
        return proto.align(Align.CENTER) + proto.qr(b.data, p.qr_module) + b"\n"
    if proto.printable(b.text, p.encoding):
        return (
            proto.align(b.align)
            + proto.size(b.scale, b.scale)
            + proto.bold(b.bold)
            + proto.encode_text(b.text, p.encoding)
            + b"\n"
            + proto.size(1, 1)
            + proto.bold(False)
        )
    img = draw_text(b.text, p.width_dots, scale=b.scale, bold=b.bold, align=b.align)
    return proto.align(Align.LEFT) + image_raster(img)


def block_images(blocks: list[Block], p: Profile) -> list[Image.Image]:
    """The whole ticket drawn, block by block, for printers without a Chinese font (mode = "raster")."""
    parts: list[Image.Image] = []
    for b in blocks:
        if isinstance(b, Gap):
            parts.append(Image.new("L", (p.width_dots, LINE * b.lines), 0))
        elif isinstance(b, Rule):
            img = Image.new("L", (p.width_dots, LINE), 0)
            d = ImageDraw.Draw(img)
            for x in range(0, p.width_dots, 12):
                d.line((x, LINE // 2, x + 6, LINE // 2), fill=255, width=2)
            parts.append(img)
        elif isinstance(b, QrCode):
            if p.qr != "off":
                parts.append(qr_image(b.data, p.qr_module, p.width_dots))
        else:
            parts.append(draw_text(b.text, p.width_dots, scale=b.scale, bold=b.bold, align=b.align))
    return parts


def ticket_bytes(payload: dict, opts: TicketOptions, profile: Profile) -> bytes:
    return encode(compose(payload, opts), profile)
