"""`deeptempo-deploy local k8s`: every overlay's pod, and the secret-files component's, turns ready in
Docker configured as a kubelet would; an env-file without the Claude key fails naming it."""

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, CANARY_PASSWORD, DATABASE_HOST, DEPLOY, PROJECT, RUN_FILTER, write


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("k8s-local") / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), root)
    # The production overlay's database host, as a user writes its gitignored database.env.
    (root / "overlays" / "production" / "database.env").write_text(f"POSTGRES_HOST={DATABASE_HOST}\n")
    # The secret-files component on top of the dev overlay, as a user's overlay would combine them.
    (root / "dev-files").mkdir()
    (root / "dev-files" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../overlays/dev]\n"
        "components: [../components/secret-files]\n")
    return root


def local(target, env_file, image):
    result = subprocess.run([*DEPLOY, "local", "k8s", str(target), "--env-file", env_file, "--image", image, "--json",
                             "--timeout", "30"], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout), result.stdout + result.stderr


def leftovers():
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.deeptempo.deploy=local-k8s", *RUN_FILTER], capture_output=True,
                          text=True, check=True).stdout.split()


@pytest.mark.parametrize("target", ["overlays/dev", "overlays/production", "dev-files"])
def test_every_overlay_and_the_files_component_turn_ready(image, tree, tmp_path, target):
    # dev-files drops envFrom: only the mounted files (kubelet layout, group-readable through fsGroup,
    # followed through ..data by the serve path) can carry the key there.
    # production's POSTGRES_HOST requires the database's password (no database answers: the built-in app
    # never connects to one).
    env_file = write(tmp_path / "ci.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n"
                                          f"POSTGRES_PASSWORD={CANARY_DATABASE}\n")
    code, report, output = local(tree / target, str(env_file), image)
    assert code == 0 and report["result"]["ready"] is True, output
    assert CANARY_CLAUDE not in output and CANARY_PASSWORD not in output
    assert leftovers() == []


def test_the_overlays_own_secrets_env_stands_in_for_itself(image, tree):
    """The README's steps with the overlay's own file: `local k8s k8s/overlays/dev --env-file
    k8s/overlays/dev/secrets.env`, a new user's first Kubernetes try."""
    own = write(tree / "overlays" / "dev" / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    try:
        code, report, output = local(tree / "overlays" / "dev", str(own), image)
    finally:
        own.unlink()
    assert code == 0 and report["result"]["ready"] is True, output
    assert CANARY_CLAUDE not in output and leftovers() == []


def test_an_env_file_without_the_claude_key_fails_naming_it(image, tree, tmp_path):
    env_file = write(tmp_path / "ci.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    code, report, output = local(tree / "overlays" / "dev", str(env_file), image)
    assert code == 1 and report["result"]["ready"] is False
    assert "exited with code 78" in report["result"]["reason"] and "CLAUDE_API_KEY: is not set" in report["result"]["log_tail"]
    assert CANARY_PASSWORD not in output
    assert leftovers() == []


@pytest.mark.parametrize("route", [
    ["--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}"],  # the chart's Secret, as files (its default)
    ["--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}", "--set", "usePasswordFiles=false"],
])
def test_the_helm_charts_pod_turns_ready(image, route):
    result = subprocess.run([*DEPLOY, "local", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"), *route,
                             "--image", image, "--json", "--timeout", "30"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and json.loads(result.stdout)["result"]["ready"] is True, result.stdout + result.stderr
    assert CANARY_CLAUDE not in result.stdout + result.stderr
    assert leftovers() == []


def test_a_secret_volume_swapped_100_times_under_load_is_served_each_time(image, tree, tmp_path, runner):
    """The kubelet's `..data` swap (the kit's SecretVolume.update) under the running image, through the
    dev overlay with the secret-files component, while a client requests the health path without pause:
    every request is answered, and the served process takes each new key (its revision counts them)."""
    import threading
    import urllib.request

    from deeptempo_deploy.platforms.k8s.local import PodRun, pod_templates, render_overlay

    env_file = write(tmp_path / "ci.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    documents, stand_in, _ = render_overlay(str(tree / "dev-files"), str(env_file))
    pod = PodRun(next(t for t in pod_templates(documents) if t.container), documents, stand_in)
    try:
        running = runner.start(pod.container_spec(image))
        running.wait_healthy(60, "/api/health", 6987)
        base = f"http://127.0.0.1:{running.host_port(6987)}"
        answered, failed, stop = [0], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=5) as response:
                        answered[0] += response.status == 200
                except OSError as exc:
                    failed.append(repr(exc))

        def revision():
            status = json.loads(urllib.request.urlopen(f"{base}/api/secrets/status", timeout=5).read())
            return status["secrets"]["CLAUDE_API_KEY"]["revision"]

        client = threading.Thread(target=load)
        client.start()
        try:
            (volume,) = pod.cleanup
            for turn in range(100):
                key = f"sk-ant-ROTATION{turn:03d}x0123456789"
                volume.update({"CLAUDE_API_KEY": key, "SPLUNK_PASSWORD": CANARY_PASSWORD})
                deadline = time.monotonic() + 5
                while revision() != turn + 2:
                    assert time.monotonic() < deadline, f"swap {turn}: still revision {revision()}"
                    time.sleep(0.05)
        finally:
            stop.set()
            client.join()
        assert failed == [] and answered[0] > 100
        assert "ROTATION" not in running.logs() and CANARY_CLAUDE not in running.logs()
    finally:
        pod.remove_volumes()
