"""``Table``: rows a notebook shows as an HTML table and a terminal shows as text."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Table", "shorten"]


def shorten(text: Any, limit: int = 60) -> str:
    """One line, at most ``limit`` characters, with an ellipsis where it was cut."""
    text = "" if text is None else str(text)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Table:
    """A titled table of rows; renders as HTML in JupyterLab and as aligned text elsewhere."""

    def __init__(
        self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None
    ) -> None:
        self.columns = list(columns)
        self.rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
        self.title = title

    def column(self, name: str) -> list[str]:
        """The cells of one column, top to bottom (handy in self-checks)."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left;font-family:monospace'>{html.escape(cell)}</td>"
                for cell in row
            )
            + "</tr>"
            for row in self.rows
        )
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
            if self.title
            else ""
        )
        return (
            f"<table class='coursekit'>{caption}"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        line = "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))
        rule = "  ".join("-" * w for w in widths)
        body = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            for row in self.rows
        ]
        return "\n".join(([self.title] if self.title else []) + [line, rule, *body])

    __repr__ = __str__
