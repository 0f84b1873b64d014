"""Stage 4 of a grading: every case's reply judged by its program, in the grader.

The one judging loop, used by ``grade``, ``grade-all``, ``demo`` and ``audit``.
"""
import hashlib
import io
from dataclasses import dataclass

import numpy as np

from .. import frames


@dataclass
class Verdict:
    case: object
    score: float          # fraction of the case's points
    message: str
    error: bool           # it could not run (an exception, a limit), as opposed to a wrong value
    got: dict | None


def judge_all(cases, replies, prepared, grading):
    """[Verdict] in case order, the leaderboard entries and the extra_data they add."""
    verdicts, leaderboard, extra = [], [], {}
    for case in cases:
        reply = replies[case.id]
        if reply.error:
            verdicts.append(Verdict(case, 0.0, friendly(reply.error, grading.assignment), True, None))
            continue
        inputs, expected = prepared[case.id]
        program = case.kind
        try:
            score, message = program.judge(case, reply.got, expected, inputs, grading)
        except Exception as error:  # noqa: BLE001 - what the worker sent is untrusted: one case
            problem = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            verdicts.append(Verdict(case, 0.0, f"what your code returned could not be judged "
                                               f"({frames.text(problem, 200)})", True, None))
            continue
        entries, more = program.extras(case, reply.got)
        leaderboard += entries
        extra.update(more)
        verdicts.append(Verdict(case, score, message, False, reply.got))
    return verdicts, leaderboard, extra


def friendly(error, assignment):
    """Name the limit when the worker ran out of memory."""
    if error.startswith("MemoryError"):
        where = error.split("out of memory", 1)[-1]
        return f"memory limit ({assignment.limits.memory_mb} MB) exceeded{where}"
    return error


def failed_outputs(verdicts):
    """{test number: digest of what the student's code returned} for each failed case that
    returned something: identical wrong outputs across students, under one seed, are a sign
    of shared code (``python -m autograder similarity --grades``)."""
    digests = {}
    for v in verdicts:
        if v.score >= 1 or not v.got:
            continue
        h = hashlib.sha256()
        for name in sorted(v.got):
            value = v.got[name]
            if isinstance(value, np.ndarray):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, value, allow_pickle=False)
                h.update(name.encode() + b"\0" + buffer.getvalue())
        digests[v.case.number] = h.hexdigest()
    return digests
