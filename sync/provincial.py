"""The provincial 好差评 upload adapter: our rating dict ⇄ the provincial record (codes reversed, pf channels)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.core.rating import GB39046_CODE, PF_CODE, PROVINCIAL_CODE, Channel, Level, from_provincial
from sync.contract import ProvincialRating

_CHANNEL_BY_PF = {code: ch for ch, code in PF_CODE.items()}
_FMT = "%Y-%m-%d %H:%M:%S"


def to_provincial(rating: dict[str, Any], *, region: str, tz: ZoneInfo, project_no: str | None = None
                  ) -> ProvincialRating:
    """A rating.recorded payload's rating → the upload record.  The project number is the case number when the
    service had one (一事一评), else the ticket id (一次一评 on site)."""
    level = Level(rating["level"])
    at = datetime.fromisoformat(rating["rated_at"]).astimezone(tz)
    return ProvincialRating(
        projectNo=(project_no or rating.get("case_no") or rating["ticket_id"])[:50],
        areaCode=region,
        pf=PF_CODE[Channel(rating.get("channel") or Channel.EVALUATOR)],
        satisfaction=PROVINCIAL_CODE[level],
        appraiseTime=at.strftime(_FMT),
        content=rating.get("text") or "",
        reason=rating.get("reason") or "",
    )


def from_provincial_record(rec: ProvincialRating, *, tz: ZoneInfo) -> dict[str, Any]:
    """The upload record read back (e.g. ratings given on the provincial app for a hall case)."""
    level = from_provincial(rec.satisfaction)
    channel = _CHANNEL_BY_PF.get(rec.pf)
    if channel is None:
        raise ValueError(f"not a provincial channel code (pf): {rec.pf!r}")
    at = datetime.strptime(rec.appraiseTime, _FMT).replace(tzinfo=tz)
    return {"level": level.value, "gb39046_code": GB39046_CODE[level], "channel": channel.value,
            "project_no": rec.projectNo, "region": rec.areaCode, "rated_at": at.isoformat(),
            "text": rec.content or None, "reason": rec.reason or None}
