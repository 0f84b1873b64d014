"""python -m autograder grade SUBMISSION [--results PATH]: grade one submission.

SUBMISSION is a folder or a .zip holding the student's numpynn package. The student's
code runs only in a sandboxed worker process, which is sent the hidden inputs and
sends back outputs; this process compares them with the fixtures and writes
results.json (Gradescope's format) and a table. It exits 0 whenever it wrote results,
however low the score, and 2 when the grader itself failed.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import REPO, fixtures, results, workers
from .assignment import load
from .compare import judge
from .specs import load_cases
from .submission import SubmissionError, assemble, make_readable

RELEASE_PACKAGE = REPO / "release" / "numpynn"
SOLUTION_PACKAGE = REPO / "solution" / "numpynn"
MNIST_DATA = "mnist_subset.npz"


def write_job(root: Path, cases, case_inputs, assignment, package):
    """The worker's job: the case list (``job.json``) and every input (``inputs.npz``)."""
    job_dir = root / "job"
    job_dir.mkdir()
    entries = [{"id": c.id, "program": c.program, "spec": c.spec} for c in cases]
    recipe = assignment.mnist
    job = {"package": package, "cases": entries,
           "mnist": {"seed": recipe.seed, "epochs": recipe.epochs,
                     "batch_size": recipe.batch_size, "optimizer": recipe.optimizer,
                     "lr": recipe.lr},
           "mnist_seconds": assignment.limits.mnist_seconds}
    (job_dir / "job.json").write_text(json.dumps(job))
    np.savez(job_dir / "inputs.npz", **{f"{case_id}/{name}": array
                                        for case_id, arrays in case_inputs.items()
                                        for name, array in arrays.items()})


def mnist_inputs(release_package: Path):
    """Training images and labels and the test images; the test labels stay here."""
    with np.load(release_package / MNIST_DATA, allow_pickle=False) as data:
        return ({"train_images": data["train_images"], "train_labels": data["train_labels"],
                 "test_images": data["test_images"]}, data["test_labels"])


def run_root(root: Path, cases, case_inputs, assignment, *, sandboxed):
    """Write the job beside the package already in ``root``, and run the cases in workers."""
    write_job(root, cases, case_inputs, assignment, assignment.package)
    make_readable(root)
    return workers.run_cases(root, [{"id": c.id} for c in cases], assignment.limits,
                             timeouts=timeouts(cases, assignment), sandboxed=sandboxed)


def timeouts(cases, assignment):
    limits = assignment.limits
    return {c.id: limits.mnist_seconds if c.program == "mnist" else limits.case_seconds
            for c in cases}


def friendly(error, assignment):
    """Name the limit when the worker ran out of memory."""
    if error.startswith("MemoryError"):
        where = error.split("out of memory", 1)[-1]
        return f"memory limit ({assignment.limits.memory_mb} MB) exceeded{where}"
    return error


@dataclass
class Collected:
    """Everything the worker sent back for one submission, before any judgement."""
    cases: list
    replies: dict           # case id -> workers.Reply
    stored: dict            # case id -> (inputs, expected) from the fixtures
    test_labels: object
    notes: list
    run: object             # workers.Run, or None when the submission could not be read
    problem: str = ""       # why the submission could not be read


def collect(submission, *, sandboxed=True, assignment, release_package=RELEASE_PACKAGE):
    """Run every case of ``assignment`` against ``submission`` in workers."""
    cases = load_cases(assignment)
    stored = fixtures.read()
    case_inputs = {c.id: stored[c.id][0] for c in cases if c.id in stored}
    train, test_labels = mnist_inputs(release_package)
    case_inputs.update({c.id: train for c in cases if c.program == "mnist"})
    with tempfile.TemporaryDirectory(prefix="numpynn-submission-") as tmp:
        root = Path(tmp)
        try:
            notes = assemble(Path(submission), release_package, assignment.student_files, root)
        except SubmissionError as error:
            return Collected(cases, {}, stored, test_labels, [], None, str(error))
        run = run_root(root, cases, case_inputs, assignment, sandboxed=sandboxed)
    return Collected(cases, run.replies, stored, test_labels, notes, run)


def grade(submission, *, sandboxed=True, assignment=None, release_package=RELEASE_PACKAGE):
    """Grade one submission; returns the results.json document."""
    started = time.monotonic()
    assignment = assignment or load()
    # The reference is timed first, so that its copy of the solution is gone before any
    # student code runs.
    reference = _reference_speed(load_cases(assignment), assignment, sandboxed)
    got = collect(submission, sandboxed=sandboxed, assignment=assignment,
                  release_package=release_package)
    if got.run is None:
        reason = f"the submission could not be graded: {got.problem}"
        tests = [results.test_entry(c, 0.0, reason) for c in got.cases]
        return results.gradescope(tests, execution_time=time.monotonic() - started,
                                  output=reason, extra={"sandboxed": None})
    tests, leaderboard, extra = [], [], {}
    for case in got.cases:
        reply = got.replies[case.id]
        if reply.error:
            score, message = 0.0, friendly(reply.error, assignment)
        elif case.program == "mnist":
            score, message, accuracy = _judge_mnist(reply, got.test_labels, assignment)
            leaderboard.append({"name": "MNIST test accuracy", "value": round(accuracy, 4)})
            extra["mnist_loss"] = [round(float(v), 5) for v in reply.arrays.get("loss", [])]
        elif case.program == "speed":
            score, message = _judge_speed(reply, reference.get(case.id), case.max_score)
        else:
            inputs, expected = got.stored[case.id]
            score, message = judge(case, reply.arrays, expected, inputs)
        tests.append(results.test_entry(case, score, message))

    run = got.run
    how = "in the sandbox"
    if not run.sandboxed:
        why = workers.sandbox_available()[1] if sandboxed else "--no-sandbox"
        who = ("the unprivileged user nobody" if run.user == "nobody" else
               run.user + (f" ({run.user_note})" if run.user_note else ""))
        how = f"WITHOUT a sandbox ({why}), as {who}"
    lines = [f"Graded {how} with {run.workers} worker process{'es' if run.workers > 1 else ''}."]
    lines += got.notes
    if run.output.strip():
        lines += ["", "What your code printed (truncated):", run.output]
    extra.update(sandboxed=run.sandboxed, workers=run.workers, user=run.user)
    return results.gradescope(tests, execution_time=time.monotonic() - started,
                              output="\n".join(lines), leaderboard=leaderboard, extra=extra)


def _judge_mnist(reply, test_labels, assignment):
    logits = reply.arrays.get("logits")
    if logits is None or logits.dtype.kind != "f" or logits.shape != (len(test_labels), 10):
        shape = None if logits is None else logits.shape
        return 0.0, f"the trained model's logits have shape {shape}; expected ({len(test_labels)}, 10)", 0.0
    if not np.all(np.isfinite(logits)):
        return 0.0, "the trained model's outputs contain NaN or inf: training diverged", 0.0
    accuracy = float(np.mean(logits.argmax(axis=1) == test_labels))
    fraction = assignment.mnist.fraction(accuracy)
    tiers = ", ".join(f"{floor:.0%} -> {share:.0%}" for floor, share in assignment.mnist.tiers)
    return fraction, (f"test accuracy {accuracy:.2%} after {assignment.mnist.epochs} epochs "
                      f"({reply.seconds:.0f} s): {fraction:.0%} of the points (tiers: {tiers})"), accuracy


def _reference_speed(cases, assignment, sandboxed):
    """The solution's Conv2d timings, measured now, in a worker of the same kind."""
    speed = [c for c in cases if c.program == "speed"]
    if not speed or not SOLUTION_PACKAGE.is_dir():
        return {}
    with tempfile.TemporaryDirectory(prefix="numpynn-reference-") as tmp:
        shutil.copytree(SOLUTION_PACKAGE, Path(tmp) / SOLUTION_PACKAGE.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
        run = run_root(Path(tmp), speed, {}, assignment, sandboxed=sandboxed)
    return {c.id: run.replies[c.id].arrays.get("seconds") for c in speed
            if not run.replies[c.id].error}


def _judge_speed(reply, reference, max_score):
    """Full marks within 3x the reference's time. With 0 points (the default) the part is
    feedback only, and a noisy machine must not mark it failed."""
    seconds = reply.arrays.get("seconds")
    if seconds is None or seconds.shape != (2,) or seconds.dtype.kind != "f":
        return 0.0, "no timing was returned"
    if reference is None:
        return 1.0, f"Conv2d forward {seconds[0] * 1e3:.1f} ms, backward {seconds[1] * 1e3:.1f} ms"
    ratio = seconds.sum() / reference.sum()
    fast_enough = ratio <= 3 or max_score == 0
    return (1.0 if fast_enough else 0.0), (
        f"Conv2d forward+backward takes {ratio:.1f}x the reference's time "
        f"({seconds.sum() * 1e3:.1f} ms vs {reference.sum() * 1e3:.1f} ms on 64x8x14x14)")


def failed_results(error, assignment=None):
    """Every test at 0 saying the grader failed, so that a results file always exists."""
    try:
        cases = load_cases(assignment or load())
    except Exception:  # noqa: BLE001 - the assignment itself may be what is broken
        cases = []
    detail = (str(error).splitlines() or [""])[0]     # one line, whatever the exception says
    reason = f"the grader failed ({type(error).__name__}: {detail}); please tell your instructor"
    return results.gradescope([results.test_entry(c, 0.0, reason) for c in cases],
                              execution_time=0.0, output=reason)


def add_arguments(parser):
    parser.add_argument("submission", type=Path, help="a folder or .zip holding numpynn/")
    parser.add_argument("--results", type=Path, default=Path("results.json"),
                        help="where to write results.json (default: %(default)s)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the worker without bubblewrap (rlimits only)")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade when bubblewrap cannot be used")
    parser.add_argument("--quiet", action="store_true", help="no table on the terminal")
    parser.add_argument("--html", action="store_true",
                        help="also write feedback.html, a page for the student, next to the results")


def main(args):
    assignment = load()
    try:
        available, why_not = workers.sandbox_available()
        if args.require_sandbox and (args.no_sandbox or not available):
            why_not = "--no-sandbox was given" if args.no_sandbox else why_not
            print(f"grade: refusing to grade without the sandbox (--require-sandbox): {why_not}",
                  file=sys.stderr)
            results.write_json(args.results, failed_results(
                RuntimeError("the sandbox is required but unavailable"), assignment))
            return 2
        document = grade(args.submission, sandboxed=not args.no_sandbox, assignment=assignment)
    except Exception as error:  # noqa: BLE001 - still leave a complete results file
        traceback.print_exc()
        results.write_json(args.results, failed_results(error, assignment))
        return 2
    results.write_json(args.results, document)
    if args.html:
        from . import feedback
        feedback.write(args.results.with_name("feedback.html"), document, assignment)
    if not args.quiet:
        print(results.table(document, assignment.parts))
        print(f"\n{document['output'].splitlines()[0]}  results: {args.results}")
    return 0
