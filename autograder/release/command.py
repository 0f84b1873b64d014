"""The release command itself: build into a staging folder, check it, swap it in."""
from __future__ import annotations

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from . import build, checks, leaks, regions
from .errors import ReleaseError
from .sources import Sources, shown
from .staging import check_target, staged

MAX_PROBLEMS_SHOWN = 30


def release(sources: Sources, out: Path, *, allow_missing: bool = False) -> int:
    """Write the release of ``sources`` to ``out``; print one line per step; 0 on success."""
    start = time.perf_counter()
    try:
        _release(sources, out, allow_missing)
    except ReleaseError as error:
        print(f"release failed, {shown(out)} is unchanged:", file=sys.stderr)
        for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
            print(f"  {problem}", file=sys.stderr)
        if len(error.problems) > MAX_PROBLEMS_SHOWN:
            print(f"  ... and {len(error.problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
        return 1
    print(f"released {shown(out)}/ in {time.perf_counter() - start:.1f} s")
    return 0


def _release(sources: Sources, out: Path, allow_missing: bool) -> None:
    missing = sources.missing()
    essential = any(m.essential for m in missing)
    if essential or (missing and not allow_missing):
        hint = [] if essential else ["(a draft release while the assignment is being written: --allow-missing)"]
        raise ReleaseError(*[f"missing {shown(m.path)} ({m.what})" for m in missing], *hint)
    for m in missing:
        _step("skipped", f"{shown(m.path)} ({m.what}) does not exist yet (--allow-missing)")
    check_target(out, sources.package, [sources.package_dir, sources.notebooks_dir,
                                        sources.public_tests_dir, sources.handout, sources.pyproject])
    label = shown(out)
    has_tests = bool(sources.public_test_paths())
    # The gate outlives the pool: the pool's threads wait for every child first.
    with checks.Gate() as gate, ThreadPoolExecutor(max_workers=3) as pool:
        jobs: list[Future] = []
        try:
            # The solution's test run needs no release: it overlaps the build (nbgrader's import).
            solution_run = pool.submit(checks.run_public_tests, sources.public_tests_dir, sources.pyproject,
                                       sources.package_dir.parent, sources.package,
                                       shown(sources.package_dir)) if has_tests else None
            jobs.append(solution_run)
            with staged(out) as staging:
                # Started before the build, waiting at the gate: Python, numpy and pytest
                # start while nbgrader imports (see checks.WAIT_THEN_PYTEST).
                release_run = pool.submit(checks.run_public_tests, staging / "public_tests",
                                          staging / "pyproject.toml", staging, sources.package,
                                          f"{label}/", explain_asserts=False,
                                          gate=gate) if has_tests else None
                jobs.append(release_run)
                try:
                    written = build.build_release(sources, staging)
                except BaseException:
                    gate.open("stop")  # nothing to test: the waiting child exits at once
                    raise
                gate.open()
                _step("build", _build_summary(written, sources.package))
                imported = pool.submit(checks.check_import, staging, sources.package, f"{label}/")
                jobs.append(imported)
                problems = _check_regions_and_leaks(sources, staging, label, allow_missing)
                problems += _check_nothing_else(staging, written, label)
                problems += _check_import(imported)
                problems += _check_release_tests(release_run, staging)
                problems += _check_solution_tests(solution_run, sources)
                if problems:
                    raise ReleaseError(*problems)
        finally:
            wait([job for job in jobs if job is not None])  # no child may outlive its folder


def _check_regions_and_leaks(sources: Sources, staging: Path, label: str, allow_missing: bool) -> list[str]:
    """Every student file has a region, and no region line is anywhere in the release."""
    solution = regions.Split()
    problems = []
    for path in build.package_files(sources.package_dir):
        if path.suffix == ".py":
            split = regions.split_text(path.read_text(encoding="utf-8"), shown(path))
            rel = path.relative_to(sources.package_dir).as_posix()
            if rel in sources.student_files and not split.regions:
                message = f"{shown(path)}: a student file with no solution region: students would have nothing to write"
                (_step("warning", message) if allow_missing else problems.append(message))
            solution.extend(split)
    for path in sources.notebook_paths():
        solution.extend(regions.split_notebook(path.read_text(encoding="utf-8"), shown(path)))
    public = {line.text for line in solution.public}
    found, looked_for = leaks.find_leaks(solution.secret, public, staging, label)
    files = sum(1 for p in staging.rglob("*") if p.is_file())
    if not found:
        trivial = len({line.text for line in solution.secret}) - looked_for
        _step("leaks", f"ok: {looked_for} solution lines looked for in {files} files "
                       f"({trivial} trivial lines ignored)")
    return problems + found


def _check_nothing_else(staging: Path, written: dict[str, list[str]], label: str) -> list[str]:
    """The checks ran inside the release: they must have left nothing behind."""
    expected = {rel for paths in written.values() for rel in paths}
    actual = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()}
    return [f"{label}/{rel}: not part of the release (left by a check?)" for rel in sorted(actual - expected)]


def _check_import(job: Future) -> list[str]:
    try:
        _step("import", f"ok: {job.result()}")
    except ReleaseError as error:
        return error.problems
    return []


def _check_release_tests(job: Future | None, staging: Path) -> list[str]:
    """Every public test stops at a stub on the untouched release."""
    if job is None:
        _step("tests", "skipped: there are no public tests yet")
        return []
    try:
        run = job.result()
    except ReleaseError as error:
        return error.problems
    problems, warnings = checks.release_test_problems(run, staging)
    for warning in warnings:
        _step("warning", warning)
    if not problems:
        stopped = sum(1 for nodeid in run.tests if not run.passed(nodeid))
        _step("release", f"ok: {stopped} of {len(run.tests)} public tests stop at NotImplementedError "
                         f"on the untouched release ({run.seconds:.1f} s)")
    return problems


def _check_solution_tests(job: Future | None, sources: Sources) -> list[str]:
    """Every public test passes on the solution."""
    if job is None:
        return []
    try:
        run = job.result()
    except ReleaseError as error:
        return error.problems
    problems = checks.solution_test_problems(run, sources.package_dir.parent)
    if not problems:
        _step("solution", f"ok: {len(run.tests)} public tests pass on the solution ({run.seconds:.1f} s)")
    return problems


def _build_summary(written: dict[str, list[str]], package: str) -> str:
    parts = [f"{package}/ {len(written['write_package'])} files",
             f"notebooks/ {len(written['write_notebooks'])}",
             f"public_tests/ {len(written['write_public_tests'])} files"]
    parts += written["write_handout"] + written["write_pyproject"]
    return ", ".join(parts)


def _step(name: str, message: str) -> None:
    print(f"  {name:<9} {message}", flush=True)
