"""Reading a submission: a folder or a .zip holding the student's ``numpynn`` package.

The package may sit at the top level (``numpynn/``) or one folder down
(``hw3/numpynn/``); the folder may also be the package itself. Only the files students
own (assignment.toml ``student_files``) are taken from it; every other file of the
package comes from the release, so a submission cannot change the given code or data.
"""
import shutil
import stat
import zipfile
from pathlib import Path

MAX_FILE_BYTES = 1 << 20          # a student's source file; far above any honest one
MAX_ZIP_BYTES = 64 << 20          # everything in the zip, uncompressed
MAX_ZIP_ENTRIES = 5000


class SubmissionError(Exception):
    """The submission cannot be read; the message is one line for the student."""


def extract(zip_path: Path, dest: Path) -> Path:
    """Unpack a .zip safely: no absolute paths, no '..', no links, bounded size."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise SubmissionError(f"the zip holds {len(entries)} files; at most "
                                      f"{MAX_ZIP_ENTRIES} are allowed")
            if sum(e.file_size for e in entries) > MAX_ZIP_BYTES:
                raise SubmissionError(f"the zip unpacks to more than {MAX_ZIP_BYTES >> 20} MB")
            for entry in entries:
                name = Path(entry.filename)
                is_link = stat.S_ISLNK(entry.external_attr >> 16)
                if name.is_absolute() or ".." in name.parts or is_link:
                    continue      # never written outside dest, never a link
                target = dest / name
                if entry.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(entry) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
        raise SubmissionError(f"the .zip file is corrupt or not a zip ({error})") from None
    except (OSError, RuntimeError, NotImplementedError) as error:  # encrypted, unsupported
        raise SubmissionError(f"the .zip file cannot be read ({error})") from None
    return dest


def find_package(folder: Path, package: str, student_files) -> Path:
    """The submitted package folder: ``folder/numpynn``, one folder down, or ``folder``."""
    def real_dirs(path):
        return [p for p in sorted(path.iterdir())
                if p.is_dir() and not p.is_symlink() and p.name != "__MACOSX"]

    candidates = [folder / package] + [d / package for d in real_dirs(folder)]
    found = [c for c in candidates if c.is_dir() and not c.is_symlink()]
    if len(found) > 1:
        raise SubmissionError(f"found {len(found)} {package}/ folders "
                              f"({', '.join(str(f.relative_to(folder)) for f in found)}); "
                              f"submit exactly one")
    if found:
        return found[0]
    if any((folder / name).is_file() for name in student_files):
        return folder
    raise SubmissionError(f"no {package}/ folder found at the top level or one folder down")


def assemble(submission: Path, release_package: Path, student_files, job):
    """Build ``job.package`` (a ``grading.layout.JobFolder``): the release's package with
    the student's files in.

    Returns notes for the student (files missing from the submission). Raises
    SubmissionError with a one-line reason when the submission cannot be used.
    """
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"no submission at {submission.name}")
    if submission.is_file():
        if not zipfile.is_zipfile(submission):
            raise SubmissionError(f"{submission.name} is not a folder or a readable .zip file")
        submission = extract(submission, job.unpacked)
    source = find_package(submission, release_package.name, student_files)
    job.copy_package(release_package)
    notes = []
    for name in student_files:
        path = source / name
        if not path.is_file() or path.is_symlink():
            notes.append(f"{name} is missing from the submission: its parts are graded as not written")
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SubmissionError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MB")
        shutil.copyfile(path, job.package / name)
    shutil.rmtree(job.unpacked, ignore_errors=True)
    job.make_readable()
    return notes
