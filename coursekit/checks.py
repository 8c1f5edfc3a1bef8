"""Self-checks for exercises: a clear pass, "not done yet", or a helpful hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["check", "PASS", "TODO", "HINT"]

PASS, TODO, HINT = "✅ PASS", "⏳ NOT DONE YET", "❌ NOT YET RIGHT"


def check(title: str, test: Callable[[], Any], hint: str) -> None:
    """Run ``test``; it passes when it returns without an AssertionError and not False.

    A ``NotImplementedError`` (the exercise stub) prints "not done yet"; a failed
    assertion or False prints the hint (and the assertion's message when it has one).
    The notebook keeps running either way, so "Run All" never stops at an exercise.
    Returns nothing, so the cell shows only the verdict.
    """
    try:
        outcome = test()
    except NotImplementedError:
        print(f"{TODO} {title}: replace `raise NotImplementedError()` with your code.")
        return
    except AssertionError as error:
        detail = f" ({error})" if str(error) else ""
        print(f"{HINT} {title}{detail}\n   Hint: {hint}")
        return
    if outcome is False:
        print(f"{HINT} {title}\n   Hint: {hint}")
        return
    print(f"{PASS} {title}")
