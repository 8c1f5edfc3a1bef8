"""What counts as a change: the store is written exactly when the data (or the cookie's
lifetime) differs from what was loaded, however the handler got there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import CountingStore

from sessionlib.engine import SessionEngine, finish, open_session

pytestmark = pytest.mark.lesson4


def request(engine: SessionEngine, cookie: str | None, handler: Callable) -> str | None:
    """One request through the engine alone: open, run the handler, finish."""
    session = open_session(engine, [cookie] if cookie else [], "/", False)
    handler(session)
    header = finish(session)
    return header.split(";", 1)[0].split("=", 1)[1] if header else cookie


def established(initial: dict) -> tuple[SessionEngine, CountingStore, str]:
    store = CountingStore()
    engine = SessionEngine(secret="s", store=store, cookie={"max_age": 60})
    cookie = request(engine, None, lambda session: session.update(initial))
    store.calls.clear()
    return engine, store, cookie


@pytest.mark.parametrize(
    "initial", [{"user": "ada", "n": 1}, {"user": "ada", "cart": ["tea"]}], ids=["flat", "nested"]
)
@pytest.mark.parametrize(
    ("handler", "writes"),
    [
        (lambda s: s.get("user"), 0),
        (lambda s: s.__setitem__("user", "ada"), 0),  # the same value again
        (lambda s: (s.__setitem__("tmp", 1), s.__delitem__("tmp")), 0),  # set, then undone
        (lambda s: s.__setitem__("user", "grace"), 1),
        (lambda s: s.pop("user"), 1),
        (lambda s: s.setdefault("extra", []).append(1), 1),
        (lambda s: s.clear(), 1),
        (lambda s: setattr(s.cookie, "max_age", 3600), 1),  # a longer life for this session
        (lambda s: setattr(s.cookie, "max_age", 60), 0),  # the lifetime it already had
        (lambda s: s.__setitem__("n", True), 1),  # equal to 1 in Python, not in JSON
        (lambda s: s.__setitem__("n", 1.0), 1),
        (lambda s: s.update(n=s.get("n"), user=s.pop("user")), 1),  # same values, new order
    ],
    ids=[
        "read",
        "same-value",
        "set-and-undo",
        "new-value",
        "pop",
        "nested-append",
        "clear",
        "lifetime",
        "same-lifetime",
        "int-to-bool",
        "int-to-float",
        "reordered",
    ],
)
def test_the_store_is_written_exactly_when_the_session_changed(initial, handler, writes):
    engine, store, cookie = established(initial)
    request(engine, cookie, handler)
    assert store.writes == writes


def test_a_list_changed_in_place_is_saved_and_read_back():
    engine, store, cookie = established({"cart": ["tea"]})
    request(engine, cookie, lambda s: s["cart"].append("milk"))
    seen = {}
    request(engine, cookie, lambda s: seen.update(s))
    assert seen == {"cart": ["tea", "milk"]}
    assert store.writes == 1


def test_a_change_saved_by_hand_then_undone_is_written_back():
    engine, store, cookie = established({"n": 1})

    def handler(session):
        session.cookie.max_age = 3600
        session.save()  # the store now holds the hour-long lifetime
        session.cookie.max_age = 60  # back to what was loaded

    request(engine, cookie, handler)
    assert store.writes == 2
    stored = store.get(open_session(engine, [cookie], "/", False).id)
    assert stored["cookie"]["originalMaxAge"] == 60_000
