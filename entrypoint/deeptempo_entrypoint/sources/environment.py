from collections.abc import MutableMapping, Sequence

from deeptempo_entrypoint.constants import ENVIRONMENT_LABEL, FILE_SUFFIX, KIT_VARIABLES
from deeptempo_entrypoint.findings import WARNING, Finding
from deeptempo_entrypoint.sources.base import WritableSource, did_you_mean


class EnvironmentSource(WritableSource):
    """The process environment: Docker -e, Kubernetes env/envFrom, ECS secrets, systemd Environment=."""

    label = ENVIRONMENT_LABEL

    def __init__(self, environ: MutableMapping[str, str]) -> None:
        self.environ = environ

    def lookup(self, name: str) -> str | None:
        return self.environ.get(name) or None  # an empty secret is a missing secret

    def findings(self, names: Sequence[str]) -> list[Finding]:
        """A variable that misspells a spec name (`-e CLAUDE_API_KYE=`) is named, never its value."""
        known = set(names)
        found = []
        for key in self.environ:
            if key in known or key.removesuffix(FILE_SUFFIX) in known or key in KIT_VARIABLES:
                continue  # a name, a NAME_FILE, or one of the kit's own variables
            close = did_you_mean(key, names) if key.isupper() and self.environ[key] else None
            if close:
                found.append(Finding(key, WARNING, f"{key} (in the environment) is not a name the spec knows; did you "
                                                   f"mean {close}?"))
        return found

    def describe(self) -> str:
        return "the environment"

    # The guide's `env` write backend: the value lives as long as the process.
    def write(self, name: str, value: str) -> None:
        self.environ[name] = value

    def delete(self, name: str) -> bool:
        return self.environ.pop(name, None) is not None
