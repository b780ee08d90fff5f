"""The core's contracts that every platform builds on: one source list for check, status and serve,
the abstract source interfaces, the named source labels, and exit codes passed on unchanged."""

import json

import click
import pytest

from deeptempo_entrypoint import constants
from deeptempo_entrypoint.commandline import run_click
from deeptempo_entrypoint.errors import ConfigError, UnavailableError
from deeptempo_entrypoint.launch import check_configuration
from deeptempo_entrypoint.serving import prepare_serve
from deeptempo_entrypoint.sources.base import SecretSource, WritableSource
from deeptempo_entrypoint.sources.chains import deployment_sources
from deeptempo_entrypoint.sources.directory import CredentialsDirectorySource, SecretsDirectorySource
from deeptempo_entrypoint.sources.dotenv_backend import DotenvBackend
from deeptempo_entrypoint.sources.env_file import EnvFileSource
from deeptempo_entrypoint.sources.environment import EnvironmentSource
from deeptempo_entrypoint.sources.file_indirection import FileIndirectionSource
from deeptempo_entrypoint.sources.keyring import KeyringSource
from deeptempo_entrypoint.sources.options import OptionsSource
from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.status import secrets_status
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD

SPEC = builtin_spec()


def test_check_status_and_serve_read_the_keyring_alike_when_it_is_enabled(memory_keyring, tmp_path):
    memory_keyring.set_password(constants.KEYRING_SERVICE, "CLAUDE_API_KEY", CANARY_CLAUDE)
    environ = {"ENABLE_KEYRING": "true", "DEEPTEMPO_SECRETS_DIR": str(tmp_path), "HOME": str(tmp_path)}
    resolution, _ = check_configuration(SPEC, deployment_sources(environ))
    assert resolution.sources()["CLAUDE_API_KEY"] == constants.KEYRING_LABEL
    assert secrets_status(SPEC, environ)["secrets"]["CLAUDE_API_KEY"]["source"] == constants.KEYRING_LABEL
    # serve refuses the keyring unless allowed; allowed, it reads the same list and hands the value on.
    allowed = {**environ, constants.ALLOW_PERSISTENT_BACKEND_VARIABLE: "true"}
    plan = prepare_serve(SPEC, {}, environ=allowed)
    assert plan.app.environment["CLAUDE_API_KEY"] == CANARY_CLAUDE
    assert json.loads(plan.app.environment[constants.SOURCES_VARIABLE])["CLAUDE_API_KEY"] == constants.KEYRING_LABEL


def test_without_enable_keyring_no_source_list_holds_the_keyring(tmp_path):
    sources = deployment_sources({"DEEPTEMPO_SECRETS_DIR": str(tmp_path)})
    assert not any(isinstance(source, KeyringSource) for source in sources)


def test_sources_are_abstract_and_the_write_backends_are_writable():
    with pytest.raises(TypeError):
        SecretSource()

    class ReadOnly(SecretSource):
        label = "test"

    with pytest.raises(TypeError):
        ReadOnly()  # lookup is abstract
    for writable in (EnvironmentSource, DotenvBackend, KeyringSource):
        assert issubclass(writable, WritableSource)
    for read_only in (FileIndirectionSource, SecretsDirectorySource, CredentialsDirectorySource, EnvFileSource):
        assert not issubclass(read_only, WritableSource)


def test_every_source_label_is_a_named_constant():
    labels = {cls.label for cls in (OptionsSource, EnvironmentSource, FileIndirectionSource, SecretsDirectorySource,
                                    CredentialsDirectorySource, EnvFileSource, KeyringSource)}
    named = {value for name, value in vars(constants).items() if name.endswith("_LABEL")}
    assert labels | {constants.DEFAULT_LABEL} == named and len(labels) == 7


def test_resolution_reports_the_source_label_of_the_value(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text(f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    env_file.chmod(0o600)
    resolution, _ = check_configuration(SPEC, deployment_sources({"CLAUDE_API_KEY": CANARY_CLAUDE,
                                                                  "DEEPTEMPO_SECRETS_DIR": str(tmp_path)}, str(env_file)))
    assert resolution.sources() == {"CLAUDE_API_KEY": constants.ENVIRONMENT_LABEL, "SPLUNK_PASSWORD": constants.ENV_FILE_LABEL}
    assert CANARY_CLAUDE not in repr(resolution.secrets) and CANARY_PASSWORD not in repr(resolution.secrets)


@click.group()
def probe():
    pass


@probe.command()
@click.argument("code", type=int)
def ctx_exit(code):
    click.get_current_context().exit(code)


@probe.command()
def config_error():
    raise ConfigError("the thing named X is wrong")


@probe.command()
def unavailable():
    raise UnavailableError("the engine is gone")


@probe.command()
def bug():
    raise RuntimeError("a message that could hold a value")


@pytest.mark.parametrize("argv, code", [
    (["ctx-exit", "0"], 0), (["ctx-exit", "3"], 3), (["ctx-exit", "78"], 78),
    (["config-error"], constants.EXIT_CONFIG), (["unavailable"], constants.EXIT_UNAVAILABLE),
    (["bug"], constants.EXIT_SOFTWARE), (["no-such-command"], constants.EXIT_USAGE),
])
def test_run_click_passes_on_every_exit_code(argv, code, capsys):
    reported = []
    assert run_click(probe, argv, "probe", reported.append) == code
    assert "a message that could hold a value" not in capsys.readouterr().err
