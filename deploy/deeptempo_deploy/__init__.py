"""deeptempo-deploy: what runs on an operator's machine or in CI (render, verify, local, smoke).

It depends on the runtime (deeptempo_entrypoint: the spec, validation, findings), never the other way
round; its heavier dependencies are the `deploy` extra."""

__version__ = "0.1.0"
