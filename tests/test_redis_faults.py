"""Redis outages, against a real redis-server each test starts on a free loopback port.

The example app (``examples/login_app.py``) maps ``sessionlib.StoreUnavailable`` to 503.
The Redis client is built to fail fast: ``socket_timeout`` bounds every wait and retries
are off, so a request fails within the timeout instead of the client's retry budget.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask, session
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import free_port

import sessionlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from login_app import create_app  # noqa: E402

pytestmark = [
    pytest.mark.lesson7,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="redis-server is not installed (apt-get install redis-server); "
        "these tests start and kill their own server",
    ),
]

SOCKET_TIMEOUT = 0.5
SLACK = 0.5  # scheduling slack on a busy CI machine


class RedisProcess:
    """One redis-server on a fixed loopback port: start, kill, stop, continue."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(port=self.port, socket_timeout=0.2, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
        probe.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no goodbye to the clients
        self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=5)

    def client(self, timeout: float = SOCKET_TIMEOUT) -> redis.Redis:
        """A client that fails within ``timeout``: no retries."""
        return redis.Redis(
            port=self.port,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def timed_post(http: requests.Session, url: str) -> tuple[int, float, dict[str, Any]]:
    started = time.perf_counter()
    response = http.post(url, timeout=10)
    elapsed = time.perf_counter() - started
    body = response.json() if response.headers.get("Content-Type") == "application/json" else {}
    return response.status_code, elapsed, body


def test_killed_redis_fails_fast_with_503_and_the_same_app_recovers_on_restart(
    redis_server: RedisProcess, serve: Any
) -> None:
    app = create_app(sessionlib.RedisStore(redis_server.client()))
    server = serve(app)
    results: list[tuple[str, int, float]] = []  # (phase, status, seconds)
    phase = ["up"]
    stop = threading.Event()

    def client_loop() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                status, elapsed, _ = timed_post(http, server.url + "/counter")
                results.append((phase[0], status, elapsed))
                time.sleep(0.005)

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.4)
        phase[0] = "down"
        redis_server.kill()
        time.sleep(0.6)
        phase[0] = "restarting"
        redis_server.start()  # the same port; the app is not touched
        phase[0] = "back"
        time.sleep(0.6)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    statuses = {p: [s for ph, s, _ in results if ph == p] for p in ("up", "down", "back")}
    assert statuses["up"] and set(statuses["up"]) == {200}
    assert 503 in statuses["down"]
    assert {s for _, s, _ in results} <= {200, 503}  # never a 500
    failures = [elapsed for _, s, elapsed in results if s == 503]
    assert max(failures) < SOCKET_TIMEOUT + SLACK, "an outage must fail within the timeout"
    # Once restarted, every client is served again (its session was lost with the data).
    tail = [s for ph, s, _ in results if ph == "back"][-8:]
    assert tail and set(tail) == {200}


def test_the_503_comes_from_the_apps_handler(redis_server: RedisProcess) -> None:
    app = create_app(sessionlib.RedisStore(redis_server.client()))
    client = app.test_client()
    assert client.post("/counter").json == {"count": 1}
    redis_server.kill()
    started = time.perf_counter()
    response = client.post("/counter")
    assert time.perf_counter() - started < SOCKET_TIMEOUT + SLACK
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "unavailable" in response.json["error"]


def test_hung_redis_times_out_with_503_and_keeps_every_session(
    redis_server: RedisProcess, serve: Any
) -> None:
    store = sessionlib.RedisStore(redis_server.client())
    server = serve(create_app(store))
    clients = [requests.Session() for _ in range(6)]
    for http in clients:
        for expected in (1, 2, 3):
            assert http.post(server.url + "/counter").json() == {"count": expected}
    inspector = redis_server.client(timeout=5)
    before = {key: inspector.get(key) for key in inspector.keys("sess:*")}
    assert len(before) == len(clients)

    redis_server.pause()  # SIGSTOP: connections open, nothing answers
    try:
        outcomes: list[tuple[int, float]] = []

        def poke(http: requests.Session) -> None:
            status, elapsed, _ = timed_post(http, server.url + "/counter")
            outcomes.append((status, elapsed))

        threads = [threading.Thread(target=poke, args=(http,)) for http in clients[:4]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        # A request that never touches the store is still served during the hang.
        assert requests.get(server.url + "/", timeout=5).status_code == 200
    finally:
        redis_server.resume()

    assert [status for status, _ in outcomes] == [503] * 4
    for _, elapsed in outcomes:
        assert SOCKET_TIMEOUT * 0.9 <= elapsed < SOCKET_TIMEOUT + SLACK

    after = {key: inspector.get(key) for key in inspector.keys("sess:*")}
    assert after == before  # every session written before the hang is intact
    for http in clients:
        assert http.post(server.url + "/counter").json() == {"count": 4}
    inspector.close()


class CuttingProxy:
    """A loopback TCP proxy to Redis that, once ``cut()`` is called, lets only ``allow``
    more bytes through towards Redis and then nothing, in either direction: a connection
    that dies part-way through a command, at a byte the test chose."""

    def __init__(self, port: int, allow: int) -> None:
        self.allow, self.cutting, self.passed = allow, False, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.cutting, self.passed = True, 0

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_redis: bool) -> None:
        try:
            while data := source.recv(65536):
                if self.cutting:
                    if not to_redis:
                        continue  # no reply reaches the client after the cut
                    data = data[: max(0, self.allow - self.passed)]
                    self.passed += len(data)
                sink.sendall(data)
                if self.cutting and to_redis and self.passed >= self.allow:
                    sink.close()  # Redis sees the connection end mid-command
                    return
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for each in self.sockets:
            each.close()


def test_a_write_cut_off_mid_command_leaves_the_old_json(redis_server: RedisProcess) -> None:
    """The connection dies after 1 MB of a multi-megabyte SET has reached Redis: the client
    times out, and since Redis never applies half a command, the key keeps the old JSON."""
    blob_size = 4 * 1024 * 1024
    proxy = CuttingProxy(redis_server.port, allow=1024 * 1024)
    client = redis.Redis(
        port=proxy.port, socket_timeout=SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 0)
    )
    store = sessionlib.RedisStore(client)
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret="s", store=store, max_size=None)
    app.register_error_handler(sessionlib.StoreUnavailable, lambda error: ("down", 503))

    @app.post("/write/<int:version>")
    def write(version: int) -> str:
        session["version"] = version
        session["blob"] = str(version) * blob_size
        if version == 2:
            proxy.cut()  # the session is loaded; the write that follows will be cut
        return "ok"

    web = app.test_client()
    assert web.post("/write/1").status_code == 200
    inspector = redis_server.client(timeout=10)
    (key,) = inspector.keys("sess:*")
    old = inspector.get(key)
    try:
        assert web.post("/write/2").status_code == 503
        assert 0 < proxy.passed <= 1024 * 1024 < blob_size  # part of the SET reached Redis
        assert inspector.get(key) == old  # the half command was discarded whole
    finally:
        proxy.close()
        inspector.close()


def _entry(**data: Any) -> dict[str, Any]:
    return {"cookie": {"originalMaxAge": 60_000, "expires": None}, **data}


REFUSALS = {  # a server that can't take a write now: its setting, and what undoes it
    "NOREPLICAS": (("min-replicas-to-write", "1"), ("min-replicas-to-write", "0")),
}


@pytest.mark.parametrize("refusal", REFUSALS)
@pytest.mark.parametrize("write", ["set", "merge", "wait_replicas"])
def test_a_server_refusing_writes_is_store_unavailable_and_the_message_names_no_session(
    redis_server: RedisProcess, refusal: str, write: str
) -> None:
    store = sessionlib.RedisStore(
        redis_server.client(), prefix="refused:", wait_replicas=int(write == "wait_replicas")
    )
    sid = "Zq3xV0c7pL9sK2mN4bR6tY8wA1dF5hJ0"
    redis_server.client().set("refused:" + sid, '{"cookie":{},"n":1}')
    refuse, undo = REFUSALS[refusal]
    redis_server.client().config_set(*refuse)
    try:
        with pytest.raises(sessionlib.StoreUnavailable) as refused:
            if write == "merge":
                store.merge(sid, _entry(n=2), changed=["n"], removed=[])
            else:
                store.set(sid, _entry(n=2))
    finally:
        redis_server.client().config_set(*undo)
    assert sid[:9] not in str(refused.value)  # neither the id nor the session's JSON
    assert '"n"' not in str(refused.value)
    assert store.get(sid) == {"cookie": {}, "n": 1}  # nothing stored was lost


def test_a_server_busy_with_a_script_is_store_unavailable(redis_server: RedisProcess) -> None:
    redis_server.client().config_set("busy-reply-threshold", "10")  # ms before others hear BUSY
    store = sessionlib.RedisStore(redis_server.client(), prefix="busy:")

    def run_forever() -> None:
        with pytest.raises(redis.ResponseError, match="killed"):
            redis_server.client(timeout=10).eval("while true do end", 0)

    script = threading.Thread(target=run_forever, daemon=True)
    script.start()
    try:
        time.sleep(0.2)
        with pytest.raises(sessionlib.StoreUnavailable, match="BUSY"):
            store.get("any")
    finally:
        redis.Redis(port=redis_server.port).script_kill()
        script.join(5)
