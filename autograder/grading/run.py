"""Stage 3 of a grading: run the cases against the assembled package, in workers.

One worker serves the cases in order. Each case gets exactly one deadline, set here when
the case is asked for: its program's limit, cut to ``retry_seconds`` once a case of the
same part has timed out, and never past the grading's budget. A case that times out,
crashes its worker or gets a malformed reply costs only itself; a fresh worker carries
on with the next. Cases that the budget leaves no time for say so.
"""
import time
from dataclasses import dataclass, field

from .. import frames
from ..processes import STARTUP_SECONDS, Output, Worker, WorkerFailed
from ..programs import CaseError

MAX_ERROR_CHARS = 300
MAX_CASE_BYTES = 2 << 20      # of arrays kept for judging, per case (an honest one keeps < 50 kB)


@dataclass
class Reply:
    """What became of one case: what its program got back, or why there is nothing."""
    got: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Run:
    replies: dict                 # case id -> Reply
    output: str                   # the student's stdout and stderr, truncated
    sandboxed: bool
    workers: int                  # how many worker processes it took
    user: str = ""                # who ran the workers: "nobody", "uid N" (jailed), or the grader's user
    user_note: str = ""           # why a root grader's workers ran as root, if they did
    memory: str = ""              # how the workers' memory was bounded


class CaseFailed(Exception):
    """The student's code raised, or returned something unusable: one line."""


class Session:
    """The grader's side of one case: its program's requests, all under one deadline."""

    def __init__(self, worker, case, wire, seconds, deadline, late):
        self.worker, self.case, self.wire = worker, case, wire
        self.seconds, self.deadline, self.late = seconds, deadline, late
        self.started = self.finished = False

    def ask(self, arrays=None, *, within=None, **header):
        """Send a request (the first starts the case) and return the reply's arrays.

        within: a shorter limit for this request alone, in seconds.
        Raises CaseFailed when the case ended with an error, WorkerFailed otherwise."""
        self.send(arrays, **header)
        return self.receive(within)

    def send(self, arrays=None, **header):
        """Queue a request; ``receive`` writes it and waits for the reply (so the grader
        can work in between, while the worker computes)."""
        header = dict(header, case=self.wire) if not self.started else dict(header, case_id=self.case.id)
        self.started = True
        self.worker.send(header, arrays or {})

    def receive(self, within=None):
        deadline, late = self.deadline, self.late
        if within is not None and time.monotonic() + within < deadline:
            deadline, late = time.monotonic() + within, f"time limit ({within:.0f} s for one request) exceeded"
        head, arrays = self.worker.receive(deadline, late)
        if head.get("case") != self.case.id or head.get("event") not in ("reply", "done"):
            raise WorkerFailed("the worker sent a malformed reply")
        if head["event"] == "done":
            self.finished = True
            error = head.get("error")
            if error is not None:
                raise CaseFailed(frames.text(error, MAX_ERROR_CHARS) if isinstance(error, str)
                                 else "the worker sent a malformed reply")
        return arrays


def run_cases(job, cases, inputs, grading) -> Run:
    """Run ``cases`` on the package in ``job`` (a JobFolder); ``inputs``: case id -> arrays."""
    limits = grading.assignment.limits
    output = Output(limits.output_kb * 1024)
    replies, timed_out, worker, count, launch = {}, set(), None, 0, None
    try:
        for position, case in enumerate(cases):
            if time.monotonic() >= grading.budget_end:
                replies[case.id] = Reply(error=f"not run: the grading's time budget "
                                               f"({limits.budget_seconds:.0f} s) ran out before this case")
                continue
            if worker is None:
                worker = Worker(job.root, job.package_name, limits, output, sandboxed=grading.sandboxed)
                count, launch = count + 1, worker.launch
                try:
                    worker.ready(min(STARTUP_SECONDS, max(grading.budget_end - time.monotonic(), 1)))
                except WorkerFailed as error:
                    for rest in cases[position:]:
                        replies[rest.id] = Reply(error=f"{error} while importing your package")
                    break
            replies[case.id], healthy = _one_case(worker, case, inputs[case.id], grading, timed_out)
            if not healthy:
                worker.stop()
                worker = None
        else:
            if worker is not None:
                worker.finish()
                worker = None
    finally:
        if worker is not None:      # a worker that could not start, or an interruption
            worker.stop()
    return Run(replies=replies, output=output.text(), sandboxed=bool(launch and launch.sandboxed),
               workers=count, user=launch.user if launch else "",
               user_note=launch.user_note if launch else "", memory=launch.memory if launch else "")


def _one_case(worker, case, inputs, grading, timed_out):
    """(Reply, whether the worker can serve the next case)."""
    limits, program = grading.assignment.limits, case.kind
    seconds = program.seconds(case, limits)
    late = f"time limit ({seconds:.0f} s) exceeded"
    if case.part in timed_out:
        seconds = min(seconds, limits.retry_seconds)
        late = f"time limit ({seconds:.0f} s, shortened since an earlier case of this part timed out) exceeded"
    started = time.monotonic()
    deadline = started + seconds
    if deadline > grading.budget_end:
        deadline = grading.budget_end
        late = f"the grading's time budget ({limits.budget_seconds:.0f} s) ran out during this case"
    session = Session(worker, case, program.wire(case, grading), seconds, deadline, late)
    try:
        got = program.converse(session, case, inputs, grading)
        kept = sum(v.nbytes for v in got.values() if hasattr(v, "nbytes"))
        if kept > MAX_CASE_BYTES:       # every case's arrays wait for judging in the parent
            raise CaseFailed(f"your code returned {kept / 2**20:.1f} MB of arrays for this case, "
                             f"more than the {MAX_CASE_BYTES >> 20} MB a case may keep")
        reply = Reply(got, None, time.monotonic() - started)
    except (CaseFailed, CaseError) as error:
        reply = Reply(error=str(error), seconds=time.monotonic() - started)
    except WorkerFailed as error:
        if time.monotonic() >= deadline:
            timed_out.add(case.part)
        reply = Reply(error=f"{error} while running this case", seconds=time.monotonic() - started)
    except Exception as error:  # noqa: BLE001 - a reply that passed the frame checks but not its program's
        problem = frames.text(f"{type(error).__name__}: {error}".splitlines()[0], MAX_ERROR_CHARS)
        return Reply(error=f"the worker sent a reply the grader could not use ({problem})",
                     seconds=time.monotonic() - started), False
    return reply, session.finished
