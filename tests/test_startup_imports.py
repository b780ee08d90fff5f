"""The path from process start to exec runs at every container start: it imports only what it needs.
(Its cost is measured by benchmarks/run.py as ratios, never by a timed test.)"""

import os
import subprocess
import sys

from tests.helpers import write

PROBE = """
import sys
from deeptempo_entrypoint.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(' '.join(sorted(sys.modules)), file=sys.stderr)
"""


def imported_modules(*args, env=None):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            env={**os.environ, "CLAUDE_API_KEY": "sk-ant-imports0123", **(env or {})})
    return set(result.stderr.strip().splitlines()[-1].split())


def imported_by(*args, env=None):
    return {name.split(".")[0] for name in imported_modules(*args, env=env)}


# What a start must not pay for when it does not need it: what is heavy (YAML, jsonschema, Docker, AWS, a
# database driver); the platforms are checked apart. Everything else is imported at the top of its module:
# clarity first.
HEAVY = {"yaml", "jsonschema", "docker", "botocore", "boto3", "psycopg", "psycopg2"}


def test_check_imports_nothing_heavy_and_no_platform():
    modules = imported_modules("check")
    assert not {name.split(".")[0] for name in modules} & HEAVY
    assert not {name for name in modules if name.startswith("deeptempo_deploy")}


def test_the_entrypoint_never_imports_the_deploy_side(tmp_path):
    """deeptempo-deploy's code and its dependencies stay out of every container start."""
    deploy_side = {"docker", "requests", "urllib3", "botocore", "boto3", "kubernetes_validate"}
    for args in (["check"], ["status"], ["env-example"], ["serve"]):  # serve stops at the missing key, before exec
        modules = imported_modules(*args, env={"CLAUDE_API_KEY": ""})
        assert not {name for name in modules if name.startswith("deeptempo_deploy")}, args
        assert not {name.split(".")[0] for name in modules} & deploy_side, args


def test_an_env_file_is_read_without_anything_heavy(tmp_path):
    env_file = write(tmp_path / "app.env", "SPLUNK_PASSWORD=x\n")
    modules = imported_by("check", "--env-file", str(env_file))
    assert "dotenv" in modules
    assert not modules & HEAVY


def test_a_users_spec_is_checked_with_yaml_and_jsonschema(tmp_path):
    spec = write(tmp_path / "spec.yaml", "version: 1\nentries:\n"
                 "  - {name: CLAUDE_API_KEY, kind: secret, service: C, description: d., rule: required}\n")
    assert {"yaml", "jsonschema"} <= imported_by("check", "--spec", str(spec))
