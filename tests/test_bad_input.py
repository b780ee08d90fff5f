"""Bad input and user mistakes, each run as a user would (a child process, real files, FIFOs with no
writer under a timeout): never a hang, every problem in one report, one exit code per kind of error,
messages that lead to the fix, and never a value."""

import json
import os
import socket

import pytest

from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, write

VALID = {"CLAUDE_API_KEY": CANARY_CLAUDE}
PASTED_KEY = "sk-ant-api03-PASTEDKEY0123456789abcdef"


def assert_clean(result, *canaries):
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for canary in (CANARY_CLAUDE, CANARY_PASSWORD, PASTED_KEY, *canaries):
        assert canary not in output


# --- 1. Nothing hangs ------------------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "a-fifo"
    os.mkfifo(path)
    return path


def test_a_fifo_as_env_file_is_refused_at_once(run_entrypoint, fifo):
    result = run_entrypoint("check", "--env-file", str(fifo), env=VALID, timeout=10)
    assert result.returncode == 78
    assert f"env-file {fifo}: is a named pipe (FIFO), not a regular file" in result.stdout
    assert_clean(result)


def test_a_fifo_as_name_file_and_in_the_secrets_directory_is_refused_at_once(run_entrypoint, fifo, tmp_path):
    result = run_entrypoint("check", env={"CLAUDE_API_KEY_FILE": str(fifo)}, timeout=10)
    assert result.returncode == 78 and "CLAUDE_API_KEY_FILE: file" in result.stdout and "named pipe" in result.stdout
    directory = tmp_path / "secrets"
    directory.mkdir()
    os.mkfifo(directory / "SPLUNK_PASSWORD")
    result = run_entrypoint("check", env={**VALID, "DEEPTEMPO_SECRETS_DIR": str(directory)}, timeout=10)
    assert result.returncode == 78 and f"secret file {directory / 'SPLUNK_PASSWORD'}: is a named pipe" in result.stdout
    assert_clean(result)


def test_a_socket_and_a_device_are_refused_by_name(run_entrypoint, tmp_path):
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "sock"))
    try:
        result = run_entrypoint("check", "--env-file", str(tmp_path / "sock"), env=VALID, timeout=10)
    finally:
        listening.close()
    assert result.returncode == 78 and "is a socket, not a file" in result.stdout
    result = run_entrypoint("check", env={**VALID, "SPLUNK_PASSWORD_FILE": "/dev/zero"}, timeout=10)
    assert result.returncode == 78 and "SPLUNK_PASSWORD_FILE: file /dev/zero: is a device" in result.stdout


# --- 2. Every problem in one report ------------------------------------------------------------------

def test_every_bad_line_and_every_setting_in_one_block(run_entrypoint, tmp_path):
    env_file = write(tmp_path / "m.env", "GOOD=1\nbad line one\nanother bad line\n")
    result = run_entrypoint("check", "--env-file", str(env_file), env={"PORT": "abc", "SECRETS_BACKEND": "vault"})
    assert result.returncode == 78
    for expected in (f"env-file {env_file}: line 2 is not a NAME=value line", f"env-file {env_file}: line 3 is not",
                     "PORT: must be a port number", "SECRETS_BACKEND: must be one of dotenv, env, keyring",
                     "CLAUDE_API_KEY: is not set"):
        assert expected in result.stdout
    assert "(5 errors" in result.stdout
    assert "bad line one" not in result.stdout and "another" not in result.stdout
    # The order is stable: the same input gives the same report.
    assert run_entrypoint("check", "--env-file", str(env_file), env={"PORT": "abc", "SECRETS_BACKEND": "vault"}).stdout == result.stdout


@pytest.mark.parametrize("command", ["check", "status"])
def test_json_is_always_printed_on_stdout(run_entrypoint, tmp_path, command):
    missing = tmp_path / "missing.env"
    broken_spec = write(tmp_path / "spec.yaml", "version: 1\nentries: {oops")
    for args in (["--env-file", str(missing)], ["--spec", str(broken_spec)], ["--spec", str(tmp_path / "nope.yaml")]):
        result = run_entrypoint(command, "--json", *args, env=VALID)
        assert result.returncode == 78, (args, result.stderr)
        document = json.loads(result.stdout)
        assert {"findings"} <= set(document)
        messages = [finding["message"] for finding in document["findings"]]
        assert any(str(args[1]) in message for message in messages), messages
        assert_clean(result)


# --- 3. One exit code per kind of error --------------------------------------------------------------

def test_an_option_is_checked_like_its_variable(run_entrypoint):
    by_option = run_entrypoint("serve", "--port", "70000", env=VALID)
    by_variable = run_entrypoint("serve", env={**VALID, "PORT": "70000"})
    assert by_option.returncode == by_variable.returncode == 78
    assert "PORT: must be a port number from 1 to 65535 (from --port)" in by_option.stderr
    assert "PORT: must be a port number from 1 to 65535 (from environment)" in by_variable.stderr


def test_app_module_is_checked_before_the_exec_without_importing_it(run_entrypoint, tmp_path):
    for args, env in ((["--app", "nosuchmod:app"], VALID), ([], {**VALID, "APP_MODULE": "nosuchmod:app"})):
        result = run_entrypoint("serve", *args, env=env)
        assert result.returncode == 78
        assert "APP_MODULE: module nosuchmod cannot be found" in result.stderr and "set APP_DIR" in result.stderr
    result = run_entrypoint("serve", "--app", "nosuchmod", env=VALID)
    assert result.returncode == 78 and "APP_MODULE: must be module:attribute" in result.stderr
    # Found in APP_DIR without running it: the module would fail the test at import.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise SystemExit(99)\n")
    result = run_entrypoint("serve", "--app", "pkg.nothere:app", "--app-dir", str(tmp_path), env=VALID)
    assert result.returncode == 78 and "module pkg.nothere cannot be found" in result.stderr


def test_unknown_serve_options_get_the_kits_error_not_uvicorns_usage(run_entrypoint):
    result = run_entrypoint("serve", "--bogus", env=VALID)
    assert result.returncode == 2
    assert "serve has no option --bogus; uvicorn's own options go after `--`" in result.stderr
    assert "uvicorn [OPTIONS]" not in result.stderr
    result = run_entrypoint("--env-file", "good.env", "check", env=VALID)
    assert result.returncode == 2
    assert "options go after the command: deeptempo-entrypoint check --env-file good.env" in result.stderr


# --- 4. Typos --------------------------------------------------------------------------------------

@pytest.mark.parametrize("typo, meant", [("chek", "check"), ("stauts", "status"), ("serv", "serve")])
def test_a_typo_of_a_subcommand_suggests_it(run_entrypoint, typo, meant):
    result = run_entrypoint(typo, env=VALID)
    assert result.returncode == 127
    assert f"command not found: {typo}; did you mean `{meant}`?" in result.stderr


def test_exec_takes_env_file_and_spec(run_entrypoint, tmp_path):
    env_file = write(tmp_path / "app.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n  - {name: SPLUNK_PASSWORD, kind: secret, service: S, "
                                         "description: d., rule: required}\n")
    result = run_entrypoint("exec", "--env-file", str(env_file), "--spec", str(spec), "sh", "-c",
                            'test "$SPLUNK_PASSWORD" = "$EXPECTED" && echo same')
    assert result.returncode == 1  # EXPECTED is unset, so the values differ: the command itself ran
    result = run_entrypoint("exec", "--env-file", str(env_file), "--spec", str(spec), "sh", "-c",
                            'test "$SPLUNK_PASSWORD" = "$EXPECTED" && echo same', env={"EXPECTED": CANARY_PASSWORD})
    assert result.returncode == 0 and result.stdout == "same\n"


# --- 5. Messages that lead to the fix, never with the value ----------------------------------------------

def test_an_empty_name_file_or_secret_file_says_so(run_entrypoint, tmp_path):
    empty = write(tmp_path / "empty", "\n")
    result = run_entrypoint("check", env={"CLAUDE_API_KEY_FILE": str(empty)})
    assert result.returncode == 78
    assert "the file named by CLAUDE_API_KEY_FILE is empty, so CLAUDE_API_KEY counts as not set" in result.stdout
    directory = tmp_path / "secrets"
    directory.mkdir()
    write(directory / "claude_api_key", "")
    result = run_entrypoint("check", env={"DEEPTEMPO_SECRETS_DIR": str(directory)})
    assert result.returncode == 78 and "CLAUDE_API_KEY: is not set" in result.stdout
    assert f"; secret file {directory / 'claude_api_key'} is empty" in result.stdout
    # An empty file of an optional secret is the documented way to leave it out: no noise.
    write(directory / "claude_api_key", CANARY_CLAUDE)
    write(directory / "splunk_password", "")
    result = run_entrypoint("check", env={"DEEPTEMPO_SECRETS_DIR": str(directory)})
    assert result.returncode == 0 and "splunk" not in result.stdout.lower()


def test_the_source_label_names_the_variable(run_entrypoint, tmp_path):
    secret = write(tmp_path / "claude", CANARY_CLAUDE + "\n")
    result = run_entrypoint("check", "--json", env={"CLAUDE_API_KEY_FILE": str(secret)})
    assert json.loads(result.stdout)["sources"] == {"CLAUDE_API_KEY": "CLAUDE_API_KEY_FILE"}


@pytest.mark.parametrize("value, words", [
    (CANARY_CLAUDE + " ", "has leading or trailing white space (from environment); without it the value would be valid"),
    (CANARY_CLAUDE + "\r", "ends with a carriage return (a file saved with Windows line ends?)"),
])
def test_stray_white_space_in_a_key_is_named(run_entrypoint, value, words):
    result = run_entrypoint("check", env={"CLAUDE_API_KEY": value})
    assert result.returncode == 78 and f"CLAUDE_API_KEY: {words}" in result.stdout
    assert_clean(result)


def test_a_missing_secrets_directory_does_not_exist(run_entrypoint, tmp_path):
    result = run_entrypoint("check", env={**VALID, "DEEPTEMPO_SECRETS_DIR": str(tmp_path / "nope")})
    assert result.returncode == 78 and f"secrets-dir {tmp_path / 'nope'}: does not exist" in result.stdout


def test_a_misspelt_env_file_key_gets_a_suggestion_even_when_empty(run_entrypoint, tmp_path):
    env_file = write(tmp_path / "app.env", "CLAUDE_APIKEY=\nSPLUNK_PASWORD=x\n")
    result = run_entrypoint("check", "--env-file", str(env_file), env=VALID)
    assert result.returncode == 0  # warnings: the report goes to stdout
    assert "CLAUDE_APIKEY is not a name the spec knows; did you mean CLAUDE_API_KEY?" in result.stdout
    assert "SPLUNK_PASWORD is not a name the spec knows; did you mean SPLUNK_PASSWORD?" in result.stdout


def test_legacy_and_canonical_names_with_different_values_warn_naming_both(run_entrypoint):
    result = run_entrypoint("check", env={**VALID, "claude_api_key": "sk-ant-anotherkey0123"})
    assert result.returncode == 0
    assert ("CLAUDE_API_KEY and claude_api_key are both set, with different values; CLAUDE_API_KEY (from environment) "
            "is used") in result.stdout
    assert "sk-ant-anotherkey0123" not in result.stdout + result.stderr


@pytest.mark.parametrize("document", [
    "[" * 5000 + "]" * 5000,
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
    "version: 1\nentries:\n" + "  - {name: X, kind: secret, service: S, description: d., rule: optional}\n" * 15000,
    "- " * 3000 + "x",
], ids=["deeply-nested-flow", "alias-bomb", "15000-entries", "deeply-nested-block"])
def test_no_spec_document_ends_in_an_internal_error(run_entrypoint, tmp_path, document):
    spec = write(tmp_path / "spec.yaml", document)
    result = run_entrypoint("check", "--spec", str(spec), env=VALID, timeout=60)
    assert result.returncode == 78, result.stderr[-2000:]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


# --- 6. Settings are echoed only when safe -------------------------------------------------------------

def test_a_pasted_key_in_a_setting_is_never_echoed(run_entrypoint):
    result = run_entrypoint("check", env={**VALID, "SECRETS_BACKEND": PASTED_KEY})
    assert result.returncode == 78 and "SECRETS_BACKEND: must be one of dotenv, env, keyring (from environment)" in result.stdout
    result = run_entrypoint("serve", env={**VALID, "SECRETS_BACKEND": PASTED_KEY})
    assert result.returncode == 78
    assert_clean(result)
    result = run_entrypoint("check", env={**VALID, "LOG_LEVEL": "verbose"})
    assert "LOG_LEVEL: must be one of critical, error, warning, info, debug, trace (got 'verbose')" in result.stdout


def test_the_library_does_not_echo_a_pasted_key_either(monkeypatch):
    from deeptempo_entrypoint.errors import BackendError
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    monkeypatch.setenv("SECRETS_BACKEND", PASTED_KEY)
    with pytest.raises(BackendError) as caught:
        SecretsManager()
    assert PASTED_KEY not in str(caught.value) and "SECRETS_BACKEND is not a secrets backend" in str(caught.value)


# --- 7. Status tells the truth ---------------------------------------------------------------------

def test_status_shows_defaults_and_whether_the_dotenv_file_exists(run_entrypoint):
    result = run_entrypoint("status", "--json", env=VALID)
    report = json.loads(result.stdout)
    assert report["secrets"]["SECRETS_BACKEND"] == {"kind": "setting", "service": "Secrets manager", "source": "default",
                                                    "default": "dotenv"}
    assert report["secrets"]["CLAUDE_API_KEY"]["source"] == "environment"
    assert report["backends"]["dotenv"]["exists"] is False and report["backends"]["dotenv"]["available"] is False
    text = run_entrypoint("status", env=VALID).stdout
    assert "SECRETS_BACKEND" in text and "default (dotenv)" in text and "no file" in text
