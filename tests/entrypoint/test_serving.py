import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from deeptempo_entrypoint.http_limits import BoundedH11Protocol
from deeptempo_entrypoint.launch import ValidationFailed
from deeptempo_entrypoint.server_options import LIMITS
from deeptempo_entrypoint.serving import prepare_serve
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, ENTRYPOINT, free_port, write

SPEC = builtin_spec()
VALID = {"CLAUDE_API_KEY": CANARY_CLAUDE}


def environ(**extra):
    return {"DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"], "HOME": os.environ["HOME"], **VALID, **extra}


# --- SECRETS_BACKEND=env semantics ------------------------------------------------------------------

def test_unset_backend_becomes_env_and_keyring_off():
    plan = prepare_serve(SPEC, {}, environ=environ())
    assert plan.app.environment["SECRETS_BACKEND"] == "env"
    assert plan.app.environment["ENABLE_KEYRING"] == "false"
    assert prepare_serve(SPEC, {}, environ=environ(SECRETS_BACKEND="env")).app.environment["SECRETS_BACKEND"] == "env"


@pytest.mark.parametrize("variables, secret, why", [
    ({"SECRETS_BACKEND": "dotenv"}, "SECRETS_BACKEND", "a container's filesystem does not persist"),
    ({"SECRETS_BACKEND": "keyring"}, "SECRETS_BACKEND", "there is no OS keyring in a container"),
    ({"ENABLE_KEYRING": "true"}, "ENABLE_KEYRING", "there is no OS keyring in a container"),
    ({"ENABLE_KEYRING": "yes", "SECRETS_BACKEND": "env"}, "ENABLE_KEYRING", "there is no OS keyring"),
])
def test_refused_backends_explain_why_and_how_to_override(run_entrypoint, variables, secret, why):
    with pytest.raises(ValidationFailed) as caught:
        prepare_serve(SPEC, {}, environ=environ(**variables))
    messages = {f.secret: f.message for f in caught.value.findings if f.is_error}
    assert why in messages[secret] and "DEEPTEMPO_ALLOW_PERSISTENT_BACKEND=true" in messages[secret]
    result = run_entrypoint("serve", env={**VALID, **variables})
    assert result.returncode == 78 and why in result.stderr and "Traceback" not in result.stderr


def test_refused_backend_from_the_env_file_too(tmp_path):
    env_file = write(tmp_path / "app.env", "SECRETS_BACKEND=dotenv\n")
    with pytest.raises(ValidationFailed):
        prepare_serve(SPEC, {}, environ=environ(DEEPTEMPO_ENV_FILE=str(env_file)))


def test_deliberate_opt_in_keeps_dotenv():
    plan = prepare_serve(SPEC, {}, environ=environ(SECRETS_BACKEND="dotenv", DEEPTEMPO_ALLOW_PERSISTENT_BACKEND="true"))
    assert plan.app.environment["SECRETS_BACKEND"] == "dotenv"


def test_invalid_configuration_refuses_with_every_finding_in_one_block(run_entrypoint):
    result = run_entrypoint("serve", env={"AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP", "PORT": "http"})
    assert result.returncode == 78
    block = result.stderr
    assert block.startswith("deeptempo-entrypoint: refusing to start: the secrets configuration is not valid (3 errors)")
    for name in ("CLAUDE_API_KEY", "AWS_SECRET_ACCESS_KEY", "PORT"):
        assert f"{name}: " in block
    assert "Traceback" not in block and "Uvicorn" not in block


# --- uvicorn's Config ---------------------------------------------------------------------------------

def test_uvicorn_config_from_settings_and_options(tmp_path):
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "main.py").write_text("raise SystemExit('the pre-check must not import the app')\n")
    plan = prepare_serve(SPEC, {"PORT": "8123"}, ["--timeout-keep-alive", "7", "--root-path", "/soc"], environ=environ(
        APP_MODULE="backend.main:app", APP_DIR=str(tmp_path), HOST="127.0.0.1", WEB_CONCURRENCY="3", LOG_LEVEL="warning",
        FORWARDED_ALLOW_IPS="10.0.0.1"))
    assert plan.app.app == "backend.main:app" and plan.app.app_dir == str(tmp_path) and plan.workers == 3
    assert plan.app.config == {**LIMITS, "host": "127.0.0.1", "port": 8123, "log_level": "warning", "workers": 1,
                               "http": BoundedH11Protocol, "proxy_headers": True, "forwarded_allow_ips": "10.0.0.1",
                               "timeout_keep_alive": 7, "root_path": "/soc", "loop": "asyncio"}
    assert json.loads(plan.app.environment["DEEPTEMPO_SECRET_SOURCES"])["PORT"] == "--port"
    assert plan.app.address == ("127.0.0.1", "8123") and plan.supervised  # three workers: under the kit's supervisor


def test_defaults_serve_the_built_in_app_on_6987_in_this_process():
    plan = prepare_serve(SPEC, {}, environ=environ())
    assert (plan.app.app, plan.app.config["host"], plan.app.config["port"]) == ("deeptempo_entrypoint.app:app", "0.0.0.0", 6987)
    assert not plan.supervised  # one worker, no secret that needs a restart: uvicorn in serve's own process


def test_no_secret_in_the_plan_repr_and_the_sources_named(tmp_path):
    env_file = write(tmp_path / "app.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    plan = prepare_serve(SPEC, {}, environ=environ(DEEPTEMPO_ENV_FILE=str(env_file)))
    assert CANARY_CLAUDE not in repr(plan) and CANARY_PASSWORD not in repr(plan)
    assert not any(CANARY_CLAUDE in str(value) or CANARY_PASSWORD in str(value) for value in plan.app.config.values())
    assert plan.app.environment["SPLUNK_PASSWORD"] == CANARY_PASSWORD
    assert json.loads(plan.app.environment["DEEPTEMPO_SECRET_SOURCES"]) == {
        "CLAUDE_API_KEY": "environment", "SPLUNK_PASSWORD": "env-file", "SECRETS_BACKEND": "default", "ENABLE_KEYRING": "default"}


# --- exec and pass-through -----------------------------------------------------------------------

def test_pass_through_runs_the_command_with_secrets_loaded_and_no_validation(run_entrypoint, tmp_path):
    secret_file = write(tmp_path / "pw", "from-file\n")
    result = run_entrypoint("sh", "-c", 'echo "hello $SPLUNK_PASSWORD ${SPLUNK_PASSWORD_FILE:-no-indirection}"',
                            env={"SPLUNK_PASSWORD_FILE": str(secret_file)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from-file no-indirection\n"  # no CLAUDE_API_KEY, yet it ran


def test_pass_through_reports_problems_but_still_runs(run_entrypoint, tmp_path):
    result = run_entrypoint("echo", "hello", env={"SPLUNK_PASSWORD_FILE": str(tmp_path / "missing")})
    assert result.returncode == 0 and result.stdout == "hello\n"
    assert "SPLUNK_PASSWORD_FILE: file" in result.stderr and "does not exist" in result.stderr


def test_pass_through_unknown_command_exits_127(run_entrypoint):
    result = run_entrypoint("no-such-command-here")
    assert result.returncode == 127 and "command not found: no-such-command-here" in result.stderr


def test_exec_keeps_the_pid_and_leaves_no_wrapper(tmp_path):
    code = "import os; print(os.getpid()); print(open('/proc/%d/cmdline' % os.getpid()).read().split(chr(0))[1])"
    process = subprocess.Popen([*ENTRYPOINT, sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, **VALID})
    out, _ = process.communicate(timeout=30)
    pid, argument = out.split()
    assert int(pid) == process.pid
    assert argument == "-c"  # the process image is the command itself, not python -m entrypoint


# --- end to end on the host ------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path):
    """Start `deeptempo-entrypoint <args>` on a free 127.0.0.1 port; yields (process, port)."""
    started = []

    def start(*args, env=None):
        port = free_port()
        secrets = write(tmp_path / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n")
        environment = {**os.environ, "DEEPTEMPO_ENV_FILE": str(secrets), **(env or {})}
        process = subprocess.Popen([*ENTRYPOINT, *[a.format(port=port) for a in args]], env=environment,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response:
                    return process, port, response.status, json.loads(response.read())
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.1)
        raise AssertionError("the service did not answer within 20 s")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_end_to_end_health_status_and_sigterm(served):
    process, port, status, body = served("serve", "--host", "127.0.0.1", "--port", "{port}")
    assert status == 200 and body["status"] == "healthy"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/secrets/status", timeout=2) as response:
        raw = response.read().decode()
    report = json.loads(raw)
    assert report["write_backend"] == "env"
    splunk = report["secrets"]["SPLUNK_PASSWORD"]
    assert {key: splunk[key] for key in ("set", "source", "kind", "rotates", "rotation")} == {
        "set": True, "source": "env-file", "kind": "secret", "rotates": False, "rotation": "none"}
    assert report["secrets"]["GITHUB_TOKEN"]["set"] is False
    # Nobody set these: serve's own default and the spec's default show as defaults, not as set.
    assert report["secrets"]["SECRETS_BACKEND"] == {"set": False, "source": "default", "kind": "setting"}
    assert report["secrets"]["CRIBL_WORKER_GROUP"] == {"set": False, "source": "default", "kind": "setting"}
    assert report["secrets"]["PORT"] == {"set": True, "source": "--port", "kind": "setting"}
    assert CANARY_CLAUDE not in raw and CANARY_PASSWORD not in raw
    with open(f"/proc/{process.pid}/cmdline") as stream:
        cmdline = stream.read()
    assert CANARY_CLAUDE not in cmdline and CANARY_PASSWORD not in cmdline
    with open(f"/proc/{process.pid}/task/{process.pid}/children") as stream:
        assert stream.read().strip() == ""  # uvicorn runs in the started process: no wrapper, no child
    with open(f"/proc/{process.pid}/environ") as stream:
        environment = dict(item.split("=", 1) for item in stream.read().split("\0") if "=" in item)
    assert "DEEPTEMPO_SECRET_SOURCES" not in environment  # the OS-level environ is the start's; the app's is below
    assert report["secrets"]["CLAUDE_API_KEY"]["set"] is True
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=5)
    assert time.monotonic() - started < 2
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM: a clean end.
    assert process.returncode in (0, -signal.SIGTERM)
    log = process.stdout.read()
    assert "Application shutdown complete" in log
    assert CANARY_CLAUDE not in log and CANARY_PASSWORD not in log


def test_options_alone_mean_serve(served):
    process, _, status, _ = served("--host", "127.0.0.1", "--port", "{port}")
    assert status == 200
    process.terminate()
    process.wait(timeout=5)


def test_idle_connections_neither_stall_the_health_check_nor_stay_open(served):
    """400 clients that connect and send nothing (slowloris): the health check still answers at once,
    and each idle connection is closed after the request-head deadline."""

    process, port, status, _ = served("serve", "--host", "127.0.0.1", "--port", "{port}",
                                      env={"DEEPTEMPO_REQUEST_HEAD_TIMEOUT": "2"})
    assert status == 200
    idle = []
    try:
        for _ in range(400):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
            assert response.status == 200
        assert time.monotonic() - started < 2
        time.sleep(3)
        closed = 0
        for connection in idle:
            connection.settimeout(2)
            try:
                closed += connection.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == len(idle)
        assert process.poll() is None
    finally:
        for connection in idle:
            connection.close()
