"""A small load generator for machines without ``wrk``, with wrk's method and count.lua's
checks: ``connections`` threads, each one client with one keep-alive connection (reopened
when the server closes it) and one cookie, sending ``GET /count`` one request at a time for
``duration`` seconds (``mode``: "plain", "counter" or "reader", as count.lua's argument).
Returns the same dict as count.lua's ``BENCH-JSON`` line.

It is Python, so on a small machine it takes CPU the server would otherwise have: its
figures are lower than wrk's and only comparable with each other.
"""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any


def run(host: str, port: int, duration: float, connections: int, mode: str) -> dict[str, Any]:
    start_at = time.monotonic() + 0.05
    stop_at = start_at + duration
    latencies: list[list[float]] = [[] for _ in range(connections)]
    threads_out: list[dict[str, Any]] = [{} for _ in range(connections)]
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    lock = threading.Lock()

    def client(index: int) -> None:
        sent = got = bad = last = 0
        cookie = first_bad = ""
        connection: http.client.HTTPConnection | None = None
        own = latencies[index]
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < stop_at:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=10)
            headers = {"Cookie": cookie} if cookie else {}
            began = time.perf_counter()
            sent += 1
            try:
                path = "/peek" if mode == "reader" and cookie else "/count"
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read().decode()
            except (OSError, http.client.HTTPException):
                with lock:
                    errors["read"] += 1
                connection.close()
                connection = None
                continue
            own.append(time.perf_counter() - began)
            got += 1
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    cookie = value.split(";", 1)[0]
            reason = ""
            if response.status != 200:
                reason = f"status {response.status}"
                with lock:
                    errors["status"] += 1
            elif mode == "reader":
                reason = "" if body == "1" else f"read {body}, not 1"
                last = int(body) if body.isdigit() else last
            elif mode == "counter":
                number = int(body) if body.isdigit() else None
                if number != last + 1:
                    reason = f"counter {body} after {last}"
                if number is not None:
                    last = number
            elif body != "ok":
                reason = f"body {body}"
            if reason:
                bad += 1
                first_bad = first_bad or reason
            if response.getheader("Connection", "").lower() == "close" or response.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        threads_out[index] = {
            "sent": sent,
            "got": got,
            "bad": bad,
            "last": last,
            "cookie": cookie,
            "first_bad": first_bad,
        }

    workers = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = sorted(value for own in latencies for value in own)

    def percentile(p: float) -> int:
        if not every:
            return 0
        return int(every[min(len(every) - 1, int(len(every) * p / 100))] * 1e6)

    return {
        "requests": len(every),
        "duration_us": int(duration * 1e6),
        "errors": errors,
        "latency_us": {
            "p50": percentile(50),
            "p90": percentile(90),
            "p99": percentile(99),
            "max": percentile(100),
            "mean": (sum(every) / len(every) * 1e6) if every else 0.0,
        },
        "threads": threads_out,
    }
