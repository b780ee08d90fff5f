"""Fuzz (hypothesis) over what `verify` reads and what NAME_FILE holds: never a traceback or an internal
error, only the documented exit codes, never an echoed value. Faults: a writer killed mid-write, a write
that fails, leave the .env file whole."""

import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeptempo_deploy.cli import cli as deploy_cli
from deeptempo_entrypoint.commandline import run_click
from deeptempo_entrypoint.envfile.reader import read_env_file
from deeptempo_entrypoint.envfile.writer import update_env_file
from deeptempo_entrypoint.errors import KitError
from deeptempo_entrypoint.resolution import resolve
from deeptempo_entrypoint.sources.chains import deployment_sources
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import as_nobody, write

MARKER = "Zq9FUZZMARKER"
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12),
                    st.just(MARKER), st.sampled_from(["FARGATE", "awsvpc", "CMD", "/api/health", "256", "512", "6987", "Deployment", "apps/v1", "v1", "Secret"]))
KEYS = st.sampled_from(["family", "cpu", "memory", "networkMode", "requiresCompatibilities", "containerDefinitions", "name",
                        "image", "secrets", "valueFrom", "environment", "value", "healthCheck", "command", "user",
                        "apiVersion", "kind", "metadata", "spec", "template", "containers", "securityContext", "env",
                        "services", "ports", "read_only", "x"])
DOCUMENTS = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=4),
                                                              st.dictionaries(KEYS, children, max_size=5)), max_leaves=25)
DOCUMENTED = {0, 1, 2, 69, 78}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


def run_deploy(argv, capsys):
    code = run_click(deploy_cli, argv, "deeptempo-deploy", lambda exc: print(f"deeptempo-deploy: {exc}", file=sys.stderr))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@SETTINGS
@given(DOCUMENTS)
def test_any_json_as_a_task_definition(tmp_path_factory, capsys, document):
    path = tmp_path_factory.mktemp("ecs") / "task.json"
    path.write_text(json.dumps(document))
    try:
        code, output = run_deploy(["verify", "ecs", str(path)], capsys)
    except SystemExit as exit:  # click commands end with sys.exit
        code, output = exit.code, capsys.readouterr().err
    assert code in DOCUMENTED and "internal error" not in output
    assert MARKER not in output


@SETTINGS
@given(st.lists(DOCUMENTS, min_size=1, max_size=3))
def test_any_yaml_as_kubernetes_manifests(tmp_path_factory, capsys, documents):
    path = tmp_path_factory.mktemp("k8s") / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    try:
        code, output = run_deploy(["verify", "k8s", str(path), "--kubernetes-version", "1.37"], capsys)
    except SystemExit as exit:
        code, output = exit.code, capsys.readouterr().err
    assert code in DOCUMENTED and "internal error" not in output
    assert MARKER not in output


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(DOCUMENTS)
def test_any_yaml_as_a_compose_file(tmp_path_factory, document):
    """Through the real `docker compose config` (so fewer examples): a clear refusal or a verdict."""
    path = tmp_path_factory.mktemp("compose") / "docker-compose.yml"
    path.write_text(yaml.safe_dump(document))
    result = subprocess.run([sys.executable, "-c", "from deeptempo_deploy.cli import main; main()", "verify", "compose",
                             str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode in DOCUMENTED, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert MARKER not in result.stdout + result.stderr


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_in_a_name_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("name-file") / "secret"
    path.write_bytes(data + MARKER.encode())
    resolution = resolve(builtin_spec(), deployment_sources({"SPLUNK_PASSWORD_FILE": str(path),
                                                             "DEEPTEMPO_SECRETS_DIR": str(path.parent)}))
    assert all(MARKER not in finding.message for finding in resolution.findings)
    value = resolution.value("SPLUNK_PASSWORD")
    assert value is None or value.endswith(MARKER) or MARKER in value


# --- faults ----------------------------------------------------------------------------------------

def _write_forever(path, size):
    index = 0
    while True:
        index += 1
        update_env_file(path, {"BIG": f"v{index:08d}" + "x" * size})


def test_a_writer_killed_mid_write_leaves_the_old_file_or_the_new_one(tmp_path):
    path = tmp_path / ".env"
    write(path, "# kept\nOTHER=stays\n")
    context = multiprocessing.get_context("fork")
    for delay in (0.05, 0.13, 0.21, 0.37):
        writer = context.Process(target=_write_forever, args=(path, 200_000))
        writer.start()
        time.sleep(delay)
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        env_file = read_env_file(path)  # parses: never a truncated file
        assert env_file.values["OTHER"] == "stays" and "# kept" in path.read_text()
        big = env_file.values.get("BIG")
        assert big is None or (len(big) == 200_009 and big.endswith("x" * 100))


def _set_with_a_tiny_file_size_limit(path):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
    update_env_file(path, {"NEW": "y" * 4096})


def test_a_failed_write_reports_and_leaves_the_old_file_whole(tmp_path, shared_tmp):
    path = write(os.path.join(shared_tmp, ".env"), "OLD=kept\n", mode=0o600)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_set_with_a_tiny_file_size_limit, args=(path,))
    child.start()
    child.join(30)
    assert child.exitcode != 0  # the error was raised, not swallowed
    assert open(path).read() == "OLD=kept\n"
    assert not [name for name in os.listdir(shared_tmp) if name.endswith(".tmp")]
    # A directory the writer may not write: the error names the file; the old one stays.
    os.chown(shared_tmp, 0, 0)
    os.chmod(path, 0o644)
    message = as_nobody(update_env_file, path, {"NEW": MARKER})
    assert message and "Permission denied" in message and MARKER not in message
    assert open(path).read() == "OLD=kept\n"


def test_library_errors_are_kit_errors_or_value_free(tmp_path):
    """What the library raises on bad writes names the key, never the value."""
    for key, value in (("BAD KEY", "v"), ("K", MARKER + "\0"), ("K", 5)):
        with pytest.raises((KitError, ValueError, TypeError)) as caught:
            update_env_file(tmp_path / ".env", {key: value})
        assert MARKER not in str(caught.value)
