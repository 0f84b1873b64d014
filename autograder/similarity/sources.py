"""The documents to compare: what each student wrote, and each file under --against.

A student's document is every piece of code they wrote (``written``) in their
student-owned files, in assignment order, each under a comment naming its file and
function (``# conv.py: Conv2d.forward``; comments are not fingerprinted). Submissions
are read as grade-all reads them, with the same readers. A file under --against is one
document of its own, named by its path; .zip files there are opened too. But a
``numpynn/`` package found there (a past term's submission, in a folder or a .zip) is
one document, like a student's, named by the folder or .zip holding it: compared file by
file, one formulaic file (optim.py's Adam update) matched an honest student at 52%.
"""
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..grade_all import BatchError, find_submissions
from ..submission import MAX_FILE_BYTES, SubmissionError, extract, find_package
from .written import written


class SimilarityError(Exception):
    """The run cannot start; the message is one line for the instructor."""


@dataclass(frozen=True)
class Document:
    name: str          # the student, or the --against file's path
    text: str          # the written pieces, each under a comment saying where it was
    against: bool = False


@dataclass(frozen=True)
class Release:
    """The release's package: what students are given, file by file."""
    folder: Path

    def given(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace") if path.is_file() else ""


def read_class(folder: Path, assignment, release: Release):
    """(documents, problems): one Document per readable student, and for each student
    who could not be read, student -> a one-line reason."""
    try:
        submissions = find_submissions(folder)
    except BatchError as error:
        raise SimilarityError(str(error)) from None
    documents, problems = [], {}
    for student, submission in submissions.items():
        try:
            with tempfile.TemporaryDirectory(prefix="numpynn-similarity-") as scratch:
                if submission.is_file():
                    submission = extract(submission, Path(scratch))
                package = find_package(submission, assignment.package, assignment.student_files)
                text = _package_text(package, assignment, release)
        except (SubmissionError, OSError) as error:
            problems[student] = str(error)
            continue
        documents.append(Document(student, text))
    return documents, problems


def read_against(folders, assignment, release: Release):
    """(documents, problems) for everything under ``folders``: each package (in a folder
    or a .zip) as one document, and every other .py file, inside .zip files too."""
    documents, problems = [], {}
    for folder in map(Path, folders):
        packages = [p for p in sorted(folder.rglob(assignment.package))
                    if p.is_dir() and not _hidden(p.relative_to(folder))]
        for package in packages:
            name = package.parent if package.parent != folder else package
            documents.append(Document(str(name), _package_text(package, assignment, release), True))
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder)
            if _hidden(inside) or not path.is_file() or any(p in path.parents for p in packages):
                continue
            if path.suffix == ".py":
                documents.append(Document(str(path), _pieces(path.name, _read(path), release), True))
            elif path.suffix.lower() == ".zip":
                try:
                    documents += _zipped(path, assignment, release)
                except SubmissionError as error:
                    problems[str(path)] = str(error)
    return documents, problems


def _zipped(path: Path, assignment, release: Release):
    """A zipped submission is one document; any other zip, one per .py file in it."""
    with tempfile.TemporaryDirectory(prefix="numpynn-similarity-") as scratch:
        root = extract(path, Path(scratch))
        try:
            package = find_package(root, assignment.package, assignment.student_files)
            return [Document(str(path), _package_text(package, assignment, release), True)]
        except SubmissionError:
            pass
        return [Document(f"{path}/{inner.relative_to(root)}",
                         _pieces(inner.name, _read(inner), release), True)
                for inner in sorted(root.rglob("*.py"))
                if inner.is_file() and not _hidden(inner.relative_to(root))]


def _package_text(package: Path, assignment, release: Release) -> str:
    """What was written in the package's student-owned files, in assignment order."""
    return "".join(_pieces(name, _read(package / name), release)
                   for name in assignment.student_files)


def _pieces(file_name, source, release: Release) -> str:
    """The written pieces of one file, each under a comment saying where it was."""
    return "".join(f"# {file_name}: {piece.where}\n{piece.code}\n"
                   for piece in written(source, release.given(file_name)))


def _read(path: Path) -> str:
    """The file's text; nothing for a missing, linked or oversized file (as the grader)."""
    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
        return ""
    return path.read_text(errors="replace")


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part in ("__pycache__", "__MACOSX") for part in relative.parts)

