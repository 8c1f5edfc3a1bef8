"""``RedisStore``: sessions in Redis, laid out exactly as connect-redis lays them out.

Key ``prefix + id``; value the express-shaped session as JSON; ``SET key value EX ttl``
with the TTL taken from ``cookie.expires`` (else ``ttl``); ``EXPIRE`` to touch. A
returning request costs one command: ``GETEX key EX ttl`` reads and touches at once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..errors import StoreUnavailable
from .base import SessionData, Store, json_text, merged_session, seconds_left, whole_seconds

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["RedisStore"]

log = logging.getLogger("sessionlib")
T = TypeVar("T")


class RedisStore(Store):
    """A store on a ``redis.Redis`` (or ``fakeredis.FakeRedis``) client.

    ``disable_touch=True`` reads with a plain ``GET`` and never extends a session's TTL
    (connect-redis's ``disableTouch``). The store never pickles: values are JSON text.

    How fast an outage surfaces as ``StoreUnavailable`` is the client's business: its
    ``socket_timeout`` and ``socket_connect_timeout``, times its retries (redis-py retries
    ten times by default; ``retry=Retry(NoBackoff(), 0)`` fails on the first timeout).
    """

    touches_on_get = True
    #: How many times ``merge`` tries when other clients keep writing (or touching) the key
    #: between its ``WATCH`` and ``EXEC``; jittered backoff up to 50 ms between tries.
    merge_attempts = 50

    def __init__(
        self,
        client: Redis,
        prefix: str = "sess:",
        ttl: int = 86400,
        disable_touch: bool = False,
        scan_count: int = 100,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.disable_touch = disable_touch
        self.touches_on_get = not disable_touch
        self.scan_count = scan_count

    def key(self, sid: str) -> str:
        """The Redis key that holds session ``sid``."""
        return self.prefix + sid

    # -- the store interface ------------------------------------------------------------
    def get(self, sid: str) -> SessionData | None:
        return self._decode(sid, self._read(sid, lambda: self.client.get(self.key(sid))))

    def get_and_touch(self, sid: str, ttl: float | None) -> SessionData | None:
        if self.disable_touch:
            return self.get(sid)
        seconds = whole_seconds(self.ttl if ttl is None else ttl)
        raw = self._read(sid, lambda: self.client.getex(self.key(sid), ex=seconds))
        return self._decode(sid, raw)

    def set(self, sid: str, data: SessionData) -> None:
        text = json_text(data)
        left = seconds_left(data, self.ttl)
        assert left is not None
        if left <= 0:
            self.destroy(sid)
            return
        self._call(lambda: self.client.set(self.key(sid), text, ex=whole_seconds(left)))

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> None:
        """``Store.merge`` as an optimistic transaction: ``WATCH`` the key, ``GET`` it,
        merge, then ``MULTI``/``SET``/``EXEC``; if another client wrote the key in between,
        ``EXEC`` fails and the merge starts again from the newer value (``merge_attempts``
        times, then ``StoreUnavailable`` with nothing written).
        """
        key = self.key(sid)

        def attempt() -> bool:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    current = self._decode(sid, pipe.get(key))
                    merged = merged_session(current, data, changed, removed)
                    left = seconds_left(merged, self.ttl)
                    assert left is not None
                    pipe.multi()
                    if left <= 0:
                        pipe.delete(key)
                    else:
                        text = json_text(merged)
                        pipe.set(key, text, ex=whole_seconds(left))
                    pipe.execute()
                    return True
                except WatchError:
                    return False

        for tries in range(self.merge_attempts):
            if self._call(attempt):
                return
            # Another write (or a touch: GETEX counts) came in between: back off, jittered.
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**tries)))
        raise StoreUnavailable(
            f"session {sid[:6]}… kept changing in Redis: merge gave up after "
            f"{self.merge_attempts} attempts; nothing was written"
        )

    def touch(self, sid: str, data: SessionData) -> None:
        if self.disable_touch:
            return
        left = seconds_left(data, self.ttl)
        assert left is not None
        if left > 0:
            self._call(lambda: self.client.expire(self.key(sid), whole_seconds(left)))

    def destroy(self, sid: str) -> None:
        self._call(lambda: self.client.delete(self.key(sid)))

    def all(self) -> dict[str, SessionData]:
        keys = self._keys()
        if not keys:
            return {}
        values = self._call(lambda: self.client.mget(keys))
        found = {}
        for key, raw in zip(keys, values, strict=True):
            sid = _text(key)[len(self.prefix) :]
            data = self._decode(sid, raw)
            if data is not None:
                found[sid] = data
        return found

    def clear(self) -> None:
        keys = self._keys()
        if keys:
            self._call(lambda: self.client.delete(*keys))

    def length(self) -> int:
        return len(self._keys())

    # -- helpers ------------------------------------------------------------------------
    def _keys(self) -> list[Any]:
        pattern = self.prefix + "*"
        return self._call(lambda: list(self.client.scan_iter(match=pattern, count=self.scan_count)))

    def _call(self, command: Callable[[], T]) -> T:
        """Run a command; the client's connection and timeout errors become ``StoreUnavailable``."""
        try:
            return command()
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise StoreUnavailable(f"Redis is unreachable: {error}") from error

    def _read(self, sid: str, command: Callable[[], T]) -> T | None:
        """Run a read; a key holding another Redis type (WRONGTYPE) reads as no session."""
        try:
            return self._call(command)
        except ResponseError as error:
            if not str(error).startswith("WRONGTYPE"):
                raise
            log.warning("session %s… in Redis is not a string value; ignoring it", sid[:6])
            return None

    def _decode(self, sid: str, raw: bytes | str | None) -> SessionData | None:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            log.warning("session %s… in Redis is not valid JSON; ignoring it", sid[:6])
            return None
        if data is None:  # None means "no session": say why this one is ignored
            log.warning("session %s… in Redis is JSON null; ignoring it", sid[:6])
        return data


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
