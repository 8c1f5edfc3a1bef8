"""The request lifecycle, framework-free: cookie in -> ``Session``; after the handler ->
store write or not, Set-Cookie or not. The express-session rules live here, in one place.

``SessionEngine`` holds the options (validated once); ``Exchange`` is one request's state.
A framework adapter (``sessionlib.flask``) calls ``open`` before the handler and
``finish`` after it, and does nothing else.
"""

from __future__ import annotations

import logging
import math
import re
import secrets as _secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, unquote

from . import signals
from .cookie import CookieOptions, SessionCookie, clearing_header, path_matches
from .session import Session, SessionTooLarge, data_hash, serialize_data
from .signing import Signer, as_secret_list
from .stores import MemoryStore, Store
from .stores.base import SessionData, StoredSession, compact_json, seconds_left

__all__ = ["SessionEngine", "Exchange", "default_genid", "valid_id", "DEFAULT_MAX_SIZE"]

log = logging.getLogger("sessionlib")

_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_COOKIE_PREFIX = "s:"
# encodeURIComponent leaves these unescaped; quote() must too, for byte-identical cookies.
_URI_COMPONENT_SAFE = "-_.!~*'()"
# Values nobody can change in place: a session holding only these changes by assignment.
_SCALARS = frozenset({str, int, bool, type(None)})  # and finite floats
#: The state token of a session exactly as it was loaded (or generated): see ``_state``.
AS_LOADED = b""
_SIGNED_ID = re.compile(r"s:[A-Za-z0-9_-]{1,128}\.[A-Za-z0-9+/]{43}")
_ENCODED_SIGNED_ID = re.compile(r"s%3A[A-Za-z0-9_-]{1,128}\.(?:[A-Za-z0-9]|%2B|%2F){43,129}")
#: The default ``max_size``: 1 MiB of JSON. Every request that uses the session reads it
#: whole and every change writes it whole, so far smaller is normal (a login, a cart, some
#: flashes: a few KB); past this a session holds what belongs in a database. It is still
#: 256 times a cookie session's 4 KB, and far below Redis's 512 MB string limit.
DEFAULT_MAX_SIZE = 1024 * 1024


def default_genid() -> str:
    """A new session id: 24 random bytes (192 bits) from ``secrets``, base64url (32 chars)."""
    return _secrets.token_urlsafe(24)


def valid_id(sid: str) -> bool:
    """Ids reach store keys, so only URL-safe base64 characters, at most 128 of them."""
    return _ID_PATTERN.fullmatch(sid) is not None


class SessionEngine:
    """express-session's options and rules. Defaults differ from express-session's where
    express is unsafe or wasteful: ``resave=False`` and ``save_uninitialized=False`` (express:
    deprecated-true), SameSite=Lax on the cookie (express: unset).

    ``unset="destroy"`` destroys a loaded session that a request emptied (Flask has no
    ``req.session = null``); ``"keep"`` stores the empty session.

    Sessions load on first use, not on every request as in express: a request whose
    handler never touches the session costs no store call, and so is neither saved
    (whatever ``resave`` or ``save_uninitialized`` say) nor touched; ``rolling`` still
    loads it, to re-send the cookie.

    ``max_size`` (not in express-session): the most bytes of JSON a session may take in
    the store, default ``DEFAULT_MAX_SIZE`` (1 MiB); None for no limit. A bigger session
    fails at save time with ``SessionTooLarge`` before the store is called, so what the
    store held stays as it was.

    ``merge`` (not in express-session; default False, express's behaviour): concurrent
    requests of one session each write the whole session, so the last to finish wins and
    the others' changes are lost. With ``merge=True`` a request that loaded its session
    from the store saves only the keys it changed or deleted (compared key by key with
    what it loaded), onto the latest stored state, atomically (``Store.merge``: Redis
    ``WATCH``/``MULTI``/``EXEC`` with retry, ``MemoryStore`` under its lock). Two requests
    that change different keys both keep their change; when both change the same key,
    the last to save wins for that key (a counter incremented by both still loses one
    increment). The cookie object (expiry) is this request's. A new or regenerated
    session is written whole. Stores without ``merge`` fall back to ``set``.
    """

    def __init__(
        self,
        *,
        secret: str | Sequence[str],
        name: str = "connect.sid",
        store: Store | None = None,
        resave: bool = False,
        save_uninitialized: bool = False,
        rolling: bool = False,
        genid: Callable[[], str] | None = None,
        unset: Literal["keep", "destroy"] = "keep",
        cookie: Mapping[str, Any] | CookieOptions | None = None,
        max_size: int | None = DEFAULT_MAX_SIZE,
        merge: bool = False,
    ) -> None:
        self.secrets = as_secret_list(secret)
        self.signer = Signer(self.secrets)
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if unset not in ("keep", "destroy"):
            raise ValueError("unset must be 'keep' or 'destroy'")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0
        ):
            raise ValueError("max_size must be a positive number of bytes, or None")
        self.name = name
        self.store: Store = MemoryStore() if store is None else store
        self.resave = resave
        self.save_uninitialized = save_uninitialized
        self.rolling = rolling
        self.genid = genid or default_genid
        self.unset = unset
        self.max_size = max_size
        self.merge = bool(merge)
        self.cookie_options = (
            cookie if isinstance(cookie, CookieOptions) else CookieOptions.from_mapping(cookie)
        )
        # A cookie={"expires": ...} date is fixed: touches never move it.
        self.fixed_expiry = self.cookie_options.expires is not None
        # What a returning request asks the store to extend the session's life to.
        self.touch_on_load = not self.fixed_expiry
        self.load_ttl = self.cookie_options.max_age

    # -- the two calls an adapter makes -------------------------------------------------
    def open(self, cookie_values: Iterable[str], path: str, is_secure: bool) -> Session | None:
        """The request's session (loaded lazily), or None outside the cookie's path."""
        if not path_matches(self.cookie_options.path, path):
            return None
        exchange = Exchange(self, is_secure)
        exchange.read_cookie(cookie_values)
        return Session(exchange)

    def finish(self, session: Session) -> str | None:
        """Apply the save rules; return the Set-Cookie header value to send, if any."""
        exchange = session._lifecycle
        assert isinstance(exchange, Exchange), "not a session this engine opened"
        return exchange.finish(session)

    # -- cookie value -------------------------------------------------------------------
    def cookie_value(self, sid: str) -> str:
        """``s:`` + signed id, percent-encoded as ``encodeURIComponent`` does."""
        return _encode_cookie_value(_COOKIE_PREFIX + self.signer.sign(sid))

    def new_id(self) -> str:
        sid = self.genid()
        if not isinstance(sid, str) or not valid_id(sid):
            raise ValueError(f"genid must return 1-128 characters of A-Z a-z 0-9 _ -, not {sid!r}")
        return sid


class Exchange:
    """One request's session state: what came in, what was loaded, what must go out."""

    __slots__ = (
        "engine",
        "is_secure",
        "cookie_id",
        "cookie_raw",
        "rejected",
        "original_id",
        "original_hash",
        "saved_id",
        "saved_hash",
        "saved_now",
        "ttl_fresh_on_load",
        "touched",
        "dead_cookie",
        "forced",
        "loaded_empty",
        "loaded_values",
        "snapshot",
        "loaded_digest",
    )

    def __init__(self, engine: SessionEngine, is_secure: bool) -> None:
        self.engine = engine
        self.is_secure = is_secure
        self.cookie_id: str | None = None  # the verified id the browser sent
        self.cookie_raw: str | None = None  # its cookie value, when it is what we'd send
        self.rejected: str | None = None  # why a cookie was refused
        self.original_id: str | None = None
        self.original_hash: bytes | None = None  # state token as loaded (see ``_state``)
        self.saved_id: str | None = None  # id and state token as last written this request
        self.saved_hash: bytes | None = None
        self.saved_now = False  # save() ran during this request
        self.ttl_fresh_on_load = False  # get_and_touch already set the store's TTL
        self.touched = False
        self.dead_cookie: SessionCookie | None = None  # set when the browser's cookie must go
        self.forced = False  # ``session.modified = True``: write even if nothing changed
        self.loaded_empty = True  # the session had no data when loaded (for unset="destroy")
        self.loaded_values: dict[str, str] | None = None  # key -> JSON as loaded (for merge)
        # (writes, lifetime, the data dict as loaded) of a session without lists or
        # objects: until something is assigned or deleted, it cannot have changed.
        self.snapshot: tuple[int, float | None, dict[str, Any]] | None = None
        self.loaded_digest: bytes | None = None  # the snapshot's digest, once needed

    # -- reading the cookie (no store access) -------------------------------------------
    def read_cookie(self, values: Iterable[str]) -> None:
        """Take the first cookie value that verifies; remember why others were refused."""
        for raw in values:
            sid, reason = self._verify(raw)
            if sid is not None:
                self.cookie_id, self.rejected = sid, None
                if reason == "current":
                    self.cookie_raw = raw
                return
            self.rejected = self.rejected or reason

    def _verify(self, raw: str) -> tuple[str | None, str]:
        """The id inside a cookie value, or None and why it was refused. An accepted value
        signed with the current secret is "current": if it is also encoded as we encode
        (``_reusable``), re-sending it costs no HMAC."""
        value = _fast_decode(raw)
        if "%" in value:  # escapes other than the three a signed id needs: decode in full
            try:
                value = _decode_cookie_value(raw)
            except UnicodeDecodeError:
                return None, "unsigned"
        if not value.startswith(_COOKIE_PREFIX):
            return None, "unsigned"
        sid, current = self.engine.signer.unsign(value[len(_COOKIE_PREFIX) :])
        if sid is None:
            return None, "bad_signature"
        if not valid_id(sid):
            return None, "invalid_id"
        return sid, "current" if current else ""

    def _reusable(self, sid: str) -> str | None:
        """The browser's cookie value, when it is exactly what ``cookie_value(sid)`` gives."""
        raw = self.cookie_raw
        if sid != self.cookie_id or raw is None or not _ENCODED_SIGNED_ID.fullmatch(raw):
            return None
        return raw

    # -- Lifecycle: what the Session asks of us -----------------------------------------
    def load(self, session: Session) -> None:
        sid = self.cookie_id
        if sid is None:
            self._emit_loaded(None, found=False)
            self._generate(session, "rejected" if self.rejected else "no_cookie")
            return
        engine = self.engine
        if engine.touch_on_load:
            data = self._store("get_and_touch", sid, engine.load_ttl)
        else:
            data = self._store("get", sid)
        if data is None:
            self.rejected = "unknown_id"
        else:
            cookie = _stored_cookie(sid, data, engine.fixed_expiry)
            if cookie is None:
                self.rejected = "corrupt"
            elif not engine.store.touches_on_get and cookie.expired:
                self.rejected = "expired"
            elif self._inflated(session, sid, data, cookie):
                self._emit_loaded(sid, found=True)
                return
            else:
                self.rejected = "corrupt"
        self._emit_loaded(sid, found=False)
        self._generate(session, "rejected")

    def save(self, session: Session) -> None:
        digest, text = self._state(session)
        self._write(session, "manual", text)
        self.saved_id, self.saved_hash, self.saved_now = session.id, digest, True
        self.forced = False

    def reload(self, session: Session) -> None:
        sid = session.id
        data = self._store("get", sid)
        cookie = None if data is None else _stored_cookie(sid, data, self.engine.fixed_expiry)
        if data is None or cookie is None or not self._inflated(session, sid, data, cookie):
            raise KeyError(f"session {signals.short_id(sid)} is no longer in the store")

    def regenerate(self, session: Session) -> None:
        old_id = session._id if session.loaded else self.cookie_id
        if old_id is not None and old_id in (self.cookie_id, self.saved_id):
            self._store("destroy", old_id)
        self._generate(session, "regenerated")
        if self.original_id is None or self.original_id == session._id:
            self.original_id = old_id  # a new id is a change: it must be saved and sent
        if signals.session_regenerated.receivers:
            signals.session_regenerated.send(
                self.engine, old_sid=signals.short_id(old_id), sid=signals.short_id(session._id)
            )

    def destroy(self, session: Session) -> None:
        sid = session._id if session.loaded else self.cookie_id
        if self.cookie_id is not None:
            self.dead_cookie = session._cookie or self.engine.cookie_options.new_cookie(
                self.is_secure
            )
        if sid is not None and sid in (self.cookie_id, self.saved_id):
            self._store("destroy", sid)
        if signals.session_destroyed.receivers:
            signals.session_destroyed.send(self.engine, sid=signals.short_id(sid), reason="destroy")
        # The browser's cookie is dead; anything written after this starts a new session.
        self.cookie_id = None
        self.saved_id = self.saved_hash = None
        self._generate(session, "destroyed")

    def is_new(self, session: Session) -> bool:
        return self.cookie_id != session.id

    def is_modified(self, session: Session) -> bool:
        return self._modified(session, self._state(session)[0])

    def mark_modified(self, session: Session) -> None:
        self.forced = True

    # -- the end of the request: express-session's rules --------------------------------
    def finish(self, session: Session) -> str | None:
        engine = self.engine
        if not session.loaded:
            if self.cookie_id is None or not engine.rolling:
                return None  # never used: no store access, no cookie
            session._contents()  # rolling re-sends the cookie of every loaded session
        sid, cookie = session._id, session._cookie
        assert sid is not None and session._data is not None and cookie is not None

        emptied = not session._data and not self.loaded_empty
        if engine.unset == "destroy" and emptied and sid == self.cookie_id:
            self._store("destroy", sid)
            if signals.session_destroyed.receivers:
                signals.session_destroyed.send(engine, sid=signals.short_id(sid), reason="unset")
            self.dead_cookie = cookie
            return self._clear_cookie()

        digest, text = self._state(session)  # raises TypeError naming a non-JSON key
        if not self.touched:
            cookie.reset_max_age()  # session.touch(), without its lookups
            self.touched = True

        modified = self._modified(session, digest)
        reason = self._save_reason(session, digest, modified)
        if reason is not None:
            self._write(session, reason, text)
            self.saved_id, self.saved_hash = sid, digest
        elif sid == self.cookie_id and not self.saved_now and not self._ttl_is_fresh(cookie):
            self._store("touch", sid, session.to_json())
            if signals.session_touched.receivers:
                signals.session_touched.send(
                    engine, sid=signals.short_id(sid), expires=cookie.expires
                )

        if self._should_set_cookie(sid, modified, cookie):
            if cookie.secure and not self.is_secure:
                return None  # a Secure cookie only goes out over HTTPS, as in express
            value = self._reusable(sid) or engine.cookie_value(sid)
            header = cookie.header(engine.name, value)
            if signals.cookie_set.receivers:
                signals.cookie_set.send(
                    engine,
                    name=engine.name,
                    sid=signals.short_id(sid),
                    attributes=cookie.to_json(),
                    header=header.replace(value, "…"),
                )
            return header
        return self._clear_cookie() if self.dead_cookie is not None else None

    def _modified(self, session: Session, digest: bytes) -> bool:
        """express's ``isModified``: a new id, a changed state, or ``modified = True``."""
        return (
            self.forced
            or self.original_id != session._id
            or not self._same(session, digest, self.original_hash)
        )

    def _save_reason(self, session: Session, digest: bytes, modified: bool) -> str | None:
        """Why the store must be written now, or None (express's ``shouldSave``)."""
        sid = session._id
        if self.saved_id == sid and self._same(session, digest, self.saved_hash):
            return None  # the store already holds exactly this
        if sid != self.cookie_id and self.saved_hash is None and not self.engine.save_uninitialized:
            return "modified" if modified else None
        if modified or (self.saved_id == sid and not self.engine.resave):
            return "modified"
        return "save_uninitialized" if sid != self.cookie_id else "resave"

    def _should_set_cookie(self, sid: str, modified: bool, cookie: SessionCookie) -> bool:
        """express's ``shouldSetCookie``, plus: a new session saved by hand gets its cookie."""
        if sid != self.cookie_id:
            return self.engine.save_uninitialized or modified or self.saved_id == sid
        return self.engine.rolling or (modified and cookie.expires_at is not None)

    def _ttl_is_fresh(self, cookie: SessionCookie) -> bool:
        """True when the load already extended the store's TTL to what a touch would set."""
        return self.ttl_fresh_on_load and cookie.original_max_age == self.engine.load_ttl

    # -- helpers ------------------------------------------------------------------------
    def _generate(self, session: Session, reason: str) -> None:
        engine = self.engine
        sid = engine.new_id()
        session._fill(sid, {}, engine.cookie_options.new_cookie(self.is_secure))
        self.loaded_values = None
        self._take_snapshot(session)
        self.original_id = sid
        self.original_hash = AS_LOADED
        self.ttl_fresh_on_load = False
        self.touched = False
        if signals.session_created.receivers:
            signals.session_created.send(engine, sid=signals.short_id(sid), reason=reason)

    def _inflated(
        self, session: Session, sid: str, data: SessionData, cookie: SessionCookie
    ) -> bool:
        """Adopt a stored session; False (and a log line) when its data can't be JSON again."""
        engine = self.engine
        if cookie.expired:
            # The store kept the session alive past the expiry written in its JSON: a
            # touch (EXPIRE/GETEX) moved the real expiry without rewriting the value.
            cookie.reset_max_age()
        session._fill(sid, data, cookie)
        if _is_flat(data):
            self._take_snapshot(session)
            self.original_hash = AS_LOADED
        else:
            self.snapshot = None
            try:
                self.original_hash = self._state(session)[0]
            except TypeError as error:
                log.warning(
                    "session %s in the store is malformed (%s)", signals.short_id(sid), error
                )
                return False
        self.loaded_empty = not data
        self.original_id = sid
        if engine.merge:
            self.loaded_values = {key: compact_json(value) for key, value in data.items()}
        if engine.resave:
            self.saved_id, self.saved_hash = None, None
        else:
            self.saved_id, self.saved_hash = sid, self.original_hash
        self.ttl_fresh_on_load = engine.touch_on_load and engine.store.touches_on_get
        return True

    def _state(self, session: Session) -> tuple[bytes, str | None]:
        """A token for the session's state (its data and the cookie's lifetime: a change
        to either must reach the store), and the data as JSON for a write that follows.

        A flat session (no lists or objects) nobody assigned to since it was loaded is
        still as loaded: its token is ``AS_LOADED`` and nothing is serialized (the JSON
        is None then). Otherwise the token is a digest of the lifetime and the JSON.
        """
        assert session._data is not None and session._cookie is not None
        lifetime, snapshot = session._cookie.original_max_age, self.snapshot
        if snapshot is not None and snapshot[0] == session.writes and snapshot[1] == lifetime:
            return AS_LOADED, None
        text = serialize_data(session._data)
        return data_hash(f"{lifetime}|{text}"), text

    def _same(self, session: Session, digest: bytes, reference: bytes | None) -> bool:
        """Whether the session's state token ``digest`` (from ``_state``) stands for the
        same state as ``reference``, a token taken earlier in this request."""
        if digest == reference:
            return True
        if reference is None:
            return False
        if reference == AS_LOADED and self._differs_from_snapshot(session):
            return False  # certain without serializing: the usual modified request
        return self._resolved(digest) == self._resolved(reference)

    def _take_snapshot(self, session: Session) -> None:
        assert session._data is not None and session._cookie is not None
        lifetime = session._cookie.original_max_age
        # The session copies its data before the first change (``copy_on_write``), so
        # the snapshot can keep the dict as loaded without copying it now.
        self.snapshot = (session.writes, lifetime, session._data)
        session.copy_on_write = True
        self.loaded_digest = None

    def _differs_from_snapshot(self, session: Session) -> bool:
        """True when the data or lifetime is unequal to the snapshot's. Python's equality
        can't tell 1 from 1.0 or True, so False means "maybe the same": compare digests."""
        snapshot = self.snapshot
        assert snapshot is not None and session._cookie is not None
        return snapshot[1] != session._cookie.original_max_age or snapshot[2] != session._data

    def _resolved(self, token: bytes) -> bytes:
        """A real digest for a state token (``AS_LOADED`` is computed once, on demand)."""
        if token != AS_LOADED:
            return token
        if self.loaded_digest is None:
            assert self.snapshot is not None
            _, lifetime, data = self.snapshot
            self.loaded_digest = data_hash(f"{lifetime}|{serialize_data(data)}")
        return self.loaded_digest

    def _write(self, session: Session, reason: str, text: str | None) -> None:
        """Store the session, whose data serialized to ``text`` a moment ago (None: the
        data is as loaded and was not serialized)."""
        sid = session.id
        cookie = session._cookie
        assert cookie is not None and session._data is not None
        if text is None:
            text = serialize_data(session._data)
        cookie_json = cookie.to_json()
        data = StoredSession({"cookie": cookie_json, **session._data})
        data.json_text = (
            '{"cookie":' + compact_json(cookie_json) + ("}" if text == "{}" else "," + text[1:])
        )
        data.expires_at = cookie.expires_at
        self._check_size(sid, data)
        if self.engine.merge and self.loaded_values is not None and sid == self.cookie_id:
            changed, removed = self._changes(data)
            if hasattr(self.engine.store, "merge"):
                self._store("merge", sid, data, changed, removed)
            else:
                self._store("set", sid, data)
        else:
            self._store("set", sid, data)
        if signals.session_saved.receivers:
            signals.session_saved.send(self.engine, sid=signals.short_id(sid), reason=reason)

    def _check_size(self, sid: str, data: StoredSession) -> None:
        """Raise ``SessionTooLarge`` (nothing written) when ``data`` exceeds ``max_size``."""
        limit = self.engine.max_size
        if limit is None:
            return
        size = len(data.json_text)  # ASCII: json.dumps escapes the rest, as the stores do
        if size <= limit:
            return
        largest = sorted(
            ((len(compact_json(value)), key) for key, value in data.items() if key != "cookie"),
            reverse=True,
        )[:3]
        keys = ", ".join(f"{key!r} ({length:,} bytes)" for length, key in largest)
        raise SessionTooLarge(
            f"session {signals.short_id(sid)} is {size:,} bytes of JSON, over max_size="
            f"{limit:,}; largest keys: {keys or 'none'}. Nothing was written."
        )

    def _changes(self, data: SessionData) -> tuple[list[str], list[str]]:
        """The keys this request set to a new value, and the keys it deleted, since load."""
        loaded = self.loaded_values or {}
        changed = [
            key
            for key, value in data.items()
            if key != "cookie" and loaded.get(key) != compact_json(value)
        ]
        removed = [key for key in loaded if key not in data]
        return changed, removed

    def _clear_cookie(self) -> str:
        cookie = self.dead_cookie or self.engine.cookie_options.new_cookie(self.is_secure)
        header = clearing_header(self.engine.name, cookie)
        if signals.cookie_cleared.receivers:
            signals.cookie_cleared.send(self.engine, name=self.engine.name, header=header)
        return header

    def _emit_loaded(self, sid: str | None, found: bool) -> None:
        if signals.session_loaded.receivers:
            signals.session_loaded.send(
                self.engine, sid=signals.short_id(sid), found=found, rejected=self.rejected
            )

    def _store(self, operation: str, sid: str, *args: Any) -> Any:
        """Call a store method, announcing the call when anyone listens."""
        method = getattr(self.engine.store, operation)
        if not signals.store_called.receivers:
            return method(sid, *args)
        started, error, result = time.perf_counter(), None, None
        try:
            result = method(sid, *args)
            return result
        except Exception as exc:  # announced, then re-raised untouched
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _announce_store_call(self.engine, operation, sid, args, result, error, started)


def _is_flat(data: dict[str, Any]) -> bool:
    """True when every value is a string, a whole number, a finite float, a bool or None."""
    for value in data.values():
        if type(value) not in _SCALARS and not (type(value) is float and math.isfinite(value)):
            return False
    return True


def _encode_cookie_value(value: str) -> str:
    """``encodeURIComponent(value)``. A signed id holds only ``s``, ``:``, the id's
    ``A-Za-z0-9_-``, ``.`` and base64's ``+/``, so three replacements do what
    ``quote(value, safe="-_.!~*'()")`` does, at a fraction of its cost per response."""
    if _SIGNED_ID.fullmatch(value):
        return value.replace(":", "%3A").replace("+", "%2B").replace("/", "%2F")
    return quote(value, safe=_URI_COMPONENT_SAFE)


def _decode_cookie_value(raw: str) -> str:
    """Percent-decode a cookie value (``decodeURIComponent``)."""
    return unquote(raw, errors="strict") if "%" in raw else raw


def _fast_decode(raw: str) -> str:
    """Undo the three escapes ``cookie_value`` writes. When no ``%`` is left afterwards,
    every escape in ``raw`` was one of them, and this equals ``_decode_cookie_value``."""
    return raw.replace("%3A", ":", 1).replace("%2B", "+").replace("%2F", "/")


def _stored_cookie(sid: str, data: Any, fixed_expiry: bool) -> SessionCookie | None:
    """Take the cookie object out of a stored session; None (and a log line) when the
    entry is not a session this library can use: not an object, no ``cookie`` object, or
    a cookie that does not parse (values out of range included).
    """
    cookie_json = data.get("cookie") if isinstance(data, dict) else None
    if not isinstance(cookie_json, dict):
        log.warning(
            "session %s in the store has no cookie object; starting a new one",
            signals.short_id(sid),
        )
        return None
    try:
        cookie = SessionCookie.from_json(cookie_json, fixed_expiry=fixed_expiry)
    except (TypeError, ValueError, OverflowError, OSError) as error:
        log.warning(
            "session %s in the store is malformed (%s); starting a new one",
            signals.short_id(sid),
            error,
        )
        return None
    del data["cookie"]
    return cookie


def _announce_store_call(
    engine: SessionEngine,
    operation: str,
    sid: str,
    args: tuple[Any, ...],
    result: Any,
    error: str | None,
    started: float,
) -> None:
    store = engine.store
    ttl = args[0] if operation == "get_and_touch" else None
    data = args[0] if operation in ("set", "touch", "merge") else None
    key_of = getattr(store, "key", None)
    key = key_of(sid) if callable(key_of) else sid
    default_ttl = getattr(store, "ttl", None)
    if operation == "get_and_touch":
        ttl = ttl if ttl is not None else default_ttl
    elif data is not None:
        ttl = seconds_left(data, default_ttl)
    signals.store_called.send(
        engine,
        operation=operation,
        store=type(store).__name__,
        key=key.replace(sid, signals.short_id(sid) or ""),
        ttl=None if ttl is None else round(ttl, 3),
        found=(result is not None) if operation in ("get", "get_and_touch") else None,
        error=error,
        duration=time.perf_counter() - started,
    )
