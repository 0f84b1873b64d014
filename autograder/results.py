"""Reporters: results.json in Gradescope's format, and the table graders read on a terminal."""
import json
import math
import os
import tempfile
from pathlib import Path

from .frames import text

MAX_MESSAGE_CHARS = 1000
MAX_OUTPUT_CHARS = 200_000


def test_entry(case, score, message):
    return {"name": case.title, "number": case.number,
            "score": score * case.max_score, "max_score": case.max_score,
            "status": "passed" if score >= 1 else "failed",
            "output": text(message, MAX_MESSAGE_CHARS),     # may quote a student's names
            "visibility": "visible"}


def gradescope(tests, *, execution_time, output, leaderboard=(), extra=None):
    """The whole results.json document (Gradescope's autograder specification)."""
    return {"score": round(sum(t["score"] for t in tests), 4),
            "execution_time": round(execution_time, 2),
            "output": text(output, MAX_OUTPUT_CHARS),
            "tests": tests,
            "leaderboard": list(leaderboard),
            "extra_data": extra or {}}


def strict(value):
    """``value`` with every non-finite float as None: strict JSON, which every parser reads."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def write_json(path: Path, document):
    """Write atomically: a reader (or a killed run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(strict(document), f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def part_rows(results, parts):
    """(part name, score, max score, reason) per part, in assignment order."""
    rows = []
    for part in parts:
        tests = [t for t in results["tests"] if t["number"].split(".")[0] == str(part.number)]
        score = sum(t["score"] for t in tests)
        failed = [t for t in tests if t["status"] == "failed"]
        if part.points == 0 and tests:       # feedback only: its message is the point
            reason = tests[0]["output"]
        elif not failed:
            reason = f"{len(tests)} of {len(tests)} passed"
        else:
            reason = f"{len(failed)} of {len(tests)} failed: {failed[0]['output']}"
        rows.append((part.name, score, part.points, reason))
    return rows


def table(results, parts, width=120):
    """A plain-text table: part, score/max and one line of reason."""
    rows = part_rows(results, parts)
    name_width = max(len(r[0]) for r in rows)
    lines = [f"{'part':<{name_width}}  {'score':>11}  reason", "-" * min(width, 100)]
    for name, score, points, reason in rows:
        text = f"{name:<{name_width}}  {score:>5.2f}/{points:<5.2f}  {reason}"
        lines.append(text if len(text) <= width else text[:width - 1] + "…")
    total = sum(r[2] for r in rows)
    lines.append("-" * min(width, 100))
    lines.append(f"{'total':<{name_width}}  {results['score']:>5.2f}/{total:<5.2f}")
    return "\n".join(lines)
