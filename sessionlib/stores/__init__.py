"""Session stores: the ``Store`` interface, ``MemoryStore`` and ``RedisStore``."""

from .base import Store, StoreUnavailable
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["Store", "StoreUnavailable", "MemoryStore", "RedisStore"]
