"""python -m autograder export gradescope --out autograder.zip: a Gradescope autograder.

Gradescope unzips the bundle into ``/autograder/source``, runs ``setup.sh`` once (as
root, on its Ubuntu image) and ``run_autograder`` for every submission, which it puts
in ``/autograder/submission``; the grade goes to ``/autograder/results/results.json``.
The bundle mirrors this repository's layout, so that ``autograder.REPO`` is the source
folder and the grader runs there exactly as it runs here:

    setup.sh, run_autograder     the two scripts (autograder/gradescope/)
    requirements.txt             what setup.sh pip-installs into /autograder/venv
    fallback_results.json        every test at 0, left in place if the grader never finishes
    autograder/                  the grader, its hidden cases, and the 2,000 MNIST test
                                 digits (mnist_test.npz) that students never see
    assignment/assignment.toml   parts, points, limits
    release/numpynn/             the given files and data, which replace a submission's
    solution/numpynn/            the reference: expected outputs and the MNIST test, in the grader

Both scripts honour AUTOGRADER_ROOT (default /autograder), so the bundle can be tried
in a local folder laid out like Gradescope's. The zip is deterministic: sorted entries,
fixed timestamps and permissions.
"""
import io
import json
import sys
import zipfile
from pathlib import Path

from . import REPO, results
from .assignment import ASSIGNMENT_TOML, load
from .specs import load_cases

TEMPLATES = Path(__file__).resolve().parent / "gradescope"
SCRIPTS = ("setup.sh", "run_autograder")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SKIPPED = ("__pycache__", ".pytest_cache")

# What grading needs, and nothing else (threadpoolctl: the grader keeps its own BLAS to
# one thread while it trains the MNIST model beside the worker). No matplotlib: it only draws feedback.html
# (grade --html), and Gradescope shows students results.json, not extra pages.
# numpy 2: its promotion rules (NEP 50) decide whether float32 stays float32, which the
# hidden dtype cases check.
REQUIREMENTS = """\
numpy>=2.0,<3
tqdm>=4.60
threadpoolctl>=3.1
tomli>=2; python_version < "3.11"
"""

NOT_FINISHED = ("the autograder did not finish (its log is in Gradescope's autograder output); "
                "please tell your instructor")


class ExportError(Exception):
    """The bundle cannot be made; the message is one line for the instructor."""


def check_ready():
    """Refuse to bundle a missing or outdated release."""
    release, solution = REPO / "release" / "numpynn", REPO / "solution" / "numpynn"
    if not (release / "__init__.py").is_file():
        raise ExportError("release/numpynn/ is missing: run `python -m autograder release` first")
    # The given files replace every submission's: an outdated copy would fail everyone.
    given = [name for name in files(solution) if name not in load().student_files]
    outdated = [name for name in given if not (release / name).is_file()
                or (release / name).read_bytes() != (solution / name).read_bytes()]
    if outdated:
        raise ExportError(f"release/numpynn/ is older than solution/numpynn/ (outdated: "
                          f"{', '.join(outdated)}): run `python -m autograder release` first")


def files(folder: Path):
    """Every file under ``folder`` as a relative POSIX path, caches left out."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and path.suffix != ".pyc"
                  and not set(path.relative_to(folder).parts) & set(SKIPPED))


def tree(folder: Path, prefix: str):
    """{archive name: file} for every file under ``folder``."""
    return {f"{prefix}/{name}": folder / name for name in files(folder)}


def fallback_results(assignment):
    """results.json with every test at 0, written before grading starts."""
    tests = [results.test_entry(case, 0.0, NOT_FINISHED) for case in load_cases(assignment)]
    return results.gradescope(tests, execution_time=0.0, output=NOT_FINISHED)


def gradescope_entries():
    """{archive name: bytes or file} of the whole bundle."""
    entries = {name: TEMPLATES / name for name in SCRIPTS}
    entries["requirements.txt"] = REQUIREMENTS.encode()
    entries["fallback_results.json"] = (json.dumps(fallback_results(load()), indent=1) + "\n").encode()
    entries.update(tree(REPO / "autograder", "autograder"))
    entries["assignment/assignment.toml"] = ASSIGNMENT_TOML
    entries.update(tree(REPO / "release" / "numpynn", "release/numpynn"))
    # The reference: the grader imports it to compute every expected output and to test
    # the trained MNIST model. It never enters a student's sandbox, which sees only the
    # package the grader assembles from the release and the submission; without
    # bubblewrap, setup.sh leaves it readable by root only and the worker runs as nobody
    # (see autograder/sandbox.py).
    entries.update(tree(REPO / "solution" / "numpynn", "solution/numpynn"))
    return entries


def write_zip(entries, out: Path):
    """A byte-for-byte reproducible zip: sorted names, fixed dates and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            content = entries[name]
            data = content if isinstance(content, bytes) else Path(content).read_bytes()
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3                       # unix, so that the modes count
            mode = 0o755 if name in SCRIPTS else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())


def export_gradescope(out: Path):
    """Write the Gradescope bundle to ``out``; returns how many files it holds."""
    check_ready()
    entries = gradescope_entries()
    write_zip(entries, out)
    return len(entries)


def add_arguments(parser):
    parser.add_argument("target", choices=["gradescope"], help="where the bundle goes")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                        help="the zip to write (default: %(default)s)")


def main(args):
    try:
        count = export_gradescope(args.out)
    except ExportError as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    size = args.out.stat().st_size
    print(f"export: {count} files, {size / 2**20:.1f} MB -> {args.out} "
          f"(upload it as the assignment's autograder; choose an Ubuntu 22.04 or 24.04 base image)")
    return 0
