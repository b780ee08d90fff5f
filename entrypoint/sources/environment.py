import os

from entrypoint.sources.base import SecretSource


class EnvironmentSource(SecretSource):
    """The process environment: Docker -e, Kubernetes env/envFrom, ECS secrets, systemd Environment=."""

    label = "environment"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def lookup(self, name):
        return self.environ.get(name) or None  # an empty secret is a missing secret

    # The guide's `env` write backend: the value lives as long as the process.
    def write(self, name, value):
        self.environ[name] = value

    def delete(self, name):
        return self.environ.pop(name, None) is not None
