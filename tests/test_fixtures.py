"""The committed fixtures must be what the current solution and case specs produce."""
import numpy as np

from autograder import fixtures
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
