"""What a release is made from: the marked solution and the assignment's student-facing files."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class Missing(NamedTuple):
    """An input that does not exist; an essential one stops even a draft release."""

    path: Path
    what: str
    essential: bool = False


@dataclass(frozen=True)
class Sources:
    """Paths of every input of a release, and the package's name.

    ``from_repo`` gives the real assignment; tests build a small synthetic one in a
    temporary folder and point the release steps at it.
    """

    package: str                    # import name of the student package, "numpynn"
    package_dir: Path               # the marked solution package, solution/numpynn/
    student_files: tuple[str, ...]  # files of the package that students write
    notebooks_dir: Path             # marked notebooks, assignment/notebooks/
    public_tests_dir: Path          # tests students receive, assignment/public_tests/
    handout: Path                   # assignment/HANDOUT.md
    pyproject: Path                 # the release's pyproject.toml, copied as it is

    @classmethod
    def from_repo(cls, repo: Path) -> "Sources":
        """The inputs of the real assignment, as laid out in the repository at ``repo``."""
        assignment = repo / "assignment"
        with open(assignment / "assignment.toml", "rb") as f:
            spec = tomllib.load(f)["assignment"]
        return cls(package=spec["package"],
                   package_dir=repo / "solution" / spec["package"],
                   student_files=tuple(spec["student_files"]),
                   notebooks_dir=assignment / "notebooks",
                   public_tests_dir=assignment / "public_tests",
                   handout=assignment / "HANDOUT.md",
                   pyproject=assignment / "release_pyproject.toml")

    def missing(self) -> list[Missing]:
        """Inputs a complete release needs that do not exist (yet)."""
        missing = []
        if not (self.package_dir / "__init__.py").is_file():
            missing.append(Missing(self.package_dir / "__init__.py", "the solution package", essential=True))
        if not self.pyproject.is_file():
            missing.append(Missing(self.pyproject, "the release's pyproject.toml", essential=True))
        missing += [Missing(self.package_dir / name, "a student file of the assignment")
                    for name in self.student_files if not (self.package_dir / name).is_file()]
        if not self.notebook_paths():
            missing.append(Missing(self.notebooks_dir / "*.ipynb", "the notebook"))
        if not self.public_test_paths():
            missing.append(Missing(self.public_tests_dir / "test_*.py", "the public tests"))
        if not self.handout.is_file():
            missing.append(Missing(self.handout, "the handout"))
        return missing

    def notebook_paths(self) -> list[Path]:
        """The marked notebooks, sorted by name."""
        return sorted(self.notebooks_dir.glob("*.ipynb")) if self.notebooks_dir.is_dir() else []

    def public_test_paths(self) -> list[Path]:
        """The public test modules, sorted by name."""
        if not self.public_tests_dir.is_dir():
            return []
        return sorted(self.public_tests_dir.rglob("test_*.py"))


def shown(path: Path) -> str:
    """``path`` as messages show it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
