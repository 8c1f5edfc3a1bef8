"""``RedisStore`` on a real 3-primary Redis Cluster (``redis.cluster.RedisCluster``).

The cluster (three ``redis-server --cluster-enabled yes`` joined with ``redis-cli
--cluster create``) starts once per test worker (``redis_servers.start_cluster``). Each
test uses its own key prefix, so tests never see each other's sessions, and deletes its
keys at the end. Sessions go to many hash slots, so every store operation that scans or
fetches many keys has to cover all three primaries.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import support
from flask import Flask
from redis_servers import RedisCluster3, start_cluster

import sessionlib

try:
    from coursekit import LiveServer
except ImportError:  # before the move to coursekit
    from sessionlib import LiveServer  # type: ignore[attr-defined,no-redef]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cluster() -> Iterator[RedisCluster3]:
    topology = start_cluster()
    yield topology
    topology.stop()


@pytest.fixture
def client(cluster: RedisCluster3) -> Iterator[Any]:
    client = cluster.client()
    yield client
    client.close()


@pytest.fixture
def prefix(cluster: RedisCluster3) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards, node by node."""
    prefix = f"sess-{uuid.uuid4().hex[:8]}:"
    yield prefix
    for node in cluster.nodes:
        with node.client() as direct:
            keys = list(direct.scan_iter(match=prefix + "*", count=500))
            for key in keys:  # one key per DEL: a node refuses keys of other nodes' slots
                direct.delete(key)


@pytest.fixture
def store(client: Any, prefix: str) -> sessionlib.RedisStore:
    return sessionlib.RedisStore(client, prefix=prefix)


def session_data(seconds: float = 60, **values: Any) -> dict[str, Any]:
    """A session as express-session stores it: its cookie object, then the values."""
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    cookie = {
        "originalMaxAge": int(seconds * 1000),
        "expires": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "httpOnly": True,
        "path": "/",
    }
    return {"cookie": cookie, **values}


def node_of(cluster: RedisCluster3, client: Any, key: str) -> int:
    """The port of the primary that holds ``key``'s slot."""
    return client.get_node_from_key(key).port


def spread_ids(cluster: RedisCluster3, client: Any, prefix: str, count: int) -> list[str]:
    """``count`` session ids whose keys land on every primary (checked, not hoped)."""
    ids = [f"id{index:03d}-{uuid.uuid4().hex[:6]}" for index in range(count)]
    ports = {node_of(cluster, client, prefix + sid) for sid in ids}
    assert ports == {node.port for node in cluster.nodes}, "keys did not reach every primary"
    slots = {client.keyslot(prefix + sid) for sid in ids}
    assert len(slots) > count // 2, "the keys should fall in many different hash slots"
    return ids


# -- the store's operations ----------------------------------------------------------------


def test_get_set_touch_destroy(store: sessionlib.RedisStore, client: Any, prefix: str) -> None:
    data = session_data(60, user="ada", cart={"apple": 2})
    store.set("abc", data)
    assert store.get("abc") == data
    assert 55 <= client.ttl(prefix + "abc") <= 60

    longer = session_data(600, user="ada", cart={"apple": 2})
    store.touch("abc", longer)
    assert 590 <= client.ttl(prefix + "abc") <= 600
    assert store.get("abc") == data  # touch moves the expiry only, never the contents

    store.destroy("abc")
    assert store.get("abc") is None
    assert client.exists(prefix + "abc") == 0
    store.destroy("abc")  # an unknown id is not an error


def test_whole_store_operations_cover_every_primary(
    store: sessionlib.RedisStore, cluster: RedisCluster3, client: Any, prefix: str
) -> None:
    ids = spread_ids(cluster, client, prefix, 60)
    written = {sid: session_data(60, n=index) for index, sid in enumerate(ids)}
    for sid, data in written.items():
        store.set(sid, data)

    assert store.length() == 60
    assert store.all() == written

    store.clear()
    assert store.length() == 0
    assert store.all() == {}
    for node in cluster.nodes:  # gone from every primary, not just the first
        with node.client() as direct:
            assert list(direct.scan_iter(match=prefix + "*")) == []


def test_ids_cover_every_primary(
    store: sessionlib.RedisStore, cluster: RedisCluster3, client: Any, prefix: str
) -> None:
    ids = spread_ids(cluster, client, prefix, 45)
    for sid in ids:
        store.set(sid, session_data(60))
    assert sorted(store.ids()) == sorted(ids)  # each once, though SCAN ran on three nodes


def test_prefix_is_literal_and_other_keys_are_left_alone(
    cluster: RedisCluster3, client: Any, prefix: str
) -> None:
    store = sessionlib.RedisStore(client, prefix=prefix)
    neighbour = sessionlib.RedisStore(client, prefix=prefix + "x")  # a longer prefix
    for sid in spread_ids(cluster, client, prefix, 30):
        neighbour.set(sid, session_data(60))
    store.set("mine", session_data(60))
    unrelated = prefix.rstrip(":") + "-other"
    client.set(unrelated, "not a session", ex=60)
    try:
        assert store.get("mine") is not None
        neighbour.clear()
        assert neighbour.length() == 0
        assert store.get("mine") is not None  # the shorter prefix's session survived
        assert client.get(unrelated) == b"not a session"
    finally:
        client.delete(unrelated)


# -- over HTTP -----------------------------------------------------------------------------


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(app: Flask) -> Any:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_login_read_logout_over_http(
    store: sessionlib.RedisStore, client: Any, prefix: str, serve: Any
) -> None:
    server = serve(support.login_app(store))
    with requests.Session() as browser:
        login = browser.post(server.url + "/login", json={"user": "ada"}, timeout=5)
        assert login.status_code == 200
        sid = login.json()["sid"]
        assert "sid" in browser.cookies
        assert client.exists(prefix + sid) == 1

        me = browser.get(server.url + "/me", timeout=5)
        assert me.status_code == 200
        assert me.json()["sid"] == sid
        assert me.json()["data"]["user"] == "ada"

        assert browser.post(server.url + "/logout", timeout=5).status_code == 200
        assert client.exists(prefix + sid) == 0
        after = browser.get(server.url + "/me", timeout=5)
        assert after.status_code == 200
        assert after.json()["data"] == {}  # a new, empty session
        assert after.json()["sid"] != sid


def test_many_users_land_on_every_primary_over_http(
    store: sessionlib.RedisStore, cluster: RedisCluster3, client: Any, prefix: str, serve: Any
) -> None:
    server = serve(support.login_app(store))
    browsers = [requests.Session() for _ in range(24)]
    try:
        sids = {}
        for index, browser in enumerate(browsers):
            response = browser.post(server.url + "/login", json={"user": f"u{index}"}, timeout=5)
            assert response.status_code == 200
            sids[index] = response.json()["sid"]
        assert {node_of(cluster, client, prefix + sid) for sid in sids.values()} == {
            node.port for node in cluster.nodes
        }
        for index, browser in enumerate(browsers):
            me = browser.get(server.url + "/me", timeout=5).json()
            assert (me["sid"], me["data"]["user"]) == (sids[index], f"u{index}")
        assert store.length() == 24
    finally:
        for browser in browsers:
            browser.close()


def test_merge_keeps_concurrent_changes_over_http(
    store: sessionlib.RedisStore, client: Any, prefix: str, serve: Any
) -> None:
    """``merge=True`` on a cluster: WATCH/MULTI/EXEC on the key's primary. Parallel requests
    of one session that change different keys all keep their change."""
    server = serve(support.login_app(store, merge=True))
    with requests.Session() as browser:
        sid = browser.post(server.url + "/login", json={"user": "ada"}, timeout=5).json()["sid"]
        cookie = {"sid": browser.cookies["sid"]}
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def change(index: int) -> None:
            barrier.wait(5)
            response = requests.post(
                server.url + "/set", json={f"k{index}": index}, cookies=cookie, timeout=10
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=change, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        assert statuses == [200] * 8
        data = browser.get(server.url + "/me", timeout=5).json()["data"]
        assert data["user"] == "ada"
        assert {key: data.get(key) for key in (f"k{index}" for index in range(8))} == {
            f"k{index}": index for index in range(8)
        }
        assert store.get(sid)["k7"] == 7


def test_merge_after_logout_does_not_bring_the_session_back(
    store: sessionlib.RedisStore, client: Any, prefix: str, serve: Any
) -> None:
    server = serve(support.login_app(store, merge=True))
    with requests.Session() as browser:
        sid = browser.post(server.url + "/login", json={"user": "ada"}, timeout=5).json()["sid"]
        stale_cookie = {"sid": browser.cookies["sid"]}
        assert browser.post(server.url + "/logout", timeout=5).status_code == 200
        # A request that still carries the old cookie: it gets a new session, never the old id.
        response = requests.post(
            server.url + "/set", json={"k": 1}, cookies=stale_cookie, timeout=5
        )
        assert response.status_code == 200
        assert response.json()["sid"] != sid
        assert client.exists(prefix + sid) == 0
