"""The committed files each platform renders from the spec equal what `deeptempo-deploy render` writes
(like env.example): edit the spec, re-render, commit both."""

import os
import subprocess
from typing import Any

import click
import pytest

from deeptempo_deploy.platforms.platform import Render
from deeptempo_deploy.platforms.registry import PLATFORMS
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import DEPLOY, PROJECT

# Every registered platform that renders, with its render verb.
RENDERERS: dict[str, Render[Any]] = {platform.name: platform.render for platform in PLATFORMS if platform.render}


def default_options(verb: Render[Any]) -> Any:
    """The verb's options as the command line gives them when none is typed."""
    context = click.Command("render", params=list(verb.params)).make_context("render", [], resilient_parsing=True)
    return verb.options(**context.params)


@pytest.mark.parametrize("platform", RENDERERS)
def test_committed_files_equal_what_render_writes(platform):
    verb = RENDERERS[platform]
    for relative, content in verb.run(builtin_spec(), default_options(verb)).items():
        with open(os.path.join(PROJECT, relative), encoding="utf-8") as stream:
            assert stream.read() == content, f"{relative} drifted: run deeptempo-deploy render {platform}"


@pytest.mark.parametrize("platform", RENDERERS)
def test_render_check_exits_1_on_drift_and_0_when_equal(platform, tmp_path):
    result = subprocess.run([*DEPLOY, "render", platform, "--check", "--output-dir", PROJECT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([*DEPLOY, "render", platform, "--check", "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "differs from what the spec renders" in result.stderr
    result = subprocess.run([*DEPLOY, "render", platform, "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0
    result = subprocess.run([*DEPLOY, "render", platform, "--check", "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0


def test_render_compose_follows_the_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nentries:\n  - {name: MY_TOKEN, kind: secret, service: S, description: d., rule: required}\n")
    result = subprocess.run([*DEPLOY, "render", "compose", "--spec", str(spec), "--output-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "docker-compose.secrets.yml").read_text()
    assert "- my_token" in text and "/my_token" in text and "claude" not in text
