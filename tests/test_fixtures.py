"""The committed fixtures must be what the current solution and case specs produce."""
import numpy as np
import pytest

from autograder import compare, fixtures, worker
from autograder.assignment import load
from autograder.specs import load_cases


def test_fixtures_are_up_to_date_with_the_solution_and_the_cases():
    assert not fixtures.is_stale(), (
        "solution/numpynn or autograder/cases changed since the fixtures were computed: "
        "run `python -m autograder fixtures` and commit autograder/fixtures/")


def test_recomputing_the_fixtures_gives_the_stored_arrays():
    stored, fresh = fixtures.read(), fixtures.compute()
    assert stored.keys() == fresh.keys()
    for case_id, (inputs, expected) in fresh.items():
        for kind, old, new in (("input", stored[case_id][0], inputs),
                               ("expected", stored[case_id][1], expected)):
            assert old.keys() == new.keys(), (case_id, kind)
            for name in new:
                assert old[name].dtype == new[name].dtype, (case_id, name)
                np.testing.assert_allclose(old[name], new[name], rtol=1e-12, atol=0,
                                           err_msg=f"{case_id} {kind} {name}")


def test_every_case_has_fixtures_except_those_judged_without():
    ids = {c.id for c in load_cases(load()) if c.program not in fixtures.NO_FIXTURE}
    assert ids == set(fixtures.read())


def test_the_fixtures_hold_no_pickles():
    for inputs, expected in fixtures.read().values():
        for array in [*inputs.values(), *expected.values()]:
            assert array.dtype != object


# -- float32 cases: what their expected values are, and that they are well conditioned ------
# A float32 case's expected values are the reference solution run in float32 (cast with
# .to(np.float32)) on the float32 inputs, exactly as a student's layer runs. Any correct
# float32 implementation then differs from them by its own rounding, which is small only
# if the case is well conditioned: BatchNorm of inputs with mean 1000 and std 1, or a
# softmax of logits x30, differ from the exact result by 1e-3 to 2e-2 in float32, whatever
# the formula. So every float32 case must agree with the same inputs computed in float64
# to a tenth of the float32 tolerance; then no correct student can fail it on rounding.
FLOAT32 = [c for c in load_cases(load()) if c.dtype == "float32"
           and c.program not in fixtures.NO_FIXTURE | {"dropout"}]
WELL_CONDITIONED = compare.TOLERANCE["float32"] / 10


def float32_vs_float64(case_id, spec, program, inputs):
    """The largest compare.py-style relative error of the float32 run against float64."""
    package = fixtures.solution_package()
    run = lambda dtype, arrays: worker.run_case(  # noqa: E731
        {"id": case_id, "program": program, "spec": {**spec, "dtype": dtype}}, package,
        {k: v.copy() for k, v in arrays.items()}, {"package": "numpynn"})
    out32 = run("float32", inputs)
    out64 = run("float64", {k: v.astype(np.float64) if v.dtype.kind == "f" else v
                            for k, v in inputs.items()})
    worst = {}
    for name, value in out32.items():
        if name == "input_changed":
            continue
        got, exact = np.asarray(value, np.float64), np.asarray(out64[name], np.float64)
        floor = compare.FLOOR * np.max(np.abs(exact), initial=0) or np.finfo(np.float64).tiny
        worst[name] = float(np.max(np.abs(got - exact) / np.maximum(np.abs(exact), floor), initial=0))
    return worst


@pytest.mark.parametrize("case", FLOAT32, ids=[c.id for c in FLOAT32])
def test_every_float32_case_is_well_conditioned(case):
    inputs = fixtures.make_inputs(case, fixtures.solution_package())
    worst = float32_vs_float64(case.id, case.spec, case.program, inputs)
    assert worst and max(worst.values()) <= WELL_CONDITIONED, (
        f"{case.id}: float32 differs from float64 by {worst}: ill-conditioned inputs, where a "
        f"correct float32 implementation may fail on rounding alone")


def test_an_ill_conditioned_float32_case_would_be_caught():
    """The control: the float32 BatchNorm1d case, its input shifted to mean 1000 (std 1)."""
    case = next(c for c in FLOAT32 if c.spec["cls"] == "BatchNorm1d")
    inputs = fixtures.make_inputs(case, fixtures.solution_package())
    inputs["x"] = (inputs["x"].astype(np.float64) + 1000).astype(np.float32)
    worst = float32_vs_float64(case.id, case.spec, case.program, inputs)
    assert max(worst.values()) > 10 * WELL_CONDITIONED, worst
