"""MemoryStore at scale: bytes per held session, and what pruning costs.

Sessions are written through the store's public ``set`` in the shape the engine writes
(express's ``cookie`` object plus one small value), with ids from the library's own
``default_genid``. Memory is the process's resident-set growth (``/proc/self/statm``)
across the writes, so it includes the ids, the JSON text, the dict slot and the expiry
heap entry: everything the store keeps per session.
"""

from __future__ import annotations

import gc
import os
import time
from datetime import datetime, timezone

from sessionlib import MemoryStore
from sessionlib.engine import default_genid

DAY = 86400.0


def _iso(at: float) -> str:
    moment = datetime.fromtimestamp(round(at, 3), tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _session(expires_at: float, max_age: float) -> dict:
    return {
        "cookie": {
            "originalMaxAge": round(max_age * 1000),
            "expires": _iso(expires_at),
            "httpOnly": True,
            "path": "/",
            "sameSite": "lax",
        },
        "n": 1,
    }


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def fill(store: MemoryStore, count: int, lifetime: float = DAY) -> float:
    """Write ``count`` sessions living ``lifetime`` seconds; returns seconds taken."""
    expires_at = time.time() + lifetime
    # One data dict reused: ``set`` serialises it, so nothing is shared in the store.
    data = _session(expires_at, lifetime)
    started = time.perf_counter()
    for _ in range(count):
        store.set(default_genid(), data)
    return time.perf_counter() - started


def bytes_per_session(count: int) -> dict[str, float]:
    """Fill a fresh store with ``count`` sessions; report RSS growth per session."""
    gc.collect()
    store = MemoryStore()
    before = _rss_bytes()
    seconds = fill(store, count)
    gc.collect()
    after = _rss_bytes()
    assert store.length() == count
    result = {
        "sessions": count,
        "bytes_per_session": (after - before) / count,
        "set_us": seconds / count * 1e6,
    }
    store.clear()
    del store
    gc.collect()
    return result


def prune_cost(
    held: int, expiring: tuple[int, ...], store: MemoryStore | None = None
) -> list[dict[str, float]]:
    """With ``held`` long-lived sessions, add k short-lived ones per k in ``expiring``, let
    them expire and time the first call that prunes them: ``get`` of an unknown id, which
    costs nothing else (``length()`` would also copy every held id). Passing a filled store
    saves refilling it."""
    if store is None:
        store = MemoryStore()
        fill(store, held)
    rows = []
    for k in expiring:
        fill(store, k, lifetime=0.3)
        time.sleep(0.35)
        gc.collect()
        started = time.perf_counter()
        store.get("not-a-stored-id")
        seconds = time.perf_counter() - started
        left = store.length()
        assert left == held, (left, held)
        rows.append(
            {
                "held": held,
                "expired": k,
                "prune_ms": seconds * 1e3,
                "us_per_expired": seconds / k * 1e6,
            }
        )
    return rows


def growth_under_writes(requests: int) -> dict[str, float]:
    """Memory the store keeps after ``requests`` modifying requests of ONE session.

    Nothing should stay: the store holds one session however often it is rewritten.
    Measured with ``tracemalloc`` around the requests (after a warm-up), so only what
    survives them counts.
    """
    import tracemalloc

    import apps
    import wsgi

    store = MemoryStore()
    app = apps.sessionlib_app(store)
    run = wsgi.loop(app, wsgi.environ("/count", wsgi.establish(app)))
    run(200)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(requests)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert store.length() == 1
    return {"requests": requests, "bytes_per_request": (after - before) / requests}
