"""Concurrent requests over a threaded ``LiveServer``.

Separate sessions never see each other's data and count exactly. One session shared by
concurrent requests loses updates, as in express-session (the last writer wins); with
``merge=True`` a request writes only the keys it changed onto the latest stored state, so
requests that change different keys all keep their change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask, jsonify, request, session

import coursekit
import sessionlib
from sessionlib.stores.base import SessionData

THREADS = 8
REQUESTS_PER_THREAD = 500


@pytest.fixture
def store(every_store: sessionlib.Store) -> sessionlib.Store:
    """``every_store``, under the name these tests use."""
    return every_store


def make_app(store: Any, **options: Any) -> Flask:
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret="concurrency", store=store, **options)

    @app.post("/count")
    def count() -> Any:
        session.setdefault("owner", request.args["owner"])
        session["n"] = session.get("n", 0) + 1
        return jsonify(owner=session["owner"], n=session["n"])

    @app.post("/slow-count")
    def slow_count() -> Any:
        n = session.get("n", 0)
        time.sleep(0.01)  # the read-modify-write window a real handler has
        session["n"] = n + 1
        return jsonify(n=session["n"])

    @app.post("/bump/<key>")
    def bump(key: str) -> Any:
        session[key] = session.get(key, 0) + 1
        return jsonify(n=session[key])

    @app.get("/data")
    def data() -> Any:
        return jsonify(dict(session))

    @app.post("/start")
    def start() -> Any:
        session.update(request.get_json())
        return jsonify(dict(session))

    return app


def shared_session(server: coursekit.LiveServer, count: int, **initial: Any) -> list[Any]:
    """``count`` cookie jars holding the same session (one browser, many tabs)."""
    first = requests.Session()
    first.post(server.url + "/start", json=initial or {"started": True}).raise_for_status()
    jars = [first]
    for _ in range(count - 1):
        jar = requests.Session()
        jar.cookies.update(first.cookies)
        jars.append(jar)
    return jars


def run_threads(target: Callable[[int], None], count: int) -> None:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as error:  # noqa: BLE001 (re-raised in the test's thread)
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]


# -- separate sessions ----------------------------------------------------------------
@pytest.mark.slow
def test_eight_threads_of_500_requests_each_keep_exact_separate_counters(
    store: sessionlib.Store, serve: Any
) -> None:
    server = serve(make_app(store))
    finals: dict[str, int] = {}

    def client(index: int) -> None:
        owner = f"thread-{index}"
        with requests.Session() as http:  # keep-alive: one connection per thread
            for expected in range(1, REQUESTS_PER_THREAD + 1):
                body = http.post(f"{server.url}/count", params={"owner": owner}).json()
                assert body == {"owner": owner, "n": expected}
            finals[owner] = body["n"]

    run_threads(client, THREADS)
    assert finals == {f"thread-{i}": REQUESTS_PER_THREAD for i in range(THREADS)}
    stored = sorted((data["owner"], data["n"]) for data in store.all().values())
    assert stored == sorted(finals.items())


# -- one session, concurrent requests: the lost update --------------------------------
LOST_UPDATE_THREADS = 8
LOST_UPDATE_REQUESTS = 10


def hammer_shared_counter(server: coursekit.LiveServer) -> int:
    jars = shared_session(server, LOST_UPDATE_THREADS)

    def client(index: int) -> None:
        for _ in range(LOST_UPDATE_REQUESTS):
            jars[index].post(server.url + "/slow-count").raise_for_status()

    run_threads(client, LOST_UPDATE_THREADS)
    return jars[0].get(server.url + "/data").json()["n"]


def test_concurrent_requests_of_one_session_lose_updates(
    store: sessionlib.Store, serve: Any
) -> None:
    """express-session's behaviour, and ours by default: each request writes the whole
    session it read, so the last to finish overwrites the others' increments."""
    total = LOST_UPDATE_THREADS * LOST_UPDATE_REQUESTS
    final = hammer_shared_counter(serve(make_app(store)))
    print(f"lost update: {total} increments, counter ends at {final}")
    assert final < total


def test_merge_does_not_save_a_counter_both_requests_change(
    store: sessionlib.Store, serve: Any
) -> None:
    """Two requests that change the same key: the last to save wins for that key."""
    total = LOST_UPDATE_THREADS * LOST_UPDATE_REQUESTS
    final = hammer_shared_counter(serve(make_app(store, merge=True)))
    print(f"lost update with merge=True: {total} increments, counter ends at {final}")
    assert final < total


# -- the remedy: merge=True -----------------------------------------------------------
def two_overlapping_requests(
    store: Any, serve: Any, first: tuple[str, str], second: tuple[str, str], **options: Any
) -> dict[str, Any]:
    """Two requests of one session, both loaded before either saves; ``second`` saves
    about 0.2 s after ``first``. ``("set", key)`` sets key to the request's name,
    ``("del", key)`` deletes it. Returns the session's data afterwards."""
    app = make_app(store, **options)
    both_loaded = threading.Barrier(2, timeout=10)

    @app.post("/slow/<name>/<op>/<key>")
    def slow(name: str, op: str, key: str) -> str:
        session.get(key)  # load the session
        both_loaded.wait()
        if name == "second":
            time.sleep(0.2)
        if op == "set":
            session[key] = name
        else:
            session.pop(key, None)
        return "ok"

    server = serve(app)
    jars = shared_session(server, 2, x="initial")
    steps = {0: ("first", *first), 1: ("second", *second)}

    def client(index: int) -> None:
        name, op, key = steps[index]
        jars[index].post(f"{server.url}/slow/{name}/{op}/{key}").raise_for_status()

    run_threads(client, 2)
    return jars[0].get(server.url + "/data").json()


def test_without_merge_one_of_two_concurrent_changes_is_lost(store: Any, serve: Any) -> None:
    data = two_overlapping_requests(store, serve, ("set", "a"), ("set", "b"))
    assert "b" in data and "a" not in data  # the later save overwrote the earlier one


def test_with_merge_two_slow_concurrent_requests_setting_a_and_b_both_survive(
    store: Any, serve: Any
) -> None:
    data = two_overlapping_requests(store, serve, ("set", "a"), ("set", "b"), merge=True)
    assert data["a"] == "first" and data["b"] == "second" and data["x"] == "initial"


def test_with_merge_the_last_writer_wins_for_a_key_both_change(store: Any, serve: Any) -> None:
    data = two_overlapping_requests(store, serve, ("set", "a"), ("set", "a"), merge=True)
    assert data["a"] == "second"


def test_with_merge_a_deletion_and_a_concurrent_addition_both_survive(
    store: Any, serve: Any
) -> None:
    data = two_overlapping_requests(store, serve, ("del", "x"), ("set", "b"), merge=True)
    assert "x" not in data and data["b"] == "second"
    data = two_overlapping_requests(store, serve, ("set", "b"), ("del", "x"), merge=True)
    assert "x" not in data and data["b"] == "first"


def test_with_merge_concurrent_requests_on_their_own_keys_all_count_exactly(
    store: Any, serve: Any
) -> None:
    """8 tabs of one session, each bumping its own key 40 times: every key ends at 40
    (Redis: WATCH/MULTI/EXEC retried whenever another tab wrote in between)."""
    server = serve(make_app(store, merge=True))
    jars = shared_session(server, THREADS)

    def client(index: int) -> None:
        for expected in range(1, 41):
            body = jars[index].post(f"{server.url}/bump/k{index}").json()
            assert body == {"n": expected}

    run_threads(client, THREADS)
    data = jars[0].get(server.url + "/data").json()
    assert data == {"started": True, **{f"k{i}": 40 for i in range(THREADS)}}


class StoreWithoutMerge(sessionlib.Store):
    """A store that implements only what ``Store`` requires: ``merge`` is the default."""

    def __init__(self) -> None:
        self.inner = sessionlib.MemoryStore()
        self.sets = 0

    def get(self, sid: str) -> SessionData | None:
        return self.inner.get(sid)

    def set(self, sid: str, data: SessionData) -> None:
        self.sets += 1
        self.inner.set(sid, data)

    def destroy(self, sid: str) -> None:
        self.inner.destroy(sid)

    def ids(self) -> list[str]:
        return self.inner.ids()


def test_with_merge_what_a_view_undoes_after_save_is_undone_in_the_store(
    store: Any, serve: Any
) -> None:
    app = make_app(store, merge=True)

    @app.post("/checkout")
    def checkout() -> str:
        session.update(role="admin-preview", checkout_lock=True)
        session.save()  # stored now, in the middle of the view
        del session["checkout_lock"]
        session["role"] = "user"
        return "done"

    server = serve(app)
    jar = requests.Session()
    jar.post(server.url + "/count?owner=ada")
    jar.post(server.url + "/checkout")
    assert jar.get(server.url + "/data").json() == {"owner": "ada", "n": 1, "role": "user"}


def test_a_store_without_its_own_merge_merges_with_the_default(serve: Any) -> None:
    store = StoreWithoutMerge()
    data = two_overlapping_requests(store, serve, ("set", "a"), ("set", "b"), merge=True)
    assert (data["a"], data["b"]) == ("first", "second")  # both kept: read, lay over, write
    assert store.sets == 3  # /start, then one write per request


@pytest.mark.parametrize("kind", ["memory", "fakeredis"])
def test_store_merge_lays_changed_keys_onto_the_stored_session(kind: str) -> None:
    import fakeredis

    store = (
        sessionlib.MemoryStore()
        if kind == "memory"
        else sessionlib.RedisStore(fakeredis.FakeRedis())
    )
    cookie = {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"}
    store.set("abc", {"cookie": cookie, "a": 1, "b": 1, "c": 1})
    new_cookie = {**cookie, "originalMaxAge": 60000}
    mine = {"cookie": new_cookie, "a": 2, "b": 1, "d": 2}
    assert store.merge("abc", mine, changed=["a", "d"], removed=["c"]) is True
    assert store.get("abc") == {"cookie": new_cookie, "a": 2, "b": 1, "d": 2}
    store.set("abc", {"cookie": cookie, "b": 5})  # someone else wrote b meanwhile
    store.merge("abc", mine, changed=["a"], removed=[])
    assert store.get("abc") == {"cookie": new_cookie, "b": 5, "a": 2}
    store.destroy("abc")  # logged out meanwhile: nothing may bring the session back
    assert store.merge("abc", mine, changed=["a"], removed=[]) is False
    assert store.get("abc") is None
