"""Why waitress with several threads collapses on Redis-backed routes: a reproduction.

Run ``python bench/http/waitress_spin.py`` (~2 minutes). For each waitress setting (as it
comes; ``send_bytes=18000``; one thread; four threads with the fix below patched in) it
serves one route of ``flask_apps.py`` (the bare route plus two redis-py commands, then
sessionlib on Redis) under wrk (8 connections, 4 s, ``count.lua``'s checks), with probes in
the waitress process that count, on its I/O thread, ``select()`` calls and
``HTTPChannel.handle_write`` calls that could not send because a task thread held the
channel's ``outbuf_lock``. Prints requests/s, p99, the I/O thread's CPU and those counts
per second; bench/README.md has the explanation. It starts its own redis-server on a free
loopback port and stops it by its PID at the end.

Served by waitress as ``waitress_spin:app`` (the probes install when imported).
"""

from __future__ import annotations

import collections
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STATS: collections.Counter[str] = collections.Counter()


def install_probes() -> None:
    import waitress.channel
    import waitress.wasyncore

    channel = waitress.channel.HTTPChannel
    io_thread = threading.main_thread().ident
    plain_select = select.select

    def counting_select(r: Any, w: Any, e: Any, timeout: Any = None) -> Any:
        if threading.get_ident() == io_thread:
            STATS["select"] += 1
        return plain_select(r, w, e, timeout)

    waitress.wasyncore.select.select = counting_select  # the module's own reference
    plain_lockable = channel._flush_some_if_lockable

    def flush_some_if_lockable(self: Any, do_close: bool = True) -> Any:
        if self.outbuf_lock.acquire(False):
            self.outbuf_lock.release()
        else:
            STATS["handle_write, outbuf_lock held by the task"] += 1
        return plain_lockable(self, do_close)

    channel._flush_some_if_lockable = flush_some_if_lockable

    if os.environ.get("SPIN_PATCH") == "1":
        # The fix this reproduction argues for: a channel whose task thread holds the
        # outbuf lock (it is sending the response itself) is not "writable" for the I/O
        # loop; the task pulls the trigger when it is done, which wakes the loop again.
        plain_writable = channel.writable

        def writable(self: Any) -> Any:
            if self.requests and self.total_outbufs_len:
                if not self.outbuf_lock.acquire(False):
                    return False
                self.outbuf_lock.release()
            return plain_writable(self)

        channel.writable = writable


if __name__ != "__main__":
    install_probes()
    from flask_apps import app as _inner

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/probe":
            body = json.dumps(dict(STATS)).encode()
            STATS.clear()
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]
        return _inner(environ, start_response)


def main() -> None:
    sys.path.insert(0, str(HERE))
    import run

    if not shutil.which("wrk"):
        sys.exit("this reproduction needs wrk (Debian: apt-get install wrk)")
    settings = [
        ("4 threads (defaults: send_bytes=1)", ["--threads=4"]),
        ("4 threads, send_bytes=18000", ["--threads=4", "--send-bytes=18000"]),
        ("1 thread", ["--threads=1"]),
        ("4 threads, writable() patched", ["--threads=4"]),
    ]
    directory = Path(tempfile.mkdtemp(prefix="waitress-spin-"))
    redis_process, redis_port = run.start_redis(directory)
    try:
        for rep in range(2):
            for route in ("redis2", "sessionlib"):
                for label, arguments in settings:
                    port = run.free_port()
                    env = {
                        **os.environ,
                        "BENCH_VARIANT": route,
                        "BENCH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                        "BENCH_RUN_ID": f"spin{rep}",
                        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), str(HERE)]),
                        "SPIN_PATCH": "1" if "patched" in label else "0",
                    }
                    command = [
                        sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}",
                        *arguments, "waitress_spin:app",
                    ]  # fmt: skip
                    server = subprocess.Popen(
                        command,
                        cwd=HERE,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                    try:
                        deadline = time.monotonic() + 20
                        while True:
                            try:
                                run.get(port, "/probe")
                                break
                            except OSError:
                                if time.monotonic() > deadline:
                                    raise
                                time.sleep(0.1)
                        counter = route != "redis2"
                        run.load(port, 1, 8, counter, "wrk")
                        run.get(port, "/probe")  # reset the counts
                        cpu = run.main_thread_cpu(server.pid)
                        result = run.load(port, 4, 8, counter, "wrk")
                        cpu = (run.main_thread_cpu(server.pid) - cpu) / 4
                        probes = json.loads(run.get(port, "/probe")[1])
                        ok, _ = run.check(result, port, counter)
                    finally:
                        run.stop(server)
                    rate = result["requests"] / (result["duration_us"] / 1e6)
                    print(
                        f"{route:10} {label:36} {rate:6.0f} req/s  "
                        f"p99 {result['latency_us']['p99'] / 1000:6.1f} ms  I/O thread CPU "
                        f"{cpu:4.0%}  select() {probes.get('select', 0) / 4:8.0f}/s  "
                        "handle_write blocked by the task's lock "
                        f"{probes.get('handle_write, outbuf_lock held by the task', 0) / 4:8.0f}/s"
                        f"  {'checked' if ok else 'CHECK FAILED'}",
                        flush=True,
                    )
    finally:
        run.stop(redis_process)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
