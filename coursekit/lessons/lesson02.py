"""Lesson 2, session ids and stores: the lesson's apps, tables and plot, its checks and
hints, and its quiz.

The library exercises are the holes in ``stores/memory.py``: ``ExpiringEntries.put`` and
``.prune`` (2.2, 2.3), ``MemoryStore.get``, ``.set`` and ``.touch`` (2.4 to 2.6). Each
check looks at one piece on its own: ``ExpiringEntries`` on a clock it sets, the
``MemoryStore`` methods on a stand-in for ``ExpiringEntries`` that records every call and
checks the store's lock is held (a lock that counts how often it is taken). Exercise 2.1 is
written in the notebook: a session id generator, whose entropy is measured where it comes
from (the random source), up to what its length can hold.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import os
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import flask

from ..exercises import exercise, judged, question
from ..table import Table, shorten

# -- shared by the lessons' checks -----------------------------------------------------


class _Clock:
    """A stand-in for the ``time`` module whose ``time()`` says ``now``."""

    def __init__(self, now: float, real: ModuleType) -> None:
        self.now, self._real = now, real

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def frozen_clock(module: ModuleType, now: float) -> Iterator[_Clock]:
    """Within the block, ``module``'s ``time.time()`` returns ``clock.now`` (set it to move)."""
    real = module.time
    clock = _Clock(now, real)
    module.time = clock
    try:
        yield clock
    finally:
        module.time = real


def iso(moment: float) -> str:
    """A Unix time as express writes ``cookie.expires``."""
    text = datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def express_entry(expires: float | None, **data: Any) -> dict[str, Any]:
    """A session as the engine hands it to a store: express's cookie object, then the data."""
    cookie = {
        "originalMaxAge": None if expires is None else 1_800_000,
        "expires": None if expires is None else iso(expires),
        "httpOnly": True,
        "path": "/",
    }
    return {"cookie": cookie, **data}


# -- the lesson's live app -------------------------------------------------------------


def make_app(lib: ModuleType, store: Any, secret: str = "lesson 02: not a real secret"):
    """The lesson's app on ``lib`` (the learner's package) and ``store``:
    ``/login?user=...`` remembers a name, ``/count`` counts visits, ``/whoami`` only reads."""
    app = flask.Flask("lesson02")
    lib.SessionManager(app, secret=secret, store=store, cookie={"max_age": 1800})

    @app.get("/login")
    def login():
        flask.session["user"] = flask.request.args["user"]
        return f"logged in as {flask.session['user']}"

    @app.get("/count")
    def count():
        flask.session["visits"] = flask.session.get("visits", 0) + 1
        return str(flask.session["visits"])

    @app.get("/whoami")
    def whoami():
        return flask.session.get("user", "stranger")

    return app


def sequential_app() -> flask.Flask:
    """The toy session server with ids 1, 2, 3, ... from a counter. Never do this."""
    app = flask.Flask("lesson02-sequential")
    sessions: dict[str, dict[str, str]] = {}
    next_id = itertools.count(1)

    @app.get("/login")
    def login():
        sid = str(next(next_id))  # the only difference from the toy: a counter, not secrets
        sessions[sid] = {"user": flask.request.args["user"]}
        response = flask.make_response(f"logged in as {sessions[sid]['user']}")
        response.set_cookie("sid", sid, httponly=True, samesite="Lax")
        return response

    @app.get("/whoami")
    def whoami():
        return sessions.get(flask.request.cookies.get("sid", ""), {}).get("user", "stranger")

    return app


# -- how many bits -----------------------------------------------------------------------

LIVE_SESSIONS = 1_000_000
GUESSES_PER_SECOND = 100_000
SECONDS_PER_YEAR = 365.25 * 24 * 3600


def expected_seconds(bits: float, live: int = LIVE_SESSIONS, rate: int = GUESSES_PER_SECOND):
    """Expected time for random guesses to hit one of ``live`` sessions: 2**bits / (N R)."""
    return 2**bits / (live * rate)


def readable(seconds: float) -> str:
    for unit, size in [("years", SECONDS_PER_YEAR), ("days", 86400), ("hours", 3600)]:
        if seconds >= size:
            return f"{seconds / size:,.3g} {unit}"
    return f"{seconds / 60:.2g} minutes" if seconds >= 60 else f"{seconds:.2g} seconds"


def guessing_table(bits: list[int] | None = None) -> Table:
    """Expected time to hijack one session, by the id's random bits."""
    bits = bits or [32, 48, 64, 80, 96, 128, 192]
    return Table(
        ["random bits", "possible ids", "expected guesses", "time to hit one session"],
        [
            [b, f"{2**b:.2e}", f"{2**b / LIVE_SESSIONS:.2e}", readable(expected_seconds(b))]
            for b in bits
        ],
        f"{LIVE_SESSIONS:,} live sessions, {GUESSES_PER_SECOND:,} guesses a second",
    )


def bits_for(years: float, live: int = LIVE_SESSIONS, rate: int = GUESSES_PER_SECOND) -> int:
    """The fewest whole bits for which guessing takes at least ``years``."""
    return math.ceil(math.log2(years * SECONDS_PER_YEAR * live * rate))


def plot_guessing_years() -> None:
    """Years to guess one session against the id's bits, on a log scale."""
    import matplotlib.pyplot as plt

    bits = list(range(24, 200, 4))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.semilogy(bits, [expected_seconds(b) / SECONDS_PER_YEAR for b in bits], marker=".")
    ax.axhline(13.8e9, color="grey", linestyle="--", label="age of the universe")
    ax.axvline(128, color="tab:red", label="128 bits")
    ax.axvline(192, color="tab:green", label="sessionlib: 192 bits")
    ax.set_xlabel("random bits in the session id")
    ax.set_ylabel("years to guess one session")
    ax.set_title(f"{LIVE_SESSIONS:,} sessions, {GUESSES_PER_SECOND:,} guesses/s")
    ax.legend(loc="upper left")
    plt.show()


# -- where the bits come from --------------------------------------------------------------


class _Tape:
    """Bytes the random source hands out: a fixed stream, with at most one bit flipped."""

    def __init__(self) -> None:
        self.stream, self.position, self.flip = random.Random(2).randbytes(64), 0, -1
        self.owner = threading.get_ident()

    def read(self, n: int) -> bytes:
        while len(self.stream) < self.position + n:
            self.stream += random.Random(len(self.stream)).randbytes(64)
        chunk = bytearray(self.stream[self.position : self.position + n])
        if self.position * 8 <= self.flip < (self.position + n) * 8:
            bit = self.flip - self.position * 8
            chunk[bit // 8] ^= 1 << (bit % 8)
        self.position += n
        return bytes(chunk)

    def replay(self, flip: int = -1) -> None:
        self.position, self.flip = 0, flip


@contextmanager
def _random_source(tape: _Tape) -> Iterator[None]:
    """The operating system's random source (``os.urandom``, which ``secrets``, ``uuid4``
    and ``random.SystemRandom`` read) hands out ``tape`` to this thread."""
    real_os, real_random = os.urandom, random._urandom  # type: ignore[attr-defined]

    def read(real: Callable[[int], bytes]) -> Callable[[int], bytes]:
        return lambda n: tape.read(n) if threading.get_ident() == tape.owner else real(n)

    os.urandom, random._urandom = read(real_os), read(real_random)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        os.urandom, random._urandom = real_os, real_random  # type: ignore[attr-defined]


def capacity_bits(ids: list[str]) -> int:
    """The most bits ids like these can hold, whatever made them: their greatest length
    times log2 of the alphabet seen in them, rounded down."""
    return math.floor(max(len(i) for i in ids) * math.log2(max(2, len(set("".join(ids))))))


def random_bits(genid: Callable[[], Any], most: int = 2048, samples: int = 300) -> tuple[int, bool]:
    """How many bits of an id come from the operating system's random source, and whether
    the id also changes without it (a counter, the clock, ``random``).

    The source is replayed: with the same bytes, the same id should come out; then each
    bit the generator drew is flipped in turn, and every flip that changes the id counts.
    A bit that is drawn and thrown away (uuid4's version and variant) does not count, and
    the count stops at what the id can hold (``capacity_bits`` of ``samples`` ids): a hash
    of many random bytes, cut to 16 hex characters, holds 64 bits, not all it drew.
    """
    room = capacity_bits([str(genid()) for _ in range(samples)])
    tape = _Tape()
    with _random_source(tape):
        first = genid()
        drawn = tape.position
        tape.replay()
        if genid() != first:
            return 0, True
        bits = 0
        for flip in range(min(drawn * 8, most)):
            tape.replay(flip)
            bits += genid() != first
    return min(bits, room), False


def apparent_bits(genid: Callable[[], Any], samples: int = 300) -> float:
    """Length times log2 of the alphabet: what an id looks like it holds (not its entropy)."""
    ids = [str(genid()) for _ in range(samples)]
    return min(len(i) for i in ids) * math.log2(max(2, len(set("".join(ids)))))


def generators() -> dict[str, Callable[[], str]]:
    """Id generators, weak and strong, for the entropy table."""
    counter = itertools.count(1_000_000)
    hashed = itertools.count(1)
    seeded = random.Random(20261130)
    return {
        "str(next(counter))": lambda: str(next(counter)),
        "sha256(str(next(counter)))": lambda: hashlib.sha256(
            str(next(hashed)).encode()
        ).hexdigest(),
        "str(time.time_ns())": lambda: str(time.time_ns()),
        "random.Random(seed).getrandbits(128)": lambda: f"{seeded.getrandbits(128):032x}",
        "str(uuid.uuid1())": lambda: str(uuid.uuid1()),
        "str(uuid.uuid4())": lambda: str(uuid.uuid4()),
        "secrets.token_urlsafe(16)": lambda: secrets.token_urlsafe(16),
        "secrets.token_urlsafe(24)  (sessionlib)": lambda: secrets.token_urlsafe(24),
    }


def entropy_table() -> Table:
    """Each generator: an example, what its length suggests, what the random source gives."""
    rows = []
    for name, genid in generators().items():
        bits, varies = random_bits(genid)
        source = f"{bits}" if not varies else "0: it changes without the random source"
        rows.append([name, genid(), f"{apparent_bits(genid):.0f}", source])
    return Table(
        ["generator", "an id it makes", "length × log2(alphabet)", "bits from the random source"],
        rows,
        "What an id looks like it holds, and what an attacker must really guess",
    )


def time_seeded_genid(started: float) -> Callable[[], str]:
    """Ids from ``random``, seeded with the second the server started. Never do this."""
    rng = random.Random(int(started))
    return lambda: f"{rng.getrandbits(128):032x}"


def crack_time_seed(seen: str, earliest: float, latest: float, look: int = 10):
    """Try every second from ``earliest`` to ``latest`` as the seed, until one makes
    ``seen`` among its first ``look`` ids. Returns (seed, tries, those ids) or None."""
    for tries, seed in enumerate(range(int(earliest), int(latest) + 1), start=1):
        genid = time_seeded_genid(seed)
        ids = [genid() for _ in range(look)]
        if seen in ids:
            return seed, tries, ids
    return None


# -- what a store keeps ------------------------------------------------------------------


class DictStore:
    """A store that keeps the dicts themselves (no JSON): the mistake ``MemoryStore`` avoids."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}

    def set(self, sid: str, data: dict[str, Any]) -> None:
        self.sessions[sid] = data

    def get(self, sid: str) -> dict[str, Any] | None:
        return self.sessions.get(sid)


def entry_fields(entry: dict[str, Any]) -> Table:
    """A stored session's top-level keys and express's cookie object, one row each."""
    rows = [[f"cookie.{key}", json.dumps(value)] for key, value in entry["cookie"].items()]
    rows += [[key, json.dumps(value)] for key, value in entry.items() if key != "cookie"]
    return Table(["field", "JSON value"], rows, "One stored session, field by field")


def prune_costs(lib: ModuleType, sizes: tuple[int, ...] = (1_000, 100_000), expired: int = 10):
    """Time one ``prune`` that finds ``expired`` sessions expired among ``size`` held, with
    the heap of alarms and with a scan of every entry."""
    memory, rows, start = lib.stores.memory, [], 1_000_000_000.0
    for size in sizes:
        with frozen_clock(memory, start) as clock:
            entries = memory.ExpiringEntries()
            for n in range(size):
                entries.put(f"s{n}", "{}", start + (1 if n < expired else 3600))
            scanned = dict(entries.entries)
            clock.now = start + 2
            began = time.perf_counter()
            entries.prune()
            heap = time.perf_counter() - began
            began = time.perf_counter()
            for sid in [sid for sid, entry in scanned.items() if entry[1] <= clock.now]:
                del scanned[sid]
            scan = time.perf_counter() - began
        rows.append([f"{size:,}", expired, f"{heap * 1e3:.3f}", f"{scan * 1e3:.3f}"])
    return Table(
        ["sessions held", "expired", "prune with the heap (ms)", "scan every entry (ms)"],
        rows,
        "One prune, this machine, this run",
    )


# -- exercise 2.1: a session id --------------------------------------------------------

URL_SAFE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@exercise(
    "2.1",
    "a session id with 128 bits from the random source",
    [
        "Every bit an attacker can't predict must come from the operating system's random "
        "source: the `secrets` module reads it. Length doesn't add bits, nor does a hash.",
        "secrets.token_urlsafe(n) turns n random bytes (8n bits) into URL-safe text. An id "
        "holds no more bits than its length allows: 16 hex characters hold 64.",
        "uuid4 draws 16 bytes but overwrites 6 of their bits: it carries 122, not 128.",
    ],
    uses_package=False,
)
def check_new_session_id(new_session_id: Callable[[], str]) -> None:
    ids = [new_session_id() for _ in range(1000)]
    assert all(isinstance(i, str) for i in ids), f"return a str, not {type(ids[0]).__name__}"
    bad = next((i for i in ids if not URL_SAFE.fullmatch(i)), None)
    assert bad is None, (
        f"{shorten(bad, 40)!r}: an id is 1 to 128 characters of A-Z a-z 0-9 _ - (it goes into "
        "cookies and store keys)"
    )
    assert len(set(ids)) == len(ids), "your ids repeat: 1,000 ids should be 1,000 different ones"
    bits, varies = random_bits(new_session_id)
    assert not varies, (
        "your ids change even when the random source hands out the same bytes, so part of "
        "each id comes from somewhere an attacker can predict (a counter, the clock, "
        "`random`): draw the whole id from `secrets`"
    )
    room = capacity_bits(ids)
    assert room >= 128, (
        f"your ids are too short to hold 128 bits: ids of {max(len(i) for i in ids)} "
        f"characters from an alphabet of {len(set(''.join(ids)))} hold at most {room}, "
        "however many random bytes went into making them (a hash cut short keeps only what "
        "is left). 128 bits need, for example, 22 URL-safe characters or 32 hex digits"
    )
    assert bits >= 128, (
        f"your ids carry {bits} bits from the random source; they need at least 128"
        + (" (uuid4 sets 6 of its 128 bits to fixed values)" if bits == 122 else "")
    )


# -- exercises 2.2 and 2.3: ExpiringEntries ------------------------------------------------

T = 1_000_000_000.0  # the checks' "now": a round Unix time (2001-09-09)


def _describe(entries: Any) -> str:
    return ", ".join(f"{sid}: {entry}" for sid, entry in sorted(entries.items())) or "nothing"


def _is_heap(items: list[Any]) -> bool:
    return all(items[(i - 1) // 2] <= items[i] for i in range(1, len(items)))


@exercise(
    "2.2",
    "ExpiringEntries.put",
    [
        "Three cases. An expiry at or before now: drop the entry (entries.pop(sid, None)) and "
        "stop. A new entry: push (expiry, sid) onto the heap, and keep (text, expiry, expiry). "
        "An entry already there: look at its alarm (entry[2]).",
        "A rewrite that moves the expiry later keeps the entry's alarm: when it rings, prune "
        "sees the later expiry and sets a new one. Pushing an alarm on every put grows the heap "
        "with every request.",
        "A rewrite that moves the expiry earlier than the entry's alarm needs a new alarm at "
        "that expiry (heapq.heappush(self.alarms, (expiry, sid))), or the entry outlives it.",
    ],
)
def check_put(lib: ModuleType) -> None:
    memory = judged(lib, "ExpiringEntries").stores.memory
    with frozen_clock(memory, T):
        entries = memory.ExpiringEntries()
        pruned: list[str] = []  # put on its own: its prune is recorded, and does nothing
        entries.prune = lambda: pruned.append("prune")
        entries.put("ada", "A1", T + 30)
        assert pruned, (
            "put never called self.prune(): call it first, so that writes clear what expired "
            "too (most sessions are never read again)"
        )
        assert entries.entries.get("ada") == ("A1", T + 30, T + 30), (
            f"after put('ada', 'A1', now + 30) entries holds {_describe(entries.entries)}; "
            "expected ada: ('A1', now + 30, now + 30): the text, the expiry, and the alarm"
        )
        assert entries.alarms == [(T + 30, "ada")], (
            f"the heap holds {entries.alarms}: a new entry needs one alarm, (expiry, id)"
        )
        for n in range(1, 101):
            entries.put("ada", f"A{n + 1}", T + 30 + n)
        assert len(entries.alarms) == 1, (
            f"100 rewrites that each moved the expiry later left {len(entries.alarms)} alarms: "
            "the heap grows with every request. Keep the alarm the entry has when the new "
            "expiry is later"
        )
        assert entries.entries["ada"] == ("A101", T + 130, T + 30), (
            f"after the rewrites ada is {entries.entries['ada']}; expected the last text and "
            "expiry, with the first alarm (now + 30) still set"
        )
        entries.put("ada", "A102", T + 120)
        assert len(entries.alarms) == 1, (
            "put('ada', 'A102', now + 120) moved the expiry earlier than before (now + 130) but "
            "not earlier than the entry's alarm (now + 30), yet the heap holds "
            f"{len(entries.alarms)} alarms: compare the new expiry with the entry's alarm "
            "(entry[2]), not its old expiry. A request that reads, then saves (get_and_touch, "
            "then replace) moves the expiry a little earlier: that would be one more alarm on "
            "nearly every request"
        )
        assert entries.entries["ada"] == ("A102", T + 120, T + 30), (
            f"after put('ada', 'A102', now + 120) ada is {entries.entries['ada']}; expected the "
            "new text and expiry, with the alarm still at now + 30"
        )
        entries.put("ada", "soon", T + 10)
        assert entries.entries["ada"][:2] == ("soon", T + 10), "put keeps the new text and expiry"
        assert (T + 10, "ada") in entries.alarms and entries.entries["ada"][2] == T + 10, (
            "a rewrite that moved the expiry earlier than the entry's alarm needs a new alarm "
            "at that expiry, or nothing removes the entry when it expires"
        )
        for n, expiry in enumerate([T + 90, T + 70, T + 50, T + 20, T + 5]):
            entries.put(f"s{n}", "{}", expiry)
        assert _is_heap(entries.alarms), (
            "the alarms are out of heap order: add them with heapq.heappush, never append"
        )
        entries.put("ada", "late", T)
        assert "ada" not in entries.entries, (
            "put with an expiry of now must drop the entry: it expires at its expiry"
        )
        entries.put("bob", "B", T - 5)
        assert "bob" not in entries.entries, "an expiry already past is not kept"


class _Watched(dict):
    """A dict that counts how often something walks through all of it."""

    walks = 0

    def _walked(self) -> None:
        self.walks += 1

    def __iter__(self):
        self._walked()
        return super().__iter__()

    def keys(self):
        self._walked()
        return super().keys()

    def values(self):
        self._walked()
        return super().values()

    def items(self):
        self._walked()
        return super().items()

    def copy(self):
        self._walked()
        return super().copy()


class _WatchedList(list):
    """A list that counts how often something walks through all of it."""

    walks = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()


@exercise(
    "2.3",
    "ExpiringEntries.prune",
    [
        "Loop while the heap's first alarm is due: self.alarms and self.alarms[0][0] <= now. "
        "Pop it with heapq.heappop; look the entry up. Touch nothing else.",
        "An alarm is stale when its entry is gone or the entry's alarm (entry[2]) is another "
        "one: skip it.",
        "When the alarm is the entry's own: an expiry at or before now means delete the entry; "
        "a later expiry (the session was extended) means re-arm: push (expiry, sid) and keep "
        "(text, expiry, expiry).",
    ],
)
def check_prune(lib: ModuleType) -> None:
    memory = judged(lib, "ExpiringEntries").stores.memory
    with frozen_clock(memory, T) as clock:
        entries = memory.ExpiringEntries()
        entries.entries.update(
            {
                "expired": ("X", T - 1, T - 1),
                "due-now": ("N", T, T),
                "extended": ("E", T + 50, T - 2),  # its alarm is due, its expiry was moved
                "re-armed": ("R", T + 20, T + 20),  # it also has an older, stale alarm
                "live": ("L", T + 10, T + 10),
            }
        )
        entries.alarms = [
            (T - 3, "re-armed"),
            (T - 2, "extended"),
            (T - 1, "expired"),
            (T - 0.5, "destroyed"),  # its entry is gone
            (T, "due-now"),
            (T + 10, "live"),
            (T + 20, "re-armed"),
        ]
        entries.prune()
        assert "expired" not in entries.entries, "an entry whose expiry has passed must go"
        assert "due-now" not in entries.entries, (
            "an entry whose expiry is exactly now must go: it expires at its expiry (<=)"
        )
        assert "extended" in entries.entries, (
            "prune dropped a session whose alarm rang after its expiry had been moved later "
            "(the user came back): check the entry's expiry, not just the alarm's time"
        )
        assert entries.entries["extended"] == ("E", T + 50, T + 50), (
            f"extended is {entries.entries['extended']}: re-arm it, with its expiry as its alarm"
        )
        assert (T + 50, "extended") in entries.alarms, (
            "re-arm an extended session: push a new alarm at its expiry, or it is never removed"
        )
        for sid, entry in [("re-armed", ("R", T + 20, T + 20)), ("live", ("L", T + 10, T + 10))]:
            assert entries.entries.get(sid) == entry, (
                f"{sid} is {entries.entries.get(sid)}: an entry whose expiry is ahead stays "
                "as it is"
            )
        assert all(when > T for when, _ in entries.alarms), (
            f"alarms that are due are still in the heap ({sorted(entries.alarms)[:3]}…): "
            "ring every alarm whose time is now or past"
        )
        assert len(entries.alarms) <= 4, f"the heap holds {len(entries.alarms)} alarms for 3 ids"
        clock.now = T + 60
        entries.prune()
        assert not entries.entries and not entries.alarms, (
            f"an hour later everything has expired, yet entries holds "
            f"{_describe(entries.entries)} and the heap {entries.alarms}"
        )

        held = memory.ExpiringEntries()
        held.entries = _Watched({f"s{n}": ("{}", T + 100 + n, T + 100 + n) for n in range(2000)})
        held.entries["old"] = ("{}", T - 1, T - 1)
        held.alarms = _WatchedList([(T + 100 + n, f"s{n}") for n in range(2000)])
        heapq.heappush(held.alarms, (T - 1, "old"))
        watched = held.entries, held.alarms
        held.prune()
        assert "old" not in held.entries and len(held.entries) == 2000, (
            "of 2,001 entries, one expired: prune must remove just that one"
        )
        assert watched[0].walks == 0 and watched[1].walks == 0, (
            "prune walked through every entry (or every alarm) to find one expired session: "
            "pop the heap's due alarms instead, so pruning costs what expired, not what is held"
        )


# -- exercises 2.4 to 2.6: MemoryStore ---------------------------------------------------------


class _Entries:
    """A stand-in for the store's ``ExpiringEntries`` that records each call and checks that
    the store's lock is held for it."""

    def __init__(self, lock: Any, clock: Callable[[], float]) -> None:
        self.lock, self.clock = lock, clock
        self.entries: dict[str, tuple[str, float, float]] = {}
        self.alarms: list[tuple[float, str]] = []
        self.calls: list[tuple[Any, ...]] = []

    def _locked(self, what: str) -> None:
        assert self.lock.locked(), (
            f"{what} ran without the store's lock: a threaded server runs requests at the same "
            "time, so every use of self._entries goes inside `with self._lock:`"
        )

    def get(self, sid: str) -> tuple[str, float] | None:
        self._locked("self._entries.get")
        self.calls.append(("get", sid))
        entry = self.entries.get(sid)
        return None if entry is None or entry[1] <= self.clock() else entry[:2]

    def put(self, sid: str, text: Any, expiry: Any) -> None:
        self._locked("self._entries.put")
        self.calls.append(("put", sid, text, expiry))
        assert isinstance(expiry, (int, float)), (
            f"put was given {expiry!r} as the expiry: a Unix time is needed, and a session "
            "whose cookie has no expiry lives self.ttl seconds (self._expiry(data) gives both)"
        )
        if expiry <= self.clock():
            self.entries.pop(sid, None)
        else:
            self.entries[sid] = (text, expiry, expiry)

    def prune(self) -> None:
        self._locked("self._entries.prune")

    def puts(self) -> list[tuple[Any, ...]]:
        return [call[1:] for call in self.calls if call[0] == "put"]


class _CountingLock:
    """The store's lock, counting how often it is taken (``holds``)."""

    def __init__(self, lock: Any) -> None:
        self._lock, self.holds = lock, 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        taken = self._lock.acquire(blocking, timeout)
        self.holds += taken
        return taken

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _store_with_stand_in(memory: ModuleType, ttl: float, clock: Callable[[], float]):
    store = memory.MemoryStore(ttl=ttl)
    store._lock = _CountingLock(store._lock)
    store._entries = _Entries(store._lock, clock)
    return store, store._entries


def _holds(store: Any, call: Callable[[], Any]) -> int:
    """How many times ``call`` took the store's lock."""
    before = store._lock.holds
    call()
    return store._lock.holds - before


@exercise(
    "2.4",
    "MemoryStore.get",
    [
        "Under the lock, ask self._entries.get(sid): it gives (text, expiry), or None.",
        "Turn the text back into a dict with json.loads, after the lock is released: each call "
        "makes a new dict that belongs to its caller alone.",
    ],
)
def check_get(lib: ModuleType) -> None:
    memory = judged(lib, "MemoryStore").stores.memory
    store, entries = _store_with_stand_in(memory, 600, time.time)
    text = '{"cookie":{"originalMaxAge":null,"expires":null},"user":"ada","cart":["book"]}'
    now = time.time()
    entries.entries["ada"] = (text, now + 600, now + 600)
    entries.entries["gone"] = ('{"cookie":{},"user":"gone"}', now - 1, now - 1)
    first = store.get("ada")
    assert isinstance(first, dict), (
        f"get returned {type(first).__name__} {first!r}: the store keeps JSON text; return it "
        "as a dict (json.loads)"
    )
    assert first == json.loads(text), f"get returned {first!r}, not what is stored"
    first["cart"].append("lamp")
    second = store.get("ada")
    assert second is not first and second == json.loads(text), (
        "a change to the dict one get returned showed up in the next: requests would share "
        "one session object. Make a new dict from the text on every call"
    )
    assert store.get("gone") is None, (
        "a session whose expiry has passed must read as None: self._entries.get forgets "
        "what expired; self._entries.entries still holds it until the next prune"
    )
    assert ("get", "ada") in entries.calls, "read the entry with self._entries.get(sid)"
    assert store.get("nobody") is None, "an unknown id reads as None"


@exercise(
    "2.5",
    "MemoryStore.set",
    [
        "Under the lock, one call: self._entries.put(sid, text, expiry).",
        "The text is compact_json(data); the expiry is self._expiry(data): the cookie's "
        "expires, or now + self.ttl for a cookie without one.",
    ],
)
def check_set(lib: ModuleType) -> None:
    memory = judged(lib, "MemoryStore").stores.memory
    with frozen_clock(memory, T) as clock:
        store, entries = _store_with_stand_in(memory, 600, lambda: clock.now)
        data = express_entry(T + 30, user="ada", cart=["book"])
        store.set("ada", data)
        puts = entries.puts()
        assert len(puts) == 1, f"set made {len(puts)} calls of self._entries.put; one is needed"
        sid, text, expiry = puts[0]
        assert sid == "ada", f"set stored the session under {sid!r}"
        assert isinstance(text, str), (
            f"set stored a {type(text).__name__}: store its JSON text, so that nobody holds "
            "the stored session, and every get makes a copy"
        )
        assert text == memory.compact_json(data), (
            f"set stored {text[:60]!r}…: store compact_json(data), the JSON text every store "
            "writes (no spaces, no NaN)"
        )
        assert abs(expiry - (T + 30)) < 1e-3, (
            f"set kept the session until now + {expiry - T:.0f} s, but its cookie expires in 30 s: "
            "a store keeps a session until its cookie.expires (self._expiry(data))"
        )
        store.set("bob", express_entry(None, user="bob"))
        (_, _, expiry), *_ = entries.puts()[1:]
        assert abs(expiry - (T + 600)) < 1e-3, (
            f"a session whose cookie has no expiry lives the store's ttl (600 s here), not "
            f"{expiry - T:.0f} s"
        )
        store.set("ada", express_entry(T - 5, user="ada"))
        assert "ada" not in entries.entries, (
            "set of a session whose cookie has already expired must leave nothing stored"
        )


@exercise(
    "2.6",
    "MemoryStore.touch",
    [
        "Look at get_and_touch and replace in the same cell: under the lock, find the entry "
        "first; do nothing when there is none.",
        "Put back the text you found (found[0]), not data: touch moves the expiry, to "
        "self._expiry(data), and leaves the session as it is stored.",
    ],
)
def check_touch(lib: ModuleType) -> None:
    memory = judged(lib, "MemoryStore").stores.memory
    with frozen_clock(memory, T) as clock:
        store, entries = _store_with_stand_in(memory, 600, lambda: clock.now)
        stored = '{"cookie":{"originalMaxAge":1800000},"user":"ada","cart":["book"]}'
        entries.entries["ada"] = (stored, T + 30, T + 30)
        data = express_entry(T + 300, user="someone else", cart=[])
        holds = _holds(store, lambda: store.touch("ada", data))
        puts = [call for call in entries.puts() if call[0] == "ada"]
        assert puts, "touch must move the expiry of a stored session (self._entries.put)"
        _, text, expiry = puts[-1]
        assert text == stored, (
            "touch rewrote the session: it must keep the stored text as it is and move only "
            "the expiry (a touch carries no changes; a request that changed the session saves it)"
        )
        assert abs(expiry - (T + 300)) < 1e-3, (
            f"touch set the expiry to now + {expiry - T:.0f} s; the data's cookie expires in "
            "300 s (self._expiry(data))"
        )
        assert holds == 1, (
            f"touch took the store's lock {holds} times in one call: a destroy can slip in "
            "between finding the entry and putting it back, and the session comes back. Do "
            "both under one `with self._lock:`"
        )
        store.touch("nobody", express_entry(T + 300, user="mallory"))
        assert "nobody" not in entries.entries, (
            "touch created a session that was not stored: touch only moves the expiry of a "
            "session that exists (a logout may have just destroyed it)"
        )
        store.touch("ada", express_entry(None, user="ada"))
        assert abs(entries.entries["ada"][1] - (T + 600)) < 1e-3, (
            "a cookie without an expiry gives the store's ttl (self._expiry(data))"
        )


# -- the quiz --------------------------------------------------------------------------

question(
    2,
    "Where does a session id's entropy (what an attacker must guess) come from?",
    {
        "a": "its length times log2 of its alphabet",
        "b": "the random source its bits were drawn from, and nothing else",
        "c": "the hash function that made it",
    },
    "b",
    "Only the bits drawn from an unpredictable source count: a hash or a longer alphabet "
    "makes an id look bigger without adding anything to guess.",
)
question(
    2,
    "sha256(str(counter)).hexdigest() is 64 hex characters. How many bits must an attacker "
    "guess to find the next id?",
    {"a": "256", "b": "128", "c": "next to none: they hash the next few counter values"},
    "c",
    "The input is a counter: whoever knows one id tries the next numbers, hashed.",
)
question(
    2,
    "Why does MemoryStore keep each session as JSON text rather than the dict itself?",
    {
        "a": "every get makes a new dict, so nothing a request does reaches the store "
        "until it saves, and what comes back is what Redis would give back",
        "b": "JSON text takes less memory",
        "c": "a Python dict can't be a value in another dict",
    },
    "a",
    "A dict handed out by the store is shared: a request could change the stored session "
    "without saving it, and two requests would see each other's changes.",
)
question(
    2,
    "Why does ExpiringEntries keep a heap of alarms?",
    {
        "a": "so that ids come out sorted",
        "b": "so that get is faster",
        "c": "so that pruning looks only at what is due: it costs what expired, not what is held",
    },
    "c",
    "The heap's first alarm is always the earliest: prune stops at the first one not yet due.",
)
question(
    2,
    "A user logs out (destroy) while another request of theirs is still running; that request "
    "ends with store.replace(sid, data). What happens?",
    {
        "a": "the session comes back: replace writes it again",
        "b": "nothing is written and replace returns False: it writes only while the session "
        "is stored",
        "c": "replace raises an error",
    },
    "b",
    "replace writes only while the session exists, so a logout sticks (lesson 6 relies on it).",
)
question(
    2,
    "What does MemoryStore.touch(sid, data) do?",
    {
        "a": "it moves the stored session's expiry to data's and leaves the stored text; for an "
        "id that isn't stored it does nothing",
        "b": "it saves data with a fresh expiry",
        "c": "it creates the session when it is missing",
    },
    "a",
    "touch keeps an unchanged session alive; writing data or creating a missing session "
    "would undo a save or a logout that happened meanwhile.",
)
