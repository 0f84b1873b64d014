"""The handout quotes assignment.toml: the numbers must not drift apart."""
import re

from autograder import REPO
from autograder.assignment import load

HANDOUT = (REPO / "assignment" / "HANDOUT.md").read_text()


def test_the_mnist_tiers_are_the_assignments():
    quoted = [(float(floor) / 100, float(share) / 100) for floor, share in
              re.findall(r"\|\s*(\d+)% or more\s*\|\s*(\d+)%\s*\|", HANDOUT)]
    assert quoted == [tuple(t) for t in load().mnist.tiers]


def test_the_points_and_limits_are_the_assignments():
    assignment = load()
    for part in assignment.parts:
        if part.id not in ("relu", "leakyrelu", "sigmoid", "tanh", "speed"):  # quoted together
            assert re.search(rf"{re.escape(part.name)}\**\s*\|\s*\**{part.points:g}\b", HANDOUT), part.name
    limits = assignment.limits
    assert f"{limits.case_seconds:g} seconds" in HANDOUT
    assert f"{limits.mnist_seconds:g} seconds" in HANDOUT
    recipe = assignment.mnist
    assert f"for {recipe.epochs} epochs" in HANDOUT and f"batch {recipe.batch_size}" in HANDOUT
