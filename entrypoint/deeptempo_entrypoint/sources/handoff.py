from __future__ import annotations

from collections.abc import Mapping

from deeptempo_entrypoint.constants import HANDOFF_LABEL
from deeptempo_entrypoint.sources.base import SecretSource


class HandoffSource(SecretSource):
    """serve's handoff file (deeptempo_entrypoint.handoff), for a process of the app's own that did not inherit
    the secrets: a `multiprocessing` pool's, which reads them through the library."""

    label = HANDOFF_LABEL

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self._values: Mapping[str, str] | None = None

    def lookup(self, name: str) -> str | None:
        if self._values is None:
            from deeptempo_entrypoint.handoff import read_handoff

            try:
                document = read_handoff(self.environ)
            except ValueError:  # not JSON: not serve's
                document = None
            self._values = (document or {}).get("values", {})
        return self._values.get(name) or None

    def describe(self) -> str:
        return "serve's handoff"
