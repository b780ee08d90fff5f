"""The chart's README (k8s/helm/deeptempo/README.md) as Bitnami's charts have theirs: its "Parameters"
tables generated from the `## @param` notes of values.yaml by Bitnami's readme-generator-for-helm (the
npm package, pinned in scripts/helm-readme, installed into .tools by scripts/test), kept equal by
regenerating a copy; every value has a note (the generator refuses one without); and the sections a
user of those charts looks for."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.helpers import PROJECT

CHART = os.path.join(PROJECT, "k8s", "helm", "deeptempo")
SCRIPT = os.path.join(PROJECT, "scripts", "helm-readme")
GENERATOR = os.path.join(PROJECT, ".tools", "node_modules", ".bin", "readme-generator")


@pytest.fixture
def generator():
    if not os.access(GENERATOR, os.X_OK):
        pytest.skip("readme-generator-for-helm is not installed (scripts/test installs it: scripts/helm-readme --install)")


def regenerate(directory, values_text=None):
    """The chart's README and values.yaml copied into `directory`, the README regenerated there by
    scripts/helm-readme: (exit code, output, the README as it then is)."""
    for name in ("README.md", "values.yaml"):
        shutil.copy(os.path.join(CHART, name), directory / name)
    if values_text is not None:
        (directory / "values.yaml").write_text(values_text)
    result = subprocess.run([SCRIPT, "--values", str(directory / "values.yaml"), "--readme", str(directory / "README.md")],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr, (directory / "README.md").read_text()


def test_the_readmes_parameters_are_what_the_generator_makes_of_the_values(generator, tmp_path):
    code, output, regenerated = regenerate(tmp_path)
    assert code == 0 and "INFO: Metadata is correct!" in output, output
    assert regenerated == open(os.path.join(CHART, "README.md")).read(), "the chart's README drifted: run scripts/helm-readme"


def test_a_value_without_its_note_is_refused(generator, tmp_path):
    values = open(os.path.join(CHART, "values.yaml")).read().replace("priorityClassName: \"\"\n",
                                                                      "priorityClassName: \"\"\nschedulerName: \"\"\n", 1)
    code, output, _ = regenerate(tmp_path, values)
    assert code != 0 and "Missing metadata for key: schedulerName" in output, output


def test_a_note_without_its_value_is_refused(generator, tmp_path):
    values = open(os.path.join(CHART, "values.yaml")).read().replace("priorityClassName: \"\"\n", "", 1)
    code, output, _ = regenerate(tmp_path, values)
    assert code != 0 and "Metadata provided for non existing key: priorityClassName" in output, output


def test_the_generator_leaves_the_schema_to_the_kit(generator, tmp_path):
    """No --schema: values.schema.json stays the one `deeptempo-deploy render helm` renders from the spec
    (tests/platforms/test_render.py keeps it equal)."""
    script = open(SCRIPT).read()
    assert "--schema" not in script.replace("(no --schema)", "") and " -s " not in script
    before = open(os.path.join(CHART, "values.schema.json")).read()
    regenerate(tmp_path)
    assert open(os.path.join(CHART, "values.schema.json")).read() == before


def leaf_paths(node, prefix=""):
    """Every value of values.yaml by its dotted path; a map or list the notes name whole (secrets,
    settings, a list, an empty map) is one value."""
    if isinstance(node, dict) and node and prefix not in ("secrets", "settings"):
        for key, value in node.items():
            yield from leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def test_every_value_is_in_the_parameters_tables():
    """Without the generator too: each value of values.yaml has its row, with its note's description."""
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    readme = open(os.path.join(CHART, "README.md")).read()
    section = readme[readme.index("\n## Parameters\n"):readme.index("\n## Configuration and installation details\n")]
    rows = dict(re.findall(r"^\| `([^`]+)` +\| (.+?) +\|", section, re.MULTILINE))
    notes = dict(re.findall(r"^\s*## @param (\S+) (?:\[[^\]]*\] )?(.+)$", open(os.path.join(CHART, "values.yaml")).read(),
                            re.MULTILINE))
    assert set(rows) == set(leaf_paths(values)) == set(notes)
    assert all(rows[name] == notes[name].strip() for name in rows)


def test_the_readme_has_the_sections_users_of_bitnamis_charts_look_for():
    readme = open(os.path.join(CHART, "README.md")).read()
    headings = re.findall(r"^(##+) (.+)$", readme, re.MULTILINE)
    top = [title for level, title in headings if level == "##"]
    assert top == ["TL;DR", "Introduction", "Prerequisites", "Installing the Chart", "Testing the release",
                   "Uninstalling the Chart", "Parameters", "Configuration and installation details", "Upgrading"]
    details = readme[readme.index("## Configuration and installation details"):]
    for words in ("existingSecret", "usePasswordFiles", "externalSecret", "externalDatabase", "postgresql.enabled",
                  "Rotating a secret", "global", "Kubernetes 1.30 to 1.37"):
        assert words in readme, words
    assert "### Rotating a secret" in details
