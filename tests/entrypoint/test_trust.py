"""Trust like sshd's StrictModes: a file that can set the service's secrets or settings, and the
directories it sits in, are refused when someone other than root and the service's user can write them;
the spec cache never follows a link; an interrupted write leaves nothing behind; directories the kit
creates are 0700 whatever the umask."""

import json
import os
import stat

import pytest

from deeptempo_entrypoint.envfile.writer import update_env_file
from deeptempo_entrypoint.errors import SpecError
from deeptempo_entrypoint.resolution import resolve
from deeptempo_entrypoint.sources.chains import deployment_sources
from deeptempo_entrypoint.spec import builtin_spec, load_spec
from tests.helpers import NOBODY, write

SPEC = builtin_spec()


def env_file_findings(path):
    environ = {"DEEPTEMPO_ENV_FILE": str(path), "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    return [f for f in resolve(SPEC, deployment_sources(environ)).findings if f.is_error]


def test_a_group_writable_env_file_is_refused_naming_the_group(tmp_path):
    path = write(tmp_path / "app.env", "SPLUNK_PASSWORD=pw\n", mode=0o620)
    os.chown(path, 0, NOBODY)
    (finding,) = env_file_findings(path)
    assert f"group {NOBODY} can write it (mode 0620)" in finding.message and "chmod go-w" in finding.message


def test_an_env_file_of_another_user_in_a_world_writable_directory_is_refused(clean_environment):
    state = clean_environment / ".deeptempo"
    state.mkdir()
    os.chmod(state, 0o777)  # no sticky bit: anyone can replace what is in it
    path = write(state / ".env", "APP_DIR=/tmp/evil\n")
    os.chown(path, NOBODY, NOBODY)
    environ = {"DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    errors = [f for f in resolve(SPEC, deployment_sources(environ)).findings if f.is_error]
    assert errors and f"it is owned by uid {NOBODY}" in errors[0].message


def test_a_sticky_shared_directory_and_root_owned_files_are_trusted(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    assert env_file_findings(write(shared / "app.env", "SPLUNK_PASSWORD=pw\n")) == []


def test_a_spec_another_user_can_write_is_refused(tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: CLAUDE_API_KEY, kind: secret, service: C, description: d., rule: required}\n", mode=0o666)
    with pytest.raises(SpecError, match="anyone can write it"):
        load_spec(spec)


def test_the_spec_cache_follows_no_planted_link(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache).mkdir()
    target = write(tmp_path / "victim", "precious\n")
    os.symlink(target, cache / "deeptempo")  # a user of a shared XDG_CACHE_HOME planted it
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: CLAUDE_API_KEY, kind: secret, service: C, description: d., rule: required}\n")
    assert load_spec(spec).by_name["CLAUDE_API_KEY"]
    assert target.read_text() == "precious\n" and os.path.islink(cache / "deeptempo")


def test_the_spec_cache_directory_is_private_whatever_the_umask(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a" / "b"))
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: CLAUDE_API_KEY, kind: secret, service: C, description: d., rule: required}\n")
    previous = os.umask(0)
    try:
        load_spec(spec)
    finally:
        os.umask(previous)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "deeptempo"):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory
    assert len(list((tmp_path / "a" / "b" / "deeptempo").glob("spec-*.json"))) == 1


def test_an_interrupted_writes_copies_are_removed_at_the_next_write(tmp_path):
    path = tmp_path / "state" / "nested" / ".env"
    previous = os.umask(0)
    try:
        update_env_file(str(path), {"A": "1"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700 and stat.S_IMODE(os.stat(path.parent.parent).st_mode) == 0o700
    left = write(path.parent / ".env.4242.tmp", "CLAUDE_API_KEY=sk-ant-leftover\n")
    update_env_file(str(path), {"B": "2"})
    assert not left.exists()


def test_a_linked_env_file_stays_a_link_and_the_write_reaches_its_target(tmp_path):
    target = write(tmp_path / "real.env", "A=1\n")
    link = tmp_path / "link.env"
    os.symlink(target, link)
    update_env_file(str(link), {"B": "2"})
    assert os.path.islink(link) and target.read_text() == "A=1\nB=2\n"


# --- the library loses nothing and revokes for real ----------------------------------------------------

def test_delete_secret_revokes_every_name_the_secret_is_known_by(tmp_path):
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    dotenv = write(tmp_path / ".env", "claude_api_key=sk-ant-legacy0123456789\n")
    environ = {"claude_api_key": "sk-ant-legacy0123456789"}
    manager = SecretsManager("dotenv", False, str(dotenv), environ)
    assert manager.get_secret("CLAUDE_API_KEY") == "sk-ant-legacy0123456789"
    assert manager.delete_secret("CLAUDE_API_KEY") is True
    assert manager.get_secret("CLAUDE_API_KEY") is None and "claude_api_key" not in dotenv.read_text() and environ == {}


def test_set_secret_writes_the_canonical_name_and_drops_the_legacy_one(tmp_path):
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    dotenv = write(tmp_path / ".env", "# mine\nexport claude_api_key=sk-ant-legacy0123456789 # old\n")
    manager = SecretsManager("dotenv", False, str(dotenv), {})
    manager.set_secret("CLAUDE_API_KEY", "sk-ant-new0123456789")
    text = dotenv.read_text()
    assert "claude_api_key" not in text and "CLAUDE_API_KEY=sk-ant-new0123456789" in text and "# mine" in text


def test_a_rewritten_line_keeps_its_export_prefix_and_comment(tmp_path):
    path = write(tmp_path / ".env", "export SPLUNK_PASSWORD=old  # rotated monthly\n")
    update_env_file(str(path), {"SPLUNK_PASSWORD": "new"})
    assert path.read_text() == "export SPLUNK_PASSWORD=new  # rotated monthly\n"


def test_a_dollar_is_written_so_compose_and_dotenv_read_it_as_written(tmp_path):
    from dotenv import dotenv_values

    path = tmp_path / ".env"
    warnings = update_env_file(str(path), {"SPLUNK_PASSWORD": "p$HOME"})
    assert path.read_text() == "SPLUNK_PASSWORD='p$HOME'\n"
    assert dotenv_values(path) == {"SPLUNK_PASSWORD": "p$HOME"}  # load_dotenv's default, interpolating
    assert len(warnings) == 1 and "Docker's --env-file" in warnings[0] and "SPLUNK_PASSWORD_FILE" in warnings[0]
    assert "p$HOME" not in warnings[0]


def test_a_name_file_pipe_is_read_once(tmp_path):
    from deeptempo_entrypoint.resolution import resolve
    from deeptempo_entrypoint.sources.chains import deployment_sources

    read_end, write_end = os.pipe()
    os.write(write_end, b"sk-ant-frompipe0123456789\n")
    os.close(write_end)
    environ = {"CLAUDE_API_KEY_FILE": f"/proc/self/fd/{read_end}", "DEEPTEMPO_SECRETS_DIR": os.environ["DEEPTEMPO_SECRETS_DIR"]}
    try:
        resolution = resolve(SPEC, deployment_sources(environ))
    finally:
        os.close(read_end)
    assert resolution.value("CLAUDE_API_KEY") == "sk-ant-frompipe0123456789"
    assert [f for f in resolution.findings if "empty" in f.message] == []


# --- the same trust for check, serve and the library (third hardening round) ------------------------------

def _untrusted(tmp_path, kind):
    """An env-file whose group root can write it (root:root 0620), or one another user owns (0600)."""
    path = write(tmp_path / "app.env", "CLAUDE_API_KEY=sk-ant-untrusted0123456789\n", mode=0o620 if kind == "group" else 0o600)
    os.chown(path, 0 if kind == "group" else NOBODY, 0)
    return path


@pytest.mark.parametrize("kind, writer", [("group", "group 0 can write it (mode 0620)"), ("owner", f"it is owned by uid {NOBODY}")])
def test_check_refuses_an_env_file_someone_else_can_change_and_lists_nothing_from_it(run_entrypoint, tmp_path, kind, writer):
    path = _untrusted(tmp_path, kind)
    text = run_entrypoint("check", "--env-file", str(path))
    assert text.returncode == 78 and f"refused, {writer}" in text.stdout and "\n  set: " not in text.stdout
    as_json = run_entrypoint("check", "--env-file", str(path), "--json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 78 and report["sources"] == {} and any(writer in f["message"] for f in report["findings"])


@pytest.mark.parametrize("kind", ["group", "owner"])
def test_serve_refuses_an_env_file_someone_else_can_change(run_entrypoint, tmp_path, kind):
    result = run_entrypoint("serve", "--env-file", str(_untrusted(tmp_path, kind)), timeout=30)
    assert result.returncode == 78 and "refused" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["group", "owner"])
def test_the_library_refuses_an_env_file_someone_else_can_change(tmp_path, kind):
    from deeptempo_entrypoint.errors import EnvFileError
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    path = _untrusted(tmp_path, kind)
    manager = SecretsManager("dotenv", False, str(path), {})
    with pytest.raises(EnvFileError, match="refused"):
        manager.get_secret("CLAUDE_API_KEY")
    with pytest.raises(EnvFileError, match="refused"):
        manager.set_secret("SPLUNK_PASSWORD", "new-value")
    assert "SPLUNK_PASSWORD" not in path.read_text()


def test_a_trusted_env_file_is_read_by_all_three_alike(run_entrypoint, tmp_path):
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    path = write(tmp_path / "app.env", "CLAUDE_API_KEY=sk-ant-trusted0123456789\n", mode=0o600)
    assert SecretsManager("dotenv", False, str(path), {}).get_secret("CLAUDE_API_KEY") == "sk-ant-trusted0123456789"
    result = run_entrypoint("check", "--env-file", str(path))
    assert result.returncode == 0 and "CLAUDE_API_KEY (env-file)" in result.stdout


def test_a_value_the_readers_could_not_read_back_is_refused_before_anything_is_written(tmp_path):
    from deeptempo_entrypoint.secrets_manager import SecretsManager
    from deeptempo_entrypoint.textfile import MAX_BYTES

    path = write(tmp_path / ".env", "SPLUNK_PASSWORD=before\n")
    environ = {}
    manager = SecretsManager("dotenv", False, str(path), environ)
    with pytest.raises(ValueError, match=f"more than the {MAX_BYTES} its readers take") as raised:
        manager.set_secret("GITHUB_TOKEN", "x" * (2 * MAX_BYTES))
    assert "xxxx" not in str(raised.value)
    assert path.read_text() == "SPLUNK_PASSWORD=before\n" and environ == {}  # nothing written, not even os.environ
    manager.set_secret("GITHUB_TOKEN", "ghp_stillusable0123456789")  # the store stays usable
    assert manager.get_secret("GITHUB_TOKEN") == "ghp_stillusable0123456789"
    assert manager.get_secret("SPLUNK_PASSWORD") == "before"


@pytest.mark.parametrize("kind", ["group", "owner"])
def test_a_file_on_a_read_only_mount_stays_trusted_whoever_can_write_it(tmp_path, monkeypatch, kind):
    """`-v host.env:/etc/deeptempo/.env:ro`, a Kubernetes Secret volume: nothing inside can change it.
    (statvfs reports the mount read-only; making a real read-only mount needs privileges a test lacks.)"""
    from deeptempo_entrypoint.secrets_manager import SecretsManager

    path = _untrusted(tmp_path, kind)
    real = os.statvfs

    class ReadOnly:
        def __init__(self, result):
            self._result = result

        def __getattr__(self, name):
            return getattr(self._result, name)

        @property
        def f_flag(self):
            return self._result.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda target: ReadOnly(real(target)) if str(target) == str(path) else real(target))
    assert SecretsManager("dotenv", False, str(path), {}).get_secret("CLAUDE_API_KEY") == "sk-ant-untrusted0123456789"
    assert env_file_findings(path) == []
