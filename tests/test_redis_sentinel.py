"""``RedisStore`` on a Sentinel-managed primary while the primary fails over, over HTTP.

The topology (``redis_servers.start_sentinel_group``): a primary, one replica, three
sentinels (quorum 2, ``down-after-milliseconds 1000``), started once per test worker. The
app's store is ``RedisStore(Sentinel(...).master_for("mymaster", socket_timeout=0.5, ...))``
and the app maps ``StoreUnavailable`` to 503.

Each scenario runs once per module (a module-scoped fixture) and the tests assert on what
it measured: client threads keep logging in, reading, changing and logging out sessions
over HTTP (bounded: ``LOOP_SECONDS`` and ``MAX_REQUESTS``) while the test forces a failover,
once with ``SENTINEL FAILOVER mymaster`` and once by killing the primary with SIGKILL. A
watcher polls both data servers' ``ROLE`` and the old primary's ``INFO commandstats``, so
the scenario knows when the replica was promoted, when the old primary was demoted, and
how many session writes the old primary took after the promotion.

Each client remembers what it saw acknowledged: a 200 for its login, and the highest
counter a 200 for a change returned. Once the topology has moved (the old primary demoted,
or the replica promoted after the kill) it leaves that session alone and logs in afresh;
at the end every remembered state must be on the new primary, and no session whose
logout was acknowledged may be there. A client that sends a logout gives its session up
whatever the answer (a 503'd logout may still have deleted it).

The sentinel group survives the module: the killed server is started again as a replica
of the new primary, and every scenario first waits until the group is whole.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import requests
from flask import Flask, jsonify, request
from flask import session as flask_session
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel
from redis_servers import SERVICE, SentinelGroup, restart_as_replica, start_sentinel_group

import sessionlib

try:
    from coursekit import LiveServer
except ImportError:  # before the move to coursekit
    from sessionlib import LiveServer  # type: ignore[attr-defined,no-redef]

pytestmark = pytest.mark.slow

session: Any = flask_session
SECRET = "sentinel secret"
CLIENTS = 3  # client threads, each one user at a time
LOOP_SECONDS = 15.0  # the most a scenario's client loop runs after the failover starts
MAX_REQUESTS = 4000  # and the most requests it sends, all threads together
PAUSE = 0.01  # between one thread's requests
SETTLE = 1.5  # traffic kept up after the topology settled, to see it working again
RECOVERY_LIMIT = 5.0  # "within a few seconds"


@pytest.fixture(scope="session")
def sentinel_group() -> Iterator[SentinelGroup]:
    group = start_sentinel_group()
    yield group
    group.stop()


# -- the app -------------------------------------------------------------------------------


def make_app(store: sessionlib.Store) -> Flask:
    """Login, read, change, logout; ``StoreUnavailable`` is a 503."""
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret=SECRET, name="sid", store=store, cookie={"max_age": 300})

    @app.errorhandler(sessionlib.StoreUnavailable)
    def unavailable(error: Exception) -> Any:
        return jsonify(error="sessions are unavailable"), 503

    @app.post("/login")
    def login() -> Any:
        session.regenerate()
        session["user"] = request.json["user"]
        session["n"] = 0
        return jsonify(user=session["user"], n=0, sid=session.id)

    @app.get("/me")
    def me() -> Any:
        return jsonify(user=session.get("user"), n=session.get("n"), sid=session.id)

    @app.post("/bump")
    def bump() -> Any:
        if session.get("user") is None:  # not logged in (or the session is gone): no write
            return jsonify(user=None, n=None, sid=session.id)
        session["n"] += 1
        return jsonify(user=session["user"], n=session["n"], sid=session.id)

    @app.post("/logout")
    def logout() -> Any:
        sid = session.id
        session.destroy()
        return jsonify(user=None, sid=sid)

    return app


def sentinel_store(
    group: SentinelGroup, prefix: str, wait_replicas: int = 1
) -> tuple[sessionlib.RedisStore, Any]:
    """The store as an app would build it: fail fast (0.5 s timeouts, no retry), and a write
    counts only once ``wait_replicas`` replicas have it."""
    sentinel = Sentinel(
        group.sentinel_addresses,
        sentinel_kwargs={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    )
    client = sentinel.master_for(
        SERVICE,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    return sessionlib.RedisStore(client, prefix=prefix, wait_replicas=wait_replicas), client


# -- one scenario --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one failover scenario measured. Times are seconds after the failover began."""

    kind: str
    statuses: Counter[int] = field(default_factory=Counter)
    requests: int = 0
    promoted_at: float | None = None  # the replica says ROLE master
    demoted_at: float | None = None  # the old primary says ROLE slave (or: it was killed)
    old_writes_after_promotion: int = 0  # SET/DEL/GETEX calls the old primary took since
    last_old_write_at: float | None = None
    acked_writes_after_promotion: int = 0  # 200s for writes sent after it, answered
    #                                          before the old primary was demoted
    first_success_after: float | None = None  # first 200 write sent after the topology moved
    foreign: list[str] = field(default_factory=list)  # another user's session seen
    errors: list[str] = field(default_factory=list)  # requests that got no HTTP answer
    regressions: list[str] = field(default_factory=list)  # a 200 showing less than acked
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # sid -> (user, max n)
    destroyed: set[str] = field(default_factory=set)  # sids whose logout was acked
    lost: list[str] = field(default_factory=list)  # acked state missing on the new primary
    lost_writes: int = 0  # acknowledged logins and changes missing there
    resurrected: list[str] = field(default_factory=list)  # acked logout, key back
    elapsed: float = 0.0

    def summary(self) -> str:
        def fmt(value: float | None) -> str:
            return "never" if value is None else f"{value:.2f} s"

        return (
            f"{self.kind}: {self.requests} requests {dict(self.statuses)}; replica promoted at "
            f"{fmt(self.promoted_at)}, old primary demoted at {fmt(self.demoted_at)}; the old "
            f"primary ran {self.old_writes_after_promotion} SET/DEL/GETEX after the "
            f"promotion, the last at {fmt(self.last_old_write_at)}; "
            f"{self.acked_writes_after_promotion} session writes acknowledged (200) after the "
            f"promotion and before the demotion; on the new primary {len(self.lost)} of "
            f"{len(self.acked)} acknowledged sessions lost or behind ({self.lost_writes} "
            f"acknowledged writes lost), {len(self.resurrected)} of {len(self.destroyed)} "
            f"acknowledged logouts undone; {len(self.regressions)} regressions seen by clients"
        )


def old_primary_writes(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("set", "del", "getex")
    )


def run_scenario(group: SentinelGroup, kind: str) -> Outcome:
    """Drive the app while the primary fails over (``kind``: "forced" or "kill")."""
    group.wait_healthy(30)
    old, new = group.primary(), group.replica()
    prefix = f"sess-{kind}-{uuid.uuid4().hex[:6]}:"
    # With one replica, a store that waits for it could write nothing once the primary is
    # dead (the promoted replica has none left): the kill scenario runs without waiting.
    store, app_client = sentinel_store(group, prefix, wait_replicas=1 if kind == "forced" else 0)
    server = LiveServer(make_app(store)).start()
    outcome = Outcome(kind=kind)
    lock = threading.Lock()
    stop = threading.Event()
    began = time.monotonic() + 3600.0  # set when the failover begins
    # Set once the topology moved (the old primary demoted, or the replica promoted after
    # the kill): each client then leaves its session alone, so what it last saw
    # acknowledged can be checked on the new primary, and starts a new one.
    moved_on = threading.Event()
    writes: list[tuple[float, float, int]] = []  # (sent, answered, status), relative times

    def client_thread(index: int) -> None:
        user = f"user{index}-{uuid.uuid4().hex[:4]}"
        browser = requests.Session()
        sid: str | None = None
        leaving: str | None = None
        max_n: dict[str, int] = {}
        rng = random.Random(index)
        switched = False
        while not stop.is_set():
            if moved_on.is_set() and not switched:
                switched, sid, user = True, None, user + "-after"
                browser.close()
                browser = requests.Session()
            with lock:
                if outcome.requests >= MAX_REQUESTS:
                    break
                outcome.requests += 1
            op = "login" if sid is None else rng.choices(["bump", "me", "logout"], [73, 25, 2])[0]
            if op == "logout":
                # Whatever the answer, this session is given up: a 503'd logout may still
                # have deleted it, and the next login (regenerate) deletes it for sure.
                with lock:
                    outcome.acked.pop(sid or "", None)
                leaving, sid = sid, None
            sent = time.monotonic() - began
            try:
                if op == "me":
                    response = browser.get(server.url + "/me", timeout=5)
                else:
                    body = {"user": user} if op == "login" else None
                    response = browser.post(f"{server.url}/{op}", json=body, timeout=5)
            except requests.RequestException as error:
                with lock:
                    outcome.statuses[0] += 1
                    outcome.errors.append(f"{op}: no answer: {error!r}")
                break
            answered = time.monotonic() - began
            with lock:
                outcome.statuses[response.status_code] += 1
                if op != "me":
                    writes.append((sent, answered, response.status_code))
            if response.status_code != 200:
                time.sleep(PAUSE)
                continue
            body = response.json()
            with lock:
                if body["user"] not in (None, user):
                    outcome.foreign.append(f"{user} got {body['user']}'s session")
                if op == "login":
                    sid = body["sid"]
                    max_n[sid] = 0
                    outcome.acked[sid] = (user, 0)
                elif op == "logout":
                    if body["sid"] != leaving:
                        outcome.foreign.append(f"{user}: logged out of another session")
                    outcome.destroyed.add(body["sid"])
                elif body["user"] is None:  # the session is gone: its login was lost
                    outcome.regressions.append(f"{user}: session {sid and sid[:6]} vanished")
                    sid = None  # (what was acknowledged stays in outcome.acked)
                elif body["sid"] != sid:
                    outcome.foreign.append(f"{user}: the session id changed without a login")
                else:
                    if body["n"] < max_n[sid]:
                        outcome.regressions.append(
                            f"{user}: n went back from {max_n[sid]} to {body['n']}"
                        )
                    if op == "bump":  # only a write's 200 acknowledges a state
                        max_n[sid] = max(max_n[sid], body["n"])  # the most acknowledged
                        outcome.acked[sid] = (user, max_n[sid])
            time.sleep(PAUSE)
        browser.close()

    def watch() -> None:
        """Every 50 ms: both servers' ROLE, and the old primary's session writes
        (commandstats: SET, DEL, GETEX) counted from the moment the replica is promoted."""
        baseline = last = -1
        with old.client(socket_timeout=0.3, socket_connect_timeout=0.3) as old_client:
            while not stop.is_set():
                t = time.monotonic() - began
                if outcome.promoted_at is None and group.role(new) == "master":
                    outcome.promoted_at = t
                old_role = group.role(old)
                gone = old_role == "slave" or (kind == "kill" and not old.running)
                if outcome.demoted_at is None and gone:
                    outcome.demoted_at = t
                if outcome.promoted_at is not None and outcome.demoted_at is None:
                    try:
                        count = old_primary_writes(old_client)
                    except redis.RedisError:
                        count = -1
                    if count >= 0 and baseline < 0:
                        baseline = last = count
                    elif count > last:
                        last = count
                        outcome.old_writes_after_promotion = count - baseline
                        outcome.last_old_write_at = t
                time.sleep(0.05)

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(CLIENTS)]
    watcher = threading.Thread(target=watch)
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.7)  # sessions exist and are being changed before the failover
        began = time.monotonic()
        watcher.start()
        if kind == "forced":
            with group.sentinels[0].client() as sentinel:
                assert sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE) == "OK"
        else:
            old.kill()
        while time.monotonic() - began < LOOP_SECONDS:
            settled = outcome.demoted_at if kind == "forced" else outcome.promoted_at
            if settled is not None:
                moved_on.set()
                if time.monotonic() - began - settled >= SETTLE:
                    break
            if not any(thread.is_alive() for thread in threads):
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        if watcher.ident is not None:
            watcher.join(5)
        outcome.elapsed = time.monotonic() - began
        server.stop()
        app_client.close()

    # The topology moved at the demotion (forced) or the promotion (kill): when did
    # writes sent after that first succeed, and how many were acknowledged in between?
    moved = outcome.demoted_at if kind == "forced" else outcome.promoted_at
    if moved is not None and outcome.promoted_at is not None:
        moved = max(moved, outcome.promoted_at)
        after = [answered for sent, answered, status in writes if sent > moved and status == 200]
        outcome.first_success_after = min(after) - moved if after else None
    if outcome.promoted_at is not None:
        until = outcome.demoted_at if kind == "forced" else outcome.promoted_at
        outcome.acked_writes_after_promotion = sum(
            1
            for sent, answered, status in writes
            if status == 200 and sent > outcome.promoted_at and (until is None or answered < until)
        )

    # Once the dust settled: is every acknowledged state on the new primary?
    with new.client() as direct:
        for sid, (user, n) in outcome.acked.items():
            raw = direct.get(prefix + sid)
            data = json.loads(raw) if raw else None
            if data is None or data.get("user") != user:
                outcome.lost.append(f"{sid[:6]} ({user}, n={n}): gone")
                outcome.lost_writes += n + 1  # its login and every acknowledged change
            elif data.get("n", -1) < n:
                outcome.lost.append(f"{sid[:6]} ({user}, n={n}): n={data.get('n')}")
                outcome.lost_writes += n - data["n"]
        for sid in outcome.destroyed:
            if direct.exists(prefix + sid):
                outcome.resurrected.append(sid[:6])
        for key in direct.scan_iter(match=prefix + "*", count=500):
            direct.delete(key)
    if kind == "kill":
        restart_as_replica(group, old)
    return outcome


@pytest.fixture(scope="module")
def forced(sentinel_group: SentinelGroup) -> Outcome:
    outcome = run_scenario(sentinel_group, "forced")
    print(outcome.summary())
    return outcome


@pytest.fixture(scope="module")
def killed(sentinel_group: SentinelGroup) -> Iterator[Outcome]:
    outcome = run_scenario(sentinel_group, "kill")
    print(outcome.summary())
    yield outcome


def check_http_behaviour(outcome: Outcome) -> None:
    # Traffic on both sides of the switch: hundreds of requests on a quiet machine, tens
    # when 32 test workers share two cores.
    assert outcome.requests > 30, outcome.summary()
    assert outcome.errors == [], outcome.errors  # every request answered
    assert set(outcome.statuses) <= {200, 503}, outcome.summary()  # never a 500
    assert outcome.foreign == [], outcome.foreign  # never another user's session
    assert outcome.promoted_at is not None, outcome.summary()
    assert outcome.first_success_after is not None, outcome.summary()
    assert outcome.first_success_after <= RECOVERY_LIMIT, outcome.summary()


# -- SENTINEL FAILOVER ---------------------------------------------------------------------


def test_forced_failover_answers_200_or_503_and_recovers(forced: Outcome) -> None:
    """Through the failover every answer is a 200 or a 503, never a 500 nor another
    user's session, and once the old primary is demoted writes succeed again within a
    few seconds, with the same app process and the same client."""
    check_http_behaviour(forced)
    assert forced.demoted_at is not None, forced.summary()


def test_forced_failover_loses_no_acknowledged_write(forced: Outcome) -> None:
    """No acknowledged (200) session write goes to the demoted primary: after the
    failover, every session state a client saw acknowledged is on the new primary, and
    every acknowledged logout stays done."""
    assert forced.lost == [], forced.summary()
    assert forced.regressions == [], forced.summary()
    assert forced.resurrected == [], forced.summary()


# -- the primary killed --------------------------------------------------------------------


def test_killed_primary_answers_200_or_503_and_recovers(killed: Outcome) -> None:
    """SIGKILL on the primary: 503s while the sentinels notice (down-after 1 s) and elect,
    then 200s again within a few seconds of the promotion, without restarting the app."""
    check_http_behaviour(killed)
    assert killed.statuses[503] > 0, killed.summary()  # the outage was seen, and answered


def test_killed_primary_loses_no_acknowledged_write(killed: Outcome) -> None:
    """A dead primary takes no more writes; what it had acknowledged had reached the
    replica (loopback replication is fast), so every acknowledged state survives."""
    assert killed.old_writes_after_promotion == 0, killed.summary()
    assert killed.lost == [], killed.summary()
    assert killed.regressions == [], killed.summary()
    assert killed.resurrected == [], killed.summary()


def test_the_group_is_whole_again(sentinel_group: SentinelGroup, killed: Outcome) -> None:
    """After the scenarios the killed server is back as a replica and the sentinels agree:
    the session-scoped topology is fit for whatever test comes next."""
    sentinel_group.wait_healthy(20)
    assert all(process.running for process in sentinel_group.servers)
    roles = sorted(sentinel_group.role(server) or "down" for server in sentinel_group.servers)
    assert roles == ["master", "slave"]


# -- acknowledged means replicated -----------------------------------------------------------


def test_a_write_is_acknowledged_only_once_a_replica_has_it(
    sentinel_group: SentinelGroup,
) -> None:
    """A 200 for a session write means a replica has it, so a failover can't lose it: with
    the only replica stalled, a login is a 503 (not acknowledged), never a 200."""
    sentinel_group.wait_healthy(30)
    replica = sentinel_group.replica()
    prefix = f"sess-stall-{uuid.uuid4().hex[:6]}:"
    store, app_client = sentinel_store(sentinel_group, prefix)
    server = LiveServer(make_app(store)).start()
    try:
        warm = requests.post(server.url + "/login", json={"user": "warm-up"}, timeout=5)
        assert warm.status_code == 200  # a connection to the primary is open and works
        with replica.frozen():  # well under down-after-milliseconds: no failover starts
            response = requests.post(server.url + "/login", json={"user": "ada"}, timeout=5)
        assert response.status_code in (200, 503)
        assert response.status_code == 503, "acknowledged while no replica had it"
    finally:
        server.stop()
        app_client.close()
        with sentinel_group.primary().client() as direct:
            for key in direct.scan_iter(match=prefix + "*"):
                direct.delete(key)
