"""Exercises, predictions and quizzes, kept out of the notebooks.

Each lesson's checks, hints and quiz live in ``coursekit/lessons/lessonNN.py``, so a
notebook shows neither the answers nor the hints: ``check("3.1")`` runs the check and
prints one verdict, ``hint("3.1")`` shows the next hint, but only after an attempt that
failed; ``quiz(3)`` shows the questions and ``quiz(3, {1: "b", ...})`` marks them.

A check is a function that raises ``AssertionError`` (with a message a learner can act
on) when the answer is wrong. It is called with the learner's package as the lesson's
tests see it (``package.for_checks``: the lesson's own stubs kept, the reference standing
in for other lessons' unfinished cells) unless the notebook passes the answer itself.
Whatever it raises, the learner sees a verdict and a pointer to the hints, never a
traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PASS",
    "TODO",
    "WRONG",
    "Exercise",
    "Question",
    "check",
    "compare",
    "exercise",
    "hint",
    "judged",
    "quiz",
    "question",
    "verdict",
]

PASS, TODO, WRONG = "✅ PASS", "⏳ NOT DONE YET", "❌ NOT YET RIGHT"


@dataclass
class Exercise:
    """One exercise: its check, and hints revealed one at a time."""

    id: str
    title: str
    test: Callable[..., Any]
    hints: list[str]
    uses_package: bool = True  # called with the learner's package when no answer is given
    failures: int = 0
    shown: int = 0


@dataclass
class Question:
    """A quiz question: choices by letter, the right letter, and why."""

    text: str
    choices: dict[str, str]
    answer: str
    why: str


_EXERCISES: dict[str, Exercise] = {}
_QUIZZES: dict[int, list[Question]] = {}


def exercise(
    id: str, title: str, hints: list[str], uses_package: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the check of exercise ``id``."""

    def register(test: Callable[..., Any]) -> Callable[..., Any]:
        _EXERCISES[id] = Exercise(id, title, test, hints, uses_package)
        return test

    return register


def question(lesson: int, text: str, choices: dict[str, str], answer: str, why: str) -> None:
    """Add a question to lesson ``lesson``'s quiz."""
    _QUIZZES.setdefault(lesson, []).append(Question(text, choices, answer, why))


def _load(lesson: int) -> None:
    importlib.import_module(f"coursekit.lessons.lesson{lesson:02d}")


def _find(id: str) -> Exercise:
    if id not in _EXERCISES:
        _load(int(id.split(".")[0]))
    return _EXERCISES[id]


def judged(lib: Any, *names: str) -> Any:
    """The package a check judges. For the learner's own (``my_sessionlib...``): the
    reference, with only the learner's cells that define ``names`` as they stand, stubs
    included, so an unfinished neighbour never decides this verdict. Any other package (a
    test's variant) as it is."""
    if not getattr(lib, "__name__", "").startswith("my_sessionlib"):
        return lib
    from .package import for_checks

    return for_checks(0, only=set(names))


def verdict(id: str, *answer: Any) -> str:
    """Run exercise ``id``'s check: ``PASS``, ``TODO`` (a stub is left) or ``WRONG: why``."""
    exercise = _find(id)
    try:
        if not answer and exercise.uses_package:
            from .package import for_checks

            answer = (for_checks(int(id.split(".")[0])),)
        exercise.test(*answer)
    except NotImplementedError:
        return TODO
    except AssertionError as error:
        return f"{WRONG}: {error}" if str(error) else WRONG
    except Exception as error:  # the learner's code failed: say how, without a traceback
        return f"{WRONG}: your code raised {type(error).__name__}: {error}"
    return PASS


def check(id: str, *answer: Any, hint: str | None = None) -> None:
    """Print the verdict on exercise ``id`` in one or two lines."""
    if hint is not None:  # the older form, check(title, test, hint=...), while lessons move
        from .checks import check as older

        return older(id, *answer, hint=hint)
    exercise = _find(id)
    result = verdict(id, *answer)
    print(f"{result.split(':')[0]} Exercise {id}: {exercise.title}")
    if result == TODO:
        print(
            "   Replace `raise NotImplementedError()` with your code, run that cell, then this one."
        )
    elif result != PASS:
        exercise.failures += 1
        print(f"   {result.partition(': ')[2] or 'Not what the server does.'}")
        if exercise.shown < len(exercise.hints):
            print(f'   Stuck? coursekit.hint("{id}") shows a hint.')


def hint(id: str) -> None:
    """Show the next hint for exercise ``id``, once an attempt has failed."""
    exercise = _find(id)
    if exercise.failures == 0:
        print(f"Try exercise {id} first: run its check. A hint is there after an attempt.")
        return
    if exercise.shown >= len(exercise.hints):
        print(f"No more hints for {id}: the solutions are in solutions/ for your teacher.")
        return
    exercise.shown += 1
    print(f"Hint {exercise.shown}/{len(exercise.hints)}: {exercise.hints[exercise.shown - 1]}")


def compare(guess: Any, actual: Any, why: str = "") -> None:
    """Say whether a prediction matched what happened (a prediction left as ... is skipped)."""
    if guess is ...:
        print(f"(no prediction) It was {actual!r}. {why}".rstrip())
    elif guess == actual:
        print(f"✅ You predicted {guess!r}, and so it was. {why}".rstrip())
    else:
        print(f"🔎 You predicted {guess!r}; it was {actual!r}. {why}".rstrip())


def quiz(lesson: int, answers: dict[int, str] | None = None) -> None:
    """Without answers: the questions. With them: a mark, and why for each one missed."""
    if lesson not in _QUIZZES:
        _load(lesson)
    questions = _QUIZZES[lesson]
    if answers is None:
        for number, q in enumerate(questions, start=1):
            print(f"{number}. {q.text}")
            for letter, text in q.choices.items():
                print(f"   {letter}) {text}")
        print(f"\nAnswer with coursekit.quiz({lesson}, {{1: 'a', 2: 'c', ...}}).")
        return
    if not any(str(value).strip() for value in answers.values()):
        print("Write your answers in my_answers first, e.g. {1: 'a', 2: 'c'}; then run this.")
        return
    right = 0
    for number, q in enumerate(questions, start=1):
        given = str(answers.get(number, "")).strip().lower()
        if given == q.answer:
            right += 1
        elif not given:
            print(f"{number}. not answered yet")
        else:
            print(f"{number}. not {given}: {q.why}")
    print(f"{right}/{len(questions)} right." + (" 🎉" if right == len(questions) else ""))
