"""systemd as a platform of deeptempo-deploy (platforms/registry.py): its manifest is a unit file's name
and text."""

from dataclasses import dataclass

import click

from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.platform import Judgement, NoOptions, Platform, Render, Rendered, Verdict, Verify
from deeptempo_entrypoint.spec.model import Spec


@dataclass(frozen=True)
class UnitFile:
    name: str  # as installed: deeptempo.service, a template as NAME@.service
    text: str


@dataclass(frozen=True)
class VerifyOptions:
    units: tuple[str, ...]
    max_exposure: float


def load(manifest: UnitFile, spec: Spec) -> list[Workload]:
    from deeptempo_deploy.platforms.systemd.load import load as load_unit
    from deeptempo_deploy.platforms.systemd.load import parse_unit

    return [load_unit(parse_unit(manifest.text), manifest.name, spec)[0]]


def judge(manifest: UnitFile, spec: Spec) -> Judgement:
    from deeptempo_deploy.platforms.systemd.verify import judge as judge_unit

    return judge_unit(manifest.text, manifest.name, spec)


def render(spec: Spec, options: NoOptions) -> Rendered:
    from deeptempo_deploy.platforms.systemd.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.systemd.verify import verify_systemd

    findings, sources = verify_systemd(options.units, spec, options.max_exposure)
    return Verdict(f"verify systemd {' '.join(options.units)}", findings, sources)


PLATFORM: Platform[UnitFile] = Platform(
    "systemd", "systemd units on a plain server", load, judge,
    render=Render("systemd/deeptempo.service, deeptempo-credentials.service (one LoadCredential= per secret), "
                  "deeptempo@.service.", NoOptions, render),
    verify=Verify("UNITS: unit files (a template as NAME@.service).", VerifyOptions, verify, (
        click.Argument(["units"], nargs=-1, required=True, type=click.Path(dir_okay=False)),
        click.Option(["--max-exposure"], type=click.FloatRange(0, 10), default=2.0, show_default=True,
                     help="The highest `systemd-analyze security` exposure accepted."),
    )),
)
