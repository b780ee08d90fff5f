"""The Helm chart with a real Helm: `helm lint --strict`, every secret route verified as `verify k8s`
verifies, values the schema rejects with the message a user sees, the checksum that rolls the pods,
and the workload the chart renders equal to the production overlay's."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from deeptempo_deploy.platforms.helm.template import helm_template
from deeptempo_deploy.platforms.k8s.load import load
from deeptempo_deploy.platforms.k8s.manifests import kustomize
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, DATABASE_HOST, DEPLOY, PROJECT, production_overlay_files, write

CHART = os.path.join(PROJECT, "k8s", "helm", "deeptempo")
HELM = shutil.which("helm") or shutil.which("helm", path=os.path.dirname(sys.executable))
KEY = f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}"

pytestmark = pytest.mark.skipif(HELM is None, reason="helm is not installed (scripts/install-helm installs it)")


def verify(*args):
    result = subprocess.run([*DEPLOY, "verify", "helm", CHART, "--kubernetes-version", "1.30", "--kubernetes-version", "1.37",
                             "--json", *map(str, args)], capture_output=True, text=True)
    assert "Traceback" not in result.stderr and CANARY_CLAUDE not in result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def errors(report):
    return {finding["rule"] for finding in report["findings"] if finding["level"] == "error"}


def test_helm_lint_strict_is_clean():
    result = subprocess.run([HELM, "lint", "--strict", CHART, "--set", KEY], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


@pytest.mark.parametrize("route", [
    ["--set", KEY],  # chart-managed, as files (usePasswordFiles, the default)
    ["--set", KEY, "--set", "usePasswordFiles=false"],  # chart-managed, as environment variables
    ["--set", "existingSecret=made-elsewhere"],
    ["--set", "externalSecret.enabled=true"],
    ["--set", KEY, "--set", "settings.LOG_LEVEL=debug", "--set", "extraEnvVarsSecret=more"],
])
def test_every_secret_route_verifies(route):
    code, report = verify(*route)
    assert code == 0, json.dumps(report, indent=2)


@pytest.mark.parametrize("values, rule", [
    ({"containerSecurityContext": {"privileged": True}}, "no-privileged"),
    ({"extraEnvVars": [{"name": "SPLUNK_PASSWORD", "value": "written-in-the-values"}]}, "no-literal-secret"),
    ({"extraEnvVars": [{"name": "LLM_KEY", "value": "sk-ant-pastedvalue0123456789"}]}, "no-literal-secret"),
    ({"secrets": {"CLAUDE_API_KEY": CANARY_CLAUDE, "POSTGRESQL_CONNECTION_STRING":  # the placeholder env.example ships
                  "postgresql://deeptempo:deeptempo_secure_password_change_me@localhost:5432/deeptempo_soc"}}, "secret-value"),
])
def test_verify_fails_naming_the_rule(tmp_path, values, rule):
    path = write(tmp_path / "values.yaml", yaml.safe_dump(values))
    code, report = verify("--set", KEY, "-f", path) if "secrets" not in values else verify("-f", path)
    assert code == 78 and rule in errors(report), json.dumps(report, indent=2)
    assert "written-in-the-values" not in json.dumps(report) and "pastedvalue" not in json.dumps(report)


DATABASE_PASSWORD = f"secrets.POSTGRES_PASSWORD={CANARY_DATABASE}"


@pytest.mark.parametrize("route", [
    # The release's own PostgreSQL, its password the backend's key of the chart's Secret (files, then environment).
    ["--set", KEY, "--set", DATABASE_PASSWORD, "--set", "postgresql.enabled=true", "--set", "replicaCount=3"],
    ["--set", KEY, "--set", DATABASE_PASSWORD, "--set", "postgresql.enabled=true", "--set", "usePasswordFiles=false"],
    # A database outside, its password in a Secret of its own (CloudNativePG's), as a file or a secretKeyRef.
    ["--set", KEY, "--set", f"externalDatabase.host={DATABASE_HOST}", "--set", "externalDatabase.existingSecret=db-app",
     "--set", "externalDatabase.existingSecretPasswordKey=password", "--set", "autoscaling.enabled=true"],
    ["--set", KEY, "--set", f"externalDatabase.host={DATABASE_HOST}", "--set", "externalDatabase.existingSecret=db-app",
     "--set", "usePasswordFiles=false", "--set", "replicaCount=3"],
])
def test_every_database_route_verifies(route):
    code, report = verify(*route)
    assert code == 0, json.dumps(report, indent=2)
    assert not [f for f in report["findings"] if f["rule"].startswith(("database", "exception", "shared-storage"))], report
    assert CANARY_DATABASE not in json.dumps(report)


def test_a_release_database_without_persistence_is_warned_about():
    code, report = verify("--set", KEY, "--set", DATABASE_PASSWORD, "--set", "postgresql.enabled=true",
                          "--set", "postgresql.primary.persistence.enabled=false")
    assert code == 0 and [(f["rule"], f["level"]) for f in report["findings"]] == [("database-storage", "warning")]


def test_the_release_database_reads_the_backends_own_key_and_is_reached_by_its_service():
    documents = helm_template(CHART, (), (KEY, DATABASE_PASSWORD, "postgresql.enabled=true"))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {("StatefulSet", "deeptempo-postgresql"), ("Service", "deeptempo-postgresql"),
            ("NetworkPolicy", "deeptempo-postgresql"), ("ServiceAccount", "deeptempo-postgresql")} <= kinds
    statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
    (password,) = [v for v in statefulset["spec"]["template"]["spec"]["volumes"] if v["name"] == "password"]
    assert password["secret"] == {"secretName": "deeptempo-secrets", "defaultMode": 256,
                                  "items": [{"key": "POSTGRES_PASSWORD", "path": "password"}]}
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    environment = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert environment["POSTGRES_HOST"] == "deeptempo-postgresql" and environment["DATA_BACKEND"] == "database"


@pytest.mark.parametrize("settings, message", [
    (["replicaCount=3"], "shared-storage"),
    (["autoscaling.enabled=true"], "shared-storage"),
])
def test_replicas_or_an_autoscaler_without_a_database_fail(settings, message):
    code, report = verify("--set", KEY, *[arg for setting in settings for arg in ("--set", setting)])
    assert code == 78 and errors(report) == {message}, json.dumps(report, indent=2)


def test_both_databases_at_once_fail_the_render():
    code, report = verify("--set", KEY, "--set", DATABASE_PASSWORD, "--set", "postgresql.enabled=true",
                          "--set", f"externalDatabase.host={DATABASE_HOST}")
    assert code == 78 and "set externalDatabase.host or postgresql.enabled, not both" in report["findings"][0]["message"]


@pytest.mark.parametrize("values, message", [
    ({"externalDatabase": {"port": "5432x"}}, "externalDatabase.port: Invalid type. Expected: integer"),
    ({"postgresql": {"auth": {"password": "in-the-values"}}}, "Additional property password is not allowed"),
    ({"postgresql": {"auth": {"username": "dee ptempo"}}}, "postgresql.auth.username: Does not match pattern"),
    ({"postgresql": {"primary": {"persistence": {"size": "lots"}}}}, "postgresql.primary.persistence.size: Does not match"),
])
def test_the_schema_rejects_a_wrong_database_value(tmp_path, values, message):
    path = write(tmp_path / "values.yaml", yaml.safe_dump(values))
    code, report = verify("--set", KEY, "-f", path)
    assert code == 78 and errors(report) == {"input"}
    assert message in report["findings"][0]["message"], report["findings"][0]["message"]


@pytest.mark.parametrize("values, message", [
    ({"secrets": {"CLAUDE_API_KEY": "not-a-claude-key"}}, "secrets.CLAUDE_API_KEY: Does not match pattern"),
    ({"secrets": {"CLAUDE_APIKEY": "sk-ant-x0123456789"}}, "Additional property CLAUDE_APIKEY is not allowed"),
    ({"replicaCount": "3"}, "replicaCount: Invalid type. Expected: integer, given: string"),
])
def test_the_schema_rejects_a_wrong_value_before_anything_renders(tmp_path, values, message):
    path = write(tmp_path / "values.yaml", yaml.safe_dump(values))
    code, report = verify("-f", path)
    assert code == 78 and errors(report) == {"input"}
    assert message in report["findings"][0]["message"], report["findings"][0]["message"]
    assert "not-a-claude-key" not in json.dumps(report)  # Helm quotes the value: the kit does not repeat it


def checksum(*settings):
    deployment = next(d for d in helm_template(CHART, (), settings) if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]


def test_a_changed_chart_managed_secret_changes_the_checksum_and_nothing_else_does():
    first = checksum(KEY)
    assert checksum(KEY) == first
    assert checksum(KEY, "replicaCount=4") == first
    assert checksum("secrets.CLAUDE_API_KEY=sk-ant-rotated0123456789") != first


def test_the_chart_renders_the_production_overlays_workload(tmp_path):
    tree = tmp_path / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    production_overlay_files(tree / "overlays" / "production")
    (overlay,), _ = load(kustomize(tree / "overlays" / "production"), builtin_spec())
    production = write(tmp_path / "production.yaml", yaml.safe_dump({
        "replicaCount": 3, "usePasswordFiles": False, "externalDatabase": {"host": DATABASE_HOST},
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
                      "limits": {"cpu": "2", "memory": "1Gi", "ephemeral-storage": "256Mi"}}}))
    documents = helm_template(CHART, (str(production),), (KEY, f"secrets.POSTGRES_PASSWORD={CANARY_DATABASE}"))
    (chart,), _ = load(documents, builtin_spec())
    same = ("user", "non_root_enforced", "read_only_root", "mounts", "cap_add", "cap_drop", "privilege_escalation",
            "privileged", "host_network", "host_pid", "host_ipc", "container_ports", "published_ports", "probes",
            "resources", "home", "data_dir")
    assert {field: getattr(chart, field) for field in same} == {field: getattr(overlay, field) for field in same}
    assert [e.name for e in chart.environment] == [e.name for e in overlay.environment]
    assert chart.secret_routes.keys() == overlay.secret_routes.keys()
    replicas = {d["kind"]: d["spec"].get("replicas") for d in documents if d["kind"] == "Deployment"}
    assert replicas == {"Deployment": 3}
    kinds = {d["kind"] for d in documents}
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy", "Secret"} <= kinds
