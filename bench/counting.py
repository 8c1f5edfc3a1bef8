"""Redis commands counted where the server sees them.

Real Redis: the difference of ``INFO commandstats`` before and after (the server's own
per-command counters; the ``INFO`` calls themselves are left out). fakeredis: every
command its in-process server parses off the wire (``BaseFakeSocket._process_command``)
for the one ``FakeServer`` behind the client.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakeredis
from fakeredis._socket._base import BaseFakeSocket

_IGNORED = {"info"}


def is_fake(client: Any) -> bool:
    return isinstance(client, fakeredis.FakeRedis)


def warm(client: Any) -> None:
    """Open the client's connection first, so its handshake (HELLO, CLIENT SETINFO) is
    not counted against the first request."""
    client.ping()


def _fake_server(client: Any) -> Any:
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        return connection._server
    finally:
        pool.release(connection)


def _commandstats(client: Any) -> Counter[str]:
    stats = client.info("commandstats")
    calls: Counter[str] = Counter()
    for key, value in stats.items():
        name = key.removeprefix("cmdstat_").lower()
        if name not in _IGNORED:
            calls[name] = int(value["calls"])
    return calls


class Commands:
    """The commands counted inside one ``count_commands`` block, in order when known."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sequence: list[str] = []

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        if not self.counts:
            return "-"
        if self.sequence:
            return " + ".join(name.upper() for name in self.sequence)
        return " + ".join(f"{n}x{name.upper()}" for name, n in sorted(self.counts.items()))


@contextmanager
def count_commands(client: Any) -> Iterator[Commands]:
    """Count the commands the server behind ``client`` executes inside the block."""
    warm(client)
    result = Commands()
    if is_fake(client):
        server = _fake_server(client)
        original = BaseFakeSocket._process_command

        def counting(sock: Any, fields: list[bytes]) -> None:
            if fields and sock._server is server:
                name = fields[0].decode().lower()
                result.counts[name] += 1
                result.sequence.append(name)
            return original(sock, fields)

        BaseFakeSocket._process_command = counting  # type: ignore[method-assign]
        try:
            yield result
        finally:
            BaseFakeSocket._process_command = original  # type: ignore[method-assign]
        return
    before = _commandstats(client)
    yield result
    after = _commandstats(client)
    result.counts = after - before
