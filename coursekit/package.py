"""The library's one source is the solution notebooks: their ``#| export <module>`` cells,
in lesson order, are ``sessionlib/``. This module writes a package from notebooks with
nbdev's exporter, and keeps a learner's own package, ``my_sessionlib``, in step with the
cells they run.

nbdev makes one module per notebook (``#| default_exp``); here a lesson may begin several
modules and a module may grow over several lessons (``lifecycle`` in 4 and 6), so each
``#| export <module>`` cell names its module, and a module begins in the first notebook
that exports to it. nbdev's ``NBProcessor`` reads the directives and its ``ModuleMaker``
writes the files. Two things nbdev would add are done otherwise: the package's public
names are listed once, in its ``__init__`` (no ``__all__`` in every module), and imports
of the package become relative here, including those over several lines.

``python -m coursekit.package`` rewrites ``sessionlib/`` from the solutions; ``--check``
only says whether it differs.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "notebooks"
REFERENCE = ROOT / "sessionlib"
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)
STUB = re.compile(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(\)")
CHUNK = re.compile(r"^# %% (?P<notebook>\S+) #(?P<id>\S+)\n", re.M)  # and "# %% auto #0"

__all__ = [
    "Chunk",
    "chunks",
    "export",
    "lesson_notebooks",
    "package_sources",
    "for_checks",
    "load_package",
    "mine",
    "mine_folder",
    "start_lesson",
    "unfinished",
    "with_reference",
    "write_cell",
]


def lesson_notebooks(folder: Path) -> list[Path]:
    """The lessons in ``folder`` (``NN_topic.ipynb``), in order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def package_sources(folder: Path) -> list[Path]:
    """What a learner's package is first written from: the lessons in ``folder``, and the
    course's learner copies of those not there, so that a lesson opened on its own still
    gets a whole package (stubs standing for what is not written yet)."""
    here = lesson_notebooks(folder)
    numbers = {path.name[:2] for path in here}
    course = [path for path in lesson_notebooks(LESSONS) if path.name[:2] not in numbers]
    return sorted(here + course, key=lambda path: path.name)


def _export_cells(notebook: Path) -> dict[str, list[Any]]:
    from nbdev.export import ExportModuleProc
    from nbdev.process import NBProcessor

    exporter = ExportModuleProc()
    NBProcessor(str(notebook), [exporter]).process()
    return {module: cells for module, cells in exporter.modules.items() if module != "#"}


def export(notebooks: list[Path], dest: Path, name: str | None = None) -> list[Path]:
    """Write the package at ``dest`` from ``notebooks``' export cells; returns its files.

    Solution markers are dropped (the learner copies have stubs there instead). Cells
    import the package as ``sessionlib``; those imports are renamed to ``name`` (``dest``'s
    name unless given) and made relative by the exporter, so the package works under any name.
    """
    name = name or dest.name
    from nbdev.maker import ModuleMaker

    if dest.exists():
        for old in dest.rglob("*.py"):
            old.unlink()
    begun: set[str] = set()
    for notebook in notebooks:
        for module, cells in _export_cells(notebook).items():
            for cell in cells:
                source = MARKERS.sub("", cell.source)
                renamed = re.sub(
                    r"^(\s*)(from|import) sessionlib\b", rf"\1\2 {name}", source, flags=re.M
                )
                cell.set_source(renamed)
            new = module not in begun
            maker = ModuleMaker(dest, module, notebook, is_new=new, parse=False)
            maker.make(cells, cells, lib_path=dest.parent / name)
            begun.add(module)
    for path in dest.rglob("*.py"):
        _relative_imports(path, dest, name)
    return sorted(dest.rglob("*.py"))


def _relative_imports(path: Path, package: Path, name: str) -> None:
    """Make the package's imports of itself relative, so it works under any name."""
    module = path.relative_to(package).with_suffix("").parts
    path.write_text(relative_imports(path.read_text(), module, name))


def relative_imports(source: str, module: tuple[str, ...], package: str = "sessionlib") -> str:
    """``source`` with ``from <package>.x import`` made relative to ``module`` (its parts)."""
    folder = module[:-1]  # () at the top level, ("stores",) in stores/

    def relative(match: re.Match[str]) -> str:
        target = tuple(filter(None, (match["module"] or "").split(".")))
        shared = 0
        while shared < min(len(folder), len(target)) and folder[shared] == target[shared]:
            shared += 1
        dots = "." * (len(folder) - shared + 1)
        return f"{match['indent']}from {dots}{'.'.join(target[shared:])} import"

    pattern = rf"^(?P<indent>[ \t]*)from {package}(?P<module>(\.\w+)*) import"
    return re.sub(pattern, relative, source, flags=re.M)


@dataclass
class Chunk:
    """One exported cell as it stands in a module: where it came from, and its text."""

    module: str  # the file, relative to the package: "signing.py", "stores/memory.py"
    lesson: int
    cell_id: str
    text: str  # from the ``# %%`` line to the next one

    @property
    def names(self) -> set[str]:
        """The top-level names the cell defines (functions, classes, assignments, imports)."""
        return defined_names(self.text)

    @property
    def unfinished(self) -> bool:
        """True while an exercise stub is still in it."""
        return STUB.search(self.text) is not None


def defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def chunks(package: Path) -> list[Chunk]:
    """Every exported cell in the package at ``package``, module by module."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        marks = list(CHUNK.finditer(text))
        for mark, following in zip(marks, [*marks[1:], None], strict=True):
            if mark["notebook"] == "auto":  # nbdev's __all__, not a cell of a lesson
                continue
            end = following.start() if following else len(text)
            lesson = int(Path(mark["notebook"]).name[:2])
            module = path.relative_to(package).as_posix()
            found.append(Chunk(module, lesson, mark["id"], text[mark.start() : end]))
    return found


def unfinished(package: Path) -> list[Chunk]:
    """The cells of ``package`` that still hold an exercise stub."""
    return [chunk for chunk in chunks(package) if chunk.unfinished]


def with_reference(package: Path, keep: set[int], reference: Path = REFERENCE) -> dict[str, str]:
    """The package's modules, each unfinished cell of a lesson not in ``keep`` replaced by
    the reference's cell of the same id. Returns module path -> text."""
    by_id = {chunk.cell_id: chunk for chunk in chunks(reference)}
    texts = {p.relative_to(package).as_posix(): p.read_text() for p in package.rglob("*.py")}
    for chunk in unfinished(package):
        if chunk.lesson not in keep and chunk.cell_id in by_id:
            original = by_id[chunk.cell_id].text
            body = original[original.index("\n") + 1 :]  # its own ``# %%`` line stays
            head = chunk.text[: chunk.text.index("\n") + 1]
            texts[chunk.module] = texts[chunk.module].replace(chunk.text, head + body, 1)
    return texts


def load_package(texts: dict[str, str], name: str = "my_sessionlib") -> ModuleType:
    """Import the modules in ``texts`` as a fresh package called ``name``."""
    import importlib

    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
    where = Path(tempfile.mkdtemp(prefix="sessionlib-")) / name
    for relative, text in texts.items():
        (where / relative).parent.mkdir(parents=True, exist_ok=True)
        (where / relative).write_text(text)
    sys.path.insert(0, str(where.parent))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(where.parent))


# -- the learner's own package ---------------------------------------------------------
def mine_folder() -> Path:
    """Where the learner's package lives: ``$SESSIONLIB_MINE``, else ``my_sessionlib/``
    beside the lessons (the kernel's working folder)."""
    return Path(os.environ.get("SESSIONLIB_MINE") or Path.cwd() / "my_sessionlib")


def write_cell(package: Path, module: str, source: str) -> bool:
    """Put a run ``#| export <module>`` cell's code in place of its earlier text in the
    package: the cell that defines the same names. False when no such cell is there."""
    path = package / (module.replace(".", "/") + ".py")
    if not path.exists():
        return False
    text, names = path.read_text(), defined_names(source)
    parts = tuple(path.relative_to(package).with_suffix("").parts)
    for chunk in chunks(package):
        if chunk.module == path.relative_to(package).as_posix() and chunk.names == names:
            head, _, old = chunk.text.partition("\n")
            tail = old[len(old.rstrip("\n")) :]
            code = relative_imports(source.strip("\n"), parts)
            path.write_text(text.replace(chunk.text, f"{head}\n{code}{tail}", 1))
            return True
    return False


_STARTED: dict[str, Any] = {}


def start_lesson(lesson: int) -> Path:
    """Set a lesson's kernel up: the learner's package exists (written from the lessons in
    this folder when it does not), and each ``#| export`` cell run from now on is written
    into it. Returns the package's folder."""
    package = mine_folder()
    if not (package / "__init__.py").exists():
        export(package_sources(Path.cwd()), package)
    _STARTED.update(package=package, lesson=lesson)
    try:
        from IPython import get_ipython
    except ImportError:  # not in a notebook
        return package
    shell = get_ipython()
    if shell is not None and not _STARTED.get("hooked"):
        shell.events.register("post_run_cell", _write_exported_cell)
        _STARTED["hooked"] = True
    return package


def _write_exported_cell(result: Any) -> None:
    match = re.match(r"\s*#\|\s*export\s+(\S+)[^\n]*\n", result.info.raw_cell or "")
    if match is None or not result.success or "package" not in _STARTED:
        return
    if not write_cell(_STARTED["package"], match[1], result.info.raw_cell[match.end() :]):
        print(f"(not written to your package: no cell of {match[1]} defines these names)")


def mine(lesson: int | None = None, quiet: bool = False) -> ModuleType:
    """The learner's package as a live server runs it: their code wherever they finished a
    cell, the reference's where a stub is left. One line names this lesson's unfinished
    pieces (later lessons' are expected to be unfinished)."""
    lesson = _STARTED.get("lesson", 99) if lesson is None else lesson
    package = _STARTED.get("package") or mine_folder()
    if not (package / "__init__.py").exists():
        export(package_sources(Path.cwd()), package)
    missing = sorted(
        name for chunk in unfinished(package) if chunk.lesson <= lesson for name in chunk.names
    )
    if not quiet:
        if missing:
            print(f"Not written yet, so the reference runs instead: {', '.join(missing)}.")
        else:
            print(f"The live server runs on your own package, {package.name}/.")
    texts = with_reference(package, keep=set())
    if _STARTED.get("texts") != texts:  # unchanged: the same package, so its objects still fit
        _STARTED.update(texts=texts, lib=load_package(texts))
    return _STARTED["lib"]


def for_checks(lesson: int, only: set[str] | None = None) -> ModuleType:
    """The learner's package as lesson ``lesson``'s checks and tests see it: the lesson's
    own unfinished cells kept (a stub is "not done yet"), other lessons' taken from the
    reference. With ``only``, just the learner's cells defining those names, the reference
    for everything else, so that a check judges one piece on its own. Loaded under its
    own name, beside the package the live server runs."""
    package = _STARTED.get("package") or mine_folder()
    if not (package / "__init__.py").exists():
        export(package_sources(Path.cwd()), package)
    if only is None:
        return load_package(with_reference(package, keep={lesson}), name="my_sessionlib_checked")
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "sessionlib"
        shutil.copytree(REFERENCE, copy)
        for chunk in chunks(package):
            if chunk.names & only:
                module = chunk.module.removesuffix(".py").replace("/", ".")
                write_cell(copy, module, chunk.text.partition("\n")[2])
        texts = {p.relative_to(copy).as_posix(): p.read_text() for p in copy.rglob("*.py")}
    return load_package(texts, name="my_sessionlib_checked")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write sessionlib/ from the solution notebooks.")
    parser.add_argument("--check", action="store_true", help="fail when sessionlib/ differs")
    args = parser.parse_args(argv)
    if not args.check:
        export(lesson_notebooks(SOLUTIONS), REFERENCE)
        print(f"wrote {REFERENCE.relative_to(ROOT)}/ from {SOLUTIONS.relative_to(ROOT)}/")
        return 0
    # Written beside sessionlib/, so that its paths to the notebooks are the same.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".export-") as fresh:
        export(lesson_notebooks(SOLUTIONS), Path(fresh), name="sessionlib")
        differ = _differences(Path(fresh), REFERENCE)
    for line in differ:
        print(line)
    return 1 if differ else 0


def _differences(fresh: Path, current: Path) -> list[str]:
    ours = {p.relative_to(fresh): p.read_text() for p in fresh.rglob("*.py")}
    theirs = {p.relative_to(current): p.read_text() for p in current.rglob("*.py")}
    return [
        f"sessionlib/{path} differs from what the solution notebooks export"
        for path in sorted(set(ours) | set(theirs))
        if ours.get(path) != theirs.get(path)
    ]


if __name__ == "__main__":
    sys.exit(main())
