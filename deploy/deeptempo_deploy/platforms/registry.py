"""The platforms `deeptempo-deploy` knows: the one list that drives the CLI (`render|verify|local
<platform>`), the conformance suite and the docs. Adding a platform is one folder (with its commands.py
making a Platform) and one line below; docs/development.md says what else it costs."""

from typing import Any

from deeptempo_deploy.platforms.cloudrun.commands import PLATFORM as CLOUDRUN
from deeptempo_deploy.platforms.compose.commands import PLATFORM as COMPOSE
from deeptempo_deploy.platforms.ecs.commands import PLATFORM as ECS
from deeptempo_deploy.platforms.helm.commands import PLATFORM as HELM
from deeptempo_deploy.platforms.k8s.commands import PLATFORM as K8S
from deeptempo_deploy.platforms.platform import Platform
from deeptempo_deploy.platforms.systemd.commands import PLATFORM as SYSTEMD

PLATFORMS: tuple[Platform[Any], ...] = (COMPOSE, K8S, HELM, ECS, SYSTEMD, CLOUDRUN)


def platforms() -> tuple[Platform[Any], ...]:
    return PLATFORMS


def platform_named(name: str) -> Platform[Any]:
    return next(platform for platform in PLATFORMS if platform.name == name)
