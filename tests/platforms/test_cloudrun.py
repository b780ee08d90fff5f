"""Google Cloud Run offline: the committed service and bindings are what `render cloudrun` writes, pass
Google's run.v1 schema and `verify cloudrun`; copies broken one way each fail (78) naming the rule and
never a value; the kit's rotation follows a content change no `stat` can see, when told to compare."""

import copy
import json
import logging
import os
import shlex
import subprocess

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from deeptempo_deploy.platforms.cloudrun import IAM_POLICY, SERVICE
from deeptempo_deploy.platforms.cloudrun.local import SecretVolumes, StandIn
from deeptempo_deploy.platforms.cloudrun.render import CloudRunOptions, render
from deeptempo_deploy.platforms.cloudrun.schema import schema_findings, service_schema
from deeptempo_deploy.platforms.cloudrun.verify import verify_cloudrun
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint import rotation
from deeptempo_entrypoint.findings import Where
from deeptempo_entrypoint.rotation import INTERVAL, Followed, Rotation
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, DEPLOY, PROJECT, write
from tests.readme import block

SPEC = builtin_spec()
SERVICE_FILE = os.path.join(PROJECT, SERVICE)
IAM_FILE = os.path.join(PROJECT, IAM_POLICY)
PASTED = "sk-ant-pastedINTOtheMANIFEST0123"
NEW_KEY = "sk-ant-ROTATEDclaude012345678"  # the same length as CANARY_CLAUDE


def shipped():
    return yaml.safe_load(open(SERVICE_FILE)), yaml.safe_load(open(IAM_FILE))


def container(service):
    return service["spec"]["template"]["spec"]["containers"][0]


def verify_cli(service, iam=None, tmp_path=None):
    service_path = write(tmp_path / "service.yaml", yaml.safe_dump(service)) if isinstance(service, dict) else service
    command = [*DEPLOY, "verify", "cloudrun", str(service_path), "--json"]
    if iam is not None:
        iam_path = write(tmp_path / "iam.yaml", yaml.safe_dump(iam)) if isinstance(iam, list) else iam
        command += ["--iam", str(iam_path)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stdout + result.stderr


def errors(service, iam=None, image_user="10001:10001"):
    return [finding for finding in verify_cloudrun(service, SPEC, iam, image_user)[0] if finding.is_error]


def test_the_committed_files_are_what_render_writes():
    for relative, content in render(SPEC).items():
        with open(os.path.join(PROJECT, relative), encoding="utf-8") as stream:
            assert stream.read() == content, f"{relative} drifted: run deeptempo-deploy render cloudrun"


def test_the_shipped_service_and_bindings_pass_and_say_how_each_secret_arrives(tmp_path):
    code, report, output = verify_cli(SERVICE_FILE, IAM_FILE, tmp_path)
    assert code == 0, output
    # Cloud Run has no user to set: without --image the image's USER is unknown, said as a warning.
    assert [(f["rule"], f["level"]) for f in report["findings"]] == [("non-root", "warning")]
    assert report["sources"]["CLAUDE_API_KEY"] == ("file /secrets/claude-api-key/claude_api_key from secret "
                                                   "deeptempo-claude-api-key version latest")


@pytest.mark.parametrize("arguments", [[], ["--secrets-as", "env", "--version", "3"], ["--database-host", "10.0.0.5"],
                                       ["--only", "CLAUDE_API_KEY", "--secrets-as", "env"]])
def test_every_render_passes_googles_schema_and_verify(arguments, tmp_path):
    result = subprocess.run([*DEPLOY, "render", "cloudrun", *arguments, "--output-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    service = yaml.safe_load((tmp_path / SERVICE).read_text())
    assert schema_findings(service, SpecView(SPEC), Where()) == []
    code, report, output = verify_cli(tmp_path / SERVICE, tmp_path / IAM_POLICY, tmp_path)
    assert code == 0 and all(f["level"] == "warning" for f in report["findings"]), output


def test_secrets_are_files_of_their_own_on_latest_or_pinned_variables():
    service, bindings = shipped()
    main = container(service)
    volumes = service["spec"]["template"]["spec"]["volumes"]
    claude = next(volume for volume in volumes if volume["secret"]["secretName"] == "deeptempo-claude-api-key")
    assert claude["secret"]["items"] == [{"key": "latest", "path": "claude_api_key"}]
    mounts = {mount["name"]: mount["mountPath"] for mount in main["volumeMounts"]}
    assert len(set(mounts.values())) == len(volumes)  # each secret a directory of its own
    environment = {item["name"]: item.get("value") for item in main["env"]}
    assert environment["CLAUDE_API_KEY_FILE"] == f"{mounts[claude['name']]}/claude_api_key"
    assert environment["DEEPTEMPO_FOLLOW_FILE_CONTENT"] == "1"
    assert "POSTGRES_PASSWORD_FILE" not in environment and environment["DATA_BACKEND"] == "json"
    assert service["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"] == "1"
    # The bindings: the service's own account, on each secret, nothing else.
    account = f"serviceAccount:{service['spec']['template']['spec']['serviceAccountName']}"
    assert {item["resource"].rsplit("/", 1)[1] for item in bindings} == {v["secret"]["secretName"] for v in volumes}
    assert all(item["policy"]["bindings"] == [{"role": "roles/secretmanager.secretAccessor", "members": [account]}]
               for item in bindings)
    env = yaml.safe_load(render(SPEC, CloudRunOptions(secrets_as="env", version="7"))[SERVICE])
    refs = [item["valueFrom"]["secretKeyRef"] for item in container(env)["env"] if "valueFrom" in item]
    assert refs and all(ref["key"] == "7" for ref in refs) and "volumes" not in env["spec"]["template"]["spec"]


@pytest.mark.parametrize("arguments, message", [
    (["--version", "latest"], "--version must be a secret version number"),
    (["--only", "NOT_A_SECRET"], "NOT_A_SECRET is not a secret of the spec"),
    (["--project", "X"], "--project must be"),
])
def test_bad_render_options_exit_78(arguments, message, tmp_path):
    result = subprocess.run([*DEPLOY, "render", "cloudrun", *arguments, "--output-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 78 and message in result.stderr and "Traceback" not in result.stderr


def _env(change):
    def mutate(service, bindings):
        change(container(service)["env"])
    return mutate


def _public_invoker(service, bindings):
    bindings.append({"resource": "projects/deeptempo-prod/locations/us-central1/services/deeptempo",
                     "policy": {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}})


def _project_wide(service, bindings):
    bindings.append({"resource": "projects/deeptempo-prod", "policy": {"bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:x@deeptempo-prod.iam.gserviceaccount.com"]}]}})


MUTATIONS = {
    "literal-secret": ("no-literal-secret", _env(lambda env: env.append({"name": "SPLUNK_PASSWORD", "value": CANARY_PASSWORD}))),
    "literal-by-format": ("no-literal-secret", _env(lambda env: env.append({"name": "LLM_KEY", "value": PASTED}))),
    "literal-in-an-annotation": ("no-literal-secret", lambda s, b: s["metadata"]["annotations"].update(note=PASTED)),
    "env-secret-on-latest": ("cloudrun-env-latest", _env(lambda env: env.append(
        {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "deeptempo-github-token", "key": "latest"}}}))),
    "unknown-field": ("cloudrun-schema", lambda s, b: s["spec"]["template"]["spec"].update(hostNetwork=True)),
    "pasted-field-name": ("cloudrun-schema", lambda s, b: container(s).update({PASTED: "x"})),
    "wrong-type": ("cloudrun-schema", lambda s, b: container(s)["ports"][0].update(containerPort="6987")),
    "ingress-all": ("cloudrun-ingress", lambda s, b: s["metadata"]["annotations"].update({"run.googleapis.com/ingress": "all"})),
    "ingress-unset": ("cloudrun-ingress", lambda s, b: s["metadata"].pop("annotations")),
    "ingress-misspelt": ("cloudrun-annotation",
                         lambda s, b: s["metadata"]["annotations"].update({"run.googleapis.com/ingress": "internall"})),
    "execution-environment-by-value": ("cloudrun-annotation", lambda s, b: s["spec"]["template"]["metadata"]["annotations"].update(
        {"run.googleapis.com/execution-environment": "gen3"})),
    "max-scale-by-value": ("cloudrun-annotation", lambda s, b: s["spec"]["template"]["metadata"]["annotations"].update(
        {"autoscaling.knative.dev/maxScale": "many"})),
    "default-account": ("cloudrun-service-account", lambda s, b: s["spec"]["template"]["spec"].pop("serviceAccountName")),
    "public-invoker": ("cloudrun-public", _public_invoker),
    "project-wide-accessor": ("cloudrun-iam", _project_wide),
    "secret-not-bound": ("cloudrun-iam", lambda s, b: b.pop(0)),
    "required-unreachable": ("secret-reachable", _env(lambda env: [env.remove(item) for item in list(env)
                                                                  if item["name"].startswith(("CLAUDE", "ANTHROPIC"))])),
    "file-variable-naming-no-volume": ("cloudrun-secret-file", _env(lambda env: env.append(
        {"name": "SPLUNK_PASSWORD_FILE", "value": "/secrets/nowhere/splunk_password"}))),
    "reserved-variable": ("cloudrun-reserved", _env(lambda env: env.append({"name": "PORT", "value": "6987"}))),
    "no-startup-probe": ("health-probe", lambda s, b: container(s).pop("startupProbe")),
    "wrong-probe": ("health-probe", lambda s, b: container(s)["livenessProbe"]["httpGet"].update(path="/")),
    "no-limits": ("resources", lambda s, b: container(s).pop("resources")),
    "scaled-on-json-files": ("shared-storage", lambda s, b: s["spec"]["template"]["metadata"]["annotations"].pop(
        "autoscaling.knative.dev/maxScale")),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_mutation_is_an_error_under_its_rule(mutation):
    rule, change = MUTATIONS[mutation]
    service, bindings = shipped()
    change(service, bindings)
    found = errors(service, bindings)
    assert rule in {finding.rule for finding in found}, [finding.text() for finding in found]
    text = json.dumps([finding.as_dict() for finding in found])
    assert CANARY_PASSWORD not in text and PASTED not in text


@pytest.mark.parametrize("mutation", ["literal-secret", "env-secret-on-latest", "unknown-field", "public-invoker"])
def test_verify_exits_78_naming_the_rule_and_no_value(mutation, tmp_path):
    rule, change = MUTATIONS[mutation]
    service, bindings = shipped()
    change(service, bindings)
    code, report, output = verify_cli(service, bindings, tmp_path)
    assert code == 78 and rule in {f["rule"] for f in report["findings"] if f["level"] == "error"}, output
    assert CANARY_PASSWORD not in output and PASTED not in output


def test_unknown_fields_and_wrong_types_are_named_by_their_path():
    service, _ = shipped()
    service["spec"]["template"]["spec"]["hostNetwork"] = True
    container(service)["ports"][0]["containerPort"] = "6987"
    messages = sorted(f.message for f in schema_findings(service, SpecView(SPEC), Where()))
    assert messages == ["spec.template.spec.containers[0].ports[0].containerPort: must be of type integer",
                        "spec.template.spec: hostNetwork is not a field of Cloud Run's Service schema"]


def test_the_schema_is_googles_discovery_document_with_no_field_left_open():
    schema = service_schema()
    assert {"Service", "Container", "SecretVolumeSource", "SecretKeySelector"} <= set(schema["$defs"])
    open_objects = [name for name, definition in schema["$defs"].items()
                    if definition.get("type") == "object" and definition.get("additionalProperties") is not False
                    and "properties" in definition]
    assert open_objects == []


def test_non_root_is_judged_from_the_images_user():
    service, bindings = shipped()
    assert "non-root" in {f.rule for f in errors(service, bindings, image_user="root")}
    assert "non-root" not in {f.rule for f in errors(service, bindings, image_user="10001:10001")}


def test_a_bindings_file_of_another_shape_exits_78(tmp_path):
    code, _, output = verify_cli(SERVICE_FILE, write(tmp_path / "iam.yaml", "bindings: []\n"), tmp_path)
    assert code == 78 and "must be a mapping of resource" in output


# --- the runtime follows a content change `stat` cannot see, when the deployment asks it to ---------

def _following(path, compare):
    return Rotation(SPEC, {"CLAUDE_API_KEY": Followed("CLAUDE_API_KEY", path, CANARY_CLAUDE, compare)})


def _aged(active):
    for followed in active.followed.values():
        followed.checked_at -= INTERVAL
    return active


@pytest.fixture()
def volume(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_API_KEY", CANARY_CLAUDE)
    volumes = SecretVolumes()
    stand_in = StandIn(str(write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")))
    volumes.add("claude", {"secretName": "deeptempo-claude-api-key", "items": [{"key": "latest", "path": "claude_api_key"}]},
                "/secrets/claude", stand_in, {"/secrets/claude/claude_api_key": "CLAUDE_API_KEY"})
    yield volumes, volumes.files["deeptempo-claude-api-key"]
    volumes.remove()


def test_a_content_change_with_the_same_stat_is_followed_when_compared(volume, caplog):
    volumes, path = volume
    signature = rotation.file_signature(path)
    by_stat, by_content = _following(path, False), _following(path, True)
    volumes.update("deeptempo-claude-api-key", NEW_KEY, keep_stat=True)
    assert rotation.file_signature(path) == signature  # nothing stat sees
    with caplog.at_level(logging.INFO, logger="deeptempo_entrypoint.rotation"):
        assert _aged(by_stat).value("CLAUDE_API_KEY") == CANARY_CLAUDE
        assert _aged(by_content).value("CLAUDE_API_KEY") == NEW_KEY
    assert by_content.status("CLAUDE_API_KEY")["revision"] == 2
    assert NEW_KEY not in caplog.text and CANARY_CLAUDE not in caplog.text
    assert _aged(by_content).value("CLAUDE_API_KEY") == NEW_KEY  # taken once
    assert by_content.status("CLAUDE_API_KEY")["revision"] == 2


def test_content_is_compared_within_a_bound_and_an_invalid_value_is_kept_out(volume, tmp_path, caplog):
    volumes, path = volume
    active = _following(path, True)
    invalid = "not-a-claude-key-012345678901"
    assert len(invalid) == len(CANARY_CLAUDE)
    volumes.update("deeptempo-claude-api-key", invalid, keep_stat=True)
    with caplog.at_level(logging.WARNING, logger="deeptempo_entrypoint.rotation"):
        assert _aged(active).value("CLAUDE_API_KEY") == CANARY_CLAUDE
    assert "CLAUDE_API_KEY: the new value in" in caplog.text and invalid not in caplog.text
    volumes.update("deeptempo-claude-api-key", NEW_KEY, keep_stat=True)
    assert _aged(active).value("CLAUDE_API_KEY") == NEW_KEY
    big = write(tmp_path / "big", "a" * (rotation.CONTENT_BOUND + 1))
    assert rotation.content_digest(str(big)) is None and rotation.content_digest(path) is not None
    assert rotation.content_digest(str(tmp_path / "absent")) is None


def test_the_digest_is_in_no_repr_or_status(volume):
    _, path = volume
    active = _following(path, True)
    followed = active.followed["CLAUDE_API_KEY"]
    assert followed.digest is not None
    assert followed.digest.hex() not in repr(followed) + repr(active) + json.dumps(active.status("CLAUDE_API_KEY"))


def test_the_followed_copy_of_a_service_is_unchanged_by_verify():
    service, bindings = shipped()
    before = copy.deepcopy(service)
    verify_cloudrun(service, SPEC, bindings)
    assert service == before


# --- the docs page's blocks, run as written (tests/test_readme.py holds every block to that) ----------

def run_block(text, cwd, replacements=()):
    for old, new in replacements:
        text = text.replace(old, new)
    deploy = " ".join(shlex.quote(part) for part in DEPLOY)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", text.replace("deeptempo-deploy ", deploy + " ")], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_docs_render_block_runs_as_written(tmp_path):
    result = run_block(block("cloudrun-render"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout + result.stderr
    service = yaml.safe_load((tmp_path / SERVICE).read_text())
    assert service["metadata"]["labels"]["cloud.googleapis.com/location"] == "europe-west1"


# --- no value in any output, whatever the input -----------------------------------------------------------

def test_cloudrun_commands_never_print_a_value(tmp_path):
    env_file = write(tmp_path / "app.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    typed = yaml.safe_load(open(SERVICE_FILE))
    container(typed)["ports"][0]["containerPort"] = CANARY_CLAUDE  # a wrong type holding a key
    container(typed)["startupProbe"]["httpGet"]["port"] = [CANARY_PASSWORD]
    typed_file = write(tmp_path / "typed.yaml", yaml.safe_dump(typed))
    runs = [
        ([*DEPLOY, "render", "cloudrun", "--output-dir", str(tmp_path / "out")], 0),
        ([*DEPLOY, "verify", "cloudrun", str(env_file)], 78),  # YAML, but no service: not quoted
        ([*DEPLOY, "verify", "cloudrun", SERVICE_FILE, "--iam", str(env_file)], 78),
        ([*DEPLOY, "verify", "cloudrun", str(typed_file)], 78),
        ([*DEPLOY, "local", "cloudrun", str(env_file), "--secrets", str(env_file)], 78),
        ([*DEPLOY, "verify", "cloudrun", str(write(tmp_path / "bad.yaml", f"kind: Service\nspec: [{CANARY_CLAUDE}\n"))], 78),
    ]
    for command, expected in runs:
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE})
        output = result.stdout + result.stderr
        assert result.returncode == expected and "Traceback" not in output, (command, output)
        assert CANARY_CLAUDE not in output and CANARY_PASSWORD not in output, output
    for root, _, files in os.walk(tmp_path / "out"):
        for name in files:
            assert CANARY_CLAUDE not in open(os.path.join(root, name)).read()


def test_with_a_database_its_password_arrives_whatever_only_says_and_instances_may_scale():
    service = yaml.safe_load(render(SPEC, CloudRunOptions(only=("CLAUDE_API_KEY",), database_host="10.0.0.5"))[SERVICE])
    names = [item["name"] for item in container(service)["env"]]
    assert names == ["POSTGRES_HOST", "DEEPTEMPO_FOLLOW_FILE_CONTENT", "CLAUDE_API_KEY_FILE", "POSTGRES_PASSWORD_FILE"]
    assert service["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"] == "10"
    assert not errors(service)


# --- any tree where a service's parts belong: findings, never a crash or a value ----------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=12), st.just(CANARY_CLAUDE))
TREES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3),
    st.dictionaries(st.sampled_from(["name", "env", "value", "valueFrom", "secretKeyRef", "key", "volumes", "secret",
                                     "items", "path", "httpGet", "port", "ports", "containerPort", "metadata",
                                     "annotations", CANARY_CLAUDE]), children, max_size=4)), max_leaves=12)
PLACES = [
    lambda s, tree: s["spec"]["template"]["spec"].update(containers=tree),
    lambda s, tree: container(s).update(env=tree),
    lambda s, tree: container(s).update(volumeMounts=tree),
    lambda s, tree: s["spec"]["template"]["spec"].update(volumes=tree),
    lambda s, tree: s["spec"]["template"].update(metadata=tree),
    lambda s, tree: container(s).update(startupProbe=tree),
]


@settings(max_examples=150, deadline=None)
@given(place=st.sampled_from(range(len(PLACES))), tree=TREES, iam=st.one_of(st.none(), TREES))
def test_any_tree_is_judged_without_a_crash_or_a_value(place, tree, iam):
    from deeptempo_entrypoint.errors import ConfigError

    service, _ = shipped()
    PLACES[place](service, tree)
    try:
        findings, sources = verify_cloudrun(service, SPEC, iam)
    except ConfigError as exc:  # a bindings file of another shape: refused by name
        assert CANARY_CLAUDE not in str(exc)
        return
    assert CANARY_CLAUDE not in json.dumps([finding.as_dict() for finding in findings] + [sources])
