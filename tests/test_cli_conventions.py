"""The command line's conventions, as kubectl's and helm's (issue 34, item 3): reports on stdout whatever
the verdict, `-o text|json` with one JSON shape, `render` to stdout, `--version`, progress only on a
terminal, whole help texts, one default timeout, shell completion; and the friction points a new user met
(item 4), each reproduced as the user typed it."""

import base64
import json
import os
import pty
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS, LocalResult
from deeptempo_entrypoint.report import REPORT_SCHEMA
from tests.helpers import CANARY_CLAUDE, DEPLOY, ENTRYPOINT, PROJECT, write
from tests.readme import commands

VALID_ENV = {"CLAUDE_API_KEY": CANARY_CLAUDE, "DATA_BACKEND": "json"}
TASK_DEFINITION = os.path.join(PROJECT, "ecs", "task-definition.json")
CHART = os.path.join(PROJECT, "k8s", "helm", "deeptempo")


def run(program, *args, env=None, cwd=None, timeout=120):
    result = subprocess.run([*program, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            env={**os.environ, **(env or {})})
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return result


def deploy(*args, **kwargs):
    return run(DEPLOY, *args, **kwargs)


def entrypoint(*args, **kwargs):
    return run(ENTRYPOINT, *args, **kwargs)


def broken_task_definition(tmp_path):
    task = json.load(open(TASK_DEFINITION))
    task["containerDefinitions"][0]["privileged"] = True
    return write(tmp_path / "task.json", json.dumps(task))


def docker_answers():
    return shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


# --- a. reports on stdout whatever the verdict ---------------------------------------------------------

def test_a_report_goes_to_stdout_whatever_the_verdict(tmp_path):
    valid, invalid = deploy("verify", "ecs", TASK_DEFINITION), deploy("verify", "ecs", broken_task_definition(tmp_path))
    assert valid.returncode == 0 and ": valid" in valid.stdout and valid.stderr == ""
    assert invalid.returncode == 78 and ": NOT valid" in invalid.stdout and invalid.stderr == ""
    valid, invalid = entrypoint("check", env=VALID_ENV), entrypoint("check", env={"DATA_BACKEND": "json"})
    assert valid.returncode == 0 and "is valid" in valid.stdout and valid.stderr == ""
    assert invalid.returncode == 78 and "NOT valid" in invalid.stdout and invalid.stderr == ""


# --- b. -o text|json, --json its alias, one JSON shape ---------------------------------------------------

def test_the_report_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)


@pytest.mark.parametrize("program, args", [
    (ENTRYPOINT, ["check"]),
    (DEPLOY, ["verify", "ecs", TASK_DEFINITION]),
    (DEPLOY, ["verify", "ecs", "BROKEN"]),
    (DEPLOY, ["verify", "systemd", os.path.join(PROJECT, "systemd", "deeptempo.service")]),
])
def test_o_json_and_json_print_the_one_shape(tmp_path, program, args):
    args = [str(broken_task_definition(tmp_path)) if arg == "BROKEN" else arg for arg in args]
    documents = []
    for flag in (["-o", "json"], ["--output", "json"], ["--json"]):
        result = run(program, *args, *flag, env=VALID_ENV)
        documents.append(json.loads(result.stdout))
        jsonschema.validate(documents[-1], REPORT_SCHEMA)
        assert documents[-1]["ok"] is (result.returncode == 0)
        assert documents[-1]["command"].split()[0] == args[0]
    assert documents[0] == documents[1] == documents[2]
    text = run(program, *args, "-o", "text", env=VALID_ENV)
    assert not text.stdout.startswith("{")


@pytest.mark.parametrize("result", [
    LocalResult(True, "ready (its readiness probe passed)", 3.25, warnings=["secrets.env: key NOPE is unknown"]),
    LocalResult(False, "exited with code 78", 1.0, log_tail="CLAUDE_API_KEY: is not set"),
])
def test_a_local_report_has_the_one_shape(capsys, result):
    from deeptempo_deploy.output import report_local

    with pytest.raises(SystemExit) as exited:
        report_local("local k8s k8s/overlays/dev", result, "json")
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, REPORT_SCHEMA)
    assert exited.value.code == (0 if result.ready else 1) and document["ok"] is result.ready
    assert document["result"] == {"ready": result.ready, "reason": result.reason, "seconds": result.seconds,
                                  "log_tail": result.log_tail, "tests": []}
    levels = [finding["level"] for finding in document["findings"]]
    assert levels == (["warning"] if result.ready else ["error"])


def test_a_smoke_report_has_the_one_shape(capsys):
    from deeptempo_deploy.output import report_smoke
    from deeptempo_deploy.smoke import CheckResult

    results = [CheckResult("healthy", True, "200 after 2.1 s"), CheckResult("non-root", False, "runs as uid 0"),
               CheckResult("app-leaks", False, "not run", skipped=True)]
    with pytest.raises(SystemExit) as exited:
        report_smoke("deeptempo-ai-soc:0.1.0", results, "json")
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, REPORT_SCHEMA)
    assert exited.value.code == 1 and document["ok"] is False and document["image"] == "deeptempo-ai-soc:0.1.0"
    assert [(f["rule"], f["level"]) for f in document["findings"]] == [("non-root", "error")]
    assert [check["name"] for check in document["checks"]] == ["healthy", "non-root", "app-leaks"]


# --- c. render to stdout, --output-dir to write -----------------------------------------------------------

def split_stream(text):
    files = {}
    for part in text.split("---\n# Source: ")[1:]:
        name, _, content = part.partition("\n")
        files[name] = content
    return files


@pytest.mark.parametrize("platform", ["compose", "k8s", "helm", "ecs", "systemd"])
def test_render_prints_one_stream_naming_each_file_and_writes_nothing(tmp_path, platform):
    work = tmp_path / "work"
    work.mkdir()
    result = deploy("render", platform, cwd=work)
    assert result.returncode == 0 and result.stderr == "" and list(work.iterdir()) == []
    files = split_stream(result.stdout)
    assert files
    for relative, content in files.items():  # the committed files are what the spec renders
        assert open(os.path.join(PROJECT, relative)).read() == content, relative


def test_render_output_dir_writes_the_files(tmp_path):
    result = deploy("render", "systemd", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "" and "wrote " in result.stderr
    assert (tmp_path / "out" / "systemd" / "deeptempo.service").read_text() == \
        open(os.path.join(PROJECT, "systemd", "deeptempo.service")).read()


# --- d. --version ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("program, name", [(DEPLOY, "deeptempo-deploy"), (ENTRYPOINT, "deeptempo-entrypoint")])
def test_version_is_an_option_of_both_programs(program, name):
    from deeptempo_entrypoint import __version__

    result = run(program, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"{name}, version {__version__}"
    assert not re.search(r"^\s+version\s", run(program, "--help").stdout, re.MULTILINE)


# --- e. progress lines on a terminal, for long steps ----------------------------------------------------------

def on_a_terminal(*args):
    """The command with stderr on a terminal (a pty), stdout a pipe: (exit code, stdout, what the terminal got)."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([*DEPLOY, *args], stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=120)
        os.close(terminal)
        received = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(controller)
    return result.returncode, result.stdout, received.decode(errors="replace")


def test_progress_lines_only_on_a_terminal_and_not_with_q(tmp_path):
    if not docker_answers():
        pytest.skip("no Docker engine answers")
    env_file = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    command = ["local", "k8s", os.path.join(PROJECT, "k8s", "overlays", "dev"), "--env-file", env_file,
               "--image", "cli-conventions-absent:1"]
    code, _, terminal = on_a_terminal(*command)
    assert code == 78 and "local k8s: starting the container and waiting for its health check" in terminal
    code, _, terminal = on_a_terminal(*command, "-q")
    assert code == 78 and "waiting" not in terminal and "not found on the Docker engine" in terminal
    piped = deploy(*command)
    assert piped.returncode == 78 and "waiting" not in piped.stderr


# --- f. help texts whole, each verb saying what it does ---------------------------------------------------------

HELP_PAGES = [(DEPLOY, []), (DEPLOY, ["render"]), (DEPLOY, ["verify"]), (DEPLOY, ["local"]), (ENTRYPOINT, [])]


@pytest.mark.parametrize("program, group", HELP_PAGES)
def test_help_listings_are_whole(program, group):
    result = run(program, *group, "--help", env={"COLUMNS": "80"})
    listing = result.stdout.split("Commands:\n", 1)[1]
    assert result.returncode == 0 and "..." not in listing, listing
    summaries = re.findall(r"^  \S+\s+(\S+)", listing.split("\n\n")[0], re.MULTILINE)
    assert summaries and all(word[0].isupper() for word in summaries), summaries  # a verb: Render, Judge, Run, Check...


# --- g. one default timeout ------------------------------------------------------------------------------------

def test_local_and_smoke_share_one_default_timeout():
    from deeptempo_deploy.cli import cli

    commands_with_a_timeout = [cli.commands["smoke"], *cli.commands["local"].commands.values()]  # type: ignore[attr-defined]
    defaults = {command.name: next(p.default for p in command.params if p.name == "timeout")
                for command in commands_with_a_timeout}
    from deeptempo_deploy.platforms.registry import platforms

    assert set(defaults) == {"smoke"} | {platform.name for platform in platforms() if platform.local}
    assert set(defaults.values()) == {DEFAULT_TIMEOUT_SECONDS}


# --- h. shell completion, documented where the reference is generated from -----------------------------------

@pytest.mark.parametrize("program, variable, typed, expected", [
    (DEPLOY, "_DEEPTEMPO_DEPLOY_COMPLETE", "deeptempo-deploy ver", "verify"),
    (ENTRYPOINT, "_DEEPTEMPO_ENTRYPOINT_COMPLETE", "deeptempo-entrypoint che", "check"),
])
def test_shell_completion_is_documented_and_works(program, variable, typed, expected):
    assert f"{variable}=bash_source" in run(program, "--help").stdout
    script = run(program, env={variable: "bash_source"})
    assert script.returncode == 0 and "complete " in script.stdout
    completed = run(program, env={variable: "bash_complete", "COMP_WORDS": typed, "COMP_CWORD": "1"})
    assert f"plain,{expected}" in completed.stdout.splitlines()


# --- item 4: friction points, as the user typed them ---------------------------------------------------------

def test_the_readmes_build_line_tags_what_compose_helm_and_the_overlay_run():
    # `docker build -t deeptempo-ai-soc .` tagged :latest, which nothing runs.
    built = {re.search(r"-t (\S+)", line).group(1) for name in ("docker-run", "backend-image")
             for line in commands(name) if line.startswith("docker build") and "examples/" not in line}
    built |= set(re.findall(r"`docker build -t (\S+) \.`", open(os.path.join(PROJECT, "README.md")).read()))  # its quick start
    compose = re.search(r"\$\{DEEPTEMPO_IMAGE:-([^}]+)\}", open(os.path.join(PROJECT, "docker-compose.yml")).read()).group(1)
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))["image"]
    overlay = yaml.safe_load(open(os.path.join(PROJECT, "k8s", "overlays", "production", "kustomization.yaml")))
    tag = next(image for image in overlay["images"] if image["name"] == "deeptempo-ai-soc")
    dev = yaml.safe_load(open(os.path.join(PROJECT, "k8s", "overlays", "dev", "kustomization.yaml")))
    dev_tag = next(image for image in dev["images"] if image["name"] == "deeptempo-ai-soc")
    kit_image = re.search(r"ARG KIT_IMAGE=(\S+)",
                          open(os.path.join(PROJECT, "examples", "deeptempo-backend", "Dockerfile")).read()).group(1)
    expected = {compose, f"{values['repository']}:{values['tag']}",
                f"{tag.get('newName', 'deeptempo-ai-soc')}:{tag['newTag']}", f"deeptempo-ai-soc:{dev_tag['newTag']}", kit_image}
    assert built == expected == {"deeptempo-ai-soc:0.1.0"}


def test_a_quoted_value_from_dockers_env_file_is_told_as_the_quotes():
    # `docker run --env-file` with CLAUDE_API_KEY="your-key-here": Docker keeps the quotes.
    result = entrypoint("check", env={"CLAUDE_API_KEY": '"your-key-here"', "DATA_BACKEND": "json"})
    assert result.returncode == 78
    line = next(line for line in result.stdout.splitlines() if "CLAUDE_API_KEY:" in line)
    assert "is wrapped in quotes" in line and "without them it still does not have the expected format" in line


def test_helm_set_file_takes_a_key_file_ending_in_a_newline(tmp_path):
    # `helm install --set-file secrets.CLAUDE_API_KEY=claude.key`: editors end the file with a newline.
    from deeptempo_deploy.platforms.helm.template import helm

    key_file = write(tmp_path / "claude.key", CANARY_CLAUDE + "\n")
    rendered = subprocess.run([helm(), "template", "deeptempo", CHART, "--set-file", f"secrets.CLAUDE_API_KEY={key_file}"],
                              capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    secret = next(d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["CLAUDE_API_KEY"]).decode() == CANARY_CLAUDE
    verified = deploy("verify", "helm", CHART, "--set-file", f"secrets.CLAUDE_API_KEY={key_file}", "-o", "json")
    assert verified.returncode == 0 and CANARY_CLAUDE not in verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["sources"].get("CLAUDE_API_KEY"), verified.stdout


def test_local_helm_refuses_an_env_file_the_chart_would_ignore(tmp_path):
    env_file = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    result = deploy("local", "helm", CHART, "--env-file", env_file)
    assert result.returncode == 78 and "would be ignored; set existingSecret=" in result.stderr
    assert CANARY_CLAUDE not in result.stdout + result.stderr


def test_the_systemd_units_listen_on_loopback():
    for name in ("deeptempo.service", "deeptempo-credentials.service", "deeptempo@.service"):
        environment = [line for line in open(os.path.join(PROJECT, "systemd", name)) if line.startswith("Environment=")]
        assert any(" HOST=127.0.0.1" in line for line in environment), name


def test_masking_hides_the_values_of_secrets_only(tmp_path):
    # A setting's value (POSTGRES_USER=deeptempo) masked "deeptempo" everywhere: "***-deploy: image ...".
    if not docker_answers():
        pytest.skip("no Docker engine answers")
    env_file = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_USER=deeptempo\n")
    result = deploy("local", "k8s", os.path.join(PROJECT, "k8s", "overlays", "dev"), "--env-file", env_file,
                    "--image", "cli-conventions-absent:1")
    assert result.returncode == 78
    assert result.stderr.startswith("deeptempo-deploy: image cli-conventions-absent:1: not found"), result.stderr
    assert "***" not in result.stderr and CANARY_CLAUDE not in result.stdout + result.stderr


def test_a_kustomization_that_does_not_exist_is_named_not_elided(tmp_path):
    result = deploy("verify", "k8s", tmp_path / "overlays" / "prod")
    assert result.returncode == 78 and f"kustomize {tmp_path / 'overlays' / 'prod'}: does not exist" in result.stdout
    assert "«…»" not in result.stdout
