"""The service catalogue (办事指南) from the central platform: applied through a Hall command, read by the kiosk."""
from __future__ import annotations

import json
from typing import Any

from sync import contract


def apply_update(hall: Any, msg: contract.CatalogUpdate, idem_key: str) -> dict[str, list[str]]:
    """Upsert items (a higher version wins, so a late or replayed message never rolls an item back) and remove
    the listed codes, in one Hall command that appends a catalog.updated event.  A retried idem_key is a no-op."""

    def body(tx: Any) -> dict[str, list[str]]:
        updated: list[str] = []
        stale: list[str] = []
        for item in msg.items:
            row = tx.one("SELECT version FROM catalog_items WHERE code = ?", item.code)
            if row is not None and row["version"] >= item.version:
                stale.append(item.code)
                continue
            doc = json.dumps(contract.to_builtins(item), ensure_ascii=False, separators=(",", ":"))
            tx.exec(
                "INSERT OR REPLACE INTO catalog_items(code, business, name, version, updated_at, message_id, doc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                item.code, item.business, item.name, item.version, tx.at, msg.message_id, doc,
            )
            updated.append(item.code)
        removed: list[str] = []
        for code in msg.removed:
            if tx.one("SELECT code FROM catalog_items WHERE code = ?", code) is not None:
                tx.exec("DELETE FROM catalog_items WHERE code = ?", code)
                removed.append(code)
        result = {"updated": updated, "stale": stale, "removed": removed}
        tx.emit(contract.CATALOG_UPDATED, {"message_id": msg.message_id, **result})
        return result

    res = hall.run("sync.apply_catalog", idem_key, body)
    if res.value is None:  # a replay of an applied message: report what the first application did
        return next((dict(e.payload) for e in res.events if e.kind == contract.CATALOG_UPDATED),
                    {"updated": [], "stale": [], "removed": []})
    value: dict[str, list[str]] = res.value
    return value


def catalog_for(hall: Any, business_code: str) -> dict[str, Any] | None:
    """The 办事指南 for a hall business: the item named by the business's `guide` option if set, else the first
    item attached to the business.  None when the central platform has sent nothing for it."""
    conn = hall.store.conn()
    b = hall.config.business(business_code)
    guide = getattr(b, "guide", "") if b is not None else ""
    row = None
    if guide:
        row = conn.execute("SELECT doc FROM catalog_items WHERE code = ?", (guide,)).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT doc FROM catalog_items WHERE business = ? ORDER BY code LIMIT 1", (business_code,)
        ).fetchone()
    if row is None:
        return None
    doc: dict[str, Any] = json.loads(row[0])
    return doc


def catalog_items(hall: Any, business_code: str | None = None) -> list[dict[str, Any]]:
    """Every catalogue item (for one business, or all), by code."""
    conn = hall.store.conn()
    if business_code is None:
        rows = conn.execute("SELECT doc FROM catalog_items ORDER BY code").fetchall()
    else:
        rows = conn.execute("SELECT doc FROM catalog_items WHERE business = ? ORDER BY code",
                            (business_code,)).fetchall()
    return [json.loads(r[0]) for r in rows]
