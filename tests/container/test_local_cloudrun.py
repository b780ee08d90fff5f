"""`deeptempo-deploy local cloudrun`: the rendered service's container turns healthy on Docker started as
Cloud Run starts an instance (PORT, each secret a file of its own at its mount path, environment secrets
resolved once), with an env-file or a directory standing in for Secret Manager; a volume secret's new
version is served without a restart even when nothing `stat` sees changes, an environment secret's is not."""

import json
import os
import subprocess
import time
import urllib.request

import pytest
import yaml

from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, DEPLOY, RUN_FILTER, write

NEW_KEY = "sk-ant-ROTATEDclaude012345678"  # CANARY_CLAUDE's length: a rewrite in place keeps the file's size
OTHER_KEY = "sk-ant-ANTHROPICkey0123456789"


def render(tmp_path, *arguments):
    result = subprocess.run([*DEPLOY, "render", "cloudrun", "--only", "CLAUDE_API_KEY", "--only", "SPLUNK_PASSWORD",
                             *arguments, "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return tmp_path / "cloudrun" / "service.yaml"


def local(service, secrets, image):
    result = subprocess.run([*DEPLOY, "local", "cloudrun", str(service), "--secrets", str(secrets), "--image", image,
                             "--json", "--timeout", "60"], capture_output=True, text=True, timeout=180)
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    assert CANARY_CLAUDE not in output and CANARY_PASSWORD not in output
    return result.returncode, json.loads(result.stdout)["result"], output  # the local run's result


def leftovers():
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.deeptempo.deploy=local-cloudrun", *RUN_FILTER],
                          capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("secrets_as", ["files", "env"])
def test_the_rendered_service_turns_healthy_with_an_env_file(image, tmp_path, secrets_as):
    service = render(tmp_path, "--secrets-as", secrets_as)
    env_file = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    code, report, output = local(service, env_file, image)
    assert code == 0 and report["ready"] is True and "GET /api/health on port 6987" in report["reason"], output
    assert leftovers() == []


def test_a_directory_of_files_named_by_secret_stands_in_for_secret_manager(image, tmp_path):
    service = render(tmp_path)
    directory = tmp_path / "secret-manager"
    directory.mkdir()
    write(directory / "deeptempo-claude-api-key", CANARY_CLAUDE + "\n")
    write(directory / "deeptempo-splunk-password", CANARY_PASSWORD)
    code, report, output = local(service, directory, image)
    assert code == 0 and report["ready"] is True, output
    assert leftovers() == []


def test_a_missing_claude_key_fails_as_the_instance_would_or_names_the_secret(image, tmp_path):
    service = render(tmp_path)
    env_file = write(tmp_path / "secrets.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    result = subprocess.run([*DEPLOY, "local", "cloudrun", str(service), "--secrets", str(env_file), "--image", image],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 78 and "no value for secret deeptempo-claude-api-key or CLAUDE_API_KEY" in result.stderr
    assert CANARY_PASSWORD not in result.stdout + result.stderr and leftovers() == []


def test_a_volume_secret_on_latest_is_followed_and_an_environment_secret_is_not(image, tmp_path, runner):
    """CLAUDE_API_KEY a file on latest, ANTHROPIC_API_KEY (also followed when a file) in the environment:
    a new version of the first, written in place with its size and mtime kept (what a read of Cloud Run's
    volume may return with nothing stat sees), is served by the same process within seconds; the second
    reports it does not rotate."""
    from deeptempo_deploy.platforms.cloudrun.local import Instance, StandIn

    service = yaml.safe_load(render(tmp_path).read_text())
    container = service["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "ANTHROPIC_API_KEY",
                             "valueFrom": {"secretKeyRef": {"name": "deeptempo-anthropic-api-key", "key": "1"}}})
    env_file = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n"
                                               f"ANTHROPIC_API_KEY={OTHER_KEY}\n")
    instance = Instance(service, StandIn(str(env_file)))
    try:
        running = runner.start(instance.container_spec(image))
        running.wait_healthy(60, "/api/health", 6987)
        base = f"http://127.0.0.1:{running.host_port(6987)}"

        def status():
            with urllib.request.urlopen(f"{base}/api/secrets/status", timeout=5) as response:
                return json.loads(response.read())

        before = status()
        claude, anthropic = before["secrets"]["CLAUDE_API_KEY"], before["secrets"]["ANTHROPIC_API_KEY"]
        assert claude["source"] == "CLAUDE_API_KEY_FILE" and claude["rotates"] is True and claude["revision"] == 1
        assert anthropic["rotates"] is False and "new container" in anthropic["takes"]
        path = instance.volumes.files["deeptempo-claude-api-key"]
        signature = os.stat(path)
        instance.volumes.update("deeptempo-claude-api-key", NEW_KEY, keep_stat=True)
        after_stat = os.stat(path)
        assert (after_stat.st_ino, after_stat.st_size, after_stat.st_mtime_ns) == \
            (signature.st_ino, signature.st_size, signature.st_mtime_ns)
        deadline, revision = time.monotonic() + 10, 1
        while revision == 1 and time.monotonic() < deadline:
            time.sleep(0.25)
            revision = status()["secrets"]["CLAUDE_API_KEY"]["revision"]
        after = status()
        assert revision == 2 and after["instance"] == before["instance"]  # the same process serves the new key
        assert after["secrets"]["ANTHROPIC_API_KEY"]["rotates"] is False
        logs = running.logs()
        assert "CLAUDE_API_KEY: a new value from" in logs
        assert NEW_KEY not in logs and CANARY_CLAUDE not in logs and OTHER_KEY not in logs
    finally:
        instance.remove()


def test_the_docs_local_block_runs_as_written(image, tmp_path):
    from tests.platforms.test_cloudrun import run_block
    from tests.readme import block

    write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    result = run_block(block("cloudrun-local"), tmp_path, [("deeptempo-ai-soc:0.1.0", image)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthy" in result.stdout + result.stderr and CANARY_CLAUDE not in result.stdout + result.stderr
    assert leftovers() == []


def test_verify_judges_non_root_from_the_images_user(image):
    from tests.helpers import PROJECT

    result = subprocess.run([*DEPLOY, "verify", "cloudrun", os.path.join(PROJECT, "cloudrun", "service.yaml"), "--iam",
                             os.path.join(PROJECT, "cloudrun", "iam-policy.yaml"), "--image", image, "--json"],
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["findings"] == [], result.stdout + result.stderr  # the image runs as 10001
