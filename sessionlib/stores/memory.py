"""``MemoryStore``: sessions in this process's memory, for development, tests and the course.

Like express's MemoryStore it keeps each session as JSON text, so requests never share
objects; unlike it, it is thread-safe and forgets expired sessions by itself.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Collection

from .base import SessionData, Store, compact_json, expires_at, iso_utc, merged


class MemoryStore(Store):
    """An in-process store; a session whose cookie has no expiry lives ``ttl`` seconds.

    Pruning costs what expired, not what is held: a heap of alarms, one per session, rings
    at or before each expiry. A session that was extended meanwhile is re-armed, not dropped.
    """

    touches_on_get = True

    def __init__(self, ttl: float = 86400) -> None:
        self.ttl = ttl
        self._sessions: dict[str, tuple[str, float, float]] = {}  # id: (JSON, expiry, alarm)
        self._alarms: list[tuple[float, str]] = []  # a heap of (when, id)
        self._lock = threading.Lock()

    def get(self, sid: str) -> SessionData | None:
        with self._lock:
            entry = self._live(sid)
        return None if entry is None else _decoded(entry)

    def get_and_touch(self, sid: str, seconds: float | None) -> SessionData | None:
        with self._lock:
            entry = self._live(sid)
            if entry is not None:
                self._put(sid, entry[0], time.time() + (self.ttl if seconds is None else seconds))
        return None if entry is None else json.loads(entry[0])

    def set(self, sid: str, data: SessionData) -> None:
        with self._lock:
            self._prune()
            self._put(sid, compact_json(data), self._expiry(data))

    def replace(self, sid: str, data: SessionData) -> bool:
        with self._lock:
            if self._live(sid) is None:
                return False
            self._put(sid, compact_json(data), self._expiry(data))
            return True

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> bool:
        with self._lock:
            entry = self._live(sid)
            if entry is None:
                return False
            result = merged(json.loads(entry[0]), data, changed, removed)
            self._put(sid, compact_json(result), self._expiry(result))
            return True

    def touch(self, sid: str, data: SessionData) -> None:
        with self._lock:
            entry = self._live(sid)
            if entry is not None:
                self._put(sid, entry[0], self._expiry(data))

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def all(self) -> dict[str, SessionData]:
        with self._lock:
            self._prune()
            entries = list(self._sessions.items())
        return {sid: _decoded(entry) for sid, entry in entries}

    def ids(self) -> list[str]:
        with self._lock:
            self._prune()
            return list(self._sessions)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._alarms.clear()

    def _expiry(self, data: SessionData) -> float:
        moment = expires_at(data)
        return time.time() + self.ttl if moment is None else moment

    def _live(self, sid: str) -> tuple[str, float, float] | None:
        self._prune()
        return self._sessions.get(sid)

    def _put(self, sid: str, text: str, expiry: float) -> None:
        if expiry <= time.time():
            self._sessions.pop(sid, None)
            return
        previous = self._sessions.get(sid)
        alarm = previous[2] if previous else expiry
        if previous is None or expiry < alarm:  # a later expiry keeps its earlier alarm
            alarm = expiry
            heapq.heappush(self._alarms, (alarm, sid))
        self._sessions[sid] = (text, expiry, alarm)

    def _prune(self) -> None:
        now = time.time()
        while self._alarms and self._alarms[0][0] <= now:
            when, sid = heapq.heappop(self._alarms)
            entry = self._sessions.get(sid)
            if entry is None or entry[2] != when:
                continue  # destroyed, or re-armed since
            if entry[1] <= now:
                del self._sessions[sid]
            else:  # extended since the alarm was set: ring again at the new expiry
                self._sessions[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self._alarms, (entry[1], sid))


def _decoded(entry: tuple[str, float, float]) -> SessionData:
    """The stored JSON, its ``cookie.expires`` moved to where touches have put the expiry."""
    data = json.loads(entry[0])
    if isinstance(data["cookie"].get("expires"), str):
        data["cookie"]["expires"] = iso_utc(entry[1])
    return data
