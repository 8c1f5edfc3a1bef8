"""``RedisStore``: sessions in Redis, laid out exactly as connect-redis lays them out.

Key ``prefix + id``; value the session as JSON; ``SET key value EX ttl`` with the TTL from
``cookie.expires`` (else ``ttl``); ``EXPIRE`` to touch. A returning request costs one
command: ``GETEX key EX ttl`` reads and touches at once.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from redis.exceptions import ClusterDownError, ReadOnlyError, ResponseError, WatchError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..signals import short_id
from .base import SessionData, Store, StoreUnavailable, compact_json, merged, ttl_seconds

log = logging.getLogger("sessionlib")
T = TypeVar("T")
#: Errors that mean "Redis can't take this now" (down, failing over, a replica): a 503.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, ClusterDownError)


class RedisStore(Store):
    """A store on a redis-py client: ``Redis``, ``RedisCluster``, a Sentinel's
    ``master_for(...)``, or fakeredis. connect-redis's options: ``prefix``; ``ttl`` in
    seconds for sessions without an expiry, or a function of the session giving the TTL;
    ``disable_touch`` (reads never extend a session); ``disable_ttl`` (keys never expire);
    ``serializer``, anything with ``dumps`` and ``loads`` that writes JSON-compatible text.

    How fast an outage surfaces as ``StoreUnavailable`` is the client's affair: its
    timeouts times its retries (``retry=Retry(NoBackoff(), 0)`` fails at once).
    """

    #: How many times ``merge`` tries while other requests keep writing the same key.
    merge_attempts = 50

    def __init__(
        self,
        client: Any,
        prefix: str = "sess:",
        ttl: float | Callable[[SessionData], float] = 86400,
        disable_touch: bool = False,
        disable_ttl: bool = False,
        serializer: Any = None,
        scan_count: int = 100,
    ) -> None:
        if serializer is not None and not all(hasattr(serializer, m) for m in ("dumps", "loads")):
            raise ValueError(f"serializer must have dumps and loads, not {serializer!r}")
        self.client, self.prefix, self.ttl, self.scan_count = client, prefix, ttl, scan_count
        self.disable_touch, self.disable_ttl = disable_touch, disable_ttl
        self.dumps = serializer.dumps if serializer else compact_json
        self.loads = serializer.loads if serializer else json.loads
        self.touches_on_get = not (disable_touch or disable_ttl or callable(ttl))

    def key(self, sid: str) -> str:
        """The Redis key that holds session ``sid``."""
        return self.prefix + sid

    def get(self, sid: str) -> SessionData | None:
        return self._read(sid, self.client.get)

    def get_and_touch(self, sid: str, seconds: float | None) -> SessionData | None:
        if not self.touches_on_get:
            return self.get(sid)
        seconds = self.ttl if seconds is None else seconds
        return self._read(sid, self.client.getex, ex=max(1, math.ceil(seconds)))  # type: ignore[arg-type]

    def set(self, sid: str, data: SessionData) -> None:
        self._write(sid, data, only_if_stored=False)

    def replace(self, sid: str, data: SessionData) -> bool:
        return self._write(sid, data, only_if_stored=True)

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> bool:
        """An optimistic transaction: ``WATCH`` the key, ``GET`` it, then ``MULTI``/``SET XX``/
        ``EXEC``; when another client wrote the key meanwhile, start again from its value."""
        key = self.key(sid)

        def attempt() -> bool | None:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    current = self._decode(sid, pipe.get(key))
                    if current is None:
                        return False  # destroyed meanwhile: nothing may bring it back
                    result = merged(current, data, changed, removed)
                    pipe.multi()
                    pipe.set(key, self.dumps(result), ex=self._ttl(result), xx=True)
                    pipe.execute()
                    return True
                except WatchError:
                    return None

        for tries in range(self.merge_attempts):
            written = self._call(attempt)
            if written is not None:
                return written
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**tries)))  # back off, jittered
        raise StoreUnavailable(f"session {short_id(sid)} kept changing; nothing was written")

    def touch(self, sid: str, data: SessionData) -> None:
        ttl = None if self.disable_touch else self._ttl(data)
        if ttl is not None and ttl > 0:
            self._call(self.client.expire, self.key(sid), ttl)

    def destroy(self, sid: str) -> None:
        self._call(self.client.delete, self.key(sid))

    def ids(self) -> list[str]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + "*"  # the prefix, literally

        def scan() -> list[str]:
            keys = self.client.scan_iter(match=pattern, count=self.scan_count)
            return [_text(key)[len(self.prefix) :] for key in keys]

        return self._call(scan)

    def all(self) -> dict[str, SessionData]:
        ids = self.ids()
        with self.client.pipeline(transaction=False) as pipe:  # one GET a key: any slot
            for sid in ids:
                pipe.get(self.key(sid))
            values = self._call(pipe.execute)
        found = {sid: self._decode(sid, raw) for sid, raw in zip(ids, values, strict=True)}
        return {sid: data for sid, data in found.items() if data is not None}

    def clear(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for sid in self.ids():
                pipe.delete(self.key(sid))
            self._call(pipe.execute)

    def _ttl(self, data: SessionData) -> int | None:
        """The TTL for a write, in seconds; None: keep the key for good (``disable_ttl``)."""
        if self.disable_ttl:
            return None
        return math.ceil(self.ttl(data)) if callable(self.ttl) else ttl_seconds(data, self.ttl)

    def _write(self, sid: str, data: SessionData, only_if_stored: bool) -> bool:
        ttl = self._ttl(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)  # already expired: a TTL of 0 would be an error
            return True
        text = self.dumps(data)
        written = self._call(self.client.set, self.key(sid), text, ex=ttl, xx=only_if_stored)
        return bool(written)

    def _call(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a command; Redis being unreachable becomes ``StoreUnavailable``."""
        try:
            return command(*args, **kwargs)
        except UNAVAILABLE as error:
            raise StoreUnavailable(f"Redis is unavailable: {error}") from error

    def _read(self, sid: str, command: Callable[..., Any], **options: Any) -> SessionData | None:
        """A read; a key holding another Redis type (WRONGTYPE) reads as a value to refuse."""
        try:
            raw = self._call(command, self.key(sid), **options)
        except ResponseError as error:
            if not str(error).startswith("WRONGTYPE"):
                raise
            log.warning("session %s in Redis is not a string value", short_id(sid))
            return None
        return self._decode(sid, raw)

    def _decode(self, sid: str, raw: Any) -> SessionData | None:
        """The stored session, or None (and a log line) for a value that is not one."""
        if raw is None:
            return None
        try:
            data = self.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            data = error
        if not isinstance(data, dict):
            log.warning("session %s in Redis is not a JSON object (%r)", short_id(sid), data)
            return None
        return data


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
