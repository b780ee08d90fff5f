"""Fixtures for every test: a clean environment, the real entry point in a child process, and CI's
rule that a skipped test is a failed one. Shared helpers live in tests/helpers.py."""

import os
import subprocess
import tempfile

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


