"""Lesson 0's exercises: each check passes the solution, says "not done yet" to the stub,
and refuses the wrong answers a learner plausibly writes (issue 14: 0.2 used to accept a
Set-Cookie header, 0.3 used to accept ``return k``).

The exercises are functions written in the notebook, so the answers here are functions
too, written as a learner would write them in the exercise's cell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson0


def stub(*args: Any) -> Any:
    raise NotImplementedError()


def wrong(id: str, answer: Callable[..., Any]) -> str:
    result = verdict(id, answer)
    assert result.startswith(WRONG), f"{answer.__name__} was not refused: {result}"
    return result


# -- 0.1 count with one jar ----------------------------------------------------------------


def visit_counts(url, times):
    jar = requests.Session()
    return [int(jar.get(url).text) for _ in range(times)]


def visit_counts_with_plain_requests(url, times):
    return [int(requests.get(url).text) for _ in range(times)]


_shared_jar = requests.Session()


def visit_counts_with_one_jar_for_every_call(url, times):
    return [int(_shared_jar.get(url).text) for _ in range(times)]


def visit_counts_as_text(url, times):
    jar = requests.Session()
    return [jar.get(url).text for _ in range(times)]


def visit_counts_one_too_many(url, times):
    jar = requests.Session()
    return [int(jar.get(url).text) for _ in range(times + 1)]


def visit_counts_skipping_the_first(url, times):
    jar = requests.Session()
    jar.get(url)
    return [int(jar.get(url).text) for _ in range(times)]


def visit_counts_new_jar_per_visit(url, times):
    return [int(requests.Session().get(url).text) for _ in range(times)]


def visit_counts_of_responses(url, times):
    jar = requests.Session()
    return [jar.get(url) for _ in range(times)]


def visit_counts_printed(url, times):
    jar = requests.Session()
    for _ in range(times):
        print(jar.get(url).text)


def visit_counts_made_up(url, times):
    return list(range(1, times + 1))


def test_0_1_passes_the_solution_and_waits_for_the_stub() -> None:
    assert verdict("0.1", visit_counts) == PASS
    assert verdict("0.1", stub) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        visit_counts_with_plain_requests,
        visit_counts_with_one_jar_for_every_call,
        visit_counts_as_text,
        visit_counts_one_too_many,
        visit_counts_skipping_the_first,
        visit_counts_new_jar_per_visit,
        visit_counts_of_responses,
        visit_counts_printed,
    ],
)
def test_0_1_refuses(answer: Callable[..., Any]) -> None:
    wrong("0.1", answer)


def test_0_1_says_why_plain_requests_fail() -> None:
    assert "nothing kept the cookie" in wrong("0.1", visit_counts_with_plain_requests)
    assert "new visitor" in wrong("0.1", visit_counts_with_one_jar_for_every_call)


def test_0_1_refuses_counts_the_server_never_answered() -> None:
    """A new visitor's counts are always 1, 2, 3...: the check also asks the server what
    it received, so a list made up without visiting is refused."""
    assert "the server received 0 request(s)" in wrong("0.1", visit_counts_made_up)


# -- 0.2 the header that carries you ---------------------------------------------------------


def second_cookie_header(url):
    jar = requests.Session()
    jar.get(url)
    return jar.get(url).request.headers["Cookie"]


def second_cookie_header_set_cookie_of_a_plain_request(url):
    return requests.get(url).headers["Set-Cookie"]


def second_cookie_header_set_cookie_of_the_first_response(url):
    jar = requests.Session()
    return jar.get(url).headers["Set-Cookie"]


def second_cookie_header_set_cookie_of_the_second_response(url):
    jar = requests.Session()
    jar.get(url)
    return jar.get(url).headers["Set-Cookie"]


def second_cookie_header_get_set_cookie_of_the_second_response(url):
    jar = requests.Session()
    jar.get(url)
    return jar.get(url).headers.get("Set-Cookie")


def second_cookie_header_of_the_first_request(url):
    jar = requests.Session()
    response = jar.get(url)
    jar.get(url)
    return response.request.headers.get("Cookie")


def second_cookie_header_from_plain_requests(url):
    requests.get(url)
    return requests.get(url).request.headers.get("Cookie")


def second_cookie_header_value_only(url):
    jar = requests.Session()
    jar.get(url)
    return jar.cookies["connect.sid"]


def second_cookie_header_value_after_two_requests(url):
    jar = requests.Session()
    jar.get(url)
    jar.get(url)
    return jar.cookies.get("connect.sid")


def second_cookie_header_all_request_headers(url):
    jar = requests.Session()
    jar.get(url)
    return jar.get(url).request.headers


def second_cookie_header_the_cookie_jar(url):
    jar = requests.Session()
    jar.get(url)
    return jar.get(url).cookies


def second_cookie_header_response_cookies_as_text(url):
    jar = requests.Session()
    response = jar.get(url)
    return "; ".join(f"{c.name}={c.value}" for c in response.cookies) + "; Path=/"


def test_0_2_passes_the_solution_and_waits_for_the_stub() -> None:
    assert verdict("0.2", second_cookie_header) == PASS
    assert verdict("0.2", stub) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        second_cookie_header_set_cookie_of_a_plain_request,
        second_cookie_header_set_cookie_of_the_first_response,
        second_cookie_header_set_cookie_of_the_second_response,
        second_cookie_header_get_set_cookie_of_the_second_response,
        second_cookie_header_of_the_first_request,
        second_cookie_header_from_plain_requests,
        second_cookie_header_value_only,
        second_cookie_header_value_after_two_requests,
        second_cookie_header_all_request_headers,
        second_cookie_header_the_cookie_jar,
        second_cookie_header_response_cookies_as_text,
    ],
)
def test_0_2_refuses(answer: Callable[..., Any]) -> None:
    wrong("0.2", answer)


def test_0_2_names_the_set_cookie_mix_up() -> None:
    """The mix-up the lesson teaches: Set-Cookie is the server's, Cookie is the jar's."""
    assert "Set-Cookie" in wrong("0.2", second_cookie_header_set_cookie_of_a_plain_request)


# -- 0.3 what forgetful clients cost the server --------------------------------------------


def sessions_left_by_plain_requests(url, k, store):
    before = store.length()
    for _ in range(k):
        requests.get(url)
    return store.length() - before


def sessions_left_return_k(url, k, store):
    for _ in range(k):
        requests.get(url)
    return k


def sessions_left_return_k_without_requests(url, k, store):
    return k


def sessions_left_total(url, k, store):
    for _ in range(k):
        requests.get(url)
    return store.length()


def sessions_left_reversed(url, k, store):
    before = store.length()
    for _ in range(k):
        requests.get(url)
    return before - store.length()


def sessions_left_with_one_jar(url, k, store):
    jar = requests.Session()
    before = store.length()
    for _ in range(k):
        jar.get(url)
    return store.length() - before


def sessions_left_one_request_short(url, k, store):
    before = store.length()
    for _ in range(k - 1):
        requests.get(url)
    return store.length() - before


def sessions_left_counted_before_the_requests(url, k, store):
    before = store.length()
    after = store.length()
    for _ in range(k):
        requests.get(url)
    return after - before


def sessions_left_counting_set_cookie_headers(url, k, store):
    return sum("Set-Cookie" in requests.get(url).headers for _ in range(k)) or k


def test_0_3_passes_the_solution_and_waits_for_the_stub() -> None:
    assert verdict("0.3", sessions_left_by_plain_requests) == PASS
    assert verdict("0.3", stub) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        sessions_left_return_k,
        sessions_left_return_k_without_requests,
        sessions_left_total,
        sessions_left_reversed,
        sessions_left_with_one_jar,
        sessions_left_one_request_short,
        sessions_left_counted_before_the_requests,
        sessions_left_counting_set_cookie_headers,
    ],
)
def test_0_3_refuses(answer: Callable[..., Any]) -> None:
    wrong("0.3", answer)


def test_0_3_says_to_measure_when_the_answer_is_assumed() -> None:
    assert "/peek" in wrong("0.3", sessions_left_return_k)


# -- the checks' server ----------------------------------------------------------------------


def test_a_check_starts_its_server_again_after_all_servers_were_stopped() -> None:
    """Run All used to end with LiveServer.stop_all(); a check run after it must still work."""
    from coursekit import LiveServer

    assert verdict("0.1", visit_counts) == PASS
    LiveServer.stop_all()
    assert verdict("0.1", visit_counts) == PASS


# -- the quiz -----------------------------------------------------------------------------------


def test_the_quiz_has_about_five_questions_each_with_its_answer_among_the_choices() -> None:
    from coursekit.exercises import _QUIZZES, _load

    _load(0)
    questions = _QUIZZES[0]
    assert 4 <= len(questions) <= 7
    for q in questions:
        assert q.answer in q.choices and q.why
