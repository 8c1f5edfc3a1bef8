from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from . import signals
from .signals import short_id
from .stores.base import SessionData, compact_json, expires_at

if TYPE_CHECKING:
    from .cookie import SessionCookie
    from .session import Session

log = logging.getLogger("sessionlib")
CREATED = "_created"  # when the session began, in ms since 1970 (with ``absolute_timeout``)
State = tuple[str, "float | None", str]  # (id, lifetime in seconds, the data as JSON)


class SessionTooLarge(ValueError):
    """The session's JSON is over ``max_size``; nothing was written."""


def state(session: Session) -> State:
    """What must reach the store when it changes: the id, the lifetime and the data's JSON."""
    return session._id, session._cookie.original_max_age, json_text(session._data or {})


def json_text(data: dict[str, Any]) -> str:
    """The data as JSON; a value JSON can't hold is a ``TypeError`` naming its key."""
    try:
        return compact_json(data)
    except (TypeError, ValueError):
        for key, value in data.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise TypeError(f"session[{key!r}] cannot be stored as JSON: {error}") from None
        raise


def entry(session: Session) -> SessionData:
    """The session as the store keeps it: express's ``cookie`` object first, then the data."""
    stored: SessionData = {"cookie": session._cookie.to_json()}
    if session.engine.absolute_timeout is not None:
        stored[CREATED] = round(session._created * 1000)
    stored.update(session._data or {})
    return stored


def fill(session: Session, sid: str, data: dict[str, Any], cookie: SessionCookie) -> None:
    """Make ``sid`` with ``data`` this request's session, as it stands in the store."""
    session._id, session._data, session._cookie = sid, data, cookie
    session._loaded = state(session)
    session._was_persistent = cookie.expires_at is not None
    if session.engine.merge:
        session._loaded_json = {key: compact_json(value) for key, value in data.items()}


def load(session: Session) -> None:
    """First use: the first signed id whose session the store holds, else a new session."""
    fixed = session.options.expires is not None  # a fixed date: reading must not extend it
    for sid in session.candidates:
        if fixed:
            data = call_store(session, "get", sid)
        else:
            data = call_store(session, "get_and_touch", sid, session.options.max_age)
        found = data is not None and adopt(session, sid, data)
        if not found and session.rejected is None:
            session.rejected = "unknown_id" if data is None else "corrupt"
        signals.emit(
            signals.session_loaded,
            session.engine,
            sid=short_id(sid),
            found=found,
            rejected=None if found else session.rejected,
        )
        if found:
            return
    if not session.candidates:
        signals.emit(
            signals.session_loaded, session.engine, sid=None, found=False, rejected=session.rejected
        )
    generate(session, "rejected" if session.rejected else "no_cookie")


def adopt(session: Session, sid: str, data: Any) -> bool:
    """Take a stored session as this request's; False (and a log line) when it can't be used."""
    engine, options = session.engine, session.options
    cookie = options.attributes(session.is_secure)  # only the expiry comes from the store
    try:
        cookie.load_expiry(data.get("cookie"), fixed=options.expires is not None)
        created = data.get(CREATED, time.time() * 1000) / 1000
        fill(session, sid, {k: v for k, v in data.items() if k not in ("cookie", CREATED)}, cookie)
    except (AttributeError, TypeError, ValueError, OverflowError, RecursionError) as error:
        log.warning("session %s in the store is unusable (%s)", short_id(sid), error)
        return False
    session._cookie_id, session._created = sid, created
    session._saved = None if engine.resave else session._loaded
    session._fresh_ttl = engine.store.touches_on_get and cookie.original_max_age == options.max_age
    if not engine.store.touches_on_get and cookie.max_age is not None and cookie.max_age <= 0:
        session.rejected = "expired"  # a store that keeps what expired: the cookie decides
        return False
    if outlived(session):
        call_store(session, "destroy", sid)
        session._dead_cookie, session._cookie_id, session.rejected = True, None, "absolute_timeout"
        return False
    if engine.absolute_timeout is not None and CREATED not in data:
        session._forced = True  # counting starts now: the entry must learn when it began
    if cookie.max_age is not None and cookie.max_age <= 0:
        cookie.reset_max_age()  # the store kept it alive past the expiry its JSON says
    return True


def generate(session: Session, reason: str) -> None:
    """Start a new, empty session with a fresh id and cookie."""
    sid = session.engine.new_id()
    fill(session, sid, {}, session.options.new_cookie(session.is_secure))
    session._created, session._saved, session._fresh_ttl = time.time(), None, False
    signals.emit(signals.session_created, session.engine, sid=short_id(sid), reason=reason)


def write(session: Session, reason: str, now: State) -> None:
    """Store the session, whose state is ``now``; a stored one only while it still exists."""
    engine, sid, limit = session.engine, session._id, session.engine.max_size
    if limit is not None and len(now[2]) > limit:
        raise SessionTooLarge(
            f"session {short_id(sid)} is {len(now[2]):,} bytes of JSON, over max_size="
            f"{limit:,}; largest keys: {largest_keys(session._data or {})}. Nothing was written."
        )
    stored = session._saved is not None and session._saved[0] == sid
    if sid != session._cookie_id and not stored:
        call_store(session, "set", sid, entry(session))
    elif engine.merge:
        data, loaded = session._data or {}, session._loaded_json
        changed = [key for key, value in data.items() if loaded.get(key) != compact_json(value)]
        removed = [key for key in loaded if key not in data]
        if not call_store(session, "merge", sid, entry(session), changed, removed):
            return interrupt(session)
    elif not call_store(session, "replace", sid, entry(session)):
        return interrupt(session)
    session._saved = now
    signals.emit(signals.session_saved, engine, sid=short_id(sid), reason=reason)


def largest_keys(data: dict[str, Any]) -> str:
    sizes = sorted(((len(compact_json(value)), key) for key, value in data.items()), reverse=True)
    return ", ".join(f"{key!r} ({size:,} bytes)" for size, key in sizes[:3]) or "none"


def interrupt(session: Session) -> None:
    """The entry was gone at save time: nothing is written and the browser's cookie goes."""
    session.interrupted = session._dead_cookie = True
    signals.emit(signals.session_interrupted, session.engine, sid=short_id(session._id))


def call_store(session: Session, operation: str, sid: str, *args: Any) -> Any:
    """Call a store method, announced on ``signals.store_called`` when anyone listens."""
    store, signal = session.engine.store, signals.store_called
    if not signal.receivers:
        return getattr(store, operation)(sid, *args)
    started, result, error = time.perf_counter(), None, None
    try:
        result = getattr(store, operation)(sid, *args)
        return result
    except Exception as exc:  # announced below, then raised again untouched
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        ttl = args[0] if operation == "get_and_touch" else None
        if args and isinstance(args[0], dict):
            moment = expires_at(args[0])
            ttl = getattr(store, "ttl", None) if moment is None else moment - time.time()
        signal.send(
            session.engine,
            operation=operation,
            store=type(store).__name__,
            key=getattr(store, "prefix", "") + short_id(sid),
            ttl=ttl,
            error=error,
            found=result is not None if operation.startswith("get") else None,
            duration=time.perf_counter() - started,
        )


def regenerate(session: Session, keep_data: bool) -> None:
    """Give the session a new id; the old one is destroyed in the store, never used again.

    ``keep_data`` is rotation, for a login: the same data under an id nobody could have
    planted. Without it the data and the cookie start afresh, as express's ``regenerate``.
    """
    old, loaded = session._id, session._loaded
    if old in (session._cookie_id, session._saved and session._saved[0]):
        call_store(session, "destroy", old)
    data, cookie, created = session._data, session._cookie, session._created
    generate(session, "regenerated")
    session._loaded = loaded  # a new id is a change: it must be stored and sent
    if keep_data:
        session._data, session._cookie, session._created = data, cookie, created
    signals.emit(
        signals.session_regenerated,
        session.engine,
        old_sid=short_id(old),
        sid=short_id(session._id),
        kept_data=keep_data,
    )


def destroy(session: Session, reason: str) -> None:
    """Delete the session from the store; the cookie is deleted unless something is written."""
    sid = session._id
    if sid in (session._cookie_id, session._saved and session._saved[0]):
        call_store(session, "destroy", sid)
    session._dead_cookie = session._dead_cookie or session._cookie_id is not None
    session._cookie_id, session._destroyed = None, True
    signals.emit(signals.session_destroyed, session.engine, sid=short_id(sid), reason=reason)
    generate(session, "destroyed")


def outlived(session: Session) -> bool:
    """True once ``absolute_timeout`` has passed since the session began, however active."""
    timeout = session.engine.absolute_timeout
    return timeout is not None and time.time() - session._created >= timeout
