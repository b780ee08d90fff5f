import os

import pytest

from deeptempo_entrypoint.launch import program_environment
from deeptempo_entrypoint.resolution import resolve
from deeptempo_entrypoint.sources.chains import deployment_sources
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import as_nobody, write

SPEC = builtin_spec()
NAME = "SPLUNK_PASSWORD"


@pytest.fixture
def layers(tmp_path):
    """One value of SPLUNK_PASSWORD per source; each test turns on the ones it needs."""
    secrets_dir, credentials = tmp_path / "run-secrets", tmp_path / "credentials"
    secrets_dir.mkdir()
    credentials.mkdir()
    return {
        "environment": ({NAME: "from-environment"}, None),
        f"{NAME}_FILE": ({f"{NAME}_FILE": str(write(tmp_path / "file-secret", f"from-{NAME}_FILE\n"))}, None),
        "secrets-dir": ({"DEEPTEMPO_SECRETS_DIR": str(secrets_dir)}, (secrets_dir / NAME, "from-secrets-dir\n")),
        "credentials": ({"CREDENTIALS_DIRECTORY": str(credentials)}, (credentials / NAME, "from-credentials")),
        "env-file": ({"DEEPTEMPO_ENV_FILE": str(tmp_path / "mounted.env")}, (tmp_path / "mounted.env", f"{NAME}=from-env-file\n")),
    }


# Source labels; NAME_FILE's label is the variable itself.
ORDER = ["environment", f"{NAME}_FILE", "secrets-dir", "credentials", "env-file"]


def _resolve(layers, enabled, tmp_path):
    environ = {"DEEPTEMPO_SECRETS_DIR": str(tmp_path / "empty-dir")}
    (tmp_path / "empty-dir").mkdir(exist_ok=True)
    for label in enabled:
        variables, file_and_text = layers[label]
        environ.update(variables)
        if file_and_text:
            write(*file_and_text)
    return resolve(SPEC, deployment_sources(environ)), environ


@pytest.mark.parametrize("winner", ORDER)
def test_each_source_alone(layers, tmp_path, winner):
    resolution, _ = _resolve(layers, [winner], tmp_path)
    assert resolution.secrets[NAME].source == winner
    assert resolution.value(NAME) == f"from-{winner}"


@pytest.mark.parametrize("higher, lower", [(ORDER[i], ORDER[j]) for i in range(len(ORDER)) for j in range(i + 1, len(ORDER))
                                           if (ORDER[i], ORDER[j]) != ("environment", f"{NAME}_FILE")])
def test_precedence_pairwise(layers, tmp_path, higher, lower):
    resolution, _ = _resolve(layers, [lower, higher], tmp_path)
    assert resolution.secrets[NAME].source == higher
    assert not [f for f in resolution.findings if f.is_error]


def test_all_sources_at_once_environment_wins(layers, tmp_path):
    layers["environment"][0].pop(NAME)  # with NAME and NAME_FILE both set it is an error (below)
    resolution, _ = _resolve(layers, ORDER, tmp_path)
    assert resolution.secrets[NAME].source == f"{NAME}_FILE"


def test_name_and_name_file_both_set_is_an_error(tmp_path):
    environ = {NAME: "x", f"{NAME}_FILE": str(write(tmp_path / "f", "y")), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    findings = resolve(SPEC, deployment_sources(environ)).findings
    assert [(f.secret, f.level, f.message) for f in findings if f.is_error] == [
        (NAME, "error", f"both {NAME} and {NAME}_FILE are set; set only one of them")]


def test_empty_name_with_name_file_is_not_a_conflict(tmp_path):
    environ = {NAME: "", f"{NAME}_FILE": str(write(tmp_path / "f", "y")), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    resolution = resolve(SPEC, deployment_sources(environ))
    assert resolution.value(NAME) == "y" and not resolution.findings


@pytest.mark.parametrize("content, value", [("line\n", "line"), ("line\r\n", "line"), ("two\n\n", "two\n"), ("  pad  \n", "  pad  "),
                                            ("no-newline", "no-newline"), ("multi\nline\n", "multi\nline")])
def test_file_values_lose_only_one_trailing_newline(tmp_path, content, value):
    environ = {f"{NAME}_FILE": str(write(tmp_path / "f", content)), "DEEPTEMPO_SECRETS_DIR": str(tmp_path / "none")}
    os.mkdir(tmp_path / "none")
    assert resolve(SPEC, deployment_sources(environ)).value(NAME) == value


def test_missing_and_unreadable_name_file_are_errors_naming_the_variable(tmp_path, shared_tmp):
    environ = {f"{NAME}_FILE": str(tmp_path / "missing"), "GITHUB_TOKEN_FILE": str(tmp_path), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    errors = {f.secret: f.message for f in resolve(SPEC, deployment_sources(environ)).findings if f.is_error}
    assert errors[NAME] == f"{NAME}_FILE: file {tmp_path / 'missing'}: does not exist"
    assert errors["GITHUB_TOKEN"].endswith("is a directory, not a file")
    locked = write(os.path.join(shared_tmp, "locked"), "secret\n", mode=0o000)
    empty = os.path.join(shared_tmp, "empty")
    os.mkdir(empty)

    def resolve_locked():
        findings = resolve(SPEC, deployment_sources({f"{NAME}_FILE": locked, "DEEPTEMPO_SECRETS_DIR": empty})).findings
        raise AssertionError(" | ".join(f.message for f in findings))

    assert as_nobody(resolve_locked) == (f"{NAME}_FILE: file {locked}: permission denied (the process runs as uid 65534; "
                                         "make the file readable by it: chown 65534 FILE on the host, keeping it 0600)")


def test_started_program_sees_values_and_no_file_indirection(tmp_path):
    environ = {f"{NAME}_FILE": str(write(tmp_path / "f", "v\n")), "UNRELATED_FILE": "/keep/me", "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    resolution = resolve(SPEC, deployment_sources(environ))
    environment = program_environment(environ, resolution)
    assert environment[NAME] == "v"
    assert f"{NAME}_FILE" not in environment
    assert environment["UNRELATED_FILE"] == "/keep/me"


def test_kubernetes_secret_volume_layout(tmp_path):
    """kubelet writes ..<timestamp>/KEY, links ..data to it, and links each KEY to ..data/KEY."""
    volume = tmp_path / "secret-volume"
    timestamped = volume / "..2026_11_29_01_00_00.123456789"
    timestamped.mkdir(parents=True)
    write(timestamped / "CLAUDE_API_KEY", "sk-ant-from-k8s", mode=0o644)
    os.symlink(timestamped.name, volume / "..data")
    os.symlink("..data/CLAUDE_API_KEY", volume / "CLAUDE_API_KEY")
    resolution = resolve(SPEC, deployment_sources({"DEEPTEMPO_SECRETS_DIR": str(volume)}))
    assert resolution.value("CLAUDE_API_KEY") == "sk-ant-from-k8s"
    assert resolution.findings == []  # the dot entries are kubelet's, not junk


def test_secrets_dir_with_junk_symlinks_and_empty_files(tmp_path):
    directory = tmp_path / "secrets"
    directory.mkdir()
    write(directory / "splunk_password", "lower-case compose name\n")
    write(directory / "CRIBL_PASSWORD", "")  # empty: counts as missing
    write(directory / "README.txt", "junk")
    (directory / "subdir").mkdir()
    os.symlink("/nonexistent/target", directory / "TIMESKETCH_PASSWORD")
    write(tmp_path / "outside", "via-symlink\n")
    os.symlink(tmp_path / "outside", directory / "GITHUB_TOKEN")
    resolution = resolve(SPEC, deployment_sources({"DEEPTEMPO_SECRETS_DIR": str(directory)}))
    assert resolution.value("SPLUNK_PASSWORD") == "lower-case compose name"
    assert resolution.value("GITHUB_TOKEN") == "via-symlink"
    assert "CRIBL_PASSWORD" not in resolution.secrets
    messages = {(f.secret, f.level): f.message for f in resolution.findings}
    assert messages[("TIMESKETCH_PASSWORD", "error")].endswith("TIMESKETCH_PASSWORD: is a symbolic link to nothing")
    assert messages[(None, "warning")] == f"secrets-dir {directory}: ignored entries not in the spec: README.txt, subdir"


def test_explicit_secrets_dir_must_exist(tmp_path):
    findings = resolve(SPEC, deployment_sources({"DEEPTEMPO_SECRETS_DIR": str(tmp_path / "nope")})).findings
    assert [(f.level, f.message) for f in findings] == [("error", f"secrets-dir {tmp_path / 'nope'}: does not exist")]


def test_env_file_keys_outside_the_spec_reach_the_program(tmp_path):
    path = write(tmp_path / "app.env", "SPLUNK_PASSWORD=pw\nLOG_FORMAT=json\n")
    environ = {"DEEPTEMPO_ENV_FILE": str(path), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    resolution = resolve(SPEC, deployment_sources(environ))
    assert program_environment(environ, resolution)["LOG_FORMAT"] == "json"
    assert resolution.sources() == {"SPLUNK_PASSWORD": "env-file"}


@pytest.mark.parametrize("mode, level, text", [(0o600, None, None), (0o640, "warning", "is readable by group or others (mode 0640)"),
                                               (0o644, "warning", "(mode 0644)"), (0o666, "error", "refused, anyone can write it (mode 0666)")])
def test_env_file_permissions(tmp_path, mode, level, text):
    path = write(tmp_path / "app.env", "SPLUNK_PASSWORD=pw\n", mode=mode)
    findings = resolve(SPEC, deployment_sources({"DEEPTEMPO_ENV_FILE": str(path), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]})).findings
    if level is None:
        assert findings == []
    else:
        assert len(findings) == 1 and findings[0].level == level and text in findings[0].message


def test_default_env_file_is_used_only_when_present(clean_environment, tmp_path):
    environ = {"DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    assert resolve(SPEC, deployment_sources(environ)).findings == []
    (clean_environment / ".deeptempo").mkdir()
    write(clean_environment / ".deeptempo" / ".env", "SPLUNK_PASSWORD=home\n")
    assert resolve(SPEC, deployment_sources(environ)).value("SPLUNK_PASSWORD") == "home"
