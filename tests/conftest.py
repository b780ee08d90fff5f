"""Fixtures for every test: a clean environment, the real entry point in a child process, and CI's
rule that a skipped test is a failed one. Shared helpers live in tests/helpers.py."""

import os
import subprocess
import tempfile
from collections import Counter

import pytest

from deeptempo_entrypoint.constants import FILE_SUFFIX, KIT_VARIABLES
from deeptempo_entrypoint.spec import builtin_spec
from tests.aws_standin import aws_environment, moto  # noqa: F401 (fixtures for every module)
from tests.helpers import ENTRYPOINT


def _kit_names():
    names = set(KIT_VARIABLES)
    for entry in builtin_spec():
        for name in entry.lookup_names:
            names.update({name, name + FILE_SUFFIX})
    return names


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failed test: nothing may pass by not running."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


def suite_of(nodeid: str) -> str:
    """The suite a test belongs to: its folder under tests/ (tests/container, tests/platforms, ...)."""
    parts = nodeid.split("::")[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else "tests (top level)"


class SuiteTimes:
    """Each suite's time, printed at the end for CI's record (`.ci/run` prints each suite's time): every
    phase counts, set-up included, since a suite's image builds are its own."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[suite_of(report.nodeid)] += report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.seconds:
            return
        terminalreporter.section("time per suite")
        for suite, total in sorted(self.seconds.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{total:8.1f} s  {suite}")
        terminalreporter.write_line(f"{sum(self.seconds.values()):8.1f} s  in all")


def pytest_configure(config):
    config.pluginmanager.register(SuiteTimes(), "deeptempo-suite-times")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Every test starts with none of the kit's variables set and a HOME of its own."""
    for name in _kit_names():
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    # /run/secrets is the default secrets directory; point at an empty one so the host's never leaks in.
    empty = tmp_path / "no-secrets"
    empty.mkdir()
    monkeypatch.setenv("DEEPTEMPO_SECRETS_DIR", str(empty))
    return home


@pytest.fixture
def run_entrypoint():
    """Run the real console entry point in a child process; returns CompletedProcess (text)."""

    def run(*args, env=None, timeout=60, **kwargs):
        environment = dict(os.environ)
        environment.update(env or {})
        return subprocess.run([*ENTRYPOINT, *args], env=environment, capture_output=True, text=True, timeout=timeout, **kwargs)

    return run


@pytest.fixture
def shared_tmp():
    """A directory an unprivileged user (nobody, the image's uid 10001) can traverse: pytest's tmp_path
    is root's, mode 0700."""
    directory = tempfile.mkdtemp(prefix="deeptempo-test-")
    os.chmod(directory, 0o755)
    yield directory
    subprocess.run(["rm", "-rf", directory], check=False)


@pytest.fixture
def memory_keyring():
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            if self.store.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


