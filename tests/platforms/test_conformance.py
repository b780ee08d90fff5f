"""The conformance suite every platform passes: its shipped manifest is valid, and each mutation of a
common list (privileged, host network, a literal secret, ...) is reported under the same rule id on
every platform that can express it. In-process, over each platform's loader and verdict: the only tool
run is the platform's normaliser, once per platform (docker compose config, kubectl kustomize)."""

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from deeptempo_deploy.platforms.compose import verify as compose_verify
from deeptempo_deploy.platforms.ecs.load import task_definition_input
from deeptempo_deploy.platforms.ecs.verify import verify_ecs
from deeptempo_deploy.platforms.k8s import verify as k8s_verify
from deeptempo_deploy.platforms.k8s.manifests import kustomize
from deeptempo_deploy.platforms.rules import RULE_IDS
from deeptempo_deploy.platforms.systemd import verify as systemd_verify
from deeptempo_entrypoint.findings import Finding
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, PROJECT, production_overlay_files

SPEC = builtin_spec()
PASTED = "sk-ant-pastedINTOtheMANIFEST0123"  # a value of the Claude key's format under another name


class Platform:
    """A platform under test: its shipped manifest as its loader takes it, and a verdict function."""

    def __init__(self, name: str, manifest: Any, judge: Callable[[Any], list[Finding]]) -> None:
        self.name, self.manifest, self.judge = name, manifest, judge

    def findings(self, mutate: Callable[[Any], None] | None = None) -> list[Finding]:
        manifest = copy.deepcopy(self.manifest)
        if mutate:
            mutate(manifest)
        return self.judge(manifest)


# --- each platform's shipped manifest, loaded once ---------------------------------------------------

def compose_platform(tmp: str) -> Platform:
    if shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode:
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    from deeptempo_deploy.platforms.compose.normalise import ComposeConfig

    env_file = os.path.join(tmp, "compose.env")
    with open(env_file, "w") as stream:
        stream.write(f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    environment = {**os.environ, "DEEPTEMPO_COMPOSE_ENV_FILE": env_file}
    old = os.environ.copy()
    os.environ.update(environment)
    try:
        config = ComposeConfig([os.path.join(PROJECT, "docker-compose.yml")])
    finally:
        os.environ.clear()
        os.environ.update(old)
    both = {"interpolated": config.interpolated, "raw": config.raw}
    return Platform("compose", both, lambda m: compose_verify.judge(m["interpolated"], m["raw"], SPEC)[0])


def k8s_platform(tmp: str) -> Platform:
    tree = os.path.join(tmp, "k8s")
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    production_overlay_files(os.path.join(tree, "overlays", "production"))
    documents = kustomize(os.path.join(tree, "overlays", "production"))
    return Platform("k8s", documents, lambda m: k8s_verify.judge(m, SPEC, ("1.37",))[0])


def ecs_platform(tmp: str) -> Platform:
    with open(os.path.join(PROJECT, "ecs", "task-definition.json")) as stream:
        task = task_definition_input(json.load(stream))
    return Platform("ecs", task, lambda m: verify_ecs(m, SPEC)[0])


def systemd_platform(tmp: str) -> Platform:
    with open(os.path.join(PROJECT, "systemd", "deeptempo-credentials.service")) as stream:
        text = stream.read()
    # A unit's text is immutable: mutations work on a one-item list holding it.
    return Platform("systemd", [text], lambda m: systemd_verify.judge(m[0], "deeptempo.service", SPEC)[0])


def helm_platform(tmp: str) -> Platform:
    from deeptempo_deploy.platforms.helm.template import helm_template

    # As the production overlay delivers them (envFrom), so its mutations apply unchanged.
    documents = helm_template(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), (),
                              (f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}", "usePasswordFiles=false"))
    return Platform("helm", documents, lambda m: k8s_verify.judge(m, SPEC, ("1.37",))[0])


LOADERS = {"compose": compose_platform, "k8s": k8s_platform, "helm": helm_platform, "ecs": ecs_platform,
           "systemd": systemd_platform}


def mutation_for(by_platform: dict[str, Callable[[Any], None]], name: str) -> Callable[[Any], None] | None:
    """Helm renders Kubernetes objects: what mutates a Kustomize render mutates a chart's."""
    return by_platform.get(name) or (by_platform.get("k8s") if name == "helm" else None)


@pytest.fixture(scope="module", params=sorted(LOADERS))
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return LOADERS[request.param](str(tmp_path_factory.mktemp(request.param)))


# --- the mutations, written once per platform that can express them -----------------------------------

def _compose(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], None]:
    def mutate(manifest: Any) -> None:
        for document in (manifest["interpolated"], manifest["raw"]):
            change(document["services"]["deeptempo"])
    return mutate


def _compose_environment(name: str, value: str) -> Callable[[Any], None]:
    def mutate(manifest: Any) -> None:
        manifest["interpolated"]["services"]["deeptempo"]["environment"][name] = value
        manifest["raw"]["services"]["deeptempo"]["environment"][name] = value
    return mutate


def _compose_unreachable(manifest: Any) -> None:
    for document in (manifest["interpolated"], manifest["raw"]):
        service = document["services"]["deeptempo"]
        service.pop("env_file", None)
        service["environment"] = {key: value for key, value in service["environment"].items() if key == "SECRETS_BACKEND"}


def _k8s(change: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[[Any], None]:
    def mutate(documents: Any) -> None:
        pod = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        change(pod, pod["containers"][0])
    return mutate


def _k8s_host_path(pod: dict[str, Any], container: dict[str, Any]) -> None:
    pod["volumes"].append({"name": "engine", "hostPath": {"path": "/var/run/docker.sock"}})
    container["volumeMounts"].append({"name": "engine", "mountPath": "/var/run/docker.sock"})


def _k8s_config_map(documents: Any) -> None:
    """The classic mistake: a secret in a ConfigMap the container takes whole (envFrom)."""
    documents.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deeptempo-settings"},
                      "data": {"LOG_LEVEL": "info", "SPLUNK_PASSWORD": CANARY_PASSWORD}})
    _k8s(lambda p, c: c["envFrom"].append({"configMapRef": {"name": "deeptempo-settings"}}))(documents)


def _k8s_annotation(documents: Any) -> None:
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["template"]["metadata"].setdefault("annotations", {})["note"] = PASTED


def _compose_sidecar(manifest: Any) -> None:
    for document in (manifest["interpolated"], manifest["raw"]):
        document["services"]["sidecar"] = {"image": "busybox:1", "environment": {"SPLUNK_PASSWORD": CANARY_PASSWORD}}


def _k8s_replicas_on_json_files(documents: Any) -> None:
    """Three replicas, their storage JSON files: what the production overlay would be without its database."""
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "DATA_BACKEND"] + [{"name": "DATA_BACKEND", "value": "json"}]


def _ecs(change: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[[Any], None]:
    def mutate(task: Any) -> None:
        change(task, task["containerDefinitions"][0])
    return mutate


def _ecs_host_path(task: dict[str, Any], container: dict[str, Any]) -> None:
    task["volumes"].append({"name": "engine", "host": {"sourcePath": "/var/run/docker.sock"}})
    container["mountPoints"].append({"sourceVolume": "engine", "containerPath": "/var/run/docker.sock"})


def _unit(change: Callable[[str], str]) -> Callable[[Any], None]:
    def mutate(manifest: Any) -> None:
        manifest[0] = change(manifest[0])
    return mutate


def _unit_add(line: str) -> Callable[[Any], None]:
    """A line in a [Service] section after the unit's own (systemd merges them; a later line wins)."""
    return _unit(lambda text: f"{text}\n[Service]\n{line}\n")


MUTATIONS: dict[str, tuple[str, dict[str, Callable[[Any], None]]]] = {
    "privileged": ("no-privileged", {
        "compose": _compose(lambda s: s.update(privileged=True)),
        "k8s": _k8s(lambda p, c: c["securityContext"].update(privileged=True)),
        "ecs": _ecs(lambda t, c: c.update(privileged=True)),
        "systemd": _unit(lambda text: text.replace("ExecStart=", "ExecStart=+")),
    }),
    "host-network": ("no-host-namespace", {
        "compose": _compose(lambda s: s.update(network_mode="host")),
        "k8s": _k8s(lambda p, c: p.update(hostNetwork=True)),
        "ecs": _ecs(lambda t, c: t.update(networkMode="host")),
    }),
    "host-pid": ("no-host-namespace", {
        "compose": _compose(lambda s: s.update(pid="host")),
        "k8s": _k8s(lambda p, c: p.update(hostPID=True)),
        "ecs": _ecs(lambda t, c: t.update(pidMode="host")),
    }),
    "literal-secret": ("no-literal-secret", {
        "compose": _compose_environment("SPLUNK_PASSWORD", CANARY_PASSWORD),
        "k8s": _k8s(lambda p, c: c["env"].append({"name": "SPLUNK_PASSWORD", "value": CANARY_PASSWORD})),
        "ecs": _ecs(lambda t, c: c["environment"].append({"name": "SPLUNK_PASSWORD", "value": CANARY_PASSWORD})),
        "systemd": _unit_add(f"Environment=SPLUNK_PASSWORD={CANARY_PASSWORD}"),
    }),
    "literal-by-format": ("no-literal-secret", {
        "compose": _compose_environment("LLM_KEY", PASTED),
        "k8s": _k8s(lambda p, c: c["env"].append({"name": "LLM_KEY", "value": PASTED})),
        "ecs": _ecs(lambda t, c: c["environment"].append({"name": "LLM_KEY", "value": PASTED})),
        "systemd": _unit_add(f"Environment=LLM_KEY={PASTED}"),
    }),
    # A literal wherever the manifest gives it to a process or publishes it (no-literal-secret over
    # Workload.texts), and a key inside a longer value.
    "literal-inside-a-value": ("no-literal-secret", {
        "compose": _compose_environment("AUTH_HEADER", f"Bearer {PASTED}"),
        "k8s": _k8s(lambda p, c: c["env"].append({"name": "AUTH_HEADER", "value": f'{{"key": "{PASTED}"}}'})),
        "ecs": _ecs(lambda t, c: c["environment"].append({"name": "AUTH_HEADER", "value": f"Bearer {PASTED}"})),
        "systemd": _unit_add(f'Environment="AUTH_HEADER=Bearer {PASTED}"'),
    }),
    "literal-in-a-configmap": ("no-literal-secret", {
        "k8s": _k8s_config_map,
    }),
    "literal-in-a-sidecar": ("no-literal-secret", {
        "compose": _compose_sidecar,
        "k8s": _k8s(lambda p, c: p["containers"].append({"name": "sidecar", "image": "busybox:1",
                                                         "env": [{"name": "SPLUNK_PASSWORD", "value": CANARY_PASSWORD}]})),
        "ecs": _ecs(lambda t, c: t["containerDefinitions"].append({"name": "sidecar", "image": "busybox:1", "essential": False,
                                                                   "environment": [{"name": "SPLUNK_PASSWORD",
                                                                                    "value": CANARY_PASSWORD}]})),
    }),
    "literal-in-an-init-container": ("no-literal-secret", {
        "k8s": _k8s(lambda p, c: p.setdefault("initContainers", []).append({"name": "init", "image": "busybox:1",
                                                                             "env": [{"name": "TOKEN", "value": PASTED}]})),
    }),
    "literal-in-a-command": ("no-literal-secret", {
        "compose": _compose(lambda s: s.update(command=["serve", "--", "--header", f"x-key:{PASTED}"])),
        "k8s": _k8s(lambda p, c: c.update(args=["serve", "--", "--header", f"x-key:{PASTED}"])),
        "ecs": _ecs(lambda t, c: c.update(command=["serve", "--", "--header", f"x-key:{PASTED}"])),
        "systemd": _unit(lambda text: text.replace(" serve\n", f" serve -- --header x-key:{PASTED}\n")),
    }),
    "literal-in-an-annotation-or-label": ("no-literal-secret", {
        "compose": _compose(lambda s: s.update(labels={"note": PASTED})),
        "k8s": _k8s_annotation,
        "ecs": _ecs(lambda t, c: c.update(dockerLabels={"note": PASTED})),
        "systemd": _unit(lambda text: text.replace("Description=", f"Description={PASTED} ", 1)),
    }),
    "literal-in-log-options": ("no-literal-secret", {
        "compose": _compose(lambda s: s.update(logging={"driver": "splunk", "options": {"splunk-token": PASTED}})),
        "ecs": _ecs(lambda t, c: c["logConfiguration"]["options"].update({"awslogs-group": PASTED})),
    }),
    "literal-in-a-probe": ("no-literal-secret", {
        "compose": _compose(lambda s: s["healthcheck"].update(test=["CMD", "deeptempo-probe", "http://127.0.0.1:6987/api/health",
                                                                    f"Bearer {PASTED}"])),
        "k8s": _k8s(lambda p, c: c["livenessProbe"]["httpGet"].update(httpHeaders=[{"name": "Authorization",
                                                                                    "value": f"Bearer {PASTED}"}])),
        "ecs": _ecs(lambda t, c: c["healthCheck"].update(command=[*c["healthCheck"]["command"], f"Bearer {PASTED}"])),
    }),
    "required-unreachable": ("secret-reachable", {
        "compose": _compose_unreachable,
        "k8s": _k8s(lambda p, c: c.pop("envFrom")),
        "ecs": _ecs(lambda t, c: c.update(secrets=[s for s in c["secrets"]
                                                   if s["name"] not in ("CLAUDE_API_KEY", "ANTHROPIC_API_KEY")])),
        "systemd": _unit(lambda text: "".join(line for line in text.splitlines(True)
                                              if not line.startswith(("LoadCredential=CLAUDE", "LoadCredential=ANTHROPIC")))),
    }),
    "no-health-probe": ("health-probe", {
        "compose": _compose(lambda s: s.update(healthcheck={"disable": True})),
        "k8s": _k8s(lambda p, c: c.pop("livenessProbe")),
        "ecs": _ecs(lambda t, c: c.pop("healthCheck")),
    }),
    "wrong-health-probe": ("health-probe", {
        "compose": _compose(lambda s: s["healthcheck"].update(test=["CMD", "curl", "-f", "http://127.0.0.1:6987/"])),
        "k8s": _k8s(lambda p, c: c["livenessProbe"]["httpGet"].update(path="/")),
        "ecs": _ecs(lambda t, c: c["healthCheck"].update(command=["CMD", "curl", "-f", "http://127.0.0.1:8080/api/health"])),
    }),
    "writable-root": ("read-only-root", {
        "compose": _compose(lambda s: s.update(read_only=False)),
        "k8s": _k8s(lambda p, c: c["securityContext"].update(readOnlyRootFilesystem=False)),
        "ecs": _ecs(lambda t, c: c.update(readonlyRootFilesystem=False)),
        "systemd": _unit(lambda text: text.replace("ProtectSystem=strict", "ProtectSystem=no")),
    }),
    "added-capability": ("no-added-capabilities", {
        "compose": _compose(lambda s: s.update(cap_add=["SYS_ADMIN"])),
        "k8s": _k8s(lambda p, c: c["securityContext"]["capabilities"].update(add=["SYS_ADMIN"])),
        "ecs": _ecs(lambda t, c: c["linuxParameters"]["capabilities"].update(add=["SYS_ADMIN"])),
        "systemd": _unit_add("AmbientCapabilities=CAP_SYS_ADMIN"),
    }),
    "root-user": ("non-root", {
        "compose": _compose(lambda s: s.update(user="root")),
        "k8s": _k8s(lambda p, c: c["securityContext"].update(runAsUser=0)),
        "ecs": _ecs(lambda t, c: c.update(user="0")),
        "systemd": _unit(lambda text: text.replace("User=deeptempo", "User=root")),
    }),
    "host-path": ("no-host-path", {
        "compose": _compose(lambda s: s["volumes"].append({"type": "bind", "source": "/var/run/docker.sock",
                                                           "target": "/var/run/docker.sock"})),
        "k8s": _k8s(_k8s_host_path),
        "ecs": _ecs(_ecs_host_path),
        "systemd": _unit_add("BindPaths=/var/run/docker.sock"),
    }),
    "replicas-without-database": ("shared-storage", {
        "compose": _compose(lambda s: s.update(deploy={**s["deploy"], "replicas": 3})),
        "k8s": _k8s_replicas_on_json_files,
    }),
    "all-interfaces": ("loopback-only", {
        "compose": _compose(lambda s: s.update(ports=[{"target": 6987, "published": "6987", "protocol": "tcp"}])),
        "k8s": _k8s(lambda p, c: c["ports"][0].update(hostPort=6987)),
    }),
}


def errors_of(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.is_error]


def test_the_shipped_manifest_is_valid(platform: Platform) -> None:
    errors = errors_of(platform.findings())
    assert errors == [], [finding.text() for finding in errors]


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_mutation_is_reported_under_its_rule_id(platform: Platform, mutation: str) -> None:
    rule, by_platform = MUTATIONS[mutation]
    change = mutation_for(by_platform, platform.name)
    if change is None:
        return  # the platform cannot express it (its absence from MUTATIONS says so): nothing to judge
    findings = platform.findings(change)
    assert rule in {finding.rule for finding in errors_of(findings)}, [finding.text() for finding in findings]
    text = json.dumps([finding.as_dict() for finding in findings])
    assert CANARY_PASSWORD not in text and PASTED not in text


def test_every_shared_rule_is_proven_by_a_mutation_or_a_test_of_its_own() -> None:
    proven = {rule for rule, _ in MUTATIONS.values()}
    own_tests = {"secret-value", "tmp-writable", "writable-state", "cap-drop-all", "no-privilege-escalation", "init",
                 "service-port", "resources", "rotation"}  # rotation: tests/platforms/test_rotation_rule.py
    assert set(RULE_IDS) == proven | own_tests


# --- rules judged here rather than by a mutation of every platform -------------------------------------

def test_a_name_file_path_is_a_route_not_a_literal(platform: Platform) -> None:
    additions: dict[str, Callable[[Any], None]] = {
        "compose": _compose_environment("GITHUB_TOKEN_FILE", "/run/secrets/github_token"),
        "k8s": _k8s(lambda p, c: c["env"].append({"name": "GITHUB_TOKEN_FILE", "value": "/run/secrets/github_token"})),
        "ecs": _ecs(lambda t, c: c["environment"].append({"name": "GITHUB_TOKEN_FILE", "value": "/run/secrets/gh"})),
        "systemd": _unit_add("Environment=GITHUB_TOKEN_FILE=/run/credentials/github_token"),
    }
    findings = platform.findings(mutation_for(additions, platform.name))
    assert "no-literal-secret" not in {finding.rule for finding in findings}, [f.text() for f in findings]


def test_a_key_pasted_into_a_name_file_variable_is_a_literal(platform: Platform) -> None:
    additions: dict[str, Callable[[Any], None]] = {
        "compose": _compose_environment("CLAUDE_API_KEY_FILE", PASTED),
        "k8s": _k8s(lambda p, c: c["env"].append({"name": "CLAUDE_API_KEY_FILE", "value": PASTED})),
        "ecs": _ecs(lambda t, c: c["environment"].append({"name": "CLAUDE_API_KEY_FILE", "value": PASTED})),
        "systemd": _unit_add(f"Environment=CLAUDE_API_KEY_FILE={PASTED}"),
    }
    findings = platform.findings(mutation_for(additions, platform.name))
    assert "no-literal-secret" in {finding.rule for finding in errors_of(findings)}, [f.text() for f in findings]
    assert PASTED not in json.dumps([finding.as_dict() for finding in findings])


@pytest.mark.parametrize("mutation, rule", [
    (_k8s(lambda p, c: c["securityContext"].pop("allowPrivilegeEscalation")), "no-privilege-escalation"),
    (_k8s(lambda p, c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"])), "cap-drop-all"),
    (_k8s(lambda p, c: c.update(volumeMounts=[m for m in c["volumeMounts"] if m["mountPath"] != "/tmp"])), "tmp-writable"),
    (_k8s(lambda p, c: c.update(volumeMounts=[m for m in c["volumeMounts"] if m["name"] != "state"])), "writable-state"),
    (_k8s(lambda p, c: c["ports"][0].update(containerPort=8080)), "service-port"),
    (_k8s(lambda p, c: c["resources"].pop("requests")), "resources"),
])
def test_kubernetes_rules_of_their_own(mutation: Callable[[Any], None], rule: str,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    findings = k8s_platform(str(tmp_path_factory.mktemp("k8s"))).findings(mutation)
    assert rule in {finding.rule for finding in errors_of(findings)}, [finding.text() for finding in findings]


@pytest.mark.parametrize("mutation, rule", [
    (_ecs(lambda t, c: c["linuxParameters"].update(initProcessEnabled=False)), "init"),
    (_ecs(lambda t, c: c["linuxParameters"]["capabilities"].update(drop=[])), "cap-drop-all"),
])
def test_ecs_rules_of_their_own(mutation: Callable[[Any], None], rule: str) -> None:
    findings = ecs_platform("").findings(mutation)
    assert rule in {finding.rule for finding in errors_of(findings)}, [finding.text() for finding in findings]


@pytest.mark.parametrize("line, rule", [("NoNewPrivileges=no", "no-privilege-escalation"),
                                        ("CapabilityBoundingSet=CAP_NET_RAW", "cap-drop-all")])
def test_systemd_rules_of_their_own(line: str, rule: str) -> None:
    findings = systemd_platform("").findings(_unit_add(line))
    assert rule in {finding.rule for finding in errors_of(findings)}, [finding.text() for finding in findings]


@pytest.mark.parametrize("value, message", [
    ("sk-ant-...", "placeholder"),
    (f'"{CANARY_CLAUDE}"', "wrapped in quotes"),
    ("not-a-claude-key", "expected format"),
])
def test_the_values_a_generator_carries_are_validated(value: str, message: str,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    tree = str(tmp_path_factory.mktemp("k8s") / "k8s")
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    with open(os.path.join(tree, "overlays", "dev", "secrets.env"), "w") as stream:
        stream.write(f"CLAUDE_API_KEY={value}\n")
    findings = k8s_verify.judge(kustomize(os.path.join(tree, "overlays", "dev")), SPEC, ("1.37",))[0]
    errors = [finding for finding in errors_of(findings) if finding.rule == "secret-value"]
    assert errors and message in errors[0].message and errors[0].secret == "CLAUDE_API_KEY"
    assert CANARY_CLAUDE not in json.dumps([finding.as_dict() for finding in findings])


def test_a_spec_with_another_port_and_health_path_is_verified_against_them(tmp_path: Any) -> None:
    from deeptempo_entrypoint.spec.model import Spec

    data = {"version": 1, "health_path": "/healthz",
            "entries": [{**entry, "default": "8080"} if entry["name"] == "PORT" else entry
                        for entry in yaml.safe_load(open(os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "spec", "spec.yaml")))["entries"]]}
    spec = Spec(data, origin="test")
    with open(os.path.join(PROJECT, "ecs", "task-definition.json")) as stream:
        task = task_definition_input(json.load(stream))
    rules = {finding.rule for finding in verify_ecs(task, spec)[0] if finding.is_error}
    assert {"health-probe", "service-port"} <= rules
