"""feedback.html: one static, self-contained page per graded submission, for the student.

It shows the total, each part's score and reason, the MNIST accuracy and the training
curve (``extra_data.mnist_loss``, an inline PNG drawn with matplotlib's Agg backend),
and what the student's code printed. It needs no network and no other file, and
prints well.

It shows nothing the student should not see: the single reference values that a
comparison message quotes ("expected 0.8134") are replaced by "[hidden]", and absolute
paths (a temporary folder, the grader's checkout) are cut to their last component.
Every piece of text is escaped, since most of it comes from the student's code.
"""
import base64
import html
import io
import math
import os
import re
import tempfile
import threading
from pathlib import Path

from .results import part_rows

# "expected 0.8134", "expected -1.2e-05", "expected nan": a reference value. Shapes
# ("expected (64, 10)"), dtypes and "expected about 0.500" (from p) are not hidden.
EXPECTED_VALUE = re.compile(r"\bexpected (?:-?\d[\d.]*(?:e[+-]?\d+)?|-?inf|nan)(?![\w.(])")
# An absolute path of two or more components, e.g. /tmp/numpynn-submission-x/numpynn/conv.py.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:])(?:/[\w.+@-]+){2,}/?")

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.total { font-size: 1.3rem; margin: .3rem 0 1.2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
td.score { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.full td.score { color: #1a7f37; }
tr.lost td.score { color: #b42318; font-weight: 600; }
pre { background: #f6f8fa; padding: .8rem; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
img { max-width: 100%; }
.note { color: #666; font-size: .9rem; }
@media print { body { margin: 0; max-width: none; } pre { border: 1px solid #ccc; } }
"""

_plot_lock = threading.Lock()     # matplotlib is not thread-safe; pages may be drawn in threads


def clean(text) -> str:
    """Hide quoted reference values and absolute paths, then escape for HTML."""
    text = EXPECTED_VALUE.sub("expected [hidden]", str(text))
    text = ABSOLUTE_PATH.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)
    return html.escape(text)


def loss_curve_png(losses) -> bytes:
    """The per-epoch training loss as a small PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _plot_lock:
        figure = Figure(figsize=(6, 3.2), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        epochs = range(1, len(losses) + 1)
        axes.plot(epochs, losses, marker="o", color="#1f6feb")
        axes.set_xlabel("epoch")
        axes.set_ylabel("mean training loss")
        axes.set_xticks(list(epochs))
        axes.grid(alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _mnist_section(document):
    accuracy = next((e["value"] for e in document.get("leaderboard", [])
                     if e.get("name") == "MNIST test accuracy"), None)
    losses = document.get("extra_data", {}).get("mnist_loss") or []
    if accuracy is None and not losses:
        return ""
    lines = ["<h2>MNIST training</h2>"]
    if accuracy is not None:
        lines.append(f"<p>Test accuracy: <strong>{float(accuracy):.2%}</strong></p>")
    if losses:
        try:
            png = base64.b64encode(loss_curve_png([math.nan if v is None else float(v) for v in losses])).decode()
            lines.append(f'<img alt="training loss per epoch" src="data:image/png;base64,{png}">')
        except ImportError:
            lines.append('<p class="note">(matplotlib is not installed: no training curve)</p>')
        except (ValueError, OverflowError, TypeError):    # values no plot can hold
            lines.append('<p class="note">(the training losses could not be drawn)</p>')
    return "\n".join(lines)


def render(document, assignment) -> str:
    """The whole page for one results.json ``document``, as a string."""
    rows = []
    for name, score, points, reason in part_rows(document, assignment.parts):
        kind = "full" if score >= points - 1e-9 else "lost"
        rows.append(f'<tr class="{kind}"><td>{clean(name)}</td>'
                    f'<td class="score">{score:.2f} / {points:g}</td><td>{clean(reason)}</td></tr>')
    output = document.get("output", "")
    printed = f"<h2>Grader's notes and what your code printed</h2>\n<pre>{clean(output)}</pre>" if output else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Feedback: {clean(assignment.name)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{clean(assignment.name)}</h1>
<p class="total">Total: <strong>{float(document["score"]):.2f} / {assignment.total_points:g}</strong></p>
<table>
<thead><tr><th>part</th><th>score</th><th>reason</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{_mnist_section(document)}
{printed}
<p class="note">Graded in {float(document.get("execution_time", 0)):.0f} s.</p>
</body>
</html>
"""


def write(path: Path, document, assignment):
    """Render and write the page atomically (a reader never sees half of it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render(document, assignment))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
