"""The leak suite of the operator side: a canary through `render`, `verify` and `local` on every platform
and their failure paths (a pasted value where a name goes, a relayed tool's refusal, a container's log
tail), in text and `--json`; every bad input a finding with exit 78, never 70; the redaction boundary
fuzzed over the forms a value takes (split across lines, quoted, URL-encoded, inside JSON, base64'd)."""

import base64
import json
import os
import shutil
import stat
import subprocess
import time
import urllib.parse

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deeptempo_deploy.redaction import MIN_RUN, Redactor
from deeptempo_entrypoint.errors import ConfigError
from tests.helpers import DEPLOY, PROJECT, write

CANARY = "sk-ant-OPLEAKcanary0123456789abcdefXYZ"


def deploy(*args, env=None, timeout=120):
    environment = {**os.environ, **(env or {})}
    result = subprocess.run([*DEPLOY, *map(str, args)], capture_output=True, text=True, env=environment, timeout=timeout)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr[-2000:]
    assert CANARY not in result.stdout + result.stderr, "the canary leaked"
    assert CANARY[7:7 + MIN_RUN] not in result.stdout + result.stderr, "part of the canary leaked"
    return result


def both(*args, env=None):
    """The command in text and in --json: the same exit code; the JSON document parses."""
    text, as_json = deploy(*args, env=env), deploy(*args, "--json", env=env)
    assert text.returncode == as_json.returncode
    return as_json.returncode, json.loads(as_json.stdout), text.stdout + text.stderr


@pytest.fixture
def overlay(tmp_path):
    tree = tmp_path / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    return tree / "overlays" / "dev"


# --- Kubernetes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, rule", [
    (f"{CANARY}\n", "secret-keys"),  # a value pasted without NAME=: Kustomize makes it a key
    (f'CLAUDE_API_KEY="{CANARY}"\n', "secret-value"),  # quotes that Kustomize keeps
    ("CLAUDE_API_KEY=sk-ant-...\n", "secret-value"),  # the placeholder
])
def test_verify_k8s_judges_a_generators_values_and_never_prints_them(overlay, line, rule):
    write(overlay / "secrets.env", f"GITHUB_TOKEN=ghp_{CANARY[7:]}\n" + line)
    code, report, text = both("verify", "k8s", overlay)
    assert code == 78 and rule in {f["rule"] for f in report["findings"] if f["level"] == "error"}, report
    assert f"ghp_{CANARY[7:]}" not in json.dumps(report) + text


def test_a_literal_in_a_rendered_manifest_is_masked_in_every_output(overlay, tmp_path):
    import yaml

    write(overlay / "secrets.env", "CLAUDE_API_KEY=sk-ant-valid0123456789\n")
    rendered = subprocess.run([os.path.join(os.path.dirname(DEPLOY[0]), "kubectl"), "kustomize", str(overlay)],
                              capture_output=True, text=True, check=True).stdout
    documents = list(yaml.safe_load_all(rendered))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "LLM_KEY", "value": CANARY})
    manifest = write(tmp_path / "rendered.yaml", yaml.safe_dump_all(documents))
    code, report, _ = both("verify", "k8s", manifest, "--kubernetes-version", "1.37")
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}


@pytest.mark.parametrize("document", [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
    "[" * 5000 + "]" * 5000,
])
def test_a_hostile_manifest_is_a_finding_not_a_crash(tmp_path, document):
    started = time.monotonic()
    code, report, _ = both("verify", "k8s", write(tmp_path / "bomb.yaml", document))
    assert code == 78 and report["findings"][0]["rule"] == "input" and time.monotonic() - started < 60


def test_verify_k8s_copies_only_the_overlays_own_files(overlay, tmp_path):
    """An overlay naming /etc as a resource must not make the kit copy /etc (nor anything else it did
    not make) into its temporary directory, and leaves no temporary directory behind."""
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:", "resources:\n  - /etc", 1))
    (overlay / "secrets.env").unlink(missing_ok=True)  # so a stand-in copy is made
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    code, report, _ = both("verify", "k8s", overlay, env={"TMPDIR": str(scratch)})
    assert code == 78 and report["findings"][0]["rule"] == "input"
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "missing"])
def test_a_target_that_is_no_file_or_directory_is_refused_by_name(tmp_path, kind):
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    code, report, _ = both("verify", "k8s", target)
    assert code == 78 and str(target) in report["findings"][0]["message"]


def test_a_secret_volume_item_cannot_leave_its_volume():
    from deeptempo_deploy.platforms.k8s.local import SecretVolume

    for path in ("/tmp/x", "../../../x", "a/../../x", ""):
        with pytest.raises(ConfigError, match="relative path inside the volume"):
            SecretVolume({"K": CANARY}, 0o400, None, [{"key": "K", "path": path}], user=os.getuid())


def test_a_secret_volume_is_private_and_removed():
    from deeptempo_deploy.platforms.k8s.local import SecretVolume

    volume = SecretVolume({"K": CANARY, "L": "x"}, 0o644, None, [{"key": "K", "path": "sub/k"}], user=os.getuid())
    try:
        assert stat.S_IMODE(os.stat(volume.directory).st_mode) == 0o700
        assert open(os.path.join(volume.directory, "sub", "k")).read() == CANARY  # through the ..data link
        assert not os.path.exists(os.path.join(volume.directory, "L"))
    finally:
        volume.remove()
    assert not os.path.exists(volume.directory)


# --- Compose ----------------------------------------------------------------------------------------------

def compose_available():
    return shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("env_text", [
    f'A="unterminated\n{CANARY}=x\n',  # Compose's refusal quotes what follows the open quote
    f"CLAUDE_API_KEY={CANARY}\nGITHUB_TOKEN={CANARY}\n",  # a value of the wrong format: named, never shown
])
def test_verify_compose_relays_compose_without_what_it_quotes(tmp_path, env_text):
    if not compose_available():
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    env_file = write(tmp_path / "compose.env", env_text)
    code, report, _ = both("verify", "compose", os.path.join(PROJECT, "docker-compose.yml"),
                           env={"DEEPTEMPO_COMPOSE_ENV_FILE": str(env_file)})
    assert code == 78 and report["ok"] is False


# --- systemd ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, rule", [
    (lambda t: t.replace("[Service]\n", f"[Service]\nEnvironment=BROKEN KEY={CANARY}\n"), "systemd-verify"),
    (lambda t: t.replace("[Service]\n", f'[Service]\nEnvironment="CLAUDE_API_KEY={CANARY}\n'), "unit-syntax"),
    (lambda t: t.replace(" serve\n", ' serve "--port\n'), "unit-syntax"),
])
def test_verify_systemd_never_repeats_an_assignment_and_never_crashes(tmp_path, change, rule):
    unit = write(tmp_path / "deeptempo.service", change(open(os.path.join(PROJECT, "systemd", "deeptempo.service")).read()))
    code, report, _ = both("verify", "systemd", unit)
    assert code == 78 and rule in {f["rule"] for f in report["findings"]}, report


# --- ECS ----------------------------------------------------------------------------------------------

def task_with(tmp_path, change):
    task = json.load(open(os.path.join(PROJECT, "ecs", "task-definition.json")))
    change(task)
    return write(tmp_path / "task.json", json.dumps(task))


def test_a_secret_pasted_into_value_from_is_refused_and_masked(tmp_path):
    task = task_with(tmp_path, lambda t: t["containerDefinitions"][0]["secrets"][0].update(valueFrom=CANARY))
    code, report, _ = both("verify", "ecs", task, "--policy", os.path.join(PROJECT, "ecs", "execution-role-policy.json"))
    assert code == 78 and "value-from" in {f["rule"] for f in report["findings"]}
    mapping = write(tmp_path / "mapping.json", json.dumps({"CLAUDE_API_KEY": "sk-ant-fromthemapping0123"}))
    result = deploy("local", "ecs", task, "--secrets", mapping)
    assert result.returncode == 78


def test_no_container_is_a_finding(tmp_path):
    code, report, _ = both("verify", "ecs", task_with(tmp_path, lambda t: t.update(containerDefinitions=[])))
    assert code == 78 and report["findings"]


def test_from_aws_without_a_region_names_the_fix(tmp_path):
    environment = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE":
                   str(tmp_path / "none"), "AWS_DEFAULT_REGION": "", "AWS_REGION": ""}
    result = deploy("local", "ecs", os.path.join(PROJECT, "ecs", "task-definition.json"), "--from-aws", env=environment)
    assert result.returncode == 78 and "--region" in result.stderr and "AWS_DEFAULT_REGION" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--kms-key-arn", "nope"], "--kms-key-arn must be a KMS key ARN"),
    (["--only", "CLAUDE_APIKEY"], "did you mean CLAUDE_API_KEY?"),
    (["--only", CANARY], "is no secret of the spec"),
    (["--memory", "lots"], "is not a Fargate task size"),
])
def test_render_ecs_checks_its_options(tmp_path, args, message):
    result = deploy("render", "ecs", "--output-dir", tmp_path, *args)
    assert result.returncode == 78 and message in result.stderr


def test_a_kms_decrypt_on_no_key_is_not_least_privilege(tmp_path):
    policy = json.load(open(os.path.join(PROJECT, "ecs", "execution-role-policy.json")))
    policy["Statement"].append({"Sid": "Decrypt", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["nope"]})
    code, report, _ = both("verify", "ecs", os.path.join(PROJECT, "ecs", "task-definition.json"), "--policy",
                           write(tmp_path / "policy.json", json.dumps(policy)))
    assert code == 78 and {f["rule"] for f in report["findings"] if f["level"] == "error"} == {"least-privilege"}


# --- a container's log tail ------------------------------------------------------------------------------------

def test_a_local_runs_log_tail_leaves_through_the_boundary(capsys):
    from deeptempo_deploy.cli import report_local
    from deeptempo_deploy.platforms.runner import LocalResult
    from deeptempo_deploy.redaction import remember

    remember(CANARY)  # what local remembers of the values it injected
    tail = f"pydantic: input_value='{CANARY[:30]}...'\nsecret={CANARY}\n" + json.dumps({"key": CANARY})
    for output in ("text", "json"):
        with pytest.raises(SystemExit):
            report_local("local k8s x", LocalResult(False, "not ready", log_tail=tail), output)
        out = capsys.readouterr()
        assert CANARY[:20] not in out.out + out.err and "***" in out.out + out.err


# --- the redaction boundary, fuzzed ---------------------------------------------------------------------

VALUES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                 min_size=MIN_RUN, max_size=60)
AROUND = st.text(max_size=30)


def forms(value):
    raw = value.encode()
    encoded = [json.dumps({"v": value}), urllib.parse.quote(value, safe=""), base64.b64encode(raw).decode()]
    encoded += [base64.b64encode(b"x" * shift + raw + b"yz").decode() for shift in (1, 2)]  # inside a longer blob
    half = len(value) // 2
    if half >= MIN_RUN:
        encoded.append(f"{value[:half]}\n    {value[half:]}")  # wrapped across lines
    encoded.append(f"'{value[:MIN_RUN + 2]}...'")  # truncated by a log
    return encoded


@settings(max_examples=300, deadline=None)
@given(value=VALUES, before=AROUND, after=AROUND)
def test_no_form_of_a_remembered_value_survives_the_mask(value, before, after):
    redactor = Redactor()
    redactor.remember(value)
    for form in forms(value):
        masked = redactor.mask(before + form + after)
        assert value not in masked
        for start in range(0, len(value) - MIN_RUN + 1):
            assert value[start:start + MIN_RUN] not in masked


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_the_mask_changes_nothing_when_nothing_was_seen(text):
    from deeptempo_entrypoint.spec import builtin_spec

    assume(not builtin_spec().secret_spans(text))  # a secret's shape is masked whether seen or not (test_boundary.py)
    assert Redactor().mask(text) == text


def test_a_fifo_a_kustomization_names_is_refused_by_name(overlay):
    os.mkfifo(overlay / "extra.yaml")
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:", "resources:\n  - extra.yaml", 1))
    write(overlay / "secrets.env", "CLAUDE_API_KEY=sk-ant-valid0123456789\n")
    started = time.monotonic()
    code, report, _ = both("verify", "k8s", overlay)
    assert code == 78 and "extra.yaml is not a regular file" in report["findings"][0]["message"]
    assert time.monotonic() - started < 30


def test_local_k8s_env_file_keys_get_did_you_mean(overlay, tmp_path):
    from deeptempo_deploy.platforms.k8s.local import render_overlay

    env_file = write(tmp_path / "local.env", f"CLAUDE_API_KYE={CANARY}\n")
    _, _, warnings = render_overlay(str(overlay), str(env_file))
    assert warnings == ["--env-file: CLAUDE_API_KYE is not a name the spec knows; did you mean CLAUDE_API_KEY?"]


# --- a literal wherever a manifest gives it to a process or publishes it, through each verify ---------------------
# (no-literal-secret over every container, ConfigMap, command, probe, annotation, label and log option): a
# finding, exit 78, and the value never printed, in text and --json.

def rendered_dev(tmp_path):
    import yaml

    tree = tmp_path / "k8s-tree"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    write(tree / "overlays" / "dev" / "secrets.env", "CLAUDE_API_KEY=sk-ant-valid0123456789\n")
    rendered = subprocess.run([os.path.join(os.path.dirname(DEPLOY[0]), "kubectl"), "kustomize", str(tree / "overlays" / "dev")],
                              capture_output=True, text=True, check=True).stdout
    return [document for document in yaml.safe_load_all(rendered) if document]


def _pod(documents):
    return next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]


K8S_FIELDS = {
    "configmap-envfrom": lambda docs, pod: (docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                                                         "data": {"NOTE": f"Bearer {CANARY}"}}),
                                            pod["spec"]["containers"][0].setdefault("envFrom", []).append(
                                                {"configMapRef": {"name": "settings"}})),
    "configmap-key-ref": lambda docs, pod: (docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                                                         "data": {"k": CANARY}}),
                                            pod["spec"]["containers"][0]["env"].append(
                                                {"name": "NOTE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k"}}})),
    "configmap-volume": lambda docs, pod: (docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "files"},
                                                        "data": {"config.json": json.dumps({"key": CANARY})}}),
                                           pod["spec"]["volumes"].append({"name": "files", "configMap": {"name": "files"}}),
                                           pod["spec"]["containers"][0]["volumeMounts"].append({"name": "files", "mountPath": "/etc/x"})),
    "sidecar-env": lambda docs, pod: pod["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1",
                                                                       "env": [{"name": "X", "value": CANARY}]}),
    "init-container-env": lambda docs, pod: pod["spec"].setdefault("initContainers", []).append(
        {"name": "init", "image": "busybox:1", "env": [{"name": "SPLUNK_PASSWORD", "value": CANARY}]}),
    "command": lambda docs, pod: pod["spec"]["containers"][0].update(command=["deeptempo-entrypoint", f"--key={CANARY}"]),
    "args": lambda docs, pod: pod["spec"]["containers"][0].update(args=["serve", "--", "--header", f"x:{CANARY}"]),
    "annotation": lambda docs, pod: pod["metadata"].setdefault("annotations", {}).update(note=CANARY),
    "label": lambda docs, pod: pod["metadata"].setdefault("labels", {}).update(note=CANARY[:63]),
    "probe-header": lambda docs, pod: pod["spec"]["containers"][0]["livenessProbe"]["httpGet"].update(
        httpHeaders=[{"name": "Authorization", "value": f"Bearer {CANARY}"}]),
    "lifecycle-hook": lambda docs, pod: pod["spec"]["containers"][0].update(
        lifecycle={"preStop": {"exec": {"command": ["sh", "-c", f"curl -H 'x: {CANARY}' http://127.0.0.1:6987/"]}}}),
    "env-containing-a-key": lambda docs, pod: pod["spec"]["containers"][0]["env"].append(
        {"name": "PAYLOAD", "value": json.dumps({"auth": {"key": CANARY}})}),
}


@pytest.mark.parametrize("field", sorted(K8S_FIELDS))
def test_verify_k8s_finds_a_literal_in_every_field_and_never_prints_it(tmp_path, field):
    import yaml

    documents = rendered_dev(tmp_path)
    K8S_FIELDS[field](documents, _pod(documents))
    manifest = write(tmp_path / "rendered.yaml", yaml.safe_dump_all(documents))
    code, report, _ = both("verify", "k8s", manifest, "--kubernetes-version", "1.37")
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}, report


HELM_SETTINGS = {
    "pod-annotation": [f"podAnnotations.note={CANARY}"],
    "extra-env-containing-a-key": ["extraEnvVars[0].name=AUTH", f"extraEnvVars[0].value=Bearer {CANARY}"],
}


@pytest.mark.parametrize("field", sorted(HELM_SETTINGS))
def test_verify_helm_finds_a_literal_given_by_set_and_never_prints_it(field):
    settings_ = [argument for setting in HELM_SETTINGS[field] for argument in ("--set", setting)]
    code, report, _ = both("verify", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"), *settings_,
                           "--kubernetes-version", "1.37")
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}, report


COMPOSE_FIELDS = {
    "other-service-env": lambda doc: doc["services"].update(sidecar={"image": "busybox:1", "environment": {"TOKEN": CANARY}}),
    "command": lambda doc: doc["services"]["deeptempo"].update(command=["serve", "--", "--header", f"x:{CANARY}"]),
    "entrypoint": lambda doc: doc["services"]["deeptempo"].update(entrypoint=["deeptempo-entrypoint", f"--key={CANARY}"]),
    "healthcheck": lambda doc: doc["services"]["deeptempo"]["healthcheck"].update(test=["CMD-SHELL", f"probe 'Bearer {CANARY}'"]),
    "label": lambda doc: doc["services"]["deeptempo"].update(labels={"note": CANARY}),
    "logging-option": lambda doc: doc["services"]["deeptempo"].update(logging={"driver": "splunk",
                                                                              "options": {"splunk-token": CANARY}}),
    "build-arg": lambda doc: doc["services"]["deeptempo"]["build"].update(args={"TOKEN": CANARY}),
    "env-containing-a-key": lambda doc: doc["services"]["deeptempo"]["environment"].update(AUTH=f"Bearer {CANARY}"),
}


@pytest.mark.parametrize("field", sorted(COMPOSE_FIELDS))
def test_verify_compose_finds_a_literal_in_every_field_and_never_prints_it(tmp_path, field):
    import yaml

    if not compose_available():
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    document = yaml.safe_load(open(os.path.join(PROJECT, "docker-compose.yml")))
    document["services"]["deeptempo"]["build"] = {"context": PROJECT}
    COMPOSE_FIELDS[field](document)
    compose_file = write(tmp_path / "docker-compose.yml", yaml.safe_dump(document, sort_keys=False))
    env_file = write(tmp_path / "compose.env", "CLAUDE_API_KEY=sk-ant-valid0123456789\n")
    code, report, _ = both("verify", "compose", compose_file, env={"DEEPTEMPO_COMPOSE_ENV_FILE": str(env_file)})
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}, report


ECS_FIELDS = {
    "non-essential-container-env": lambda t, c: t["containerDefinitions"].append(
        {"name": "sidecar", "image": "busybox:1", "essential": False, "environment": [{"name": "X", "value": CANARY}]}),
    "command": lambda t, c: c.update(command=["serve", "--", "--header", f"x:{CANARY}"]),
    "entry-point": lambda t, c: c.update(entryPoint=["deeptempo-entrypoint", f"--key={CANARY}"]),
    "docker-label": lambda t, c: c.update(dockerLabels={"note": CANARY}),
    "log-option": lambda t, c: c["logConfiguration"]["options"].update({"awslogs-stream-prefix": CANARY}),
    "health-check": lambda t, c: c["healthCheck"].update(command=["CMD-SHELL", f"probe 'Bearer {CANARY}'"]),
    "tag": lambda t, c: t.update(tags=[{"key": "note", "value": CANARY}]),
    "env-containing-a-key": lambda t, c: c["environment"].append({"name": "AUTH", "value": f"Bearer {CANARY}"}),
}


@pytest.mark.parametrize("field", sorted(ECS_FIELDS))
def test_verify_ecs_finds_a_literal_in_every_field_and_never_prints_it(tmp_path, field):
    task = task_with(tmp_path, lambda t: ECS_FIELDS[field](t, t["containerDefinitions"][0]))
    code, report, _ = both("verify", "ecs", task)
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}, report


SYSTEMD_LINES = {
    "exec-start": lambda text: text.replace(" serve\n", f" serve -- --header x:{CANARY}\n"),
    "exec-start-pre": lambda text: text.replace("[Service]\n", f"[Service]\nExecStartPre=/bin/true {CANARY}\n"),
    "description": lambda text: text.replace("Description=", f"Description={CANARY} ", 1),
    "log-extra-fields": lambda text: text.replace("[Service]\n", f"[Service]\nLogExtraFields=NOTE={CANARY}\n"),
    "environment-containing-a-key": lambda text: text.replace("[Service]\n", f'[Service]\nEnvironment="AUTH=Bearer {CANARY}"\n'),
}


@pytest.mark.parametrize("field", sorted(SYSTEMD_LINES))
def test_verify_systemd_finds_a_literal_in_every_line_and_never_prints_it(tmp_path, field):
    text = open(os.path.join(PROJECT, "systemd", "deeptempo.service")).read()
    unit = write(tmp_path / "deeptempo.service", SYSTEMD_LINES[field](text))
    code, report, _ = both("verify", "systemd", unit)
    assert code == 78 and "no-literal-secret" in {f["rule"] for f in report["findings"]}, report
