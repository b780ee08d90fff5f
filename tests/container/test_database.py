"""The database variants on a real engine, with the PostgreSQL 15 stand-in (tests/images/postgres) in the
place of postgres:15-bookworm. Compose: the shipped files run unchanged through testcontainers'
DockerCompose (`up --wait`), the stand-in passed through DEEPTEMPO_POSTGRES_IMAGE and the password file
made as the README says; both services turn healthy, the database answers the backend's network position
with that password and nobody else's, and the README's backup, restore and password rotation run as
written. Kubernetes: `local k8s` runs components/postgresql's StatefulSet beside the backend's pod, and
`local helm` the chart's. Every container a test starts carries this run's label (Compose's, its project
name) and is removed at its end."""

import json
import os
import re
import shutil
import subprocess
import urllib.request
import uuid

import pytest
import yaml
from testcontainers.compose import DockerCompose
from testcontainers.core.container import DockerContainer

from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, DEPLOY, PROJECT, RUN, RUN_FILTER, free_port, write
from tests.readme import block, commands, sudo_shims

FILES = ["docker-compose.yml", "docker-compose.database.yml"]
LABELS = {"io.deeptempo.test": RUN, "io.deeptempo.run": RUN}  # as tests/helpers.py's TEST_LABEL and RUN_FILTER
COMPOSE_LINE = re.compile(r"^docker compose -f docker-compose\.yml -f docker-compose\.database\.yml ")


class Deployment:
    """A user's directory with the two shipped files (copied unchanged), the README's password file, an
    env-file with the Claude key, and the Compose project testcontainers drives, named after this run."""

    def __init__(self, directory, image, postgres_image):
        self.directory = directory
        for name in FILES:
            shutil.copy(os.path.join(PROJECT, name), directory)
        self.port = free_port()
        self.project = re.sub(r"[^a-z0-9_-]", "-", f"deeptempo-db-{RUN}-{uuid.uuid4().hex[:6]}".lower())
        app_env = write(os.path.join(directory, "app.env"), f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
        os.chown(app_env, 10001, 10001)
        self.variables = {"COMPOSE_PROJECT_NAME": self.project, "DEEPTEMPO_IMAGE": image,
                          "DEEPTEMPO_POSTGRES_IMAGE": postgres_image, "DEEPTEMPO_PORT": str(self.port),
                          "DEEPTEMPO_COMPOSE_ENV_FILE": app_env}
        self.env_file = write(os.path.join(directory, "compose.env"),
                              "".join(f"{name}={value}\n" for name, value in self.variables.items()))
        self.compose = DockerCompose(directory, compose_file_name=FILES, env_file=self.env_file, wait=True)
        self.shell_environment = {**os.environ, **self.variables,
                                  "PATH": f"{sudo_shims(os.path.join(directory, 'bin'))}:{os.environ['PATH']}"}

    def shell(self, script, check=True):
        """README lines, run in the user's directory as a user runs them."""
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=self.directory, env=self.shell_environment,
                                capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return result

    def make_password_file(self):
        """The README's lines that make the password file (its `docker compose` line is testcontainers')."""
        lines = block("compose-database").splitlines()
        assert COMPOSE_LINE.match(lines[-1]) and lines[-1].endswith(" up -d --wait")  # what DockerCompose runs
        self.shell("\n".join(lines[:-1]))

    @property
    def password(self):
        with open(os.path.join(self.directory, "secrets", "postgres_password")) as stream:
            return stream.read()

    def container(self, service):
        return self.compose.get_container(service)

    def inspect(self, service):
        return json.loads(subprocess.run(["docker", "inspect", self.container(service).ID], capture_output=True, text=True,
                                         check=True).stdout)[0]

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.status, response.read().decode()

    def psql(self, sql):
        stdout, stderr, code = self.compose.exec_in_container(
            ["psql", "-v", "ON_ERROR_STOP=1", "-At", "-U", "deeptempo", "-d", "deeptempo_soc", "-c", sql], "postgres")
        assert code == 0, stderr
        return stdout.strip()


def deployed(image, postgres_image, directory):
    made = Deployment(directory, image, postgres_image)
    made.make_password_file()
    try:
        yield made
    finally:
        subprocess.run(["docker", "compose", "--env-file", made.env_file, *[arg for name in FILES for arg in ("-f", name)],
                        "down", "-v", "--remove-orphans"], cwd=made.directory, capture_output=True)


@pytest.fixture
def deployment(image, postgres_image, shared_tmp):
    """The variant with the kit's image (the built-in app): the files, the network, the password's life."""
    yield from deployed(image, postgres_image, shared_tmp)


@pytest.fixture
def backend_deployment(backend_image, postgres_image, shared_tmp):
    """The variant with the real backend's image (examples/deeptempo-backend): what it stores."""
    yield from deployed(backend_image, postgres_image, shared_tmp)


def leaked(secret, **texts):
    """The names of the texts that hold `secret`: asserted empty, so a failure names where, never the value
    (pytest would print both sides of an `in` comparison)."""
    return [name for name, text in texts.items() if secret in text]


def run_once(image, command, mounts=(), **kwargs):
    """A helper container of this run (labelled), run to its end: (exit code, output). `mounts`: (host
    path, container path) pairs, read-only."""
    container = DockerContainer(image).with_command(command).with_kwargs(labels=LABELS, **kwargs)
    for host, inside in mounts:
        container.with_volume_mapping(host, inside, "ro")
    container.start()
    try:
        code = container.get_wrapped_container().wait(timeout=120)["StatusCode"]
        stdout, stderr = container.get_logs()
        return code, (stdout + stderr).decode("utf-8", errors="replace")
    finally:
        container.stop()


def login_from(network_mode, deployment, postgres_image, host="postgres"):
    """A password login over TCP as the backend's user, from a network position: the password comes from
    the file itself (mounted read-only), never from an argument or this test's environment."""
    script = f'PGPASSWORD=$(cat /password) exec psql -h {host} -U deeptempo -d deeptempo_soc -Atc "select current_user"'
    return run_once(postgres_image, ["sh", "-c", script], network_mode=network_mode, entrypoint=[],
                    mounts=[(os.path.join(deployment.directory, "secrets", "postgres_password"), "/password")])


# --- Compose ----------------------------------------------------------------------------------------------

def test_the_database_variant_turns_healthy_and_its_database_answers_the_backend_alone(deployment, postgres_image):
    info = os.stat(os.path.join(deployment.directory, "secrets", "postgres_password"))
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, 10001, 0o440)
    with deployment.compose:
        assert {c.Service: c.Health for c in deployment.compose.get_containers()} == {"deeptempo": "healthy",
                                                                                       "postgres": "healthy"}
        status, body = deployment.get("/api/health")
        assert status == 200 and json.loads(body)["status"] == "healthy"
        secrets = json.loads(deployment.get("/api/secrets/status")[1])["secrets"]
        assert secrets["POSTGRES_PASSWORD"]["source"] == "secrets-dir" and secrets["POSTGRES_HOST"]["source"] == "environment"
        # From the backend's own network position, with the one password file: a login.
        app, database = deployment.inspect("deeptempo"), deployment.inspect("postgres")
        assert login_from(f"container:{app['Id']}", deployment, postgres_image) == (0, "deeptempo\n")
        # Nobody else: not the host (nothing published), not a container on the backend's other network.
        assert all(binding is None for binding in (database["NetworkSettings"]["Ports"] or {}).values())
        assert set(database["NetworkSettings"]["Networks"]) == {f"{deployment.project}_database"}
        address = database["NetworkSettings"]["Networks"][f"{deployment.project}_database"]["IPAddress"]
        code, _ = run_once(postgres_image, ["pg_isready", "-h", "postgres", "-t", "3"], network=f"{deployment.project}_default",
                           entrypoint=[])
        assert code != 0  # the name does not resolve there
        code, _ = run_once(postgres_image, ["pg_isready", "-h", address, "-t", "3"], network=f"{deployment.project}_default",
                           entrypoint=[])
        assert code != 0  # and the address is not routed
        network = json.loads(subprocess.run(["docker", "network", "inspect", f"{deployment.project}_database"],
                                            capture_output=True, text=True, check=True).stdout)[0]
        assert network["Internal"] is True
        assert sorted(c["Name"].rsplit("-", 2)[-2] for c in network["Containers"].values()) == ["deeptempo", "postgres"]
        # The database password in nothing Docker shows or the services log (the Claude key is in the
        # backend's inspect by design: Compose's env_file arrives as environment).
        logs = "".join(deployment.compose.get_logs())
        assert leaked(deployment.password, app=json.dumps(app), database=json.dumps(database), logs=logs) == []
        assert leaked(CANARY_CLAUDE, logs=logs, database=json.dumps(database)) == []
    verified = subprocess.run([*DEPLOY, "verify", "compose", *FILES, "--json"], cwd=deployment.directory,
                              env=deployment.shell_environment | {"DEEPTEMPO_SECRETS_HOST_DIR": os.path.join(
                                  deployment.directory, "secrets")}, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not [f for f in json.loads(verified.stdout)["findings"] if f["rule"].startswith(("database", "exception"))]


def post_case(deployment, title):
    request = urllib.request.Request(f"http://127.0.0.1:{deployment.port}/api/cases/", method="POST",
                                     data=json.dumps({"title": title, "description": "stored by the database variant",
                                                      "finding_ids": [], "priority": "low"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_the_real_backend_keeps_its_cases_in_the_compose_database(backend_deployment):
    """The backend, as the README's Compose variant runs it: healthy only on PostgreSQL storage (the
    probe's DEEPTEMPO_REQUIRE_STORAGE), a case saved through its API is a row in the database, and a new
    backend container lists it."""
    deployment = backend_deployment
    with deployment.compose:
        health = json.loads(deployment.get("/api/health")[1])
        assert health["storage"] == {"backend": "postgresql", "database_available": True}
        assert post_case(deployment, "kept in PostgreSQL") == 200
        assert deployment.psql("SELECT count(*) FROM cases WHERE title = 'kept in PostgreSQL'") == "1"
        deployment.shell('docker compose -f docker-compose.yml -f docker-compose.database.yml up -d --wait '
                         '--force-recreate --no-deps deeptempo')
        listed = json.loads(deployment.get("/api/cases/?force_refresh=true")[1])["cases"]
        assert [case["title"] for case in listed] == ["kept in PostgreSQL"]
        logs = "".join(deployment.compose.get_logs())
        assert "Errno 13" not in logs and leaked(deployment.password, logs=logs) == []


def test_backup_and_restore_round_trip_as_the_readme_says(deployment):
    dump, restore = commands("compose-backup")
    assert COMPOSE_LINE.match(dump) and COMPOSE_LINE.match(restore)
    with deployment.compose:
        deployment.psql("CREATE TABLE cases (id integer PRIMARY KEY, title text NOT NULL); "
                        "INSERT INTO cases SELECT n, 'case ' || n FROM generate_series(1, 250) AS n")
        deployment.shell(dump)
        assert os.path.getsize(os.path.join(deployment.directory, "deeptempo.dump")) > 0
        deployment.compose.stop(down=True)  # down --volumes: the database is gone
        deployment.compose.start()  # a fresh volume, initialised with the same password file
        assert deployment.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'cases'") == "0"
        deployment.shell(restore)
        assert deployment.psql("SELECT count(*), sum(id) FROM cases") == "250|31375"
        assert deployment.get("/api/health")[0] == 200


def test_the_password_rotates_as_the_readme_says(deployment, postgres_image):
    with deployment.compose:
        before, database = deployment.password, deployment.container("postgres").ID
        result = deployment.shell(block("compose-rotate-password"))
        after = deployment.password
        assert after != before and len(after) >= 24
        assert deployment.container("postgres").ID == database  # the database kept running
        app = deployment.inspect("deeptempo")
        assert app["State"]["Health"]["Status"] == "healthy"
        assert login_from(f"container:{app['Id']}", deployment, postgres_image) == (0, "deeptempo\n")
        info = os.stat(os.path.join(deployment.directory, "secrets", "postgres_password"))
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, 10001, 0o440)  # written in place
        assert leaked(after, output=result.stdout + result.stderr) == leaked(before, output=result.stdout + result.stderr) == []


# --- verify compose: the password file arrangement, and copies broken one way ---------------------------------

def _verify(directory, override, secrets=None):
    path = write(os.path.join(directory, "docker-compose.database.yml"), yaml.safe_dump(override, sort_keys=False))
    environment = {**os.environ, "DEEPTEMPO_SECRETS_HOST_DIR": secrets or os.path.join(directory, "absent")}
    result = subprocess.run([*DEPLOY, "verify", "compose", os.path.join(PROJECT, "docker-compose.yml"), path, "--json"],
                            capture_output=True, text=True, env=environment)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def _without_group(document):
    document["services"]["postgres"].pop("group_add")


def _password_in_the_environment(document):
    document["services"]["deeptempo"]["environment"]["POSTGRES_PASSWORD"] = "${DATABASE_PASSWORD}"


def _published(document):
    document["services"]["postgres"]["ports"] = ["127.0.0.1:5432:5432"]


def _without_exception(document):
    document["services"]["postgres"]["x-deeptempo-verify"]["exceptions"].pop("health-probe")


def _an_exception_for_the_backend(document):
    document["services"]["deeptempo"]["x-deeptempo-verify"] = {"exceptions": {"non-root": "because"}}


def _a_socket_probe(document):
    document["services"]["postgres"]["healthcheck"]["test"] = ["CMD", "pg_isready", "-U", "deeptempo"]


BROKEN = {
    "database-without-the-backends-group": (_without_group, "error", "database-password"),
    "backend-password-from-elsewhere": (_password_in_the_environment, "error", "database-password"),
    "published-database": (_published, "warning", "database-network"),
    "exception-removed": (_without_exception, "error", "health-probe"),
    "exception-on-the-backend": (_an_exception_for_the_backend, "error", "exception"),
    "probe-on-the-socket": (_a_socket_probe, "warning", "database-probe"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verify_compose_names_what_a_broken_database_variant_breaks(docker_engine, tmp_path, case):
    change, level, rule = BROKEN[case]
    document = yaml.safe_load(open(os.path.join(PROJECT, "docker-compose.database.yml")))
    code, findings = _verify(str(tmp_path), document)
    assert code == 0 and not [f for f in findings if f["rule"].startswith(("database", "exception"))], findings
    change(document)
    code, findings = _verify(str(tmp_path), document)
    assert rule in {f["rule"] for f in findings if f["level"] == level}, findings
    assert (code == 78) == (level == "error")


@pytest.mark.parametrize("owner, group, mode, accepted", [
    (0, 10001, 0o440, True),        # the README's arrangement
    (10001, 10001, 0o600, False),   # the Docker secrets recipe's: PostgreSQL (uid 999) cannot read it
    (0, 10001, 0o444, False),       # anyone on the host reads it
    (0, 0, 0o440, False),           # neither container's group
])
def test_verify_compose_accepts_exactly_the_shared_password_files_arrangement(docker_engine, tmp_path, owner, group, mode,
                                                                               accepted):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    path = write(secrets / "postgres_password", CANARY_DATABASE, mode=mode)
    os.chown(path, owner, group)
    document = yaml.safe_load(open(os.path.join(PROJECT, "docker-compose.database.yml")))
    code, findings = _verify(str(tmp_path), document, secrets=str(secrets))
    errors = [f for f in findings if f["level"] == "error"]
    assert (code, errors == []) == ((0, True) if accepted else (78, False)), findings
    assert all(f["rule"] == "database-password" and "chown root:10001" in f["message"] for f in errors)
    assert leaked(CANARY_DATABASE, findings=json.dumps(findings)) == []


# --- Kubernetes: the StatefulSet beside the backend's pod -------------------------------------------------------

@pytest.fixture
def database_overlay(tmp_path, postgres_image):
    """The README's overlay with components/postgresql, its PostgreSQL image the stand-in (as a user points
    Kustomize at a mirror: an `images` entry), and the env-file the secretGenerator reads."""
    tree = tmp_path / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree, ignore=shutil.ignore_patterns("helm"))
    overlay = tree / "overlays" / "database"
    overlay.mkdir()
    name, tag = postgres_image.rsplit(":", 1)
    text = block("k8s-database-overlay") + f"images:\n  - name: postgres\n    newName: {name}\n    newTag: {tag}\n"
    write(overlay / "kustomization.yaml", text, mode=0o644)
    env_file = write(tmp_path / "ci.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_PASSWORD={CANARY_DATABASE}\n")
    return overlay, env_file


def leftovers():
    containers = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.deeptempo.deploy=local-k8s", *RUN_FILTER],
                                capture_output=True, text=True, check=True).stdout.split()
    networks = subprocess.run(["docker", "network", "ls", "-q", "--filter", "label=io.deeptempo.deploy=local-k8s",
                               *RUN_FILTER], capture_output=True, text=True, check=True).stdout.split()
    return containers + networks


def test_local_k8s_runs_the_statefulset_beside_the_backends_pod(image, database_overlay):
    overlay, env_file = database_overlay
    result = subprocess.run([*DEPLOY, "local", "k8s", str(overlay), "--env-file", str(env_file), "--image", image, "--json",
                             "--timeout", "60"], capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["result"]["ready"] is True, result.stdout + result.stderr
    assert "beside StatefulSet deeptempo-postgresql (ready)" in report["result"]["reason"]
    assert leaked(CANARY_DATABASE, output=result.stdout + result.stderr) == leaked(CANARY_CLAUDE, output=result.stdout) == []
    assert leftovers() == []


def test_local_k8s_turns_the_real_backend_ready_on_the_statefulsets_postgresql(backend_image, database_overlay):
    """Its readiness probe requires PostgreSQL storage (components/postgresql): ready means the backend
    stores in the StatefulSet's database, not in JSON files."""
    overlay, env_file = database_overlay
    result = subprocess.run([*DEPLOY, "local", "k8s", str(overlay), "--env-file", str(env_file), "--image", backend_image,
                             "--json", "--timeout", "120"], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["result"]["ready"] is True, result.stdout + result.stderr
    assert "beside StatefulSet deeptempo-postgresql (ready)" in report["result"]["reason"]
    assert leaked(CANARY_DATABASE, output=result.stdout + result.stderr) == leaked(CANARY_CLAUDE, output=result.stdout) == []
    assert leftovers() == []


def test_under_local_k8s_the_backend_reaches_the_database_by_its_service_name(image, database_overlay, runner):
    """The pods as `local k8s` lays them out (the kit's PodRun and runner): the backend's container connects
    to deeptempo-postgresql:5432, and the database's password file is the role's password."""
    from deeptempo_deploy.platforms.k8s.local import PodRun, pod_templates, render_overlay, service_names

    overlay, env_file = database_overlay
    documents, stand_in, _ = render_overlay(str(overlay), str(env_file))
    templates = {t.role: t for t in pod_templates(documents) if t.container}
    database, app = PodRun(templates["database"], documents, stand_in), PodRun(templates["app"], documents, stand_in)
    try:
        network = runner.network()
        started = runner.start(database.container_spec(None, network, service_names(documents, database.template), publish=False))
        started.wait_healthy(60, None)
        backend = runner.start(app.container_spec(image, network, service_names(documents, app.template)))
        backend.wait_healthy(60, "/api/health", 6987)
        code, output = backend.exec(["python", "-c", "import socket; socket.create_connection(('deeptempo-postgresql', 5432), 5)"])
        assert code == 0, output
        login = 'PGPASSWORD=$(cat "$POSTGRES_PASSWORD_FILE") exec psql -h 127.0.0.1 -U deeptempo -d deeptempo_soc -Atc "select 1"'
        assert started.exec(["sh", "-c", login]) == (0, "1\n")
        assert leaked(CANARY_DATABASE, database=started.logs(), backend=backend.logs()) == []
    finally:
        database.remove_volumes()
        app.remove_volumes()


def local_helm_with_postgresql(image, postgres_image, timeout):
    name, tag = postgres_image.rsplit(":", 1)
    return subprocess.run([*DEPLOY, "local", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"),
                           "--set", "postgresql.enabled=true", "--set", f"postgresql.image.repository={name}",
                           "--set", f"postgresql.image.tag={tag}", "--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}",
                           "--set", f"secrets.POSTGRES_PASSWORD={CANARY_DATABASE}", "--image", image, "--json",
                           "--timeout", str(timeout)], capture_output=True, text=True, timeout=timeout + 240)


def test_local_helm_runs_the_charts_postgresql_beside_the_backend(image, postgres_image):
    result = local_helm_with_postgresql(image, postgres_image, 60)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["result"]["ready"] is True, result.stdout + result.stderr
    assert "beside StatefulSet deeptempo-postgresql (ready)" in report["result"]["reason"]
    # The chart's test hook too.
    assert [test["passed"] for test in report["result"]["tests"]] == [True]
    assert leaked(CANARY_DATABASE, output=result.stdout + result.stderr) == []
    assert leftovers() == []


def test_the_charts_test_hook_passes_on_the_real_backend_storing_in_the_releases_postgresql(backend_image, postgres_image):
    """The real backend with the chart's PostgreSQL: ready by its exec probe (PostgreSQL storage required),
    then the test hook, requiring the same storage of the Service's health, passes."""
    result = local_helm_with_postgresql(backend_image, postgres_image, 150)
    report = json.loads(result.stdout)["result"]
    assert result.returncode == 0 and report["ready"] is True, result.stdout + result.stderr
    assert "its exec readinessProbe (deeptempo-probe" in report["reason"]
    assert [(test["passed"], test["exit_code"]) for test in report["tests"]] == [(True, 0)], result.stdout
    assert leaked(CANARY_DATABASE, output=result.stdout + result.stderr) == []
    assert leaked(CANARY_CLAUDE, output=result.stdout + result.stderr) == []
    assert leftovers() == []
