"""`deeptempo-deploy local k8s`: every overlay's pod, and the secret-files component's, turns ready in
Docker configured as a kubelet would; an env-file without the Claude key fails naming it."""

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, CANARY_PASSWORD, DATABASE_HOST, DEPLOY, PROJECT, RUN_FILTER, write
from tests.readme import commands


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


def local_helm(image, *settings, timeout=30):
    result = subprocess.run([*DEPLOY, "local", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"), *settings,
                             "--image", image, "--json", "--timeout", str(timeout)], capture_output=True, text=True,
                            timeout=timeout + 150)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["result"], result.stdout + result.stderr  # the local run's result


@pytest.mark.parametrize("route", [
    ["--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}"],  # the chart's Secret, as files (its default)
    ["--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}", "--set", "usePasswordFiles=false"],
])
def test_the_helm_charts_pod_turns_ready_and_its_test_hook_passes(image, route):
    """`helm test`'s pod, run by `local helm` once the backend is ready: the image's deeptempo-probe asks
    the Service's name (the backend's alias on the run's network) for the health path."""
    code, report, output = local_helm(image, *route)
    assert code == 0 and report["ready"] is True, output
    (test,) = report["tests"]
    assert test["name"] == "Pod deeptempo-test-connection" and test["passed"] is True and test["exit_code"] == 0, output
    assert CANARY_CLAUDE not in output
    assert leftovers() == []


def test_a_service_port_other_than_the_pods_is_forwarded_as_kube_proxy_would(image):
    """service.port=80: in a cluster kube-proxy forwards the Service's port 80 to the pod's 6987; here a
    forwarder answers to the Service's name on port 80, and the hook's GET of http://deeptempo:80 passes."""
    code, report, output = local_helm(image, "--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}", "--set", "service.port=80")
    assert code == 0 and report["ready"] is True, output
    assert [(test["passed"], test["exit_code"]) for test in report["tests"]] == [(True, 0)], output
    assert CANARY_CLAUDE not in output and leftovers() == []


def test_the_chart_readmes_local_test_line_runs_as_written(image, tmp_path):
    """The chart README's `local helm` line in a user's checkout, its secrets.env standing in for the
    existingSecret; only --image (this run's build) and --json added."""
    shutil.copytree(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), tmp_path / "k8s" / "helm" / "deeptempo")
    write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    (line,) = commands("chart-local-test")
    assert line.startswith("deeptempo-deploy local helm ")
    result = subprocess.run([*DEPLOY, *line.split()[1:], "--image", image, "--json", "--timeout", "30"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    report = json.loads(result.stdout)["result"]
    assert result.returncode == 0 and report["ready"] is True, result.stdout + result.stderr
    assert [(test["name"], test["passed"]) for test in report["tests"]] == [("Pod deeptempo-test-connection", True)]
    assert CANARY_CLAUDE not in result.stdout + result.stderr and leftovers() == []


def test_the_test_hook_fails_when_the_backend_fell_back_to_json_files(backend_image):
    """settings.DEEPTEMPO_REQUIRE_STORAGE=postgresql and no database: the real backend falls back to JSON
    files and reports it; its HTTP readiness probe passes (ready), the hook's probe, requiring PostgreSQL
    storage, fails, and so does the run."""
    code, report, output = local_helm(backend_image, "--set", f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}",
                                      "--set", "settings.DEEPTEMPO_REQUIRE_STORAGE=postgresql", timeout=120)
    assert code == 1 and report["ready"] is True, output
    assert [(test["passed"], test["exit_code"]) for test in report["tests"]] == [(False, 1)], output
    assert CANARY_CLAUDE not in output and leftovers() == []


def test_the_text_report_names_the_test_hook(image):
    result = subprocess.run([*DEPLOY, "local", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"), "--set",
                             f"secrets.CLAUDE_API_KEY={CANARY_CLAUDE}", "--image", image, "--timeout", "30"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test Pod deeptempo-test-connection: passed after" in result.stdout
    assert CANARY_CLAUDE not in result.stdout + result.stderr and leftovers() == []


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
