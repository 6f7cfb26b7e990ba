"""The service catalogue (办事指南) from the central platform: applied through a Hall command, read by the kiosk."""
from __future__ import annotations

import json
from typing import Any

from kiosk.core import events as ev
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
        result = {"updated": updated, "stale": stale, "removed": removed, **_apply_businesses(hall, tx, msg)}
        tx.emit(contract.CATALOG_UPDATED, {"message_id": msg.message_id, **result})
        return result

    res = hall.run("sync.apply_catalog", idem_key, body)
    if res.value is None:  # a replay of an applied message: report what the first application did
        return next((dict(e.payload) for e in res.events if e.kind == contract.CATALOG_UPDATED),
                    {"updated": [], "stale": [], "removed": [], "businesses": [], "ignored": []})
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
    """Every catalogue item (for one business, or all), by code: the kiosk lists them all, so each 办事指南 item of
    a business can be reached, the business's `guide` item first."""
    conn = hall.store.conn()
    if business_code is None:
        rows = conn.execute("SELECT doc FROM catalog_items ORDER BY code").fetchall()
        return [json.loads(r[0]) for r in rows]
    rows = conn.execute("SELECT doc FROM catalog_items WHERE business = ? ORDER BY code", (business_code,)).fetchall()
    items = [json.loads(r[0]) for r in rows]
    b = hall.config.business(business_code)
    guide = getattr(b, "guide", "") if b is not None else ""
    return sorted(items, key=lambda d: d.get("code") != guide)  # stable: the rest stay by code


# --- the businesses on the kiosk's menu ----------------------------------------------------------------------------
def _apply_businesses(hall: Any, tx: Any, msg: contract.CatalogUpdate) -> dict[str, list[str]]:
    """The catalogue's names and states of the hall's businesses, within what the hall TOML allows (`menu`): a
    business the TOML does not declare, or declares `fixed`, is ignored (it has no prefix, hours or windows here).
    Closing a business the kiosk shows closes it for tickets like 暂停取号 (business.closed); the catalogue opens
    again only what it closed itself, never what staff closed."""
    changed: list[str] = []
    ignored: list[str] = []
    for cb in msg.businesses:
        b = hall.config.business(cb.code)
        if b is None or b.menu == "fixed":
            ignored.append(cb.code)
            continue
        row = tx.one("SELECT version, closed_by_catalog FROM catalog_businesses WHERE code = ?", cb.code)
        if row is not None and row["version"] >= cb.version:
            continue  # a late or replayed entry never rolls the menu back
        by_catalog = int(row["closed_by_catalog"]) if row is not None else 0
        state = tx.one("SELECT closed FROM business_state WHERE code = ?", cb.code)
        if cb.state == "closed" and state is not None and not state["closed"]:
            message = cb.message or "暂停办理"
            tx.exec("UPDATE business_state SET closed = 1, message = ? WHERE code = ?", message, cb.code)
            tx.emit(ev.BUSINESS_CLOSED, {"business": cb.code, "message": message, "source": "catalog"})
            by_catalog = 1
        elif cb.state == "open" and by_catalog:
            if state is not None and state["closed"]:
                tx.exec("UPDATE business_state SET closed = 0, message = '' WHERE code = ?", cb.code)
                tx.emit(ev.BUSINESS_OPENED, {"business": cb.code, "source": "catalog"})
            by_catalog = 0
        tx.exec("INSERT OR REPLACE INTO catalog_businesses(code, name, state, message, version, updated_at, "
                "message_id, closed_by_catalog) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cb.code, cb.name, cb.state,
                cb.message, cb.version, tx.at, msg.message_id, by_catalog)
        changed.append(cb.code)
    return {"businesses": changed, "ignored": ignored}


def menu(hall: Any) -> list[dict[str, Any]]:
    """The kiosk's business menu, in the TOML's order: `{code, name, shown, closed, message}` — the catalogue's name
    and state where the business's `menu` lets it, a `catalog` business shown only while the catalogue lists it.
    `closed` here is the catalogue's; the hall's own 暂停取号 stays in waiting_counts."""
    rows = {r["code"]: r for r in hall.store.conn().execute("SELECT * FROM catalog_businesses")}
    out = []
    for b in hall.config.businesses:
        r = rows.get(b.code) if b.menu != "fixed" else None
        listed = r is not None
        out.append({
            "code": b.code, "name": r["name"] if listed else b.name,
            "shown": b.menu != "catalog" or (listed and r["state"] == "open"),
            "closed": listed and r["state"] == "closed", "message": r["message"] if listed else "",
        })
    return out
