"""Stage 1 of a grading: every case's fresh inputs and the reference's expected outputs.

Runs before any student code, in the grader's process. Inputs come from the grading's
seed and each case's stream, so ``grade --seed N`` draws them again exactly.
"""


def prepare(cases, grading):
    """{case id: (inputs, expected)}; expected is None for cases judged without one."""
    prepared = {}
    for case in cases:
        program = case.kind
        inputs = program.draw(case, grading.rng(case), grading)
        prepared[case.id] = (inputs, program.expect(case, inputs, grading))
    return prepared
