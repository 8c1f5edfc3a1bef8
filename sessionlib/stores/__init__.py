"""Session stores: the ``Store`` interface, ``MemoryStore`` and ``RedisStore``."""

from .base import Store
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["Store", "MemoryStore", "RedisStore"]
