"""What a session store holds, as a table: ids (shortened), data, expiry or Redis TTL."""

from __future__ import annotations

import json

from sessionlib import Store
from sessionlib.signals import short_id as short  # ids on screen, as the signals show them

from .recorder import is_redis
from .table import Table, shorten

__all__ = ["store_table", "short"]


def store_table(store: Store, title: str | None = None) -> Table:
    """Every session in ``store``: id, data (without the cookie), expiry, and TTL for Redis."""
    rows = []
    for sid, data in sorted(store.all().items()):
        cookie = data.get("cookie", {})
        values = {k: v for k, v in data.items() if k != "cookie"}
        row = [short(sid), shorten(json.dumps(values), 50), cookie.get("expires") or "—"]
        if is_redis(store):
            row.append(store.client.ttl(store.key(sid)))
        rows.append(row)
    columns = ["id", "data", "cookie.expires"]
    if is_redis(store):
        columns.append("TTL (s)")
    return Table(columns, rows, title or f"{type(store).__name__}: {len(rows)} session(s)")
