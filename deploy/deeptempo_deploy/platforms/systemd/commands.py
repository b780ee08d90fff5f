"""systemd's verbs for deeptempo-deploy (platforms/registry.py)."""

import click

from deeptempo_deploy.platforms.platform import Platform, Verb, Verdict
from deeptempo_entrypoint.spec.model import Spec


def render(spec: Spec) -> dict[str, str]:
    from deeptempo_deploy.platforms.systemd.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, units: tuple[str, ...], max_exposure: float) -> Verdict:
    from deeptempo_deploy.platforms.systemd.verify import verify_systemd

    findings, sources = verify_systemd(units, spec, max_exposure)
    return Verdict(f"verify systemd {' '.join(units)}", findings, sources)


PLATFORM = Platform(
    "systemd", "systemd units on a plain server",
    render=Verb("systemd/deeptempo.service, deeptempo-credentials.service (one LoadCredential= per secret), "
                "deeptempo@.service.", render),
    verify=Verb("UNITS: unit files (a template as NAME@.service).", verify, (
        click.Argument(["units"], nargs=-1, required=True, type=click.Path(dir_okay=False)),
        click.Option(["--max-exposure"], type=click.FloatRange(0, 10), default=2.0, show_default=True,
                     help="The highest `systemd-analyze security` exposure accepted."),
    )),
)
