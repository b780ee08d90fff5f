"""What the tests share besides fixtures (conftest.py holds those): paths, canaries, and small helpers.
Tests import them from here (`from tests.helpers import ...`), never from conftest."""

import os
import socket
import sys

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The real DeepTempo backend, unchanged and read-only (../shared/backend/README.md): tests copy what they
# need into temporary directories. DEEPTEMPO_BACKEND_SOURCE points elsewhere.
BACKEND_SOURCE = os.environ.get("DEEPTEMPO_BACKEND_SOURCE") or os.path.join(
    os.path.dirname(PROJECT), "shared", "backend", "deeptempo-ai-soc")
DEPLOY = [sys.executable, "-c", "from deeptempo_deploy.cli import main; main()"]
ENTRYPOINT = [sys.executable, "-m", "deeptempo_entrypoint"]
# Values no output may ever contain.
CANARY_CLAUDE = "sk-ant-CANARYclaude0123456789"
CANARY_PASSWORD = "Canary-Splunk-Passw0rd"
CANARY_GITHUB = "ghp_GITHUBCANARY0123456789abcdefABCDEF"
CANARY_DATABASE = "Canary-Database-Passw0rd-7Qx"  # a database password no output may contain
DATABASE_HOST = "postgres.deeptempo.test"
NOBODY = 65534
# This test run's own name: every image, container and label it makes carries it, so two runs can share
# an engine and each finds and removes only its own (scripts/test and .ci/run may set it).
RUN = os.environ.setdefault("DEEPTEMPO_RUN_LABEL", f"test-{os.getpid()}-{os.urandom(3).hex()}")
TEST_LABEL = f"io.deeptempo.test={RUN}"
RUN_FILTER = ["--filter", f"label=io.deeptempo.run={RUN}"]

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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def production_overlay_files(overlay, claude=CANARY_CLAUDE, database_password=CANARY_DATABASE):
    """What the production overlay needs before it renders, as a user writes it: secrets.env (the Claude key
    and the database's password) and database.env (the database's host), both gitignored."""
    write(os.path.join(overlay, "secrets.env"), f"CLAUDE_API_KEY={claude}\nPOSTGRES_PASSWORD={database_password}\n")
    write(os.path.join(overlay, "database.env"), f"POSTGRES_HOST={DATABASE_HOST}\n")
