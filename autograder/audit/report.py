"""The audit's report: counts by family and by file, the score, and every survivor's diff."""
from __future__ import annotations

from collections import Counter

from .mutants import FAMILIES

OUTCOMES = ("caught", "equivalent", "survived")


def score(verdicts):
    """(caught, non-equivalent): the audit's figure is their ratio."""
    counts = Counter(v.outcome for v in verdicts)
    return counts["caught"], counts["caught"] + counts["survived"]


def summary(verdicts):
    caught, judged = score(verdicts)
    equivalent = sum(v.outcome == "equivalent" for v in verdicts)
    by_error = sum(v.outcome == "caught" and v.by == "error" for v in verdicts)
    figure = f"{caught / judged:.1%}" if judged else "n/a"
    return (f"{len(verdicts)} mutants: {equivalent} equivalent (dropped), {caught} caught "
            f"({caught - by_error} by a wrong value, {by_error} by an error), "
            f"{judged - caught} survived; caught {caught} of {judged} non-equivalent = {figure}")


def markdown(verdicts, *, header=()):
    """The whole report as Markdown; ``header`` lines go first (how the run was made)."""
    lines = ["# Mutation audit of the hidden cases", "", *header, "", f"**{summary(verdicts)}**", ""]
    lines += _table("family", verdicts, lambda v: v.mutant.family, FAMILIES)
    lines += _table("file", verdicts, lambda v: v.mutant.file,
                    sorted({v.mutant.file for v in verdicts}))
    survivors = [v for v in verdicts if v.outcome == "survived"]
    lines += [f"## Survivors ({len(survivors)})", ""]
    for v in survivors:
        lines += [f"### {v.mutant.id}", "", v.reason, "", "```diff", v.mutant.diff().rstrip(), "```", ""]
    if not survivors:
        lines += ["None.", ""]
    equivalent = [v for v in verdicts if v.outcome == "equivalent"]
    lines += [f"## Equivalent mutants, dropped ({len(equivalent)})", "",
              "No hidden case tells these apart from the solution (every output within 1e-12). "
              "Read the list: one that is a real bug is a missing case, not an equivalent.", ""]
    lines += [f"- {v.mutant.id}: `{_changed_line(v.mutant)}`" for v in equivalent]
    return "\n".join(lines).rstrip() + "\n"


def _table(what, verdicts, key, rows):
    counts = Counter((key(v), v.outcome) for v in verdicts)
    lines = [f"| {what} | mutants | equivalent | caught | survived | caught of non-equivalent |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        n = {o: counts[row, o] for o in OUTCOMES}
        total = sum(n.values())
        if not total:
            continue
        judged = n["caught"] + n["survived"]
        ratio = f"{n['caught'] / judged:.1%}" if judged else "-"
        lines.append(f"| {row} | {total} | {n['equivalent']} | {n['caught']} | {n['survived']} | {ratio} |")
    return lines + [""]


def _changed_line(mutant):
    new = [line[1:].strip() for line in mutant.diff().splitlines()
           if line.startswith("+") and not line.startswith("+++")]
    return new[0] if new else ""
