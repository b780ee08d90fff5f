import json
import os
import subprocess
import sys

import pytest

from deeptempo_entrypoint.cli import main
from deeptempo_entrypoint.constants import KEYRING_SERVICE as SERVICE_NAME
from deeptempo_entrypoint.env_example import render_env_example
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, PROJECT, write

VALID = {"CLAUDE_API_KEY": CANARY_CLAUDE}


def assert_clean(result, *canaries):
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for canary in (CANARY_CLAUDE, CANARY_PASSWORD, *canaries):
        assert canary not in output


def test_valid_secrets_exit_0(run_entrypoint):
    result = run_entrypoint("check", env=VALID)
    assert result.returncode == 0, result.stderr
    assert "secrets configuration is valid" in result.stdout and "CLAUDE_API_KEY (environment)" in result.stdout
    assert_clean(result)


def test_no_secrets_exit_78_naming_the_secret(run_entrypoint):
    result = run_entrypoint("check")
    assert result.returncode == 78
    assert "CLAUDE_API_KEY: is not set: set CLAUDE_API_KEY or ANTHROPIC_API_KEY" in result.stdout
    assert_clean(result)


def test_every_problem_is_reported_at_once(run_entrypoint, tmp_path):
    env_file = write(tmp_path / "app.env", "\n".join([
        "CLAUDE_API_KEY=sk-ant-...",                       # placeholder
        "AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP",          # half of the S3 group
        "GITHUB_TOKEN=not-a-token-" + CANARY_PASSWORD,     # bad format
        "POSTGRESQL_CONNECTION_STRING=mysql://" + CANARY_PASSWORD + "@db/x",  # not postgresql
        "SECRETS_BACKEND=vault",                           # unknown backend
        "PORT=99999",
        "SPLUNK_PASSWORD=one", "SPLUNK_PASSWORD=" + CANARY_PASSWORD,  # duplicate: a warning
    ]) + "\n")
    result = run_entrypoint("check", "--env-file", str(env_file), "--json")
    assert result.returncode == 78
    report = json.loads(result.stdout)
    assert report["ok"] is False
    errors = {(f["secret"], f["message"].split(" (")[0]) for f in report["findings"] if f["level"] == "error"}
    assert errors == {
        ("CLAUDE_API_KEY", "still holds the placeholder from env.example"),
        ("AWS_SECRET_ACCESS_KEY", "is not set, but AWS_ACCESS_KEY_ID is: the s3 group needs all of AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or none of them"),
        ("GITHUB_TOKEN", "does not have the expected format"),
        ("POSTGRESQL_CONNECTION_STRING", "must be a postgresql:// URL"),
        ("SECRETS_BACKEND", "must be one of dotenv, env, keyring"),
        ("PORT", "must be a port number from 1 to 65535"),
    }
    warnings = [f for f in report["findings"] if f["level"] == "warning"]
    assert [w["secret"] for w in warnings] == ["SPLUNK_PASSWORD", "POSTGRES_HOST"]
    assert "is set twice (lines 7 and 8)" in warnings[0]["message"] and warnings[1]["rule"] == "storage-fallback"
    assert report["sources"]["GITHUB_TOKEN"] == "env-file"
    assert_clean(result, "not-a-token", "mysql", "sk-ant-...")


def test_json_shape(run_entrypoint):
    # JSON storage chosen: nothing falls back, so nothing to warn about.
    report = json.loads(run_entrypoint("check", "--json", env={**VALID, "DATA_BACKEND": "json"}).stdout)
    assert report == {"command": "check", "ok": True, "findings": [],
                      "sources": {"CLAUDE_API_KEY": "environment", "DATA_BACKEND": "environment"}}


@pytest.mark.parametrize("settings, warned", [
    ({}, True),                                                   # DATA_BACKEND's default is database
    ({"DATA_BACKEND": "database"}, True),
    ({"DATA_BACKEND": "json"}, False),                            # chosen, not fallen back to
    ({"POSTGRES_HOST": "db.internal", "POSTGRES_PASSWORD": CANARY_PASSWORD}, False),
])
def test_check_warns_when_the_backend_would_fall_back_to_json_files(run_entrypoint, settings, warned):
    result = run_entrypoint("check", "--json", env={**VALID, **settings})
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True
    fallback = [f for f in report["findings"] if f["rule"] == "storage-fallback"]
    assert bool(fallback) == warned, report["findings"]
    if warned:
        (finding,) = fallback
        assert finding["level"] == "warning" and finding["secret"] == "POSTGRES_HOST"
        assert "DATA_BACKEND" in finding["message"] and "JSON files" in finding["message"]
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_the_placeholder_database_host_is_refused(run_entrypoint):
    result = run_entrypoint("check", "--json", env={**VALID, "POSTGRES_HOST": "your-postgres-host",
                                                    "POSTGRES_PASSWORD": CANARY_PASSWORD})
    assert result.returncode == 78
    assert [(f["secret"], f["rule"]) for f in json.loads(result.stdout)["findings"]] == [("POSTGRES_HOST", "placeholder")]


def test_a_spec_without_the_storage_settings_has_no_fallback_to_warn_about(run_entrypoint, tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n  - {name: CLAUDE_API_KEY, kind: secret, service: C, "
                                         "description: d., rule: required}\n")
    report = json.loads(run_entrypoint("check", "--spec", str(spec), "--json", env=VALID).stdout)
    assert report["findings"] == []


def test_legacy_alias_is_accepted_with_a_warning(run_entrypoint):
    report = json.loads(run_entrypoint("check", "--json", env={"claude_api_key": CANARY_CLAUDE, "DATA_BACKEND": "json"}).stdout)
    assert report["ok"] is True
    assert report["findings"] == [{"secret": "CLAUDE_API_KEY", "level": "warning",
                                   "message": "found under the legacy name claude_api_key (from environment); rename it to CLAUDE_API_KEY",
                                   "rule": "legacy-name", "where": {"source": "environment"}}]


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "env-file {p}: does not exist"),
    (lambda p: os.mkdir(p), "env-file {p}: is a directory, not a file"),
    (lambda p: p.write_bytes(b"A=1\n\x00binary"), "env-file {p}: line 2 holds a NUL byte"),
    (lambda p: p.write_bytes(b"A=\xc3\x28\n"), "env-file {p}: line 1 is not valid UTF-8"),
    (lambda p: os.truncate(p.touch() or p, 50 * 1024 * 1024), "env-file {p}: is 52428800 bytes, more than the 1048576 allowed"),
])
def test_bad_env_files_exit_78_with_one_clear_message(run_entrypoint, tmp_path, setup, message):
    path = tmp_path / "given.env"
    setup(path)
    result = run_entrypoint("check", "--env-file", str(path), env=VALID)
    assert result.returncode == 78
    assert message.format(p=path) in result.stdout
    assert_clean(result)


def test_bad_spec_and_bad_backend_exit_78(run_entrypoint, tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries: {oops")
    result = run_entrypoint("check", "--spec", str(spec), env=VALID)
    assert result.returncode == 78 and f"spec {spec}: not valid YAML at line" in result.stdout
    result = run_entrypoint("check", env={**VALID, "DEEPTEMPO_SECRETS_SPEC": str(tmp_path / "nope.yaml")})
    assert result.returncode == 78 and "nope.yaml: does not exist" in result.stdout
    result = run_entrypoint("status", env={**VALID, "SECRETS_BACKEND": "vault"})
    assert result.returncode == 78 and "SECRETS_BACKEND: must be one of dotenv, env, keyring (got 'vault')" in result.stdout
    result = run_entrypoint("check", env={**VALID, "ENABLE_KEYRING": "sometimes"})
    assert result.returncode == 78 and "ENABLE_KEYRING: must be true/false" in result.stdout
    assert_clean(result)


def test_users_own_spec(run_entrypoint, tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: VAULT_TOKEN, kind: secret, service: Vault, description: Token., rule: required, pattern: 'hvs\\.[A-Za-z0-9]+'}\n")
    assert run_entrypoint("check", "--spec", str(spec), env={"VAULT_TOKEN": "hvs.abc"}).returncode == 0
    result = run_entrypoint("check", "--spec", str(spec), env={"VAULT_TOKEN": "nope"})
    assert result.returncode == 78 and "VAULT_TOKEN: does not have the expected format (it should match hvs\\.[A-Za-z0-9]+" in result.stdout


def test_status_names_sources_never_values(run_entrypoint, tmp_path):
    env_file = write(tmp_path / "app.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    result = run_entrypoint("status", "--env-file", str(env_file), "--json", env=VALID)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["backends"]["write_backend"] == "dotenv"
    assert report["secrets"]["CLAUDE_API_KEY"]["source"] == "environment"
    assert report["secrets"]["SPLUNK_PASSWORD"]["source"] == "env-file"
    assert report["secrets"]["GITHUB_TOKEN"]["source"] is None
    text = run_entrypoint("status", "--env-file", str(env_file), env=VALID)
    assert "SPLUNK_PASSWORD" in text.stdout and "from env-file" in text.stdout
    assert_clean(result)
    assert_clean(text)


def run_in_process(capsys, *argv):
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_migrate_keyring(memory_keyring, capsys, tmp_path):
    memory_keyring.set_password(SERVICE_NAME, "claude_api_key", CANARY_CLAUDE)  # how the old app stored it
    memory_keyring.set_password(SERVICE_NAME, "SPLUNK_PASSWORD", 'pa"ss word')
    memory_keyring.set_password(SERVICE_NAME, "unrelated", "left alone")
    target = tmp_path / "state" / ".env"
    code, out, err = run_in_process(capsys, "migrate-keyring", "--to", str(target))
    assert code == 0, err
    assert "moved CLAUDE_API_KEY (stored as claude_api_key)" in out and "moved SPLUNK_PASSWORD" in out
    assert CANARY_CLAUDE not in out + err
    assert oct(os.stat(target).st_mode & 0o777) == "0o600"
    from deeptempo_entrypoint.envfile.reader import read_env_file

    assert read_env_file(target).values == {"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": 'pa"ss word'}
    assert len(memory_keyring.store) == 3
    code, out, _ = run_in_process(capsys, "migrate-keyring", "--to", str(target), "--delete")
    assert code == 0 and "deleted it from the keyring" in out
    assert memory_keyring.store == {(SERVICE_NAME, "unrelated"): "left alone"}
    code, out, _ = run_in_process(capsys, "migrate-keyring", "--to", str(target))
    assert code == 0 and "no secrets of the spec were found in the keyring" in out


def test_migrate_keyring_without_a_keyring_exits_78(capsys, tmp_path):
    keyring = pytest.importorskip("keyring")
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        code, _, err = run_in_process(capsys, "migrate-keyring", "--to", str(tmp_path / ".env"))
    finally:
        keyring.set_keyring(previous)
    assert code == 78 and "the OS keyring is not usable here" in err
    assert not (tmp_path / ".env").exists()


def test_env_example_is_the_spec_rendered():
    with open(os.path.join(PROJECT, "env.example"), encoding="utf-8") as stream:
        assert stream.read() == render_env_example(builtin_spec()), "run: deeptempo-entrypoint env-example > env.example"


def test_env_example_names_every_entry_with_its_description_and_no_quotes():
    with open(os.path.join(PROJECT, "env.example"), encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    for entry in builtin_spec():
        assignment = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith(entry.name + "="))
        assert entry.description in lines[assignment - 1]
        assert '"' not in lines[assignment] and "'" not in lines[assignment]


def test_copied_env_example_fails_until_edited(run_entrypoint, tmp_path):
    with open(os.path.join(PROJECT, "env.example")) as stream:
        copy = write(tmp_path / ".env", stream.read())
    result = run_entrypoint("check", "--env-file", str(copy))
    assert result.returncode == 78 and "CLAUDE_API_KEY: still holds the placeholder" in result.stdout


def test_demo_secrets_pass_check(run_entrypoint):
    """The README's main job serves with demo/demo.env: it must stay valid."""
    result = run_entrypoint("check", "--env-file", os.path.join(PROJECT, "demo", "demo.env"))
    assert result.returncode == 0, result.stderr


def test_env_file_from_process_substitution():
    """`check --env-file <(vault read ...)` hands over a pipe that may not be written yet: it is waited for."""
    script = ('exec "$0" -m deeptempo_entrypoint check --env-file <(sleep 0.5; printf "CLAUDE_API_KEY=%s\\n" "$CANARY")')
    result = subprocess.run(["bash", "-c", script, sys.executable], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "CANARY": CANARY_CLAUDE})
    assert result.returncode == 0, result.stderr
    assert "CLAUDE_API_KEY (env-file)" in result.stdout and CANARY_CLAUDE not in result.stdout + result.stderr


def test_a_database_host_without_its_password_or_with_the_default_one_is_refused(run_entrypoint):
    """The backend connects to POSTGRES_HOST with POSTGRES_PASSWORD (required_with), falling back to a
    hard-coded default password: check names the password, never a value; without a host, nothing."""
    base = {"CLAUDE_API_KEY": CANARY_CLAUDE}
    missing = run_entrypoint("check", "--json", env={**base, "POSTGRES_HOST": "db.internal"})
    assert missing.returncode == 78
    (finding,) = [f for f in json.loads(missing.stdout)["findings"] if f["level"] == "error"]
    assert finding["secret"] == "POSTGRES_PASSWORD" and finding["rule"] == "required-with"
    assert "because POSTGRES_HOST is set" in finding["message"]
    default = run_entrypoint("check", env={**base, "POSTGRES_HOST": "db.internal",
                                           "POSTGRES_PASSWORD": "deeptempo_secure_password_change_me"})
    assert default.returncode == 78 and "POSTGRES_PASSWORD: still holds the placeholder" in default.stdout + default.stderr
    assert run_entrypoint("check", env={**base, "POSTGRES_HOST": "db.internal", "POSTGRES_PASSWORD": CANARY_PASSWORD}).returncode == 0
    assert run_entrypoint("check", env=base).returncode == 0  # the built-in app and the demo need no database
    wrong_host = run_entrypoint("check", env={**base, "POSTGRES_HOST": "not a host!", "POSTGRES_PASSWORD": CANARY_PASSWORD})
    assert wrong_host.returncode == 78 and "POSTGRES_HOST" in wrong_host.stdout + wrong_host.stderr
