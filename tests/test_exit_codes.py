"""78, never 70: every input a user or an attacker can give ends in a finding that names the input and
the fix (exit 78, in text and --json), never in the generic internal-error path (exit 70, kept for the
kit's own bugs) nor in a traceback. Each case the third hardening round found, then a fuzz of the numeric
settings and of uvicorn's options after `serve --`."""

import json
import os

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, DEPLOY, PROJECT, write

SPEC = builtin_spec()
HUGE = "1" * 5000  # past Python's 4300-digit limit for int()


def assert_named(result, *words):
    """Exit 78, the words in the report, and no sign of the generic path."""
    output = result.stdout + result.stderr
    assert result.returncode == 78, output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    assert HUGE[:100] not in output  # never repeated
    for word in words:
        assert word in output, (word, output[-3000:])


# --- numeric settings of any length -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [("PORT", "must be a port number from 1 to 65535"),
                                            ("WEB_CONCURRENCY", "must be a whole number from 1 to 1024")])
def test_a_numeric_setting_of_any_length_is_a_finding(run_entrypoint, name, expected):
    environment = {name: HUGE, "CLAUDE_API_KEY": CANARY_CLAUDE}
    assert_named(run_entrypoint("check", env=environment), f"{name}: {expected}")
    as_json = run_entrypoint("check", "--json", env=environment)
    assert_named(as_json)
    assert any(f["secret"] == name and expected in f["message"] for f in json.loads(as_json.stdout)["findings"])
    assert_named(run_entrypoint("serve", env=environment, timeout=30), f"{name}: {expected}")


def test_a_spec_whose_port_default_has_any_length_falls_back_to_the_kits_port():
    from deeptempo_entrypoint.spec.model import Spec

    for default in (HUGE, "0" * 5000 + "80"):
        entries = [{"name": "PORT", "kind": "setting", "service": "s", "description": "d.", "rule": "optional", "default": default}]
        assert Spec({"entries": entries}, origin="test").port == 6987


def test_a_manifest_holding_an_integer_of_any_length_is_a_finding(tmp_path):
    import subprocess

    manifest = write(tmp_path / "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n"
                                            f"  - name: deeptempo\n    image: x\n    ports: [{{containerPort: {HUGE}}}]\n")
    task = json.load(open(os.path.join(PROJECT, "ecs", "task-definition.json")))
    text = json.dumps(task).replace('"stopTimeout": 30', f'"stopTimeout": {HUGE}')
    task_file = write(tmp_path / "task.json", text)
    for command in (["verify", "k8s", str(manifest)], ["verify", "ecs", str(task_file)]):
        for extra in ([], ["--json"]):
            result = subprocess.run([*DEPLOY, *command, *extra], capture_output=True, text=True, timeout=120)
            assert_named(result, "an integer of more than 100 digits")


# --- serve's listening address after `--` --------------------------------------------------------------------

@pytest.mark.parametrize("option, words", [
    (["--uds", "/nonexistent/x.sock"], ["serve -- --uds: /nonexistent does not exist or is not writable"]),
    (["--fd", "99"], ["serve -- --fd 99: no listening socket is open on that descriptor"]),
])
def test_serve_names_a_listening_address_it_cannot_use(run_entrypoint, option, words):
    assert_named(run_entrypoint("serve", "--", *option, env={"CLAUDE_API_KEY": CANARY_CLAUDE}, timeout=30), *words)


def test_serve_names_a_descriptor_past_any_c_int(run_entrypoint):
    result = run_entrypoint("serve", "--", "--fd", str(2 ** 70), env={"CLAUDE_API_KEY": CANARY_CLAUDE}, timeout=30)
    assert_named(result, "--fd")


# --- APP_MODULE ------------------------------------------------------------------------------------------------

def test_an_app_whose_import_needs_a_missing_module_is_named(run_entrypoint, tmp_path):
    backend = tmp_path / "checkout" / "backend"
    backend.mkdir(parents=True)
    write(backend / "__init__.py", "")
    write(backend / "main.py", "import api  # a sibling, imported as a top-level module\n")
    environment = {"CLAUDE_API_KEY": CANARY_CLAUDE, "APP_MODULE": "backend.main:app", "APP_DIR": str(tmp_path / "checkout")}
    assert_named(run_entrypoint("serve", env=environment, timeout=30), "api")


def test_an_app_module_that_does_not_exist_is_named(run_entrypoint, tmp_path):
    environment = {"CLAUDE_API_KEY": CANARY_CLAUDE, "APP_MODULE": "backend.main:app", "APP_DIR": str(tmp_path)}
    assert_named(run_entrypoint("serve", env=environment, timeout=30), "module backend.main cannot be found")


# --- local k8s with the overlay's own secrets.env ---------------------------------------------------------------

def test_local_k8s_takes_the_overlays_own_secrets_env(tmp_path):
    """The README's steps: `local k8s k8s/overlays/dev --env-file k8s/overlays/dev/secrets.env` (the file
    stands in for itself)."""
    import shutil

    from deeptempo_deploy.platforms.k8s.local import render_overlay

    tree = tmp_path / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    own = write(tree / "overlays" / "dev" / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    documents, stand_in, warnings = render_overlay(str(tree / "overlays" / "dev"), str(own))
    secret = next(document for document in documents if document["kind"] == "Secret")
    assert stand_in is None and warnings == [] and set(secret["data"]) == {"CLAUDE_API_KEY"}


# --- the fuzz: numeric settings and uvicorn's options after `--` ------------------------------------------------

NUMBERS = st.one_of(st.integers(min_value=-10**30, max_value=10**30).map(str), st.just(HUGE), st.just("0" * 5000 + "80"),
                    st.from_regex(r"\A[0-9]{1,30}\Z"), st.floats(allow_nan=True, allow_infinity=True).map(str),
                    st.text(max_size=12), st.sampled_from(["", " 80", "8080\r", "٣", "²", "0x10", "1e3", "-0"]))


def _numeric_uvicorn_options():
    from uvicorn.main import main as uvicorn_command

    numeric = (click.types.IntParamType, click.types.FloatParamType, click.IntRange, click.FloatRange)
    return sorted(max(param.opts, key=len) for param in uvicorn_command.params
                  if isinstance(param, click.Option) and isinstance(param.type, numeric))


UVICORN_NUMERIC = _numeric_uvicorn_options()


def test_the_fuzz_covers_uvicorns_numeric_options():
    assert {"--port", "--workers", "--fd", "--backlog", "--limit-concurrency", "--timeout-keep-alive"} <= set(UVICORN_NUMERIC)


@given(name=st.sampled_from([entry.name for entry in SPEC if entry.format in ("port", "positive-integer")]), value=NUMBERS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_numeric_setting_reaches_the_internal_error_path(name, value):
    from deeptempo_entrypoint.launch import check_configuration

    environ = {"CLAUDE_API_KEY": CANARY_CLAUDE, name: value, "DEEPTEMPO_SECRETS_DIR": "/nonexistent-secrets"}
    check_configuration(SPEC, environ=environ)  # findings, never an exception


SERVER_NUMERIC = ["PORT", "WEB_CONCURRENCY"]


@given(option=st.sampled_from(UVICORN_NUMERIC), value=NUMBERS, setting=st.sampled_from(SERVER_NUMERIC), setting_value=NUMBERS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_uvicorn_option_after_the_separator_reaches_the_internal_error_path(option, value, setting, setting_value):
    """serve's whole preparation (parse, resolve, validate, the app and address checks, uvicorn's Config
    arguments): a plan or a configuration error (exit 78), nothing else, with PORT or WEB_CONCURRENCY of
    any shape in the environment too. `--fd` past a C int is the one known exception (above)."""
    from deeptempo_entrypoint.serving import prepare_serve

    if option == "--fd" and value.lstrip("-").isascii() and value.lstrip("-").isdigit() and len(value.lstrip("-")) < 4300 and abs(int(value)) >= 2 ** 31:
        return  # test_serve_names_a_descriptor_past_any_c_int
    environ = {"CLAUDE_API_KEY": CANARY_CLAUDE, "DEEPTEMPO_SECRETS_DIR": "/nonexistent-secrets", "HOME": "/nonexistent-home",
               setting: setting_value}
    try:
        prepare_serve(SPEC, {}, [option, value], environ=environ)
    except ConfigError:
        pass
