"""Kubernetes with Kustomize as a platform of deeptempo-deploy (platforms/registry.py): its manifest is
the rendered objects, as `kubectl kustomize` gives them."""

from dataclasses import dataclass
from typing import Any

import click

from deeptempo_deploy.platforms.k8s import SUPPORTED_VERSIONS
from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.platform import (
    Judgement,
    Local,
    LocalRun,
    NoOptions,
    Platform,
    Render,
    Rendered,
    Verdict,
    Verify,
    stdin_text_if,
)
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec

# Rendered Kubernetes objects, as parsed from YAML.
Objects = list[dict[str, Any]]


@dataclass(frozen=True)
class VerifyOptions:
    target: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class LocalOptions:
    overlay: str
    env_file: str
    image: str | None
    timeout: float


def load(manifest: Objects, spec: Spec) -> list[Workload]:
    from deeptempo_deploy.platforms.k8s.load import load as load_objects

    return load_objects(manifest, spec)[0]


def judge(manifest: Objects, spec: Spec) -> Judgement:
    from deeptempo_deploy.platforms.k8s.verify import judge as judge_objects

    return judge_objects(manifest, spec, SUPPORTED_VERSIONS)


def render(spec: Spec, options: NoOptions) -> Rendered:
    from deeptempo_deploy.platforms.k8s.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.k8s.verify import verify_k8s

    findings, sources = verify_k8s(options.target, spec, options.versions or SUPPORTED_VERSIONS,
                                   stdin_text_if(options.target == "-"))
    return Verdict(f"verify k8s {options.target}", findings, sources)


def local(options: LocalOptions) -> LocalRun:
    from deeptempo_deploy.platforms.k8s.local import run_local_k8s

    return LocalRun(f"local k8s {options.overlay}",
                    run_local_k8s(options.overlay, options.env_file, options.image, options.timeout))


PLATFORM: Platform[Objects] = Platform(
    "k8s", "Kubernetes with Kustomize", load, judge,
    render=Render("k8s/overlays/*/secrets.env.example, production's database.env.example and the ExternalSecret's data list.",
                  NoOptions, render),
    verify=Verify("TARGET: a kustomization directory (rendered with kubectl kustomize), a rendered YAML file, or -.",
                  VerifyOptions, verify, (
                      click.Argument(["target"]),
                      click.Option(["--kubernetes-version", "versions"], multiple=True, metavar="1.N",
                                   help="Validate for these versions only (repeatable; default: every version from 1.30 to 1.37)."),
                  )),
    local=Local("Render OVERLAY and run its pod's container as a kubelet would; exit 0 once the readiness probe passes.",
                LocalOptions, local, (
                    click.Argument(["overlay"], type=click.Path(file_okay=False)),
                    click.Option(["--env-file"], required=True, type=click.Path(dir_okay=False),
                                 help="The secrets, as the overlay's secretGenerator env-file (bare KEY=value lines)."),
                    click.Option(["--image"], default=None, help="Run this image instead of the manifest's (a local build)."),
                    click.Option(["--timeout"], type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS, show_default=True,
                                 help="Seconds the readiness probe may take to pass."),
                )),
)
