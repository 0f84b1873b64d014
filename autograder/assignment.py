"""The assignment's definition, read from ``assignment/assignment.toml``."""
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import REPO

ASSIGNMENT_TOML = REPO / "assignment" / "assignment.toml"


@dataclass(frozen=True)
class Part:
    id: str
    name: str
    points: float
    number: int        # 1-based position, the first half of a test's number ("3.2")


@dataclass(frozen=True)
class Limits:
    """assignment.toml's [limits]: the grader enforces the wall clocks, the sandbox the rest."""
    case_seconds: float = 20       # wall clock for one hidden case
    mnist_seconds: float = 240     # wall clock for the MNIST training run
    budget_seconds: float = 480    # the whole grading (Gradescope's default limit is 10 min)
    retry_seconds: float = 2       # a part's later cases, once one of its cases timed out
    memory_mb: int = 1024          # address space of a worker
    cpu_seconds: int = 600         # CPU time of each worker process
    file_size_mb: int = 16         # largest file a worker may write
    processes: int = 32            # processes and threads a worker may run at once
    output_kb: int = 64            # student stdout/stderr kept per grading

    def __post_init__(self):
        for name, least in (("case_seconds", 0.1), ("mnist_seconds", 0.1), ("budget_seconds", 1),
                            ("retry_seconds", 0.1), ("memory_mb", 1), ("cpu_seconds", 1),
                            ("file_size_mb", 1), ("processes", 1), ("output_kb", 0)):
            value = getattr(self, name)
            whole = name.endswith(("_mb", "_kb")) or name in ("cpu_seconds", "processes")
            if (isinstance(value, bool) or not isinstance(value, int if whole else (int, float))
                    or value < least):
                kind = "an integer" if whole else "a number"
                raise ValueError(f"limits.{name} must be {kind} >= {least}, got {value!r}")


@dataclass(frozen=True)
class Mnist:
    seed: int = 0
    epochs: int = 4
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-3
    max_shift: int = 2             # random shifts of the training digits, in pixels
    tiers: tuple = ((0.97, 1.0),)

    def fraction(self, accuracy):
        """The fraction of the part's points that ``accuracy`` earns (tiers, best first)."""
        return max((share for floor, share in self.tiers if accuracy >= floor), default=0.0)


@dataclass(frozen=True)
class Assignment:
    name: str
    package: str
    student_files: tuple
    parts: tuple
    limits: Limits
    mnist: Mnist

    def part(self, part_id):
        return next(p for p in self.parts if p.id == part_id)

    @property
    def total_points(self):
        return sum(p.points for p in self.parts)


def load(path: Path = ASSIGNMENT_TOML) -> Assignment:
    data = tomllib.loads(Path(path).read_text())
    head = data["assignment"]
    parts = tuple(Part(p["id"], p["name"], float(p["points"]), i)
                  for i, p in enumerate(data["part"], start=1))
    mnist = dict(data.get("mnist", {}))
    mnist["tiers"] = tuple(tuple(t) for t in mnist.get("tiers", Mnist.tiers))
    return Assignment(name=head["name"], package=head["package"],
                      student_files=tuple(head["student_files"]), parts=parts,
                      limits=Limits(**data.get("limits", {})), mnist=Mnist(**mnist))
