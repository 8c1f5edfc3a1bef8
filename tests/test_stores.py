"""The stores as units: the ``Store`` interface on ``MemoryStore`` and ``RedisStore`` (on
fakeredis always, on a real redis-server when ``REDIS_URL`` is set), connect-redis's Redis
layout, expiry, pruning and an unreachable Redis."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import fakeredis
import pytest
import redis
from support import unreachable_redis

import sessionlib

pytestmark = pytest.mark.lesson2


def express_cookie(max_age: float | None) -> dict[str, Any]:
    """express-session's stored cookie object for a cookie living ``max_age`` more seconds."""
    if max_age is None:
        return {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"}
    expires = datetime.now(timezone.utc) + timedelta(seconds=max_age)
    iso = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"originalMaxAge": round(max_age * 1000), "expires": iso, "httpOnly": True, "path": "/"}


def record(max_age: float | None = 60, **data: Any) -> dict[str, Any]:
    """A session as the engine hands it to a store: express's cookie object, then the data."""
    return {"cookie": express_cookie(max_age), **data}


def expired_record(**data: Any) -> dict[str, Any]:
    return {"cookie": express_cookie(-5), **data}


def without_cookie(data: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if data is None else {k: v for k, v in data.items() if k != "cookie"}


def assert_ttl(client: redis.Redis, key: str, seconds: int) -> None:
    """The key's TTL is ``seconds``, give or take the second a rounding up may add."""
    assert seconds - 1 <= client.ttl(key) <= seconds + 1


@pytest.fixture
def store(every_store: sessionlib.Store) -> sessionlib.Store:
    """``every_store``, under the name these tests use."""
    return every_store


# -- the Store interface, on every store ---------------------------------------------------


def test_unknown_id_reads_as_none(store):
    assert store.get("never-written") is None
    assert store.get_and_touch("never-written", 60) is None


def test_set_then_get_returns_the_session(store):
    data = record(user="ada", cart=[1, 2, {"sku": "é"}], flag=True, nothing=None, price=9.5)
    store.set("sid1", data)
    assert store.get("sid1") == data
    assert without_cookie(store.get_and_touch("sid1", 60)) == without_cookie(data)


def test_set_replaces_the_previous_session(store):
    store.set("sid1", record(n=1))
    store.set("sid1", record(n=2))
    assert without_cookie(store.get("sid1")) == {"n": 2}
    assert store.length() == 1


def test_destroy_forgets_the_session_and_ignores_unknown_ids(store):
    store.set("sid1", record(n=1))
    store.set("sid2", record(n=2))
    store.destroy("sid1")
    store.destroy("never-written")
    assert store.get("sid1") is None
    assert without_cookie(store.get("sid2")) == {"n": 2}


def test_all_length_and_clear_see_every_live_session(store):
    for n in range(3):
        store.set(f"sid{n}", record(n=n))
    assert {sid: without_cookie(data) for sid, data in store.all().items()} == {
        "sid0": {"n": 0},
        "sid1": {"n": 1},
        "sid2": {"n": 2},
    }
    assert store.length() == 3
    store.clear()
    assert store.all() == {}
    assert store.length() == 0
    assert store.get("sid0") is None


def test_already_expired_session_is_deleted_instead_of_written(store):
    store.set("sid1", record(n=1))
    store.set("sid1", expired_record(n=2))
    assert store.get("sid1") is None
    assert store.length() == 0


def test_already_expired_new_session_is_not_stored(store):
    store.set("sid1", expired_record(n=1))
    assert store.get("sid1") is None
    assert store.all() == {}


def test_merging_an_already_expired_session_deletes_it_instead_of_failing(store):
    store.set("sid1", record(n=1, theme="dark"))
    assert store.merge("sid1", expired_record(n=2), changed=["n"], removed=[]) is True
    assert store.get("sid1") is None
    assert store.length() == 0


def test_touch_of_an_unknown_id_does_not_create_it(store):
    store.touch("never-written", record())
    assert store.get("never-written") is None


def test_stored_session_is_a_copy_not_shared_with_the_caller(store):
    data = record(cart=["apple"])
    store.set("sid1", data)
    data["cart"].append("pear")
    loaded = store.get("sid1")
    loaded["cart"].append("plum")
    assert store.get("sid1")["cart"] == ["apple"]


def test_store_base_class_requires_get_set_destroy():
    base = sessionlib.Store()
    with pytest.raises(NotImplementedError):
        base.get("sid")
    with pytest.raises(NotImplementedError):
        base.set("sid", record())
    with pytest.raises(NotImplementedError):
        base.destroy("sid")


# -- RedisStore: connect-redis's layout ----------------------------------------------------


@pytest.fixture
def redis_store(redis_client, key_prefix) -> sessionlib.RedisStore:
    return sessionlib.RedisStore(redis_client, prefix=key_prefix)


def test_the_default_prefix_is_connect_redis_sess():
    store = sessionlib.RedisStore(fakeredis.FakeRedis())
    assert store.prefix == "sess:" and store.key("abc") == "sess:abc"


@pytest.mark.lesson7
def test_redis_key_is_prefix_plus_id_and_value_is_compact_json(
    redis_store, redis_client, key_prefix
):
    data = record(views=3, user={"name": "Ada"})
    redis_store.set("abc123", data)
    assert list(redis_client.scan_iter(key_prefix + "*")) == [(key_prefix + "abc123").encode()]
    raw = redis_client.get(key_prefix + "abc123")
    assert raw == json.dumps(data, separators=(",", ":")).encode()  # JSON.stringify's text
    stored = json.loads(raw)
    assert stored["cookie"]["originalMaxAge"] == 60000
    assert stored["cookie"]["expires"].endswith("Z")
    assert stored["cookie"]["httpOnly"] is True
    assert stored["cookie"]["path"] == "/"


@pytest.mark.lesson7
def test_redis_ttl_comes_from_the_cookie_expiry(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record(max_age=60))
    assert_ttl(redis_client, key_prefix + "abc", 60)


@pytest.mark.lesson7
def test_redis_ttl_is_rounded_up_to_whole_seconds(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record(max_age=1.2))
    assert redis_client.ttl(key_prefix + "abc") == 2  # 1.2 s rounded up, not down to 1


@pytest.mark.lesson7
def test_redis_ttl_defaults_to_one_day_without_cookie_expiry(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record(max_age=None))
    assert_ttl(redis_client, key_prefix + "abc", 86400)


@pytest.mark.lesson7
def test_redis_ttl_option_sets_the_default(redis_client, key_prefix):
    sessionlib.RedisStore(redis_client, prefix=key_prefix, ttl=100).set("abc", record(max_age=None))
    assert_ttl(redis_client, key_prefix + "abc", 100)


@pytest.mark.lesson7
def test_redis_prefix_option_changes_the_key(redis_client, key_prefix):
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix + "myapp:")
    store.set("abc", record(n=1))
    assert redis_client.exists(key_prefix + "myapp:abc") and not redis_client.exists(
        key_prefix + "abc"
    )
    assert without_cookie(store.get("abc")) == {"n": 1}


@pytest.mark.lesson7
def test_redis_touch_moves_the_ttl_without_rewriting_the_value(
    redis_store, redis_client, key_prefix
):
    redis_store.set("abc", record(max_age=10, n=1))
    raw = redis_client.get(key_prefix + "abc")
    redis_store.touch("abc", record(max_age=500, n=999))
    assert_ttl(redis_client, key_prefix + "abc", 500)
    assert redis_client.get(key_prefix + "abc") == raw


@pytest.mark.lesson7
def test_redis_get_and_touch_reads_and_extends_in_one_step(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record(max_age=10, n=1))
    assert without_cookie(redis_store.get_and_touch("abc", 300)) == {"n": 1}
    assert_ttl(redis_client, key_prefix + "abc", 300)


@pytest.mark.lesson7
def test_redis_plain_get_leaves_the_ttl_alone(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record(max_age=10))
    redis_store.get("abc")
    assert_ttl(redis_client, key_prefix + "abc", 10)


@pytest.mark.lesson7
def test_redis_disable_touch_never_extends_the_ttl(redis_client, key_prefix):
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix, disable_touch=True)
    store.set("abc", record(max_age=10))
    store.get_and_touch("abc", 300)
    store.touch("abc", record(max_age=500))
    assert_ttl(redis_client, key_prefix + "abc", 10)


@pytest.mark.lesson7
def test_redis_expired_session_deletes_the_existing_key(redis_store, redis_client, key_prefix):
    redis_store.set("abc", record())
    redis_store.set("abc", expired_record())
    assert not redis_client.exists(key_prefix + "abc")


@pytest.mark.lesson7
def test_redis_reads_a_session_written_by_connect_redis(redis_store, redis_client, key_prefix):
    written_by_node = (
        '{"cookie":{"originalMaxAge":86400000,"expires":"2099-01-01T00:00:00.000Z",'
        '"httpOnly":true,"path":"/"},"views":3,"user":{"name":"Ada"}}'
    )
    redis_client.set(key_prefix + "fromnode", written_by_node, ex=86400)
    data = redis_store.get("fromnode")
    assert data["views"] == 3 and data["user"] == {"name": "Ada"}
    assert data["cookie"]["expires"] == "2099-01-01T00:00:00.000Z"


@pytest.mark.lesson7
def test_redis_value_that_is_not_json_reads_as_none(redis_store, redis_client, key_prefix):
    redis_client.set(key_prefix + "garbage", b"\x80\x04\x95 not json (a pickle?)")
    assert redis_store.get("garbage") is None


@pytest.mark.lesson7
def test_redis_length_all_and_clear_touch_only_their_prefix(redis_store, redis_client, key_prefix):
    outside = key_prefix.removesuffix("sess:")  # the test's own keys, not the store's
    redis_client.set(outside + "unrelated", "keep me")
    redis_client.set(outside + "other:abc", "keep me too")
    for n in range(250):  # more than one SCAN page
        redis_store.set(f"s{n}", record(n=n))
    assert redis_store.length() == 250
    assert len(redis_store.all()) == 250
    redis_store.clear()
    assert redis_store.length() == 0
    assert redis_client.get(outside + "unrelated") == b"keep me"
    assert redis_client.get(outside + "other:abc") == b"keep me too"


@pytest.mark.lesson7
def test_redis_store_works_on_a_client_that_decodes_responses():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = sessionlib.RedisStore(client)
    store.set("abc", record(n=1))
    assert without_cookie(store.get("abc")) == {"n": 1}
    assert list(store.all()) == ["abc"]


@pytest.mark.lesson7
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.get("abc"), id="get"),
        pytest.param(lambda s: s.get_and_touch("abc", 60), id="get_and_touch"),
        pytest.param(lambda s: s.set("abc", record()), id="set"),
        pytest.param(lambda s: s.touch("abc", record()), id="touch"),
        pytest.param(lambda s: s.destroy("abc"), id="destroy"),
        pytest.param(lambda s: s.all(), id="all"),
        pytest.param(lambda s: s.length(), id="length"),
        pytest.param(lambda s: s.clear(), id="clear"),
    ],
)
def test_unreachable_redis_raises_store_unavailable(call):
    store = sessionlib.RedisStore(unreachable_redis())
    with pytest.raises(sessionlib.StoreUnavailable) as caught:
        call(store)
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


# -- MemoryStore: expiry, pruning, threads -------------------------------------------------


def test_memory_store_forgets_sessions_when_their_expiry_passes():
    store = sessionlib.MemoryStore(ttl=0.3)
    store.set("short", record(max_age=0.3))
    store.set("no-expiry", record(max_age=None))  # lives the store's ttl
    store.set("touched", record(max_age=0.3))
    store.touch("touched", record(max_age=60))
    store.set("read-and-touched", record(max_age=0.3))
    store.get_and_touch("read-and-touched", 60)
    store.set("long", record(max_age=60))
    threading.Event().wait(0.4)
    assert store.get("short") is None
    assert store.get("no-expiry") is None
    assert store.get("touched") is not None
    assert store.get("read-and-touched") is not None
    assert store.get("long") is not None


def test_memory_store_forgets_expired_sessions_without_being_asked_for_them():
    store = sessionlib.MemoryStore()
    for n in range(50):
        store.set(f"short{n}", record(max_age=0.3))
    store.set("long", record(max_age=60))
    assert store.length() == 51
    threading.Event().wait(0.4)
    store.set("new", record(max_age=60))
    assert store.length() == 2
    assert sorted(store.all()) == ["long", "new"]


def test_memory_store_is_thread_safe():
    store = sessionlib.MemoryStore()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(100):
                sid = f"w{worker}-{n}"
                store.set(sid, record(worker=worker, n=n))
                store.set("shared", record(worker=worker, n=n))
                assert store.get(sid)["n"] == n
                shared = store.get_and_touch("shared", 60)
                assert set(shared) == {"cookie", "worker", "n"}
                store.touch(sid, record())
                if n % 10 == 0:
                    store.all()
                    store.length()
                if n % 2:
                    store.destroy(sid)
        except BaseException as error:  # reported below, from the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.length() == 8 * 50 + 1
