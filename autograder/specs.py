"""The hidden cases: ``autograder/cases/<part id>.toml`` turned into ``Case`` objects."""
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import programs
from .assignment import Assignment, tomllib

CASES_DIR = Path(__file__).resolve().parent / "cases"


@dataclass(frozen=True)
class Case:
    part: str          # the part's id, e.g. "conv2d"
    index: int         # position within the part, from 1
    title: str         # "Conv2d: stride 2, padding 1", the test's name in results.json
    number: str        # "2.3": part number and case index
    program: str       # what the worker runs: layer, loss, optim, dropout, mnist, speed
    spec: dict = field(hash=False)      # the case's TOML keys, defaults applied
    weight: float = 1.0
    max_score: float = 0.0

    @property
    def id(self):
        return f"{self.part}/{self.index}"

    @property
    def stream(self):
        """This case's own stream of the grading's random inputs."""
        return zlib.crc32(self.id.encode())

    @property
    def kind(self):
        """The Program that draws, runs and judges this case (``autograder/programs/``)."""
        return programs.kind(self.program)

    @property
    def wire(self):
        """What the worker is told of the case."""
        return {"id": self.id, "program": self.program, "spec": self.spec}

    @property
    def dtype(self):
        return self.spec.get("dtype", "float64")


def load_cases(assignment: Assignment, cases_dir: Path = CASES_DIR) -> list:
    """Every part's cases in assignment order, each with its share of the part's points."""
    cases = []
    for part in assignment.parts:
        path = cases_dir / f"{part.id}.toml"
        if not path.exists():
            raise FileNotFoundError(f"part {part.id!r} has no hidden cases: {path} is missing")
        data = tomllib.loads(path.read_text())
        defaults = data.get("defaults", {})
        specs = [{**defaults, **case} for case in data.get("case", [])]
        if not specs:
            raise ValueError(f"{path}: no [[case]] entries")
        total = sum(float(s.get("weight", 1)) for s in specs)
        for i, spec in enumerate(specs, start=1):
            programs.kind(spec.get("program"))     # a typo fails here, not mid-grading
            weight = float(spec.get("weight", 1))
            cases.append(Case(part=part.id, index=i, title=f"{part.name}: {spec['name']}",
                              number=f"{part.number}.{i}", program=spec["program"], spec=spec,
                              weight=weight, max_score=part.points * weight / total))
    return cases
