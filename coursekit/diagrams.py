"""Mermaid diagrams in notebook output (JupyterLab 4.1+ renders ``text/vnd.mermaid``)."""

from __future__ import annotations

from IPython.display import display

__all__ = ["Mermaid", "show_mermaid"]


class Mermaid:
    """A Mermaid diagram; JupyterLab draws it, a terminal shows its source."""

    def __init__(self, source: str) -> None:
        self.source = source.strip()

    def _repr_mimebundle_(self, include=None, exclude=None):  # noqa: ANN001 (IPython hook)
        return {"text/vnd.mermaid": self.source, "text/plain": self.source}

    def __str__(self) -> str:
        return self.source


def show_mermaid(source: str) -> None:
    """Display a Mermaid diagram (returns nothing, so a cell doesn't draw it twice)."""
    display(Mermaid(source))
