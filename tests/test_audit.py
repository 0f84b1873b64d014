"""The mutation audit: mutants stay inside the marked regions, and the real grader sorts them.

The generator is tested on the solution itself and on a small marked file whose every
mutant is known; the audit is tested end to end on one student file with real workers.
"""
import ast
import difflib
from collections import Counter

import pytest

from autograder import REPO
from autograder.assignment import load
from autograder.audit import main as audit_main
from autograder.audit import report
from autograder.audit.command import audit, sample
from autograder.audit.mutants import FAMILIES, Mutant, mutants, regions, solution_mutants
from autograder.audit.verdicts import AuditError, Auditor, Verdict

SOLUTION = REPO / "solution" / "numpynn"
ASSIGNMENT = load()

TOY = '''\
import numpy as np


def untouched(x, y):
    return x + y * 2 - x[1:] @ y.T


def layer(x, w, mean, training):
    h = x.shape[0]
    ### BEGIN SOLUTION
    out = x @ w.T + 1.5
    out = out.transpose(0, 2, 1)
    if training and h > 1:
        out -= out.sum(axis=0, keepdims=True)
    out = out[:, 1:h - 1]
    total = np.einsum("ncp->c", out)
    ### END SOLUTION
    return out, total
'''


@pytest.fixture(scope="module")
def solution_mutants_list():
    return list(solution_mutants(SOLUTION, ASSIGNMENT.student_files))


def changed_lines(mutant):
    """The solution's line numbers that the mutant replaced or deleted."""
    old, new = mutant.original.splitlines(), mutant.source.splitlines()
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    changed = [range(i1 + 1, max(i2, i1 + 1) + 1) for tag, i1, i2, _, _ in opcodes if tag != "equal"]
    return [n for lines in changed for n in lines]


def test_every_solution_mutant_changes_only_lines_inside_a_marked_region(solution_mutants_list):
    assert len(solution_mutants_list) > 300
    for mutant in solution_mutants_list:
        inside = [r for r in regions(mutant.original)]
        lines = changed_lines(mutant)
        assert lines, f"{mutant.id} changed nothing"
        assert all(any(r.first <= n <= r.last for r in inside) for n in lines), mutant.id
        ast.parse(mutant.source)                      # every mutant is valid Python


def test_the_solution_mutants_cover_every_family_and_every_student_file(solution_mutants_list):
    families = Counter(m.family for m in solution_mutants_list)
    assert set(families) == set(FAMILIES), families
    files = {m.file for m in solution_mutants_list}
    assert files == set(ASSIGNMENT.student_files)


def test_the_mutants_are_deterministic_and_distinct(solution_mutants_list):
    again = list(solution_mutants(SOLUTION, ASSIGNMENT.student_files))
    assert [m.source for m in again] == [m.source for m in solution_mutants_list]
    sources = [m.source for m in solution_mutants_list]
    assert len(set(sources)) == len(sources)
    assert all(m.source != m.original for m in solution_mutants_list)


def toy_changes():
    """{the changed line (stripped): family} for every mutant of TOY."""
    found = {}
    for mutant in mutants(TOY, "toy.py"):
        (line,) = changed_lines(mutant)
        assert len(mutant.source.splitlines()) == len(TOY.splitlines())
        found[mutant.source.splitlines()[line - 1].strip()] = mutant.family
    return found


def test_a_toy_region_gets_exactly_the_expected_mutants_of_each_family():
    changes = toy_changes()
    expected = {
        # arith: operators swapped
        "out = x @ w.T - 1.5": "arith", "out = x * w.T + 1.5": "arith",
        "out += out.sum(axis=0, keepdims=True)": "arith",
        # drop: one operand of +, a statement that updates state
        "out = x @ w.T": "drop", "out = 1.5": "drop", "pass": "drop",
        # transpose: .T removed and added, adjacent axes swapped
        "out = x @ w + 1.5": "transpose", "out = x.T @ w.T + 1.5": "transpose",
        "out = out.transpose(2, 0, 1)": "transpose", "out = out.transpose(0, 1, 2)": "transpose",
        # float
        "out = x @ w.T + 3.0": "float", "out = x @ w.T + 0.75": "float",
        "out -= out.sum(axis=0, keepdims=False)": "axis",
        # axis
        "out -= out.sum(axis=1, keepdims=True)": "axis",
        "out -= out.sum(axis=-1, keepdims=True)": "axis",
        'total = np.einsum("ncp->n", out)': "axis", 'total = np.einsum("ncp->p", out)': "axis",
        # function: a reduction swapped for its twin
        "out -= out.mean(axis=0, keepdims=True)": "function",
        # compare
        "if training and h >= 1:": "compare", "if training or h > 1:": "compare",
        "if not (training and h > 1):": "compare",
        # integer: constants +-1
        "if training and h > 2:": "integer", "if training and h > 0:": "integer",
        "out = out.transpose(1, 2, 1)": "integer", "out = out[:, 2:h - 1]": "integer",
        "out = out[:, 0:h - 1]": "integer", "out = out[:, 1:h - 2]": "integer",
        # index: a non-constant slice bound +-1
        "out = out[:, 1:h - 1 + 1]": "index", "out = out[:, 1:h - 1 - 1]": "index",
    }
    for line, family in expected.items():
        assert changes.get(line) == family, (line, changes.get(line))
    assert set(changes.values()) == set(FAMILIES)


def test_mutants_of_a_toy_never_touch_code_outside_the_region():
    for mutant in mutants(TOY, "toy.py"):
        (line,) = changed_lines(mutant)
        assert 11 <= line <= 16, mutant.id
        assert mutant.region == 1 and mutant.line == line


def test_parentheses_are_added_only_where_the_meaning_needs_them():
    changes = toy_changes()
    assert "out = x @ w.T" in changes and "out = (x @ w.T)" not in changes
    assert "if not (training and h > 1):" in changes
    text = "def f(a, b, c):\n    ### BEGIN SOLUTION\n    y = a * (b - c)\n    ### END SOLUTION\n"
    lines = {m.source.splitlines()[2].strip() for m in mutants(text, "f.py")}
    assert "y = a * b" in lines and "y = a * c" in lines       # parentheses of the source dropped
    assert "y = a * (b + c)" in lines and "y = a / (b - c)" in lines


def test_the_diff_names_the_solution_file_and_shows_one_change():
    mutant = next(m for m in mutants(TOY, "toy.py") if m.change == "`+` -> `-`")
    diff = mutant.diff()
    assert diff.startswith("--- solution/numpynn/toy.py\n+++ solution/numpynn/toy.py (mutant)\n")
    assert "-    out = x @ w.T + 1.5\n+    out = x @ w.T - 1.5\n" in diff


# -- the audit, end to end, with the real grader ------------------------------------------
def hand_made(file, old, new, family="arith"):
    """A mutant of the solution's ``file`` replacing the one occurrence of ``old``."""
    original = (SOLUTION / file).read_text()
    assert original.count(old) == 1, f"{file} no longer holds {old!r} exactly once"
    line = original[:original.index(old)].count("\n") + 1
    return Mutant(file, 1, line, family, f"`{old}` -> `{new}`", original,
                  original.replace(old, new))


def first_product_swapped(file):
    """An equivalent mutant: the operands of the first `a * b` of ``file``'s regions swapped
    (IEEE multiplication is commutative, so every output stays bit-for-bit the same)."""
    original = (SOLUTION / file).read_text()
    marked = regions(original)
    product = next(n for n in sorted(ast.walk(ast.parse(original)), key=lambda n: getattr(n, "lineno", 0))
                   if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and n.lineno == n.end_lineno
                   and any(r.first <= n.lineno <= r.last for r in marked))
    lines = original.splitlines(keepends=True)
    line = lines[product.lineno - 1]
    left = ast.get_source_segment(original, product.left, padded=False)
    right = ast.get_source_segment(original, product.right, padded=False)
    start, end = product.col_offset, product.end_col_offset
    lines[product.lineno - 1] = line[:start] + f"({right}) * ({left})" + line[end:]
    return Mutant(file, 1, product.lineno, "arith", "operands of `*` swapped", original, "".join(lines))


@pytest.fixture(scope="module")
def auditor():
    return Auditor(ASSIGNMENT)


def test_a_wrong_derivative_is_caught_by_the_real_grader(auditor):
    mutant = hand_made("activations.py", "grad_out * (1 - out * out)", "grad_out * (1 + out * out)")
    verdict = auditor.grade(mutant)
    assert verdict.outcome == "caught", verdict.reason
    assert verdict.by == "value"
    assert "Tanh" in verdict.reason and "differs" in verdict.reason


def test_a_mutant_that_crashes_is_caught(auditor):
    mutant = hand_made("flatten.py", "x.reshape(x.shape[0], -1)", "x.reshape(x.shape[0], -1, 7)")
    verdict = auditor.grade(mutant)
    assert verdict.outcome == "caught" and verdict.by == "error"
    assert "ValueError" in verdict.reason


def test_swapped_operands_of_a_product_are_equivalent(auditor):
    mutant = first_product_swapped("activations.py")
    assert mutant.source != mutant.original
    verdict = auditor.grade(mutant)
    assert verdict.outcome == "equivalent", verdict.reason


def test_a_change_below_the_grading_tolerance_survives(auditor):
    # eps * (1 + 1e-8) moves BatchNorm's outputs by at most ~1e-8 relative: under the
    # grading tolerance (1e-7) but above the equivalence threshold (1e-12).
    mutant = hand_made("batchnorm.py", "var + self.eps", "var + self.eps * (1 + 1e-8)")
    verdict = auditor.grade(mutant)
    assert verdict.outcome == "survived", verdict.reason
    assert "differs" in verdict.reason


def test_a_small_audit_run_reports_every_mutant_of_its_sample(tmp_path, capsys):
    out = tmp_path / "audit.md"
    args = type("Args", (), dict(files=["activations.py"], limit=10, seed=3, jobs=2,
                                 no_sandbox=False, out=out, fail_under=None))()
    assert audit_main(args) == 0
    text = out.read_text()
    printed = capsys.readouterr().out
    assert "a sample of 10 of" in text and "activations.py" in text
    summary = printed.strip().splitlines()[-2]
    assert summary.startswith("10 mutants: "), summary
    for survivor in text.split("## Survivors")[1].split("## Equivalent")[0].split("### ")[1:]:
        assert "```diff\n--- solution/numpynn/activations.py" in survivor


def test_a_sample_of_one_file_is_graded_against_that_file_s_parts_only():
    verdicts, header = audit(ASSIGNMENT, files=["activations.py"], limit=10, seed=3,
                             progress=False)
    assert len(verdicts) == 10 and all(v.mutant.file == "activations.py" for v in verdicts)
    assert {v.outcome for v in verdicts} <= {"caught", "equivalent", "survived"}
    layers = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")
    for v in verdicts:
        if v.outcome != "equivalent":
            assert any(f" {layer}: " in v.reason for layer in layers), v.reason
    assert any("a sample of 10 of" in line for line in header)


def test_the_sample_is_deterministic_and_keeps_the_mutants_order(solution_mutants_list):
    first = sample(solution_mutants_list, 12, seed=5)
    assert [m.id for m in first] == [m.id for m in sample(solution_mutants_list, 12, seed=5)]
    assert [m.id for m in first] != [m.id for m in sample(solution_mutants_list, 12, seed=6)]
    order = {m.source: i for i, m in enumerate(solution_mutants_list)}
    assert [order[m.source] for m in first] == sorted(order[m.source] for m in first)
    assert sample(solution_mutants_list, None, seed=0) == solution_mutants_list


def test_an_unknown_file_is_a_clear_error():
    with pytest.raises(AuditError, match="module.py is not a student file"):
        audit(ASSIGNMENT, files=["module.py"])


def test_the_score_leaves_equivalent_mutants_out():
    def verdict(outcome, by=""):
        return Verdict(None, outcome, "", 0.0, by)
    verdicts = ([verdict("caught", "value")] * 5 + [verdict("caught", "error")]
                + [verdict("equivalent")] * 3 + [verdict("survived")] * 2)
    assert report.score(verdicts) == (6, 8)
    assert report.summary(verdicts) == (
        "11 mutants: 3 equivalent (dropped), 6 caught (5 by a wrong value, 1 by an error), "
        "2 survived; caught 6 of 8 non-equivalent = 75.0%")
