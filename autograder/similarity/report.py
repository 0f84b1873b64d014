"""The report: similarity.csv, identical_failures.csv and report.html.

similarity.csv has one row for every pair of students in the class, and one for every
(student, --against file) pair that matched at all, highest similarity first:

    student_a,student_b,similarity,share_a,share_b,matched_tokens,source,identical_failures

``source`` is "class" or "against" (then student_b is the file's path). The shares are
the fractions of each side's code found in the other; similarity is the larger.
``identical_failures`` (with --grades) counts the failed hidden cases for which both
returned the same wrong output; it is empty when the two were not graded under one seed.
identical_failures.csv lists those pairs again, most shared first, naming the tests.

report.html is self-contained (copydetect's own report loads Bootstrap from a CDN,
which a page about students' code should not): a table of every matching pair, and for
the highest ones the two students' code side by side with the matched regions marked.
"""
import csv
import html
import io
from pathlib import Path

from copydetect.utils import highlight_overlap

from .fingerprints import NOISE

SIMILARITY_CSV = "similarity.csv"
FAILURES_CSV = "identical_failures.csv"
REPORT_HTML = "report.html"
COLUMNS = ["student_a", "student_b", "similarity", "share_a", "share_b", "matched_tokens",
           "source", "identical_failures"]


def rows(matches, shared):
    """Matches as CSV rows (dicts), highest similarity first, then by name."""
    out = []
    for m in matches:
        pair = shared.get(frozenset((m.a, m.b))) if shared is not None else None
        out.append({"student_a": m.a, "student_b": m.b, "similarity": f"{m.similarity:.4f}",
                    "share_a": f"{m.share_a:.4f}", "share_b": f"{m.share_b:.4f}",
                    "matched_tokens": m.tokens, "source": "against" if m.against else "class",
                    "identical_failures": "" if pair is None else len(pair.tests)})
    return out


def write_csv(path: Path, header, records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    _write(path, buffer.getvalue())


def failure_rows(shared):
    pairs = sorted((p for p in shared.values() if p.tests), key=lambda p: (-len(p.tests), p.a, p.b))
    return [{"student_a": p.a, "student_b": p.b, "seed": p.seed, "identical": len(p.tests),
             "tests": ", ".join(f"{t} ({n} students)" for t, n in p.tests.items())} for p in pairs]


FAILURE_COLUMNS = ["student_a", "student_b", "seed", "identical", "tests"]


def write_html(path: Path, matches, texts, *, title, notes, problems, show):
    """``matches`` sorted best first; ``texts``: document name -> text; the first ``show``
    pairs with any match get their code side by side."""
    matching = [m for m in matches if m.tokens]
    table = "".join(
        f"<tr><td>{i}</td><td>{_e(m.a)}</td><td>{_e(m.b)}</td>"
        f"<td class=num>{m.similarity:.0%}</td><td class=num>{m.share_a:.0%}</td>"
        f"<td class=num>{m.share_b:.0%}</td><td class=num>{m.tokens}</td>"
        f"<td>{_link(i, show)}</td></tr>"
        for i, m in enumerate(matching, start=1))
    sides = "".join(_side_by_side(i, m, texts) for i, m in enumerate(matching[:show], start=1))
    trouble = "".join(f"<li><b>{_e(who)}</b>: {_e(why)}</li>" for who, why in problems.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{_e(title)}</h1>
<ul class=notes>{"".join(f"<li>{_e(n)}</li>" for n in notes)}</ul>
{f'<h2>Not compared</h2><ul class=problems>{trouble}</ul>' if trouble else ''}
<h2>Pairs that share code ({len(matching)})</h2>
<table><thead><tr><th>#</th><th>a</th><th>b</th><th>similarity</th><th>share of a</th>
<th>share of b</th><th>matched</th><th></th></tr></thead><tbody>{table}</tbody></table>
<h2>Matched code, the {min(show, len(matching))} highest pairs</h2>
{sides}
</body></html>
"""
    _write(path, page)


def _side_by_side(i, m, texts):
    left = _marked(texts[m.a], m.slices_a, "a")
    right = _marked(texts[m.b], m.slices_b, "b")
    return (f'<section id="pair-{i}"><h3>{i}. {_e(m.a)} and {_e(m.b)}: {m.similarity:.0%}</h3>'
            f'<div class=pair><div><h4>{_e(m.a)} ({m.share_a:.0%} matched)</h4>'
            f"<pre>{left}</pre></div><div><h4>{_e(m.b)} ({m.share_b:.0%} matched)</h4>"
            f"<pre>{right}</pre></div></div></section>")


def _marked(text, slices, side):
    if slices.shape[1] == 0:
        return _e(text)
    marked, _ = highlight_overlap(text, slices, f"<mark class={side}>", "</mark>",
                                  escape_html=True)
    return marked


def _link(i, show):
    return f'<a href="#pair-{i}">code</a>' if i <= show else ""


def _e(text):
    return html.escape(str(text))


def _write(path: Path, text: str):
    """Atomically, so that an interrupted run leaves the previous report whole."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


STYLE = f"""
body {{ font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 2rem; }}
h1 {{ font-size: 1.5rem; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
.pair > div {{ min-width: 0; }}
pre {{ background: #f6f8fa; padding: .6rem; font-size: 12px; overflow-x: auto; }}
mark.a {{ background: #f2b6b6; }}
mark.b {{ background: #b6f2b6; }}
.problems li {{ color: #b42318; }}
/* matches shorter than {NOISE} filtered characters are not marked */
"""
