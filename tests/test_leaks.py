"""The leak suite: one canary value in each source, through every command and failure path of
deeptempo-entrypoint and deeptempo-deploy that runs without an engine. The canary must appear in no
stdout, stderr, exception text, process command line or rendered file. (The container paths, smoke and
local, have their own canary checks: tests/container/.)"""

import json
import os
import subprocess

import pytest

from tests.helpers import DEPLOY, ENTRYPOINT, PROJECT, wait_for_url, write

CANARY = "sk-ant-LEAKCANARY0123456789abcdef"


@pytest.fixture
def sources(tmp_path):
    """name -> (environment, files) putting the canary into one source each."""
    secrets_dir, credentials = tmp_path / "secrets", tmp_path / "credentials"
    secrets_dir.mkdir()
    credentials.mkdir()
    write(secrets_dir / "claude_api_key", CANARY + "\n")
    write(credentials / "CLAUDE_API_KEY", CANARY)
    return {
        "environment": {"CLAUDE_API_KEY": CANARY},
        "env-file": {"DEEPTEMPO_ENV_FILE": str(write(tmp_path / "app.env", f"CLAUDE_API_KEY={CANARY}\n"))},
        "NAME_FILE": {"CLAUDE_API_KEY_FILE": str(write(tmp_path / "claude", CANARY + "\n"))},
        "secrets-dir": {"DEEPTEMPO_SECRETS_DIR": str(secrets_dir)},
        "credentials": {"CREDENTIALS_DIRECTORY": str(credentials)},
    }


# Each command with the canary valid, then broken so that every failure path speaks too.
COMMANDS = {
    "check": ["check"], "check-json": ["check", "--json"], "status": ["status"], "status-json": ["status", "--json"],
    "env-example": ["env-example"], "exec": ["exec", "sh", "-c", "echo ran"],
    "serve-refused-backend": ["serve"], "serve-bad-port": ["serve", "--port", "0"], "serve-bad-app": ["serve", "--app", "x:y"],
}
BREAKERS = {
    "valid": {},
    "bad-backend": {"SECRETS_BACKEND": CANARY},  # a pasted key where a setting goes
    "bad-keyring-flag": {"ENABLE_KEYRING": CANARY},
    "wrong-format": {"GITHUB_TOKEN": CANARY},  # the canary where another format is required
    "host": {"HOST": CANARY},  # a setting holding the secret: never echoed, whatever its shape
    "app-dir": {"APP_DIR": f"/nonexistent/{CANARY}"},
    "quoted": {"SPLUNK_PASSWORD": f'"{CANARY}"'},  # quotes Docker kept
}


SOURCES = ("environment", "env-file", "NAME_FILE", "secrets-dir", "credentials")


def sampled_cases() -> list[tuple[str, str, str]]:
    """A sampled cross product that covers every pair: each command with each breaker (63 runs), the
    source turning with both indices, so that each command and each breaker also meets every source. The
    full product would be 315 runs for no pair more."""
    return [(SOURCES[(i + j) % len(SOURCES)], command, breaker)
            for i, command in enumerate(COMMANDS) for j, breaker in enumerate(BREAKERS)]


CASES = sampled_cases()


def assert_no_canary(*texts):
    for text in texts:
        assert CANARY not in text


def test_the_sample_covers_every_pair_of_source_command_and_breaker():
    def pairs(first, second):
        return {(case[first], case[second]) for case in CASES}

    assert pairs(1, 2) == {(command, breaker) for command in COMMANDS for breaker in BREAKERS}
    assert pairs(0, 1) == {(source, command) for source in SOURCES for command in COMMANDS}
    assert pairs(0, 2) == {(source, breaker) for source in SOURCES for breaker in BREAKERS}
    assert len(CASES) == len(COMMANDS) * len(BREAKERS) < len(SOURCES) * len(COMMANDS) * len(BREAKERS)


@pytest.mark.parametrize("source, command, breaker", CASES, ids=["-".join(case) for case in CASES])
def test_no_command_prints_the_canary(run_entrypoint, sources, source, command, breaker):
    environment = {**sources[source], **BREAKERS[breaker]}
    if command.startswith("serve"):
        environment["SECRETS_BACKEND"] = environment.get("SECRETS_BACKEND", "keyring")  # refused before any exec
    result = run_entrypoint(*COMMANDS[command], env=environment)
    assert result.returncode in (0, 1, 2, 78), (result.returncode, result.stderr[-500:])
    assert "Traceback" not in result.stderr
    assert_no_canary(result.stdout, result.stderr)


def test_serve_keeps_the_canary_off_every_command_line(sources, tmp_path):
    """While the service runs, no process's /proc/*/cmdline holds the value."""
    from tests.helpers import free_port

    port = free_port()
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env={**os.environ, **sources["env-file"]}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/api/health", process)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as stream:
                        assert CANARY.encode() not in stream.read()
                except OSError:
                    continue
        with open(f"/proc/{process.pid}/environ", "rb") as stream:
            assert CANARY.encode() not in stream.read()  # the values live in the app's os.environ, not the kernel's copy
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert_no_canary(output)


def test_the_keyring_source_does_not_leak(memory_keyring, run_entrypoint, tmp_path):
    from deeptempo_entrypoint.constants import KEYRING_SERVICE
    from deeptempo_entrypoint.launch import check_configuration
    from deeptempo_entrypoint.sources.chains import deployment_sources
    from deeptempo_entrypoint.spec import builtin_spec

    memory_keyring.set_password(KEYRING_SERVICE, "GITHUB_TOKEN", CANARY)  # the wrong format for a GitHub token
    resolution, findings = check_configuration(builtin_spec(), deployment_sources({"ENABLE_KEYRING": "true",
                                                                                     "DEEPTEMPO_SECRETS_DIR": str(tmp_path)}))
    assert_no_canary(repr(resolution), repr(resolution.secrets), *(repr(f) for f in findings), *(str(f) for f in findings))


def test_deploy_commands_and_rendered_files_never_hold_a_value(tmp_path):
    mapping = write(tmp_path / "secrets.json", json.dumps({"CLAUDE_API_KEY": CANARY}))
    env_file = write(tmp_path / "app.env", f"CLAUDE_API_KEY={CANARY}\n")
    runs = [
        [*DEPLOY, "render", "ecs", "--output-dir", str(tmp_path / "out")],
        [*DEPLOY, "render", "k8s", "--output-dir", str(tmp_path / "out")],
        [*DEPLOY, "render", "compose", "--output-dir", str(tmp_path / "out")],
        [*DEPLOY, "render", "systemd", "--output-dir", str(tmp_path / "out")],
        [*DEPLOY, "verify", "ecs", str(mapping)],  # not a task definition: the error must not quote it
        [*DEPLOY, "local", "ecs", str(mapping), "--secrets", str(mapping)],
        [*DEPLOY, "verify", "k8s", str(env_file)],  # an env-file is not YAML manifests
        [*DEPLOY, "verify", "systemd", str(env_file)],
    ]
    for command in runs:
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CLAUDE_API_KEY": CANARY})
        assert "Traceback" not in result.stderr, command
        assert_no_canary(result.stdout, result.stderr)
    for root, _, files in os.walk(tmp_path / "out"):
        for name in files:
            assert_no_canary(open(os.path.join(root, name)).read())


def test_the_repository_holds_no_secret_file():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True).stdout.split()
    assert not [path for path in tracked if os.path.basename(path) in (".env", "secrets.env") or path.endswith(".secret")]
