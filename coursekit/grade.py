"""Grade a class: ``python -m coursekit.grade SUBMISSIONS [--out DIR] [--timeout S]``.

``SUBMISSIONS`` holds one folder per learner, with that learner's lesson notebooks
anywhere inside it (nbgrader's ``submitted/<learner>/<assignment>/`` works as it is; of
two notebooks for one lesson, the newest is graded).
For each learner, each notebook runs in a kernel of its own, in lesson order, in a
scratch folder, so its ``#| export`` cells build the learner's package there (the course's
learner copies stand in for lessons not handed in); a notebook that fails or
runs past the time limit is marked and the rest go on. Then each lesson's
tests run on that package (``pytest -m lessonN --impl mine``). The result is one table,
``grades.csv`` and ``grades.md``: per learner, each exercise's verdict and each lesson's
tests passed out of run.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .package import ROOT, lesson_notebooks

VERDICT = re.compile(r"^(✅ PASS|⏳ NOT DONE YET|❌ NOT YET RIGHT) Exercise (\S+):", re.M)
SHORT = {"✅ PASS": "pass", "⏳ NOT DONE YET": "todo", "❌ NOT YET RIGHT": "wrong"}
LESSON = re.compile(r"^(\d\d)_\w+\.ipynb$")
SUMMARY = re.compile(r"(\d+) (passed|failed|errors?)\b")

__all__ = ["Grade", "grade_learner", "main"]


@dataclass
class Grade:
    """What one learner's submission did."""

    learner: str
    exercises: dict[str, str] = field(default_factory=dict)  # "3.1": pass | todo | wrong
    lessons: dict[int, str] = field(default_factory=dict)  # 3: "12/14" lesson tests passed
    problems: list[str] = field(default_factory=list)  # notebooks failed, timed out, left out


def _printed(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(  # a verdict begins a line even after output without a newline
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def run_notebook(path: Path, folder: Path, timeout: float) -> tuple[str, str | None]:
    """Run ``path`` from ``folder`` in a fresh kernel: what it printed, and the problem."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:  # NotJSONError, a validation error: not a notebook
        return "", f"{path.name}: not a notebook that can be read ({type(error).__name__})"
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # an exercise that raises must not hide the others' verdicts
        resources={"metadata": {"path": str(folder)}},
    )
    stopped = None
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    try:
        client.execute()
    except (CellTimeoutError, TimeoutError):
        stopped = f"a cell ran past {timeout:g} s"
        # That cell, the last one begun, shows the KeyboardInterrupt of the kernel's
        # shutdown: an error of the grader's, not of the learner's.
        begun = [cell for cell in cells if cell.get("execution_count") is not None]
        cells = [cell for cell in cells if cell is not begun[-1]] if begun else cells
    except (CellExecutionError, DeadKernelError, RuntimeError) as error:  # RuntimeError:
        stopped = f"stopped: {type(error).__name__}"  # the kernel did not start
    errors = [
        f"{output.get('ename')}"
        for cell in cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    found = [stopped] if stopped else []  # errors before a timeout are reported too
    if errors:
        found.append(f"{len(errors)} cell(s) raised ({', '.join(sorted(set(errors)))})")
    return _printed(notebook), f"{path.name}: {', '.join(found)}" if found else None


def lesson_tests(package: Path, lesson: int, timeout: float) -> str:
    """``passed/run`` of lesson ``lesson``'s tests on ``package``, or why they did not run.
    They may take five times a cell's ``timeout``, and ten minutes at least: collecting the
    suite alone takes seconds, whatever the limit for a cell."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", f"lesson{lesson}", "--impl", "mine", f"--mine={package}"]
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=max(timeout * 5, 600)
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    # Only pytest's last line counts: a failure's message may say "2 failed" too.
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    counts = {kind: int(number) for number, kind in SUMMARY.findall(summary)}
    passed = counts.get("passed", 0)
    run = passed + counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if run:
        return f"{passed}/{run}"
    # 5: none collected; otherwise the package could not even be imported (exit 3 or 4).
    return "no tests" if done.returncode == 5 else f"did not run (pytest exit {done.returncode})"


def grade_learner(learner: str, notebooks: list[Path], timeout: float) -> Grade:
    """Run one learner's notebooks, then the lesson tests on the package they built."""
    grade = Grade(learner)
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        folder = Path(scratch)
        for path in newest_per_lesson(notebooks, grade.problems):
            shutil.copy(path, folder / path.name)
        # The first setup cell writes the package from these and, for the lessons not
        # handed in, the course's learner copies (their stubs: "not written yet").
        handed_in = lesson_notebooks(folder)
        package = folder / "my_sessionlib"
        previous = os.environ.get("SESSIONLIB_MINE")
        os.environ["SESSIONLIB_MINE"] = str(package)
        try:
            for path in handed_in:
                printed, problem = run_notebook(path, folder, timeout)
                for verdict, exercise in VERDICT.findall(printed):
                    grade.exercises[exercise] = SHORT[verdict]
                if problem:
                    grade.problems.append(problem)
        finally:
            if previous is None:
                os.environ.pop("SESSIONLIB_MINE", None)
            else:
                os.environ["SESSIONLIB_MINE"] = previous
        lessons = sorted({int(path.name[:2]) for path in handed_in})
        if (package / "__init__.py").exists():
            for lesson in lessons:
                grade.lessons[lesson] = lesson_tests(package, lesson, timeout)
        else:
            grade.problems.append("no package was built (did the first lesson's setup run?)")
    return grade


def newest_per_lesson(notebooks: list[Path], problems: list[str]) -> list[Path]:
    """One notebook per lesson number: when a learner handed in two (a draft beside the
    final one), the newest is graded and ``problems`` names the ones left out."""
    by_lesson: dict[str, list[Path]] = {}
    for path in notebooks:
        by_lesson.setdefault(path.name[:2], []).append(path)
    kept = []
    for number, paths in sorted(by_lesson.items()):
        newest, *older = sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True)
        kept.append(newest)
        if older:
            left_out = ", ".join(p.name for p in older)
            note = f"lesson {int(number)}: graded the newest, {newest.name}; not {left_out}"
            problems.append(note)
    return kept


def submissions(root: Path) -> dict[str, list[Path]]:
    """Each learner's lesson notebooks: the folders directly in ``root`` are the learners."""
    found: dict[str, list[Path]] = {}
    for learner in sorted(p for p in root.iterdir() if p.is_dir()):
        notebooks = [p for p in learner.rglob("*.ipynb") if LESSON.match(p.name)]
        notebooks = [p for p in notebooks if ".ipynb_checkpoints" not in p.parts]
        if notebooks:
            found[learner.name] = sorted(notebooks, key=lambda p: p.name)
    return found


def write_tables(grades: list[Grade], out: Path) -> tuple[Path, Path]:
    """``grades.csv`` and ``grades.md`` in ``out``: one row per learner."""
    exercises = sorted({e for g in grades for e in g.exercises}, key=_exercise_order)
    lessons = sorted({n for g in grades for n in g.lessons})
    header = ["learner", *exercises, *[f"lesson {n} tests" for n in lessons], "problems"]
    rows = [
        [
            g.learner,
            *[g.exercises.get(e, "—") for e in exercises],
            *[g.lessons.get(n, "—") for n in lessons],
            "; ".join(g.problems) or "",
        ]
        for g in grades
    ]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "grades.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    (out / "grades.md").write_text("\n".join(lines) + "\n")
    return out / "grades.csv", out / "grades.md"


def _exercise_order(exercise: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in exercise.split("."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="one folder per learner")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="where the tables go")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a cell may run")
    args = parser.parse_args(argv)
    grades = []
    for learner, notebooks in submissions(args.submissions).items():
        print(f"grading {learner}: {len(notebooks)} notebook(s)", flush=True)
        grades.append(grade_learner(learner, notebooks, args.timeout))
    csv_path, md_path = write_tables(grades, args.out)
    print(md_path.read_text())
    print(f"written: {csv_path}, {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
