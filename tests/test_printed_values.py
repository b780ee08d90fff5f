"""No value printed by shape or by relay, and none on another program's command line: each reproduction
of the third hardening round, in text and --json. A value is given where the command has no reason to
think it a secret (a setting, a task size, a log driver, a field's name, an ARN's name, a relayed tool
line), so only its shape (or the relay's rule) can keep it out of the output."""

import json
import os
import shutil
import stat
import subprocess

import pytest
import yaml

from tests.helpers import DEPLOY, PROJECT, write

KEY = "sk-ant-api03-PRINTEDcanary0123456789abcdef"
PASSWORD = "S3cretPrintedPw"
URL = f"postgresql://soc:{PASSWORD}@db:5432/soc"


def run(command, env=None, timeout=120):
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    for value in (KEY, KEY[7:19], PASSWORD):
        assert value not in output, f"{value!r} was printed"
    return result


def both(command, env=None):
    """The command in text and in --json: exit 78 both times; the JSON document parses."""
    text, as_json = run(command, env), run([*command, "--json"], env)
    assert text.returncode == as_json.returncode == 78, (text.stdout + text.stderr)[-2000:]
    return json.loads(as_json.stdout), text.stdout + text.stderr


# --- check: a setting's invalid value is echoed only when it has no secret's shape ---------------------------

@pytest.mark.parametrize("value", [URL, f"Bearer {KEY}", json.dumps({"key": KEY})])
def test_check_never_echoes_a_settings_value_of_a_secrets_shape(run_entrypoint, tmp_path, value):
    env_file = write(tmp_path / "app.env", f"CLAUDE_API_KEY=sk-ant-valid0123456789\nLOG_LEVEL={value}\n")
    for extra in ([], ["--json"]):
        result = run_entrypoint("check", "--env-file", str(env_file), *extra)
        output = result.stdout + result.stderr
        assert result.returncode == 78 and "LOG_LEVEL" in output and PASSWORD not in output and KEY not in output


def test_check_still_echoes_a_plain_invalid_setting(run_entrypoint):
    result = run_entrypoint("check", env={"CLAUDE_API_KEY": "sk-ant-valid0123456789", "LOG_LEVEL": "verbose"})
    assert result.returncode == 78 and "(got 'verbose')" in result.stdout


# --- verify compose: Compose's refusal relayed without what it quotes -------------------------------------

def compose_available():
    return shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("line", [f'CLAUDE_API_KEY="{KEY}\n', f"CLAUDE_API_KEY='{KEY}\n", f'A="x" "{KEY}\n'])
def test_verify_compose_relays_an_unterminated_quote_without_the_value(tmp_path, line):
    if not compose_available():
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    env_file = write(tmp_path / "compose.env", line)
    report, text = both([*DEPLOY, "verify", "compose", os.path.join(PROJECT, "docker-compose.yml")],
                        env={"DEEPTEMPO_COMPOSE_ENV_FILE": str(env_file)})
    assert report["findings"][0]["rule"] == "input" and "docker compose config" in text


# --- verify ecs: a secret's shape in a field the command prints ------------------------------------------------

def ecs_task(tmp_path, change):
    task = json.load(open(os.path.join(PROJECT, "ecs", "task-definition.json")))
    change(task, task["containerDefinitions"][0])
    return str(write(tmp_path / "task.json", json.dumps(task)))


ARN = f"arn:aws:secretsmanager:us-east-1:111122223333:secret:deeptempo/{KEY}"


@pytest.mark.parametrize("change, rule", [
    (lambda t, c: c["secrets"][0].update(valueFrom=ARN), "least-privilege"),  # in the message and the sources map
    (lambda t, c: t.update(cpu=KEY), "fargate"),
    (lambda t, c: t.update(memory=KEY), "fargate"),
    (lambda t, c: c["logConfiguration"].update(logDriver=KEY), "ecs-enum"),
    (lambda t, c: c.update({KEY: "x"}), "ecs-model"),  # an unknown field's name
])
def test_verify_ecs_never_prints_a_value_of_a_secrets_shape(tmp_path, change, rule):
    task = ecs_task(tmp_path, change)
    report, _ = both([*DEPLOY, "verify", "ecs", task, "--policy", os.path.join(PROJECT, "ecs", "execution-role-policy.json")])
    assert rule in {finding["rule"] for finding in report["findings"]}, report


# --- helm: no value on helm's command line ---------------------------------------------------------------------

@pytest.fixture
def recording_helm(tmp_path):
    """A `helm` first on PATH that records its arguments, then runs the real one."""
    from deeptempo_deploy.platforms.helm.template import helm

    real = helm()
    directory = tmp_path / "bin"
    directory.mkdir()
    log = tmp_path / "helm-argv.log"
    script = directory / "helm"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}, log


def test_verify_helm_gives_set_values_to_helm_in_a_private_file(recording_helm, tmp_path):
    environment, log = recording_helm
    chart = os.path.join(PROJECT, "k8s", "helm", "deeptempo")
    result = run([*DEPLOY, "verify", "helm", chart, "--set", f"secrets.CLAUDE_API_KEY={KEY}", "--set",
                  f"settings.LOG_LEVEL=debug,extraEnvVars[0].name=NOTE,extraEnvVars[0].value={PASSWORD}",
                  "--kubernetes-version", "1.37", "--json"], env=environment)
    argv = log.read_text()
    assert "template" in argv and KEY not in argv and PASSWORD not in argv and "--set" not in argv
    assert result.returncode == 0, result.stdout[-2000:]
    private = [line for line in argv.splitlines() if "deeptempo-helm-" in line]
    assert private and not any(os.path.exists(path) for path in private)  # the private file went with the run


def test_local_helm_renders_through_the_same_private_file(recording_helm, monkeypatch):
    from deeptempo_deploy.platforms.helm.template import helm_template

    environment, log = recording_helm
    monkeypatch.setenv("PATH", environment["PATH"])
    documents = helm_template(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), (), (f"secrets.CLAUDE_API_KEY={KEY}",))
    secret = next(document for document in documents if document["kind"] == "Secret")
    assert "CLAUDE_API_KEY" in (secret.get("data") or secret.get("stringData") or {}) and KEY not in log.read_text()


SETTINGS = [
    ["replicaCount=3"], ["usePasswordFiles=false"], ["secrets.CLAUDE_API_KEY=sk-ant-abc123,settings.LOG_LEVEL=debug"],
    ["extraEnvVars[0].name=A,extraEnvVars[0].value=b"], ["podAnnotations.a\\.b/c=d\\,e"], ["settings.WEB_CONCURRENCY=0002"],
    ["existingSecret=mine", "usePasswordFiles=False"], ["resources.limits.cpu=2,resources.limits.memory=1Gi"],
    ["podAnnotations.x=true", "podAnnotations.x=null"], ["extraEnvVars={}"], ["extraEnvVars[1].name=B,extraEnvVars[1].value=007"],
]


@pytest.mark.parametrize("settings", SETTINGS, ids=[" ".join(s) for s in SETTINGS])
def test_set_values_render_exactly_as_helms_own_set(tmp_path, settings):
    """The kit applies --set with Helm's rules: the same documents (or a refusal) as helm's own --set, over
    a values file whose list an index changes."""
    from deeptempo_deploy.platforms.helm.template import helm, helm_template
    from deeptempo_entrypoint.errors import ConfigError

    chart = os.path.join(PROJECT, "k8s", "helm", "deeptempo")
    values = write(tmp_path / "values.yaml", yaml.safe_dump({"extraEnvVars": [{"name": "P", "value": "p"}, {"name": "Q", "value": "q"}],
                                                             "podAnnotations": {"kept": "yes"}}))
    own = subprocess.run([helm(), "template", "deeptempo", chart, "--namespace", "deeptempo", "--values", str(values),
                          *[argument for setting in settings for argument in ("--set", setting)]], capture_output=True, text=True)
    try:
        ours = helm_template(chart, (str(values),), settings)
    except ConfigError:
        ours = None
    assert ours == ([document for document in yaml.safe_load_all(own.stdout) if document] if own.returncode == 0 else None)


@pytest.mark.parametrize("setting", ["a", "a,b=1", "list[x]=1", "list[-1]=1", "a.b", "a={x,y", KEY, f"{KEY}.x", f"{KEY}[0]"])
def test_a_set_argument_helm_would_refuse_is_a_finding_never_quoted(setting):
    from deeptempo_deploy.platforms.helm.set_values import SetError, settings_overlay

    with pytest.raises(SetError) as raised:
        settings_overlay((), (setting,))
    assert KEY not in str(raised.value) and "--set number 1" in str(raised.value)
