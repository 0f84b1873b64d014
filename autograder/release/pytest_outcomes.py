"""A pytest plugin that writes every test's outcome, with the exception's type, to JSON.

Loaded in the child pytest with ``-p autograder.release.pytest_outcomes
--outcomes-json PATH --outcomes-package numpynn``. The release check reads this file
rather than pytest's human output. It records, per test phase (setup, call,
teardown) and per failed collection, the outcome and whether the exception is a
``NotImplementedError``; and at the end, which file the package was imported from.
"""
import json
import sys

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("outcomes", "machine-readable outcomes for the release check")
    group.addoption("--outcomes-json", default=None, help="write the outcomes to this JSON file")
    group.addoption("--outcomes-package", default=None, help="record where this package was imported from")


def pytest_configure(config):
    path = config.getoption("outcomes_json")
    if path:
        config.pluginmanager.register(Recorder(path, config.getoption("outcomes_package")), "outcomes-recorder")


class Recorder:
    """Collects the records while pytest runs and writes them when the session ends."""

    def __init__(self, path, package):
        self.path, self.package = path, package
        self.records = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        record = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome}
        if call.excinfo is not None and not report.passed:
            record.update(exception=_qualified_name(call.excinfo.type),
                          not_implemented=bool(call.excinfo.errisinstance(NotImplementedError)),
                          message=_first_line(call.excinfo.exconly()))
        self.records.append(record)

    def pytest_collectreport(self, report):
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            if crash is not None:
                message = crash.message
            else:  # import errors come as text; their last line is "E   ImportError: ..."
                lines = [line for line in str(report.longrepr).splitlines() if line.strip()]
                message = lines[-1].removeprefix("E").strip() if lines else "collection failed"
            self.records.append({"nodeid": report.nodeid, "when": "collect", "outcome": "failed",
                                 "message": _first_line(message)})

    def pytest_sessionfinish(self, session, exitstatus):
        module = sys.modules.get(self.package) if self.package else None
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump({"exitstatus": int(exitstatus),
                       "package_file": getattr(module, "__file__", None),
                       "records": self.records}, f, indent=1)


def _qualified_name(cls):
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _first_line(text, limit=200):
    """The exception's first line; with pytest's ``AssertionError:`` the line after it too."""
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [""]
    line = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."
