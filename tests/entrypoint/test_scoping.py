"""deeptempo_entrypoint.scoping: no child of the served app holds a secret the spec does not give it,
whatever the app's code does. tests/entrypoint/scoping_probe.py starts children every way Python can
under a scope; the served stand-in (tests/children_app.py) makes the DeepTempo backend's calls through
`serve`, with one worker and with two. The proof on the real backend is
tests/container/test_backend_children.py."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest
import yaml

from deeptempo_entrypoint.scoping import program_of, scope_for
from deeptempo_entrypoint.spec import load_spec
from tests.helpers import CANARY_CLAUDE, CANARY_GITHUB, CANARY_PASSWORD, ENTRYPOINT, PROJECT, free_port, wait_for_url, write

GITHUB = CANARY_GITHUB


@pytest.fixture(scope="module")
def probe():
    result = subprocess.run([sys.executable, os.path.join(PROJECT, "tests", "entrypoint", "scoping_probe.py"), CANARY_CLAUDE,
                             GITHUB, CANARY_PASSWORD, "SHAREDvalue"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": PROJECT})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def holds_a_secret(text):
    return any(secret in text for secret in (CANARY_CLAUDE, GITHUB, CANARY_PASSWORD))


@pytest.mark.parametrize("start", ["inherited", "spawn", "forkserver", "after_write", "copy", "by_value", "shell", "asyncio",
                                   "os_system", "allowed_inherited"])
def test_no_start_hands_down_a_secret(probe, start):
    received = probe[0][start]
    assert not holds_a_secret(received), start
    assert "PATH=" in received  # it got the environment, less the secrets


def test_the_app_still_reads_its_secrets(probe):
    assert probe[0]["reads"] == CANARY_CLAUDE


def test_an_allowed_program_gets_its_secret_in_an_explicit_environment_only(probe):
    assert CANARY_PASSWORD in probe[0]["allowed_copy"] and CANARY_CLAUDE not in probe[0]["allowed_copy"]
    assert CANARY_PASSWORD not in probe[0]["allowed_inherited"]  # the inherited environment holds none to give


@pytest.mark.parametrize("start", ["environ_itself", "posix_spawn"])
def test_a_start_whose_environment_cannot_be_scoped_is_refused_by_name(probe, start):
    message = probe[0][start]
    assert message.startswith("refused: deeptempo-entrypoint: refusing to start ") and "CLAUDE_API_KEY" in message
    assert not holds_a_secret(message)


def test_an_exec_with_a_secret_is_refused_in_the_child(probe):
    assert probe[0]["execve_status"] == 42  # the probe's child exits 42 on the PermissionError


def test_a_secret_on_a_command_line_is_reported_by_name(probe):
    assert "SPLUNK_PASSWORD is on the command line of true" in probe[1]
    assert not holds_a_secret(probe[1])


def test_the_scope_follows_the_spec():
    spec = load_spec(None)
    scope = scope_for(spec, {"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": CANARY_PASSWORD, "PORT": "6987"})
    assert {"CLAUDE_API_KEY", "claude_api_key", "GITHUB_TOKEN", "POSTGRES_PASSWORD"} <= scope.names  # every secret name
    assert "PORT" not in scope.names  # settings are no secrets
    assert scope.values == {"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": CANARY_PASSWORD}
    assert scope.allowed("claude") >= {"CLAUDE_API_KEY", "ANTHROPIC_API_KEY"}  # the agent SDK's CLI (the backend's code)
    assert CANARY_CLAUDE not in repr(scope)


@pytest.mark.parametrize("event, args, expected", [
    ("subprocess.Popen", ("/usr/bin/git", ["/usr/bin/git", "pull"], None, None), "git"),
    ("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "LANG=C psql -c 'select 1'"], None, None), "psql"),
    ("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "sh -c 'unbalanced"], None, None), "sh"),
    ("subprocess.Popen", (None, ["python3", "-c", "pass"], None, None), "python3"),
    ("os.system", (b"pgrep -f mcp_servers",), "pgrep"),
    ("os.exec", ("/usr/bin/env", ["env"], None), "env"),
    ("os.posix_spawn", (b"/usr/bin/npx", [b"npx"], {}), "npx"),
])
def test_program_of(event, args, expected):
    assert program_of(event, args) == expected


# --- the stand-in served through serve -----------------------------------------------------------

@pytest.fixture
def spec_file(tmp_path):
    """The built-in spec, with SPLUNK_PASSWORD given to `printenv` only."""
    document = yaml.safe_load(open(os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "spec", "spec.yaml")))
    for entry in document["entries"]:
        if entry["name"] == "SPLUNK_PASSWORD":
            entry["children"] = ["printenv"]
    return write(tmp_path / "spec.yaml", yaml.safe_dump(document))


def serve(tmp_path, spec_file, **variables):
    """The stand-in served through `deeptempo-entrypoint serve`: the key from a secrets directory (a
    file), the Splunk password from the env-file."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    write(secrets / "CLAUDE_API_KEY", CANARY_CLAUDE + "\n")
    env_file = write(tmp_path / "app.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": PROJECT, "CHILDREN_OUT": str(out), "DEEPTEMPO_SECRETS_SPEC": str(spec_file),
                   "DEEPTEMPO_SECRETS_DIR": str(secrets), "DEEPTEMPO_ENV_FILE": str(env_file), **variables}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--app", "tests.children_app:app", "--host", "127.0.0.1", "--port",
                                str(port)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_url(f"http://127.0.0.1:{port}/health", process)
    return process, port, out


def children_of(port):
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/children", timeout=60).read())


def stop(process):
    process.terminate()
    return process.communicate(timeout=30)[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_child_of_the_served_app_inherits_a_secret(tmp_path, spec_file, workers):
    process, port, out = serve(tmp_path, spec_file, WEB_CONCURRENCY=workers)
    try:
        answers = [children_of(port) for _ in range(4 if workers == "2" else 1)]
        for answer in answers:
            assert answer["reads"] == CANARY_CLAUDE and answer["library"] == CANARY_CLAUDE  # the app reads as before
            assert answer["allowed"] == CANARY_PASSWORD  # printenv, given SPLUNK_PASSWORD by the spec
            assert answer["pool_value"] == CANARY_CLAUDE  # a spawn pool's process reads the secrets directory
            for environ in (answer["pool_environ"], answer["own_environ"]):  # a worker's /proc/PID/environ too
                assert not holds_a_secret(environ)
            assert "DEEPTEMPO_HANDOFF" not in answer["own_environ"]  # nothing a child inherits names a way to them
        children = sorted(os.listdir(out))
        kinds = {name.rsplit("-", 1)[0] for name in children}
        assert kinds == {"startup", "popen", "subprocess", "os-system", "asyncio", "copy"}, children
        for name in children:
            received = (out / name).read_text()
            assert not holds_a_secret(received), name
            assert "PATH=" in received  # it did get the environment, less the secrets
    finally:
        output = stop(process)
    assert not holds_a_secret(output)


def test_inherit_gives_every_child_every_secret(tmp_path, spec_file):
    process, port, out = serve(tmp_path, spec_file, DEEPTEMPO_CHILD_SECRETS="inherit")
    try:
        received = (out / f"subprocess-{children_of(port)['pid']}").read_text()
        assert CANARY_CLAUDE in received and CANARY_PASSWORD in received
    finally:
        stop(process)
