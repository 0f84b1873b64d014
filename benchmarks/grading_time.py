"""Grading the solution: this checkout against an earlier commit, side by side.

    python benchmarks/grading_time.py [--rev REV] [--runs 3] [--parts all|layers]

Checks REV out into a temporary git worktree and times ``grade`` of the solution in
both, interleaved, each run in a fresh process (so imports count, as they do for a
grader). ``layers`` grades every part but MNIST and the speed feedback; ``all`` grades
everything. Prints each run and the medians, and the difference.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TIMED = r'''
import dataclasses, sys, time
sys.path.insert(0, ".")
started = time.perf_counter()
from autograder import grade
from autograder.assignment import load
assert grade.__file__.startswith(sys.argv[2]), grade.__file__
full = load()
skip = () if sys.argv[1] == "all" else ("mnist", "speed")
assignment = dataclasses.replace(full, parts=tuple(p for p in full.parts if p.id not in skip))
document = grade.grade("solution", assignment=assignment)
assert document["score"] == assignment.total_points, [
    t["output"] for t in document["tests"] if t["status"] == "failed"]
print(time.perf_counter() - started)
'''


def timed(checkout: Path, parts: str) -> float:
    done = subprocess.run([sys.executable, "-c", TIMED, parts, str(checkout)], cwd=checkout,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"grading in {checkout} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD~1", help="the earlier commit (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parts", choices=["all", "layers"], default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old), args.rev],
                       check=True)
        try:
            times = {"this checkout": [], args.rev: []}
            for run in range(args.runs):
                for label, checkout in (("this checkout", REPO), (args.rev, old)):
                    seconds = timed(checkout, args.parts)
                    times[label].append(seconds)
                    print(f"run {run + 1}: {label:<14} {seconds:6.2f} s", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)])
    new, before = (statistics.median(t) for t in times.values())
    print(f"\nmedian over {args.runs} runs ({args.parts}): this checkout {new:.2f} s, "
          f"{args.rev} {before:.2f} s, difference {new - before:+.2f} s ({new / before:.2f}x)")


if __name__ == "__main__":
    main()
