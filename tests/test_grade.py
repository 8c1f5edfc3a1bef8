"""Grading a class: ``python -m coursekit.grade SUBMISSIONS --out DIR --timeout S`` on three
learners, built here from the course's own notebooks, and the table a teacher reads.

- ``ada_complete`` hands in the solutions of lessons 2 and 3, in nbgrader's
  ``submitted/<learner>/<assignment>/`` layout;
- ``bob_broken`` hands in lesson 3's solution with two cells a learner added: one raises,
  one sleeps past the time limit, in the middle of the notebook;
- ``cy_partial`` hands in lesson 3's learner copy with one hole filled in, exercise 3.1's,
  from the solution cell of the same id, and beside it an older draft of lesson 3 (the
  whole solution, which would pass every exercise if it were graded).

Only lessons 2 and 3, and a short time limit, so that the whole class is graded in about a
minute.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from coursekit import grade
from coursekit.package import MARKERS, STUB

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
SIGNING = "03_signing.ipynb"
TIMEOUT = 10  # seconds a cell may run: the course's slowest cell takes under one
EXERCISES_3 = ["3.1", "3.2", "3.3", "3.4"]


def check_cell(notebook: nbformat.NotebookNode, exercise: str) -> int:
    """The index of the cell that runs ``exercise``'s self-check."""
    (index,) = [
        i
        for i, cell in enumerate(notebook.cells)
        if f'coursekit.check("{exercise}")' in cell.source
    ]
    return index


def with_one_hole_filled(lesson: str, exercise: str) -> nbformat.NotebookNode:
    """The learner copy of ``lesson`` with the hole ``exercise`` checks (the last cell with
    a stub before its check) filled in as the solution cell of the same id fills it."""
    copy = nbformat.read(NOTEBOOKS / lesson, as_version=4)
    solution = {cell.id: cell for cell in nbformat.read(SOLUTIONS / lesson, as_version=4).cells}
    holes = [cell for cell in copy.cells[: check_cell(copy, exercise)] if STUB.search(cell.source)]
    hole = holes[-1]
    hole.source = MARKERS.sub("", solution[hole.id].source)  # as a learner types it
    assert not STUB.search(hole.source) and "def " in hole.source
    return copy


def write(notebook: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def make_class(submissions: Path) -> None:
    """The three learners' folders, as a teacher collects them."""
    for lesson, assignment in [("02_ids_and_stores.ipynb", "lesson02"), (SIGNING, "lesson03")]:
        notebook = nbformat.read(SOLUTIONS / lesson, as_version=4)
        write(notebook, submissions / "ada_complete" / assignment / lesson)

    broken = nbformat.read(SOLUTIONS / SIGNING, as_version=4)
    stuck = check_cell(broken, "3.2") + 1  # 3.1 and 3.2 are checked, 3.3 and 3.4 never are
    broken.cells.insert(stuck, new_code_cell("import time\n\ntime.sleep(600)  # waits for ever"))
    broken.cells.insert(1, new_code_cell("print(signed_by_hnad)  # a typo: NameError"))
    write(broken, submissions / "bob_broken" / SIGNING)

    draft = submissions / "cy_partial" / "drafts" / "03_signing_draft.ipynb"
    write(nbformat.read(SOLUTIONS / SIGNING, as_version=4), draft)
    os.utime(draft, (draft.stat().st_atime, draft.stat().st_mtime - 3600))  # an hour older
    write(with_one_hole_filled(SIGNING, "3.1"), submissions / "cy_partial" / SIGNING)


def passed_and_run(cell: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", cell)
    assert match, f"lesson tests should read passed/run, not {cell!r}"
    return int(match[1]), int(match[2])


@pytest.mark.slow
@pytest.mark.notebooks
def test_the_grade_table_shows_each_learner_what_their_notebooks_and_package_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)  # the course's default: fakeredis
    make_class(tmp_path / "submitted")
    out = tmp_path / "grades"

    code = grade.main([str(tmp_path / "submitted"), "--out", str(out), "--timeout", str(TIMEOUT)])

    assert code == 0
    assert "written:" in capsys.readouterr().out
    with (out / "grades.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    rows = {row["learner"]: row for row in table}
    assert list(rows) == ["ada_complete", "bob_broken", "cy_partial"]
    exercises = [column for column in table[0] if re.fullmatch(r"\d+\.\d+", column)]
    assert exercises == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", *EXERCISES_3]

    # Complete: every exercise passes, every lesson test passes, nothing to report.
    ada = rows["ada_complete"]
    assert {ada[e] for e in exercises} == {"pass"}, ada
    for lesson in (2, 3):
        passed, run = passed_and_run(ada[f"lesson {lesson} tests"])
        assert passed == run > 0, ada
    assert ada["problems"] == ""

    # Partial: the one exercise filled in passes, the others are still to do, so some of
    # the lesson's tests fail; lesson 2 was not handed in; the older draft was not graded.
    cy = rows["cy_partial"]
    assert [cy[e] for e in EXERCISES_3] == ["pass", "todo", "todo", "todo"], cy
    passed, run = passed_and_run(cy["lesson 3 tests"])
    assert 0 < passed < run, cy
    assert run == passed_and_run(ada["lesson 3 tests"])[1]  # the same tests, on her package
    assert {cy["2.1"], cy["lesson 2 tests"]} == {"—"}
    assert cy["problems"] == (
        f"lesson 3: graded the newest, {SIGNING}; not 03_signing_draft.ipynb"
    ), cy

    # Broken: the problem names the notebook, the time limit and the error; the verdicts
    # printed before the stuck cell still count, the exercises after it have none.
    bob = rows["bob_broken"]
    assert bob["problems"].startswith(f"{SIGNING}: "), bob
    assert f"ran past {TIMEOUT} s" in bob["problems"], bob
    assert "1 cell(s) raised (NameError)" in bob["problems"], bob  # not the stuck cell
    assert [bob[e] for e in EXERCISES_3] == ["pass", "pass", "—", "—"], bob
    passed_and_run(bob["lesson 3 tests"])  # the package his setup cell wrote was tested

    # grades.md is the same table, for reading.
    lines = (out / "grades.md").read_text().splitlines()
    assert lines[0] == "| " + " | ".join(table[0]) + " |"
    for line, row in zip(lines[2:], table, strict=True):
        assert line == "| " + " | ".join(row.values()) + " |"


def test_a_notebook_that_cannot_be_read_is_reported_and_not_run(tmp_path: Path) -> None:
    damaged = tmp_path / SIGNING
    damaged.write_text('{"cells": [')  # cut off in the upload

    printed, problem = grade.run_notebook(damaged, tmp_path, TIMEOUT)

    assert printed == ""
    assert problem is not None and problem.startswith(f"{SIGNING}: not a notebook"), problem
