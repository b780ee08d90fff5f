"""Kubernetes' verbs for deeptempo-deploy (platforms/registry.py)."""

from typing import Any

import click

from deeptempo_deploy.platforms.k8s import SUPPORTED_VERSIONS
from deeptempo_deploy.platforms.platform import Platform, Verb, Verdict, stdin_text_if
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec


def render(spec: Spec) -> dict[str, str]:
    from deeptempo_deploy.platforms.k8s.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, target: str, versions: tuple[str, ...]) -> Verdict:
    from deeptempo_deploy.platforms.k8s.verify import verify_k8s

    findings, sources = verify_k8s(target, spec, versions or SUPPORTED_VERSIONS, stdin_text_if(target == "-"))
    return Verdict(f"verify k8s {target}", findings, sources)


def local(overlay: str, env_file: str, image: str | None, timeout: float) -> tuple[str, Any]:
    from deeptempo_deploy.platforms.k8s.local import run_local_k8s

    return f"local k8s {overlay}", run_local_k8s(overlay, env_file, image, timeout)


PLATFORM = Platform(
    "k8s", "Kubernetes with Kustomize",
    render=Verb("k8s/overlays/*/secrets.env.example, production's database.env.example and the ExternalSecret's data list.", render),
    verify=Verb("TARGET: a kustomization directory (rendered with kubectl kustomize), a rendered YAML file, or -.", verify, (
        click.Argument(["target"]),
        click.Option(["--kubernetes-version", "versions"], multiple=True, metavar="1.N",
                     help="Validate for these versions only (repeatable; default: every version from 1.30 to 1.37)."),
    )),
    local=Verb("Render OVERLAY and run its pod's container as a kubelet would; exit 0 once the readiness probe passes.",
               local, (
                   click.Argument(["overlay"], type=click.Path(file_okay=False)),
                   click.Option(["--env-file"], required=True, type=click.Path(dir_okay=False),
                                help="The secrets, as the overlay's secretGenerator env-file (bare KEY=value lines)."),
                   click.Option(["--image"], default=None, help="Run this image instead of the manifest's (a local build)."),
                   click.Option(["--timeout"], type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS, show_default=True,
                                help="Seconds the readiness probe may take to pass."),
               )),
)
