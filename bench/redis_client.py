"""What one Redis command costs the Python process that sends it, by how redis-py is used.

A modifying request costs any Redis-backed session one ``GET`` and one ``SET ... EX``; this
measures the CPU time (not the wall time: the wait for Redis costs a worker nothing) of
each, sent three ways through redis-py:

- ``Redis()``: the client as apps make it, taking a pooled connection for every command;
- ``Redis(single_connection_client=True)``: one connection held by the client (behind a
  lock), so no pool on the way;
- ``Connection``: redis-py's connection alone, ``send_command`` then ``read_response``: the
  protocol and the socket, with neither client nor pool.

    REDIS_URL=redis://127.0.0.1:6394/0 python bench/redis_client.py [--rounds 7]

Rounds are interleaved (every way once per round) and each figure is the best round's
(CPU time moves only one way when the machine is busy). The keys are this run's own,
deleted at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import secrets
import sys
import time
from collections.abc import Callable

import redis
from redis.connection import Connection

CALLS = 5_000  # commands per round and way


def cpu_us_per_call(call: Callable[[], object], calls: int = CALLS) -> float:
    """Process CPU time per call of ``call``, in µs."""
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls * 1e6


def commands(url: str, key: str) -> dict[str, dict[str, Callable[[], object]]]:
    """GET and SET EX of ``key``, by each way of sending them."""
    pooled = redis.Redis.from_url(url)
    single = redis.Redis.from_url(url, single_connection_client=True)
    bare = Connection(**pooled.connection_pool.connection_kwargs)
    bare.connect()

    def bare_command(*args: object) -> Callable[[], object]:
        def call() -> object:
            bare.send_command(*args)
            return bare.read_response()

        return call

    return {
        "Redis()": {
            "GET": lambda: pooled.get(key),
            "SET EX": lambda: pooled.set(key, "1", ex=60),
        },
        "Redis(single_connection_client=True)": {
            "GET": lambda: single.get(key),
            "SET EX": lambda: single.set(key, "1", ex=60),
        },
        "Connection": {
            "GET": bare_command("GET", key),
            "SET EX": bare_command("SET", key, "1", "EX", 60),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("set REDIS_URL to a Redis server, e.g. redis://127.0.0.1:6394/0")
    key = f"bench-client:{secrets.token_hex(8)}"
    ways = commands(url, key)
    best: dict[tuple[str, str], float] = {}
    try:
        for sends in ways.values():  # warm up every connection and code path
            for send in sends.values():
                cpu_us_per_call(send, 500)
        for _ in range(args.rounds):
            for name, sends in ways.items():
                for command, send in sends.items():
                    spent = cpu_us_per_call(send)
                    best[name, command] = min(spent, best.get((name, command), spent))
    finally:
        redis.Redis.from_url(url).delete(key)

    hiredis = "with hiredis" if importlib.util.find_spec("hiredis") else "without hiredis"
    print(f"Python {platform.python_version()}, redis-py {redis.__version__} ({hiredis}), ", end="")
    print(f"{args.rounds} rounds of {CALLS:,} commands; CPU µs per command (best round)\n")
    floor = best["Connection", "GET"] + best["Connection", "SET EX"]
    print("| sent through | GET | SET EX | both | × Connection |")
    print("|---|---:|---:|---:|---:|")
    for name in ways:
        get, set_ex = best[name, "GET"], best[name, "SET EX"]
        both = get + set_ex
        print(f"| {name} | {get:.1f} | {set_ex:.1f} | {both:.1f} | {both / floor:.2f}x |")


if __name__ == "__main__":
    main()
