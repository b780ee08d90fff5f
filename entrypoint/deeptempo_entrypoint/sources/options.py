from collections.abc import Mapping

from deeptempo_entrypoint.constants import OPTIONS_LABEL
from deeptempo_entrypoint.sources.base import SecretSource


class OptionsSource(SecretSource):
    """Settings given as command-line options (`serve --port 8000`): first in the list, so an option
    wins over the same setting's variable, and validated exactly like it. Labelled by the option."""

    label = OPTIONS_LABEL

    def __init__(self, values: Mapping[str, str | None], option_names: Mapping[str, str]) -> None:
        self.values = {name: value for name, value in values.items() if value is not None}
        self.option_names = option_names  # setting name -> "--port"

    def label_for(self, name: str) -> str:
        return self.option_names.get(name, self.label)

    def lookup(self, name: str) -> str | None:
        return self.values.get(name) or None
