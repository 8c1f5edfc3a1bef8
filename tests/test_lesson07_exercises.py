"""Lesson 7's checks pass the solutions, say "not done yet" to a stub, and refuse the wrong
answers a learner plausibly writes (each written out as a learner would)."""

from __future__ import annotations

import json

import pytest
import support

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson7

NOTEBOOK = "07_redis.ipynb"


def answered(tmp_path, cls: str, function: str, body: str | None):
    """The package with ``cls.function``'s hole filled with ``body`` (None: the stub); the
    class's other holes keep the solution."""
    module, code = support.export_cell(NOTEBOOK, cls)
    return support.package_with(tmp_path, (module, support.fill_hole(code, function, body)))


def all_stubs(tmp_path, cls: str, functions: list[str]):
    module, code = support.export_cell(NOTEBOOK, cls)
    for function in functions:
        code = support.fill_hole(code, function, None)
    return support.package_with(tmp_path, (module, code))


def assert_wrong(result: str) -> None:
    assert result.startswith(WRONG), result


def test_solutions_pass(tmp_path):
    package = support.package_with(tmp_path)
    for number in ("7.1", "7.2", "7.3", "7.4", "7.5"):
        assert verdict(number, package) == PASS, number


def test_stubs_are_not_done(tmp_path):
    assert verdict("7.1", answered(tmp_path, "RedisKeys", "ttl_of", None)) == TODO
    stubs = all_stubs(tmp_path, "RedisStore", ["get", "get_and_touch", "write", "touch"])
    for number in ("7.2", "7.3", "7.4", "7.5"):
        assert verdict(number, stubs) == TODO, number


def test_each_method_is_checked_on_its_own(tmp_path):
    """A learner who finished get() but not write() passes 7.2 and is told 7.4 is not done."""
    package = all_stubs(tmp_path, "RedisStore", ["get_and_touch", "write", "touch"])
    assert verdict("7.2", package) == PASS
    assert verdict("7.4", package) == TODO


# -- 7.1 ttl_of -------------------------------------------------------------------------------

TTL_OF_WRONG = {
    "milliseconds": """
        if self.disable_ttl:
            return None
        if callable(self.ttl):
            return math.ceil(self.ttl(data)) * 1000
        return ttl_seconds(data, self.ttl) * 1000
    """,
    "rounded down": """
        from datetime import datetime

        if self.disable_ttl:
            return None
        if callable(self.ttl):
            return int(self.ttl(data))
        expires = (data.get("cookie") or {}).get("expires")
        if expires is None:
            return int(self.ttl)
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        return int(moment - time.time())
    """,
    "not rounded (a float)": """
        from datetime import datetime

        if self.disable_ttl:
            return None
        if callable(self.ttl):
            return self.ttl(data)
        expires = (data.get("cookie") or {}).get("expires")
        if expires is None:
            return self.ttl
        return datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() - time.time()
    """,
    "always the store's ttl": """
        return None if self.disable_ttl else self.ttl
    """,
    "forgets disable_ttl": """
        if callable(self.ttl):
            return math.ceil(self.ttl(data))
        return ttl_seconds(data, self.ttl)
    """,
    "forgets a ttl function": """
        if self.disable_ttl:
            return None
        return ttl_seconds(data, self.ttl if not callable(self.ttl) else 86400)
    """,
    "never below one second": """
        if self.disable_ttl:
            return None
        if callable(self.ttl):
            return max(1, math.ceil(self.ttl(data)))
        return max(1, ttl_seconds(data, self.ttl))
    """,
}


@pytest.mark.parametrize("body", TTL_OF_WRONG.values(), ids=TTL_OF_WRONG)
def test_ttl_of_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("7.1", answered(tmp_path, "RedisKeys", "ttl_of", body)))


# -- 7.2 get ------------------------------------------------------------------------------------

GET_WRONG = {
    "GETEX (touches on a plain read)": """
        return self.read(sid, self.client.getex, ex=86400)
    """,
    "the client by hand, no decode": """
        raw = self.client.get(self.key(sid))
        return None if raw is None else json.loads(raw)
    """,
    "the raw bytes": """
        return self.call(self.client.get, self.key(sid))
    """,
    "without the prefix": """
        raw = self.call(self.client.get, sid)
        return None if raw is None else self.decode(sid, raw)
    """,
}


@pytest.mark.parametrize("body", GET_WRONG.values(), ids=GET_WRONG)
def test_get_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("7.2", answered(tmp_path, "RedisStore", "get", body)))


# -- 7.3 get_and_touch --------------------------------------------------------------------

GET_AND_TOUCH_WRONG = {
    "GET then EXPIRE": """
        data = self.get(sid)
        if data is not None and self.touches_on_get:
            life = self.ttl if seconds is None else seconds
            self.call(self.client.expire, self.key(sid), max(1, math.ceil(life)))
        return data
    """,
    "milliseconds": """
        if not self.touches_on_get:
            return self.get(sid)
        life = self.ttl if seconds is None else seconds
        return self.read(sid, self.client.getex, px=math.ceil(life * 1000))
    """,
    "seconds as given (EX in ms)": """
        if not self.touches_on_get:
            return self.get(sid)
        life = self.ttl if seconds is None else seconds
        return self.read(sid, self.client.getex, ex=max(1, math.ceil(life)) * 1000)
    """,
    "rounded down": """
        if not self.touches_on_get:
            return self.get(sid)
        life = self.ttl if seconds is None else seconds
        return self.read(sid, self.client.getex, ex=max(1, int(life)))
    """,
    "EX 0 sent to Redis": """
        if not self.touches_on_get:
            return self.get(sid)
        life = self.ttl if seconds is None else seconds
        return self.read(sid, self.client.getex, ex=math.ceil(life))
    """,
    "touches whatever the options": """
        life = self.ttl if seconds is None else seconds
        return self.read(sid, self.client.getex, ex=max(1, math.ceil(life)))
    """,
}


@pytest.mark.parametrize("body", GET_AND_TOUCH_WRONG.values(), ids=GET_AND_TOUCH_WRONG)
def test_get_and_touch_wrong_answers_are_refused(tmp_path, body):
    package = answered(tmp_path, "RedisStore", "get_and_touch", body)
    assert_wrong(verdict("7.3", package))


# -- 7.4 write ----------------------------------------------------------------------------------

WRITE_WRONG = {
    "SET without XX for a stored session": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        return bool(self.call(self.client.set, self.key(sid), self.dumps(data), ex=ttl))
    """,
    "XX on every write": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        return bool(self.call(self.client.set, self.key(sid), self.dumps(data), ex=ttl, xx=True))
    """,
    "SET, then EXPIRE": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        written = self.call(self.client.set, self.key(sid), self.dumps(data), xx=only_if_stored)
        if written and ttl is not None:
            self.call(self.client.expire, self.key(sid), ttl)
        return bool(written)
    """,
    "TTL in milliseconds": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        ex = None if ttl is None else ttl * 1000
        text = self.dumps(data)
        return bool(self.call(self.client.set, self.key(sid), text, ex=ex, xx=only_if_stored))
    """,
    "a TTL of 0 or less sent to Redis": """
        text = self.dumps(data)
        ttl = self.ttl_of(data)
        return bool(self.call(self.client.set, self.key(sid), text, ex=ttl, xx=only_if_stored))
    """,
    "json.dumps instead of the store's serializer": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        text = json.dumps(data)
        return bool(self.call(self.client.set, self.key(sid), text, ex=ttl, xx=only_if_stored))
    """,
    "says nothing": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return
        self.call(self.client.set, self.key(sid), self.dumps(data), ex=ttl, xx=only_if_stored)
    """,
    "the client without self.call": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        return bool(self.client.set(self.key(sid), self.dumps(data), ex=ttl, xx=only_if_stored))
    """,
    "self.call, not self.acked (ignores wait_replicas)": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            self.destroy(sid)
            return True
        text = self.dumps(data)
        return bool(self.call(self.client.set, self.key(sid), text, ex=ttl, xx=only_if_stored))
    """,
    "an ended session is never deleted": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl <= 0:
            return True
        text = self.dumps(data)
        return bool(
            self.acked(lambda redis: redis.set(self.key(sid), text, ex=ttl, xx=only_if_stored))
        )
    """,
}


@pytest.mark.parametrize("body", WRITE_WRONG.values(), ids=WRITE_WRONG)
def test_write_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("7.4", answered(tmp_path, "RedisStore", "write", body)))


# -- 7.5 touch ----------------------------------------------------------------------------------

TOUCH_WRONG = {
    "rewrites the session": """
        if not self.disable_touch:
            self.write(sid, data, only_if_stored=True)
    """,
    "TTL in milliseconds": """
        ttl = None if self.disable_touch else self.ttl_of(data)
        if ttl is not None and ttl > 0:
            self.call(self.client.expire, self.key(sid), ttl * 1000)
    """,
    "the store's ttl, not the session's": """
        if not self.disable_touch and not self.disable_ttl:
            self.call(self.client.expire, self.key(sid), self.ttl)
    """,
    "forgets disable_touch": """
        ttl = self.ttl_of(data)
        if ttl is not None and ttl > 0:
            self.call(self.client.expire, self.key(sid), ttl)
    """,
    "a TTL of 0 or less sent to Redis": """
        ttl = None if self.disable_touch else self.ttl_of(data)
        if ttl is not None:
            self.call(self.client.expire, self.key(sid), ttl)
    """,
    "the client without self.call": """
        ttl = None if self.disable_touch else self.ttl_of(data)
        if ttl is not None and ttl > 0:
            self.client.expire(self.key(sid), ttl)
    """,
}


def test_touch_in_milliseconds_with_pexpire_is_right(tmp_path):
    body = """
        ttl = None if self.disable_touch else self.ttl_of(data)
        if ttl is not None and ttl > 0:
            self.call(self.client.pexpire, self.key(sid), ttl * 1000)
    """
    assert verdict("7.5", answered(tmp_path, "RedisStore", "touch", body)) == PASS


@pytest.mark.parametrize("body", TOUCH_WRONG.values(), ids=TOUCH_WRONG)
def test_touch_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("7.5", answered(tmp_path, "RedisStore", "touch", body)))


# -- 7.6 the outage answer ------------------------------------------------------------------


def outage_response(error):
    return {"error": "sessions unavailable"}, 503, {"Retry-After": "30"}


def with_jsonify(error):
    from flask import jsonify

    response = jsonify(error="sessions unavailable")
    response.status_code = 503
    response.headers["Retry-After"] = 30
    return response


def abort_503(error):
    from flask import abort

    abort(503)


OUTAGE_WRONG = {
    "text": lambda error: ("sessions unavailable", 503, {"Retry-After": "30"}),
    "no Retry-After": lambda error: ({"error": "sessions unavailable"}, 503),
    "status 500": lambda error: ({"error": "sessions unavailable"}, 500, {"Retry-After": "30"}),
    "the exception's text": lambda error: ({"error": str(error)}, 503, {"Retry-After": "30"}),
    "abort(503)": abort_503,
}


def test_outage_answers_pass():
    assert verdict("7.6", outage_response) == PASS
    assert verdict("7.6", with_jsonify) == PASS  # needs an app context: the check has one


def test_outage_stub_is_not_done():
    def stub(error):
        raise NotImplementedError()

    assert verdict("7.6", stub) == TODO


@pytest.mark.parametrize("handler", OUTAGE_WRONG.values(), ids=OUTAGE_WRONG)
def test_outage_wrong_answers_are_refused(handler):
    assert_wrong(verdict("7.6", handler))


# -- 7.7 sessions_of ------------------------------------------------------------------------


def sessions_of(client, prefix, user):
    ids = []
    for key in client.scan_iter(match=prefix + "*"):
        raw = client.get(key)
        if raw is not None and json.loads(raw).get("user") == user:
            ids.append(key.decode()[len(prefix) :])
    return sorted(ids)


def keys_not_ids(client, prefix, user):
    keys = client.scan_iter(match=prefix + "*")
    return sorted(k.decode() for k in keys if json.loads(client.get(k)).get("user") == user)


def bytes_ids(client, prefix, user):
    keys = client.scan_iter(match=prefix + "*")
    return sorted(k[len(prefix) :] for k in keys if json.loads(client.get(k)).get("user") == user)


def unsorted(client, prefix, user):
    keys = client.scan_iter(match=prefix + "*")
    return [
        k.decode()[len(prefix) :] for k in keys if json.loads(client.get(k)).get("user") == user
    ]


def every_user_has_a_name(client, prefix, user):
    keys = client.scan_iter(match=prefix + "*")
    return sorted(
        k.decode()[len(prefix) :] for k in keys if json.loads(client.get(k))["user"] == user
    )


def with_keys(client, prefix, user):
    keys = client.keys(prefix + "*")
    return sorted(
        k.decode()[len(prefix) :] for k in keys if json.loads(client.get(k)).get("user") == user
    )


def every_key(client, prefix, user):
    keys = client.scan_iter()
    return sorted(
        k.decode()[len(prefix) :] for k in keys if json.loads(client.get(k)).get("user") == user
    )


SESSIONS_OF_WRONG = {
    "keys, not ids": keys_not_ids,
    "bytes": bytes_ids,
    "unsorted": unsorted,
    "every session has a user": every_user_has_a_name,
    "every key of the database": every_key,
    "KEYS instead of SCAN": with_keys,
}


def test_sessions_of_passes():
    assert verdict("7.7", sessions_of) == PASS


def test_sessions_of_stub_is_not_done():
    def stub(client, prefix, user):
        raise NotImplementedError()

    assert verdict("7.7", stub) == TODO


@pytest.mark.parametrize("answer", SESSIONS_OF_WRONG.values(), ids=SESSIONS_OF_WRONG)
def test_sessions_of_wrong_answers_are_refused(answer):
    assert_wrong(verdict("7.7", answer))


def test_quiz_has_about_five_questions_each_with_its_answer_among_the_choices():
    from coursekit.exercises import _QUIZZES, quiz

    quiz(7, {})
    assert 5 <= len(_QUIZZES[7]) <= 7
    assert all(q.answer in q.choices for q in _QUIZZES[7])
