"""`verify compose` and `verify k8s`, in-process through click's CliRunner: the same mutation fails both,
exit 78, under the same rule id in both `--json` documents."""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from click.testing import CliRunner

from deeptempo_deploy.cli import cli
from deeptempo_deploy.platforms.k8s.manifests import kustomize
from tests.helpers import PROJECT, production_overlay_files

COMPOSE = {
    "privileged": (lambda s: s.update(privileged=True), "no-privileged"),
    "host-network": (lambda s: s.update(network_mode="host"), "no-host-namespace"),
    "host-pid": (lambda s: s.update(pid="host"), "no-host-namespace"),
    "engine-socket": (lambda s: s["volumes"].append("/var/run/docker.sock:/var/run/docker.sock"), "no-host-path"),
    "added-capability": (lambda s: s.update(cap_add=["SYS_ADMIN"]), "no-added-capabilities"),
    "root": (lambda s: s.update(user="root"), "non-root"),
}


def _k8s_host_path(pod, container):
    pod["volumes"].append({"name": "engine", "hostPath": {"path": "/var/run/docker.sock"}})
    container["volumeMounts"].append({"name": "engine", "mountPath": "/var/run/docker.sock"})


K8S = {
    "privileged": lambda p, c: c["securityContext"].update(privileged=True),
    "host-network": lambda p, c: p.update(hostNetwork=True),
    "host-pid": lambda p, c: p.update(hostPID=True),
    "engine-socket": _k8s_host_path,
    "added-capability": lambda p, c: c["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
    "root": lambda p, c: c["securityContext"].update(runAsUser=0),
}


@pytest.fixture(scope="module")
def rendered_production(tmp_path_factory):
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    production_overlay_files(tree / "overlays" / "production")
    return kustomize(tree / "overlays" / "production")


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, json.loads(result.stdout)


def rules(report):
    return {finding["rule"] for finding in report["findings"] if finding["level"] == "error"}


@pytest.mark.parametrize("case", sorted(COMPOSE))
def test_compose_and_kubernetes_fail_under_the_same_rule(case, tmp_path, rendered_production):
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode:
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    change, rule = COMPOSE[case]
    document = yaml.safe_load(open(os.path.join(PROJECT, "docker-compose.yml")))
    change(document["services"]["deeptempo"])
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copy(os.path.join(PROJECT, "docker-compose.secrets.yml"), tmp_path)
    compose_code, compose_report = run("verify", "compose", str(compose_file), str(tmp_path / "docker-compose.secrets.yml"),
                                       "--json")

    documents = json.loads(json.dumps(rendered_production))  # a deep copy per case
    pod = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    K8S[case](pod, pod["containers"][0])
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    k8s_code, k8s_report = run("verify", "k8s", str(manifest), "--kubernetes-version", "1.37", "--json")

    assert (compose_code, k8s_code) == (78, 78)
    assert rule in rules(compose_report) and rule in rules(k8s_report), (compose_report, k8s_report)
    assert all({"rule", "where"} <= set(finding) for finding in compose_report["findings"] + k8s_report["findings"])


def test_the_text_report_names_each_rule_and_where(tmp_path):
    task = json.load(open(os.path.join(PROJECT, "ecs", "task-definition.json")))
    task["containerDefinitions"][0]["privileged"] = True
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task))
    result = CliRunner().invoke(cli, ["verify", "ecs", str(path)])
    assert result.exit_code == 78
    assert "[no-privileged] task deeptempo, container deeptempo: runs privileged" in result.output


def test_help_lists_every_platform_and_its_verbs():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    # One line per registered platform, its name in a column as wide as the longest name.
    for line in ("compose   Docker Compose v2: render, verify", "k8s       Kubernetes with Kustomize: render, verify, local",
                 "ecs       AWS ECS/Fargate: render, verify, local", "systemd   systemd units on a plain server: render, verify",
                 "cloudrun  Google Cloud Run: render, verify, local"):
        assert line in result.output
