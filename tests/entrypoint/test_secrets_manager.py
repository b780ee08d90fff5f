import os

import pytest

from deeptempo_entrypoint import secrets_manager
from deeptempo_entrypoint.constants import KEYRING_SERVICE as SERVICE_NAME
from deeptempo_entrypoint.errors import BackendError, ConfigError
from deeptempo_entrypoint.secrets_manager import SecretsManager, delete_secret, get_secret, get_secrets_manager, set_secret
from tests.helpers import write


@pytest.fixture
def dotenv_path(clean_environment):
    return clean_environment / ".deeptempo" / ".env"


def test_backend_status_has_exactly_the_guides_shape(dotenv_path):
    status = get_secrets_manager().get_backend_status()
    assert set(status) == {"environment", "dotenv", "keyring", "write_backend"}
    assert set(status["environment"]) == {"available", "description"}
    assert set(status["dotenv"]) == {"available", "exists", "readable", "writable", "path", "description"}
    assert set(status["keyring"]) == {"available", "description"}
    assert status["dotenv"]["path"] == str(dotenv_path)
    # No file yet: nothing to read (not available), though one can be created (writable).
    assert status["dotenv"]["available"] is False and status["dotenv"]["exists"] is False
    assert status["dotenv"]["writable"] is True
    dotenv_path.parent.mkdir(exist_ok=True)
    write(dotenv_path, "A=1\n")
    assert get_secrets_manager().get_backend_status()["dotenv"]["available"] is True
    assert status["keyring"]["available"] is False
    assert status["write_backend"] == "dotenv"


def test_reads_environment_then_dotenv(dotenv_path, monkeypatch):
    dotenv_path.parent.mkdir()
    write(dotenv_path, "SPLUNK_PASSWORD=from-file\nGITHUB_TOKEN=file-token\n")
    monkeypatch.setenv("SPLUNK_PASSWORD", "from-env")
    assert get_secret("SPLUNK_PASSWORD") == "from-env"
    assert get_secret("GITHUB_TOKEN") == "file-token"
    assert get_secret("TIMESKETCH_PASSWORD", "fallback") == "fallback"


def test_an_empty_value_is_a_missing_value(dotenv_path, monkeypatch):
    dotenv_path.parent.mkdir()
    write(dotenv_path, "SPLUNK_PASSWORD=from-file\n")
    monkeypatch.setenv("SPLUNK_PASSWORD", "")
    assert get_secret("SPLUNK_PASSWORD") == "from-file"
    monkeypatch.setenv("CRIBL_PASSWORD", "")
    assert get_secret("CRIBL_PASSWORD") is None


def test_legacy_lowercase_names_are_aliases(dotenv_path, monkeypatch):
    monkeypatch.setenv("claude_api_key", "sk-ant-legacy")
    assert get_secret("CLAUDE_API_KEY") == "sk-ant-legacy"
    dotenv_path.parent.mkdir()
    write(dotenv_path, "anthropic_api_key=sk-ant-legacy-file\n")
    assert get_secret("ANTHROPIC_API_KEY") == "sk-ant-legacy-file"


def test_write_goes_to_dotenv_by_default_and_reaches_os_environ(dotenv_path):
    assert set_secret("CLAUDE_API_KEY", 'sk-ant-a"b') is True
    assert os.environ["CLAUDE_API_KEY"] == 'sk-ant-a"b'  # defect: a write did not update os.environ
    del os.environ["CLAUDE_API_KEY"]
    assert get_secret("CLAUDE_API_KEY") == 'sk-ant-a"b'  # defect: a"b came back as a\"b
    assert oct(os.stat(dotenv_path).st_mode & 0o777) == "0o600"


def test_an_edit_on_disk_is_seen_by_the_next_read(dotenv_path):
    dotenv_path.parent.mkdir()
    write(dotenv_path, "SPLUNK_PASSWORD=before\n")
    assert get_secret("SPLUNK_PASSWORD") == "before"
    write(dotenv_path, "SPLUNK_PASSWORD=after-the-edit\n")  # defect: the file was read once per process
    assert get_secret("SPLUNK_PASSWORD") == "after-the-edit"


def test_env_backend_writes_the_process_environment_only(dotenv_path, monkeypatch):
    monkeypatch.setenv("SECRETS_BACKEND", "env")
    set_secret("GITHUB_TOKEN", "ghp_x")
    assert os.environ["GITHUB_TOKEN"] == "ghp_x"
    assert not dotenv_path.exists()
    assert delete_secret("GITHUB_TOKEN") is True
    assert "GITHUB_TOKEN" not in os.environ
    assert delete_secret("GITHUB_TOKEN") is False


def test_delete_from_dotenv_keeps_other_lines(dotenv_path):
    dotenv_path.parent.mkdir()
    write(dotenv_path, "# keep me\nSPLUNK_PASSWORD=x\nCRIBL_PASSWORD=y\n")
    assert delete_secret("SPLUNK_PASSWORD") is True
    assert dotenv_path.read_text() == "# keep me\nCRIBL_PASSWORD=y\n"
    assert get_secret("SPLUNK_PASSWORD") is None


@pytest.mark.parametrize("backend", ["Dotenv ", "vault", "files"])
def test_unknown_backend_is_a_clear_error_not_a_fallback(monkeypatch, backend):
    monkeypatch.setenv("SECRETS_BACKEND", backend)
    if backend.strip().lower() == "dotenv":
        assert get_secrets_manager().write_backend == "dotenv"
        return
    with pytest.raises(BackendError, match=f"SECRETS_BACKEND='{backend}' is not a secrets backend: use one of dotenv, env, keyring"):
        get_secrets_manager()


def test_invalid_enable_keyring_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ENABLE_KEYRING", "perhaps")
    with pytest.raises(ConfigError, match="ENABLE_KEYRING='perhaps' is not a boolean"):
        SecretsManager()


def test_manager_follows_configuration_changes(monkeypatch):
    assert get_secrets_manager().write_backend == "dotenv"
    assert get_secrets_manager() is get_secrets_manager()
    monkeypatch.setenv("SECRETS_BACKEND", "env")
    assert get_secrets_manager().write_backend == "env"


def test_keyring_is_not_consulted_unless_enabled(memory_keyring):
    memory_keyring.set_password(SERVICE_NAME, "SPLUNK_PASSWORD", "in-keyring")
    assert get_secret("SPLUNK_PASSWORD") is None
    assert get_secrets_manager().get_backend_status()["keyring"]["available"] is False


@pytest.mark.parametrize("word", ["true", "1", "yes", "on", "TRUE"])
def test_keyring_really_reads_and_writes_when_enabled(memory_keyring, monkeypatch, word, dotenv_path):
    monkeypatch.setenv("ENABLE_KEYRING", word)
    memory_keyring.set_password(SERVICE_NAME, "claude_api_key", "sk-ant-from-keychain")
    assert get_secret("CLAUDE_API_KEY") == "sk-ant-from-keychain"  # legacy account name, as the old app stored it
    status = get_secrets_manager().get_backend_status()
    assert status["keyring"]["available"] is True and "MemoryKeyring" in status["keyring"]["description"]
    monkeypatch.setenv("SECRETS_BACKEND", "keyring")
    set_secret("SPLUNK_PASSWORD", "pw")
    assert memory_keyring.store[(SERVICE_NAME, "SPLUNK_PASSWORD")] == "pw"
    assert not dotenv_path.exists()
    assert delete_secret("SPLUNK_PASSWORD") is True
    assert (SERVICE_NAME, "SPLUNK_PASSWORD") not in memory_keyring.store


def test_keyring_backend_without_a_keyring_is_a_clear_error(monkeypatch):
    keyring = pytest.importorskip("keyring")
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv("SECRETS_BACKEND", "keyring")
        with pytest.raises(ConfigError, match="the OS keyring is not usable here"):
            set_secret("SPLUNK_PASSWORD", "pw")
    finally:
        keyring.set_keyring(previous)


def test_repr_shows_no_values(monkeypatch):
    monkeypatch.setenv("CLAUDE_API_KEY", "sk-ant-repr-canary")
    manager = get_secrets_manager()
    assert "canary" not in repr(manager)
    assert secrets_manager.get_secret("CLAUDE_API_KEY") == "sk-ant-repr-canary"


def test_the_library_reads_the_same_sources_as_serve(tmp_path, monkeypatch):
    """One chain: a secret serve would find in a secrets directory or through NAME_FILE, get_secret finds too."""
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "splunk_password").write_text("from-the-directory\n")
    key_file = tmp_path / "claude.key"
    key_file.write_text("sk-ant-fromafile0123456789\n")
    monkeypatch.setenv("DEEPTEMPO_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("CLAUDE_API_KEY_FILE", str(key_file))
    manager = SecretsManager()
    assert manager.get_secret("SPLUNK_PASSWORD") == "from-the-directory"
    assert manager.get_secret("CLAUDE_API_KEY") == "sk-ant-fromafile0123456789"
    assert manager.get_secret("GITHUB_TOKEN", "none") == "none"


def test_status_says_what_a_new_value_of_each_secret_does_and_why(tmp_path, monkeypatch):
    from deeptempo_entrypoint.spec import builtin_spec
    from deeptempo_entrypoint.status import format_status, secrets_status

    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "CLAUDE_API_KEY").write_text("sk-ant-fromafile0123456789\n")
    (secrets / "GITHUB_TOKEN").write_text("ghp_fromafile0123456789abcdef\n")
    monkeypatch.setenv("DEEPTEMPO_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("SPLUNK_PASSWORD", "from-the-environment")
    report = secrets_status(builtin_spec())
    claude, github, splunk = (report["secrets"][name] for name in ("CLAUDE_API_KEY", "GITHUB_TOKEN", "SPLUNK_PASSWORD"))
    assert (claude["rotation"], claude["rotates"], claude["takes"]) == ("follow", True, "served without a restart")
    assert (github["rotation"], github["rotates"]) == ("restart", True) and github["takes"].startswith("serve restarts the app")
    assert "copies it into os.environ at start" in github["why"]  # what in the backend's code decides it
    assert splunk["rotates"] is False and splunk["takes"].startswith("a new container or unit takes a new value")
    assert "PORT" in report["secrets"] and "rotates" not in report["secrets"]["PORT"]
    text = format_status(report)
    assert "from secrets-dir; a new value: served without a restart (the backend reads it" in text
