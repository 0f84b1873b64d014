#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.
#
# It installs the grading runtime: Python 3 (3.10 or newer) and bubblewrap (the
# sandbox) from apt, then a plain virtual environment, $ROOT/venv, holding exactly
# requirements.txt. run_autograder uses that environment and nothing else.
# Last, it hides the bundle from every user but root (see the end).
#
# AUTOGRADER_ROOT (default /autograder) lets a test run the bundle in a local folder
# laid out like Gradescope's: $ROOT/source is the unzipped bundle.
#
# `setup.sh --check` installs nothing on the machine: it checks that python3, venv and
# bubblewrap are already there and stops (exit 3) naming what is missing, then builds
# the venv inside $ROOT as usual. The project's tests use it: a test suite must never
# change the machine it runs on.
set -euo pipefail

CHECK_ONLY=false
case "${1:-}" in
    --check) CHECK_ONLY=true ;;
    "") ;;
    *) echo "setup.sh: unknown argument $1 (the only option is --check)" >&2; exit 2 ;;
esac

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
PYTHON=/usr/bin/python3          # apt's Python, whatever else is on PATH
unset PYTHONPATH PYTHONHOME      # nothing of the caller's environment leaks into the venv

have_runtime() {
    [ -x "$PYTHON" ] && "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null && command -v bwrap >/dev/null
}

missing_runtime() {
    [ -x "$PYTHON" ] || { echo "$PYTHON"; return; }
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || echo "python3-venv"
    command -v bwrap >/dev/null || echo "bubblewrap"
}

if have_runtime; then
    echo "setup.sh: python3, venv and bubblewrap are already installed"
elif $CHECK_ONLY; then
    echo "setup.sh --check: not installed: $(missing_runtime | paste -sd ' ' -) (installing nothing)" >&2
    exit 3
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip bubblewrap
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else
    f"setup.sh: Python {sys.version.split()[0]} is too old: the grader needs 3.10 or newer "
    "(choose an Ubuntu 22.04 or 24.04 base image)")'

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary \
    -r "$SOURCE/requirements.txt"

# Fail the build now, not the first student: the grader must import in the venv.
cd "$SOURCE"
"$VENV/bin/python" -c 'import sys, numpy, autograder.grade
print(f"setup.sh: Python {sys.version.split()[0]}, numpy {numpy.__version__} in {sys.prefix}")'

# Where bubblewrap cannot run (Docker usually forbids the namespaces it needs), the
# grader still runs as root and jails its worker: a chroot of copies, as a uid of its
# own (autograder/jail.py), which sees none of the bundle. Should root be unable to
# chroot, the worker runs as root; in any case other users may read only the venv, the
# worker and what it imports (frames.py, programs/) and the release, and nothing else of
# the bundle: not the solution, the hidden test digits (autograder/mnist_test.npz), the
# hidden cases (autograder/cases), nor the audit notes that quote the solution.
chmod -R go-rwx "$SOURCE"
chmod -R o+rX "$VENV" "$SOURCE/release" "$SOURCE/autograder/programs"
chmod o+x "$ROOT" "$SOURCE"
chmod o+rx "$SOURCE/autograder"     # listed, to import frames and programs; its secrets stay 0600
chmod o+r "$SOURCE/autograder/worker.py" "$SOURCE/autograder/frames.py"
chmod 755 "$SOURCE/run_autograder"
