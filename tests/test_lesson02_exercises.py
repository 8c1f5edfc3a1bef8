"""Lesson 2's checks: the solution passes, a stub is "not done yet", and every plausible
wrong answer, written as a learner would write it, is refused.

The library answers are the solution cells of ``solutions/02_ids_and_stores.ipynb`` with
one hole filled in differently (``support.package_with``); exercise 2.1 is a function.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import re
import secrets
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import support

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson2

NOTEBOOK = "02_ids_and_stores.ipynb"
SOLUTION = support.SOLUTIONS / NOTEBOOK
HOLES = {  # each exercise's hole: the class and the method it is in
    "2.2": ("ExpiringEntries", "put"),
    "2.3": ("ExpiringEntries", "prune"),
    "2.4": ("MemoryStore", "get"),
    "2.5": ("MemoryStore", "set"),
    "2.6": ("MemoryStore", "touch"),
}


def answer(exercise: str, body: str) -> tuple[str, str]:
    """The cell of ``exercise`` with its hole holding ``body`` (the other holes solved)."""
    cls, method = HOLES[exercise]
    module, code = support.export_cell(NOTEBOOK, cls)
    return module, support.fill_hole(code, method, body)


def judge(tmp_path: Path, exercise: str, body: str | None = None) -> str:
    cells = [] if body is None else [answer(exercise, body)]
    return verdict(exercise, support.package_with(tmp_path, *cells))


# -- 2.1: a session id ---------------------------------------------------------------------

counter = itertools.count(1)
seeded = random.Random(42)

RIGHT_IDS = {
    "token_urlsafe(16)": lambda: secrets.token_urlsafe(16),
    "token_urlsafe(24)": lambda: secrets.token_urlsafe(24),
    "token_hex(16)": lambda: secrets.token_hex(16),
    "SystemRandom": lambda: f"{random.SystemRandom().getrandbits(128):032x}",
    "secrets.choice x 22": lambda: "".join(
        secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in range(22)
    ),
    "two uuid4": lambda: uuid.uuid4().hex + uuid.uuid4().hex,
    "sha256 of random bytes": lambda: hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
    "128 random bits in decimal (36 to 39 digits)": lambda: str(secrets.randbits(128)),
}

WRONG_IDS = {
    "a counter": lambda: str(next(counter)),
    "sha256 of a counter": lambda: hashlib.sha256(str(next(counter)).encode()).hexdigest(),
    "the clock": lambda: str(time.time_ns()),
    "sha256 of the clock": lambda: hashlib.sha256(str(time.time_ns()).encode()).hexdigest(),
    "random, seeded": lambda: f"{seeded.getrandbits(128):032x}",
    "random, unseeded": lambda: f"{random.getrandbits(128):032x}",
    "uuid4 as text": lambda: str(uuid.uuid4()),
    "uuid4 hex": lambda: uuid.uuid4().hex,
    "uuid1": lambda: str(uuid.uuid1()),
    "120 bits": lambda: secrets.token_urlsafe(15),
    "64 bits": lambda: secrets.token_hex(8),
    "a hash of 256 random bits, cut to 16 hex (64 bits)": lambda: hashlib.sha256(
        secrets.token_bytes(32)
    ).hexdigest()[:16],
    "128 random bits, cut to 12 digits (40 bits)": lambda: str(
        int(secrets.token_hex(16), 16) % 10**12
    ),
    "a counter beside random bits": lambda: f"{next(counter)}-{secrets.token_urlsafe(16)}",
    "the clock beside random bits": lambda: f"{time.time_ns()}{secrets.token_hex(16)}",
    "bytes, not text": lambda: secrets.token_bytes(16),
    "standard base64 (+ / =)": lambda: base64.b64encode(secrets.token_bytes(16)).decode(),
    "too long for an id": lambda: secrets.token_hex(100),
    "always the same": lambda: "0123456789abcdef0123456789abcdef",
}


@pytest.mark.parametrize("genid", RIGHT_IDS.values(), ids=RIGHT_IDS.keys())
def test_ids_with_128_bits_from_the_random_source_pass(genid):
    assert verdict("2.1", genid) == PASS


def test_a_stub_id_generator_is_not_done_yet():
    def new_session_id():
        raise NotImplementedError()

    assert verdict("2.1", new_session_id) == TODO


@pytest.mark.parametrize("genid", WRONG_IDS.values(), ids=WRONG_IDS.keys())
def test_predictable_or_short_ids_are_refused(genid):
    assert verdict("2.1", genid).startswith(WRONG)


def test_uuid4_is_counted_as_122_bits():
    result = verdict("2.1", lambda: str(uuid.uuid4()))
    assert "122 bits" in result and "uuid4" in result


def test_ids_too_short_for_128_bits_are_told_so_whatever_made_them():
    result = verdict("2.1", WRONG_IDS["a hash of 256 random bits, cut to 16 hex (64 bits)"])
    assert "too short" in result and "at most 64" in result


def test_random_bits_stops_at_what_the_id_can_hold():
    from coursekit.lessons import lesson02

    cut = WRONG_IDS["a hash of 256 random bits, cut to 16 hex (64 bits)"]
    assert lesson02.random_bits(cut) == (64, False)
    assert lesson02.random_bits(lambda: secrets.token_hex(16)) == (128, False)


def test_counters_are_told_where_their_bits_come_from():
    assert "counter" in verdict(
        "2.1", lambda: hashlib.sha256(str(next(counter)).encode()).hexdigest()
    )


# -- 2.2 to 2.6: the store's library code --------------------------------------------------


@pytest.mark.parametrize("exercise", sorted(HOLES))
def test_the_solution_passes(tmp_path, exercise):
    assert judge(tmp_path, exercise) == PASS


@pytest.mark.parametrize("exercise", sorted(HOLES))
def test_a_stub_is_not_done_yet(tmp_path, exercise):
    assert judge(tmp_path, exercise, "# YOUR CODE HERE\nraise NotImplementedError()") == TODO


WRONG_PUTS = {
    "an alarm on every put: the heap grows with every request": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        heapq.heappush(self.alarms, (expiry, sid))
        self.entries[sid] = (text, expiry, expiry)
    """,
    "no new alarm when the expiry moves earlier": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        if previous is None:
            heapq.heappush(self.alarms, (expiry, sid))
            alarm = expiry
        else:
            alarm = previous[2]
        self.entries[sid] = (text, expiry, alarm)
    """,
    "the entry's alarm moved to the new expiry, with no alarm at that time": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        if sid not in self.entries:
            heapq.heappush(self.alarms, (expiry, sid))
        self.entries[sid] = (text, expiry, expiry)
    """,
    "an expiry of now is kept (< instead of <=)": """
        self.prune()
        if expiry < time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        alarm = previous[2] if previous else expiry
        if previous is None or expiry < alarm:
            alarm = expiry
            heapq.heappush(self.alarms, (alarm, sid))
        self.entries[sid] = (text, expiry, alarm)
    """,
    "alarms appended, not pushed": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        alarm = previous[2] if previous else expiry
        if previous is None or expiry < alarm:
            alarm = expiry
            self.alarms.append((alarm, sid))
        self.entries[sid] = (text, expiry, alarm)
    """,
    "an expired session is kept": """
        self.prune()
        previous = self.entries.get(sid)
        alarm = previous[2] if previous else expiry
        if previous is None or expiry < alarm:
            alarm = expiry
            heapq.heappush(self.alarms, (alarm, sid))
        self.entries[sid] = (text, expiry, alarm)
    """,
    "the new expiry compared with the old expiry, not the alarm": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        if previous is None or expiry < previous[1]:
            heapq.heappush(self.alarms, (expiry, sid))
            alarm = expiry
        else:
            alarm = previous[2]
        self.entries[sid] = (text, expiry, alarm)
    """,
    "never prunes: writes leave what expired": """
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        alarm = previous[2] if previous else expiry
        if previous is None or expiry < alarm:
            alarm = expiry
            heapq.heappush(self.alarms, (alarm, sid))
        self.entries[sid] = (text, expiry, alarm)
    """,
    "the tuple in another order": """
        self.prune()
        if expiry <= time.time():
            self.entries.pop(sid, None)
            return
        previous = self.entries.get(sid)
        if previous is None:
            heapq.heappush(self.alarms, (expiry, sid))
        self.entries[sid] = (expiry, text, expiry)
    """,
}


@pytest.mark.parametrize("body", WRONG_PUTS.values(), ids=WRONG_PUTS.keys())
def test_wrong_puts_are_refused(tmp_path, body):
    assert judge(tmp_path, "2.2", body).startswith(WRONG)


WRONG_PRUNES = {
    "drops a session extended since its alarm": """
        now = time.time()
        while self.alarms and self.alarms[0][0] <= now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is not None and entry[2] == when:
                del self.entries[sid]
    """,
    "keeps an extended session but never re-arms it": """
        now = time.time()
        while self.alarms and self.alarms[0][0] <= now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is None or entry[2] != when:
                continue
            if entry[1] <= now:
                del self.entries[sid]
    """,
    "an expiry of now is not due (< instead of <=)": """
        now = time.time()
        while self.alarms and self.alarms[0][0] < now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is None or entry[2] != when:
                continue
            if entry[1] < now:
                del self.entries[sid]
            else:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """,
    "rings only one alarm": """
        now = time.time()
        if self.alarms and self.alarms[0][0] <= now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is None or entry[2] != when:
                return
            if entry[1] <= now:
                del self.entries[sid]
            else:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """,
    "scans every entry (and rings the alarms too)": """
        now = time.time()
        for sid in [sid for sid, entry in self.entries.items() if entry[1] <= now]:
            del self.entries[sid]
        while self.alarms and self.alarms[0][0] <= now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is not None and entry[2] == when:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """,
    "scans every alarm": """
        now = time.time()
        due = [alarm for alarm in self.alarms if alarm[0] <= now]
        self.alarms = [alarm for alarm in self.alarms if alarm[0] > now]
        heapq.heapify(self.alarms)
        for when, sid in due:
            entry = self.entries.get(sid)
            if entry is None or entry[2] != when:
                continue
            if entry[1] <= now:
                del self.entries[sid]
            else:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """,
    "forgets that a destroyed entry's alarm may still ring": """
        now = time.time()
        while self.alarms and self.alarms[0][0] <= now:
            when, sid = heapq.heappop(self.alarms)
            entry = self.entries[sid]
            if entry[1] <= now:
                del self.entries[sid]
            else:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """,
}


@pytest.mark.parametrize("body", WRONG_PRUNES.values(), ids=WRONG_PRUNES.keys())
def test_wrong_prunes_are_refused(tmp_path, body):
    assert judge(tmp_path, "2.3", body).startswith(WRONG)


def test_a_prune_that_re_arms_stale_alarms_too_is_accepted(tmp_path):
    """Without the ``entry[2] != when`` test a stale alarm re-arms a live entry: a spare
    alarm, harmless (it is skipped or re-armed once more when it rings)."""
    body = """
        now = time.time()
        while self.alarms and self.alarms[0][0] <= now:
            _, sid = heapq.heappop(self.alarms)
            entry = self.entries.get(sid)
            if entry is None:
                continue
            if entry[1] <= now:
                del self.entries[sid]
            else:
                self.entries[sid] = (entry[0], entry[1], entry[1])
                heapq.heappush(self.alarms, (entry[1], sid))
    """
    assert judge(tmp_path, "2.3", body) == PASS


WRONG_GETS = {
    "returns the stored text": """
        with self._lock:
            found = self._entries.get(sid)
        return None if found is None else found[0]
    """,
    "returns the entry": """
        with self._lock:
            return self._entries.get(sid)
    """,
    "one dict for every caller": """
        with self._lock:
            found = self._entries.get(sid)
            if found is None:
                return None
            cache = self.__dict__.setdefault("_dicts", {})
            return cache.setdefault(found[0], json.loads(found[0]))
    """,
    "reads the dict behind the heap, expired entries included": """
        with self._lock:
            entry = self._entries.entries.get(sid)
        return None if entry is None else json.loads(entry[0])
    """,
    "without the lock": """
        found = self._entries.get(sid)
        return None if found is None else json.loads(found[0])
    """,
}


@pytest.mark.parametrize("body", WRONG_GETS.values(), ids=WRONG_GETS.keys())
def test_wrong_gets_are_refused(tmp_path, body):
    assert judge(tmp_path, "2.4", body).startswith(WRONG)


WRONG_SETS = {
    "ignores the cookie's expiry": """
        with self._lock:
            self._entries.put(sid, compact_json(data), time.time() + self.ttl)
    """,
    "keeps the dict itself": """
        with self._lock:
            self._entries.put(sid, data, self._expiry(data))
    """,
    "json.dumps with spaces": """
        with self._lock:
            self._entries.put(sid, json.dumps(data), self._expiry(data))
    """,
    "no ttl for a cookie without expiry": """
        with self._lock:
            self._entries.put(sid, compact_json(data), expires_at(data))
    """,
    "without the lock": """
        self._entries.put(sid, compact_json(data), self._expiry(data))
    """,
    "an expired session is kept a day": """
        with self._lock:
            expiry = max(self._expiry(data), time.time() + self.ttl)
            self._entries.put(sid, compact_json(data), expiry)
    """,
}


@pytest.mark.parametrize("body", WRONG_SETS.values(), ids=WRONG_SETS.keys())
def test_wrong_sets_are_refused(tmp_path, body):
    assert judge(tmp_path, "2.5", body).startswith(WRONG)


WRONG_TOUCHES = {
    "rewrites the session (touch as set)": """
        self.set(sid, data)
    """,
    "rewrites the data under the lock": """
        with self._lock:
            if self._entries.get(sid) is not None:
                self._entries.put(sid, compact_json(data), self._expiry(data))
    """,
    "creates a missing session": """
        with self._lock:
            found = self._entries.get(sid)
            text = compact_json(data) if found is None else found[0]
            self._entries.put(sid, text, self._expiry(data))
    """,
    "the store's ttl instead of the cookie's expiry": """
        with self._lock:
            found = self._entries.get(sid)
            if found is not None:
                self._entries.put(sid, found[0], time.time() + self.ttl)
    """,
    "read and write in two steps, the old cookie's expiry": """
        current = self.get(sid)
        if current is not None:
            self.set(sid, current)
    """,
    "without the lock": """
        found = self._entries.get(sid)
        if found is not None:
            self._entries.put(sid, found[0], self._expiry(data))
    """,
    "the lock taken twice: a destroy slips in between": """
        with self._lock:
            found = self._entries.get(sid)
        if found is not None:
            with self._lock:
                self._entries.put(sid, found[0], self._expiry(data))
    """,
}


@pytest.mark.parametrize("body", WRONG_TOUCHES.values(), ids=WRONG_TOUCHES.keys())
def test_wrong_touches_are_refused(tmp_path, body):
    assert judge(tmp_path, "2.6", body).startswith(WRONG)


def test_a_check_says_what_is_wrong_in_words_a_learner_can_act_on(tmp_path):
    result = judge(
        tmp_path, "2.2", WRONG_PUTS["an alarm on every put: the heap grows with every request"]
    )
    assert "grows with every request" in result
    result = judge(
        tmp_path, "2.2", WRONG_PUTS["the new expiry compared with the old expiry, not the alarm"]
    )
    assert "the entry's alarm (entry[2]), not its old expiry" in result
    result = judge(tmp_path, "2.2", WRONG_PUTS["never prunes: writes leave what expired"])
    assert "self.prune()" in result
    result = judge(tmp_path, "2.3", WRONG_PRUNES["drops a session extended since its alarm"])
    assert "moved later" in result
    assert "lock" in judge(tmp_path, "2.4", WRONG_GETS["without the lock"])
    assert "cookie.expires" in judge(tmp_path, "2.5", WRONG_SETS["ignores the cookie's expiry"])
    assert "created" in judge(tmp_path, "2.6", WRONG_TOUCHES["creates a missing session"])
    result = judge(
        tmp_path, "2.6", WRONG_TOUCHES["the lock taken twice: a destroy slips in between"]
    )
    assert "lock 2 times" in result


# -- the notebook and the quiz ---------------------------------------------------------------


def test_every_hole_is_followed_by_its_check_and_every_check_is_in_the_lesson():
    from coursekit.exercises import _EXERCISES

    cells = [c.source for c in nbformat.read(SOLUTION, as_version=4).cells if c.cell_type == "code"]
    checked = set(re.findall(r'coursekit\.check\("(\d+\.\d+)"', "\n".join(cells)))
    for source, following in zip(cells, cells[1:], strict=False):
        if "### BEGIN SOLUTION" in source:
            assert "coursekit.check(" in following, source[:60]
    assert checked == {id for id in _EXERCISES if id.startswith("2.")}


def test_the_quiz_marks_the_right_answers_right(capsys):
    from coursekit.exercises import _QUIZZES, quiz

    quiz(2)
    questions = _QUIZZES[2]
    assert 5 <= len(questions) <= 7
    quiz(2, {n: q.answer for n, q in enumerate(questions, start=1)})
    assert f"{len(questions)}/{len(questions)} right" in capsys.readouterr().out
