"""Winnowing fingerprints and pairwise matches, by copydetect.

copydetect tokenises each document with pygments and replaces every variable, function
and class name by one letter (so renaming changes nothing), drops comments and spacing,
hashes every k-gram of what is left and compares the sets. Any k-gram also found in the
release (the given skeleton, laid out as written and as ``ast.unparse`` lays it out) is
boilerplate and never counts.

NOISE is copydetect's default noise threshold: matches shorter than 25 filtered
characters (about one short line of code) are ignored. The winnowing window is 1
(guarantee threshold = noise threshold), so every k-gram is kept: the result then does
not depend on Python's per-process string hashing, and the documents are small.
"""
import ast
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, __version__, compare_files

NOISE = 25
WINDOW = 1


@dataclass(frozen=True)
class Match:
    a: str
    b: str
    share_a: float        # the fraction of a's fingerprinted code found in b
    share_b: float
    tokens: int           # filtered characters of a that match b
    slices_a: np.ndarray  # 2 x M start/end offsets of the matched regions, in a's text
    slices_b: np.ndarray
    against: bool = False  # b is a file under --against, not a student

    @property
    def similarity(self) -> float:
        """The larger share, so that copying one file from a long source still shows."""
        return max(self.share_a, self.share_b)


def boilerplate(release_folder: Path) -> np.ndarray:
    """The k-gram hashes of every .py file of the release, as given and as re-laid out."""
    hashes = []
    for path in sorted(Path(release_folder).glob("*.py")):
        text = path.read_text()
        for layout in (text, ast.unparse(ast.parse(text))):
            hashes.extend(_fingerprint(path.name, layout).hashes)
    return np.unique(np.array(hashes, dtype=np.int64))


def fingerprint(text: str, given: np.ndarray) -> CodeFingerprint:
    return _fingerprint("written.py", text, given)


def _fingerprint(name, text, given=None) -> CodeFingerprint:
    return CodeFingerprint(name, NOISE, WINDOW, boilerplate=given, language="python",
                           fp=io.StringIO(text))


def match(a: str, b: str, print_a: CodeFingerprint, print_b: CodeFingerprint,
          against=False) -> Match:
    tokens, (share_a, share_b), (slices_a, slices_b) = compare_files(print_a, print_b)
    return Match(a, b, float(share_a), float(share_b), int(tokens),
                 np.asarray(slices_a, dtype=int).reshape(2, -1),
                 np.asarray(slices_b, dtype=int).reshape(2, -1), against)


def copydetect_version() -> str:
    return __version__
