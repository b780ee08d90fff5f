from collections.abc import MutableMapping

from entrypoint.constants import ENVIRONMENT_LABEL
from entrypoint.sources.base import WritableSource


class EnvironmentSource(WritableSource):
    """The process environment: Docker -e, Kubernetes env/envFrom, ECS secrets, systemd Environment=."""

    label = ENVIRONMENT_LABEL

    def __init__(self, environ: MutableMapping[str, str]) -> None:
        self.environ = environ

    def lookup(self, name: str) -> str | None:
        return self.environ.get(name) or None  # an empty secret is a missing secret

    # The guide's `env` write backend: the value lives as long as the process.
    def write(self, name: str, value: str) -> None:
        self.environ[name] = value

    def delete(self, name: str) -> bool:
        return self.environ.pop(name, None) is not None
