"""The platforms `deeptempo-deploy` knows. The click group builds `render|verify|local <platform>` from
this list: adding a platform is one folder (with its commands.py making a Platform) and one line below."""

from entrypoint.platforms.platform import Platform


def platforms() -> tuple[Platform, ...]:
    from entrypoint.platforms.compose.commands import PLATFORM as COMPOSE
    from entrypoint.platforms.ecs.commands import PLATFORM as ECS
    from entrypoint.platforms.helm.commands import PLATFORM as HELM
    from entrypoint.platforms.k8s.commands import PLATFORM as K8S
    from entrypoint.platforms.systemd.commands import PLATFORM as SYSTEMD

    return (COMPOSE, K8S, HELM, ECS, SYSTEMD)
