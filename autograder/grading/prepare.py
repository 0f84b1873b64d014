"""Stage 1 of a grading: every case's fresh inputs and the reference's expected outputs.

Runs before any student code, in the grader's process. Inputs come from the grading's
seed and each case's stream, so ``grade --seed N`` draws them again exactly. A batch
graded under one seed (``grade-all``) prepares them once.
"""
import threading

_done = {}                  # (seed, assignment) -> prepared, for the last few batches
_lock = threading.Lock()
KEEP = 4


def prepare(cases, grading):
    """{case id: (inputs, expected)}; expected is None for cases judged without one.
    The arrays are shared: nothing downstream writes to them."""
    key = (grading.seed, grading.assignment, grading.sandboxed)
    with _lock:
        if key in _done:
            return _done[key]
    prepared = {}
    for case in cases:
        program = case.kind
        inputs = program.draw(case, grading.rng(case), grading)
        prepared[case.id] = (inputs, program.expect(case, inputs, grading))
    with _lock:
        _done[key] = prepared
        while len(_done) > KEEP:
            _done.pop(next(iter(_done)))
    return prepared
