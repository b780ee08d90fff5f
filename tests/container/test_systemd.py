"""The systemd units under a real systemd: an image from the local Debian base with systemd as PID 1
(`--cap-add SYS_ADMIN`, the host's cgroups read-only, tmpfs /run), the kit installed as the README's
plain-server steps say. Each unit turns active and healthy; a missing key fails with 78 and no restart;
no secret value reaches the journal."""

import contextlib
import json
import os
import shutil
import subprocess
import time

import pytest

from tests.container.containers import TestContainer
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, CANARY_PASSWORD, PROJECT, RUN, TEST_LABEL
from tests.readme import block

SYSTEMD_IMAGE = f"deeptempo-test-systemd:{RUN}"
PYTHON = "/opt/deeptempo/venv/bin/python"
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENV container=docker
RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /src/requirements.lock
COPY readme-install.sh /src/readme-install.sh
COPY pyproject.toml README.md env.example /src/
COPY entrypoint /src/entrypoint
COPY systemd /src/systemd
# The README's plain-server steps (its install block), run as they are written.
RUN cd /src && bash -euxo pipefail readme-install.sh
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
"""


@pytest.fixture(scope="module")
def systemd_image(docker_engine, tmp_path_factory):
    context = tmp_path_factory.mktemp("systemd-image")
    for name in ("requirements.lock", "pyproject.toml", "README.md", "env.example"):
        shutil.copy(os.path.join(PROJECT, name), context)
    for name in ("entrypoint", "systemd"):
        shutil.copytree(os.path.join(PROJECT, name), context / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    # In the image build the steps run as root (no sudo), and systemd, which is not running yet, loads the
    # units when it boots (no daemon-reload).
    steps = [line.replace("sudo ", "") for line in block("systemd-install").splitlines() if "systemctl" not in line]
    (context / "readme-install.sh").write_text("\n".join(steps) + "\n")
    (context / "Dockerfile").write_text(DOCKERFILE)
    result = subprocess.run(["docker", "build", "--force-rm", "--label", TEST_LABEL, "--network", "host", "--build-arg",
                             f"BASE_IMAGE={os.environ.get('BASE_IMAGE', 'python:3.12-slim')}", "-t", SYSTEMD_IMAGE, str(context)],
                            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield SYSTEMD_IMAGE
    subprocess.run(["docker", "rmi", "-f", SYSTEMD_IMAGE], capture_output=True)  # this run's, by its name


class Machine:
    """A container running systemd as PID 1."""

    def __init__(self, running):
        self.running = running

    def sh(self, script, check=True):
        code, output = self.running.run(["sh", "-c", script])
        if check:
            assert code == 0, output
        return output

    def write(self, path, text, mode=0o600):
        directory = os.path.dirname(path)
        self.sh(f"mkdir -p {directory}")
        code, output = self.running.run([PYTHON, "-c", "import os, sys; p = sys.argv[1]; "
                                              "fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, int(sys.argv[2], 8)); "
                                              "os.write(fd, os.environ['CONTENT'].encode()); os.close(fd)", path, oct(mode)],
                                             {"CONTENT": text})
        assert code == 0, output

    def systemctl(self, *args, check=True):
        return self.sh("systemctl " + " ".join(args), check=check)

    def show(self, unit, *properties):
        output = self.systemctl("show", unit, *(f"-p {p}" for p in properties))
        return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)

    def wait_active(self, unit, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.show(unit, "ActiveState", "SubState")
            if state["ActiveState"] == "active" and self.health(unit_port(unit)) == 200:
                return
            if state["ActiveState"] == "failed":
                break
            time.sleep(0.5)
        raise AssertionError(f"{unit} not active and healthy: {self.show(unit, 'ActiveState', 'ExecMainStatus')}\n"
                             + self.sh(f"journalctl -u {unit} --no-pager | tail -n 30", check=False))

    def health(self, port):
        output = self.sh(f"{PYTHON} -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/api/health', "
                         f"timeout=2).status)\" 2>/dev/null || echo 0", check=False)
        return int(output.strip().splitlines()[-1] or 0)

    def status_of(self, port):
        return json.loads(self.sh(f"{PYTHON} -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}"
                                  "/api/secrets/status').read().decode())\""))


PORTS = {"deeptempo@staging.service": 7001, "deeptempo@production.service": 7002}


def unit_port(unit):
    return PORTS.get(unit, 6987)


@pytest.fixture
def machine(systemd_image, docker_engine):
    with booted_machine(systemd_image) as started:
        yield started


@pytest.fixture(scope="module")
def systemd_postgres_image(systemd_image, tmp_path_factory):
    """The same machine with Debian's PostgreSQL (15 on bookworm: its postgresql.service and one cluster)."""
    context = tmp_path_factory.mktemp("systemd-postgres-image")
    (context / "Dockerfile").write_text(f"FROM {systemd_image}\nRUN apt-get update && apt-get install -y "
                                        "--no-install-recommends postgresql && rm -rf /var/lib/apt/lists/*\n")
    tag = f"deeptempo-test-systemd-postgres:{RUN}"
    result = subprocess.run(["docker", "build", "--force-rm", "--label", TEST_LABEL, "--network", "host", "-t", tag,
                             str(context)], capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
                            timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)  # this run's, by its name


@contextlib.contextmanager
def booted_machine(image):
    """A container of `image` with systemd as PID 1, once it runs; removed at the end."""
    container = TestContainer(image, publish=None, cap_add=["SYS_ADMIN"], healthcheck={"test": ["NONE"]},
                              volumes={"/sys/fs/cgroup": "/sys/fs/cgroup:ro"}, tmpfs={"/run": "", "/run/lock": ""})
    try:
        yield booted(Machine(container.start()))
    finally:
        container.stop()


def booted(machine):
    deadline = time.monotonic() + 60
    while "running" not in machine.sh("systemctl is-system-running 2>&1 || true", check=False):
        state = machine.sh("systemctl is-system-running 2>&1 || true", check=False)
        if "degraded" in state:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    # On a host, / is a shared mount; in this container it is private, and systemd (seeing a container)
    # leaves it so. A credentials directory, mounted in a private namespace and moved into place, then
    # never reaches the service, which finds it empty and root's: make / shared, as a host has it.
    machine.sh("mount --make-rshared /")
    return machine


def assert_no_secret_in_the_journal(machine):
    journal = machine.sh("journalctl --no-pager -o cat", check=False)
    assert CANARY_CLAUDE not in journal and CANARY_PASSWORD not in journal


def test_the_env_file_unit_turns_active_and_healthy(machine):
    machine.write("/etc/deeptempo/.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    machine.systemctl("start", "deeptempo.service")
    machine.wait_active("deeptempo.service")
    assert machine.status_of(6987)["secrets"]["CLAUDE_API_KEY"]["source"] == "environment"
    # The hardening holds at run time: the service user, no capabilities, state in StateDirectory.
    assert machine.show("deeptempo.service", "User")["User"] == "deeptempo"
    assert machine.sh("stat -c %U /var/lib/deeptempo").strip() == "deeptempo"
    assert_no_secret_in_the_journal(machine)


def test_the_credentials_unit_reads_systemd_credentials(machine):
    for name in json.loads(machine.sh(f"{PYTHON} -c \"import json; from deeptempo_entrypoint.spec import builtin_spec; "
                                      "print(json.dumps([e.name for e in builtin_spec() if e.is_secret]))\"")):
        machine.write(f"/etc/deeptempo/credentials/{name}", "")
    machine.write("/etc/deeptempo/credentials/CLAUDE_API_KEY", CANARY_CLAUDE + "\n")
    machine.systemctl("start", "deeptempo-credentials.service")
    machine.wait_active("deeptempo-credentials.service")
    status = machine.status_of(6987)["secrets"]
    assert status["CLAUDE_API_KEY"]["source"] == "credentials" and status["SPLUNK_PASSWORD"]["set"] is False
    # The unit's own environment (what systemctl show and the unit's other processes see) holds no secret;
    # the serve path hands the values to the app's process, as on every platform.
    assert CANARY_CLAUDE not in machine.sh("systemctl show deeptempo-credentials.service -p Environment")
    assert_no_secret_in_the_journal(machine)


def test_the_template_unit_runs_two_environments_on_two_ports(machine):
    for instance, port in (("staging", 7001), ("production", 7002)):
        machine.write(f"/etc/deeptempo/{instance}/.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPORT={port}\n")
    machine.systemctl("start", "deeptempo@staging.service", "deeptempo@production.service")
    for unit in PORTS:
        machine.wait_active(unit)
    assert machine.sh("stat -c %U /var/lib/deeptempo-staging /var/lib/deeptempo-production").split() == ["deeptempo"] * 2


def test_a_missing_key_fails_with_78_and_is_not_restarted(machine):
    machine.write("/etc/deeptempo/.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    machine.systemctl("start", "deeptempo.service", check=False)
    deadline = time.monotonic() + 30
    while machine.show("deeptempo.service", "ActiveState")["ActiveState"] != "failed":
        assert time.monotonic() < deadline, machine.show("deeptempo.service", "ActiveState", "NRestarts")
        time.sleep(0.5)
    time.sleep(3)  # longer than RestartSec: a restart would have happened by now
    state = machine.show("deeptempo.service", "ExecMainStatus", "NRestarts", "ActiveState")
    assert state == {"ExecMainStatus": "78", "NRestarts": "0", "ActiveState": "failed"}
    assert "CLAUDE_API_KEY: is not set" in machine.sh("journalctl -u deeptempo.service --no-pager -o cat")
    assert_no_secret_in_the_journal(machine)


def test_the_readmes_enable_steps_run_as_written(machine):
    """The README's enable block, typed at a root shell: `sudo` runs its command, and what `sudoedit`
    would open holds the values a user types in."""
    machine.write("/usr/local/bin/sudo", '#!/bin/sh\nexec "$@"\n', mode=0o755)
    machine.write("/usr/local/bin/sudoedit", '#!/bin/sh\nprintf %s "$README_EDITED_TEXT" > "$1"\n', mode=0o755)
    steps = block("systemd-enable")
    output = machine.sh(f"cd /src && export README_EDITED_TEXT='CLAUDE_API_KEY={CANARY_CLAUDE}\n' && {steps}")
    assert "Loaded: loaded (/etc/systemd/system/deeptempo.service; enabled" in output, output
    machine.wait_active("deeptempo.service")
    assert machine.sh("stat -c %a:%U /etc/deeptempo/.env").strip() == "600:root"
    assert machine.status_of(6987)["secrets"]["CLAUDE_API_KEY"]["source"] == "environment"
    assert machine.sh("systemctl is-enabled deeptempo.service").strip() == "enabled"
    assert_no_secret_in_the_journal(machine)


def test_the_local_database_drop_in_starts_the_backend_after_postgresql(systemd_postgres_image):
    """The README's lines for a PostgreSQL on the same server, typed at a root shell (`sudo -u postgres`
    runs as postgres): the unit wants and follows postgresql.service, starts after it, and the role it
    made takes the password the unit's env-file holds."""
    with booted_machine(systemd_postgres_image) as machine:
        a_local_database_before_the_backend(machine)


def a_local_database_before_the_backend(machine):
    machine.write("/usr/local/bin/sudo", '#!/bin/sh\nif [ "$1" = -u ]; then user=$2; shift 2; exec runuser -u "$user" -- "$@"; '
                                         'fi\nexec "$@"\n', mode=0o755)
    machine.write("/etc/deeptempo/.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_HOST=127.0.0.1\n"
                                         f"POSTGRES_PASSWORD={CANARY_DATABASE}\n")
    steps = block("systemd-local-database")
    output = machine.sh(f"cd /src && {steps}")
    shown = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert "postgresql.service" in shown["After"].split() and "postgresql.service" in shown["Wants"].split()
    machine.systemctl("stop", "postgresql.service")  # so that the backend's start brings it up (Wants=)
    machine.systemctl("start", "deeptempo.service")
    machine.wait_active("deeptempo.service")
    started = {unit: int(machine.show(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
               for unit in ("postgresql.service", "deeptempo.service")}
    assert 0 < started["postgresql.service"] < started["deeptempo.service"], started
    code, answer = machine.running.run(["psql", "-h", "127.0.0.1", "-U", "deeptempo", "-d", "deeptempo_soc", "-Atc",
                                        "select current_user"], {"PGPASSWORD": CANARY_DATABASE})
    assert (code, answer) == (0, "deeptempo\n")
    assert machine.status_of(6987)["secrets"]["POSTGRES_PASSWORD"]["source"] == "environment"
    assert CANARY_DATABASE not in machine.sh("journalctl --no-pager -o cat", check=False)
