"""Judges platform engineers already run, on what the kit ships and renders, each run as a user runs it:
in the repository root, reading the kit's documented exceptions from its own configuration file there
(compose-lint's .compose-lint.yml, dclint's .dclintrc, checkov's .checkov.yaml, hadolint's .hadolint.yaml),
with no exception on its command line. docs/security.md's exception table is tested against those files; each
judge still catches a copy broken one way (a judge that silently stopped working fails). parliament and
cloudsplaining read no configuration file: the exceptions of that table are applied here."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.helpers import DEPLOY, PROJECT, production_overlay_files, write

TOOLS = os.path.join(PROJECT, ".tools")
VENV_BIN = os.path.join(TOOLS, "venv", "bin")
DCLINT = os.path.join(TOOLS, "node_modules", ".bin", "dclint")
TEST_BIN = os.path.dirname(sys.executable)  # checkov and hadolint come with the test tools
CONFIGS = {"compose-lint": ".compose-lint.yml", "dclint": ".dclintrc", "checkov": ".checkov.yaml",
           "hadolint": ".hadolint.yaml"}


def tool(name):
    path = {"dclint": DCLINT, "checkov": os.path.join(TEST_BIN, "checkov"),
            "hadolint": os.path.join(TEST_BIN, "hadolint")}.get(name, os.path.join(VENV_BIN, name))
    if not os.access(path, os.X_OK):
        pytest.skip(f"{name} is not installed (scripts/test installs it)")
    return path


def in_root(*command, **options):
    """A judge as a user runs it: in the repository root, its configuration file found there."""
    return subprocess.run([*command], capture_output=True, text=True, cwd=PROJECT, **options)


def readme_exceptions(judge):
    """The rule ids the "Independent judges" table of docs/security.md excepts for `judge`."""
    text = open(os.path.join(PROJECT, "docs", "security.md")).read()
    section = text[text.index("## Independent judges"):]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return {rule for line in section.splitlines() if line.startswith(f"| {judge} ")
            for rule in re.findall(r"`([A-Za-z0-9:_-]+)`", line.split("|")[2])}


def configured_exceptions(judge):
    """{rule id: its reason} from the judge's own configuration file in the repository root."""
    path = os.path.join(PROJECT, CONFIGS[judge])
    text = open(path).read()
    document = yaml.safe_load(text) or {}
    if judge == "compose-lint":
        return {rule: " ".join(str(reason) for reason in (settings.get("exclude_services") or {}).values())
                or settings.get("reason", "") for rule, settings in (document.get("rules") or {}).items()
                if settings.get("enabled") is False or settings.get("exclude_services")}
    if judge == "dclint":
        rules = [rule for rule, level in (document.get("rules") or {}).items() if (level[0] if isinstance(level, list) else level) == 0]
    elif judge == "checkov":
        rules = [str(entry) for entry in document.get("skip-check") or []]
        return {**{rule.split(":")[0]: _comment_above(text, rule) for rule in rules}, **checkov_annotations()}
    else:
        rules = [str(entry) for entry in document.get("ignored") or []]
    return {rule.split(":")[0]: _comment_above(text, rule) for rule in rules}


def checkov_annotations():
    """{check: reason} from the `checkov.io/skipN: CHECK=reason` annotations of the kit's Kubernetes manifests
    (checkov's Kubernetes checks take no path-limited skip from its configuration file)."""
    found = {}
    for directory, _, files in os.walk(os.path.join(PROJECT, "k8s")):
        for name in files:
            if name.endswith((".yaml", ".yml")):
                for check, reason in re.findall(r"checkov\.io/skip\d+: \"?(CKV_\w+)=([^\"\n]+)", open(os.path.join(directory, name)).read()):
                    found[check] = reason
    return found


def _comment_above(text, rule):
    """The comment lines right above the line that names `rule`: its reason."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if re.search(rf"(^|[\s-]){re.escape(rule)}(\s*:|\s*$)", line.strip()))
    reason = []
    while index > 0 and lines[index - 1].strip().startswith("#"):
        index -= 1
        reason.insert(0, lines[index].strip("# "))
    return " ".join(reason)


@pytest.mark.parametrize("judge", sorted(CONFIGS))
def test_the_readmes_exception_table_is_the_judges_own_configuration(judge):
    configured = configured_exceptions(judge)
    assert set(configured) == readme_exceptions(judge), (set(configured), readme_exceptions(judge))
    assert all(len(reason) > 20 for reason in configured.values()), f"an exception without its reason: {configured}"


# --- Compose -----------------------------------------------------------------------------------------

def merged(tmp_path, *files, change=None):
    """The files as Compose merges and interpolates them, written out: what the judges read."""
    result = subprocess.run(["docker", "compose", *[arg for path in files for arg in ("-f", path)], "config"],
                            capture_output=True, text=True)
    if result.returncode != 0 and "is not a docker command" in result.stderr:
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    if change:
        change(document)
    return write(tmp_path / "merged.yml", yaml.safe_dump(document, sort_keys=False))


SHIPPED = [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.secrets.yml"],
           ["docker-compose.yml", "docker-compose.database.yml"],
           ["docker-compose.yml", "docker-compose.secrets.yml", "docker-compose.database.yml"]]
SHIPPED_IDS = ["env-file", "docker-secrets", "database", "docker-secrets-and-database"]


def compose_lint(path):
    """What compose-lint still reports at any severity (the configuration's suppressions left out)."""
    result = in_root(tool("compose-lint"), "check", "--strict-config", "--format", "json", "--fail-on", "low", str(path))
    return {finding["rule_id"] for finding in json.loads(result.stdout)["findings"] if not finding.get("suppressed")}


def dclint_errors(path):
    result = in_root(tool("dclint"), "-f", "json", str(path))
    return {message["rule"] for report in json.loads(result.stdout) for message in report["messages"]
            if message["type"] == "error"}


# --strict-config (compose-lint's advice for CI) also refuses an exception for a service no linted file
# defines: the database service's lives in docker-compose.database.yml, so strict runs lint the files together.
@pytest.mark.parametrize("command", [[], ["docker-compose.yml"], ["docker-compose.yml", "docker-compose.secrets.yml"],
                                     ["--strict-config", "docker-compose.yml", "docker-compose.secrets.yml",
                                      "docker-compose.database.yml"]],
                         ids=["no-arguments", "base", "with-secrets-override", "strict-every-file"])
def test_compose_lint_passes_in_the_repository_root(command):
    result = in_root(tool("compose-lint"), *command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("files", SHIPPED, ids=SHIPPED_IDS)
def test_compose_lint_finds_nothing_at_any_severity_on_what_compose_runs(tmp_path, files):
    assert compose_lint(merged(tmp_path, *(os.path.join(PROJECT, name) for name in files))) == set()


@pytest.mark.parametrize("command", [["."], ["docker-compose.yml"]], ids=["directory", "file"])
def test_dclint_passes_in_the_repository_root(command):
    result = in_root(tool("dclint"), *command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("files", SHIPPED, ids=SHIPPED_IDS)
def test_dclint_finds_no_error_on_what_compose_runs(tmp_path, files):
    assert dclint_errors(merged(tmp_path, *(os.path.join(PROJECT, name) for name in files))) == set()


def test_the_compose_judges_still_catch_a_broken_copy(tmp_path):
    def broken(document):
        service = document["services"]["deeptempo"]
        service["privileged"] = True
        service["ports"] = [{"target": 6987, "published": "6987"}]  # every interface
        document["services"]["other"] = {"image": "busybox", "ports": ["127.0.0.1:6987:6987"]}  # no tag, the same port

    path = merged(tmp_path, os.path.join(PROJECT, "docker-compose.yml"), change=broken)
    assert {"CL-0002", "CL-0005"} <= compose_lint(path)
    assert {"service-image-require-explicit-tag"} <= dclint_errors(path)


# --- the image ---------------------------------------------------------------------------------------------

SHIPPED_DOCKERFILES = ["Dockerfile", "examples/deeptempo-backend/Dockerfile"]


def test_hadolint_passes_in_the_repository_root():
    result = in_root(tool("hadolint"), "--no-color", *SHIPPED_DOCKERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_still_catches_a_broken_copy(tmp_path):
    """The check above can fail: a root user and a shell-form entrypoint are flagged, by the same
    configuration (run in the root)."""
    broken = write(tmp_path / "Dockerfile", "FROM python:3.12-slim\nRUN apt-get install curl\nENTRYPOINT deeptempo-entrypoint\n")
    result = in_root(tool("hadolint"), "--no-color", str(broken))
    assert result.returncode != 0 and "DL3025" in result.stdout


# --- checkov over the repository, and over what the production overlay renders ---------------------------

def checkov_failures(*arguments):
    env = {**os.environ, "PATH": f"{TEST_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # helm and kubectl, as a user has them
    result = in_root(tool("checkov"), *arguments, "--skip-download", "--quiet", "--compact", "--output", "json", env=env,
                     timeout=900)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    return {(check["check_id"], check["file_path"]) for report in reports
            for check in (report.get("results") or {}).get("failed_checks", [])}


def test_checkov_passes_in_the_repository_root():
    assert checkov_failures("-d", ".") == set()


def test_checkov_passes_on_what_the_production_overlay_renders(tmp_path):
    from deeptempo_deploy.platforms.k8s.manifests import kustomize

    tree = tmp_path / "k8s"
    import shutil

    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    production_overlay_files(tree / "overlays" / "production")
    rendered = write(tmp_path / "production.yaml", yaml.safe_dump_all(kustomize(tree / "overlays" / "production"),
                                                                      sort_keys=False))
    assert checkov_failures("-f", str(rendered), "--framework", "kubernetes") == set()


def test_checkov_passes_on_what_the_chart_renders(tmp_path):
    """`checkov -d .` renders the chart with its defaults, and without its test hook; what `helm template`
    renders with the in-release PostgreSQL and the test hook (its own NetworkPolicy, its probe exceptions
    as annotations) passes too."""
    from deeptempo_deploy.platforms.helm.template import helm_template

    documents = helm_template(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), (),
                              ("existingSecret=deeptempo-secrets", "postgresql.enabled=true"))
    assert {"StatefulSet", "Pod"} <= {document["kind"] for document in documents}
    rendered = write(tmp_path / "chart.yaml", yaml.safe_dump_all(documents, sort_keys=False))
    assert checkov_failures("-f", str(rendered), "--framework", "kubernetes") == set()


def test_checkov_still_catches_a_broken_copy(tmp_path):
    document = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "x"},
                "spec": {"containers": [{"name": "x", "image": "x:1", "securityContext": {"privileged": True}}]}}
    path = write(tmp_path / "pod.yaml", yaml.safe_dump(document))
    assert "CKV_K8S_16" in {check for check, _ in checkov_failures("-f", str(path), "--framework", "kubernetes")}


# --- the ECS execution role's policy ---------------------------------------------------------------------

def rendered_policies(tmp_path):
    policies = [os.path.join(PROJECT, "ecs", "execution-role-policy.json")]
    for layout in ("secret-per-variable", "json-secret", "ssm"):
        out = tmp_path / layout
        subprocess.run([*DEPLOY, "render", "ecs", "--layout", layout, "--output-dir", str(out), "--kms-key-arn",
                        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"], check=True,
                       capture_output=True)
        policies.append(str(out / "ecs" / "execution-role-policy.json"))
    return policies


def parliament(path):
    result = subprocess.run([tool("parliament"), "--json", "--string", open(path).read()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    return {json.loads(line)["issue"] for line in result.stdout.splitlines() if line.strip()}


def cloudsplaining(path):
    result = subprocess.run([tool("cloudsplaining"), "scan-policy-file", "-i", str(path)], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    return set(re.findall(r"Potential Issue found: (.+)", text))


def test_parliament_passes_on_every_rendered_policy(tmp_path):
    for path in rendered_policies(tmp_path):
        assert parliament(path) <= readme_exceptions("parliament"), path


def test_cloudsplaining_passes_on_every_rendered_policy_but_for_the_readmes_exceptions(tmp_path):
    allowed = {"Policy allows actions that return credentials"} if "credentials-exposure" in readme_exceptions(
        "cloudsplaining") else set()
    for path in rendered_policies(tmp_path):
        assert cloudsplaining(path) <= allowed, (path, cloudsplaining(path))


def test_the_policy_judges_still_catch_a_broken_copy(tmp_path):
    def broken(name, statement):
        policy = json.load(open(os.path.join(PROJECT, "ecs", "execution-role-policy.json")))
        policy["Statement"].append({"Effect": "Allow", "Resource": "*", **statement})
        return write(tmp_path / name, json.dumps(policy))

    every_secret = broken("star.json", {"Action": ["secretsmanager:*"]})
    assert "RESOURCE_STAR" in parliament(every_secret)
    assert "Policy allows ALL Actions from a service (like service:*)" in cloudsplaining(every_secret)
    assert "UNKNOWN_ACTION" in parliament(broken("typo.json", {"Action": ["s3:GetObjct"]}))
