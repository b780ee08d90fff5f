"""Google Cloud Run as a platform of deeptempo-deploy (platforms/registry.py): its manifest is a Knative
service YAML (what `gcloud run services replace` takes, or `describe --format export` prints)."""

from dataclasses import dataclass
from typing import Any

import click

from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.platform import (
    Judgement,
    Local,
    LocalRun,
    Platform,
    Render,
    Rendered,
    Verdict,
    Verify,
    stdin_text_if,
)
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec

# A Cloud Run service, as its YAML loads.
Service = dict[str, Any]


@dataclass(frozen=True)
class RenderOptions:
    project: str
    region: str
    name: str
    image: str | None
    service_account: str | None
    secrets_as: str
    version: str
    prefix: str
    only: tuple[str, ...]
    cpu: str
    memory: str
    concurrency: int
    database_host: str | None


@dataclass(frozen=True)
class VerifyOptions:
    service_path: str
    iam_path: str | None
    image: str | None


@dataclass(frozen=True)
class LocalOptions:
    service_path: str
    secrets: str
    image: str | None
    timeout: float


def load(manifest: Service, spec: Spec) -> list[Workload]:
    from deeptempo_deploy.platforms.cloudrun.load import load as load_container
    from deeptempo_deploy.platforms.cloudrun.load import main_container

    container = main_container(manifest)
    return [] if container is None else [load_container(manifest, container, spec)]


def judge(manifest: Service, spec: Spec) -> Judgement:
    from deeptempo_deploy.platforms.cloudrun.verify import verify_cloudrun

    return verify_cloudrun(manifest, spec, None)


def render(spec: Spec, options: RenderOptions) -> Rendered:
    from deeptempo_deploy.platforms.cloudrun.render import CloudRunOptions
    from deeptempo_deploy.platforms.cloudrun.render import render as render_files

    return render_files(spec, CloudRunOptions(
        project=options.project, region=options.region, name=options.name, image=options.image,
        service_account=options.service_account, secrets_as=options.secrets_as, version=options.version,
        prefix=options.prefix, only=options.only, cpu=options.cpu, memory=options.memory,
        concurrency=options.concurrency, database_host=options.database_host))


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.cloudrun.load import load_yaml, service_document
    from deeptempo_deploy.platforms.cloudrun.verify import verify_cloudrun

    path = options.service_path
    service = service_document(load_yaml(path, stdin_text_if(path == "-")), path)
    bindings = load_yaml(options.iam_path, what="IAM bindings") if options.iam_path else None
    image_user = None
    if options.image:
        from deeptempo_deploy.platforms.runner import DockerRunner

        with DockerRunner("verify-cloudrun") as runner:  # only to read the image's configuration
            image_user = str((runner.ensure_image(options.image).get("Config") or {}).get("User") or "root")
    findings, sources = verify_cloudrun(service, spec, bindings, image_user)
    return Verdict(f"verify cloudrun {path}", findings, sources)


def local(options: LocalOptions) -> LocalRun:
    from deeptempo_deploy.platforms.cloudrun.load import load_yaml, service_document
    from deeptempo_deploy.platforms.cloudrun.local import StandIn, run_local_cloudrun

    service = service_document(load_yaml(options.service_path), options.service_path)
    return LocalRun(f"local cloudrun {options.service_path}",
                    run_local_cloudrun(service, StandIn(options.secrets), options.image, options.timeout))


RENDER_PARAMS: tuple[click.Parameter, ...] = (
    click.Option(["--project"], default="deeptempo-prod", show_default=True, help="The Google Cloud project id."),
    click.Option(["--region"], default="us-central1", show_default=True, help="The Cloud Run region."),
    click.Option(["--name"], default="deeptempo", show_default=True, help="The Cloud Run service's name."),
    click.Option(["--image"], default=None,
                 help="The image (default: the project's Artifact Registry deeptempo/deeptempo-ai-soc:0.1.0)."),
    click.Option(["--service-account"], default=None,
                 help="The service's own account (default: deeptempo-run@PROJECT.iam.gserviceaccount.com)."),
    click.Option(["--secrets-as"], type=click.Choice(("files", "env")), default="files", show_default=True,
                 help="Each secret a file in a volume of its own on latest (followed while the service runs), or an "
                      "environment variable pinned to --version (read once, when an instance starts)."),
    click.Option(["--version"], default="1", show_default=True, help="The version environment secrets are pinned to."),
    click.Option(["--prefix"], default="deeptempo-", show_default=True,
                 help="Secret Manager ids: PREFIX + the secret's name in lower case with - for _."),
    click.Option(["--only"], multiple=True, metavar="NAME", help="Only these secrets of the spec (repeatable; default: all)."),
    click.Option(["--cpu"], default="1", show_default=True, help="The container's CPU limit."),
    click.Option(["--memory"], default="1Gi", show_default=True, help="The container's memory limit."),
    click.Option(["--concurrency"], type=click.IntRange(1, 1000), default=80, show_default=True,
                 help="Requests one instance serves at once (containerConcurrency)."),
    click.Option(["--database-host"], default=None,
                 help="The backend's PostgreSQL (POSTGRES_HOST; default: none, JSON files and one instance at most)."),
)

PLATFORM: Platform[Service] = Platform(
    "cloudrun", "Google Cloud Run", load, judge,
    render=Render("cloudrun/service.yaml and cloudrun/iam-policy.yaml.", RenderOptions, render, RENDER_PARAMS),
    verify=Verify("SERVICE: the service YAML (render's, or gcloud run services describe --format export; - for stdin).",
                  VerifyOptions, verify, (
                      click.Argument(["service_path"], metavar="SERVICE"),
                      click.Option(["--iam", "iam_path"], type=click.Path(dir_okay=False), default=None,
                                   help="The IAM bindings (render's iam-policy.yaml): each secret granted to the service's "
                                        "account alone, nothing public."),
                      click.Option(["--image"], default=None, help="A local image the service runs: judges its USER."),
                  )),
    local=Local("Run SERVICE's serving container as Cloud Run would, with its secrets; exit 0 once healthy.",
                LocalOptions, local, (
                    click.Argument(["service_path"], metavar="SERVICE", type=click.Path(dir_okay=False)),
                    click.Option(["--secrets"], required=True, type=click.Path(),
                                 help="Secret Manager's stand-in: an env-file (NAME=value) or a directory (a file per "
                                      "secret, named by its Secret Manager name or its variable)."),
                    click.Option(["--image"], default=None, help="Run this image instead of the service's (a local build)."),
                    click.Option(["--timeout"], type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS,
                                 show_default=True, help="Seconds the startup probe may take to pass."),
                )),
)
