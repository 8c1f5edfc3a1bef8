"""``MemoryStore``: sessions in this process's memory, for development, tests and the course.

Like express's MemoryStore it keeps each session as a JSON string (so requests never
share mutable objects), unlike it, it is thread-safe and forgets expired sessions on
its own: a min-heap of expiry times makes pruning cost what expired, not what is held.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Collection

from ..cookie import iso_utc
from .base import SessionData, Store, expiry_timestamp, json_text, merged_session

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """An in-process store. Sessions without a cookie expiry live ``ttl`` seconds."""

    touches_on_get = True

    def __init__(self, ttl: float = 86400) -> None:
        self.ttl = ttl
        self._sessions: dict[str, tuple[str, float, float]] = {}  # id -> (JSON, expires, due)
        self._expiry_heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    # -- the store interface ------------------------------------------------------------
    def get(self, sid: str) -> SessionData | None:
        with self._lock:
            self._prune()
            entry = self._sessions.get(sid)
        return None if entry is None else _decode(entry)

    def get_and_touch(self, sid: str, ttl: float | None) -> SessionData | None:
        now = time.time()
        with self._lock:
            self._prune(now)
            entry = self._sessions.get(sid)
            if entry is None:
                return None
            self._reschedule(sid, entry[0], now + (self.ttl if ttl is None else ttl), entry)
        # The JSON as last written (its expiry is the written one, as Redis's GETEX
        # returns it), so a handler sees max_age counting down between requests.
        return json.loads(entry[0])

    def set(self, sid: str, data: SessionData) -> None:
        text = json_text(data)
        expires_at = self._expires_at(data)
        with self._lock:
            if expires_at <= time.time():
                self._sessions.pop(sid, None)
            else:
                self._reschedule(sid, text, expires_at)
            self._prune()

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> None:
        """``Store.merge`` under the store's lock: read, merge and write as one step."""
        with self._lock:
            self._prune()
            entry = self._sessions.get(sid)
            current = None if entry is None or entry[1] <= time.time() else _decode(entry)
            merged = merged_session(current, data, changed, removed)
            text = json_text(merged)
            expires_at = self._expires_at(merged)
            if expires_at <= time.time():
                self._sessions.pop(sid, None)
            else:
                self._reschedule(sid, text, expires_at)

    def touch(self, sid: str, data: SessionData) -> None:
        expires_at = self._expires_at(data)
        with self._lock:
            entry = self._sessions.get(sid)
            if entry is not None:
                self._reschedule(sid, entry[0], expires_at)

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def all(self) -> dict[str, SessionData]:
        with self._lock:
            self._prune()
            entries = list(self._sessions.items())
        return {sid: _decode(entry) for sid, entry in entries}

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._expiry_heap.clear()

    def length(self) -> int:
        with self._lock:
            self._prune()
            return len(self._sessions)

    # -- expiry -------------------------------------------------------------------------
    def _expires_at(self, data: SessionData) -> float:
        """When the session expires: its ``cookie.expires``, else ``ttl`` from now."""
        moment = expiry_timestamp(data)
        return time.time() + self.ttl if moment is None else moment

    def prune(self) -> int:
        """Drop every expired session now; returns how many went."""
        with self._lock:
            return self._prune()

    def _reschedule(
        self,
        sid: str,
        text: str,
        expires_at: float,
        previous: tuple[str, float, float] | None = None,
    ) -> None:
        """Hold ``text`` until ``expires_at``; ``previous`` is the entry, when already looked up."""
        if previous is None:
            previous = self._sessions.get(sid)
        due = None if previous is None else previous[2]
        # Invariant: each live session has one pending heap entry, due no later than its
        # expiry. A later expiry needs no new entry: the pending one is rescheduled when it
        # comes due, so rewrites and touches never grow the heap.
        if due is None or expires_at < due:
            heapq.heappush(self._expiry_heap, (expires_at, sid))
            due = expires_at
        self._sessions[sid] = (text, expires_at, due)

    def _prune(self, now: float | None = None) -> int:
        heap = self._expiry_heap
        if now is None:
            now = time.time()
        if not heap or heap[0][0] > now:
            return 0  # the usual case: nothing is due
        sessions, removed = self._sessions, 0
        while heap and heap[0][0] <= now:
            due, sid = heapq.heappop(heap)
            entry = sessions.get(sid)
            if entry is None or entry[2] != due:
                continue  # destroyed, or superseded by an earlier entry
            if entry[1] <= now:
                del sessions[sid]
                removed += 1
            else:
                heapq.heappush(heap, (entry[1], sid))
                sessions[sid] = (entry[0], entry[1], entry[1])
        return removed


def _decode(entry: tuple[str, float, float]) -> SessionData:
    data = json.loads(entry[0])
    cookie = data.get("cookie")
    # The JSON keeps the expiry it was written with; a touch since then moved it.
    if isinstance(cookie, dict) and isinstance(cookie.get("expires"), str):
        cookie["expires"] = iso_utc(round(entry[1], 3))
    return data
