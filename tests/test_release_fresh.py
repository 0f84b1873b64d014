"""The committed release/ is exactly what `python -m autograder release` writes today.

If someone edits the solution, the notebook, the handout or the public tests and
forgets to regenerate release/, this fails. Regenerate with:

    python -m autograder release
"""
from pathlib import Path

import pytest

from autograder import REPO
from autograder.__main__ import main
from autograder.release import build
from autograder.release.sources import Sources

COMMITTED = REPO / "release"
REGENERATE = "regenerate it with `python -m autograder release` and commit release/"


def release_files(folder: Path) -> dict[str, bytes]:
    """Every file of a release folder, by relative path. What installing or running the
    release leaves behind (caches, bytecode, numpynn.egg-info) is not part of it."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in build.package_files(folder)}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A release written by the real command, with all its checks, into a temporary folder."""
    out = tmp_path_factory.mktemp("fresh") / "release"
    assert main(["release", "--out", str(out)]) == 0, "the release command failed (its output says why)"
    return out


def test_the_committed_release_is_up_to_date(fresh):
    assert COMMITTED.is_dir(), f"release/ is missing: {REGENERATE}"
    committed, regenerated = release_files(COMMITTED), release_files(fresh)
    assert sorted(set(regenerated) - set(committed)) == [], f"files missing from release/: {REGENERATE}"
    assert sorted(set(committed) - set(regenerated)) == [], f"release/ holds files it should not: {REGENERATE}"
    stale = sorted(rel for rel in committed if committed[rel] != regenerated[rel])
    assert stale == [], f"out-of-date files in release/: {REGENERATE}"


def test_releasing_twice_gives_the_same_bytes(fresh, tmp_path):
    again = tmp_path / "release"
    build.build_release(Sources.from_repo(REPO), again)
    first, second = release_files(fresh), release_files(again)
    assert sorted(first) == sorted(second)
    assert [rel for rel in first if first[rel] != second[rel]] == []
