"""Shared by every test: a test suite must not change the machine it runs on.

Tools write caches and runtime files under the home folder unasked: matplotlib its
font cache, Jupyter and IPython the kernel's connection files, pip its wheels (the
Gradescope bundle's setup builds a venv). Every one of them is pointed at one
temporary folder for the whole run, before any test starts a process, and that folder
is removed at the end. (Nothing is installed system-wide by any test: the bundle's
setup.sh runs with --check, see test_export_gradescope.py.)
"""
import os
import shutil
import tempfile
from pathlib import Path

SCRATCH = Path(tempfile.mkdtemp(prefix="numpynn-tests-home-"))
for variable, folder in {"MPLCONFIGDIR": "matplotlib", "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
                         "JUPYTER_DATA_DIR": "jupyter/data", "IPYTHONDIR": "ipython",
                         "PIP_CACHE_DIR": "pip", "XDG_CACHE_HOME": "cache"}.items():
    os.environ[variable] = str(SCRATCH / folder)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SCRATCH, ignore_errors=True)
