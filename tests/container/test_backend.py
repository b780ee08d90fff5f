"""The real DeepTempo backend (../shared/backend/deeptempo-ai-soc, unchanged), built once per run with the
README's recipe (examples/deeptempo-backend/Dockerfile and the constraints the kit's image ships), and
started through deeptempo_deploy.testing: it answers its health through serve on the locked uvicorn and
on the lowest the kit admits, connects its MCP servers (all 22 with the Node variant, offline), keeps a
saved case across container re-creation on every kind of volume, and `smoke` names exactly the routes
that answer a secret of its own."""

import json
import os
import re
import shlex
import subprocess
import urllib.request

import pytest

from deeptempo_deploy.testing import DeepTempoContainer
from tests.container.containers import LABELS, TestContainer
from tests.container.images import BACKEND_IMAGE, build_from_kit
from tests.helpers import CANARY_CLAUDE, DEPLOY, PROJECT, RUN
from tests.readme import commands

BACKEND_START_SECONDS = 300  # 11-15 s alone, 20-48 s on this 2-core machine under the tests' load
CASE = {"title": "kept across containers", "description": "saved through the API", "finding_ids": [], "priority": "high"}


def backend(image, docker=None, **settings):
    container = DeepTempoContainer(image, labels=LABELS, **(docker or {})).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE)
    for name, value in {"DATA_BACKEND": "json", **settings}.items():
        container.with_setting(name, value)
    return container


def mcp_connected(log):
    found = re.search(r"MCP initialization complete: (\d+)/(\d+) servers connected", log)
    assert found, log[-3000:]
    return int(found.group(1)), int(found.group(2))


def post_case(soc):
    request = urllib.request.Request(soc.url("/api/cases/"), data=json.dumps(CASE).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


def case_titles(soc):
    with urllib.request.urlopen(soc.url("/api/cases/?force_refresh=true"), timeout=30) as answer:
        body = json.loads(answer.read())
    cases = body if isinstance(body, list) else body.get("cases", [])
    return [case.get("title") for case in cases]


def test_the_recipe_installs_exactly_its_constraints(backend_image):
    pinned = {}
    for line in open(os.path.join(PROJECT, "examples", "deeptempo-backend", "constraints.txt")):
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    listed = subprocess.run(["docker", "run", "--rm", "--label", f"io.deeptempo.run={RUN}", "--entrypoint", "/opt/venv/bin/python",
                             backend_image, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True).stdout
    installed = {re.sub(r"[-_.]+", "-", item["name"]).lower(): item["version"] for item in json.loads(listed)}
    assert {name: installed.get(name) for name in pinned} == pinned
    assert set(installed) - set(pinned) <= {"pip", "deeptempo-entrypoint"}  # nothing unpinned beside the kit itself


def test_it_serves_through_serve_connects_its_mcp_servers_and_its_children_get_no_secret(backend_image):
    with backend(backend_image) as soc:
        health = json.loads(urllib.request.urlopen(soc.url("/api/health"), timeout=30).read())
        assert health["status"] == "healthy" and health["storage"]["backend"] == "json"
        log = soc.logs()
        connected, configured = mcp_connected(log)
        assert configured == 22 and connected >= 20, log[-3000:]  # github and postgres need Node (the variant below)
        processes = soc.exec(["sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done"]).output.decode()
        assert "uvicorn" not in processes  # uvicorn runs in serve's own process: no wrapper, no second interpreter
        assert "Errno 13" not in log and CANARY_CLAUDE not in log


def test_it_serves_on_the_lowest_uvicorn_the_kit_admits(backend_image, tmp_path):
    lowest = build_from_kit(tmp_path, f"{BACKEND_IMAGE}-uvicorn-lowest", f"FROM {backend_image}\nUSER root\n"
                            "RUN pip install --no-cache-dir 'uvicorn==0.34.0'\nUSER 10001:10001\n")
    try:
        version = subprocess.run(["docker", "run", "--rm", "--label", f"io.deeptempo.run={RUN}", "--entrypoint",
                                  "/opt/venv/bin/python", lowest, "-c", "import uvicorn; print(uvicorn.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert version == "0.34.0"
        with backend(lowest) as soc:
            assert json.loads(urllib.request.urlopen(soc.url("/api/health"), timeout=30).read())["status"] == "healthy"
            assert soc.exec(["deeptempo-probe"]).exit_code == 0  # the image's health probe, on the address serve wrote
    finally:
        subprocess.run(["docker", "rmi", "-f", lowest], capture_output=True)


@pytest.mark.parametrize("storage", ["named volume", "anonymous volume", "bind mount", "read-only root"])
def test_a_saved_case_survives_a_new_container(backend_image, storage, tmp_path):
    volume = f"deeptempo-test-data-{RUN}-{storage.split()[0]}"
    mount = {"named volume": volume, "bind mount": str(tmp_path / "data")}.get(storage)
    if storage == "bind mount":
        os.mkdir(mount, 0o700)
        os.chown(mount, 10001, 10001)  # a bind mount needs its owner to be the service's uid (docs/backend.md says so)
    options = {"read_only": True} if storage == "read-only root" else {}
    try:
        first = backend(backend_image, docker=options)
        if mount:
            first.with_volume_mapping(mount, "/srv/deeptempo/data", "rw")
        with first as soc:
            status, _ = post_case(soc)
            assert status == 200 and CASE["title"] in case_titles(soc)
            assert "Errno 13" not in soc.logs()
        if not mount:
            return  # an anonymous volume goes with its container: writable is what it can show
        again = backend(backend_image).with_volume_mapping(mount, "/srv/deeptempo/data", "rw")
        with again as soc:
            assert CASE["title"] in case_titles(soc)
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)


GITHUB_LEAK = "GET /api/config/github (200) answers part of GITHUB_TOKEN"
def seeded_smoke_arguments():
    """The docs' seeded smoke line (docs/backend.md), its program and image dropped: `--seed METHOD PATH JSON`."""
    (line,) = commands("backend-smoke-seeded")
    words = shlex.split(line)
    assert words[:3] == ["deeptempo-deploy", "smoke", "deeptempo-backend"], line
    return words[3:]


def smoke(image, *extra):
    result = subprocess.run([*DEPLOY, "smoke", image, "--json", "--timeout", str(BACKEND_START_SECONDS), *extra],
                            capture_output=True, text=True, timeout=1800)
    return result.returncode, json.loads(result.stdout)


def test_smoke_names_exactly_the_backends_own_leaks(backend_image):
    """Its GitHub token preview (the token's first 12 characters) and, once seeded, the integration
    credentials it stores and answers in full; nothing else of the backend's answers matches a canary."""
    code, report = smoke(backend_image, *seeded_smoke_arguments())
    checks = {check["name"]: check for check in report["checks"]}
    failed = sorted(name for name, check in checks.items() if not check["ok"] and not check["skipped"])
    assert code == 1 and failed == ["app-leaks"], json.dumps(report, indent=2)  # healthy, hardened, volumes... pass
    named = sorted(re.findall(r"(GET \S+) \(200\) answers (part of \w+|\w+ in full)", checks["app-leaks"]["detail"]))
    assert named == [("GET /api/config/github", "part of GITHUB_TOKEN"),
                     ("GET /api/config/integrations", "SPLUNK_PASSWORD in full")], checks["app-leaks"]["detail"]
    assert "seeded first: POST /api/config/integrations -> 200" in checks["app-leaks"]["detail"]
    assert CANARY_CLAUDE not in json.dumps(report)


def test_with_node_every_mcp_server_connects_offline_and_the_connection_string_on_a_command_line_is_reported(
        node_backend_image):
    connection = "postgresql://deeptempo:Canary-Connection-Passw0rd@db.invalid:5432/deeptempo_soc"
    container = TestContainer(node_backend_image, publish=None, network_mode="none",  # no network: npx must not need one
                              env={"CLAUDE_API_KEY": CANARY_CLAUDE, "DATA_BACKEND": "json",
                                   "POSTGRESQL_CONNECTION_STRING": connection})
    container.start()
    try:
        deadline_log = ""
        for _ in range(BACKEND_START_SECONDS):
            deadline_log = container.logs()
            if "MCP initialization complete" in deadline_log:
                break
            container.wait_exit(1)
        assert mcp_connected(deadline_log) == (22, 22), deadline_log[-3000:]
        # The backend puts the connection string on npx's command line (mcp-config.json): serve names it there,
        # never its value.
        assert "POSTGRESQL_CONNECTION_STRING is on the command line of npx" in deadline_log
        assert "Canary-Connection-Passw0rd" not in deadline_log
    finally:
        container.stop()
