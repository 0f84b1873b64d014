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
    case_seconds: float = 20
    mnist_seconds: float = 240
    memory_mb: int = 1024
    cpu_seconds: int = 600
    file_size_mb: int = 16
    processes: int = 32
    output_kb: int = 64


@dataclass(frozen=True)
class Mnist:
    seed: int = 0
    epochs: int = 4
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-3
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
