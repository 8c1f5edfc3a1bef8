"""Show the library's real source in a notebook: never a second copy that can drift."""

from __future__ import annotations

import inspect
from typing import Any

from IPython.display import Markdown

__all__ = ["show_source"]


def show_source(obj: Any, lines: tuple[int, int] | None = None) -> Markdown:
    """The source of a function, class or module, as a highlighted code block.

    ``lines=(first, last)`` keeps a slice (1-based, inclusive) of a long source.
    """
    source = inspect.getsource(obj)
    if lines is not None:
        first, last = lines
        source = "\n".join(source.splitlines()[first - 1 : last])
    where = f"{inspect.getmodule(obj).__name__}.{getattr(obj, '__qualname__', '')}".rstrip(".")
    return Markdown(f"`{where}`\n```python\n{source}\n```")
