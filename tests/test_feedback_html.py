"""feedback.html: rendered from a real graded document, checked as text and in Chromium.

The document comes from grading the solution with a Tanh backward bug and a print at
import time that tries to inject markup and shows a path, with the MNIST part
included, so the page has a failing part, a training curve and student output.
"""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from autograder import REPO, feedback, grade
from autograder.assignment import load

ASSIGNMENT = load()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BUG = ("grad_x = grad_out * (1 - out * out)", "grad_x = grad_out * (1 - out)")
PRINT = ('print("<script>alert(1)</script> loaded from /home/student/secret/activations.py",'
         ' flush=True)\n')


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(results document, page) for the buggy, chatty solution, graded with MNIST."""
    folder = tmp_path_factory.mktemp("feedback") / "submission"
    shutil.copytree(REPO / "solution" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "numpynn" / "activations.py"
    text = path.read_text()
    assert BUG[0] in text, "Tanh.backward changed; update this test's bug"
    path.write_text(PRINT + text.replace(BUG[0], BUG[1], 1))
    document = grade.grade(folder, assignment=ASSIGNMENT)
    return document, feedback.render(document, ASSIGNMENT)


def tanh_failures(document):
    return [t for t in document["tests"] if t["name"].startswith("Tanh") and t["status"] == "failed"]


def test_the_page_shows_the_total_every_part_and_the_mnist_result(graded):
    document, page = graded
    assert f"{document['score']:.2f} / {ASSIGNMENT.total_points:g}" in page
    for part in ASSIGNMENT.parts:
        assert f"<td>{part.name}</td>" in page.replace("&#x27;", "'")
    (entry,) = document["leaderboard"]
    assert f"Test accuracy: <strong>{entry['value']:.2%}</strong>" in page
    assert len(document["extra_data"]["mnist_loss"]) == ASSIGNMENT.mnist.epochs


def test_the_training_curve_is_an_inline_png(graded):
    _, page = graded
    (encoded,) = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    png = base64.b64decode(encoded)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert "http://" not in page and "https://" not in page      # nothing fetched


def test_reference_values_are_hidden_but_the_reason_stays(graded):
    document, page = graded
    failures = tanh_failures(document)
    assert failures, "the planted Tanh bug was not caught"
    quoted = [m for t in failures for m in re.findall(r"expected (-?[\d.]+(?:e[+-]?\d+)?)", t["output"])]
    assert quoted, "the grader no longer quotes a reference value; this test checks nothing"
    for value in quoted:
        assert f"expected {value}" not in page
    assert "expected [hidden]" in page and "max relative error" in page


def test_no_paths_and_student_text_is_escaped(graded):
    document, page = graded
    assert "<script>alert(1)</script>" in document["output"]    # the student did print it
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "/home/student" not in page and "…/activations.py" in page
    assert str(REPO) not in page and "numpynn-submission" not in page
    assert not re.search(r"(?<![\w.~/:])/(tmp|root|home|work|usr|opt|var)/", page)


def test_grade_html_writes_the_page_next_to_the_results(tmp_path):
    results = tmp_path / "out" / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(REPO / "release"),
                           "--results", str(results), "--html", "--quiet"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "feedback.html").read_text()
    assert json.loads(results.read_text())["score"] == 0
    assert f"0.00 / {ASSIGNMENT.total_points:g}" in page and "is not written yet" in page


# -- in a real browser ------------------------------------------------------------------
def chromium(tmp_path, *args):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-breakpad", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120,
        # Chromium keeps crash reports under $XDG_CONFIG_HOME whatever --user-data-dir
        # says: this test's own folder, not the home of whoever runs the tests.
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")})


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_chromium_renders_the_page(graded, tmp_path):
    document, page = graded
    path = tmp_path / "feedback.html"
    path.write_text(page, encoding="utf-8")
    total = f"{document['score']:.2f} / {ASSIGNMENT.total_points:g}"

    dom = chromium(tmp_path, "--dump-dom", path.as_uri())
    assert total in dom.stdout and "MNIST training" in dom.stdout, dom.stderr[-2000:]
    assert "<script>alert" not in dom.stdout

    shot = tmp_path / "feedback.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    from PIL import Image
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "the screenshot is (nearly) one colour"
    if "SAVE_SCREENSHOT" in os.environ:     # for a human to look at
        shutil.copyfile(shot, os.environ["SAVE_SCREENSHOT"])
