import os
import subprocess
import sys
import tempfile

import pytest

from entrypoint.constants import FILE_SUFFIX, KIT_VARIABLES
from entrypoint.spec import builtin_spec

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRYPOINT = [sys.executable, "-m", "entrypoint"]
# Values no output may ever contain.
CANARY_CLAUDE = "sk-ant-CANARYclaude0123456789"
CANARY_PASSWORD = "Canary-Splunk-Passw0rd"
NOBODY = 65534

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


def as_nobody(function, *args):
    """Call function(*args) in a forked child running as nobody (as root, mode 000 does not stop a
    read); return the message of what it raised, or None."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        message = b""
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            function(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            message = (str(exc) or type(exc).__name__).encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        message = stream.read().decode()
    os.waitpid(pid, 0)
    return message or None


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


def wait_for_url(url, process, timeout=30):
    """Poll `url` until it answers; fail naming `url` if `process` ends or `timeout` passes first."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return answer.status
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


def write(path, text, mode=0o600):
    with open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    os.chmod(path, mode)
    return path
