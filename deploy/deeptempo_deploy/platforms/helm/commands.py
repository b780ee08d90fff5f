"""Helm as a platform of deeptempo-deploy (platforms/registry.py): its manifest is what `helm template`
renders, loaded and judged as the Kustomize tree's objects, and run locally the same way."""

from dataclasses import dataclass

import click

from deeptempo_deploy.platforms.k8s import SUPPORTED_VERSIONS
from deeptempo_deploy.platforms.k8s.commands import Objects
from deeptempo_deploy.platforms.k8s.commands import judge as judge_objects
from deeptempo_deploy.platforms.k8s.commands import load as load_objects
from deeptempo_deploy.platforms.platform import Local, LocalRun, NoOptions, Platform, Render, Rendered, Verdict, Verify
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec


@dataclass(frozen=True)
class VerifyOptions:
    chart: str
    values: tuple[str, ...]
    settings: tuple[str, ...]
    file_settings: tuple[str, ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class LocalOptions:
    chart: str
    values: tuple[str, ...]
    settings: tuple[str, ...]
    file_settings: tuple[str, ...]
    env_file: str | None
    image: str | None
    timeout: float


def render(spec: Spec, options: NoOptions) -> Rendered:
    from deeptempo_deploy.platforms.helm.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.helm.template import helm_template
    from deeptempo_deploy.platforms.k8s.verify import judge

    findings, sources = judge(helm_template(options.chart, options.values, options.settings, options.file_settings), spec,
                              options.versions or SUPPORTED_VERSIONS)
    return Verdict(f"verify helm {options.chart}", findings, sources)


def local(options: LocalOptions) -> LocalRun:
    from deeptempo_deploy.platforms.helm.template import helm_template
    from deeptempo_deploy.platforms.k8s.local import read_stand_in, run_pod

    documents = helm_template(options.chart, options.values, options.settings, options.file_settings)
    if options.env_file:
        _refuse_an_ignored_env_file(documents)
    stand_in, warnings = read_stand_in(options.env_file) if options.env_file else (None, [])
    result = run_pod(documents, stand_in, warnings, options.image, options.timeout, f"chart {options.chart}")
    return LocalRun(f"local helm {options.chart}", result)


def _refuse_an_ignored_env_file(documents: Objects) -> None:
    """--env-file stands in for a Secret the chart does not make; beside one it makes, it would be ignored."""
    from deeptempo_entrypoint.errors import ConfigError

    made = sorted(str(document["metadata"]["name"]) for document in documents
                  if document.get("kind") == "Secret" and "postgresql" not in str(document["metadata"]["name"]))
    if made:
        raise ConfigError(f"--env-file: the chart makes Secret {made[0]} from its secrets.* values, so the env-file would "
                          f"be ignored; set existingSecret={made[0]} to run with the env-file's secrets, or give them "
                          "with --set-file secrets.NAME=FILE instead")


VALUES: tuple[click.Parameter, ...] = (
    click.Argument(["chart"], type=click.Path(file_okay=False)),
    click.Option(["-f", "--values", "values"], multiple=True, type=click.Path(dir_okay=False),
                 help="A values file, as for helm (repeatable; later ones win)."),
    click.Option(["--set", "settings"], multiple=True, metavar="KEY=VALUE", help="A value, as helm's --set (repeatable)."),
    click.Option(["--set-file", "file_settings"], multiple=True, metavar="KEY=PATH",
                 help="A value read from a file, as helm's --set-file (repeatable)."),
)

PLATFORM: Platform[Objects] = Platform(
    "helm", "Kubernetes with Helm", load_objects, judge_objects,
    render=Render("k8s/helm/deeptempo/values.schema.json and templates/_spec.tpl.", NoOptions, render),
    verify=Verify("CHART (with -f VALUES and --set as for helm), rendered by `helm template`, judged as `verify k8s` judges.",
                  VerifyOptions, verify, (*VALUES, click.Option(["--kubernetes-version", "versions"], multiple=True,
                                                                metavar="1.N",
                                                                help="Validate for these versions only (default: 1.30 to 1.37)."))),
    local=Local("Render CHART and run its pod's container as a kubelet would; exit 0 once the readiness probe passes.",
                LocalOptions, local, (*VALUES,
                                      click.Option(["--env-file"], default=None, type=click.Path(dir_okay=False),
                                                   help="The secrets of a Secret the chart does not make (existingSecret, ESO)."),
                                      click.Option(["--image"], default=None, help="Run this image instead of the chart's."),
                                      click.Option(["--timeout"], type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS, show_default=True,
                                                   help="Seconds the readiness probe may take to pass."))),
)
