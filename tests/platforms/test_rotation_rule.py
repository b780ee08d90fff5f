"""The `rotation` rule (warnings): a changed secret that would not reach the running service. A Secret's
subPath mount, a Compose secret bound as one file, and a Secret in the environment that nothing rolls
the pods for are each named with the fix; a generated name, a checksum annotation and a secrets volume
are not."""

import json
import os
import subprocess

import yaml

from tests.helpers import DEPLOY, PROJECT

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "deeptempo-secrets"},
          "stringData": {"CLAUDE_API_KEY": "sk-ant-rotationrule0123456789"}}


def deployment(container_changes=None, annotations=None, volumes=None):
    container = {"name": "deeptempo", "image": "deeptempo-ai-soc:0.1.0", **(container_changes or {})}
    template = {"metadata": {"labels": {"app": "deeptempo"}, **({"annotations": annotations} if annotations else {})},
                "spec": {"containers": [container], **({"volumes": volumes} if volumes else {})}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "deeptempo"},
            "spec": {"selector": {"matchLabels": {"app": "deeptempo"}}, "template": template}}


def rotation_warnings(tmp_path, *documents):
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    result = subprocess.run([*DEPLOY, "verify", "k8s", str(path), "--json"], capture_output=True, text=True)
    findings = json.loads(result.stdout)["findings"]
    assert all(f["level"] == "warning" for f in findings if f["rule"] == "rotation")
    return [f["message"] for f in findings if f["rule"] == "rotation"]


def test_a_secret_in_the_environment_without_a_rollout_trigger_is_named(tmp_path):
    env_from = {"envFrom": [{"secretRef": {"name": "deeptempo-secrets"}}]}
    (warning,) = rotation_warnings(tmp_path, SECRET, deployment(env_from))
    assert "CLAUDE_API_KEY" in warning and "checksum/secret" in warning and "components/secret-files" in warning
    # Each secret is told with its rotation policy and the reason the spec gives for it.
    assert "CLAUDE_API_KEY (rotation follow: the backend reads it through get_secret" in warning
    assert rotation_warnings(tmp_path, SECRET, deployment(env_from, {"checksum/secret": "abc"})) == []
    assert rotation_warnings(tmp_path, SECRET, deployment(env_from, {"reloader.stakater.com/auto": "true"})) == []
    generated = {**SECRET, "metadata": {"name": "deeptempo-secrets-7h2m4c9k6t"}}
    assert rotation_warnings(tmp_path, generated, deployment({"envFrom": [{"secretRef": {"name": "deeptempo-secrets-7h2m4c9k6t"}}]})) == []


def test_a_subpath_mount_of_a_secret_is_named_and_a_volume_is_not(tmp_path):
    volumes = [{"name": "secrets", "secret": {"secretName": "deeptempo-secrets"}}]
    whole = {"env": [{"name": "DEEPTEMPO_SECRETS_DIR", "value": "/run/secrets/deeptempo"}],
             "volumeMounts": [{"name": "secrets", "mountPath": "/run/secrets/deeptempo", "readOnly": True}]}
    assert rotation_warnings(tmp_path, SECRET, deployment(whole, volumes=volumes)) == []
    one_file = {"env": [{"name": "CLAUDE_API_KEY_FILE", "value": "/run/keys/claude"}],
                "volumeMounts": [{"name": "secrets", "mountPath": "/run/keys/claude", "subPath": "CLAUDE_API_KEY", "readOnly": True}]}
    (warning,) = rotation_warnings(tmp_path, SECRET, deployment(one_file, volumes=volumes))
    assert "/run/keys/claude" in warning and "subPath" in warning and "mount the volume as a directory" in warning


def test_compose_secrets_bound_as_single_files_are_named_once():
    result = subprocess.run([*DEPLOY, "verify", "compose", os.path.join(PROJECT, "docker-compose.yml"),
                             os.path.join(PROJECT, "docker-compose.secrets.yml"), "--json"], capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert report["ok"] is True  # a warning, not an error
    (warning,) = [f["message"] for f in report["findings"] if f["rule"] == "rotation"]
    assert "/run/secrets/claude_api_key" in warning and "--force-recreate" in warning
    plain = subprocess.run([*DEPLOY, "verify", "compose", os.path.join(PROJECT, "docker-compose.yml"), "--json"],
                           capture_output=True, text=True)
    assert [f for f in json.loads(plain.stdout)["findings"] if f["rule"] == "rotation"] == []
