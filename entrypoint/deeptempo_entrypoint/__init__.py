"""deeptempo-entrypoint: the DeepTempo AI SOC backend's runtime, in the container or the unit (the
secrets library, the secrets spec, validation and `serve`). It never imports the operator tools."""

__version__ = "0.1.0"
