"""``RedisStore``: sessions in Redis, laid out exactly as connect-redis lays them out.

Key ``prefix + id``; value the express-shaped session as JSON; ``SET key value EX ttl``
with the TTL taken from ``cookie.expires`` (else ``ttl``); ``EXPIRE`` to touch. A
returning request costs one command: ``GETEX key EX ttl`` reads and touches at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..errors import StoreUnavailable
from .base import SessionData, Store, seconds_left, whole_seconds

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["RedisStore"]

log = logging.getLogger("sessionlib")
T = TypeVar("T")


@contextmanager
def _reachable(client: Redis) -> Iterator[None]:
    """Turn the client's connection and timeout errors into ``StoreUnavailable``."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise StoreUnavailable(f"Redis is unreachable: {error}") from error


class RedisStore(Store):
    """A store on a ``redis.Redis`` (or ``fakeredis.FakeRedis``) client.

    ``disable_touch=True`` reads with a plain ``GET`` and never extends a session's TTL
    (connect-redis's ``disableTouch``). The store never pickles: values are JSON text.
    """

    touches_on_get = True

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
        return self._decode(sid, self._call(lambda: self.client.get(self.key(sid))))

    def get_and_touch(self, sid: str, ttl: float | None) -> SessionData | None:
        if self.disable_touch:
            return self.get(sid)
        seconds = whole_seconds(self.ttl if ttl is None else ttl)
        raw = self._call(lambda: self.client.getex(self.key(sid), ex=seconds))
        return self._decode(sid, raw)

    def set(self, sid: str, data: SessionData) -> None:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        left = seconds_left(data, self.ttl)
        assert left is not None
        if left <= 0:
            self.destroy(sid)
            return
        self._call(lambda: self.client.set(self.key(sid), text, ex=whole_seconds(left)))

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
        for key, raw in zip(keys, values):
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
        return self._call(
            lambda: list(self.client.scan_iter(match=pattern, count=self.scan_count))
        )

    def _call(self, command: Callable[[], T]) -> T:
        with _reachable(self.client):
            return command()

    def _decode(self, sid: str, raw: bytes | str | None) -> SessionData | None:
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            log.warning("session %s… in Redis is not valid JSON; ignoring it", sid[:6])
            return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
