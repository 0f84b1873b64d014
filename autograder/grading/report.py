"""Stage 5 of a grading: the results.json document, from the verdicts and the run."""
from .. import results
from ..processes import sandbox_available
from .context import grader_version
from .judge import failed_outputs


def document(verdicts, run, grading, *, notes, leaderboard, extra, seconds):
    tests = [results.test_entry(v.case, v.score, v.message) for v in verdicts]
    how = "in the sandbox"
    if not run.sandboxed:
        why = sandbox_available()[1] or "--no-sandbox"
        if run.user.startswith("uid "):
            how = f"WITHOUT bubblewrap ({why}), in a chroot jail as a user of its own ({run.user})"
        else:
            who = run.user + (f" ({run.user_note})" if run.user_note else "")
            how = f"WITHOUT a sandbox ({why}), as {who}"
    plural = "es" if run.workers != 1 else ""
    lines = [f"Graded {how} with {run.workers} worker process{plural} (seed {grading.seed})."]
    lines += notes
    if run.output.strip():
        lines += ["", "What your code printed (truncated):", run.output]
    extra = dict(extra, seed=grading.seed, grader_version=grader_version(grading.assignment),
                 sandboxed=run.sandboxed, workers=run.workers,
                 user=run.user, memory_limit=run.memory, failed_outputs=failed_outputs(verdicts))
    return results.gradescope(tests, execution_time=seconds, output="\n".join(lines),
                              leaderboard=leaderboard, extra=extra)


def unreadable(cases, grading, problem, seconds):
    """Every test at 0 when the submission itself could not be read."""
    reason = f"the submission could not be graded: {problem}"
    return results.gradescope([results.test_entry(c, 0.0, reason) for c in cases],
                              execution_time=seconds, output=reason,
                              extra={"seed": grading.seed, "grader_version": grader_version(grading.assignment),
                                     "sandboxed": None})
