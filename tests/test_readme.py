"""The README and the documentation (docs/**/*.md) work as written. Every fenced block carries a name; each
is run by a test, as a user would type it (the test named here holds a `block("NAME")` or `commands("NAME")`
call), or says in the block itself why it cannot run on a machine of this kind. The blocks that need no
engine run here."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.aws_standin import BIN
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, DEPLOY, ENTRYPOINT, PROJECT, free_port, wait_for_url, write
from tests.readme import block, blocks, commands, fence_counts

RUN_BY = {
    "two-commands": "tests/test_readme.py",
    "entrypoint-synopsis": "tests/test_readme.py",
    "docker-run": "tests/container/test_readme_blocks.py",
    "compose-env-file": "tests/container/test_readme_blocks.py",
    "compose-secrets": "tests/container/test_compose.py",
    "k8s-overlay": "tests/test_readme.py",
    "k8s-in-ci": "tests/container/test_readme_blocks.py",
    "backend-secrets-module": "tests/test_readme.py",
    "systemd-install": "tests/container/test_systemd.py",
    "systemd-enable": "tests/container/test_systemd.py",
    "ecs-render": "tests/test_readme.py",
    "aws-steps": "tests/test_readme.py",
    "smoke": "tests/container/test_readme_blocks.py",
    "library": "tests/test_readme.py",
    "spec-children": "tests/test_readme.py",
    "spec-in-image": "tests/container/test_smoke.py",
    "pip-in-image": "tests/container/test_smoke.py",
    "compose-database": "tests/container/test_database.py",
    "compose-rotate-password": "tests/container/test_database.py",
    "compose-backup": "tests/container/test_database.py",
    "k8s-database-overlay": "tests/test_readme.py",
    "systemd-local-database": "tests/container/test_systemd.py",
    "ci-recipe": "tests/container/test_testing.py",
    "cloudrun-render": "tests/platforms/test_cloudrun.py",
    "backend-smoke-seeded": "tests/container/test_backend.py",
    "install-wheels": "tests/test_distributions.py",
    "cloudrun-local": "tests/container/test_local_cloudrun.py",
    # The chart's README (k8s/helm/deeptempo/README.md)
    "chart-verify": "tests/test_readme.py",
    "chart-scheduling": "tests/test_readme.py",
    "chart-umbrella": "tests/test_readme.py",
    "chart-umbrella-values": "tests/test_readme.py",
    "chart-local-test": "tests/container/test_local_k8s.py",
}
# The words each of these blocks says about itself.
NOT_HERE = {
    "k8s-apply": "needs a cluster",
    "helm-install": "needs a cluster",
    "backend-on-a-host": "needs a checkout of the backend",
    "backend-image": "needs a checkout of the backend",
    "smoke-in-ci": "needs your CI and your team's index",
    "k8s-database-operations": "needs a cluster",
    "cloudnativepg": "needs a cluster with the CloudNativePG operator",
    "helm-database": "needs a cluster",
    "ecs-rotation": "needs your ECS cluster and service",
    "cloudrun-deploy": "Not run by the tests: it needs a Google Cloud project and credentials.",
    "cloudrun-verify-deployed": "Not run by the tests: it reads a deployed service.",
    "chart-tldr": "needs a cluster",
    "chart-install": "needs a cluster",
    "chart-uninstall": "needs a cluster",
    "chart-database": "needs a cluster",
    "chart-rotate": "needs a cluster",
}


def test_every_block_is_run_by_a_test_or_says_why_not():
    found = blocks()
    named = {path: sum(1 for b in found.values() if b.file == path) for path in fence_counts()}
    unnamed = {path: count - named[path] for path, count in fence_counts().items() if count != named[path]}
    assert unnamed == {}, f"fenced blocks without a `<!-- block: NAME -->` line, by file: {unnamed}"
    assert set(RUN_BY).isdisjoint(NOT_HERE)
    assert set(found) == set(RUN_BY) | set(NOT_HERE), set(found) ^ (set(RUN_BY) | set(NOT_HERE))
    for name, test_file in RUN_BY.items():
        text = open(os.path.join(PROJECT, test_file)).read()
        assert re.search(rf'(block|commands)\("{name}"\)', text), f"{test_file} does not run the block {name}"
    for name, reason in NOT_HERE.items():
        assert f"# {reason}" in found[name].text, f"{found[name].file}:{found[name].line}: the block {name} does not say it {reason}"


def test_the_front_page_holds_the_two_commands():
    """The README is the front page: the main job and the test command CI runs stay on it."""
    assert blocks()["two-commands"].file == "README.md"
    assert len(open(os.path.join(PROJECT, "README.md")).read().splitlines()) <= 150


# --- the blocks that need no engine --------------------------------------------------------------

def test_the_main_job_serves_the_demo_and_ci_runs_the_test_command(tmp_path):
    main_job, test_command = commands("two-commands")
    assert test_command == "scripts/test"
    assert "\nscripts/test\n" in open(os.path.join(PROJECT, ".ci", "run")).read()
    port = free_port()
    venv = os.path.dirname(os.path.dirname(sys.executable))  # the suite's own environment, already installed
    process = subprocess.Popen([*main_job.split(), "--port", str(port)], cwd=PROJECT, env={**os.environ, "VENV": venv},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/api/health", process, timeout=120)
        status = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/secrets/status", timeout=5).read())
        assert status["secrets"]["CLAUDE_API_KEY"]["source"] == "env-file"
    finally:
        process.send_signal(signal.SIGTERM)  # exec'd: this PID is the server
        output = process.communicate(timeout=30)[0]
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output


def test_each_command_of_the_synopsis_takes_the_options_it_shows():
    for line in commands("entrypoint-synopsis"):
        words = line.split()
        assert words[0] == "deeptempo-entrypoint"
        result = subprocess.run([*ENTRYPOINT, words[1], "-h"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        for option in re.findall(r"\[(--[a-z-]+)", line):
            assert option in result.stdout, f"{words[1]} -h does not show {option}"


def test_the_overlay_example_verifies(tmp_path):
    yaml_text = block("k8s-overlay")
    shutil.copytree(os.path.join(PROJECT, "k8s"), tmp_path / "k8s", ignore=shutil.ignore_patterns("helm"))
    overlay = tmp_path / "k8s" / "overlays" / "mine"
    overlay.mkdir()
    write(overlay / "kustomization.yaml", yaml_text, mode=0o644)
    result = subprocess.run([*DEPLOY, "verify", "k8s", str(overlay)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_database_overlay_example_verifies_with_three_replicas(tmp_path):
    shutil.copytree(os.path.join(PROJECT, "k8s"), tmp_path / "k8s", ignore=shutil.ignore_patterns("helm"))
    overlay = tmp_path / "k8s" / "overlays" / "mine"
    overlay.mkdir()
    write(overlay / "kustomization.yaml", block("k8s-database-overlay"), mode=0o644)
    write(overlay / "secrets.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_PASSWORD={CANARY_DATABASE}\n")
    result = subprocess.run([*DEPLOY, "verify", "k8s", str(overlay), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == [] and CANARY_DATABASE not in result.stdout
    # Without the component, the same three replicas have no database: refused.
    write(overlay / "kustomization.yaml", block("k8s-database-overlay").replace("components: [../../components/postgresql]\n", ""))
    result = subprocess.run([*DEPLOY, "verify", "k8s", str(overlay), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 78
    assert {f["rule"] for f in json.loads(result.stdout)["findings"] if f["level"] == "error"} == {"shared-storage"}


def test_the_cloudnativepg_cluster_fits_the_kits_schema_and_a_broken_one_does_not():
    import yaml

    from deeptempo_deploy.platforms.k8s.verify import schema_findings

    cluster = yaml.safe_load(block("cloudnativepg"))
    assert schema_findings([cluster], ("1.37",)) == []
    cluster["spec"]["instances"] = "three"
    assert [f.rule for f in schema_findings([cluster], ("1.37",))] == ["schema"]


HELM_FLAGS_WITH_A_VALUE = {"-n", "--namespace", "--set", "--set-file", "-f", "--values", "--timeout", "--version"}


def helm_line_settings(line):
    """A `helm install|upgrade RELEASE CHART ...` line's --set and --set-file values as `verify helm`
    takes them (a file the line reads becomes a canary of that secret's format)."""
    words = line.split()
    assert words[:2] in (["helm", "install"], ["helm", "upgrade"]) and words[2:4] == ["deeptempo", "k8s/helm/deeptempo"], line
    settings, rest = [], iter(words[4:])
    for word in rest:
        if word not in HELM_FLAGS_WITH_A_VALUE:
            assert word.startswith("--"), (line, word)  # a flag alone: --create-namespace, --wait, --reuse-values
            continue
        value = next(rest)
        if word == "--set-file":
            name = value.split("=")[0]
            value = f"{name}={CANARY_CLAUDE if name.endswith('CLAUDE_API_KEY') else CANARY_DATABASE}"
        if word in ("--set", "--set-file"):
            settings += ["--set", value]
    return settings


def helm_lines(text):
    return [line for line in text if line.startswith(("helm install ", "helm upgrade "))]


@pytest.mark.parametrize("name, lines", [
    ("helm-database", lambda: commands("helm-database")),
    ("chart-tldr", lambda: commands("chart-tldr")),
    ("chart-install", lambda: commands("chart-install")),
    ("chart-database", lambda: commands("chart-database")),
    ("chart-rotate", lambda: commands("chart-rotate")),
])
def test_the_helm_install_lines_verify_as_written(name, lines):
    """Each `helm install` (and `helm upgrade`) line's values, through `verify helm`."""
    found = helm_lines(lines())
    assert found, f"the block {name} has no helm install line"
    for line in found:
        result = subprocess.run([*DEPLOY, "verify", "helm", os.path.join(PROJECT, "k8s", "helm", "deeptempo"),
                                 *helm_line_settings(line), "--json"], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (line, result.stdout + result.stderr)
        assert CANARY_DATABASE not in result.stdout + result.stderr and CANARY_CLAUDE not in result.stdout + result.stderr


def chart_copy(directory):
    """The chart where the chart's README has it, below `directory` (a user's checkout)."""
    shutil.copytree(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), directory / "k8s" / "helm" / "deeptempo")
    return directory / "k8s" / "helm" / "deeptempo"


def test_the_chart_verify_line_runs_with_the_scheduling_values(tmp_path):
    """`verify helm` as the chart's README writes it, `my-values.yaml` being its scheduling example."""
    import yaml

    chart_copy(tmp_path)
    write(tmp_path / "my-values.yaml", block("chart-scheduling"), mode=0o644)
    (line,) = commands("chart-verify")
    assert line.startswith("deeptempo-deploy verify helm ")
    result = subprocess.run([*DEPLOY, *line.split()[1:], "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # The one thing said: the Secret is made elsewhere, so its keys are not checked.
    assert {(f["rule"], f["level"]) for f in json.loads(result.stdout)["findings"]} == {("secret-reachable", "warning")}
    from deeptempo_deploy.platforms.helm.template import helm_template

    values = yaml.safe_load(block("chart-scheduling"))
    documents = helm_template(str(tmp_path / "k8s" / "helm" / "deeptempo"), (str(tmp_path / "my-values.yaml"),),
                              ("existingSecret=deeptempo-secrets",))
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    assert {key: spec[key] for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName")} == {
        key: values[key] for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName")}
    assert deployment["spec"]["template"]["metadata"]["labels"]["team"] == values["podLabels"]["team"]


def helm_binary():
    found = shutil.which("helm") or shutil.which("helm", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.skip("helm is not installed (scripts/install-helm installs it)")
    return found


def test_the_umbrella_chart_takes_the_chart_as_a_subchart(tmp_path):
    """The chart's README's umbrella, as a user lays it out beside the chart: `helm dependency update`
    (a file:// repository: nothing fetched), then `helm template` with its values: Helm hands the
    subchart `global` and `enabled`, which the schema takes, and global.* reaches every image."""
    import yaml

    helm = helm_binary()
    shutil.copytree(os.path.join(PROJECT, "k8s", "helm", "deeptempo"), tmp_path / "deeptempo")
    umbrella = tmp_path / "soc-platform"
    umbrella.mkdir()
    write(umbrella / "Chart.yaml", block("chart-umbrella"), mode=0o644)
    write(umbrella / "values.yaml", block("chart-umbrella-values"), mode=0o644)
    updated = subprocess.run([helm, "dependency", "update", str(umbrella)], capture_output=True, text=True, timeout=120)
    assert updated.returncode == 0, updated.stdout + updated.stderr

    def template(*arguments):
        return subprocess.run([helm, "template", "soc", str(umbrella), *arguments], capture_output=True, text=True, timeout=120)

    result = template()
    assert result.returncode == 0, result.stderr
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    pods = {d["kind"]: d["spec"]["template"]["spec"] if d["kind"] == "Deployment" else d["spec"] for d in documents
            if d["kind"] in ("Deployment", "Pod")}
    for spec in pods.values():
        assert spec["containers"][0]["image"] == "registry.example.com/deeptempo-ai-soc:0.1.0"
        assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    # The condition turns the subchart off; a misspelt value under it still fails the install.
    assert "kind: Deployment" not in template("--set", "deeptempo.enabled=false").stdout
    misspelt = template("--set", "deeptempo.replicacount=3")
    assert misspelt.returncode != 0 and "Additional property replicacount is not allowed" in misspelt.stderr


def test_the_backends_secrets_module_is_the_kits(tmp_path):
    backend = tmp_path / "backend"
    backend.mkdir()
    write(backend / "secrets_manager.py", block("backend-secrets-module"), mode=0o644)
    probe = "import secrets_manager, deeptempo_entrypoint.secrets_manager as kit; assert secrets_manager is kit; print(kit.get_secret.__module__)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=backend, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": f"{backend}:{PROJECT}"})
    assert result.returncode == 0 and result.stdout.strip() == "deeptempo_entrypoint.secrets_manager", result.stderr


def test_the_ecs_render_lines_run(tmp_path):
    lines = commands("ecs-render")
    first_options = lines[0].split("render ecs ", 1)[1]
    for number, line in enumerate(lines):
        line = line.replace(" ... ", f" {first_options} ")  # `...`: the first line's options, as a reader takes it
        assert line.startswith("deeptempo-deploy render ecs ")
        output = tmp_path / str(number)
        arguments = line.split()[1:] + ["--output-dir", str(output)]
        result = subprocess.run([*DEPLOY, *arguments], capture_output=True, text=True)
        assert result.returncode == 0, (line, result.stdout + result.stderr)
        task = json.loads((output / "ecs" / "task-definition.json").read_text())
        assert task["containerDefinitions"][0]["image"].startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/")


def test_the_readmes_aws_steps_run_as_written(tmp_path, moto, aws_environment):
    # The committed files, rendered with --only CLAUDE_API_KEY as the README says, in a working copy.
    result = subprocess.run([*DEPLOY, "render", "ecs", "--only", "CLAUDE_API_KEY", "--output-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (tmp_path / "ecs" / "execution-role-trust-policy.json").write_text(
        open(os.path.join(PROJECT, "ecs", "execution-role-trust-policy.json")).read())
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "AWS_ENDPOINT_URL": moto,
                   "CLAUDE_API_KEY": CANARY_CLAUDE, "POSTGRES_PASSWORD": CANARY_DATABASE}
    steps = subprocess.run(["bash", "-euo", "pipefail", "-c", block("aws-steps")], cwd=tmp_path, env=environment,
                           capture_output=True, text=True, timeout=300)
    assert steps.returncode == 0, steps.stderr[-3000:]
    described = subprocess.run([os.path.join(BIN, "aws"), "ecs", "describe-task-definition", "--task-definition", "deeptempo"],
                               env=environment, capture_output=True, text=True)
    assert described.returncode == 0, described.stderr
    # What AWS returns verifies too (its read-only fields dropped).
    verified = subprocess.run([*DEPLOY, "verify", "ecs", "-"], input=described.stdout, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    role = subprocess.run([os.path.join(BIN, "aws"), "iam", "get-role-policy", "--role-name", "deeptempo-execution",
                           "--policy-name", "deeptempo-secrets-and-logs"], env=environment, capture_output=True, text=True)
    assert role.returncode == 0 and "deeptempo/production/CLAUDE_API_KEY" in role.stdout
    assert "deeptempo/production/database-??????" in role.stdout  # the database's JSON secret, covered
    stored = subprocess.run([os.path.join(BIN, "aws"), "secretsmanager", "get-secret-value", "--secret-id",
                             "deeptempo/production/database", "--query", "SecretString", "--output", "text"],
                            env=environment, capture_output=True, text=True)
    assert json.loads(stored.stdout) == {"username": "deeptempo", "password": CANARY_DATABASE}
    assert not (tmp_path / "database.json").exists()


def test_the_library_example_runs(tmp_path, clean_environment):
    (clean_environment / ".deeptempo").mkdir(mode=0o700)
    write(clean_environment / ".deeptempo" / ".env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    result = subprocess.run([sys.executable, "-c", block("library") + "\nprint(api_key == %r)" % CANARY_CLAUDE],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")
    from dotenv import dotenv_values

    assert dotenv_values(clean_environment / ".deeptempo" / ".env")["SPLUNK_PASSWORD"] == 'p"w #1'


def test_the_children_fragment_is_a_valid_spec(tmp_path):
    """The fragment's `children:` on the built-in entries it names (its `...` are their other fields)."""
    import yaml

    from deeptempo_entrypoint.spec import load_spec

    fragment = yaml.safe_load("\n".join(line for line in block("spec-children").splitlines() if line.strip() != "..."))
    document = yaml.safe_load(open(os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "spec", "spec.yaml")))
    by_name = {entry["name"]: entry for entry in document["entries"]}
    for entry in fragment:
        by_name[entry["name"]]["children"] = entry["children"]
    spec = load_spec(write(tmp_path / "spec.yaml", yaml.safe_dump(document)))
    assert spec.by_name["GITHUB_TOKEN"].children == ("git", "gh")
    assert spec.by_name["POSTGRESQL_CONNECTION_STRING"].children == "all"
