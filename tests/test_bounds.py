"""Everything user-supplied is bounded: a spec pattern that backtracks without end, a keyring that raises
or hangs (check, status, serve, migrate-keyring, the library), and a value that is never echoed when it
holds a resolved secret, whatever its shape."""

import os
import sys
import time

import pytest

from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, write

KEYRINGS = '''
import time
from keyring.backend import KeyringBackend

class Raising(KeyringBackend):
    priority = 1
    def get_password(self, service, username):
        raise RuntimeError("backend says: " + "{canary}")
    def set_password(self, service, username, password):
        raise RuntimeError("no")
    def delete_password(self, service, username):
        raise RuntimeError("no")

class Hanging(Raising):
    def get_password(self, service, username):
        time.sleep(120)
'''


@pytest.fixture
def keyring_env(tmp_path):
    directory = tmp_path / "backends"
    directory.mkdir()
    write(directory / "test_keyrings.py", KEYRINGS.format(canary=CANARY_PASSWORD))

    def env(kind, **extra):
        return {"PYTHONPATH": f"{directory}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                "PYTHON_KEYRING_BACKEND": f"test_keyrings.{kind}", "ENABLE_KEYRING": "true", **extra}
    return env


@pytest.mark.parametrize("kind", ["Raising", "Hanging"])
@pytest.mark.parametrize("command", [["check"], ["status"], ["migrate-keyring", "--to", "{tmp}/out.env"]])
def test_a_failing_keyring_is_a_finding_within_the_bound(run_entrypoint, keyring_env, tmp_path, kind, command):
    started = time.monotonic()
    args = [part.format(tmp=tmp_path) for part in command]
    result = run_entrypoint(*args, env=keyring_env(kind, CLAUDE_API_KEY=CANARY_CLAUDE), timeout=90)
    assert result.returncode == 78, result.stderr[-2000:]
    assert "the OS keyring" in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert CANARY_PASSWORD not in result.stdout + result.stderr
    assert time.monotonic() - started < 30  # one bounded wait (5 s), not one per secret


def test_serve_refuses_the_keyring_without_touching_it(run_entrypoint, keyring_env):
    started = time.monotonic()
    result = run_entrypoint("serve", env=keyring_env("Hanging", CLAUDE_API_KEY=CANARY_CLAUDE), timeout=60)
    assert result.returncode == 78 and "ENABLE_KEYRING: is on, refused by serve" in result.stderr
    assert "ANTHROPIC_API_KEY" not in result.stderr  # the finding is on the keyring switch, not on a secret
    assert time.monotonic() - started < 4


def test_the_library_returns_the_other_sources_value_and_logs_why(monkeypatch, caplog, tmp_path):
    import keyring
    from keyring.backend import KeyringBackend

    from deeptempo_entrypoint.secrets_manager import SecretsManager

    class Raising(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise RuntimeError("broken")

        def set_password(self, *args):
            raise RuntimeError("broken")

        def delete_password(self, *args):
            raise RuntimeError("broken")

    previous = keyring.get_keyring()
    keyring.set_keyring(Raising())
    try:
        manager = SecretsManager(enable_keyring=True, dotenv_path=str(tmp_path / ".env"),
                                 environ={"SPLUNK_PASSWORD": "from-env"})
        assert manager.get_secret("SPLUNK_PASSWORD") == "from-env"
        assert manager.get_secret("GITHUB_TOKEN") is None
        assert "the OS keyring failed reading GITHUB_TOKEN (RuntimeError)" in caplog.text
    finally:
        keyring.set_keyring(previous)


def test_a_pattern_that_backtracks_without_end_is_a_finding(run_entrypoint, tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: TOKEN, kind: secret, service: S, description: d., rule: required, pattern: '(a|aa)+b'}\n")
    started = time.monotonic()
    result = run_entrypoint("check", "--spec", str(spec), env={"TOKEN": "a" * 40}, timeout=60)
    assert result.returncode == 78 and "TOKEN: cannot be checked: the spec's pattern for it ran longer" in result.stdout
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("setting, value", [("SECRETS_BACKEND", CANARY_PASSWORD), ("LOG_LEVEL", CANARY_PASSWORD),
                                            ("LOG_LEVEL", f"x{CANARY_PASSWORD}x")])
def test_a_setting_holding_a_resolved_secret_is_never_echoed(run_entrypoint, setting, value):
    result = run_entrypoint("check", env={"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": CANARY_PASSWORD, setting: value})
    assert result.returncode == 78 and f"{setting}: must be one of" in result.stdout
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_app_dir_holding_a_secret_is_not_echoed(run_entrypoint):
    result = run_entrypoint("serve", env={"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": CANARY_PASSWORD,
                                          "SECRETS_BACKEND": "env", "APP_DIR": f"/nonexistent/{CANARY_PASSWORD}"})
    assert result.returncode == 78 and "APP_DIR: the directory it names does not exist" in result.stderr
    assert CANARY_PASSWORD not in result.stderr


def test_bounds_need_no_new_start_up_import(run_entrypoint):
    probe = "import sys; from deeptempo_entrypoint.cli import main\ntry: main(['check'])\nexcept SystemExit: pass\nprint('regex' in sys.modules)"
    import subprocess

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE})
    assert result.stdout.strip().endswith("False")


# --- every setting validated like a secret ------------------------------------------------------------

@pytest.mark.parametrize("setting, value, message", [
    ("HOST", "not a host!", "HOST: must be an IP address"),
    ("PORT", "²", "PORT: must be a port number"),
    ("PORT", "70000", "PORT: must be a port number"),
    ("WEB_CONCURRENCY", "١", "WEB_CONCURRENCY: must be a whole number"),
    ("FORWARDED_ALLOW_IPS", "10.0.0.1,nope", "FORWARDED_ALLOW_IPS: must be * or comma-separated"),
])
def test_a_bad_setting_is_a_finding_before_uvicorn(run_entrypoint, setting, value, message):
    result = run_entrypoint("serve", env={"CLAUDE_API_KEY": CANARY_CLAUDE, "SECRETS_BACKEND": "env", setting: value})
    assert result.returncode == 78 and message in result.stderr, result.stderr


@pytest.mark.parametrize("setting", ["HOST", "FORWARDED_ALLOW_IPS"])
def test_good_settings_pass(run_entrypoint, setting):
    value = {"HOST": "::", "FORWARDED_ALLOW_IPS": "127.0.0.1, 10.0.0.0/8"}[setting]
    result = run_entrypoint("check", env={"CLAUDE_API_KEY": CANARY_CLAUDE, setting: value})
    assert result.returncode == 0, result.stderr


def test_uvicorns_own_options_after_the_separator_are_checked_and_used(tmp_path):
    from deeptempo_entrypoint.launch import ValidationFailed
    from deeptempo_entrypoint.serving import prepare_serve
    from deeptempo_entrypoint.spec import builtin_spec

    app = tmp_path / "app"
    app.mkdir()
    write(app / "myapp.py", "app = None\n")
    environ = {"CLAUDE_API_KEY": CANARY_CLAUDE, "SECRETS_BACKEND": "env", "DEEPTEMPO_SECRETS_DIR": str(tmp_path)}
    plan = prepare_serve(builtin_spec(), {"APP_MODULE": "myapp:app"}, ["--app-dir", str(app), "--port=8123", "--use-colors"],
                         environ=dict(environ))
    assert plan.app.config["port"] == 8123 and plan.app.app_dir == str(app) and plan.app.config["use_colors"] is True
    assert plan.app.environment["PORT"] == "8123"
    with pytest.raises(ValidationFailed) as failed:
        prepare_serve(builtin_spec(), {}, ["--port", "0"], environ=dict(environ))
    assert any("must be a port number" in f.message and f.secret == "PORT" for f in failed.value.findings)
    with pytest.raises(ValidationFailed) as failed:  # development only: refused by name
        prepare_serve(builtin_spec(), {}, ["--reload"], environ=dict(environ))
    assert [f.message for f in failed.value.findings] == ["serve -- --reload: reloads the code on every change, for "
                                                          "development: run uvicorn itself there"]


# --- messages that lead to the fix -------------------------------------------------------------------

def test_quotes_docker_kept_are_named(run_entrypoint):
    result = run_entrypoint("check", env={"CLAUDE_API_KEY": f'"{CANARY_CLAUDE}"', "SPLUNK_PASSWORD": '"pw"'})
    assert result.returncode == 78
    assert "CLAUDE_API_KEY: is wrapped in quotes, which became part of it" in result.stdout
    assert "without them the value would be valid" in result.stdout
    assert "SPLUNK_PASSWORD: is wrapped in quotes" in result.stdout  # a warning: a password may hold quotes
    assert CANARY_CLAUDE not in result.stdout


def test_did_you_mean_for_the_environment_and_a_secrets_directory(run_entrypoint, tmp_path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    write(secrets_dir / "claude_apikey", CANARY_CLAUDE)
    result = run_entrypoint("check", env={"CLAUDE_API_KYE": CANARY_CLAUDE, "DEEPTEMPO_SECRETS_DIR": str(secrets_dir)})
    assert "CLAUDE_API_KYE (in the environment) is not a name the spec knows; did you mean CLAUDE_API_KEY?" in result.stdout
    assert "claude_apikey: did you mean claude_api_key?" in result.stdout
    assert CANARY_CLAUDE not in result.stdout


def test_a_missing_secret_names_where_it_was_looked_for(run_entrypoint, tmp_path):
    result = run_entrypoint("check", env={"DEEPTEMPO_ENV_FILE": "", "DEEPTEMPO_SECRETS_DIR": str(tmp_path / "none")})
    assert "CLAUDE_API_KEY: is not set" in result.stdout
    assert "looked in the environment, NAME_FILE variables" in result.stdout and "(absent)" in result.stdout


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["serve", "-h"], ["check", "-h"]])
def test_help_everywhere(run_entrypoint, args):
    result = run_entrypoint(*args)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_the_program_named_again_is_the_same_command(run_entrypoint):
    direct = run_entrypoint("check", "--json", env={"CLAUDE_API_KEY": CANARY_CLAUDE})
    named = run_entrypoint("deeptempo-entrypoint", "check", "--json", env={"CLAUDE_API_KEY": CANARY_CLAUDE})
    assert direct.returncode == named.returncode == 0 and direct.stdout == named.stdout


@pytest.mark.parametrize("pattern, bounded", [("sk-[A-Za-z0-9]+", False), ("(a|aa)+b", True)])
def test_only_a_pattern_that_can_backtrack_pays_for_the_bounded_engine(tmp_path, pattern, bounded):
    import subprocess

    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 f"  - {{name: TOKEN, kind: secret, service: S, description: d., rule: required, pattern: '{pattern}'}}\n")
    probe = (f"import sys; from deeptempo_entrypoint.cli import main\ntry: main(['check', '--spec', {str(spec)!r}])\n"
             "except SystemExit: pass\nprint('regex' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "TOKEN": "sk-abc" if not bounded else "aab"})
    assert result.stdout.strip().splitlines()[-1] == str(bounded)
