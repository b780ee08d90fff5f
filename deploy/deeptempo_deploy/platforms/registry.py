"""The platforms `deeptempo-deploy` knows. The click group builds `render|verify|local <platform>` from
this list: adding a platform is one folder (with its commands.py making a Platform) and one line below."""

from deeptempo_deploy.platforms.platform import Platform


def platforms() -> tuple[Platform, ...]:
    from deeptempo_deploy.platforms.cloudrun.commands import PLATFORM as CLOUDRUN
    from deeptempo_deploy.platforms.compose.commands import PLATFORM as COMPOSE
    from deeptempo_deploy.platforms.ecs.commands import PLATFORM as ECS
    from deeptempo_deploy.platforms.helm.commands import PLATFORM as HELM
    from deeptempo_deploy.platforms.k8s.commands import PLATFORM as K8S
    from deeptempo_deploy.platforms.systemd.commands import PLATFORM as SYSTEMD

    return (COMPOSE, K8S, HELM, ECS, SYSTEMD, CLOUDRUN)
