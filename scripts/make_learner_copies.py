"""Generate the learner notebooks from the solution notebooks (single source of truth).

``solutions/NN_topic.ipynb`` holds each lesson with its solutions between
nbgrader-style ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines; the learner copy
``notebooks/NN_topic.ipynb`` gets ``raise NotImplementedError()`` in their place and no
outputs. Run it after editing a lesson; ``--check`` fails when a copy is stale.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LEARNER = ROOT / "notebooks"
BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB = "# YOUR CODE HERE\n{indent}raise NotImplementedError()"


def strip_solutions(source: str) -> str:
    """Replace every solution region by a stub at the region's own indentation."""
    out: list[str] = []
    indent: str | None = None
    for line in source.splitlines():
        if indent is None:
            match = BEGIN.match(line)
            if match:
                indent = match["indent"]
                out.append(indent + STUB.format(indent=indent))
            else:
                out.append(line)
        elif END.match(line):
            indent = None
    if indent is not None:
        raise ValueError("### BEGIN SOLUTION without ### END SOLUTION")
    return "\n".join(out)


def clear_outputs(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)


def learner_copy(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's version of a solution notebook."""
    notebook = copy.deepcopy(solution)
    clear_outputs(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
    return notebook


def expected_copies() -> dict[Path, str]:
    """Every learner notebook path with the text it should hold."""
    copies = {}
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        copies[LEARNER / path.name] = nbformat.writes(learner_copy(solution)) + "\n"
    return copies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if any copy is stale")
    args = parser.parse_args()
    stale = []
    for path, text in expected_copies().items():
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path)
            if not args.check:
                path.write_text(text)
    if args.check and stale:
        names = ", ".join(p.name for p in stale)
        print(f"stale learner copies: {names}; run python scripts/make_learner_copies.py")
        return 1
    verb = "stale" if args.check else "written"
    print(f"{len(stale)} learner notebook(s) {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
